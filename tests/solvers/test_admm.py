"""Algorithm 4 (ADMM): cubic roots, the projection onto Z, feasibility and the cost trace."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from mec_gym.problems.joint_offload import (
    evaluate_allocation,
    feasibility_violations,
)
from mec_gym.solvers.joint_offload.admm import (
    admm,
    admm_allocation,
    edge_terms,
    project_budget,
    share_cubic_root,
)
from mec_gym.solvers.joint_offload.admm_kernels import cube_root_bounds
from mec_gym.solvers.joint_offload.bound import exact_optimum
from mec_gym.solvers.joint_offload.edge import compose_allocation, edge_shares
from mec_gym.solvers.joint_offload.local import local_optimum
from tests.solvers.instances import CONFIGS, sample


# ------------------------------------------------------------------------------- cubic roots
def test_cubic_root_is_the_unique_positive_root_over_many_decades():
    rng = np.random.default_rng(0)
    m = 20_000
    a = 10 ** rng.uniform(-12, 2, m)
    linear = rng.choice([-1.0, 1.0], m) * 10 ** rng.uniform(-8, 4, m)
    rho = 10 ** rng.uniform(-3, 3, m)
    t = share_cubic_root(a, linear, rho)
    assert np.all(t > 0) and np.all(np.isfinite(t))
    terms = rho * t**3 + linear * t**2
    scale = np.abs(rho * t**3) + np.abs(linear * t**2) + a
    assert np.max(np.abs(terms - a) / scale) < 1e-12
    # a sign change across t: the cubic is -a at 0 and increasing right of its only root
    cubic = lambda s: rho * s**3 + linear * s**2 - a  # noqa: E731
    assert np.all(cubic(t * (1 - 1e-9)) < 0) and np.all(cubic(t * (1 + 1e-9)) > 0)


def test_cubic_root_matches_numpy_roots():
    rng = np.random.default_rng(1)
    for _ in range(50):
        a, linear, rho = 10 ** rng.uniform(-4, 0), rng.normal(0, 5), 10 ** rng.uniform(-1, 1)
        roots = np.roots([rho, linear, 0.0, -a])
        positive = roots[(np.abs(roots.imag) < 1e-9) & (roots.real > 0)].real
        assert positive.size == 1
        assert share_cubic_root(np.array([a]), np.array([linear]), rho)[0] == pytest.approx(
            positive[0], rel=1e-9
        )


def test_cubic_root_minimises_the_local_share_problem():
    """The root is the minimiser of a/t + lam (t - t_hat) + rho/2 (t - t_hat)^2 over t > 0."""
    rng = np.random.default_rng(2)
    for _ in range(20):
        a, lam, t_hat, rho = 10 ** rng.uniform(-4, -1), rng.normal(0, 3), rng.random(), 2.0
        t = share_cubic_root(np.array([a]), np.array([lam - rho * t_hat]), rho)[0]

        def objective(s, a=a, lam=lam, t_hat=t_hat, rho=rho):
            return a / s + lam * (s - t_hat) + rho / 2 * (s - t_hat) ** 2

        best = minimize_scalar(
            objective, bounds=(1e-9, 50), method="bounded", options={"xatol": 1e-12}
        )
        assert t == pytest.approx(best.x, rel=1e-5)


def test_cube_root_bounds_are_upper_bounds_close_to_the_cube_root():
    rng = np.random.default_rng(4)
    a = np.exp(rng.uniform(-600, 600, 200_000))
    for rho in (1e-3, 1.0, 7.5e2):
        bounds = np.empty_like(a)
        cube_root_bounds(a, rho, bounds)
        excess = bounds / np.cbrt(a / rho) - 1.0
        assert excess.min() >= 0.0 and excess.max() <= 1.5e-4


def test_cube_root_bounds_take_the_c_library_outside_the_halley_range():
    # subnormal, outside [1e-300, 1e300] (HALLEY_RANGE), infinite, zero and NaN quotients
    a = np.array([1e-310, 1e-301, 1e301, np.inf, 0.0, np.nan, 8.0])
    bounds = np.empty_like(a)
    cube_root_bounds(a, 1.0, bounds)
    np.testing.assert_array_equal(bounds[:-1], np.cbrt(a[:-1]))  # NaN where NaN
    assert 2.0 <= bounds[-1] <= 2.0 * (1 + 1.5e-4)


# -------------------------------------------------------------------------------- projection
def test_projection_lands_in_z_and_is_the_euclidean_projection():
    rng = np.random.default_rng(3)
    z = cp.Variable(6)
    v = cp.Parameter(6)
    program = cp.Problem(cp.Minimize(cp.sum_squares(z - v)), [z >= 0, cp.sum(z) <= 1])
    for scale in (0.1, 0.5, 2.0):
        for _ in range(10):
            values = rng.normal(0.1, scale, 6)
            projected = project_budget(values)
            assert np.all(projected >= 0) and projected.sum() <= 1 + 1e-12
            v.value = values
            program.solve(solver=cp.CLARABEL)
            np.testing.assert_allclose(projected, z.value, atol=1e-6)


def test_projection_is_rowwise_and_fixes_points_of_z():
    rng = np.random.default_rng(4)
    values = rng.normal(0.2, 1.0, (3, 2, 7))
    rowwise = np.array([[project_budget(row) for row in block] for block in values])
    np.testing.assert_allclose(project_budget(values), rowwise)
    inside = rng.dirichlet(np.ones(7), 4) * rng.random((4, 1))
    np.testing.assert_allclose(project_budget(inside), inside)


def test_projection_of_a_scalar_and_of_empty_rows():
    assert project_budget(0.5) == 0.5 and project_budget(-0.5) == 0.0
    assert project_budget(np.zeros((3, 0))).shape == (3, 0)


# ----------------------------------------------------------------------------------- solver
def test_edge_terms_reproduce_the_edge_cost():
    problem = sample("pan2023", 5, 6)
    terms = edge_terms(problem)
    offload = np.array([True, True, False, True, False, True])
    frames = problem.frame_range[[0, 3, 0, 7, 0, 2]]
    tau, f_edge = edge_shares(problem, offload, frames)
    allocation = compose_allocation(problem, offload, frames)
    rows = np.flatnonzero(offload)
    column = frames[rows] - problem.frame_range[0]
    cost = (
        terms.tx[rows, column] / tau[rows]
        + terms.cpu[rows, column] * problem.config.edge_capacity / f_edge[rows]
        + terms.constant[rows, column]
    )
    np.testing.assert_allclose(cost, evaluate_allocation(problem, allocation).cost[rows])


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("n", [3, 8, 25])
def test_admm_is_feasible_settles_and_beats_local_only(name, n):
    for seed in range(4):
        problem = sample(name, seed, n)
        result = admm(problem)
        assert feasibility_violations(problem, result.allocation) == []
        cost = evaluate_allocation(problem, result.allocation).total
        assert np.isfinite(cost) and cost == pytest.approx(result.cost)
        # the best of the start and the iterates, with Theorem 2's shares
        assert result.cost <= result.cost_trace.min() + 1e-12 * abs(result.cost)
        assert result.cost <= result.raw_cost + 1e-12
        assert np.all(result.cost_trace <= result.raw_trace + 1e-12)
        assert result.cost_trace.shape == result.raw_trace.shape == (result.iterations,)
        assert 2 <= result.iterations <= 50
        if result.converged:  # the stop rule: the cost with the global copies has settled
            last, previous = result.raw_trace[-1], result.raw_trace[-2]
            assert np.isfinite(last) and abs(last - previous) <= 1e-3 * abs(previous)
        # the start is the best prefix of the strongest channels, which includes local only
        assert result.cost <= local_optimum(problem).cost.sum() + 1e-9


@pytest.mark.parametrize("name", ["default", "pan2023", "balanced"])
def test_admm_is_near_the_exact_bound_within_five_iterations(name):
    """The issue's targets, on 10 drops (the 100-drop figures are in docs/joint_offload_paper*):
    mean gap to the bound <= 0.3 % at N = 16 and <= 1 % at N = 25; after 5 iterations within
    1 % of the final cost."""
    for n, target in ((16, 0.3), (25, 1.0)):
        gaps = []
        for seed in range(10):
            problem = sample(name, seed, n)
            result = admm(problem)
            optimum = exact_optimum(problem).cost
            gaps.append(100 * (result.cost - optimum) / abs(optimum))
            early = result.cost_trace[min(4, result.iterations - 1)]
            assert early - result.cost <= 0.01 * abs(result.cost)
        assert min(gaps) >= -1e-9
        assert np.mean(gaps) <= target, (name, n, gaps)


def test_admm_allocation_is_admm_allocation():
    problem = sample("default", 5, 8)
    result, allocation = admm(problem), admm_allocation(problem)
    np.testing.assert_array_equal(allocation.offload, result.allocation.offload)
    np.testing.assert_array_equal(allocation.frames, result.allocation.frames)


@pytest.mark.parametrize("rho", [1e-3, 2.0, 100.0])
def test_fixed_penalty_is_feasible_and_finite(rho):
    for seed in range(3):
        problem = sample("default", seed, 8)
        result = admm(problem, rho=rho)
        assert feasibility_violations(problem, result.allocation) == []
        assert np.isfinite(result.cost)
        assert result.cost <= local_optimum(problem).cost.sum() + 1e-9


def test_zero_global_share_is_cleaned_up():
    """A tiny fixed rho lets the projection give an offloading device no share (an infinite
    raw cost); the returned allocation is still feasible and finite, and it never converges."""
    problem = sample("default", 0, 25)
    result = admm(problem, rho=1e-6)
    assert np.isinf(result.raw_trace).any() and not result.converged
    assert feasibility_violations(problem, result.allocation) == []
    assert np.isfinite(result.cost) and np.all(np.isfinite(result.cost_trace))


def test_iteration_limits_are_respected_and_validated():
    problem = sample("pan2023", 2, 8)
    assert admm(problem, min_iterations=3, max_iterations=3).iterations == 3
    assert admm(problem, min_iterations=12, max_iterations=12).iterations == 12
    with pytest.raises(ValueError, match="rho"):
        admm(problem, rho=0.0)
    with pytest.raises(ValueError, match="penalty_scale"):
        admm(problem, penalty_scale=-1.0)
    with pytest.raises(ValueError, match="residual_tol"):
        admm(problem, residual_tol=0.0)
    with pytest.raises(ValueError, match="min_iterations"):
        admm(problem, min_iterations=5, max_iterations=4)
    with pytest.raises(ValueError, match="min_iterations must be an integer"):
        admm(problem, min_iterations=2.5)
    with pytest.raises(ValueError, match="max_iterations must be an integer"):
        admm(problem, max_iterations=True)
