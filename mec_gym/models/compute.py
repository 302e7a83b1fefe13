"""Computation models: processing time of a device or a server.

Work in MAC or cycles, speeds in MAC/s or cycle/s (Hz), time in s.
"""

from __future__ import annotations

import numpy as np

__all__ = ["compute_time"]


def compute_time(work: np.ndarray | float, speed: np.ndarray | float) -> np.ndarray | float:
    """Time in s to process ``work`` (MAC or cycles) at ``speed`` (MAC/s or cycle/s)."""
    return np.asarray(work, dtype=float) / speed
