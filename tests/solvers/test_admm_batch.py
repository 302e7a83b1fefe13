"""Algorithm 4 over a batch of instances: equal to one instance at a time, and the helpers
(Theorem 2's shares and edge cost, ADMM's terms and start) over a leading batch axis."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mec_gym.problems.joint_offload import (
    PRESETS,
    JointOffloadConfig,
    JointOffloadProblem,
    evaluate_allocation,
)
from mec_gym.solvers.joint_offload.admm import (
    AdmmResult,
    admm,
    admm_batch,
    admm_start,
    decision_cost,
    edge_terms,
    local_step,
    share_cubic_root,
    total_costs,
)
from mec_gym.solvers.joint_offload.edge import (
    compose_allocation,
    compose_allocations,
    edge_cost,
    edge_shares,
)
from mec_gym.solvers.joint_offload.local import local_optimum

CONFIGS = {
    "spec": JointOffloadConfig(),
    "pan2023": JointOffloadConfig(**PRESETS["pan2023"]),
    "balanced": JointOffloadConfig(**PRESETS["balanced"]),
}
"""The spec's table (the benchmark's drops), the paper's preset and the environments' scenario."""


def drops(name: str, n: int, count: int) -> list[JointOffloadProblem]:
    """The evaluation drops (seeds 10_000 + i) of ``n`` devices under ``CONFIGS[name]``."""
    return [
        JointOffloadProblem.sample(CONFIGS[name], np.random.default_rng(10_000 + i), n)
        for i in range(count)
    ]


def assert_same_result(batched: AdmmResult, alone: AdmmResult) -> None:
    """Everything :func:`admm` returns, bit for bit."""
    assert batched.iterations == alone.iterations
    assert batched.converged == alone.converged
    assert batched.cost == alone.cost and batched.raw_cost == alone.raw_cost
    np.testing.assert_array_equal(batched.cost_trace, alone.cost_trace)
    np.testing.assert_array_equal(batched.raw_trace, alone.raw_trace)
    for name in ("offload", "frames", "time_share", "edge_frequency", "local_frequency"):
        np.testing.assert_array_equal(
            getattr(batched.allocation, name), getattr(alone.allocation, name), err_msg=name
        )


@pytest.mark.parametrize(
    ("name", "n", "kwargs"),
    [
        ("spec", 5, {}),
        ("spec", 25, {}),
        ("spec", 50, {}),
        ("pan2023", 25, {}),
        ("balanced", 25, {}),
        ("spec", 25, {"rho": 1e-3, "max_iterations": 20}),  # zero global shares, no convergence
        ("spec", 8, {"min_iterations": 4, "tol": 1e-6}),
    ],
)
def test_batch_equals_one_instance_at_a_time(name, n, kwargs):
    problems = drops(name, n, 30)
    results = admm_batch(problems, **kwargs)
    assert len(results) == len(problems)
    for problem, result in zip(problems, results, strict=True):
        assert_same_result(result, admm(problem, **kwargs))


def test_instances_stop_by_their_own_rule():
    """The batch mixes iteration counts; each instance's trace ends at its own stop."""
    problems = drops("spec", 25, 30)
    results = admm_batch(problems)
    counts = {result.iterations for result in results}
    assert len(counts) >= 3, counts
    assert all(result.converged for result in results)
    # order does not matter: the reversed batch gives the reversed results
    for forward, backward in zip(results, admm_batch(problems[::-1])[::-1], strict=True):
        assert_same_result(backward, forward)


def test_results_of_the_previous_implementation_are_kept():
    """Iterations, cost and decisions of the one-instance implementation before the batched one
    (the same code for the cost trace up to rounding), N = 25, seeds 10_000.."""
    expected = {
        "spec": [
            (9, -11.754265421893352, [0, 3, 16, 18, 19], [6, 6, 6, 6, 6]),
            (9, -11.74315206543184, [0, 1, 9, 13], [6, 6, 6, 7]),
            (7, -11.742465694449393, [3, 7, 9, 11], [6, 6, 6, 6]),
            (8, -11.755720446139815, [2, 6, 12, 15], [6, 6, 7, 7]),
        ],
        "pan2023": [
            (2, -9.027699737808069, [0, 1, 3, 6, 7, 8, 12, 16, 17, 18, 19, 20, 23], [4] * 13),
            (2, -8.9363104502404, [0, 1, 2, 4, 5, 7, 9, 11, 13, 16, 18, 22, 24], [4] * 13),
        ],
    }
    for name, rows in expected.items():
        results = admm_batch(drops(name, 25, len(rows)))
        for result, (iterations, cost, devices, frames) in zip(results, rows, strict=True):
            assert result.iterations == iterations and result.converged
            assert result.cost == cost
            assert np.flatnonzero(result.allocation.offload).tolist() == devices
            assert result.allocation.frames[result.allocation.offload].tolist() == frames


