"""Rule-based bandwidth splits, the baselines of the per-period optimum (vectorised over K).

Source: D. Yang, S. Zhang, H. Zhang, L. Song, "End-Edge Model Collaboration: Bandwidth Allocation
for Data Upload and Model Transmission", arXiv 2504.14310; model as specified in
``docs/bandwidth_split.md`` (everything numeric is our choice).

Each rule picks the upload share beta of an instance's own band (the download gets 1 - beta)
and returns :meth:`~mec_gym.problems.bandwidth_split.BandwidthSplitProblem.evaluate` of it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mec_gym.problems.bandwidth_split import BandwidthSplitProblem, SplitOutcome

__all__ = ["equal_split", "upload_first", "model_first", "smallest_model", "BASELINES"]


def equal_split(problem: BandwidthSplitProblem) -> SplitOutcome:
    """Half the band each way: beta = 0.5."""
    return problem.evaluate(np.full(problem.num_instances, 0.5))


def upload_first(problem: BandwidthSplitProblem) -> SplitOutcome:
    """Data first: the smallest beta that uploads all N_avail samples, at most ``upload_limit``
    (the download keeps room for M_min); the rest carries the largest model that fits."""
    return problem.evaluate(np.minimum(problem.full_data_upload_share, problem.upload_limit))


def model_first(problem: BandwidthSplitProblem) -> SplitOutcome:
    """Model first: the smallest download share that carries M_max (the whole band if it
    cannot); the rest uploads data."""
    return problem.evaluate(1.0 - np.minimum(problem.full_model_download_share, 1.0))


def smallest_model(problem: BandwidthSplitProblem) -> SplitOutcome:
    """Smallest model: the download carries exactly M_min (``beta = upload_limit``); everything
    else uploads data."""
    return problem.evaluate(problem.upload_limit)


BASELINES: dict[str, Callable[[BandwidthSplitProblem], SplitOutcome]] = {
    "equal": equal_split,
    "upload_first": upload_first,
    "model_first": model_first,
    "smallest_model": smallest_model,
}
"""The baselines by name."""
