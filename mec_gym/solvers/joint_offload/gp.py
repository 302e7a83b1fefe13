"""Algorithm 2: the frames of the offloading devices from the relaxed (geometric) program.

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

Theorem 2's square-root shares solve the inner minimisation over (tau, phi) in closed form,
which leaves the fitted edge cost of the frames alone (:class:`FittedEdgeCost`,
:func:`fitted_edge_cost`)::

    g(F) = (sum sqrt(b F / R))^2 + (w1 eta / F^E) (sum sqrt(alpha F + beta))^2
           + [airtime] w2 sum p D F / R + w3 sum (q F^(-r) - a1)

convex in u = ln F. Two solvers of the relaxation (:func:`solve_relaxed`), equal up to their
tolerances:

- ``"newton"`` (the default): projected Newton on g over the box of u with an Armijo line search
  along the projection arc (Bertsekas, 1982). The Hessian is diagonal plus rank 2 (the two
  squared sums), so a step costs O(|S|) by the Woodbury identity; the iteration runs batched
  over many subsets of the same devices at once (:func:`relaxed_frames`, a (K, |S|) mask), which
  Algorithm 3 uses for all its candidate sets.
- ``"cvxpy"``: the reference, the GP in log variables (u = ln F, v = ln tau, z = ln phi) as
  cvxpy's DGP reduction would write it, but with vectorised exponential-cone sums, solved by a
  conic solver (Clarabel). It is compiled once per set size with every coefficient a
  ``cp.Parameter`` (:func:`edge_geometric_program`); the compiled programs are cached per
  process and are not thread-safe (a solve sets their parameters).

The relaxed frames are then rounded to the nearest integers and improved by greedy +-1
coordinate moves on the exact Phi (exact accuracy and the exact C(F) table,
:func:`improve_frames`); Theorem 2 gives the shares of the integer frames.

Every edge frame solver shares the signature :data:`EdgeFrameSolver`; :func:`gp_frames`
and :func:`~mec_gym.solvers.joint_offload.edge.search_frames` are interchangeable by name
through :data:`EDGE_FRAME_SOLVERS`.
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
    "RELAXED_METHODS",
    "resolve_edge_solver",
    "MonomialFit",
    "fit_accuracy_monomial",
    "FittedEdgeCost",
    "fitted_edge_cost",
    "EdgeGeometricProgram",
    "edge_geometric_program",
    "RelaxedEdgeSolution",
    "relaxed_frames",
    "solve_relaxed",
    "improve_frames",
    "round_frames",
    "gp_frames",
    "gp_edge_allocation",
]

EdgeFrameSolver = Callable[[JointOffloadProblem, np.ndarray], np.ndarray]
"""``solver(problem, devices) -> frames``: integer frames (|S|,) of the offloading ``devices``."""

RELAXED_METHODS = ("newton", "cvxpy")
"""Solvers of the relaxed edge problem (:func:`solve_relaxed`)."""

SOLVED = (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)

SOLVER_OPTIONS: dict[str, dict[str, float]] = {
    cp.CLARABEL: {"tol_gap_abs": 1e-7, "tol_gap_rel": 1e-7, "tol_feas": 1e-7},
}
"""Options per conic solver: at Clarabel's default 1e-8 a few solves end "inaccurate" (and warn)."""

