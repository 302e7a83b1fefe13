"""CCCP offloading: a convex relaxation of offloading and frames, made binary by a concave penalty.

**The relaxation.** Give every device K = 1 + (F_max - F_min + 1) options: compute locally
(option 0, cost U^L* of Theorem 1) or offload with F frames (one option per F). A decision is a
one-hot row z_n in the simplex; z is relaxed to the product of simplices. With the edge cost of
an offloading option written as ``a_tau/tau + a_phi/phi + c`` (``a_tau = b F / R``,
``a_phi = w1 eta C(F) / F^E``, ``c = [airtime] w2 p F D / R - w3 A(F)``, see
:func:`~mec_gym.solvers.joint_offload.admm.edge_terms`), the relaxed cost is::

    J(z) = sum_nk z_nk l_nk + (sum_nk z_nk s_nk)^2 + (sum_nk z_nk q_nk)^2

with ``l_n0 = U^L*_n``, ``l_nk = c_n(F_k)``, ``s_nk = sqrt(a_tau)``, ``q_nk = sqrt(a_phi)``
(s = q = 0 for the local option). Derivation: give option (n, k) its own shares and charge it
``z_nk^2 a / tau_nk``; this quadratic-over-linear function is jointly convex in (z, tau), so its
minimum over the budget {tau >= 0, sum tau <= 1}, which is ``(sum z s)^2`` by Cauchy-Schwarz
(as in Theorem 2), is convex in z (and the same for phi). Directly: a linear function plus
squares of linear functions. At a one-hot z, z^2 = z and J is exactly the cost of that
offloading set and those frames with Theorem 2's shares and Theorem 1 for the local devices, so
**min J over the product of simplices is a lower bound on the optimum** (``relaxed_cost``).

The quadratic part has rank 2, so the relaxed optimum (y = (s.z, q.z) is unique; z solves an LP
over the simplices with two more equalities) has a basic solution with at most two fractional
rows: the relaxation is nearly integral.

**CCCP.** The concave penalty ``zeta * sum z (1 - z)`` vanishes exactly at one-hot rows. Each
step linearises it at the current z and solves the convex rest, ``min J(z) + zeta (1 - 2 z_k).z``,
a QP compiled once per shape with cvxpy (parameters, Clarabel). zeta starts at
``initial_penalty`` times the mean spread of a row's option costs and grows by
``penalty_growth`` every step, until every entry is within ``binary_tol`` of 0 or 1.

If the conic solver fails on a relaxation, CCCP warns and returns Algorithm 3's allocation
(GP+Heuristic: closed forms and the Newton-solved GP, no cvxpy).

**Completion.** The binary z gives the offloading set; the local devices use Theorem 1, the
offloading ones the frames of ``edge_solver`` (Algorithm 2 by default) and Theorem 2's shares.
*(Our choice:)* when the frames of the binary z itself have a lower edge cost Phi than the edge
solver's, those are kept.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Any

import cvxpy as cp
import numpy as np

from mec_gym.problems.joint_offload import Allocation, JointOffloadProblem, evaluate_allocation
from mec_gym.solvers.joint_offload.admm import edge_terms
from mec_gym.solvers.joint_offload.edge import compose_allocation, edge_cost
from mec_gym.solvers.joint_offload.gp import EdgeFrameSolver, resolve_edge_solver
from mec_gym.solvers.joint_offload.heuristic import channel_aware_offloading
from mec_gym.solvers.joint_offload.local import local_optimum

__all__ = [
    "OffloadRelaxation",
    "offload_relaxation",
    "RelaxationProgram",
    "relaxation_program",
    "solve_relaxation",
    "CccpResult",
    "cccp",
    "cccp_allocation",
]

SOLVED = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)


@dataclass(frozen=True)
class OffloadRelaxation:
    """The relaxed cost J(z) of a problem; arrays (N, K), column 0 local, column k >= 1 the
    edge with ``frames[k - 1]`` frames."""

    linear: np.ndarray
    """l: U^L* (column 0) and the share-free edge cost c(F), cost."""
    tx_root: np.ndarray
    """s = sqrt(b F / R), 0 in column 0, sqrt(cost x time share)."""
    cpu_root: np.ndarray
    """q = sqrt(w1 eta C(F) / F^E), 0 in column 0, sqrt(cost x CPU fraction)."""
    frames: np.ndarray
    """F_min..F_max, the frames of columns 1..K-1."""

    @property
    def shape(self) -> tuple[int, int]:
        """(N, K)."""
        return self.linear.shape

    def cost(self, z: np.ndarray) -> np.ndarray:
        """J(z) for ``z`` of shape (..., N, K) (rows in the simplex); shape (...)."""
        z = np.asarray(z, dtype=float)
        tx = np.sum(z * self.tx_root, axis=(-2, -1))
        cpu = np.sum(z * self.cpu_root, axis=(-2, -1))
        return np.sum(z * self.linear, axis=(-2, -1)) + tx**2 + cpu**2

    def one_hot(self, offload: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """The vertex z (N, K) of an offloading decision and the frames of its edge devices."""
        offload = np.asarray(offload, dtype=bool)
        column = np.where(offload, np.asarray(frames) - self.frames[0] + 1, 0)
        z = np.zeros(self.shape)
        z[np.arange(self.shape[0]), column] = 1.0
        return z

    def rows(self, devices: np.ndarray) -> OffloadRelaxation:
        """The relaxation of the ``devices`` (indices or a boolean mask) alone."""
        return OffloadRelaxation(
            self.linear[devices], self.tx_root[devices], self.cpu_root[devices], self.frames
        )

    def decode(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(offload (N,) bool, frames (N,), 0 for local devices) of each row's largest entry."""
        column = np.argmax(z, axis=1)
        offload = column > 0
        return offload, np.where(offload, self.frames[np.maximum(column - 1, 0)], 0)


