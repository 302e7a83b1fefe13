"""The two-timescale simulator: reproducibility, the slot cost is the slot problem's, accuracy
bounds and retraining, the DT's view, decision validation, and the closed-form split."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mec_gym.problems.two_timescale import (
    ComputeShares,
    channel_gains,
    forecast_accuracy,
    model_accuracy,
    shares_from_weights,
    uplink_rates,
)
from mec_gym.simulators.two_timescale import (
    FrameDecision,
    RandomSlots,
    SlotDecision,
    TwoTimescaleEnvConfig,
    TwoTimescaleSimulator,
    bs_positions,
    checked_draws,
    compiled_slot_kernels,
    distances_to,
)
from mec_gym.solvers.two_timescale import closed_form_split, equal_split

CONFIG = TwoTimescaleEnvConfig(frames_per_episode=3, slots_per_frame=10)
FIELDS = ("positions", "fading", "batch_bits", "q")
"""The fields of ``SlotDraws``."""
N = CONFIG.num_mus


def started(config=CONFIG, seed=0, retrain=True) -> TwoTimescaleSimulator:
    """A simulator reset with ``seed`` whose first frame associates every MU to its best BS."""
    sim = TwoTimescaleSimulator(config)
    sim.reset(np.random.default_rng(seed))
    sim.begin_frame(nearest(sim, retrain))
    return sim


def nearest(sim: TwoTimescaleSimulator, retrain: bool) -> FrameDecision:
    """Each MU to its BS of best exact mean rate; all or no MUs retrained."""
    rate = sim.exact_statistics().mean_rate
    return FrameDecision(np.argmax(rate, axis=1), np.full(sim.config.num_mus, retrain))


def run(sim: TwoTimescaleSimulator, retrain: bool = True, ratio: float = 1.0) -> list:
    """Play the rest of the episode with the closed-form split; the slot outcomes."""
    outcomes = []
    while not sim.done:
        if sim.frame_over:
            sim.begin_frame(nearest(sim, retrain))
        p = np.full(sim.config.num_mus, ratio)
        outcomes.append(sim.step_slot(SlotDecision(closed_form_split(sim.slot_problem(p)), p)))
    return outcomes


def test_same_seed_same_trajectory_other_seed_differs():
    first, second, other = (run(started(seed=s)) for s in (3, 3, 4))
    assert len(first) == CONFIG.slots_per_episode
    for a, b in zip(first, second, strict=True):
        assert a.objective == b.objective
        np.testing.assert_array_equal(a.accuracy, b.accuracy)
    assert [o.objective for o in first] != [o.objective for o in other]


def test_reading_the_frame_view_does_not_change_the_trajectory():
    quiet, asked = started(seed=5), started(seed=5)
    p = np.full(N, 0.5)
    for _ in range(2 * CONFIG.slots_per_frame):
        for sim in (quiet, asked):
            if sim.frame_over:
                if sim is asked:
                    assert sim.frame_view() is sim.frame_view()  # drawn once per frame
                sim.begin_frame(nearest(sim, True))
            sim.step_slot(SlotDecision(equal_split(sim.slot_problem(p)), p))
    np.testing.assert_array_equal(quiet.state.q_model, asked.state.q_model)
    assert quiet.state.last_outcome.objective == asked.state.last_outcome.objective
    asked.begin_frame(nearest(asked, True))
    with pytest.raises(RuntimeError, match="frame_view"):
        asked.frame_view()  # the frame has its decision


def test_batched_simulator_equals_one_simulator_per_episode():
    seeds = (3, 8, 13)
    batch = TwoTimescaleSimulator(CONFIG, num_envs=len(seeds))
    batch.reset([np.random.default_rng(s) for s in seeds])
    singles = [TwoTimescaleSimulator(CONFIG) for _ in seeds]
    for sim, seed in zip(singles, seeds, strict=True):
        sim.reset(np.random.default_rng(seed))
    rng = np.random.default_rng(0)
    while not batch.done:
        if batch.frame_over:
            views = [sim.frame_view() for sim in singles]
            view = batch.frame_view()
            for i, single in enumerate(views):
                np.testing.assert_array_equal(
                    view.statistics.mean_rate[i], single.statistics.mean_rate
                )
                np.testing.assert_array_equal(
                    view.statistics.accuracy_end_of_frame[i],
                    single.statistics.accuracy_end_of_frame,
                )
            association = rng.integers(0, CONFIG.num_bs, (len(seeds), N))
            retrain = rng.random((len(seeds), N)) < 0.5
            batch.begin_frame(FrameDecision(association, retrain))
            for i, sim in enumerate(singles):
                sim.begin_frame(FrameDecision(association[i], retrain[i]))
        p = rng.random((len(seeds), N))
        problem = batch.slot_problem(p)
        outcome = batch.step_slot(SlotDecision(closed_form_split(problem), p))
        for i, sim in enumerate(singles):
            single = sim.step_slot(SlotDecision(closed_form_split(sim.slot_problem(p[i])), p[i]))
            np.testing.assert_allclose(outcome.objective[i], single.objective, rtol=1e-12)
            np.testing.assert_allclose(outcome.accuracy[i], single.accuracy, rtol=1e-12)
    assert all(sim.done for sim in singles)
    with pytest.raises(ValueError, match="3 generators"):
        batch.reset([np.random.default_rng(0)])


def test_a_batch_draws_its_next_episodes_into_the_same_arrays():
    batch = TwoTimescaleSimulator(CONFIG, num_envs=2)
    batch.reset([np.random.default_rng(s) for s in (1, 2)])

    def tables(sim):
        draws = sim.state.draws
        return *(getattr(draws, f) for f in FIELDS), sim.data_value, sim.q_negative_entropy

    first = tables(batch)
    batch.reset([np.random.default_rng(s) for s in (3, 4)])
    assert all(new is old for new, old in zip(tables(batch), first, strict=True))
    fresh = TwoTimescaleSimulator(CONFIG, num_envs=2)
    fresh.reset([np.random.default_rng(s) for s in (3, 4)])
    for reused, new in zip(tables(batch), tables(fresh), strict=True):
        np.testing.assert_array_equal(reused, new)
    single = TwoTimescaleSimulator(CONFIG)  # one episode: new arrays (a caller may keep the old)
    single.reset(np.random.default_rng(1))
    old_q = single.state.draws.q
    single.reset(np.random.default_rng(2))
    assert single.state.draws.q is not old_q


class FailingSlots(RandomSlots):
    """``RandomSlots`` that raises on its ``fail_at``-th episode (counted from 0)."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at, self.drawn = fail_at, 0

    def __call__(self, config, rng):
        self.drawn += 1
        if self.drawn - 1 == self.fail_at:
            raise ValueError("no episode")
        return super().__call__(config, rng)


