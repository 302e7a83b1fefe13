"""Joint offloading solvers: running time and gap to the exact optimum against N, against the
spec's targets.

Every solver of ``mec_gym.solvers.joint_offload.registry`` runs at every N where it applies
(``solver_applies``: Search+Heuristic at tiny N only; CCCP up to ``MAX_DEVICES``) on random drops
(seeds 10_000 + i, default configuration). Per (solver, N): the first call in the process is
reported as "cold" (it includes cvxpy's compilation of the problem sizes not met before, and
loading ADMM's compiled loops, or compiling them if numba has no cache yet; N runs in increasing
order); then, per drop, an untimed solve of the drop followed by a timed solve of
a fresh copy of it (``JointOffloadProblem.from_gains``, so no cached property is reused), so the
timed solves exclude compilation. Median, mean and max over the drops; a cell stops after
``--budget`` seconds once it has ``--min-drops`` drops. The gap is each timed allocation's total
cost against the exact optimum of the same drop (``exact_optimum`` with the registry's time
limit; drops it does not prove optimal are left out, and the bound's row counts the proved ones).
Theorem 1 runs vectorised over 10^5 devices (``optimal_local`` with an array of 10^5 CPU caps),
median of ``--repeats`` calls. ADMM also runs batched: the 100 drops at N = 25 in one
``admm_batch`` call (median of ``--repeats`` calls). Targets from the spec README, with
PASS/FAIL. Prints a table and writes ``<out>/bench_solvers.md`` and ``<out>/bench_solvers.csv``
(``--out docs``: the committed pages).

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
from mec_gym.problems.joint_offload import (
    PRESETS,
    JointOffloadConfig,
    JointOffloadProblem,
    evaluate_allocation,
)
from mec_gym.solvers.joint_offload.admm import admm_batch
from mec_gym.solvers.joint_offload.bound import exact_optimum
from mec_gym.solvers.joint_offload.local import optimal_local
from mec_gym.solvers.joint_offload.registry import (
    BOUND_TIME_LIMIT,
    SOLVER_LABELS,
    SOLVERS,
    solve,
    solver_applies,
)

FULL_DEVICES = (2, 5, 10, 12, 25, 50, 100, 200, 500, 1000)
MAX_DEVICES = {"cccp": 200}
"""Largest N a solver is timed at by default: CCCP's cvxpy QP has N x (F_max - F_min + 2)
variables and one solve per penalty step (minutes per drop beyond)."""
QUICK_DEVICES = (2, 5, 10, 12, 25)
THEOREM1_DEVICES = 100_000
THEOREM1_CAPS = (0.5e9, 1.8e9)
"""Range of the uniform CPU caps f^max of Theorem 1's devices, cycle/s (the interior optimum
f* is 1.71 GHz with the defaults, so both branches of the min occur)."""
BATCH_DEVICES = 25
BATCH_DROPS = 100
"""ADMM batched: the drops (seeds 10_000 + i) of N = ``BATCH_DEVICES`` solved in one call."""
BATCH_LABELS = {"admm_batch": f"ADMM, {BATCH_DROPS} drops in one call"}
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
        return Target("median", 1e-3, "≤ 1 ms at N = 25")
    if solver == "admm_batch" and n == BATCH_DEVICES:
        return Target("median", 0.02, f"≤ 20 ms per {BATCH_DROPS} drops at N = 25")
    if solver == "gp_heuristic" and n == 100:
        return Target("median", 0.2, "≤ 200 ms at N = 100")
    if solver == "theorem1_closed_form" and n == THEOREM1_DEVICES:
        return Target("median", 0.05, "≤ 50 ms over 10^5 devices")
    if solver == "bound" and n == 50:
        return Target("median", 1.0, "≤ 1 s at N = 50")
    return None


def time_call(call: Callable[[], object]) -> float:
    """Wall time of ``call()``, s."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


@dataclass(frozen=True)
class SolverTimes:
    """What :func:`bench_solver` measured for one (solver, N)."""

    cold: float
    """The first call in the process, s."""
    times: np.ndarray
    """Each timed solve, s."""
    costs: np.ndarray
    """Total cost of each timed solve's allocation (the drops in order)."""


