"""The experiments of Pan et al. (2023) on our model of the joint offloading system.

Every point averages the same random drops (seeds 10_000 + i, ``JointOffloadProblem.sample``)
over every scheme of ``mec_gym.solvers.joint_offload.registry``; the exponential ones (the exact
bound, Search+Heuristic) only where ``solver_applies``. Experiments:

(a) mean cost per device vs N; (b) solver running time vs N (mean per instance; each solver is
warmed up once per configuration and N, and the GP is compiled for every set size 1..N before
timing, so cvxpy's compilation is excluded); (c) ADMM's cost vs iteration at the default N;
(d) delay, energy, accuracy and offloading rate vs N, bandwidth B and edge capacity F^E for the
main schemes; (e) local vs edge devices per scheme at the defaults; (f) the delay-energy-accuracy
trade-off over the weights (w3 swept, w1 = w2 = (1 - w3) / 2); (g) the optimality gaps vs the
exact bound at small N. Writes CSVs and PNGs into ``--out`` and the summary ``<out>.md``.

    python eval/paper_joint_offload.py [--quick] [--preset pan2023] [--drops 100] \
        [--out docs/joint_offload_paper]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mec_gym.eval.evaluation import mean_ci  # noqa: E402
from mec_gym.problems.joint_offload import (  # noqa: E402
    PRESETS,
    JointOffloadConfig,
    JointOffloadProblem,
    evaluate_allocation,
    feasibility_violations,
)
from mec_gym.solvers.joint_offload.admm import admm  # noqa: E402
from mec_gym.solvers.joint_offload.gp import solve_relaxed  # noqa: E402
from mec_gym.solvers.joint_offload.registry import (  # noqa: E402
    SOLVER_LABELS,
    SOLVERS,
    solve,
    solver_applies,
)

DROP_SEED_START = 10_000
"""Drop i of every point uses ``np.random.default_rng(DROP_SEED_START + i)``."""
MAIN_SCHEMES = ("gp_heuristic", "admm", "cccp", "bound", "local_only", "edge_only")
"""The schemes of the sweeps (d) and the ADMM figure's references."""
TRADEOFF_SCHEMES = ("bound", "gp_heuristic")
GAP_SCHEMES = tuple(name for name in SOLVERS if name != "bound")
TRIVIAL_SCHEMES = ("local_only", "edge_only", "random")
RELATIVE_TOLERANCE = 1e-9
"""Relative cost difference under which a scheme counts as matching the bound."""


@dataclass(frozen=True)
class Settings:
    """What the experiments sweep (SI units)."""

    drops: int
    devices: tuple[int, ...]
    """N of (a), (b) and the N sweep of (d)."""
    default_devices: int
    """N of (c), (e), (f) and the B and F^E sweeps of (d)."""
    gap_devices: tuple[int, ...]
    """N of (g)."""
    bandwidths: tuple[float, ...]
    """B of (d), Hz."""
    edge_capacities: tuple[float, ...]
    """F^E of (d), cycle/s."""
    accuracy_weights: tuple[float, ...]
    """w3 of (f); w1 = w2 = (1 - w3) / 2."""


FULL = Settings(
    drops=100,
    devices=(2, 5, 10, 15, 20, 25, 30),
    default_devices=25,
    gap_devices=(4, 8, 12, 16, 25),
    bandwidths=(1e6, 2e6, 5e6, 10e6, 20e6),
    edge_capacities=(5e9, 10e9, 22e9, 50e9, 100e9),
    accuracy_weights=(0.0, 0.2, 0.4, 0.6, 0.8, 0.9),
)
QUICK = Settings(
    drops=10,
    devices=(2, 5, 10, 25),
    default_devices=25,
    gap_devices=(4, 8, 12),
    bandwidths=(1e6, 5e6, 20e6),
    edge_capacities=(5e9, 22e9, 100e9),
    accuracy_weights=(0.2, 0.6, 0.9),
)


# --------------------------------------------------------------------------------- running
@dataclass(frozen=True)
class DropRecords:
    """Outcomes of one scheme on the drops of one point (arrays of shape (drops,))."""

    seeds: np.ndarray
    cost: np.ndarray
    """Mean U_n over the devices."""
    delay: np.ndarray
    """Mean T_n, s."""
    energy: np.ndarray
    """Mean E_n, J."""
    accuracy: np.ndarray
    """Mean A(F_n)."""
    edge_devices: np.ndarray
    """Number of offloading devices."""
    seconds: np.ndarray
    """Wall time of the solve, s."""
    feasible: np.ndarray
    """Whether ``feasibility_violations`` was empty."""
    by_class: np.ndarray
    """Mean delay (s), energy (J) and accuracy of the local and of the edge devices, shape
    (drops, 2, 3) (class 0 local, 1 edge); NaN where a drop has no device of the class."""


def with_weights(config: JointOffloadConfig, accuracy_weight: float) -> JointOffloadConfig:
    """``config`` with w3 = ``accuracy_weight`` and w1 = w2 = (1 - w3) / 2."""
    side = (1.0 - accuracy_weight) / 2.0
    return config.replace(delay_weight=side, energy_weight=side, accuracy_weight=accuracy_weight)


