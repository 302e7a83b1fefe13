"""Reproduce the results page: every environment × every algorithm that fits it (≥ 3 training
seeds) × every baseline, on the fixed test seeds.

    python eval/results.py [--env ID ...] [--algo NAME ...] [--seeds 0 1 2] [--timesteps N]
        [--episodes N] [--logdir runs/results] [--address local|auto|ray://HOST:PORT]
        [--out FOLDER] [-- TRAIN ARGS]
    python eval/results.py --from-csv [--replay-baselines] --out docs
    python eval/results.py --update --env ID [ID ...] [--logdir DIR] --out docs [-- TRAIN ARGS]

``make benchmark`` runs it with ``--address local --logdir runs/results --out docs --
--no-baselines`` (the training runs skip their own evaluation of the baselines: step 2 plays them):
it writes ``docs/RESULTS.md`` and its plots in ``docs/results/``. Step 1 trains, for every
(algorithm, env) pair whose YAML entry poses actions the algorithm can take, one run per seed with
the YAML's budget (``--timesteps``: another, for quick checks) into ``--logdir``
(``train/sweep.py``: finished runs are kept, unfinished ones resumed). Step 2 benchmarks every
baseline and every trained agent (its checkpoint chosen on the validation seeds) on the test seeds
(``eval/benchmark.py``, cells stored in ``<logdir>/benchmark_cells``, out of the docs). Both steps
resume where a killed run stopped. The page states the command, the machine and the date.

``--from-csv`` renders the tables of ``<out>/RESULTS.md`` and ``<out>/results/results.md`` again
from ``<out>/results/results.csv`` (after a change of their layout: no training, no policy
played, the plots kept) and says so on the pages; with ``--replay-baselines`` it first plays
every baseline again (after a change that moves only baselines' scores, e.g. of their draws)
and keeps the agents' rows, refusing if a baseline the agents are paired against scores
differently.

``--update`` trains and benchmarks only the ``--env`` IDs, every algorithm that fits them, with
the page's settings (no ``--algo``, ``--seeds``, ``--timesteps`` or ``--episodes``; both steps
as above, the benchmark's pages in a fresh ``runs/results_update/<time>/``), then replaces
those envs' rows and plots in ``<out>`` and renders its pages again, every other env's rows
kept (after a change that moves only some envs' agents, e.g. of their YAML entries); the pages
say which envs and how.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import mec_gym  # noqa: F401  (registers the environments)
from mec_gym.eval import benchmark, output
from mec_gym.eval.evaluation import protocol_for
from mec_gym.registration import ENVS, canonical_id
from mec_gym.train.cli import ALGOS, env_problem, load_hyperparams
from mec_gym.train.sweep import Sweep, run_trainings

__all__ = [
    "fitting_pairs",
    "header_paragraphs",
    "merged_rows",
    "replay_baselines",
    "rerender",
    "replace_envs",
    "main",
]

RERENDERED = "Tables re-rendered"
"""How the page's line about a re-rendering starts (a later one replaces a plain one, which
played no policy; a line about a replay of the baselines is kept, unless the new line is the
same: then it moves to the end)."""
PLAIN = "the same rows, no policy played again"
"""What the line about a plain re-rendering says."""
UPDATED = "Rows updated"
"""How the page's line about an ``--update`` starts (every one is kept, except that a line the
same as the new one moves to the end)."""
PLOTS = ("scores", "tradeoff", "learning")
"""The plots of an env in ``results/``: ``<env>_<name>.png``."""


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
        f"{output.processor()}, {os.cpu_count()} CPUs, "
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
    parser.add_argument(
        "--update",
        action="store_true",
        help="train and benchmark only --env, and replace their rows in <out>'s pages",
    )
    parser.add_argument(
        "--replay-baselines",
        action="store_true",
        help="with --from-csv: play every baseline again first (cells in --logdir), keep agents",
    )
    output.add_out_argument(parser, "results")
    args = parser.parse_args(argv)
    if args.replay_baselines and not args.from_csv:
        parser.error("--replay-baselines goes with --from-csv")
    given = {
        "--env": args.env,
        "--algo": args.algo != sorted(ALGOS),
        "--seeds": args.seeds != [0, 1, 2],
        "--timesteps": args.timesteps,
        "--episodes": args.episodes,
        "--address": args.address,
    }
    if args.update:
        if args.from_csv:
            parser.error("--update trains and plays: drop --from-csv")
        if not args.env:
            parser.error("--update needs --env: the envs whose rows to replace")
        if given["--algo"]:
            parser.error("--update replaces whole envs, every algorithm that fits: drop --algo")
        other = [key for key in ("--seeds", "--timesteps", "--episodes") if given[key]]
        if other:  # the page's other rows: seeds 0 1 2, the YAML budgets, the env's episodes
            parser.error(f"--update keeps the page's settings: drop {other}")
        if args.out is None or not (args.out / "results" / "results.csv").is_file():
            parser.error("--update needs --out FOLDER holding results/results.csv")
    if args.from_csv and any(given.values()):
        parser.error(
            f"--from-csv takes the rows as they are: drop {[k for k, v in given.items() if v]}"
        )
    if args.from_csv:
        if args.out is None or not (args.out / "results" / "results.csv").is_file():
            parser.error("--from-csv needs --out FOLDER holding results/results.csv")
        replayed = None
        if args.replay_baselines:
            replayed = replay_baselines(args.out / "results" / "results.csv", args.logdir, extra)
        try:
            command = output.command_line(__file__, argv + (["--", *extra] if extra else []))
            return rerender(args.out, command, replayed)
        except ValueError as error:
            parser.error(str(error))
    repeated = sorted({seed for seed in args.seeds if args.seeds.count(seed) > 1})
    if repeated:
        parser.error(f"--seeds: each training seed once, got {repeated} more than once")
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

    if args.update:  # the benchmark's own pages out of <out>: its rows replace <out>'s
        folder = output.output_folder(None, "results_update")
    else:
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
    command = output.command_line(__file__, argv + (["--", *extra] if extra else []))
    if args.update:
        hours = (time.monotonic() - start) / 3600
        return replace_envs(args.out, bench, env_ids, command, args.logdir, hours)
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
        f"    {command}",
        "",
        f"on {time.strftime('%Y-%m-%d')}, {machine()}; this invocation took {hours:.1f} h (runs "
        f"already finished in {args.logdir} were reused). Training runs: {args.logdir}.",
        "",
        "## " + sections,
    ]
    output.write_markdown(folder / "RESULTS.md", page)
    print(f"wrote {folder / 'RESULTS.md'}")
    return folder


def replay_baselines(
    csv_path: Path, logdir: Path, extra: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Every baseline of each env of ``csv_path`` played again on as many test seeds by
    ``eval/benchmark.py`` (its cells in ``<logdir>/benchmark_cells``, its output in
    ``<logdir>/baselines_replayed/<env>``; the baselines' env kwargs from ``extra`` as in a full
    run): their rows by env."""
    replayed = {}
    for env_id, rows in benchmark.rows_from_csv(csv_path).items():
        episodes = max(row["episodes"] for row in rows)
        bench_argv = ["--env", env_id, "--episodes", str(episodes), "--no-tensorboard"]
        bench_argv += ["--out", str(logdir / "baselines_replayed" / env_id)]
        bench_argv += ["--cells", str(logdir / "benchmark_cells")]
        bench = benchmark.main(bench_argv + training_env_kwargs(extra))
        replayed[env_id] = benchmark.rows_from_csv(bench / "results.csv")[env_id]
    return replayed


