"""The suite every registered environment must pass (Minigrid-style, parametrised over IDs)."""

from __future__ import annotations

import json
import multiprocessing
import pickle
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import mec_gym  # noqa: F401
from mec_gym.registration import ENVS

ENV_IDS = sorted(ENVS)


def make(env_id: str, **kwargs) -> gym.Env:
    """The env with the registry's short episodes (shorter than the rollouts, so that resets
    are exercised)."""
    return gym.make(env_id, **{**ENVS[env_id].small_kwargs, **kwargs})


def rollout(env: gym.Env, seed: int, steps: int = 60) -> list:
    """Observations, rewards and flags of a rollout with actions drawn from a seeded space."""
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        trace += [obs, reward, terminated, truncated]
        if terminated or truncated:
            obs, _ = env.reset()
            trace.append(obs)
    return trace


def traces_equal(a: list, b: list) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env(env_id):
    gym_check_env(make(env_id).unwrapped, skip_render_check=False)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env(env_id):
    sb3_check_env(make(env_id).unwrapped, warn=True)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_trajectory_different_seed_different(env_id):
    assert traces_equal(rollout(make(env_id), 3), rollout(make(env_id), 3))
    assert not traces_equal(rollout(make(env_id), 3), rollout(make(env_id), 4))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_reset_seed_reseeds_everything(env_id):
    env = make(env_id)
    first = rollout(env, 7)
    rollout(env, 8)  # advance every random stream
    assert traces_equal(first, rollout(env, 7))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_round_trip_mid_episode(env_id):
    env = make(env_id)
    env.reset(seed=1)
    env.step(env.action_space.sample())
    clone = pickle.loads(pickle.dumps(env))
    env.action_space.seed(5)
    clone.action_space.seed(5)
    for _ in range(20):
        action = env.action_space.sample()
        clone.action_space.sample()
        a = env.step(action)
        b = clone.step(action)
        assert np.array_equal(a[0], b[0]) and a[1:4] == b[1:4]
        if a[2] or a[3]:
            break


def _make_in_subprocess(env_id: str, queue) -> None:
    env = gym.make(f"mec_gym:{env_id}")
    obs, _ = env.reset(seed=0)
    queue.put(obs.shape)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_make_with_module_prefix_in_spawned_process(env_id):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_make_in_subprocess, args=(env_id, queue))
    process.start()
    process.join(timeout=120)
    assert process.exitcode == 0
    assert queue.get(timeout=5) == make(env_id).observation_space.shape


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_spec_json_round_trip(env_id):
    env = make(env_id)
    spec = gym.spec(env_id)
    restored = gym.envs.registration.EnvSpec.from_json(spec.to_json())
    assert restored == spec
    assert json.loads(json.dumps(env.unwrapped.config.to_dict())) == env.unwrapped.config.to_dict()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_config_round_trip_and_config_kwarg(env_id):
    env = make(env_id)
    config = env.unwrapped.config
    assert type(config).from_dict(config.to_dict()) == config
    again = gym.make(env_id, config=config)
    assert again.unwrapped.config == config
    as_dict = gym.make(env_id, config=config.to_dict())
    assert as_dict.unwrapped.config == config


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_unknown_config_field_is_rejected(env_id):
    with pytest.raises(ValueError, match="unknown .* field"):
        gym.make(env_id, no_such_field=1)


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_action_raises(env_id, bad):
    env = make(env_id)
    env.reset(seed=0)
    action = np.full(env.action_space.shape or (), bad)
    with pytest.raises(ValueError, match="finite"):
        env.step(action)


def continuous_action_ids() -> list[str]:
    """The IDs whose default action space is a Box (the ones whose actions are numbers)."""
    return [e for e in ENV_IDS if isinstance(make(e).action_space, gym.spaces.Box)]


@pytest.mark.parametrize("env_id", continuous_action_ids())
@pytest.mark.parametrize("dtype", [complex, str, object])
def test_non_real_action_raises_in_scalar_and_native_vector_env(env_id, dtype):
    """Complex, string or object actions are refused with one line (numpy would otherwise drop
    an imaginary part or parse a string), in the scalar env and in its native vector env."""
    env = make(env_id)
    env.reset(seed=0)
    action = np.full(env.action_space.shape, 0.5).astype(dtype)
    with pytest.raises(ValueError, match="real numbers"):
        env.step(action)
    if ENVS[env_id].vector_entry_point:
        kwargs = ENVS[env_id].small_kwargs
        envs = gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point", **kwargs)
        envs.reset(seed=0)
        with pytest.raises(ValueError, match="real numbers"):
            envs.step(np.stack([action, action]))


