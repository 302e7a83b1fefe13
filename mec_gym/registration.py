"""Registration of every mec_gym environment ID with Gymnasium."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

__all__ = ["ENV_SPECS", "register_envs"]

ENV_SPECS: dict[str, dict[str, Any]] = {
    "MultiStepOffload-v0": {
        "entry_point": "mec_gym.envs.multistep_offload:MultiStepOffloadEnv",
        # guard only: episodes terminate after `tasks_per_episode` tasks (<= 1,200 steps by default)
        "max_episode_steps": 10_000,
    },
    "JointOffload-v1": {
        "entry_point": "mec_gym.envs.joint_offload:JointOffloadEnv",
        "max_episode_steps": 100,  # the default rounds_per_episode (the env truncates itself)
    },
    # presets: named overrides (mec_gym.problems.joint_offload.PRESETS), resolved by the env so
    # that registering does not import the physics
    "JointOffload-pan2023-v1": {
        "entry_point": "mec_gym.envs.joint_offload:JointOffloadEnv",
        "max_episode_steps": 100,
        "kwargs": {"preset": "pan2023"},
    },
    "JointOffload-N8-v1": {
        "entry_point": "mec_gym.envs.joint_offload:JointOffloadEnv",
        "max_episode_steps": 100,
        "kwargs": {"preset": "N8"},
    },
    "PerTaskOffload-v1": {
        "entry_point": "mec_gym.envs.per_task_offload:PerTaskOffloadEnv",
        # guard only: episodes terminate after `tasks_per_episode` decisions (200 by default)
        "max_episode_steps": 10_000,
    },
}


def register_envs() -> None:
    """Register every ID in ``ENV_SPECS`` that is not registered yet."""
    for env_id, spec in ENV_SPECS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, **spec)
