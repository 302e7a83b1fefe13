"""PerTaskOffload-v1: task physics, reservations, FIFO local queues, arrivals."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import mec_gym  # noqa: F401
from mec_gym.agents.joint_offload import PerTaskRulePolicy
from mec_gym.envs.per_task_offload import (
    BACKLOG_SCALE_S,
    MIN_ABSOLUTE_SHARE,
    OFFLOAD_SHARES,
    RELEASE_SCALE_S,
    SHARE_FRACTION_FLOOR,
    PerTaskOffloadEnv,
)
from mec_gym.problems.joint_offload import (
    Allocation,
    JointOffloadProblem,
    channel_gains_db,
    evaluate_allocation,
)

ENV_ID = "PerTaskOffload-v1"


def make(**kwargs) -> PerTaskOffloadEnv:
    return gym.make(ENV_ID, **{"num_devices": 4, "tasks_per_episode": 150, **kwargs}).unwrapped


def play(env: PerTaskOffloadEnv, seed: int, policy=None) -> tuple[list[float], dict]:
    """Rewards and last info of one episode (policy: env -> action; default uniform random)."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    rewards, done = [], False
    while not done:
        action = policy(env) if policy else rng.uniform(-1, 1, 5)
        _, reward, done, _, info = env.step(action)
        rewards.append(reward)
    return rewards, info


def busy_policy(env: PerTaskOffloadEnv) -> np.ndarray:
    """Offloads 3 tasks in 4 with large shares (so that reservations overlap), else local."""
    offload = 1.0 if env.state.task % 4 else -1.0
    return np.array([offload, -0.5, 0.6, 0.4, 0.2])


@pytest.mark.parametrize(("field", "value"), [("arrival_rate", 0.0), ("tasks_per_episode", 0)])
def test_invalid_config_raises_value_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        gym.make(ENV_ID, **{field: value})


def test_observation_size_does_not_depend_on_the_number_of_devices():
    assert make(num_devices=2).observation_space == make(num_devices=30).observation_space


@pytest.mark.parametrize("policy", [None, busy_policy])
def test_rewards_are_minus_the_task_costs_and_the_physics_hold(policy):
    env = make()
    rewards, _ = play(env, 0, policy)
    cfg, problem = env.config, env.state.problem
    assert len(env.state.outcomes) == cfg.tasks_per_episode
    for outcome, reward in zip(env.state.outcomes, rewards, strict=True):
        rate = problem.rate[outcome.device]
        cycles = cfg.cycles_per_mac * problem.macs[outcome.frames]
        accuracy = problem.accuracy[outcome.frames]
        assert outcome.accuracy == accuracy
        assert env.min_frames <= outcome.frames <= cfg.max_frames
        if outcome.offload:
            upload = outcome.frames * cfg.frame_bits / (outcome.time_share * rate)
            compute = cycles / outcome.edge_frequency
            assert outcome.upload_end - outcome.arrival == pytest.approx(upload, rel=1e-9)
            assert outcome.finish - outcome.upload_end == pytest.approx(compute, rel=1e-6)
            energy = cfg.transmit_power * outcome.frames * cfg.frame_bits / rate
            assert outcome.waiting == 0.0
        else:
            compute = cycles / outcome.local_frequency
            assert outcome.finish - outcome.start == pytest.approx(compute, rel=1e-9)
            assert outcome.waiting == pytest.approx(outcome.start - outcome.arrival)
            macs = problem.macs[outcome.frames]
            energy = cfg.capacitance * cfg.local_energy_cycles_per_mac * macs
            energy *= outcome.local_frequency**2
        assert outcome.delay == pytest.approx(outcome.finish - outcome.arrival, rel=1e-9)
        assert outcome.energy == pytest.approx(energy, rel=1e-9)
        cost = (
            cfg.delay_weight * outcome.delay
            + cfg.energy_weight * outcome.energy
            - cfg.accuracy_weight * accuracy
        )
        assert -reward == pytest.approx(cost, rel=1e-9, abs=1e-12)
        assert outcome.cost == -reward


def test_task_cost_is_evaluate_allocation_on_a_one_device_instance_plus_waiting():
    env = make()
    play(env, 1, busy_policy)
    for outcome in env.state.outcomes:
        single = JointOffloadProblem.from_gains(
            env.config, env.state.problem.gain_db[[outcome.device]]
        )
        assert np.allclose(env.state.problem.rate[[outcome.device]], single.rate, rtol=1e-14)
        allocation = Allocation(
            [outcome.offload],
            [outcome.frames],
            [outcome.time_share],
            [outcome.edge_frequency],
            [outcome.local_frequency],
        )
        expected = evaluate_allocation(single, allocation).cost[0]
        waiting_cost = env.config.delay_weight * outcome.waiting
        assert outcome.cost == pytest.approx(expected + waiting_cost, rel=1e-12, abs=1e-15)


