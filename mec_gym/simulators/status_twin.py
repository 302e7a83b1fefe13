"""Digital twin #2: the edge's estimate of each device's inference progress (part of the simulator).

The edge keeps, per device, the time at which the head-of-line task started — known exactly
from the messages it receives (task generated, upload started/ended, local completion) — and
advances it block by block with nominal block times ``c_j / f_d``. With compute-time noise the
estimate drifts within a task; it is resynchronised at every message (here: every task start).
No status messages are needed, unlike polling.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

__all__ = ["DeviceStatusTwin"]


class DeviceStatusTwin:
    """Per-device estimate of the head-of-line task's progress from nominal block times.

    ``nominal_reach_s[l]`` is the nominal compute time from a task's start to boundary ``l``
    (s). Times are in s.
    """

    def __init__(self, nominal_reach_s: Sequence[float], num_devices: int) -> None:
        self.nominal_reach_s = list(nominal_reach_s)
        self.synced_start = [float("nan")] * num_devices

    def task_started(self, device: int, time_s: float) -> None:
        """Resynchronise on a message that tells when the device's current task started."""
        self.synced_start[device] = time_s

    def estimated_reach_time(self, device: int, boundary: int) -> float:
        """Estimated time (s) at which the device's current task reaches ``boundary``."""
        return self.synced_start[device] + self.nominal_reach_s[boundary]

    def estimated_boundary(self, device: int, time_s: float) -> int:
        """Last boundary the device's current task is estimated to have passed at ``time_s``."""
        elapsed = time_s - self.synced_start[device]
        return max(0, bisect_right(self.nominal_reach_s, elapsed) - 1)