def bench_solver(
    config: JointOffloadConfig, solver: str, n: int, drops: int, min_drops: int, budget: float
) -> SolverTimes:
    """Cold time, then per drop an untimed and a timed solve, of ``solver`` at N = ``n``."""
    problems = [
        JointOffloadProblem.sample(config, np.random.default_rng(seed), n)
        for seed in range(DROP_SEED_START, DROP_SEED_START + drops)
    ]
    cold = time_call(
        lambda: solve(solver, problems[0], np.random.default_rng((DROP_SEED_START, 1)))
    )
    times: list[float] = []
    costs: list[float] = []
    started = time.perf_counter()
    for seed, problem in zip(
        range(DROP_SEED_START, DROP_SEED_START + drops), problems, strict=True
    ):
        if len(times) >= min_drops and time.perf_counter() - started > budget:
            break
        solve(solver, problem, np.random.default_rng((seed, 1)))  # compiles new sizes, untimed
        fresh = JointOffloadProblem.from_gains(config, problem.gain_db)
        start = time.perf_counter()
        allocation = solve(solver, fresh, np.random.default_rng((seed, 1)))
        times.append(time.perf_counter() - start)
        costs.append(evaluate_allocation(fresh, allocation).total)
    return SolverTimes(cold, np.array(times), np.array(costs))


def bound_costs(config: JointOffloadConfig, n: int, drops: int) -> tuple[np.ndarray, int]:
    """(optimal cost of each drop, NaN where the time limit stopped the proof; how many of them
    were proved within the limit) at N = ``n``."""
    costs = []
    for seed in range(DROP_SEED_START, DROP_SEED_START + drops):
        problem = JointOffloadProblem.sample(config, np.random.default_rng(seed), n)
        result = exact_optimum(problem, BOUND_TIME_LIMIT)
        costs.append(result.cost if result.optimal else np.nan)
    costs_array = np.array(costs)
    return costs_array, int(np.isfinite(costs_array).sum())


def bench_theorem1(config: JointOffloadConfig, repeats: int) -> dict[str, SolverTimes]:
    """First-call time and times of the next ``repeats`` calls of Theorem 1 over 10^5 devices,
    closed form and enumeration of F (no costs)."""
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
        times = np.array([time_call(call) for _ in range(repeats)])
        out[name] = SolverTimes(cold, times, np.zeros(0))
    return out


def bench_admm_batch(config: JointOffloadConfig, repeats: int) -> SolverTimes:
    """First-call time and times of the next ``repeats`` calls of ``admm_batch`` over the
    ``BATCH_DROPS`` drops at N = ``BATCH_DEVICES``, each call on fresh copies of them."""
    problems = [
        JointOffloadProblem.sample(config, np.random.default_rng(seed), BATCH_DEVICES)
        for seed in range(DROP_SEED_START, DROP_SEED_START + BATCH_DROPS)
    ]
    times = []
    for _ in range(repeats + 1):
        fresh = [JointOffloadProblem.from_gains(config, p.gain_db) for p in problems]
        times.append(time_call(lambda: admm_batch(fresh)))  # noqa: B023
    return SolverTimes(times[0], np.array(times[1:]), np.zeros(0))


def row(
    solver: str,
    n: int,
    measured: SolverTimes,
    optimum: np.ndarray | None = None,
    proved: int | None = None,
) -> dict:
    """The CSV row of ``solver`` at N = ``n``: drops timed, times in ms, the gap to the exact
    optimum on the same drops (``optimum``; NaN entries are skipped), target and verdict."""
    target = target_for(solver, n)
    times = measured.times
    statistic = {"median": np.median(times), "max": times.max()}
    passed = "" if target is None else statistic[target.statistic] <= target.seconds
    gap = np.full(times.size, np.nan)
    if optimum is not None and measured.costs.size:
        reference = optimum[: measured.costs.size]
        gap = 100.0 * (measured.costs - reference) / np.abs(reference)
    known = gap[np.isfinite(gap)]
    return {
        "solver": solver,
        "num_devices": n,
        "drops": int(times.size),
        "cold_ms": 1e3 * measured.cold,
        "median_ms": 1e3 * float(np.median(times)),
        "mean_ms": 1e3 * float(times.mean()),
        "max_ms": 1e3 * float(times.max()),
        "mean_gap_pct": float(known.mean()) if known.size else np.nan,
        "max_gap_pct": float(known.max()) if known.size else np.nan,
        "bound_proved": "" if proved is None else f"{proved}/{times.size}",
        "target": "" if target is None else f"{target.statistic} {target.text}",
        "pass": "" if target is None else ("PASS" if passed else "FAIL"),
    }


