"""TwoTimescaleFrame-v0 and the native vector env of TwoTimescale-v0: the frame level plays the
slot level's slots, its observation decodes to the DT's view, trained agents plug in at either
level, and the batched env equals SyncVectorEnv step by step."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils import seeding

import mec_gym  # noqa: F401
from mec_gym.agents.base import run_episode
from mec_gym.agents.two_timescale import (
    AgentFramePolicy,
    AgentSlotPolicy,
    FrameRulePolicy,
    RandomFramePolicy,
    SlotBaselinePolicy,
    two_timescale_frame_baselines,
)
from mec_gym.envs.two_timescale import (
    SlotRuleAction,
    TwoTimescaleEnv,
    fixed_rule_decision,
    slot_rule_decision,
)
from mec_gym.envs.two_timescale_frame import (
    TwoTimescaleFrameEnv,
    action_from_frame_decision,
    decode_frame_observation,
    frame_decision_from_action,
    frame_observation,
)
from mec_gym.simulators.two_timescale import FrameDecision, TwoTimescaleSimulator
from mec_gym.solvers.two_timescale.frame import FRAME_POLICIES, dt_association

SMALL = {"frames_per_episode": 3, "slots_per_frame": 5}
LONGER_FRAMES = {"frames_per_episode": 2, "slots_per_frame": 12}
"""Frames long enough for numpy's pairwise summation to differ from summing in order."""


@pytest.mark.parametrize("named", [False, True])
def test_a_frame_step_plays_the_slot_envs_slots(named):
    closed_form = SlotBaselinePolicy(TwoTimescaleEnv(**SMALL), "closed_form")
    # by name, the rule runs on the exact slot; as a callable, on the float32 observation
    slot_policy = "closed_form" if named else AgentSlotPolicy(closed_form)
    frame_env = TwoTimescaleFrameEnv(slot_policy=slot_policy, **SMALL)
    rtol = 1e-5 if named else 1e-12
    frame_env.action_space.seed(0)
    actions = [frame_env.action_space.sample() for _ in range(3)]
    decisions = iter(
        FrameDecision(a[: frame_env.config.num_mus], a[frame_env.config.num_mus :].astype(bool))
        for a in actions
    )
    slot_env = TwoTimescaleEnv(frame_policy=lambda view: next(decisions), **SMALL)
    frame_env.reset(seed=4)
    obs, _ = slot_env.reset(seed=4)
    for action in actions:
        _, reward, _, truncated, info = frame_env.step(action)
        slot_costs = []
        for _ in range(SMALL["slots_per_frame"]):
            obs, _, _, slot_truncated, slot_info = slot_env.step(closed_form.predict(obs)[0])
            slot_costs.append(slot_info["slot_cost"])
        assert info["frame_cost"] == pytest.approx(sum(slot_costs), rel=rtol)
        n = frame_env.config.num_mus
        assert reward == pytest.approx(-np.mean(slot_costs) / n, rel=rtol)
        assert info["cost"] == pytest.approx(slot_info["cost"], rel=rtol)
    assert truncated and slot_truncated


def test_frame_observation_decodes_to_the_dt_view():
    env = TwoTimescaleFrameEnv(**SMALL)
    obs, _ = env.reset(seed=2)
    for frame in range(3):
        view = env.simulator.frame_view()
        decoded = decode_frame_observation(env.config, obs)
        np.testing.assert_allclose(decoded.statistics.mean_rate, view.statistics.mean_rate, 1e-5)
        np.testing.assert_allclose(
            decoded.statistics.accuracy_end_of_frame,
            view.statistics.accuracy_end_of_frame,
            rtol=1e-6,
        )
        np.testing.assert_allclose(decoded.distances, view.distances, rtol=1e-5)
        assert decoded.frame == frame
        assert env.observation_space.contains(obs)
        obs, *_ = env.step(env.action_space.sample())
    assert decode_frame_observation(env.config, obs).frame == 3


def test_frame_rule_policies_act_as_their_rules_on_the_exact_view():
    env = TwoTimescaleFrameEnv(**SMALL)
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        view = env.simulator.frame_view()
        for name, rule in FRAME_POLICIES.items():
            action = FrameRulePolicy(env, name).predict(obs)[0]
            np.testing.assert_array_equal(
                action, action_from_frame_decision(env.config, rule(view))
            )


def test_over_capacity_association_is_repaired_and_bad_actions_raise():
    env = TwoTimescaleFrameEnv(max_users_per_bs=6, **SMALL)
    env.reset(seed=1)
    view = env.simulator.frame_view()
    n = env.config.num_mus
    action = np.concatenate((np.zeros(n, int), np.ones(n, int)))
    decision = frame_decision_from_action(view, action)
    load = np.bincount(decision.association, minlength=env.config.num_bs)
    assert load.max() <= 6 and np.sum(decision.association == 0) == 6
    kept = decision.association == 0
    rate0 = view.statistics.mean_rate[:, 0] / view.statistics.mean_rate.max(axis=1)
    assert rate0[kept].min() >= rate0[~kept].max()  # the MUs best served by BS 0 keep it
    env.step(action)
    for bad, match in (
        (np.zeros(n, int), "integers"),
        (np.full(2 * n, 0.5), "integers"),
        (np.concatenate((np.full(n, 3), np.zeros(n, int))), "BS indices"),
        (np.concatenate((np.zeros(n, int), np.full(n, 2))), "retraining flags"),
    ):
        with pytest.raises(ValueError, match=match):
            env.step(bad)


