"""The Optuna tuning script: a tiny study runs end to end and writes its outputs."""

from __future__ import annotations

import pytest
import yaml

optuna = pytest.importorskip("optuna")

from mec_gym.train.tune import main, sample_ppo_params  # noqa: E402


def test_a_tiny_study_writes_the_trials_and_the_best_parameters(tmp_path):
    out = main(
        [
            "--env",
            "mec_gym:MultiStepOffload-v1",
            "--trials",
            "2",
            "--timesteps",
            "256",
            "--evaluations",
            "2",
            "--eval-episodes",
            "1",
            "--env-kwargs",
            "tasks_per_episode=10",
            "--out",
            str(tmp_path / "study"),
        ]
    )
    rows = (out / "study.csv").read_text().splitlines()
    assert len(rows) == 3  # header and two trials
    best = yaml.safe_load((out / "best.yml").read_text())
    assert "train/tune.py" in best["command"]
    assert set(best["params"]) == set(sample_ppo_params(optuna.trial.FixedTrial(best["params"])))


def test_bad_arguments_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--env", "NoSuchEnv-v0", "--out", str(tmp_path / "x")])
    assert "unknown environment" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--env", "MultiStepOffload-v1", "--trials", "0", "--out", str(tmp_path / "y")])
    assert "--trials" in capsys.readouterr().err
