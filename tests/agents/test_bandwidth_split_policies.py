"""Fixed policies of BandwidthSplit-v0 / BandwidthSplitMulti-v0: every baseline runs, the myopic
optimum beats every rule on the period it optimises, the lookahead beats the myopic optimum where
the drift makes the problem sequential."""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pytest

import mec_gym  # noqa: F401
from mec_gym.agents import build_baselines
from mec_gym.agents.bandwidth_split import (
    SPLIT_RULES,
    GainForecast,
    LookaheadPolicy,
    SharedBandPolicy,
    SplitRulePolicy,
    served_devices,
)
from mec_gym.agents.base import run_episode
from mec_gym.problems.bandwidth_split import BandwidthSplitProblem

SINGLE = "BandwidthSplit-v0"
MULTI = "BandwidthSplitMulti-v0"


def test_the_builders_name_every_baseline():
    single = build_baselines(SINGLE, {"periods_per_episode": 5})
    assert set(single) == {*SPLIT_RULES, "lookahead"}
    assert set(SPLIT_RULES) == {"myopic", "equal", "upload_first", "model_first", "smallest_model"}
    assert set(build_baselines(SINGLE, {"model_size": "discrete"})) == set(SPLIT_RULES)
    assert set(build_baselines(MULTI, {})) == {"myopic", "equal"}


@pytest.mark.parametrize("model_size", ["auto", "continuous", "discrete"])
def test_every_one_device_baseline_runs_an_episode(model_size):
    kwargs = {"periods_per_episode": 6, "model_size": model_size}
    env = gym.make(SINGLE, **kwargs)
    for name, policy in build_baselines(SINGLE, kwargs).items():
        info, decisions, _ = run_episode(policy, env, seed=10_000)
        assert decisions == 6, name
        assert 0.2 < info["map"] < env.unwrapped.config.map_a, name


def test_every_multi_device_baseline_runs_an_episode():
    kwargs = {"periods_per_episode": 3}
    env = gym.make(MULTI, **kwargs)
    scores = {}
    for name, policy in build_baselines(MULTI, kwargs).items():
        info, decisions, _ = run_episode(policy, env, seed=10_000)
        assert decisions == 3
        scores[name] = info["map"]
    assert scores["myopic"] >= scores["equal"]


def test_the_myopic_optimum_beats_every_rule_on_each_period_without_carried_state():
    env = gym.make(SINGLE, freshness_decay=0.0, periods_per_episode=8).unwrapped
    policies = {name: SplitRulePolicy(env, name) for name in SPLIT_RULES}
    for seed in (1, 2):
        obs, _ = env.reset(seed=seed)
        for _ in range(8):
            rewards = {}
            for name, policy in policies.items():
                trial = copy.deepcopy(env)
                rewards[name] = trial.step(policy.predict(obs)[0])[1]
            assert all(rewards["myopic"] >= value - 1e-12 for value in rewards.values()), rewards
            obs, *_ = env.step(policies["equal"].predict(obs)[0])


def test_the_lookahead_beats_the_myopic_optimum_where_drift_matters():
    kwargs = {"periods_per_episode": 15}  # default drift: rho = 0.8
    env = gym.make(SINGLE, **kwargs)
    myopic, lookahead = SplitRulePolicy(env, "myopic"), LookaheadPolicy(env)
    gains = [
        run_episode(lookahead, env, seed)[0]["map"] - run_episode(myopic, env, seed)[0]["map"]
        for seed in range(10_000, 10_004)
    ]
    assert np.mean(gains) > 0.002 and min(gains) > -0.002, gains


def test_the_lookahead_needs_the_auto_model_size_and_one_device():
    with pytest.raises(ValueError, match="auto"):
        LookaheadPolicy(gym.make(SINGLE, model_size="continuous"))
    with pytest.raises(TypeError, match="num_devices=1"):
        LookaheadPolicy(gym.make(MULTI))
    with pytest.raises(TypeError, match="num_devices >= 2"):
        SharedBandPolicy(gym.make(SINGLE), "myopic")