def offload_relaxation(problem: JointOffloadProblem) -> OffloadRelaxation:
    """:class:`OffloadRelaxation` of ``problem`` (Theorem 1 for column 0); a device whose uplink
    rate underflows to 0 gets infinite edge options."""
    with np.errstate(divide="ignore"):
        terms = edge_terms(problem)
    zeros = np.zeros((problem.num_devices, 1))
    return OffloadRelaxation(
        linear=np.hstack([local_optimum(problem).cost[:, None], terms.constant]),
        tx_root=np.hstack([zeros, np.sqrt(terms.tx)]),
        cpu_root=np.hstack([zeros, np.sqrt(terms.cpu)]),
        frames=terms.frames,
    )


@dataclass(frozen=True)
class RelaxationProgram:
    """``min linear.z + (tx_root.z)^2 + (cpu_root.z)^2`` over the product of simplices,
    compiled once per shape; set the parameters and solve."""

    problem: cp.Problem
    z: cp.Variable
    linear: cp.Parameter
    tx_root: cp.Parameter
    cpu_root: cp.Parameter


@functools.lru_cache(maxsize=64)
def relaxation_program(num_devices: int, num_options: int) -> RelaxationProgram:
    """The compiled :class:`RelaxationProgram` for (N, K) = (``num_devices``, ``num_options``)
    (cached per process; a solve sets its parameters, so it is not thread-safe)."""
    shape = (num_devices, num_options)
    z = cp.Variable(shape, nonneg=True, name="z")
    linear = cp.Parameter(shape, name="linear")
    tx_root = cp.Parameter(shape, nonneg=True, name="tx_root")
    cpu_root = cp.Parameter(shape, nonneg=True, name="cpu_root")
    objective = (
        cp.sum(cp.multiply(linear, z))
        + cp.square(cp.sum(cp.multiply(tx_root, z)))
        + cp.square(cp.sum(cp.multiply(cpu_root, z)))
    )
    program = cp.Problem(cp.Minimize(objective), [cp.sum(z, axis=1) == 1])
    return RelaxationProgram(program, z, linear, tx_root, cpu_root)


def solve_relaxation(relaxation: OffloadRelaxation, linear: np.ndarray | None = None) -> np.ndarray:
    """argmin over the product of simplices of J(z), with ``linear`` (N, K) in place of
    ``relaxation.linear`` if given; rows clipped to >= 0 and renormalised (solver tolerance)."""
    program = relaxation_program(*relaxation.shape)
    program.linear.value = relaxation.linear if linear is None else linear
    program.tx_root.value = relaxation.tx_root
    program.cpu_root.value = relaxation.cpu_root
    # no warm start: a solver kept from the previous solve would carry its scaling over, and
    # the result would depend on what was solved before
    program.problem.solve(solver=cp.CLARABEL, warm_start=False)
    if program.problem.status not in SOLVED:
        raise RuntimeError(f"the CCCP relaxation failed: {program.problem.status}")
    z = np.maximum(program.z.value, 0.0)
    return z / z.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class CccpResult:
    """Outcome of :func:`cccp`."""

    allocation: Allocation
    """Binary offloading, Theorem 1 for local devices, edge frames and Theorem 2's shares."""
    cost: float
    """Total cost (sum of U_n) of ``allocation``."""
    relaxed_cost: float
    """min J over the product of simplices: a lower bound on the optimal total cost (up to the
    solver's tolerance, ~1e-8); -inf when the relaxation failed and Algorithm 3 stood in."""
    iterations: int
    """CCCP steps (penalised solves) after the unpenalised relaxation."""
    binary: bool
    """Whether the penalty made z binary (else the largest entry of each row was taken)."""


