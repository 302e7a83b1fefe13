"""Algorithm 2: the frames of the offloading devices by geometric programming.

For a set S of offloading devices, the edge problem relaxed to real frames F in
[F_min, F_max] is, with tau the TDMA shares and phi = f^e / F^E the edge CPU fractions::

    min  sum_n  b_n F_n / (R_n tau_n) + (w1 eta / F^E) (alpha F_n + beta) / phi_n
                + [airtime] w2 p D F_n / R_n + w3 q F_n^(-r)          (- w3 a1 |S|, a constant)
    s.t. sum tau <= 1,  sum phi <= 1,  F_min <= F <= F_max

a geometric program (GP): every term is a monomial with a positive coefficient and the budgets
are posynomial. Two models make it one:

- complexity: C(F) ~ alpha F + beta, the linear fit of the problem (exact for
  ``complexity="linear"``, a fit of the staircase for ``"exact"``);
- accuracy: w3 (a1 - A(F)) ~ w3 q F^(-r), a monomial fitted by least squares in log space,
  ``ln(a1 - A(F)) ~ ln q - r ln F`` over the integers F_min..F_max, each point weighted by its
  gap ``a1 - A(F)`` (:func:`fit_accuracy_monomial`; exact for the ``"power"`` accuracy form).
  cvxpy's DCP rules reject the exponential form ``a2 exp(-a3 F)`` even where it is convex in
  ln F, so the fit is used for the solve only.

cvxpy solves the GP in log variables (u = ln F, v = ln tau, z = ln phi), where it is convex. The
problem is compiled once per problem shape (number of devices, frame range, fitted exponent and
which cost terms are present) with the per-device data as ``cp.Parameter``; re-solves reuse the
compilation (:func:`edge_geometric_program`). The relaxed frames are then rounded to the nearest
integers and improved by greedy +-1 coordinate moves on the exact Phi (exact accuracy and the
exact C(F) table, :func:`improve_frames`); Theorem 2 gives the shares of the integer frames.

Every edge frame solver shares the signature :data:`EdgeFrameSolver`; :func:`gp_frames`
and :func:`~mec_gym.solvers.joint_offload.edge.search_frames` are interchangeable by name
through :data:`EDGE_FRAME_SOLVERS`. The compiled programs are cached per process and are not
thread-safe (a solve sets their parameters).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import cvxpy as cp
import numpy as np

from mec_gym.problems.joint_offload import Allocation, JointOffloadConfig, JointOffloadProblem
from mec_gym.solvers.joint_offload.edge import compose_allocation, edge_cost_batch, search_frames

__all__ = [
    "EdgeFrameSolver",
    "EDGE_FRAME_SOLVERS",
    "resolve_edge_solver",
    "MonomialFit",
    "fit_accuracy_monomial",
    "EdgeGeometricProgram",
    "edge_geometric_program",
    "RelaxedEdgeSolution",
    "solve_relaxed",
    "fitted_edge_cost",
    "improve_frames",
    "gp_frames",
    "gp_edge_allocation",
]

EdgeFrameSolver = Callable[[JointOffloadProblem, np.ndarray], np.ndarray]
"""``solver(problem, devices) -> frames``: integer frames (|S|,) of the offloading ``devices``."""

SOLVED = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)

SOLVER_OPTIONS: dict[str, dict[str, float]] = {
    cp.CLARABEL: {"tol_gap_abs": 1e-6, "tol_gap_rel": 1e-6, "tol_feas": 1e-6},
}
"""Options per conic solver: 1e-6 instead of Clarabel's 1e-8 saves a third of the iterations;
the relaxed frames are rounded anyway."""


# ------------------------------------------------------------------------------ accuracy fit
@dataclass(frozen=True)
class MonomialFit:
    """The monomial ``q * F^(-r)`` fitted to the accuracy gap ``a1 - A(F)``."""

    coefficient: float
    """q, accuracy (fraction) at F = 1 of the fit."""
    exponent: float
    """r > 0."""
    max_overestimate: float
    """max over integer F_min..F_max of ``q F^(-r) - (a1 - A(F))`` (>= 0), accuracy units."""
    max_underestimate: float
    """max over integer F_min..F_max of ``(a1 - A(F)) - q F^(-r)`` (>= 0), accuracy units."""

    def __call__(self, frames: np.ndarray | float) -> np.ndarray:
        """q F^(-r) at (real) ``frames``."""
        return self.coefficient * np.asarray(frames, dtype=float) ** (-self.exponent)


@functools.lru_cache(maxsize=64)
def fit_accuracy_monomial(config: JointOffloadConfig) -> MonomialFit:
    """Weighted least-squares fit of ``ln(a1 - A(F)) ~ ln q - r ln F`` over integers F_min..F_max.

    ``a1`` is the accuracy ceiling of every form, so the gap ``a1 - A(F)`` is positive. Each log
    residual is weighted by the gap, which makes the fit first-order equivalent to least squares
    on the accuracy itself: unweighted, the fit would chase the exponential tail (gaps of 1e-6
    at F = 32) and miss the low frame counts, where the optimum lies, by far (for the defaults
    0.49 vs 0.003 in accuracy at worst). With a single feasible frame count the fit uses F_min and
    F_min + 1 (the frames are then fixed anyway).
    """
    model = config.accuracy_model
    low = config.min_frames
    frames = np.arange(low, max(config.max_frames, low + 1) + 1, dtype=float)
    gap = model.a1 - np.asarray(model(frames))
    slope, intercept = np.polyfit(np.log(frames), np.log(gap), 1, w=gap)
    coefficient, exponent = float(np.exp(intercept)), float(-slope)
    error = coefficient * frames ** (-exponent) - gap
    return MonomialFit(
        coefficient, exponent, max(float(error.max()), 0.0), max(float(-error.min()), 0.0)
    )


# --------------------------------------------------------------------------- compiled program
class _ProgramShape(NamedTuple):
    """Everything that changes the structure of the GP (the cache key)."""

    size: int
    min_frames: int
    max_frames: int
    exponent: float
    compute_fixed: bool
    airtime_energy: bool
    accuracy: bool


@dataclass(frozen=True)
class EdgeGeometricProgram:
    """A compiled GP for one shape; set ``parameters`` and call ``problem.solve(gp=True)``.

    Parameters: ``transmit`` (|S|,) b_n / R_n, cost per frame per unit TDMA share;
    ``compute_per_frame`` w1 eta alpha / F^E and ``compute_fixed`` w1 eta beta / F^E (if
    beta > 0), cost per frame resp. per task per unit CPU fraction; ``airtime_energy`` (|S|,)
    w2 p D / R_n, cost per frame (``tx_energy="airtime"``, w2 > 0); ``accuracy`` w3 q (w3 > 0).
    """

    problem: cp.Problem
    frames: cp.Variable
    """F (|S|,), real frames."""
    time_share: cp.Variable
    """tau (|S|,)."""
    cpu_share: cp.Variable
    """phi = f^e / F^E (|S|,)."""
    parameters: dict[str, cp.Parameter]


def _program_shape(problem: JointOffloadProblem, size: int) -> _ProgramShape:
    c = problem.config
    alpha, beta = problem.linear_complexity
    if c.delay_weight <= 0:
        raise ValueError(f"the edge GP needs delay_weight > 0, got {c.delay_weight}")
    if alpha <= 0 or beta < 0:
        raise ValueError(
            f"the edge GP needs C(F) ~ alpha*F + beta, alpha > 0, beta >= 0: {alpha, beta}"
        )
    return _ProgramShape(
        size=size,
        min_frames=c.min_frames,
        max_frames=c.max_frames,
        exponent=fit_accuracy_monomial(c).exponent,
        compute_fixed=beta > 0,
        airtime_energy=c.tx_energy == "airtime" and c.energy_weight > 0,
        accuracy=c.accuracy_weight > 0,
    )


@functools.lru_cache(maxsize=256)
def _compile(shape: _ProgramShape) -> EdgeGeometricProgram:
    n = shape.size
    frames = cp.Variable(n, pos=True, name="frames")
    time_share = cp.Variable(n, pos=True, name="time_share")
    cpu_share = cp.Variable(n, pos=True, name="cpu_share")
    parameters = {
        "transmit": cp.Parameter(n, pos=True, name="transmit"),
        "compute_per_frame": cp.Parameter(pos=True, name="compute_per_frame"),
    }
    # vectors of monomials: one sum over all of them compiles to a single log-sum-exp
    monomials = [
        cp.multiply(parameters["transmit"], frames) / time_share,
        parameters["compute_per_frame"] * frames / cpu_share,
    ]
    if shape.compute_fixed:
        parameters["compute_fixed"] = cp.Parameter(pos=True, name="compute_fixed")
        monomials.append(parameters["compute_fixed"] / cpu_share)
    if shape.airtime_energy:
        parameters["airtime_energy"] = cp.Parameter(n, pos=True, name="airtime_energy")
        monomials.append(cp.multiply(parameters["airtime_energy"], frames))
    if shape.accuracy:
        parameters["accuracy"] = cp.Parameter(pos=True, name="accuracy")
        monomials.append(parameters["accuracy"] * cp.power(frames, -shape.exponent))
    constraints = [
        cp.sum(time_share) <= 1,
        cp.sum(cpu_share) <= 1,
        frames >= shape.min_frames,
        frames <= shape.max_frames,
    ]
    program = cp.Problem(cp.Minimize(cp.sum(cp.hstack(monomials))), constraints)
    return EdgeGeometricProgram(program, frames, time_share, cpu_share, parameters)


def edge_geometric_program(problem: JointOffloadProblem, size: int) -> EdgeGeometricProgram:
    """The compiled GP for ``size`` offloading devices of ``problem``'s configuration (cached).

    Requires w1 > 0 (as Theorem 2 does) and a linear fit with alpha > 0, beta >= 0.
    """
    return _compile(_program_shape(problem, size))


# ------------------------------------------------------------------------------ relaxed solve
@dataclass(frozen=True)
class RelaxedEdgeSolution:
    """Optimum of the relaxed edge problem (the GP) for the offloading devices (arrays (|S|,))."""

    frames: np.ndarray
    """Real frames in [F_min, F_max]."""
    time_share: np.ndarray
    """tau, TDMA shares (sum <= 1)."""
    edge_frequency: np.ndarray
    """f^e, cycle/s (sum <= F^E)."""
    value: float
    """Optimal relaxed cost, i.e. :func:`fitted_edge_cost` at ``frames`` up to solver tolerance."""


def solve_relaxed(
    problem: JointOffloadProblem, devices: np.ndarray, solver: str = cp.CLARABEL
) -> RelaxedEdgeSolution:
    """Solve the GP relaxation for the offloading ``devices`` (indices, non-empty).

    ``solver`` is any cvxpy conic solver with exponential cones. Raises ``RuntimeError`` if it
    does not report an optimum.
    """
    c = problem.config
    devices = np.asarray(devices, dtype=np.int64)
    if devices.size == 0:
        raise ValueError("the relaxed edge problem needs at least one offloading device")
    program = edge_geometric_program(problem, devices.size)
    alpha, beta = problem.linear_complexity
    fit = fit_accuracy_monomial(c)
    cpu = c.delay_weight * c.cycles_per_mac / c.edge_capacity
    values = {
        "transmit": problem.tx_weight[devices] / problem.rate[devices],
        "compute_per_frame": cpu * alpha,
        "compute_fixed": cpu * beta,
        "airtime_energy": c.energy_weight * c.transmit_power * c.frame_bits / problem.rate[devices],
        "accuracy": c.accuracy_weight * fit.coefficient,
    }
    for name, parameter in program.parameters.items():
        parameter.value = values[name]
    program.problem.solve(gp=True, solver=solver, **SOLVER_OPTIONS.get(solver, {}))
    if program.problem.status not in SOLVED:
        raise RuntimeError(f"the edge GP was not solved: status {program.problem.status!r}")
    ceiling = c.accuracy_weight * c.accuracy_model.a1 * devices.size
    return RelaxedEdgeSolution(
        frames=np.asarray(program.frames.value, dtype=float),
        time_share=np.asarray(program.time_share.value, dtype=float),
        edge_frequency=c.edge_capacity * np.asarray(program.cpu_share.value, dtype=float),
        value=float(program.problem.value) - ceiling,
    )


def fitted_edge_cost(
    problem: JointOffloadProblem, devices: np.ndarray, frames: np.ndarray
) -> np.ndarray:
    """The GP's objective with Theorem 2's shares, at real ``frames`` ((|S|,) or (M, |S|)).

    Phi with C(F) = alpha F + beta and a1 - A(F) = q F^(-r) (the models of the GP)::

        (sum sqrt(b F / R))^2 + (w1 eta / F^E) (sum sqrt(alpha F + beta))^2
        + [airtime] w2 sum p F D / R + w3 sum (q F^(-r) - a1)

    The GP optimum is its minimum over the box [F_min, F_max]^|S|, hence a lower bound of it at
    every integer point, and of the exact Phi up to the fit errors.
    """
    c = problem.config
    devices = np.asarray(devices, dtype=np.int64)
    frames = np.asarray(frames, dtype=float)
    alpha, beta = problem.linear_complexity
    fit = fit_accuracy_monomial(c)
    tx = np.sqrt(problem.tx_weight[devices] / problem.rate[devices] * frames).sum(axis=-1) ** 2
    cpu = c.delay_weight * c.cycles_per_mac / c.edge_capacity
    compute = cpu * np.sqrt(alpha * frames + beta).sum(axis=-1) ** 2
    accuracy = c.accuracy_weight * (fit(frames) - c.accuracy_model.a1).sum(axis=-1)
    cost = tx + compute + accuracy
    if c.tx_energy == "airtime":
        airtime = c.transmit_power * c.frame_bits / problem.rate[devices]
        cost = cost + c.energy_weight * (airtime * frames).sum(axis=-1)
    return cost


# ----------------------------------------------------------------------------------- rounding
def improve_frames(
    problem: JointOffloadProblem, devices: np.ndarray, frames: np.ndarray
) -> np.ndarray:
    """Greedy +-1 coordinate descent on the exact Phi from integer ``frames`` (|S|,).

    Each pass evaluates every single-coordinate move by +-1 inside [F_min, F_max] at once and
    takes the best one while it lowers Phi; the result is a local minimum of Phi (no +-1 move
    improves it) and never costlier than ``frames``.
    """
    c = problem.config
    devices = np.asarray(devices, dtype=np.int64)
    current = np.clip(np.asarray(frames, dtype=np.int64), c.min_frames, c.max_frames)
    size = current.size
    if size == 0:
        return current
    steps = np.concatenate([np.eye(size, dtype=np.int64), -np.eye(size, dtype=np.int64)])
    best = float(edge_cost_batch(problem, devices, current[None, :])[0])
    while True:
        moves = current + steps
        moves = moves[((moves >= c.min_frames) & (moves <= c.max_frames)).all(axis=1)]
        if not len(moves):  # F_min == F_max
            return current
        costs = edge_cost_batch(problem, devices, moves)
        i = int(np.argmin(costs))
        if costs[i] >= best - 1e-12 * abs(best):
            return current
        current, best = moves[i], float(costs[i])


def gp_frames(problem: JointOffloadProblem, devices: np.ndarray) -> np.ndarray:
    """Algorithm 2: integer frames (|S|,) of the offloading ``devices``.

    Solve the GP relaxation, round to the nearest integers, then :func:`improve_frames`.
    """
    devices = np.asarray(devices, dtype=np.int64)
    if devices.size == 0:
        return np.zeros(0, dtype=np.int64)
    relaxed = solve_relaxed(problem, devices)
    return improve_frames(problem, devices, np.rint(relaxed.frames).astype(np.int64))


EDGE_FRAME_SOLVERS: dict[str, EdgeFrameSolver] = {"gp": gp_frames, "search": search_frames}
"""Edge frame solvers by name: Algorithm 2 ("gp") and Algorithm 1 ("search", exponential)."""


def resolve_edge_solver(edge_solver: str | EdgeFrameSolver) -> EdgeFrameSolver:
    """The edge frame solver named ``edge_solver`` (a key of :data:`EDGE_FRAME_SOLVERS`), or
    ``edge_solver`` itself if it is callable."""
    if callable(edge_solver):
        return edge_solver
    if edge_solver not in EDGE_FRAME_SOLVERS:
        raise ValueError(
            f"edge_solver must be one of {sorted(EDGE_FRAME_SOLVERS)} or a callable, "
            f"got {edge_solver!r}"
        )
    return EDGE_FRAME_SOLVERS[edge_solver]


def gp_edge_allocation(
    problem: JointOffloadProblem,
    offload: np.ndarray,
    edge_solver: str | EdgeFrameSolver = "gp",
) -> Allocation:
    """The allocation for an offloading decision ``offload`` (bool, (N,)): Theorem 1 for the
    local devices, ``edge_solver`` (default Algorithm 2) for the frames of the offloading ones
    and Theorem 2 for their shares."""
    offload = np.asarray(offload, dtype=bool)
    if offload.shape != (problem.num_devices,):
        raise ValueError(f"offload must have shape ({problem.num_devices},), got {offload.shape}")
    devices = np.flatnonzero(offload)
    frames = np.zeros(problem.num_devices, dtype=np.int64)
    frames[devices] = resolve_edge_solver(edge_solver)(problem, devices)
    return compose_allocation(problem, offload, frames)
