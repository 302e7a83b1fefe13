"""Config values at the edges: refused naming the field, or accepted and run."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pytest

import mec_gym  # noqa: F401  (registers the environments)
from mec_gym.config import MAGNITUDE_RANGE, SystemConfig
from mec_gym.simulators.joint_offload import reflect_into

REFUSED = [
    ("BandwidthSplit-v0", {"device_speed_mps": 1e307, "period_s": 100.0}, "device_speed_mps"),
    ("BandwidthSplit-v0", {"mean_available_samples": 1e19}, "mean_available_samples"),
    ("BandwidthSplit-v0", {"period_s": 10**400}, "period_s"),
    ("BandwidthSplit-v0", {"bandwidth_hz": 1e308}, "bandwidth_hz"),
    ("BandwidthSplitMulti-v0", {"map_b": 0.0, "map_g": 103.0, "min_model_size": 1e-3}, "map_c"),
    ("BandwidthSplit-v0", {"map_b": 0.0, "map_g": 100.0, "min_model_size": 1e-5}, "map_c"),
    ("JointOffload-v1", {"device_speed": 1e307, "round_duration": 100.0}, "device_speed"),
    ("PerTaskOffload-v1", {"arrival_rate": 1e-308}, "arrival_rate"),
    ("TwoTimescale-v0", {"mu_speed_mps": 1e307, "slot_s": 1e3}, "mu_speed_mps"),
    ("TwoTimescale-v0", {"bs_capacity": 1e-300}, "bs_capacity"),
    ("TwoTimescale-v0", {"accuracy_penalty": 1e308}, "accuracy_penalty"),
    ("TwoTimescale-v0", {"num_mus": 10**400}, "num_mus"),
]
"""(ID, overrides, a field the error names): values whose products overflowed an episode."""


@pytest.mark.parametrize(("env_id", "overrides", "field"), REFUSED)
def test_magnitudes_that_would_overflow_an_episode_are_refused_naming_the_field(
    env_id, overrides, field
):
    with pytest.raises(ValueError, match=rf"\.{field}\b") as error:
        gym.make(env_id, **overrides)
    assert "\n" not in str(error.value)


@dataclass(frozen=True)
class OneNumber(SystemConfig):
    value: float = 1.0

    def validate(self) -> None:
        self._require_number("value")


def test_the_magnitude_range_is_inclusive_and_zero_stays_allowed():
    smallest, largest = MAGNITUDE_RANGE
    for value in (0.0, smallest, largest, -smallest, -largest):
        assert OneNumber(value).value == value
    for value in (smallest / 2, -smallest / 2, largest * 2, -largest * 2):
        with pytest.raises(ValueError, match=r"^OneNumber\.value must be a number in .*, 0 or of"):
            OneNumber(value)
    with pytest.raises(ValueError, match=r"^OneNumber\.value must be a number in \[-inf, inf\]"):
        OneNumber(10**400)
    with pytest.raises(ValueError, match=r"arrival_rate must be a number in \(0, inf\], of magn"):
        gym.make("PerTaskOffload-v1", arrival_rate=1e-308)


@pytest.mark.parametrize("env_id", ["BandwidthSplit-v0", "BandwidthSplitMulti-v0"])
def test_a_fixed_distance_runs_in_the_scalar_and_the_vector_env(env_id):
    kwargs = {"min_distance_m": 100.0, "max_distance_m": 100.0, "periods_per_episode": 5}
    env = gym.make(env_id, **kwargs)
    observation, _ = env.reset(seed=0)
    for _ in range(5):
        observation, reward, *_ = env.step(env.action_space.sample())
        assert np.isfinite(observation).all() and np.isfinite(reward)
    np.testing.assert_array_equal(env.unwrapped.simulator.state.draws.distance_m, 100.0)
    vector = gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point", **kwargs)
    observations, _ = vector.reset(seed=0)
    observations, rewards, *_ = vector.step(vector.action_space.sample())
    assert np.isfinite(observations).all() and np.isfinite(rewards).all()


def test_reflecting_into_a_point_gives_the_point():
    np.testing.assert_array_equal(reflect_into(np.array([-3.0, 100.0, 1e9]), 5.0, 5.0), 5.0)
    values = np.array([-7.5, 0.3, 12.25])
    np.testing.assert_allclose(reflect_into(values, -1.0, 1.0), [0.5, 0.3, 0.25], rtol=1e-15)