def test_a_batch_whose_reset_fails_has_no_episode_and_draws_the_next_one_right():
    batch = TwoTimescaleSimulator(CONFIG, FailingSlots(fail_at=3), num_envs=2)
    batch.reset([np.random.default_rng(s) for s in (1, 2)])
    with pytest.raises(ValueError, match="no episode"):  # the second episode of the batch
        batch.reset([np.random.default_rng(s) for s in (3, 4)])
    assert batch.state is None
    with pytest.raises(RuntimeError, match="reset"):
        batch.slot_problem()
    batch.reset([np.random.default_rng(s) for s in (5, 6)])
    fresh = TwoTimescaleSimulator(CONFIG, num_envs=2)
    fresh.reset([np.random.default_rng(s) for s in (5, 6)])
    np.testing.assert_array_equal(batch.state.draws.q, fresh.state.draws.q)
    np.testing.assert_array_equal(batch.data_value, fresh.data_value)


def test_slot_outcome_is_the_slot_problem_evaluation():
    sim = started(seed=1)
    p = np.random.default_rng(9).uniform(0.1, 1.0, N)
    problem = sim.slot_problem(p)
    shares = equal_split(problem)
    expected = problem.evaluate(shares)
    q, q_model = sim.state.q.copy(), sim.state.q_model.copy()
    outcome = sim.step_slot(SlotDecision(shares, p))
    for name in ("transmission", "computation", "retraining", "weighted_total"):
        np.testing.assert_array_equal(getattr(outcome.delays, name), getattr(expected, name))
    np.testing.assert_allclose(outcome.retrain_bits, p * sim.state.draws.batch_bits[0])
    assert np.all(outcome.effective_bits <= outcome.retrain_bits)
    assert np.all(model_accuracy(CONFIG, q, q_model) <= outcome.accuracy + 1e-12)
    np.testing.assert_allclose(
        outcome.accuracy_violation, np.maximum(CONFIG.acc_min - outcome.accuracy, 0.0)
    )
    penalty = CONFIG.accuracy_penalty * outcome.accuracy_violation.sum()
    assert outcome.objective == pytest.approx(float(expected.weighted_total) + penalty)
    assert sim.state.slot == 1


