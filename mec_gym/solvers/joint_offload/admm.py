"""Algorithm 4: distributed offloading, frames and shares by ADMM (consensus form).

Every device n keeps local copies of its decisions: offloading x_n, frames F_n, time share
tau_n and edge CPU fraction phi_n = f_n^e / F^E. The base station keeps global copies
(tau_hat, phi_hat) in Z = {tau_hat, phi_hat >= 0: sum tau_hat <= 1, sum phi_hat <= 1}, the
consensus constraints are tau = tau_hat, phi = phi_hat, with multipliers lambda, mu and penalty
rho. An offloading device's cost is separable in the shares::

    U^E(F, tau, phi) = a_tau(F) / tau + a_phi(F) / phi + c(F),
    a_tau = b F / R,   a_phi = w1 eta C(F) / F^E,   c = [airtime] w2 p F D / R - w3 A(F)

(b is Theorem 2's ``tx_weight``). One iteration:

1. *Local step* (every device): the value of staying local is
   ``U^L* - lambda tau_hat - mu phi_hat + rho/2 (tau_hat^2 + phi_hat^2)`` (a local device uses
   no resources, tau = phi = 0). Offloading with frames F minimises
   ``U^E + lambda (tau - tau_hat) + mu (phi - phi_hat) + rho/2 [(tau - tau_hat)^2 + (phi -
   phi_hat)^2]``, strictly convex in (tau, phi) > 0 and separable; its stationarity conditions
   are the cubics ``rho t^3 + (lambda - rho t_hat) t^2 - a = 0`` with exactly one positive root
   (:func:`share_cubic_root`). They are solved for every device and every integer F in
   [F_min, F_max] (:func:`local_step`); the device keeps the best F and the cheaper of
   local/edge.
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

*Batches* (:func:`admm_batch`): B instances of one config and one N are set up at once (every
array with a leading batch axis), then each runs its own iterations until its own stop rule, so
each result is the one of the instance alone and :func:`admm` is the batch of one. The
iterations are compiled loops (:mod:`~mec_gym.solvers.joint_offload.admm_kernels`, numba, in the
``solvers`` extra: written in numpy, an iteration at N = 25 made about 100 calls on small
arrays). The CPU share's cubic depends on the device only through its ``mu - rho phi_hat``, so
it is solved once for all devices at the common price (every local device has it).

*Sensitivity to a fixed rho* (``rho=...``): the penalty then prices the shares of every device
alike whatever the budgets' prices; a large rho keeps devices local, a very small one lets too
many offload and makes zero global shares likely.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mec_gym.problems.joint_offload import (
    Allocation,
    JointOffloadProblem,
    local_delay_energy,
    offload_delay_energy,
    weighted_cost,
)
from mec_gym.solvers.joint_offload.admm_kernels import (
    NEWTON_STEPS,
    decision_cost_rows,
    iterate_batch,
    local_step_batch,
    project_rows,
    share_roots_elementwise,
)
from mec_gym.solvers.joint_offload.edge import compose_allocations
from mec_gym.solvers.joint_offload.local import local_optimum

__all__ = [
    "AdmmResult",
    "EdgeTerms",
    "edge_terms",
    "share_cubic_root",
    "project_budget",
    "share_values",
    "local_step",
    "admm_start",
    "admm",
    "admm_batch",
    "admm_allocation",
    "decision_cost",
    "total_costs",
    "NEWTON_STEPS",
]


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

    Arrays have shape (..., N, number of F), column j standing for F = ``frames[j]``; leading
    axes are instances (see :func:`edge_terms`).
    """

    frames: np.ndarray
    """F_min..F_max, shape (number of F,)."""
    tx: np.ndarray
    """a_tau = b F / R, cost x time share."""
    cpu: np.ndarray
    """a_phi = w1 eta C(F) / F^E, cost x edge CPU fraction."""
    constant: np.ndarray
    """c = [airtime] w2 p F D / R - w3 A(F), cost."""