def cccp(
    problem: JointOffloadProblem,
    edge_solver: str | EdgeFrameSolver = "gp",
    initial_penalty: float = 0.01,
    penalty_growth: float = 2.0,
    max_iterations: int = 30,
    binary_tol: float = 1e-4,
) -> CccpResult:
    """CCCP offloading on ``problem``; see the module docstring.

    ``edge_solver`` ("gp", "search" or an ``EdgeFrameSolver``) gives the frames of the final
    offloading set; the penalty weight starts at ``initial_penalty`` times the mean spread of
    the option costs and grows by ``penalty_growth`` per step, for at most ``max_iterations``
    steps, until every entry of z is within ``binary_tol`` of 0 or 1.
    """
    if initial_penalty <= 0 or penalty_growth < 1:
        raise ValueError(
            f"need initial_penalty > 0 and penalty_growth >= 1, got {initial_penalty}, "
            f"{penalty_growth}"
        )
    solve = resolve_edge_solver(edge_solver)
    full = offload_relaxation(problem)
    # a device whose edge options are not finite (no uplink) stays local, out of the relaxation
    usable = np.isfinite(full.linear).all(axis=1) & np.isfinite(full.tx_root).all(axis=1)
    relaxation = full.rows(usable)
    if not usable.any():
        return _result(problem, np.zeros(problem.num_devices, dtype=bool), None, 0.0, 0, True)
    try:
        z = solve_relaxation(relaxation)
        relaxed_cost = float(relaxation.cost(z))
        spread = np.ptp(relaxation.linear, axis=1).mean()
        penalty = initial_penalty * spread
        iterations = 0
        while not np.all(np.minimum(z, 1.0 - z) <= binary_tol) and iterations < max_iterations:
            z = solve_relaxation(relaxation, relaxation.linear + penalty * (1.0 - 2.0 * z))
            penalty *= penalty_growth
            iterations += 1
    except (RuntimeError, cp.SolverError) as error:  # the conic solver gave up
        warnings.warn(
            f"CCCP: the relaxation was not solved ({error}); using Algorithm 3 (GP+Heuristic, "
            "closed forms) instead",
            stacklevel=2,
        )
        allocation = channel_aware_offloading(problem, edge_solver)
        cost = evaluate_allocation(problem, allocation).total
        return CccpResult(allocation, cost, -np.inf, 0, False)
    binary = bool(np.all(np.minimum(z, 1.0 - z) <= binary_tol))
    offload = np.zeros(problem.num_devices, dtype=bool)
    frames = np.zeros(problem.num_devices, dtype=np.int64)
    offload[usable], frames[usable] = relaxation.decode(z)
    devices = np.flatnonzero(offload)
    solved = solve(problem, devices)
    if edge_cost(problem, devices, solved) <= edge_cost(problem, devices, frames[devices]):
        frames[devices] = solved
    relaxed_cost += float(full.linear[~usable, 0].sum())  # the local cost of the others
    return _result(problem, offload, frames, relaxed_cost, iterations, binary)


def _result(
    problem: JointOffloadProblem,
    offload: np.ndarray,
    frames: np.ndarray | None,
    relaxed_cost: float,
    iterations: int,
    binary: bool,
) -> CccpResult:
    allocation = compose_allocation(problem, offload, frames)
    cost = evaluate_allocation(problem, allocation).total
    if not offload.any():  # nobody can offload: the relaxation is the local cost itself
        relaxed_cost = cost
    return CccpResult(allocation, cost, relaxed_cost, iterations, binary)


def cccp_allocation(problem: JointOffloadProblem, **kwargs: Any) -> Allocation:
    """The allocation of :func:`cccp` (keyword arguments are passed on)."""
    return cccp(problem, **kwargs).allocation
