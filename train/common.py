"""Shared command-line training for the scripts in ``train/`` (rl-baselines3-zoo style).

``train/ppo.py``, ``train/maskable_ppo.py`` and ``train/sac.py`` call ``main(algo, argv)``,
which trains the agent on a registered mec_gym environment, evaluates it periodically on fixed
seeds, evaluates the env's analytic baselines on the same seeds, and writes one run folder::

    <logdir>/<env_id>/<algo>_s<seed>_<YYYYmmdd-HHMMSS>/
        config.yaml                     CLI arguments, hyperparameters, env config, versions
        model.zip                       the trained agent
        comparison.md, comparison.csv   final agent vs baselines (mean, 95% CI, components)
        agent/                          TensorBoard events of training and evaluation
        baseline_<name>/                TensorBoard events: each baseline's constant score

so that ``tensorboard --logdir <logdir>`` overlays the agent's learning curve and the baselines.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import inspect
import platform
import sys
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import yaml
from gymnasium import spaces
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import is_masking_supported
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger, make_output_format
from stable_baselines3.common.vec_env import VecEnv
from torch import nn
from tqdm import TqdmExperimentalWarning

import mec_gym  # noqa: F401  (registers the environments)
from mec_gym.agents import build_baselines
from mec_gym.eval.evaluation import (
    EVAL_SEEDS,
    VALIDATION_SEEDS,
    EvalResult,
    evaluate_policy,
    protocol_for,
    write_comparison,
)
from mec_gym.registration import ENVS, canonical_id

__all__ = [
    "ALGOS",
    "main",
    "parse_args",
    "make_run_dir",
    "resolve_policy_kwargs",
    "resolve_schedule",
    "build_parser",
    "parse_key_value",
    "add_key_value_argument",
    "mec_gym_env_ids",
    "load_hyperparams",
    "episode_info_keywords",
    "build_model",
    "fitting_algos",
    "resolve_policy",
]

ALGOS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "maskable_ppo": MaskablePPO, "sac": SAC}
"""Algorithm name (also the script and YAML file name) -> stable-baselines3 class."""


DISCRETE_SPACES = (spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
ACTION_SPACES: dict[str, tuple[type[spaces.Space], ...]] = {
    "ppo": (spaces.Box, *DISCRETE_SPACES),
    "maskable_ppo": DISCRETE_SPACES,
    "sac": (spaces.Box,),
}
"""The action spaces each algorithm of ``ALGOS`` acts in (as its SB3 class asserts)."""


def fitting_algos(action_space: gym.Space, masks: bool) -> list[str]:
    """The algorithms of ``ALGOS`` that can act in ``action_space`` (MaskablePPO only with
    ``masks``)."""
    return [
        name
        for name, kinds in ACTION_SPACES.items()
        if isinstance(action_space, kinds) and (name != "maskable_ppo" or masks)
    ]


HYPERPARAMS_DIR = Path(__file__).parent / "hyperparams"

SCHEDULE_KEYS = ("learning_rate", "clip_range")
"""Hyperparameters that may be ``lin_<initial>``: decayed linearly to 0 over training."""

RUN_KEYS = ("n_timesteps", "n_envs", "eval_episodes")
"""Hyperparameter keys that configure the run rather than the algorithm."""
ENV_KWARGS_KEY = "env_kwargs"
"""Optional hyperparameter entry: keyword arguments of ``gymnasium.make`` for the run (the
formulation an env's hyperparameters were tuned for, e.g. an action mode); ``--env-kwargs``
entries override it."""

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
}
"""Names allowed for ``policy_kwargs.activation_fn`` in the YAML."""

EVALUATIONS_PER_RUN = 8
"""Periodic evaluations of a run when ``--eval-freq`` is not given."""


# ---------------------------------------------------------------------------------- CLI parsing
def parse_key_value(text: str) -> tuple[str, Any]:
    """Parse ``key=value``; the value is read as YAML (``1`` -> int, ``[1,2]`` -> list, ...)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(
            f"expected key=value (value parsed as YAML, e.g. tasks_per_episode=20), got {text!r}"
        )
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise argparse.ArgumentTypeError(f"cannot parse the value of {text!r}: {error}") from error
    if isinstance(parsed, str):  # YAML 1.1 reads "1e-3" as a string; a number is meant
        with contextlib.suppress(ValueError):
            parsed = float(parsed)
    return key.strip(), parsed


def add_key_value_argument(parser: argparse.ArgumentParser, flag: str, what: str) -> None:
    """An option taking ``KEY=VALUE ...`` (values parsed as YAML) into a list of pairs."""
    parser.add_argument(
        flag,
        type=parse_key_value,
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help=f"{what}, values parsed as YAML",
    )


def mec_gym_env_ids() -> list[str]:
    """The environment IDs of mec_gym (``mec_gym.registration.ENVS``)."""
    return sorted(ENVS)


def build_parser(algo: str) -> argparse.ArgumentParser:
    """Command-line parser of ``train/<algo>.py``."""
    parser = argparse.ArgumentParser(
        prog=f"train/{algo}.py",
        description=f"Train {ALGOS[algo].__name__} on a mec_gym environment and compare it "
        "with the environment's analytic baselines on fixed evaluation seeds.",
    )
    parser.add_argument("--env", required=True, help=f"environment ID, one of {mec_gym_env_ids()}")
    parser.add_argument(
        "--timesteps", type=int, help="training timesteps (default: n_timesteps in the YAML)"
    )
    parser.add_argument("--seed", type=int, default=0, help="training seed (default: 0)")
    parser.add_argument(
        "--n-envs", type=int, help="parallel training envs (default: n_envs in the YAML)"
    )
    add_key_value_argument(parser, "--env-kwargs", "keyword arguments of gymnasium.make")
    parser.add_argument(
        "--logdir", type=Path, default=Path("runs"), help="root of run folders (default: runs/)"
    )
    parser.add_argument(
        "--eval-episodes",
        type=int,
        help=f"episodes per evaluation: the first of the {len(EVAL_SEEDS)} fixed test seeds "
        "(final table) and of the validation seeds (checkpoint choice); default: "
        "eval_episodes in the YAML",
    )
    parser.add_argument(
        "--eval-freq",
        type=int,
        help=f"timesteps between evaluations (default: timesteps / {EVALUATIONS_PER_RUN})",
    )
    parser.add_argument(
        "--no-baselines", action="store_true", help="skip building and evaluating the baselines"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (default 1: fastest on 2 cores)"
    )
    add_key_value_argument(parser, "--hyperparams", "override hyperparameters of the YAML")
    return parser


def parse_args(algo: str, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and check ``argv``; errors exit through ``argparse`` with a clear message."""
    parser = build_parser(algo)
    args = parser.parse_args(argv)
    args.env = canonical_id(args.env)
    env_ids = mec_gym_env_ids()
    if args.env not in env_ids:
        parser.error(f"unknown environment {args.env!r}; registered mec_gym IDs: {env_ids}")
    if args.eval_episodes is not None and not 1 <= args.eval_episodes <= len(EVAL_SEEDS):
        parser.error(f"--eval-episodes must be in [1, {len(EVAL_SEEDS)}], got {args.eval_episodes}")
    for name in ("timesteps", "n_envs", "eval_freq", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    for name in ("env_kwargs", "hyperparams"):
        setattr(args, name, dict(getattr(args, name)))
    return args


# ------------------------------------------------------------------------------ hyperparameters
def load_hyperparams(algo: str, env_id: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters of ``algo`` for ``env_id``: ``default``, then the env's entry, then
    ``overrides``, from ``train/hyperparams/<algo>.yml``.

    Keys other than ``RUN_KEYS`` (run settings) and ``ENV_KWARGS_KEY`` must be constructor
    arguments of the algorithm; ``policy_kwargs`` may be a dict or a string holding a Python
    literal dict.
    """
    table = yaml.safe_load((HYPERPARAMS_DIR / f"{algo}.yml").read_text()) or {}
    params = {**table.get("default", {}), **table.get(env_id, {}), **overrides}
    accepted = set(inspect.signature(ALGOS[algo].__init__).parameters) - {"self", "env"}
    unknown = sorted(set(params) - accepted - {*RUN_KEYS, ENV_KWARGS_KEY})
    if unknown:
        raise ValueError(
            f"unknown hyperparameters {unknown} for {algo}; allowed: {sorted(accepted)}"
        )
    if not isinstance(params.get(ENV_KWARGS_KEY, {}), dict):
        raise ValueError(f"{ENV_KWARGS_KEY} must be a mapping, got {params[ENV_KWARGS_KEY]!r}")
    missing = [key for key in ("policy", *RUN_KEYS) if key not in params]
    if missing:
        raise ValueError(f"{HYPERPARAMS_DIR / f'{algo}.yml'} sets no {missing} for {env_id}")
    return params


def resolve_policy_kwargs(value: dict[str, Any] | str | None) -> dict[str, Any]:
    """``policy_kwargs`` as a dict, with ``activation_fn`` names mapped to torch modules."""
    if value is None:
        return {}
    kwargs = ast.literal_eval(value) if isinstance(value, str) else dict(value)
    if not isinstance(kwargs, dict):
        raise ValueError(f"policy_kwargs must be a dict, got {value!r}")
    activation = kwargs.get("activation_fn")
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation_fn must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
            )
        kwargs["activation_fn"] = ACTIVATIONS[activation]
    return kwargs


def resolve_policy(value: Any) -> Any:
    """``policy``: an SB3 name (``"MlpPolicy"``) as is, a ``"module:Class"`` path as the class."""
    if not isinstance(value, str) or ":" not in value:
        return value
    module, _, name = value.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"policy {value!r} cannot be imported: {error}") from None