def test_trained_agents_plug_in_at_either_level():
    frame_env = TwoTimescaleFrameEnv(**SMALL)
    rule_agent = FrameRulePolicy(frame_env, "dt_threshold")
    by_name = TwoTimescaleEnv(frame_policy="dt_threshold", **SMALL)
    by_agent = TwoTimescaleEnv(frame_policy=AgentFramePolicy(rule_agent), **SMALL)
    for env in (by_name, by_agent):
        env.reset(seed=6)
    for _ in range(by_name.config.slots_per_episode):
        np.testing.assert_array_equal(by_agent.state.association, by_name.state.association)
        np.testing.assert_array_equal(by_agent.state.retrain, by_name.state.retrain)
        action = by_name.action_space.sample()
        by_name.step(action)
        by_agent.step(action)
    slot_agent = SlotBaselinePolicy(by_name, "closed_form")
    plugged = TwoTimescaleFrameEnv(slot_policy=AgentSlotPolicy(slot_agent), **SMALL)
    default = TwoTimescaleFrameEnv(**SMALL)
    for env in (plugged, default):
        env.reset(seed=7)
    action = default.action_space.sample()
    assert plugged.step(action)[1] == pytest.approx(default.step(action)[1], rel=1e-5)
    assert TwoTimescaleFrameEnv(slot_policy="equal", **SMALL).slot_policy == "equal"
    with pytest.raises(ValueError, match="slot_policy must be one of"):
        TwoTimescaleFrameEnv(slot_policy="best", **SMALL)


def test_retrain_only_actions_take_the_dt_association():
    env = TwoTimescaleFrameEnv(frame_action="retrain", **SMALL)
    n = env.config.num_mus
    assert env.action_space == gym.spaces.MultiDiscrete([2] * n)
    env.reset(seed=3)
    view = env.simulator.frame_view()
    flags = np.arange(n) % 2
    env.step(flags)
    expected = dt_association(view.statistics, env.config, flags.astype(bool))
    np.testing.assert_array_equal(env.state.association, expected)
    np.testing.assert_array_equal(env.state.retrain, flags.astype(bool))
    policies = two_timescale_frame_baselines("TwoTimescaleFrame-v0", {"frame_action": "retrain"}, 0)
    assert set(policies) == {"dt_threshold", "dt_never", "dt_always", "random"}
    obs = env.observation_space.sample()
    assert env.action_space.contains(policies["dt_threshold"].predict(obs)[0])


def test_frame_baselines_run_and_threshold_retraining_beats_random_never_and_always():
    env = gym.make("mec_gym:TwoTimescaleFrame-v0", **SMALL)
    policies = two_timescale_frame_baselines("TwoTimescaleFrame-v0", SMALL, seed=0)
    assert set(policies) == {*FRAME_POLICIES, "random"}
    assert isinstance(policies["random"], RandomFramePolicy)
    costs = {}
    for name, policy in policies.items():
        costs[name] = np.mean([run_episode(policy, env, seed)[0]["cost"] for seed in range(3)])
    assert costs["dt_threshold"] < min(costs["random"], costs["dt_always"], costs["dt_never"])


@pytest.mark.parametrize("slot_action", ["full", "ratio", "ratio_binary"])
def test_vector_env_equals_sync_vector_env_step_by_step(slot_action, two_timescale_path):
    kwargs = {"frames_per_episode": 2, "slots_per_frame": 4, "slot_action": slot_action}
    native = gym.make_vec(
        "mec_gym:TwoTimescale-v0", 3, vectorization_mode="vector_entry_point", **kwargs
    )
    sync = gym.make_vec("mec_gym:TwoTimescale-v0", 3, vectorization_mode="sync", **kwargs)
    assert native.single_observation_space == sync.single_observation_space
    obs_native, _ = native.reset(seed=5)
    obs_sync, _ = sync.reset(seed=5)
    np.testing.assert_array_equal(obs_native, obs_sync)
    native.action_space.seed(1)
    resets = 0
    for _ in range(19):  # two episodes and their autoresets
        actions = native.action_space.sample()
        step_native = native.step(actions)
        step_sync = sync.step(actions)
        for a, b in zip(step_native[:4], step_sync[:4], strict=True):
            np.testing.assert_array_equal(a, b)
        info_native, info_sync = step_native[4], step_sync[4]
        assert set(info_native) == set(info_sync)
        for key in info_native:
            np.testing.assert_array_equal(info_native[key], info_sync[key])
        resets += int(step_native[3].all())
    assert resets == 2
    for name in ("closed_form", "closed_form_adaptive"):  # the second's ratios follow each row
        rule = SlotBaselinePolicy(gym.make("mec_gym:TwoTimescale-v0", **kwargs), name)
        batch = rule.predict(obs_native)[0]
        rows = np.stack([rule.predict(row)[0] for row in obs_native])
        np.testing.assert_allclose(batch, rows, rtol=1e-12)
    with pytest.raises(ValueError, match="render"):
        gym.make_vec(
            "mec_gym:TwoTimescale-v0",
            2,
            vectorization_mode="vector_entry_point",
            render_mode="rgb_array",
        )


