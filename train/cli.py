"""The training command line of ``train/<algo>.py``, checked before any heavy import.

Everything a user can get wrong (an option, an environment ID, a hyperparameter name or value,
an ``--env-kwargs`` entry, an algorithm that does not fit the env's actions, a run folder to
resume) is checked here with numpy, gymnasium and PyYAML only, and reported as one line naming
the option and the values allowed; torch and stable-baselines3 are imported only once the run
is valid (:func:`main` then calls :func:`mec_gym.train.common.train`).

Hyperparameters are rl-baselines3-zoo's format: ``train/hyperparams/<algo>.yml`` maps an env ID
to the entry used for it whole (here ``default`` for an ID without one, which
rl-baselines3-zoo does not do: it needs the ID's entry; entries share values with YAML anchors
and ``<<:`` merge keys), so that ``python -m rl_zoo3.train --algo ppo --env MultiStepOffload-v1
--gym-packages mec_gym -conf train/hyperparams/ppo.yml`` reads the same entries. An entry holds
the zoo's ``n_timesteps``, ``n_envs``, ``policy`` (an SB3 name or a dotted ``module.Class``
path), ``policy_kwargs``, ``env_kwargs`` and, for the off-policy algorithms, ``noise_type`` /
``noise_std``; every other key is a constructor argument of the algorithm
(:data:`HYPERPARAMETERS`). How many evaluation episodes an env takes is the
registry's (``EnvEntry.eval_episodes``), not a hyperparameter.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import yaml
from gymnasium import spaces

from mec_gym.registration import ENVS, canonical_id, env_entry

__all__ = [
    "SetupError",
    "ALGOS",
    "ACTION_SPACES",
    "HYPERPARAMETERS",
    "HARNESS_KEYS",
    "NOISE_TYPES",
    "ACTIVATION_NAMES",
    "HYPERPARAMS_DIR",
    "EVALUATIONS_PER_RUN",
    "parse_key_value",
    "add_key_value_argument",
    "mec_gym_env_ids",
    "native_env_ids",
    "fitting_algos",
    "env_problem",
    "unfit_message",
    "load_hyperparams",
    "check_schedule",
    "check_range",
    "schedule_start",
    "check_env",
    "parse_policy_kwargs",
    "build_parser",
    "parse_args",
    "main",
]


class SetupError(ValueError):
    """A run setting that only the algorithm's classes can check (a policy that cannot be
    imported, a resume past the requested total, ...): reported as a one-line error."""


ALGOS: dict[str, str] = {
    "ppo": "stable_baselines3:PPO",
    "maskable_ppo": "sb3_contrib:MaskablePPO",
    "a2c": "stable_baselines3:A2C",
    "sac": "stable_baselines3:SAC",
    "td3": "stable_baselines3:TD3",
    "dqn": "stable_baselines3:DQN",
}
"""Algorithm name (the script's and the YAML file's) -> ``"module:Class"`` of its SB3 class."""

DISCRETE_SPACES = (spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
ACTION_SPACES: dict[str, tuple[type[spaces.Space], ...]] = {
    "ppo": (spaces.Box, *DISCRETE_SPACES),
    "maskable_ppo": DISCRETE_SPACES,
    "a2c": (spaces.Box, *DISCRETE_SPACES),
    "sac": (spaces.Box,),
    "td3": (spaces.Box,),
    "dqn": (spaces.Discrete,),
}
"""The action spaces each algorithm acts in (as its SB3 class asserts)."""

_ON_POLICY = {
    "policy",
    "policy_kwargs",
    "learning_rate",
    "n_steps",
    "gamma",
    "gae_lambda",
    "ent_coef",
    "vf_coef",
    "max_grad_norm",
    "normalize_advantage",
    "rollout_buffer_class",
    "rollout_buffer_kwargs",
    "stats_window_size",
}
_PPO = _ON_POLICY | {"batch_size", "n_epochs", "clip_range", "clip_range_vf", "target_kl"}
_OFF_POLICY = {
    "policy",
    "policy_kwargs",
    "learning_rate",
    "buffer_size",
    "learning_starts",
    "batch_size",
    "tau",
    "gamma",
    "train_freq",
    "gradient_steps",
    "n_steps",
    "replay_buffer_class",
    "replay_buffer_kwargs",
    "optimize_memory_usage",
    "stats_window_size",
}
HYPERPARAMETERS: dict[str, frozenset[str]] = {
    "ppo": frozenset(_PPO | {"use_sde", "sde_sample_freq"}),
    "maskable_ppo": frozenset(_PPO),
    "a2c": frozenset(_ON_POLICY | {"use_sde", "sde_sample_freq", "rms_prop_eps", "use_rms_prop"}),
    "sac": frozenset(
        _OFF_POLICY
        | {
            "action_noise",
            "ent_coef",
            "target_update_interval",
            "target_entropy",
            "use_sde",
            "sde_sample_freq",
            "use_sde_at_warmup",
        }
    ),
    "td3": frozenset(
        _OFF_POLICY | {"action_noise", "policy_delay", "target_policy_noise", "target_noise_clip"}
    ),
    "dqn": frozenset(
        _OFF_POLICY
        | {
            "target_update_interval",
            "exploration_fraction",
            "exploration_initial_eps",
            "exploration_final_eps",
            "max_grad_norm",
        }
    ),
}
"""Constructor arguments of each algorithm that a YAML entry may set (the SB3 signature less
``env``, ``seed``, ``verbose``, ``device`` and ``tensorboard_log``, which the harness sets; the
test suite checks this table against the installed classes)."""

HARNESS_KEYS = ("n_timesteps", "n_envs", "env_kwargs")
"""Entry keys that configure the run (rl-baselines3-zoo's), not the algorithm."""
NOISE_TYPES = ("normal", "ornstein-uhlenbeck")
"""Values of ``noise_type`` (the zoo's action noise of the off-policy algorithms, with
``noise_std``)."""
NOISE_ALGOS = ("sac", "td3")
"""Algorithms whose entries may set ``noise_type`` and ``noise_std``."""
SCHEDULE_KEYS = ("learning_rate", "clip_range", "clip_range_vf")
"""Hyperparameters that may be ``lin_<initial>``: decayed linearly to 0 over training."""
ACTIVATION_NAMES = ("tanh", "relu", "elu", "leaky_relu")
"""Names allowed for ``policy_kwargs.activation_fn``."""

NON_NEGATIVE = (float, 0.0, math.inf)
FRACTION = (float, 0.0, 1.0)
COUNT = (int, 1, math.inf)
VALUE_RANGES: dict[str, tuple[type, float, float]] = {
    **dict.fromkeys(
        ("learning_rate", "clip_range", "clip_range_vf", "ent_coef", "vf_coef"), NON_NEGATIVE
    ),
    **dict.fromkeys(
        ("max_grad_norm", "target_policy_noise", "target_noise_clip", "noise_std"), NON_NEGATIVE
    ),
    **dict.fromkeys(("gamma", "gae_lambda", "tau", "exploration_fraction"), FRACTION),
    **dict.fromkeys(("exploration_initial_eps", "exploration_final_eps"), FRACTION),
    **dict.fromkeys(("n_steps", "batch_size", "n_epochs", "buffer_size", "train_freq"), COUNT),
    **dict.fromkeys(("target_update_interval", "policy_delay"), COUNT),
    "learning_starts": (int, 0, math.inf),
    "sde_sample_freq": (int, -1, math.inf),
}
"""(type, lowest, highest) of the numeric hyperparameters checked before training: a value
outside is a one-line error, as SB3 would fail on it (or train on it silently: a gamma above
1). Schedules (``lin_<x>``) are checked at their initial value; ``ent_coef`` may also be
SAC's ``"auto"`` / ``"auto_<x>"``, ``train_freq`` SB3's ``[n, "step"|"episode"]``."""
STRICTLY_POSITIVE = ("learning_rate", "clip_range", "clip_range_vf", "max_grad_norm", "tau")
"""Keys of :data:`VALUE_RANGES` that must be above their lowest value 0."""

MAX_SEED = 2**32 - 1
"""The largest seed numpy's and Gymnasium's generators take (sub-env i gets seed + i)."""
SB3_POLICY_NAMES = ("MlpPolicy", "CnnPolicy", "MultiInputPolicy")
"""Policy names SB3's algorithms know; any other ``policy`` is a ``module.Class`` path."""

HYPERPARAMS_DIR = Path(__file__).parent / "hyperparams"
RESUMED_SETTINGS = (
    "seed",
    "hyperparams",
    "env_kwargs",
    "n_envs",
    "eval_episodes",
    "eval_freq",
    "checkpoint_freq",
    "no_baselines",
    "vec_env",
)
"""The settings ``--resume`` takes from the run's ``config.yaml`` (beside the env ID)."""
VEC_ENVS = ("dummy", "native")
"""Values of ``--vec-env``."""
EVALUATIONS_PER_RUN = 8
"""Periodic evaluations of a run when ``--eval-freq`` is not given."""


# ---------------------------------------------------------------------------------- parsing
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
        first_line = str(error).splitlines()[0]
        raise argparse.ArgumentTypeError(
            f"cannot parse the value of {text!r}: {first_line}"
        ) from None
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


def native_env_ids() -> list[str]:
    """The IDs that have a native batched vector env (``EnvEntry.vector_entry_point``)."""
    return sorted(env_id for env_id, entry in ENVS.items() if entry.vector_entry_point)


def fitting_algos(action_space: gym.Space, masks: bool) -> list[str]:
    """The algorithms of ``ALGOS`` that can act in ``action_space`` (MaskablePPO only with
    ``masks``)."""
    return [
        name
        for name, kinds in ACTION_SPACES.items()
        if isinstance(action_space, kinds) and (name != "maskable_ppo" or masks)
    ]


# -------------------------------------------------------------------------- hyperparameters
def check_schedule(key: str, value: Any) -> None:
    """ValueError unless ``value`` is a number or ``"lin_<number>"`` (``clip_range_vf``: or
    None, SB3's default)."""
    if key == "clip_range_vf" and value is None:
        return
    if isinstance(value, bool):
        pass
    elif isinstance(value, (int, float)):
        return
    elif isinstance(value, str) and value.startswith("lin_"):
        with contextlib.suppress(ValueError):
            float(value[4:])
            return
    raise ValueError(f"{key} must be a number or 'lin_<number>', got {value!r}")


def check_range(key: str, value: Any, algo: str = "") -> None:
    """ValueError unless ``value`` of hyperparameter ``key`` has the type and range of
    :data:`VALUE_RANGES` (finite; :data:`STRICTLY_POSITIVE` keys above 0; a schedule at its
    initial value); ``ent_coef`` may be ``"auto"`` / ``"auto_<x>"`` for SAC, ``train_freq``
    ``[n, "step"|"episode"]``, ``clip_range_vf`` None."""
    kind, low, high = VALUE_RANGES[key]
    if key == "ent_coef" and algo == "sac" and isinstance(value, str) and value.startswith("auto"):
        initial = 1.0 if value == "auto" else parse_float(value.removeprefix("auto_"), key)
        if not (math.isfinite(initial) and initial > 0):
            raise ValueError(
                f"ent_coef 'auto_<x>' needs x > 0 (SAC's initial value), got {value!r}"
            )
        return
    if key == "clip_range_vf" and value is None:
        return
    if key == "train_freq" and isinstance(value, (list, tuple)):
        if len(value) != 2 or value[1] not in ("step", "episode"):
            raise ValueError(
                f'train_freq must be an integer or [n, "step"|"episode"], got {value!r}'
            )
        value = value[0]
    if key in SCHEDULE_KEYS:
        value = schedule_start(key, value)
    number_types = (int,) if kind is int else (int, float)
    ok = isinstance(value, number_types) and not isinstance(value, bool)
    if ok:  # finite, and an int64 at most
        finite = value < 2**63 if isinstance(value, int) else math.isfinite(value)
        ok = finite and low <= value <= high
    if not ok or (key in STRICTLY_POSITIVE and value == 0):
        name = "an integer" if kind is int else "a number"
        left = "(" if key in STRICTLY_POSITIVE else "["
        right = "]" if math.isfinite(high) else ")"
        raise ValueError(f"{key} must be {name} in {left}{low}, {high}{right}, got {value!r}")


def normalises_advantages(algo: str, params: dict[str, Any]) -> bool:
    """Whether ``algo`` with ``params`` normalises advantages (PPO's and MaskablePPO's default,
    A2C's option): SB3 then needs at least 2 samples per rollout (and per PPO minibatch)."""
    default = algo in ("ppo", "maskable_ppo")
    return algo in ("ppo", "maskable_ppo", "a2c") and bool(
        params.get("normalize_advantage", default)
    )


def schedule_start(key: str, value: Any) -> Any:
    """The initial value of a ``"lin_<x>"`` schedule of hyperparameter ``key`` (ValueError
    unless x is a number); any other value as it is."""
    if isinstance(value, str) and value.startswith("lin_"):
        return parse_float(value[4:], key)
    return value


def parse_float(text: str, key: str) -> float:
    """``text`` as a float, or ValueError naming hyperparameter ``key``."""
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{key}: {text!r} is not a number") from None


def parse_policy_kwargs(text: str) -> Any:
    """``policy_kwargs`` written as text: a Python literal (``"{'net_arch': [64]}"``) or the
    rl-baselines3-zoo's ``"dict(net_arch=[64], ...)"`` (nested ``dict(...)`` calls of
    literals); ValueError for anything else."""
    try:
        return _literal_or_dict_call(ast.parse(text, mode="eval").body)
    except (SyntaxError, ValueError) as error:
        reason = str(error) if "malformed node" not in str(error) else "not a literal"
        raise ValueError(f"policy_kwargs {text!r}: {reason}") from None


ZOO_ACTIVATIONS = {"Tanh": "tanh", "ReLU": "relu", "ELU": "elu", "LeakyReLU": "leaky_relu"}
"""The zoo's ``nn.<Module>`` activations and their names in :data:`ACTIVATION_NAMES`."""


def _literal_or_dict_call(node: ast.AST) -> Any:
    """The value of a literal node, ``dict(key=...)`` calls evaluated (their values likewise),
    the zoo's ``nn.ReLU`` and co. as activation names."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        if node.args or any(keyword.arg is None for keyword in node.keywords):
            raise ValueError("dict(...) takes keyword arguments only")
        return {keyword.arg: _literal_or_dict_call(keyword.value) for keyword in node.keywords}
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        if node.value.id == "nn" and node.attr in ZOO_ACTIVATIONS:
            return ZOO_ACTIVATIONS[node.attr]
        raise ValueError(f"unknown name {node.value.id}.{node.attr}")
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal_or_dict_call(item) for item in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        keys = [ast.literal_eval(key) for key in node.keys if key is not None]
        if len(keys) != len(node.keys) or not all(isinstance(key, str) for key in keys):
            raise ValueError("policy_kwargs keys must be names")
        values = [_literal_or_dict_call(value) for value in node.values]
        return dict(zip(keys, values, strict=True))
    return ast.literal_eval(node)


def load_hyperparams(
    algo: str, env_id: str, overrides: dict[str, Any], path: Path | None = None
) -> dict[str, Any]:
    """The entry of ``env_id`` in ``train/hyperparams/<algo>.yml`` (``default`` if it has none;
    rl-baselines3-zoo itself needs the ID's entry) updated by ``overrides``, checked:
    ValueError naming an unknown key with the allowed ones, a missing ``policy`` /
    ``n_timesteps``, or a bad value (:data:`VALUE_RANGES`, the policy, ``policy_kwargs``)."""
    path = path or HYPERPARAMS_DIR / f"{algo}.yml"
    table = yaml.safe_load(path.read_text()) or {}
    if env_id not in table and "default" not in table:
        raise ValueError(f"{path} has no entry for {env_id} and no default")
    params = {**table.get(env_id, table.get("default")), **overrides}
    allowed = HYPERPARAMETERS[algo] | set(HARNESS_KEYS)
    if algo in NOISE_ALGOS:
        allowed |= {"noise_type", "noise_std"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ValueError(
            f"unknown hyperparameters {unknown} for {algo}; allowed: {sorted(allowed)}"
        )
    missing = [key for key in ("policy", "n_timesteps") if key not in params]
    if missing:
        raise ValueError(f"{path} sets no {missing} for {env_id}")
    for key in ("n_timesteps", "n_envs"):
        value = params.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive integer, got {value!r}")
    if not isinstance(params.get("env_kwargs", {}), dict):
        raise ValueError(f"env_kwargs must be a mapping, got {params['env_kwargs']!r}")
    for key in SCHEDULE_KEYS:
        if key in params:
            check_schedule(key, params[key])
    for key, value in params.items():
        if key in VALUE_RANGES:
            check_range(key, value, algo)
    if algo != "a2c" and normalises_advantages(algo, params) and params.get("batch_size", 64) < 2:
        raise ValueError(
            f"batch_size must be >= 2 for {algo} with normalize_advantage, got "
            f"{params['batch_size']}"
        )
    policy = params["policy"]
    if not isinstance(policy, str) or (policy not in SB3_POLICY_NAMES and "." not in policy):
        raise ValueError(
            f"policy must be one of {list(SB3_POLICY_NAMES)} or a 'module.Class' path, "
            f"got {policy!r}"
        )
    policy_kwargs = params.get("policy_kwargs", {})
    if isinstance(policy_kwargs, str):
        policy_kwargs = parse_policy_kwargs(policy_kwargs)
    if not isinstance(policy_kwargs, dict):
        raise ValueError(f"policy_kwargs must be a mapping, got {policy_kwargs!r}")
    activation = policy_kwargs.get("activation_fn") if isinstance(policy_kwargs, dict) else None
    if isinstance(activation, str) and activation not in ACTIVATION_NAMES:
        raise ValueError(
            f"policy_kwargs.activation_fn must be one of {list(ACTIVATION_NAMES)}, "
            f"got {activation!r}"
        )
    if "noise_type" in params and params["noise_type"] not in NOISE_TYPES:
        raise ValueError(
            f"noise_type must be one of {list(NOISE_TYPES)}, got {params['noise_type']!r}"
        )
    if ("noise_type" in params) != ("noise_std" in params):
        raise ValueError("noise_type and noise_std go together")
    return params


# ------------------------------------------------------------------------------- command line
def build_parser(algo: str) -> argparse.ArgumentParser:
    """Command-line parser of ``train/<algo>.py``."""
    name = ALGOS[algo].partition(":")[2]
    parser = argparse.ArgumentParser(
        prog=f"train/{algo}.py",
        description=f"Train {name} on a mec_gym environment and compare it with the "
        "environment's analytic baselines on fixed evaluation seeds.",
    )
    parser.add_argument("--env", help=f"environment ID (or mec_gym:ID), one of {mec_gym_env_ids()}")
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from its last checkpoint (with --timesteps: to that "
        "total, which also stretches schedules such as lin_ rates and DQN's exploration); "
        "every other setting is the run's",
    )
    parser.add_argument(
        "--timesteps", type=int, help="training timesteps (default: n_timesteps in the YAML)"
    )
    parser.add_argument("--seed", type=int, help="training seed (default: 0)")
    parser.add_argument(
        "--n-envs", type=int, help="parallel training envs (default: n_envs in the YAML)"
    )
    add_key_value_argument(parser, "--env-kwargs", "keyword arguments of gymnasium.make")
    parser.add_argument("--logdir", type=Path, help="root of run folders (default: runs/)")
    parser.add_argument(
        "--eval-episodes",
        type=int,
        help="episodes per evaluation: the first fixed test seeds (final table) and "
        "validation seeds (checkpoint choice); default: the env's (registry)",
    )
    parser.add_argument(
        "--eval-freq",
        type=int,
        help=f"timesteps between evaluations (default: timesteps / {EVALUATIONS_PER_RUN})",
    )
    parser.add_argument(
        "--checkpoint-freq",
        type=int,
        help="timesteps between checkpoints (default: the evaluation frequency)",
    )
    parser.add_argument(
        "--vec-env",
        choices=VEC_ENVS,
        help="training envs: dummy (SB3's DummyVecEnv of scalar envs, the default) or native "
        "(the env's batched vector env: the same training, faster or not by ID and number of "
        "envs, see docs/bench_vector.md; IDs that have one: "
        f"{native_env_ids()})",
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
    """Parse and check ``argv`` completely (see the module docstring); errors exit through
    ``argparse`` with one line. The namespace gains ``hyperparams`` (the checked entry),
    ``env_kwargs`` (the entry's updated by the option's), ``timesteps``, ``n_envs``,
    ``eval_episodes``, ``eval_freq``, ``checkpoint_freq`` and ``resume_config`` (the resumed
    run's ``config.yaml``, or None)."""
    parser = build_parser(algo)
    args = parser.parse_args(argv)
    args.resume_config = None
    if args.resume is not None:
        restore_args(parser, args, algo)
    elif args.env is None:
        parser.error("the following arguments are required: --env (or --resume RUN_DIR)")
    else:
        args.seed = 0 if args.seed is None else args.seed
        args.vec_env = args.vec_env or "dummy"
        args.logdir = Path("runs") if args.logdir is None else args.logdir
    args.env = canonical_id(args.env)
    env_ids = mec_gym_env_ids()
    if args.env not in env_ids:
        parser.error(f"unknown environment {args.env!r}; registered mec_gym IDs: {env_ids}")
    if args.vec_env == "native" and args.env not in native_env_ids():
        parser.error(
            f"--vec-env native: {args.env} has no native vector env; IDs that have one: "
            f"{native_env_ids()}"
        )
    for name in ("timesteps", "n_envs", "eval_freq", "checkpoint_freq", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    # light: numpy and the registry
    from mec_gym.eval.evaluation import EVAL_SEEDS, check_training_env_seeds

    if args.eval_episodes is not None and not 1 <= args.eval_episodes <= len(EVAL_SEEDS):
        parser.error(f"--eval-episodes must be in [1, {len(EVAL_SEEDS)}], got {args.eval_episodes}")
    if args.resume_config is None:
        try:
            args.hyperparams = load_hyperparams(algo, args.env, dict(args.hyperparams))
        except ValueError as error:
            parser.error(f"--hyperparams / {HYPERPARAMS_DIR.name}/{algo}.yml: {error}")
        args.env_kwargs = {**args.hyperparams.get("env_kwargs", {}), **dict(args.env_kwargs)}
        args.n_envs = args.n_envs or int(args.hyperparams.get("n_envs", 1))
        args.eval_episodes = args.eval_episodes or env_entry(args.env).eval_episodes
    rollout = args.hyperparams.get("n_steps", 2) * args.n_envs
    if normalises_advantages(algo, args.hyperparams) and rollout < 2:
        parser.error(f"n_steps x --n-envs must be >= 2 for {algo} with normalize_advantage")
    train_freq = args.hyperparams.get("train_freq")
    if isinstance(train_freq, (list, tuple)) and train_freq[1] == "episode" and args.n_envs > 1:
        parser.error('train_freq [n, "episode"] trains on one env only: --n-envs 1')
    if not 0 <= args.seed <= MAX_SEED - args.n_envs + 1:
        parser.error(f"--seed must be in [0, {MAX_SEED - args.n_envs + 1}], got {args.seed}")
    try:
        check_training_env_seeds(args.seed, args.n_envs)
    except ValueError as error:
        parser.error(f"--seed {args.seed} with --n-envs {args.n_envs}: {error}")
    args.timesteps = args.timesteps or int(args.hyperparams["n_timesteps"])
    args.eval_freq = args.eval_freq or max(args.timesteps // EVALUATIONS_PER_RUN, 1)
    args.checkpoint_freq = args.checkpoint_freq or args.eval_freq
    check_env(parser, algo, args.env, args.env_kwargs)
    return args


def restore_args(parser: argparse.ArgumentParser, args: argparse.Namespace, algo: str) -> None:
    """Fill ``args`` from the ``config.yaml`` of the run folder ``args.resume`` (only
    ``--timesteps`` and ``--threads`` may be given beside ``--resume``)."""
    given = [
        flag
        for flag, value in (
            ("--env", args.env),
            ("--seed", args.seed is not None),
            ("--logdir", args.logdir),
            ("--n-envs", args.n_envs),
            ("--eval-episodes", args.eval_episodes),
            ("--eval-freq", args.eval_freq),
            ("--checkpoint-freq", args.checkpoint_freq),
            ("--env-kwargs", args.env_kwargs),
            ("--hyperparams", args.hyperparams),
            ("--no-baselines", args.no_baselines),
            ("--vec-env", args.vec_env),
        )
        if value
    ]
    if given:
        parser.error(f"--resume takes the run's settings; drop {', '.join(given)}")
    config_path = args.resume / "config.yaml"
    if not config_path.is_file():
        parser.error(f"--resume: {config_path} does not exist (not a run folder)")
    try:
        config = yaml.safe_load(config_path.read_text())
        if config.get("algo") != algo:
            parser.error(f"--resume: {args.resume} is a {config.get('algo')} run, not {algo}")
        for name in RESUMED_SETTINGS:
            setattr(args, name, config[name])
        args.env = config["env_id"]
    except (yaml.YAMLError, AttributeError, KeyError) as error:
        parser.error(f"--resume: {config_path} is not a complete run configuration ({error!r})")
    args.resume_config = config
    args.logdir = args.resume.parent.parent
    if args.timesteps is None:
        args.timesteps = config["timesteps"]


def env_problem(algo: str, env_id: str, env_kwargs: dict[str, Any]) -> str | None:
    """Why ``algo`` cannot train on ``env_id`` made with ``env_kwargs`` (a bad keyword argument,
    or actions the algorithm cannot take: the message lists the algorithms that can), or None."""
    try:
        env = gym.make(env_id, **env_kwargs)
    except (TypeError, ValueError) as error:
        return f"--env-kwargs: {error}"
    try:
        space = env.action_space
        masks = callable(getattr(env.unwrapped, "action_masks", None))
    finally:
        env.close()
    return unfit_message(algo, env_id, space, masks)


def unfit_message(algo: str, env_id: str, space: gym.Space, masks: bool) -> str | None:
    """None if ``algo`` can act in ``space`` (with action masks if ``masks``), else the one-line
    error that names the algorithms that can."""
    fitting = fitting_algos(space, masks)
    if algo in fitting:
        return None
    name = ALGOS[algo].partition(":")[2]
    reason = ", and it has no action_masks()" if algo == "maskable_ppo" and not masks else ""
    return (
        f"{name} cannot train on {env_id} (its actions: {type(space).__name__}{reason}); "
        f"algorithms that fit: {', '.join(f'train/{n}.py' for n in fitting)}"
    )


def check_env(
    parser: argparse.ArgumentParser, algo: str, env_id: str, env_kwargs: dict[str, Any]
) -> None:
    """Build the env once: a bad ``--env-kwargs`` entry or an algorithm that does not fit its
    actions is a one-line error (:func:`env_problem`)."""
    problem = env_problem(algo, env_id, env_kwargs)
    if problem is not None:
        parser.error(problem)


def main(algo: str, argv: Sequence[str] | None = None) -> Path:
    """Check the command line ``argv``, then train ``algo`` (``mec_gym.train.common.train``);
    return the run folder. A run that fails before its first checkpoint leaves no folder."""
    args = parse_args(algo, sys.argv[1:] if argv is None else argv)
    from mec_gym.train.common import train  # torch and stable-baselines3 from here on

    try:
        return train(algo, args)
    except SetupError as error:
        build_parser(algo).error(str(error).splitlines()[0])
