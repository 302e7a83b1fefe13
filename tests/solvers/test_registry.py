"""Every registered solver returns a feasible allocation no better than the exact optimum."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from mec_gym.problems.joint_offload import (
    JointOffloadProblem,
    evaluate_allocation,
    feasibility_violations,
)
from mec_gym.solvers.joint_offload import registry
from mec_gym.solvers.joint_offload.registry import SOLVERS, solve, solver_applies
from tests.solvers.instances import CONFIGS, sample


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_solver_is_feasible_and_not_better_than_the_bound(solver, config):
    for seed, n in ((0, 3), (1, 4)):
        problem = sample(config, seed, n)
        assert solver_applies(solver, n)
        allocation = solve(solver, problem, np.random.default_rng(seed))
        assert feasibility_violations(problem, allocation) == []
        cost = evaluate_allocation(problem, allocation).total
        bound = evaluate_allocation(problem, solve("bound", problem)).total
        assert np.isfinite(cost) and cost >= bound - 1e-9 * abs(bound)


def test_unknown_solver_lists_the_available_ones():
    with pytest.raises(ValueError, match="available"):
        solve("simplex", sample("default", 0, 3))


def test_only_the_exhaustive_search_is_limited_in_n():
    assert not solver_applies("search_heuristic", 25)
    assert solver_applies("bound", 25) and solver_applies("bound", 1000)
    assert solver_applies("admm", 1000)


def test_the_bound_warns_when_its_time_limit_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "BOUND_TIME_LIMIT", 0.0)
    problem = sample("default", 0, 10)
    with pytest.warns(UserWarning, match=r"0 s limit at N = 10: .* within [0-9.]+% of the optimum"):
        allocation = solve("bound", problem)
    assert feasibility_violations(problem, allocation) == []


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_devices_without_uplink_stay_local_without_warnings(solver):
    """A device whose rate underflows to 0 (-400 dB) is kept local by every solver, the others
    are solved as usual; with every device so, all compute locally. No numpy warning."""
    problem = sample("default", 5, 4)
    dead = JointOffloadProblem.from_gains(problem.config, np.r_[problem.gain_db[:3], -400.0])
    nobody = JointOffloadProblem.from_gains(problem.config, np.full(4, -400.0))
    assert dead.can_offload.tolist() == [True, True, True, False]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for instance in (dead, nobody):
            allocation = solve(solver, instance, np.random.default_rng(0))
            assert feasibility_violations(instance, allocation) == []
            assert not allocation.offload[~instance.can_offload].any()
            assert np.isfinite(evaluate_allocation(instance, allocation).total)


@pytest.mark.parametrize("field", ["time_share", "edge_frequency", "local_frequency"])
def test_the_feasibility_check_catches_a_nan_solver(field):
    problem = sample("default", 6, 5)
    allocation = solve("gp_heuristic", problem)
    values = getattr(allocation, field).copy()
    values[0] = np.nan
    broken = dataclasses.replace(allocation, **{field: values})
    assert feasibility_violations(problem, broken) == [f"{field} is not finite (NaN or inf)"]


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_every_solver_is_a_pure_function_of_its_instance(solver):
    """The same instance gives the same allocation, bit for bit, whatever the process solved
    in between (other sizes and configs: compiled programs, caches, solver state)."""
    first = sample("default", 7, 4)
    once = solve(solver, first, np.random.default_rng(0))
    for name, seed, n in [("pan2023", 1, 3), ("default", 2, 4), ("balanced", 3, 2)]:
        solve(solver, sample(name, seed, n), np.random.default_rng(0))
    fresh = JointOffloadProblem.from_gains(first.config, first.gain_db)
    again = solve(solver, fresh, np.random.default_rng(0))
    for field in dataclasses.fields(once):
        np.testing.assert_array_equal(getattr(once, field.name), getattr(again, field.name))
