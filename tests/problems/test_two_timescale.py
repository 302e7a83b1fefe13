"""The two-timescale system's model layer: config, rate and delays, accuracy, KL projection,
retraining update, drift and the DT's noisy view."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from mec_gym.models.data_drift import (
    effective_data_bits,
    generated_data_value,
    kl_divergence,
    log_likelihood,
    logit_walk,
    negative_entropy,
    noisy_estimate,
    project_top_k,
    projection_kl,
)
from mec_gym.problems.two_timescale import (
    ComputeShares,
    SlotProblem,
    TwoTimescaleConfig,
    channel_gains,
    drift_trajectory,
    expected_drift_kl,
    forecast_accuracy,
    job_delay,
    model_accuracy,
    retraining_bits,
    share_scale,
    share_violations,
    shares_from_weight_lists,
    shares_from_weights,
    update_model_distribution,
    uplink_rates,
)

CONFIG = TwoTimescaleConfig()


def random_simplex(rng: np.random.Generator, shape: tuple[int, ...], classes: int) -> np.ndarray:
    q = rng.dirichlet(np.full(classes, 0.5), size=shape)
    q[rng.random(q.shape) < 0.1] = 0.0  # some exact zeros
    q[..., 0] += 1e-3
    return q / q.sum(axis=-1, keepdims=True)


# ----------------------------------------------------------------------------------- config
def test_defaults_are_the_spec():
    c = CONFIG
    assert (c.num_bs, c.num_mus, c.area_m, c.bandwidth_hz) == (3, 15, 1000.0, 1e6)
    assert (c.noise_dbm_per_hz, c.tx_power_w, c.slot_s, c.slots_per_frame) == (-174, 0.2, 0.1, 50)
    assert (c.batch_min_bits, c.batch_max_bits, c.bs_capacity) == (0.2e6, 1e6, 50e6)
    assert (c.retrain_cost, c.retrain_ref_bits, c.acc_max, c.acc_min) == (5, 1e6, 0.95, 0.85)
    assert (c.kl_weight, c.dt_error_max) == (0.5, 0.05)
    assert math.isclose(c.noise_w_per_hz, 10 ** (-20.4))
    assert TwoTimescaleConfig.from_dict(c.to_dict()) == c


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"num_bs": 0}, "num_bs"),
        ({"num_mus": 2.5}, "num_mus"),
        ({"bandwidth_hz": -1.0}, "bandwidth_hz"),
        ({"batch_max_bits": 0.1e6}, "batch_max_bits"),
        ({"acc_min": 0.96}, "acc_min"),
        ({"acc_max": 1.2}, "acc_max"),
        ({"dt_error_max": -0.01}, "dt_error_max"),
        ({"jump_prob": 1.5}, "jump_prob"),
        ({"dt_top_k": 11}, "dt_top_k"),
        ({"num_classes": 1}, "num_classes"),
        ({"max_users_per_bs": 4}, "max_users_per_bs"),
        ({"noise_dbm_per_hz": 10.0}, "noise_dbm_per_hz"),
    ],
)
def test_bad_values_name_the_field(changes, field):
    with pytest.raises(ValueError, match=rf"TwoTimescaleConfig\.{field} must be"):
        CONFIG.replace(**changes)


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        (
            {"batch_min_bits": 9e6},
            "batch_max_bits .*batch_min_bits = 9000000.0.*change batch_max_bits or batch_min_bits",
        ),
        ({"acc_max": 0.3}, "acc_min .*acc_max = 0.3.*change acc_min or acc_max"),
        ({"num_classes": 3, "dt_top_k": 5}, "dt_top_k .*num_classes = 3"),
    ],
)
def test_cross_field_errors_name_both_fields(changes, fields):
    with pytest.raises(ValueError, match=rf"TwoTimescaleConfig\.{fields}"):
        CONFIG.replace(**changes)


@pytest.mark.parametrize(
    ("changes", "bound"),
    [
        ({"tx_power_w": 1e-20}, "below -30 dB"),
        ({"area_m": 1.2e8}, "below -30 dB"),
        ({"path_loss_intercept_db": 400.0}, "below -30 dB"),
        ({"path_loss_intercept_db": -1e3}, "above 150 dB"),
        ({"tx_power_w": 1e12}, "above 150 dB"),
    ],
)
def test_configs_without_a_sane_link_are_refused(changes, bound):
    """The mean SNR must lie in [-30, 150] dB from min_distance_m across the area; the error
    names every field of the link budget."""
    with pytest.raises(ValueError, match=rf"tx_power_w, path_loss_intercept_db, .* {bound}"):
        CONFIG.replace(**changes)


def test_user_cap_that_fits_is_accepted():
    assert CONFIG.replace(max_users_per_bs=5).max_users_per_bs == 5


# ---------------------------------------------------------------------------------- physics
def test_rate_by_hand():
    gain = channel_gains(CONFIG, np.array([100.0, 1000.0]), np.array([1.0, 2.0]))
    # PL(100 m) = 128.1 - 37.6 = 90.5 dB, PL(1 km) = 128.1 dB
    assert np.allclose(gain, [10**-9.05, 2 * 10**-12.81], rtol=1e-12)
    rate = uplink_rates(CONFIG, gain)
    noise = 10 ** (-174 / 10) * 1e-3 * 1e6
    expected = [1e6 * math.log2(1 + 0.2 * g / noise) for g in gain]
    assert np.allclose(rate, expected, rtol=1e-12)
    assert math.isclose(rate[0], 1e6 * math.log2(1 + 0.2 * 10**5.35), rel_tol=1e-12)


def test_distance_clipped_at_minimum():
    assert channel_gains(CONFIG, 0.0) == channel_gains(CONFIG, CONFIG.min_distance_m)


def test_delays_by_hand():
    problem = SlotProblem(
        batch_bits=[1e6, 0.5e6, 0.2e6],
        rate=[1e7, 2e7, 4e6],
        association=[0, 0, 1],
        retrain_work=[0.0, 5e6, 0.0],
        capacity=[50e6, 20e6],
        retrain_weight=2.0,
    )
    shares = ComputeShares(np.array([20e6, 10e6, 20e6]), np.array([0.0, 20e6, 0.0]))
    delays = problem.evaluate(shares)
    assert np.allclose(delays.transmission, [0.1, 0.025, 0.05])
    assert np.allclose(delays.computation, [0.05, 0.05, 0.01])
    assert np.allclose(delays.retraining, [0.0, 0.25, 0.0])
    assert np.allclose(delays.per_mu, [0.15, 0.325, 0.06])
    assert math.isclose(delays.weighted_total, 0.15 + 0.075 + 0.5 + 0.06)
    assert share_violations(problem, shares) == []
    starved = ComputeShares(shares.inference, np.zeros(3))
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        assert problem.evaluate(starved).retraining[1] == np.inf
    assert share_violations(problem, starved) == [
        "a MU with retraining work has no retraining share"
    ]


def test_from_config_uses_c_re_and_capacity():
    problem = SlotProblem.from_config(CONFIG, [1e6, 1e6], [1e7, 1e7], [0, 2], [0.0, 1e6])
    assert np.array_equal(problem.retrain_work, [0.0, 5e6])
    assert np.array_equal(problem.capacity, [50e6] * 3)


def test_slot_problem_rejects_bad_shapes_and_association():
    with pytest.raises(ValueError, match="rate has shape"):
        SlotProblem([1.0, 2.0], [1.0], [0, 0], [0.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="association must be in"):
        SlotProblem([1.0], [1.0], [3], [0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="retrain_weight must be positive"):
        SlotProblem([1.0], [1.0], [0], [0.0], [1.0], retrain_weight=0.0)


def test_shares_from_weights_fill_each_bs_and_batch_axes():
    rng = np.random.default_rng(3)
    batch = rng.uniform(0.2e6, 1e6, (4, 7))
    problem = SlotProblem(batch, batch * 10, rng.integers(0, 3, (4, 7)), batch * 0, np.ones((4, 3)))
    shares = shares_from_weights(problem, rng.random((4, 7)), np.zeros((4, 7)))
    used = problem.per_bs_sum(shares.inference)
    has_users = problem.membership.any(axis=-2)
    assert np.allclose(used[has_users], 1.0) and np.all(used[~has_users] == 0)
    assert share_violations(problem, shares) == []


def test_capacity_violation_is_reported():
    problem = SlotProblem([1.0, 1.0], [1.0, 1.0], [0, 0], [0.0, 0.0], [1.0])
    bad = ComputeShares(np.array([0.6, 0.6]), np.zeros(2))
    assert share_violations(problem, bad) == ["shares exceed the capacity at BS [[0]]"]


# --------------------------------------------------------------------- accuracy and the KL
def test_kl_divergence_hand_values_and_zeros():
    p = np.array([0.5, 0.5, 0.0])
    q = np.array([0.25, 0.25, 0.5])
    assert math.isclose(kl_divergence(p, q), math.log(2))
    assert kl_divergence(q, p) == np.inf
    assert kl_divergence(q, q) == 0.0


def test_kl_positive_fast_path_equals_the_masked_path():
    rng = np.random.default_rng(4)
    p, q = rng.dirichlet(np.ones(6), size=(2, 50))
    expected = np.sum(p * (np.log(p) - np.log(q)), axis=-1)
    np.testing.assert_allclose(kl_divergence(p, q), expected, rtol=1e-12)
    p_zero = p.copy()
    p_zero[:, 0] = 0.0  # the masked path: 0 log 0 = 0
    masked = np.sum(p_zero[:, 1:] * np.log(p_zero[:, 1:] / q[:, 1:]), axis=-1)
    np.testing.assert_allclose(kl_divergence(p_zero, q), masked, rtol=1e-12)


def test_kl_from_a_tabulated_entropy_equals_the_direct_formula():
    rng = np.random.default_rng(5)
    p, q = rng.dirichlet(np.ones(6), size=(2, 50))
    np.testing.assert_allclose(
        kl_divergence(p, q, negative_entropy(p)), kl_divergence(p, q), rtol=1e-9, atol=1e-15
    )
    assert np.all(kl_divergence(p, p, negative_entropy(p)) == 0.0)
    p_zero = p.copy()
    p_zero[:, 0] = 0.0
    p_zero /= p_zero.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(
        kl_divergence(p_zero, q, negative_entropy(p_zero)), kl_divergence(p_zero, q), rtol=1e-9
    )
    # log-likelihood: 0 log 0 = 0, and -inf where p > 0 = q, without warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert log_likelihood(np.array([0.5, 0.5, 0.0]), np.array([0.5, 0.5, 0.0])) == math.log(0.5)
        assert log_likelihood(np.array([0.5, 0.5]), np.array([1.0, 0.0])) == -np.inf


def test_accuracy_stays_in_range():
    rng = np.random.default_rng(0)
    q = random_simplex(rng, (500,), 10)
    q_model = random_simplex(rng, (500,), 10)
    acc = model_accuracy(CONFIG, q, q_model)
    assert np.all((acc >= 0) & (acc <= CONFIG.acc_max))
    assert np.any(acc == 0) and np.any(acc > 0)
    assert np.all(model_accuracy(CONFIG, q, q) == CONFIG.acc_max)
    near = 0.9 * q + 0.1 / 10
    assert math.isclose(
        model_accuracy(CONFIG, q[0], near[0]), 0.95 - 0.5 * kl_divergence(q[0], near[0])
    )


def test_projection_of_uniform():
    p, kl = project_top_k(np.full(10, 0.1), 5)
    assert np.count_nonzero(p) == 5 and np.allclose(p[p > 0], 0.2)
    assert math.isclose(kl, math.log(2))


def test_projection_of_a_member_is_itself():
    q = np.array([0.5, 0.0, 0.3, 0.0, 0.2])
    p, kl = project_top_k(q, 3)
    assert np.array_equal(p, q) and kl == 0.0
    p, kl = project_top_k(q, 5)
    assert np.array_equal(p, q) and kl == 0.0


def test_projection_kl_refuses_a_k_outside_the_classes():
    q = np.array([0.2, 0.5, 0.3])
    for k in (0, 4, -1):
        with pytest.raises(ValueError, match=r"k must be in \[1, 3\]"):
            projection_kl(q, k)
    assert projection_kl(q, 3) == 0.0


def test_projection_three_classes_by_hand():
    p, kl = project_top_k(np.array([0.2, 0.5, 0.3]), 2)
    assert np.allclose(p, [0.0, 0.625, 0.375])
    assert math.isclose(kl, -math.log(0.8))
    assert math.isclose(kl, kl_divergence(p, np.array([0.2, 0.5, 0.3])))


def test_projection_beats_every_member_sampled():
    rng = np.random.default_rng(1)
    classes, k = 6, 3
    for q in random_simplex(rng, (20,), classes):
        p_star, kl_star = project_top_k(q, k)
        assert math.isclose(kl_star, kl_divergence(p_star, q), abs_tol=1e-12)
        for support in itertools.combinations(range(classes), k):
            members = np.zeros((50, classes))
            members[:, support] = rng.dirichlet(np.ones(k), size=50)
            assert np.all(kl_divergence(members, q) >= kl_star - 1e-12)


def test_projection_is_batched():
    rng = np.random.default_rng(2)
    q = random_simplex(rng, (4, 5), 8)
    p, kl = project_top_k(q, 3)
    assert p.shape == q.shape and kl.shape == (4, 5)
    assert np.allclose(p.sum(axis=-1), 1) and np.all(np.count_nonzero(p, axis=-1) <= 3)
    assert np.allclose(kl, kl_divergence(p, q))


# ------------------------------------------------------------------------------- retraining
def test_retraining_data():
    assert np.allclose(retraining_bits([1, 0, 1], [0.5, 1.0, 0.0], 2e6), [1e6, 0.0, 0.0])
    _, kl = project_top_k(np.array([0.2, 0.5, 0.3]), 2)
    assert math.isclose(generated_data_value(kl), 0.8)  # exp(-KL) = q(top 2)
    assert math.isclose(effective_data_bits(1e6, generated_data_value(kl)), 0.8e6)


def test_model_update_moves_toward_q_on_the_simplex():
    rng = np.random.default_rng(4)
    q = random_simplex(rng, (100,), 10)
    q_model = random_simplex(rng, (100,), 10) * 0.5 + 0.05
    effective = rng.uniform(0, 5e6, 100)
    updated = update_model_distribution(CONFIG, q_model, q, effective)
    assert np.all(updated >= 0) and np.allclose(updated.sum(axis=-1), 1)
    assert np.all(kl_divergence(q, updated) <= kl_divergence(q, q_model) + 1e-12)
    step = effective / (effective + 1e6)
    assert np.allclose(updated - q_model, step[:, None] * (q - q_model))
    assert np.array_equal(update_model_distribution(CONFIG, q_model, q, np.zeros(100)), q_model)
    half = update_model_distribution(CONFIG, q_model[0], q[0], 1e6)
    assert np.allclose(half, (q_model[0] + q[0]) / 2)


def test_drift_stays_on_simplex_and_jumps():
    rng = np.random.default_rng(5)
    q0 = random_simplex(rng, (200,), 10) * 0.9 + 0.01
    path = drift_trajectory(CONFIG.replace(jump_prob=0.0), q0, 30, rng)
    assert path.shape == (30, 200, 10) and np.allclose(path.sum(axis=-1), 1)
    assert np.all(path > 0) and np.allclose(path[0], q0)
    step = np.log(path[1:] / path[:-1])
    centred = step - step.mean(axis=-1, keepdims=True)  # the logit steps, up to a shift
    assert centred.std() == pytest.approx(CONFIG.drift_step * np.sqrt(0.9), rel=0.05)
    still = CONFIG.replace(drift_step=0.0, jump_prob=0.0)
    assert np.allclose(drift_trajectory(still, q0, 5, rng), q0)
    jumpy = CONFIG.replace(drift_step=0.0, jump_prob=1.0)
    jumped = drift_trajectory(jumpy, q0, 3, rng)
    assert not np.any(np.all(np.isclose(jumped[1], q0), axis=-1))
    assert not np.any(np.all(np.isclose(jumped[2], jumped[1]), axis=-1))


def test_drift_walks_on_from_a_jump():
    rng = np.random.default_rng(8)
    q0 = np.full((4000, 5), 0.2)
    path = drift_trajectory(CONFIG.replace(jump_prob=0.3, drift_step=0.0), q0, 6, rng)
    changed = ~np.all(np.isclose(path[1:], path[:-1]), axis=-1)
    assert changed.mean() == pytest.approx(0.3, abs=0.03)  # only jumps move q
    walked = drift_trajectory(CONFIG.replace(jump_prob=0.0), q0, 6, np.random.default_rng(1))
    # with no jump, q_t is the softmax of log q0 plus the summed steps
    steps = CONFIG.drift_step * np.random.default_rng(1).standard_normal((5, 4000, 5))
    logits = np.log(q0) + np.cumsum(steps, axis=0)
    expected = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(walked[1:], expected, rtol=1e-12)


def test_forecast_matches_the_simulated_drift():
    rng = np.random.default_rng(9)
    config = CONFIG.replace(jump_prob=0.0, drift_step=0.05)
    q0 = rng.dirichlet(np.ones(10), size=3000)
    slots = 50
    path = drift_trajectory(config, q0, slots + 1, rng)
    simulated = kl_divergence(path[-1], q0).mean()
    assert expected_drift_kl(config, q0, slots).mean() == pytest.approx(simulated, rel=0.05)
    forecast = forecast_accuracy(config, q0, q0, slots)
    realised = model_accuracy(config, path[-1], q0)
    assert forecast.mean() == pytest.approx(realised.mean(), abs=2e-3)
    assert np.all(forecast <= model_accuracy(config, q0, q0))
    np.testing.assert_allclose(forecast_accuracy(config, q0, q0, 0), config.acc_max)


# ------------------------------------------------------------------------------------ twin
def test_dt_view_exact_without_error():
    values = np.random.default_rng(6).uniform(0, 1e7, (3, 4))
    assert np.array_equal(noisy_estimate(values, np.random.default_rng(0), 0.0), values)


def test_dt_view_error_bounded_and_same_stream():
    values = np.random.default_rng(7).uniform(1, 1e7, 10_000)
    noisy = noisy_estimate(values, np.random.default_rng(0), 0.05)
    error = noisy / values - 1
    assert np.all(np.abs(error) <= 0.05 + 1e-12) and np.abs(error).max() > 0.049
    assert abs(error.mean()) < 2e-3
    first, second = np.random.default_rng(1), np.random.default_rng(1)
    noisy_estimate(values, first, 0.0)
    noisy_estimate(values, second, 0.05)
    assert first.random() == second.random()


# --------------------------------------------------------- the float kernels of the slot step
def test_per_bs_sums_add_mu_by_mu_in_index_order():
    rng = np.random.default_rng(3)
    for num_bs, shape in ((3, (15,)), (1, (7,)), (4, (5, 9)), (2, (0,))):
        values = rng.lognormal(0.0, 3.0, shape)  # wide range: the order shows in the rounding
        association = rng.integers(0, num_bs, shape)
        problem = SlotProblem(values, values, association, values, np.ones((*shape[:-1], num_bs)))
        expected = np.zeros((*shape[:-1], num_bs))
        for index in np.ndindex(*shape[:-1]):
            for value, bs in zip(values[index], association[index], strict=True):
                expected[index][bs] += value
        np.testing.assert_array_equal(problem.per_bs_sum(values), expected)


def test_shares_from_weight_lists_equal_the_array_split_bit_for_bit():
    rng = np.random.default_rng(4)
    for trial in range(300):
        num_bs, n = int(rng.integers(1, 5)), int(rng.integers(1, 20))
        association = rng.integers(0, num_bs, n)
        inference = rng.uniform(0.0, 2.0, n) * (rng.random(n) < 0.8)  # zeros: some BSs idle
        retraining = rng.uniform(0.0, 2.0, n) * (rng.random(n) < 0.4)
        capacity = rng.uniform(1e6, 1e8, num_bs)
        problem = SlotProblem(np.ones(n), np.ones(n), association, np.zeros(n), capacity)
        expected = shares_from_weights(problem, inference, retraining)
        got = shares_from_weight_lists(
            association.tolist(), capacity.tolist(), inference.tolist(), retraining.tolist()
        )
        assert got[0] == expected.inference.tolist(), trial
        assert got[1] == expected.retraining.tolist(), trial


def test_delay_and_share_formulas_give_the_same_numbers_on_floats_and_arrays():
    rng = np.random.default_rng(5)
    work = rng.uniform(0.0, 1e6, 200) * (rng.random(200) < 0.7)
    share = rng.uniform(1e5, 1e8, 200)
    assert [job_delay(w, s) for w, s in zip(work, share, strict=True)] == list(
        job_delay(work, share)
    )
    total = share * (rng.random(200) < 0.8)
    assert [share_scale(5e7, t) for t in total.tolist()] == share_scale(5e7, total).tolist()
    assert job_delay(0.0, 0.0) == 0.0 and share_scale(5e7, 0.0) == 5e7
    with pytest.raises(ZeroDivisionError):
        job_delay(1.0, 0.0)


def test_drift_is_the_logit_walk_written_plainly():
    """The walk's faster steps (standard normals scaled, the max class by class) give the plain
    formula's numbers bit for bit."""

    def plain(q0, slots, rng, step_std, jump_prob):
        steps = rng.normal(0.0, step_std, (slots - 1, *q0.shape))
        jumps = np.argwhere(rng.random((slots - 1, *q0.shape[:-1])) < jump_prob)
        fresh = np.log(np.maximum(rng.dirichlet(np.ones(q0.shape[-1]), size=len(jumps)), 1e-300))
        logits = np.empty((slots, *q0.shape))
        logits[0] = np.log(np.maximum(q0, 1e-300))
        np.cumsum(steps, axis=0, out=logits[1:])
        logits[1:] += logits[0]
        for (t, *where), start in zip(jumps, fresh, strict=True):
            logits[(slice(t + 1, None), *where)] += start - logits[(t + 1, *where)]
        logits -= logits.max(axis=-1, keepdims=True)
        q = np.exp(logits)
        return q / q.sum(axis=-1, keepdims=True)

    q0 = np.random.default_rng(6).dirichlet(np.ones(7), size=(2, 4))
    for seed, step, jump in ((0, 0.2, 0.05), (1, 3.0, 0.3), (2, 0.0, 0.0)):
        config = CONFIG.replace(drift_step=step, jump_prob=jump)
        walked = drift_trajectory(config, q0, 40, np.random.default_rng(seed))
        np.testing.assert_array_equal(
            walked, plain(q0, 40, np.random.default_rng(seed), step, jump)
        )
    with pytest.raises(ValueError, match="step_std"):
        logit_walk(q0, 4, np.random.default_rng(0), -0.1, 0.0)