def test_accuracy_stays_in_range_under_strong_drift():
    config = dataclasses.replace(CONFIG, drift_step=0.5, jump_prob=0.2, kl_weight=5.0)
    for retrain in (False, True):
        outcomes = run(started(config, seed=2, retrain=retrain), retrain, ratio=0.05)
        accuracy = np.array([o.accuracy for o in outcomes])
        assert np.all((accuracy >= 0) & (accuracy <= config.acc_max))
        assert accuracy.min() < config.acc_min  # the drift does hurt
        violation = np.array([o.accuracy_violation for o in outcomes])
        np.testing.assert_allclose(violation, np.maximum(config.acc_min - accuracy, 0.0))


def test_retraining_raises_accuracy_on_the_same_seed():
    config = dataclasses.replace(CONFIG, drift_step=0.2)
    kept = run(started(config, seed=6, retrain=False), retrain=False)
    retrained = run(started(config, seed=6, retrain=True), retrain=True)
    kept_acc = np.array([o.accuracy for o in kept])
    retrained_acc = np.array([o.accuracy for o in retrained])
    assert retrained_acc.mean() > kept_acc.mean() + 0.01
    assert np.all(retrained_acc[-1] >= kept_acc[-1])
    assert all(np.all(o.delays.retraining == 0) for o in kept)
    assert all(np.all(o.delays.retraining > 0) for o in retrained)


def test_dt_is_exact_without_error_and_within_its_bound_otherwise():
    sim = TwoTimescaleSimulator(dataclasses.replace(CONFIG, dt_error_max=0.0))
    sim.reset(np.random.default_rng(7))
    seen, truth = sim.frame_view().statistics, sim.exact_statistics()
    np.testing.assert_array_equal(seen.mean_rate, truth.mean_rate)
    np.testing.assert_array_equal(seen.accuracy_end_of_frame, truth.accuracy_end_of_frame)
    assert truth.mean_rate.shape == (N, CONFIG.num_bs)
    np.testing.assert_array_equal(sim.frame_view().distances, sim.distances())
    noisy = TwoTimescaleSimulator(dataclasses.replace(CONFIG, dt_error_max=0.1))
    noisy.reset(np.random.default_rng(7))
    seen, truth = noisy.frame_view().statistics, noisy.exact_statistics()
    for a, b in (
        (seen.mean_rate, truth.mean_rate),
        (seen.accuracy_end_of_frame, truth.accuracy_end_of_frame),
    ):
        relative = a / b - 1.0
        assert np.all(np.abs(relative) <= 0.1 + 1e-12) and np.any(relative != 0)


def test_exact_statistics_forecast_the_end_of_the_frame():
    sim = started(seed=4, retrain=False)
    p = np.zeros(N)
    for _ in range(3):
        sim.step_slot(SlotDecision(equal_split(sim.slot_problem(p)), p))
    st = sim.state
    expected = forecast_accuracy(CONFIG, st.q, st.q_model, CONFIG.slots_per_frame)
    np.testing.assert_array_equal(sim.exact_statistics().accuracy_end_of_frame, expected)
    assert np.all(expected < model_accuracy(CONFIG, st.q, st.q_model))
    np.testing.assert_array_equal(st.accuracy, st.last_outcome.accuracy)


@pytest.mark.parametrize(
    ("association", "retrain", "match"),
    [
        (np.full(N, 3), np.zeros(N, bool), "association must be in"),
        (np.full(N, -1), np.zeros(N, bool), "association must be in"),
        (np.zeros(N - 1, int), np.zeros(N, bool), "association must be"),
        (np.zeros(N), np.zeros(N, bool), "association must be"),
        (np.zeros(N, int), np.full(N, 2), "retrain must be"),
        (np.zeros(N, int), np.zeros(N + 1, bool), "retrain must be"),
    ],
)
def test_bad_frame_decision_is_rejected(association, retrain, match):
    sim = TwoTimescaleSimulator(CONFIG)
    sim.reset(np.random.default_rng(0))
    with pytest.raises(ValueError, match=match):
        sim.begin_frame(FrameDecision(association, retrain))
    assert sim.frame_over


