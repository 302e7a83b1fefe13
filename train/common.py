"""The training run of ``train/<algo>.py``: stable-baselines3 on a mec_gym environment.

:func:`train` runs what :mod:`mec_gym.train.cli` checked: it evaluates the env's analytic
baselines, trains the agent with periodic evaluations on the validation seeds and periodic
checkpoints, scores the chosen checkpoint on the test seeds and writes one run folder::

    <logdir>/<env_id>/<algo>_s<seed>_<YYYYmmdd-HHMMSS>/
        config.yaml                     the settings (what --resume reads), env config, versions
        model.zip, best_model.zip       the last policy, the best one on the validation seeds
        checkpoint/                     the last checkpoint (what --resume continues from)
        comparison.md, comparison.csv   chosen agent vs baselines on the test seeds (95% CIs)
        episode_scores.csv              every policy's score per test seed (what is paired)
        learning_curve.png              validation score vs steps, the baselines as bands
        evaluations.npz                 the validation scores (SB3's EvalCallback format)
        <i>.monitor.csv                 training episodes of env i (SB3's Monitor format;
                                        monitor.csv of all envs with --vec-env native)
        agent/, baseline_<name>/        TensorBoard events under one tag vocabulary

TensorBoard tags, the same for every env: ``eval/score``, ``eval/score_ci95`` and
``eval/<component>`` (validation evaluations; the agent and each baseline in its own folder, so
that ``tensorboard --logdir <logdir>`` overlays them), ``episode/score`` and
``episode/<component>`` (training episodes), and SB3's ``train/*`` and ``time/*``. The score is
the env's (``config.yaml`` names it and its direction).

Checkpoints (the model, the replay buffer of an off-policy algorithm, every training env's
state, the random generators, the evaluation history and the best policy so far) are written at
the start of a rollout every ``checkpoint_freq`` steps, at the end of the run, and at the next
rollout start after Ctrl-C (which then stops with status 130); ``--resume RUN_DIR`` continues
the step counter, the TensorBoard curves and the monitor files (what was written after the
checkpoint is dropped first). As every checkpoint is taken at a rollout start, a resumed run
continues exactly as an uninterrupted one (the test suite checks it for PPO and SAC, killed and
interrupted).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import importlib
import pickle
import random
import shutil
import signal
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
import yaml
from sb3_contrib.common.maskable.utils import is_masking_supported
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger, make_output_format
from stable_baselines3.common.monitor import Monitor, ResultsWriter
from stable_baselines3.common.noise import (
    NormalActionNoise,
    OrnsteinUhlenbeckActionNoise,
)
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor
from torch import nn
from tqdm import TqdmExperimentalWarning

import mec_gym  # noqa: F401  (registers the environments)
from mec_gym.agents import build_baselines
from mec_gym.agents.sb3_vec_env import NativeVecEnv
from mec_gym.eval import output
from mec_gym.eval.evaluation import (
    EVAL_SEEDS,
    VALIDATION_SEEDS,
    EvalResult,
    evaluate_policy,
    format_mean_ci,
    mean_ci,
    protocol_for,
    write_comparison,
)
from mec_gym.train.cli import ALGOS as ALGO_PATHS
from mec_gym.train.cli import (
    HARNESS_KEYS,
    SCHEDULE_KEYS,
    SetupError,
    parse_policy_kwargs,
    unfit_message,
)

__all__ = [
    "ALGOS",
    "ACTIVATIONS",
    "train",
    "make_run_dir",
    "resolve_policy_kwargs",
    "resolve_schedule",
    "resolve_policy",
    "episode_info_keywords",
    "build_model",
    "Checkpoint",
    "prune_events",
]


def _algo_class(path: str) -> type[BaseAlgorithm]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


ALGOS: dict[str, type[BaseAlgorithm]] = {
    name: _algo_class(path) for name, path in ALGO_PATHS.items()
}
"""Algorithm name -> stable-baselines3 / sb3-contrib class."""

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
}
"""``policy_kwargs.activation_fn`` names -> torch modules (``cli.ACTIVATION_NAMES``)."""

CHECKPOINT = "checkpoint"
"""Folder of a run's last checkpoint."""


# ------------------------------------------------------------------------------ hyperparameters
def resolve_policy_kwargs(value: dict[str, Any] | str | None) -> dict[str, Any]:
    """``policy_kwargs`` as a dict, with ``activation_fn`` names mapped to torch modules."""
    if value is None:
        return {}
    kwargs = parse_policy_kwargs(value) if isinstance(value, str) else dict(value)
    if not isinstance(kwargs, dict):
        raise SetupError(f"policy_kwargs must be a dict, got {value!r}")
    activation = kwargs.get("activation_fn")
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise SetupError(
                f"activation_fn must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
            )
        kwargs["activation_fn"] = ACTIVATIONS[activation]
    return kwargs


