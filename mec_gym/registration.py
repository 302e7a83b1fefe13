"""Every mec_gym environment ID, registered with Gymnasium: the one table keyed by ID.

Everything else that is keyed by ID (the baselines, the benchmark targets, the small settings the
test suite and the quick scripts use, the evaluation protocol through the env class's
``metadata["evaluation"]``) is read from here, so that a new environment is one entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

__all__ = ["EnvEntry", "ENVS", "register_envs", "env_entry", "canonical_id"]


@dataclass(frozen=True)
class EnvEntry:
    """One registered ID: how Gymnasium builds it and what mec_gym's tooling needs of it."""

    entry_point: str
    """``"module:Class"`` of the environment."""
    baselines: str
    """``"module:function"`` building its fixed baselines (``mec_gym.agents.build_baselines``)."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Constructor arguments of the ID (e.g. a preset)."""
    max_episode_steps: int | None = None
    """Gymnasium's ``TimeLimit``; None where the env ends its episodes itself."""
    small_kwargs: dict[str, Any] = field(default_factory=dict)
    """Overrides giving short episodes, for the test suite and quick runs."""
    step_ratio_target: float = 3.0
    """Step cost target, in CartPole-v1 steps (``eval/bench_envs.py``; the spec's where it sets
    one)."""
    formulation_kwargs: tuple[str, ...] = ()
    """Config fields that only pose the actions or observations differently, not the system: an
    agent trained with other values of them is scored on the same problem as the baselines."""
    eval_episodes: int = 20
    """Episodes of an evaluation of a trained agent (fixed test and validation seeds), what
    ``train/<algo>.py`` uses unless told otherwise."""
    vector_entry_point: str | None = None
    """``"module:Class"`` of a native batched ``gymnasium.vector.VectorEnv`` (built by
    ``gymnasium.make_vec(id, num_envs, vectorization_mode="vector_entry_point")``), if any."""

    def spec_kwargs(self) -> dict[str, Any]:
        """Arguments of ``gymnasium.register`` for this entry."""
        return {
            "entry_point": self.entry_point,
            "vector_entry_point": self.vector_entry_point,
            "kwargs": dict(self.kwargs),
            "max_episode_steps": self.max_episode_steps,
        }


def _joint_offload(preset: str | None = None) -> EnvEntry:
    """An ID of JointOffloadEnv, with its vector env; a preset
    (``mec_gym.problems.joint_offload.PRESETS``) is resolved by the env, so that registering does
    not import the physics."""
    return EnvEntry(
        entry_point="mec_gym.envs.joint_offload:JointOffloadEnv",
        vector_entry_point="mec_gym.envs.joint_offload_vector:JointOffloadVectorEnv",
        baselines="mec_gym.agents.joint_offload:joint_offload_baselines",
        kwargs={"preset": preset} if preset else {},
        small_kwargs={"rounds_per_episode": 30},
        step_ratio_target=6.0,
        formulation_kwargs=("action_mode",),
        eval_episodes=5,  # 100 rounds each; the analytic solvers take up to ~0.1 s per round
    )


def _bandwidth_split(num_devices: int | None = None, step_ratio_target: float = 3.0) -> EnvEntry:
    """An ID of BandwidthSplitEnv (one device unless ``num_devices``), with its vector env."""
    return EnvEntry(
        entry_point="mec_gym.envs.bandwidth_split:BandwidthSplitEnv",
        vector_entry_point="mec_gym.envs.bandwidth_split_vector:BandwidthSplitVectorEnv",
        baselines="mec_gym.agents.bandwidth_split:bandwidth_split_baselines",
        kwargs={"num_devices": num_devices} if num_devices else {},
        small_kwargs={"periods_per_episode": 20},
        step_ratio_target=step_ratio_target,
    )


ENVS: dict[str, EnvEntry] = {
    "MultiStepOffload-v1": EnvEntry(
        entry_point="mec_gym.envs.multistep_offload:MultiStepOffloadEnv",
        baselines="mec_gym.agents.multistep:multistep_baselines",
        # guard only: episodes terminate after `tasks_per_episode` tasks (<= 1,200 steps by default)
        max_episode_steps=10_000,
        small_kwargs={"tasks_per_episode": 20},
        eval_episodes=30,
    ),
    "JointOffload-v1": _joint_offload(),
    "JointOffload-pan2023-v1": _joint_offload("pan2023"),
    "JointOffload-N8-v1": _joint_offload("N8"),
    "PerTaskOffload-v1": EnvEntry(
        entry_point="mec_gym.envs.per_task_offload:PerTaskOffloadEnv",
        vector_entry_point="mec_gym.envs.per_task_offload_vector:PerTaskOffloadVectorEnv",
        baselines="mec_gym.agents.joint_offload:per_task_baselines",
        # guard only: episodes terminate after `tasks_per_episode` decisions (200 by default)
        max_episode_steps=10_000,
        small_kwargs={"num_devices": 5, "tasks_per_episode": 40},
        formulation_kwargs=("action_mode",),
    ),
    "BandwidthSplit-v0": _bandwidth_split(),
    # no spec target for the multi-device variant: its step is numpy on arrays of 4 devices
    # (12-16x CartPole measured on a loaded machine); the batched vector env is its fast path
    "BandwidthSplitMulti-v0": _bandwidth_split(num_devices=4, step_ratio_target=20.0),
    "TwoTimescale-v0": EnvEntry(
        entry_point="mec_gym.envs.two_timescale:TwoTimescaleEnv",
        vector_entry_point="mec_gym.envs.two_timescale_vector:TwoTimescaleVectorEnv",
        baselines="mec_gym.agents.two_timescale:two_timescale_baselines",
        small_kwargs={"frames_per_episode": 2, "slots_per_frame": 10},
        step_ratio_target=6.0,
        formulation_kwargs=("slot_action", "frame_action"),
        eval_episodes=10,  # 1,000 slots each
    ),
    # no spec target for the frame level: a step plays slots_per_frame = 50 slots, each with
    # the closed-form slot policy, so 50 times the slot target
    "TwoTimescaleFrame-v0": EnvEntry(
        entry_point="mec_gym.envs.two_timescale_frame:TwoTimescaleFrameEnv",
        baselines="mec_gym.agents.two_timescale:two_timescale_frame_baselines",
        small_kwargs={"frames_per_episode": 12, "slots_per_frame": 3},
        step_ratio_target=300.0,
        formulation_kwargs=("slot_action", "frame_action"),
        eval_episodes=10,
    ),
}
"""Every environment ID of mec_gym."""


def canonical_id(env_id: str) -> str:
    """``env_id`` without the ``"mec_gym:"`` namespace that ``gymnasium.make`` accepts."""
    return env_id.removeprefix("mec_gym:")


def env_entry(env_id: str) -> EnvEntry:
    """The entry of ``env_id`` (``"mec_gym:"`` prefix accepted); ValueError listing the IDs."""
    name = canonical_id(env_id)
    if name not in ENVS:
        raise ValueError(f"unknown mec_gym environment {env_id!r}; registered: {sorted(ENVS)}")
    return ENVS[name]


def register_envs() -> None:
    """Register every ID in ``ENVS`` that is not registered yet."""
    for env_id, entry in ENVS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, **entry.spec_kwargs())
