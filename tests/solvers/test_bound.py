"""The exact bound against exhaustive searches, feasibility and the simple baselines."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mec_gym.problems.joint_offload import (
    JointOffloadConfig,
    JointOffloadProblem,
    evaluate_allocation,
    feasibility_violations,
)
from mec_gym.solvers.joint_offload.bound import exact_edge_frames, exact_optimum
from mec_gym.solvers.joint_offload.edge import compose_allocation, edge_cost, search_frames
from mec_gym.solvers.joint_offload.local import local_optimum

CASES = {
    "default": {},
    "pan2023": {"transmit_power": 0.1, "tx_energy": "slot", "local_energy": "macs"},
    "exact-complexity": {"complexity": "exact", "accuracy_weight": 2.0},
    "edge-rich": {"edge_capacity": 100e9, "bandwidth": 20e6},
    "weak-devices": {"device_max_frequency": 0.5e9},
}
SMALL_FRAMES = {"max_frames": 8, "accuracy_requirement": 0.75}
"""F in 2..8 (7 values): small enough for exhaustive searches over the product set."""


def _drop(case: str, seed: int, n: int, **overrides: object) -> JointOffloadProblem:
    config = JointOffloadConfig(**CASES[case], **overrides)
    return JointOffloadProblem.sample(config, np.random.default_rng(seed), n)


def _masks(n: int) -> list[np.ndarray]:
    return [np.array(bits, dtype=bool) for bits in itertools.product([False, True], repeat=n)]


@pytest.mark.parametrize("case", CASES)
def test_edge_frames_equal_algorithm1(case: str) -> None:
    """The branch and bound over F finds Algorithm 1's exhaustive optimum of Phi."""
    problem = _drop(case, 1, 8)
    rng = np.random.default_rng(1)
    for size in (1, 2, 3, 3, 4):
        devices = rng.choice(8, size, replace=False)
        found = exact_edge_frames(problem, devices)
        assert found.optimal
        assert edge_cost(problem, devices, found.frames) == pytest.approx(found.cost, rel=1e-12)
        reference = edge_cost(problem, devices, search_frames(problem, devices))
        assert found.cost == pytest.approx(reference, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("case", ["default", "pan2023", "edge-rich"])
def test_bound_equals_exhaustive_search_through_shared_cost(case: str) -> None:
    """N = 4: all 2^N sets x all frame vectors, each costed by evaluate_allocation."""
    problem = _drop(case, 2, 4, **SMALL_FRAMES)
    best = np.inf
    for offload in _masks(4):
        devices = np.flatnonzero(offload)
        for edge_frames in itertools.product(problem.frame_range, repeat=devices.size):
            frames = np.full(4, problem.config.min_frames)
            frames[devices] = edge_frames
            allocation = compose_allocation(problem, offload, frames)
            best = min(best, evaluate_allocation(problem, allocation).total)
    result = exact_optimum(problem)
    assert result.optimal
    assert result.cost == pytest.approx(best, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("n", [5, 6])
def test_bound_equals_algorithm1_on_every_set(case: str, n: int) -> None:
    """N <= 6: Theorem 1 for the locals + Algorithm 1 on every one of the 2^N sets."""
    problem = _drop(case, n, n, **SMALL_FRAMES)
    local = local_optimum(problem).cost
    best = np.inf
    for offload in _masks(n):
        devices = np.flatnonzero(offload)
        phi = edge_cost(problem, devices, search_frames(problem, devices))
        best = min(best, local[~offload].sum() + phi)
    result = exact_optimum(problem)
    assert result.optimal
    assert result.cost == pytest.approx(best, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("case", ["default", "edge-rich"])
def test_twins_are_searched_once_and_the_optimum_is_kept(case: str) -> None:
    """Devices with identical channels are interchangeable: the bound searches one set per
    number of twins offloading, and still finds the optimum over all 2^N sets (N = 9: runs of
    4 and 3 twins and two distinct devices)."""
    config = JointOffloadConfig(**CASES[case], **SMALL_FRAMES)
    gains = np.array([-95.0] * 4 + [-100.0] * 3 + [-90.0, -105.0])
    problem = JointOffloadProblem.from_gains(config, gains)
    local = local_optimum(problem).cost
    best = min(
        local[~offload].sum() + exact_edge_frames(problem, np.flatnonzero(offload)).cost
        for offload in _masks(gains.size)
    )
    result = exact_optimum(problem)
    assert result.optimal
    assert result.cost == pytest.approx(best, rel=1e-12, abs=1e-12)
    assert result.sets_evaluated <= 5 * 4 * 2 * 2  # prefixes of each run, each distinct in/out


def test_identical_channels_do_not_blow_up_the_search() -> None:
    config = JointOffloadConfig(num_devices=40)
    problem = JointOffloadProblem.from_gains(config, np.full(40, -100.0))
    result = exact_optimum(problem, time_limit=30.0)
    assert result.optimal
    assert result.sets_evaluated <= 41  # one set per number of devices offloading, at most


@pytest.mark.parametrize("case", CASES)
def test_bound_is_feasible_and_below_the_simple_allocations(case: str) -> None:
    problem = _drop(case, 3, 12)
    result = exact_optimum(problem)
    assert result.optimal
    assert feasibility_violations(problem, result.allocation) == []
    assert evaluate_allocation(problem, result.allocation).total == pytest.approx(result.cost)
    rng = np.random.default_rng(3)
    masks = [np.zeros(12, dtype=bool), np.ones(12, dtype=bool)] + [
        rng.random(12) < 0.5 for _ in range(10)
    ]
    for offload in masks:
        simple = evaluate_allocation(problem, compose_allocation(problem, offload)).total
        assert result.cost <= simple + 1e-12
    # no single device gains by switching side (with its set's optimal frames)
    for n in range(12):
        offload = result.allocation.offload.copy()
        offload[n] = not offload[n]
        devices = np.flatnonzero(offload)
        moved = local_optimum(problem).cost[~offload].sum()
        moved += exact_edge_frames(problem, devices).cost
        assert result.cost <= moved + 1e-12


def test_time_limit_returns_a_feasible_allocation_and_a_lower_bound() -> None:
    problem = _drop("default", 4, 10)
    optimum = exact_optimum(problem)
    assert optimum.optimal and optimum.lower_bound == pytest.approx(optimum.cost, rel=1e-12)
    hurried = exact_optimum(problem, time_limit=0.0)
    assert not hurried.optimal
    assert feasibility_violations(problem, hurried.allocation) == []
    assert hurried.cost >= optimum.cost - 1e-12
    assert hurried.lower_bound <= optimum.cost + 1e-12
    assert hurried.lower_bound > -np.inf


@pytest.mark.parametrize("time_limit", [-1.0, float("nan")])
def test_a_negative_time_limit_is_refused(time_limit: float) -> None:
    with pytest.raises(ValueError, match="time_limit"):
        exact_optimum(_drop("default", 4, 3), time_limit=time_limit)


def test_large_n_is_solved_to_optimality() -> None:
    """No N limit: the pruning proves the optimum at N = 60 of the default configuration, and
    the optimum is no costlier than the heuristics' allocations."""
    problem = _drop("default", 7, 60)
    result = exact_optimum(problem, time_limit=60.0)
    assert result.optimal
    assert result.lower_bound == pytest.approx(result.cost, rel=1e-12)
    assert feasibility_violations(problem, result.allocation) == []
    everyone = np.ones(60, dtype=bool)
    for offload in (everyone, ~everyone, np.arange(60) % 2 == 0):
        simple = evaluate_allocation(problem, compose_allocation(problem, offload)).total
        assert result.cost <= simple + 1e-12