def test_per_bs_cap_and_frame_bookkeeping():
    config = dataclasses.replace(CONFIG, max_users_per_bs=5)
    sim = TwoTimescaleSimulator(config)
    sim.reset(np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="begin_frame"):
        sim.slot_problem()
    with pytest.raises(ValueError, match="max_users_per_bs"):
        sim.begin_frame(FrameDecision(np.zeros(N, int), np.zeros(N, bool)))
    sim.begin_frame(FrameDecision(np.arange(N) % 3, np.zeros(N, bool)))
    with pytest.raises(RuntimeError, match="start of a frame"):
        sim.begin_frame(FrameDecision(np.arange(N) % 3, np.zeros(N, bool)))
    p = np.zeros(N)
    for _ in range(config.slots_per_frame):
        assert not sim.frame_over
        sim.step_slot(SlotDecision(equal_split(sim.slot_problem(p)), p))
    assert sim.frame_over and sim.state.frame == 1 and not sim.done
    while not sim.done:
        if sim.frame_over:
            sim.begin_frame(FrameDecision(np.arange(N) % 3, np.ones(N, bool)))
        sim.step_slot(SlotDecision(equal_split(sim.slot_problem(p)), p))
    assert sim.done and sim.state.slot == config.slots_per_episode
    with pytest.raises(RuntimeError, match="no running episode"):
        sim.step_slot(SlotDecision(ComputeShares(np.ones(N), np.zeros(N)), p))


def test_bad_slot_decision_is_rejected():
    sim = started(seed=0)
    p = np.ones(N)
    shares = closed_form_split(sim.slot_problem(p))
    with pytest.raises(ValueError, match="generation_ratio"):
        sim.step_slot(SlotDecision(shares, np.full(N, 1.5)))
    doubled = ComputeShares(2 * shares.inference, shares.retraining)
    with pytest.raises(ValueError, match="exceed the capacity"):
        sim.step_slot(SlotDecision(doubled, p))
    with pytest.raises(ValueError, match="no retraining share"):
        sim.step_slot(SlotDecision(ComputeShares(shares.inference, np.zeros(N)), p))
    assert sim.state.slot == 0


def test_closed_form_split_beats_equal_split():
    sim = started(seed=11)
    p = np.full(N, 0.7)
    problem = sim.slot_problem(p)
    best = problem.evaluate(closed_form_split(problem)).weighted_total
    naive = problem.evaluate(equal_split(problem)).weighted_total
    assert best < naive


def test_mobility_layout_and_custom_generator():
    draws = RandomSlots()(CONFIG, np.random.default_rng(0))
    step = np.linalg.norm(np.diff(draws.positions, axis=0), axis=-1)
    assert np.all(step <= CONFIG.mu_speed_mps * CONFIG.slot_s + 1e-9)
    assert np.all((draws.positions >= 0) & (draws.positions <= CONFIG.area_m))
    layout = bs_positions(CONFIG)
    np.testing.assert_allclose(np.linalg.norm(layout - CONFIG.area_m / 2, axis=1), 250.0)
    frozen = dataclasses.replace(draws, fading=np.ones_like(draws.fading))
    sim = TwoTimescaleSimulator(CONFIG, slots=lambda config, rng: frozen)
    sim.reset(np.random.default_rng(1))
    np.testing.assert_array_equal(sim.state.fading, 1.0)
    with pytest.raises(ValueError, match="draws.q"):
        checked_draws(CONFIG, dataclasses.replace(draws, q=2 * draws.q))
    with pytest.raises(ValueError, match="draws.fading"):
        checked_draws(CONFIG, dataclasses.replace(draws, fading=draws.fading[:-1]))
    # a generator's lists or float32 arrays come back as float64 arrays
    lists = dataclasses.replace(draws, positions=draws.positions.tolist())
    single = dataclasses.replace(lists, fading=draws.fading.astype(np.float32))
    checked = checked_draws(CONFIG, single)
    assert {getattr(checked, f).dtype for f in FIELDS} == {np.dtype(float)}
    np.testing.assert_array_equal(checked.positions, draws.positions)