TIMING_COLUMNS = ("ms_per_decision",)
"""Columns that a replay times again (every other value of a replayed cell is reproduced)."""
REPLAY_RTOL = 1e-9
"""Relative tolerance of a replayed value (floating-point sums may differ in their last bits
between releases of the code or of numpy)."""


PAIRING_COLUMNS = ("reference", "paired_diff", "paired_diff_ci95")
"""Columns of a baseline's row that pair it against another baseline."""


def same_values(
    row: dict[str, Any], replayed: dict[str, Any], ignored: Sequence[str] = TIMING_COLUMNS
) -> bool:
    """Whether ``replayed`` has ``row``'s keys and values but the ``ignored`` columns (numbers
    within :data:`REPLAY_RTOL`, NaN equal to NaN)."""
    keys = set(row) - set(ignored)
    if keys != set(replayed) - set(ignored):
        return False
    return all(
        math.isclose(row[k], replayed[k], rel_tol=REPLAY_RTOL, abs_tol=1e-12)
        or (math.isnan(row[k]) and math.isnan(replayed[k]))
        if isinstance(row[k], float) and isinstance(replayed[k], float)
        else row[k] == replayed[k]
        for k in keys
    )


def merged_rows(
    env_id: str, rows: list[dict[str, Any]], baselines: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[str]]:
    """``rows`` of one env with each baseline's row replaced by its replayed row in
    ``baselines`` where the replay moved it (:func:`same_values`; an unmoved row is kept whole,
    its decision time too), best first; and the names of the moved baselines. ValueError unless
    the same baselines were replayed on as many episodes, the baseline the agents' rows are
    paired against scores as before and stays the best (else their paired differences would
    need the agents played again)."""
    old = {row["policy"]: row for row in rows if row["kind"] == "baseline"}
    new = {row["policy"]: row for row in baselines}
    if set(old) != set(new):
        raise ValueError(f"{env_id}: the baselines are now {sorted(new)}, not {sorted(old)}")
    if any(new[name]["episodes"] != old[name]["episodes"] for name in old):
        raise ValueError(f"{env_id}: the baselines were replayed on another number of episodes")
    moved = [name for name in old if not same_values(old[name], new[name])]
    sign = protocol_for(env_id).sign
    merged = [
        new[row["policy"]] if row["kind"] == "baseline" and row["policy"] in moved else row
        for row in rows
    ]
    merged.sort(key=lambda row: -sign * row["score"])
    best = next((row["policy"] for row in merged if row["kind"] == "baseline"), None)
    for row in rows:
        reference = row.get("reference") if row["kind"] != "baseline" else None
        if reference is None:
            continue
        ignored = (*TIMING_COLUMNS, *PAIRING_COLUMNS)
        if not same_values(old[reference], new[reference], ignored) or reference != best:
            raise ValueError(
                f"{env_id}: {reference}, the reference of {row['policy']}, scores differently "
                "now or is no longer the best baseline: the agents need playing again (this "
                "command without --from-csv)"
            )
    return merged, moved