NUMPY_RESULTS = Path(__file__).parents[1] / "data" / "admm_numpy_results.json"
"""``admm_batch``'s results under the numpy implementation it had until the compiled loops
(``git show e664111:mec_gym/solvers/joint_offload/admm.py``): per "config/N<n>/penalty", the
drops of seeds 20_000.. as [iterations, converged, cost, offloading devices, their frames]."""
PENALTIES = {"adaptive": {}, "fixed": {"rho": 1e-3, "max_iterations": 20}}


@pytest.mark.parametrize("key", sorted(json.loads(NUMPY_RESULTS.read_text())))
def test_results_of_the_numpy_implementation_are_kept(key):
    """The compiled iterations take the decisions the numpy ones took (three configs, N = 5, 25,
    60, adaptive and fixed penalty, ten drops each): the same iterations, offloading devices and
    frames, and the same cost to 1e-12 (the file was written on a CPU with AVX-512, where numpy's
    own pow and log differ from libm's in the last bit: the drops' gains and so the costs do)."""
    name, devices, penalty = key.split("/")
    expected = json.loads(NUMPY_RESULTS.read_text())[key]
    problems = [
        JointOffloadProblem.sample(
            CONFIGS[name], np.random.default_rng(20_000 + i), int(devices[1:])
        )
        for i in range(len(expected))
    ]
    for result, row in zip(admm_batch(problems, **PENALTIES[penalty]), expected, strict=True):
        allocation = result.allocation
        offloading = np.flatnonzero(allocation.offload).tolist()
        got = [result.iterations, result.converged, offloading]
        assert got + [allocation.frames[allocation.offload].tolist()] == row[:2] + row[3:]
        assert result.cost == pytest.approx(row[2], rel=1e-12, abs=0.0)


def test_costs_are_those_of_evaluate_allocation():
    problems = drops("balanced", 10, 8)
    results = admm_batch(problems)
    for problem, result in zip(problems, results, strict=True):
        assert result.cost == evaluate_allocation(problem, result.allocation).total
    rate = np.stack([p.rate for p in problems])
    costs = total_costs(problems[0], [r.allocation for r in results], rate)
    np.testing.assert_array_equal(costs, [r.cost for r in results])


@pytest.mark.parametrize("shared_price", [False, True])
def test_local_step_is_the_full_cubic_array_bit_for_bit(shared_price):
    """Solving the CPU share once for the devices at the common price changes nothing: the
    best F, its value and shares equal those of the plain (2, L, N, nF) array."""
    problems = drops("spec", 7, 5)
    rate = np.stack([p.rate for p in problems])
    terms = edge_terms(problems[0], rate)
    rng = np.random.default_rng(5)
    linear = rng.normal(0.0, 0.02, (2, 5, 7))
    linear[1, :, 3:] = linear[1, :, :1]  # local devices share the price
    penalty = 10 ** rng.uniform(-3, -1, (2, 5, 1))
    cpu = terms.cpu[0, 0]
    common = linear[1, :, 0] if shared_price else None
    best, value, shares = local_step(terms.tx, cpu, terms.constant, linear, penalty, common)
    coefficients = np.stack([terms.tx, terms.cpu])
    roots = share_cubic_root(coefficients, linear[..., None], penalty[..., None])
    full = terms.constant + np.sum(
        coefficients / roots + roots * (linear[..., None] + 0.5 * penalty[..., None] * roots),
        axis=0,
    )
    np.testing.assert_array_equal(best, full.argmin(axis=-1))
    index = best[..., None]
    np.testing.assert_array_equal(value, np.take_along_axis(full, index, axis=-1)[..., 0])
    np.testing.assert_array_equal(
        shares, np.take_along_axis(roots, np.stack([index, index]), axis=-1)[..., 0]
    )


def test_local_step_broadcasts_its_inputs_and_refuses_other_shapes():
    """A penalty or linear term given once for every instance is used for each of them; a shape
    that does not broadcast is a one-line ValueError naming the argument."""
    problems = drops("spec", 6, 3)
    terms = edge_terms(problems[0], np.stack([p.rate for p in problems]))
    cpu = terms.cpu[0, 0]
    linear = np.random.default_rng(2).normal(0.0, 0.02, (2, 1, 6))
    penalty = np.full((2, 1, 1), 0.01)
    best, value, shares = local_step(terms.tx, cpu, terms.constant, linear, penalty)
    for i in range(3):
        alone = local_step(terms.tx[i : i + 1], cpu, terms.constant[i : i + 1], linear, penalty)
        np.testing.assert_array_equal(best[i], alone[0][0])
        np.testing.assert_array_equal(value[i], alone[1][0])
        np.testing.assert_array_equal(shares[:, i], alone[2][:, 0])
    for name, arguments in {
        "linear": (terms.tx, cpu, terms.constant, np.zeros((2, 3, 5)), penalty),
        "penalty": (terms.tx, cpu, terms.constant, linear, np.ones((2, 2, 1))),
        "common": (terms.tx, cpu, terms.constant, linear, penalty, np.zeros(4)),
        "cpu": (terms.tx, np.ones(3), terms.constant, linear, penalty),
    }.items():
        with pytest.raises(ValueError, match=f"^local_step: {name} of shape .* does not broad"):
            local_step(*arguments)
    for tx in (terms.tx[..., :0], terms.tx[0]):  # no F, no instance axis
        with pytest.raises(ValueError, match=r"^local_step: tx must be \(L, N, nF\)"):
            local_step(tx, cpu, terms.constant, linear, penalty)


