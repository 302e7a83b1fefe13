"""The experiments of Pan et al. (2023) on our model of the joint offloading system: what runs.

Every point averages the same random drops (seeds 10_000 + i, ``JointOffloadProblem.sample``)
over every scheme of ``mec_gym.solvers.joint_offload.registry``; the exponential ones (the exact
bound, Search+Heuristic) only where ``solver_applies``. Experiments:

(a) mean cost per device vs N; (b) solver running time vs N (mean per instance; each solver is
warmed up once per configuration and N, and the GP is compiled for every set size 1..N before
timing, so cvxpy's compilation is excluded); (c) ADMM's cost vs iteration at the default N;
(d) delay, energy, accuracy and offloading rate vs N, bandwidth B and edge capacity F^E for the
main schemes; (e) local vs edge devices per scheme at the defaults; (f) the delay-energy-accuracy
trade-off over the weights (w3 swept, w1 = w2 = (1 - w3) / 2); (g) the optimality gaps vs the
exact bound at small N. ``run_experiments`` runs them all into an ``Experiments`` of tables
(lists of row dicts, display units: ms, mJ, MHz, GHz); ``joint_offload_report`` writes them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from mec_gym.eval.evaluation import mean_ci
from mec_gym.eval.output import load_average
from mec_gym.problems.joint_offload import (
    JointOffloadConfig,
    JointOffloadProblem,
    evaluate_allocation,
    feasibility_violations,
)
from mec_gym.solvers.joint_offload.admm import admm
from mec_gym.solvers.joint_offload.registry import SOLVERS, solve, solver_applies

DROP_SEED_START = 10_000
"""Drop i of every point uses ``np.random.default_rng(DROP_SEED_START + i)``."""
MAIN_SCHEMES = ("gp_heuristic", "admm", "cccp", "bound", "local_only", "edge_only")
"""The schemes of the sweeps (d) over B and F^E and of the tables vs N."""
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
        """The drops of a point (drawn on first use)."""
        key = (config, n)
        if key not in self._problems:
            drops = [
                JointOffloadProblem.sample(config, np.random.default_rng(seed), n)
                for seed in drop_seeds(self.drops)
            ]
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
        """(config, N, scheme, records) of every point solved so far, in solving order."""
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
    """Drops, over every point, where a scheme costs less than the exact bound."""
    count = 0
    for config, n, scheme, records in list(runner.all_records()):
        if scheme != "bound":
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


def drop_rows(runner: Runner) -> list[dict]:
    """Every drop of every point solved so far: the raw data of all the tables."""
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
    return rows


@dataclass(frozen=True)
class Experiments:
    """The tables of (a)-(g) on one configuration, and the runner that holds every drop."""

    config: JointOffloadConfig
    settings: Settings
    runner: Runner
    by_devices: list[dict]
    """(a), (b) and (d) vs N: every applicable scheme at every N."""
    by_bandwidth: list[dict]
    """(d) vs B (``bandwidth_mhz``), main schemes, N = ``settings.default_devices``."""
    by_capacity: list[dict]
    """(d) vs F^E (``edge_capacity_ghz``), main schemes, N = ``settings.default_devices``."""
    split: list[dict]
    """(e) local vs edge devices per scheme."""
    by_weights: list[dict]
    """(f) vs w3, the trade-off schemes."""
    gaps: list[dict]
    """(g) optimality gaps vs the exact bound."""
    trace: list[dict]
    """(c) ADMM's mean cost per device per iteration."""
    iterations: list[dict]
    """ADMM's iteration counts at the N of (g)."""
    table_i: list[dict]
    """GP+Heuristic beside the paper's Table I."""
    seconds: float
    """Wall time of the run, s."""
    loads: tuple[str, str]
    """Load averages at the start and at the end of the run (``output.load_average``)."""

    @property
    def main_by_devices(self) -> list[dict]:
        """The rows of ``by_devices`` of the main schemes."""
        return [row for row in self.by_devices if row["scheme"] in MAIN_SCHEMES]

    def costs(self, schemes: Iterable[str]) -> dict[str, float]:
        """Mean cost per device of each of ``schemes`` that applies at the defaults."""
        n = self.settings.default_devices
        return {
            scheme: float(self.runner.records(self.config, n, scheme).cost.mean())
            for scheme in schemes
            if solver_applies(scheme, n)
        }


def run_experiments(config: JointOffloadConfig, settings: Settings) -> Experiments:
    """Run (a)-(g) on ``config`` with ``settings`` (progress on stdout)."""
    runner = Runner(settings.drops)
    n0 = settings.default_devices
    started, load_before = time.perf_counter(), load_average()
    print("(a, b, d) sweep over N", flush=True)
    by_devices = sweep_devices(runner, config, settings)
    print("(d) sweeps over B and F^E", flush=True)
    by_bandwidth, by_capacity = (  # in this order: B first
        sweep_config(
            runner,
            [(v / unit, config.replace(**{field: v})) for v in values],
            n0,
            MAIN_SCHEMES,
            column,
        )
        for field, values, unit, column in (
            ("bandwidth", settings.bandwidths, 1e6, "bandwidth_mhz"),
            ("edge_capacity", settings.edge_capacities, 1e9, "edge_capacity_ghz"),
        )
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
    return Experiments(
        config=config,
        settings=settings,
        runner=runner,
        by_devices=by_devices,
        by_bandwidth=by_bandwidth,
        by_capacity=by_capacity,
        split=split,
        by_weights=by_weights,
        gaps=gaps,
        trace=trace,
        iterations=iterations,
        table_i=table_i,
        seconds=time.perf_counter() - started,
        loads=(load_before, load_average()),
    )
