"""Train one algorithm on one environment with several seeds, resumably, here or on Ray.

    python train/sweep.py --algo ppo --env MultiStepOffload-v1 [--seeds 0 1 2]
        [--timesteps N] [--logdir runs] [--address local|auto|ray://HOST:PORT] [-- TRAIN ARGS]

Each seed is a run of ``train/<algo>.py`` (arguments after ``--`` go to every run). A seed with
a run folder under ``<logdir>/<env>/`` made with the same settings (budget, hyperparameters,
env kwargs, evaluation; its ``config.yaml``) is skipped if that run is finished (it has
``comparison.md``) and resumed (``--resume``) if it has a checkpoint; otherwise a new run
starts: a killed sweep, started again, loses at most the steps since each run's last checkpoint,
and a sweep with other settings never counts runs made with these. Without ``--address`` the runs
go one after the other in this process; with it each is a Ray task of one CPU (``local``: Ray on
this machine's cores; ``auto`` or ``ray://HOST:PORT``: a cluster started with ``ray start
--head``, whose machines must share ``--logdir``, e.g. on NFS; stopping the sweep stops the
Ray tasks too, which then lose the steps since their last periodic checkpoint). A run that
fails does not stop the others; the sweep reports every failure once all have ended. Prints the
run folders.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from mec_gym.registration import ENVS, canonical_id
from mec_gym.train.cli import ALGOS, RESUMED_SETTINGS, parse_args

__all__ = [
    "COMPARED_SETTINGS",
    "Sweep",
    "latest_run",
    "matching_run",
    "train_seed",
    "run_trainings",
    "main",
]


def latest_run(logdir: Path, env_id: str, algo: str, seed: int) -> Path | None:
    """The newest run folder of ``algo`` with ``seed`` on ``env_id`` under ``logdir``."""
    runs = sorted((logdir / env_id).glob(f"{algo}_s{seed}_*"))
    return runs[-1] if runs else None


COMPARED_SETTINGS = (*RESUMED_SETTINGS, "timesteps")
"""The settings a finished or stopped run must share with a sweep's to count for it."""


def matching_run(logdir: Path, env_id: str, algo: str, argv: list[str]) -> Path | None:
    """The newest run folder under ``logdir`` made with the settings ``argv`` (a new run's
    command line) asks for (see ``COMPARED_SETTINGS``), if any."""
    requested = parse_args(algo, argv)
    for run in sorted((logdir / env_id).glob(f"{algo}_s{requested.seed}_*"), reverse=True):
        try:
            config = yaml.safe_load((run / "config.yaml").read_text())
            if all(config[name] == getattr(requested, name) for name in COMPARED_SETTINGS):
                return run
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            continue  # not a complete run folder
    return None


def train_seed(algo: str, argv: list[str]) -> str:
    """One training run (what a Ray task runs); its run folder."""
    from mec_gym.train.cli import main

    return str(main(algo, argv))


INTERRUPTED = 130
"""Exit status of a training run stopped by Ctrl-C (it wrote a checkpoint): the sweep stops."""


def run_trainings(jobs: Sequence[tuple[str, list[str]]], address: str | None = None) -> None:
    """Run every ``(algo, argv)`` of ``jobs``: one after the other here without ``address``,
    else as Ray tasks of one CPU each (see the module docstring). Every command line is checked
    first (a bad one exits with its one-line error before any run starts)."""
    from mec_gym.train.cli import parse_args

    for algo, argv in jobs:
        parse_args(algo, argv)
    failed = []
    if address is None:
        for algo, argv in jobs:  # every run goes on to its end whatever the others do
            try:
                train_seed(algo, argv)
            except SystemExit as error:
                if error.code in (0, INTERRUPTED):  # Ctrl-C: the run checkpointed, stop here
                    raise
                failed.append(f"train/{algo}.py {' '.join(argv)}: exit status {error.code}")
            except Exception as error:  # noqa: BLE001 (reported with the others at the end)
                failed.append(f"train/{algo}.py {' '.join(argv)}: {error!r}")
        report_failures(failed, len(jobs))
        return
    if not jobs:
        return
    import ray

    ray.init(address=None if address == "local" else address, log_to_driver=True)
    try:
        remote = ray.remote(num_cpus=1)(train_seed)
        pending = {remote.remote(algo, argv): (algo, argv) for algo, argv in jobs}
        while pending:  # every run goes on to its end whatever the others do
            done, _ = ray.wait(list(pending), num_returns=1)
            algo, argv = pending.pop(done[0])
            try:
                print(f"finished: {ray.get(done[0])}", flush=True)
            except ray.exceptions.RayError as error:
                failed.append(f"train/{algo}.py {' '.join(argv)}: {str(error).splitlines()[-1]}")
    finally:
        ray.shutdown()
    report_failures(failed, len(jobs))


