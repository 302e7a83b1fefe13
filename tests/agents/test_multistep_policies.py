"""Baseline policies of MultiStepOffload-v1."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import mec_gym  # noqa: F401
from mec_gym.agents import build_baselines
from mec_gym.agents.base import run_episode
from mec_gym.agents.dt_stopping import (
    StoppingSample,
    collect_stopping_data,
    continuation_targets,
    train_stopping_policy,
)
from mec_gym.agents.multistep import (
    AlwaysLocalPolicy,
    FixedSplitPolicy,
    SingleShotPolicy,
    UtilityEstimator,
)
from mec_gym.envs.multistep_offload import LOCAL
from mec_gym.twins.decision_replay import DecisionEvaluationTwin

ENV_ID = "MultiStepOffload-v1"
SMALL = {"tasks_per_episode": 30}


@pytest.fixture
def env():
    return gym.make(ENV_ID, **SMALL)


def test_predict_has_the_sb3_call_shape(env):
    policy = FixedSplitPolicy(env, 1)
    obs, _ = env.reset(seed=0)
    action, state = policy.predict(obs, state=None, episode_start=np.ones(1), deterministic=True)
    assert np.shape(action) == () and state is None
    batch, _ = policy.predict(np.stack([obs, obs]))
    assert batch.shape == (2,)


@pytest.mark.parametrize("boundary", [0, 1, 2, 5])
def test_fixed_split_offloads_every_task_at_its_boundary(boundary):
    exact = gym.make(ENV_ID, status="oracle", **SMALL)
    run_episode(FixedSplitPolicy(exact, boundary), exact, seed=1)
    assert {r.boundary for r in exact.unwrapped.records} == {boundary}
    # with the status twin, a task whose device runs ahead of the twin's estimate may finish
    # locally before the twin's decision epoch at the last boundary comes
    twin = gym.make(ENV_ID, status="twin", **SMALL)
    run_episode(FixedSplitPolicy(twin, boundary), twin, seed=1)
    offloaded = [r.boundary for r in twin.unwrapped.records if r.boundary != LOCAL]
    assert set(offloaded) == {boundary}
    if boundary < 5:
        assert len(offloaded) == len(twin.unwrapped.records)


def test_fixed_split_rejects_a_boundary_that_is_never_decided(env):
    with pytest.raises(ValueError, match="decision boundaries"):
        FixedSplitPolicy(env, 3)


def test_always_local_runs_everything_on_the_device(env):
    info, _, _ = run_episode(AlwaysLocalPolicy(), env, seed=2)
    assert info["offload_rate"] == 0.0


def test_utility_estimator_is_exact_for_local_completion_without_noise_or_queueing():
    env = gym.make(ENV_ID, tasks_per_episode=1, compute_noise=0.0)
    obs, _ = env.reset(seed=0)
    estimate = UtilityEstimator(env).local(env.unwrapped.decode_observation(obs))
    run_episode(AlwaysLocalPolicy(), env, seed=0)
    assert estimate == pytest.approx(env.unwrapped.records[0].utility, abs=1e-5)


def test_single_shot_commits_to_one_choice_per_task(env):
    policy = SingleShotPolicy(env)
    run_episode(policy, env, seed=3)
    records = env.unwrapped.records
    assert {r.boundary for r in records} <= {LOCAL, *env.unwrapped.decision_boundaries}
    assert len({r.boundary for r in records}) >= 2  # it adapts to the state


def test_continuation_targets_backward_induction():
    sample = StoppingSample(
        observations=np.zeros((3, 1)),
        offload_utility=np.array([0.1, 0.5, 0.2]),
        final_utility=0.3,
    )
    # the policy stops at state 1 only: continuing from 0 yields U(1); from 1, the local value
    # reached through state 2 (which does not stop); from 2, the local value
    targets = continuation_targets(sample, np.array([False, True, False]))
    np.testing.assert_allclose(targets, [0.5, 0.3, 0.3])
    targets = continuation_targets(sample, np.array([False, False, True]))
    np.testing.assert_allclose(targets, [0.2, 0.2, 0.3])


def test_dt_augmentation_gives_every_boundary_of_every_task():
    augmented = collect_stopping_data(ENV_ID, SMALL, [0], augment=True)
    plain = collect_stopping_data(ENV_ID, SMALL, [0], augment=False)
    assert len(augmented) == len(plain) == 30
    assert sum(len(s.offload_utility) for s in augmented) > sum(
        len(s.offload_utility) for s in plain
    )
    assert all(np.isfinite(s.offload_utility).all() for s in augmented)


def test_stopping_agent_learns_to_beat_always_local():
    kwargs = {"tasks_per_episode": 100}
    env = gym.make(ENV_ID, **kwargs)
    samples = collect_stopping_data(ENV_ID, kwargs, range(6), augment=True)
    policy = train_stopping_policy(env, samples, "dt", iterations=2, epochs=10)
    seeds = range(10_000, 10_004)
    agent = np.mean([run_episode(policy, env, s)[0]["utility"] for s in seeds])
    local = np.mean([run_episode(AlwaysLocalPolicy(), env, s)[0]["utility"] for s in seeds])
    assert agent > local


def test_hindsight_oracle_bounds_every_fixed_policy_on_its_trajectory(env):
    for policy in (AlwaysLocalPolicy(), FixedSplitPolicy(env, 0), SingleShotPolicy(env)):
        info, _, _ = run_episode(policy, env, seed=4)
        options = DecisionEvaluationTwin(env).all_task_options(with_observations=False)
        assert np.mean([o.best_utility for o in options]) >= info["utility"]


@pytest.mark.slow
def test_build_baselines_returns_every_baseline():
    policies = build_baselines(ENV_ID, SMALL, seed=0)
    assert {
        "always_local",
        "offload_raw",
        "single_shot",
        "best_fixed_split",
        "dt_stopping",
        "stopping_no_dt",
    } <= set(policies)


def test_build_baselines_unknown_env():
    with pytest.raises(ValueError, match="unknown mec_gym environment"):
        build_baselines("CartPole-v1")


def test_build_baselines_accepts_the_namespaced_id():
    policies = build_baselines(f"mec_gym:{ENV_ID}", SMALL)
    assert "always_local" in policies


def test_training_seed_blocks_stay_inside_the_training_seeds():
    from mec_gym.agents.base import CALIBRATION_SEEDS, TRAINING_SEEDS, training_seed_block
    from mec_gym.eval.evaluation import EVAL_SEEDS, VALIDATION_SEEDS

    # the published runs' blocks (seeds 0..2) are those of 1000 * seed onwards
    assert [training_seed_block(s, 30) for s in range(3)] == [
        range(0, 30),
        range(1000, 1030),
        range(2000, 2030),
    ]
    held_out = set(EVAL_SEEDS) | set(VALIDATION_SEEDS) | set(CALIBRATION_SEEDS)
    for seed in (9, 10, 20, 30, 12345):
        block = training_seed_block(seed, 30)
        assert len(block) == 30 and set(block) <= set(TRAINING_SEEDS)
        assert not set(block) & held_out
    assert training_seed_block(3, 10_000) == TRAINING_SEEDS
    for seed, count in ((-1, 30), (0, 0), (0, 10_001)):
        with pytest.raises(ValueError, match="training seed must be"):
            training_seed_block(seed, count)


def test_a_policy_without_state_in_predict_is_evaluated_and_bad_seeds_are_refused():
    from mec_gym.agents.base import RandomizedPolicy, run_episode, takes_state

    class Constant:  # the documented call shape, without ``state``
        def predict(self, observation, episode_start=None, deterministic=True):
            return np.array([0.5]), None

    env = gym.make("BandwidthSplit-v0", periods_per_episode=3)
    info, decisions, _ = run_episode(Constant(), env, 10_000)
    assert decisions == 3 and not takes_state(Constant())
    for seed in (-1, None, True, 1.5):
        with pytest.raises(ValueError, match="seed must be an integer >= 0"):
            RandomizedPolicy(seed)