def test_local_tasks_run_one_at_a_time_first_come_first_served():
    env = make(num_devices=2, arrival_rate=3.0)  # local tasks take ~0.4 s: queues build up
    play(env, 2, lambda e: np.array([-1.0, 1.0, 0.0, 0.0, -0.5]))
    waited = 0
    for device in range(2):
        local = [o for o in env.state.outcomes if o.device == device and not o.offload]
        finish = 0.0
        for outcome in local:  # outcomes are in arrival order
            assert outcome.start == pytest.approx(max(outcome.arrival, finish), abs=1e-12)
            waited += outcome.waiting > 0
            finish = outcome.finish
    assert waited > 10


def test_reservations_never_exceed_the_budgets_and_are_released_when_they_end():
    env = make(arrival_rate=5.0)  # tasks overlap
    rng = np.random.default_rng(3)
    env.reset(seed=3)
    done, overlaps = False, 0
    while not done:
        now, decided = env.state.now, env.state.outcomes
        held_uplink = sum(
            o.time_share for o in decided if o.offload and o.arrival <= now < o.upload_end
        )
        held_edge = sum(
            o.edge_frequency for o in decided if o.offload and o.arrival <= now < o.finish
        )
        assert env.state.free_uplink_share == pytest.approx(max(1.0 - held_uplink, 0.0), abs=1e-12)
        assert env.simulator.free_edge_frequency() == pytest.approx(
            max(env.config.edge_capacity - held_edge, 0.0), rel=1e-9, abs=1.0
        )
        assert held_uplink <= 1.0 + len(decided) * MIN_ABSOLUTE_SHARE
        overlaps += held_edge > 0
        action = rng.uniform(-1, 1, 5)
        action[0] = 1.0
        _, _, done, _, _ = env.step(action)
    assert overlaps > 50


def test_shares_are_the_chosen_fractions_of_what_is_free():
    env = make(arrival_rate=5.0)
    env.reset(seed=4)
    rng = np.random.default_rng(4)
    for _ in range(60):
        action = rng.uniform(-1, 1, 5)
        action[0] = 1.0
        free_uplink, free_edge = env.state.free_uplink_share, env.simulator.free_edge_frequency()
        env.step(action)
        outcome = env.state.outcomes[-1]
        fraction = SHARE_FRACTION_FLOOR + (1 - 2 * SHARE_FRACTION_FLOOR) * (action[2] + 1) / 2
        assert outcome.time_share == pytest.approx(
            max(fraction * free_uplink, MIN_ABSOLUTE_SHARE), rel=1e-12
        )
        floor = MIN_ABSOLUTE_SHARE * env.config.edge_capacity
        assert outcome.edge_frequency <= max(free_edge * (1 - SHARE_FRACTION_FLOOR), floor)
        assert outcome.edge_frequency >= max(free_edge * SHARE_FRACTION_FLOOR, floor) * (1 - 1e-12)


def test_action_from_allocation_requests_the_given_absolute_shares():
    env = make(arrival_rate=5.0)
    env.reset(seed=5)
    for _ in range(40):
        tau = 0.4 * env.state.free_uplink_share
        edge = 0.7 * env.simulator.free_edge_frequency()
        request = Allocation([True], [7], [tau], [edge], [0.0])
        action = env.action_from_allocation(request)
        assert env.action_space.contains(action)
        env.step(action)
        outcome = env.state.outcomes[-1]
        assert outcome.offload and outcome.frames == 7
        assert outcome.time_share == pytest.approx(tau, rel=1e-6)
        assert outcome.edge_frequency == pytest.approx(edge, rel=1e-6)
        local = Allocation([False], [9], [0.0], [0.0], [0.5 * env.config.device_max_frequency])
        env.step(env.action_from_allocation(local))
        outcome = env.state.outcomes[-1]
        assert not outcome.offload and outcome.frames == 9
        assert outcome.local_frequency == pytest.approx(0.5 * env.config.device_max_frequency)


def test_task_problem_is_the_devices_channel():
    env = make()
    env.reset(seed=14)
    for _ in range(10):
        assert env.simulator.task_problem().gain_db.tolist() == [
            env.state.problem.gain_db[env.state.device]
        ]
        assert (
            env.simulator.task_problem().rate[0]
            == env.simulator.task_rate()
            == env.state.problem.rate[env.state.device]
        )
        env.step(env.action_space.sample())


