"""Frame-level heuristics of the two-timescale system: association and retraining flags.

Source: J. Cong, G. Cheng, C. You, X. Huang, W. Wu, "Two-Timescale Digital Twin Assisted Model
Interference and Retraining over Wireless Network", arXiv 2411.18329; the rules are those of
``shared/spec/two_timescale.md`` (section 3, frame-level baselines), the details our choice.

The association rules return the BS index of every MU, (N,) integers; the retraining rules share
the signature ``rule(stats, config) -> delta`` (N,) booleans, so that they are interchangeable.
:func:`dt_frame_policy` is the default frame policy of ``TwoTimescale-v0``: the DT-statistics
association with load balancing and accuracy-threshold retraining.
"""

from __future__ import annotations

import numpy as np

from mec_gym.problems.two_timescale import TwoTimescaleConfig
from mec_gym.simulators.two_timescale import DTStatistics, FrameDecision, TwoTimescaleSimulator

__all__ = [
    "load_cap",
    "dt_association",
    "nearest_association",
    "threshold_retraining",
    "never_retrain",
    "always_retrain",
    "dt_frame_policy",
]


def load_cap(config: TwoTimescaleConfig) -> int:
    """Most MUs a BS takes in :func:`dt_association`: ``max_users_per_bs``, or ceil(N / M) when
    the config has no cap (0), so that the load is balanced as evenly as the MUs allow."""
    return config.max_users_per_bs or -(-config.num_mus // config.num_bs)


def dt_association(stats: DTStatistics, config: TwoTimescaleConfig) -> np.ndarray:
    """Greedy association on the DT-predicted mean rates (bit/s, (N, M)) with load balancing:
    the MUs, in decreasing order of their best predicted rate (ties: lower index first), each
    take the BS of highest predicted rate among those serving fewer than :func:`load_cap` MUs."""
    rate = np.asarray(stats.mean_rate, dtype=float)
    cap = load_cap(config)
    load = np.zeros(rate.shape[1], dtype=np.intp)
    association = np.empty(rate.shape[0], dtype=np.intp)
    preference = np.argsort(-rate, axis=1, kind="stable")
    for mu in np.argsort(-rate.max(axis=1), kind="stable"):
        bs = next(b for b in preference[mu] if load[b] < cap)
        association[mu] = bs
        load[bs] += 1
    return association


def nearest_association(distances: np.ndarray) -> np.ndarray:
    """Every MU to its nearest BS (distances in m, (N, M)); ignores any BS cap."""
    return np.argmin(np.asarray(distances, dtype=float), axis=1).astype(np.intp)


def threshold_retraining(stats: DTStatistics, config: TwoTimescaleConfig) -> np.ndarray:
    """delta_n = 1 where the DT-predicted accuracy at the end of the frame is below acc_min."""
    return np.asarray(stats.accuracy_end_of_frame, dtype=float) < config.acc_min


def never_retrain(stats: DTStatistics, config: TwoTimescaleConfig) -> np.ndarray:
    """delta_n = 0 for every MU."""
    return np.zeros(config.num_mus, dtype=bool)


def always_retrain(stats: DTStatistics, config: TwoTimescaleConfig) -> np.ndarray:
    """delta_n = 1 for every MU (retrain every frame)."""
    return np.ones(config.num_mus, dtype=bool)


def dt_frame_policy(simulator: TwoTimescaleSimulator) -> FrameDecision:
    """The frame decision of :func:`dt_association` and :func:`threshold_retraining` on the
    DT's statistics (``simulator.dt_statistics()``, one query per frame)."""
    stats = simulator.dt_statistics()
    config = simulator.config
    return FrameDecision(dt_association(stats, config), threshold_retraining(stats, config))