@pytest.mark.parametrize("field", ["frames_per_episode", "mu_speed_mps", "accuracy_penalty"])
def test_config_rejects_bad_values(field):
    with pytest.raises(ValueError, match=f"TwoTimescaleEnvConfig.{field}"):
        TwoTimescaleEnvConfig(**{field: -1})


def test_frame_rates_are_the_rates_to_the_associated_bs_of_every_slot():
    sim = started(seed=2)
    draws = sim.state.draws
    every_bs = uplink_rates(
        CONFIG, channel_gains(CONFIG, distances_to(sim.bs_positions, draws.positions), draws.fading)
    )  # (S + 1, N, M)
    while not sim.done:
        if sim.frame_over:
            sim.begin_frame(nearest(sim, retrain=False))
        association = sim.state.association
        expected = every_bs[sim.state.slot, np.arange(N), association]
        np.testing.assert_array_equal(sim.slot_rates(), expected)  # bit for bit
        problem_rate = sim.slot_problem().rate
        np.testing.assert_array_equal(problem_rate, expected)
        p = np.zeros(N)
        sim.step_slot(SlotDecision(closed_form_split(sim.slot_problem(p)), p))
    last = every_bs[CONFIG.slots_per_episode, np.arange(N), sim.state.association]
    np.testing.assert_array_equal(sim.slot_rates(), last)  # the slot after the last one


def test_a_failed_reset_leaves_no_episode():
    def broken(config, rng):
        raise ValueError("no draws today")

    sim = started()
    sim.slots = broken
    with pytest.raises(ValueError, match="no draws today"):
        sim.reset(np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="reset"):
        sim.step_slot(SlotDecision(ComputeShares(np.ones(N), np.zeros(N)), np.zeros(N)))


def test_episodes_too_large_for_memory_are_refused():
    with pytest.raises(ValueError, match=r"frames_per_episode, slots_per_frame, .* entries"):
        TwoTimescaleEnvConfig(frames_per_episode=20_000)


def slot_decisions(sim: TwoTimescaleSimulator, count: int, seed: int) -> SlotDecision:
    """Random feasible decisions for the next ``count`` slots, (count, N) arrays: shares of the
    equal split at random generation ratios."""
    p = np.random.default_rng(seed).uniform(0.0, 1.0, (count, N))
    shares = [equal_split(sim.slot_problem(p[t])) for t in range(count)]
    inference = np.array([s.inference for s in shares])
    retraining = np.array([s.retraining for s in shares])
    return SlotDecision(ComputeShares(inference, retraining), p)


def slot_at(decision: SlotDecision, t: int) -> SlotDecision:
    """Slot ``t`` of decisions with a slot axis."""
    shares = decision.shares
    return SlotDecision(
        ComputeShares(shares.inference[t], shares.retraining[t]), decision.generation_ratio[t]
    )


@pytest.mark.parametrize("first", [1, 4])
def test_step_slots_plays_each_slot_as_step_slot(first):
    """The rest of a frame in one call equals it slot by slot, bit for bit: every outcome, the
    models, the accuracy, the next frame's view; the last slot is the state's last outcome."""
    one_by_one, at_once = started(seed=7), started(seed=7)
    for _ in range(first):  # the call may start inside the frame
        decision = slot_at(slot_decisions(one_by_one, 1, seed=0), 0)
        for sim in (one_by_one, at_once):
            sim.step_slot(decision)
    count = CONFIG.slots_per_frame - first
    decision = slot_decisions(at_once, count, seed=1)
    expected = [one_by_one.step_slot(slot_at(decision, t)) for t in range(count)]
    outcome = at_once.step_slots(decision)
    assert outcome.summary.shape == (6, count)
    for t, single in enumerate(expected):
        np.testing.assert_array_equal(outcome.summary[:, t], single.summary)
        np.testing.assert_array_equal(outcome.accuracy[t], single.accuracy)
        np.testing.assert_array_equal(outcome.delays.transmission[t], single.delays.transmission)
        np.testing.assert_array_equal(outcome.effective_bits[t], single.effective_bits)
    last = at_once.state.last_outcome
    np.testing.assert_array_equal(last.summary, expected[-1].summary)
    np.testing.assert_array_equal(last.delays.retraining, expected[-1].delays.retraining)
    np.testing.assert_array_equal(at_once.state.q_model, one_by_one.state.q_model)
    np.testing.assert_array_equal(at_once.state.accuracy, one_by_one.state.accuracy)
    assert (at_once.state.slot, at_once.state.frame) == (one_by_one.state.slot, 1)
    assert at_once.frame_over
    np.testing.assert_array_equal(
        at_once.frame_view().statistics.mean_rate, one_by_one.frame_view().statistics.mean_rate
    )


