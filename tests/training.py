"""Tiny training runs for the tests: the command line of a run that takes seconds."""

from __future__ import annotations

from pathlib import Path

from mec_gym.registration import env_entry

TINY_HYPERPARAMS = {
    "ppo": ["n_steps=32", "batch_size=32", "n_epochs=1"],
    "maskable_ppo": ["n_steps=32", "batch_size=32", "n_epochs=1"],
    "a2c": ["n_steps=8"],
    "sac": ["learning_starts=16", "batch_size=16", "buffer_size=1000"],
    "td3": ["learning_starts=16", "batch_size=16", "buffer_size=1000"],
    "dqn": ["learning_starts=16", "batch_size=16", "buffer_size=1000"],
}
"""Small settings of each algorithm for the tiny runs."""


def tiny_argv(algo: str, env_id: str, logdir: Path, timesteps: int = 64) -> list[str]:
    """A tiny run of ``algo`` on ``env_id`` with short episodes, without baselines."""
    small = [f"{key}={value}" for key, value in env_entry(env_id).small_kwargs.items()]
    return [
        "--env",
        env_id,
        "--timesteps",
        str(timesteps),
        "--n-envs",
        "1",
        "--eval-episodes",
        "1",
        "--no-baselines",
        "--logdir",
        str(logdir),
        "--env-kwargs",
        *small,
        "--hyperparams",
        *TINY_HYPERPARAMS[algo],
    ]
