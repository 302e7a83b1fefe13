"""The training command line: argument parsing, hyperparameters, and a tiny end-to-end run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from torch import nn

from mec_gym.train.common import (
    ALGOS,
    load_hyperparams,
    make_run_dir,
    mec_gym_env_ids,
    parse_args,
    resolve_policy_kwargs,
    resolve_schedule,
)

ENV_ID = "MultiStepOffload-v1"


def test_env_kwargs_values_are_parsed_as_yaml():
    args = parse_args("ppo", ["--env", ENV_ID, "--env-kwargs", "a=1", "b=[1,2]", "c=true", "d=x"])
    assert args.env_kwargs == {"a": 1, "b": [1, 2], "c": True, "d": "x"}
    assert args.hyperparams == {}


def test_hyperparams_overrides_are_parsed_as_yaml():
    args = parse_args("ppo", ["--env", ENV_ID, "--hyperparams", "learning_rate=1e-3", "n_steps=64"])
    assert args.hyperparams == {"learning_rate": 1e-3, "n_steps": 64}


@pytest.mark.parametrize("bad", ["tasks_per_episode", "=3"])
def test_key_without_equals_sign_is_a_clear_error(bad, capsys):
    with pytest.raises(SystemExit):
        parse_args("ppo", ["--env", ENV_ID, "--env-kwargs", bad])
    assert "expected key=value" in capsys.readouterr().err


def test_unknown_env_lists_the_registered_ids(capsys):
    with pytest.raises(SystemExit):
        parse_args("ppo", ["--env", "NoSuchEnv-v0"])
    error = capsys.readouterr().err
    assert "unknown environment 'NoSuchEnv-v0'" in error
    assert ENV_ID in error
    assert ENV_ID in mec_gym_env_ids()


def test_eval_episodes_must_fit_the_fixed_seeds(capsys):
    with pytest.raises(SystemExit):
        parse_args("ppo", ["--env", ENV_ID, "--eval-episodes", "0"])
    assert "--eval-episodes" in capsys.readouterr().err


@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_hyperparams_files_cover_the_run_and_accept_overrides(algo):
    params = load_hyperparams(algo, ENV_ID, {"n_steps": 64})
    assert params["n_steps"] == 64
    assert params["n_timesteps"] > 0 and params["n_envs"] > 0
    assert isinstance(resolve_policy_kwargs(params.get("policy_kwargs")), dict)


def test_unknown_hyperparameter_is_rejected():
    with pytest.raises(ValueError, match="unknown hyperparameters \\['learning_rat'\\]"):
        load_hyperparams("ppo", ENV_ID, {"learning_rat": 1e-3})


def test_policy_kwargs_from_a_string_or_dict():
    assert resolve_policy_kwargs("{'net_arch': [32]}") == {"net_arch": [32]}
    assert resolve_policy_kwargs({"activation_fn": "relu"}) == {"activation_fn": nn.ReLU}
    with pytest.raises(ValueError, match="activation_fn"):
        resolve_policy_kwargs({"activation_fn": "sigmoidish"})


def test_run_folders_are_never_reused(tmp_path):
    first = make_run_dir(tmp_path, ENV_ID, "ppo", 3)
    second = make_run_dir(tmp_path, ENV_ID, "ppo", 3)
    assert first != second and first.is_dir() and second.is_dir()
    assert first.parent == second.parent == tmp_path / ENV_ID
    assert first.name.startswith("ppo_s3_")


def scalar_tags(folder: Path) -> list[str]:
    """Scalar tags in the TensorBoard event files of ``folder``."""
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return accumulator.Tags()["scalars"]


TINY_RUNS = {
    "ppo": (ENV_ID, "utility", ["n_steps=128", "batch_size=64", "n_epochs=1"]),
    "maskable_ppo": (ENV_ID, "utility", ["n_steps=128", "batch_size=64", "n_epochs=1"]),
    "sac": ("PerTaskOffload-v1", "cost", ["learning_starts=64", "batch_size=64"]),
}
"""Per algorithm: an env whose actions it fits, the env's score, small hyperparameters."""