def test_decision_cost_of_one_instance_is_a_float():
    problem = drops("spec", 4, 1)[0]
    terms = edge_terms(problem)
    offload = np.array([True, False, True, False])
    cost = decision_cost(offload, terms.tx[:, 0], terms.cpu[:, 0], terms.constant[:, 0], 1.0)
    assert isinstance(cost, float)
    expected = (
        np.sqrt(terms.tx[offload, 0]).sum() ** 2
        + np.sqrt(terms.cpu[offload, 0]).sum() ** 2
        + terms.constant[offload, 0].sum()
        + 2.0
    )
    assert cost == pytest.approx(expected, rel=1e-14)
    with pytest.raises(ValueError, match="device axis"):
        decision_cost(True, 1.0, 1.0, 1.0, 1.0)


def test_batch_needs_one_config_and_one_size():
    with pytest.raises(ValueError, match="at least one"):
        admm_batch([])
    with pytest.raises(ValueError, match="one config"):
        admm_batch(drops("spec", 5, 1) + drops("spec", 6, 1))
    with pytest.raises(ValueError, match="one config"):
        admm_batch(drops("spec", 5, 1) + drops("pan2023", 5, 1))
    with pytest.raises(ValueError, match="rho"):
        admm_batch(drops("spec", 5, 2), rho=-1.0)


# --------------------------------------------------------------------------------- helpers
@pytest.mark.parametrize("name", ["spec", "pan2023"])
def test_helpers_broadcast_over_instances(name):
    problems = drops(name, 12, 6)
    problem = problems[0]
    rate = np.stack([p.rate for p in problems])
    rng = np.random.default_rng(3)
    offload = rng.random(rate.shape) < 0.4
    offload[0] = False  # an instance where nobody offloads
    frames = rng.integers(problem.frame_range[0], problem.frame_range[-1] + 1, rate.shape)
    terms = edge_terms(problem, rate)
    local = local_optimum(problem)
    start_offload, start_shares = admm_start(rate, terms, local.cost)
    time_share, edge_frequency = edge_shares(problem, offload, frames, rate)
    column = frames - problem.frame_range[0]
    costs = decision_cost(
        offload,
        np.take_along_axis(terms.tx, column[..., None], axis=-1)[..., 0],
        terms.cpu[0, 0, column],
        np.take_along_axis(terms.constant, column[..., None], axis=-1)[..., 0],
        local.cost,
    )
    allocations = compose_allocations(problem, offload, frames, rate)
    for i, instance in enumerate(problems):
        alone = edge_terms(instance)
        for field in ("tx", "cpu", "constant"):
            np.testing.assert_array_equal(getattr(terms, field)[i], getattr(alone, field))
        mask, shares = admm_start(instance.rate, alone, local.cost)
        np.testing.assert_array_equal(start_offload[i], mask)
        np.testing.assert_array_equal(start_shares[:, i], shares)
        tau, f_edge = edge_shares(instance, offload[i], frames[i])
        np.testing.assert_array_equal(time_share[i], tau)
        np.testing.assert_array_equal(edge_frequency[i], f_edge)
        devices = np.flatnonzero(offload[i])
        single = compose_allocation(instance, offload[i], frames[i])
        total = edge_cost(instance, devices, frames[i][devices]) + local.cost[~offload[i]].sum()
        assert costs[i] == pytest.approx(total, rel=1e-13)
        assert costs[i] == pytest.approx(evaluate_allocation(instance, single).total, rel=1e-12)
        for field in ("offload", "frames", "time_share", "edge_frequency", "local_frequency"):
            np.testing.assert_array_equal(getattr(allocations[i], field), getattr(single, field))
    assert costs[0] == local.cost.sum() and not time_share[0].any()
    assert not edge_frequency[0].any()


def test_a_local_device_without_uplink_leaves_the_shares_finite():
    """A local device whose rate underflows to 0 (-300 dB) takes no share and makes no NaN, for
    one instance and for a batch."""
    problem = drops("spec", 6, 1)[0]
    weak = JointOffloadProblem.from_gains(problem.config, np.r_[problem.gain_db[:5], -300.0])
    offload = np.array([True, False, True, True, False, False])
    frames = np.full(6, problem.frame_range[0])
    tau, f_edge = edge_shares(weak, offload, frames)
    assert np.isfinite(tau).all() and tau.sum() == pytest.approx(1.0) and tau[5] == 0.0
    batch_tau, batch_f_edge = edge_shares(weak, offload[None], frames[None], weak.rate[None])
    np.testing.assert_array_equal(batch_tau[0], tau)
    np.testing.assert_array_equal(batch_f_edge[0], f_edge)