def gap_text(row: dict) -> str:
    """The mean and max gap of a row in %, or empty without a proved optimum."""
    if not np.isfinite(row["mean_gap_pct"]):
        return ""
    return f"{row['mean_gap_pct']:.3f} % ({row['max_gap_pct']:.3f} %)"


def milliseconds(value: float) -> str:
    """A time in ms with three significant digits, without exponent."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def measured(row: dict) -> str:
    """The statistic a row's target is stated on, and its value, e.g. ``"median 4.6 ms"``."""
    statistic = row["target"].split()[0]
    return f"{statistic} {milliseconds(row[f'{statistic}_ms'])} ms"


LABELS = {**SOLVER_LABELS, **BATCH_LABELS, **THEOREM1_LABELS}
TIMES_COLUMNS: dict[str, output.Cell] = {
    "solver": lambda r: LABELS[r["solver"]],
    "N": "{num_devices:,}",
    "drops": "{drops}",
    **{
        f"{name} (ms)": lambda r, key=f"{name}_ms": milliseconds(r[key])
        for name in ("cold", "median", "mean", "max")
    },
    "gap to the optimum, mean (max)": lambda r: gap_text(r),
    "bound proved in 60 s": "{bound_proved}",
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
        "# Joint offloading solvers: running time and gap to the optimum",
        "",
        f"Generated by `{command}` on {output.processor()} "
        f"({os.cpu_count()} CPUs, shared with other jobs: load average {loads[0]} at the start, "
        f"{loads[1]} at the end; times are inflated accordingly), Python "
        f"{platform.python_version()}, {config_text}.",
        "",
        "Per (solver, N): *cold* is the first call in the process (N in increasing order; it "
        "includes cvxpy's compilation of the problem sizes not met at a smaller N, and ADMM's "
        "compiled loops loaded from numba's cache, or compiled without one). Each timed "
        "solve is preceded by an untimed solve of the same drop (compilation excluded) and runs "
        "on a fresh copy of the drop. Drops are seeds 10000, 10001, …; Theorem 1 runs over "
        f"{THEOREM1_DEVICES:,} devices with CPU caps uniform in "
        f"[{THEOREM1_CAPS[0] / 1e9:g}, {THEOREM1_CAPS[1] / 1e9:g}] GHz ('drops' = repeats); "
        f"batched ADMM solves {BATCH_DROPS} drops per call (the time of the call; 'drops' = "
        "repeats).",
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
        optimum, proved = bound_costs(config, n, drops)
        for solver in args.solver or SOLVERS:
            if solver_applies(solver, n) and n <= MAX_DEVICES.get(solver, n):
                measured = bench_solver(config, solver, n, drops, args.min_drops, args.budget)
                rows.append(
                    row(solver, n, measured, optimum, proved if solver == "bound" else None)
                )
                print(
                    f"{solver:>18} N = {n:>4}: median {rows[-1]['median_ms']:9.3f} ms, "
                    f"gap {gap_text(rows[-1]) or '-'}",
                    flush=True,
                )
    if BATCH_DEVICES in devices and "admm" in (args.solver or SOLVERS):
        rows.append(row("admm_batch", BATCH_DEVICES, bench_admm_batch(config, args.repeats)))
    for name, measured in bench_theorem1(config, args.repeats).items():
        rows.append(row(name, THEOREM1_DEVICES, measured))

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
