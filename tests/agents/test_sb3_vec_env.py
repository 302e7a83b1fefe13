"""NativeVecEnv: SB3 trains on a native batched env exactly as on SyncVectorEnv-like copies of
the scalar env (SB3's DummyVecEnv), autoresets included."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecMonitor

from mec_gym.agents.sb3_vec_env import NativeVecEnv
from mec_gym.registration import ENVS

NATIVE = sorted(env_id for env_id, entry in ENVS.items() if entry.vector_entry_point)
SMALL = {
    "BandwidthSplit-v0": {"periods_per_episode": 5},
    "BandwidthSplitMulti-v0": {"periods_per_episode": 5},
    "TwoTimescale-v0": {"frames_per_episode": 2, "slots_per_frame": 4, "slot_action": "ratio"},
    "JointOffload-v1": {"rounds_per_episode": 5},
    "JointOffload-pan2023-v1": {"rounds_per_episode": 6, "action_mode": "full"},
    "JointOffload-N8-v1": {"rounds_per_episode": 7},
    "PerTaskOffload-v1": {"num_devices": 5, "tasks_per_episode": 6},
}


def trained_parameters(env, seed: int = 3) -> dict[str, torch.Tensor]:
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=32, n_epochs=2, seed=seed, device="cpu")
    model.learn(64)  # two rollouts of 16 steps x 2 envs, episodes of 5 to 8 steps: autoresets
    return model.policy.state_dict()


@pytest.mark.parametrize("env_id", NATIVE)
def test_ppo_on_the_native_env_equals_ppo_on_copies_of_the_scalar_env(env_id):
    kwargs = SMALL[env_id]
    native = NativeVecEnv(
        gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point", **kwargs)
    )
    copies = make_vec_env(env_id, n_envs=2, env_kwargs=kwargs)
    a, b = trained_parameters(native), trained_parameters(copies)
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_episodes_end_with_the_terminal_observation_and_a_fresh_start():
    vector = gym.make_vec(
        "TwoTimescale-v0", 3, vectorization_mode="vector_entry_point", **SMALL["TwoTimescale-v0"]
    )
    env = VecMonitor(NativeVecEnv(vector), info_keywords=("cost",))
    env.seed(7)
    first = env.reset()
    actions = np.full((3, vector.single_action_space.shape[0]), 0.5)
    for _ in range(7):
        _, _, dones, _ = env.step(actions)
        assert not dones.any()
    observations, _, dones, infos = env.step(actions)
    assert dones.all()
    assert all("terminal_observation" in info and "episode" in info for info in infos)
    assert all(info["episode"]["l"] == 8 and "cost" in info["episode"] for info in infos)
    assert not np.array_equal(observations, first)  # the next episodes, from the continued rngs
    env.seed(7)
    np.testing.assert_array_equal(env.reset(), first)


def test_batched_attributes_and_methods_come_back_per_sub_env():
    vector = gym.make_vec("BandwidthSplit-v0", 3, vectorization_mode="vector_entry_point")
    env = NativeVecEnv(vector)
    env.reset()
    assert env.get_attr("num_envs") == [3, 3, 3]
    rngs = env.get_attr("rngs", indices=[0, 2])
    assert rngs == [vector.rngs[0], vector.rngs[2]]  # one row per sub-env asked for
    assert env.env_is_wrapped(object) == [False] * 3


def test_attributes_are_found_through_gymnasium_vector_wrappers():
    """A wrapped native env (Gymnasium's vector wrappers do not pass attributes on) still
    gives MaskablePPO its action masks."""
    from gymnasium.wrappers.vector import RecordEpisodeStatistics
    from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported

    kwargs = {"action_mode": "options", "tasks_per_episode": 5}
    native = gym.make_vec("PerTaskOffload-v1", 2, vectorization_mode="vector_entry_point", **kwargs)
    wrapped = RecordEpisodeStatistics(native)
    env = NativeVecEnv(wrapped)
    env.reset()
    assert is_masking_supported(env)
    np.testing.assert_array_equal(get_action_masks(env), native.action_masks())
    assert env.get_attr("num_envs") == [2, 2]  # the wrapper's own attribute
    env.set_attr("tag", 1)  # an attribute none has: set on the outermost env
    assert wrapped.tag == 1 and env.get_attr("tag") == [1, 1]
    with pytest.raises(AttributeError, match="no 'no_such'"):
        env.get_attr("no_such")


def test_seed_applies_at_the_next_reset_only_as_in_dummy_vec_env():
    kwargs = SMALL["BandwidthSplit-v0"]
    native = NativeVecEnv(
        gym.make_vec("BandwidthSplit-v0", 2, vectorization_mode="vector_entry_point", **kwargs)
    )
    dummy = make_vec_env("BandwidthSplit-v0", n_envs=2, env_kwargs=kwargs)
    actions = np.full((2, 1), 0.4)
    for env in (native, dummy):
        env.seed(1)
        env.reset()
        env.seed(1)  # not taken by the autoreset below
    for _ in range(kwargs["periods_per_episode"]):
        a, b = native.step(actions), dummy.step(actions)
    assert a[2].all() and b[2].all()
    np.testing.assert_array_equal(a[0], b[0])  # the next episodes, from the continued rngs
    np.testing.assert_array_equal(a[3][0]["terminal_observation"], b[3][0]["terminal_observation"])


def test_seed_none_draws_from_numpy_global_generator_as_in_dummy_vec_env():
    kwargs = SMALL["BandwidthSplit-v0"]
    native = NativeVecEnv(
        gym.make_vec("BandwidthSplit-v0", 2, vectorization_mode="vector_entry_point", **kwargs)
    )
    dummy = make_vec_env("BandwidthSplit-v0", n_envs=2, env_kwargs=kwargs)
    starts = []
    for env in (native, native, dummy):
        np.random.seed(0)  # noqa: NPY002 (what SB3 draws a seed from)
        env.seed(None)
        starts.append(env.reset())
    np.testing.assert_array_equal(starts[0], starts[1])
    np.testing.assert_array_equal(starts[0], starts[2])


def test_nested_infos_are_split_and_other_autoreset_modes_refused():
    from gymnasium.vector import AutoresetMode
    from gymnasium.wrappers.vector import RecordEpisodeStatistics

    vector = gym.make_vec(
        "BandwidthSplit-v0",
        2,
        vectorization_mode="vector_entry_point",
        **SMALL["BandwidthSplit-v0"],
    )
    env = NativeVecEnv(RecordEpisodeStatistics(vector))
    env.reset()
    for _ in range(5):
        _, rewards, dones, infos = env.step(np.full((2, 1), 0.5))
    assert dones.all()
    assert [info["episode"]["l"] for info in infos] == [5, 5]
    same_step = gym.make_vec(
        "BandwidthSplit-v0",
        2,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
    )
    with pytest.raises(ValueError, match="NEXT_STEP"):
        NativeVecEnv(same_step)
    with pytest.raises(ValueError, match="whole vector env"):
        env.set_attr("anything", 1, indices=[0])
    with pytest.raises(ValueError, match="whole vector env"):
        env.env_method("reset", indices=[1])
