"""The training command line: argument checks, the hyperparameter files, a tiny run of every
(training script, environment) pair, checkpoints and resuming."""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mec_gym.registration import ENVS, env_entry
from mec_gym.train.cli import (
    ALGOS,
    HARNESS_KEYS,
    HYPERPARAMETERS,
    HYPERPARAMS_DIR,
    fitting_algos,
    load_hyperparams,
    mec_gym_env_ids,
    parse_args,
)
from tests.training import tiny_argv

ENV_ID = "MultiStepOffload-v1"
ROOT = Path(__file__).resolve().parents[1]


def error_of(capsys, algo: str, argv: list[str]) -> str:
    """The one-line error ``train/<algo>.py argv`` exits with."""
    with pytest.raises(SystemExit) as exit_info:
        parse_args(algo, argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


# --------------------------------------------------------------------------------- arguments
def test_env_kwargs_and_hyperparams_are_parsed_as_yaml_and_merged_over_the_entry():
    args = parse_args(
        "ppo",
        ["--env", ENV_ID, "--env-kwargs", "tasks_per_episode=5", "--hyperparams", "n_steps=64"],
    )
    assert args.env_kwargs == {"tasks_per_episode": 5}
    assert args.hyperparams["n_steps"] == 64
    assert args.hyperparams["gamma"] == 1.0  # the env's entry
    assert args.eval_episodes == env_entry(ENV_ID).eval_episodes
    assert args.timesteps == args.hyperparams["n_timesteps"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--env", ENV_ID, "--env-kwargs", "tasks_per_episode"], "expected key=value"),
        (["--env", "NoSuchEnv-v0"], "unknown environment 'NoSuchEnv-v0'"),
        (["--env", ENV_ID, "--eval-episodes", "0"], "--eval-episodes must be in [1, 100]"),
        (["--env", ENV_ID, "--timesteps", "0"], "--timesteps must be >= 1"),
        (["--env", ENV_ID, "--hyperparams", "learning_rat=1"], "unknown hyperparameters"),
        (["--env", ENV_ID, "--hyperparams", "learning_rate=fast"], "learning_rate must be"),
        (["--env", ENV_ID, "--env-kwargs", "tasks_per_episode=-3"], "--env-kwargs:"),
        (["--env", ENV_ID, "--env-kwargs", "no_such_field=1"], "--env-kwargs:"),
        ([], "--env (or --resume RUN_DIR)"),
        (["--resume", "/no/such/run"], "not a run folder"),
        (["--env", ENV_ID, "--seed", "-1"], "--seed must be in [0, "),
        (["--env", ENV_ID, "--seed", str(2**32)], "--seed must be in [0, "),
        (["--env", ENV_ID, "--seed", "9998", "--n-envs", "4"], "would start on the test seeds"),
        (["--env", ENV_ID, "--seed", "30099"], "would start on the validation seeds"),
    ],
)
def test_every_bad_input_is_one_line_naming_the_option(capsys, argv, expected):
    assert expected in error_of(capsys, "ppo", argv)


BAD_VALUES = {
    "learning_rate=-1": "learning_rate must be",
    "gamma=2": "gamma must be a number in [0.0, 1.0]",
    "n_epochs=0": "n_epochs must be an integer",
    "batch_size=abc": "batch_size must be an integer",
    "batch_size=1": "batch_size must be >= 2",
    "policy=FooPolicy": "policy must be one of",
}
"""A bad hyperparameter value (``--hyperparams``) and the start of its one-line error."""


@pytest.mark.parametrize("setting", sorted(BAD_VALUES))
def test_a_bad_hyperparameter_value_is_refused_before_training(capsys, setting):
    argv = ["--env", ENV_ID, "--hyperparams", setting]
    assert BAD_VALUES[setting] in error_of(capsys, "ppo", argv)


