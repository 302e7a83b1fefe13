"""The native vector env of JointOffload-v1 (and its preset IDs) against SyncVectorEnv over the
scalar env, step by step, autoresets included, in every action mode."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import mec_gym  # noqa: F401
from mec_gym.envs.joint_offload_vector import JointOffloadVectorEnv
from mec_gym.registration import ENVS

JOINT_IDS = sorted(env_id for env_id in ENVS if env_id.startswith("JointOffload-"))


def assert_same_steps(
    env_id: str, num_envs: int, seed: int, steps: int, **kwargs
) -> gym.vector.VectorEnv:
    """Step the native env and SyncVectorEnv over the scalar env with the same sampled actions
    and check every output bit for bit; the native env."""
    native = gym.make_vec(env_id, num_envs, vectorization_mode="vector_entry_point", **kwargs)
    sync = gym.make_vec(env_id, num_envs, vectorization_mode="sync", **kwargs)
    assert isinstance(native.unwrapped, JointOffloadVectorEnv)
    assert native.single_action_space == sync.single_action_space
    assert native.single_observation_space == sync.single_observation_space
    obs_native, info_native = native.reset(seed=seed)
    obs_sync, _ = sync.reset(seed=seed)
    np.testing.assert_array_equal(obs_native, obs_sync)
    assert info_native == {}
    native.action_space.seed(seed)
    ends = 0
    for step in range(steps):
        actions = native.action_space.sample()
        out_native, out_sync = native.step(actions), sync.step(actions)
        for a, b in zip(out_native[:4], out_sync[:4], strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b, err_msg=f"step {step}")
        info_native, info_sync = out_native[4], out_sync[4]
        assert set(info_native) == set(info_sync), step
        for key, value in info_sync.items():
            assert info_native[key].dtype == value.dtype, key
            np.testing.assert_array_equal(info_native[key], value, err_msg=f"{step} {key}")
        ends += int(out_native[3].all())
    assert ends >= 2  # at least two episode ends and the autoresets after them
    sync.close()
    return native


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize(
    ("env_id", "num_envs", "steps", "kwargs"),
    [
        ("JointOffload-v1", 3, 300, {"rounds_per_episode": 40}),
        ("JointOffload-v1", 1, 200, {"rounds_per_episode": 30, "action_mode": "full"}),
        ("JointOffload-pan2023-v1", 4, 250, {"rounds_per_episode": 50}),
        ("JointOffload-pan2023-v1", 2, 250, {"rounds_per_episode": 40, "action_mode": "full"}),
        ("JointOffload-N8-v1", 5, 300, {"rounds_per_episode": 60}),
        ("JointOffload-N8-v1", 2, 24, {"rounds_per_episode": 6, "action_mode": "offload"}),
        # episodes longer than a chunk of rounds (CHUNK_ROUNDS = 256): the next chunks drawn,
        # at the last round of the episode too; more sub-envs than a block of draws (env_blocks:
        # 3 sub-envs of 256 rounds of 8 devices, 73 of 13 rounds of 8, 2 of 131 rounds of 25)
        ("JointOffload-N8-v1", 4, 560, {"rounds_per_episode": 270, "device_speed": 40.0}),
        ("JointOffload-N8-v1", 2, 520, {"rounds_per_episode": 256, "num_devices": 3}),
        ("JointOffload-N8-v1", 75, 30, {"rounds_per_episode": 12}),
        ("JointOffload-v1", 5, 265, {"rounds_per_episode": 130}),
        # static devices, the spec's table
        ("JointOffload-v1", 3, 40, {"preset": "spec", "rounds_per_episode": 9, "device_speed": 0}),
    ],
)
def test_the_vector_env_equals_the_scalar_env_step_by_step(env_id, num_envs, steps, kwargs, seed):
    native = assert_same_steps(env_id, num_envs, seed, steps, **kwargs)
    assert native.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    native.close()


def test_every_joint_offload_id_has_the_vector_env():
    assert JOINT_IDS == ["JointOffload-N8-v1", "JointOffload-pan2023-v1", "JointOffload-v1"]
    for env_id in JOINT_IDS:
        envs = gym.make_vec(f"mec_gym:{env_id}", 2, vectorization_mode="vector_entry_point")
        scalar = gym.make(env_id).unwrapped
        assert envs.unwrapped.config == scalar.config
        assert envs.single_observation_space == scalar.observation_space
        assert envs.observation_space.shape == (2, *scalar.observation_space.shape)


@pytest.mark.parametrize(
    ("kwargs", "actions", "message"),
    [
        ({}, np.zeros((2, 49), dtype=np.int64), r"shape \(2, 50\)"),
        ({}, np.full((2, 50), 0.5), "integers"),
        ({}, np.full((2, 50), 7), "frames index"),
        ({"action_mode": "full"}, np.full((2, 125), np.nan), "finite"),
        ({"action_mode": "full"}, np.full((2, 125), 0.3 + 5j), "real numbers"),
        ({"action_mode": "full"}, np.full((2, 125), "0.3"), "real numbers"),
        ({"action_mode": "offload"}, np.full((2, 25), 2), "0 or 1"),
    ],
)
def test_bad_actions_raise_one_line_value_errors(kwargs, actions, message):
    envs = JointOffloadVectorEnv(num_envs=2, **kwargs)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=message) as error:
        envs.step(actions)
    assert "\n" not in str(error.value)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(RuntimeError, match="reset"):
        JointOffloadVectorEnv(num_envs=2).step(np.zeros((2, 50), dtype=np.int64))
    with pytest.raises(ValueError, match="render_mode"):
        gym.make_vec(
            "JointOffload-v1", 2, vectorization_mode="vector_entry_point", render_mode="ansi"
        )
    with pytest.raises(ValueError, match="num_envs"):
        JointOffloadVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="preset"):
        JointOffloadVectorEnv(num_envs=2, preset="nowhere")
    with pytest.raises(ValueError, match="unknown"):
        JointOffloadVectorEnv(num_envs=2, no_such_field=1)