def drop_seeds(drops: int) -> range:
    """Seeds of the first ``drops`` drops of every point."""
    return range(DROP_SEED_START, DROP_SEED_START + drops)


class Runner:
    """Solves each (configuration, N, scheme) once on the fixed drops and keeps the records."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self._problems: dict[tuple[JointOffloadConfig, int], list[JointOffloadProblem]] = {}
        self._records: dict[tuple[JointOffloadConfig, int, str], DropRecords] = {}

    def problems(self, config: JointOffloadConfig, n: int) -> list[JointOffloadProblem]:
        """The drops of a point; the first use compiles the GP for every set size 1..N."""
        key = (config, n)
        if key not in self._problems:
            drops = [
                JointOffloadProblem.sample(config, np.random.default_rng(seed), n)
                for seed in drop_seeds(self.drops)
            ]
            for size in range(1, n + 1):  # warm-up: cvxpy compiles each GP shape once
                solve_relaxed(drops[0], np.arange(size))
            self._problems[key] = drops
        return self._problems[key]

    def records(self, config: JointOffloadConfig, n: int, scheme: str) -> DropRecords:
        """The records of ``scheme`` at (``config``, N), solving the drops on first use."""
        key = (config, n, scheme)
        if key not in self._records:
            problems = self.problems(config, n)
            solve(scheme, problems[0], np.random.default_rng(0))  # warm-up, untimed
            rows = []
            for seed, problem in zip(drop_seeds(self.drops), problems, strict=True):
                rng = np.random.default_rng((seed, 1))  # Random's draws, apart from the drop's
                start = time.perf_counter()
                allocation = solve(scheme, problem, rng)
                seconds = time.perf_counter() - start
                cost = evaluate_allocation(problem, allocation)
                feasible = not feasibility_violations(problem, allocation)
                metrics = np.stack([cost.delay, cost.energy, cost.accuracy], axis=1)
                by_class = np.array(
                    [
                        metrics[members].mean(axis=0) if members.any() else np.full(3, np.nan)
                        for members in (~allocation.offload, allocation.offload)
                    ]
                )
                rows.append(
                    (
                        seed,
                        cost.mean,
                        cost.delay.mean(),
                        cost.energy.mean(),
                        cost.accuracy.mean(),
                        allocation.offload.sum(),
                        seconds,
                        feasible,
                        by_class,
                    )
                )
            columns = [np.array(column) for column in zip(*rows, strict=True)]
            self._records[key] = DropRecords(*columns)
        return self._records[key]

    def all_records(self) -> Iterable[tuple[JointOffloadConfig, int, str, DropRecords]]:
        for (config, n, scheme), records in self._records.items():
            yield config, n, scheme, records


def summary(records: DropRecords) -> dict[str, float]:
    """Means (and the 95% CI of the cost) over the drops, in display units (ms, mJ)."""
    cost, cost_ci = mean_ci(records.cost)
    return {
        "cost": cost,
        "cost_ci95": cost_ci,
        "delay_ms": 1e3 * float(records.delay.mean()),
        "energy_mJ": 1e3 * float(records.energy.mean()),
        "accuracy": float(records.accuracy.mean()),
        "edge_devices": float(records.edge_devices.mean()),
        "time_mean_ms": 1e3 * float(records.seconds.mean()),
        "time_median_ms": 1e3 * float(np.median(records.seconds)),
        "feasible": float(records.feasible.mean()),
    }


def applicable(schemes: Iterable[str], n: int) -> list[str]:
    """The schemes of ``schemes`` that are tractable at N = ``n``."""
    return [name for name in schemes if solver_applies(name, n)]


# ----------------------------------------------------------------------------- experiments
def sweep_devices(runner: Runner, config: JointOffloadConfig, settings: Settings) -> list[dict]:
    """(a), (b) and the N sweep of (d): every applicable scheme at every N."""
    rows = []
    for n in settings.devices:
        for scheme in applicable(SOLVERS, n):
            records = runner.records(config, n, scheme)
            rows.append({"num_devices": n, "scheme": scheme, **summary(records)})
            rows[-1]["offload_rate"] = rows[-1]["edge_devices"] / n
        print(f"  N = {n} done", flush=True)
    return rows


def sweep_config(
    runner: Runner,
    configs: Sequence[tuple[float, JointOffloadConfig]],
    n: int,
    schemes: Sequence[str],
    column: str,
) -> list[dict]:
    """Every scheme of ``schemes`` at N = ``n`` for each (value, config) of a sweep."""
    rows = []
    for value, config in configs:
        for scheme in applicable(schemes, n):
            rows.append(
                {column: value, "scheme": scheme, **summary(runner.records(config, n, scheme))}
            )
            rows[-1]["offload_rate"] = rows[-1]["edge_devices"] / n
    return rows


def optimality_gaps(runner: Runner, config: JointOffloadConfig, settings: Settings) -> list[dict]:
    """(g): gap of every scheme to the exact bound, per drop, at the N of ``gap_devices``."""
    rows = []
    for n in settings.gap_devices:
        bound = runner.records(config, n, "bound").cost
        for scheme in applicable(GAP_SCHEMES, n):
            cost = runner.records(config, n, scheme).cost
            absolute = cost - bound
            relative = 100.0 * absolute / np.abs(bound)
            gap, gap_ci = mean_ci(relative)
            rows.append(
                {
                    "num_devices": n,
                    "scheme": scheme,
                    "gap_pct": gap,
                    "gap_pct_ci95": gap_ci,
                    "gap_pct_max": float(relative.max()),
                    "gap_per_device": float(absolute.mean()),
                    "optimal_share": float(np.mean(relative <= 100.0 * RELATIVE_TOLERANCE)),
                    "below_bound": int(np.sum(relative < -100.0 * RELATIVE_TOLERANCE)),
                }
            )
    return rows


def offloading_split(runner: Runner, config: JointOffloadConfig, n: int) -> list[dict]:
    """(e): mean number of local and edge devices of every applicable scheme."""
    rows = []
    for scheme in applicable(SOLVERS, n):
        edge = runner.records(config, n, scheme).edge_devices
        rows.append(
            {
                "scheme": scheme,
                "local_devices": n - float(edge.mean()),
                "edge_devices": float(edge.mean()),
                "edge_devices_min": int(edge.min()),
                "edge_devices_max": int(edge.max()),
            }
        )
    return rows


def bound_violations(runner: Runner) -> int:
    """Drops, over every point with a bound, where a scheme costs less than the exact bound."""
    count = 0
    for config, n, scheme, records in list(runner.all_records()):
        if scheme != "bound" and solver_applies("bound", n):
            bound = runner.records(config, n, "bound").cost
            count += int(np.sum(records.cost < bound - RELATIVE_TOLERANCE * np.abs(bound)))
    return count


def admm_traces(runner: Runner, config: JointOffloadConfig, n: int) -> list[dict]:
    """(c): ADMM's cost per device at every iteration (the iterate's offloading set and frames
    with Theorem 2's shares, what the BS would deploy if it stopped there), over the drops.

    Runs that stopped earlier keep their last cost.
    """
    traces = [admm(problem).cost_trace / n for problem in runner.problems(config, n)]
    length = max(trace.size for trace in traces)
    padded = np.array([np.pad(trace, (0, length - trace.size), mode="edge") for trace in traces])
    rows = []
    for iteration in range(length):
        values = padded[:, iteration]
        values = values[np.isfinite(values)]
        mean, ci = mean_ci(values)
        rows.append(
            {
                "iteration": iteration + 1,
                "cost": mean,
                "cost_ci95": ci,
                "finite_drops": int(values.size),
                "running_drops": int(sum(trace.size > iteration for trace in traces)),
            }
        )
    return rows


def admm_iterations(runner: Runner, config: JointOffloadConfig, ns: Sequence[int]) -> list[dict]:
    """ADMM's iteration counts per N and how close its 5th iterate is to its final cost."""
    rows = []
    for n in ns:
        results = [admm(problem) for problem in runner.problems(config, n)]
        iterations = np.array([result.iterations for result in results])
        fifth = np.array(
            [
                (result.cost_trace[min(4, result.iterations - 1)] - result.cost) / abs(result.cost)
                for result in results
            ]
        )
        rows.append(
            {
                "num_devices": n,
                "iterations_mean": float(iterations.mean()),
                "iterations_min": int(iterations.min()),
                "iterations_max": int(iterations.max()),
                "converged_share": float(np.mean([result.converged for result in results])),
                "fifth_iterate_excess_pct_mean": 100.0 * float(fifth.mean()),
                "fifth_iterate_excess_pct_max": 100.0 * float(fifth.max()),
            }
        )
    return rows


