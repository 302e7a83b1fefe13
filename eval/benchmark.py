"""Benchmark: every fixed policy and any trained agents of one environment or all, on the fixed
test seeds, in one table and one set of plots.

    python eval/benchmark.py [--env ID ...] [--agents RUN_DIR|MODEL.zip ...] [--episodes N]
        [--env-kwargs k=v ...] [--address local|auto|ray://HOST:PORT] [--out FOLDER]

A *cell* is one episode of one policy on one environment from one test seed
(``mec_gym.eval.evaluation.EVAL_SEEDS``); its result (score, cost components, decisions, decision
time) is written atomically to ``<cells>/<code>/<env>/<policy>-<digest>/<seed>.json`` as soon as
it is known (``--cells``, by default ``<out>/cells``; ``<code>`` digests mec_gym's source and data
files, ``<digest>`` the env kwargs and the model file's bytes, so that a cell is reused only
for the same ones), and a cell whose file exists is never run again: a killed benchmark, started
again with the same folders, resumes where it stopped. With ``--address`` a Ray task plays all
the seeds of one (env, policy) and its cells are stored when it returns.

Policies: the env's baselines (``mec_gym.agents.build_baselines``, with ``--env-kwargs``) and the
agents of ``--agents``: a training run folder (its ``best_model.zip``, the checkpoint chosen on
the validation seeds, with the run's ``env_kwargs``) or a model file beside the ``config.yaml``
of its run, named ``<algo>_s<seed>`` (a run folder's model) in the table. An agent trained on
another problem than ``--env-kwargs`` poses (other values of fields beside the env's
formulation fields, ``EnvEntry.formulation_kwargs`` such as an action mode) is refused.

Writes into ``--out`` (default: a fresh ``runs/benchmark/<date-time>/``): ``results.md`` and
``results.csv`` (per env and policy: mean score and 95% CI, the paired difference to the best
baseline with its CI, the mean cost components and the decision time), per env
``<env>_scores.png`` (bars with CIs), ``<env>_tradeoff.png`` (each policy's first two cost
components, e.g. delay against energy, with its accuracy where the env reports one) and, with
agents, ``<env>_learning.png`` (their validation curves from ``evaluations.npz`` against the
baselines' test scores), and ``tensorboard/<env>/<policy>/`` (the scores under the shared tags
``benchmark/score``, ``benchmark/score_ci95``, ``benchmark/<component>``).

Without ``--address`` the cells run in this process; with it they run as Ray tasks (one per
environment and policy, the results written by this process as they arrive): ``local`` starts
Ray on this machine (its cores), ``auto`` joins the cluster started on this machine with ``ray
start --head`` (other machines join it with ``ray start --address HEAD:6379``), and
``ray://HOST:PORT`` a remote one. Needs the ``ray`` extra for ``--address``.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib
import json
import os
import time
from argparse import ArgumentParser
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

import mec_gym  # noqa: F401  (registers the environments)
from mec_gym.eval import output
from mec_gym.eval.evaluation import (
    EVAL_SEEDS,
    EvalProtocol,
    format_mean_ci,
    mean_ci,
    protocol_for,
)
from mec_gym.registration import ENVS, canonical_id, env_entry

__all__ = [
    "PolicySource",
    "agent_source",
    "rows_from_csv",
    "with_seed_statistics",
    "markdown_section",
    "problem_kwargs",
    "baseline_sources",
    "pending_seeds",
    "run_cells",
    "load_cells",
    "summary_rows",
    "main",
]


@dataclass(frozen=True, eq=False)
class PolicySource:
    """How a worker builds one policy of one environment (picklable, so a Ray task can)."""

    env_id: str
    name: str
    """The policy's name in the table (a baseline's display name, or ``<algo>_s<seed>``)."""
    kind: str
    """``"baseline"`` or ``"agent"``."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of ``gymnasium.make`` the policy acts in."""
    model: str = ""
    """An agent's model file."""
    algo: str = ""
    """An agent's algorithm (``mec_gym.train.cli.ALGOS``)."""
    evaluations: str = ""
    """An agent's ``evaluations.npz`` (its validation curve), if any."""
    model_digest: str = ""
    """SHA-256 of an agent's model file (part of the cells' key)."""

    @property
    def slug(self) -> str:
        """The policy's folder of cells: its name (``/`` replaced) and a digest of what its
        cells depend on (env kwargs, model file), so that no cell is reused under another
        configuration (or model)."""
        identity = json.dumps(
            [self.kind, self.name, self.env_kwargs, self.model_digest], sort_keys=True, default=str
        )
        digest = hashlib.sha256(identity.encode()).hexdigest()[:10]
        return f"{self.name.replace('/', '_')}-{digest}"

    def build(self) -> Any:
        """The policy, with the SB3 ``predict`` call shape."""
        if self.kind == "baseline":
            from mec_gym.agents import build_baselines

            return build_baselines(self.env_id, self.env_kwargs)[self.name]
        import torch

        from mec_gym.train.common import ALGOS

        torch.set_num_threads(1)
        return ALGOS[self.algo].load(self.model, device="cpu")


