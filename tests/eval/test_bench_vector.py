"""eval/bench_vector.py runs end to end with a tiny budget and writes its table."""

from __future__ import annotations

import copy
import csv
import time

import gymnasium as gym
import numpy as np
import pytest

from mec_gym.eval import bench_vector, output


def test_the_vector_benchmark_writes_both_tables(tmp_path):
    bench_vector.main(
        [
            "--env",
            "BandwidthSplit-v0",
            "--num-envs",
            "2",
            "256",
            "--seconds",
            "0.05",
            "--repeats",
            "1",
            "--ppo-steps",
            "512",
            "--out",
            str(tmp_path),
        ]
    )
    rows = list(csv.DictReader((tmp_path / "bench_vector.csv").open()))
    throughput = [r for r in rows if r["num_envs"]]
    assert [int(r["num_envs"]) for r in throughput] == [2, 256]
    assert all(float(r["native"]) > 0 and float(r["sync"]) > 0 for r in throughput)
    for row in throughput:  # the ratio the resets alone allow is above the measured one
        assert 0 < float(row["reset_share"]) < 1
        assert float(row["ceiling"]) > float(row["speedup"])  # one measurement: their ratio
        expected = float(row["native"]) / float(row["reset_share"]) / float(row["sync"])
        assert float(row["ceiling"]) == pytest.approx(expected, rel=1e-12)
        # the draws' bounds: one rate, as a ratio to Sync's
        bound = float(row["draw_rate"]) / float(row["sync"])
        assert float(row["draw_bound"]) == pytest.approx(bound, rel=1e-12)
        assert float(row["draw_rate"]) > float(row["native"])  # the draws are part of it
    assert throughput[1]["verdict"] in ("PASS", "FAIL")  # judged at 256 envs only
    training = [r for r in rows if r["vec_env"]]
    assert {r["vec_env"] for r in training} == {"DummyVecEnv", "NativeVecEnv"}
    assert all(0 < float(r["env_share"]) < 1 for r in training)
    page = (tmp_path / "bench_vector.md").read_text()
    assert "SB3 PPO" in page
    assert output.compiled_code() in page  # which code the envs ran


class SlowResetVectorEnv:
    """A stand-in vector env whose resets take at least ``reset_s`` s and whose steps are free."""

    def __init__(self, num_envs: int, reset_s: float) -> None:
        self.num_envs = num_envs
        self.reset_s = reset_s
        self.action_space = gym.spaces.Box(0.0, 1.0, (num_envs, 1))
        self.resets = 0

    def reset(self, seed=None):
        self.resets += 1
        time.sleep(self.reset_s)

    def step(self, action):
        pass


def test_throughput_charges_every_episode_its_reset():
    # 4 envs, episodes of 10 steps, resets of >= 20 ms: at most 4 * 10 / 0.02 = 2000 env-steps/s
    # however fast the steps are (the load of the machine can only lower it)
    env = SlowResetVectorEnv(4, 0.02)
    rate, reset_share = bench_vector.steady_state(env, 0.2, 10)
    assert env.resets >= 2
    assert 0 < rate <= 4 * 10 / 0.02
    assert 0.5 < reset_share <= 1  # 10 empty steps against a sleep of 20 ms


class SlowStepVectorEnv(SlowResetVectorEnv):
    """A stand-in vector env whose steps take at least ``step_s`` s and whose resets are free."""

    def __init__(self, num_envs: int, step_s: float) -> None:
        super().__init__(num_envs, 0.0)
        self.step_s = step_s

    def step(self, action):
        time.sleep(self.step_s)


def test_a_vector_env_with_free_resets_spends_almost_no_time_in_them():
    rate, reset_share = bench_vector.steady_state(SlowStepVectorEnv(4, 0.005), 0.1, 10)
    assert 0 < rate <= 4 / 0.005
    assert 0 <= reset_share < 0.1  # 10 sleeps of 5 ms against an empty reset


def test_the_ceiling_is_the_native_rate_with_free_steps_against_sync():
    native = bench_vector.SteadyState(1000.0, 0.25)  # resets alone: 4000 env-steps/s
    assert bench_vector.ceiling_speedup(native, bench_vector.SteadyState(100.0, 0.5)) == 40.0
    free_resets = bench_vector.SteadyState(1000.0, 0.0)
    assert bench_vector.ceiling_speedup(free_resets, native) == float("inf")


