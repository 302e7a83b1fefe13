"""Reproduce the results page: every environment × every algorithm that fits it (≥ 3 training
seeds) × every baseline, on the fixed test seeds.

    python eval/results.py [--env ID ...] [--algo NAME ...] [--seeds 0 1 2] [--timesteps N]
        [--episodes N] [--logdir runs/results] [--address local|auto|ray://HOST:PORT]
        [--out FOLDER] [-- TRAIN ARGS]
    python eval/results.py --from-csv --out docs

``make benchmark`` runs it with ``--address local --out docs``: it writes ``docs/RESULTS.md`` and
its plots in ``docs/results/``. Step 1 trains, for every (algorithm, env) pair whose YAML entry
poses actions the algorithm can take, one run per seed with the YAML's budget (``--timesteps``:
another, for quick checks) into ``--logdir`` (``train/sweep.py``: finished runs are kept,
unfinished ones resumed). Step 2 benchmarks every baseline and every trained agent (its
checkpoint chosen on the validation seeds) on the test seeds (``eval/benchmark.py``, cells stored
in ``<logdir>/benchmark_cells``, out of the docs). Both steps resume where a killed run stopped.
The page states the command, the machine and the date.

``--from-csv`` renders the tables of ``<out>/RESULTS.md`` and ``<out>/results/results.md`` again
from ``<out>/results/results.csv`` (after a change of their layout: no training, no policy
played, the plots kept) and says so on the pages.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import mec_gym  # noqa: F401  (registers the environments)
from mec_gym.eval import benchmark, output
from mec_gym.eval.evaluation import protocol_for
from mec_gym.registration import ENVS, canonical_id
from mec_gym.train.cli import ALGOS, env_problem, load_hyperparams
from mec_gym.train.sweep import Sweep, run_trainings

__all__ = ["fitting_pairs", "rerender", "main"]

RERENDERED = "Tables re-rendered from `results/results.csv`"
"""How the page's line about a re-rendering starts (a later one replaces it)."""


def fitting_pairs(algos: Sequence[str], env_ids: Sequence[str]) -> list[tuple[str, str]]:
    """The (algorithm, env) pairs whose YAML entry poses actions the algorithm can take."""
    return [
        (algo, env_id)
        for env_id in env_ids
        for algo in algos
        if env_problem(algo, env_id, load_hyperparams(algo, env_id, {}).get("env_kwargs", {}))
        is None
    ]


def training_env_kwargs(extra: Sequence[str]) -> list[str]:
    """``--env-kwargs`` and its ``KEY=VALUE`` entries among the training arguments, if any."""
    if "--env-kwargs" not in extra:
        return []
    entries = list(extra[extra.index("--env-kwargs") + 1 :])
    end = next((i for i, item in enumerate(entries) if item.startswith("--")), len(entries))
    return ["--env-kwargs", *entries[:end]]


def machine() -> str:
    """The machine a page was computed on."""
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()} on {platform.system()}"
    )


