"""Theorem 1 (local optimum), Theorem 2 (edge shares) and Algorithm 1 against independent checks.

Every brute force here goes through the shared cost function ``evaluate_allocation``, so these
tests also check that the solvers' closed forms and the environments' cost agree.
"""

from __future__ import annotations

import itertools

import cvxpy as cp
import numpy as np
import pytest

from mec_gym.problems.joint_offload import (
    Allocation,
    JointOffloadConfig,
    JointOffloadProblem,
    evaluate_allocation,
    feasibility_violations,
)
from mec_gym.solvers.joint_offload.edge import (
    compose_allocation,
    edge_cost,
    edge_cost_batch,
    edge_shares,
    search_frames,
)
from mec_gym.solvers.joint_offload.local import local_optimum, optimal_local

LOCAL_CASES = {
    # (w1 / (2 w2 kappa))^(1/3) = 1.71 GHz < f^max = 1.8 GHz
    "cycles-interior": {},
    "cycles-capped": {"device_max_frequency": 1.0e9},
    # (w1 eta / (2 w2 kappa))^(1/3) = 0.84 GHz
    "macs-interior": {"local_energy": "macs"},
    "macs-capped": {"local_energy": "macs", "device_max_frequency": 0.5e9},
    "exact-complexity": {"complexity": "exact", "accuracy_weight": 3.0},
    "accuracy-heavy-macs": {"local_energy": "macs", "accuracy_weight": 5.0},
    "no-energy-weight": {"energy_weight": 0.0},
    "power-accuracy": {"accuracy_form": "power", "accuracy_requirement": 0.7},
}

TX_CASES = {
    "airtime": {},
    "slot": {"transmit_power": 0.1, "tx_energy": "slot", "local_energy": "macs"},
}


def _drop(seed: int, n: int, **overrides: object) -> JointOffloadProblem:
    return JointOffloadProblem.sample(
        JointOffloadConfig(**overrides), np.random.default_rng(seed), n
    )


def _local_allocation(frames: np.ndarray, frequency: np.ndarray) -> Allocation:
    zeros = np.zeros(frames.size)
    return Allocation(
        offload=np.zeros(frames.size, dtype=bool),
        frames=frames,
        time_share=zeros,
        edge_frequency=zeros,
        local_frequency=frequency,
    )


# ------------------------------------------------------------------------------ Theorem 1
@pytest.mark.parametrize("case", LOCAL_CASES)
def test_theorem1_equals_brute_force_over_frames_and_frequency(case: str) -> None:
    """Theorem 1's (F*, f*) is the minimum of the shared cost over all F and a fine f grid."""
    config = JointOffloadConfig(**LOCAL_CASES[case])
    solution = local_optimum(JointOffloadProblem.from_gains(config, [-100.0]))
    frame_range = np.arange(config.min_frames, config.max_frames + 1)
    f_max = config.device_max_frequency
    grid = np.linspace(f_max / 4000, f_max, 4000)
    frames, frequency = np.repeat(frame_range, grid.size), np.tile(grid, frame_range.size)
    # gains do not matter to a local device: one device per (F, f) pair
    many = JointOffloadProblem.from_gains(config, np.full(frames.size, -100.0))
    cost = evaluate_allocation(many, _local_allocation(frames, frequency)).cost
    best = int(np.argmin(cost))
    theorem = evaluate_allocation(
        JointOffloadProblem.from_gains(config, [-100.0]),
        _local_allocation(solution.frames, solution.frequency),
    ).cost[0]
    assert theorem == pytest.approx(solution.cost[0], rel=1e-12, abs=1e-12)
    assert theorem <= cost[best] + 1e-12
    assert cost[best] - theorem < 1e-6 * abs(theorem)
    assert solution.frames[0] == frames[best]
    assert solution.frequency[0] == pytest.approx(frequency[best], rel=2e-3)
    assert solution.frequency[0] <= f_max


def test_theorem1_frequency_cap_binds_only_when_expected() -> None:
    for case, binds in [("cycles-interior", False), ("cycles-capped", True),
                        ("macs-interior", False), ("macs-capped", True),
                        ("no-energy-weight", True)]:  # fmt: skip
        config = JointOffloadConfig(**LOCAL_CASES[case])
        frequency = local_optimum(JointOffloadProblem.from_gains(config, [-100.0])).frequency[0]
        assert bool(frequency == config.device_max_frequency) is binds, case