def test_step_slots_takes_the_slots_left_in_the_frame_only():
    sim = started(seed=2)
    whole_frame = slot_decisions(sim, CONFIG.slots_per_frame, seed=0)
    too_long = slot_decisions(sim, CONFIG.slots_per_frame + 1, seed=0)
    with pytest.raises(ValueError, match=r"T in \[1, 10\]"):
        sim.step_slots(too_long)
    with pytest.raises(ValueError, match="step_slots takes decisions of shape"):
        sim.step_slots(slot_at(whole_frame, 0))  # no slot axis
    with pytest.raises(ValueError, match="step_slots takes decisions of shape"):
        sim.step_slots(dataclasses.replace(whole_frame, generation_ratio=np.ones(N)))
    for _ in range(4):  # from inside the frame: at most the slots left
        sim.step_slot(slot_at(whole_frame, 0))
    with pytest.raises(ValueError, match=r"T in \[1, 6\]"):
        sim.step_slots(slot_decisions(sim, 7, seed=0))
    with pytest.raises(ValueError, match=r"T in \[1, 6\]"):
        sim.step_slots(slot_decisions(sim, 0, seed=0))
    sim.step_slots(slot_decisions(sim, 6, seed=0))
    with pytest.raises(RuntimeError, match="begin_frame"):
        sim.step_slots(whole_frame)


def test_step_slots_on_a_batch_equals_each_episode_alone():
    seeds = (11, 12)
    batch = TwoTimescaleSimulator(CONFIG, num_envs=len(seeds))
    batch.reset([np.random.default_rng(s) for s in seeds])
    singles = [started(seed=s) for s in seeds]
    batch.begin_frame(
        FrameDecision(
            np.stack([sim.state.association for sim in singles]),
            np.stack([sim.state.retrain for sim in singles]),
        )
    )
    decisions = [slot_decisions(sim, CONFIG.slots_per_frame, seed=3) for sim in singles]
    outcome = batch.step_slots(
        SlotDecision(
            ComputeShares(
                np.stack([d.shares.inference for d in decisions]),
                np.stack([d.shares.retraining for d in decisions]),
            ),
            np.stack([d.generation_ratio for d in decisions]),
        )
    )
    assert outcome.summary.shape == (6, len(seeds), CONFIG.slots_per_frame)
    for i, (sim, decision) in enumerate(zip(singles, decisions, strict=True)):
        alone = sim.step_slots(decision)
        np.testing.assert_array_equal(outcome.summary[:, i], alone.summary)
        np.testing.assert_array_equal(batch.state.q_model[i], sim.state.q_model)
    assert batch.frame_over and batch.state.last_outcome.summary.shape == (6, len(seeds))


# ------------------------------------------------------------ play_slot on Python floats or arrays
def random_frame(sim: TwoTimescaleSimulator, rng: np.random.Generator) -> FrameDecision:
    """A random association within the per-BS cap and random retraining flags."""
    cfg = sim.config
    cap = cfg.max_users_per_bs or cfg.num_mus
    seats = np.repeat(np.arange(cfg.num_bs), cap)
    association = rng.permutation(seats)[: cfg.num_mus]
    return FrameDecision(association, rng.random(cfg.num_mus) < 0.5)


