"""The slot compute split in cvxpy: a cross-check of the closed form.

Source: J. Cong, G. Cheng, C. You, X. Huang, W. Wu, "Two-Timescale Digital Twin Assisted Model
Interference and Retraining over Wireless Network", arXiv 2411.18329; model as specified in
``docs/two_timescale.md`` (everything beyond the paper's formulas is our choice).

``min sum_j a_j inv_pos(lambda_j) s.t. sum over the jobs of BS m of lambda_j <= Lambda_m`` over
the jobs with positive work (the others get 0), solved in the fractions ``x_j = lambda_j /
Lambda_m`` of each BS's capacity with the weights ``a_j / Lambda_m`` normalised to sum 1, so that
the solver sees numbers of order 1. cvxpy is an optional extra (``mec-gym[solvers]``), imported
when the function runs.
"""

from __future__ import annotations

import numpy as np

from mec_gym.problems.two_timescale import ComputeShares, SlotProblem

__all__ = ["cvxpy_split", "SOLVER_OPTIONS"]

SOLVER_OPTIONS: dict[str, float] = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9}
"""Clarabel tolerances: shares within ~3e-5 of a BS's capacity of the closed form, without
"solution may be inaccurate" warnings (which 1e-10 gives on some instances)."""


def cvxpy_split(problem: SlotProblem) -> ComputeShares:
    """Optimal shares of one slot (no batch axes) by cvxpy with Clarabel."""
    import cvxpy as cp

    if problem.batch_bits.ndim != 1:
        raise ValueError(f"cvxpy_split takes one slot, got batch shape {problem.batch_bits.shape}")
    work = np.concatenate([problem.batch_bits, problem.retrain_weight * problem.retrain_work])
    bs = np.concatenate([problem.association, problem.association])
    active = np.flatnonzero(work > 0)
    shares = np.zeros(work.size)
    if active.size:
        capacity = problem.capacity[bs[active]]
        weight = work[active] / capacity
        fraction = cp.Variable(active.size, nonneg=True)
        objective = cp.Minimize(cp.sum(cp.multiply(weight / weight.sum(), cp.inv_pos(fraction))))
        membership = (bs[active][None, :] == np.arange(problem.num_bs)[:, None]).astype(float)
        constraints = [membership @ fraction <= 1.0]
        cp.Problem(objective, constraints).solve(solver=cp.CLARABEL, **SOLVER_OPTIONS)
        shares[active] = np.asarray(fraction.value) * capacity
    n = problem.num_mus
    return ComputeShares(shares[:n], shares[n:])
