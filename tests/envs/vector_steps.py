"""A check shared by the native vector envs' tests: two vector envs step alike."""

from __future__ import annotations

from collections.abc import Iterable

import gymnasium as gym
import numpy as np


def assert_steps_alike(
    env: gym.vector.VectorEnv, twin: gym.vector.VectorEnv, actions: Iterable[np.ndarray]
) -> None:
    """Step ``env`` and ``twin`` with each batch of ``actions`` in turn: the same outputs bit
    for bit, every ``info`` key and mask included."""
    for batch in actions:
        mine, theirs = env.step(batch), twin.step(batch)
        for a, b in zip(mine[:4], theirs[:4], strict=True):
            np.testing.assert_array_equal(a, b)
        assert set(mine[4]) == set(theirs[4])
        for key, value in mine[4].items():
            np.testing.assert_array_equal(theirs[4][key], value, err_msg=key)