def test_the_sb3_forms_of_values_are_taken_and_the_rollout_checked_only_where_needed(capsys):
    rollout = ["--env", ENV_ID, "--hyperparams", "n_steps=1", "--n-envs", "1"]
    assert "n_steps x --n-envs" in error_of(capsys, "ppo", rollout)
    assert parse_args("a2c", rollout).hyperparams["n_steps"] == 1  # A2C needs no minibatch
    normalised = [*rollout[:4], "normalize_advantage=true", *rollout[4:]]
    assert "n_steps x --n-envs" in error_of(capsys, "a2c", normalised)  # unless it normalises
    episodic = ["--env", ENV_ID, "--hyperparams", "train_freq=[1, episode]", "--n-envs", "4"]
    assert "trains on one env only" in error_of(capsys, "dqn", episodic)
    unnormalised = [*rollout[:4], "normalize_advantage=false", "batch_size=1", *rollout[4:]]
    assert parse_args("ppo", unnormalised).hyperparams["batch_size"] == 1
    from mec_gym.train.cli import load_hyperparams

    for algo, values in (
        ("sac", {"train_freq": [1, "episode"], "ent_coef": "auto_0.1"}),
        ("ppo", {"clip_range_vf": None, "learning_rate": "lin_3e-4"}),
    ):
        assert load_hyperparams(algo, "default", values).items() >= values.items()
    for algo, values, message in (
        ("sac", {"train_freq": [1, "bogus"]}, "train_freq must be"),
        ("ppo", {"ent_coef": "auto"}, "ent_coef must be a number"),
        ("ppo", {"learning_rate": float("inf")}, "learning_rate must be"),
        ("ppo", {"n_steps": 10**400}, "n_steps must be an integer"),
        ("sac", {"ent_coef": "auto_0"}, "needs x > 0"),
    ):
        with pytest.raises(ValueError, match=message):
            load_hyperparams(algo, "default", values)


def test_argument_errors_come_before_the_heavy_imports():
    code = (
        "import sys\n"
        "from mec_gym.train.cli import parse_args\n"
        "try:\n"
        "    parse_args('ppo', ['--env', 'NoSuchEnv-v0'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('torch', 'stable_baselines3', 'sb3_contrib') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_an_algorithm_that_does_not_fit_the_actions_names_those_that_do(capsys):
    line = error_of(
        capsys, "dqn", ["--env", "PerTaskOffload-v1", "--env-kwargs", "action_mode=continuous"]
    )
    assert "DQN cannot train on PerTaskOffload-v1 (its actions: Box)" in line
    assert "train/ppo.py, train/a2c.py, train/sac.py, train/td3.py" in line
    line = error_of(capsys, "maskable_ppo", ["--env", "JointOffload-v1"])
    assert "has no action_masks()" in line


def test_the_namespaced_env_id_is_accepted():
    assert parse_args("ppo", ["--env", f"mec_gym:{ENV_ID}"]).env == ENV_ID
    assert ENV_ID in mec_gym_env_ids()


# --------------------------------------------------------------------------- hyperparameters
@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_the_hyperparameter_table_matches_the_algorithm_classes(algo):
    import importlib

    module, _, name = ALGOS[algo].partition(":")
    cls = getattr(importlib.import_module(module), name)
    harness = {"self", "env", "seed", "verbose", "device", "tensorboard_log", "_init_setup_model"}
    assert set(inspect.signature(cls.__init__).parameters) - harness == HYPERPARAMETERS[algo]


@pytest.mark.parametrize("algo", sorted(ALGOS))
def test_every_entry_is_complete_in_the_zoo_format(algo):
    """The zoo uses an env's entry whole and passes every key it does not know to the
    algorithm: every entry must hold policy and n_timesteps and only keys the zoo or the
    algorithm take (never eval_episodes)."""
    table = yaml.safe_load((HYPERPARAMS_DIR / f"{algo}.yml").read_text())
    assert "default" in table
    zoo_keys = {*HARNESS_KEYS, "noise_type", "noise_std"}
    for env_id, entry in table.items():
        assert env_id == "default" or env_id in ENVS, env_id
        assert {"policy", "n_timesteps"} <= set(entry), env_id
        assert set(entry) <= HYPERPARAMETERS[algo] | zoo_keys, (env_id, set(entry))
        policy = entry["policy"]
        assert ":" not in policy, "the zoo imports dotted module.Class paths only"
    for env_id in ENVS:  # and the harness loads each
        load_hyperparams(algo, env_id, {})


# ------------------------------------------------------------------------------- tiny runs
def pair_fits(algo: str, env_id: str) -> bool:
    """Whether ``algo`` fits ``env_id`` as its YAML entry poses it."""
    import gymnasium as gym

    env = gym.make(env_id, **load_hyperparams(algo, env_id, {}).get("env_kwargs", {}))
    try:
        masks = callable(getattr(env.unwrapped, "action_masks", None))
        return algo in fitting_algos(env.action_space, masks)
    finally:
        env.close()


PAIRS = [(algo, env_id) for algo in sorted(ALGOS) for env_id in sorted(ENVS)]


@pytest.mark.parametrize(("algo", "env_id"), PAIRS)
def test_a_tiny_run_of_every_script_on_every_env(algo, env_id, tmp_path, capsys):
    """Each pair the algorithm fits trains and writes its run folder; any other pair is
    refused in one line before a folder exists."""
    from mec_gym.train.cli import main

    argv = tiny_argv(algo, env_id, tmp_path)
    if not pair_fits(algo, env_id):
        with pytest.raises(SystemExit):
            main(algo, argv)
        assert "cannot train on" in capsys.readouterr().err
        assert not (tmp_path / env_id).exists()
        return
    run_dir = main(algo, argv)
    assert run_dir.parent == tmp_path / env_id and run_dir.name.startswith(f"{algo}_s0_")
    for name in (
        "model.zip",
        "best_model.zip",
        "comparison.md",
        "config.yaml",
        "evaluations.npz",
        "learning_curve.png",
        "0.monitor.csv",
    ):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "checkpoint" / "state.yaml").is_file()
    assert "no CI: 1 episode" in (run_dir / "comparison.md").read_text()  # not "± nan"