def rerender(
    folder: Path, command: str, baselines: dict[str, list[dict[str, Any]]] | None = None
) -> Path:
    """``folder/RESULTS.md`` and ``folder/results/results.md`` with their tables rendered again
    from ``results/results.csv`` (the rows of the same cells,
    :func:`~mec_gym.eval.benchmark.rows_from_csv`) by the current ``markdown_section``; with
    ``baselines`` (:func:`replay_baselines`), the baselines' rows that moved replaced
    (:func:`merged_rows`, every env checked before anything is written) and the score and
    trade-off plots drawn again (not the learning curves: they need the training runs). The
    seed groups' statistics recomputed from their members' rows, the CSV rewritten with them;
    each page's header kept, with a line saying when and how (replacing an earlier line about a
    plain re-rendering or the same line; lines about replays say where rows came from and are
    kept)."""
    by_env = benchmark.rows_from_csv(folder / "results" / "results.csv")
    moved: list[str] = []
    if baselines is not None:
        for env_id, rows in by_env.items():
            by_env[env_id], names = merged_rows(env_id, rows, baselines[env_id])
            moved += [f"{env_id} {name}" for name in names]
        for env_id, rows in by_env.items():
            protocol = protocol_for(env_id)
            benchmark.plot_scores(folder / "results" / f"{env_id}_scores.png", protocol, rows)
            benchmark.plot_tradeoff(folder / "results" / f"{env_id}_tradeoff.png", protocol, rows)
    if baselines is None:
        played = PLAIN
    else:
        played = (
            "the baselines played again, the rows that moved replaced (their decision times "
            f"measured again): {', '.join(moved) or 'none'}; every other row kept (the learning "
            "curves, drawn from the training runs, show the baselines' first scores)"
        )
    note = f"{RERENDERED} from `{{csv}}` on {time.strftime('%Y-%m-%d')} by `{command}`: {played}."
    write_pages(folder, by_env, note, replaces=plain_rerendering)
    return folder


