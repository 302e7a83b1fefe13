"""Computation models: processing delay and energy of a device or a server.

Pure functions vectorised over numpy arrays. Work in MAC or cycles, speeds in MAC/s or
cycle/s (Hz), powers in W, energy in J, time in s.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "compute_time",
    "power_energy",
    "dynamic_cpu_energy",
    "cycles_from_macs",
]


def compute_time(work: np.ndarray | float, speed: np.ndarray | float) -> np.ndarray | float:
    """Time in s to process ``work`` (MAC or cycles) at ``speed`` (MAC/s or cycle/s)."""
    return np.asarray(work, dtype=float) / speed


def power_energy(power_w: np.ndarray | float, duration_s: np.ndarray | float) -> np.ndarray | float:
    """Energy in J of a component drawing ``power_w`` W for ``duration_s`` s."""
    return np.asarray(power_w, dtype=float) * duration_s


def dynamic_cpu_energy(
    cycles: np.ndarray | float, frequency_hz: np.ndarray | float, capacitance: float
) -> np.ndarray | float:
    """CMOS dynamic energy ``kappa * cycles * f^2`` in J (kappa in J*s^2/cycle^3, f in cycle/s)."""
    return capacitance * np.asarray(cycles, dtype=float) * np.asarray(frequency_hz) ** 2


def cycles_from_macs(macs: np.ndarray | float, cycles_per_mac: float) -> np.ndarray | float:
    """CPU cycles needed for ``macs`` multiply-accumulates at ``cycles_per_mac`` cycle/MAC."""
    return cycles_per_mac * np.asarray(macs, dtype=float)
