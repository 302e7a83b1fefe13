"""Task cost and utility: delay and energy penalised, accuracy rewarded (one formula)."""

from __future__ import annotations

import numpy as np

__all__ = ["weighted_cost", "task_utility"]


def weighted_cost(
    delay_s: np.ndarray | float,
    energy_j: np.ndarray | float,
    accuracy: np.ndarray | float,
    weight_delay: float,
    weight_energy: float,
    weight_accuracy: float,
) -> np.ndarray | float:
    """Cost ``w_T * delay + w_E * energy - w_A * accuracy`` (w_T in 1/s, w_E in 1/J)."""
    return weight_delay * delay_s + weight_energy * energy_j - weight_accuracy * accuracy


def task_utility(
    accuracy: np.ndarray | float,
    delay_s: np.ndarray | float,
    energy_j: np.ndarray | float,
    weight_accuracy: float,
    weight_delay: float,
    weight_energy: float,
) -> np.ndarray | float:
    """Utility ``w_A * accuracy - w_T * delay - w_E * energy``, the negated cost."""
    return -weighted_cost(delay_s, energy_j, accuracy, weight_delay, weight_energy, weight_accuracy)
