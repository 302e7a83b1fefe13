"""The simple offloading baselines: local only, edge only, random offloading.

Each fixes the offloading decision x by a rule and completes the allocation optimally for it:
Theorem 1 for the local devices, an edge frame solver (Algorithm 2 by default) and Theorem 2
for the offloading ones.
"""

from __future__ import annotations

import numpy as np

from mec_gym.problems.joint_offload import Allocation, JointOffloadProblem
from mec_gym.solvers.joint_offload.edge import compose_allocation
from mec_gym.solvers.joint_offload.gp import EdgeFrameSolver, gp_edge_allocation

__all__ = ["local_only", "edge_only", "random_offloading"]


def local_only(problem: JointOffloadProblem) -> Allocation:
    """Every device computes locally with Theorem 1's frames and frequency."""
    return compose_allocation(problem, np.zeros(problem.num_devices, dtype=bool))


def edge_only(
    problem: JointOffloadProblem, edge_solver: str | EdgeFrameSolver = "gp"
) -> Allocation:
    """Every device with an uplink offloads (``problem.can_offload``); frames by
    ``edge_solver`` (Algorithm 2), shares by Theorem 2."""
    return gp_edge_allocation(problem, problem.can_offload, edge_solver)


def random_offloading(
    problem: JointOffloadProblem,
    rng: np.random.Generator | int | None = None,
    probability: float = 0.5,
    edge_solver: str | EdgeFrameSolver = "gp",
) -> Allocation:
    """Each device offloads independently with ``probability`` (x ~ Bernoulli), drawn from
    ``rng`` (a Generator or a seed; None: fresh entropy); a device without uplink
    (``problem.can_offload``) stays local. Theorem 1 for the local devices, ``edge_solver``
    (Algorithm 2) frames and Theorem 2 shares for the offloading ones."""
    if not 0 <= probability <= 1:
        raise ValueError(f"probability must be in [0, 1], got {probability}")
    draws = np.random.default_rng(rng).random(problem.num_devices)
    offload = (draws < probability) & problem.can_offload
    return gp_edge_allocation(problem, offload, edge_solver)
