"""Tune an algorithm's hyperparameters on a mec_gym environment with Optuna.

Each trial trains ``--algo`` on ``--env`` for ``--timesteps`` steps with the env's entry of
``train/hyperparams/<algo>.yml`` (its formulation: ``env_kwargs``, ``gamma``, ``policy``) and a
sampled set of optimiser settings, evaluates the policy on the validation seeds (never the test
seeds) ``--evaluations`` times, and reports each score to a median pruner. The study maximises
the best validation score of a trial (the score's sign is the env's: cost is negated).

    python train/tune.py --algo ppo --env PerTaskOffload-v1 --trials 12 --timesteps 60000

writes ``study.csv`` (every trial: parameters, score, state) and ``best.yml`` (the best trial's
parameters, ready to paste under the env's key) into a fresh folder (``--out``, by default
``runs/tune/<env>/<algo>_<time>/``). Needs the ``tune`` extra (optuna). The gamma of an env is a
modelling choice (documented in the YAML and the env), so it is not searched.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import sys
import warnings
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch
import yaml
from stable_baselines3.common.callbacks import BaseCallback

from mec_gym.eval.evaluation import VALIDATION_SEEDS, check_training_env_seeds, evaluate_policy
from mec_gym.registration import ENVS, canonical_id
from mec_gym.train.cli import (
    MAX_SEED,
    add_key_value_argument,
    check_env,
    load_hyperparams,
    schedule_start,
)
from mec_gym.train.common import ALGOS, build_model

__all__ = ["sample_ppo_params", "ValidationPruningCallback", "run_study", "write_trials", "main"]


SEARCH_SPACE: dict[str, tuple[float, float] | tuple[Any, ...]] = {
    "n_steps": (256, 512, 1024),
    "learning_rate": (1e-4, 3e-3),
    "batch_size": (64, 128, 256),
    "n_epochs": (5, 10, 20),
    "ent_coef": (1e-4, 3e-2),
    "gae_lambda": (0.9, 0.95, 0.98),
    "clip_range": (0.1, 0.2, 0.3),
}
"""The searched PPO / MaskablePPO settings, in the order a trial draws them: those of
:data:`LOG_SCALE` between two bounds on a log scale, the others among their choices."""
LOG_SCALE = ("learning_rate", "ent_coef")
"""The settings of :data:`SEARCH_SPACE` searched on a log scale between two bounds."""
TUNABLE_ALGOS = ("maskable_ppo", "ppo")
"""The algorithms whose settings :data:`SEARCH_SPACE` holds."""


def sample_ppo_params(trial: optuna.Trial) -> dict[str, Any]:
    """PPO / MaskablePPO optimiser settings of one trial (:data:`SEARCH_SPACE`)."""
    return {
        name: trial.suggest_float(name, *space, log=True)
        if name in LOG_SCALE
        else trial.suggest_categorical(name, list(space))
        for name, space in SEARCH_SPACE.items()
    }


def in_search_space(name: str, value: Any) -> Any:
    """``value`` of setting ``name`` (a ``lin_`` schedule: its initial value) moved into
    :data:`SEARCH_SPACE`: clipped to a log-scale range, or the nearest categorical choice."""
    space = SEARCH_SPACE[name]
    value = schedule_start(name, value)
    if name in LOG_SCALE:
        low, high = space
        return min(max(float(value), low), high)
    return min(space, key=lambda choice: abs(choice - value))


class ValidationPruningCallback(BaseCallback):
    """Evaluate on the validation seeds every ``eval_freq`` steps; report to the trial and stop
    the training if the pruner says so. ``best`` is the best (signed) score seen."""

    def __init__(
        self,
        trial: optuna.Trial,
        env_id: str,
        env_kwargs: dict[str, Any],
        seeds: Sequence[int],
        eval_freq: int,
    ) -> None:
        super().__init__()
        self.trial = trial
        self.env_id = env_id
        self.env_kwargs = env_kwargs
        self.seeds = tuple(seeds)
        self.eval_freq = eval_freq
        self.best = -np.inf
        self.pruned = False
        self._next_eval = eval_freq
        self._report = 0

    def _on_step(self) -> bool:
        if self.num_timesteps < self._next_eval:
            return True
        self._next_eval += self.eval_freq
        result = evaluate_policy(
            self.model, self.env_id, self.env_kwargs, self.seeds, name="trial", hindsight=False
        )
        sign = result.protocol.sign
        score = sign * result.mean_ci()[0]
        self.best = max(self.best, score)
        self.trial.report(score, self._report)
        self._report += 1
        if self.trial.should_prune():
            self.pruned = True
            return False
        return True


def current_params(algo: str, hyperparams: dict[str, Any]) -> dict[str, Any]:
    """The searched settings as the YAML (or the algorithm's defaults) has them, each moved
    into the search space (:func:`in_search_space`; e.g. an ``ent_coef`` of 0 to its lowest
    searched value): trial 0, the closest the study gets to what ships."""
    defaults = inspect.signature(ALGOS[algo].__init__).parameters
    return {
        name: in_search_space(name, hyperparams.get(name, defaults[name].default))
        for name in SEARCH_SPACE
    }


def run_study(
    algo: str,
    env_id: str,
    trials: int,
    timesteps: int,
    evaluations: int,
    eval_episodes: int,
    seed: int,
    env_kwargs: dict[str, Any] | None = None,
) -> optuna.Study:
    """Run ``trials`` trials (TPE sampler seeded with ``seed``, median pruner); ``env_kwargs``
    update the YAML's."""
    base = load_hyperparams(algo, env_id, {})
    env_kwargs = {**base.get("env_kwargs", {}), **(env_kwargs or {})}
    seeds = VALIDATION_SEEDS[:eval_episodes]
    eval_freq = max(timesteps // evaluations, 1)

    def objective(trial: optuna.Trial) -> float:
        hyperparams = load_hyperparams(algo, env_id, sample_ppo_params(trial))
        model, env = build_model(
            algo, env_id, env_kwargs, hyperparams, int(hyperparams.get("n_envs", 1)), seed
        )
        callback = ValidationPruningCallback(trial, env_id, env_kwargs, seeds, eval_freq)
        try:
            model.learn(total_timesteps=timesteps, callback=callback)
        finally:
            env.close()
        if callback.pruned:
            raise optuna.TrialPruned()
        return callback.best

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
    )
    study.enqueue_trial(current_params(algo, base), skip_if_exists=True)
    study.optimize(objective, n_trials=trials, callbacks=[print_trial])
    return study


def print_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """One line per finished trial."""
    value = "" if trial.value is None else f" signed score {trial.value:.4f}"
    print(f"trial {trial.number}: {trial.state.name.lower()}{value} {trial.params}", flush=True)


def write_trials(study: optuna.Study, path: Path) -> None:
    """One CSV row per trial: number, state, signed validation score, parameters."""
    names = sorted({name for trial in study.trials for name in trial.params})
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["trial", "state", "signed_score", *names])
        for trial in study.trials:
            value = "" if trial.value is None else trial.value
            params = [trial.params.get(name, "") for name in names]
            writer.writerow([trial.number, trial.state.name, value, *params])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="train/tune.py", description="Tune hyperparameters with Optuna on validation seeds."
    )
    parser.add_argument("--algo", choices=TUNABLE_ALGOS, default="ppo")
    parser.add_argument("--env", required=True, help=f"one of {sorted(ENVS)}")
    parser.add_argument("--trials", type=int, default=12, help="trials (default 12)")
    parser.add_argument("--timesteps", type=int, default=60_000, help="steps per trial")
    parser.add_argument("--evaluations", type=int, default=4, help="evaluations per trial")
    parser.add_argument(
        "--eval-episodes", type=int, default=10, help="validation episodes per evaluation"
    )
    parser.add_argument("--seed", type=int, default=0, help="training and sampler seed")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    add_key_value_argument(
        parser, "--env-kwargs", "keyword arguments of gymnasium.make (over the YAML's)"
    )
    parser.add_argument("--out", type=Path, help="output folder (default: a fresh runs/tune/...)")
    return parser


