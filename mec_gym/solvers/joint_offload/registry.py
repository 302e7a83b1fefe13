"""The joint offloading solvers by name: one call shape for policies, benchmarks and scripts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mec_gym.problems.joint_offload import Allocation, JointOffloadProblem
from mec_gym.solvers.joint_offload.admm import admm_allocation
from mec_gym.solvers.joint_offload.bound import MAX_BOUND_DEVICES, exact_optimum
from mec_gym.solvers.joint_offload.cccp import cccp_allocation
from mec_gym.solvers.joint_offload.heuristic import channel_aware_offloading
from mec_gym.solvers.joint_offload.simple import edge_only, local_only, random_offloading

__all__ = ["SOLVERS", "SOLVER_LABELS", "SolverEntry", "solve", "solver_applies"]

Solver = Callable[[JointOffloadProblem, np.random.Generator], Allocation]

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
    "bound": SolverEntry(
        lambda problem, rng: exact_optimum(problem).allocation, "Exact bound", MAX_BOUND_DEVICES
    ),
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
