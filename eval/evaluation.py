"""Evaluate policies (trained agents and fixed baselines) on fixed seeds, and tabulate them."""

from __future__ import annotations

import csv
import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from scipy import stats

import mec_gym  # noqa: F401  (registers the environments)
from agents.base import run_episode
from mec_gym.twins.decision_replay import DecisionEvaluationTwin

__all__ = [
    "EVAL_SEEDS",
    "COMPONENTS",
    "EvalResult",
    "evaluate_policy",
    "comparison_rows",
    "comparison_markdown",
    "write_comparison",
    "mean_ci",
]

EVAL_SEEDS: tuple[int, ...] = tuple(range(10_000, 10_100))
"""Evaluation seeds, disjoint from training (0..9_999) and calibration (20_000..) seeds."""

COMPONENTS = ("delay", "energy", "accuracy", "offload_rate", "signalling")


def mean_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the Student-t confidence interval of the mean."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return float(values.mean()) if values.size else float("nan"), float("nan")
    half = stats.t.ppf(0.5 + confidence / 2, values.size - 1) * stats.sem(values)
    return float(values.mean()), float(half)


@dataclass
class EvalResult:
    """Per-episode scores of one policy on a list of seeds."""

    name: str
    seeds: tuple[int, ...]
    episode_utility: np.ndarray
    """Mean utility per task (the env's ``info["utility"]`` at episode end), one per episode."""
    episode_components: dict[str, np.ndarray]
    episode_hindsight: np.ndarray | None = None
    """Mean hindsight-optimal utility per task (DT #1) on the same trajectories."""
    seconds_per_decision: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)
    """Environment-specific details, e.g. ``hindsight_choices``: option -> number of tasks for
    which it is hindsight-optimal (-1 = local completion)."""

    def mean_ci(self) -> tuple[float, float]:
        """Mean and 95% confidence half-width of the episode utilities."""
        return mean_ci(self.episode_utility)


def _accepts_action_masks(policy: Any) -> bool:
    try:
        return "action_masks" in inspect.signature(policy.predict).parameters
    except (TypeError, ValueError):
        return False


def evaluate_policy(
    policy: Any,
    env_id: str,
    env_kwargs: dict[str, Any] | None,
    seeds: Sequence[int],
    name: str,
    hindsight: bool = True,
) -> EvalResult:
    """Run ``policy`` deterministically for one episode per seed and collect its scores.

    ``policy`` has the SB3 ``predict`` call shape; ``action_masks`` is passed when its
    ``predict`` takes it (MaskablePPO). With ``hindsight``, DT #1 replays every task of each
    finished episode to give the hindsight-optimal utility on the same trajectory.
    """
    env = gym.make(env_id, **(env_kwargs or {}))
    use_masks = _accepts_action_masks(policy)
    utilities, oracle = [], []
    oracle_choices: dict[int, int] = {}
    components: dict[str, list[float]] = {key: [] for key in COMPONENTS}
    decision_time, decisions = 0.0, 0
    try:
        for seed in seeds:
            info, count, seconds = run_episode(policy, env, seed, action_masks=use_masks)
            decisions += count
            decision_time += seconds
            utilities.append(info["utility"])
            for key in COMPONENTS:
                components[key].append(info[key])
            if hindsight:
                options = DecisionEvaluationTwin(env).all_task_options(with_observations=False)
                oracle.append(float(np.mean([o.best_utility for o in options])))
                for o in options:
                    oracle_choices[o.best_option] = oracle_choices.get(o.best_option, 0) + 1
    finally:
        env.close()
    return EvalResult(
        name=name,
        seeds=tuple(int(s) for s in seeds),
        episode_utility=np.asarray(utilities),
        episode_components={k: np.asarray(v) for k, v in components.items()},
        episode_hindsight=np.asarray(oracle) if hindsight else None,
        seconds_per_decision=decision_time / max(decisions, 1),
        extra={"hindsight_choices": oracle_choices} if hindsight else {},
    )


def comparison_rows(results: Sequence[EvalResult]) -> list[dict[str, Any]]:
    """One row per policy, best mean utility first, with 95% CIs and cost components."""
    rows = []
    for result in results:
        mean, half = result.mean_ci()
        row: dict[str, Any] = {
            "policy": result.name,
            "episodes": len(result.episode_utility),
            "utility": mean,
            "utility_ci95": half,
        }
        for key in COMPONENTS:
            row[key] = float(np.mean(result.episode_components[key]))
        if result.episode_hindsight is not None:
            row["hindsight_utility"], row["hindsight_ci95"] = mean_ci(result.episode_hindsight)
        row["ms_per_decision"] = 1e3 * result.seconds_per_decision
        rows.append(row)
    return sorted(rows, key=lambda r: -r["utility"])


def comparison_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown table of ``comparison_rows``."""
    header = (
        "| policy | utility (95% CI) | delay (s) | energy (J) | accuracy | offload rate "
        "| signalling/task | DT #1 hindsight on same trajectories (95% CI) | ms/decision |"
    )
    lines = [header, "|" + "---|" * 9]
    for r in rows:
        hindsight = (
            f"{r['hindsight_utility']:.4f} ± {r['hindsight_ci95']:.4f}"
            if "hindsight_utility" in r
            else "–"
        )
        lines.append(
            f"| {r['policy']} | {r['utility']:.4f} ± {r['utility_ci95']:.4f} | {r['delay']:.3f} "
            f"| {r['energy']:.3f} | {r['accuracy']:.3f} | {r['offload_rate']:.2f} "
            f"| {r['signalling']:.2f} | {hindsight} | {r['ms_per_decision']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def write_comparison(results: Sequence[EvalResult], folder: Path | str) -> str:
    """Write ``comparison.md`` and ``comparison.csv`` into ``folder``; return the Markdown."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = comparison_rows(results)
    markdown = comparison_markdown(rows)
    (folder / "comparison.md").write_text(markdown)
    fieldnames = list(dict.fromkeys(key for row in rows for key in row))
    with (folder / "comparison.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    return markdown
