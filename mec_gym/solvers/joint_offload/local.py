"""Theorem 1: the frames and CPU frequency of a device that computes locally.

A local device's cost ``K*C(F) - w3*A(F)`` with ``K = w1*eta/f + w2*kappa*c*f^2`` (per MAC,
``c = eta`` for the "cycles" energy model, 1 for "macs") separates: the frequency minimising
``K`` is ``f* = min{(w1*eta / (2*w2*kappa*c))^(1/3), f^max}`` whatever F is, and F then minimises
a convex function of one integer. Devices are independent, so everything is vectorised.

The decision rule uses the energy model ``config.local_decision_energy``; the cost it reports is
the one charged (``local_energy``, through the shared cost functions of the problem module).
The two agree by default ("charged"), and then Theorem 1 is the optimum of the charged cost; the
``pan2023`` preset decides with "cycles" and charges "macs", as the paper's Table I does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mec_gym.problems.joint_offload import (
    JointOffloadConfig,
    JointOffloadProblem,
    local_delay_energy,
    weighted_cost,
)

__all__ = [
    "LocalSolution",
    "optimal_local_frequency",
    "local_cost_per_mac",
    "interior_frames",
    "optimal_local",
    "local_optimum",
]


@dataclass(frozen=True)
class LocalSolution:
    """Theorem 1's decision per device (arrays of shape (n,))."""

    frames: np.ndarray
    """F*, integer frames."""
    frequency: np.ndarray
    """f*, CPU frequency, cycle/s."""
    cost: np.ndarray
    """U^L*, the device's local cost (charged energy) under that decision."""


def optimal_local_frequency(
    config: JointOffloadConfig, max_frequency: np.ndarray | float
) -> np.ndarray:
    """f*, the frequency (cycle/s) minimising the decision rule's cost per MAC, capped at
    ``max_frequency``. With no energy price the cost falls with f, so f* = f^max.
    """
    cap = np.asarray(max_frequency, dtype=float)
    energy_price = (
        2.0 * config.energy_weight * config.capacitance * config.local_decision_cycles_per_mac
    )
    if energy_price == 0:  # no energy weight (or one so small the price underflows)
        return cap.copy()
    interior = (config.delay_weight * config.cycles_per_mac / energy_price) ** (1.0 / 3.0)
    return np.minimum(interior, cap)


def local_cost_per_mac(config: JointOffloadConfig, frequency: np.ndarray) -> np.ndarray:
    """K(f) = w1*eta/f + w2*kappa*c*f^2: the delay-plus-energy cost of one MAC at ``frequency``
    (cycle/s) that the decision rule minimises (c of ``local_decision_energy``)."""
    f = np.asarray(frequency, dtype=float)
    delay, energy = local_delay_energy(config, 1.0, f, config.local_decision_cycles_per_mac)
    return weighted_cost(config, delay, energy, 0.0)


def interior_frames(
    config: JointOffloadConfig, alpha: float, cost_per_mac: np.ndarray
) -> np.ndarray:
    """Stationary point F~ = ln(w3*a2*a3 / (alpha*K)) / a3 of ``K*(alpha*F + beta) - w3*A(F)``.

    Valid for the exponential accuracy form; -inf where the accuracy gain never pays for the
    compute (then F = F_min is optimal).
    """
    _, a2, a3 = config.accuracy_constants
    with np.errstate(divide="ignore"):
        return np.log(config.accuracy_weight * a2 * a3 / (alpha * np.asarray(cost_per_mac))) / a3


def optimal_local(
    config: JointOffloadConfig,
    max_frequency: np.ndarray | float,
    macs: np.ndarray,
    accuracy: np.ndarray,
    linear_complexity: tuple[float, float] | None = None,
) -> LocalSolution:
    """Theorem 1 for devices with CPU caps ``max_frequency`` (cycle/s, shape (n,)).

    ``macs`` and ``accuracy`` are the tables C(F), A(F) indexed by F = 0..F_max. With
    ``linear_complexity=(alpha, beta)`` (C exactly linear) and the exponential accuracy form
    the closed form is used: F~ clipped to [F_min, F_max], then the better of floor and ceil.
    Otherwise every F in [F_min, F_max] is enumerated (exact for any C and A). The reported
    cost is the charged one (:func:`local_delay_energy`, :func:`weighted_cost`).
    """
    cap = np.atleast_1d(np.asarray(max_frequency, dtype=float))
    frequency = optimal_local_frequency(config, cap)
    k = local_cost_per_mac(config, frequency)
    f_min, f_max = config.min_frames, config.max_frames
    w3 = config.accuracy_weight
    if linear_complexity is not None and config.accuracy_form == "exponential":
        stationary = np.clip(interior_frames(config, linear_complexity[0], k), f_min, f_max)
        candidates = np.stack([np.floor(stationary), np.ceil(stationary)]).astype(np.int64)
        costs = k * macs[candidates] - w3 * accuracy[candidates]
        frames = candidates[np.argmin(costs, axis=0), np.arange(cap.size)]
    else:
        frame_range = np.arange(f_min, f_max + 1)
        costs = k[:, None] * macs[frame_range][None, :] - w3 * accuracy[frame_range][None, :]
        frames = frame_range[np.argmin(costs, axis=1)]
    delay, energy = local_delay_energy(config, macs[frames], frequency)
    cost = weighted_cost(config, delay, energy, accuracy[frames])
    return LocalSolution(frames=frames, frequency=frequency, cost=cost)


def local_optimum(problem: JointOffloadProblem) -> LocalSolution:
    """Theorem 1 for every device of ``problem`` (all share the config's f^max)."""
    config = problem.config
    linear = problem.linear_complexity if config.complexity == "linear" else None
    return optimal_local(
        config,
        np.full(problem.num_devices, config.device_max_frequency),
        problem.macs,
        problem.accuracy,
        linear,
    )
