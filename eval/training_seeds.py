"""Summarise training runs of one env over their training seeds: the agent against a baseline.

Reads each run folder's ``config.yaml`` (the env, hence its score and direction),
``comparison.csv`` (written by ``train/<algo>.py``: the checkpoint chosen
on the validation seeds, scored on the test seeds beside every baseline) and tabulates, per
training seed and over the seeds (mean and sample standard deviation), the agent's score, the
baseline's, and the paired advantage of the agent over the baseline with its 95 % CI, also as a
percentage of the baseline's magnitude (e.g. the gap to the exact bound). Writes
``<out>/training_seeds.md`` and ``.csv``.

    python eval/training_seeds.py RUN_FOLDER [RUN_FOLDER ...] [--agent ppo] \
        [--baseline dt_stopping] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mec_gym.eval.evaluation import mean_ci, protocol_for
from mec_gym.eval.output import (
    add_out_argument,
    arguments,
    command_line,
    markdown_table,
    output_folder,
    write_csv,
    write_markdown,
)

NAME = "training_seeds"
SAME_SETTING = (
    "env_id",
    "algo",
    "env_kwargs",
    "hyperparams",
    "n_envs",
    "timesteps",
    "eval_freq",
    "checkpoint_freq",
    "eval_seeds",
)
"""Keys of a run's ``config.yaml`` that the runs of one summary share (only the seed differs)."""
MIN_TRAINING_SEEDS = 3
"""Training seeds the evaluation protocol asks for; a summary of fewer says so."""


def seed_row(run: Path, agent: str, baseline: str) -> dict[str, Any]:
    """The agent and the baseline of one run folder, and the agent's paired advantage (positive:
    better) over the baseline on the run's test seeds."""
    summary = {row["policy"]: row for row in csv.DictReader((run / "comparison.csv").open())}
    episodes = list(csv.DictReader((run / "episode_scores.csv").open()))
    if not episodes:
        raise ValueError(f"{run}: episode_scores.csv holds no episode")
    for name in (agent, baseline):
        if name not in summary or name not in episodes[0]:
            raise ValueError(f"{run}: no policy {name!r} in its tables (has {sorted(summary)})")
    protocol = protocol_for(yaml.safe_load((run / "config.yaml").read_text())["env_id"])
    score = protocol.score
    sign = protocol.sign
    difference = [sign * (float(e[agent]) - float(e[baseline])) for e in episodes]
    advantage, half = mean_ci(np.array(difference))
    baseline_score = float(summary[baseline][score])
    return {
        "run": run.name,
        "agent": float(summary[agent][score]),
        "baseline": baseline_score,
        "advantage": advantage,
        "advantage_ci95": half,
        # a baseline scoring 0 has no magnitude to compare with
        "relative": 100.0 * advantage / abs(baseline_score) if baseline_score else float("nan"),
    }


def check_runs(runs: Sequence[Path]) -> None:
    """ValueError unless ``runs`` are at least two run folders of one training setting
    (:data:`SAME_SETTING`, from their ``config.yaml``), each of another training seed."""
    if len(runs) < 2:
        raise ValueError(f"at least 2 run folders (one per training seed), got {len(runs)}")
    configs = {run: yaml.safe_load((run / "config.yaml").read_text()) or {} for run in runs}
    for key in SAME_SETTING:
        values = {json.dumps(c.get(key), sort_keys=True, default=str) for c in configs.values()}
        if len(values) > 1:
            raise ValueError(f"the runs differ in {key}: {sorted(values)}")
    seeds = [config.get("seed") for config in configs.values()]
    if len(set(seeds)) < len(seeds):
        raise ValueError(f"the runs' training seeds repeat: {seeds}")


def main(argv: Sequence[str] | None = None) -> None:
    argv = arguments(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run folders of train/<algo>.py")
    parser.add_argument("--agent", default="ppo", help="the agent's row (default: ppo)")
    parser.add_argument("--baseline", default="dt_stopping", help="the reference row")
    add_out_argument(parser, NAME)
    args = parser.parse_args(argv)
    try:
        check_runs(args.runs)
        rows = [seed_row(run, args.agent, args.baseline) for run in args.runs]
    except (OSError, ValueError, KeyError) as error:
        parser.error(str(error))
    summary = {"run": f"mean ± sd over {len(rows)} seeds"}
    for key in ("agent", "baseline", "advantage", "relative"):
        values = np.array([row[key] for row in rows])
        summary[key] = float(values.mean())
        summary[f"{key}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    out = output_folder(args.out, NAME)
    write_csv(out / f"{NAME}.csv", [*rows, summary])
    table = markdown_table(
        rows,
        {
            "run": "{run}",
            args.agent: "{agent:.4f}",
            args.baseline: "{baseline:.4f}",
            f"advantage of {args.agent} over {args.baseline}, paired (95% CI)": "{advantage:+.4f}"
            " ± {advantage_ci95:.4f}",
            f"advantage, % of \\|{args.baseline}\\|": "{relative:+.2f} %",
        },
    )
    table.append(
        f"| {summary['run']} | {summary['agent']:.4f} ± {summary['agent_sd']:.4f} | "
        f"{summary['baseline']:.4f} ± {summary['baseline_sd']:.4f} | "
        f"{summary['advantage']:+.4f} ± {summary['advantage_sd']:.4f} | "
        f"{summary['relative']:+.2f} ± {summary['relative_sd']:.2f} % |"
    )
    if len(rows) < MIN_TRAINING_SEEDS:
        table += [
            "",
            f"Only {len(rows)} training seeds: the evaluation protocol asks for at least "
            f"{MIN_TRAINING_SEEDS}.",
        ]
    page = [
        f"# {args.agent} against {args.baseline} over training seeds",
        "",
        f"Generated by `{command_line(__file__, argv)}`.",
        "",
        "Per training seed: the checkpoint chosen on the validation seeds, scored on the test "
        "seeds; advantage = how much better the agent is (positive: better), paired on the same "
        "test seeds. Last row: mean ± sample standard deviation over the training seeds.",
        "",
        *table,
    ]
    print(write_markdown(out / f"{NAME}.md", page))


if __name__ == "__main__":
    main()
