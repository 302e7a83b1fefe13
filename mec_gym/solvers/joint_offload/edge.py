"""Theorem 2 and Algorithm 1: resource shares and frames of the devices that offload.

For a fixed set S of offloading devices and their frames F, the KKT conditions give
square-root shares with both budgets tight::

    tau_n = sqrt(b_n F_n / R_n) / sum_m sqrt(b_m F_m / R_m)
    f_n^e = F^E sqrt(C(F_n)) / sum_m sqrt(C(F_m))

and the edge cost as a function of F alone (:func:`edge_cost`)::

    Phi(F) = (sum sqrt(b F / R))^2 + (w1 eta / F^E) (sum sqrt(C(F)))^2
             + [airtime] w2 sum p F D / R - w3 sum A(F)

Algorithm 1 (:func:`search_frames`) minimises Phi over the integer product set.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mec_gym.models.summation import numpy_sum
from mec_gym.problems.joint_offload import Allocation, JointOffloadConfig, JointOffloadProblem
from mec_gym.solvers.joint_offload.local import LocalSolution, local_optimum

__all__ = [
    "edge_shares",
    "device_edge_shares",
    "transmission_weight",
    "compute_weight",
    "shares_allocation",
    "edge_cost",
    "edge_cost_batch",
    "search_frames",
    "compose_allocation",
    "compose_allocations",
    "allocation_with_shares",
    "MAX_SEARCH_POINTS",
]

MAX_SEARCH_POINTS = 50_000_000
"""Largest product set Algorithm 1 enumerates before refusing (it is exponential in |S|)."""


def transmission_weight(
    tx_weight: Any, frames: Any, rate: Any, sqrt: Callable[[Any], Any] = np.sqrt
) -> Any:
    """Theorem 2's weight of a device's time share, ``sqrt(b F / R)``: ``tx_weight`` b
    (cost/(s*bit/s)), F frames, full-band rate R (bit/s). Arrays with ``np.sqrt`` or floats
    with ``math.sqrt`` (the same floats: both round the square root correctly)."""
    return sqrt(tx_weight * frames / rate)


def compute_weight(macs: Any) -> Any:
    """Theorem 2's weight of a device's edge CPU share, ``sqrt(C(F))`` of C(F) in MAC (arrays;
    a step looks the weights of every F up in a table of them)."""
    return np.sqrt(macs)


def edge_shares(
    problem: JointOffloadProblem,
    offload: np.ndarray,
    frames: np.ndarray,
    rate: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Theorem 2: (time share tau, edge frequency f^e in cycle/s) per device, 0 if local.

    ``offload`` is a boolean mask (..., N), ``frames`` the integer frames of every device
    (..., N); leading axes are instances of ``problem``'s config with full-band rates ``rate``
    (bit/s, (..., N); default ``problem.rate``). An instance where nobody offloads gets zeros.
    """
    offload = np.asarray(offload, dtype=bool)
    frames = np.asarray(frames, dtype=np.int64)
    rate = problem.rate if rate is None else rate
    # every device's weight, zeroed for the local ones (no boolean indexing: one pass each; a
    # local device's rate is replaced, so that a zero rate gives no inf * 0)
    tx = transmission_weight(problem.tx_weight, frames, np.where(offload, rate, 1.0)) * offload
    cpu = compute_weight(problem.macs[frames]) * offload
    if tx.ndim == 1:  # one instance (an environment's step): scalar totals
        tx_total = tx.sum()
        if tx_total <= 0:  # nobody offloads
            return np.zeros(tx.shape), np.zeros(tx.shape)
        return tx / tx_total, problem.config.edge_capacity * cpu / cpu.sum()
    tx_total = tx.sum(axis=-1, keepdims=True)
    anyone = tx_total > 0
    time_share = np.divide(tx, tx_total, out=np.zeros(tx.shape), where=anyone)
    edge_cpu = problem.config.edge_capacity * cpu
    cpu_total = cpu.sum(axis=-1, keepdims=True)
    return time_share, np.divide(edge_cpu, cpu_total, out=np.zeros(tx.shape), where=anyone)


def device_edge_shares(
    config: JointOffloadConfig,
    tx_weight: Sequence[float],
    cpu_weight: Sequence[float],
    offload: Sequence[bool],
    frames: Sequence[int],
    rate: Sequence[float],
) -> tuple[list[float], list[float]]:
    """:func:`edge_shares` of one instance given as Python values per device, without numpy
    (an environment's step): the same time shares and edge frequencies (cycle/s), bit for bit.
    ``tx_weight`` is the instance's b_n, ``cpu_weight`` the :func:`compute_weight` of its C(F)
    table (index F), ``rate`` the full-band rates (bit/s). A zero rate of an offloading device
    raises ``ZeroDivisionError`` (numpy gives inf and NaN shares)."""
    tx = [
        transmission_weight(b, f, r, math.sqrt) if x else 0.0
        for x, f, r, b in zip(offload, frames, rate, tx_weight, strict=True)
    ]
    tx_total = numpy_sum(tx)
    if tx_total <= 0:  # nobody offloads
        return [0.0] * len(tx), [0.0] * len(tx)
    cpu = [cpu_weight[f] if x else 0.0 for x, f in zip(offload, frames, strict=True)]
    cpu_total = numpy_sum(cpu)
    capacity = config.edge_capacity
    # the normalisations of edge_shares, per device
    return [w / tx_total for w in tx], [capacity * w / cpu_total for w in cpu]


