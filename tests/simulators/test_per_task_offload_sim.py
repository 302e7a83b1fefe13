"""The PerTask simulator's episode draws, one episode at a time and many at once."""

from __future__ import annotations

import numpy as np
import pytest

from mec_gym.problems.joint_offload import FixedDrop, channel_gains_db, sample_positions
from mec_gym.simulators.per_task_offload import (
    PerTaskOffloadConfig,
    PerTaskSimulator,
    PoissonArrivals,
)

REJECTING = {"area_side": 100.0, "min_distance": 30.0}
"""A cell where about 28 % of the uniform draws fall too close to the BS and are redrawn."""


def drawn_one_by_one(config: PerTaskOffloadConfig, seed: int) -> tuple[np.ndarray, ...]:
    """An episode's draws written out in their order: positions by rejection (all N, then the
    rejected ones again), a shadowing draw per device, exponential gaps, then the devices."""
    rng = np.random.default_rng(seed)
    half, n = config.area_side / 2.0, config.num_devices
    positions = np.empty((n, 2))
    missing = np.arange(n)
    while missing.size:
        draw = rng.uniform(-half, half, size=(missing.size, 2))
        ok = np.hypot(draw[:, 0], draw[:, 1]) >= config.min_distance
        positions[missing[ok]] = draw[ok]
        missing = missing[~ok]
    distance = np.hypot(positions[:, 0], positions[:, 1])
    std = config.shadowing_std_db
    shadowing = rng.normal(0.0, std, n) if std > 0 else 0.0
    tasks = config.tasks_per_episode
    times = np.cumsum(rng.exponential(1.0 / (config.arrival_rate * n), tasks))
    devices = rng.integers(0, n, tasks)
    gains = channel_gains_db(config, distance, shadowing)
    return positions, distance, gains, times, devices


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        REJECTING,
        {**REJECTING, "shadowing_std_db": 0.0},
        {"num_devices": 1},
        {"num_devices": 1, "shadowing_std_db": 0.0},
    ],
)
def test_episodes_drawn_at_once_are_each_episode_drawn_alone(overrides):
    """``draw_episodes`` gives episode e exactly what ``draw_episode`` draws from ``rngs[e]``,
    and both what the draws in their order give (rejected drops redrawn, no shadowing draw
    without shadowing)."""
    config = PerTaskOffloadConfig(**{"shadowing_std_db": 4.0, **overrides})
    simulator = PerTaskSimulator(config)
    seeds = range(7)
    batch = simulator.draw_episodes([np.random.default_rng(seed) for seed in seeds])
    for e, seed in enumerate(seeds):
        alone = simulator.draw_episode(np.random.default_rng(seed))
        expected = drawn_one_by_one(config, seed)
        for name, got, one, want in zip(batch._fields, batch, alone, expected, strict=True):
            np.testing.assert_array_equal(got[e], one, err_msg=name)
            np.testing.assert_array_equal(one, want, err_msg=name)


def test_rejection_sampling_redraws_only_the_devices_too_close():
    config = PerTaskOffloadConfig(num_devices=40, **REJECTING)
    redrawn = 0
    for seed in range(20):
        positions = sample_positions(np.random.default_rng(seed), config, 40)
        first = np.random.default_rng(seed).uniform(-50.0, 50.0, (40, 2))
        kept = np.hypot(*first.T) >= config.min_distance
        np.testing.assert_array_equal(positions[kept], first[kept])
        assert np.all(np.hypot(*positions.T) >= config.min_distance)
        redrawn += int(np.count_nonzero(~kept))
    assert redrawn > 100


class RefilledDrop:
    """Uniform drops written into one array, returned at every call (allowed: the simulator
    copies what a generator returns)."""

    def __init__(self) -> None:
        self.positions = np.empty((0, 2))

    def __call__(self, config, rng, num_devices):
        if self.positions.shape != (num_devices, 2):
            self.positions = np.empty((num_devices, 2))
        self.positions[:] = sample_positions(rng, config, num_devices)
        return self.positions


class RefilledArrivals:
    """Poisson tasks written into the same two arrays at every call."""

    def __init__(self) -> None:
        self.times = self.devices = np.empty(0)

    def __call__(self, config, rng):
        times, devices = PoissonArrivals()(config, rng)
        if self.times.shape != times.shape:
            self.times, self.devices = np.empty(times.shape), np.empty(devices.shape, np.int64)
        self.times[:], self.devices[:] = times, devices
        return self.times, self.devices


def test_generators_may_refill_the_arrays_they_return():
    config = PerTaskOffloadConfig(shadowing_std_db=4.0)
    refilling = PerTaskSimulator(config, drops=RefilledDrop(), arrivals=RefilledArrivals())
    batch = refilling.draw_episodes([np.random.default_rng(seed) for seed in range(3)])
    for e in range(3):
        alone = PerTaskSimulator(config).draw_episode(np.random.default_rng(e))
        for name, got, want in zip(batch._fields, batch, alone, strict=True):
            np.testing.assert_array_equal(got[e], want, err_msg=name)


class SecondDropTooClose:
    """Valid drops, except the second one drawn (a device at 1 m from the BS)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, config, rng, num_devices):
        self.calls += 1
        positions = np.column_stack([np.full(num_devices, 100.0), np.zeros(num_devices)])
        if self.calls == 2:
            positions[0] = (1.0, 0.0)
        return positions


class SecondTasksOf:
    """Valid tasks, except those of the second episode drawn: ``times`` and ``devices``."""

    def __init__(self, times, devices) -> None:
        self.bad, self.calls = (times, devices), 0

    def __call__(self, config, rng):
        self.calls += 1
        good = np.arange(config.tasks_per_episode, dtype=float), np.zeros(2, np.int64)
        return self.bad if self.calls == 2 else good


@pytest.mark.parametrize(
    ("drops", "arrivals", "message"),
    [
        (SecondDropTooClose(), None, "from the BS"),
        (FixedDrop(np.ones((2, 2)) * 100.0), None, "a drop must place 3 devices"),
        (None, SecondTasksOf([0.0], [0]), "2 times and 2 devices"),
        (None, SecondTasksOf([1.0, 0.0], [0, 1]), "non-decreasing"),
        (None, SecondTasksOf([0.0, 1.0], [True, False]), "integers"),
        (None, SecondTasksOf([0.0, 1.0], [0, 3]), "integers in"),
    ],
)
def test_one_bad_episode_in_a_batch_is_refused(drops, arrivals, message):
    config = PerTaskOffloadConfig(num_devices=3, tasks_per_episode=2)
    rngs = [np.random.default_rng(seed) for seed in range(3)]
    simulator = PerTaskSimulator(config, drops=drops, arrivals=arrivals)
    with pytest.raises(ValueError, match=message):
        simulator.draw_episodes(rngs)


def test_devices_of_mixed_integer_types_are_accepted():
    """Each episode's devices are checked as integers on their own (int64 and uint64 devices
    together would make floats)."""
    config = PerTaskOffloadConfig(num_devices=3, tasks_per_episode=2)
    tasks = iter([(np.zeros(2), np.array([0, 1])), (np.zeros(2), np.array([2, 1], np.uint64))])
    simulator = PerTaskSimulator(config, arrivals=lambda config, rng: next(tasks))
    draw = simulator.draw_episodes([np.random.default_rng(0), np.random.default_rng(1)])
    np.testing.assert_array_equal(draw.task_device, [[0, 1], [2, 1]])
