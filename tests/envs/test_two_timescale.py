"""TwoTimescale-v0: action -> shares -> reward, observations, frame policies, baselines."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import mec_gym  # noqa: F401
from mec_gym.agents.two_timescale import two_timescale_baselines
from mec_gym.envs.two_timescale import WEIGHT_FLOOR, TwoTimescaleEnv, action_from_shares
from mec_gym.problems.two_timescale import share_violations, shares_from_weights
from mec_gym.simulators.two_timescale import DTStatistics, FrameDecision, TwoTimescaleEnvConfig
from mec_gym.solvers.two_timescale import closed_form_split, equal_split
from mec_gym.solvers.two_timescale.frame import (
    always_retrain,
    dt_association,
    load_cap,
    nearest_association,
    never_retrain,
    threshold_retraining,
)

SMALL = {"frames_per_episode": 3, "slots_per_frame": 5}


def make_env(**kwargs) -> TwoTimescaleEnv:
    return TwoTimescaleEnv(**{**SMALL, **kwargs})


def test_reward_is_minus_objective_of_the_slot_problem_and_actions_are_feasible():
    env = make_env()
    env.reset(seed=1)
    env.action_space.seed(1)
    sim = env.simulator
    for _ in range(env.config.slots_per_episode):
        action = env.action_space.sample()
        n = env.config.num_mus
        ratio = action[2 * n :].astype(float)
        problem = sim.slot_problem(ratio)
        weights = action[: 2 * n].astype(float).reshape(n, 2) + WEIGHT_FLOOR
        shares = shares_from_weights(problem, weights[:, 0], sim.state.retrain * weights[:, 1])
        assert share_violations(problem, shares) == []
        delays = problem.evaluate(shares)
        _, reward, _, truncated, info = env.step(action)
        violation = env.last_outcome.accuracy_violation.sum()
        objective = float(delays.weighted_total) + env.config.accuracy_penalty * violation
        assert info["slot_cost"] == pytest.approx(objective, rel=1e-12)
        assert reward == pytest.approx(-objective / n, rel=1e-12)
    assert truncated


@pytest.mark.parametrize("fill", [0.0, 1.0])
def test_extreme_actions_are_feasible_and_zero_splits_equally(fill):
    env = make_env(frame_policy=_retrain_all_nearest)
    env.reset(seed=2)
    action = np.full(env.action_space.shape, fill, dtype=np.float32)
    shares, _ = env.decision_from_action(action)
    problem = env.simulator.slot_problem(fill)
    assert share_violations(problem, shares) == []
    np.testing.assert_allclose(shares.inference, shares.retraining)
    used = problem.per_bs_sum(shares.inference + shares.retraining)
    load = np.bincount(problem.association, minlength=problem.num_bs)
    np.testing.assert_allclose(used[load > 0], env.config.bs_capacity)
    env.step(action)


@pytest.mark.parametrize(
    ("action", "match"), [(np.zeros(5), "entries"), (np.full(45, np.nan), "finite")]
)
def test_bad_actions_raise(action, match):
    env = make_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)


def test_observation_decodes_to_the_simulators_values():
    env = make_env()
    obs, _ = env.reset(seed=3)
    env.action_space.seed(3)
    for _ in range(7):
        decoded = env.decode_observation(obs)
        st = env.state
        problem = env.problem
        np.testing.assert_array_equal(decoded["association"], st.association)
        np.testing.assert_array_equal(decoded["retrain"], st.retrain)
        np.testing.assert_allclose(decoded["batch_bits"], st.batch_bits, rtol=1e-6)
        np.testing.assert_allclose(decoded["rate"], problem.rate, rtol=1e-5)
        assert decoded["slot_in_frame"] == st.slot % env.config.slots_per_frame
        rebuilt = env.problem_from_observation(obs)
        np.testing.assert_allclose(rebuilt.retrain_work, problem.retrain_work, rtol=1e-6)
        obs, *_ = env.step(env.action_space.sample())


def test_default_frame_policy_is_applied_at_each_frame_start_only():
    env = make_env(dt_error_max=0.0, mu_speed_mps=300.0, frames_per_episode=6)
    cfg = env.config
    env.reset(seed=4)
    associations = []
    for slot in range(cfg.slots_per_episode):
        if slot % cfg.slots_per_frame == 0:
            stats = env.simulator.exact_statistics()  # dt_error_max = 0: the DT is exact
            np.testing.assert_array_equal(env.state.association, dt_association(stats, cfg))
            np.testing.assert_array_equal(env.state.retrain, threshold_retraining(stats, cfg))
        else:
            np.testing.assert_array_equal(env.state.association, associations[-1])
        associations.append(env.state.association.copy())
        env.step(env.action_space.sample())
    assert any(not np.array_equal(a, associations[0]) for a in associations)


def _retrain_all_nearest(simulator) -> FrameDecision:
    association = nearest_association(simulator.distances())
    return FrameDecision(association, np.ones(simulator.config.num_mus, dtype=bool))


def test_custom_frame_policy_is_used():
    calls = []

    def policy(simulator):
        calls.append(simulator.state.slot)
        return _retrain_all_nearest(simulator)

    env = make_env(frame_policy=policy)
    env.reset(seed=5)
    for slot in range(env.config.slots_per_episode):
        if slot % env.config.slots_per_frame == 0:
            nearest = nearest_association(env.simulator.distances())
            np.testing.assert_array_equal(env.state.association, nearest)
        assert env.state.retrain.all()
        env.step(env.action_space.sample())
    assert calls == [0, 5, 10]
    with pytest.raises(TypeError, match="callable"):
        make_env(frame_policy=3)


def test_closed_form_beats_equal_and_acts_exactly():
    env = make_env(frame_policy=_retrain_all_nearest)
    policies = two_timescale_baselines("TwoTimescale-v0", SMALL, seed=0)
    obs, _ = env.reset(seed=6)
    problem = env.problem
    action = action_from_shares(problem, closed_form_split(problem))
    shares, ratio = env.decision_from_action(action)
    np.testing.assert_allclose(shares.inference, closed_form_split(problem).inference, rtol=1e-9)
    np.testing.assert_allclose(shares.retraining, closed_form_split(problem).retraining, rtol=1e-9)
    np.testing.assert_array_equal(ratio, 1.0)
    equal = env.decision_from_action(action_from_shares(problem, equal_split(problem)))[0]
    np.testing.assert_allclose(equal.inference, equal_split(problem).inference, rtol=1e-9)
    costs = {}
    for name, policy in policies.items():
        episode = []
        for seed in range(3):
            obs, _ = env.reset(seed=seed)
            done = False
            while not done:
                obs, _, terminated, truncated, info = env.step(policy.predict(obs)[0])
                done = terminated or truncated
            episode.append(info["cost"])
        costs[name] = np.mean(episode)
    assert costs["closed_form"] < costs["equal"]


def test_dt_association_respects_the_cap_and_prefers_high_rates():
    config = TwoTimescaleEnvConfig(num_bs=2, num_mus=4)
    rate = np.array([[9.0, 1.0], [8.0, 2.0], [7.0, 3.0], [1.0, 5.0]])
    stats = DTStatistics(rate, np.zeros(4))
    assert load_cap(config) == 2
    np.testing.assert_array_equal(dt_association(stats, config), [0, 0, 1, 1])
    uncapped = TwoTimescaleEnvConfig(num_bs=2, num_mus=4, max_users_per_bs=3)
    np.testing.assert_array_equal(dt_association(stats, uncapped), [0, 0, 0, 1])
    rng = np.random.default_rng(0)
    config = TwoTimescaleEnvConfig(num_bs=3, num_mus=10)
    for _ in range(20):
        stats = DTStatistics(rng.exponential(size=(10, 3)), np.zeros(10))
        association = dt_association(stats, config)
        assert np.bincount(association, minlength=3).max() <= 4
        best = np.argmax(stats.mean_rate.max(axis=1))
        assert association[best] == np.argmax(stats.mean_rate[best])


def test_retraining_rules():
    config = TwoTimescaleEnvConfig(num_mus=4)
    stats = DTStatistics(np.ones((4, 3)), np.array([0.9, 0.84, 0.85, 0.1]))
    np.testing.assert_array_equal(threshold_retraining(stats, config), [0, 1, 0, 1])
    np.testing.assert_array_equal(never_retrain(stats, config), [0, 0, 0, 0])
    np.testing.assert_array_equal(always_retrain(stats, config), [1, 1, 1, 1])
    np.testing.assert_array_equal(nearest_association(np.array([[3.0, 1.0], [0.5, 2.0]])), [1, 0])


def test_registered_id_runs_and_renders():
    env = gym.make("TwoTimescale-v0", render_mode="rgb_array", **SMALL)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    first = env.render()
    env.step(env.action_space.sample())
    assert env.render().shape == first.shape
