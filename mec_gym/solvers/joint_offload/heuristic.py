"""Algorithm 3: channel-aware heuristic offloading.

Start with every device on the edge. Visit the edge devices in increasing channel gain; move
the device to local computing if the total cost (the edge frame solver on the remaining
offloading set, Theorem 2 for its shares, Theorem 1 for every local device) decreases,
otherwise keep it on the edge and stop. The local devices are therefore the k weakest
channels, for the first k at which moving the next one stops paying.

"GP+Heuristic" uses Algorithm 2 (:func:`~mec_gym.solvers.joint_offload.gp.gp_frames`) as the
edge frame solver, "Search+Heuristic" Algorithm 1
(:func:`~mec_gym.solvers.joint_offload.edge.search_frames`, exponential in the set size).
Theorem 1's costs are computed once; each visit costs one edge frame solve.
"""

from __future__ import annotations

import numpy as np

from mec_gym.problems.joint_offload import Allocation, JointOffloadProblem
from mec_gym.solvers.joint_offload.edge import compose_allocation, edge_cost
from mec_gym.solvers.joint_offload.gp import EdgeFrameSolver, resolve_edge_solver
from mec_gym.solvers.joint_offload.local import local_optimum

__all__ = ["channel_aware_offloading"]


def channel_aware_offloading(
    problem: JointOffloadProblem, edge_solver: str | EdgeFrameSolver = "gp"
) -> Allocation:
    """Algorithm 3 with ``edge_solver`` ("gp", "search" or an ``EdgeFrameSolver``).

    The result costs at most what offloading every device with the same edge solver costs
    (the starting point), and every accepted move lowers the total cost.
    """
    solve = resolve_edge_solver(edge_solver)
    local_cost = local_optimum(problem).cost
    order = np.argsort(problem.gain_db, kind="stable")  # weakest channel first
    frames = solve(problem, order)
    best = edge_cost(problem, order, frames)
    moved = 0  # the devices order[:moved] compute locally
    while moved < order.size:
        remaining = order[moved + 1 :]
        candidate_frames = solve(problem, remaining)
        cost = (
            edge_cost(problem, remaining, candidate_frames) + local_cost[order[: moved + 1]].sum()
        )
        if cost >= best:
            break
        moved, best, frames = moved + 1, cost, candidate_frames
    offload = np.zeros(problem.num_devices, dtype=bool)
    offload[order[moved:]] = True
    edge_frames = np.zeros(problem.num_devices, dtype=np.int64)
    edge_frames[order[moved:]] = frames
    return compose_allocation(problem, offload, edge_frames)
