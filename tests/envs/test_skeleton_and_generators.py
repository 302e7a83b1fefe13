"""The shared env skeleton, per-env configs, the instance generators and the simulator API."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import mec_gym  # noqa: F401
from mec_gym.envs.base import env_blocks
from mec_gym.envs.per_task_offload import ArrivalTrace
from mec_gym.problems.joint_offload import FixedDrop
from mec_gym.simulators.multistep_offload import (
    MultiStepOffloadConfig,
    MultiStepSimulator,
    MultiStepSystem,
    PoissonTasks,
    TaskDraw,
    TaskTrace,
)
from mec_gym.simulators.per_task_offload import PerTaskSimulator


@pytest.mark.parametrize(
    ("env_id", "field"),
    [
        ("PerTaskOffload-v1", "device_speed"),
        ("PerTaskOffload-v1", "rounds_per_episode"),
        ("JointOffload-v1", "arrival_rate"),
        ("JointOffload-v1", "tasks_per_episode"),
    ],
)
def test_an_env_refuses_the_fields_of_another(env_id, field):
    with pytest.raises(ValueError, match=f"unknown .*Config field.*{field}"):
        gym.make(env_id, **{field: 1})


def test_an_env_without_presets_refuses_one():
    with pytest.raises(ValueError, match="preset must be None"):
        gym.make("MultiStepOffload-v1", preset="balanced")


def test_joint_offload_runs_every_round_it_is_configured_for():
    env = gym.make("JointOffload-N8-v1", rounds_per_episode=130)
    env.reset(seed=0)
    steps, truncated = 0, False
    while not truncated:
        _, _, _, truncated, info = env.step(env.action_space.sample())
        steps += 1
    assert steps == 130 and info["round"] == 130
    with pytest.raises(RuntimeError, match="terminated"):
        env.unwrapped.step(env.action_space.sample())


@pytest.mark.parametrize("env_id", ["JointOffload-N8-v1", "PerTaskOffload-v1"])
def test_a_fixed_drop_places_the_devices_in_every_episode(env_id):
    n = 8 if env_id.startswith("Joint") else 4
    positions = np.column_stack([np.linspace(-300, 300, n), np.full(n, 200.0)])
    kwargs = {"num_devices": n} if n == 4 else {}
    env = gym.make(env_id, drops=FixedDrop(positions), **kwargs).unwrapped
    for seed in (0, 1):
        env.reset(seed=seed)
        placed = env.positions if env_id.startswith("Joint") else env.state.positions
        np.testing.assert_array_equal(placed, positions)
    with pytest.raises(ValueError, match=f"a drop must place {n} devices"):
        gym.make(env_id, drops=FixedDrop(positions[:2]), **kwargs).reset(seed=0)
    outside = positions.copy()
    outside[0] = (0.0, 1.0)  # closer to the BS than min_distance
    with pytest.raises(ValueError, match="from the BS"):
        gym.make(env_id, drops=FixedDrop(outside), **kwargs).reset(seed=0)
    with pytest.raises(TypeError, match="drops must be"):
        gym.make(env_id, drops=positions, **kwargs)


def test_an_arrival_trace_is_replayed_with_its_devices():
    times, devices = np.array([0.5, 0.5, 2.0, 7.0]), np.array([2, 0, 1, 2])
    env = gym.make(
        "PerTaskOffload-v1",
        num_devices=3,
        tasks_per_episode=4,
        arrivals=ArrivalTrace(times, devices),
    ).unwrapped
    env.reset(seed=3)
    seen = []
    for _ in range(4):
        seen.append((env.state.now, env.state.device))
        env.step(env.action_space.sample())
    assert seen == list(zip(times.tolist(), devices.tolist(), strict=True))


@pytest.mark.parametrize(
    ("times", "devices", "message"),
    [
        ([2.0, 1.0], [0, 0], "non-decreasing"),
        ([0.0, np.nan], [0, 0], "finite"),
        ([0.0, 1.0], [0.0, 1.7], "integers"),
        ([0.0, 1.0], [0, 3], "integers in"),
        ([0.0, 1.0, 2.0], [0, 0, 1], "2 times"),
    ],
)
def test_a_bad_arrival_trace_is_refused_at_reset(times, devices, message):
    env = gym.make(
        "PerTaskOffload-v1",
        num_devices=3,
        tasks_per_episode=2,
        arrivals=ArrivalTrace(times, devices),
    )
    with pytest.raises(ValueError, match=message):
        env.reset(seed=0)


def test_a_failed_reset_leaves_the_env_unsteppable():
    env = gym.make("PerTaskOffload-v1", num_devices=3, tasks_per_episode=2)
    env.reset(seed=0)
    env.unwrapped.simulator.arrivals = ArrivalTrace([1.0, 0.0], [0, 0])
    with pytest.raises(ValueError):
        env.reset(seed=1)
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.step(env.action_space.sample())


@pytest.mark.parametrize(
    "overrides", [{}, {"num_devices": 1, "compute_noise": 0.0}, {"tasks_per_episode": 1}]
)
def test_poisson_tasks_are_valid_draws(overrides):
    """The simulator does not re-check draws of its own ``PoissonTasks`` (only of other
    generators): they pass ``TaskDraw.check``."""
    system = MultiStepSystem.from_config(MultiStepOffloadConfig(**overrides))
    for seed in range(20):
        PoissonTasks()(system, np.random.default_rng(seed)).check(system)


def test_a_task_trace_replays_the_tasks_and_keeps_the_channel_random():
    config = MultiStepOffloadConfig(tasks_per_episode=30)
    system = MultiStepSystem.from_config(config)
    draw = PoissonTasks()(system, np.random.default_rng(5))
    env = gym.make("MultiStepOffload-v1", tasks_per_episode=30, tasks=TaskTrace(draw))
    rates, finishes = [], []
    for seed in (0, 1):
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, done, _, _ = env.step(0)
        arrivals = [record.arrival for record in env.unwrapped.records]
        assert arrivals == draw.arrival_times.tolist()
        finishes.append([record.finish for record in env.unwrapped.records])
        rates.append(env.unwrapped.simulator.uplink_rate(0, 1.0))
    # always local: the tasks finish when the trace says, whatever the (random) channel
    assert finishes[0] == finishes[1]
    assert rates[0] != rates[1]
    with pytest.raises(ValueError, match="tasks_per_episode=10"):
        gym.make("MultiStepOffload-v1", tasks_per_episode=10, tasks=TaskTrace(draw)).reset(seed=0)
    broken = TaskDraw(draw.arrival_times, draw.task_device, -draw.reach_s, draw.local_compute_s)
    with pytest.raises(ValueError, match="reach_s"):
        gym.make("MultiStepOffload-v1", tasks_per_episode=30, tasks=TaskTrace(broken)).reset(seed=0)


def test_the_simulator_runs_without_the_env_and_matches_it():
    env = gym.make("MultiStepOffload-v1", tasks_per_episode=40)
    _, info = env.reset(seed=9)
    policy = np.random.default_rng(1)
    actions = []
    done = False
    while not done:
        actions.append(int(info["action_mask"][1] and policy.random() < 0.4))
        _, _, done, _, info = env.step(actions[-1])
    simulator = MultiStepSimulator(env.unwrapped.system)
    simulator.reset(np.random.Generator(np.random.PCG64(env.unwrapped.np_random_seed)))
    for action in actions:
        simulator.decide(bool(action))
    assert simulator.done
    state = simulator.state
    assert state.totals["utility"] / state.tasks_finished == pytest.approx(info["utility"])
    assert [r.finish for r in state.records] == [r.finish for r in env.unwrapped.records]


def test_the_per_task_simulator_runs_without_the_env_and_matches_it():
    env = gym.make("PerTaskOffload-v1", num_devices=4, tasks_per_episode=30).unwrapped
    env.reset(seed=2)
    env.action_space.seed(2)
    decisions = []
    while not env.episode_over:
        action = env.action_space.sample()
        decisions.append(env.decision_from_action(action))
        env.step(action)
    simulator = PerTaskSimulator(env.config)
    simulator.reset(np.random.Generator(np.random.PCG64(2)))
    costs = [simulator.decide(decision).cost for decision in decisions]
    assert simulator.done
    assert costs == [outcome.cost for outcome in env.state.outcomes]
    with pytest.raises(RuntimeError, match="reset"):
        simulator.decide(decisions[0])


def test_the_decision_twin_refuses_a_reset_simulator():
    from mec_gym.twins.decision_replay import DecisionEvaluationTwin

    env = gym.make("MultiStepOffload-v1", tasks_per_episode=10)
    env.reset(seed=0)
    done = False
    while not done:
        _, _, done, _, _ = env.step(0)
    twin = DecisionEvaluationTwin(env)
    twin.replay_local(0)
    env.reset(seed=1)
    with pytest.raises(RuntimeError, match="reset since this twin"):
        twin.replay_local(0)


@pytest.mark.parametrize(
    ("num_envs", "values_per_env", "sizes"),
    [
        (256, 204, [37] * 6 + [34]),  # BandwidthSplitMulti-v0: 4 devices, 51 periods
        (5, 2525, [3, 2]),  # JointOffload-v1: 25 devices, 101 rounds
        (3, 10**6, [1, 1, 1]),  # a sub-env larger than a block: one per block
        (4, 1, [4]),
    ],
)
def test_env_blocks_cover_the_sub_envs_in_order_within_the_block_size(
    num_envs, values_per_env, sizes
):
    blocks = env_blocks(num_envs, values_per_env)
    covered = [i for b in blocks for i in range(num_envs)[b]]
    assert covered == list(range(num_envs))
    assert [len(range(num_envs)[b]) for b in blocks] == sizes
