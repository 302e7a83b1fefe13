"""Evaluate policies (trained agents and fixed baselines) on fixed seeds, and tabulate them."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import load_env_creator
from scipy import stats

import mec_gym  # noqa: F401  (registers the environments)
from mec_gym.agents.base import CALIBRATION_SEEDS, run_episode
from mec_gym.eval.output import Cell, markdown_table, write_csv, write_markdown
from mec_gym.registration import canonical_id
from mec_gym.twins.decision_replay import DecisionEvaluationTwin

__all__ = [
    "EVAL_SEEDS",
    "EvalProtocol",
    "EvalResult",
    "protocol_for",
    "evaluate_policy",
    "comparison_rows",
    "comparison_markdown",
    "write_comparison",
    "mean_ci",
    "format_mean_ci",
    "accepts_action_masks",
    "paired_advantage",
    "VALIDATION_SEEDS",
    "HELD_OUT_SEEDS",
    "check_training_env_seeds",
]

EVAL_SEEDS: tuple[int, ...] = tuple(range(10_000, 10_100))
"""Test seeds of the final tables, disjoint from training (0..9_999), calibration
(20_000..29_999) and validation seeds."""
VALIDATION_SEEDS: tuple[int, ...] = tuple(range(30_000, 30_100))
"""Seeds of the periodic evaluations that choose a training run's checkpoint (never the test
seeds, so that the final table is not the maximum of noisy test scores)."""
HELD_OUT_SEEDS: dict[str, range] = {
    "test": range(EVAL_SEEDS[0], EVAL_SEEDS[-1] + 1),
    "validation": range(VALIDATION_SEEDS[0], VALIDATION_SEEDS[-1] + 1),
    "calibration": CALIBRATION_SEEDS,
}
"""Seeds no training env may start from: name -> the seeds (consecutive)."""


def check_training_env_seeds(seed: int, num_envs: int) -> None:
    """ValueError if training envs seeded ``seed``, ..., ``seed + num_envs - 1`` (sub-env i
    from ``seed + i``, as SB3 and Gymnasium seed them) would start on held-out episodes."""
    last = seed + num_envs - 1
    for name, held_out in HELD_OUT_SEEDS.items():
        if seed <= held_out[-1] and held_out[0] <= last:
            raise ValueError(
                f"training envs seeded {seed}..{last} (seed + sub-env index) would start on "
                f"the {name} seeds {held_out[0]}..{held_out[-1]}: choose a seed outside them"
            )


@dataclass(frozen=True)
class EvalProtocol:
    """What an environment family is scored on: the episode-end ``info`` fields to read."""

    score: str
    """``info`` key of the score, an episode-to-date mean at episode end (e.g. utility, cost)."""
    higher_is_better: bool
    components: tuple[str, ...]
    """Further ``info`` keys tabulated and logged (episode-to-date means)."""
    units: tuple[str, ...]
    """Unit suffix of each component's column (empty string: dimensionless)."""
    hindsight: bool = False
    """Whether DT #1 can replay finished episodes (the hindsight oracle column)."""

    def episode_score(self, info: dict[str, Any], episode: str) -> float:
        """The score in an episode's final ``info``; ValueError naming ``episode`` (e.g. the
        policy, env and seed) unless it is finite."""
        score = float(info[self.score])
        if not np.isfinite(score):
            raise ValueError(f"{episode}: the episode's {self.score} is {score} (not finite)")
        return score

    @property
    def sign(self) -> float:
        """+1 if a higher score is better, -1 if lower: ``sign * score`` is to be maximised."""
        return 1.0 if self.higher_is_better else -1.0


def protocol_for(env_id: str) -> EvalProtocol:
    """The evaluation protocol of a registered environment ID: its class's
    ``metadata["evaluation"]`` (score and component ``info`` keys, units, hindsight replay)."""
    env_cls = load_env_creator(gym.spec(canonical_id(env_id)).entry_point)
    fields = getattr(env_cls, "metadata", {}).get("evaluation")
    if fields is None:
        raise ValueError(f"{env_id!r} declares no evaluation protocol (metadata['evaluation'])")
    return EvalProtocol(**fields)