def test_out_of_range_actions_are_clipped():
    first, second = make(), make()
    first.reset(seed=6)
    second.reset(seed=6)
    rng = np.random.default_rng(6)
    for _ in range(30):
        action = rng.uniform(-1, 1, 5)
        assert first.step(10 * action)[1] == second.step(np.clip(10 * action, -1, 1))[1]


@pytest.mark.parametrize(
    "action",
    [
        [0.3, -1.5, 0.2, 2.0, -0.4],
        np.array([0.3, -1.5, 0.2, 2.0, -0.4], dtype=np.float16),
        np.array([0.3, -1.5, 0.2, 2.0, -0.4], dtype=np.float32),
        np.array([0.3, -1.5, 0.2, 2.0, -0.4]),
        np.array([[0.3, -1.5, 0.2, 2.0, -0.4]], dtype=np.float32),
        np.array([0.1, -0.2, 0.3, -0.4, 0.5], dtype=np.longdouble) / 3,
        np.array([1, 0, -1, 2, -3]),
        np.array([True, False, True, False, True]),
    ],
)
def test_an_action_maps_to_the_unit_interval_as_float64_values(action):
    env = make()
    env.reset(seed=0)
    values = np.asarray(action, dtype=float).reshape(-1)
    expected = ((np.clip(values, -1.0, 1.0) + 1.0) * 0.5).tolist()
    parsed = env.unwrapped._parse_action(action)
    assert parsed == expected and all(type(value) is float for value in parsed)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (np.zeros(4), "5 entries"),
        (np.array([0.0, np.nan, 0.0, 0.0, 0.0]), "finite"),
        ([np.inf] * 5, "finite"),
    ],
)
def test_a_bad_action_is_a_value_error(action, message):
    env = make()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(action)


def test_poisson_arrivals_at_the_configured_rate_uniform_over_devices():
    env = make(num_devices=5, arrival_rate=0.4, tasks_per_episode=4000)
    env.reset(seed=7)
    gaps = np.diff(np.concatenate(([0.0], env.state.arrival_times)))
    assert gaps.mean() == pytest.approx(1 / (5 * 0.4), rel=0.05)
    assert gaps.std() == pytest.approx(gaps.mean(), rel=0.08)  # exponential: std = mean
    counts = np.bincount(env.state.task_device, minlength=5)
    assert counts.min() > 0.85 * 4000 / 5


def test_channels_are_fixed_per_episode_and_redrawn_at_reset():
    env = make(shadowing_std_db=0.0)
    env.reset(seed=8)
    gains = env.state.problem.gain_db.copy()
    assert np.array_equal(gains, channel_gains_db(env.config, env.state.distance))
    for _ in range(20):
        env.step(env.action_space.sample())
        assert np.array_equal(env.state.problem.gain_db, gains)
    env.reset(seed=9)
    assert not np.array_equal(env.state.problem.gain_db, gains)


def test_observation_reports_the_state_of_the_decision():
    env = make(arrival_rate=5.0)
    obs, _ = env.reset(seed=10)
    rng = np.random.default_rng(10)
    for _ in range(80):
        assert obs[2] == np.float32(env.state.free_uplink_share)
        assert obs[3] == np.float32(env.state.free_edge_share)
        backlog = env.simulator.local_backlog()
        assert obs[1] == np.float32(backlog / (backlog + 1.0))
        in_service = len(env.state.edge_jobs)
        assert obs[5] == np.float32(in_service / (in_service + 2))
        obs, *_ = env.step(rng.uniform(-1, 1, 5))


def test_episode_terminates_after_the_last_task():
    env = make(tasks_per_episode=5)
    env.reset(seed=11)
    flags = [env.step(env.action_space.sample())[2] for _ in range(5)]
    assert flags == [False] * 4 + [True]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(env.action_space.sample())


def test_info_holds_episode_means():
    env = make()
    rewards, info = play(env, 12)
    assert info["cost"] == pytest.approx(-np.mean(rewards))
    assert info["offload_rate"] == pytest.approx(np.mean([o.offload for o in env.state.outcomes]))
    assert info["waiting"] == pytest.approx(np.mean([o.waiting for o in env.state.outcomes]))


def test_render_views_show_the_reservations():
    env = make(render_mode="ansi", arrival_rate=5.0)
    env.reset(seed=13)
    for _ in range(5):
        env.step(np.array([1.0, 0.0, 0.0, 0.0, 0.0]))
    assert "free uplink" in env.render()
    image = make(render_mode="rgb_array")
    image.reset(seed=13)
    assert image.render().shape[2] == 3


