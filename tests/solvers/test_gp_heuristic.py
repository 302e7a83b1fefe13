"""Algorithm 2 (geometric programming) and Algorithm 3 (channel-aware heuristic offloading)."""

from __future__ import annotations

import numpy as np
import pytest

from mec_gym.problems.joint_offload import (
    JointOffloadConfig,
    JointOffloadProblem,
    evaluate_allocation,
    feasibility_violations,
)
from mec_gym.solvers.joint_offload.edge import edge_cost, edge_cost_batch, search_frames
from mec_gym.solvers.joint_offload.gp import (
    edge_geometric_program,
    fit_accuracy_monomial,
    fitted_edge_cost,
    gp_edge_allocation,
    gp_frames,
    improve_frames,
    resolve_edge_solver,
    solve_relaxed,
)
from mec_gym.solvers.joint_offload.heuristic import channel_aware_offloading
from mec_gym.solvers.joint_offload.local import local_optimum
from mec_gym.solvers.joint_offload.simple import edge_only, local_only

CONFIGS = {
    "default": {},
    "slot": {"tx_energy": "slot"},
    "macs": {"local_energy": "macs"},
    "exact": {"complexity": "exact"},
    "pan2023": {"transmit_power": 0.1, "tx_energy": "slot", "local_energy": "macs"},
}


def make(name: str, seed: int, n: int, **overrides: object) -> JointOffloadProblem:
    config = JointOffloadConfig(**{**CONFIGS[name], **overrides})
    return JointOffloadProblem.sample(config, np.random.default_rng(seed), num_devices=n)


def total(problem: JointOffloadProblem, allocation) -> float:
    return evaluate_allocation(problem, allocation).total


# ------------------------------------------------------------------------- accuracy monomial
def test_monomial_fit_is_exact_for_the_power_form():
    config = JointOffloadConfig(accuracy_form="power", accuracy_constants=(0.93, 0.5, 1.0))
    fit = fit_accuracy_monomial(config)
    assert fit.coefficient == pytest.approx(0.5)
    assert fit.exponent == pytest.approx(1.0)
    assert fit.max_overestimate < 1e-12 and fit.max_underestimate < 1e-12


@pytest.mark.parametrize(
    "form, constants",
    [("exponential", (0.93, 0.332, 0.405)), ("reciprocal", (0.93, 0.5, 0.5))],
)
def test_monomial_fit_errors_are_the_extreme_residuals(form, constants):
    config = JointOffloadConfig(accuracy_form=form, accuracy_constants=constants)
    fit = fit_accuracy_monomial(config)
    frames = np.arange(config.min_frames, config.max_frames + 1)
    error = fit(frames) - (constants[0] - config.accuracy_model(frames))
    assert fit.exponent > 0
    assert fit.max_overestimate == pytest.approx(max(error.max(), 0.0))
    assert fit.max_underestimate == pytest.approx(max(-error.min(), 0.0))
    # weighted by the gap, the fit is good where the gap is large (at F_min)
    largest_gap = constants[0] - config.accuracy_model(config.min_frames)
    assert max(fit.max_overestimate, fit.max_underestimate) < 0.1 * largest_gap


# ------------------------------------------------------------------------ compiled program
def test_program_is_dpp_and_compiled_once_per_shape():
    program = edge_geometric_program(3, 0.5)
    assert program.problem.is_dcp(dpp=True)
    assert edge_geometric_program(3, 0.5) is program
    assert edge_geometric_program(2, 0.5) is not program
    assert edge_geometric_program(3, 0.6) is not program