TABLE_I = {
    "devices": (12.3, 12.7),
    "delay_s": (0.24, 0.52),
    "energy_J": (1.00, 0.025),
    "accuracy": (0.886, 0.866),
}
"""The paper's Table I (pan2023 setting, N = 25, GP+Heuristic): (local, edge) per quantity."""
TABLE_I_TOLERANCE = 0.15
"""Relative difference to Table I that counts as reproduced."""


def table_i_rows(runner: Runner, config: JointOffloadConfig, n: int) -> list[dict]:
    """GP+Heuristic's local and edge devices at N = ``n`` next to the paper's Table I."""
    records = runner.records(config, n, "gp_heuristic")
    edge = float(records.edge_devices.mean())
    ours = {
        "devices": (n - edge, edge),
        **{
            name: tuple(float(v) for v in np.nanmean(records.by_class[:, :, k], axis=0))
            for k, name in enumerate(("delay_s", "energy_J", "accuracy"))
        },
    }
    rows = []
    for name, paper in TABLE_I.items():
        for side, label in enumerate(("local", "edge")):
            difference = ours[name][side] / paper[side] - 1.0
            rows.append(
                {
                    "quantity": f"{name} ({label})",
                    "paper": paper[side],
                    "ours": ours[name][side],
                    "difference_pct": 100.0 * difference,
                    "within_tolerance": int(abs(difference) <= TABLE_I_TOLERANCE),
                }
            )
    return rows