def evaluated_keys(env: Any) -> tuple[str, ...]:
    """The ``info`` keys the env's evaluation protocol reads: its score and components."""
    protocol = env.metadata["evaluation"]
    return (protocol["score"], *protocol["components"])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_observations_inside_space_and_finite(env_id):
    env = make(env_id)
    env.action_space.seed(0)
    obs, _ = env.reset(seed=0)
    for _ in range(300):
        assert env.observation_space.contains(obs) and np.all(np.isfinite(obs))
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert np.isfinite(reward)
        for key in evaluated_keys(env):
            assert isinstance(info[key], float) and np.isfinite(info[key]), key
        if terminated or truncated:
            obs, _ = env.reset()


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("render_mode", ["ansi", "rgb_array"])
def test_render_modes(env_id, render_mode):
    env = make(env_id, render_mode=render_mode)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    frame = env.render()
    if render_mode == "ansi":
        assert isinstance(frame, str) and frame
    else:
        assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
        assert frame.std() > 0


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_bad_render_mode_raises(env_id):
    with pytest.raises(ValueError, match="render_mode"):
        make(env_id, render_mode="human3d")


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_truncation_at_max_episode_steps(env_id):
    env = make(env_id, max_episode_steps=5)
    env.reset(seed=0)
    flags = [env.step(env.action_space.sample())[3] for _ in range(5)]
    assert flags == [False] * 4 + [True]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_vector_env_smoke(env_id):
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode="sync", **ENVS[env_id].small_kwargs)
    envs.reset(seed=0)
    for _ in range(10):
        _, rewards, _, _, infos = envs.step(envs.action_space.sample())
        assert rewards.shape == (2,)
        assert set(evaluated_keys(envs)) <= set(infos)
    envs.close()


@pytest.mark.parametrize("env_id", [e for e in ENV_IDS if ENVS[e].vector_entry_point])
def test_native_vector_env_seeds_each_sub_env_and_continues_its_generator(env_id):
    """Sub-env i after ``reset(seed=[...])`` is the scalar env reset with the i-th seed; a reset
    without seed continues each sub-env's generator as the scalar env's continues."""
    kwargs = ENVS[env_id].small_kwargs
    envs = gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point", **kwargs)
    first, _ = envs.reset(seed=[4, 9])
    np.testing.assert_array_equal(first, envs.reset(seed=[4, 9])[0])
    scalar = make(env_id)
    np.testing.assert_array_equal(first[1], scalar.reset(seed=9)[0])
    np.testing.assert_array_equal(envs.reset()[0][1], scalar.reset()[0])
    with pytest.raises(ValueError, match="2 entries"):
        envs.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match="reset_mask"):  # the sub-envs reset together
        envs.reset(seed=0, options={"reset_mask": np.array([True, False])})
    every = envs.reset(seed=[4, 9], options={"reset_mask": np.ones(2, dtype=bool)})[0]
    np.testing.assert_array_equal(every, first)


@pytest.mark.parametrize("env_id", [e for e in ENV_IDS if ENVS[e].vector_entry_point])
def test_native_vector_env_takes_a_preset_as_the_scalar_env_does(env_id):
    """``preset=None`` (the config class's defaults) and an unknown preset behave as in the
    scalar env: the same config, and the same one-line error."""
    kwargs = ENVS[env_id].small_kwargs
    scalar = make(env_id, preset=None).unwrapped
    native = gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point", preset=None, **kwargs)
    assert native.config == scalar.config
    with pytest.raises(ValueError, match="preset must be"):
        gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point", preset="no_such")


@pytest.mark.parametrize("env_id", [e for e in ENV_IDS if ENVS[e].vector_entry_point])
def test_native_vector_env_takes_numpy_counts_and_refuses_bad_ones(env_id):
    kwargs = ENVS[env_id].small_kwargs
    envs = gym.make_vec(env_id, np.int64(2), vectorization_mode="vector_entry_point", **kwargs)
    assert type(envs.num_envs) is int and len(envs.reset(seed=0)[0]) == 2
    for bad in (True, 0, 2.0):
        with pytest.raises(ValueError, match="num_envs must be a positive integer"):
            gym.make_vec(env_id, bad, vectorization_mode="vector_entry_point", **kwargs)


@pytest.mark.parametrize("env_id", [e for e in ENV_IDS if ENVS[e].vector_entry_point])
def test_native_vector_env_truncates_at_max_episode_steps_as_sync_does(env_id):
    kwargs = {**ENVS[env_id].small_kwargs, "max_episode_steps": 3}
    native = gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point", **kwargs)
    sync = gym.make_vec(env_id, 2, vectorization_mode="sync", **kwargs)
    np.testing.assert_allclose(native.reset(seed=5)[0], sync.reset(seed=5)[0], rtol=1e-12)
    native.action_space.seed(0)
    for step in range(8):  # three steps, the autoreset step, three steps, ...
        actions = native.action_space.sample()
        got, expected = native.step(actions), sync.step(actions)
        for a, b in zip(got[:4], expected[:4], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
        assert got[3].all() == (step % 4 == 2)
    with pytest.raises(ValueError, match="max_episode_steps must be a positive integer"):
        gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point", max_episode_steps=0)
