"""Soak tests (slow): 10^6 steps per ID with random actions, no exception, finite rewards and
observations, and memory flat (the resident set after the first tenth of the steps grows by less
than ``MEMORY_SLACK_MB`` over the rest).

    python -m pytest -m slow tests/test_soak.py
"""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import mec_gym  # noqa: F401
from mec_gym.registration import ENVS

SOAK_STEPS = {env_id: 1_000_000 for env_id in ENVS} | {"TwoTimescaleFrame-v0": 20_000}
"""Steps per ID: 10^6, except the frame level whose step plays 50 slots (10^6 slots)."""
MEMORY_SLACK_MB = 50.0


def resident_mb() -> float:
    """This process's resident set size, MB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


def soak(env_id: str, steps: int) -> float:
    """Play ``steps`` random steps of ``env_id`` (resets included); the resident set's growth
    after the first tenth of them, MB."""
    env = gym.make(env_id).unwrapped  # the env itself: no TimeLimit or checker wrappers
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(1024)]
    env.reset(seed=0)
    baseline = math.nan
    for step in range(steps):
        if step == steps // 10:
            baseline = resident_mb()
        observation, reward, terminated, truncated, _ = env.step(actions[step % len(actions)])
        if not math.isfinite(float(reward)) or not np.isfinite(observation).all():
            raise AssertionError(f"{env_id}: non-finite reward or observation at step {step}")
        if terminated or truncated:
            env.reset()
    env.close()
    return resident_mb() - baseline


@pytest.mark.slow
@pytest.mark.parametrize("env_id", sorted(ENVS))
def test_a_million_steps_keep_memory_flat(env_id):
    assert soak(env_id, SOAK_STEPS[env_id]) < MEMORY_SLACK_MB


def test_the_soak_measures_memory_growth():
    """The harness on a short run (what the slow test relies on)."""
    growth = soak("BandwidthSplit-v0", 2000)
    assert math.isfinite(growth) and growth < MEMORY_SLACK_MB
