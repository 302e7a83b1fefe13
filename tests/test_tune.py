"""The Optuna tuning script: a tiny study runs end to end and writes its outputs."""

from __future__ import annotations

import pytest
import yaml

optuna = pytest.importorskip("optuna")

from mec_gym.train.tune import current_params, main, sample_ppo_params  # noqa: E402


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


def test_the_shipped_settings_are_moved_into_the_search_space_and_out_must_be_fresh(
    tmp_path, capsys
):
    params = current_params("ppo", {"ent_coef": 0.0, "n_steps": 300, "learning_rate": 0.1})
    assert params["ent_coef"] == 1e-4 and params["n_steps"] == 256
    assert params["learning_rate"] == 3e-3
    schedules = current_params("ppo", {"learning_rate": "lin_3e-4", "clip_range": "lin_0.2"})
    assert (schedules["learning_rate"], schedules["clip_range"]) == (3e-4, 0.2)
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "trials.csv").write_text("")
    with pytest.raises(SystemExit):
        main(["--env", "BandwidthSplit-v0", "--out", str(tmp_path / "used")])
    assert "exists: a study writes into a fresh folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(
            [
                "--env",
                "BandwidthSplit-v0",
                "--env-kwargs",
                "no_such_field=1",
                "--out",
                str(tmp_path / "z"),
            ]
        )
    assert not (tmp_path / "z").exists()
