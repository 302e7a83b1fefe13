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
   [F_min, F_max] at once (:func:`local_step`); the device keeps the best F and the cheaper of
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

*Batches* (:func:`admm_batch`): B instances of one config and one N run at once, every array
with a leading batch axis; an instance that meets its stop rule leaves the batch (its result is
final), so each result equals the one of the instance alone, and :func:`admm` is the batch of one.
The work is the local step's cubics, done without changing their results (the shares, decisions
and costs are bit for bit those of solving one instance's full (2, N, number of F) array):
a_phi does not depend on the device, so the CPU share's cubic is solved once per distinct
``mu - rho phi_hat`` of an instance (every local device has the same one, the common price);
the cubics go in flat chunks of a few instances (:data:`CHUNK_ELEMENTS`) that stay in cache;
the cube root of Newton's start is taken only where the square-root bound is not clearly below
it. Measured at N = 25 on the 100 drops of ``eval/bench_solvers.py``: one call takes about an
eighth of the CPU time of 100 calls of :func:`admm` (the cubics are most of it).

*Sensitivity to a fixed rho* (``rho=...``): the penalty then prices the shares of every device
alike whatever the budgets' prices; a large rho keeps devices local, a very small one lets too
many offload and makes zero global shares likely.
"""

from __future__ import annotations

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
    "CHUNK_ELEMENTS",
]

NEWTON_STEPS = 6
"""Newton steps of :func:`share_cubic_root` (enough for machine precision for every cubic)."""

CHUNK_ELEMENTS = 8_192
"""Elements of a chunk of ADMM's local step (a few instances; its temporaries stay in cache)."""


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
    shape = np.broadcast(a, linear, rho).shape
    if np.shape(linear) != shape:  # a full-size operand: loops over broadcast axes are slow
        full_linear = np.empty(shape)
        np.copyto(full_linear, linear)
        linear = full_linear
    linear = np.asarray(linear, dtype=float)
    t = np.empty(shape)
    with np.errstate(divide="ignore"):
        np.sqrt(a / np.maximum(linear, 0.0), out=t)  # inf where linear <= 0
        # the cube root (the costly part) only where the square root is not clearly below it:
        # x > q^3 (1 + 1e-12) implies cbrt(x) > q whatever the rounding
        scaled = np.divide(a, rho, out=np.empty(shape))
        cube = t * t
        cube *= t
        cube *= 1.0 + 1e-12
        need = ~(scaled > cube)
    np.cbrt(scaled, out=scaled, where=need)
    np.minimum(scaled, t, out=t, where=need)
    t += np.maximum(-linear, 0.0) / rho
    twice_linear = 2.0 * linear
    rho_t, step = np.empty(shape), cube  # work arrays, in place (no temporaries)
    for _ in range(NEWTON_STEPS):  # t -= (t t (rho t + linear) - a) / (t (3 rho t + 2 linear))
        np.multiply(rho, t, out=rho_t)
        np.multiply(t, t, out=step)
        step *= np.add(rho_t, linear, out=scaled)
        step -= a
        rho_t *= 3.0
        rho_t += twice_linear
        rho_t *= t
        step /= rho_t
        t -= step
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
    a: np.ndarray, linear: np.ndarray, rho: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(t, a/t + t (linear + rho/2 t)) with t the optimal share (:func:`share_cubic_root`):
    one share's part of the local step's edge value, broadcasting."""
    t = share_cubic_root(a, linear, rho)
    return t, a / t + t * (linear + 0.5 * rho * t)


def local_step(
    tx: np.ndarray, cpu: np.ndarray, constant: np.ndarray, linear: np.ndarray, penalty: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ADMM's local step, every instance and device: (its best F as an index into the frames
    (L, N), its edge value there (L, N), its optimal shares there (2, L, N)). The edge value
    omits the terms ``-lambda t_hat + rho/2 t_hat^2`` common to local and edge.

    ``tx`` (L, N, nF) is a_tau, ``cpu`` (nF,) is a_phi (the same for every device),
    ``constant`` (L, N, nF) is c, ``linear`` (2, L, N) is ``lambda - rho t_hat`` and ``penalty``
    (2, L, 1) is rho, per budget. The CPU share's cubic depends on the device through its
    ``linear`` only, so a batch larger than :data:`CHUNK_ELEMENTS` solves it once per distinct
    value of an instance (the local devices share one), in chunks of instances of about
    :data:`CHUNK_ELEMENTS` elements (cache-sized temporaries), every cubic of a chunk in one
    flat call; a smaller one solves the whole (2, L, N, nF) array in one call (fewest calls).
    Both give the same bits.
    """
    size, n, frames = tx.shape
    if 2 * tx.size <= CHUNK_ELEMENTS:  # one chunk: the (2, L, N, nF) array in one call
        a = np.empty((2, *tx.shape))
        a[0], a[1] = tx, cpu
        roots, values = share_values(a, linear[..., None], penalty[..., None])
        edge_values = np.add(constant, values[0] + values[1], out=values[0])
        best = edge_values.argmin(axis=-1)
        pick = np.arange(0, tx.size, frames).reshape(size, n) + best
        return best, edge_values.take(pick), roots.reshape(2, -1).take(pick, axis=1)
    # the CPU share: one cubic per distinct (instance, linear), numbered in instance order
    order = linear[1].argsort(axis=-1)
    order += np.arange(0, size * n, n)[:, None]  # flat (instance, device) in sorted order
    ordered = linear[1].take(order)
    first = np.empty(order.shape, dtype=bool)  # the first device of each distinct value
    first[:, 0] = True
    np.not_equal(ordered[:, 1:], ordered[:, :-1], out=first[:, 1:])
    counts = first.sum(axis=-1)  # distinct values per instance
    row_first = np.zeros(size + 1, dtype=np.int64)  # instance -> its first number
    counts.cumsum(out=row_first[1:])
    group = np.empty(size * n, dtype=np.int64)  # (instance, device) -> its distinct value
    group[order.reshape(-1)] = first.reshape(-1).cumsum() - 1
    group = group.reshape(size, n)
    unique_linear = ordered[first]
    unique_rho = penalty[1, :, 0].repeat(counts)
    best = np.empty((size, n), dtype=np.int64)
    value, shares = np.empty((size, n)), np.empty((2, size, n))
    chunk = max(1, CHUNK_ELEMENTS // (n * frames))
    for start in range(0, size, chunk):
        stop = min(start + chunk, size)
        low, high = row_first[start], row_first[stop]
        # the chunk's cubics in one flat array: its time shares, then its distinct CPU shares
        split = (stop - start) * n * frames
        roots, values = share_values(
            np.concatenate([tx[start:stop].reshape(-1), cpu[None].repeat(high - low, 0).ravel()]),
            np.concatenate(
                [linear[0, start:stop].repeat(frames), unique_linear[low:high].repeat(frames)]
            ),
            np.concatenate(
                [penalty[0, start:stop, 0].repeat(n * frames), unique_rho[low:high].repeat(frames)]
            ),
        )
        in_chunk = group[start:stop] - low
        edge_values = values[:split].reshape(stop - start, n, frames)
        edge_values += values[split:].reshape(-1, frames)[in_chunk]
        edge_values = np.add(constant[start:stop], edge_values, out=edge_values)
        chosen = edge_values.argmin(axis=-1)
        pick = np.arange(0, split, frames).reshape(chosen.shape) + chosen
        best[start:stop], value[start:stop] = chosen, edge_values.take(pick)
        shares[0, start:stop] = roots.take(pick)
        shares[1, start:stop] = roots[split:].reshape(-1, frames)[in_chunk, chosen]
    return best, value, shares


def decision_cost(
    offload: np.ndarray,
    tx: np.ndarray,
    cpu: np.ndarray,
    constant: np.ndarray,
    local_cost: np.ndarray,
) -> np.ndarray:
    """Total cost (...,) of offloading decisions (..., N) with Theorem 2's shares, from the
    terms at every device's frames (a_tau ``tx``, a_phi ``cpu``, c ``constant``, (..., N)) and
    Theorem 1's costs ``local_cost`` of the local devices::

        (sum sqrt a_tau)^2 + (sum sqrt a_phi)^2 + sum c   (offloading devices)
        + sum U^L*                                        (local devices)
    """
    return (
        np.where(offload, np.sqrt(tx), 0.0).sum(axis=-1) ** 2
        + np.where(offload, np.sqrt(cpu), 0.0).sum(axis=-1) ** 2
        + np.where(offload, constant, 0.0).sum(axis=-1)
        + np.where(offload, 0.0, local_cost).sum(axis=-1)
    )


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

    Every array has a leading batch axis; an instance that meets its stop rule (see
    :func:`admm`) is dropped from the batch, so each result is the one :func:`admm` gives on
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
    frame_range = terms.frames
    local = local_optimum(problem)  # Theorem 1 does not depend on the channel
    local_cost = local.cost  # (N,)
    offload, global_shares = admm_start(all_rates, terms, local_cost)
    # state of the instances still running (axis "L"), shares first: (2, L, N[, number of F])
    live = np.arange(size)
    tx, constant = terms.tx, np.ascontiguousarray(terms.constant)  # (L, N, nF)
    cpu = terms.cpu[(0,) * (terms.cpu.ndim - 1)]  # a_phi, the same for every device: (nF,)
    at_min = np.stack([tx[..., 0], np.broadcast_to(cpu[0], tx.shape[:-1])])  # a at F_min
    # a lone device's price (its own a at F_min): the penalty scale while nobody offloads
    price_floor = np.median(at_min, axis=-1)
    price = np.where(offload, np.sqrt(at_min), 0.0).sum(axis=-1) ** 2  # (sum sqrt a)^2
    multipliers = np.repeat(price[..., None], n, axis=-1)  # lambda, mu
    penalty = np.full((2, size, 1), float(rho)) if rho is not None else None
    row_start = np.arange(size * n).reshape(size, n) * frame_range.size  # (instance, device, F_min)
    start_frames = np.where(offload, frame_range[0], 0)
    best_cost = decision_cost(offload, tx[..., 0], cpu[0], constant[..., 0], local_cost)
    best_offload, best_frames = offload.copy(), start_frames.copy()
    previous_frames, previous_raw = start_frames, np.full(size, np.nan)  # no iterate yet
    trace = np.full((max_iterations, size), np.nan)
    raw_trace = np.full((max_iterations, size), np.nan)
    iterations = np.zeros(size, dtype=np.int64)
    converged = np.zeros(size, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero global share: inf raw cost
        for k in range(max_iterations):
            if rho is None:
                penalty = penalty_scale * np.maximum(price, price_floor)[..., None]
            # 1. local step, every device and every F at once
            best, edge_value, roots = local_step(
                tx, cpu, constant, multipliers - penalty * global_shares, penalty
            )
            pick = row_start[: best.shape[0]] + best  # flat index of (instance, device, its F)
            gain = local_cost - edge_value  # > 0: the device prefers the edge
            wants_switch = (gain > 0) != offload
            switching = wants_switch.any(axis=-1)
            if switching.any():  # the BS switches the device with the largest gain
                rows = np.flatnonzero(switching)
                switch = np.argmax(np.where(wants_switch[rows], np.abs(gain[rows]), -1.0), axis=-1)
                offload[rows, switch] = ~offload[rows, switch]
            shares = np.where(offload, roots, 0.0)
            # 2. global step, 3. multipliers; local devices take the common price
            global_shares = project_budget(np.where(offload, shares + multipliers / penalty, 0.0))
            multipliers += penalty * (shares - global_shares)
            priced = offload & (global_shares.min(axis=0) > 0)
            priced_max = np.where(priced, multipliers, -np.inf).max(axis=-1)
            idle = ~offload.any(axis=-1)
            price = np.where(priced.any(axis=-1), priced_max, np.where(idle, 0.0, price))
            multipliers = np.where(offload, multipliers, price[..., None])
            # cost of the iterate: with the global copies, and with Theorem 2's shares
            frames = np.where(offload, frame_range[best], 0)
            picked = tx.take(pick), cpu[best], constant.take(pick)  # a_tau, a_phi, c at F
            edge_cost = picked[2] + (picked[0] / global_shares[0] + picked[1] / global_shares[1])
            raw = np.where(offload, edge_cost, local_cost).sum(axis=-1)
            cost = decision_cost(offload, *picked, local_cost)
            raw_trace[k, live], trace[k, live] = raw, cost
            better = cost < best_cost[live]
            if better.any():
                rows = live[better]
                best_cost[rows], best_offload[rows] = cost[better], offload[better]
                best_frames[rows] = frames[better]
            # the stop rule, tested where no device wants to switch (from the second iteration)
            settled = ~switching if k + 1 >= max(min_iterations, 2) else np.zeros_like(switching)
            if settled.any():
                gap = shares - global_shares
                # ||(tau, phi) - (tau_hat, phi_hat)|| and ||(tau_hat, phi_hat)|| per instance
                residual, scale = np.sqrt((np.stack([gap, global_shares]) ** 2).sum(-1).sum(1))
                settled &= (
                    (frames == previous_frames).all(axis=-1)
                    & (residual <= residual_tol * scale)
                    & (np.abs(raw - previous_raw) <= tol * np.abs(previous_raw))
                )
            previous_frames, previous_raw = frames, raw
            done = settled | (k + 1 == max_iterations)
            if done.any():
                iterations[live[done]], converged[live[done]] = k + 1, settled[done]
                keep = ~done
                if not keep.any():
                    break
                live, offload = live[keep], offload[keep]
                tx, constant = tx[keep], constant[keep]
                price_floor, price = price_floor[:, keep], price[:, keep]
                multipliers, global_shares = multipliers[:, keep], global_shares[:, keep]
                previous_frames, previous_raw = previous_frames[keep], previous_raw[keep]
                if rho is not None:
                    penalty = penalty[:, keep]
    allocations = compose_allocations(problem, best_offload, best_frames, all_rates, local)
    costs = total_costs(problem, allocations, all_rates)
    return [
        AdmmResult(
            allocation=allocation,
            cost=float(cost),
            raw_cost=float(raw_trace[count - 1, i]),
            cost_trace=trace[:count, i].copy(),
            raw_trace=raw_trace[:count, i].copy(),
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
