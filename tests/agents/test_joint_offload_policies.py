"""Solver-backed fixed policies of JointOffload-v1 and the per-task rules of PerTaskOffload-v1."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import mec_gym  # noqa: F401
from mec_gym.agents import build_baselines
from mec_gym.agents.joint_offload import PerTaskRulePolicy, PerTaskSolverPolicy, SolverPolicy
from mec_gym.problems.joint_offload import JointOffloadProblem, evaluate_allocation
from mec_gym.solvers.joint_offload.registry import solve

SMALL_JOINT = {"num_devices": 6, "rounds_per_episode": 4}


@pytest.mark.parametrize("solver", ["local_only", "admm", "gp_heuristic", "bound"])
def test_solver_policy_applies_the_solvers_allocation_to_the_observed_round(solver):
    env = gym.make("JointOffload-v1", **SMALL_JOINT)
    policy = SolverPolicy(env, solver)
    observation, _ = env.reset(seed=5)
    for _ in range(3):
        expected = evaluate_allocation(env.unwrapped.problem, solve(solver, env.unwrapped.problem))
        action, _ = policy.predict(observation)
        assert env.action_space.contains(action)
        observation, reward, _, _, _ = env.step(action)
        # the policy sees the gains through float32 observations: same cost up to that rounding
        assert -reward == pytest.approx(expected.mean, rel=1e-5, abs=1e-7)


def test_bound_policy_is_never_beaten_on_the_same_round():
    env = gym.make("JointOffload-v1", **SMALL_JOINT)
    policies = build_baselines("JointOffload-v1", SMALL_JOINT)
    assert {"bound", "gp_heuristic", "admm", "cccp", "local_only", "edge_only"} <= set(policies)
    observation, _ = env.reset(seed=11)
    for _ in range(3):
        costs = {}
        for name, policy in policies.items():
            action, _ = policy.predict(observation)
            allocation = env.unwrapped.allocation_from_action(action)
            costs[name] = evaluate_allocation(env.unwrapped.problem, allocation).mean
        assert all(costs["bound"] <= cost + 1e-9 for cost in costs.values()), costs
        observation, *_ = env.step(policies["local_only"].predict(observation)[0])


def test_batched_predict_matches_single_predictions():
    env = gym.make("JointOffload-v1", **SMALL_JOINT)
    policy = SolverPolicy(env, "admm")
    first, _ = env.reset(seed=1)
    second, *_ = env.step(env.action_space.sample())
    batch, _ = policy.predict(np.stack([first, second]))
    assert np.array_equal(batch[0], policy.predict(first)[0])
    assert np.array_equal(batch[1], policy.predict(second)[0])


def per_task_env() -> gym.Env:
    return gym.make("PerTaskOffload-v1", num_devices=5, tasks_per_episode=60)


def test_per_task_rules_give_valid_actions_and_local_only_never_offloads():
    env = per_task_env()
    policies = build_baselines("PerTaskOffload-v1", {"num_devices": 5, "tasks_per_episode": 60})
    assert {"greedy", "local_only", "edge_only", "random"} <= set(policies)
    for name, policy in policies.items():
        observation, _ = env.reset(seed=2)
        done = False
        while not done:
            action, _ = policy.predict(observation)
            assert env.action_space.contains(action), name
            observation, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        if name == "local_only":
            assert info["offload_rate"] == 0.0
        else:
            assert info["offload_rate"] > 0.0, name


def test_greedy_rule_reserves_almost_all_that_is_free_when_it_offloads():
    env = per_task_env()
    policy = PerTaskRulePolicy(env)
    observation, _ = env.reset(seed=3)
    checked = 0
    for _ in range(40):
        action, _ = policy.predict(observation)
        base = env.unwrapped
        free_uplink, free_edge = base.state.free_uplink_share, base.state.free_edge_share
        observation, reward, terminated, _, _ = env.step(action)
        outcome = base.state.outcomes[-1]
        if outcome.offload:
            # it reserved (almost) everything that was free
            assert outcome.time_share == pytest.approx(0.99 * free_uplink, rel=1e-5)
            assert outcome.edge_frequency == pytest.approx(
                0.99 * free_edge * base.config.edge_capacity, rel=1e-5
            )
            checked += 1
        if terminated:
            break
    assert checked > 0


def test_rule_rejects_other_envs_and_bad_shares():
    with pytest.raises(TypeError, match="PerTaskOffload"):
        PerTaskRulePolicy(gym.make("JointOffload-v1", **SMALL_JOINT))
    with pytest.raises(ValueError, match="share"):
        PerTaskRulePolicy(per_task_env(), share=1.5)
    with pytest.raises(ValueError, match="decision"):
        PerTaskRulePolicy(per_task_env(), decision="sometimes")


def test_edge_only_offloads_more_than_random_and_random_than_local_only():
    rates = {}
    for decision in ("edge", "random", "local"):
        env = per_task_env()
        policy = PerTaskRulePolicy(env, decision=decision, seed=1)
        observation, _ = env.reset(seed=4)
        done = False
        while not done:
            observation, _, terminated, truncated, info = env.step(policy.predict(observation)[0])
            done = terminated or truncated
        rates[decision] = info["offload_rate"]
    assert rates["edge"] > rates["random"] > rates["local"] == 0.0


def test_solver_rule_reserves_the_solvers_shares_for_the_task_and_typical_devices():
    env = per_task_env()
    policy = PerTaskSolverPolicy(env, "bound", concurrency=3)
    assert policy.name == "bound_m3"
    config = env.unwrapped.config
    near, far = policy.typical_gain_db + 15.0, policy.typical_gain_db - 25.0
    for gain_db in (near, far):
        problem = JointOffloadProblem.from_gains(config, [gain_db, *[policy.typical_gain_db] * 2])
        allocation = solve("bound", problem)
        wanted = policy.wanted_shares(gain_db)
        if allocation.offload[0]:
            assert wanted == pytest.approx(
                (allocation.time_share[0], allocation.edge_frequency[0] / config.edge_capacity)
            )
        else:
            assert wanted == (1 / 3, 1 / 3)
    with pytest.raises(ValueError, match="concurrency"):
        PerTaskSolverPolicy(env, concurrency=0)


@pytest.mark.parametrize(
    ("env_id", "name"),
    [
        ("JointOffload-v1", "random"),
        ("PerTaskOffload-v1", "random"),
        ("TwoTimescaleFrame-v0", "random"),
    ],
)
def test_a_random_baseline_scores_a_seed_alike_whatever_it_played_before(env_id, name):
    from mec_gym.agents import build_baselines
    from mec_gym.agents.base import run_episode
    from mec_gym.registration import ENVS

    kwargs = ENVS[env_id].small_kwargs
    env = gym.make(env_id, **kwargs)
    policy = build_baselines(env_id, kwargs)[name]
    alone = run_episode(policy, env, 10_001)[0]
    run_episode(policy, env, 10_000)
    after_another = run_episode(policy, env, 10_001)[0]
    assert alone == after_another
    other = build_baselines(env_id, kwargs, seed=1)[name]  # another policy seed: other draws
    assert run_episode(other, env, 10_001)[0] != alone
