"""Batched-env benchmark: native vector envs against Gymnasium's ``SyncVectorEnv``, and SB3 PPO
end to end on each.

For every ID with a native vector env (``EnvEntry.vector_entry_point``) and every batch size of
``--num-envs``: env-steps/s of ``gymnasium.make_vec(ID, n, vectorization_mode=
"vector_entry_point")`` and of ``SyncVectorEnv`` over n scalar envs, both measured in this
process in turn (``--repeats`` times each: at least one timed reset and timed steps for up to
``--seconds`` s, actions sampled before the timed loop; the median of each), and their ratio;
the spec's targets at 256 envs are ≥ 50× ``SyncVectorEnv`` and ≥ 1M env-steps/s. Throughput
is the steady state's: every episode's reset is timed with its steps (:func:`steady_state`),
so an env whose episodes outlast the measurement still pays its episode draws. The table also
gives the native env's share of the time in resets and the ratio to Sync it would reach if its
batched steps took no time, its resets alone (medians over the measurements; each sub-env
draws its episode from its own generator, so that it equals the scalar env), and the bounds of
the draws themselves: one scalar episode's generator calls replayed alone
(:func:`draw_seconds_per_step`), as env-steps/s and as a ratio to Sync. Then SB3 PPO
(``n_steps`` 256, one torch thread) trained for ``--ppo-steps`` steps with 8 envs on SB3's
``DummyVecEnv`` and on
:class:`~mec_gym.agents.sb3_vec_env.NativeVecEnv`: steps/s and the share of the wall time spent
in the env's ``step``. Prints a table and writes ``<out>/bench_vector.md`` and ``.csv``.

    python eval/bench_vector.py [--env ID ...] [--num-envs 1 16 256 1024] [--seconds 1]
        [--repeats 3] [--ppo-steps 16384] [--out docs]
"""

from __future__ import annotations

import copy
import platform
import time
from argparse import ArgumentParser
from collections.abc import Sequence
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

import mec_gym  # noqa: F401
from mec_gym.eval import output
from mec_gym.registration import ENVS

COLUMNS = {
    "env": "{env}",
    "episode steps": "{episode_steps:g}",
    "envs": "{num_envs}",
    "native (env-steps/s)": "{native:,.0f}",
    "SyncVectorEnv (env-steps/s)": "{sync:,.0f}",
    "native / Sync": "{speedup:.2f}×",
    "native time in resets": "{reset_share:.0%}",
    "native with free steps / Sync": "{ceiling:.1f}×",
    "draws alone (env-steps/s)": "{draw_rate:,.0f}",
    "draws alone / Sync": "{draw_bound:.0f}×",
    "target at 256 envs": "{target}",
    "": "{verdict}",
}
"""Markdown columns of the throughput table."""
PPO_COLUMNS = {
    "env": "{env}",
    "training envs": "{vec_env}",
    "PPO steps/s": "{steps_per_s:,.0f}",
    "share of the time in env.step": "{env_share:.0%}",
}
"""Markdown columns of the SB3 PPO table."""
SPEEDUP_TARGET = 50.0
THROUGHPUT_TARGET = 1_000_000.0
ACTIONS_SAMPLED = 64
"""Batched actions sampled before a timed loop and replayed in turn."""
MAX_EPISODE_STEPS = 1_000_000
"""Steps of one episode after which :func:`episode_steps` gives up on its end."""


def native_ids() -> list[str]:
    """The IDs with a native vector env."""
    return sorted(env_id for env_id, entry in ENVS.items() if entry.vector_entry_point)


def episode_steps(env_id: str, episodes: int = 2) -> float:
    """Mean steps per episode of the scalar ``env_id`` over ``episodes`` episodes with sampled
    actions (the native envs' episodes have fixed lengths), at most the registered
    ``max_episode_steps``."""
    env = gym.make(env_id)
    env.action_space.seed(0)
    env.unwrapped.reset(seed=0)
    steps = 0
    for _ in range(episodes):
        steps += play_episode(env)
        env.unwrapped.reset()
    env.close()
    return steps / episodes


