"""The Newton solver of the relaxed edge problem against the cvxpy reference (issue 13)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mec_gym.problems.joint_offload import (
    PRESETS,
    JointOffloadConfig,
    JointOffloadProblem,
    evaluate_allocation,
)
from mec_gym.solvers.joint_offload import heuristic
from mec_gym.solvers.joint_offload.edge import search_frames
from mec_gym.solvers.joint_offload.gp import (
    FittedEdgeCost,
    edge_geometric_program,
    fitted_edge_cost,
    gp_frames,
    relaxed_frames,
    round_frames,
    solve_relaxed,
)
from mec_gym.solvers.joint_offload.heuristic import channel_aware_offloading

CONFIGS = {
    "default": {},
    "pan2023": PRESETS["pan2023"],
    "balanced": PRESETS["balanced"],
    "airtime": {"tx_energy": "airtime", "energy_weight": 2.0},  # some frames at F_min
    "no_accuracy": {"accuracy_weight": 0.0},  # every frame at F_min
    "upper": {"accuracy_weight": 5.0, "max_frames": 10},  # frames at F_max
    "exact": {"complexity": "exact"},
}


def make(name: str, seed: int, n: int) -> JointOffloadProblem:
    config = JointOffloadConfig(**CONFIGS[name])
    return JointOffloadProblem.sample(config, np.random.default_rng(seed), num_devices=n)


def scale(problem: JointOffloadProblem, value: float, size: int) -> float:
    """g + w3 a1 |S|, the sum of the positive terms of the relaxed cost."""
    c = problem.config
    return value + c.accuracy_weight * c.accuracy_model.a1 * size


def cvxpy_gp_frames(problem: JointOffloadProblem, devices: np.ndarray) -> np.ndarray:
    """Algorithm 2 with the cvxpy reference for the relaxation."""
    if len(devices) == 0:
        return np.zeros(0, dtype=np.int64)
    return round_frames(problem, devices, solve_relaxed(problem, devices, method="cvxpy").frames)


# ------------------------------------------------------------------------ relaxed optimum
@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("n", [2, 5, 25, 60])
@pytest.mark.parametrize("seed", [0, 1])
def test_newton_equals_the_cvxpy_optimum(name, n, seed):
    problem = make(name, seed, n)
    devices = np.arange(n)
    newton = solve_relaxed(problem, devices)
    reference = solve_relaxed(problem, devices, method="cvxpy")
    total = scale(problem, reference.value, n)
    # g at the conic solver's frames is the same optimum to 1e-6, and Newton's is never worse;
    # the value the conic solver reports (with its own shares) is within its tolerance
    gap = fitted_edge_cost(problem, devices, reference.frames) - newton.value
    assert -1e-12 * total <= gap <= 1e-6 * total
    assert newton.value == pytest.approx(reference.value, abs=5e-6 * total)
    assert newton.value == pytest.approx(fitted_edge_cost(problem, devices, newton.frames))
    np.testing.assert_allclose(newton.frames, reference.frames, rtol=2e-3)
    # the solver's shares are Theorem 2's at its frames, the closed form Newton uses
    np.testing.assert_allclose(newton.time_share, reference.time_share, rtol=2e-3)
    np.testing.assert_allclose(newton.edge_frequency, reference.edge_frequency, rtol=2e-3)


def test_the_configurations_reach_both_bounds_and_the_interior():
    frames = {
        (name, n): solve_relaxed(make(name, 0, n), np.arange(n)).frames
        for name in CONFIGS
        for n in (2, 5, 10, 25)
    }
    everything = np.concatenate(list(frames.values()))
    c = JointOffloadConfig()
    assert np.any(everything == c.min_frames)
    assert np.any(everything == 10)  # F_max of "upper"
    assert np.any((everything > c.min_frames + 0.1) & (everything < 9.9))
    mixed = frames["airtime", 10]
    assert np.any(mixed == c.min_frames) and np.any(mixed > c.min_frames + 1e-3)


@pytest.mark.parametrize("name", ["default", "airtime", "upper"])
@pytest.mark.parametrize("n", [3, 10])
def test_newton_satisfies_the_box_kkt_conditions(name, n):
    """Independent of cvxpy: by central differences in u = ln F, the gradient vanishes at the
    interior frames and points into the box at the bounds."""
    problem = make(name, 7, n)
    c = problem.config
    devices = np.arange(n)
    frames = relaxed_frames(problem, devices)[0]
    cost = FittedEdgeCost.of(problem, devices)
    step = 1e-5 * np.eye(n)
    gradient = (cost(frames * np.exp(step)) - cost(frames * np.exp(-step))) / 2e-5
    tolerance = 1e-6 * scale(problem, float(cost(frames)), n)
    low, high = frames <= c.min_frames, frames >= c.max_frames
    interior = ~low & ~high
    assert np.all(np.abs(gradient[interior]) <= tolerance)
    assert np.all(gradient[low] >= -tolerance)
    assert np.all(gradient[high] <= tolerance)


@pytest.mark.parametrize("name", ["default", "airtime", "upper"])
def test_batched_rows_equal_separate_solves(name):
    problem = make(name, 3, 12)
    devices = np.random.default_rng(3).permutation(12)
    mask = np.random.default_rng(4).random((6, 12)) < 0.5
    mask[0] = True
    mask[1] = False
    batch = relaxed_frames(problem, devices, mask)
    assert np.all(np.isnan(batch[~mask]))
    for row, selected in zip(batch, mask, strict=True):
        if selected.any():
            single = relaxed_frames(problem, devices[selected])[0]
            np.testing.assert_allclose(row[selected], single, rtol=1e-9)


def test_relaxed_api_checks_its_arguments():
    problem = make("default", 0, 3)
    with pytest.raises(ValueError, match="method"):
        solve_relaxed(problem, np.arange(3), method="simplex")
    with pytest.raises(ValueError, match="mask"):
        relaxed_frames(problem, np.arange(3), np.ones((2, 4), dtype=bool))


# ------------------------------------------------------------------------------ Algorithm 3
@pytest.mark.parametrize("n", [10, 25])
@pytest.mark.parametrize("name", ["default", "pan2023", "balanced"])
def test_heuristic_is_unchanged_against_the_cvxpy_path(n, name):
    """Over 20 drops: the same local devices and frames as Algorithm 2 with the cvxpy
    relaxation, or (rounding a relaxed frame near x.5 differently) a cost not worse by more
    than 1e-9 relative."""
    config = JointOffloadConfig(**CONFIGS[name])
    for seed in range(20):
        problem = JointOffloadProblem.sample(config, np.random.default_rng(10000 + seed), n)
        fast = channel_aware_offloading(problem)
        reference = channel_aware_offloading(problem, edge_solver=cvxpy_gp_frames)
        same = np.array_equal(fast.offload, reference.offload) and np.array_equal(
            fast.frames, reference.frames
        )
        if not same:
            new, old = (evaluate_allocation(problem, a).total for a in (fast, reference))
            assert new <= old + 1e-9 * abs(old), (seed, new, old)


@pytest.mark.parametrize("name", ["default", "airtime", "upper"])
def test_batched_heuristic_equals_per_set_gp_frames(name):
    """The batch over the suffixes gives what Algorithm 2 gives on each candidate set."""
    for seed in range(5):
        problem = make(name, seed, 15)
        batched = channel_aware_offloading(problem)
        per_set = channel_aware_offloading(problem, edge_solver=lambda p, d: gp_frames(p, d))
        np.testing.assert_array_equal(batched.offload, per_set.offload)
        np.testing.assert_array_equal(batched.frames, per_set.frames)


def test_suffix_solver_rounds_the_relaxation_of_each_suffix(monkeypatch):
    problem = make("upper", 2, 9)
    order = np.argsort(problem.gain_db, kind="stable")
    rounded = {}

    def record(problem, devices, relaxed):
        rounded[len(devices)] = (devices, relaxed)
        return round_frames(problem, devices, relaxed)

    monkeypatch.setattr(heuristic, "round_frames", record)
    solve = heuristic.suffix_solver(problem, order, gp_frames)
    for k in range(order.size + 1):
        np.testing.assert_array_equal(solve(k), gp_frames(problem, order[k:]))
        devices, relaxed = rounded[order.size - k]
        np.testing.assert_array_equal(devices, order[k:])
        if k < order.size:
            np.testing.assert_allclose(relaxed, relaxed_frames(problem, order[k:])[0], rtol=1e-9)
    assert heuristic.suffix_solver(problem, order, search_frames)(3).shape == (6,)


def test_no_warnings_at_a_hundred_devices():
    problem = JointOffloadProblem.sample(
        JointOffloadConfig(num_devices=100), np.random.default_rng(10000)
    )
    edge_geometric_program.cache_clear()  # compile cold
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        channel_aware_offloading(problem)
        reference = solve_relaxed(problem, np.arange(100), method="cvxpy")
    total = scale(problem, reference.value, 100)
    assert solve_relaxed(problem, np.arange(100)).value == pytest.approx(
        reference.value, abs=5e-6 * total
    )
