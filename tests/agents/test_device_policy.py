"""DeviceSetPolicy: one network for every device, equivariant to the devices' order."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import PPO

import mec_gym  # noqa: F401
from mec_gym.agents.device_policy import DeviceSetPolicy

N = 5
KWARGS = {"device_features": 3, "global_features": 2, "hidden": 16}


def model(action_mode: str, seed: int = 0) -> PPO:
    env = gym.make("JointOffload-v1", num_devices=N, rounds_per_episode=8, action_mode=action_mode)
    return PPO(DeviceSetPolicy, env, n_steps=16, batch_size=16, seed=seed, policy_kwargs=KWARGS)


def logits(agent: PPO, observation: np.ndarray) -> th.Tensor:
    tensor = th.as_tensor(observation[None, :])
    latent_pi, _ = agent.policy.mlp_extractor(agent.policy.extract_features(tensor))
    return agent.policy.action_net(latent_pi)[0]


@pytest.mark.parametrize("action_mode", ["offload", "decisions"])
def test_permuting_the_devices_permutes_their_logits(action_mode):
    agent = model(action_mode)
    observation = agent.env.reset()[0]
    order = np.array([3, 0, 4, 1, 2])
    per_device = observation[: 3 * N].reshape(N, 3)
    permuted = np.concatenate((per_device[order].reshape(-1), observation[3 * N :]))
    original = logits(agent, observation).reshape(N, -1)
    moved = logits(agent, permuted).reshape(N, -1)
    th.testing.assert_close(moved, original[order], rtol=1e-5, atol=1e-6)
    # the value does not depend on the order at all
    values = [
        agent.policy.predict_values(th.as_tensor(obs[None, :])).item()
        for obs in (observation, permuted)
    ]
    assert values[0] == pytest.approx(values[1], rel=1e-5, abs=1e-6)


def test_the_policy_trains_saves_and_loads(tmp_path):
    agent = model("offload")
    agent.learn(32)
    observation = agent.env.reset()
    action, _ = agent.predict(observation, deterministic=True)
    agent.save(tmp_path / "agent.zip")
    loaded = PPO.load(tmp_path / "agent.zip", device="cpu")
    assert isinstance(loaded.policy, DeviceSetPolicy)
    assert np.array_equal(loaded.predict(observation, deterministic=True)[0], action)


def test_a_layout_that_does_not_fit_is_refused():
    env = gym.make("JointOffload-v1", num_devices=N, action_mode="offload")
    with pytest.raises(ValueError, match="device_features"):
        PPO(DeviceSetPolicy, env, policy_kwargs={"device_features": 4, "global_features": 2})
    single = gym.make("PerTaskOffload-v1", action_mode="options")  # Discrete: not per device
    with pytest.raises(ValueError, match="MultiBinary, MultiDiscrete or Box"):
        PPO(DeviceSetPolicy, single, policy_kwargs={"device_features": 1, "global_features": 0})


def test_box_actions_get_one_gaussian_mean_per_entry_from_the_shared_head():
    env = gym.make("TwoTimescale-v0", slot_action="ratio", frames_per_episode=1, slots_per_frame=4)
    kwargs = {"device_features": 7, "global_features": 2, "hidden": 16}
    model = PPO(DeviceSetPolicy, env, policy_kwargs=kwargs, n_steps=8, batch_size=8, seed=0)
    obs, _ = env.reset(seed=0)
    assert model.predict(obs, deterministic=True)[0].shape == (15,)
    # one linear head for every MU: permuting two MUs' rows permutes their means
    policy = model.policy
    tensor = th.as_tensor(obs[None])
    swapped = obs.copy()
    rows = swapped[:-2].reshape(15, 7)
    rows[[0, 1]] = rows[[1, 0]]
    mean = policy.get_distribution(tensor).distribution.mean[0]
    mean_swapped = policy.get_distribution(th.as_tensor(swapped[None])).distribution.mean[0]
    assert th.allclose(mean[[1, 0]], mean_swapped[:2], atol=1e-6)
    model.learn(8)


def test_feature_offset_and_scale_normalise_each_device_row_and_survive_saving(tmp_path):
    offset, scale = [0.5, 0.0, 0.25], [2.0, 1.0, 8.0]
    normalised = model("offload", seed=3)
    kwargs = {**KWARGS, "feature_offset": offset, "feature_scale": scale}
    env = gym.make("JointOffload-v1", num_devices=N, rounds_per_episode=8, action_mode="offload")
    agent = PPO(DeviceSetPolicy, env, n_steps=16, batch_size=16, seed=3, policy_kwargs=kwargs)
    # the normalisation is not in the state dict (agents saved without it load as before)
    assert not any("feature_" in key for key in agent.policy.state_dict())
    agent.policy.load_state_dict(normalised.policy.state_dict())  # the same weights
    observation = env.reset(seed=0)[0]
    rows = observation[: 3 * N].reshape(N, 3)
    fed = np.concatenate((((rows - offset) * scale).reshape(-1), observation[3 * N :]))
    th.testing.assert_close(logits(agent, observation), logits(normalised, fed.astype(np.float32)))
    assert not th.allclose(logits(agent, observation), logits(normalised, observation))
    agent.save(tmp_path / "agent.zip")
    loaded = PPO.load(tmp_path / "agent.zip", device="cpu")
    assert loaded.policy.feature_offset == offset and loaded.policy.feature_scale == scale
    th.testing.assert_close(logits(loaded, observation), logits(agent, observation))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("feature_offset", [0.0, 1.0]),
        ("feature_scale", [1.0, float("nan"), 1.0]),
        ("feature_scale", [1.0, 0.0, 1.0]),
    ],
)
def test_bad_feature_normalisation_is_refused_naming_the_field(name, value):
    env = gym.make("JointOffload-v1", num_devices=N, action_mode="offload")
    with pytest.raises(ValueError, match=name):
        PPO(DeviceSetPolicy, env, policy_kwargs={**KWARGS, name: value})
