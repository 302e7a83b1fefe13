"""Frame-level heuristics of the two-timescale system: association and retraining flags.

Source: J. Cong, G. Cheng, C. You, X. Huang, W. Wu, "Two-Timescale Digital Twin Assisted Model
Interference and Retraining over Wireless Network", arXiv 2411.18329; the rules are those of
``docs/two_timescale.md`` (frame-level baselines), the details our choice.

The association rules return the BS index of every MU, (..., N) integers; the retraining rules share
the signature ``rule(stats, config) -> delta`` (..., N) booleans, so that they are
interchangeable; leading axes are a batch of episodes. A frame policy maps the simulator's
:class:`~mec_gym.simulators.two_timescale.FrameView` to a
:class:`~mec_gym.simulators.two_timescale.FrameDecision`; :data:`FRAME_POLICIES` names the
combinations the spec lists (random is an agent's choice, not a rule: see the agents).
:data:`dt_frame_policy` is the default frame policy of ``TwoTimescale-v0``: the DT-statistics
association with load balancing and accuracy-threshold retraining.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mec_gym.problems.two_timescale import TwoTimescaleConfig
from mec_gym.simulators.two_timescale import DTStatistics, FrameDecision, FrameView

__all__ = [
    "FramePolicy",
    "user_cap",
    "greedy_association",
    "dt_association",
    "nearest_association",
    "threshold_retraining",
    "never_retrain",
    "always_retrain",
    "RuleFramePolicy",
    "dt_frame_policy",
    "FRAME_POLICIES",
]

FramePolicy = Callable[[FrameView], FrameDecision]
"""``policy(view) -> FrameDecision``, called at the start of every frame."""


def user_cap(config: TwoTimescaleConfig) -> int:
    """Most MUs a BS may serve: ``max_users_per_bs``, or N when the config has no cap (0)."""
    return config.max_users_per_bs or config.num_mus


def greedy_association(score: np.ndarray, cap: int) -> np.ndarray:
    """Greedy capped association on per-(MU, BS) scores (..., N, M), higher better: the MUs, in
    decreasing order of their best score (ties: lower index first), each take the BS of highest
    score among those serving fewer than ``cap`` MUs."""
    score = np.asarray(score, dtype=float)
    association = np.empty(score.shape[:-1], dtype=np.intp)
    preference = np.argsort(-score, axis=-1, kind="stable")
    order = np.argsort(-score.max(axis=-1), axis=-1, kind="stable")
    for episode in np.ndindex(score.shape[:-2]):
        load = [0] * score.shape[-1]
        chosen = association[episode]
        for mu in order[episode]:
            bs = next(b for b in preference[episode][mu] if load[b] < cap)
            chosen[mu] = bs
            load[bs] += 1
    return association


def dt_association(
    stats: DTStatistics, config: TwoTimescaleConfig, retrain: np.ndarray | None = None
) -> np.ndarray:
    """Greedy association on the DT's statistics, balancing the load by the compute cost.

    The MUs, in decreasing order of their best DT-predicted mean rate (bit/s, (..., N, M); ties:
    lower index first), each take the BS (among those serving fewer than :func:`user_cap` MUs)
    that adds the least expected delay: the transmission ``Q / R`` of a mean batch Q plus the
    growth of the BS's closed-form compute cost ``(sum_j sqrt(a_j))^2 / Lambda`` (the slot
    optimum of :func:`~mec_gym.solvers.two_timescale.closed_form_cost`) when the MU's jobs join
    it: its batch Q and, if ``retrain`` (..., N) flags it, its retraining work ``c_re Q`` (all
    of the batch generated). Without flags no MU counts as retrained."""
    rate = np.asarray(stats.mean_rate, dtype=float)
    batch = 0.5 * (config.batch_min_bits + config.batch_max_bits)
    flags = np.zeros(rate.shape[:-1]) if retrain is None else np.asarray(retrain, dtype=float)
    roots = np.sqrt(batch) + flags * np.sqrt(config.retrain_cost * batch)  # (..., N)
    transmission = batch / rate
    cap = user_cap(config)
    capacity = config.bs_capacity
    association = np.empty(rate.shape[:-1], dtype=np.intp)
    order = np.argsort(-rate.max(axis=-1), axis=-1, kind="stable")
    stations = range(rate.shape[-1])
    for episode in np.ndindex(rate.shape[:-2]):  # small loops: Python floats are faster
        root_sum = [0.0] * len(stations)
        load = [0] * len(stations)
        episode_roots = roots[episode].tolist()
        episode_tx = transmission[episode].tolist()
        chosen = association[episode]
        for mu in order[episode].tolist():
            root = episode_roots[mu]
            added = [
                episode_tx[mu][b] + (2.0 * root_sum[b] + root) * root / capacity
                if load[b] < cap
                else float("inf")
                for b in stations
            ]
            bs = added.index(min(added))
            chosen[mu] = bs
            root_sum[bs] += root
            load[bs] += 1
    return association


def nearest_association(distances: np.ndarray, config: TwoTimescaleConfig) -> np.ndarray:
    """Every MU to its nearest BS (distances in m, (..., N, M)); under a ``max_users_per_bs``
    cap, :func:`greedy_association` on minus the distances."""
    distances = np.asarray(distances, dtype=float)
    if config.max_users_per_bs:
        return greedy_association(-distances, config.max_users_per_bs)
    return np.argmin(distances, axis=-1).astype(np.intp)


def threshold_retraining(stats: DTStatistics, config: TwoTimescaleConfig) -> np.ndarray:
    """delta_n = 1 where the DT-predicted accuracy at the end of the frame is below acc_min."""
    return np.asarray(stats.accuracy_end_of_frame, dtype=float) < config.acc_min


def never_retrain(stats: DTStatistics, config: TwoTimescaleConfig) -> np.ndarray:
    """delta_n = 0 for every MU."""
    return np.zeros(np.shape(stats.accuracy_end_of_frame), dtype=bool)


def always_retrain(stats: DTStatistics, config: TwoTimescaleConfig) -> np.ndarray:
    """delta_n = 1 for every MU (retrain every frame)."""
    return np.ones(np.shape(stats.accuracy_end_of_frame), dtype=bool)


RETRAINING_RULES: dict[str, Callable[[DTStatistics, TwoTimescaleConfig], np.ndarray]] = {
    "threshold": threshold_retraining,
    "never": never_retrain,
    "always": always_retrain,
}


class RuleFramePolicy:
    """A frame policy of an association rule (``"dt"``: :func:`dt_association`, ``"nearest"``:
    :func:`nearest_association`) and a retraining rule (``"threshold"``, ``"never"``,
    ``"always"``), both on the view's DT statistics. Picklable."""

    def __init__(self, association: str = "dt", retraining: str = "threshold") -> None:
        if association not in ("dt", "nearest"):
            raise ValueError(f"association must be 'dt' or 'nearest', got {association!r}")
        if retraining not in RETRAINING_RULES:
            raise ValueError(
                f"retraining must be one of {sorted(RETRAINING_RULES)}, got {retraining!r}"
            )
        self.association = association
        self.retraining = retraining

    def __call__(self, view: FrameView) -> FrameDecision:
        stats, config = view.statistics, view.config
        retrain = RETRAINING_RULES[self.retraining](stats, config)
        if self.association == "dt":
            association = dt_association(stats, config, retrain)
        else:
            association = nearest_association(view.distances, config)
        return FrameDecision(association, retrain)

    def __repr__(self) -> str:
        return f"RuleFramePolicy({self.association!r}, {self.retraining!r})"


dt_frame_policy = RuleFramePolicy("dt", "threshold")
"""The default frame policy: DT association with load balancing, threshold retraining."""

FRAME_POLICIES: dict[str, RuleFramePolicy] = {
    "dt_threshold": dt_frame_policy,
    "dt_never": RuleFramePolicy("dt", "never"),
    "dt_always": RuleFramePolicy("dt", "always"),
    "nearest_threshold": RuleFramePolicy("nearest", "threshold"),
    "nearest_never": RuleFramePolicy("nearest", "never"),
}
"""The frame-level baselines by name (association rule, retraining rule)."""
