"""Slot-level solvers of the two-timescale system: the closed-form compute split against cvxpy
and the equal split."""

from __future__ import annotations

import numpy as np
import pytest

from mec_gym.problems.two_timescale import SlotProblem, TwoTimescaleConfig, share_violations
from mec_gym.solvers.two_timescale import (
    closed_form_cost,
    closed_form_split,
    cvxpy_split,
    equal_split,
)

CONFIG = TwoTimescaleConfig()


def random_slot(
    seed: int, batch_shape: tuple[int, ...] = (), retrain_weight: float = 1.0
) -> SlotProblem:
    """A slot of the default system: batches U[0.2, 1] Mbit, a third of the MUs retrained on up
    to 1 Mbit, random association (some BSs may be empty) and random capacities."""
    rng = np.random.default_rng(seed)
    n, m = CONFIG.num_mus, CONFIG.num_bs
    shape = (*batch_shape, n)
    retrain_bits = rng.uniform(0, 1e6, shape) * (rng.random(shape) < 1 / 3)
    problem = SlotProblem.from_config(
        CONFIG,
        rng.uniform(CONFIG.batch_min_bits, CONFIG.batch_max_bits, shape),
        rng.uniform(1e6, 2e7, shape),
        rng.integers(0, m, shape),
        retrain_bits,
        retrain_weight,
    )
    capacity = rng.uniform(0.5, 1.5, (*batch_shape, m)) * CONFIG.bs_capacity
    return SlotProblem(
        problem.batch_bits,
        problem.rate,
        problem.association,
        problem.retrain_work,
        capacity,
        retrain_weight,
    )


def assert_feasible_and_full(problem: SlotProblem, shares) -> None:
    assert share_violations(problem, shares) == []
    used = problem.per_bs_sum(shares.inference + shares.retraining)
    has_users = problem.membership.any(axis=-2)
    assert np.allclose(used[has_users], problem.capacity[has_users], rtol=1e-12)
    assert np.all(used[~has_users] == 0)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("retrain_weight", [1.0, 3.0])
def test_closed_form_equals_cvxpy(seed, retrain_weight):
    pytest.importorskip("cvxpy")
    problem = random_slot(seed, retrain_weight=retrain_weight)
    closed = closed_form_split(problem)
    solved = cvxpy_split(problem)
    best = problem.evaluate(closed).weighted_total
    assert np.isclose(problem.evaluate(solved).weighted_total, best, rtol=1e-6, atol=0)
    capacity = problem.capacity[problem.association]
    assert np.allclose(closed.inference / capacity, solved.inference / capacity, atol=1e-4)
    assert np.allclose(closed.retraining / capacity, solved.retraining / capacity, atol=1e-4)
    assert share_violations(problem, solved, rtol=1e-6) == []


@pytest.mark.parametrize("seed", range(5))
def test_shares_feasible_and_closed_form_cost(seed):
    problem = random_slot(seed, batch_shape=(6, 4))
    shares = closed_form_split(problem)
    assert_feasible_and_full(problem, shares)
    assert_feasible_and_full(problem, equal_split(problem))
    delays = problem.evaluate(shares)
    compute = delays.weighted_total - delays.transmission.sum(axis=-1)
    assert np.allclose(compute, closed_form_cost(problem), rtol=1e-12)
    assert np.all(shares.retraining[problem.retrain_work == 0] == 0)


@pytest.mark.parametrize("seed", range(5))
def test_closed_form_never_worse_than_equal_split(seed):
    problem = random_slot(seed, batch_shape=(50,), retrain_weight=seed + 0.5)
    best = problem.evaluate(closed_form_split(problem)).weighted_total
    equal = problem.evaluate(equal_split(problem)).weighted_total
    assert np.all(best <= equal * (1 + 1e-12))
    assert np.any(best < equal)


def test_batched_split_equals_slot_by_slot():
    problem = random_slot(9, batch_shape=(3,))
    batched = closed_form_split(problem)
    for b in range(3):
        single = SlotProblem(
            problem.batch_bits[b],
            problem.rate[b],
            problem.association[b],
            problem.retrain_work[b],
            problem.capacity[b],
        )
        shares = closed_form_split(single)
        assert np.allclose(shares.inference, batched.inference[b], rtol=1e-14)
        assert np.allclose(shares.retraining, batched.retraining[b], rtol=1e-14)


def test_equal_split_by_hand():
    problem = SlotProblem([1.0, 2.0, 3.0], [1.0] * 3, [0, 0, 1], [0.0, 4.0, 0.0], [30.0, 10.0])
    shares = equal_split(problem)
    assert np.allclose(shares.inference, [10.0, 10.0, 10.0])
    assert np.allclose(shares.retraining, [0.0, 10.0, 0.0])
    closed = closed_form_split(problem)
    roots = 3 + np.sqrt(2)  # sqrt(1) + sqrt(2) + sqrt(4) at BS 0
    assert np.allclose(closed.inference, [30 / roots, 30 * np.sqrt(2) / roots, 10.0])
    assert np.allclose(closed.retraining, [0.0, 60 / roots, 0.0])


def test_cvxpy_rejects_batches():
    pytest.importorskip("cvxpy")
    with pytest.raises(ValueError, match="one slot"):
        cvxpy_split(random_slot(0, batch_shape=(2,)))
