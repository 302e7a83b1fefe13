"""Where an environment's step time goes: cProfile over steps of ``env.unwrapped``.

Plays ``--steps`` steps (actions sampled before the profiled loop, resets included, as
``eval/bench_envs.py`` times them) under cProfile and prints the function calls per step, the
numpy array constructions and ufunc calls per step, and the ``--top`` functions by their own
time. Call counts do not depend on the machine's load; the times do.

    python eval/profile_env.py --env JointOffload-v1 [--steps 5000] [--top 20]
"""

from __future__ import annotations

import cProfile
import io
import pstats
from argparse import ArgumentParser
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym

import mec_gym  # noqa: F401
from mec_gym.eval import output
from mec_gym.registration import ENVS

NUMPY_CALLS = ("numpy.array", "numpy.asarray", "numpy.empty", "numpy.zeros", "of 'numpy.ufunc'")
"""Substrings of the profile's entries counted as numpy calls: array constructions and ufunc
reductions (plain ufunc calls such as ``np.add`` are not profiled: they are C functions called
without a Python frame)."""


def profile_steps(env_id: str, steps: int) -> pstats.Stats:
    """cProfile statistics of ``steps`` steps of ``env_id`` (resets included)."""
    env = gym.make(env_id)
    base = env.unwrapped
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(min(steps, 1024))]
    base.reset(seed=0)
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(steps):
        _, _, terminated, truncated, _ = base.step(actions[i % len(actions)])
        if terminated or truncated:
            base.reset()
    profiler.disable()
    env.close()
    return pstats.Stats(profiler)


@dataclass(frozen=True)
class StepProfile:
    """Where one env's step time goes (from :func:`profile_steps`)."""

    env_id: str
    calls_per_step: float
    """Python-level function calls per step (C functions called from Python included)."""
    numpy_calls_per_step: float
    """numpy array constructions and ufunc reductions per step (:data:`NUMPY_CALLS`)."""
    top: list[tuple[str, float]]
    """(function, share of the profiled time spent in its own code), largest first."""


def step_profile(env_id: str, steps: int, top: int = 5) -> tuple[StepProfile, pstats.Stats]:
    """The :class:`StepProfile` of ``steps`` steps of ``env_id`` with its raw statistics."""
    stats = profile_steps(env_id, steps)
    entries = stats.stats  # type: ignore[attr-defined]  # (file, line, name) -> counts, times
    calls = sum(entry[1] for entry in entries.values())
    numpy_calls = sum(
        entry[1]
        for (_, _, name), entry in entries.items()
        if any(pattern in name for pattern in NUMPY_CALLS)
    )
    total = sum(entry[2] for entry in entries.values()) or 1.0
    ranked = sorted(entries.items(), key=lambda item: -item[1][2])[:top]
    functions = [(function_name(key), entry[2] / total) for key, entry in ranked]
    return StepProfile(env_id, calls / steps, numpy_calls / steps, functions), stats


def function_name(key: tuple[str, int, str]) -> str:
    """``module.py:line(name)`` of a profile entry, or the built-in's name."""
    file, line, name = key
    return name if file == "~" else f"{Path(file).name}:{line}({name})"


def main(argv: Sequence[str] | None = None) -> StepProfile:
    argv = output.arguments(argv)
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    output.add_env_argument(parser, ENVS, "env ID", default="MultiStepOffload-v1")
    parser.add_argument("--steps", type=int, default=5000, help="profiled steps")
    parser.add_argument("--top", type=int, default=20, help="functions listed")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.top < 1:
        parser.error("--steps and --top must be >= 1")
    profile, stats = step_profile(args.env, args.steps, args.top)
    print(
        f"{args.env}: {profile.calls_per_step:.1f} function calls per step, of which "
        f"{profile.numpy_calls_per_step:.1f} numpy array constructions and ufunc reductions"
    )
    text = io.StringIO()
    stats.stream = text  # pstats prints to its stream
    stats.sort_stats("tottime").print_stats(args.top)
    print(text.getvalue())
    return profile


if __name__ == "__main__":
    main()
