"""The per-period optimum of the bandwidth split: a 1-D concave maximisation by bisection.

Source: D. Yang, S. Zhang, H. Zhang, L. Song, "End-Edge Model Collaboration: Bandwidth Allocation
for Data Upload and Model Transmission", arXiv 2504.14310; model as specified in
``docs/bandwidth_split.md`` (everything numeric is our choice).

At the optimum both rate constraints are tight unless a cap binds, so the problem is
``max_beta f(beta) = mAP(n(beta), M(beta))`` over the upload shares whose download still carries
``M_min``, ``0 <= beta <= upload_limit``, with ``n = min(N_avail, T r_u(beta) / s)`` and
``M = min(M_max, T r_d(1 - beta) / (b_p 1e6))``: concave (mAP is concave and increasing in n and
M, which are concave in beta) but piecewise: a term is flat where its cap binds. Its derivative
(:func:`split_slope`, analytic, a binding cap contributing 0) is non-increasing, so the optimal
set is the interval ``[L, R]`` with ``L = sup{f' > 0}`` and ``R = inf{f' < 0}``, found by two
bisections to adjacent floats, and the solver returns its midpoint. ``L < R`` where f is flat at
its maximum: both caps bind (all samples up, M_max down; the midpoint splits the spare band
equally between the sub-bands), or a term of mAP is constant (b = 0, c = 0 or N_avail = 0).
Boundary optima come out of the same bisections (``L = R = 0`` or ``upload_limit``).

Where no split delivers a model, or the device's own model (``fallback_map``) beats the best
delivered one, the solver sends no model and gives the whole band to the data (beta = 1).
"""

from __future__ import annotations

import numpy as np

from mec_gym.problems.bandwidth_split import BandwidthSplitProblem, SplitOutcome, bisect_threshold

__all__ = ["marginal_gains", "split_slope", "optimal_split"]


def marginal_gains(
    problem: BandwidthSplitProblem,
    upload_share: np.ndarray | float,
    download_share: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """(d mAP / d beta_u, d mAP / d beta_d) per unit share, 0 once the N_avail cap (upload) or
    the M_max cap (download) binds: the right derivatives of the delivered model's mAP."""
    data_open = problem.upload_capacity(upload_share) < problem.available_samples
    model_open = problem.download_capacity(download_share) < problem.config.max_model_size
    return (
        np.where(data_open, problem.upload_slope(upload_share), 0.0),
        np.where(model_open, problem.download_slope(download_share), 0.0),
    )


def split_slope(problem: BandwidthSplitProblem, beta: np.ndarray | float) -> np.ndarray:
    """f'(beta): derivative of the delivered model's mAP in the upload share beta with the
    download 1 - beta, per unit share (non-increasing in beta)."""
    beta = np.asarray(beta, dtype=float)
    upload, download = marginal_gains(problem, beta, 1.0 - beta)
    return upload - download


def optimal_split(problem: BandwidthSplitProblem) -> SplitOutcome:
    """The mAP-maximising split of every instance (each on its own band), vectorised over K."""
    limit = problem.upload_limit

    def rising(beta: np.ndarray) -> np.ndarray:
        slope = split_slope(problem, beta)
        return np.stack([slope[0] > 0, slope[1] >= 0])  # rows: L = sup{f' > 0}, R = inf{f' < 0}

    zeros = np.zeros_like(limit)
    low, _ = bisect_threshold(rising, np.stack([zeros, zeros]), np.stack([limit, limit]))
    best = problem.evaluate(0.5 * (low[0] + low[1]))
    no_model = ~problem.model_deliverable | (problem.fallback_map > best.map)
    if not no_model.any():
        return best
    return problem.evaluate(np.where(no_model, 1.0, best.upload_share))
