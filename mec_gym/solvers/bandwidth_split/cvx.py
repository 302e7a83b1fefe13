"""The bandwidth split problems in cvxpy: a cross-check of the bisection solvers.

Source: D. Yang, S. Zhang, H. Zhang, L. Song, "End-Edge Model Collaboration: Bandwidth Allocation
for Data Upload and Model Transmission", arXiv 2504.14310; model as specified in
``docs/bandwidth_split.md`` (everything numeric is our choice).

The convex program over the shares (beta_u, beta_d), ``u = ln(1 + (F + n)/n0)`` with ``F`` the
carried fresh data, and ``v = ln M``::

    max  a - b exp(-g v) - c exp(-alpha u)
    s.t. n0 (exp(u) - 1) - F <= T r_u(beta_u) / s,
         ln(1 + F/n0) <= u <= ln(1 + (F + N_avail)/n0)
         exp(v) <= T r_d(beta_d) / (b_p 1e6),     ln M_min <= v <= ln M_max
         beta_u + beta_d <= 1 (each device's own band) or sum over devices <= 1 (shared band)

with the rates as perspectives of the logarithm, ``x B log2(1 + snr/x) = -B/ln2 rel_entr(x, x +
snr)`` (``rel_entr(x, y) = x ln(x/y)`` is convex, so the rate is concave). Only exponential cones:
exact for any exponents g and alpha. cvxpy is an optional extra (``mec-gym[solvers]``), imported
when a function runs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mec_gym.problems.bandwidth_split import BandwidthSplitProblem, SplitOutcome, detection_map
from mec_gym.solvers.bandwidth_split.multi_device import MultiDeviceSplit

__all__ = ["cvxpy_split", "cvxpy_multi_device_split", "SOLVER_OPTIONS"]

SOLVER_OPTIONS: dict[str, float] = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}
"""Clarabel tolerances: tight enough for the shares to match the bisection to 1e-6."""


def _per_share(problem: BandwidthSplitProblem) -> tuple[float, float]:
    """Samples and million parameters per period that ``-rel_entr(x, x + snr)`` stands for:
    ``T B / (s ln 2)`` and ``T B / (b_p 1e6 ln 2)``."""
    c = problem.config
    bits = c.period_s * c.bandwidth_hz / math.log(2.0)
    return bits / c.sample_bits, bits / (c.bits_per_param * 1e6)


def _program(cp: Any, problem: BandwidthSplitProblem, index: np.ndarray, shared: bool) -> tuple:
    """The program of the instances ``index``: (cvxpy problem, upload, download variables,
    budget constraint)."""
    c = problem.config
    k = len(index)
    up = cp.Variable(k, nonneg=True)
    down = cp.Variable(k, nonneg=True)
    fresh = cp.Variable(k)  # ln(1 + (carried + n)/n0)
    size = cp.Variable(k)  # ln M
    samples_per_share, params_per_share = _per_share(problem)
    up_snr = problem.upload_snr[index]
    down_snr = problem.download_snr[index]
    budget = cp.sum(up + down) <= 1 if shared else up + down <= 1
    carried = problem.carried_samples[index]
    constraints = [
        budget,
        c.map_n0 * (cp.exp(fresh) - 1) - carried
        <= -samples_per_share * cp.rel_entr(up, up + up_snr),
        fresh >= np.log1p(carried / c.map_n0),
        fresh <= np.log1p((carried + problem.available_samples[index]) / c.map_n0),
        cp.exp(size) <= -params_per_share * cp.rel_entr(down, down + down_snr),
        size >= math.log(c.min_model_size),
        size <= math.log(c.max_model_size),
    ]
    loss = c.map_b * cp.exp(-c.map_g * size) + c.map_c * cp.exp(-c.map_alpha * fresh)
    return cp.Problem(cp.Minimize(cp.sum(loss)), constraints), up, down, budget


def _smallest_share(cp: Any, per_share: float, snr: float, need: float) -> float:
    """Smallest share x in [0, 1] with ``-per_share rel_entr(x, x + snr) >= need`` (inf if
    none)."""
    x = cp.Variable(nonneg=True)
    program = cp.Problem(cp.Minimize(x), [x <= 1, -per_share * cp.rel_entr(x, x + snr) >= need])
    program.solve(solver=cp.CLARABEL, **SOLVER_OPTIONS)
    return float(x.value) if program.status == cp.OPTIMAL else math.inf


def cvxpy_split(problem: BandwidthSplitProblem) -> SplitOutcome:
    """:func:`~mec_gym.solvers.bandwidth_split.optimum.optimal_split` by cvxpy (Clarabel), one
    program per instance, with the same rules: no model (beta = 1) where the program is
    infeasible or the fallback mAP is higher; where the optimum reaches both caps, the midpoint
    of the optimal interval (its ends by two more programs). Optima flat for another reason
    (b = 0, c = 0 or N_avail = 0) may differ in beta, not in mAP."""
    import cvxpy as cp

    c = problem.config
    beta = np.empty(problem.num_instances)
    for i in range(problem.num_instances):
        program, up, _, _ = _program(cp, problem, np.array([i]), shared=False)
        program.solve(solver=cp.CLARABEL, **SOLVER_OPTIONS)
        if program.status == cp.INFEASIBLE:
            beta[i] = 1.0
            continue
        if program.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            raise RuntimeError(f"cvxpy did not solve instance {i}: status {program.status!r}")
        value = c.map_a - program.value
        beta[i] = float(up.value[0])
        fresh_ceiling = problem.carried_samples[i] + problem.available_samples[i]
        ceiling = float(detection_map(c, fresh_ceiling, c.max_model_size))
        if value >= ceiling - 1e-9:  # both caps reached: the optimal shares form an interval
            samples_per_share, params_per_share = _per_share(problem)
            first = _smallest_share(
                cp,
                samples_per_share,
                float(problem.upload_snr[i]),
                float(problem.available_samples[i]),
            )
            last = 1.0 - _smallest_share(
                cp, params_per_share, float(problem.download_snr[i]), c.max_model_size
            )
            if first <= last:
                beta[i] = 0.5 * (first + last)
        if problem.fallback_map[i] > value:
            beta[i] = 1.0
    # within the solver's feasibility tolerance of the M_min limit: onto it
    return problem.evaluate(np.where(beta < 1.0, np.clip(beta, 0.0, problem.upload_limit), 1.0))


def cvxpy_multi_device_split(problem: BandwidthSplitProblem) -> MultiDeviceSplit:
    """:func:`~mec_gym.solvers.bandwidth_split.multi_device.multi_device_split` by cvxpy
    (Clarabel): one program for the K devices; the price is the band constraint's dual value.
    Raises ``ValueError`` if the program is infeasible (the band cannot carry every M_min)."""
    import cvxpy as cp

    program, up, down, budget = _program(cp, problem, np.arange(problem.num_instances), shared=True)
    program.solve(solver=cp.CLARABEL, **SOLVER_OPTIONS)
    if program.status == cp.INFEASIBLE:
        raise ValueError("the band cannot carry M_min to every device")
    if program.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise RuntimeError(f"cvxpy did not solve the program: status {program.status!r}")
    shares = (np.clip(np.asarray(v.value, dtype=float), 0.0, 1.0) for v in (up, down))
    return MultiDeviceSplit(problem.evaluate(*shares), float(budget.dual_value))
