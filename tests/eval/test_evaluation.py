"""Evaluation harness and comparison tables."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from mec_gym.agents.multistep import AlwaysLocalPolicy
from mec_gym.eval.evaluation import EVAL_SEEDS, evaluate_policy, mean_ci, write_comparison

ENV_ID = "MultiStepOffload-v1"


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


def _result(name, scores, protocol, seeds=(1, 2, 3, 4, 5)):
    from mec_gym.eval.evaluation import EvalResult

    return EvalResult(name, protocol, tuple(seeds), np.asarray(scores, dtype=float), {})


def test_paired_advantage_on_a_constructed_example():
    from mec_gym.eval.evaluation import EvalProtocol, comparison_rows, paired_advantage

    cost = EvalProtocol("cost", False, (), ())
    # b is a plus a seed-dependent shift; the episodes share most of their variance
    a = _result("a", [1.0, 3.0, 5.0, 7.0, 9.0], cost)
    b = _result("b", [1.5, 3.2, 5.9, 7.1, 9.8], cost)
    differences = np.array([0.5, 0.2, 0.9, 0.1, 0.8])  # b - a: a costs less, so it is better
    mean, half = paired_advantage(a, b)
    assert mean == pytest.approx(differences.mean())
    t = 2.7764451051977987  # Student t, 97.5 %, 4 degrees of freedom
    assert half == pytest.approx(t * differences.std(ddof=1) / np.sqrt(5))
    assert half < mean_ci(a.episode_score)[1] / 5  # far tighter than the unpaired interval
    assert paired_advantage(b, a)[0] == pytest.approx(-mean)
    rows = comparison_rows([b, a])
    assert [r["policy"] for r in rows] == ["a", "b"]
    assert rows[0]["best_other"] == "b" and rows[0]["advantage"] == pytest.approx(mean)
    with pytest.raises(ValueError, match="same seeds"):
        paired_advantage(a, _result("c", [1.0] * 5, cost, seeds=(9, 8, 7, 6, 5)))


def test_a_score_that_is_not_finite_is_refused_and_never_shown_as_one_episode():
    from mec_gym.eval.evaluation import EvalProtocol, format_mean_ci

    cost = EvalProtocol("cost", False, (), ())
    assert cost.episode_score({"cost": 2.5}, "x") == 2.5
    for value in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"^ppo on E, seed 3: the episode's cost is"):
            cost.episode_score({"cost": value}, "ppo on E, seed 3")
    assert format_mean_ci(*mean_ci([1.0, np.nan, 3.0])) == "nan (not finite)"
    assert format_mean_ci(*mean_ci([2.0])) == "2.0000 (no CI: 1 episode)"


@pytest.mark.parametrize(
    ("seed", "num_envs", "held_out"),
    [(9998, 4, "test"), (10_099, 1, "test"), (19_999, 2, "calibration"), (30_000, 1, "validation")],
)
def test_training_envs_may_not_start_on_held_out_seeds(seed, num_envs, held_out):
    from mec_gym.eval.evaluation import check_training_env_seeds

    with pytest.raises(ValueError, match=f"would start on the {held_out} seeds"):
        check_training_env_seeds(seed, num_envs)


@pytest.mark.parametrize(("seed", "num_envs"), [(0, 8), (9996, 4), (10_100, 4), (30_100, 1)])
def test_training_envs_next_to_the_held_out_seeds_are_accepted(seed, num_envs):
    from mec_gym.eval.evaluation import check_training_env_seeds

    check_training_env_seeds(seed, num_envs)