# ------------------------------------------------------------------------- relaxed solution
@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("seed", [0, 1])
def test_relaxed_solution_is_theorem2_consistent(name, seed):
    problem = make(name, seed, 4)
    c = problem.config
    devices = np.array([0, 2, 3])
    relaxed = solve_relaxed(problem, devices)
    assert np.all(relaxed.frames >= c.min_frames - 1e-6)
    assert np.all(relaxed.frames <= c.max_frames + 1e-6)
    # both budgets tight and the shares are Theorem 2's square-root rule at the real frames
    assert relaxed.time_share.sum() == pytest.approx(1, rel=1e-4)
    assert relaxed.edge_frequency.sum() == pytest.approx(c.edge_capacity, rel=1e-4)
    tx = np.sqrt(problem.tx_weight[devices] * relaxed.frames / problem.rate[devices])
    np.testing.assert_allclose(relaxed.time_share, tx / tx.sum(), rtol=1e-3)
    alpha, beta = problem.linear_complexity
    cpu = np.sqrt(alpha * relaxed.frames + beta)
    np.testing.assert_allclose(relaxed.edge_frequency, c.edge_capacity * cpu / cpu.sum(), rtol=1e-3)
    fitted = fitted_edge_cost(problem, devices, relaxed.frames)
    assert relaxed.value == pytest.approx(fitted, rel=1e-5)


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relaxation_bounds_the_integer_problem(name, seed):
    """Provable: the GP optimum is the minimum of the fitted Phi over the box, so it is below
    the fitted Phi at every integer point; below the exact Phi up to w3 |S| times the largest
    overestimate of the accuracy fit (with the linear C(F), which the GP uses exactly)."""
    problem = make(name, seed, 3)
    c = problem.config
    devices = np.arange(3)
    relaxed = solve_relaxed(problem, devices)
    slack = 1e-6 * abs(relaxed.value)
    grid = problem.frame_range[np.stack(np.meshgrid(*[np.arange(6)] * 3), -1).reshape(-1, 3)]
    for frames in (search_frames(problem, devices), gp_frames(problem, devices), grid):
        assert np.all(relaxed.value <= fitted_edge_cost(problem, devices, frames) + slack)
    if c.complexity == "linear":
        fit_error = c.accuracy_weight * devices.size * fit_accuracy_monomial(c).max_overestimate
        best = edge_cost(problem, devices, search_frames(problem, devices))
        assert relaxed.value <= best + fit_error + slack


def test_relaxed_solve_rejects_an_empty_set():
    problem = make("default", 0, 3)
    with pytest.raises(ValueError, match="at least one"):
        solve_relaxed(problem, np.zeros(0, dtype=int))
    assert gp_frames(problem, np.zeros(0, dtype=int)).shape == (0,)


def test_a_single_feasible_frame_count():
    config = JointOffloadConfig(max_frames=8, accuracy_requirement=0.9165)
    assert config.min_frames == config.max_frames == 8
    problem = JointOffloadProblem.sample(config, np.random.default_rng(0), num_devices=4)
    np.testing.assert_array_equal(gp_frames(problem, np.arange(3)), [8, 8, 8])
    assert feasibility_violations(problem, channel_aware_offloading(problem)) == []


# --------------------------------------------------------------------------------- rounding
@pytest.mark.parametrize("seed", range(4))
def test_improve_frames_reaches_a_local_minimum(seed):
    rng = np.random.default_rng(seed)
    problem = make("exact", seed, 5)
    c = problem.config
    devices = np.array([0, 1, 3, 4])
    start = rng.integers(c.min_frames, c.max_frames + 1, size=devices.size)
    frames = improve_frames(problem, devices, start)
    cost = edge_cost(problem, devices, frames)
    assert cost <= edge_cost(problem, devices, start)
    assert np.all((frames >= c.min_frames) & (frames <= c.max_frames))
    steps = np.concatenate([np.eye(devices.size, dtype=int), -np.eye(devices.size, dtype=int)])
    moves = frames + steps
    moves = moves[((moves >= c.min_frames) & (moves <= c.max_frames)).all(axis=1)]
    assert np.all(edge_cost_batch(problem, devices, moves) >= cost)


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("size", [2, 3])
def test_gp_frames_match_the_exhaustive_search(name, seed, size):
    problem = make(name, seed, 4)
    devices = np.random.default_rng(seed).choice(4, size=size, replace=False)
    best = edge_cost(problem, devices, search_frames(problem, devices))
    gp = edge_cost(problem, devices, gp_frames(problem, devices))
    assert best <= gp + 1e-12
    assert gp - best <= 1e-3 * abs(best)


