"""Algorithm 3: channel-aware heuristic offloading.

Start with every device on the edge. Visit the edge devices in increasing channel gain; move
the device to local computing if the total cost (the edge frame solver on the remaining
offloading set, Theorem 2 for its shares, Theorem 1 for every local device) decreases,
otherwise keep it on the edge and stop. The local devices are therefore the k weakest
channels, for the first k at which moving the next one stops paying.

"GP+Heuristic" uses Algorithm 2 (:func:`~mec_gym.solvers.joint_offload.gp.gp_frames`) as the
edge frame solver, "Search+Heuristic" Algorithm 1
(:func:`~mec_gym.solvers.joint_offload.edge.search_frames`, exponential in the set size).
Theorem 1's costs are computed once; each visit costs one edge frame solve. With Algorithm 2
the relaxations of every candidate set (the suffixes of the channel order) are solved at once by
the batched Newton solver (:func:`~mec_gym.solvers.joint_offload.gp.relaxed_frames`), so a visit
only rounds its relaxed frames (:func:`~mec_gym.solvers.joint_offload.gp.round_frames`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mec_gym.problems.joint_offload import Allocation, JointOffloadProblem
from mec_gym.solvers.joint_offload.edge import compose_allocation, edge_cost
from mec_gym.solvers.joint_offload.gp import (
    EdgeFrameSolver,
    gp_frames,
    relaxed_frames,
    resolve_edge_solver,
    round_frames,
)
from mec_gym.solvers.joint_offload.local import local_optimum

__all__ = ["channel_aware_offloading", "suffix_solver"]


def channel_aware_offloading(
    problem: JointOffloadProblem, edge_solver: str | EdgeFrameSolver = "gp"
) -> Allocation:
    """Algorithm 3 with ``edge_solver`` ("gp", "search" or an ``EdgeFrameSolver``).

    The result costs at most what offloading every device with the same edge solver costs
    (the starting point), and every accepted move lowers the total cost. Devices without an
    uplink (``problem.can_offload``) compute locally throughout.
    """
    local_cost = local_optimum(problem).cost
    order = np.argsort(problem.gain_db, kind="stable")  # weakest channel first
    order = order[problem.can_offload[order]]  # a device without uplink stays local
    if order.size == 0:
        return compose_allocation(problem, np.zeros(problem.num_devices, dtype=bool))
    solve = suffix_solver(problem, order, resolve_edge_solver(edge_solver))
    frames = solve(0)
    best = edge_cost(problem, order, frames)
    moved = 0  # the devices order[:moved] compute locally
    while moved < order.size:
        remaining = order[moved + 1 :]
        candidate_frames = solve(moved + 1)
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


def suffix_solver(
    problem: JointOffloadProblem, order: np.ndarray, solve: EdgeFrameSolver
) -> Callable[[int], np.ndarray]:
    """``frames(k)``: the frames of the offloading set ``order[k:]`` by ``solve``.

    For Algorithm 2 (:func:`~mec_gym.solvers.joint_offload.gp.gp_frames`) the relaxations of
    all the suffixes are solved up front in one batch; the result is the same as calling it.
    """
    if solve is not gp_frames:
        return lambda k: solve(problem, order[k:])
    suffixes = np.triu(np.ones((order.size + 1, order.size), dtype=bool))  # row k: order[k:]
    relaxed = relaxed_frames(problem, order, suffixes)
    return lambda k: round_frames(problem, order[k:], relaxed[k, k:])
