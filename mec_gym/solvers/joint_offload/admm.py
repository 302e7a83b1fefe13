"""Algorithm 4: distributed offloading, frames and shares by ADMM (consensus form).

Every device n keeps local copies of its decisions: offloading x_n, frames F_n, time share
tau_n and edge CPU fraction phi_n = f_n^e / F^E. The base station keeps global copies
(tau_hat, phi_hat) in Z = {tau_hat, phi_hat >= 0: sum tau_hat <= 1, sum phi_hat <= 1}, the
consensus constraints are tau = tau_hat, phi = phi_hat, with multipliers lambda, mu and penalty
rho. An offloading device's cost is separable in the shares::

    U^E(F, tau, phi) = a_tau(F) / tau + a_phi(F) / phi + c(F),
    a_tau = b F / R,   a_phi = w1 eta C(F) / F^E,   c = [airtime] w2 p F D / R - w3 A(F)

(b is Theorem 2's ``tx_weight``). One iteration:

1. *Local step* (every device, vectorised): the value of staying local is
   ``U^L* - lambda tau_hat - mu phi_hat + rho/2 (tau_hat^2 + phi_hat^2)`` (a local device uses
   no resources, tau = phi = 0). Offloading with frames F minimises
   ``U^E + lambda (tau - tau_hat) + mu (phi - phi_hat) + rho/2 [(tau - tau_hat)^2 + (phi -
   phi_hat)^2]``, strictly convex in (tau, phi) > 0 and separable; its stationarity conditions
   are the cubics ``rho t^3 + (lambda - rho t_hat) t^2 - a = 0`` with exactly one positive root
   (:func:`share_cubic_root`). They are solved for every device and every integer F in
   [F_min, F_max] at once, an (N, number of F) array per share; the device keeps the best F
   and the cheaper of local/edge.
2. *Global step* (at the BS): (tau + lambda/rho, phi + mu/rho) of the offloading devices are
   projected onto Z, local devices get 0 (:func:`project_budget`, the exact sort-based
   Euclidean projection rather than the bisection on theta; both give the same point).
3. *Multipliers*: lambda += rho (tau - tau_hat), mu += rho (phi - phi_hat).

*Our changes to make it converge (measured in ``docs/joint_offload_paper*.md``).* The plain
scheme (start at tau_hat = phi_hat = 1/N, lambda = mu = 0, one fixed rho, every device switching
at once) stalls far from the optimum: a local device keeps lambda = mu = 0 and judges the edge by
the penalty alone, and devices that all switch together oscillate. Four changes, each keeping the
per-device local step and the one projection at the BS:

- *Start from Theorem 1/2* (:func:`admm_start`): the devices sorted by rate, the best prefix of
  them offloading at F_min with Theorem 2's shares (a closed form per prefix, one cumulative sum),
  and every multiplier at that allocation's resource prices ``theta = (sum sqrt a)^2``, the
  KKT multipliers of the budgets (at consensus every offloading device's multiplier equals them).
- *Prices for local devices*: after each multiplier update the BS broadcasts the common price
  (the multiplier of the offloading devices) and a local device takes it as its multiplier, so it
  judges the edge at the price it would pay instead of at lambda = 0.
- *Adaptive rho* (unless ``rho`` is given): one penalty per budget, ``rho = penalty_scale * theta``.
  With ``penalty_scale = 2`` the local step's proximal term ``rho/2 t^2`` at the share a device
  would get equals its own congestion term ``a`` of Theorem 2's cost ``(S + sqrt a)^2``, so the
  local step's values are the exact costs of one device joining or leaving.
- *Damped offloading decisions*: of the devices whose local step prefers the other option, the
  BS switches only the one with the largest gain per iteration (all switching together
  oscillates). The iteration count so grows with the number of switches, hence with N.

The returned allocation is the best of the start and the iterates (offloading set and frames)
with the shares recomputed by Theorem 2 (optimal for that set and those frames; the global copies
may give an offloading device a zero share). ``cost_trace`` holds that feasible cost of every
iteration, ``raw_trace`` the cost with the global copies (the spec's trace; inf when a global
share is 0). The stop rule (see :func:`admm`) waits for the decisions, the frames, the consensus
residual and the cost to settle, so the iteration count varies with N and the instance.

*Sensitivity to a fixed rho* (``rho=...``): the penalty then prices the shares of every device
alike whatever the budgets' prices; a large rho keeps devices local, a very small one lets too
many offload and makes zero global shares likely.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mec_gym.problems.joint_offload import Allocation, JointOffloadProblem, evaluate_allocation
from mec_gym.solvers.joint_offload.edge import compose_allocation
from mec_gym.solvers.joint_offload.edge import edge_cost as edge_frame_cost
from mec_gym.solvers.joint_offload.local import local_optimum

__all__ = [
    "AdmmResult",
    "EdgeTerms",
    "edge_terms",
    "share_cubic_root",
    "project_budget",
    "admm_start",
    "admm",
    "admm_allocation",
    "NEWTON_STEPS",
]

NEWTON_STEPS = 6
"""Newton steps of :func:`share_cubic_root` (enough for machine precision for every cubic)."""


@dataclass(frozen=True)
class AdmmResult:
    """Outcome of :func:`admm`."""

    allocation: Allocation
    """The best iterate's offloading set and frames with Theorem 2's shares (feasible)."""
    cost: float
    """Total cost (sum of U_n) of ``allocation``."""
    raw_cost: float
    """Total cost of the last iterate with the global copies as shares (>= ``cost``; inf when
    an offloading device's global share is 0)."""
    cost_trace: np.ndarray
    """Total cost of every iteration's offloading set and frames with Theorem 2's shares (the
    allocation the BS would deploy if it stopped there), shape (iterations,)."""
    raw_trace: np.ndarray
    """Total cost of every iteration with the global copies as shares, shape (iterations,)."""
    iterations: int
    """Iterations run."""
    converged: bool
    """Whether the stop rule was met (see :func:`admm`; else ``max_iterations`` was hit)."""


@dataclass(frozen=True)
class EdgeTerms:
    """The coefficients of U^E(F, tau, phi) = a_tau/tau + a_phi/phi + c for every device and F.

    Arrays have shape (N, number of F), column j standing for F = ``frames[j]``.
    """

    frames: np.ndarray
    """F_min..F_max, shape (number of F,)."""
    tx: np.ndarray
    """a_tau = b F / R, cost x time share."""
    cpu: np.ndarray
    """a_phi = w1 eta C(F) / F^E, cost x edge CPU fraction."""
    constant: np.ndarray
    """c = [airtime] w2 p F D / R - w3 A(F), cost."""


def edge_terms(problem: JointOffloadProblem) -> EdgeTerms:
    """:class:`EdgeTerms` of ``problem`` for every device and every F in [F_min, F_max]."""
    c = problem.config
    frames = problem.frame_range
    per_frame = frames[None, :] / problem.rate[:, None]
    tx = problem.tx_weight[:, None] * per_frame
    cpu = np.broadcast_to(
        c.delay_weight * c.cycles_per_mac * problem.macs[frames] / c.edge_capacity, tx.shape
    )
    constant = np.broadcast_to(-c.accuracy_weight * problem.accuracy[frames], tx.shape)
    if c.tx_energy == "airtime":
        constant = constant + c.energy_weight * c.transmit_power * c.frame_bits * per_frame
    return EdgeTerms(frames=frames, tx=tx, cpu=cpu, constant=constant)


def share_cubic_root(a: np.ndarray, linear: np.ndarray, rho: float) -> np.ndarray:
    """The positive root t of ``rho t^3 + linear t^2 - a = 0`` (elementwise, broadcasting).

    With a > 0 and rho > 0 the cubic is -a at 0 and has exactly one positive root r, right of
    which it is increasing and convex. Newton's method starts from the upper bound
    ``min((a/rho)^(1/3), sqrt(a/linear^+)) + (-linear)^+/rho`` (at most twice r) and descends
    monotonically. Scaling t = r x reduces every cubic to ``x^3 + beta x^2 - (1 + beta)`` with
    beta = linear/(rho r) > -1, and Newton's iterates scale with it, so the error depends on beta
    only: over beta in (-1, 1e15) the start is at most 1.385 r, and :data:`NEWTON_STEPS` = 6
    steps reach machine precision (5 steps: 1e-12). No convergence test is needed.
    """
    a = np.asarray(a, dtype=float)
    linear = np.asarray(linear, dtype=float)
    with np.errstate(divide="ignore"):
        t = np.minimum(np.cbrt(a / rho), np.sqrt(a / np.maximum(linear, 0.0))) + (
            np.maximum(-linear, 0.0) / rho
        )
    twice_linear = 2.0 * linear
    for _ in range(NEWTON_STEPS):
        rho_t = rho * t
        t -= (t * t * (rho_t + linear) - a) / (t * (3.0 * rho_t + twice_linear))
    return t


def project_budget(values: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of ``values`` (..., n) onto {z >= 0, sum z <= 1}.

    Exact: if the positive part fits the budget it is the projection; otherwise the projection
    is onto the simplex sum z = 1, z = max(v - theta, 0), where theta, the root of
    sum max(v - theta, 0) = 1, is the largest of the averages (u_1 + ... + u_j - 1)/j over the
    values sorted in decreasing order u (the sort-based algorithm instead of a bisection; the
    spec's theta equals rho times this one).
    """
    values = np.asarray(values, dtype=float)
    positive = np.maximum(values, 0.0)
    over = positive.sum(axis=-1, keepdims=True) > 1.0
    if not over.any():
        return positive
    descending = -np.sort(-values, axis=-1)
    averages = (descending.cumsum(axis=-1) - 1.0) / np.arange(1, values.shape[-1] + 1)
    theta = averages.max(axis=-1, keepdims=True)
    return np.where(over, np.maximum(values - theta, 0.0), positive)


def admm_start(
    problem: JointOffloadProblem, terms: EdgeTerms, local_cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """ADMM's start: (offloading mask (N,), Theorem 2's shares (2, N) as global copies).

    The devices offload in decreasing order of rate at F_min; the prefix with the lowest total
    cost (Theorem 2's closed-form edge cost plus Theorem 1 for the rest) is taken.
    """
    order = np.argsort(-problem.rate, kind="stable")
    sqrt_coefficients = np.sqrt(np.stack([terms.tx[:, 0], terms.cpu[:, 0]]))  # (2, N) at F_min
    sums = np.cumsum(sqrt_coefficients[:, order], axis=1)
    prefix_cost = (
        (sums**2).sum(axis=0)
        + np.cumsum(terms.constant[order, 0])
        + local_cost.sum()
        - np.cumsum(local_cost[order])
    )
    count = int(np.argmin(np.r_[local_cost.sum(), prefix_cost]))
    offload = np.zeros(problem.num_devices, dtype=bool)
    offload[order[:count]] = True
    shares = np.where(offload, sqrt_coefficients, 0.0)
    total = shares.sum(axis=1, keepdims=True)
    return offload, np.divide(shares, total, out=np.zeros_like(shares), where=total > 0)


def admm(
    problem: JointOffloadProblem,
    rho: float | None = None,
    penalty_scale: float = 2.0,
    tol: float = 1e-3,
    residual_tol: float = 5e-2,
    min_iterations: int = 2,
    max_iterations: int = 50,
) -> AdmmResult:
    """Algorithm 4 on ``problem``; see the module docstring.

    ``rho`` fixes the penalty (as the paper does); by default it adapts to the resource prices
    (``penalty_scale`` times each budget's price). The iterations stop, after ``min_iterations``
    and at most ``max_iterations``, at the first iterate at which no device wants to switch,
    the frames are those of the previous iterate, the consensus residual
    ``||(tau, phi) - (tau_hat, phi_hat)||`` is at most ``residual_tol`` times
    ``||(tau_hat, phi_hat)||`` and the cost with the global copies changed by at most ``tol``
    (relative).
    """
    if rho is not None and not rho > 0:
        raise ValueError(f"rho must be > 0 (or None: adaptive), got {rho}")
    positive = {"penalty_scale": penalty_scale, "tol": tol, "residual_tol": residual_tol}
    for name, value in positive.items():
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")
    if not 1 <= min_iterations <= max_iterations:
        raise ValueError(
            f"need 1 <= min_iterations <= max_iterations, got {min_iterations}, {max_iterations}"
        )
    if problem.config.delay_weight <= 0:
        raise ValueError("ADMM needs delay_weight > 0 (else the shares do not affect the cost)")
    n = problem.num_devices
    terms = edge_terms(problem)
    share_coefficients = np.stack([terms.tx, terms.cpu])  # (2, N, nF): a_tau, a_phi
    flat_coefficients = share_coefficients.reshape(2, -1)
    flat_constant = terms.constant.reshape(-1)
    row_start = np.arange(n) * terms.frames.size  # flat index of (device, F_min)
    local_cost = local_optimum(problem).cost
    offload, global_shares = admm_start(problem, terms, local_cost)
    # a lone device's price (its own a at F_min): the penalty scale while nobody offloads
    price_floor = np.median(share_coefficients[:, :, 0], axis=1)
    price = (np.sqrt(share_coefficients[:, :, 0]) * offload).sum(axis=1) ** 2  # (sum sqrt a)^2
    multipliers = np.repeat(price[:, None], n, axis=1)  # lambda, mu
    penalty = np.full((2, 1), float(rho)) if rho is not None else None
    trace: list[float] = []
    raw_trace: list[float] = []
    start_frames = np.where(offload, terms.frames[0], 0)
    devices = np.flatnonzero(offload)
    best_cost = edge_frame_cost(problem, devices, start_frames[devices])
    best_cost += local_cost[~offload].sum()
    best_decision = (offload, start_frames)
    converged = False
    previous_frames = None
    with np.errstate(divide="ignore"):  # a zero global share of an offloading device: inf
        for _ in range(max_iterations):
            if rho is None:
                penalty = penalty_scale * np.maximum(price, price_floor)[:, None]
            # 1. local step, every device and every F at once
            linear = (multipliers - penalty * global_shares)[:, :, None]
            roots = share_cubic_root(share_coefficients, linear, penalty[:, :, None])
            # value minus the terms -lambda t_hat + rho/2 t_hat^2 common to local and edge
            edge_values = terms.constant + np.sum(
                share_coefficients / roots + roots * (linear + 0.5 * penalty[:, :, None] * roots),
                axis=0,
            )
            best = edge_values.argmin(axis=1)
            pick = row_start + best  # flat index of (device, its best F)
            gain = local_cost - edge_values.take(pick)  # > 0: the device prefers the edge
            wants_switch = (gain > 0) != offload
            if wants_switch.any():  # the BS switches the device with the largest gain
                switch = int(np.argmax(np.where(wants_switch, np.abs(gain), -1.0)))
                offload = offload.copy()
                offload[switch] = not offload[switch]
            shares = np.where(offload, roots.reshape(2, -1).take(pick, axis=1), 0.0)
            # 2. global step, 3. multipliers; local devices take the common price
            global_shares = project_budget(np.where(offload, shares + multipliers / penalty, 0.0))
            multipliers += penalty * (shares - global_shares)
            priced = offload & (global_shares.min(axis=0) > 0)
            if priced.any():
                price = multipliers[:, priced].max(axis=1)
            elif not offload.any():
                price = np.zeros(2)
            multipliers = np.where(offload, multipliers, price[:, None])
            # cost of the iterate: with the global copies, and with Theorem 2's shares
            frames = np.where(offload, terms.frames[best], 0)
            edge_cost = flat_constant.take(pick) + np.sum(
                flat_coefficients.take(pick, axis=1) / global_shares, axis=0
            )
            raw_trace.append(float(np.where(offload, edge_cost, local_cost).sum()))
            devices = np.flatnonzero(offload)
            trace.append(
                edge_frame_cost(problem, devices, frames[devices]) + local_cost[~offload].sum()
            )
            if trace[-1] < best_cost:
                best_cost, best_decision = trace[-1], (offload, frames)
            residual = np.linalg.norm(shares - global_shares)
            settled = (
                len(trace) >= min_iterations
                and not wants_switch.any()
                and previous_frames is not None
                and np.array_equal(frames, previous_frames)
                and residual <= residual_tol * np.linalg.norm(global_shares)
                and abs(raw_trace[-1] - raw_trace[-2]) <= tol * abs(raw_trace[-2])
            )
            previous_frames = frames
            if settled:
                converged = True
                break
    allocation = compose_allocation(problem, *best_decision)
    return AdmmResult(
        allocation=allocation,
        cost=evaluate_allocation(problem, allocation).total,
        raw_cost=raw_trace[-1],
        cost_trace=np.array(trace),
        raw_trace=np.array(raw_trace),
        iterations=len(trace),
        converged=converged,
    )


def admm_allocation(problem: JointOffloadProblem, **kwargs: float) -> Allocation:
    """The allocation of :func:`admm` (keyword arguments are passed on)."""
    return admm(problem, **kwargs).allocation