def edge_terms(problem: JointOffloadProblem, rate: np.ndarray | None = None) -> EdgeTerms:
    """:class:`EdgeTerms` of ``problem`` for every device and every F in [F_min, F_max].

    ``rate`` (bit/s, (..., N)): the full-band rates of instances of ``problem``'s config and N
    to compute the terms of instead (default ``problem.rate``).
    """
    c = problem.config
    frames = problem.frame_range
    rate = problem.rate if rate is None else rate
    with np.errstate(divide="ignore"):  # no uplink (rate 0): infinite terms, never offloads
        per_frame = frames / rate[..., None]
    tx = problem.tx_weight[:, None] * per_frame
    cpu = np.broadcast_to(
        c.delay_weight * c.cycles_per_mac * problem.macs[frames] / c.edge_capacity, tx.shape
    )
    constant = np.broadcast_to(-c.accuracy_weight * problem.accuracy[frames], tx.shape)
    if c.tx_energy == "airtime":
        constant = constant + c.energy_weight * c.transmit_power * c.frame_bits * per_frame
    return EdgeTerms(frames=frames, tx=tx, cpu=cpu, constant=constant)


def share_cubic_root(a: np.ndarray, linear: np.ndarray, rho: float | np.ndarray) -> np.ndarray:
    """The positive root t of ``rho t^3 + linear t^2 - a = 0`` (elementwise, broadcasting; a > 0,
    rho > 0): Newton's method from an upper bound, :data:`NEWTON_STEPS` steps (see
    :func:`~mec_gym.solvers.joint_offload.admm_kernels.share_roots`)."""
    return share_values(a, linear, rho)[0]