def linear_schedule(initial: float) -> Callable[[float], float]:
    """A schedule falling linearly from ``initial`` to 0 over training (SB3 progress 1 -> 0)."""

    def schedule(progress_remaining: float) -> float:
        return progress_remaining * initial

    return schedule


def resolve_schedule(key: str, value: Any) -> float | Callable[[float], float]:
    """A constant, or ``"lin_<initial>"`` (rl-baselines3-zoo style) as a linear schedule."""
    if isinstance(value, str) and value.startswith("lin_"):
        try:
            return linear_schedule(float(value[4:]))
        except ValueError:
            pass
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"{key} must be a number or 'lin_<number>', got {value!r}")


# ----------------------------------------------------------------------------------- run setup
def episode_info_keywords(env_id: str) -> tuple[str, ...]:
    """The episode-end ``info`` fields ``Monitor`` logs: the env's score and components."""
    protocol = protocol_for(env_id)
    return (protocol.score, *protocol.components)


def env_config(env_id: str, env_kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The environment's full configuration as a plain dict, if it has a ``config``."""
    env = gym.make(env_id, **env_kwargs)
    try:
        config = getattr(env.unwrapped, "config", None)
        return config.to_dict() if hasattr(config, "to_dict") else None
    finally:
        env.close()


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages a run depends on."""
    versions = {"python": platform.python_version()}
    for package in (
        "mec-gym",
        "gymnasium",
        "stable-baselines3",
        "sb3-contrib",
        "torch",
        "numpy",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


class _PlainDumper(yaml.SafeDumper):
    """YAML dumper that writes repeated objects out instead of as anchors and aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def make_run_dir(logdir: Path, env_id: str, algo: str, seed: int) -> Path:
    """Create ``<logdir>/<env_id>/<algo>_s<seed>_<YYYYmmdd-HHMMSS>[-n]/`` (never reused)."""
    stem = logdir / env_id / f"{algo}_s{seed}_{datetime.now():%Y%m%d-%H%M%S}"
    stem.parent.mkdir(parents=True, exist_ok=True)
    run_dir, suffix = stem, 0
    while True:
        try:
            run_dir.mkdir()  # atomic: concurrent runs started in the same second get suffixes
            return run_dir
        except FileExistsError:
            suffix += 1
            run_dir = stem.with_name(f"{stem.name}-{suffix}")


def tensorboard_logger(folder: Path) -> Logger:
    """An SB3 logger that writes TensorBoard events into ``folder`` only."""
    folder.mkdir(parents=True, exist_ok=True)
    return Logger(str(folder), [make_output_format("tensorboard", str(folder))])


def record_result(logger: Logger, result: EvalResult, step: int) -> None:
    """Write ``eval/mean_<score>``, ``eval/ci95`` and ``eval/<component>`` at ``step``."""
    mean, half = result.mean_ci()
    logger.record(f"eval/mean_{result.protocol.score}", mean)
    logger.record("eval/ci95", half)
    for key in result.protocol.components:
        logger.record(f"eval/{key}", float(np.mean(result.episode_components[key])))
    logger.dump(step)


# ------------------------------------------------------------------------------------ callbacks
class EpisodeInfoCallback(BaseCallback):
    """Log the mean of each Monitor info keyword over the episodes finished in each rollout,
    as ``episode/<key>``."""

    def __init__(self, keywords: Sequence[str]) -> None:
        super().__init__()
        self.keywords = tuple(keywords)
        self._values: dict[str, list[float]] = {key: [] for key in self.keywords}

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            episode = info.get("episode")
            if episode is not None:
                for key in self.keywords:
                    self._values[key].append(float(episode[key]))
        return True

    def _on_rollout_end(self) -> None:
        for key, values in self._values.items():
            if values:
                self.logger.record(f"episode/{key}", float(np.mean(values)))
            values.clear()


class PeriodicEvalCallback(BaseCallback):
    """Every ``eval_freq`` timesteps, evaluate the agent deterministically on the validation
    seeds and log it, beside each baseline's constant validation score in its own folder; keep
    the best policy so far as ``best_path`` (the checkpoint the final test table uses).

    Evaluations happen at the start of a rollout, right after a policy update, so that no two
    of them see the same policy however ``eval_freq`` compares with the rollout size.
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any],
        seeds: Sequence[int],
        eval_freq: int,
        baselines: dict[str, tuple[EvalResult, Logger]],
        best_path: Path,
    ) -> None:
        super().__init__()
        self.env_id = env_id
        self.env_kwargs = env_kwargs
        self.seeds = tuple(seeds)
        self.eval_freq = eval_freq
        self.baselines = baselines
        self.best_path = best_path
        self.best_step: int | None = None
        self.best_score = -np.inf
        self.evaluated_steps: list[int] = []
        self._next_eval = eval_freq

    def _on_rollout_start(self) -> None:
        if self.num_timesteps >= self._next_eval:
            self._next_eval = (self.num_timesteps // self.eval_freq + 1) * self.eval_freq
            self.evaluate(self.num_timesteps)

    def _on_step(self) -> bool:
        return True

    def evaluate(self, step: int) -> None:
        """Evaluate the current policy on the validation seeds, log it, keep it if best."""
        result = evaluate_policy(
            self.model, self.env_id, self.env_kwargs, self.seeds, name="agent", hindsight=False
        )
        self.log_evaluation(result, step)
        sign = 1.0 if result.protocol.higher_is_better else -1.0
        score = sign * result.mean_ci()[0]
        if score > self.best_score:
            self.best_score, self.best_step = score, step
            self.model.save(self.best_path)

    def log_evaluation(self, result: EvalResult, step: int) -> None:
        """Log the agent's ``result`` and every baseline's score at ``step``; print a summary."""
        record_result(self.logger, result, step)
        for baseline, logger in self.baselines.values():
            record_result(logger, baseline, step)
        self.evaluated_steps.append(step)
        mean, half = result.mean_ci()
        sign = 1.0 if result.protocol.higher_is_better else -1.0
        best = max(
            ((name, b.mean_ci()[0]) for name, (b, _) in self.baselines.items()),
            key=lambda item: sign * item[1],
            default=None,
        )
        against = f" (best baseline {best[0]}: {best[1]:.4f})" if best else ""
        print(
            f"step {step}: agent {result.protocol.score} {mean:.4f} ± {half:.4f} on the "
            f"validation seeds{against}"
        )


# ----------------------------------------------------------------------------------------- main
def build_model(
    algo: str,
    env_id: str,
    env_kwargs: dict[str, Any],
    hyperparams: dict[str, Any],
    n_envs: int,
    seed: int,
) -> tuple[BaseAlgorithm, VecEnv]:
    """The untrained ``algo`` model on ``n_envs`` Monitor-wrapped copies of the env, and that
    vector env (which the caller closes)."""
    env: VecEnv = make_vec_env(
        env_id,
        n_envs=n_envs,
        seed=seed,
        env_kwargs=env_kwargs,
        monitor_kwargs={"info_keywords": episode_info_keywords(env_id)},
    )
    space, masks = env.action_space, is_masking_supported(env)
    fitting = fitting_algos(space, masks)
    if algo not in fitting:
        env.close()
        reason = "has no action_masks()" if masks is False and algo == "maskable_ppo" else ""
        raise ValueError(
            f"{ALGOS[algo].__name__} cannot train on {env_id} (its actions: {space}"
            f"{', and it ' + reason if reason else ''}); algorithms that fit: "
            f"{', '.join(f'train/{name}.py' for name in fitting)}"
        )
    algo_kwargs = {k: v for k, v in hyperparams.items() if k not in (*RUN_KEYS, ENV_KWARGS_KEY)}
    algo_kwargs["policy"] = resolve_policy(algo_kwargs["policy"])
    algo_kwargs["policy_kwargs"] = resolve_policy_kwargs(algo_kwargs.get("policy_kwargs"))
    for key in SCHEDULE_KEYS:
        if key in algo_kwargs:
            algo_kwargs[key] = resolve_schedule(key, algo_kwargs[key])
    return ALGOS[algo](env=env, seed=seed, verbose=0, **algo_kwargs), env


def main(algo: str, argv: Sequence[str] | None = None) -> Path:
    """Train ``algo`` as the command line ``argv`` says; return the run folder."""
    args = parse_args(algo, argv)
    env_id = args.env
    hyperparams = load_hyperparams(algo, env_id, args.hyperparams)
    env_kwargs = {**hyperparams.get(ENV_KWARGS_KEY, {}), **args.env_kwargs}
    timesteps = args.timesteps or int(hyperparams["n_timesteps"])
    n_envs = args.n_envs or int(hyperparams["n_envs"])
    eval_freq = args.eval_freq or max(timesteps // EVALUATIONS_PER_RUN, 1)
    eval_episodes = args.eval_episodes or int(hyperparams["eval_episodes"])
    if not 1 <= eval_episodes <= len(EVAL_SEEDS):
        raise ValueError(f"eval_episodes must be in [1, {len(EVAL_SEEDS)}], got {eval_episodes}")
    seeds = EVAL_SEEDS[:eval_episodes]
    validation_seeds = VALIDATION_SEEDS[:eval_episodes]
    torch.set_num_threads(args.threads)

    run_dir = make_run_dir(args.logdir, env_id, algo, args.seed)
    config = {
        "algo": algo,
        "env_id": env_id,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "timesteps": timesteps,
        "eval_episodes": eval_episodes,
        "n_envs": n_envs,
        "eval_freq": eval_freq,
        "eval_seeds": list(seeds),
        "validation_seeds": list(validation_seeds),
        "hyperparams": hyperparams,
        "env_kwargs": env_kwargs,
        "env_config": env_config(env_id, env_kwargs),
        "versions": package_versions(),
    }
    (run_dir / "config.yaml").write_text(
        yaml.dump(config, Dumper=_PlainDumper, sort_keys=False, default_flow_style=None)
    )
    print(f"Run folder: {run_dir}")

    baselines: dict[str, tuple[EvalResult, Logger]] = {}  # validation scores, for the logs
    baseline_tests: list[EvalResult] = []  # test scores, for the final table
    if not args.no_baselines:
        print(f"Building and evaluating the baselines of {env_id} on {len(seeds)} seeds ...")
        for name, policy in build_baselines(env_id, env_kwargs, seed=args.seed).items():
            result = evaluate_policy(policy, env_id, env_kwargs, seeds, name=name, hindsight=True)
            baseline_tests.append(result)
            validation = evaluate_policy(
                policy, env_id, env_kwargs, validation_seeds, name=name, hindsight=False
            )
            folder = run_dir / f"baseline_{name.replace('/', '_')}"  # share_1/2: one folder
            baselines[name] = (validation, tensorboard_logger(folder))
            mean, half = result.mean_ci()
            print(f"  {name}: {result.protocol.score} {mean:.4f} ± {half:.4f}")

    keywords = episode_info_keywords(env_id)
    model, env = build_model(algo, env_id, env_kwargs, hyperparams, n_envs, args.seed)
    model.set_logger(tensorboard_logger(run_dir / "agent"))
    evaluation = PeriodicEvalCallback(
        env_id, env_kwargs, validation_seeds, eval_freq, baselines, run_dir / "best_model.zip"
    )
    try:
        with warnings.catch_warnings():  # SB3's progress bar uses tqdm.rich, "experimental"
            warnings.simplefilter("ignore", TqdmExperimentalWarning)
            model.learn(
                total_timesteps=timesteps,
                callback=[EpisodeInfoCallback(keywords), evaluation],
                progress_bar=True,
            )
        model.save(run_dir / "model.zip")
        if not evaluation.evaluated_steps or evaluation.evaluated_steps[-1] != model.num_timesteps:
            evaluation.evaluate(model.num_timesteps)
        chosen = ALGOS[algo].load(run_dir / "best_model.zip", device="cpu")
        final = evaluate_policy(chosen, env_id, env_kwargs, seeds, name=algo, hindsight=True)
        results = [final]
        if evaluation.best_step != model.num_timesteps:  # the last policy, if another one
            results.append(
                evaluate_policy(model, env_id, env_kwargs, seeds, f"{algo}_last", hindsight=False)
            )
        print(
            f"Checkpoint: step {evaluation.best_step} of {model.num_timesteps} (best on the "
            f"validation seeds); the table scores it ({algo}), and the last policy "
            f"({algo}_last) if another one, on the test seeds."
        )
    finally:
        env.close()
        model.logger.close()
        for _, logger in baselines.values():
            logger.close()

    markdown = write_comparison([*results, *baseline_tests], run_dir)
    print_markdown(markdown)
    tensorboard = Path(sys.executable).parent / "tensorboard"
    command = str(tensorboard) if tensorboard.exists() else "tensorboard"
    print(f"Run folder: {run_dir}")
    print(f"TensorBoard: {command} --logdir {args.logdir}  (then open http://localhost:6006)")
    return run_dir


def print_markdown(markdown: str) -> None:
    """Print Markdown rendered by rich when stdout is a terminal, as plain text otherwise."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(markdown))
    else:
        print(markdown)
