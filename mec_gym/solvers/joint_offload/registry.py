"""The joint offloading solvers by name: one call shape for policies, benchmarks and scripts."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mec_gym.problems.joint_offload import Allocation, JointOffloadProblem
from mec_gym.solvers.joint_offload.admm import admm_allocation
from mec_gym.solvers.joint_offload.bound import MAX_BOUND_DEVICES, exact_optimum
from mec_gym.solvers.joint_offload.cccp import cccp_allocation
from mec_gym.solvers.joint_offload.heuristic import channel_aware_offloading
from mec_gym.solvers.joint_offload.simple import edge_only, local_only, random_offloading

__all__ = ["SOLVERS", "SOLVER_LABELS", "solve", "solver_applies"]

Solver = Callable[[JointOffloadProblem, np.random.Generator], Allocation]

SOLVERS: dict[str, Solver] = {
    "gp_heuristic": lambda problem, rng: channel_aware_offloading(problem, edge_solver="gp"),
    "search_heuristic": lambda problem, rng: channel_aware_offloading(problem, "search"),
    "admm": lambda problem, rng: admm_allocation(problem),
    "cccp": lambda problem, rng: cccp_allocation(problem),
    "local_only": lambda problem, rng: local_only(problem),
    "edge_only": lambda problem, rng: edge_only(problem),
    "random": lambda problem, rng: random_offloading(problem, rng),
    "bound": lambda problem, rng: exact_optimum(problem).allocation,
}
"""Solver name -> ``solver(problem, rng) -> Allocation`` (``rng`` is used by ``random`` only)."""

SOLVER_LABELS = {
    "gp_heuristic": "GP+Heuristic (Alg. 2 in Alg. 3)",
    "search_heuristic": "Search+Heuristic (Alg. 1 in Alg. 3)",
    "admm": "ADMM (Alg. 4)",
    "cccp": "CCCP",
    "local_only": "Local only (Thm. 1)",
    "edge_only": "Edge only (Alg. 2)",
    "random": "Random",
    "bound": "Exact bound",
}
"""Display names of the solvers, as in the paper's figures."""

SEARCH_HEURISTIC_MAX_DEVICES = 4
"""Algorithm 1's product set grows as (F_max - F_min + 1)^N: beyond this N it is not run."""


def solver_applies(name: str, num_devices: int) -> bool:
    """Whether ``name`` is tractable for ``num_devices`` devices (the exponential ones are not
    beyond their limits)."""
    if name == "bound":
        return num_devices <= MAX_BOUND_DEVICES
    if name == "search_heuristic":
        return num_devices <= SEARCH_HEURISTIC_MAX_DEVICES
    return name in SOLVERS


def solve(
    name: str, problem: JointOffloadProblem, rng: np.random.Generator | None = None
) -> Allocation:
    """The allocation solver ``name`` returns for ``problem``."""
    if name not in SOLVERS:
        raise ValueError(f"unknown solver {name!r}; available: {sorted(SOLVERS)}")
    return SOLVERS[name](problem, np.random.default_rng(rng))