def problem_kwargs(env_id: str, env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``env_kwargs`` without the env's formulation fields (``EnvEntry.formulation_kwargs``):
    what makes the problem itself."""
    formulation = env_entry(env_id).formulation_kwargs
    return {key: value for key, value in env_kwargs.items() if key not in formulation}


def formulation_kwargs(env_id: str, env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The env's formulation fields of ``env_kwargs`` (the rest: :func:`problem_kwargs`)."""
    formulation = env_entry(env_id).formulation_kwargs
    return {key: value for key, value in env_kwargs.items() if key in formulation}


def baseline_sources(env_id: str, env_kwargs: dict[str, Any]) -> list[PolicySource]:
    """The baselines of ``env_id`` as sources (built once here to read their names)."""
    from mec_gym.agents import build_baselines

    names = list(build_baselines(env_id, env_kwargs))
    return [PolicySource(env_id, name, "baseline", dict(env_kwargs)) for name in names]


def agent_source(path: Path) -> PolicySource:
    """A trained agent from a run folder (its ``best_model.zip``) or a model file in one;
    ValueError naming what is missing."""
    run_dir, model = (path, path / "best_model.zip") if path.is_dir() else (path.parent, path)
    config_path = run_dir / "config.yaml"
    if not model.is_file() or not config_path.is_file():
        raise ValueError(
            f"{path}: expected a run folder of train/<algo>.py (config.yaml and "
            "best_model.zip) or a model file beside its config.yaml"
        )
    config = yaml.safe_load(config_path.read_text()) or {}
    missing = [key for key in ("algo", "env_id", "seed") if key not in config]
    if missing:
        raise ValueError(f"{config_path} lacks {missing}: not a config.yaml of train/<algo>.py")
    evaluations = run_dir / "evaluations.npz"
    return PolicySource(
        env_id=config["env_id"],
        name=f"{config['algo']}_s{config['seed']}",
        kind="agent",
        env_kwargs=dict(config.get("env_kwargs") or {}),
        model=str(model),
        algo=config["algo"],
        evaluations=str(evaluations) if evaluations.is_file() else "",
        model_digest=hashlib.sha256(model.read_bytes()).hexdigest(),
    )


# ----------------------------------------------------------------------------------- cells
CODE_PACKAGES = ("mec_gym", "mec_gym.agents", "mec_gym.eval")
"""The packages whose code a cell's result depends on (envs, solvers, baselines, evaluation)."""


@functools.cache
def code_digest() -> str:
    """A digest of the source and data files of ``CODE_PACKAGES`` and of the package versions
    (``output.package_versions``): cells are stored under it, so that an edit to the code or
    another release of a library never reuses a cell computed before it."""
    digest = hashlib.sha256(json.dumps(output.package_versions(), sort_keys=True).encode())
    for package in CODE_PACKAGES:
        root = Path(importlib.import_module(package).__file__).parent
        for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".json")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cell_path(folder: Path, source: PolicySource, seed: int) -> Path:
    """Where the cell of ``source`` and ``seed`` is stored under the cell folder ``folder``."""
    return folder / code_digest() / source.env_id / source.slug / f"{seed}.json"