@pytest.mark.parametrize("local_energy", ["cycles", "macs"])
@pytest.mark.parametrize("accuracy_weight", [2.0, 10.0, 30.0])
def test_theorem1_closed_form_equals_enumeration(local_energy: str, accuracy_weight: float) -> None:
    """Floor/ceil of the clipped stationary point F~ is the enumerated optimum, for any f^max."""
    config = JointOffloadConfig(local_energy=local_energy, accuracy_weight=accuracy_weight)
    problem = JointOffloadProblem.from_gains(config, [-100.0])
    caps = np.geomspace(1e8, 5e9, 300)
    closed = optimal_local(config, caps, problem.macs, problem.accuracy, problem.linear_complexity)
    enumerated = optimal_local(config, caps, problem.macs, problem.accuracy, None)
    np.testing.assert_array_equal(closed.frames, enumerated.frames)
    np.testing.assert_allclose(closed.cost, enumerated.cost, rtol=1e-12)
    assert len(np.unique(closed.frames)) > 1  # the caps move F* (not a trivial F_min case)


# ------------------------------------------------------------------------------ Theorem 2
def _edge_allocation(
    problem: JointOffloadProblem,
    offload: np.ndarray,
    frames: np.ndarray,
    time_share: np.ndarray,
    edge_frequency: np.ndarray,
) -> Allocation:
    return Allocation(
        offload=offload,
        frames=frames,
        time_share=time_share,
        edge_frequency=edge_frequency,
        local_frequency=np.where(offload, 0.0, problem.config.device_max_frequency),
    )


def _edge_case(tx: str, seed: int = 3) -> tuple[JointOffloadProblem, np.ndarray, np.ndarray]:
    problem = _drop(seed, 6, **TX_CASES[tx])
    rng = np.random.default_rng(seed)
    offload = np.array([True, True, False, True, False, True])
    frames = rng.integers(problem.config.min_frames, problem.config.max_frames + 1, 6)
    return problem, offload, frames


@pytest.mark.parametrize("tx", TX_CASES)
def test_theorem2_satisfies_kkt(tx: str) -> None:
    """Both budgets tight, equal marginal costs, and no move along the simplex lowers the cost."""
    problem, offload, frames = _edge_case(tx)
    c = problem.config
    time_share, edge_frequency = edge_shares(problem, offload, frames)
    assert time_share[offload].sum() == pytest.approx(1.0, rel=1e-12)
    assert edge_frequency[offload].sum() == pytest.approx(c.edge_capacity, rel=1e-12)
    assert np.all(time_share[~offload] == 0) and np.all(edge_frequency[~offload] == 0)
    # stationarity: d cost / d tau_n = -b_n F_n / (R_n tau_n^2) is the same multiplier for all n
    on = np.flatnonzero(offload)
    tau_marginal = problem.tx_weight[on] * frames[on] / (problem.rate[on] * time_share[on] ** 2)
    cpu_marginal = problem.macs[frames[on]] / edge_frequency[on] ** 2
    np.testing.assert_allclose(tau_marginal, tau_marginal[0], rtol=1e-9)
    np.testing.assert_allclose(cpu_marginal, cpu_marginal[0], rtol=1e-9)
    base = evaluate_allocation(
        problem, _edge_allocation(problem, offload, frames, time_share, edge_frequency)
    ).total
    for i, j in itertools.permutations(on, 2):
        for step in (1e-3, 1e-6):
            tau, fe = time_share.copy(), edge_frequency.copy()
            tau[i] += step * tau[j]
            tau[j] -= step * tau[j]
            fe[i] += step * fe[j]
            fe[j] -= step * fe[j]
            for shares in ((tau, edge_frequency), (time_share, fe)):
                moved = evaluate_allocation(
                    problem, _edge_allocation(problem, offload, frames, *shares)
                ).total
                assert moved >= base - 1e-12 * abs(base)


@pytest.mark.parametrize("tx", TX_CASES)
def test_theorem2_equals_convex_solver(tx: str) -> None:
    """Theorem 2's shares solve the convex share problem for fixed F (checked with cvxpy)."""
    problem, offload, frames = _edge_case(tx, seed=5)
    c = problem.config
    on = np.flatnonzero(offload)
    bits = frames[on] * c.frame_bits
    tx_cost = c.delay_weight + (c.energy_weight * c.transmit_power if tx == "slot" else 0.0)
    tau, share = cp.Variable(on.size), cp.Variable(on.size)
    objective = cp.sum(
        cp.multiply(tx_cost * bits / problem.rate[on], cp.inv_pos(tau))
        + cp.multiply(
            c.delay_weight * c.cycles_per_mac * problem.macs[frames[on]] / c.edge_capacity,
            cp.inv_pos(share),
        )
    )
    cp.Problem(cp.Minimize(objective), [cp.sum(tau) <= 1, cp.sum(share) <= 1]).solve()
    solver_tau, solver_fe = np.zeros(6), np.zeros(6)
    solver_tau[on], solver_fe[on] = tau.value, share.value * c.edge_capacity
    time_share, edge_frequency = edge_shares(problem, offload, frames)
    theorem = evaluate_allocation(
        problem, _edge_allocation(problem, offload, frames, time_share, edge_frequency)
    ).total
    solver = evaluate_allocation(
        problem, _edge_allocation(problem, offload, frames, solver_tau, solver_fe)
    ).total
    assert theorem <= solver + 1e-9 * abs(solver)
    assert solver - theorem < 1e-5 * abs(theorem)
    np.testing.assert_allclose(time_share, solver_tau, atol=1e-3)
    np.testing.assert_allclose(
        edge_frequency / c.edge_capacity, solver_fe / c.edge_capacity, atol=1e-3
    )


