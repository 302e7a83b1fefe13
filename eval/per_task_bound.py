"""A lower bound on every PerTaskOffload-v1 policy's cost, and the rules' gaps to it.

A task's cost can only grow with what the other tasks hold: its edge cost falls as its shares
grow (upload and compute time, and upload energy, shrink), and its local cost is Theorem 1's
plus its wait in the device's queue. The task alone in an empty system, with the whole uplink
and the whole edge CPU for itself or an idle device, therefore costs at most what any policy
can get for it:

    LB(task) = min(U_local*(device), min_F U_edge(F; tau = 1, f^e = F^E))

The tasks (arrival times, devices, channels) do not depend on the decisions, so the episode's
bound is the mean of LB over its tasks. Reported on the test seeds with the paired gap of each
rule (and of the local-only policy) to it. Writes ``<out>/per_task_bound.md`` and ``.csv``.

    python eval/per_task_bound.py [--episodes 20] [--runs RUN ...] [--agent NAME] [--out FOLDER]

``--runs`` adds the agent of training run folders (``train/<algo>.py``), scored on the same test
seeds (their ``episode_scores.csv``).
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import numpy as np
import yaml

from mec_gym.agents import build_baselines
from mec_gym.eval import output
from mec_gym.eval.benchmark import problem_kwargs
from mec_gym.eval.evaluation import EVAL_SEEDS, evaluate_policy, mean_ci
from mec_gym.simulators.per_task_offload import PerTaskSimulator, TaskDecision, edge_option
from mec_gym.solvers.joint_offload.local import local_optimum

NAME = "per_task_bound"
ENV_ID = "PerTaskOffload-v1"
POLICIES = ("share_1/2", "greedy", "local_only")


def isolated_cost(simulator: PerTaskSimulator) -> float:
    """LB of the current task: alone in the system (all resources free, no queue), best of
    Theorem 1 locally and the best frames at the edge with the whole uplink and edge CPU."""
    problem = simulator.task_problem()
    _, edge = edge_option(problem, 1.0, 1.0)
    return min(float(local_optimum(problem).cost[0]), edge)


def episode_bound(seed: int) -> float:
    """Mean LB over the tasks of the episode ``reset(seed=seed)`` draws (the tasks do not depend
    on the decisions, so every task is run locally to move on)."""
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=seed)
    simulator = env.simulator
    config = simulator.template.config
    move_on = TaskDecision(False, config.min_frames, local_frequency=config.device_max_frequency)
    bounds = []
    while not simulator.done:
        bounds.append(isolated_cost(simulator))
        simulator.decide(move_on)
    return float(np.mean(bounds))


def agent_scores(run: Path, agent: str, seeds: Sequence[int]) -> np.ndarray:
    """The agent's per-episode cost on ``seeds`` from a training run's ``episode_scores.csv``;
    ValueError unless the run trained on ``PerTaskOffload-v1``'s default problem (the one the
    bound and the baselines here are computed on; formulation fields may differ)."""
    config = yaml.safe_load((run / "config.yaml").read_text()) or {}
    problem = problem_kwargs(ENV_ID, dict(config.get("env_kwargs") or {}))
    if config.get("env_id") != ENV_ID or problem:
        raise ValueError(
            f"{run}: trained on {config.get('env_id')} with {problem}, not on {ENV_ID}'s "
            "default problem, which the bound is computed on"
        )
    rows = {int(row["seed"]): row for row in csv.DictReader((run / "episode_scores.csv").open())}
    missing = [seed for seed in seeds if seed not in rows]
    if missing or agent not in next(iter(rows.values())):
        raise ValueError(f"{run}: no {agent!r} scores for seeds {missing or list(seeds)}")
    return np.array([float(rows[seed][agent]) for seed in seeds])


def main(argv: Sequence[str] | None = None) -> None:
    argv = output.arguments(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20, help="test seeds")
    parser.add_argument(
        "--runs", type=Path, nargs="*", default=[], help="training run folders to add"
    )
    parser.add_argument("--agent", default="maskable_ppo", help="the runs' agent row")
    output.add_out_argument(parser, NAME)
    args = parser.parse_args(argv)
    if not 1 <= args.episodes <= len(EVAL_SEEDS):
        parser.error(f"--episodes must be in [1, {len(EVAL_SEEDS)}]")
    seeds = EVAL_SEEDS[: args.episodes]
    try:
        scores = {
            f"{args.agent} ({run.name})": agent_scores(run, args.agent, seeds) for run in args.runs
        }
    except (OSError, ValueError) as error:
        parser.error(str(error))
    bound = np.array([episode_bound(seed) for seed in seeds])
    mean, half = mean_ci(bound)
    nan = float("nan")
    rows = [
        {
            "policy": "lower bound (each task alone)",
            "cost": mean,
            "ci95": half,
            "gap": nan,
            "gap_ci95": nan,
            "gap_percent": nan,
        }
    ]
    policies = build_baselines(ENV_ID)
    for name in POLICIES:
        result = evaluate_policy(policies[name], ENV_ID, {}, seeds, name, hindsight=False)
        scores[name] = result.episode_score
    for name, score in scores.items():
        gap, gap_half = mean_ci(score - bound)
        cost, cost_half = mean_ci(score)
        rows.append(
            {
                "policy": name,
                "cost": cost,
                "ci95": cost_half,
                "gap": gap,
                "gap_ci95": gap_half,
                "gap_percent": 100 * gap / abs(mean),
            }
        )
    out = output.output_folder(args.out, NAME)
    output.write_csv(out / f"{NAME}.csv", rows)
    table = output.markdown_table(
        rows,
        {
            "policy": "{policy}",
            "cost per task (95% CI)": "{cost:.4f} ± {ci95:.4f}",
            "gap to the bound, paired (95% CI)": lambda row: (
                "–"
                if np.isnan(row["gap"])
                else f"{row['gap']:+.4f} ± {row['gap_ci95']:.4f} ({row['gap_percent']:.1f} %)"
            ),
        },
    )
    page = [
        f"# {ENV_ID}: a lower bound on every policy",
        "",
        f"Generated by `{output.command_line(__file__, argv)}`: test seeds "
        f"{seeds[0]}..{seeds[-1]}, {args.episodes} episodes, continuous action mode (the "
        "bound holds for every action mode).",
        "",
        *(line for line in (__doc__ or "").split("\n\n")[1:3]),
        "",
        *table,
    ]
    print(output.write_markdown(out / f"{NAME}.md", page))


if __name__ == "__main__":
    main()
