"""Slot-level solvers of the two-timescale system (``docs/two_timescale.md``).

Source: J. Cong, G. Cheng, C. You, X. Huang, W. Wu, "Two-Timescale Digital Twin Assisted Model
Interference and Retraining over Wireless Network", arXiv 2411.18329 (everything beyond the paper's
formulas is our choice).

Every solver takes a :class:`~mec_gym.problems.two_timescale.SlotProblem` and returns its
:class:`~mec_gym.problems.two_timescale.ComputeShares`, to be evaluated by the problem's
``evaluate``: the closed-form optimum (:func:`closed_form_split`, KKT), the equal split baseline
and a cvxpy cross-check (:func:`cvxpy_split`, needs the ``solvers`` extra).
"""

from __future__ import annotations

from mec_gym.solvers.two_timescale.compute_split import (
    accuracy_target_ratio,
    closed_form_cost,
    closed_form_split,
    closed_form_weights,
    equal_split,
    equal_weights,
)
from mec_gym.solvers.two_timescale.cvx import cvxpy_split

__all__ = [
    "closed_form_weights",
    "closed_form_split",
    "closed_form_cost",
    "equal_weights",
    "equal_split",
    "accuracy_target_ratio",
    "cvxpy_split",
]
