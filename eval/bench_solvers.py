"""Joint offloading solvers: running time per instance vs N, against the spec's targets.

Every solver of ``mec_gym.solvers.joint_offload.registry`` runs at every N where it applies
(``solver_applies``: the exact bound up to its limit, Search+Heuristic at tiny N only) on random
drops (seeds 10_000 + i, default configuration). Per (solver, N): the first call in the process
is reported as "cold" (it includes cvxpy's compilation of the problem sizes not met before; N
runs in increasing order); then, per drop, an untimed solve of the drop followed by a timed
solve of a fresh copy of it (``JointOffloadProblem.from_gains``, so no cached property is
reused), so the timed solves exclude compilation. Median, mean and max over the drops; a cell
stops after ``--budget`` seconds once it has ``--min-drops`` drops. Theorem 1 runs vectorised
over 10^5 devices (``optimal_local`` with an array of 10^5 CPU caps), median of ``--repeats``
calls. Targets from the spec README, with PASS/FAIL. Prints a table and writes
``<out>/bench_solvers.md`` and ``<out>/bench_solvers.csv`` (``--out docs``: the committed pages).

    python eval/bench_solvers.py [--quick] [--drops 20] [--budget 60] [--out docs]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mec_gym.eval import output
from mec_gym.eval.joint_offload_experiments import DROP_SEED_START
from mec_gym.problems.joint_offload import PRESETS, JointOffloadConfig, JointOffloadProblem
from mec_gym.solvers.joint_offload.local import optimal_local
from mec_gym.solvers.joint_offload.registry import SOLVER_LABELS, SOLVERS, solve, solver_applies

FULL_DEVICES = (2, 5, 10, 12, 25, 50, 100, 200)
QUICK_DEVICES = (2, 5, 10, 12, 25)
THEOREM1_DEVICES = 100_000
THEOREM1_CAPS = (0.5e9, 1.8e9)
"""Range of the uniform CPU caps f^max of Theorem 1's devices, cycle/s (the interior optimum
f* is 1.71 GHz with the defaults, so both branches of the min occur)."""
THEOREM1_LABELS = {
    "theorem1_closed_form": "Theorem 1, closed form (10^5 devices)",
    "theorem1_enumeration": "Theorem 1, enumerating F (10^5 devices)",
}


@dataclass(frozen=True)
class Target:
    """A spec target: ``statistic`` ("median" or "max") of the time per instance <= ``seconds``."""

    statistic: str
    seconds: float
    text: str


def target_for(solver: str, n: int) -> Target | None:
    """The spec's target for ``solver`` at N = ``n`` (README, "Performance targets")."""
    if solver == "admm" and n == 25:
        return Target("median", 5e-3, "≤ 5 ms at N = 25")
    if solver == "gp_heuristic" and n == 25:
        return Target("median", 0.2, "≤ 200 ms at N = 25")
    if solver == "theorem1_closed_form" and n == THEOREM1_DEVICES:
        return Target("median", 0.05, "≤ 50 ms over 10^5 devices")
    if solver == "bound" and n <= 12:
        return Target("max", 60.0, "≤ 60 s per instance for N ≤ 12")
    return None


def time_call(call: Callable[[], object]) -> float:
    """Wall time of ``call()``, s."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def bench_solver(
    config: JointOffloadConfig, solver: str, n: int, drops: int, min_drops: int, budget: float
) -> tuple[float, np.ndarray]:
    """(cold time, warm times per drop) of ``solver`` at N = ``n``, s."""
    problems = [
        JointOffloadProblem.sample(config, np.random.default_rng(seed), n)
        for seed in range(DROP_SEED_START, DROP_SEED_START + drops)
    ]
    cold = time_call(
        lambda: solve(solver, problems[0], np.random.default_rng((DROP_SEED_START, 1)))
    )
    times: list[float] = []
    started = time.perf_counter()
    for seed, problem in zip(
        range(DROP_SEED_START, DROP_SEED_START + drops), problems, strict=True
    ):
        if len(times) >= min_drops and time.perf_counter() - started > budget:
            break
        solve(solver, problem, np.random.default_rng((seed, 1)))  # compiles new sizes, untimed
        fresh = JointOffloadProblem.from_gains(config, problem.gain_db)
        times.append(time_call(lambda: solve(solver, fresh, np.random.default_rng((seed, 1)))))  # noqa: B023
    return cold, np.array(times)


def bench_theorem1(config: JointOffloadConfig, repeats: int) -> dict[str, tuple[float, np.ndarray]]:
    """(first-call time, times of the next ``repeats`` calls) of Theorem 1 over 10^5 devices,
    closed form and enumeration of F, s."""
    problem = JointOffloadProblem.sample(config, np.random.default_rng(DROP_SEED_START), 1)
    caps = np.random.default_rng(DROP_SEED_START).uniform(*THEOREM1_CAPS, THEOREM1_DEVICES)
    calls = {
        "theorem1_closed_form": lambda: optimal_local(
            config, caps, problem.macs, problem.accuracy, problem.linear_complexity
        ),
        "theorem1_enumeration": lambda: optimal_local(config, caps, problem.macs, problem.accuracy),
    }
    out = {}
    for name, call in calls.items():
        cold = time_call(call)
        out[name] = cold, np.array([time_call(call) for _ in range(repeats)])
    return out


def row(solver: str, n: int, cold: float, times: np.ndarray) -> dict:
    """The CSV row of ``solver`` at N = ``n``: drops timed, times in ms, target and verdict."""
    target = target_for(solver, n)
    statistic = {"median": np.median(times), "max": times.max()}
    passed = "" if target is None else statistic[target.statistic] <= target.seconds
    return {
        "solver": solver,
        "num_devices": n,
        "drops": int(times.size),
        "cold_ms": 1e3 * cold,
        "median_ms": 1e3 * float(np.median(times)),
        "mean_ms": 1e3 * float(times.mean()),
        "max_ms": 1e3 * float(times.max()),
        "target": "" if target is None else f"{target.statistic} {target.text}",
        "pass": "" if target is None else ("PASS" if passed else "FAIL"),
    }


def milliseconds(value: float) -> str:
    """A time in ms with three significant digits, without exponent."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def measured(row: dict) -> str:
    """The statistic a row's target is stated on, and its value, e.g. ``"median 4.6 ms"``."""
    statistic = row["target"].split()[0]
    return f"{statistic} {milliseconds(row[f'{statistic}_ms'])} ms"


