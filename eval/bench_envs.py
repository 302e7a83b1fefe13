"""Step-cost benchmark: each registered env's step time as a ratio to CartPole-v1's.

The spec's method: both are timed in the same process on ``env.unwrapped`` (no wrappers), with
``ACTIONS_SAMPLED`` actions sampled from the action space before the timed loop and replayed
in turn, resets included. Each of ``--repeats`` pairs runs CartPole and the env in turns of
``BLOCK_SECONDS`` until each has run ``--seconds`` (so that a change of the machine's load hits
both alike); the ratio is that of the medians, and the lowest and highest ratio of one pair
show how much the load still moves it; each env's share of the time in its resets is timed in
the same loop (two clock reads per reset). Targets come from the registry
(``step_ratio_target``). It also times rendering: the median time of an ``rgb_array`` frame
(``render()`` after a step, ``--render-frames`` frames after ``RENDER_WARMUP`` untimed ones;
0 skips it). Prints a table and writes ``<out>/bench_envs.md`` and ``<out>/bench_envs.csv``
(``--out docs``: the committed pages).

    python eval/bench_envs.py [--seconds 3] [--repeats 3] [--render-frames 20] [--env ID ...]
                              [--out docs]
"""

from __future__ import annotations

import platform
import time
from argparse import ArgumentParser
from collections.abc import Sequence

import gymnasium as gym
import matplotlib
import numpy as np

import mec_gym  # noqa: F401
from mec_gym.eval import output
from mec_gym.registration import ENVS

COLUMNS = {
    "env": "{env}",
    "steps/s": "{steps_per_s:,.0f}",
    "step cost / CartPole-v1": "{ratio:.2f}×",
    "pairs: lowest–highest": lambda row: (
        f"{row['ratio_low']:.2f}–{row['ratio_high']:.2f}"
        if isinstance(row.get("ratio_low"), float)
        else ""
    ),
    "time in resets": "{reset_share:.0%}",
    "target": "{target}",
    "": "{pass}",
    "render ms/frame": lambda row: (
        f"{row['render_ms']:.1f}" if isinstance(row.get("render_ms"), float) else ""
    ),
}
"""Markdown columns of the table (the CSV has the rows' raw values)."""


ACTIONS_SAMPLED = 1024
"""Actions sampled before the timed loop and replayed in turn."""
STEPS_PER_CLOCK_READ = 8
"""Steps between two reads of the clock."""
BLOCK_SECONDS = 0.05
"""Length of one block of steps: the two envs of a pair take turns block by block."""
RENDER_WARMUP = 3
"""Frames rendered before the timed ones (the figure is made on the first)."""


class StepLoop:
    """Steps of ``env.unwrapped`` with ``ACTIONS_SAMPLED`` pre-sampled actions replayed in turn
    (resets included), run in blocks that carry on where the last one stopped."""

    def __init__(self, env: gym.Env) -> None:
        self.base = env.unwrapped
        env.action_space.seed(0)
        self.actions = [env.action_space.sample() for _ in range(ACTIONS_SAMPLED)]
        self.base.reset(seed=0)
        self.steps = 0
        self.seconds = 0.0
        self.reset_seconds = 0.0
        """Of ``seconds``, the time spent in ``reset()``."""

    def run(self, seconds: float) -> None:
        """Step for about ``seconds`` s (whole groups of ``STEPS_PER_CLOCK_READ`` steps)."""
        base, actions, steps = self.base, self.actions, self.steps
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            for _ in range(STEPS_PER_CLOCK_READ):
                _, _, terminated, truncated, _ = base.step(actions[steps % ACTIONS_SAMPLED])
                steps += 1
                if terminated or truncated:
                    reset_start = time.perf_counter()
                    base.reset()
                    self.reset_seconds += time.perf_counter() - reset_start
            now = time.perf_counter()
            if now >= deadline:
                self.steps = steps
                self.seconds += now - start
                return

    @property
    def steps_per_second(self) -> float:
        """Steps per second over every block run so far."""
        return self.steps / self.seconds

    @property
    def reset_share(self) -> float:
        """Share of the time run so far spent in resets."""
        return self.reset_seconds / self.seconds