def test_a_plugged_binary_slot_policy_plays_as_the_named_baseline():
    """TwoTimescaleFrame-v0 under slot_action="ratio_binary": the adaptive baseline plugged in
    as a callable on slot observations (its int8 actions, as float32 too: what SB3 gives)
    plays the frames the named baseline plays, bit for bit."""
    kwargs = {**SMALL, "slot_action": "ratio_binary"}
    rule = SlotRuleAction(TwoTimescaleFrameEnv(**kwargs).config, "closed_form_adaptive")
    rewards = []
    for slot_policy in ("closed_form_adaptive", rule, lambda obs: rule(obs).astype(np.float32)):
        env = TwoTimescaleFrameEnv(slot_policy=slot_policy, **kwargs)
        env.reset(seed=3)
        env.action_space.seed(0)
        rewards.append([env.step(env.action_space.sample())[1] for _ in range(3)])
    assert rewards[0] == rewards[1] == rewards[2]


def test_a_large_dt_error_keeps_the_observation_in_its_space():
    """The DT's accuracy estimate acc (1 + eps) can pass 1: the observation clips it."""
    env = gym.make("TwoTimescaleFrame-v0", dt_error_max=0.5, acc_max=0.99, acc_min=0.5)
    for seed in range(5):
        observation, _ = env.reset(seed=seed)
        assert env.observation_space.contains(observation)


@pytest.mark.parametrize("rule", ["closed_form", "equal"])
def test_fixed_ratio_rules_play_a_frame_in_one_call_as_slot_by_slot(rule):
    """A baseline with fixed generation ratios plays the frame through ``step_slots``; the
    frame's costs, the reward, the episode means, the next observation and the last slot equal
    the slots played one by one with ``slot_rule_decision``, bit for bit."""
    frame_env = TwoTimescaleFrameEnv(slot_policy=rule, **LONGER_FRAMES)
    frame_env.action_space.seed(2)
    actions = [frame_env.action_space.sample() for _ in range(LONGER_FRAMES["frames_per_episode"])]
    reference = TwoTimescaleFrameEnv(**LONGER_FRAMES).simulator  # stepped by hand
    frame_env.reset(seed=6)
    reference.reset(seeding.np_random(6)[0])  # the generator reset(seed=6) gives the env
    episode_means = []
    for action in actions:
        decision = frame_decision_from_action(reference.frame_view(), action)
        observation, reward, _, _, info = frame_env.step(action)
        reference.begin_frame(decision)
        problem = reference.slot_problem()
        costs, totals = [], np.zeros(6)
        for _ in range(LONGER_FRAMES["slots_per_frame"]):
            outcome = reference.step_slot(
                slot_rule_decision(reference.config, rule, reference, problem), check=False
            )
            costs.append(float(outcome.summary[0]))
            totals += outcome.summary
        means = totals / LONGER_FRAMES["slots_per_frame"]
        assert info["frame_cost"] == float(np.cumsum(costs)[-1])
        assert reward == -float(means[0]) / frame_env.config.num_mus
        episode_means.append(means)
        expected = np.mean(episode_means, axis=0)
        keys = ("cost", "transmission", "computation", "retraining", "accuracy", "violation")
        np.testing.assert_allclose([info[k] for k in keys], expected, rtol=1e-15)
        if not reference.done:
            np.testing.assert_array_equal(observation, frame_observation(reference.frame_view()))
        assert frame_env.cost_history[-len(costs) :] == costs
        np.testing.assert_array_equal(
            frame_env.simulator.state.last_outcome.summary, reference.state.last_outcome.summary
        )


def test_fixed_rule_decision_refuses_accuracy_driven_ratios_and_batches():
    env = TwoTimescaleFrameEnv(**SMALL)
    env.reset(seed=0)
    simulator = env.simulator
    simulator.begin_frame(frame_decision_from_action(simulator.frame_view(), np.zeros(30, int)))
    problem = simulator.slot_problem()
    with pytest.raises(ValueError, match="slot by slot"):
        fixed_rule_decision(env.config, "closed_form_adaptive", simulator, problem)
    batched = TwoTimescaleSimulator(env.config, num_envs=2)
    with pytest.raises(ValueError, match="one-episode simulator"):
        fixed_rule_decision(env.config, "closed_form", batched, problem)