def edge_cost_batch(
    problem: JointOffloadProblem, devices: np.ndarray, frames: np.ndarray
) -> np.ndarray:
    """Phi for many frame vectors at once: ``frames`` (M, |S|) for the devices ``devices``.

    Returns the M optimal edge costs (sum of U_n over S with Theorem 2's shares).
    """
    c = problem.config
    devices = np.asarray(devices, dtype=np.int64)
    frames = np.asarray(frames, dtype=np.int64)
    per_frame_tx = problem.tx_weight[devices] / problem.rate[devices]
    tx = np.sqrt(per_frame_tx * frames).sum(axis=-1) ** 2
    cpu = c.delay_weight * c.cycles_per_mac / c.edge_capacity
    compute = cpu * compute_weight(problem.macs[frames]).sum(axis=-1) ** 2
    cost = tx + compute - c.accuracy_weight * problem.accuracy[frames].sum(axis=-1)
    if c.tx_energy == "airtime":
        airtime = c.transmit_power * c.frame_bits / problem.rate[devices]
        cost = cost + c.energy_weight * (airtime * frames).sum(axis=-1)
    return cost


def edge_cost(problem: JointOffloadProblem, devices: np.ndarray, frames: np.ndarray) -> float:
    """Phi(F): the optimal total cost of the offloading ``devices`` with ``frames`` (|S|,)."""
    if len(devices) == 0:
        return 0.0
    return float(edge_cost_batch(problem, devices, np.asarray(frames)[None, :])[0])


def search_frames(
    problem: JointOffloadProblem, devices: np.ndarray, chunk: int = 1_000_000
) -> np.ndarray:
    """Algorithm 1: the integer frames in [F_min, F_max]^|S| minimising Phi (exhaustive).

    Globally optimal for the offloading set ``devices``; exponential in its size, so it
    raises ``ValueError`` above ``MAX_SEARCH_POINTS`` points.
    """
    devices = np.asarray(devices, dtype=np.int64)
    frame_range = problem.frame_range
    size = len(frame_range) ** len(devices)
    if len(devices) == 0:
        return np.zeros(0, dtype=np.int64)
    if size > MAX_SEARCH_POINTS:
        raise ValueError(
            f"Algorithm 1 would enumerate {size:.3g} frame vectors for {len(devices)} edge devices "
            f"(limit {MAX_SEARCH_POINTS:.3g}); use the GP solver or the bound instead"
        )
    best_cost, best = np.inf, None
    for start in range(0, size, chunk):
        flat = np.arange(start, min(start + chunk, size))
        digits = np.stack(np.unravel_index(flat, (len(frame_range),) * len(devices)), axis=1)
        candidates = frame_range[digits]
        costs = edge_cost_batch(problem, devices, candidates)
        i = int(np.argmin(costs))
        if costs[i] < best_cost:
            best_cost, best = float(costs[i]), candidates[i]
    return np.asarray(best, dtype=np.int64)


def compose_allocation(
    problem: JointOffloadProblem, offload: np.ndarray, edge_frames: np.ndarray | None = None
) -> Allocation:
    """The allocation for an offloading decision: Theorem 1 for the local devices, Theorem 2's
    shares for the offloading ones with ``edge_frames`` (frames of every device, (N,); only the
    offloading entries are used). Without ``edge_frames`` the offloading devices use F_min.
    """
    offload = np.asarray(offload, dtype=bool)
    if offload.shape != (problem.num_devices,):
        raise ValueError(f"offload must have shape ({problem.num_devices},), got {offload.shape}")
    local = local_optimum(problem)
    frames = local.frames.copy()
    if edge_frames is None:
        frames[offload] = problem.config.min_frames
    else:
        frames[offload] = np.asarray(edge_frames, dtype=np.int64)[offload]
    return allocation_with_shares(problem, offload, frames, local.frequency)


def compose_allocations(
    problem: JointOffloadProblem,
    offload: np.ndarray,
    edge_frames: np.ndarray,
    rate: np.ndarray,
    local: LocalSolution | None = None,
) -> list[Allocation]:
    """:func:`compose_allocation` for a batch of instances of ``problem``'s config and N with
    full-band rates ``rate`` (bit/s, (B, N)): decisions ``offload`` and frames ``edge_frames``
    (B, N), Theorem 1 (the same for every instance; ``local`` if already computed) for the
    local devices."""
    offload = np.asarray(offload, dtype=bool)
    local = local_optimum(problem) if local is None else local
    frames = np.where(offload, edge_frames, local.frames)
    time_share, edge_frequency = edge_shares(problem, offload, frames, rate)
    local_frequency = np.where(offload, 0.0, local.frequency)
    return [
        Allocation(*row)
        for row in zip(offload, frames, time_share, edge_frequency, local_frequency, strict=True)
    ]


def allocation_with_shares(
    problem: JointOffloadProblem,
    offload: np.ndarray,
    frames: np.ndarray,
    local_frequency: np.ndarray | float,
) -> Allocation:
    """The allocation of given decisions and frames (N,): Theorem 2's shares for the offloading
    devices, ``local_frequency`` (cycle/s, e.g. Theorem 1's f*) for the local ones."""
    time_share, edge_frequency = edge_shares(problem, offload, frames)
    return shares_allocation(offload, frames, time_share, edge_frequency, local_frequency)


def shares_allocation(
    offload: np.ndarray,
    frames: np.ndarray,
    time_share: np.ndarray,
    edge_frequency: np.ndarray,
    local_frequency: np.ndarray | float,
) -> Allocation:
    """The allocation of decisions and the offloading devices' shares: ``local_frequency``
    (cycle/s) for the local devices, 0 for the others."""
    return Allocation(
        offload=offload,
        frames=frames,
        time_share=time_share,
        edge_frequency=edge_frequency,
        local_frequency=np.where(offload, 0.0, local_frequency),
    )
