"""Train one algorithm on one environment with several seeds, resumably, here or on Ray.

    python train/sweep.py --algo ppo --env MultiStepOffload-v1 [--seeds 0 1 2]
        [--timesteps N] [--logdir runs] [--address local|auto|ray://HOST:PORT] [-- TRAIN ARGS]

Each seed is a run of ``train/<algo>.py`` (arguments after ``--`` go to every run). A seed whose
latest run folder under ``<logdir>/<env>/`` is finished (it has ``comparison.md``) is skipped, one
with a checkpoint is resumed (``--resume``), any other starts afresh: a killed sweep, started
again, loses at most the steps since each run's last checkpoint. Without ``--address`` the runs
go one after the other in this process; with it each is a Ray task of one CPU (``local``: Ray on
this machine's cores; ``auto`` or ``ray://HOST:PORT``: a cluster started with ``ray start
--head``, whose machines must share ``--logdir``, e.g. on NFS). Prints the run folders.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mec_gym.registration import ENVS, canonical_id
from mec_gym.train.cli import ALGOS

__all__ = ["latest_run", "seed_argv", "train_seed", "run_trainings", "sweep_jobs", "sweep", "main"]


def latest_run(logdir: Path, env_id: str, algo: str, seed: int) -> Path | None:
    """The newest run folder of ``algo`` with ``seed`` on ``env_id`` under ``logdir``."""
    runs = sorted((logdir / env_id).glob(f"{algo}_s{seed}_*"))
    return runs[-1] if runs else None


def seed_argv(
    algo: str, env_id: str, seed: int, logdir: Path, timesteps: int | None, extra: Sequence[str]
) -> list[str] | None:
    """The command line of ``train/<algo>.py`` for ``seed``: None if its latest run is finished,
    ``--resume`` if it has a checkpoint, a new run otherwise."""
    run = latest_run(logdir, env_id, algo, seed)
    budget = ["--timesteps", str(timesteps)] if timesteps else []
    if run is not None and (run / "comparison.md").is_file():
        return None
    if run is not None and (run / "checkpoint" / "state.yaml").is_file():
        return ["--resume", str(run), *budget]
    return ["--env", env_id, "--seed", str(seed), "--logdir", str(logdir), *budget, *extra]


def train_seed(algo: str, argv: list[str]) -> str:
    """One training run (what a Ray task runs); its run folder."""
    from mec_gym.train.cli import main

    return str(main(algo, argv))


def run_trainings(jobs: Sequence[tuple[str, list[str]]], address: str | None = None) -> None:
    """Run every ``(algo, argv)`` of ``jobs``: one after the other here without ``address``,
    else as Ray tasks of one CPU each (see the module docstring). Every command line is checked
    first (a bad one exits with its one-line error before any run starts)."""
    from mec_gym.train.cli import parse_args

    for algo, argv in jobs:
        parse_args(algo, argv)
    if address is None:
        for algo, argv in jobs:
            train_seed(algo, argv)
        return
    if not jobs:
        return
    import ray

    ray.init(address=None if address == "local" else address, log_to_driver=True)
    try:
        remote = ray.remote(num_cpus=1)(train_seed)
        ray.get([remote.remote(algo, argv) for algo, argv in jobs])
    finally:
        ray.shutdown()


def sweep_jobs(
    algo: str,
    env_id: str,
    seeds: Sequence[int],
    logdir: Path,
    timesteps: int | None = None,
    extra: Sequence[str] = (),
) -> list[tuple[str, list[str]]]:
    """The ``(algo, argv)`` of every seed not finished yet (see the module docstring)."""
    jobs = []
    for seed in seeds:
        argv = seed_argv(algo, env_id, seed, logdir, timesteps, extra)
        if argv is not None:
            jobs.append((algo, argv))
    return jobs


def sweep(
    algo: str,
    env_id: str,
    seeds: Sequence[int],
    logdir: Path,
    timesteps: int | None = None,
    extra: Sequence[str] = (),
    address: str | None = None,
) -> list[Path]:
    """Train ``algo`` on ``env_id`` with every seed not finished yet; the run folders of all
    ``seeds``."""
    run_trainings(sweep_jobs(algo, env_id, seeds, logdir, timesteps, extra), address)
    runs = [latest_run(logdir, env_id, algo, seed) for seed in seeds]
    return [run for run in runs if run is not None]


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
    env_id = canonical_id(args.env)
    if env_id not in ENVS:
        parser.error(f"unknown environment {args.env!r}; registered mec_gym IDs: {sorted(ENVS)}")
    if args.timesteps is not None and args.timesteps < 1:
        parser.error(f"--timesteps must be >= 1, got {args.timesteps}")
    runs = sweep(args.algo, env_id, args.seeds, args.logdir, args.timesteps, extra, args.address)
    for run in runs:
        print(run)
    return runs


if __name__ == "__main__":
    main()