def paired_step_loops(
    reference: gym.Env, env: gym.Env, seconds: float
) -> tuple[StepLoop, StepLoop]:
    """The step loops of ``reference`` and of ``env`` (``env.unwrapped``, pre-sampled actions,
    resets included) after each ran about ``seconds`` s, taking turns in blocks of
    ``BLOCK_SECONDS`` so that the machine's load changes hit both alike."""
    loops = StepLoop(reference), StepLoop(env)
    while min(loop.seconds for loop in loops) < seconds:
        for loop in loops:
            loop.run(BLOCK_SECONDS)
    return loops


def render_ms(env_id: str, frames: int) -> float:
    """Median time of an ``rgb_array`` frame of ``env_id``, ms: ``render()`` after each of
    ``frames`` steps with sampled actions, after ``RENDER_WARMUP`` untimed frames."""
    env = gym.make(env_id, render_mode="rgb_array")
    env.action_space.seed(0)
    env.reset(seed=0)
    times = []
    for index in range(RENDER_WARMUP + frames):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
        start = time.perf_counter()
        env.render()
        if index >= RENDER_WARMUP:
            times.append(time.perf_counter() - start)
    env.close()
    return float(np.median(times)) * 1e3


def main(argv: Sequence[str] | None = None) -> None:
    argv = output.arguments(argv)
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement, s")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per env")
    parser.add_argument(
        "--render-frames",
        type=int,
        default=20,
        help="rgb_array frames timed per env (median; 0: no render timing)",
    )
    output.add_env_argument(parser, ENVS, "env ID (repeatable; default all)", repeatable=True)
    output.add_out_argument(parser, "bench_envs")
    args = parser.parse_args(argv)

    cartpole = gym.make("CartPole-v1")
    cartpole_rates: list[float] = []
    cartpole_reset_shares: list[float] = []
    rows = []
    for env_id in args.env or sorted(ENVS):
        env = gym.make(env_id)
        loops = [paired_step_loops(cartpole, env, args.seconds) for _ in range(args.repeats)]
        env.close()
        pairs = [(c.steps_per_second, e.steps_per_second) for c, e in loops]
        reference = float(np.median([c for c, _ in pairs]))
        rate = float(np.median([e for _, e in pairs]))
        cartpole_rates += [c for c, _ in pairs]
        cartpole_reset_shares += [c.reset_share for c, _ in loops]
        ratio = reference / rate
        pair_ratios = [c / e for c, e in pairs]  # how much the machine's noise moves it
        target = ENVS[env_id].step_ratio_target
        rows.append(
            {
                "env": env_id,
                "steps_per_s": rate,
                "ratio": ratio,
                "ratio_low": min(pair_ratios),
                "ratio_high": max(pair_ratios),
                "reset_share": float(np.median([e.reset_share for _, e in loops])),
                "target": f"≤ {target:g}×",
                "pass": "PASS" if ratio <= target else "FAIL",
                "render_ms": render_ms(env_id, args.render_frames) if args.render_frames else "",
            }
        )
    reference_row = {"env": "CartPole-v1", "steps_per_s": float(np.median(cartpole_rates))}
    reference_row["reset_share"] = float(np.median(cartpole_reset_shares))
    blank = dict.fromkeys(("ratio_low", "ratio_high", "target", "pass", "render_ms"), "")
    rows.insert(0, {**reference_row, "ratio": 1.0, **blank})
    out = output.output_folder(args.out, "bench_envs")
    text = output.write_markdown(
        out / "bench_envs.md",
        [
            "# Environment step cost",
            "",
            f"Generated by `{output.switch_prefix()}{output.command_line(__file__, argv)}` "
            f"({args.repeats} × "
            f"{args.seconds:g} s per env; `env.unwrapped`, actions sampled before the timed "
            f"loop) on {output.processor()}, "
            f"Python {platform.python_version()}, gymnasium {gym.__version__}; "
            f"load averages (1, 5, 15 min) {output.load_average()}. Render: median "
            f"`rgb_array` frame after {RENDER_WARMUP} untimed ones "
            f"({args.render_frames} timed; matplotlib {matplotlib.__version__}). "
            f"{output.compiled_code()}",
            "",
            *output.markdown_table(rows, COLUMNS),
        ],
    )
    output.write_csv(out / "bench_envs.csv", rows)
    print(text)
    print(f"wrote {out}/bench_envs.md and .csv")


if __name__ == "__main__":
    main()