@pytest.mark.parametrize("tx", TX_CASES)
@pytest.mark.parametrize("complexity", ["linear", "exact"])
def test_phi_equals_shared_cost_of_composed_allocation(tx: str, complexity: str) -> None:
    """Phi(F) = sum over S of U_n under compose_allocation (Theorem 2's shares)."""
    problem = _drop(7, 8, complexity=complexity, **TX_CASES[tx])
    rng = np.random.default_rng(7)
    c = problem.config
    for _ in range(10):
        offload = rng.random(8) < 0.5
        offload[rng.integers(8)] = True
        frames = rng.integers(c.min_frames, c.max_frames + 1, 8)
        devices = np.flatnonzero(offload)
        shared = evaluate_allocation(problem, compose_allocation(problem, offload, frames))
        phi = edge_cost(problem, devices, frames[devices])
        assert phi == pytest.approx(shared.cost[offload].sum(), rel=1e-12, abs=1e-12)
        batch = edge_cost_batch(problem, devices, np.stack([frames[devices]] * 2))
        np.testing.assert_allclose(batch, phi, rtol=1e-12)


# ---------------------------------------------------------------------------- Algorithm 1
@pytest.mark.parametrize("tx", TX_CASES)
@pytest.mark.parametrize("complexity", ["linear", "exact"])
def test_algorithm1_equals_brute_force_on_two_devices(tx: str, complexity: str) -> None:
    problem = _drop(11, 4, complexity=complexity, **TX_CASES[tx])
    offload = np.array([False, True, False, True])
    devices = np.flatnonzero(offload)
    best = np.inf
    for pair in itertools.product(problem.frame_range, repeat=2):
        frames = np.full(4, problem.config.min_frames)
        frames[devices] = pair
        allocation = compose_allocation(problem, offload, frames)
        best = min(best, evaluate_allocation(problem, allocation).cost[offload].sum())
    found = search_frames(problem, devices)
    assert edge_cost(problem, devices, found) == pytest.approx(best, rel=1e-12, abs=1e-12)


# ------------------------------------------------------------------------------ composition
@pytest.mark.parametrize("tx", TX_CASES)
def test_compose_allocation_is_feasible(tx: str) -> None:
    problem = _drop(13, 7, **TX_CASES[tx])
    c = problem.config
    rng = np.random.default_rng(13)
    local = local_optimum(problem)
    masks = [np.zeros(7, dtype=bool), np.ones(7, dtype=bool)]
    masks += [rng.random(7) < 0.5 for _ in range(8)]
    for offload in masks:
        frames = rng.integers(c.min_frames, c.max_frames + 1, 7)
        for edge_frames in (None, frames):
            allocation = compose_allocation(problem, offload, edge_frames)
            assert feasibility_violations(problem, allocation) == []
            expected = c.min_frames if edge_frames is None else frames
            np.testing.assert_array_equal(
                allocation.frames, np.where(offload, expected, local.frames)
            )
            np.testing.assert_allclose(
                allocation.local_frequency[~offload], local.frequency[~offload]
            )
            assert np.isfinite(evaluate_allocation(problem, allocation).total)


def test_edge_shares_are_zero_when_nobody_offloads_and_with_gains_keeps_each_size_s_weights():
    problem = JointOffloadProblem.sample(JointOffloadConfig(), np.random.default_rng(3), 6)
    frames = np.full(6, problem.config.min_frames)
    time_share, edge_frequency = edge_shares(problem, np.zeros(6, dtype=bool), frames)
    assert not time_share.any() and not edge_frequency.any()
    same = problem.with_gains(problem.gain_db - 3.0)
    other = problem.with_gains(np.zeros(4))
    assert same.tx_weight is problem.tx_weight  # shared: the config and N only
    assert other.tx_weight.shape == (4,) and other.rate.shape == (4,)
