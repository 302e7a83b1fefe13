"""MultiStepOffload-v1: configuration, dynamics and accounting."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import mec_gym  # noqa: F401
from mec_gym.envs.multistep_offload import LOCAL, MultiStepOffloadConfig, MultiStepOffloadEnv

ENV_ID = "MultiStepOffload-v1"


def run_episode(env: gym.Env, seed: int, policy=None) -> tuple[float, list[dict]]:
    """Total reward and infos of one episode (policy: info -> action; default random)."""
    rng = np.random.default_rng(seed)
    _, info = env.reset(seed=seed)
    total, infos, done = 0.0, [info], False
    while not done:
        action = policy(info) if policy else int(rng.random() < 0.3)
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
        infos.append(info)
        done = terminated or truncated
    return total, infos


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_devices", 0),
        ("num_devices", 2.5),
        ("num_devices", 1001),
        ("num_classes", 100_001),
        ("background_mean_sojourn", 1e-4),
        ("arrival_rate", -1.0),
        ("edge_speed", 0.0),
        ("uplink_bandwidth", -3e6),
        ("compute_noise", 1.0),
        ("accuracy_full", 1.5),
        ("weight_energy", -0.1),
        ("tasks_per_episode", 0),
        ("background_rates", (1.0,)),
        ("background_rates", (1.0, -2.0)),
        ("decision_points", "some"),
        ("status", "psychic"),
        ("device_speed", float("nan")),
        ("device_blocks", 99),
        ("dnn", "not_a_network"),
    ],
)
def test_invalid_config_raises_value_error_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        gym.make(ENV_ID, **{field: value})


def test_config_is_frozen():
    config = MultiStepOffloadConfig()
    with pytest.raises(AttributeError):
        config.num_devices = 3  # type: ignore[misc]


def test_yaml_lists_become_tuples():
    assert MultiStepOffloadConfig(background_rates=[1.0, 2.0]).background_rates == (1.0, 2.0)


def test_candidate_boundaries_of_alexnet():
    env = gym.make(ENV_ID).unwrapped
    assert env.decision_boundaries == (0, 1, 2, 5)
    assert gym.make(ENV_ID, decision_points="all").unwrapped.decision_boundaries == tuple(range(6))


def test_rewards_sum_to_task_utilities_and_all_tasks_finish():
    env = gym.make(ENV_ID, tasks_per_episode=40)
    total, infos = run_episode(env, 0)
    base = env.unwrapped
    assert all(record is not None for record in base.records)
    assert total == pytest.approx(sum(r.utility for r in base.records), abs=1e-9)
    assert infos[-1]["tasks_finished"] == 40
    assert infos[-1]["utility"] == pytest.approx(total / 40)
    assert sum(len(i["step_tasks"]) for i in infos) == 40


def test_task_records_obey_the_physics():
    env = gym.make(ENV_ID, tasks_per_episode=60)
    run_episode(env, 1)
    base = env.unwrapped
    cfg = base.config
    starts_by_device: dict[int, list] = {}
    for task, record in enumerate(base.records):
        assert record.start >= record.arrival - 1e-12
        assert record.finish > record.start
        assert record.energy > 0 and record.delay > 0
        if record.boundary == LOCAL:
            assert record.accuracy == cfg.accuracy_shallow
            assert record.energy == pytest.approx(
                cfg.compute_power * base.simulator.local_compute[task]
            )
        else:
            assert record.accuracy == cfg.accuracy_full
            assert record.upload_end > record.upload_start >= record.start
            edge_s = base.system.edge_work[record.boundary] / cfg.edge_speed
            assert record.finish >= record.upload_end + edge_s - 1e-12
        starts_by_device.setdefault(record.device, []).append((record.start, record))
    for items in starts_by_device.values():  # one task at a time per device, FIFO
        items.sort(key=lambda x: x[0])
        for (_, earlier), (_, later) in zip(items, items[1:], strict=False):
            device_free = earlier.finish if earlier.boundary == LOCAL else earlier.upload_end
            assert later.start >= device_free - 1e-12
            assert later.arrival >= earlier.arrival


def test_always_local_never_offloads_and_always_offload_raw_always_does():
    env = gym.make(ENV_ID, tasks_per_episode=30)
    _, infos = run_episode(env, 2, policy=lambda info: 0)
    assert infos[-1]["offload_rate"] == 0.0
    assert all(r.boundary == LOCAL for r in env.unwrapped.records)
    _, infos = run_episode(env, 2, policy=lambda info: 1)
    assert infos[-1]["offload_rate"] == 1.0
    assert all(r.boundary == 0 for r in env.unwrapped.records)


def test_action_masks_always_contain_a_valid_action_and_match_candidates():
    env = gym.make(ENV_ID, tasks_per_episode=30, decision_points="all")
    base = env.unwrapped
    _, info = env.reset(seed=0)
    done = False
    while not done:
        mask = base.action_masks()
        assert mask.dtype == bool and mask.shape == (2,) and mask.any()
        assert mask[1] == base.offload_allowed[info["boundary"]]
        _, _, terminated, truncated, info = env.step(int(mask[1]) if info["boundary"] == 3 else 0)
        done = terminated or truncated


@pytest.mark.parametrize("action", [2, -1, 0.5, [0, 1]])
def test_out_of_range_actions_raise(action):
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        MultiStepOffloadEnv().step(0)


def test_polling_costs_signalling_twin_does_not():
    twin_env = gym.make(ENV_ID, tasks_per_episode=40, status="twin")
    poll_env = gym.make(ENV_ID, tasks_per_episode=40, status="polling")
    _, twin_infos = run_episode(twin_env, 3, policy=lambda info: 0)
    _, poll_infos = run_episode(poll_env, 3, policy=lambda info: 0)
    assert twin_infos[-1]["signalling"] == 0.0
    # always continue: one poll at each of the 6 boundaries (0..L_d) of every task
    assert poll_infos[-1]["signalling"] == pytest.approx(6.0)
    assert poll_infos[-1]["twin_error"] == 0.0
    _, raw_infos = run_episode(poll_env, 3, policy=lambda info: 1)
    # offload the raw input: one poll at boundary 0 and the "offload now" command
    assert raw_infos[-1]["signalling"] == pytest.approx(2.0)


def test_compute_noise_zero_makes_the_status_twin_exact():
    env = gym.make(ENV_ID, tasks_per_episode=40, compute_noise=0.0)
    _, infos = run_episode(env, 4)
    assert infos[-1]["twin_error"] == 0.0
    noisy = gym.make(ENV_ID, tasks_per_episode=40, compute_noise=0.2)
    _, infos = run_episode(noisy, 4)
    assert infos[-1]["twin_error"] > 0.0


def test_twin_and_oracle_status_agree_without_noise():
    runs = []
    for status in ("twin", "oracle"):
        env = gym.make(ENV_ID, tasks_per_episode=40, compute_noise=0.0, status=status)
        total, _ = run_episode(env, 5)
        runs.append((total, [r.finish for r in env.unwrapped.records]))
    assert runs[0] == runs[1]


def test_slower_edge_means_longer_edge_delays():
    fast = gym.make(ENV_ID, tasks_per_episode=40, edge_speed=40e9)
    slow = gym.make(ENV_ID, tasks_per_episode=40, edge_speed=10e9)
    _, fast_infos = run_episode(fast, 6, policy=lambda info: 1)
    _, slow_infos = run_episode(slow, 6, policy=lambda info: 1)
    assert slow_infos[-1]["delay"] > fast_infos[-1]["delay"]


def test_observation_decodes_to_the_physical_state():
    env = gym.make(ENV_ID)
    base = env.unwrapped
    obs, info = env.reset(seed=0)
    for _ in range(30):
        values = base.decode_observation(obs)
        assert values["device"] == info["device"]
        assert values["boundary"] == info["boundary"]
        assert values["edge_backlog_s"] == pytest.approx(
            base.simulator.edge_backlog_at(base.simulator.state.now) / base.config.edge_speed,
            rel=1e-5,
            abs=1e-6,
        )
        assert values["uplink_rate"] == pytest.approx(
            base.simulator.uplink_rate(info["device"], base.simulator.state.now), rel=1e-5
        )
        obs, _, _, _, info = env.step(0)


def test_the_observation_ends_with_the_fraction_of_tasks_pending():
    env = gym.make(ENV_ID, tasks_per_episode=20)
    obs, info = env.reset(seed=3)
    assert obs[-1] == pytest.approx(1.0)
    done = False
    while not done:
        obs, _, done, _, info = env.step(0)
        if not done:
            pending = 20 - info["tasks_finished"]
            assert obs[-1] == pytest.approx(pending / 20)
            assert env.unwrapped.decode_observation(obs)["tasks_pending"] == pytest.approx(pending)


def test_v0_is_deprecated():
    with pytest.raises(gym.error.DeprecatedEnv, match="MultiStepOffload-v1"):
        gym.make("MultiStepOffload-v0")


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        (
            {"arrival_rate": 0.002},
            "arrival_rate, device_speed, tasks_per_episode, num_devices, fading_block",
        ),
        (
            {"fading_block": 1e-5},
            "arrival_rate, device_speed, tasks_per_episode, num_devices, fading_block",
        ),
        (
            {"device_speed": 1e4},
            "arrival_rate, device_speed, tasks_per_episode, num_devices, fading_block",
        ),
        ({"background_rates": (2.0, 1e7)}, "background_rates, background_mean_sojourn"),
        ({"background_rates": (2.0, 1e5)}, "background_rates, background_mean_sojourn"),
        ({"edge_speed": 5e9}, "background_rates, edge_speed, dnn"),
        ({"bits_per_element": 1e12}, "bits_per_element, uplink_bandwidth, uplink_mean_snr_db"),
        ({"uplink_bandwidth": 1.0}, "bits_per_element, uplink_bandwidth, uplink_mean_snr_db"),
    ],
)
def test_configs_whose_traces_would_not_fit_are_refused(overrides, fields):
    with pytest.raises(ValueError, match=f"MultiStepOffloadConfig.{fields}: .*; (raise|lower) "):
        MultiStepOffloadConfig(**overrides)


def test_no_background_load_runs_with_the_feature_at_zero():
    env = gym.make("MultiStepOffload-v1", background_rates=(0.0, 0.0), tasks_per_episode=20)
    observation, _ = env.reset(seed=0)
    terminated = False
    while not terminated:
        assert np.isfinite(observation).all()
        assert env.unwrapped.decode_observation(observation)["edge_arrival_rate"] == 0.0
        observation, reward, terminated, _, _ = env.step(1)
        assert np.isfinite(reward)
