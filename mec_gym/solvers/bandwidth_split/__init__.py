"""Solvers of the bandwidth split system (``docs/bandwidth_split.md``).

Source: D. Yang, S. Zhang, H. Zhang, L. Song, "End-Edge Model Collaboration: Bandwidth Allocation
for Data Upload and Model Transmission", arXiv 2504.14310 (everything numeric is our choice).

Every solver takes a :class:`~mec_gym.problems.bandwidth_split.BandwidthSplitProblem` and returns
the :class:`~mec_gym.problems.bandwidth_split.SplitOutcome` of its shares, computed by the
problem's ``evaluate`` as an environment computes it: the per-period optimum
(:func:`optimal_split`, bisection), its cvxpy cross-check (:func:`cvxpy_split`, needs the
``solvers`` extra), the baselines and the multi-device split on one shared band.
"""

from __future__ import annotations

from mec_gym.solvers.bandwidth_split.baselines import (
    BASELINES,
    equal_split,
    model_first,
    smallest_model,
    upload_first,
)
from mec_gym.solvers.bandwidth_split.cvx import cvxpy_multi_device_split, cvxpy_split
from mec_gym.solvers.bandwidth_split.multi_device import (
    KKTResiduals,
    MultiDeviceSplit,
    device_shares,
    kkt_residuals,
    multi_device_split,
)
from mec_gym.solvers.bandwidth_split.optimum import marginal_gains, optimal_split, split_slope

__all__ = [
    "optimal_split",
    "split_slope",
    "marginal_gains",
    "cvxpy_split",
    "cvxpy_multi_device_split",
    "multi_device_split",
    "device_shares",
    "kkt_residuals",
    "MultiDeviceSplit",
    "KKTResiduals",
    "equal_split",
    "upload_first",
    "model_first",
    "smallest_model",
    "BASELINES",
]