def paper_comparison(
    table_i: Sequence[dict],
    gaps: Sequence[dict],
    iterations: Sequence[dict],
    by_devices: Sequence[dict],
    n: int,
) -> list[str]:
    """The section that sets our figures beside the paper's statements (as the spec and the
    issue tracker report them; the paper's full text was not available)."""
    admm_time = {r["num_devices"]: r["time_mean_ms"] for r in by_devices if r["scheme"] == "admm"}
    small, large = min(admm_time), max(admm_time)
    gp_gaps = [r for r in gaps if r["scheme"] == "gp_heuristic"]
    worst_gp = max(gp_gaps, key=lambda r: r["gap_pct"]) if gp_gaps else None
    lines = [
        "The paper's statements below are those the spec and our issue tracker report (its full "
        "text was not available to us).",
        "",
        f"- Running time: the paper's ADMM time grows with N. Ours: {admm_time[small]:.2f} ms at "
        f"N = {small}, {admm_time[large]:.2f} ms at N = {large} (section (b)): it "
        + ("grows" if admm_time[large] > admm_time[small] else "does **not** grow")
        + " with N. Our iteration count is set by how fast the decisions and the consensus "
        "residual settle (the iteration counts below), and the cost of an iteration is nearly "
        "flat in N (vectorised).",
        *(
            [
                "- GP+Heuristic is the paper's near-optimal scheme. Ours: at most "
                f"{worst_gp['gap_pct']:.3g} % above the exact bound on average (N = "
                f"{worst_gp['num_devices']}, section (g))."
            ]
            if worst_gp
            else []
        ),
        "",
        f"### Table I (GP+Heuristic, N = {n}, mean over the drops)",
        "",
        "The paper's Table I is for its own setting (our `pan2023` preset); under other "
        "configurations the table shows how far the scenario is from it.",
        "",
        f"| quantity | paper | ours | difference | within ±{TABLE_I_TOLERANCE:.0%} |",
        "|---|---|---|---|---|",
        *(
            f"| {r['quantity']} | {r['paper']:g} | {r['ours']:.4g} | {r['difference_pct']:+.1f}% "
            f"| {'yes' if r['within_tolerance'] else '**no**'} |"
            for r in table_i
        ),
        "",
        "### ADMM",
        "",
        "The paper reports ADMM 0.24 % above the optimum at N = 16 and an acceptable cost after "
        "3-5 iterations, with a running time that grows with N. Ours (mean gap to the exact "
        "bound; the cost after 5 iterations relative to ADMM's final cost):",
        "",
        "| N | mean gap (%) | max gap (%) | iterations mean (min–max) | converged "
        "| 5th iterate above final, mean / max (%) |",
        "|---|---|---|---|---|---|",
    ]
    admm_gaps = {r["num_devices"]: r for r in gaps if r["scheme"] == "admm"}
    for r in iterations:
        gap = admm_gaps.get(r["num_devices"])
        gap_text = f"{gap['gap_pct']:.3g} | {gap['gap_pct_max']:.3g}" if gap else "– | –"
        lines.append(
            f"| {r['num_devices']} | {gap_text} | {r['iterations_mean']:.1f} "
            f"({r['iterations_min']}–{r['iterations_max']}) | {r['converged_share']:.0%} "
            f"| {r['fifth_iterate_excess_pct_mean']:.3g} "
            f"/ {r['fifth_iterate_excess_pct_max']:.3g} |"
        )
    return lines


# ---------------------------------------------------------------------------------- output
def write_csv(path: Path, rows: Sequence[dict[str, Any]], digits: int = 6) -> None:
    """``rows`` as CSV, floats with ``digits`` significant digits."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(
            {k: f"{v:.{digits}g}" if isinstance(v, float) else v for k, v in row.items()}
            for row in rows
        )


def write_drops_csv(path: Path, runner: Runner) -> None:
    """Every drop of every point: the raw data of all the tables."""
    rows = []
    for config, n, scheme, records in runner.all_records():
        for i, seed in enumerate(records.seeds):
            rows.append(
                {
                    "num_devices": n,
                    "bandwidth_mhz": config.bandwidth / 1e6,
                    "edge_capacity_ghz": config.edge_capacity / 1e9,
                    "w1": config.delay_weight,
                    "w2": config.energy_weight,
                    "w3": config.accuracy_weight,
                    "scheme": scheme,
                    "seed": int(seed),
                    "cost": float(records.cost[i]),
                    "delay_ms": 1e3 * float(records.delay[i]),
                    "energy_mJ": 1e3 * float(records.energy[i]),
                    "accuracy": float(records.accuracy[i]),
                    "edge_devices": int(records.edge_devices[i]),
                    "time_ms": 1e3 * float(records.seconds[i]),
                    "feasible": bool(records.feasible[i]),
                }
            )
    write_csv(path, rows, digits=10)


def series(rows: Sequence[dict], x: str, y: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per scheme: the x values and the y values of ``rows``, in row order."""
    out: dict[str, tuple[list, list]] = {}
    for row in rows:
        xs, ys = out.setdefault(row["scheme"], ([], []))
        xs.append(row[x])
        ys.append(row[y])
    return {scheme: (np.array(xs), np.array(ys)) for scheme, (xs, ys) in out.items()}