@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_tiny_training_run_writes_the_run_folder(algo, tmp_path):
    from mec_gym.train.common import main

    env_id, score, hyperparams = TINY_RUNS[algo]
    run_dir = main(
        algo,
        [
            "--env",
            env_id,
            "--timesteps",
            "256",
            "--n-envs",
            "1",
            "--eval-episodes",
            "2",
            "--eval-freq",
            "128",
            "--logdir",
            str(tmp_path),
            "--env-kwargs",
            "tasks_per_episode=20",
            "--hyperparams",
            *hyperparams,
        ],
    )
    assert run_dir.parent == tmp_path / env_id
    assert run_dir.name.startswith(f"{algo}_s0_")
    for name in ("model.zip", "best_model.zip", "comparison.md", "comparison.csv", "config.yaml"):
        assert (run_dir / name).is_file(), name
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    # the checkpoint is chosen on validation seeds, never on the test seeds of the table
    assert not set(config["validation_seeds"]) & set(config["eval_seeds"])
    table = (run_dir / "comparison.md").read_text()
    assert f"| {algo} |" in table and "paired" in table
    assert config["env_kwargs"]["tasks_per_episode"] == 20
    assert config["env_config"]["tasks_per_episode"] == 20
    assert config["hyperparams"]["batch_size"] == 64
    agent_tags = scalar_tags(run_dir / "agent")
    assert {f"eval/mean_{score}", "eval/ci95", "eval/delay"} <= set(agent_tags)
    assert f"episode/{score}" in agent_tags
    baselines = sorted(run_dir.glob("baseline_*"))
    assert baselines
    for folder in baselines:
        assert list(folder.glob("events.out.tfevents.*"))
        assert f"eval/mean_{score}" in scalar_tags(folder)


def test_an_algorithm_that_does_not_fit_the_actions_names_those_that_do():
    from mec_gym.train.common import build_model

    with pytest.raises(ValueError, match=r"SAC cannot train on .*train/ppo.py, train/maskable_ppo"):
        build_model("sac", ENV_ID, {}, load_hyperparams("sac", ENV_ID, {}), 1, 0)


def test_linear_schedules_decay_to_zero_and_bad_values_are_rejected():
    schedule = resolve_schedule("learning_rate", "lin_3e-4")
    assert schedule(1.0) == pytest.approx(3e-4) and schedule(0.5) == pytest.approx(1.5e-4)
    assert schedule(0.0) == 0.0
    assert resolve_schedule("clip_range", 0.2) == 0.2
    for bad in ("lin_x", "fast", True):
        with pytest.raises(ValueError, match="learning_rate"):
            resolve_schedule("learning_rate", bad)


def test_the_namespaced_env_id_is_accepted():
    assert parse_args("ppo", ["--env", f"mec_gym:{ENV_ID}"]).env == ENV_ID


def test_an_env_entry_can_set_env_kwargs_and_an_importable_policy():
    from mec_gym.agents.device_policy import DeviceSetPolicy
    from mec_gym.train.common import resolve_policy

    params = load_hyperparams("ppo", "JointOffload-v1", {})
    assert params["env_kwargs"] == {"action_mode": "offload"}
    assert resolve_policy(params["policy"]) is DeviceSetPolicy
    assert resolve_policy("MlpPolicy") == "MlpPolicy"
    with pytest.raises(ValueError, match="cannot be imported"):
        resolve_policy("mec_gym.agents.device_policy:NoSuchPolicy")
    with pytest.raises(ValueError, match="env_kwargs must be a mapping"):
        load_hyperparams("ppo", "JointOffload-v1", {"env_kwargs": 3})


def test_command_line_env_kwargs_update_the_yaml_ones(tmp_path):
    from mec_gym.train.common import main

    run_dir = main(
        "ppo",
        [
            "--env",
            "JointOffload-v1",
            "--timesteps",
            "64",
            "--n-envs",
            "1",
            "--eval-episodes",
            "1",
            "--no-baselines",
            "--logdir",
            str(tmp_path),
            "--env-kwargs",
            "num_devices=4",
            "rounds_per_episode=4",
            "--hyperparams",
            "n_steps=32",
            "batch_size=32",
            "n_epochs=1",
        ],
    )
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["env_kwargs"] == {
        "action_mode": "offload",
        "num_devices": 4,
        "rounds_per_episode": 4,
    }
    assert config["env_config"]["action_mode"] == "offload"
