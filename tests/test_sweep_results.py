"""train/sweep.py (finished seeds kept, checkpointed ones resumed) and eval/results.py (the
results page of trained agents and baselines) with tiny budgets."""

from __future__ import annotations

from pathlib import Path

from mec_gym.eval import results
from mec_gym.train.sweep import latest_run, seed_argv, sweep

ENV_ID = "BandwidthSplit-v0"
TINY = [
    "--n-envs",
    "1",
    "--eval-episodes",
    "1",
    "--no-baselines",
    "--env-kwargs",
    "periods_per_episode=5",
    "--hyperparams",
    "n_steps=32",
    "batch_size=32",
    "n_epochs=1",
]


def fake_run(logdir: Path, seed: int, stamp: str, *files: str) -> Path:
    run = logdir / ENV_ID / f"ppo_s{seed}_{stamp}"
    for name in files:
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text("")
    run.mkdir(parents=True, exist_ok=True)
    return run


def test_a_seed_is_skipped_when_finished_resumed_with_a_checkpoint_started_otherwise(tmp_path):
    fake_run(tmp_path, 0, "20260101-000000", "comparison.md")
    stopped = fake_run(tmp_path, 1, "20260101-000000", "checkpoint/state.yaml")
    fake_run(tmp_path, 2, "20260101-000000")  # killed before its first checkpoint
    assert seed_argv("ppo", ENV_ID, 0, tmp_path, None, []) is None
    assert seed_argv("ppo", ENV_ID, 1, tmp_path, 99, []) == [
        "--resume",
        str(stopped),
        "--timesteps",
        "99",
    ]
    assert seed_argv("ppo", ENV_ID, 2, tmp_path, None, ["--n-envs", "1"])[:6] == [
        "--env",
        ENV_ID,
        "--seed",
        "2",
        "--logdir",
        str(tmp_path),
    ]
    newer = fake_run(tmp_path, 0, "20260101-000001")
    assert latest_run(tmp_path, ENV_ID, "ppo", 0) == newer


def test_a_sweep_trains_each_seed_once(tmp_path):
    runs = sweep("ppo", ENV_ID, [0, 1, 2], tmp_path, 64, TINY)
    assert [run.name.split("_")[1] for run in runs] == ["s0", "s1", "s2"]
    assert all((run / "comparison.md").is_file() for run in runs)
    assert sweep("ppo", ENV_ID, [0, 1, 2], tmp_path, 64, TINY) == runs
    assert len(list((tmp_path / ENV_ID).iterdir())) == 3


def test_the_results_page_holds_each_algorithm_over_its_seeds(tmp_path):
    out = results.main(
        [
            "--env",
            ENV_ID,
            "--algo",
            "ppo",
            "dqn",
            "--timesteps",
            "64",
            "--episodes",
            "2",
            "--logdir",
            str(tmp_path / "runs"),
            "--out",
            str(tmp_path / "docs"),
            "--",
            *TINY,
        ]
    )
    page = (out / "RESULTS.md").read_text()
    assert "| ppo (3 seeds) |" in page and "lookahead" in page  # dqn does not fit Box actions
    assert "dqn" not in page.split("## ")[1]
    assert "python eval/results.py" in page and "CPUs" in page
    assert (out / "results" / f"{ENV_ID}_scores.png").is_file()