def main(argv: Sequence[str] | None = None) -> Path:
    """Run the study the command line asks for; return the output folder."""
    parser = build_parser()
    args = parser.parse_args(argv)
    env_id = canonical_id(args.env)
    if env_id not in ENVS:
        parser.error(f"unknown environment {args.env!r}; registered: {sorted(ENVS)}")
    for name in ("trials", "timesteps", "evaluations", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    if not 1 <= args.eval_episodes <= len(VALIDATION_SEEDS):
        parser.error(f"--eval-episodes must be in [1, {len(VALIDATION_SEEDS)}]")
    base = load_hyperparams(args.algo, env_id, {})
    env_kwargs = {**base.get("env_kwargs", {})}
    n_envs = int(base.get("n_envs", 1))  # the trials' (sampled settings keep the YAML's n_envs)
    if not 0 <= args.seed <= MAX_SEED - n_envs + 1:
        parser.error(f"--seed must be in [0, {MAX_SEED - n_envs + 1}], got {args.seed}")
    try:
        check_training_env_seeds(args.seed, n_envs)
    except ValueError as error:
        parser.error(f"--seed {args.seed}: {error}")
    check_env(parser, args.algo, env_id, {**env_kwargs, **dict(args.env_kwargs)})
    out = args.out or Path("runs") / "tune" / env_id / f"{args.algo}_{datetime.now():%Y%m%d-%H%M%S}"
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        parser.error(f"--out {out} exists: a study writes into a fresh folder")
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        study = run_study(
            args.algo,
            env_id,
            args.trials,
            args.timesteps,
            args.evaluations,
            args.eval_episodes,
            args.seed,
            dict(args.env_kwargs),
        )
    write_trials(study, out / "study.csv")
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    summary = {"command": " ".join(["python", "train/tune.py", *(argv or sys.argv[1:])])}
    if complete:
        best = study.best_trial
        summary.update(best_trial=best.number, best_signed_score=best.value, params=best.params)
        print(f"best trial {best.number}: signed validation score {best.value:.4f}")
        print(yaml.safe_dump({env_id: best.params}, sort_keys=False))
    else:
        print("every trial was pruned; no best parameters")
    (out / "best.yml").write_text(yaml.safe_dump(summary, sort_keys=False))
    print(f"Study written to {out}")
    return out


if __name__ == "__main__":
    main()