def test_episode_steps_is_the_length_of_an_episode():
    assert bench_vector.episode_steps("BandwidthSplit-v0") == 50


class NeverEnds(gym.Env):
    """An env whose episodes end only by its registered time limit."""

    observation_space = gym.spaces.Discrete(1)
    action_space = gym.spaces.Discrete(1)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 0, 0.0, False, False, {}


def test_episode_steps_stops_at_the_registered_time_limit():
    if "BenchNeverEnds-v0" not in gym.registry:
        gym.register("BenchNeverEnds-v0", entry_point=NeverEnds, max_episode_steps=7)
    assert bench_vector.episode_steps("BenchNeverEnds-v0") == 7


def test_the_recorder_passes_draws_on_and_replays_them():
    plain, wrapped = np.random.default_rng(3), np.random.default_rng(3)
    recorder = bench_vector.GeneratorRecorder(wrapped)
    out = np.empty((2, 3))
    drawn = [recorder.standard_normal(out=out).copy(), recorder.poisson([1.0, 50.0], size=(4, 2))]
    assert np.array_equal(drawn[0], plain.standard_normal(out=np.empty((2, 3))))
    assert np.array_equal(drawn[1], plain.poisson([1.0, 50.0], size=(4, 2)))
    assert [call.method for call in recorder.calls] == ["standard_normal", "poisson"]
    assert recorder.calls[0].kwargs["out"] is not out  # a fresh array, for the replay
    assert recorder.calls[0].kwargs["out"].shape == (2, 3)
    assert bench_vector.replay_seconds(recorder.calls, repeats=2) > 0
    for name in ("spawn", "bit_generator", "_unknown", "no_such_draw"):
        with pytest.raises(AttributeError, match=f"Generator.{name}"):
            getattr(recorder, name)


@pytest.mark.parametrize("env_id", bench_vector.native_ids())
def test_the_recorded_calls_are_all_the_draws_on_an_episodes_generator(env_id):
    calls, steps = bench_vector.episode_draws(env_id)
    assert steps == bench_vector.episode_steps(env_id)
    # the same episode without a recorder: replayed from where its generator started, the
    # calls leave a generator where the episode leaves the env's (the same draws, in order)
    env = gym.make(env_id)
    base = env.unwrapped
    env.action_space.seed(0)
    base.reset(seed=0)
    start = copy.deepcopy(base.np_random.bit_generator.state)
    base.reset()
    for _ in range(steps):
        base.step(env.action_space.sample())
    replayed = np.random.default_rng()
    replayed.bit_generator.state = start
    for call in calls:
        getattr(replayed, call.method)(*call.args, **call.kwargs)
    assert calls
    assert replayed.bit_generator.state == base.np_random.bit_generator.state


class CountingVectorEnv(SlowResetVectorEnv):
    """A stand-in vector env that counts its steps."""

    def __init__(self, num_envs: int) -> None:
        super().__init__(num_envs, 0.0)
        self.steps = 0

    def step(self, action):
        self.steps += 1


def test_the_warm_up_resets_and_steps_once():
    env = CountingVectorEnv(3)
    bench_vector.warm_up(env)
    assert (env.resets, env.steps) == (1, 1)


def test_both_envs_are_warmed_up_before_any_measurement(monkeypatch):
    calls = []
    warm_up, steady_state = bench_vector.warm_up, bench_vector.steady_state

    def recorded_warm_up(env):
        calls.append(("warm_up", type(env).__name__))
        warm_up(env)

    def recorded_steady_state(env, *args):
        calls.append(("measure", type(env).__name__))
        return steady_state(env, *args)

    monkeypatch.setattr(bench_vector, "warm_up", recorded_warm_up)
    monkeypatch.setattr(bench_vector, "steady_state", recorded_steady_state)
    bench_vector.throughput_row("BandwidthSplit-v0", 2, 0.01, 2, 50.0, 1e-7)
    assert [kind for kind, _ in calls] == ["warm_up"] * 2 + ["measure"] * 4
    assert {name for kind, name in calls[:2]} == {name for kind, name in calls[2:]}
