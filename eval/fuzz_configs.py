"""Hostile config fuzz: random, extreme and invalid configurations of every environment.

Per registered ID, ``--cases`` cases, each overriding one to three config fields with a value
drawn from a hostile distribution (the default scaled by up to 10^±6, sign flips, 0, tiny and
huge numbers, NaN, ±inf, dB values far outside the usual bands, wrong types, tuples of the wrong
length, unknown strings) or, in a quarter of the cases, scaling every numeric field by up to
10^±3 at once (extreme but finite). Each case builds the env with ``gymnasium.make``, resets it
and plays ``--steps`` random actions under a ``--timeout`` (s) alarm. Outcomes:

- ``refused``: a ``ValueError`` or ``TypeError`` at construction naming an overridden field;
- ``ran``: every observation finite and in its space, every reward and number in ``info``
  finite;
- failures: ``refused_unnamed`` (the message names none of the fields changed), ``nan``
  (a non-finite reward, observation or number in ``info``), ``out_of_space``, ``crash`` (any
  other exception, or a ``ValueError`` after construction), ``hang`` (over the timeout).

Cases are reproducible from ``--seed`` and their index. Prints a table and writes
``<out>/fuzz_configs.md`` and ``<out>/fuzz_failures.csv`` (one row per failing case, with its
overrides and the error).

    python eval/fuzz_configs.py [--env ID ...] [--cases 2000] [--steps 20] [--timeout 5]
        [--seed 0] [--out FOLDER]
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import signal
import time
from argparse import ArgumentParser
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import gymnasium as gym
import numpy as np

import mec_gym  # noqa: F401  (registers the environments)
from mec_gym.eval import output
from mec_gym.registration import ENVS

__all__ = ["OUTCOMES", "FAILURES", "hostile_overrides", "run_case", "main"]

OUTCOMES = ("refused", "ran", "refused_unnamed", "nan", "out_of_space", "crash", "hang")
FAILURES = OUTCOMES[2:]
SPECIAL_FLOATS = (0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, math.nan, math.inf, -math.inf)


class CaseTimeout(Exception):
    """A case ran over its time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in the block after ``seconds`` s (SIGALRM, main thread)."""

    def expire(signum: int, frame: Any) -> None:
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def config_defaults(env_id: str) -> dict[str, Any]:
    """The fields of ``env_id``'s config with the values the ID is built with (one reset and
    step first, so that the cases do not pay, nor get interrupted in, the first imports)."""
    env = gym.make(env_id)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    config = env.unwrapped.config
    env.close()
    return {field.name: getattr(config, field.name) for field in dataclasses.fields(config)}


def hostile_number(rng: np.random.Generator, default: float, name: str) -> Any:
    """A hostile value for a numeric field with ``default``."""
    kind = rng.integers(6)
    if kind == 0:
        return float(rng.choice(SPECIAL_FLOATS))
    if kind == 1 and "db" in name.lower():
        return float(rng.uniform(-400.0, 400.0))
    if kind == 2:  # a wrong type
        return [True, "1", None, [default]][int(rng.integers(4))]
    scale = 10.0 ** rng.uniform(-6.0, 6.0)
    value = (default or 1.0) * scale * (-1.0 if kind == 3 else 1.0)
    if isinstance(default, int) and not isinstance(default, bool):
        return int(min(max(round(value), -(10**12)), 10**12)) if rng.random() < 0.8 else value
    return float(value)


def hostile_value(rng: np.random.Generator, default: Any, name: str) -> Any:
    """A hostile value for the field ``name`` whose valid default is ``default``."""
    if isinstance(default, bool):
        return [not default, 0, 2, "yes"][int(rng.integers(4))]
    if isinstance(default, (int, float)):
        return hostile_number(rng, default, name)
    if isinstance(default, str):
        return str(rng.choice(["", "bogus", default.upper(), default + " "]))
    if isinstance(default, tuple):
        kind = rng.integers(4)
        if kind == 0:
            return ()
        if kind == 1:
            return (*default, *default)
        return tuple(hostile_value(rng, item, name) for item in default)
    if default is None:
        return float(rng.uniform(-1e3, 1e3))
    return "bogus"


def hostile_overrides(rng: np.random.Generator, defaults: dict[str, Any]) -> dict[str, Any]:
    """One case's config overrides (see the module docstring)."""
    numeric = [
        name
        for name, value in defaults.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    ]
    if rng.random() < 0.25 and numeric:  # extreme but finite: every number scaled at once
        overrides = {}
        for name in numeric:
            value = defaults[name] * 10.0 ** rng.uniform(-3.0, 3.0)
            overrides[name] = round(value) if isinstance(defaults[name], int) else value
        return overrides
    names = rng.choice(sorted(defaults), size=min(len(defaults), rng.integers(1, 4)), replace=False)
    return {str(name): hostile_value(rng, defaults[str(name)], str(name)) for name in names}