def resolve_policy(value: Any) -> Any:
    """``policy``: an SB3 name (``"MlpPolicy"``) as is; a ``"module.Class"`` path (the zoo's
    form) or ``"module:Class"`` as the class."""
    if not isinstance(value, str) or not ({":", "."} & set(value)):
        return value
    module, sep, name = value.partition(":")
    if not sep:
        module, _, name = value.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise SetupError(f"policy {value!r} cannot be imported: {error}") from None


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
    raise SetupError(f"{key} must be a number or 'lin_<number>', got {value!r}")


def action_noise(hyperparams: dict[str, Any], action_space: gym.Space) -> Any:
    """The zoo's ``noise_type`` / ``noise_std`` as an SB3 action noise (None without)."""
    if "noise_type" not in hyperparams:
        return None
    size = int(np.prod(action_space.shape))
    sigma = float(hyperparams["noise_std"]) * np.ones(size)
    if hyperparams["noise_type"] == "normal":
        return NormalActionNoise(np.zeros(size), sigma)
    return OrnsteinUhlenbeckActionNoise(np.zeros(size), sigma)


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
    """Write ``eval/score``, ``eval/score_ci95`` and ``eval/<component>`` at ``step``."""
    mean, half = result.mean_ci()
    logger.record("eval/score", mean)
    if np.isfinite(half):
        logger.record("eval/score_ci95", half)
    for key in result.protocol.components:
        logger.record(f"eval/{key}", float(np.mean(result.episode_components[key])))
    logger.dump(step)


def build_model(
    algo: str,
    env_id: str,
    env_kwargs: dict[str, Any],
    hyperparams: dict[str, Any],
    n_envs: int,
    seed: int,
    monitor_dir: Path | None = None,
    append: bool = False,
    vec_env: str = "dummy",
) -> tuple[BaseAlgorithm, VecEnv]:
    """The untrained ``algo`` model on ``n_envs`` copies of the env, and that vector env (which
    the caller closes): ``vec_env="dummy"``, SB3's ``DummyVecEnv`` of Monitor-wrapped scalar
    envs (episodes in ``monitor_dir/<i>.monitor.csv`` if given); ``"native"``, the env's native
    batched vector env through :class:`~mec_gym.agents.sb3_vec_env.NativeVecEnv` with a
    ``VecMonitor`` (episodes in ``monitor_dir/monitor.csv``). ``append``: after the episodes
    the monitor files hold. Both give the same training, bit for bit."""
    keywords = episode_info_keywords(env_id)
    env: VecEnv
    if vec_env == "native":
        vector = gym.make_vec(env_id, n_envs, vectorization_mode="vector_entry_point", **env_kwargs)
        env = VecMonitor(NativeVecEnv(vector), info_keywords=keywords)
        if monitor_dir is not None:
            env.results_writer = ResultsWriter(
                str(monitor_dir / "monitor.csv"),
                header={"t_start": env.t_start, "env_id": env_id},
                extra_keys=keywords,
                override_existing=not append,
            )
    else:
        monitor_kwargs: dict[str, Any] = {"info_keywords": keywords}
        if monitor_dir is not None:
            monitor_kwargs["override_existing"] = not append
        env = make_vec_env(
            env_id,
            n_envs=n_envs,
            seed=seed,
            env_kwargs=env_kwargs,
            monitor_dir=None if monitor_dir is None else str(monitor_dir),
            monitor_kwargs=monitor_kwargs,
            vec_env_cls=DummyVecEnv,
        )
    space = env.action_space
    problem = unfit_message(algo, env_id, space, bool(is_masking_supported(env)))
    if problem is not None:
        env.close()
        raise SetupError(problem)
    skipped = (*HARNESS_KEYS, "noise_type", "noise_std")
    algo_kwargs = {k: v for k, v in hyperparams.items() if k not in skipped}
    algo_kwargs["policy"] = resolve_policy(algo_kwargs["policy"])
    algo_kwargs["policy_kwargs"] = resolve_policy_kwargs(algo_kwargs.get("policy_kwargs"))
    for key in SCHEDULE_KEYS:
        if algo_kwargs.get(key) is not None:
            algo_kwargs[key] = resolve_schedule(key, algo_kwargs[key])
    if isinstance(algo_kwargs.get("train_freq"), list):  # YAML's [n, "step"|"episode"]
        algo_kwargs["train_freq"] = tuple(algo_kwargs["train_freq"])
    noise = action_noise(hyperparams, space)
    if noise is not None:
        algo_kwargs["action_noise"] = noise
    return ALGOS[algo](env=env, seed=seed, verbose=0, device="cpu", **algo_kwargs), env