def random_slot_decision(sim: TwoTimescaleSimulator, rng: np.random.Generator) -> SlotDecision:
    """Shares from random weights (every job with work gets a share) and ratios with 0s and 1s."""
    n = sim.config.num_mus
    ratio = rng.choice([0.0, -0.0, 1.0, 0.5, 0.25, rng.random()], size=n)
    problem = sim.slot_problem(ratio)
    weights = rng.uniform(0.05, 1.05, (2, n))
    return SlotDecision(shares_from_weights(problem, weights[0], weights[1]), ratio)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"num_bs": 1},
        {"num_bs": 4, "num_mus": 9, "max_users_per_bs": 3},
        {"drift_step": 6.0, "jump_prob": 0.5, "num_classes": 3, "dt_top_k": 1},
        {"retrain_ref_bits": 1.0, "kl_weight": 5.0},
        {"retrain_cost": 3, "retrain_ref_bits": 500_000, "bs_capacity": 40_000_000},
        {"acc_max": 1, "acc_min": 0, "kl_weight": 2},  # whole numbers
    ],
)
def test_play_slot_is_step_slot_on_floats_bit_for_bit(changes, two_timescale_path):
    config = CONFIG.replace(**changes)
    played, stepped = TwoTimescaleSimulator(config), TwoTimescaleSimulator(config)
    rng = np.random.default_rng(11)
    if two_timescale_path == "compiled":
        signatures = [len(kernel.signatures) for kernel in compiled_slot_kernels()]
    for sim in (played, stepped):
        sim.reset(np.random.default_rng(2))
    while not stepped.done:
        if stepped.frame_over:
            frame = random_frame(stepped, rng)
            played.begin_frame(frame)
            stepped.begin_frame(frame)
        decision = random_slot_decision(stepped, rng)
        shares = decision.shares
        given = [shares.inference, shares.retraining, decision.generation_ratio]
        # Python floats, float64 arrays, strided read-only ones, one (3, N) array
        kind = stepped.state.slot % 4
        given = [values.tolist() if kind == 0 else np.repeat(values, 2)[::2] for values in given]
        if kind == 2:
            for values in given:
                values.flags.writeable = False
        if kind == 3:
            given = [np.array(given)]
            summary = played.play_decision(given[0])
        else:
            summary = played.play_slot(*given)
        for values in given:  # the simulator keeps copies of the decision
            if isinstance(values, list):
                values[:] = [np.nan] * len(values)
            elif values.flags.writeable:
                values[...] = np.nan
        outcome = stepped.step_slot(decision, check=False)
        assert np.array(summary).tobytes() == outcome.summary.tobytes()
        assert played.state.q_model.tobytes() == stepped.state.q_model.tobytes()
        assert played.state.accuracy.tobytes() == stepped.state.accuracy.tobytes()
        replayed = played.state.last_outcome
        assert played.state.last_outcome is replayed  # built once
        for name in ("retrain_bits", "effective_bits", "accuracy", "accuracy_violation"):
            assert getattr(replayed, name).tobytes() == getattr(outcome, name).tobytes(), name
        assert replayed.summary.tobytes() == outcome.summary.tobytes()
        for name in ("transmission", "computation", "retraining", "weighted_total", "sums"):
            expected = getattr(outcome.delays, name).tobytes()
            assert getattr(replayed.delays, name).tobytes() == expected, name
    assert played.done and played.state.slot == stepped.state.slot
    if two_timescale_path == "compiled":  # no slot made the kernels compile again
        assert [len(kernel.signatures) for kernel in compiled_slot_kernels()] == signatures


def test_play_slot_gives_a_job_without_a_share_an_infinite_delay_as_step_slot(
    two_timescale_path,
):
    played, stepped = started(seed=4), started(seed=4)
    decision = SlotDecision(
        ComputeShares(np.zeros(N), np.full(N, 1e6)), np.ones(N)
    )  # no inference share anywhere
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        expected = stepped.step_slot(decision, check=False).summary.tolist()
    lists = [0.0] * N, [1e6] * N, [1.0] * N
    for given in lists, tuple(map(np.array, lists)), np.array([lists]):
        slot = played.state.slot  # lists: on floats; arrays: compiled where the envs compile
        with pytest.warns(RuntimeWarning, match="divide by zero"):  # numpy's, as step_slot's
            got = played.play_slot(*given) if len(given) == 3 else played.play_decision(given[0])
        assert got == expected and got[0] == np.inf
        assert played.state.slot == slot + 1
        played = started(seed=4)