def run_case(
    env_id: str, overrides: dict[str, Any], steps: int, timeout: float, seed: int
) -> tuple[str, str]:
    """(outcome, error text) of one case (see the module docstring)."""
    try:
        with time_limit(timeout):
            try:
                env = gym.make(env_id, **overrides)
            except (ValueError, TypeError) as error:
                message = str(error)
                named = any(name in message for name in overrides)
                return ("refused" if named else "refused_unnamed"), message.splitlines()[0]
            try:
                return play(env, steps, seed)
            finally:
                env.close()
    except CaseTimeout:
        return "hang", f"over {timeout:g} s"
    except Exception as error:  # noqa: BLE001  (every other exception is what the fuzz counts)
        return (
            "crash",
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}",
        )


def play(env: gym.Env, steps: int, seed: int) -> tuple[str, str]:
    """Reset ``env`` and play ``steps`` random actions; the case's outcome."""
    observation, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    for step in range(steps + 1):
        if not np.all(np.isfinite(observation)):
            return "nan", f"non-finite observation at step {step}"
        if not env.observation_space.contains(observation):
            return "out_of_space", f"observation out of its space at step {step}"
        if step == steps:
            break
        observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
        if not math.isfinite(float(reward)):
            return "nan", f"reward {reward} at step {step + 1}"
        for key, value in info.items():
            if isinstance(value, numbers.Real) and not math.isfinite(value):
                return "nan", f"info[{key!r}] = {value} at step {step + 1}"
        if terminated or truncated:
            observation, _ = env.reset()
    return "ran", ""


COLUMNS = {"env": "{env}", "cases": "{cases}", **{name: f"{{{name}}}" for name in OUTCOMES}}


def main(argv: Sequence[str] | None = None) -> dict[str, Counter]:
    argv = output.arguments(argv)
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    output.add_env_argument(parser, ENVS, "env ID (repeatable; default all)", repeatable=True)
    parser.add_argument("--cases", type=int, default=2000, help="cases per ID")
    parser.add_argument("--steps", type=int, default=20, help="random steps per case")
    parser.add_argument("--timeout", type=float, default=5.0, help="per case, s")
    parser.add_argument("--seed", type=int, default=0)
    output.add_out_argument(parser, "fuzz_configs")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.steps < 0 or args.timeout <= 0:
        parser.error("--cases must be >= 1, --steps >= 0, --timeout > 0")
    counts: dict[str, Counter] = {}
    failures = []
    start = time.monotonic()
    for env_id in args.env or sorted(ENVS):
        defaults = config_defaults(env_id)
        rng = np.random.default_rng([args.seed, sorted(ENVS).index(env_id)])
        counts[env_id] = Counter()
        for case in range(args.cases):
            overrides = hostile_overrides(rng, defaults)
            outcome, error = run_case(env_id, overrides, args.steps, args.timeout, case)
            counts[env_id][outcome] += 1
            if outcome in FAILURES:
                failures.append(
                    {"env": env_id, "case": case, "outcome": outcome}
                    | {"overrides": repr(overrides), "error": error}
                )
        print(env_id, dict(counts[env_id]), flush=True)
    rows = [
        {"env": env_id, "cases": sum(c.values()), **{name: c[name] for name in OUTCOMES}}
        for env_id, c in counts.items()
    ]
    folder = output.output_folder(args.out, "fuzz_configs")
    page = [
        "# Hostile config fuzz",
        "",
        f"Generated by `{output.command_line(__file__, argv)}` in "
        f"{(time.monotonic() - start) / 60:.1f} min. Outcomes per case: `refused` (ValueError or "
        "TypeError naming a changed field), `ran` (finite, in-space observations, finite "
        "rewards and `info` numbers); the other columns are failures, listed in "
        "`fuzz_failures.csv`.",
        "",
        *output.markdown_table(rows, COLUMNS),
    ]
    print(output.write_markdown(folder / "fuzz_configs.md", page))
    columns = ["env", "case", "outcome", "overrides", "error"]
    output.write_csv(folder / "fuzz_failures.csv", failures or [dict.fromkeys(columns, "")])
    print(f"{len(failures)} failing cases; wrote {folder}")
    return counts


if __name__ == "__main__":
    main()