# ----------------------------------------------------------------------------------- checkpoints
MONITOR_FIELDS = (
    "rewards",
    "needs_reset",
    "episode_returns",
    "episode_lengths",
    "episode_times",
    "t_start",
)
"""Monitor attributes that a checkpoint keeps (its episode in progress, its history and its
start time, which the times of its file's rows count from)."""
VEC_MONITOR_FIELDS = ("episode_returns", "episode_lengths", "episode_count", "t_start")
"""VecMonitor attributes that a checkpoint keeps (the episodes in progress, the count, the
start time)."""


class Checkpoint:
    """The last checkpoint of a run folder: ``save`` writes one (atomically: a new folder
    swapped in), ``load`` restores a model, its training envs and the random generators."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.folder = run_dir / CHECKPOINT

    def exists(self) -> bool:
        """Whether the run has a complete checkpoint, after tidying what a crash during
        :meth:`save` left: the previous checkpoint renamed aside is moved back if the new one
        is missing, deleted if the new one is complete."""
        previous = self.run_dir / f"{CHECKPOINT}.old"
        if previous.exists():
            if (self.folder / "state.yaml").is_file():
                shutil.rmtree(previous)
            else:
                shutil.rmtree(self.folder, ignore_errors=True)
                previous.rename(self.folder)
        return (self.folder / "state.yaml").is_file()

    def save(self, model: BaseAlgorithm, state: dict[str, Any]) -> None:
        """Write the model, the replay buffer (off-policy), the training envs
        (:func:`training_env_state`), the random generators and ``state`` (the run's
        callbacks, a YAML-able dict)."""
        temporary = self.run_dir / f"{CHECKPOINT}.tmp"
        shutil.rmtree(temporary, ignore_errors=True)
        temporary.mkdir()
        model.save(temporary / "model.zip")
        best = self.run_dir / "best_model.zip"
        if best.is_file():  # the best policy so far belongs to this point of the run
            shutil.copyfile(best, temporary / "best_model.zip")
        if isinstance(model, OffPolicyAlgorithm) and model.replay_buffer is not None:
            model.save_replay_buffer(temporary / "replay_buffer.pkl")
        generators = {
            "torch": torch.get_rng_state(),
            "numpy": np.random.get_state(),  # noqa: NPY002  (SB3's buffers draw from it)
            "random": random.getstate(),
            "action_space": model.action_space.np_random.bit_generator.state,
        }
        envs, episodes_per_file = training_env_state(model.get_env())
        with (temporary / "envs.pkl").open("wb") as file:
            pickle.dump({"envs": envs, "generators": generators}, file)
        state = {**state, "num_timesteps": int(model.num_timesteps)}
        state["env_code"] = env_code_fingerprint()
        state["episodes_per_file"] = episodes_per_file
        (temporary / "state.yaml").write_text(yaml.safe_dump(state, sort_keys=False))
        previous = self.run_dir / f"{CHECKPOINT}.old"
        shutil.rmtree(previous, ignore_errors=True)
        if self.folder.exists():
            self.folder.rename(previous)
        temporary.rename(self.folder)
        shutil.rmtree(previous, ignore_errors=True)

    def state(self) -> dict[str, Any]:
        """The ``state`` of the last ``save`` (with ``num_timesteps``, ``episodes_per_file``:
        the episodes each monitor file held)."""
        return yaml.safe_load((self.folder / "state.yaml").read_text())

    def load(self, algo: str, env: VecEnv, seed: int) -> BaseAlgorithm:
        """The checkpoint's model on ``env`` (fresh training envs whose states are replaced by
        the checkpoint's), with the random generators as they were.

        Under other environment code than the checkpoint's (:func:`env_code_fingerprint`) the
        saved envs may not work with the code: the fresh envs are kept, reseeded from
        ``seed`` and the step (:func:`fresh_env_seed`), with only the monitors' counters
        restored, and the run says that it no longer equals an uninterrupted one."""
        state = self.state()
        same_code = state.get("env_code") == env_code_fingerprint()
        path = self.folder / "model.zip"
        model = ALGOS[algo].load(path, env=env, device="cpu", force_reset=not same_code)
        buffer = self.folder / "replay_buffer.pkl"
        if buffer.is_file() and isinstance(model, OffPolicyAlgorithm):
            model.load_replay_buffer(buffer)
        try:
            with (self.folder / "envs.pkl").open("rb") as file:
                saved = pickle.load(file)
        except Exception:  # envs pickled by other code may not even load: keep the fresh ones
            if same_code:
                raise
            saved = None
        if same_code:
            restore_training_env(env, saved["envs"])
        else:
            step = int(state["num_timesteps"])
            print(
                f"{self.run_dir}: the environment code differs from the checkpoint's (step "
                f"{step}): training goes on with fresh environments, so this run no longer "
                "equals an uninterrupted one"
            )
            if saved is not None:
                restore_training_env(env, saved["envs"], counters_only=True)
            env.seed(fresh_env_seed(seed, step))
        best = self.folder / "best_model.zip"
        if best.is_file():  # not a best policy of the steps after the checkpoint
            output.write_atomically(
                self.run_dir / "best_model.zip", lambda path: shutil.copyfile(best, path)
            )
        if saved is None:
            return model
        generators = saved["generators"]
        torch.set_rng_state(generators["torch"])
        np.random.set_state(generators["numpy"])  # noqa: NPY002
        random.setstate(generators["random"])
        model.action_space.np_random.bit_generator.state = generators["action_space"]
        return model


def training_env_state(env: VecEnv | None) -> tuple[Any, list[int]]:
    """What a checkpoint keeps of the training envs that ``build_model`` makes (picklable),
    and the episodes each monitor file holds: for a ``DummyVecEnv``, each Monitor's inner env
    and counters; for a native vector env, the vector env and the ``VecMonitor``'s counters."""
    if isinstance(env, VecMonitor) and isinstance(env.venv, NativeVecEnv):
        fields = {name: getattr(env, name) for name in VEC_MONITOR_FIELDS}
        native = {"vector_env": env.venv.vector_env, "next_seed": env.venv.next_seed}
        return {**native, **fields}, [int(env.episode_count)]
    monitors = monitors_of(env)
    envs = [
        {"env": monitor.env, **{name: getattr(monitor, name) for name in MONITOR_FIELDS}}
        for monitor in monitors
    ]
    return envs, [len(monitor.episode_returns) for monitor in monitors]