def project_budget(values: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row of ``values`` (..., n) onto {z >= 0, sum z <= 1}, exact
    (the sort-based algorithm: see
    :func:`~mec_gym.solvers.joint_offload.admm_kernels.project_rows`)."""
    values = np.asarray(values, dtype=float)
    shape = values.shape if values.ndim else (1,)
    out = np.empty(shape)
    project_rows(as_rows(filled(values, shape, float)), as_rows(out))
    return out.reshape(values.shape)[()]


def admm_start(
    rate: np.ndarray, terms: EdgeTerms, local_cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """ADMM's start for instances with full-band rates ``rate`` (bit/s, (..., N)), their
    :class:`EdgeTerms` and Theorem 1's costs ``local_cost`` ((..., N)): (offloading mask
    (..., N), Theorem 2's shares (2, ..., N) as global copies).

    The devices offload in decreasing order of rate at F_min; the prefix with the lowest total
    cost (Theorem 2's closed-form edge cost plus Theorem 1 for the rest) is taken.
    """
    order = np.argsort(-rate, axis=-1, kind="stable")
    sqrt_coefficients = np.sqrt(np.stack([terms.tx[..., 0], terms.cpu[..., 0]]))  # at F_min
    sums = np.cumsum(np.take_along_axis(sqrt_coefficients, order[None], axis=-1), axis=-1)
    local_cost = np.broadcast_to(local_cost, rate.shape)
    total_local = local_cost.sum(axis=-1, keepdims=True)
    prefix_cost = (
        (sums**2).sum(axis=0)
        + np.cumsum(np.take_along_axis(terms.constant[..., 0], order, axis=-1), axis=-1)
        + total_local
        - np.cumsum(np.take_along_axis(local_cost, order, axis=-1), axis=-1)
    )
    count = np.argmin(np.concatenate([total_local, prefix_cost], axis=-1), axis=-1)
    rank = np.empty_like(order)  # position of every device in ``order``
    np.put_along_axis(rank, order, np.arange(rate.shape[-1]), axis=-1)
    offload = rank < count[..., None]
    shares = np.where(offload, sqrt_coefficients, 0.0)
    total = shares.sum(axis=-1, keepdims=True)
    return offload, np.divide(shares, total, out=np.zeros_like(shares), where=total > 0)


def share_values(
    a: np.ndarray, linear: np.ndarray, rho: float | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(t, a/t + t (linear + rho/2 t)) with t the optimal share (:func:`share_cubic_root`):
    one share's part of the local step's edge value, broadcasting."""
    shape = np.broadcast_shapes(np.shape(a), np.shape(linear), np.shape(rho))
    flat = [filled(x, shape, float).reshape(-1) for x in (a, linear, rho)]
    root, value = np.empty(shape), np.empty(shape)
    share_roots_elementwise(*flat, root.reshape(-1), value.reshape(-1))
    return root, value


def filled(values: np.ndarray | float, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A new contiguous array of ``shape`` and ``dtype`` holding ``values`` broadcast to it
    (ValueError if they do not broadcast)."""
    out = np.empty(shape, dtype=dtype)
    out[...] = values
    return out


def as_rows(array: np.ndarray) -> np.ndarray:
    """A contiguous ``array`` viewed as the rows of its last axis (rows, n), n = 0 too."""
    return array.reshape(math.prod(array.shape[:-1]), array.shape[-1])


def local_step(
    tx: np.ndarray,
    cpu: np.ndarray,
    constant: np.ndarray,
    linear: np.ndarray,
    penalty: np.ndarray,
    common: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ADMM's local step, every instance and device: (its best F as an index into the frames
    (L, N), its edge value there (L, N), its optimal shares there (2, L, N)). The edge value
    omits the terms ``-lambda t_hat + rho/2 t_hat^2`` common to local and edge.

    ``tx`` (L, N, nF) is a_tau, ``cpu`` (nF,) is a_phi (the same for every device),
    ``constant`` (L, N, nF) is c, ``linear`` (2, L, N) is ``lambda - rho t_hat`` and ``penalty``
    (2, L, 1) is rho, per budget. The CPU share's cubics of the devices of an instance whose
    ``linear[1]`` equals its ``common`` (L,) (the local devices' price; default: none) are
    solved once (see :func:`~mec_gym.solvers.joint_offload.admm_kernels.local_step_instance`).
    The other inputs broadcast to those shapes; ValueError (one line) for a ``tx`` that is not
    (L, N, nF) with nF >= 1 or an input that does not broadcast.
    """
    if np.ndim(tx) != 3 or np.shape(tx)[-1] == 0:
        raise ValueError(f"local_step: tx must be (L, N, nF) with nF >= 1, got {np.shape(tx)}")
    size, n, frames = np.shape(tx)
    shapes = {
        "tx": (tx, (size, n, frames)),
        "cpu": (cpu, (frames,)),
        "constant": (constant, (size, n, frames)),
        "linear": (linear, (2, size, n)),
        "penalty": (penalty, (2, size, 1)),
        "common": (np.nan if common is None else common, (size,)),
    }
    for name, (values, shape) in shapes.items():
        try:
            fits = np.broadcast_shapes(np.shape(values), shape) == shape
        except ValueError:  # numpy's "shape mismatch"
            fits = False
        if not fits:
            raise ValueError(
                f"local_step: {name} of shape {np.shape(values)} does not broadcast to {shape}"
            )
    arrays = {name: filled(values, shape, float) for name, (values, shape) in shapes.items()}
    best, value = np.empty((size, n), dtype=np.int64), np.empty((size, n))
    shares = np.empty((size, 2, n))
    local_step_batch(
        arrays["tx"],
        arrays["cpu"],
        arrays["constant"],
        np.ascontiguousarray(arrays["linear"].swapaxes(0, 1)),
        np.ascontiguousarray(arrays["penalty"][..., 0].swapaxes(0, 1)),
        arrays["common"],
        best,
        value,
        shares,
    )
    return best, value, shares.swapaxes(0, 1)


def decision_cost(
    offload: np.ndarray,
    tx: np.ndarray,
    cpu: np.ndarray,
    constant: np.ndarray,
    local_cost: np.ndarray,
) -> np.ndarray | float:
    """Total cost (...,) of offloading decisions (..., N) with Theorem 2's shares (a float for
    one instance), from the terms at every device's frames (a_tau ``tx``, a_phi ``cpu``, c
    ``constant``, (..., N)) and Theorem 1's costs ``local_cost`` of the local devices (arrays
    broadcast; at least one of them has the device axis)::

        (sum sqrt a_tau)^2 + (sum sqrt a_phi)^2 + sum c   (offloading devices)
        + sum U^L*                                        (local devices)
    """
    inputs = (offload, tx, cpu, constant, local_cost)
    shape = np.broadcast_shapes(*(np.shape(x) for x in inputs))
    if not shape:
        raise ValueError("decision_cost needs arrays with a device axis (..., N), got scalars")
    arrays = [filled(offload, shape, bool)] + [filled(x, shape, float) for x in inputs[1:]]
    rows = [as_rows(x) for x in arrays]
    out = np.empty(rows[0].shape[0])
    decision_cost_rows(*rows, out)
    return out.reshape(shape[:-1])[()]


def check_settings(
    rho: float | None,
    penalty_scale: float,
    tol: float,
    residual_tol: float,
    min_iterations: int,
    max_iterations: int,
) -> None:
    """ValueError unless :func:`admm`'s settings are valid."""
    if rho is not None and not rho > 0:
        raise ValueError(f"rho must be > 0 (or None: adaptive), got {rho}")
    positive = {"penalty_scale": penalty_scale, "tol": tol, "residual_tol": residual_tol}
    for name, value in positive.items():
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")
    for name, value in (("min_iterations", min_iterations), ("max_iterations", max_iterations)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
    if not 1 <= min_iterations <= max_iterations:
        raise ValueError(
            f"need 1 <= min_iterations <= max_iterations, got {min_iterations}, {max_iterations}"
        )


def admm_batch(
    problems: Sequence[JointOffloadProblem],
    rho: float | None = None,
    penalty_scale: float = 2.0,
    tol: float = 1e-3,
    residual_tol: float = 5e-2,
    min_iterations: int = 2,
    max_iterations: int = 50,
) -> list[AdmmResult]:
    """Algorithm 4 on B instances of one config and one N at once; see the module docstring.

    The instances are set up together (arrays with a leading batch axis), then each iterates
    until its own stop rule (see :func:`admm`), so each result is the one :func:`admm` gives on
    that instance alone (``admm`` is this function with B = 1).
    """
    check_settings(rho, penalty_scale, tol, residual_tol, min_iterations, max_iterations)
    if len(problems) == 0:
        raise ValueError("admm_batch needs at least one problem")
    problem = problems[0]
    config, n = problem.config, problem.num_devices
    if any(p.num_devices != n or not (p.config is config or p.config == config) for p in problems):
        raise ValueError("admm_batch needs instances of one config and one number of devices")
    if config.delay_weight <= 0:
        raise ValueError("ADMM needs delay_weight > 0 (else the shares do not affect the cost)")
    size = len(problems)
    all_rates = np.stack([p.rate for p in problems])  # (B, N), bit/s
    terms = edge_terms(problem, all_rates)
    local = local_optimum(problem)  # Theorem 1 does not depend on the channel
    local_cost = np.ascontiguousarray(local.cost, dtype=float)  # (N,)
    offload, global_shares = admm_start(all_rates, terms, local_cost)
    tx, constant = np.ascontiguousarray(terms.tx), np.ascontiguousarray(terms.constant)
    cpu = np.array(terms.cpu[(0,) * (terms.cpu.ndim - 1)])  # a_phi, the same for all: (nF,)
    at_min = np.stack([tx[..., 0], np.broadcast_to(cpu[0], tx.shape[:-1])], axis=1)  # (B, 2, N)
    # a lone device's price (its own a at F_min): the penalty scale while nobody offloads
    price_floor = np.median(at_min, axis=-1)  # (B, 2)
    price = np.where(offload[:, None], np.sqrt(at_min), 0.0).sum(axis=-1) ** 2  # (sum sqrt a)^2
    multipliers = np.repeat(price[..., None], n, axis=-1)  # lambda, mu: (B, 2, N)
    best_cost = decision_cost(offload, tx[..., 0], cpu[0], constant[..., 0], local_cost)
    best_offload = offload.copy()
    best_frames = np.where(offload, terms.frames[0], 0).astype(np.int64)
    trace = np.full((size, max_iterations), np.nan)
    raw_trace = np.full((size, max_iterations), np.nan)
    iterations = np.zeros(size, dtype=np.int64)
    converged = np.zeros(size, dtype=bool)
    settings = np.array(
        [
            np.nan if rho is None else rho,
            penalty_scale,
            tol,
            residual_tol,
            min_iterations,
            max_iterations,
        ],
        dtype=float,
    )
    shares = np.ascontiguousarray(global_shares.swapaxes(0, 1))  # (B, 2, N)
    iterate_batch(
        (tx, cpu, constant, local_cost, terms.frames.astype(np.int64)),
        (offload, shares, multipliers, price, price_floor),
        settings,
        (best_offload, best_frames, best_cost, trace, raw_trace),
        iterations,
        converged,
    )
    allocations = compose_allocations(problem, best_offload, best_frames, all_rates, local)
    costs = total_costs(problem, allocations, all_rates)
    return [
        AdmmResult(
            allocation=allocation,
            cost=float(cost),
            raw_cost=float(raw_trace[i, count - 1]),
            cost_trace=trace[i, :count].copy(),
            raw_trace=raw_trace[i, :count].copy(),
            iterations=int(count),
            converged=bool(converged[i]),
        )
        for i, (allocation, cost, count) in enumerate(
            zip(allocations, costs, iterations, strict=True)
        )
    ]


def total_costs(
    problem: JointOffloadProblem, allocations: Sequence[Allocation], rate: np.ndarray
) -> np.ndarray:
    """The total cost of each allocation of instances of ``problem``'s config with full-band
    rates ``rate`` (bit/s, (B, N)), at once: (B,), equal to ``evaluate_allocation(...).total``
    (the same cost functions on rows)."""
    c = problem.config
    offload, frames, time_share, edge_frequency, local_frequency = (
        np.stack([getattr(allocation, name) for allocation in allocations])
        for name in ("offload", "frames", "time_share", "edge_frequency", "local_frequency")
    )
    macs = problem.macs[frames]
    with np.errstate(divide="ignore", invalid="ignore"):
        local_delay, local_energy = local_delay_energy(c, macs, local_frequency)
        edge_delay, tx_energy = offload_delay_energy(
            c, macs, frames, rate, time_share, edge_frequency
        )
    delay = np.where(offload, edge_delay, local_delay)
    energy = np.where(offload, tx_energy, local_energy)
    return weighted_cost(c, delay, energy, problem.accuracy[frames]).sum(axis=-1)


def admm(
    problem: JointOffloadProblem,
    rho: float | None = None,
    penalty_scale: float = 2.0,
    tol: float = 1e-3,
    residual_tol: float = 5e-2,
    min_iterations: int = 2,
    max_iterations: int = 50,
) -> AdmmResult:
    """Algorithm 4 on ``problem``; see the module docstring (:func:`admm_batch` with B = 1).

    ``rho`` fixes the penalty (as the paper does); by default it adapts to the resource prices
    (``penalty_scale`` times each budget's price). The iterations stop, after ``min_iterations``
    and at most ``max_iterations``, at the first iterate at which no device wants to switch,
    the frames are those of the previous iterate, the consensus residual
    ``||(tau, phi) - (tau_hat, phi_hat)||`` is at most ``residual_tol`` times
    ``||(tau_hat, phi_hat)||`` and the cost with the global copies changed by at most ``tol``
    (relative).
    """
    return admm_batch(
        [problem], rho, penalty_scale, tol, residual_tol, min_iterations, max_iterations
    )[0]


def admm_allocation(problem: JointOffloadProblem, **kwargs: float) -> Allocation:
    """The allocation of :func:`admm` (keyword arguments are passed on)."""
    return admm(problem, **kwargs).allocation
