"""Task cost: delay and energy penalised, accuracy rewarded (a utility is its negation)."""

from __future__ import annotations

import numpy as np

__all__ = ["weighted_cost"]


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
