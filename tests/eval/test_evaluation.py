"""Evaluation harness and comparison tables."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from mec_gym.agents.multistep import AlwaysLocalPolicy
from mec_gym.eval.evaluation import EVAL_SEEDS, evaluate_policy, mean_ci, write_comparison

ENV_ID = "MultiStepOffload-v0"


def test_mean_ci_matches_student_t():
    mean, half = mean_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    assert mean == 2.5
    assert half == pytest.approx(3.182446 * np.std([1, 2, 3, 4], ddof=1) / 2, rel=1e-5)


def test_evaluation_is_reproducible_and_tabulated(tmp_path):
    seeds = EVAL_SEEDS[:3]
    kwargs = {"tasks_per_episode": 20}
    a = evaluate_policy(AlwaysLocalPolicy(), ENV_ID, kwargs, seeds, "local")
    b = evaluate_policy(AlwaysLocalPolicy(), ENV_ID, kwargs, seeds, "local")
    np.testing.assert_array_equal(a.episode_score, b.episode_score)
    assert a.episode_score.shape == (3,)
    assert np.all(a.episode_hindsight >= a.episode_score)
    assert sum(a.extra["hindsight_choices"].values()) == 60
    markdown = write_comparison([a], tmp_path)
    assert "| local |" in markdown
    rows = list(csv.DictReader((tmp_path / "comparison.csv").open()))
    assert rows[0]["policy"] == "local"
    assert float(rows[0]["utility"]) == pytest.approx(a.mean_ci()[0])
