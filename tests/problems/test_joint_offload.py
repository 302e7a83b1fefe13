"""The joint offloading problem's delay and energy formulas."""

from __future__ import annotations

import numpy as np

from mec_gym.problems.joint_offload import JointOffloadConfig, offload_delay_energy, upload_time


def test_upload_time_is_the_transmission_part_of_the_offloading_delay():
    config = JointOffloadConfig()
    frames, rate, macs, edge_frequency = 4, 2e7, 3e9, 1e10
    shares = np.array([0.1, 0.25, 1.0])
    expected = frames * config.frame_bits / (shares * rate)  # F D / (tau R), s
    np.testing.assert_array_equal(upload_time(config, frames, rate, shares), expected)
    assert upload_time(config, frames, rate, 0.25) == expected[1]
    delay, _ = offload_delay_energy(config, macs, frames, rate, shares, edge_frequency)
    np.testing.assert_array_equal(delay, expected + config.cycles_per_mac * macs / edge_frequency)