def main(argv: Sequence[str] | None = None) -> Path:
    argv = output.arguments(argv)
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    output.add_env_argument(parser, ENVS, "env ID (repeatable; default: all)", repeatable=True)
    parser.add_argument("--algo", nargs="+", choices=sorted(ALGOS), default=sorted(ALGOS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--timesteps", type=int, help="per training run (default: the YAML's)")
    parser.add_argument("--episodes", type=int, help="test seeds per policy (default: the env's)")
    parser.add_argument("--logdir", type=Path, default=Path("runs/results"))
    parser.add_argument("--address", help="run on Ray: local, auto or ray://HOST:PORT")
    parser.add_argument(
        "--from-csv",
        action="store_true",
        help="render the tables of <out>/RESULTS.md again from <out>/results/results.csv",
    )
    output.add_out_argument(parser, "results")
    args = parser.parse_args(argv)
    if args.from_csv:
        if args.out is None or not (args.out / "results" / "results.csv").is_file():
            parser.error("--from-csv needs --out FOLDER holding results/results.csv")
        return rerender(args.out, output.command_line(__file__, argv))
    if len(args.seeds) < 3:
        parser.error(f"--seeds: at least 3 training seeds, got {args.seeds}")
    env_ids = [canonical_id(e) for e in args.env] if args.env else sorted(ENVS)
    start = time.monotonic()

    pairs = fitting_pairs(args.algo, env_ids)
    print(f"{len(pairs)} (algorithm, env) pairs × {len(args.seeds)} seeds")
    sweeps = [
        Sweep(algo, env_id, tuple(args.seeds), args.logdir, args.timesteps, tuple(extra))
        for algo, env_id in pairs
    ]
    jobs = [job for sweep in sweeps for job in sweep.jobs()]
    print(f"{len(jobs)} training runs to start or resume")
    run_trainings(jobs, args.address)  # all sweeps' runs at once: Ray spreads them
    found = {sweep: sweep.runs() for sweep in sweeps}
    missing = [f"{s.algo} on {s.env_id}" for s, runs in found.items() if len(runs) < len(s.seeds)]
    if missing:  # the page states len(args.seeds) training seeds for every pair
        parser.error(f"no finished run of every seed for {missing}: run the command again")
    runs = [run for sweep_runs in found.values() for run in sweep_runs]

    folder = output.output_folder(args.out, "results")
    bench_argv = [
        "--env",
        *env_ids,
        "--agents",
        *map(str, runs),
        "--out",
        str(folder / "results"),
        "--cells",
        str(args.logdir / "benchmark_cells"),
        "--no-tensorboard",
    ]
    if args.episodes:
        bench_argv += ["--episodes", str(args.episodes)]
    bench_argv += training_env_kwargs(extra)  # the baselines on the agents' problem
    if args.address:
        bench_argv += ["--address", args.address]
    bench = benchmark.main(bench_argv)
    sections = (bench / "results.md").read_text().split("\n## ", 1)[1]
    sections = sections.replace("](", "](results/")
    hours = (time.monotonic() - start) / 3600
    page = [
        "# Results",
        "",
        "Every environment × every algorithm whose actions fit it "
        f"({len(args.seeds)} training seeds, each scored by its checkpoint chosen on the "
        "validation seeds) × every baseline, on the fixed test seeds; paired differences to the "
        "best baseline on the same seeds. Generated by",
        "",
        f"    {output.command_line(__file__, argv + (['--', *extra] if extra else []))}",
        "",
        f"on {time.strftime('%Y-%m-%d')}, {machine()}; this invocation took {hours:.1f} h (runs "
        f"already finished in {args.logdir} were reused). Training runs: {args.logdir}.",
        "",
        "## " + sections,
    ]
    output.write_markdown(folder / "RESULTS.md", page)
    print(f"wrote {folder / 'RESULTS.md'}")
    return folder


def rerender(folder: Path, command: str) -> Path:
    """``folder/RESULTS.md`` and ``folder/results/results.md`` with their tables rendered again
    from ``results/results.csv`` (the rows of the same cells,
    :func:`~mec_gym.eval.benchmark.rows_from_csv`) by the current ``markdown_section``; the seed
    groups' statistics recomputed from their members' rows, the CSV rewritten with them; each
    page's header kept, with a line saying when and how."""
    csv_path = folder / "results" / "results.csv"
    sections, all_rows = [], []
    for env_id, rows in benchmark.rows_from_csv(csv_path).items():
        rows = benchmark.with_seed_statistics(rows)
        all_rows += rows
        sections.append(benchmark.markdown_section(env_id, protocol_for(env_id), rows))
    output.write_csv(csv_path, all_rows)
    note = (
        f"{RERENDERED} on {time.strftime('%Y-%m-%d')} by `{command}`: the same rows, no policy "
        "played again."
    )
    text = "\n".join(sections)
    for page_path, links in (
        (folder / "results" / "results.md", ""),
        (folder / "RESULTS.md", "results/"),
    ):
        if not page_path.is_file():
            continue
        head = page_path.read_text().split("\n## ", 1)[0].rstrip("\n").split("\n\n")
        head = [paragraph for paragraph in head if not paragraph.startswith(RERENDERED)]
        tables = text.replace("](", f"]({links}") if links else text
        output.write_markdown(page_path, ["\n\n".join([*head, note]), "", tables])
        print(f"wrote {page_path}")
    return folder


if __name__ == "__main__":
    main()