def pending_seeds(folder: Path, source: PolicySource, seeds: Sequence[int]) -> list[int]:
    """The seeds of ``source`` whose cells are not stored yet."""
    return [seed for seed in seeds if not cell_path(folder, source, seed).is_file()]


def write_cell(folder: Path, source: PolicySource, cell: dict[str, Any]) -> None:
    """Store one cell atomically (a temporary file renamed onto its path)."""
    path = cell_path(folder, source, cell["seed"])
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(cell))
    os.replace(temporary, path)


def play_cells(source: PolicySource, seeds: Sequence[int]) -> Iterable[dict[str, Any]]:
    """Play one episode of ``source``'s policy per seed; each cell as it is played."""
    from mec_gym.agents.base import run_episode
    from mec_gym.eval.evaluation import accepts_action_masks

    protocol = protocol_for(source.env_id)
    policy = source.build()
    env = gym.make(source.env_id, **source.env_kwargs)
    masks = accepts_action_masks(policy)
    try:
        for seed in seeds:
            info, decisions, seconds = run_episode(policy, env, seed, action_masks=masks)
            episode = f"{source.name} on {source.env_id}, seed {seed}"
            yield {
                "seed": int(seed),
                "score": protocol.episode_score(info, episode),
                "components": {key: float(info[key]) for key in protocol.components},
                "decisions": int(decisions),
                "seconds_in_predict": float(seconds),
            }
    finally:
        env.close()


def play_all(source: PolicySource, seeds: Sequence[int]) -> list[dict[str, Any]]:
    """:func:`play_cells` as a list (what a Ray task returns)."""
    return list(play_cells(source, seeds))