def test_the_gain_forecast_reverts_to_the_mean():
    env = gym.make(SINGLE).unwrapped
    forecast = GainForecast(env)
    assert 0.5 < forecast.phi < 1.0
    far, near = forecast(forecast.mean - 10.0, [0, 1, 5]), forecast(forecast.mean + 10.0, [1])
    assert far[0] == pytest.approx(forecast.mean - 10.0)
    assert far[0] < far[1] < far[2] < forecast.mean < near[0]


def test_a_batch_is_decided_in_one_call_as_row_by_row():
    envs = gym.make_vec(SINGLE, num_envs=6, vectorization_mode="vector_entry_point")
    obs, _ = envs.reset(seed=0)
    policy = SplitRulePolicy(gym.make(SINGLE), "myopic")
    batch, _ = policy.predict(obs)
    rows = np.stack([policy.predict(row)[0] for row in obs])
    assert batch.shape == (6, 1)
    np.testing.assert_allclose(batch, rows, rtol=1e-9)


def test_devices_beyond_what_the_band_carries_are_left_out():
    config = gym.make(MULTI).unwrapped.config
    problem = BandwidthSplitProblem.from_gains(config, [-80.0, -137.0, -90.0, -136.0])
    assert problem.min_download_share.sum() > 1.0
    np.testing.assert_array_equal(served_devices(problem), [0, 2, 3])
    everyone = BandwidthSplitProblem.from_gains(config, [-80.0, -90.0])
    np.testing.assert_array_equal(served_devices(everyone), [0, 1])
    env = gym.make(MULTI).unwrapped
    obs, _ = env.reset(seed=0)
    obs[6::6][:3] = -1.0  # devices 1 to 3 at the farthest observable gain: one is left out
    action = SharedBandPolicy(env, "myopic").predict(obs)[0].reshape(4, 2)
    assert np.count_nonzero(action.sum(axis=1) == 0.0) == 1 and action.sum() <= 1.0 + 1e-12


@pytest.mark.parametrize(
    ("model_size", "rule"),
    [("auto", "smallest_model"), ("auto", "upload_first"), ("continuous", "equal")]
    + [("continuous", "model_first"), ("continuous", "myopic")],
)
def test_a_split_planned_on_the_observation_delivers_its_model(model_size, rule):
    """The observation rounds the gain to float32; a rule asking for exactly what its download
    carries (the smallest model's share, or the model the split carries) must still get it."""
    env = gym.make("BandwidthSplit-v0", model_size=model_size, periods_per_episode=25)
    base, policy = env.unwrapped, SplitRulePolicy(env, rule)
    planned = 0
    for seed in (10000, 10001):
        observation, _ = env.reset(seed=seed)
        for _ in range(25):
            plan = policy.rule(base.problem_from_observation(observation))
            observation, *_ = env.step(policy.act(observation, 0))
            if plan.model_size > 0:
                planned += 1
                assert base.last_outcome.model_size > 0, f"seed {seed}: the model was lost"
    assert planned >= 25


def test_the_multi_device_equal_split_asks_for_the_model_each_download_carries():
    """With a chosen model size (not auto) the equal split gets the models auto gives it (to
    the planning margin of the observed gains)."""
    outcomes = {}
    for model_size in ("auto", "continuous"):
        env = gym.make("BandwidthSplitMulti-v0", model_size=model_size, periods_per_episode=5)
        policy = SharedBandPolicy(env, "equal")
        observation, _ = env.reset(seed=3)
        env.step(policy.act(observation, 0))
        outcomes[model_size] = env.unwrapped.last_outcome.model_size
    np.testing.assert_allclose(outcomes["continuous"], outcomes["auto"], rtol=1e-6)
    assert np.all(outcomes["auto"] > env.unwrapped.config.min_model_size)