def report_failures(failed: Sequence[str], runs: int) -> None:
    """RuntimeError listing the ``failed`` runs (one line each) of ``runs``, if any."""
    if failed:
        raise RuntimeError(f"{len(failed)} of {runs} runs failed:\n" + "\n".join(failed))


@dataclass(frozen=True)
class Sweep:
    """Runs of ``algo`` on ``env_id``, one per seed, with the same budget and extra
    ``train/<algo>.py`` arguments, under ``logdir`` (see the module docstring)."""

    algo: str
    env_id: str
    seeds: tuple[int, ...]
    logdir: Path
    timesteps: int | None = None
    """Training steps of each run (None: the YAML's)."""
    extra: tuple[str, ...] = ()
    """Further arguments of every run."""

    def new_run_argv(self, seed: int) -> list[str]:
        """The command line of a new run of ``seed``."""
        budget = ["--timesteps", str(self.timesteps)] if self.timesteps else []
        return [
            "--env",
            self.env_id,
            "--seed",
            str(seed),
            "--logdir",
            str(self.logdir),
            *budget,
            *self.extra,
        ]

    def seed_argv(self, seed: int) -> list[str] | None:
        """The command line for ``seed``: None if a run with the sweep's settings is finished,
        ``--resume`` if one has a checkpoint, a new run otherwise."""
        fresh = self.new_run_argv(seed)
        run = matching_run(self.logdir, self.env_id, self.algo, fresh)
        if run is not None and (run / "comparison.md").is_file():
            return None
        if run is not None and (run / "checkpoint" / "state.yaml").is_file():
            return ["--resume", str(run)]
        return fresh

    def jobs(self) -> list[tuple[str, list[str]]]:
        """The ``(algo, argv)`` of every seed not finished yet."""
        return [(self.algo, argv) for seed in self.seeds if (argv := self.seed_argv(seed))]

    def runs(self) -> list[Path]:
        """The run folder made with the sweep's settings of every seed that has one."""
        found = (
            matching_run(self.logdir, self.env_id, self.algo, self.new_run_argv(seed))
            for seed in self.seeds
        )
        return [run for run in found if run is not None]

    def run(self, address: str | None = None) -> list[Path]:
        """Train every seed not finished yet (:func:`run_trainings`); the run folders."""
        run_trainings(self.jobs(), address)
        return self.runs()


def main(argv: Sequence[str] | None = None) -> list[Path]:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    parser = argparse.ArgumentParser(prog="train/sweep.py", description=__doc__.splitlines()[0])
    parser.add_argument("--algo", required=True, choices=sorted(ALGOS))
    parser.add_argument("--env", required=True, help=f"one of {sorted(ENVS)}")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--timesteps", type=int, help="per run (default: the YAML's)")
    parser.add_argument("--logdir", type=Path, default=Path("runs"))
    parser.add_argument("--address", help="run the seeds on Ray: local, auto or ray://HOST:PORT")
    args = parser.parse_args(argv)
    if any(seed < 0 for seed in args.seeds):
        parser.error(f"--seeds must be >= 0, got {args.seeds}")
    repeated = sorted({seed for seed in args.seeds if args.seeds.count(seed) > 1})
    if repeated:
        parser.error(f"--seeds: each training seed once, got {repeated} more than once")
    env_id = canonical_id(args.env)
    if env_id not in ENVS:
        parser.error(f"unknown environment {args.env!r}; registered mec_gym IDs: {sorted(ENVS)}")
    if args.timesteps is not None and args.timesteps < 1:
        parser.error(f"--timesteps must be >= 1, got {args.timesteps}")
    sweep = Sweep(args.algo, env_id, tuple(args.seeds), args.logdir, args.timesteps, tuple(extra))
    runs = sweep.run(args.address)
    for run in runs:
        print(run)
    return runs


if __name__ == "__main__":
    main()