def scalars(folder: Path) -> dict[str, list[int]]:
    """Steps of every scalar tag in the TensorBoard event files of ``folder``, in step order
    (several files may hold one tag: a resumed run writes new ones)."""
    accumulator = EventAccumulator(str(folder))
    accumulator.Reload()
    return {
        tag: sorted(e.step for e in accumulator.Scalars(tag))
        for tag in accumulator.Tags()["scalars"]
    }


def test_a_run_with_baselines_writes_the_comparison_and_shared_tags(tmp_path):
    from mec_gym.train.cli import main

    argv = tiny_argv("ppo", ENV_ID, tmp_path, timesteps=128)
    argv.remove("--no-baselines")
    argv[argv.index("--eval-episodes") + 1] = "2"
    run_dir = main("ppo", [*argv, "--eval-freq", "64"])
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    # the checkpoint is chosen on validation seeds, never on the test seeds of the table
    assert not set(config["validation_seeds"]) & set(config["eval_seeds"])
    assert config["score"] == "utility" and config["higher_is_better"] is True
    table = (run_dir / "comparison.md").read_text()
    assert "| ppo |" in table and "paired" in table
    agent = scalars(run_dir / "agent")
    assert {"eval/score", "eval/score_ci95", "eval/delay", "episode/score"} <= set(agent)
    assert agent["eval/score"] == [64, 128]
    baselines = sorted(run_dir.glob("baseline_*"))
    assert baselines
    for folder in baselines:
        assert scalars(folder)["eval/score"] == [64, 128]
    evaluations = np.load(run_dir / "evaluations.npz")
    assert evaluations["timesteps"].tolist() == [64, 128]
    assert evaluations["results"].shape == (2, 2)


def test_a_failing_run_leaves_no_folder(tmp_path, capsys):
    from mec_gym.train.cli import main

    argv = tiny_argv("ppo", ENV_ID, tmp_path)
    with pytest.raises(SystemExit):
        main("ppo", [*argv, "policy=no_such_module.Policy"])
    assert "cannot be imported" in capsys.readouterr().err.strip().splitlines()[-1]
    assert not (tmp_path / ENV_ID).exists()  # nor the env folder the run made


