"""DT #1: replays of finished tasks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import mec_gym  # noqa: F401
from mec_gym.envs.multistep_offload import LOCAL
from mec_gym.twins.decision_replay import DecisionEvaluationTwin

ENV_ID = "MultiStepOffload-v1"


def play(status: str, seed: int, decision_points: str = "candidates", **kwargs):
    """A finished episode under a random policy, with the observations it emitted per task."""
    env = gym.make(
        ENV_ID, tasks_per_episode=60, status=status, decision_points=decision_points, **kwargs
    )
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    seen: dict[tuple[int, int], np.ndarray] = {}
    done = False
    while not done:
        seen[(info["task"], info["boundary"])] = obs
        obs, _, terminated, truncated, info = env.step(int(rng.random() < 0.3))
        done = terminated or truncated
    return env, seen


@pytest.mark.parametrize("status", ["twin", "polling", "oracle"])
@pytest.mark.parametrize("decision_points", ["candidates", "all"])
def test_replaying_the_decision_taken_reproduces_the_realised_utility_exactly(
    status, decision_points
):
    env, _ = play(status, 11, decision_points)
    twin = DecisionEvaluationTwin(env)
    offloaded = 0
    for task, record in enumerate(env.unwrapped.records):
        if record.boundary == LOCAL:
            replay = twin.replay_local(task)
        else:
            replay = twin.replay_offload(task, record.boundary)
            offloaded += 1
        assert replay.utility == record.utility
        assert replay.finish == record.finish
        assert replay.energy == record.energy
    assert offloaded > 10  # the test covered the edge-queue replay


@pytest.mark.parametrize("status", ["twin", "polling"])
def test_counterfactual_states_equal_the_observations_the_env_emitted(status):
    env, seen = play(status, 12)
    twin = DecisionEvaluationTwin(env)
    for (task, boundary), obs in seen.items():
        np.testing.assert_array_equal(twin.observation(task, boundary), obs)


def test_hindsight_is_at_least_the_realised_utility_and_options_are_complete():
    env, _ = play("twin", 13)
    twin = DecisionEvaluationTwin(env)
    options = twin.all_task_options()
    assert len(options) == 60
    for option in options:
        assert option.best_utility >= option.realised_utility
        assert option.offload_utility.shape == (len(env.unwrapped.decision_boundaries),)
        assert option.best_option in (LOCAL, *env.unwrapped.decision_boundaries)
        assert option.observations[0] is not None  # boundary 0 is always reached


def test_offloading_later_than_reality_ignores_the_tasks_own_upload():
    """A counterfactual must not queue behind the task's own realised upload at the edge."""
    env, _ = play("oracle", 14, compute_noise=0.0)
    base = env.unwrapped
    twin = DecisionEvaluationTwin(env)
    checked = 0
    for task, record in enumerate(base.records):
        if record.boundary == 0 and 1 in base.decision_boundaries:
            later = twin.replay_offload(task, 1)
            waiting = (
                later.finish - later.upload_end - base.system.edge_work[1] / base.config.edge_speed
            )
            expected = base.simulator.edge_backlog_without(later.upload_end, record.edge_job)
            assert waiting == pytest.approx(expected / base.config.edge_speed, abs=1e-9)
            checked += 1
    assert checked > 0


def test_twin_requires_a_finished_episode():
    env = gym.make(ENV_ID, tasks_per_episode=20)
    env.reset(seed=0)
    env.step(0)
    with pytest.raises(RuntimeError, match="finished episode"):
        DecisionEvaluationTwin(env)
