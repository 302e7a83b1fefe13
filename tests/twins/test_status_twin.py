"""DT #2: device status estimation."""

from __future__ import annotations

import pytest

from mec_gym.simulators.status_twin import DeviceStatusTwin


def test_estimates_follow_nominal_block_times_from_the_last_sync():
    twin = DeviceStatusTwin([0.0, 0.1, 0.3, 0.6], num_devices=2)
    twin.task_started(1, 5.0)
    assert twin.estimated_reach_time(1, 2) == pytest.approx(5.3)
    assert twin.estimated_boundary(1, 5.05) == 0
    assert twin.estimated_boundary(1, 5.35) == 2
    twin.task_started(1, 7.0)  # resync on the next message
    assert twin.estimated_reach_time(1, 3) == pytest.approx(7.6)