def run_cells(
    folder: Path,
    work: Sequence[tuple[PolicySource, list[int]]],
    address: str | None,
    progress: Callable[[int], None],
) -> None:
    """Play every (source, seeds) of ``work`` and store each cell: in this process without
    ``address``, else as one Ray task per source. ``progress(n)`` after every n cells."""
    if address is None:
        for source, seeds in work:
            for cell in play_cells(source, seeds):
                write_cell(folder, source, cell)
                progress(1)
        return
    import ray

    ray.init(address=None if address == "local" else address, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(play_all)
        pending = {remote.remote(source, seeds): source for source, seeds in work}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            source = pending.pop(done[0])
            cells = ray.get(done[0])
            for cell in cells:
                write_cell(folder, source, cell)
            progress(len(cells))
    finally:
        ray.shutdown()


def load_cells(folder: Path, source: PolicySource, seeds: Sequence[int]) -> list[dict[str, Any]]:
    """The stored cells of ``source`` for ``seeds``, in seed order."""
    return [json.loads(cell_path(folder, source, seed).read_text()) for seed in seeds]


# ---------------------------------------------------------------------------------- tables
def seed_groups(
    cells: dict[PolicySource, list[dict[str, Any]]],
) -> dict[PolicySource, list[PolicySource]]:
    """The agents of one algorithm and one formulation (env kwargs) trained with several seeds,
    as one policy ``<algo> (<n> seeds)`` (kind ``"agents"``; ``<algo> [<formulation>] (<n>
    seeds)`` when the algorithm's agents act in several formulations) -> its members."""
    members: dict[tuple[str, str], list[PolicySource]] = {}
    for source in cells:
        if source.kind == "agent":
            members.setdefault((source.algo, kwargs_key(source.env_kwargs)), []).append(source)
    algos = [algo for algo, _ in members]
    groups = {}
    for (algo, _), group in members.items():
        if len(group) < 2:
            continue
        label = algo
        if algos.count(algo) > 1:
            kwargs = formulation_kwargs(group[0].env_id, group[0].env_kwargs)
            label += f" [{', '.join(f'{k}={v}' for k, v in sorted(kwargs.items())) or 'defaults'}]"
        name = f"{label} ({len(group)} seeds)"
        groups[PolicySource(group[0].env_id, name, "agents", group[0].env_kwargs, algo=algo)] = (
            group
        )
    return groups


def kwargs_key(env_kwargs: dict[str, Any]) -> str:
    """``env_kwargs`` as a text that two equal dicts share (keys sorted): a grouping key."""
    return json.dumps(env_kwargs, sort_keys=True, default=str)


def duplicate_agents(agents: Sequence[PolicySource]) -> list[str]:
    """Names of agents given twice: of one env, algorithm, training seed and env kwargs."""
    keys = [(a.env_id, a.name, kwargs_key(a.env_kwargs)) for a in agents]
    return sorted(
        {f"{env_id} {name}" for env_id, name, _ in {k for k in keys if keys.count(k) > 1}}
    )


def group_cells(members: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per test seed, the mean over the members of the score and of each component (decisions
    and decision time summed)."""
    grouped = []
    for per_seed in zip(*members, strict=True):
        keys = per_seed[0]["components"]
        grouped.append(
            {
                "seed": per_seed[0]["seed"],
                "score": float(np.mean([c["score"] for c in per_seed])),
                "components": {
                    k: float(np.mean([c["components"][k] for c in per_seed])) for k in keys
                },
                "decisions": sum(c["decisions"] for c in per_seed),
                "seconds_in_predict": sum(c["seconds_in_predict"] for c in per_seed),
            }
        )
    return grouped


def summary_rows(
    protocol: EvalProtocol, cells: dict[PolicySource, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """One row per policy, best mean first: mean score and CI, the paired difference to the best
    baseline (positive: better; the best baseline against the runner-up baseline), the mean
    components and the decision time. Agents of one algorithm with several training seeds also
    get a row of their mean (per test seed, over the training seeds) with the statistics of
    :func:`with_seed_statistics`."""
    sign = protocol.sign
    groups = seed_groups(cells)
    cells = {**cells, **{g: group_cells([cells[m] for m in ms]) for g, ms in groups.items()}}
    scores = {s: np.array([c["score"] for c in cells[s]]) for s in cells}
    baselines = sorted(
        (s for s in cells if s.kind == "baseline"), key=lambda s: -sign * scores[s].mean()
    )
    rows = []
    for source in sorted(cells, key=lambda s: -sign * scores[s].mean()):
        mean, half = mean_ci(scores[source])
        row: dict[str, Any] = {
            "env": source.env_id,
            "policy": source.name,
            "kind": source.kind,
            "episodes": len(scores[source]),
            "score": mean,
            "score_ci95": half,
        }
        row["group"] = next((g.name for g, ms in groups.items() if source in ms), "")
        reference = next((b for b in baselines if b != source), None)
        if reference is not None:
            row["reference"] = reference.name
            diff = sign * (scores[source] - scores[reference])
            row["paired_diff"], row["paired_diff_ci95"] = mean_ci(diff)
        for key in protocol.components:
            row[key] = float(np.mean([c["components"][key] for c in cells[source]]))
        decisions = sum(c["decisions"] for c in cells[source])
        seconds = sum(c["seconds_in_predict"] for c in cells[source])
        row["ms_per_decision"] = 1e3 * seconds / max(decisions, 1)
        rows.append(row)
    return with_seed_statistics(rows)


TEXT_COLUMNS = ("env", "policy", "kind", "group", "reference")
"""Columns of ``results.csv`` that hold text (``episodes`` holds integers, the rest floats)."""


def rows_from_csv(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The rows of a ``results.csv`` this module wrote, by env, as :func:`summary_rows` made
    them (empty cells left out but ``group``'s, floats read back exactly): what
    :func:`markdown_section` renders again after a change of the tables' layout, without playing
    a cell."""
    by_env: dict[str, list[dict[str, Any]]] = {}
    with path.open(newline="") as handle:
        for entry in csv.DictReader(handle):
            row: dict[str, Any] = {}
            for key, text in entry.items():
                if text == "" and key != "group":  # a key the row did not have
                    continue
                if key in TEXT_COLUMNS:
                    row[key] = text
                else:
                    row[key] = int(text) if key == "episodes" else float(text)
            by_env.setdefault(row["env"], []).append(row)
    return by_env


def with_seed_statistics(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (of one env) with the statistics over the training seeds added to each seed
    group's row (kind ``"agents"``), from its members' rows (``group``): the lowest and highest
    of the seeds' mean scores (``seeds_min``, ``seeds_max``) and, when the members are paired
    against the group's reference, the mean of their paired differences with its 95 % CI over
    the seeds (``seeds_paired_diff``, ``seeds_paired_diff_ci95``: a t interval with seeds - 1
    degrees of freedom, which counts how much another training seed changes the result; the
    group's own CIs are over the test seeds of its mean policy)."""
    for row in rows:
        if row["kind"] != "agents":
            continue
        members = [m for m in rows if m["group"] == row["policy"]]
        if not members:
            raise ValueError(f"{row['env']}: no member rows of the seed group {row['policy']!r}")
        seed_means = [m["score"] for m in members]
        row["seeds_min"], row["seeds_max"] = min(seed_means), max(seed_means)
        row.pop("seeds_paired_diff", None), row.pop("seeds_paired_diff_ci95", None)
        if "reference" in row and all(m.get("reference") == row["reference"] for m in members):
            differences = np.array([m["paired_diff"] for m in members])
            row["seeds_paired_diff"], row["seeds_paired_diff_ci95"] = mean_ci(differences)
    return rows


def markdown_section(env_id: str, protocol: EvalProtocol, rows: list[dict[str, Any]]) -> str:
    """The env's section of ``results.md``."""
    better = "higher" if protocol.higher_is_better else "lower"
    columns: dict[str, output.Cell] = {
        "policy": lambda r: f"{r['policy']}" + (" (agent)" if r["kind"] == "agent" else ""),
        f"{protocol.score} (95% CI, {better} is better)": lambda r: format_mean_ci(
            r["score"], r["score_ci95"]
        ),
        "training seeds' means": lambda r: (
            f"{r['seeds_min']:.4f} to {r['seeds_max']:.4f}" if "seeds_min" in r else "–"
        ),
        "paired difference to the best baseline (95% CI, positive: better)": lambda r: (
            f"{format_mean_ci(r['paired_diff'], r['paired_diff_ci95'], sign='+')} vs "
            f"{r['reference']}"
            if "reference" in r
            else "–"
        ),
        "the same over the training seeds (95% CI)": lambda r: (
            format_mean_ci(r["seeds_paired_diff"], r["seeds_paired_diff_ci95"], sign="+")
            if "seeds_paired_diff" in r
            else "–"
        ),
        **{
            key.replace("_", " ") + (f" ({unit})" if unit and unit[0] != "/" else unit): (
                f"{{{key}:.3f}}"
            )
            for key, unit in zip(protocol.components, protocol.units, strict=True)
        },
        "ms/decision": "{ms_per_decision:.3f}",
    }
    shown = [row for row in rows if not row["group"]]
    note = (
        [
            "",
            "Agents trained with several seeds appear as their mean policy (per test seed, the "
            "mean over the seeds' agents). Its CIs are over the test seeds and leave out how "
            "much another training seed would change it; the column 'the same over the training "
            "seeds' counts that: the mean of the seeds' agents' paired differences, with a t "
            "interval over the seeds. Each seed's row is in `results.csv`.",
        ]
        if len(shown) < len(rows)
        else []
    )
    if any(r["kind"] != "baseline" for r in rows):
        note += [
            "",
            "The best baseline is the one with the best mean on these test seeds (chosen on "
            "them): the agents' paired differences against it are conservative, while its own "
            "margin over the runner-up is the largest of several on the same seeds. Agents act "
            "in the action formulation of their training runs' env kwargs (e.g. an action mode), "
            "the baselines in the one of the benchmark's `--env-kwargs` (the env's default "
            "without them), on the same episodes.",
        ]
    slug = env_id
    plots = f"![scores]({slug}_scores.png) ![trade-off]({slug}_tradeoff.png)"
    if any(r["kind"] == "agent" for r in rows):
        plots += f" ![learning curves]({slug}_learning.png)"
    table = output.markdown_table(shown, columns)
    return "\n".join([f"## {env_id}", "", *table, *note, "", plots, ""])


# ----------------------------------------------------------------------------------- plots
OFF_SCALE = 20.0
"""A policy whose mean score is more than this many times the median's magnitude is drawn off
scale in the bar plot (its value written at the axis edge)."""


def plot_scores(path: Path, protocol: EvalProtocol, rows: list[dict[str, Any]]) -> None:
    """Bars of the mean scores with their 95% CIs: baselines blue, single agents grey, an
    algorithm's mean over its training seeds black."""
    fig, ax = output.subplots(figsize=(7, 0.4 * len(rows) + 1.2))
    names = [r["policy"] for r in rows][::-1]
    means = [r["score"] for r in rows][::-1]
    halves = [r["score_ci95"] if np.isfinite(r["score_ci95"]) else 0.0 for r in rows][::-1]
    kind_colors = {"baseline": "tab:blue", "agent": "tab:gray", "agents": "black"}
    colors = [kind_colors[r["kind"]] for r in rows][::-1]
    ax.barh(names, means, xerr=halves, color=colors, capsize=3)
    better = "higher" if protocol.higher_is_better else "lower"
    ax.set_xlabel(f"{protocol.score} (95% CI, {better} is better)")
    typical = float(np.median(np.abs(means)))
    outliers = [i for i, m in enumerate(means) if abs(m) > OFF_SCALE * max(typical, 1e-12)]
    if outliers:  # heavy-tailed policies would flatten every other bar: cut the axis
        bulk = [i for i in range(len(means)) if i not in outliers]
        low = min([0.0, *(means[i] - halves[i] for i in bulk)])
        high = max([0.0, *(means[i] + halves[i] for i in bulk)])
        pad = 0.05 * (high - low or 1.0)
        ax.set_xlim(low - pad, high + pad)
        for i in outliers:
            edge = high + pad if means[i] > 0 else low - pad
            ax.text(
                edge,
                i,
                f" {means[i]:.3g} (off scale) ",
                va="center",
                ha="right" if means[i] > 0 else "left",
                fontsize=8,
            )
    output.save_figure(fig, path)


def plot_tradeoff(path: Path, protocol: EvalProtocol, rows: list[dict[str, Any]]) -> None:
    """Each policy at its mean delay and energy (the first components in s and in J; the first
    two components where the env has not both), coloured by its accuracy where the env
    reports one."""
    fig, ax = output.subplots(figsize=(6, 4.5))
    x_key, y_key = tradeoff_axes(protocol)
    xs = [r.get(x_key, r["score"]) for r in rows]
    ys = [r.get(y_key, r["score"]) for r in rows]
    if "accuracy" in protocol.components:
        points = ax.scatter(xs, ys, c=[r["accuracy"] for r in rows], cmap="viridis")
        fig.colorbar(points, ax=ax, label="accuracy")
    else:
        ax.scatter(xs, ys)
    for row, x, y in zip(rows, xs, ys, strict=True):
        ax.annotate(row["policy"], (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    units = dict(zip(protocol.components, protocol.units, strict=True))
    ax.set_xlabel(f"{x_key} ({units.get(x_key, '')})")
    ax.set_ylabel(f"{y_key} ({units.get(y_key, '')})")
    output.save_figure(fig, path)


def tradeoff_axes(protocol: EvalProtocol) -> tuple[str, str]:
    """The components of the trade-off view: the first in s and the first in J, else the first
    two (the score where the env has fewer)."""
    units = dict(zip(protocol.components, protocol.units, strict=True))
    delay = next((key for key, unit in units.items() if unit == "s"), None)
    energy = next((key for key, unit in units.items() if unit == "J"), None)
    if delay and energy:
        return delay, energy
    return tuple((list(protocol.components) + ["score", "score"])[:2])  # type: ignore[return-value]


def plot_learning(
    path: Path, protocol: EvalProtocol, agents: list[PolicySource], rows: list[dict[str, Any]]
) -> None:
    """The agents' validation curves (``evaluations.npz``: mean and CI band) against every
    baseline's test score (a line with its CI band)."""
    fig, ax = output.subplots(figsize=(7, 4))
    for source in agents:
        if not source.evaluations:
            continue
        data = np.load(source.evaluations)
        stats = np.array([mean_ci(r) for r in data["results"]])
        ax.plot(data["timesteps"], stats[:, 0], marker="o", label=source.name)
        ax.fill_between(
            data["timesteps"], stats[:, 0] - stats[:, 1], stats[:, 0] + stats[:, 1], alpha=0.2
        )
    for index, row in enumerate(r for r in rows if r["kind"] == "baseline"):
        color = f"C{(index + 1) % 10}"
        ax.axhline(row["score"], color=color, linestyle="--", linewidth=1, label=row["policy"])
        if np.isfinite(row["score_ci95"]):
            ax.axhspan(
                row["score"] - row["score_ci95"],
                row["score"] + row["score_ci95"],
                color=color,
                alpha=0.08,
            )
    ax.set_xlabel("training steps")
    ax.set_ylabel(f"{protocol.score} (agents: validation; baselines: test)")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    output.save_figure(fig, path)


def write_tensorboard(folder: Path, protocol: EvalProtocol, rows: list[dict[str, Any]]) -> None:
    """``tensorboard/<env>/<policy>/``: each policy's scores under the shared tags (step 0)."""
    from torch.utils.tensorboard import SummaryWriter

    for row in rows:
        run = folder / "tensorboard" / row["env"] / row["policy"].replace("/", "_")
        writer = SummaryWriter(str(run))
        writer.add_scalar("benchmark/score", row["score"], 0)
        if np.isfinite(row["score_ci95"]):
            writer.add_scalar("benchmark/score_ci95", row["score_ci95"], 0)
        for key in protocol.components:
            writer.add_scalar(f"benchmark/{key}", row[key], 0)
        writer.close()


# ------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> Path:
    from mec_gym.train.cli import add_key_value_argument

    argv = output.arguments(argv)
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    output.add_env_argument(parser, ENVS, "env ID (repeatable; default: all)", repeatable=True)
    parser.add_argument(
        "--agents",
        type=Path,
        nargs="+",
        default=[],
        help="run folders of train/<algo>.py or model files in them",
    )
    parser.add_argument(
        "--episodes", type=int, help="test seeds per policy (default: the env's eval_episodes)"
    )
    add_key_value_argument(
        parser, "--env-kwargs", "keyword arguments of gymnasium.make for the baselines (one env)"
    )
    parser.add_argument("--address", help="run the cells on Ray: local, auto or ray://HOST:PORT")
    parser.add_argument("--no-tensorboard", action="store_true", help="skip the TensorBoard runs")
    parser.add_argument("--cells", type=Path, help="stored cells (default: <out>/cells)")
    output.add_out_argument(parser, "benchmark")
    args = parser.parse_args(argv)
    if args.episodes is not None and not 1 <= args.episodes <= len(EVAL_SEEDS):
        parser.error(f"--episodes must be in [1, {len(EVAL_SEEDS)}], got {args.episodes}")
    env_kwargs = dict(args.env_kwargs)
    try:
        agents = [agent_source(path) for path in args.agents]
    except ValueError as error:
        parser.error(str(error))
    if duplicates := duplicate_agents(agents):
        parser.error(f"--agents: {duplicates} given twice (one run per seed and env kwargs)")
    env_ids = (
        [canonical_id(e) for e in args.env]
        if args.env
        else sorted({a.env_id for a in agents} or ENVS)
    )
    elsewhere = sorted(str(a.model) for a in agents if a.env_id not in env_ids)
    if elsewhere:
        parser.error(f"--agents: {elsewhere} were trained on none of the --env {env_ids}")
    for agent in agents:
        problem = problem_kwargs(agent.env_id, agent.env_kwargs)
        if problem != problem_kwargs(agent.env_id, env_kwargs):
            parser.error(
                f"--agents: {agent.model} was trained on {agent.env_id} with {problem}, the "
                f"baselines run with {problem_kwargs(agent.env_id, env_kwargs)}: pass the same "
                "--env-kwargs to score both on one problem"
            )
    if env_kwargs and len(env_ids) != 1:
        parser.error("--env-kwargs needs exactly one --env")
    if args.address is not None:
        try:
            import ray  # noqa: F401
        except ImportError:
            parser.error("--address needs Ray: pip install mec-gym[ray]")

    folder = output.output_folder(args.out, "benchmark")
    cells_folder = args.cells or folder / "cells"
    resume = f"--out {folder}" + (f" --cells {args.cells}" if args.cells else "")
    print(f"Output: {folder}  (a killed run resumes with {resume})")
    plan: dict[str, tuple[list[PolicySource], list[int]]] = {}
    for env_id in env_ids:
        seeds = list(EVAL_SEEDS[: args.episodes or env_entry(env_id).eval_episodes])
        sources = baseline_sources(env_id, env_kwargs)
        sources += [a for a in agents if a.env_id == env_id]
        plan[env_id] = (sources, seeds)
    work = [
        (source, pending)
        for sources, seeds in plan.values()
        for source in sources
        if (pending := pending_seeds(cells_folder, source, seeds))
    ]
    for stale in (cells_folder / code_digest()).glob("**/.*.tmp"):  # a killed run's partial cell
        stale.unlink()
    total = sum(len(seeds) for sources, seeds in plan.values() for _ in sources)
    todo = sum(len(seeds) for _, seeds in work)
    print(f"{total} cells, {total - todo} already stored, {todo} to play")
    from tqdm import tqdm

    with tqdm(total=todo, unit="cell") as bar:
        run_cells(cells_folder, work, args.address, bar.update)

    sections, all_rows = [], []
    for env_id, (sources, seeds) in plan.items():
        protocol = protocol_for(env_id)
        cells = {source: load_cells(cells_folder, source, seeds) for source in sources}
        rows = summary_rows(protocol, cells)
        all_rows += rows
        sections.append(markdown_section(env_id, protocol, rows))
        plot_scores(folder / f"{env_id}_scores.png", protocol, rows)
        plot_tradeoff(folder / f"{env_id}_tradeoff.png", protocol, rows)
        env_agents = [s for s in sources if s.kind == "agent"]
        if env_agents:
            plot_learning(folder / f"{env_id}_learning.png", protocol, env_agents, rows)
        if not args.no_tensorboard:
            write_tensorboard(folder, protocol, rows)
    header = [
        "# Benchmark",
        "",
        f"`{output.command_line(__file__, argv)}` on {time.strftime('%Y-%m-%d')}, "
        f"{os.cpu_count()} CPUs (load {output.load_average()}); test seeds "
        f"{EVAL_SEEDS[0]}... (one episode per seed and policy).",
        "",
    ]
    output.write_csv(folder / "results.csv", all_rows)
    output.write_markdown(folder / "results.md", [*header, *sections])
    print(f"wrote {folder / 'results.md'}")
    return folder


if __name__ == "__main__":
    main()
