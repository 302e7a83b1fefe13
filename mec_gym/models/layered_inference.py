"""Timing of one task of a DNN run block by block on a device, optionally finished at the edge.

Shared by the multi-step offloading environment and its digital twins, so that a replayed
decision is computed by exactly the code that produced the realised outcome. Times in s.
"""

from __future__ import annotations

import numpy as np

__all__ = ["candidate_boundaries", "offload_upload_start"]


def candidate_boundaries(
    output_elements: np.ndarray, device_blocks: int, device_speed: float, edge_speed: float
) -> np.ndarray:
    """Boundaries ``l`` in ``0..device_blocks`` that can be optimal offloading points.

    With ``edge_speed >= device_speed`` and an accuracy after offloading that does not depend on
    ``l``, offloading at ``l`` can only be optimal if its output is smaller than every earlier one:
    ``o_l < min_{j<l} o_j`` (Hu et al., necessary condition). Otherwise every boundary is kept.
    """
    sizes = np.asarray(output_elements[: device_blocks + 1], dtype=float)
    if edge_speed < device_speed:
        return np.arange(device_blocks + 1)
    earlier_min = np.minimum.accumulate(np.concatenate([[np.inf], sizes[:-1]]))
    return np.flatnonzero(sizes < earlier_min)


def offload_upload_start(reached_s: float, decided_s: float, local_finish_s: float) -> float | None:
    """When a device told at ``decided_s`` to upload the output of a boundary starts uploading.

    ``reached_s`` is when it actually reaches the boundary. If it has not yet, it continues
    until it does; if it is already past it (the controller's status estimate was late), it
    stops the current block and uploads the stored boundary output at once, the compute since
    then being wasted. Returns None if the task had already finished locally by ``decided_s``.
    """
    if decided_s >= local_finish_s:
        return None
    return reached_s if reached_s >= decided_s else decided_s