def play_episode(env: gym.Env) -> int:
    """Steps of ``env.unwrapped`` (reset already) with actions sampled from ``env``'s action
    space until its episode ends or reaches ``env``'s registered ``max_episode_steps``; how
    many."""
    limit = env.spec.max_episode_steps if env.spec else None
    steps = 0
    while True:
        _, _, terminated, truncated, _ = env.unwrapped.step(env.action_space.sample())
        steps += 1
        if terminated or truncated or steps == limit:
            return steps
        if steps > MAX_EPISODE_STEPS:
            name = env.spec.id if env.spec else type(env.unwrapped).__name__
            raise RuntimeError(f"{name} played {steps:,} steps without an episode's end")


class DrawCall(NamedTuple):
    """One call of a ``numpy.random.Generator`` draw method, as made (arguments copied)."""

    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class GeneratorRecorder:
    """Stands in for a ``numpy.random.Generator``: passes each draw on to ``rng`` and records
    it in ``calls`` (a draw into ``out=`` is recorded with a fresh array of its shape, to be
    overwritten on replay). Any other attribute is an ``AttributeError``: a replay could not
    account for it."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.calls: list[DrawCall] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in NOT_DRAWS or not hasattr(self.rng, name):
            raise AttributeError(f"GeneratorRecorder replays draws only, not Generator.{name}")
        method = getattr(self.rng, name)

        def draw(*args: Any, **kwargs: Any) -> Any:
            recorded = copy.deepcopy(kwargs)
            if isinstance(kwargs.get("out"), np.ndarray):
                recorded["out"] = np.empty_like(kwargs["out"])
            self.calls.append(DrawCall(name, copy.deepcopy(args), recorded))
            return method(*args, **kwargs)

        return draw


NOT_DRAWS = frozenset({"bit_generator", "spawn"})
"""``Generator`` attributes a :class:`GeneratorRecorder` refuses (not draws to replay)."""


def episode_draws(env_id: str) -> tuple[list[DrawCall], int]:
    """The generator calls one episode of the scalar ``env_id`` makes on its ``np_random``
    (its reset's and its steps', with sampled actions, seed 0) and its number of steps (at
    most the registered ``max_episode_steps``). Draws through a generator seeded from it
    (``TwoTimescale-v0``'s digital twin draws its noise so) are not among them: only the
    seed's draw is."""
    env = gym.make(env_id)
    base = env.unwrapped
    env.action_space.seed(0)
    base.reset(seed=0)
    recorder = GeneratorRecorder(base.np_random)
    base.np_random = recorder  # reset() without a seed keeps it
    base.reset()
    steps = play_episode(env)
    env.close()
    return recorder.calls, steps


def replay_seconds(calls: Sequence[DrawCall], repeats: int = 5) -> float:
    """The least time, s, of ``repeats`` replays of ``calls`` on a fresh generator each."""
    best = float("inf")
    for repeat in range(repeats):
        rng = np.random.default_rng(repeat)
        methods = [(getattr(rng, call.method), call.args, call.kwargs) for call in calls]
        start = time.perf_counter()
        for method, args, kwargs in methods:
            method(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best


def draw_seconds_per_step(env_id: str) -> float:
    """Seconds per env-step that one scalar episode's generator calls take when replayed
    alone (:func:`episode_draws`, :func:`replay_seconds`): what any env making the same calls
    for each sub-env in one thread spends at least, whatever the rest costs."""
    calls, steps = episode_draws(env_id)
    return replay_seconds(calls) / steps


class SteadyState(NamedTuple):
    """A vector env's throughput in the steady state of its episodes."""

    env_steps_per_s: float
    """Env-steps/s, every episode's reset included."""
    reset_share: float
    """Share of that time spent in resets (the draws of new episodes), in [0, 1]."""


def steady_state(env: gym.vector.VectorEnv, seconds: float, episode_length: float) -> SteadyState:
    """Throughput of ``env`` in the steady state of episodes of ``episode_length`` steps: one
    timed ``env.reset()`` (the draws an autoreset makes) then up to ``episode_length`` timed
    batched steps, episode after episode until ``seconds`` s are timed (at least one reset, and
    steps for up to ``seconds`` s however long the resets take); an episode cut short by the
    clock counts its missing steps at the mean step time. So the time per episode is the mean
    reset time plus ``episode_length`` mean step times, for ``num_envs * episode_length``
    env-steps."""
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(ACTIONS_SAMPLED)]
    reset_seconds = step_seconds = 0.0
    resets = steps = 0
    length = max(round(episode_length), 1)
    while reset_seconds + step_seconds < seconds:
        start = time.perf_counter()
        env.reset(seed=0 if resets == 0 else None)
        episode_start = time.perf_counter()
        reset_seconds += episode_start - start
        resets += 1
        for index in range(length):
            env.step(actions[index % ACTIONS_SAMPLED])
            steps += 1
            if step_seconds + time.perf_counter() - episode_start >= seconds:
                break
        step_seconds += time.perf_counter() - episode_start
    reset_per_episode = reset_seconds / resets
    per_episode = reset_per_episode + episode_length * step_seconds / steps
    return SteadyState(env.num_envs * episode_length / per_episode, reset_per_episode / per_episode)


def warm_up(env: gym.vector.VectorEnv) -> None:
    """A reset and a step of ``env`` with a sampled action, as :func:`steady_state` takes them
    (numba compiles an env's step for its action type on the first call)."""
    env.action_space.seed(0)
    env.reset(seed=0)
    env.step(env.action_space.sample())


def ceiling_speedup(native: SteadyState, sync: SteadyState) -> float:
    """The ratio of ``native``'s throughput to ``sync``'s if its steps took no time (its
    resets alone: its throughput over the share of its time they take; inf if that is 0)."""
    if native.reset_share <= 0:
        return float("inf")
    return native.env_steps_per_s / native.reset_share / sync.env_steps_per_s


def throughput_row(
    env_id: str,
    num_envs: int,
    seconds: float,
    repeats: int,
    episode_length: float,
    draw_seconds: float,
) -> dict[str, Any]:
    """The native and the Sync throughput of ``num_envs`` envs of ``env_id`` whose episodes
    last ``episode_length`` steps and whose draws take ``draw_seconds`` s per env-step
    (:func:`draw_seconds_per_step`), and the bounds those draws set."""
    native = gym.make_vec(env_id, num_envs, vectorization_mode="vector_entry_point")
    sync = gym.make_vec(env_id, num_envs, vectorization_mode="sync")
    for env in (native, sync):  # untimed: a first reset and step compile what they call
        warm_up(env)
    pairs = [
        (
            steady_state(native, seconds, episode_length),
            steady_state(sync, seconds, episode_length),
        )
        for _ in range(repeats)
    ]
    native.close()
    sync.close()
    native_rate = float(np.median([n.env_steps_per_s for n, _ in pairs]))
    sync_rate = float(np.median([s.env_steps_per_s for _, s in pairs]))
    reset_share = float(np.median([n.reset_share for n, _ in pairs]))
    ceiling = float(np.median([ceiling_speedup(n, s) for n, s in pairs]))
    speedup = native_rate / sync_rate
    row = {"env": env_id, "episode_steps": episode_length, "num_envs": num_envs}
    row.update(native=native_rate, sync=sync_rate, speedup=speedup, reset_share=reset_share)
    row.update(ceiling=ceiling, draw_rate=1.0 / draw_seconds)
    row.update(draw_bound=1.0 / (draw_seconds * sync_rate))
    row.update(target="", verdict="")
    if num_envs == 256:
        row["target"] = f"≥ {SPEEDUP_TARGET:g}× and ≥ {THROUGHPUT_TARGET:,.0f}/s"
        passed = speedup >= SPEEDUP_TARGET and native_rate >= THROUGHPUT_TARGET
        row["verdict"] = "PASS" if passed else "FAIL"
    return row


class StepTimer:
    """Wraps an SB3 ``VecEnv``'s ``step_wait`` to add up the seconds spent in it."""

    def __init__(self, env: Any) -> None:
        self.seconds = 0.0
        self.step_wait = env.step_wait
        env.step_wait = self.timed

    def timed(self) -> Any:
        start = time.perf_counter()
        result = self.step_wait()
        self.seconds += time.perf_counter() - start
        return result


def ppo_rows(env_id: str, steps: int) -> list[dict[str, Any]]:
    """SB3 PPO for ``steps`` steps with 8 envs on DummyVecEnv and on NativeVecEnv."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    from mec_gym.agents.sb3_vec_env import NativeVecEnv

    torch.set_num_threads(1)
    rows = []
    for name in ("DummyVecEnv", "NativeVecEnv"):
        if name == "DummyVecEnv":
            env = make_vec_env(env_id, n_envs=8)
        else:
            env = NativeVecEnv(gym.make_vec(env_id, 8, vectorization_mode="vector_entry_point"))
        timer = StepTimer(env)
        model = PPO("MlpPolicy", env, n_steps=256, batch_size=256, n_epochs=2, seed=0)
        start = time.perf_counter()
        model.learn(steps)
        wall = time.perf_counter() - start
        env.close()
        rows.append(
            {
                "env": env_id,
                "vec_env": name,
                "steps_per_s": model.num_timesteps / wall,  # whole rollouts: >= steps
                "env_share": timer.seconds / wall,
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    argv = output.arguments(argv)
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    output.add_env_argument(
        parser, native_ids(), "env ID with a native vector env (repeatable)", repeatable=True
    )
    parser.add_argument("--num-envs", type=int, nargs="+", default=[1, 16, 256, 1024])
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.0,
        help="timed steps per measurement, s (after at least one timed reset)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="measurements per pair")
    parser.add_argument("--ppo-steps", type=int, default=16_384, help="0: skip the PPO table")
    output.add_out_argument(parser, "bench_vector")
    args = parser.parse_args(argv)
    if min(args.num_envs) < 1 or args.seconds <= 0 or args.repeats < 1 or args.ppo_steps < 0:
        parser.error("--num-envs and --repeats must be >= 1, --seconds > 0, --ppo-steps >= 0")
    env_ids = args.env or native_ids()
    lengths = {env_id: episode_steps(env_id) for env_id in env_ids}
    draws = {env_id: draw_seconds_per_step(env_id) for env_id in env_ids}
    rows = [
        throughput_row(env_id, n, args.seconds, args.repeats, lengths[env_id], draws[env_id])
        for env_id in env_ids
        for n in args.num_envs
    ]
    training = (
        [r for env_id in env_ids for r in ppo_rows(env_id, args.ppo_steps)]
        if (args.ppo_steps)
        else []
    )
    out = output.output_folder(args.out, "bench_vector")
    page = [
        "# Batched environments",
        "",
        f"Generated by `{output.switch_prefix()}{output.command_line(__file__, argv)}` on "
        f"{output.processor()}, Python {platform.python_version()}, "
        f"gymnasium {gym.__version__}; load averages (1, 5, 15 min) {output.load_average()}. "
        f"Each pair measured {args.repeats} times in turn in one process (each time at least one "
        f"reset and steps for up to {args.seconds:g} s); medians. Steady-state throughput: every "
        "episode's reset is timed and counted with its steps (an episode longer than the "
        'measurement adds its missing steps at the mean step time). "native with free steps / '
        "Sync\": the native rate over its share of the time in resets, against Sync's rate (what "
        'the resets alone allow; the median over the measurements). "Draws alone": one '
        "scalar episode's calls of its random generator (seed 0, sampled actions) replayed on "
        "their own, the fastest of 5, per env-step, and Sync's time per env-step over it: "
        "bounds that no env making the same calls for each sub-env in one thread can pass, "
        "however fast the rest (draws through generators seeded from the env's are not "
        "counted: a looser bound). "
        f"{output.compiled_code()}",
        "",
        *output.markdown_table(rows, COLUMNS),
    ]
    if training:
        page += [
            "",
            f"SB3 PPO, {args.ppo_steps:,} steps, 8 training envs, `n_steps` 256, one torch thread:",
            "",
            *output.markdown_table(training, PPO_COLUMNS),
        ]
    text = output.write_markdown(out / "bench_vector.md", page)
    output.write_csv(out / "bench_vector.csv", rows + training)
    print(text)
    print(f"wrote {out}/bench_vector.md and .csv")


if __name__ == "__main__":
    main()