# ---------------------------------------------------------------------------------- resuming
def policy_parameters(path: Path) -> dict[str, torch.Tensor]:
    from stable_baselines3 import PPO

    return PPO.load(path, device="cpu").policy.state_dict()


RESUME_ARGS = ["--n-envs", "2", "--eval-freq", "128", "--checkpoint-freq", "128"]


def test_a_resumed_run_continues_exactly_as_an_uninterrupted_one(tmp_path):
    """N steps, then --resume to 2N: the step counter, the TensorBoard curves and the monitor
    files continue with no gap and no duplicate, and the model equals one trained 2N steps at
    once (checkpoints hold the envs' states and the random generators)."""
    from mec_gym.train.cli import main

    first = main("ppo", [*tiny_argv("ppo", ENV_ID, tmp_path / "a", 256), *RESUME_ARGS])
    monitor_rows = len((first / "0.monitor.csv").read_text().splitlines())
    resumed = main("ppo", ["--resume", str(first), "--timesteps", "512"])
    assert resumed == first
    once = main("ppo", [*tiny_argv("ppo", ENV_ID, tmp_path / "b", 512), *RESUME_ARGS])
    a, b = policy_parameters(first / "model.zip"), policy_parameters(once / "model.zip")
    assert all(torch.equal(a[key], b[key]) for key in a)
    tags = scalars(first / "agent")
    assert tags["eval/score"] == [128, 256, 384, 512] == scalars(once / "agent")["eval/score"]
    assert tags["train/loss"] == sorted(set(tags["train/loss"]))
    assert yaml.safe_load((first / "checkpoint" / "state.yaml").read_text())["num_timesteps"] == 512
    assert len((first / "0.monitor.csv").read_text().splitlines()) > monitor_rows
    assert (first / "0.monitor.csv").read_text().startswith("#{")


@pytest.mark.parametrize("vec_env", ["dummy", "native"])
def test_a_checkpoint_of_other_environment_code_resumes_on_fresh_envs(tmp_path, capsys, vec_env):
    """A checkpoint written under other environment code (its fingerprint differs, or it has
    none) is not trusted for its pickled envs: the run goes on with fresh ones, reseeded, says
    so in one line, keeps its monitor files whole, and records the current code."""
    from mec_gym.train.cli import main
    from mec_gym.train.common import env_code_fingerprint, fresh_env_seed

    argv = [*tiny_argv("ppo", "BandwidthSplit-v0", tmp_path, 256), *RESUME_ARGS]
    run_dir = main("ppo", [*argv, "--vec-env", vec_env])
    state_file = run_dir / "checkpoint" / "state.yaml"
    state = yaml.safe_load(state_file.read_text())
    assert state["env_code"] == env_code_fingerprint()
    del state["env_code"]  # a checkpoint of older code
    state_file.write_text(yaml.safe_dump(state, sort_keys=False))
    monitor = run_dir / ("monitor.csv" if vec_env == "native" else "0.monitor.csv")
    rows = len(monitor.read_text().splitlines())
    capsys.readouterr()
    assert main("ppo", ["--resume", str(run_dir), "--timesteps", "512"]) == run_dir
    assert (
        "the environment code differs from the checkpoint's (step 256)" in capsys.readouterr().out
    )
    state = yaml.safe_load(state_file.read_text())
    assert state["num_timesteps"] == 512 and state["env_code"] == env_code_fingerprint()
    assert len(monitor.read_text().splitlines()) >= rows
    assert fresh_env_seed(0, 256) >= 2**32 and fresh_env_seed(0, 256) != fresh_env_seed(0, 384)


