"""Every registered solver returns a feasible allocation no better than the exact optimum."""

from __future__ import annotations

import numpy as np
import pytest

from mec_gym.problems.joint_offload import evaluate_allocation, feasibility_violations
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


def test_exponential_solvers_do_not_apply_at_large_n():
    assert not solver_applies("search_heuristic", 25)
    assert solver_applies("bound", 25) and not solver_applies("bound", 1000)
    assert solver_applies("admm", 1000)