STYLES: dict[str, dict[str, Any]] = {
    "gp_heuristic": {"color": "C0", "marker": "o"},
    "search_heuristic": {"color": "C1", "marker": "s", "linestyle": ":"},
    "admm": {"color": "C2", "marker": "^"},
    "cccp": {"color": "C3", "marker": "v", "linestyle": "-."},
    "local_only": {"color": "C4", "marker": "D"},
    "edge_only": {"color": "C5", "marker": "P"},
    "random": {"color": "C6", "marker": "X"},
    "bound": {
        "color": "black",
        "marker": "o",
        "markersize": 11,
        "markerfacecolor": "none",
        "linestyle": "--",
    },
}
"""Plot style per scheme; the bound's hollow markers show where a scheme sits on it."""

METRICS = (
    ("delay_ms", "mean delay (ms)"),
    ("energy_mJ", "mean energy (mJ)"),
    ("accuracy", "mean accuracy"),
    ("offload_rate", "offloading rate"),
)


def plot_metrics(rows: Sequence[dict], x: str, xlabel: str, title: str, path: Path) -> None:
    """2x2 panels: delay, energy, accuracy and offloading rate vs ``x`` for every scheme."""
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for ax, (metric, label) in zip(axes.flat, METRICS, strict=True):
        for scheme, (xs, ys) in series(rows, x, metric).items():
            ax.plot(xs, ys, label=SOLVER_LABELS[scheme], **STYLES[scheme])
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel(xlabel)
    if x in ("bandwidth_mhz", "edge_capacity_ghz"):
        values = sorted({row[x] for row in rows})
        for ax in axes.flat:
            ax.set_xscale("log")
            ax.set_xticks(values, [f"{v:g}" for v in values])
            ax.minorticks_off()
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_lines(
    rows: Sequence[dict],
    x: str,
    y: str,
    xlabel: str,
    ylabel: str,
    title: str,
    path: Path,
    error: str | None = None,
    log_y: bool = False,
) -> None:
    """One line per scheme of ``y`` vs ``x`` (with error bars from the column ``error``)."""
    fig, ax = plt.subplots(figsize=(8, 5))
    errors = series(rows, x, error) if error else {}
    for scheme, (xs, ys) in series(rows, x, y).items():
        yerr = errors[scheme][1] if error else None
        ax.errorbar(xs, ys, yerr=yerr, capsize=3, label=SOLVER_LABELS[scheme], **STYLES[scheme])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log_y:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_admm(trace: Sequence[dict], references: dict[str, float], n: int, path: Path) -> None:
    """ADMM's mean cost per device vs iteration, with the other schemes' costs as lines."""
    fig, ax = plt.subplots(figsize=(8, 5))
    iterations = np.array([row["iteration"] for row in trace])
    cost = np.array([row["cost"] for row in trace])
    ci = np.nan_to_num(np.array([row["cost_ci95"] for row in trace]))
    color = STYLES["admm"]["color"]
    ax.plot(iterations, cost, marker=".", color=color, label="ADMM iterate (Theorem 2 shares)")
    ax.fill_between(iterations, cost - ci, cost + ci, color=color, alpha=0.2, label="95% CI")
    for (scheme, value), linestyle in zip(references.items(), ("--", ":", "-."), strict=False):
        ax.axhline(
            value, linestyle=linestyle, color=STYLES[scheme]["color"], label=SOLVER_LABELS[scheme]
        )
    ax.set_xlabel("ADMM iteration")
    ax.set_ylabel("mean cost per device")
    ax.set_title(f"(c) ADMM convergence, N = {n} (mean over drops)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_tradeoff(rows: Sequence[dict], path: Path) -> None:
    """Delay, energy and accuracy vs the accuracy weight w3."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, (metric, label) in zip(axes, METRICS[:3], strict=True):
        for scheme, (xs, ys) in series(rows, "w3", metric).items():
            ax.plot(xs, ys, label=SOLVER_LABELS[scheme], **STYLES[scheme])
        ax.set_xlabel("accuracy weight w3 (w1 = w2 = (1 - w3)/2)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("(f) delay-energy-accuracy trade-off over the weights")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_gaps(rows: Sequence[dict], path: Path) -> None:
    """Mean optimality gap (%) per scheme, grouped by N."""
    fig, ax = plt.subplots(figsize=(11, 5))
    sizes = sorted({row["num_devices"] for row in rows})
    schemes = list(dict.fromkeys(row["scheme"] for row in rows))
    width = 0.8 / len(schemes)
    lookup = {(row["num_devices"], row["scheme"]): row for row in rows}
    for k, scheme in enumerate(schemes):
        xs = [i + k * width for i, n in enumerate(sizes) if (n, scheme) in lookup]
        ys = [lookup[n, scheme]["gap_pct"] for n in sizes if (n, scheme) in lookup]
        bars = ax.bar(xs, ys, width, label=SOLVER_LABELS[scheme], color=STYLES[scheme]["color"])
        ax.bar_label(bars, fmt="%.2g", fontsize=7, rotation=90, padding=2)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(sizes))], [f"N = {n}" for n in sizes])
    ax.set_ylabel("mean optimality gap (% of |bound cost|)")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_ylim(0, 10 * max(row["gap_pct"] for row in rows) + 1e-2)
    ax.set_title("(g) optimality gap vs the exact bound (symmetric log scale)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -------------------------------------------------------------------------------- markdown
def pivot(
    rows: Sequence[dict], x: str, value: str, fmt: str, x_label: str, x_fmt: str = "{}"
) -> list[str]:
    """Markdown table: one row per ``x``, one column per scheme, cells ``value``."""
    schemes = list(dict.fromkeys(row["scheme"] for row in rows))
    xs = list(dict.fromkeys(row[x] for row in rows))
    lookup = {(row[x], row["scheme"]): row[value] for row in rows}
    lines = [
        f"| {x_label} | " + " | ".join(SOLVER_LABELS[s] for s in schemes) + " |",
        "|---" * (len(schemes) + 1) + "|",
    ]
    for xv in xs:
        cells = [fmt.format(lookup[xv, s]) if (xv, s) in lookup else "–" for s in schemes]
        lines.append(f"| {x_fmt.format(xv)} | " + " | ".join(cells) + " |")
    return lines


def metrics_table(rows: Sequence[dict], x: str, x_label: str, x_fmt: str) -> list[str]:
    """Markdown table: one row per (``x``, scheme) with the cost and its components."""
    lines = [
        f"| {x_label} | scheme | cost / device | delay (ms) | energy (mJ) | accuracy | "
        "offloading rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {x_fmt.format(row[x])} | {SOLVER_LABELS[row['scheme']]} | {row['cost']:.4f} "
            f"| {row['delay_ms']:.1f} | {row['energy_mJ']:.1f} | {row['accuracy']:.4f} "
            f"| {row['offload_rate']:.0%} |"
        )
    return lines


def baseline_paragraph(runner: Runner, config: JointOffloadConfig, n: int) -> list[str]:
    """How far the trivial baselines are from the exact optimum at the defaults (spec)."""
    if not solver_applies("bound", n):
        return [f"(The exact bound does not apply at N = {n}.)"]
    bound = runner.records(config, n, "bound")
    parts = []
    for scheme in TRIVIAL_SCHEMES:
        cost = runner.records(config, n, scheme).cost
        gap = 100.0 * (cost - bound.cost) / np.abs(bound.cost)
        parts.append(
            f"**{SOLVER_LABELS[scheme]}** costs {np.mean(cost - bound.cost):.4f} per device more "
            f"than the optimum ({gap.mean():.1f}% of |optimum| on average, {gap.min():.1f}% to "
            f"{gap.max():.1f}% over the drops)"
        )
    edge = bound.edge_devices
    mean_gaps = {
        scheme: float(np.mean(runner.records(config, n, scheme).cost - bound.cost))
        for scheme in TRIVIAL_SCHEMES
    }
    best = min(mean_gaps, key=mean_gaps.get)
    return [
        f"At the defaults (N = {n}, B = {config.bandwidth / 1e6:g} MHz, "
        f"F^E = {config.edge_capacity / 1e9:g} GHz, {runner.drops} drops) the optimum costs "
        f"{bound.cost.mean():.4f} per device and offloads {edge.mean():.1f} of {n} devices on "
        f"average ({edge.min()} to {edge.max()}). "
        + "; ".join(parts)
        + f". The best trivial baseline is {SOLVER_LABELS[best]}, "
        f"{mean_gaps[best]:.4f} per device above the optimum.",
    ]


def command_line(argv: Sequence[str]) -> str:
    """The command that reproduces this run."""
    return " ".join(["python eval/paper_joint_offload.py", *argv])


def config_line(config: JointOffloadConfig) -> str:
    """The configuration, as the fields that differ from the spec's defaults."""
    changed = {k: v for k, v in config.to_dict().items() if v != JointOffloadConfig().to_dict()[k]}
    return (
        "default configuration (spec section 5)"
        if not changed
        else "default configuration with " + ", ".join(f"`{k}={v}`" for k, v in changed.items())
    )


def load_line() -> str:
    """The machine's load averages (timings on a loaded machine are inflated)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


# ------------------------------------------------------------------------------------ main
def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 drops and fewer points")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="named config overrides")
    parser.add_argument("--drops", type=int, help="drops per point (default 100, quick 10)")
    parser.add_argument("--devices", type=int, nargs="+", help="N of (a), (b), (d)")
    parser.add_argument("--default-devices", type=int, help="N of (c), (e), (f), B/F^E sweeps")
    parser.add_argument("--gap-devices", type=int, nargs="+", help="N of the gaps (g)")
    parser.add_argument("--bandwidths-mhz", type=float, nargs="+", help="B of (d), MHz")
    parser.add_argument("--edge-capacities-ghz", type=float, nargs="+", help="F^E of (d), GHz")
    parser.add_argument("--accuracy-weights", type=float, nargs="+", help="w3 of (f)")
    parser.add_argument("--out", type=Path, help="output folder (Markdown: <out>.md)")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    base = QUICK if args.quick else FULL
    overrides = {
        "drops": args.drops,
        "devices": tuple(args.devices) if args.devices else None,
        "default_devices": args.default_devices,
        "gap_devices": tuple(args.gap_devices) if args.gap_devices else None,
        "bandwidths": tuple(1e6 * b for b in args.bandwidths_mhz or ()) or None,
        "edge_capacities": tuple(1e9 * f for f in args.edge_capacities_ghz or ()) or None,
        "accuracy_weights": tuple(args.accuracy_weights) if args.accuracy_weights else None,
    }
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    settings = settings_from(args)
    config = JointOffloadConfig(**PRESETS.get(args.preset, {}))
    out: Path = args.out or Path(
        "docs/joint_offload_paper" + (f"_{args.preset}" if args.preset else "")
    )
    out.mkdir(parents=True, exist_ok=True)
    runner = Runner(settings.drops)
    n0 = settings.default_devices
    started, load_before = time.perf_counter(), load_line()

    print("(a, b, d) sweep over N", flush=True)
    by_devices = sweep_devices(runner, config, settings)
    print("(d) sweeps over B and F^E", flush=True)
    by_bandwidth = sweep_config(
        runner,
        [(b / 1e6, config.replace(bandwidth=b)) for b in settings.bandwidths],
        n0,
        MAIN_SCHEMES,
        "bandwidth_mhz",
    )
    by_capacity = sweep_config(
        runner,
        [(f / 1e9, config.replace(edge_capacity=f)) for f in settings.edge_capacities],
        n0,
        MAIN_SCHEMES,
        "edge_capacity_ghz",
    )
    print("(e) local vs edge devices at the defaults", flush=True)
    split = offloading_split(runner, config, n0)
    print("(f) trade-off over the weights", flush=True)
    by_weights = sweep_config(
        runner,
        [(w3, with_weights(config, w3)) for w3 in settings.accuracy_weights],
        n0,
        TRADEOFF_SCHEMES,
        "w3",
    )
    print("(g) optimality gaps", flush=True)
    gaps = optimality_gaps(runner, config, settings)
    print("(c) ADMM convergence", flush=True)
    trace = admm_traces(runner, config, n0)
    iterations = admm_iterations(runner, config, settings.gap_devices)
    table_i = table_i_rows(runner, config, n0)
    elapsed, load_after = time.perf_counter() - started, load_line()

    # ---- files
    write_csv(out / "vs_devices.csv", by_devices)
    write_csv(out / "vs_bandwidth.csv", by_bandwidth)
    write_csv(out / "vs_edge_capacity.csv", by_capacity)
    write_csv(out / "offloading_split.csv", split)
    write_csv(out / "vs_weights.csv", by_weights)
    write_csv(out / "optimality_gap.csv", gaps)
    write_csv(out / "admm_trace.csv", trace)
    write_csv(out / "admm_iterations.csv", iterations)
    write_csv(out / "table_i.csv", table_i)
    drops = out / "drops.csv"
    write_drops_csv(drops, runner)
    main_by_devices = [row for row in by_devices if row["scheme"] in MAIN_SCHEMES]
    plot_lines(
        by_devices,
        "num_devices",
        "cost",
        "number of devices N",
        "mean cost per device (w1 T + w2 E - w3 A)",
        "(a) cost vs number of devices",
        out / "cost_vs_devices.png",
        error="cost_ci95",
    )
    plot_lines(
        by_devices,
        "num_devices",
        "time_mean_ms",
        "number of devices N",
        "mean solver time per instance (ms)",
        "(b) running time vs number of devices (after warm-up)",
        out / "runtime_vs_devices.png",
        log_y=True,
    )
    plot_metrics(
        main_by_devices,
        "num_devices",
        "number of devices N",
        "(d) vs N",
        out / "metrics_vs_devices.png",
    )
    plot_metrics(
        by_bandwidth,
        "bandwidth_mhz",
        "bandwidth B (MHz)",
        f"(d) vs bandwidth, N = {n0}",
        out / "metrics_vs_bandwidth.png",
    )
    plot_metrics(
        by_capacity,
        "edge_capacity_ghz",
        "edge capacity F^E (GHz)",
        f"(d) vs edge capacity, N = {n0}",
        out / "metrics_vs_edge_capacity.png",
    )
    references = {
        scheme: float(runner.records(config, n0, scheme).cost.mean())
        for scheme in ("bound", "gp_heuristic", "local_only")
        if solver_applies(scheme, n0)
    }
    plot_admm(trace, references, n0, out / "admm_convergence.png")
    plot_tradeoff(by_weights, out / "tradeoff_weights.png")
    plot_gaps(gaps, out / "optimality_gap.png")

    # ---- markdown
    link = out.name
    seeds = drop_seeds(settings.drops)
    all_records = [records for *_, records in runner.all_records()]
    infeasible = sum(int((~r.feasible).sum()) for r in all_records)
    below = bound_violations(runner)
    shown = {1, 2, 5, 10, 20, 50, len(trace)}
    trace_rows = [row for row in trace if row["iteration"] in shown]
    text = [
        "# Joint offloading (Pan et al. 2023): the paper's experiments on our model",
        "",
        f"Generated by `{command_line(argv)}`: {config_line(config)}; {settings.drops} random "
        f"drops per point (seeds {seeds.start}..{seeds.stop - 1}, the same drops for every "
        f"scheme); ran in {elapsed:.0f} s ({load_before} at the start, {load_after} at the end). "
        "Costs are the mean U_n = w1 T_n + w2 E_n - w3 A(F_n) per device (lower is better); "
        "± is the 95% confidence half-width over the drops. The model is ours "
        "(`shared/spec/joint_offload.md`), not the paper's exact one, so the numbers are not "
        "the paper's.",
        "",
        "## How far the trivial baselines are from the optimum",
        "",
        *baseline_paragraph(runner, config, n0),
        "",
        "## Comparison with the paper",
        "",
        *paper_comparison(table_i, gaps, iterations, by_devices, n0),
        "",
        "## (a) Cost vs number of devices",
        "",
        f"![cost vs N]({link}/cost_vs_devices.png)",
        "",
        *pivot(by_devices, "num_devices", "cost", "{:.4f}", "N"),
        "",
        "## (b) Running time vs number of devices",
        "",
        "Mean wall time per instance in ms. Each solver is warmed up once per configuration and N "
        "(one untimed solve of the first drop, and cvxpy's GP compiled for every offloading-set "
        "size 1..N), so compilation is excluded. Measured on a shared, loaded machine "
        f"({load_before}): absolute times are inflated; see `docs/bench_solvers.md` for medians.",
        "",
        f"![time vs N]({link}/runtime_vs_devices.png)",
        "",
        *pivot(by_devices, "num_devices", "time_mean_ms", "{:.1f}", "N"),
        "",
        f"## (c) ADMM cost vs iteration (N = {n0})",
        "",
        "Mean over the drops of the cost per device of each iterate's offloading set and frames "
        "with Theorem 2's shares (a run that stopped keeps its last cost); ADMM returns the best "
        "iterate. "
        + ", ".join(f"{SOLVER_LABELS[s]}: {v:.4f}" for s, v in references.items())
        + f"; ADMM returned: {runner.records(config, n0, 'admm').cost.mean():.4f}.",
        "",
        f"![ADMM convergence]({link}/admm_convergence.png)",
        "",
        "| iteration | mean cost / device | drops still running | drops with a finite cost |",
        "|---|---|---|---|",
        *(
            f"| {r['iteration']} | {r['cost']:.4f} ± {r['cost_ci95']:.4f} | {r['running_drops']} "
            f"| {r['finite_drops']} |"
            for r in trace_rows
        ),
        "",
        "## (d) Delay, energy, accuracy and offloading rate",
        "",
        f"![vs N]({link}/metrics_vs_devices.png)",
        f"![vs B]({link}/metrics_vs_bandwidth.png)",
        f"![vs F^E]({link}/metrics_vs_edge_capacity.png)",
        "",
        "### vs N",
        "",
        *metrics_table(main_by_devices, "num_devices", "N", "{}"),
        "",
        f"### vs bandwidth B (N = {n0})",
        "",
        *metrics_table(by_bandwidth, "bandwidth_mhz", "B (MHz)", "{:g}"),
        "",
        f"### vs edge capacity F^E (N = {n0})",
        "",
        *metrics_table(by_capacity, "edge_capacity_ghz", "F^E (GHz)", "{:g}"),
        "",
        f"## (e) Local vs edge devices at the defaults (N = {n0})",
        "",
        "| scheme | local devices (mean) | edge devices (mean) | edge devices (min–max) |",
        "|---|---|---|---|",
        *(
            f"| {SOLVER_LABELS[r['scheme']]} | {r['local_devices']:.2f} | {r['edge_devices']:.2f} "
            f"| {r['edge_devices_min']}–{r['edge_devices_max']} |"
            for r in split
        ),
        "",
        f"## (f) Delay-energy-accuracy trade-off over the weights (N = {n0})",
        "",
        "w3 is swept with w1 = w2 = (1 - w3) / 2 (w3 = 0.6 is the default (0.2, 0.2, 0.6)).",
        "",
        f"![trade-off]({link}/tradeoff_weights.png)",
        "",
        *metrics_table(by_weights, "w3", "w3", "{:g}"),
        "",
        "## (g) Optimality gap vs the exact bound",
        "",
        "Gap = (cost − bound) per drop, in % of |bound cost| and absolute per device, mean over "
        "the drops; 'optimal' is the share of drops where the scheme matches the bound.",
        "",
        f"![gaps]({link}/optimality_gap.png)",
        "",
        "| N | scheme | mean gap (%) | max gap (%) | mean gap per device | optimal |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['num_devices']} | {SOLVER_LABELS[r['scheme']]} "
            f"| {r['gap_pct']:.3g} ± {r['gap_pct_ci95']:.2g} | {r['gap_pct_max']:.3g} "
            f"| {r['gap_per_device']:.3g} | {r['optimal_share']:.0%} |"
            for r in gaps
        ),
        "",
        "## Checks",
        "",
        f"- Allocations violating a constraint (`feasibility_violations`): {infeasible} of "
        f"{sum(r.seeds.size for r in all_records)}.",
        f"- Drops where a scheme beat the exact bound (relative tolerance "
        f"{RELATIVE_TOLERANCE:g}): {below}.",
        "",
        "Data: "
        + ", ".join(f"[{p.name}]({link}/{p.name})" for p in sorted(out.glob("*.csv")) if p != drops)
        + f". `{link}/{drops.name}` (every drop of every point, about 1 MB) is written by the "
        "command above and kept out of git.",
        "",
    ]
    markdown = "\n".join(text)
    out.with_suffix(".md").write_text(markdown)
    print(markdown)
    print(f"wrote {out.with_suffix('.md')} and {out}/", flush=True)


if __name__ == "__main__":
    main()
