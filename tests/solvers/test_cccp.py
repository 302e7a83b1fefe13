"""CCCP offloading: the convex relaxation (convexity, exactness at vertices, KKT, lower bound)
and the binary, feasible result."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mec_gym.problems.joint_offload import (
    JointOffloadProblem,
    evaluate_allocation,
    feasibility_violations,
)
from mec_gym.solvers.joint_offload.cccp import (
    cccp,
    cccp_allocation,
    offload_relaxation,
    solve_relaxation,
)
from mec_gym.solvers.joint_offload.edge import compose_allocation, edge_cost, search_frames
from mec_gym.solvers.joint_offload.local import local_optimum
from tests.solvers.instances import CONFIGS, sample


def brute_force_optimum(problem: JointOffloadProblem) -> float:
    """Every offloading set, Algorithm 1 for its frames: the optimal total cost."""
    local = local_optimum(problem).cost
    best = np.inf
    for bits in itertools.product([False, True], repeat=problem.num_devices):
        devices = np.flatnonzero(bits)
        edge = edge_cost(problem, devices, search_frames(problem, devices)) if bits else 0.0
        best = min(best, local.sum() - local[devices].sum() + edge)
    return best


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_relaxed_cost_is_convex(name):
    """Midpoint (and random-point) convexity on pairs of points of the product of simplices,
    from near-vertices (small Dirichlet concentration) to the interior."""
    relaxation = offload_relaxation(sample(name, 0, 6))
    rng = np.random.default_rng(1)
    n, k = relaxation.shape
    for concentration in (0.05, 0.5, 5.0):
        first = rng.dirichlet(np.full(k, concentration), (200, n))
        second = rng.dirichlet(np.full(k, concentration), (200, n))
        weight = rng.random((200, 1, 1))
        for w in (0.5, weight):
            mixed = relaxation.cost(w * first + (1 - w) * second)
            chord = np.squeeze(w) * relaxation.cost(first) + (1 - np.squeeze(w)) * relaxation.cost(
                second
            )
            assert np.all(mixed <= chord + 1e-12)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_relaxed_cost_at_a_vertex_is_the_allocation_cost(name):
    problem = sample(name, 2, 7)
    relaxation = offload_relaxation(problem)
    rng = np.random.default_rng(3)
    for _ in range(10):
        offload = rng.random(7) < 0.6
        frames = np.where(offload, rng.choice(problem.frame_range, 7), 0)
        z = relaxation.one_hot(offload, frames)
        allocation = compose_allocation(problem, offload, frames)
        expected = evaluate_allocation(problem, allocation).total
        assert relaxation.cost(z) == pytest.approx(expected, rel=1e-12)
        decoded_offload, decoded_frames = relaxation.decode(z)
        np.testing.assert_array_equal(decoded_offload, offload)
        np.testing.assert_array_equal(decoded_frames, frames)


@pytest.mark.parametrize("n", [8, 25])
def test_relaxation_solution_satisfies_kkt_and_is_nearly_integral(n):
    for name in CONFIGS:
        relaxation = offload_relaxation(sample(name, 4, n))
        z = solve_relaxation(relaxation)
        assert np.all(z >= 0)
        np.testing.assert_allclose(z.sum(axis=1), 1.0)
        # gradient of J; the mass of a row sits on its cheapest options
        gradient = (
            relaxation.linear
            + 2 * np.sum(z * relaxation.tx_root) * relaxation.tx_root
            + 2 * np.sum(z * relaxation.cpu_root) * relaxation.cpu_root
        )
        excess = gradient - gradient.min(axis=1, keepdims=True)
        assert np.all(excess[z > 1e-3] <= 1e-6)
        # the quadratic part has rank 2: at most two fractional rows (up to solver tolerance)
        assert np.sum(z.max(axis=1) < 1 - 1e-3) <= 2


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_relaxation_bounds_the_optimum_and_cccp_reaches_it_on_small_cases(name):
    for seed in range(3):
        problem = sample(name, seed, 3)
        optimum = brute_force_optimum(problem)
        result = cccp(problem, edge_solver="search")
        assert result.relaxed_cost <= optimum + 1e-7
        assert result.cost >= optimum - 1e-9
        # observed on 18 drops of N = 3: CCCP finds the optimum
        assert result.cost == pytest.approx(optimum, abs=1e-9)


@pytest.mark.parametrize("n", [3, 8, 25])
def test_cccp_is_binary_and_feasible(n):
    for seed in range(2):
        problem = sample("default", seed, n)
        result = cccp(problem)
        assert result.binary
        assert feasibility_violations(problem, result.allocation) == []
        cost = evaluate_allocation(problem, result.allocation).total
        assert np.isfinite(cost) and cost == pytest.approx(result.cost)
        assert result.relaxed_cost <= result.cost + 1e-7
        # empirical (not a theorem), checked on 135 drops
        assert result.cost <= local_optimum(problem).cost.sum() + 1e-9


def test_cccp_allocation_and_validation():
    problem = sample("pan2023", 5, 3)
    allocation = cccp_allocation(problem, edge_solver="search")
    np.testing.assert_array_equal(
        allocation.offload, cccp(problem, edge_solver="search").allocation.offload
    )
    with pytest.raises(ValueError, match="penalty"):
        cccp(problem, initial_penalty=0.0)


def test_the_result_does_not_depend_on_what_was_solved_before():
    """A pure function of its instance: the relaxation and the allocation are identical bit for
    bit whether other instances (of the same and of other sizes) were solved in between."""
    problems = [sample("default", seed, n) for seed, n in [(0, 12), (1, 12), (2, 7), (3, 12)]]
    first = [solve_relaxation(offload_relaxation(p)) for p in problems]
    reversed_order = [solve_relaxation(offload_relaxation(p)) for p in problems[::-1]][::-1]
    for a, b in zip(first, reversed_order, strict=True):
        np.testing.assert_array_equal(a, b)
    once = cccp(problems[0]).allocation
    for other in problems[1:]:
        cccp(other)
    again = cccp(problems[0]).allocation
    for field in ("offload", "frames", "time_share", "edge_frequency"):
        np.testing.assert_array_equal(getattr(once, field), getattr(again, field))


def test_devices_without_uplink_stay_local():
    """A device whose rate underflows to 0 (-300 dB) is kept local; the others are solved as if
    it were not there."""
    problem = sample("default", 4, 8)
    weak = JointOffloadProblem.from_gains(problem.config, np.r_[problem.gain_db[:7], -300.0])
    result = cccp(weak)
    assert not result.allocation.offload[7]
    assert feasibility_violations(weak, result.allocation) == []
    assert np.isfinite(result.cost) and result.relaxed_cost <= result.cost + 1e-9
    nobody = JointOffloadProblem.from_gains(problem.config, np.full(8, -300.0))
    alone = cccp(nobody)
    assert not alone.allocation.offload.any()
    assert alone.cost == pytest.approx(local_optimum(nobody).cost.sum())


def test_a_failed_relaxation_falls_back_to_algorithm_3(monkeypatch):
    """cvxpy giving up on the relaxation: a warning, and GP+Heuristic's feasible allocation."""
    import cvxpy as cp

    from mec_gym.solvers.joint_offload import cccp as cccp_module
    from mec_gym.solvers.joint_offload.heuristic import channel_aware_offloading

    def failing(*args, **kwargs):
        raise cp.SolverError("Solver 'CLARABEL' failed")

    monkeypatch.setattr(cccp_module, "solve_relaxation", failing)
    problem = sample("default", 8, 6)
    with pytest.warns(UserWarning, match="Algorithm 3"):
        result = cccp(problem)
    assert feasibility_violations(problem, result.allocation) == []
    heuristic = channel_aware_offloading(problem)
    np.testing.assert_array_equal(result.allocation.offload, heuristic.offload)
    assert result.relaxed_cost == -np.inf and not result.binary