LABELS = {**SOLVER_LABELS, **THEOREM1_LABELS}
TIMES_COLUMNS: dict[str, output.Cell] = {
    "solver": lambda r: LABELS[r["solver"]],
    "N": "{num_devices:,}",
    "drops": "{drops}",
    **{
        f"{name} (ms)": lambda r, key=f"{name}_ms": milliseconds(r[key])
        for name in ("cold", "median", "mean", "max")
    },
    "target": "{target}",
    "": "{pass}",
}
"""Markdown columns of the table of every (solver, N)."""
TARGET_COLUMNS: dict[str, output.Cell] = {
    "solver": TIMES_COLUMNS["solver"],
    "N": "{num_devices:,}",
    "measured": measured,
    "target": "{target}",
    "": "{pass}",
}
"""Markdown columns of the table of the spec's targets."""


def markdown(
    rows: Sequence[dict], command: str, config_text: str, loads: tuple[str, str]
) -> list[str]:
    """The lines of the page; ``loads`` are the load averages at the start and at the end."""
    return [
        "# Joint offloading solvers: running time",
        "",
        f"Generated by `{command}` on {platform.processor() or platform.machine()} "
        f"({os.cpu_count()} CPUs, shared with other jobs: load average {loads[0]} at the start, "
        f"{loads[1]} at the end; times are inflated accordingly), Python "
        f"{platform.python_version()}, {config_text}.",
        "",
        "Per (solver, N): *cold* is the first call in the process (N in increasing order; it "
        "includes cvxpy's compilation of the problem sizes not met at a smaller N). Each timed "
        "solve is preceded by an untimed solve of the same drop (compilation excluded) and runs "
        "on a fresh copy of the drop. Drops are seeds 10000, 10001, …; Theorem 1 runs over "
        f"{THEOREM1_DEVICES:,} devices with CPU caps uniform in "
        f"[{THEOREM1_CAPS[0] / 1e9:g}, {THEOREM1_CAPS[1] / 1e9:g}] GHz ('drops' = repeats).",
        "",
        *output.markdown_table(rows, TIMES_COLUMNS),
        "",
        "## Spec targets",
        "",
        *output.markdown_table([r for r in rows if r["target"]], TARGET_COLUMNS),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    argv = output.arguments(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N up to 25, 5 drops")
    parser.add_argument("--devices", type=int, nargs="+", help=f"N (default {FULL_DEVICES})")
    parser.add_argument("--drops", type=int, help="drops per (solver, N) (default 20, quick 5)")
    parser.add_argument("--min-drops", type=int, default=3, help="drops timed whatever the budget")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per (solver, N)")
    parser.add_argument("--repeats", type=int, default=20, help="Theorem 1 timing repeats")
    parser.add_argument("--solver", action="append", choices=sorted(SOLVERS), help="repeatable")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="named config overrides")
    output.add_out_argument(parser, "bench_solvers")
    args = parser.parse_args(argv)
    devices = args.devices or (QUICK_DEVICES if args.quick else FULL_DEVICES)
    drops = args.drops or (5 if args.quick else 20)
    config = JointOffloadConfig(**PRESETS.get(args.preset, {}))
    load_before = output.load_average()

    rows = []
    for n in sorted(devices):
        for solver in args.solver or SOLVERS:
            if solver_applies(solver, n):
                cold, times = bench_solver(config, solver, n, drops, args.min_drops, args.budget)
                rows.append(row(solver, n, cold, times))
                print(
                    f"{solver:>18} N = {n:>4}: median {rows[-1]['median_ms']:9.3f} ms", flush=True
                )
    for name, (cold, times) in bench_theorem1(config, args.repeats).items():
        rows.append(row(name, THEOREM1_DEVICES, cold, times))

    config_text = (
        f"preset `{args.preset}`" if args.preset else "default configuration (spec section 5)"
    )
    out = output.output_folder(args.out, "bench_solvers")
    lines = markdown(
        rows, output.command_line(__file__, argv), config_text, (load_before, output.load_average())
    )
    print(output.write_markdown(out / "bench_solvers.md", lines))
    output.write_csv(out / "bench_solvers.csv", rows, digits=6)
    print(f"wrote {out}/bench_solvers.md and .csv")


if __name__ == "__main__":
    main()