def test_play_decision_takes_one_float64_array_of_three_rows(two_timescale_path):
    sim = started()
    with pytest.raises(ValueError, match=r"float64 array of shares, shares and ratios of shape"):
        sim.play_decision(np.ones((3, N), dtype=np.float32))
    for bad in (np.ones((N, 3)), np.ones((3, N + 1)), [[1e6] * N] * 3):
        with pytest.raises(ValueError, match=rf"shape \(3, {N}\)"):
            sim.play_decision(bad)
    assert sim.state.slot == 0
    decision = np.array([[1e6] * N, [1e6] * N, [0.5] * N])
    shared = decision.copy()
    expected = started().play_slot(*decision.tolist())
    assert sim.play_decision(shared, copy=False) == expected
    assert sim.state.last_outcome.retrain_bits.tobytes() == (
        started()
        .step_slot(SlotDecision(ComputeShares(decision[0], decision[1]), decision[2]), check=False)
        .retrain_bits.tobytes()
    )
    batch = TwoTimescaleSimulator(CONFIG, num_envs=2)
    batch.reset([np.random.default_rng(0), np.random.default_rng(1)])
    batch.begin_frame(FrameDecision(np.zeros((2, N), dtype=int), np.zeros((2, N), dtype=bool)))
    with pytest.raises(ValueError, match="one episode"):
        batch.play_decision(decision)


def test_play_slot_needs_one_episode(two_timescale_path):
    sim = TwoTimescaleSimulator(CONFIG, num_envs=2)
    sim.reset([np.random.default_rng(0), np.random.default_rng(1)])
    sim.begin_frame(FrameDecision(np.zeros((2, N), dtype=int), np.zeros((2, N), dtype=bool)))
    with pytest.raises(ValueError, match="one episode"):
        sim.play_slot([1e6] * N, [0.0] * N, [0.0] * N)
    with pytest.raises(ValueError, match=f"takes {N} shares"):
        started().play_slot([1e6] * N, [0.0] * N, [0.0] * (N - 1))
    fresh = TwoTimescaleSimulator(CONFIG)
    with pytest.raises(RuntimeError, match="reset"):
        fresh.play_slot([1e6] * N, [0.0] * N, [0.0] * N)
    if two_timescale_path == "compiled":  # arrays of N rows but not of shape (N,)
        with pytest.raises(ValueError, match=f"takes {N} shares"):
            started().play_slot(*[np.ones((N, 2))] * 3)


def test_generators_and_frame_policies_returning_bad_values_are_refused_in_one_line():
    draws = RandomSlots()(CONFIG, np.random.default_rng(0))
    for changes, match in (
        ({"fading": np.zeros_like(draws.fading)}, "draws.fading must be > 0"),
        ({"batch_bits": 2 * CONFIG.batch_max_bits + draws.batch_bits}, "draws.batch_bits must"),
        ({"q": np.full_like(draws.q, np.nan)}, "draws.q must be finite"),
    ):
        with pytest.raises(ValueError, match=match) as error:
            checked_draws(CONFIG, dataclasses.replace(draws, **changes))
        assert "\n" not in str(error.value)
    with pytest.raises(TypeError, match="must return SlotDraws, got tuple"):
        TwoTimescaleSimulator(CONFIG, slots=lambda config, rng: (draws.positions,)).reset(
            np.random.default_rng(0)
        )
    sim = TwoTimescaleSimulator(CONFIG)
    sim.reset(np.random.default_rng(0))
    with pytest.raises(TypeError, match="must return a FrameDecision, got NoneType"):
        sim.begin_frame(None)
    with pytest.raises(ValueError, match="association must be integers") as error:
        sim.begin_frame(FrameDecision(np.zeros(N), np.zeros(N, bool)))
    assert "\n" not in str(error.value)


def test_numpy_scalars_in_a_config_become_python_values():
    config = TwoTimescaleEnvConfig(num_mus=np.int64(5), acc_min=np.float64(0.8))
    assert type(config.num_mus) is int and type(config.acc_min) is float
    assert TwoTimescaleEnvConfig(num_mus=np.array(5)).num_mus == 5  # a 0-d array too


def test_numpy_entries_of_a_tuple_field_become_python_values():
    from mec_gym.problems.bandwidth_split import BandwidthSplitConfig

    sizes = np.array([4.0, 12.0, 26.0, 44.0, 68.0])
    for value in (sizes, list(sizes), list(sizes.astype(int))):
        config = BandwidthSplitConfig(model_sizes=value)
        assert config.model_sizes == (4, 12, 26, 44, 68)
        assert {type(size) for size in config.model_sizes} <= {int, float}
