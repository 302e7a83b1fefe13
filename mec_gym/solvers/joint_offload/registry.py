"""The joint offloading solvers by name: one call shape for policies, benchmarks and scripts."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mec_gym.problems.joint_offload import Allocation, JointOffloadProblem
from mec_gym.solvers.joint_offload.admm import admm_allocation
from mec_gym.solvers.joint_offload.bound import exact_optimum
from mec_gym.solvers.joint_offload.cccp import cccp_allocation
from mec_gym.solvers.joint_offload.heuristic import channel_aware_offloading
from mec_gym.solvers.joint_offload.simple import edge_only, local_only, random_offloading

__all__ = [
    "BOUND_TIME_LIMIT",
    "SOLVERS",
    "SOLVER_LABELS",
    "SolverEntry",
    "bound_allocation",
    "solve",
    "solver_applies",
]

Solver = Callable[[JointOffloadProblem, np.random.Generator], Allocation]

BOUND_TIME_LIMIT = 60.0
"""Time limit of the exact bound per instance, s: past it the best allocation found is used."""


def bound_allocation(problem: JointOffloadProblem) -> Allocation:
    """The exact optimum within :data:`BOUND_TIME_LIMIT`; past it, the best allocation found,
    with a warning stating its proven gap."""
    result = exact_optimum(problem, BOUND_TIME_LIMIT)
    if not result.optimal:
        gap = (result.cost - result.lower_bound) / abs(result.lower_bound)
        warnings.warn(
            f"the exact bound reached its {BOUND_TIME_LIMIT:g} s limit at N = "
            f"{problem.num_devices}: using the best allocation found, within {gap:.2%} of the "
            "optimum",
            stacklevel=2,
        )
    return result.allocation


SEARCH_HEURISTIC_MAX_DEVICES = 4
"""Algorithm 1's product set grows as (F_max - F_min + 1)^N: beyond this N it is not run."""


@dataclass(frozen=True)
class SolverEntry:
    """One solver: how to call it, its name in the paper's figures, where it is tractable."""

    solve: Solver
    """``solve(problem, rng) -> Allocation`` (``rng`` is used by ``random`` only)."""
    label: str
    max_devices: int | None = None
    """Largest N it is run for (the exponential ones); None: any."""


SOLVERS: dict[str, SolverEntry] = {
    "gp_heuristic": SolverEntry(
        lambda problem, rng: channel_aware_offloading(problem, edge_solver="gp"),
        "GP+Heuristic (Alg. 2 in Alg. 3)",
    ),
    "search_heuristic": SolverEntry(
        lambda problem, rng: channel_aware_offloading(problem, "search"),
        "Search+Heuristic (Alg. 1 in Alg. 3)",
        SEARCH_HEURISTIC_MAX_DEVICES,
    ),
    "admm": SolverEntry(lambda problem, rng: admm_allocation(problem), "ADMM (Alg. 4)"),
    "cccp": SolverEntry(lambda problem, rng: cccp_allocation(problem), "CCCP"),
    "local_only": SolverEntry(lambda problem, rng: local_only(problem), "Local only (Thm. 1)"),
    "edge_only": SolverEntry(lambda problem, rng: edge_only(problem), "Edge only (Alg. 2)"),
    "random": SolverEntry(lambda problem, rng: random_offloading(problem, rng), "Random"),
    "bound": SolverEntry(lambda problem, rng: bound_allocation(problem), "Exact bound"),
}
"""Every joint offloading solver by name: the one table scripts, policies and benches read."""

SOLVER_LABELS = {name: entry.label for name, entry in SOLVERS.items()}
"""Display names of the solvers, as in the paper's figures."""


def solver_applies(name: str, num_devices: int) -> bool:
    """Whether ``name`` is tractable for ``num_devices`` devices (the exponential ones are not
    beyond their limits)."""
    if name not in SOLVERS:
        return False
    limit = SOLVERS[name].max_devices
    return limit is None or num_devices <= limit


def solve(
    name: str, problem: JointOffloadProblem, rng: np.random.Generator | None = None
) -> Allocation:
    """The allocation solver ``name`` returns for ``problem``."""
    if name not in SOLVERS:
        raise ValueError(f"unknown solver {name!r}; available: {sorted(SOLVERS)}")
    return SOLVERS[name].solve(problem, np.random.default_rng(rng))
