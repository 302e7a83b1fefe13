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
``docs/bench_solvers.md`` and ``docs/bench_solvers.csv``.

    python eval/bench_solvers.py [--quick] [--drops 20] [--budget 60]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mec_gym.problems.joint_offload import PRESETS, JointOffloadConfig, JointOffloadProblem
from mec_gym.solvers.joint_offload.local import optimal_local
from mec_gym.solvers.joint_offload.registry import SOLVER_LABELS, SOLVERS, solve, solver_applies

DROP_SEED_START = 10_000
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


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def milliseconds(value: float) -> str:
    """A time in ms with three significant digits, without exponent."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def markdown(rows: Sequence[dict], command: str, config_text: str, loads: tuple[str, str]) -> str:
    labels = {**SOLVER_LABELS, **THEOREM1_LABELS}
    lines = [
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
        "| solver | N | drops | cold (ms) | median (ms) | mean (ms) | max (ms) | target | |",
        "|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {labels[r['solver']]} | {r['num_devices']:,} | {r['drops']} "
            f"| {milliseconds(r['cold_ms'])} | {milliseconds(r['median_ms'])} "
            f"| {milliseconds(r['mean_ms'])} | {milliseconds(r['max_ms'])} | {r['target']} "
            f"| {r['pass']} |"
            for r in rows
        ),
        "",
        "## Spec targets",
        "",
        "| solver | N | measured | target | |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        if r["target"]:
            statistic = r["target"].split()[0]
            lines.append(
                f"| {labels[r['solver']]} | {r['num_devices']:,} "
                f"| {statistic} {milliseconds(r[f'{statistic}_ms'])} ms | {r['target']} "
                f"| {r['pass']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N up to 25, 5 drops")
    parser.add_argument("--devices", type=int, nargs="+", help=f"N (default {FULL_DEVICES})")
    parser.add_argument("--drops", type=int, help="drops per (solver, N) (default 20, quick 5)")
    parser.add_argument("--min-drops", type=int, default=3, help="drops timed whatever the budget")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per (solver, N)")
    parser.add_argument("--repeats", type=int, default=20, help="Theorem 1 timing repeats")
    parser.add_argument("--solver", action="append", choices=sorted(SOLVERS), help="repeatable")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="named config overrides")
    parser.add_argument("--out", type=Path, default=Path("docs/bench_solvers.md"))
    args = parser.parse_args(argv)
    devices = args.devices or (QUICK_DEVICES if args.quick else FULL_DEVICES)
    drops = args.drops or (5 if args.quick else 20)
    config = JointOffloadConfig(**PRESETS.get(args.preset, {}))
    load_before = load_line()

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
    text = markdown(
        rows,
        " ".join(["python eval/bench_solvers.py", *argv]),
        config_text,
        (load_before, load_line()),
    )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    with args.out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(
            {k: f"{v:.6g}" if isinstance(v, float) else v for k, v in r.items()} for r in rows
        )


if __name__ == "__main__":
    main()