def restore_training_env(env: VecEnv, saved: Any, counters_only: bool = False) -> None:
    """Put the state :func:`training_env_state` kept into the fresh training envs ``env``
    (``counters_only``: only the monitors' counters, the fresh envs kept)."""
    if isinstance(env, VecMonitor) and isinstance(env.venv, NativeVecEnv):
        if not isinstance(saved, dict) or "vector_env" not in saved:
            raise ValueError("the checkpoint holds scalar envs, the run a native vector env")
        vector_env, next_seed = saved.pop("vector_env"), saved.pop("next_seed")
        if not counters_only:
            env.venv.vector_env.close()
            env.venv.vector_env = vector_env
            env.venv.next_seed = next_seed  # not the seed the model's load set
        for name, value in saved.items():
            setattr(env, name, value)
        return
    monitors = monitors_of(env)
    if not isinstance(saved, list) or len(monitors) != len(saved):
        raise ValueError("the checkpoint's training envs do not match the run's")
    for monitor, fields in zip(monitors, saved, strict=True):
        inner = fields.pop("env")
        if not counters_only:
            monitor.env.close()
            monitor.env = inner
        for name, value in fields.items():
            setattr(monitor, name, value)


ENV_CODE_SKIPPED = ("train", "eval", "agents")
"""Subpackages of ``mec_gym`` that :func:`env_code_fingerprint` leaves out (in an installed
wheel they sit in the package folder; none of them defines an environment)."""


