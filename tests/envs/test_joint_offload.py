"""JointOffload-v1: presets, action mappings, exact agreement with the solvers, mobility."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import mec_gym  # noqa: F401
from mec_gym.agents.joint_offload import PerTaskRulePolicy
from mec_gym.envs.joint_offload import JointOffloadEnv, JointOffloadEnvConfig, decisions_allocation
from mec_gym.envs.per_task_offload import PerTaskOffloadConfig
from mec_gym.problems.joint_offload import (
    PRESETS,
    JointOffloadConfig,
    JointOffloadProblem,
    channel_gains_db,
    evaluate_allocation,
    feasibility_violations,
)
from mec_gym.simulators.joint_offload import (
    CHUNK_ROUNDS,
    RoundChunk,
    RoundInstance,
    walk_in_cell,
)
from mec_gym.solvers.joint_offload.bound import exact_edge_frames, exact_optimum
from mec_gym.solvers.joint_offload.edge import compose_allocation
from mec_gym.solvers.joint_offload.local import local_optimum

ENV_ID = "JointOffload-v1"
N = 6


def make(**kwargs) -> JointOffloadEnv:
    return gym.make(ENV_ID, **{"num_devices": N, **kwargs}).unwrapped


def random_decisions(env: JointOffloadEnv, rng: np.random.Generator) -> tuple:
    """A random offloading mask and frames in [F_min, F_max] for the current round."""
    offload = rng.random(env.config.num_devices) < 0.5
    frames = rng.integers(env.min_frames, env.config.max_frames + 1, env.config.num_devices)
    return offload, frames


# ------------------------------------------------------------------ configuration and presets
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_devices", 0),
        ("bandwidth", -1.0),
        ("action_mode", "everything"),
        ("rounds_per_episode", 0),
        ("device_speed", -1.0),
        ("shadowing_std_db", float("nan")),
        ("shadowing_std_db", 31.0),
        ("num_devices", 10_001),
        ("max_frames", 2000),
        ("device_max_frequency", 1e300),
        ("edge_capacity", 2e12),
    ],
)
def test_invalid_config_raises_value_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        gym.make(ENV_ID, **{field: value})


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"area_side": 0.02}, r"min_distance .*area_side / 2 = 0.01.*change min_distance or "),
        ({"accuracy_form": "power"}, r"accuracy_requirement .*accuracy_form='power'.*; lower "),
        ({"path_loss_intercept_db": 300.0}, r"transmit_power, path_loss_intercept_db, .*below"),
        ({"path_loss_intercept_db": -300.0}, r"transmit_power, path_loss_intercept_db, .*above"),
        ({"transmit_power": 1e-30}, r"transmit_power, .* below -30 dB"),
    ],
)
def test_cross_field_errors_name_every_field_involved(overrides, match):
    with pytest.raises(ValueError, match=match):
        JointOffloadConfig(**overrides)


def test_unknown_preset_raises():
    with pytest.raises(ValueError, match="preset"):
        JointOffloadEnv(preset="pan2099")


@pytest.mark.parametrize(
    ("env_id", "preset"), [("JointOffload-pan2023-v1", "pan2023"), ("JointOffload-N8-v1", "N8")]
)
def test_preset_ids_differ_only_in_kwargs_and_apply_the_preset(env_id, preset):
    spec, base = gym.spec(env_id), gym.spec(ENV_ID)
    assert spec.entry_point == base.entry_point
    assert spec.max_episode_steps == base.max_episode_steps
    assert spec.kwargs == {"preset": preset}
    assert gym.make(env_id).unwrapped.config == JointOffloadEnvConfig.from_dict(PRESETS[preset])


def test_preset_precedence_preset_then_config_then_overrides():
    env = gym.make("JointOffload-pan2023-v1", rounds_per_episode=7).unwrapped
    assert env.config.tx_energy == "slot" and env.config.rounds_per_episode == 7
    partial = gym.make("JointOffload-pan2023-v1", config={"num_devices": 3}).unwrapped
    assert partial.config.num_devices == 3 and partial.config.tx_energy == "slot"
    full = gym.make("JointOffload-pan2023-v1", config=JointOffloadConfig()).unwrapped
    assert full.config == JointOffloadEnvConfig()


def test_default_scenario_is_the_balanced_preset_and_none_gives_the_spec_table():
    assert gym.make(ENV_ID).unwrapped.config == JointOffloadEnvConfig(**PRESETS["balanced"])
    assert gym.make(ENV_ID, preset=None).unwrapped.config == JointOffloadEnvConfig()
    per_task = gym.make("PerTaskOffload-v1").unwrapped.config
    assert per_task == PerTaskOffloadConfig(**PRESETS["balanced"])


@pytest.mark.parametrize("old", ["JointOffload-v0", "JointOffload-pan2023-v0", "PerTaskOffload-v0"])
def test_version_0_ids_point_to_version_1(old):
    with (
        pytest.warns(DeprecationWarning, match="out of date"),
        pytest.raises(gym.error.DeprecatedEnv, match=old.replace("v0", "v1")),
    ):
        gym.make(old)


def test_local_devices_follow_the_configs_decision_rule():
    """pan2023 decides by the cycles-based Theorem 1 (f* = 1.71 GHz, F = 5) in both envs."""
    env = gym.make("JointOffload-pan2023-v1").unwrapped
    env.reset(seed=0)
    zeros = np.zeros(env.config.num_devices, dtype=np.int64)
    env.step(np.stack([zeros, zeros + 5 - env.min_frames], axis=1))
    assert env.last_allocation.local_frequency == pytest.approx(1.71e9, rel=1e-3)
    per_task = gym.make("PerTaskOffload-v1", preset="pan2023", num_devices=3)
    policy = PerTaskRulePolicy(per_task, decision="local")
    observation, _ = per_task.reset(seed=0)
    for _ in range(5):
        observation, *_ = per_task.step(policy.predict(observation)[0])
    outcomes = per_task.unwrapped.state.outcomes
    assert [o.local_frequency for o in outcomes] == pytest.approx([1.71e9] * 5, rel=1e-3)
    assert {o.frames for o in outcomes} == {5}


def test_invalid_local_decision_energy_is_refused():
    with pytest.raises(ValueError, match="local_decision_energy"):
        JointOffloadConfig(local_decision_energy="joules")


def test_n8_preset_has_eight_devices():
    env = gym.make("JointOffload-N8-v1")
    assert env.observation_space.shape == (3 * 8 + 2,)
    assert env.action_space.shape == (16,)


# ------------------------------------------------------------------ decisions mode
def test_decisions_mode_reproduces_theorem_1_and_2_allocations_exactly():
    env = make()
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    costs = []
    for _ in range(10):
        problem = env.problem
        offload, frames = random_decisions(env, rng)
        allocation = compose_allocation(problem, offload, frames)
        expected = evaluate_allocation(problem, allocation)
        _, reward, _, _, info = env.step(env.action_from_allocation(allocation))
        assert reward == -expected.mean == -info["round_cost"]
        costs.append(expected.mean)
        assert info["cost"] == pytest.approx(np.mean(costs), rel=1e-12)  # episode to date
        if len(costs) == 1:
            assert info["delay"] == pytest.approx(expected.delay.mean(), rel=1e-12)
            assert info["offload_rate"] == pytest.approx(offload.mean())
        used = env.last_allocation
        assert env.last_problem is problem
        for name in ("offload", "frames", "time_share", "edge_frequency", "local_frequency"):
            assert np.array_equal(getattr(used, name), getattr(allocation, name)), name


def test_offload_mode_completes_each_set_optimally_and_reaches_the_exact_bound():
    env = make(action_mode="offload")
    assert env.action_space == gym.spaces.MultiBinary(N)
    gym_check_env(make(action_mode="offload"))
    sb3_check_env(make(action_mode="offload"), warn=True)
    rng = np.random.default_rng(4)
    env.reset(seed=4)
    for _ in range(6):
        problem = env.problem
        bound = exact_optimum(problem)
        offload = rng.random(N) < 0.5
        # any set: the exact frames for it, Theorems 1 and 2 for the rest
        devices = np.flatnonzero(offload)
        frames = np.zeros(N, dtype=np.int64)
        frames[devices] = exact_edge_frames(problem, devices).frames
        expected = evaluate_allocation(problem, compose_allocation(problem, offload, frames))
        assert env.allocation_from_action(offload.astype(np.int8)).offload.tolist() == list(offload)
        assert evaluate_allocation(
            problem, env.allocation_from_action(offload.astype(np.int8))
        ).total == pytest.approx(expected.total, rel=1e-12)
        assert expected.total >= bound.cost - 1e-9
        # the bound's set reaches the bound
        _, reward, *_ = env.step(env.action_from_allocation(bound.allocation))
        assert -reward * N == pytest.approx(bound.cost, rel=1e-12)


@pytest.mark.parametrize("bad", [np.full(N, 2), np.full(N, 0.5), np.zeros(N + 1), ["a"] * N])
def test_invalid_offload_actions_raise(bad):
    env = make(action_mode="offload")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(np.asarray(bad))


def test_all_local_at_theorem_1_costs_the_local_optimum():
    env = make()
    env.reset(seed=1)
    local = local_optimum(env.problem)
    action = np.stack((np.zeros(N, dtype=int), local.frames - env.min_frames), axis=1)
    _, reward, _, _, info = env.step(action.reshape(-1))
    assert -reward == pytest.approx(local.cost.mean(), rel=1e-12)
    assert info["offload_rate"] == 0.0


def test_decisions_actions_give_feasible_allocations_with_tight_budgets():
    env = make()
    env.reset(seed=2)
    env.action_space.seed(2)
    for _ in range(20):
        problem = env.problem
        allocation = env.allocation_from_action(env.action_space.sample())
        assert feasibility_violations(problem, allocation) == []
        if allocation.offload.any():
            assert allocation.time_share.sum() == pytest.approx(1.0)
            assert allocation.edge_frequency.sum() == pytest.approx(env.config.edge_capacity)
        env.step(env.action_from_allocation(allocation))


@pytest.mark.parametrize(
    "bad",
    [
        np.full(2 * N, 2),  # offload not in {0, 1}
        np.tile([0, 99], N),  # frames index out of range
        np.tile([0, -1], N),
        np.full(2 * N, 0.5),  # not integers
        np.zeros(2 * N + 1, dtype=int),  # wrong size
    ],
)
def test_invalid_decisions_actions_raise(bad):
    env = make()
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(bad)


def test_decisions_action_dtypes_and_forms_give_the_same_step():
    """An int array, integer floats, a row per device and a list step alike (the step computes
    in Python floats; the allocation it reports is what evaluate_allocation costs)."""
    rng = np.random.default_rng(5)
    first = make()
    first.reset(seed=5)
    action = np.stack((rng.integers(0, 2, N), rng.integers(0, first.num_frame_choices, N)), 1)
    forms = [
        action.reshape(-1),
        action.reshape(-1).astype(np.float32),
        action.astype(np.uint8),
        action,
        action.reshape(-1).tolist(),
    ]
    results = []
    for form in forms:
        env = make()
        env.reset(seed=5)
        problem = env.problem
        _, reward, _, _, info = env.step(form)
        assert env.last_problem is problem
        expected = evaluate_allocation(problem, env.last_allocation)
        assert reward == -expected.mean and info["delay"] == np.add.reduce(expected.delay) / N
        assert env.last_allocation.frames.dtype == np.int64
        results.append((reward, info))
    assert all(result == results[0] for result in results)
    with pytest.raises(ValueError, match="finite"):
        first.step(np.full(2 * N, np.nan))
    with pytest.raises(ValueError, match="integers"):
        first.step(np.zeros(2 * N, dtype=complex))


def test_an_offloading_device_without_uplink_costs_what_evaluate_allocation_says():
    """A zero full-band rate (an SNR that underflows) makes numpy's shares inf and NaN; the
    step in Python floats would divide by zero, so it falls back to the numpy path."""
    env = make()
    env.reset(seed=2)
    played = env.simulator.state.current
    rate = played.rate.copy()
    rate[0] = 0.0
    chunk = played.chunk
    zero_rate = RoundChunk(chunk.positions, chunk.distance, chunk.gain_db, rate[None])
    env.simulator.state.current = RoundInstance(env.simulator.template, zero_rate, 0)
    values = np.tile([1, 2], (N, 1))
    problem = env.problem
    assert problem.rate[0] == 0.0
    with np.errstate(all="ignore"):
        allocation = decisions_allocation(problem, values, env.local_frequency)
        expected = evaluate_allocation(problem, allocation)
        _, reward, _, _, info = env.step(values.reshape(-1))
    assert np.isnan(reward)
    np.testing.assert_equal(reward, -expected.mean)
    np.testing.assert_equal(info["delay"], np.add.reduce(expected.delay) / N)
    np.testing.assert_equal(env.last_allocation.time_share, allocation.time_share)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix
def test_theorem_1s_decisions_are_read_only_and_matrix_actions_are_arrays():
    env = make()
    env.reset(seed=0)
    with pytest.raises(AttributeError):
        env.local_frequency = env.local_frequency * 2
    with pytest.raises(ValueError):
        env.local_frames[0] = 3
    action = np.tile([0, 1], N)
    _, reward, *_ = env.step(np.asmatrix(action.reshape(N, 2)))
    again = make()
    again.reset(seed=0)
    assert again.step(action)[1] == reward


def test_last_allocation_and_problem_are_none_until_a_step():
    env = make()
    env.reset(seed=0)
    assert env.last_allocation is None and env.last_problem is None
    env.step(np.zeros(2 * N, dtype=np.int64))
    assert env.last_allocation is env.last_allocation  # built once
    assert not env.last_allocation.offload.any()
    env.reset(seed=1)
    assert env.last_allocation is None and env.last_problem is None


def test_decisions_action_accepts_device_rows():
    env = make()
    env.reset(seed=3)
    action = np.tile([1, 3], (N, 1))
    assert env.allocation_from_action(action).frames.tolist() == [env.min_frames + 3] * N


# ------------------------------------------------------------------ full mode
def test_full_mode_spaces_pass_both_checkers():
    env = make(action_mode="full")
    assert env.action_space.shape == (5 * N,)
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(make(action_mode="full"), warn=True)


def test_full_mode_reproduces_solver_allocations_up_to_float32():
    env = make(action_mode="full")
    rng = np.random.default_rng(4)
    env.reset(seed=4)
    for _ in range(10):
        problem = env.problem
        offload, frames = random_decisions(env, rng)
        allocation = compose_allocation(problem, offload, frames)
        expected = evaluate_allocation(problem, allocation)
        action = env.action_from_allocation(allocation)
        assert env.action_space.contains(action)
        _, reward, _, _, _ = env.step(action)
        assert -reward == pytest.approx(expected.mean, rel=1e-5)
        used = env.last_allocation
        assert np.array_equal(used.offload, allocation.offload)
        assert np.array_equal(used.frames, allocation.frames)
        for name in ("time_share", "edge_frequency", "local_frequency"):
            assert np.allclose(getattr(used, name), getattr(allocation, name), rtol=1e-5), name


def test_full_mode_maps_every_action_to_a_feasible_allocation():
    env = make(action_mode="full")
    env.reset(seed=5)
    rng = np.random.default_rng(5)
    for scale in (1.0, 10.0):  # out-of-range actions are clipped
        for _ in range(20):
            action = scale * rng.uniform(-1, 1, 5 * N)
            allocation = env.allocation_from_action(action)
            assert feasibility_violations(env.problem, allocation) == []
            clipped = env.allocation_from_action(np.clip(action, -1, 1))
            assert np.array_equal(allocation.time_share, clipped.time_share)
            assert np.array_equal(allocation.frames, clipped.frames)
    everything = env.allocation_from_action(np.ones(5 * N))
    assert everything.offload.all() and (everything.frames == env.config.max_frames).all()
    assert np.allclose(everything.time_share, 1.0 / N)
    nothing = env.allocation_from_action(-np.ones(5 * N))
    assert not nothing.offload.any() and (nothing.frames == env.min_frames).all()
    assert np.all(nothing.local_frequency > 0)


def test_full_mode_weights_are_normalised_over_the_offloading_devices():
    env = make(action_mode="full")
    env.reset(seed=6)
    action = -np.ones((N, 5))
    action[:2, 0] = 1.0  # devices 0, 1 offload
    action[0, 2], action[1, 2] = 1.0, 0.0  # time weights 1 + eps and 0.5 + eps
    action[2:, 2] = 1.0  # weights of local devices are ignored
    allocation = env.allocation_from_action(action)
    eps = 1e-3
    assert allocation.time_share[0] == pytest.approx((1 + eps) / (1.5 + 2 * eps))
    assert allocation.time_share[2:].sum() == 0.0
    assert allocation.edge_frequency[:2] == pytest.approx([env.config.edge_capacity / 2] * 2)


# ------------------------------------------------------------------ dynamics and observation
def test_round_instances_match_their_channels():
    env = make(shadowing_std_db=0.0)
    env.reset(seed=7)
    for _ in range(5):
        problem = env.problem
        assert np.array_equal(problem.gain_db, channel_gains_db(env.config, env.distance))
        fresh = JointOffloadProblem.from_gains(env.config, problem.gain_db)
        assert np.allclose(problem.rate, fresh.rate, rtol=1e-14, atol=0)
        assert np.array_equal(problem.macs, fresh.macs)
        assert np.array_equal(problem.accuracy, fresh.accuracy, equal_nan=True)
        env.step(env.action_space.sample())


def test_random_walk_moves_at_most_one_step_and_stays_in_the_cell():
    speed = 40.0  # fast, so that the border and the BS exclusion are hit
    env = make(device_speed=speed, min_distance=30.0, rounds_per_episode=CHUNK_ROUNDS + 40)
    env.reset(seed=8)
    half = env.config.area_side / 2
    previous = env.positions.copy()
    for _ in range(CHUNK_ROUNDS + 20):  # crosses a chunk boundary
        env.step(env.action_space.sample())
        moved = np.hypot(*(env.positions - previous).T)
        assert np.all(moved <= speed * env.config.round_duration + 1e-9)
        assert np.all(np.abs(env.positions) <= half)
        assert np.all(env.distance >= env.config.min_distance - 1e-9)
        assert np.allclose(env.distance, np.hypot(*env.positions.T))
        previous = env.positions.copy()


def test_walk_reflects_at_the_border_and_reverses_steps_into_the_bs_disc():
    config = JointOffloadConfig(area_side=100.0, min_distance=10.0)
    origin = np.array([[40.0, 0.0], [-40.0, 0.0], [0.0, 12.0]])
    steps = np.array([[[20.0, 0.0], [-130.0, 0.0], [0.0, -4.0]]])  # one round
    positions, distance = walk_in_cell(origin, steps, config)
    assert positions[0].tolist() == [[40.0, 0.0], [30.0, 0.0], [0.0, 16.0]]
    assert distance[0].tolist() == [40.0, 30.0, 16.0]


def test_static_devices_without_shadowing_keep_their_observation():
    env = make(device_speed=0.0, shadowing_std_db=0.0)
    first, _ = env.reset(seed=9)
    for _ in range(3):
        obs, *_ = env.step(env.action_space.sample())
        assert np.array_equal(obs, first)


def test_shadowing_is_iid_normal_per_round_and_device():
    std = 8.0
    env = make(num_devices=25, shadowing_std_db=std, device_speed=0.0)
    env.reset(seed=10)
    residuals = []
    for _ in range(100):
        residuals.append(env.gain_db - channel_gains_db(env.config, env.distance))
        env.step(env.action_space.sample())
    residuals = np.array(residuals)
    assert residuals.mean() == pytest.approx(0.0, abs=0.5)
    assert residuals.std() == pytest.approx(std, rel=0.05)
    lag_one = np.corrcoef(residuals[:-1].ravel(), residuals[1:].ravel())[0, 1]
    assert abs(lag_one) < 0.06


def test_observation_decodes_to_the_instance():
    env = make(shadowing_std_db=4.0)
    obs, _ = env.reset(seed=11)
    for _ in range(3):
        decoded = env.decode_observation(obs)
        assert np.allclose(decoded["gain_db"], env.gain_db, atol=1e-3)
        assert np.allclose(decoded["distance"], env.distance, atol=1e-3)
        assert np.allclose(decoded["max_frequency"], env.config.device_max_frequency, rtol=1e-6)
        assert decoded["bandwidth"] == pytest.approx(env.config.bandwidth, rel=1e-6)
        assert decoded["edge_capacity"] == pytest.approx(env.config.edge_capacity, rel=1e-6)
        obs, *_ = env.step(env.action_space.sample())


def test_env_truncates_itself_after_rounds_per_episode():
    env = gym.make(ENV_ID, num_devices=N, rounds_per_episode=3, max_episode_steps=50)
    env.reset(seed=12)
    flags = [env.step(env.action_space.sample())[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        make().step(np.zeros(2 * N, dtype=int))


@pytest.mark.parametrize("mode", ["decisions", "offload", "full"])
def test_render_before_and_after_a_step(mode):
    env = make(action_mode=mode, render_mode="ansi")
    env.reset(seed=13)
    assert "round 0" in env.render()
    env.step(env.action_space.sample())
    text = env.render()
    assert "round 1" in text and "last:" in text
    image = make(action_mode=mode, render_mode="rgb_array")
    image.reset(seed=13)
    assert image.render().ndim == 3


@pytest.mark.parametrize(
    ("action_mode", "bad", "match"),
    [
        ("full", np.zeros((5, 6)), r"shape \(30,\) \(or \(6, 5\), a row per device\)"),
        ("decisions", np.zeros((2, 6), dtype=np.int64), r"shape \(12,\)"),
        ("full", np.zeros(30, dtype=complex), "real numbers"),
    ],
)
def test_transposed_or_complex_actions_are_refused(action_mode, bad, match):
    env = make(num_devices=6, action_mode=action_mode)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(bad)
