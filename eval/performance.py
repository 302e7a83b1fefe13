"""The performance page: every speed target of the spec, measured, and where the time goes.

Runs, in this process and in turn, ``eval/bench_envs.py`` (step cost of every env against
CartPole's), ``eval/bench_vector.py`` (native batched envs against ``SyncVectorEnv`` at 1 … 1024
envs, SB3 PPO end to end), ``eval/bench_solvers.py`` (solver time and gap to the exact bound
against N) and a cProfile of every env's steps (``eval/profile_env.py``: calls per step and the
functions that take the time), all writing into ``--out``, then writes
``<out>/PERFORMANCE.md``: a summary of every target with its verdict, the profiles, and links to
the three pages. ``--quick`` shortens every measurement (a smoke run, not the page's numbers).

    python eval/performance.py [--quick] [--out docs]
"""

from __future__ import annotations

import csv
import platform
from argparse import ArgumentParser
from collections.abc import Sequence
from pathlib import Path

from mec_gym.eval import bench_envs, bench_solvers, bench_vector, output, profile_env
from mec_gym.registration import ENVS

__all__ = ["main"]

PROFILED_STEPS = 5000
"""Steps profiled per env (calls per step do not depend on the machine's load)."""


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file written by ``output.write_csv``."""
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def step_rows(folder: Path) -> list[dict[str, str]]:
    """The step-cost summary: per env its ratio to CartPole, the target and the verdict."""
    return [
        {
            "target": "step cost (`env.unwrapped`, resets included)",
            "env": row["env"],
            "measured": f"{float(row['ratio']):.2f}× CartPole-v1",
            "wanted": row["target"],
            "verdict": row["pass"],
        }
        for row in read_csv(folder / "bench_envs.csv")
        if row["pass"]
    ]


def vector_rows(folder: Path) -> list[dict[str, str]]:
    """The batched-env summary: per env its speed-up over ``SyncVectorEnv`` at 256 envs, its
    throughput, the speed-up its resets alone allow and the bounds its random draws set."""
    return [
        {
            "target": "native vector env at 256 envs",
            "env": row["env"],
            "measured": (
                f"{float(row['speedup']):.2f}× Sync, {float(row['native']):,.0f} steps/s "
                f"(resets {float(row['reset_share']):.0%} of its time: at most "
                f"{float(row['ceiling']):.1f}× Sync if its steps took no time; its random "
                f"draws alone: at most {float(row['draw_bound']):.0f}× Sync and "
                f"{float(row['draw_rate']):,.0f} steps/s)"
            ),
            "wanted": row["target"],
            "verdict": row["verdict"],
        }
        for row in read_csv(folder / "bench_vector.csv")
        if row.get("verdict")
    ]


def solver_rows(folder: Path) -> list[dict[str, str]]:
    """The solver summary: every timed cell with a spec target."""
    rows = []
    for row in read_csv(folder / "bench_solvers.csv"):
        if not row["pass"]:
            continue
        statistic = row["target"].split()[0]
        rows.append(
            {
                "target": f"{bench_solvers.LABELS[row['solver']]}, N = {row['num_devices']}",
                "env": "JointOffload solvers",
                "measured": f"{statistic} {float(row[f'{statistic}_ms']):.3g} ms",
                "wanted": row["target"].split(" ", 1)[1],
                "verdict": row["pass"],
            }
        )
    return rows


SUMMARY_COLUMNS = {
    "target": "{target}",
    "env": "{env}",
    "measured": "{measured}",
    "spec": "{wanted}",
    "": "{verdict}",
}
PROFILE_COLUMNS = {
    "env": "{env}",
    "calls / step": "{calls:.1f}",
    "numpy calls / step": "{numpy_calls:.1f}",
    "where the time goes (share of the profiled time in the function's own code)": "{top}",
}


def main(argv: Sequence[str] | None = None) -> Path:
    argv = output.arguments(argv)
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short measurements (smoke run)")
    output.add_out_argument(parser, "performance")
    args = parser.parse_args(argv)
    folder = output.output_folder(args.out, "performance")
    out = ["--out", str(folder)]
    if args.quick:
        bench_envs.main(["--seconds", "0.2", "--repeats", "1", *out])
        bench_vector.main(
            ["--num-envs", "1", "256", "--seconds", "0.2", "--repeats", "1", "--ppo-steps", "0"]
            + out
        )
        bench_solvers.main(["--quick", "--drops", "2", "--budget", "5", *out])
    else:
        bench_envs.main(out)
        bench_vector.main(out)
        bench_solvers.main(out)
    steps = 200 if args.quick else PROFILED_STEPS
    profiles = [profile_env.step_profile(env_id, steps)[0] for env_id in sorted(ENVS)]
    profile_table = [
        {
            "env": p.env_id,
            "calls": p.calls_per_step,
            "numpy_calls": p.numpy_calls_per_step,
            "top": "; ".join(f"`{name}` {share:.0%}" for name, share in p.top),
        }
        for p in profiles
    ]
    summary = step_rows(folder) + vector_rows(folder) + solver_rows(folder)
    failed = sum(row["verdict"] == "FAIL" for row in summary)
    page = [
        "# Performance",
        "",
        f"Generated by `{output.command_line(__file__, argv)}` on "
        f"{output.processor()}, Python {platform.python_version()}; "
        f"load averages (1, 5, 15 min) at the end {output.load_average()}. Ratios are measured "
        "in one process (the env and its reference in turn), so they hold on a loaded machine "
        "better than absolute times do.",
        "",
        f"## The spec's targets ({len(summary) - failed} of {len(summary)} met)",
        "",
        *output.markdown_table(summary, SUMMARY_COLUMNS),
        "",
        "Details: [step cost per env](bench_envs.md), [batched envs and SB3 PPO end to "
        "end](bench_vector.md), [solvers: time and gap against N](bench_solvers.md).",
        "",
        f"## Where the time goes ({steps:,} steps of `env.unwrapped` under cProfile per env)",
        "",
        *output.markdown_table(profile_table, PROFILE_COLUMNS),
        "",
        "`python eval/profile_env.py --env ID` prints the full profile of one env.",
    ]
    output.write_markdown(folder / "PERFORMANCE.md", page)
    print(f"wrote {folder / 'PERFORMANCE.md'}")
    return folder


if __name__ == "__main__":
    main()