def test_gp_edge_allocation_checks_the_decision_shape():
    with pytest.raises(ValueError, match="shape"):
        gp_edge_allocation(make("default", 0, 3), np.ones(4, dtype=bool))


def test_resolve_edge_solver():
    assert resolve_edge_solver("gp") is gp_frames
    assert resolve_edge_solver("search") is search_frames
    assert resolve_edge_solver(search_frames) is search_frames
    with pytest.raises(ValueError, match="edge_solver"):
        resolve_edge_solver("simplex")


@pytest.mark.parametrize("name", ["default", "pan2023"])
def test_gp_edge_allocation_completes_a_decision(name):
    problem = make(name, 3, 6)
    offload = np.array([True, False, True, True, False, True])
    allocation = gp_edge_allocation(problem, offload)
    assert feasibility_violations(problem, allocation) == []
    np.testing.assert_array_equal(allocation.offload, offload)
    devices = np.flatnonzero(offload)
    np.testing.assert_array_equal(allocation.frames[devices], gp_frames(problem, devices))
    local = local_optimum(problem)
    np.testing.assert_array_equal(allocation.frames[~offload], local.frames[~offload])
    costs = evaluate_allocation(problem, allocation).cost
    assert costs[devices].sum() == pytest.approx(
        edge_cost(problem, devices, allocation.frames[devices])
    )
    np.testing.assert_allclose(costs[~offload], local.cost[~offload])


# -------------------------------------------------------------------------------- heuristic
@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("seed", range(3))
def test_heuristic_is_feasible_and_beats_the_trivial_decisions(name, seed):
    problem = make(name, seed, 6)
    allocation = channel_aware_offloading(problem)
    assert feasibility_violations(problem, allocation) == []
    cost = total(problem, allocation)
    # by construction: it starts from every device on the edge and only accepts improvements
    assert cost <= total(problem, edge_only(problem)) + 1e-12
    # observed, not proven (equal local costs, marginal edge costs falling as the set shrinks)
    assert cost <= total(problem, local_only(problem)) + 1e-12


@pytest.mark.parametrize("name, capacity", [("default", 22e9), ("pan2023", 22e9), ("exact", 60e9)])
@pytest.mark.parametrize("seed", range(3))
def test_heuristic_follows_the_stopping_rule(name, capacity, seed):
    """The local devices are the k weakest channels; each of the k moves lowered the cost and
    moving the (k+1)-th weakest would not."""
    problem = make(name, seed, 6, edge_capacity=capacity)
    allocation = channel_aware_offloading(problem)
    order = np.argsort(problem.gain_db, kind="stable")
    k = int((~allocation.offload).sum())
    np.testing.assert_array_equal(np.sort(np.flatnonzero(~allocation.offload)), np.sort(order[:k]))
    costs = []
    for moved in range(min(k + 2, problem.num_devices + 1)):
        offload = np.ones(problem.num_devices, dtype=bool)
        offload[order[:moved]] = False
        costs.append(total(problem, gp_edge_allocation(problem, offload)))
    assert np.all(np.diff(costs[: k + 1]) < 0)
    if k < problem.num_devices:
        assert costs[k + 1] >= costs[k]
    assert total(problem, allocation) == pytest.approx(costs[k])


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("capacity", [4e9, 8e9, 22e9])  # from 2 local devices of 3 to none
def test_search_and_gp_heuristics_agree(name, capacity):
    problem = make(name, 0, 3, edge_capacity=capacity)
    search = channel_aware_offloading(problem, edge_solver="search")
    gp = channel_aware_offloading(problem, edge_solver="gp")
    assert feasibility_violations(problem, search) == []
    assert total(problem, gp) == pytest.approx(total(problem, search), rel=1e-3)
    by_callable = channel_aware_offloading(problem, edge_solver=search_frames)
    np.testing.assert_array_equal(by_callable.frames, search.frames)