def squashed_tolerance(value: float, scale: float) -> float:
    """Relative error of decoding ``value`` from its float32 ``x = t / (t + scale)``: one
    float32 step near 1 (6e-8) becomes ``6e-8 (t + scale)^2 / (scale t)`` relative in t."""
    return 1e-4 + 1.2e-7 * (value + scale) / scale


def test_decode_observation_inverts_every_feature():
    env = make(arrival_rate=5.0)
    env.action_space.seed(21)
    obs, _ = env.reset(seed=21)
    for _ in range(40):
        st = env.state
        values = env.decode_observation(obs)
        assert values["gain_db"] == pytest.approx(st.problem.gain_db[st.device], abs=1e-3)
        backlog = env.simulator.local_backlog()
        assert values["local_backlog"] == pytest.approx(
            backlog, rel=squashed_tolerance(backlog, BACKLOG_SCALE_S), abs=1e-5
        )
        assert values["uploads"] == len(st.uploads) and values["edge_jobs"] == len(st.edge_jobs)
        upcoming = sorted(st.uploads)[: len(values["upload_releases"])]
        for (wait, share), (end, held) in zip(values["upload_releases"], upcoming, strict=True):
            tolerance = squashed_tolerance(end - st.now, RELEASE_SCALE_S)
            assert wait == pytest.approx(end - st.now, rel=tolerance, abs=1e-6)
            assert share == pytest.approx(held, rel=1e-6)
        obs, _, done, _, _ = env.step(env.action_space.sample())
        if done:
            break


# ------------------------------------------------------------------ options mode
def test_options_mode_spaces_pass_both_checkers():
    from gymnasium.utils.env_checker import check_env as gym_check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = make(action_mode="options")
    assert env.action_space == gym.spaces.Discrete(1 + len(OFFLOAD_SHARES))
    gym_check_env(make(action_mode="options"))
    sb3_check_env(make(action_mode="options"), warn=True)


def test_each_option_is_costed_as_observed_and_rewarded():
    env = make(action_mode="options")
    obs, _ = env.reset(seed=2)
    rng = np.random.default_rng(2)
    for _ in range(60):
        options = env.option_decisions()
        observed = env.decode_observation(obs)["option_costs"]
        assert observed == pytest.approx([cost for _, cost in options], rel=1e-5, abs=1e-6)
        choice = int(rng.choice(np.flatnonzero(env.action_masks())))
        obs, reward, terminated, _, _ = env.step(choice)
        assert -reward == pytest.approx(options[choice][1], rel=1e-12)
        if terminated:
            break


def test_the_greedy_and_half_share_rules_are_options_exactly():
    for share in (None, 0.5):
        costs = {}
        for mode in ("continuous", "options"):
            env = make(action_mode=mode)
            policy = PerTaskRulePolicy(env, share=share)
            obs, _ = env.reset(seed=5)
            rewards, done = [], False
            while not done:
                obs, reward, done, _, _ = env.step(policy.act(obs, 0))
                rewards.append(reward)
            costs[mode] = rewards
        # the continuous action carries the shares in float32
        assert costs["options"] == pytest.approx(costs["continuous"], rel=1e-6)


def test_masks_drop_duplicate_reservations_and_options_that_cannot_pay():
    env = make(action_mode="options", tasks_per_episode=400)
    env.reset(seed=7)
    seen_duplicate = seen_dominated = False
    while not env.simulator.done:
        mask = env.action_masks()
        assert mask[0]  # local is always valid
        st = env.state
        shares = env.option_shares(st.free_uplink_share, st.free_edge_share)
        costs = [cost for _, cost in env.option_decisions()]
        later = env.config.tasks_per_episode - st.task - 1
        bound = costs[0] + env.config.delay_weight * env.local_delay * later
        for k in range(1, len(costs)):
            duplicate = k > 1 and np.array_equal(shares[k - 1], shares[k - 2])
            dominated = costs[k] > bound
            assert mask[k] == (not duplicate and not dominated)
            seen_duplicate |= duplicate
            seen_dominated |= dominated
        env.step(int(np.flatnonzero(mask)[-1]))  # the largest valid reservation
    assert seen_duplicate
    with pytest.raises(ValueError, match="options"):
        make().action_masks()


@pytest.mark.parametrize("bad", [5, -1, 1.5, [0, 1]])
def test_invalid_options_raise(bad):
    env = make(action_mode="options")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(np.asarray(bad))