def test_resume_refuses_other_settings_and_a_finished_total(tmp_path, capsys):
    from mec_gym.train.cli import main

    run_dir = main("ppo", tiny_argv("ppo", ENV_ID, tmp_path))
    line = error_of(capsys, "ppo", ["--resume", str(run_dir), "--n-envs", "3"])
    assert "--resume takes the run's settings; drop --n-envs" in line
    line = error_of(capsys, "ppo", ["--resume", str(run_dir), "--vec-env", "dummy"])
    assert "drop --vec-env" in line  # even the default value, given, is another setting
    assert "is a ppo run, not a2c" in error_of(capsys, "a2c", ["--resume", str(run_dir)])
    with pytest.raises(SystemExit):
        main("ppo", ["--resume", str(run_dir)])
    assert "the checkpoint is at step 64, the total asked is 64" in capsys.readouterr().err


def test_pruning_drops_the_events_after_the_checkpoint(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    from mec_gym.train.common import prune_events

    writer = SummaryWriter(str(tmp_path))
    for step in range(10):
        writer.add_scalar("eval/score", float(step), step)
    writer.close()
    assert prune_events(tmp_path, 4) == 5
    assert scalars(tmp_path)["eval/score"] == [0, 1, 2, 3, 4]
    assert prune_events(tmp_path, 4) == 0


def start_run(tmp_path: Path, timesteps: int) -> tuple[subprocess.Popen, Path]:
    """``train/ppo.py`` in a subprocess, and its run folder once its first checkpoint exists."""
    argv = [*tiny_argv("ppo", ENV_ID, tmp_path, timesteps), *RESUME_ARGS]
    process = subprocess.Popen(
        [sys.executable, "train/ppo.py", *argv],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list((tmp_path / ENV_ID).glob("*/checkpoint/state.yaml"))
        if found:
            return process, found[0].parent.parent
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.02)
    raise AssertionError("no checkpoint within 120 s")


KILL_TOTAL = 1024


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> dict[str, torch.Tensor]:
    """The model of the run the killed and interrupted ones must end as."""
    from mec_gym.train.cli import main

    folder = tmp_path_factory.mktemp("once")
    run = main("ppo", [*tiny_argv("ppo", ENV_ID, folder, KILL_TOTAL), *RESUME_ARGS])
    return policy_parameters(run / "model.zip")


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_or_interrupted_run_resumes_to_the_same_model(tmp_path, kill, uninterrupted):
    """Killed (what was written after its checkpoint is dropped) or stopped with Ctrl-C (a
    checkpoint at the next rollout start, status 130), a run resumed to its total ends exactly
    as the uninterrupted run, with no duplicate or missing evaluation."""
    from mec_gym.train.cli import main

    process, run_dir = start_run(tmp_path / "killed", KILL_TOTAL)
    process.send_signal(kill)
    status = process.wait(60)
    assert status == (130 if kill == signal.SIGINT else -signal.SIGKILL)
    stopped_at = yaml.safe_load((run_dir / "checkpoint" / "state.yaml").read_text())
    assert 0 < stopped_at["num_timesteps"] < KILL_TOTAL
    assert stopped_at["num_timesteps"] % 64 == 0  # a rollout start (32 steps x 2 envs)
    main("ppo", ["--resume", str(run_dir)])
    assert scalars(run_dir / "agent")["eval/score"] == list(range(128, KILL_TOTAL + 1, 128))
    final = policy_parameters(run_dir / "model.zip")
    assert all(torch.equal(final[key], uninterrupted[key]) for key in final)


def test_an_off_policy_run_resumes_exactly(tmp_path):
    """SAC: the replay buffer, the envs and the generators come back with the checkpoint."""
    from stable_baselines3 import SAC

    from mec_gym.train.cli import main

    env_id = "BandwidthSplit-v0"
    half = main("sac", [*tiny_argv("sac", env_id, tmp_path / "a", 128), "--eval-freq", "64"])
    main("sac", ["--resume", str(half), "--timesteps", "256"])
    once = main("sac", [*tiny_argv("sac", env_id, tmp_path / "b", 256), "--eval-freq", "64"])
    a = SAC.load(half / "model.zip", device="cpu").policy.state_dict()
    b = SAC.load(once / "model.zip", device="cpu").policy.state_dict()
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_a_crash_inside_a_checkpoint_save_is_recovered(tmp_path):
    """Both the new checkpoint and the previous one renamed aside: the complete new one wins
    and the next save works; only the previous one: it is moved back."""
    from mec_gym.train.common import Checkpoint

    run_dir = tmp_path / "run"
    for name in ("checkpoint", "checkpoint.old"):
        (run_dir / name).mkdir(parents=True)
        (run_dir / name / "state.yaml").write_text(f"num_timesteps: {len(name)}")
    assert Checkpoint(run_dir).exists()
    assert not (run_dir / "checkpoint.old").exists()
    (run_dir / "checkpoint").rename(run_dir / "checkpoint.old")
    assert Checkpoint(run_dir).exists()
    assert Checkpoint(run_dir).state()["num_timesteps"] == len("checkpoint")


NATIVE_ENV = "TwoTimescale-v0"


def test_native_vector_training_equals_dummy_and_resumes_exactly(tmp_path):
    """--vec-env native trains the same model as SB3's DummyVecEnv, and resumes exactly."""
    from mec_gym.train.cli import main

    base = [
        *RESUME_ARGS,
        "--env-kwargs",
        "frames_per_episode=2",
        "slots_per_frame=10",
        "slot_action=ratio",
    ]

    def argv(folder: str, timesteps: int, vec_env: str) -> list[str]:
        args = tiny_argv("ppo", NATIVE_ENV, tmp_path / folder, timesteps)
        cut = args.index("--env-kwargs")  # replace the small kwargs by the ratio-action ones
        return [*args[:cut], *args[cut + 3 :], *base, "--vec-env", vec_env]

    dummy = main("ppo", argv("dummy", 512, "dummy"))
    half = main("ppo", argv("native", 256, "native"))
    main("ppo", ["--resume", str(half), "--timesteps", "512"])
    a, b = policy_parameters(dummy / "model.zip"), policy_parameters(half / "model.zip")
    assert all(torch.equal(a[key], b[key]) for key in a)
    rows = (half / "monitor.csv").read_text().splitlines()
    assert rows[0].startswith("#{") and len(rows) == 2 + 2 * (256 // 20)  # 2 envs, 20 slots


def test_native_vector_env_needs_an_env_that_has_one(capsys):
    line = error_of(capsys, "ppo", ["--env", ENV_ID, "--vec-env", "native"])
    assert f"{ENV_ID} has no native vector env" in line and "TwoTimescale-v0" in line


def test_a_seeded_run_repeated_in_fresh_processes_gives_the_same_curve_and_model(tmp_path):
    """Reproducibility: the same command in two fresh processes (one torch thread each, as the
    scripts set) writes the same evaluation curve and the same model, bit for bit."""
    runs = []
    for name in ("first", "second"):
        subprocess.run(
            [sys.executable, "train/ppo.py", *tiny_argv("ppo", ENV_ID, tmp_path / name, 256)]
            + ["--eval-freq", "128"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        (run,) = (tmp_path / name / ENV_ID).iterdir()
        runs.append(run)
    curves = [np.load(run / "evaluations.npz") for run in runs]
    for key in ("timesteps", "results"):
        np.testing.assert_array_equal(curves[0][key], curves[1][key])
    models = [policy_parameters(run / "model.zip") for run in runs]
    assert all(torch.equal(models[0][key], models[1][key]) for key in models[0])


def test_policy_kwargs_in_the_zoo_dict_form_are_read_and_code_is_refused():
    from mec_gym.train.cli import parse_policy_kwargs

    text = 'dict(net_arch=[32, 32], activation_fn="relu", optimizer_kwargs=dict(eps=1e-5))'
    assert parse_policy_kwargs(text) == {
        "net_arch": [32, 32],
        "activation_fn": "relu",
        "optimizer_kwargs": {"eps": 1e-5},
    }
    assert parse_policy_kwargs("{'net_arch': [64]}") == {"net_arch": [64]}
    assert parse_policy_kwargs("dict(activation_fn=nn.ReLU)") == {"activation_fn": "relu"}
    for code in ('__import__("os").system("true")', "dict(**globals())", "{1: 2}"):
        with pytest.raises(ValueError, match="policy_kwargs"):
            parse_policy_kwargs(code)
