"""TwoTimescale-v0: action -> shares -> reward, observations, frame policies, baselines."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import mec_gym  # noqa: F401
from mec_gym.agents.base import run_episode
from mec_gym.agents.two_timescale import two_timescale_baselines
from mec_gym.envs.two_timescale import (
    WEIGHT_FLOOR,
    SlotRuleAction,
    TwoTimescaleEnv,
    action_from_shares,
    compiled_weight_shares,
)
from mec_gym.problems.two_timescale import share_violations, shares_from_weights
from mec_gym.simulators.two_timescale import (
    DTStatistics,
    FrameDecision,
    FrameView,
    TwoTimescaleEnvConfig,
)
from mec_gym.solvers.two_timescale import accuracy_target_ratio, closed_form_split, equal_split
from mec_gym.solvers.two_timescale.frame import (
    FRAME_POLICIES,
    RuleFramePolicy,
    always_retrain,
    dt_association,
    nearest_association,
    never_retrain,
    threshold_retraining,
    user_cap,
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
    assert np.all(shares.inference > 0) and np.all(shares.retraining > 0)
    assert share_violations(problem, shares) == []
    np.testing.assert_allclose(shares.inference, shares.retraining)
    used = problem.per_bs_sum(shares.inference + shares.retraining)
    load = np.bincount(problem.association, minlength=problem.num_bs)
    np.testing.assert_allclose(used[load > 0], env.config.bs_capacity)
    env.step(action)


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (np.zeros(5), "shape"),
        (np.zeros((15, 3)), "shape"),  # the right size, the wrong shape
        (np.full(45, np.nan), "finite"),
        (np.r_[np.zeros(44), np.inf].astype(np.float32), "finite"),
        (np.r_[np.zeros(44), -np.inf], "finite"),
        ([0.5] * 44, "shape"),
    ],
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
        np.testing.assert_allclose(decoded["accuracy"], st.accuracy, rtol=1e-6)
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
            retrain = threshold_retraining(stats, cfg)
            expected = dt_association(stats, cfg, retrain)
            np.testing.assert_array_equal(env.state.association, expected)
            np.testing.assert_array_equal(env.state.retrain, retrain)
        else:
            np.testing.assert_array_equal(env.state.association, associations[-1])
        associations.append(env.state.association.copy())
        env.step(env.action_space.sample())
    assert any(not np.array_equal(a, associations[0]) for a in associations)


def _retrain_all_nearest(view: FrameView) -> FrameDecision:
    association = nearest_association(view.distances, view.config)
    return FrameDecision(association, np.ones(view.config.num_mus, dtype=bool))


def test_custom_frame_policy_is_used():
    calls = []

    def policy(view):
        calls.append(view.frame)
        return _retrain_all_nearest(view)

    env = make_env(frame_policy=policy)
    env.reset(seed=5)
    for slot in range(env.config.slots_per_episode):
        if slot % env.config.slots_per_frame == 0:
            nearest = nearest_association(env.simulator.distances(), env.config)
            np.testing.assert_array_equal(env.state.association, nearest)
        assert env.state.retrain.all()
        env.step(env.action_space.sample())
    assert calls == [0, 1, 2]
    with pytest.raises(TypeError, match="callable"):
        make_env(frame_policy=3)
    with pytest.raises(ValueError, match="frame_policy must be one of"):
        make_env(frame_policy="best")


@pytest.mark.parametrize("name", sorted(FRAME_POLICIES))
def test_named_frame_policies_apply_their_rules(name):
    env = make_env(frame_policy=name, dt_error_max=0.0)
    env.reset(seed=8)
    rule = FRAME_POLICIES[name]
    stats = env.simulator.exact_statistics()
    if rule.retraining == "never":
        assert not env.state.retrain.any()
    elif rule.retraining == "always":
        assert env.state.retrain.all()
    else:
        np.testing.assert_array_equal(env.state.retrain, threshold_retraining(stats, env.config))
    if rule.association == "nearest":
        nearest = nearest_association(env.simulator.distances(), env.config)
        np.testing.assert_array_equal(env.state.association, nearest)
    with pytest.raises(ValueError, match="association must be"):
        RuleFramePolicy("closest")


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
        costs[name] = np.mean([run_episode(policy, env, seed)[0]["cost"] for seed in range(3)])
    assert costs["closed_form"] < costs["equal"]


def test_ratio_actions_split_in_closed_form_and_baselines_follow_the_mode():
    env = make_env(slot_action="ratio", frame_policy="dt_always")
    n = env.config.num_mus
    assert env.action_space.shape == (n,)
    env.reset(seed=9)
    ratio = np.linspace(0.0, 1.0, n)
    assert env.action_space == gym.spaces.Box(0.0, 1.0, (n,), np.float32)
    shares, played = env.decision_from_action(ratio)
    expected = closed_form_split(env.simulator.slot_problem(played))
    np.testing.assert_allclose(shares.inference, expected.inference, rtol=1e-12)
    np.testing.assert_allclose(shares.retraining, expected.retraining, rtol=1e-12)
    np.testing.assert_allclose(played, ratio, atol=1e-15)
    policies = two_timescale_baselines("TwoTimescale-v0", {**SMALL, "slot_action": "ratio"}, 0)
    assert set(policies) == {"closed_form", "closed_form_adaptive"}
    full = two_timescale_baselines("TwoTimescale-v0", SMALL, 0)
    assert set(full) == {"closed_form", "closed_form_adaptive", "equal"}
    with pytest.raises(ValueError, match="slot_action='full'"):
        SlotRuleAction(env.config, "equal")
    # the same baseline in both modes plays the same ratios; the full mode's weights floor
    # the share of a retrained MU with p = 0, the ratio mode splits exactly: never worse
    full_env = make_env(frame_policy="dt_always")
    obs_ratio, _ = env.reset(seed=2)
    obs_full, _ = full_env.reset(seed=2)
    for _ in range(6):
        obs_ratio, r_ratio, *_ = env.step(policies["closed_form_adaptive"].predict(obs_ratio)[0])
        obs_full, r_full, *_ = full_env.step(full["closed_form_adaptive"].predict(obs_full)[0])
        assert r_ratio >= r_full - 1e-12
        np.testing.assert_array_equal(env.state.q_model, full_env.state.q_model)


def test_binary_ratio_actions_play_as_ratio_actions_of_zero_or_one():
    binary = make_env(slot_action="ratio_binary", frame_policy="dt_always")
    ratio = make_env(slot_action="ratio", frame_policy="dt_always")
    n = binary.config.num_mus
    assert binary.action_space == gym.spaces.MultiBinary(n)
    check_env(make_env(slot_action="ratio_binary"), skip_render_check=True)
    policies = two_timescale_baselines(
        "TwoTimescale-v0", {**SMALL, "slot_action": "ratio_binary"}, 0
    )
    assert set(policies) == {"closed_form", "closed_form_adaptive"}
    obs_binary, _ = binary.reset(seed=4)
    obs_ratio, _ = ratio.reset(seed=4)
    rng = np.random.default_rng(1)
    for step in range(binary.config.slots_per_episode):
        if step % 2:  # the adaptive baseline, then random on/off choices
            action = policies["closed_form_adaptive"].predict(obs_binary)[0]
            assert action.dtype == np.int8 and binary.action_space.contains(action)
        else:  # as int8, bool or float32 (what SB3's Bernoulli samples are)
            action = rng.integers(0, 2, n, dtype=np.int8)
            action = [action, action.astype(bool), action.astype(np.float32)][step % 3]
        shares, played = binary.decision_from_action(action)
        (want_shares, want_ratio) = ratio.decision_from_action(action.astype(np.float32))
        assert as_bytes(shares.inference) == as_bytes(want_shares.inference)
        assert as_bytes(shares.retraining) == as_bytes(want_shares.retraining)
        assert as_bytes(played) == as_bytes(want_ratio)
        obs_binary, r_binary, *_ = binary.step(action)
        obs_ratio, r_ratio, *_ = ratio.step(action.astype(np.float32))
        assert r_binary == r_ratio
        np.testing.assert_array_equal(obs_binary, obs_ratio)
    binary.reset(seed=0)
    for bad in ([0.5] + [0] * (n - 1), [2] + [1] * (n - 1), [-1] + [0] * (n - 1)):
        for dtype in (np.float64, np.float32):
            with pytest.raises(ValueError, match="ratio_binary.*0 or 1"):
                binary.step(np.array(bad, dtype=dtype))


def test_adaptive_ratio_retrains_only_below_the_target():
    config = TwoTimescaleEnvConfig()
    accuracy = np.array([0.95, 0.901, 0.899, 0.5])
    np.testing.assert_array_equal(accuracy_target_ratio(accuracy, config), [0, 0, 1, 1])


def test_dt_association_balances_by_compute_cost_by_hand():
    # mean batch 0.6 Mbit: a lone batch costs 0.6e6 / 50e6 = 0.012 s of compute, joining a BS
    # with k batches adds (2k + 1) 0.012 s; transmission 0.6e6 / R is 0.03 s to BS 0, 0.04 s to 1
    config = TwoTimescaleEnvConfig(num_bs=2, num_mus=4)
    stats = DTStatistics(np.tile([2e7, 1.5e7], (4, 1)), np.zeros(4))
    assert user_cap(config) == 4
    np.testing.assert_array_equal(dt_association(stats, config), [0, 1, 0, 1])
    # MU 0 retrained: its work c_re Q adds sqrt(5 * 0.6e6) to BS 0's root sum, so the others
    # are cheaper at BS 1 (0.04 + 0.012 (2k + 1) s) than at BS 0 (0.03 + 0.0897 s)
    retrain = np.array([True, False, False, False])
    np.testing.assert_array_equal(dt_association(stats, config, retrain), [0, 1, 1, 1])
    capped = TwoTimescaleEnvConfig(num_bs=2, num_mus=4, max_users_per_bs=2)
    np.testing.assert_array_equal(dt_association(stats, capped, retrain), [0, 1, 1, 0])
    batched = DTStatistics(np.stack((stats.mean_rate, stats.mean_rate[:, ::-1])), np.zeros((2, 4)))
    np.testing.assert_array_equal(
        dt_association(batched, config, np.stack((retrain, retrain))), [[0, 1, 1, 1], [1, 0, 0, 0]]
    )
    rng = np.random.default_rng(0)
    config = TwoTimescaleEnvConfig(num_bs=3, num_mus=10, max_users_per_bs=4)
    for _ in range(20):
        stats = DTStatistics(rng.exponential(1e7, size=(10, 3)), np.zeros(10))
        association = dt_association(stats, config, rng.random(10) < 0.5)
        assert np.bincount(association, minlength=3).max() <= 4


def test_retraining_rules():
    config = TwoTimescaleEnvConfig(num_mus=4)
    stats = DTStatistics(np.ones((4, 3)), np.array([0.9, 0.84, 0.85, 0.1]))
    np.testing.assert_array_equal(threshold_retraining(stats, config), [0, 1, 0, 1])
    np.testing.assert_array_equal(never_retrain(stats, config), [0, 0, 0, 0])
    np.testing.assert_array_equal(always_retrain(stats, config), [1, 1, 1, 1])
    distances = np.array([[3.0, 1.0], [0.5, 2.0], [0.2, 0.9]])
    two_bs = TwoTimescaleEnvConfig(num_bs=2, num_mus=3)
    np.testing.assert_array_equal(nearest_association(distances, two_bs), [1, 0, 0])
    capped = TwoTimescaleEnvConfig(num_bs=2, num_mus=4, max_users_per_bs=2)
    # three MUs prefer BS 0; under a cap of 2 the farthest of them (MU 1) goes to BS 1
    four = np.vstack((distances, [0.4, 5.0]))
    np.testing.assert_array_equal(nearest_association(four, capped), [1, 1, 0, 0])
    batched = nearest_association(np.stack((distances, distances[::-1])), two_bs)
    np.testing.assert_array_equal(batched, [[1, 0, 0], [0, 0, 1]])


def test_registered_id_runs_and_renders():
    env = gym.make("TwoTimescale-v0", render_mode="rgb_array", **SMALL)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    first = env.render()
    env.step(env.action_space.sample())
    assert env.render().shape == first.shape


def as_bytes(values) -> bytes:
    """The float64 bytes of ``values``: equal only if every value and sign of zero is."""
    return np.asarray(values, dtype=np.float64).tobytes()


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"slot_action": "ratio"},
        {"retrain_cost": 2, "bs_capacity": 50_000_000},
        {"slot_action": "ratio", "retrain_cost": 2, "retrain_ref_bits": 1_000_000},
    ],
)
def test_actions_map_to_the_same_decision_on_floats_as_on_arrays(changes, two_timescale_path):
    """The scalar env maps an action on Python floats, and (compiled) float32 and float64
    arrays; bit for bit (signs of zero included) what ``decision_from_action`` gives on arrays,
    for actions in and out of the box, with negative zeros, of every float dtype and as lists,
    and with whole-number config fields."""
    env = make_env(frames_per_episode=2, **changes)
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    size = env.action_space.shape[0]
    if two_timescale_path == "compiled":
        signatures = len(compiled_weight_shares().signatures)
    for step in range(env.config.slots_per_episode):
        action = rng.uniform(-0.5, 1.5, size) if step % 2 else rng.random(size)
        action[rng.random(size) < 0.2] = -0.0
        candidates = [action, action.tolist()]
        candidates += [action.astype(t) for t in (np.float16, np.float32, np.longdouble, ">f8")]
        frozen = np.repeat(action, 2)[::2]  # not contiguous, and read-only
        frozen.flags.writeable = False
        candidates.append(frozen)
        for candidate in candidates:
            shares, ratio = env.decision_from_action(candidate)
            got = env.decision_lists(candidate)
            expected = (shares.inference, shares.retraining, ratio)
            assert list(map(as_bytes, got)) == list(map(as_bytes, expected))
            compiled = env.compiled_decision(candidate)
            applies = isinstance(candidate, np.ndarray) and candidate.dtype.char in "fd"
            applies &= two_timescale_path == "compiled" and env.config.slot_action == "full"
            if applies:
                assert list(map(as_bytes, compiled)) == list(map(as_bytes, expected))
            else:
                assert compiled is None
        env.step(action)
    assert env.frame_problem is None  # the episode is over
    assert env.compiled_decision(np.zeros(size)) is None
    if two_timescale_path == "compiled":  # no array made the map compile again
        assert len(compiled_weight_shares().signatures) == signatures
    for decide in (env.decision_from_action, env.decision_lists):
        with pytest.raises(RuntimeError, match="no running frame"):
            decide(np.zeros(size))
        with pytest.raises(RuntimeError, match="no running frame"):
            decide_before_reset = getattr(make_env(**changes), decide.__name__)
            decide_before_reset(np.zeros(size))
    env.reset(seed=3)
    for bad in (np.inf, np.nan):  # not mapped: the step raises decision_from_action's error
        assert env.compiled_decision(np.full(size, bad)) is None