@functools.cache  # the code does not change while a process runs
def env_code_fingerprint() -> str:
    """SHA-256 of the environment library's source and data files (``mec_gym``'s folder but
    ``ENV_CODE_SKIPPED``): a checkpoint's pickled envs are restored only under the same code."""
    root = Path(mec_gym.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.suffix not in (".py", ".json") or relative.parts[0] in ENV_CODE_SKIPPED:
            continue
        digest.update(str(relative).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fresh_env_seed(seed: int, step: int) -> int:
    """The seed of fresh training envs of a run of ``seed`` resumed at ``step``: at least
    2^32, so that it is none of the fixed evaluation seeds, and different at every step."""
    return 2**32 + int(np.random.SeedSequence((seed, step)).generate_state(1)[0])


def monitors_of(env: VecEnv | None) -> list[Monitor]:
    """The Monitor of each env of a ``DummyVecEnv`` built by ``build_model``."""
    if not isinstance(env, DummyVecEnv) or not all(isinstance(e, Monitor) for e in env.envs):
        raise TypeError("checkpoints need the training envs that build_model makes")
    return list(env.envs)  # type: ignore[arg-type]


def prune_events(folder: Path, last_step: int) -> int:
    """Drop the TensorBoard events after ``last_step`` from the event files under ``folder``
    (rewritten atomically); the number of events dropped."""
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    dropped = 0
    for path in sorted(folder.rglob("events.out.tfevents.*")):
        records = list(RawEventFileLoader(str(path)).Load())
        kept = [r for r in records if event_pb2.Event.FromString(r).step <= last_step]
        if len(kept) == len(records):
            continue
        dropped += len(records) - len(kept)

        def write(temporary: Path, kept: list[bytes] = kept) -> None:
            with temporary.open("wb") as file:
                writer = RecordWriter(file)
                for record in kept:
                    writer.write(record)

        output.write_atomically(path, write)
    return dropped


def truncate_monitor_files(run_dir: Path, episodes_per_file: Sequence[int]) -> None:
    """Keep the first ``episodes_per_file[i]`` episodes of the i-th monitor file (its two header
    lines and those rows): the episodes finished by the checkpoint."""
    for path, episodes in zip(monitor_files(run_dir), episodes_per_file, strict=False):
        lines = path.read_text().splitlines(keepends=True)
        if len(lines) > 2 + episodes:
            output.write_atomically(
                path, lambda p, k=lines[: 2 + episodes]: p.write_text("".join(k))
            )


def monitor_files(run_dir: Path) -> list[Path]:
    """The run's monitor files: ``monitor.csv`` (native vector env) or ``<i>.monitor.csv``."""
    native = run_dir / "monitor.csv"
    if native.is_file():
        return [native]
    return sorted(run_dir.glob("*.monitor.csv"), key=lambda p: int(p.name.split(".")[0]))


# ------------------------------------------------------------------------------------ callbacks
class EpisodeInfoCallback(BaseCallback):
    """Log the mean of each Monitor info keyword over the episodes finished in each rollout, as
    ``episode/score`` (the env's score) and ``episode/<component>``."""

    def __init__(self, keywords: Sequence[str]) -> None:
        super().__init__()
        self.keywords = tuple(keywords)
        self.tags = ("episode/score", *(f"episode/{key}" for key in self.keywords[1:]))
        self.values: dict[str, list[float]] = {key: [] for key in self.keywords}

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            episode = info.get("episode")
            if episode is not None:
                for key in self.keywords:
                    self.values[key].append(float(episode[key]))
        return True

    def _on_rollout_end(self) -> None:
        for tag, values in zip(self.tags, self.values.values(), strict=True):
            if values:
                self.logger.record(tag, float(np.mean(values)))
            values.clear()


class RunCallback(BaseCallback):
    """Every ``eval_freq`` timesteps, evaluate the agent deterministically on the validation
    seeds and log it beside each baseline's constant validation score; keep the best policy so
    far as ``best_model.zip``; every ``checkpoint_freq`` timesteps, write a checkpoint; once
    ``interrupted`` is set (Ctrl-C), write one at the next rollout start and stop there.

    Evaluations and checkpoints happen at the start of a rollout, right after a policy update,
    so that no two evaluations see the same policy and a checkpoint holds no partial rollout.
    """

    def __init__(
        self,
        run_dir: Path,
        env_id: str,
        env_kwargs: dict[str, Any],
        seeds: Sequence[int],
        eval_freq: int,
        checkpoint_freq: int,
        baselines: dict[str, tuple[EvalResult, Logger]],
        state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.run_dir = run_dir
        self.checkpoint = Checkpoint(run_dir)
        self.env_id = env_id
        self.env_kwargs = env_kwargs
        self.seeds = tuple(seeds)
        self.eval_freq = eval_freq
        self.checkpoint_freq = checkpoint_freq
        self.baselines = baselines
        self.eval_logger = tensorboard_logger(run_dir / "agent")
        """The agent's evaluations: a logger of their own, so that their dumps do not flush
        the values SB3 records between its own dumps."""
        self.interrupted = False
        """Set by Ctrl-C: checkpoint at the next rollout start, then stop."""
        self.stopping = False
        state = state or {}
        self.best_step: int | None = state.get("best_step")
        self.best_score: float = state.get("best_score", -np.inf)
        self.history: dict[str, list] = state.get("history", {"steps": [], "scores": []})
        """Validation evaluations so far: their steps and per-episode scores."""
        self.next_eval: int = state.get("next_eval", eval_freq)
        self.next_checkpoint: int = state.get("next_checkpoint", checkpoint_freq)

    def state(self) -> dict[str, Any]:
        """What a checkpoint keeps of this callback (YAML-able)."""
        return {
            "best_step": self.best_step,
            "best_score": float(self.best_score),
            "history": self.history,
            "next_eval": self.next_eval,
            "next_checkpoint": self.next_checkpoint,
        }

    def _on_rollout_start(self) -> None:
        step = self.num_timesteps
        if step >= self.next_eval:
            self.evaluate(step)
        if step >= self.next_checkpoint or self.interrupted:
            self.save_checkpoint()
        self.stopping = self.interrupted

    def _on_step(self) -> bool:
        return not self.stopping  # after an interrupted rollout start's checkpoint: stop

    def save_checkpoint(self) -> None:
        """Write a checkpoint of the model and this run's state now (the next one is due a
        ``checkpoint_freq`` multiple later)."""
        self.next_checkpoint = next_multiple(self.num_timesteps, self.checkpoint_freq)
        self.checkpoint.save(self.model, self.state())

    def evaluate(self, step: int) -> None:
        """Evaluate the current policy on the validation seeds, log it, keep it if best (the
        next evaluation is due an ``eval_freq`` multiple later)."""
        self.next_eval = next_multiple(step, self.eval_freq)
        result = evaluate_policy(
            self.model, self.env_id, self.env_kwargs, self.seeds, name="agent", hindsight=False
        )
        self.log_evaluation(result, step)
        self.history["steps"].append(int(step))
        self.history["scores"].append([float(s) for s in result.episode_score])
        score = result.protocol.sign * result.mean_ci()[0]
        if score > self.best_score:
            self.best_score, self.best_step = score, int(step)
            output.write_atomically(self.run_dir / "best_model.zip", self.model.save)
        write_evaluations(self.run_dir, self.history)

    def log_evaluation(self, result: EvalResult, step: int) -> None:
        """Log the agent's ``result`` and every baseline's score at ``step``; print a summary."""
        record_result(self.eval_logger, result, step)
        for baseline, logger in self.baselines.values():
            record_result(logger, baseline, step)
        best = max(
            ((name, b.mean_ci()[0]) for name, (b, _) in self.baselines.items()),
            key=lambda item: result.protocol.sign * item[1],
            default=None,
        )
        against = f" (best baseline {best[0]}: {best[1]:.4f})" if best else ""
        print(
            f"step {step}: agent {result.protocol.score} {format_mean_ci(*result.mean_ci())} "
            f"on the validation seeds{against}"
        )


def next_multiple(step: int, every: int) -> int:
    """The first multiple of ``every`` after ``step``."""
    return (step // every + 1) * every


def write_evaluations(run_dir: Path, history: dict[str, list]) -> None:
    """``evaluations.npz`` in SB3's EvalCallback format: ``timesteps`` and ``results`` (one row
    of episode scores per evaluation), ``ep_lengths`` (0: not recorded)."""
    steps = np.asarray(history["steps"], dtype=np.int64)
    results = np.asarray(history["scores"], dtype=float)

    def write(temporary: Path) -> None:
        with temporary.open("wb") as file:
            np.savez(file, timesteps=steps, results=results, ep_lengths=np.zeros_like(results))

    output.write_atomically(run_dir / "evaluations.npz", write)


def plot_learning_curve(
    run_dir: Path, history: dict[str, list], baselines: Sequence[EvalResult], score: str
) -> None:
    """``learning_curve.png``: the agent's validation score (mean and 95% CI band) against the
    steps, each baseline's validation score as a horizontal line with its CI band."""
    fig, ax = output.subplots(figsize=(7, 4))
    if history["steps"]:
        steps = np.asarray(history["steps"])
        stats = np.array([mean_ci(np.asarray(s)) for s in history["scores"]])
        ax.plot(steps, stats[:, 0], marker="o", color="black", label="agent")
        ax.fill_between(steps, *(stats[:, 0] + np.array([[-1], [1]]) * stats[:, 1]), alpha=0.2)
    for index, baseline in enumerate(baselines):
        mean, half = baseline.mean_ci()
        color = f"C{index % 10}"
        ax.axhline(mean, color=color, linestyle="--", linewidth=1, label=baseline.name)
        if np.isfinite(half):
            ax.axhspan(mean - half, mean + half, color=color, alpha=0.08)
    ax.set_xlabel("training steps")
    ax.set_ylabel(f"validation {score} (95% CI)")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    output.save_figure(fig, run_dir / "learning_curve.png")


@contextmanager
def stop_on_interrupt(callback: RunCallback) -> Iterator[None]:
    """While training, Ctrl-C (SIGINT) asks ``callback`` to checkpoint and stop at the next
    rollout start; a second Ctrl-C stops at once."""
    if threading_main():
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: Any) -> None:
            if callback.interrupted:  # a second Ctrl-C: stop at once
                signal.signal(signal.SIGINT, previous)
                raise KeyboardInterrupt
            print("\nCtrl-C: stopping after this rollout, with a checkpoint ...", flush=True)
            callback.interrupted = True

        signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)
    else:
        yield


def threading_main() -> bool:
    """Whether this is the main thread (the only one that may set signal handlers)."""
    import threading

    return threading.current_thread() is threading.main_thread()


# ----------------------------------------------------------------------------------------- main
def run_config(algo: str, args: argparse.Namespace) -> dict[str, Any]:
    """What ``config.yaml`` holds: the settings ``--resume`` restores, and for the record the
    env's full configuration, its score and the package versions."""
    protocol = protocol_for(args.env)
    return {
        "algo": algo,
        "env_id": args.env,
        "seed": args.seed,
        "timesteps": args.timesteps,
        "n_envs": args.n_envs,
        "eval_episodes": args.eval_episodes,
        "eval_freq": args.eval_freq,
        "checkpoint_freq": args.checkpoint_freq,
        "no_baselines": bool(args.no_baselines),
        "vec_env": args.vec_env,
        "eval_seeds": list(EVAL_SEEDS[: args.eval_episodes]),
        "validation_seeds": list(VALIDATION_SEEDS[: args.eval_episodes]),
        "score": protocol.score,
        "higher_is_better": protocol.higher_is_better,
        "hyperparams": args.hyperparams,
        "env_kwargs": args.env_kwargs,
        "env_config": env_config(args.env, args.env_kwargs),
        "versions": output.package_versions(),
    }


def evaluate_baselines(
    args: argparse.Namespace, run_dir: Path
) -> tuple[dict[str, tuple[EvalResult, Logger]], list[EvalResult]]:
    """Each baseline's validation result (with its TensorBoard logger) and test result."""
    baselines: dict[str, tuple[EvalResult, Logger]] = {}
    tests: list[EvalResult] = []
    if args.no_baselines:
        return baselines, tests
    env_id, env_kwargs = args.env, args.env_kwargs
    seeds = EVAL_SEEDS[: args.eval_episodes]
    validation_seeds = VALIDATION_SEEDS[: args.eval_episodes]
    print(f"Building and evaluating the baselines of {env_id} on {len(seeds)} seeds ...")
    for name, policy in build_baselines(env_id, env_kwargs, seed=args.seed).items():
        result = evaluate_policy(policy, env_id, env_kwargs, seeds, name=name, hindsight=True)
        tests.append(result)
        validation = evaluate_policy(
            policy, env_id, env_kwargs, validation_seeds, name=name, hindsight=False
        )
        folder = run_dir / f"baseline_{name.replace('/', '_')}"  # share_1/2: one folder
        baselines[name] = (validation, tensorboard_logger(folder))
        print(f"  {name}: {result.protocol.score} {format_mean_ci(*result.mean_ci())}")
    return baselines, tests


def train(algo: str, args: argparse.Namespace) -> Path:
    """Run the training that ``mec_gym.train.cli.parse_args`` checked (see the module
    docstring); return the run folder. A new run that fails before its first checkpoint
    leaves no folder (nor an empty env folder); Ctrl-C writes a checkpoint and exits with
    status 130."""
    torch.set_num_threads(args.threads)
    resuming = args.resume_config is not None
    run_dir = args.resume if resuming else make_run_dir(args.logdir, args.env, algo, args.seed)
    try:
        return run_training(algo, args, run_dir, resuming)
    except BaseException:
        if not resuming and not Checkpoint(run_dir).exists():
            shutil.rmtree(run_dir, ignore_errors=True)
            with contextlib.suppress(OSError):  # and the env's folder, if nothing else is in it
                run_dir.parent.rmdir()
        raise


def run_training(algo: str, args: argparse.Namespace, run_dir: Path, resuming: bool) -> Path:
    """The body of :func:`train` in ``run_dir``."""
    env_id, env_kwargs = args.env, args.env_kwargs
    checkpoint = Checkpoint(run_dir)
    state: dict[str, Any] | None = None
    if resuming:
        if not checkpoint.exists():
            raise SetupError(f"--resume: {run_dir} has no checkpoint to continue from")
        state = checkpoint.state()
        step = int(state["num_timesteps"])
        if args.timesteps <= step:
            raise SetupError(
                f"--resume: the checkpoint is at step {step}, the total asked is "
                f"{args.timesteps}: give a larger --timesteps to train on"
            )
        dropped = prune_events(run_dir, step)
        truncate_monitor_files(run_dir, state["episodes_per_file"])
        config = {**args.resume_config, "timesteps": args.timesteps}
        print(
            f"Resuming {run_dir} at step {step} of {args.timesteps} ({dropped} TensorBoard "
            "events after the checkpoint dropped)"
        )
    else:
        config = run_config(algo, args)
    text = yaml.dump(config, Dumper=_PlainDumper, sort_keys=False, default_flow_style=None)
    output.write_atomically(run_dir / "config.yaml", lambda path: path.write_text(text))
    print(f"Run folder: {run_dir}")

    baselines, baseline_tests = evaluate_baselines(args, run_dir)
    model, env = build_model(
        algo,
        env_id,
        env_kwargs,
        args.hyperparams,
        args.n_envs,
        args.seed,
        run_dir,
        resuming,
        args.vec_env,
    )
    if resuming:
        model = checkpoint.load(algo, env, args.seed)
    model.set_logger(tensorboard_logger(run_dir / "agent"))
    validation_seeds = VALIDATION_SEEDS[: args.eval_episodes]
    run = RunCallback(
        run_dir,
        env_id,
        env_kwargs,
        validation_seeds,
        args.eval_freq,
        args.checkpoint_freq,
        baselines,
        state,
    )
    protocol = protocol_for(env_id)
    try:
        with warnings.catch_warnings(), stop_on_interrupt(run):
            warnings.simplefilter("ignore", TqdmExperimentalWarning)  # SB3's rich progress bar
            model.learn(
                total_timesteps=args.timesteps - model.num_timesteps,
                callback=[EpisodeInfoCallback(episode_info_keywords(env_id)), run],
                progress_bar=True,
                reset_num_timesteps=False,
            )
        if run.stopping:  # the checkpoint was written at the rollout start after Ctrl-C
            plot_learning_curve(
                run_dir, run.history, [b for b, _ in baselines.values()], protocol.score
            )
            script = f"train/{algo}.py"
            print(
                f"Interrupted at step {model.num_timesteps}: checkpoint written; continue "
                f"with: python {script} --resume {run_dir}"
            )
            raise SystemExit(130)
        model.save(run_dir / "model.zip")
        if not run.history["steps"] or run.history["steps"][-1] != model.num_timesteps:
            run.evaluate(model.num_timesteps)
        run.save_checkpoint()
    finally:
        env.close()
        model.logger.close()
        run.eval_logger.close()
        for _, logger in baselines.values():
            logger.close()

    plot_learning_curve(run_dir, run.history, [b for b, _ in baselines.values()], protocol.score)
    seeds = EVAL_SEEDS[: args.eval_episodes]
    chosen = ALGOS[algo].load(run_dir / "best_model.zip", device="cpu")
    results = [evaluate_policy(chosen, env_id, env_kwargs, seeds, name=algo, hindsight=True)]
    if run.best_step != model.num_timesteps:  # the last policy, if another one
        results.append(
            evaluate_policy(model, env_id, env_kwargs, seeds, f"{algo}_last", hindsight=False)
        )
    print(
        f"Checkpoint: step {run.best_step} of {model.num_timesteps} (best on the validation "
        f"seeds); the table scores it ({algo}), and the last policy ({algo}_last) if another "
        "one, on the test seeds."
    )
    markdown = write_comparison([*results, *baseline_tests], run_dir)
    print_markdown(markdown)
    tensorboard = Path(sys.executable).parent / "tensorboard"
    command = str(tensorboard) if tensorboard.exists() else "tensorboard"
    print(f"Run folder: {run_dir}")
    print(
        f"TensorBoard: {command} --logdir {run_dir.parent.parent}  (then open "
        "http://localhost:6006)"
    )
    return run_dir


def print_markdown(markdown: str) -> None:
    """Print Markdown rendered by rich when stdout is a terminal, as plain text otherwise."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(markdown))
    else:
        print(markdown)
