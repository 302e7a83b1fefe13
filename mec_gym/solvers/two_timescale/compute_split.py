"""Closed-form and equal compute splits of one slot of the two-timescale system.

Source: J. Cong, G. Cheng, C. You, X. Huang, W. Wu, "Two-Timescale Digital Twin Assisted Model
Interference and Retraining over Wireless Network", arXiv 2411.18329; model as specified in
``docs/two_timescale.md`` (everything beyond the paper's formulas is our choice).

Per BS m the jobs j (inference batches Q_n and weighted retraining work w W_n of its MUs) have
work ``a_j`` and the problem ``min sum_j a_j / lambda_j s.t. sum_j lambda_j <= Lambda_m`` is
convex and separable; its KKT conditions ``a_j / lambda_j^2 = mu`` give
``lambda_j = Lambda_m sqrt(a_j) / sum_i sqrt(a_i)`` and the optimum
``(sum_j sqrt(a_j))^2 / Lambda_m``. Vectorised over BSs and any leading batch axes.
"""

from __future__ import annotations

import numpy as np

from mec_gym.problems.two_timescale import (
    ComputeShares,
    SlotProblem,
    TwoTimescaleConfig,
    shares_from_weights,
)

__all__ = [
    "closed_form_weights",
    "closed_form_split",
    "closed_form_cost",
    "equal_weights",
    "equal_split",
    "accuracy_target_ratio",
]


def closed_form_weights(
    batch_bits: np.ndarray, retrain_work: np.ndarray, retrain_weight: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The KKT weights of the optimal split, (sqrt(Q_n), sqrt(w W_n)), (..., N) each: every BS's
    capacity split in proportion to them (:func:`~mec_gym.problems.two_timescale.
    shares_from_weights`) is the optimum."""
    return np.sqrt(batch_bits), np.sqrt(retrain_weight * retrain_work)


def closed_form_split(problem: SlotProblem) -> ComputeShares:
    """The optimal shares: lambda_n prop. to sqrt(Q_n), lambda_re_n prop. to sqrt(w W_n), per BS."""
    weights = closed_form_weights(problem.batch_bits, problem.retrain_work, problem.retrain_weight)
    return shares_from_weights(problem, *weights)


def closed_form_cost(problem: SlotProblem) -> np.ndarray:
    """Optimal compute cost sum_n Q_n/lambda_n + w W_n/lambda_re_n of the slot, s, shape (...)."""
    roots = np.sqrt(problem.batch_bits) + np.sqrt(problem.retrain_weight * problem.retrain_work)
    return np.sum(problem.per_bs_sum(roots) ** 2 / problem.capacity, axis=-1)


def equal_weights(
    batch_bits: np.ndarray, retrain_work: np.ndarray, retrain_weight: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The weights of the equal split, 1 for every job with work (a batch, a retraining), 0
    otherwise, (..., N) each (``retrain_weight`` unused: the signature of
    :func:`closed_form_weights`)."""
    return (np.asarray(batch_bits) > 0).astype(float), (np.asarray(retrain_work) > 0).astype(float)


def equal_split(problem: SlotProblem) -> ComputeShares:
    """The naive baseline: each BS's capacity split equally over its jobs (batches, retrainings)."""
    return shares_from_weights(problem, *equal_weights(problem.batch_bits, problem.retrain_work))


def accuracy_target_ratio(accuracy: np.ndarray, config: TwoTimescaleConfig) -> np.ndarray:
    """Generation ratios of the adaptive baseline: p = 1 for a MU whose last measured accuracy
    is below the middle of [acc_min, acc_max] (a margin above the constraint), else 0 (its
    model is good enough: no retraining work this slot), (..., N)."""
    target = 0.5 * (config.acc_min + config.acc_max)
    return (np.asarray(accuracy, dtype=float) < target).astype(float)