NEWTON_TOLERANCE = 1e-13
"""Newton stops when the predicted decrease of g is below this times g + w3 a1 |S| (> 0)."""
NEWTON_MAX_ITERATIONS = 100
"""Newton steps before ``RuntimeError`` (the drops of the tests need 3 to 6)."""
MAX_BACKTRACKS = 40
"""Step halvings before a row is taken as converged (no descent above roundoff)."""
ARMIJO = 1e-4
"""Fraction of the predicted decrease a step must achieve."""
ROUNDOFF = 8 * np.finfo(float).eps
"""Relative noise of an evaluation of g: the line search accepts steps within it."""


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
    F_min + 1 (the frames are then fixed anyway). Frame counts whose gap rounds to 0 (A(F) = a1
    in floating point) are left out; with fewer than two others the term is a constant.
    """
    model = config.accuracy_model
    low = config.min_frames
    frames = np.arange(low, max(config.max_frames, low + 1) + 1, dtype=float)
    gap = model.a1 - np.asarray(model(frames))
    positive = gap > 0  # a gap below a1's float resolution rounds to 0: nothing to fit there
    if positive.sum() >= 2:
        slope, intercept = np.polyfit(
            np.log(frames[positive]), np.log(gap[positive]), 1, w=gap[positive]
        )
        coefficient, exponent = float(np.exp(intercept)), float(-slope)
    else:  # A(F) = a1 over (almost) the whole range: a flat, negligible term
        coefficient, exponent = max(float(gap.max()), np.finfo(float).tiny), 0.0
    error = coefficient * frames ** (-exponent) - gap
    return MonomialFit(
        coefficient, exponent, max(float(error.max()), 0.0), max(float(-error.min()), 0.0)
    )


# ---------------------------------------------------------------------------- fitted edge cost
class _Derivatives(NamedTuple):
    """g and its derivatives in u = ln F, rows (K,) or (K, |S|); zero off the mask."""

    value: np.ndarray
    scale: np.ndarray
    """g + w3 a1 |S|, the sum of the positive terms of g (> 0)."""
    gradient: np.ndarray
    diagonal: np.ndarray
    """Diagonal part of the Hessian (> 0 on the mask, 1 off it)."""
    low_rank: tuple[np.ndarray, np.ndarray]
    """(a, b): the Hessian is diag(diagonal) + a a^T + b b^T."""


@dataclass(frozen=True)
class FittedEdgeCost:
    """g(F), the relaxed program's objective with Theorem 2's shares, for fixed devices.

    Per-device coefficients are arrays (|S|,). Build it with :meth:`of`; call it on real
    frames (..., |S|), optionally with a boolean ``mask`` of the same shape selecting subsets.
    """

    transmit: np.ndarray
    """b_n / R_n, cost per frame per unit TDMA share."""
    compute: float
    """w1 eta / F^E, cost per MAC per unit edge CPU fraction."""
    alpha: float
    """MAC per frame of the linear fit C(F) ~ alpha F + beta."""
    beta: float
    """MAC of the linear fit (>= 0)."""
    airtime: np.ndarray
    """w2 p D / R_n, transmit energy cost per frame ("airtime"; 0 under "slot")."""
    accuracy: float
    """w3 q, accuracy cost at F = 1 of the fitted monomial."""
    exponent: float
    """r of the fitted monomial."""
    ceiling: float
    """w3 a1, the constant accuracy reward per device."""

    @classmethod
    def of(cls, problem: JointOffloadProblem, devices: np.ndarray) -> FittedEdgeCost:
        """The coefficients for the offloading ``devices`` (indices) of ``problem``.

        Requires a linear fit with alpha > 0, beta >= 0 (C(F) grows with F).
        """
        c = problem.config
        devices = np.asarray(devices, dtype=np.int64)
        alpha, beta = problem.linear_complexity
        if alpha <= 0 or beta < 0:
            raise ValueError(
                f"the edge GP needs C(F) ~ alpha*F + beta, alpha > 0, beta >= 0: {alpha, beta}"
            )
        fit = fit_accuracy_monomial(c)
        energy = (
            c.energy_weight * c.transmit_power * c.frame_bits if c.tx_energy == "airtime" else 0
        )
        rate = problem.rate[devices]
        return cls(
            transmit=problem.tx_weight[devices] / rate,
            compute=c.delay_weight * c.cycles_per_mac / c.edge_capacity,
            alpha=alpha,
            beta=beta,
            airtime=energy / rate,
            accuracy=c.accuracy_weight * fit.coefficient,
            exponent=fit.exponent,
            ceiling=c.accuracy_weight * c.accuracy_model.a1,
        )

    def __call__(self, frames: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """g at real ``frames`` (..., |S|) over the devices in ``mask`` (all by default)."""
        frames = np.asarray(frames, dtype=float)
        mask = np.ones(frames.shape, dtype=bool) if mask is None else mask
        return self.at_log_frames(np.log(np.where(mask, frames, 1.0)), mask).value

    def shares(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Theorem 2 at real ``frames`` (|S|,): TDMA shares tau and edge CPU fractions phi."""
        transmit, compute = self._roots(frames, self.alpha * frames + self.beta)
        return transmit / transmit.sum(), compute / compute.sum()

    def _roots(self, frames: np.ndarray, load: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """sqrt(b F / R) and sqrt(C(F)): Theorem 2's shares are proportional to them and their
        squared sums are the TDMA and edge CPU terms of g."""
        return np.sqrt(self.transmit * frames), np.sqrt(load)

    def at_log_frames(
        self, log_frames: np.ndarray, mask: np.ndarray, derivatives: bool = False
    ) -> _Derivatives:
        """g at u = ``log_frames`` over ``mask``; with its derivatives in u if ``derivatives``."""
        on = mask.astype(float)
        frames = np.exp(log_frames)
        load = self.alpha * frames + self.beta  # C(F), MAC
        transmit, compute = (root * on for root in self._roots(frames, load))
        airtime = self.airtime * frames * on
        accuracy = self.accuracy * np.exp(-self.exponent * log_frames) * on
        transmit_sum = transmit.sum(axis=-1, keepdims=True)
        compute_sum = compute.sum(axis=-1, keepdims=True)
        scale = (
            transmit_sum[..., 0] ** 2
            + self.compute * compute_sum[..., 0] ** 2
            + (airtime + accuracy).sum(axis=-1)
        )
        value = scale - self.ceiling * on.sum(axis=-1)
        if not derivatives:
            return _Derivatives(value, scale, np.empty(0), np.empty(0), (np.empty(0),) * 2)
        slope = 0.5 * self.alpha * frames * on / np.sqrt(load)  # d sqrt(load) / du
        curvature = slope * (self.alpha * frames + 2 * self.beta) / (2 * load)
        gradient = (
            transmit_sum * transmit
            + 2 * self.compute * compute_sum * slope
            + airtime
            - self.exponent * accuracy
        )
        diagonal = (
            0.5 * transmit_sum * transmit
            + 2 * self.compute * compute_sum * curvature
            + airtime
            + self.exponent**2 * accuracy
        )
        low_rank = (np.sqrt(0.5) * transmit, np.sqrt(2 * self.compute) * slope)
        return _Derivatives(value, scale, gradient, np.where(mask, diagonal, 1.0), low_rank)


def fitted_edge_cost(
    problem: JointOffloadProblem, devices: np.ndarray, frames: np.ndarray
) -> np.ndarray:
    """g at real ``frames`` ((|S|,) or (M, |S|)) of the offloading ``devices``::

        (sum sqrt(b F / R))^2 + (w1 eta / F^E) (sum sqrt(alpha F + beta))^2
        + [airtime] w2 sum p F D / R + w3 sum (q F^(-r) - a1)

    The relaxed optimum is its minimum over the box [F_min, F_max]^|S|, hence a lower bound of it
    at every integer point, and of the exact Phi up to the fit errors.
    """
    return FittedEdgeCost.of(problem, devices)(frames)


# ----------------------------------------------------------------------------- Newton solver
def _newton(cost: FittedEdgeCost, lower: float, upper: float, mask: np.ndarray) -> np.ndarray:
    """Minimise g over [``lower``, ``upper``] frames for every row of ``mask`` (K, |S|).

    Returns u = ln F (K, |S|), the midpoint of the box off the mask. Projected Newton
    (:func:`_newton_step`) on the rows until each has converged.
    """
    low, high = np.log(lower), np.log(upper)
    log_frames = np.full(mask.shape, 0.5 * (low + high))
    rows = np.flatnonzero(mask.any(axis=1))
    for _ in range(NEWTON_MAX_ITERATIONS):
        if not rows.size:
            return log_frames
        log_frames[rows], finished = _newton_step(cost, log_frames[rows], mask[rows], low, high)
        rows = rows[~finished]
    raise RuntimeError(f"Newton did not converge in {NEWTON_MAX_ITERATIONS} iterations")


def _newton_step(
    cost: FittedEdgeCost, u: np.ndarray, mask: np.ndarray, low: float, high: float
) -> tuple[np.ndarray, np.ndarray]:
    """One projected Newton step in u = ln F on the box [``low``, ``high``] (Bertsekas, 1982).

    The variables at a bound whose gradient pushes outwards (within a shrinking margin) take a
    scaled-gradient step, the others a Newton step on their block of the Hessian, inverted by
    Woodbury (diagonal plus rank 2); Armijo backtracking along the projection arc. Returns the
    new u and, per row, whether it had converged (or cannot descend above roundoff).
    """
    d = cost.at_log_frames(u, mask, derivatives=True)
    scaled = d.gradient / d.diagonal
    margin = np.minimum(np.abs(u - np.clip(u - scaled, low, high)).max(axis=1), 1e-2)[:, None]
    bound = mask & (
        ((u <= low + margin) & (d.gradient > 0)) | ((u >= high - margin) & (d.gradient < 0))
    )
    free = mask & ~bound
    # Woodbury on the free block: (D + a a^T + b b^T)^-1 g = D^-1 g - D^-1 [a b] w with
    # (I + [a b]^T D^-1 [a b]) w = [a b]^T D^-1 g, a 2x2 system per row
    inverse = np.where(free, 1 / d.diagonal, 0.0)
    a, b = d.low_rank
    newton = inverse * d.gradient
    aa, ab, bb = ((x * y * inverse).sum(axis=1) for x, y in ((a, a), (a, b), (b, b)))
    ag, bg = (a * newton).sum(axis=1), (b * newton).sum(axis=1)
    determinant = (1 + aa) * (1 + bb) - ab**2
    wa, wb = ((1 + bb) * ag - ab * bg) / determinant, ((1 + aa) * bg - ab * ag) / determinant
    direction = (
        newton - inverse * (a * wa[:, None] + b * wb[:, None]) + np.where(bound, scaled, 0.0)
    )
    # predicted decrease at step t: t sum_free g d + sum_bound g (u - u(t))
    free_decrease = np.where(free, d.gradient * direction, 0.0).sum(axis=1)
    bound_gradient = np.where(bound, d.gradient, 0.0)
    full = np.clip(u - direction, low, high)
    converged = free_decrease + (bound_gradient * (u - full)).sum(axis=1) <= (
        NEWTON_TOLERANCE * d.scale
    )
    u = u.copy()
    step = np.ones(len(u))
    pending = np.flatnonzero(~converged)
    for _ in range(MAX_BACKTRACKS):
        if not pending.size:
            break
        t = step[pending]
        trial = np.clip(u[pending] - t[:, None] * direction[pending], low, high)
        decrease = t * free_decrease[pending] + (
            bound_gradient[pending] * (u[pending] - trial)
        ).sum(axis=1)
        value = cost.at_log_frames(trial, mask[pending]).value
        slack = ROUNDOFF * d.scale[pending]
        good = value <= d.value[pending] - ARMIJO * decrease + slack
        u[pending[good]] = trial[good]
        step[pending[~good]] *= 0.5
        pending = pending[~good]
    stalled = np.zeros(len(u), dtype=bool)
    stalled[pending] = True
    return u, converged | stalled


def relaxed_frames(
    problem: JointOffloadProblem, devices: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """Real frames minimising g over [F_min, F_max] for many subsets of ``devices`` at once.

    ``mask`` (K, |S|) selects the devices of each subset (default: one row, all of them).
    Returns frames (K, |S|), NaN off the mask (projected Newton, batched over the rows).
    """
    c = problem.config
    devices = np.asarray(devices, dtype=np.int64)
    mask = np.ones((1, devices.size), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if mask.ndim != 2 or mask.shape[1] != devices.size:
        raise ValueError(f"mask must have shape (K, {devices.size}), got {mask.shape}")
    log_frames = _newton(FittedEdgeCost.of(problem, devices), c.min_frames, c.max_frames, mask)
    return np.where(mask, np.clip(np.exp(log_frames), c.min_frames, c.max_frames), np.nan)


# --------------------------------------------------------------------------- compiled program
@dataclass(frozen=True)
class EdgeGeometricProgram:
    """The relaxed program for one set size in log variables; set ``parameters`` and solve.

    Parameters (the coefficients of :class:`FittedEdgeCost`): ``transmit`` (|S|,), cost per
    frame per unit TDMA share; ``compute_per_frame`` w1 eta alpha / F^E and ``compute_fixed``
    w1 eta beta / F^E, cost per frame resp. per task per unit CPU fraction; ``airtime`` (|S|,),
    cost per frame; ``accuracy`` w3 q; ``log_min_frames`` and ``log_max_frames``, ln F_min and
    ln F_max.
    """

    problem: cp.Problem
    log_frames: cp.Variable
    """u = ln F (|S|,), F real frames."""
    log_time_share: cp.Variable
    """v = ln tau (|S|,)."""
    log_cpu_share: cp.Variable
    """z = ln phi (|S|,), phi = f^e / F^E."""
    parameters: dict[str, cp.Parameter]


@functools.lru_cache(maxsize=256)
def edge_geometric_program(size: int, exponent: float) -> EdgeGeometricProgram:
    """The compiled relaxed program for ``size`` offloading devices and the accuracy monomial's
    ``exponent`` r (cached per pair; a parameter r would not be DPP).

    Every monomial ``c x^a`` of the GP is ``c exp(a^T (u, v, z))``: vectors of exponential
    cones, a disciplined convex (and parametrised) program that compiles in linear time.
    """
    u = cp.Variable(size, name="log_frames")
    v = cp.Variable(size, name="log_time_share")
    z = cp.Variable(size, name="log_cpu_share")
    vector = {"transmit", "airtime"}
    names = ("transmit", "compute_per_frame", "compute_fixed", "airtime", "accuracy")
    parameters = {
        name: cp.Parameter(size if name in vector else (), nonneg=True, name=name) for name in names
    }
    parameters |= {name: cp.Parameter(name=name) for name in ("log_min_frames", "log_max_frames")}
    p = parameters
    objective = (
        p["transmit"] @ cp.exp(u - v)
        + p["compute_per_frame"] * cp.sum(cp.exp(u - z))
        + p["compute_fixed"] * cp.sum(cp.exp(-z))
        + p["airtime"] @ cp.exp(u)
        + p["accuracy"] * cp.sum(cp.exp(-exponent * u))
    )
    constraints = [
        cp.sum(cp.exp(v)) <= 1,
        cp.sum(cp.exp(z)) <= 1,
        u >= p["log_min_frames"],
        u <= p["log_max_frames"],
    ]
    program = cp.Problem(cp.Minimize(objective), constraints)
    return EdgeGeometricProgram(program, u, v, z, parameters)


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


def _solve_cvxpy(
    problem: JointOffloadProblem, cost: FittedEdgeCost, solver: str
) -> RelaxedEdgeSolution:
    """The relaxation with the coefficients ``cost`` by the compiled program and ``solver``."""
    c = problem.config
    program = edge_geometric_program(cost.transmit.size, cost.exponent)
    values = {
        "transmit": cost.transmit,
        "compute_per_frame": cost.compute * cost.alpha,
        "compute_fixed": cost.compute * cost.beta,
        "airtime": cost.airtime,
        "accuracy": cost.accuracy,
        "log_min_frames": np.log(c.min_frames),
        "log_max_frames": np.log(c.max_frames),
    }
    for name, parameter in program.parameters.items():
        parameter.value = values[name]
    program.problem.solve(solver=solver, **SOLVER_OPTIONS.get(solver, {}))
    if program.problem.status not in SOLVED:
        raise RuntimeError(f"the edge GP was not solved: status {program.problem.status!r}")
    frames = np.clip(np.exp(program.log_frames.value), c.min_frames, c.max_frames)
    return RelaxedEdgeSolution(
        frames=frames,
        time_share=np.exp(program.log_time_share.value),
        edge_frequency=c.edge_capacity * np.exp(program.log_cpu_share.value),
        value=float(program.problem.value) - cost.ceiling * frames.size,
    )


# ------------------------------------------------------------------------------ relaxed solve
def solve_relaxed(
    problem: JointOffloadProblem,
    devices: np.ndarray,
    method: str = "newton",
    solver: str = cp.CLARABEL,
) -> RelaxedEdgeSolution:
    """Solve the relaxation for the offloading ``devices`` (indices, non-empty).

    ``method`` is one of :data:`RELAXED_METHODS`: "newton" (:func:`relaxed_frames`, Theorem 2's
    shares of its frames) or "cvxpy" (the reference, with ``solver``, any cvxpy conic solver
    with exponential cones; ``RuntimeError`` if it does not report an optimum).
    """
    c = problem.config
    devices = np.asarray(devices, dtype=np.int64)
    if devices.size == 0:
        raise ValueError("the relaxed edge problem needs at least one offloading device")
    if method not in RELAXED_METHODS:
        raise ValueError(f"method must be one of {RELAXED_METHODS}, got {method!r}")
    cost = FittedEdgeCost.of(problem, devices)
    if method == "cvxpy":
        return _solve_cvxpy(problem, cost, solver)
    frames = relaxed_frames(problem, devices)[0]
    time_share, cpu_share = cost.shares(frames)
    return RelaxedEdgeSolution(
        frames=frames,
        time_share=time_share,
        edge_frequency=c.edge_capacity * cpu_share,
        value=float(cost(frames)),
    )


# ----------------------------------------------------------------------------------- rounding
def improve_frames(
    problem: JointOffloadProblem, devices: np.ndarray, frames: np.ndarray
) -> np.ndarray:
    """Greedy +-1 coordinate descent on the exact Phi from integer ``frames`` (|S|,).

    Each pass evaluates every single-coordinate move by +-1 inside [F_min, F_max] at once and
    takes the best one while it lowers Phi; the result is a local minimum of Phi (no +-1 move
    improves it) and never costlier than ``frames``.
    """
    devices = np.asarray(devices, dtype=np.int64)
    low, high = problem.frame_range[[0, -1]]
    current = np.clip(np.asarray(frames, dtype=np.int64), low, high)
    size = current.size
    if size == 0:
        return current
    steps = np.concatenate([np.eye(size, dtype=np.int64), -np.eye(size, dtype=np.int64)])
    best = float(edge_cost_batch(problem, devices, current[None, :])[0])
    if not np.isfinite(best):
        raise ValueError(
            f"the edge cost of devices {devices.tolist()} is not finite: a device without "
            "uplink (problem.can_offload) cannot offload"
        )
    while True:
        moves = current + steps
        moves = moves[((moves >= low) & (moves <= high)).all(axis=1)]
        if not len(moves):  # F_min == F_max
            return current
        costs = edge_cost_batch(problem, devices, moves)
        i = int(np.argmin(costs))
        if costs[i] >= best - 1e-12 * abs(best):
            return current
        current, best = moves[i], float(costs[i])


def round_frames(
    problem: JointOffloadProblem, devices: np.ndarray, relaxed: np.ndarray
) -> np.ndarray:
    """Integer frames (|S|,) from ``relaxed`` real ones: the nearest integers, then
    :func:`improve_frames`."""
    return improve_frames(problem, devices, np.rint(relaxed).astype(np.int64))


def gp_frames(problem: JointOffloadProblem, devices: np.ndarray) -> np.ndarray:
    """Algorithm 2: integer frames (|S|,) of the offloading ``devices``.

    Solve the relaxation (:func:`relaxed_frames`), then :func:`round_frames`.
    """
    devices = np.asarray(devices, dtype=np.int64)
    if devices.size == 0:
        return np.zeros(0, dtype=np.int64)
    return round_frames(problem, devices, relaxed_frames(problem, devices)[0])


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
    stuck = np.flatnonzero(offload & ~problem.can_offload)
    if stuck.size:
        raise ValueError(
            f"devices {stuck.tolist()} cannot offload: their uplink rate is 0 "
            "(problem.can_offload); keep them local"
        )
    devices = np.flatnonzero(offload)
    frames = np.zeros(problem.num_devices, dtype=np.int64)
    frames[devices] = resolve_edge_solver(edge_solver)(problem, devices)
    return compose_allocation(problem, offload, frames)