def mean_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Mean and half-width of the Student-t confidence interval of the mean."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return float(values.mean()) if values.size else float("nan"), float("nan")
    half = stats.t.ppf(0.5 + confidence / 2, values.size - 1) * stats.sem(values)
    return float(values.mean()), float(half)


def format_mean_ci(mean: float, half: float, digits: int = 4, sign: str = "") -> str:
    """``"mean ± half"``, ``"mean (no CI: 1 episode)"`` when the half-width is undefined, or
    ``"nan (not finite)"`` for a mean that is not a number."""
    if not np.isfinite(mean):
        return f"{mean} (not finite)"
    if np.isfinite(half):
        return f"{mean:{sign}.{digits}f} ± {half:.{digits}f}"
    return f"{mean:{sign}.{digits}f} (no CI: 1 episode)"


def paired_advantage(
    result: EvalResult, reference: EvalResult, confidence: float = 0.95
) -> tuple[float, float]:
    """How much better ``result`` scores than ``reference`` on the same seeds: the mean of the
    per-episode differences (positive: better, in the score's unit, sign set by the protocol)
    and the half-width of its Student-t confidence interval. Pairing removes the variance the
    two share through the seeds, so the interval is much tighter than two unpaired ones."""
    if result.seeds != reference.seeds:
        raise ValueError(
            f"paired differences need the same seeds: {result.name} and {reference.name} differ"
        )
    if result.protocol != reference.protocol:
        raise ValueError("paired differences need one evaluation protocol")
    difference = result.protocol.sign * (result.episode_score - reference.episode_score)
    return mean_ci(difference, confidence)


@dataclass
class EvalResult:
    """Per-episode scores of one policy on a list of seeds."""

    name: str
    protocol: EvalProtocol
    seeds: tuple[int, ...]
    episode_score: np.ndarray
    """The protocol's score per episode (its episode-end ``info`` value, a mean per task)."""
    episode_components: dict[str, np.ndarray]
    episode_hindsight: np.ndarray | None = None
    """Mean hindsight-optimal utility per task (DT #1) on the same trajectories."""
    seconds_per_decision: float = float("nan")
    extra: dict[str, Any] = field(default_factory=dict)
    """Environment-specific details, e.g. ``hindsight_choices``: option -> number of tasks for
    which it is hindsight-optimal (-1 = local completion)."""

    def mean_ci(self) -> tuple[float, float]:
        """Mean and 95% confidence half-width of the episode scores."""
        return mean_ci(self.episode_score)


