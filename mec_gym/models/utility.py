"""Task utility: accuracy rewarded, delay and energy penalised."""

from __future__ import annotations

import numpy as np

__all__ = ["task_utility"]


def task_utility(
    accuracy: np.ndarray | float,
    delay_s: np.ndarray | float,
    energy_j: np.ndarray | float,
    weight_accuracy: float,
    weight_delay: float,
    weight_energy: float,
) -> np.ndarray | float:
    """Utility ``w_A * accuracy - w_T * delay - w_E * energy`` (w_T in 1/s, w_E in 1/J)."""
    return weight_accuracy * accuracy - weight_delay * delay_s - weight_energy * energy_j