def replace_envs(
    folder: Path, bench: Path, env_ids: Sequence[str], command: str, logdir: Path, hours: float
) -> Path:
    """``--update``: the rows and plots of ``env_ids`` in ``folder``'s pages replaced by those of
    the benchmark pages in ``bench`` (its ``results.csv`` and ``<env>_<plot>.png``), every other
    env's rows kept; the pages rendered again (:func:`write_pages`) with a line saying which
    envs, when and how (``hours``, the runs in ``logdir``). ValueError, before anything is
    written, if ``bench`` lacks one of the envs."""
    by_env = benchmark.rows_from_csv(folder / "results" / "results.csv")
    new = benchmark.rows_from_csv(bench / "results.csv")
    missing = [env_id for env_id in env_ids if env_id not in new]
    if missing:
        raise ValueError(f"{bench / 'results.csv'} has no rows of {missing}")
    for env_id in env_ids:
        by_env[env_id] = new[env_id]
        for name in PLOTS:  # the new env's plots; one it has no longer (no agents) removed
            source, target = (f / f"{env_id}_{name}.png" for f in (bench, folder / "results"))
            if source.is_file():
                shutil.copyfile(source, target)
            else:
                target.unlink(missing_ok=True)
    note = (
        f"{UPDATED} on {time.strftime('%Y-%m-%d')} by `{command}` ({hours:.1f} h; training runs: "
        f"{logdir}, those already finished reused): the rows and plots of {', '.join(env_ids)} "
        "trained and played again, every other env's rows kept."
    )
    write_pages(folder, dict(sorted(by_env.items())), note)
    return folder


def plain_rerendering(paragraph: str) -> bool:
    """Whether a paragraph of a page's header is the line about a plain re-rendering."""
    return paragraph.startswith(RERENDERED) and PLAIN in paragraph


def header_paragraphs(page: Path) -> list[str]:
    """The paragraphs of a results page before its first table."""
    return page.read_text().split("\n## ", 1)[0].rstrip("\n").split("\n\n")


def write_pages(
    folder: Path,
    by_env: dict[str, list[dict[str, Any]]],
    note: str,
    replaces: Callable[[str], bool] | None = None,
) -> None:
    """``folder/results/results.csv`` with the rows ``by_env`` (the seed groups' statistics
    recomputed from their members' rows), and ``folder/RESULTS.md`` and
    ``folder/results/results.md`` (those present) with their tables rendered from them by the
    current ``markdown_section``: each page's header kept but its paragraphs that ``replaces``
    picks and any identical to ``note``, ``note`` added at the end (``{csv}``: the CSV's path
    from the page)."""
    sections, all_rows = [], []
    for env_id, rows in by_env.items():
        protocol = protocol_for(env_id)
        rows = benchmark.with_seed_statistics(rows)
        all_rows += rows
        sections.append(benchmark.markdown_section(env_id, protocol, rows))
    output.write_csv(folder / "results" / "results.csv", all_rows)
    text = "\n".join(sections)
    for page_path, csv_name, links in (
        (folder / "results" / "results.md", "results.csv", ""),
        (folder / "RESULTS.md", "results/results.csv", "results/"),
    ):
        if not page_path.is_file():
            continue
        head = header_paragraphs(page_path)
        line = note.replace("{csv}", csv_name)
        head = [  # a line identical to the new one (day, command, hours, runs) moves to the end
            paragraph
            for paragraph in head
            if paragraph != line and (replaces is None or not replaces(paragraph))
        ]
        tables = text.replace("](", f"]({links}") if links else text
        paragraphs = [*head, line]
        output.write_markdown(page_path, ["\n\n".join(paragraphs), "", tables])
        print(f"wrote {page_path}")


if __name__ == "__main__":
    main()