def accepts_action_masks(policy: Any) -> bool:
    """Whether ``policy.predict`` takes ``action_masks`` (MaskablePPO)."""
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
    ``predict`` takes it (MaskablePPO). With ``hindsight`` and an environment whose protocol
    supports it, DT #1 replays every task of each finished episode to give the
    hindsight-optimal utility on the same trajectory.
    """
    protocol = protocol_for(env_id)
    hindsight = hindsight and protocol.hindsight
    env = gym.make(env_id, **(env_kwargs or {}))
    use_masks = accepts_action_masks(policy)
    scores, oracle = [], []
    oracle_choices: dict[int, int] = {}
    components: dict[str, list[float]] = {key: [] for key in protocol.components}
    decision_time, decisions = 0.0, 0
    try:
        for seed in seeds:
            info, count, seconds = run_episode(policy, env, seed, action_masks=use_masks)
            decisions += count
            decision_time += seconds
            scores.append(protocol.episode_score(info, f"{name} on {env_id}, seed {seed}"))
            for key in protocol.components:
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
        protocol=protocol,
        seeds=tuple(int(s) for s in seeds),
        episode_score=np.asarray(scores),
        episode_components={k: np.asarray(v) for k, v in components.items()},
        episode_hindsight=np.asarray(oracle) if hindsight else None,
        seconds_per_decision=decision_time / max(decisions, 1),
        extra={"hindsight_choices": oracle_choices} if hindsight else {},
    )


def comparison_rows(results: Sequence[EvalResult]) -> list[dict[str, Any]]:
    """One row per policy, best mean score first, with 95% CIs and cost components.

    Where every policy ran on the same seeds, each row also holds its paired advantage over
    the best other policy (``advantage``, ``advantage_ci95``: positive is better; for the top
    row, its margin over the runner-up). All results must share one protocol.
    """
    protocols = {result.protocol for result in results}
    if len(protocols) != 1:
        raise ValueError(f"results of different protocols cannot share a table: {protocols}")
    protocol = protocols.pop()
    ranked = sorted(results, key=lambda r: -protocol.sign * r.mean_ci()[0])
    rows = []
    for result in ranked:
        mean, half = result.mean_ci()
        row: dict[str, Any] = {
            "policy": result.name,
            "episodes": len(result.episode_score),
            protocol.score: mean,
            f"{protocol.score}_ci95": half,
        }
        others = [other for other in ranked if other is not result]
        if others and all(other.seeds == result.seeds for other in others):
            row["best_other"] = others[0].name
            row["advantage"], row["advantage_ci95"] = paired_advantage(result, others[0])
        for key in protocol.components:
            row[key] = float(np.mean(result.episode_components[key]))
        if result.episode_hindsight is not None:
            row["hindsight_utility"], row["hindsight_ci95"] = mean_ci(result.episode_hindsight)
        row["ms_per_decision"] = 1e3 * result.seconds_per_decision
        rows.append(row)
    return rows


def comparison_markdown(rows: Sequence[dict[str, Any]], protocol: EvalProtocol) -> str:
    """Markdown table of ``comparison_rows``."""
    better = "higher" if protocol.higher_is_better else "lower"
    score = protocol.score
    columns: dict[str, Cell] = {
        "policy": "{policy}",
        f"{score} (95% CI, {better} is better)": lambda r: format_mean_ci(
            r[score], r[f"{score}_ci95"]
        ),
        **{
            key.replace("_", " ") + (f" ({unit})" if unit and unit[0] != "/" else unit): (
                f"{{{key}:.3f}}"
            )
            for key, unit in zip(protocol.components, protocol.units, strict=True)
        },
    }
    if any("advantage" in r for r in rows):
        columns["advantage over the best other, paired (95% CI)"] = lambda r: (
            f"{format_mean_ci(r['advantage'], r['advantage_ci95'], sign='+')} vs {r['best_other']}"
            if "advantage" in r
            else "–"
        )
    if any("hindsight_utility" in r for r in rows):
        columns["DT #1 hindsight on same trajectories (95% CI)"] = lambda r: (
            format_mean_ci(r["hindsight_utility"], r["hindsight_ci95"])
            if "hindsight_utility" in r
            else "–"
        )
    columns["ms/decision"] = "{ms_per_decision:.3f}"
    return "\n".join(markdown_table(rows, columns)) + "\n"


def write_comparison(results: Sequence[EvalResult], folder: Path | str) -> str:
    """Write ``comparison.md`` and ``comparison.csv`` into ``folder``, and where every policy
    ran on the same seeds ``episode_scores.csv`` (one row per seed, a column per policy, for
    paired comparisons across runs); return the Markdown."""
    folder = Path(folder)
    rows = comparison_rows(results)
    write_csv(folder / "comparison.csv", rows)
    if all(result.seeds == results[0].seeds for result in results):
        episodes = [
            {"seed": seed, **{r.name: float(r.episode_score[i]) for r in results}}
            for i, seed in enumerate(results[0].seeds)
        ]
        write_csv(folder / "episode_scores.csv", episodes)
    return write_markdown(folder / "comparison.md", comparison_markdown(rows, results[0].protocol))
