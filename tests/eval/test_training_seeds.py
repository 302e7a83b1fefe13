"""The over-training-seeds summary: paired advantage per run, mean and spread over runs."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import yaml

from mec_gym.eval import training_seeds


def _run(folder, agent_scores, baseline_scores, seed=0, env_id="MultiStepOffload-v1", **extra):
    folder.mkdir()
    config = {"env_id": env_id, "seed": seed, "eval_seeds": list(range(10_000, 10_003)), **extra}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    with (folder / "comparison.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["policy", "utility"])
        writer.writerow(["ppo", np.mean(agent_scores) if agent_scores else 0.0])
        writer.writerow(["dt_stopping", np.mean(baseline_scores) if baseline_scores else 0.0])
    with (folder / "episode_scores.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["seed", "ppo", "dt_stopping"])
        for seed, (a, b) in enumerate(zip(agent_scores, baseline_scores, strict=True)):
            writer.writerow([seed, a, b])
    return folder


def test_paired_advantages_per_run_and_their_spread(tmp_path):
    first = _run(tmp_path / "s0", [0.5, 0.6, 0.7], [0.4, 0.6, 0.5])
    second = _run(tmp_path / "s1", [0.3, 0.3, 0.6], [0.4, 0.3, 0.5], seed=1)
    row = training_seeds.seed_row(first, "ppo", "dt_stopping")
    assert row["advantage"] == pytest.approx(0.1)
    differences = np.array([0.1, 0.0, 0.2])
    assert row["advantage_ci95"] == pytest.approx(4.302653 * differences.std(ddof=1) / np.sqrt(3))
    assert row["relative"] == pytest.approx(100 * 0.1 / 0.5)  # % of the baseline's magnitude
    training_seeds.main([str(first), str(second), "--out", str(tmp_path / "out")])
    rows = list(csv.DictReader((tmp_path / "out" / "training_seeds.csv").open()))
    assert float(rows[1]["advantage"]) == pytest.approx(0.0)
    assert float(rows[2]["advantage"]) == pytest.approx(0.05)
    assert float(rows[2]["advantage_sd"]) == pytest.approx(np.std([0.1, 0.0], ddof=1))
    with pytest.raises(ValueError, match="no policy"):
        training_seeds.seed_row(first, "sac", "dt_stopping")


def test_runs_of_one_seed_or_env_or_a_single_run_are_refused(tmp_path, capsys):
    first = _run(tmp_path / "a", [0.5, 0.6, 0.7], [0.4, 0.6, 0.5])
    same_seed = _run(tmp_path / "b", [0.5, 0.6, 0.7], [0.4, 0.6, 0.5])
    other_env = _run(tmp_path / "c", [0.5, 0.6, 0.7], [0.4, 0.6, 0.5], 2, "PerTaskOffload-v1")
    other_algo = _run(tmp_path / "d", [0.5, 0.6, 0.7], [0.4, 0.6, 0.5], 3, algo="sac")
    other_problem = _run(tmp_path / "e", [0.5], [0.4], 4, env_kwargs={"tasks_per_episode": 5})
    empty = _run(tmp_path / "f", [], [], 5)
    for runs, message in (
        ([first], "at least 2 run folders"),
        ([first, same_seed], "training seeds repeat"),
        ([first, other_env], "differ in env_id"),
        ([first, other_algo], "differ in algo"),
        ([first, other_problem], "differ in env_kwargs"),
        ([first, empty], "episode_scores.csv holds no episode"),
    ):
        with pytest.raises(SystemExit):
            training_seeds.main([*map(str, runs), "--out", str(tmp_path / "out")])
        assert message in capsys.readouterr().err.strip().splitlines()[-1]


def test_a_baseline_scoring_zero_and_fewer_than_three_seeds_are_reported(tmp_path):
    first = _run(tmp_path / "s0", [0.5, 0.6, 0.7], [0.0, 0.0, 0.0])
    second = _run(tmp_path / "s1", [0.3, 0.3, 0.6], [0.0, 0.0, 0.0], seed=1)
    assert np.isnan(training_seeds.seed_row(first, "ppo", "dt_stopping")["relative"])
    training_seeds.main([str(first), str(second), "--out", str(tmp_path / "out")])
    page = (tmp_path / "out" / "training_seeds.md").read_text()
    assert "Only 2 training seeds: the evaluation protocol asks for at least 3." in page
