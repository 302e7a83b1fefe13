"""TwoTimescaleFrame-v0: the frame level of the two-timescale DT-assisted inference and retraining
system.

Source: J. Cong, G. Cheng, C. You, X. Huang, W. Wu, "Two-Timescale Digital Twin Assisted Model
Interference and Retraining over Wireless Network", arXiv 2411.18329. Model as specified in
``docs/two_timescale.md``.

The same simulator as ``TwoTimescale-v0`` (:mod:`mec_gym.simulators.two_timescale`), one frame
per step; the slots of a frame are played by a slot policy acting on ``TwoTimescale-v0``'s
observations and actions (:mod:`mec_gym.envs.two_timescale`), so that a trained slot agent plugs
in unchanged. The frame observation and action maps (:func:`frame_observation`,
:func:`frame_decision_from_action`) are functions of the simulator's
:class:`~mec_gym.simulators.two_timescale.FrameView`: a trained frame agent becomes a frame policy
of ``TwoTimescale-v0`` through them (``mec_gym.agents.two_timescale.AgentFramePolicy``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from mec_gym.envs.base import EpisodeMeans
from mec_gym.envs.two_timescale import (
    COMPONENTS,
    SLOT_BASELINES,
    SPECTRAL_HALF,
    SlotPolicy,
    TwoTimescaleEnvBase,
    decision_from_action,
    fixed_rule_decision,
    has_fixed_ratios,
    slot_rule_decision,
)
from mec_gym.simulators.two_timescale import (
    DTStatistics,
    FrameDecision,
    FrameView,
    SlotDecision,
    SlotGenerator,
    TwoTimescaleEnvConfig,
)
from mec_gym.solvers.two_timescale.frame import dt_association, greedy_association

__all__ = [
    "TwoTimescaleFrameEnv",
    "frame_observation_size",
    "frame_observation",
    "decode_frame_observation",
    "frame_action_space",
    "frame_decision_from_action",
    "action_from_frame_decision",
    "resolve_slot_policy",
]


def frame_observation_size(config: TwoTimescaleEnvConfig) -> int:
    """N (2M + 1) + 1 (see the env's Observation Space)."""
    return config.num_mus * (2 * config.num_bs + 1) + 1


def _distance_scale(config: TwoTimescaleEnvConfig) -> float:
    """The largest distance in the square (its diagonal), m."""
    return config.area_m * np.sqrt(2.0)


def frame_observation(view: FrameView) -> np.ndarray:
    """The observation of a frame view (float32, (..., size)): see the env's Observation Space."""
    cfg = view.config
    spectral = view.statistics.mean_rate / cfg.bandwidth_hz
    per_mu = np.concatenate(
        (
            spectral / (spectral + SPECTRAL_HALF),
            view.distances / _distance_scale(cfg),
            # the DT's estimate acc (1 + eps) may pass 1 near acc_max: clipped to the space
            np.minimum(view.statistics.accuracy_end_of_frame, 1.0)[..., None],
        ),
        axis=-1,
    )
    batch_shape = per_mu.shape[:-2]
    frame = np.full((*batch_shape, 1), view.frame / cfg.frames_per_episode)
    flat = per_mu.reshape(*batch_shape, -1)
    return np.concatenate((flat, frame), axis=-1).astype(np.float32)


def decode_frame_observation(config: TwoTimescaleEnvConfig, observation: np.ndarray) -> FrameView:
    """The frame view behind an observation (one, no batch axis): the DT statistics, the
    distances (m) and the frame index."""
    values = np.asarray(observation, dtype=float)
    m = config.num_bs
    per_mu = values[:-1].reshape(config.num_mus, 2 * m + 1)
    efficiency = per_mu[:, :m]
    rate = config.bandwidth_hz * SPECTRAL_HALF * efficiency / (1.0 - efficiency)
    statistics = DTStatistics(rate, per_mu[:, 2 * m])
    distances = per_mu[:, m : 2 * m] * _distance_scale(config)
    frame = int(round(values[-1] * config.frames_per_episode))
    return FrameView(config, frame, statistics, distances)


def frame_action_space(config: TwoTimescaleEnvConfig) -> spaces.MultiDiscrete:
    """``MultiDiscrete([M] * N + [2] * N)`` (``frame_action="full"``) or ``MultiDiscrete([2] *
    N)`` (``"retrain"``)."""
    flags = [2] * config.num_mus
    if config.frame_action == "retrain":
        return spaces.MultiDiscrete(flags)
    return spaces.MultiDiscrete([config.num_bs] * config.num_mus + flags)


def frame_decision_from_action(view: FrameView, action: Any) -> FrameDecision:
    """The frame decision of actions (..., 2N): N BS indices, then N retraining flags (under
    ``frame_action="retrain"``, (..., N): the flags, the association by
    :func:`~mec_gym.solvers.two_timescale.frame.dt_association` on the view for them).

    ValueError unless the entries are integers (or booleans) in range. Under a
    ``max_users_per_bs`` cap an association that overloads a BS is repaired: the MUs keep
    their chosen BS while it has room, in decreasing order of their DT-predicted rate to it
    relative to the rate to their best BS (ties: the lower MU index); the others take the BS of
    highest relative DT-predicted rate that has room."""
    cfg = view.config
    n, m = cfg.num_mus, cfg.num_bs
    width = n if cfg.frame_action == "retrain" else 2 * n
    values = np.asarray(action)
    if values.shape[-1:] != (width,) or values.dtype.kind not in "biuf":
        raise ValueError(
            f"action must hold {width} integers, got {values.dtype} of shape {values.shape}"
        )
    if not np.isfinite(values).all():
        raise ValueError("action must be finite integers, got NaN or inf")
    if not np.array_equal(values, np.round(values)):
        raise ValueError(f"action must hold integers, got {values[values != np.round(values)][:3]}")
    values = values.astype(np.intp)
    retrain = values[..., width - n :]
    if np.any((retrain < 0) | (retrain > 1)):
        raise ValueError("action: retraining flags must be in {0, 1}")
    retrain = retrain.astype(bool)
    if cfg.frame_action == "retrain":
        return FrameDecision(dt_association(view.statistics, cfg, retrain), retrain)
    association = values[..., :n]
    if np.any((association < 0) | (association >= m)):
        raise ValueError(f"action: BS indices must be in [0, {m - 1}]")
    cap = cfg.max_users_per_bs
    if cap:
        load = (association[..., None] == np.arange(m)).sum(axis=-2)
        if np.any(load > cap):
            rate = np.asarray(view.statistics.mean_rate, dtype=float)
            relative = rate / rate.max(axis=-1, keepdims=True)  # in [0, 1]
            chosen = association[..., None] == np.arange(m)
            association = greedy_association(np.where(chosen, 1.0 + relative, relative), cap)
    return FrameDecision(association, retrain)


def action_from_frame_decision(
    config: TwoTimescaleEnvConfig, decision: FrameDecision
) -> np.ndarray:
    """The action (int64, (..., 2N) or (..., N) under ``frame_action="retrain"``) of a frame
    decision (under ``"retrain"`` the association is the env's, not the decision's)."""
    retrain = np.asarray(decision.retrain).astype(np.int64)
    if config.frame_action == "retrain":
        return retrain
    return np.concatenate((np.asarray(decision.association, dtype=np.int64), retrain), axis=-1)


def resolve_slot_policy(
    config: TwoTimescaleEnvConfig, slot_policy: SlotPolicy | str | None
) -> SlotPolicy | str:
    """The slot policy of an env argument: a callable as is, or the name of a baseline of
    ``SLOT_BASELINES`` (None: ``"closed_form"``); TypeError / ValueError otherwise."""
    if slot_policy is None or isinstance(slot_policy, str):
        name = "closed_form" if slot_policy is None else slot_policy
        if name not in SLOT_BASELINES:
            raise ValueError(
                f"slot_policy must be one of {sorted(SLOT_BASELINES)} or a callable, got {name!r}"
            )
        return name
    if not callable(slot_policy):
        raise TypeError(f"slot_policy must be callable, got {type(slot_policy).__name__}")
    return slot_policy


class TwoTimescaleFrameEnv(TwoTimescaleEnvBase):
    """Frame-level association and retraining decisions, the slots played by a slot policy.

    ## Description
    The large timescale of ``TwoTimescale-v0``'s system (see that env for the model): at the
    start of every frame (one step) the agent associates each of the N MUs with one of the M
    BSs and decides which models are retrained in the frame (delta_n). The frame's
    ``slots_per_frame`` slots are then played by a slot policy that splits the BSs' compute and
    sets the DT generation ratios: ``slot_policy``, a callable ``(observation) -> action`` on
    ``TwoTimescale-v0``'s observations and actions (a trained slot agent's ``predict`` output
    works), or the name of a baseline of ``SLOT_BASELINES``, played on the simulator's exact
    slots (:func:`~mec_gym.envs.two_timescale.slot_rule_decision`); by default
    ``"closed_form"``, the closed-form split lambda prop. to sqrt(Q) with p = 1.

    ## Action Space
    ``MultiDiscrete([M] * N + [2] * N)``: the BS of every MU, then every MU's retraining flag.
    Under a ``max_users_per_bs`` cap an overloading association is repaired
    (:func:`frame_decision_from_action`); without a cap (the default) every action is applied
    as is. With ``frame_action="retrain"``: ``MultiDiscrete([2] * N)``, the retraining flags
    only, the association being the DT heuristic's for those flags
    (:func:`~mec_gym.solvers.two_timescale.frame.dt_association`).

    ## Observation Space
    ``Box(0, 1, (N (2M + 1) + 1,), float32)``: what the DT predicts for the frame, per MU
    (MU-major): its DT-predicted mean rate to every BS as ``s / (s + SPECTRAL_HALF)`` with s =
    R / B (bit/s/Hz), its distance to every BS over the area's diagonal, and its DT-predicted
    accuracy at the end of the frame without retraining; then the frame index over
    ``frames_per_episode``. These are the statistics the frame heuristics use;
    :func:`decode_frame_observation` inverts the map.

    ## Rewards
    The mean of the frame's slot rewards of ``TwoTimescale-v0``: ``-(sum of the frame's slot
    objectives) / (N slots_per_frame)`` (the spec's summed slot rewards divided by
    ``slots_per_frame``, so that both levels share one scale: about -0.4 per frame under the
    DT threshold rule, -0.76 under random frame actions). ``info["frame_cost"]`` holds the summed
    objective, s.

    ## Starting State
    As ``TwoTimescale-v0``'s: MUs uniform in the square, each model fitted to its data.

    ## Episode End
    Truncated after ``frames_per_episode`` frames (never terminated; no ``TimeLimit``).

    ## Arguments
    ``gymnasium.make("TwoTimescaleFrame-v0", config=None, render_mode=None, slot_policy=None,
    slots=None, **overrides)``: ``config``/overrides as for ``TwoTimescale-v0``;
    ``slot_policy`` as in the Description or a name of ``SLOT_BASELINES`` (``"closed_form"``,
    ``"closed_form_adaptive"``, ``"equal"``); ``slots`` draws the episodes.

    ## Info
    As ``TwoTimescale-v0``'s, means per slot over the episode's slots so far: ``cost`` (the
    score, lower is better), ``transmission``, ``computation``, ``retraining``, ``accuracy``,
    ``violation``; plus ``frame_cost`` (the frame's summed slot objectives, s) and ``frame``
    (frames played).

    ## Version History
    - v0, 2026-11-27 (numerics only): the per-BS sums of the compute split add MU by MU, as in
      ``TwoTimescale-v0`` (the last bit can differ from before).
    - v0, 2026-11-26: the DT's accuracy estimate is clipped to 1 in the observation (it left
      the space where ``acc_max (1 + dt_error_max) > 1``; unchanged otherwise).
    - v0: initial version.

    ## System model and source
    Cong, Cheng, You, Huang, Wu, arXiv 2411.18329; model ``docs/two_timescale.md``.
    ``env.simulator`` is the shared :class:`~mec_gym.simulators.two_timescale.
    TwoTimescaleSimulator`.
    """

    def __init__(
        self,
        config: TwoTimescaleEnvConfig | dict[str, Any] | None = None,
        render_mode: str | None = None,
        slot_policy: SlotPolicy | str | None = None,
        slots: SlotGenerator | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(config, render_mode, slots, overrides)
        cfg = self.config
        self.slot_policy: SlotPolicy | str = resolve_slot_policy(cfg, slot_policy)
        """A callable on slot observations, or the name of a slot baseline (played on the
        simulator's exact slots)."""
        self.action_space = frame_action_space(cfg)
        size = frame_observation_size(cfg)
        self.observation_space = spaces.Box(0.0, 1.0, (size,), np.float32)

    # ------------------------------------------------------------------ gym API
    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any]]:
        self._episode_means = EpisodeMeans(self.evaluated_keys())
        self.simulator.reset(self.np_random)
        self.cost_history = []
        return frame_observation(self.simulator.frame_view()), {}

    def _step_episode(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        cfg = self.config
        simulator = self.simulator
        simulator.begin_frame(frame_decision_from_action(simulator.frame_view(), action))
        policy = self.slot_policy
        frame_problem = simulator.slot_problem()  # the frame's association and capacities
        if not isinstance(policy, str):
            self.observer.begin_frame(simulator)
        if isinstance(policy, str) and has_fixed_ratios(policy):
            # decisions fixed in advance: the frame's slots in one call
            outcome = simulator.step_slots(
                fixed_rule_decision(cfg, policy, simulator, frame_problem)
            )
            totals = outcome.summary.cumsum(axis=-1)[:, -1]  # summed in order, as below
            self.cost_history.extend(outcome.summary[0].tolist())
            return self._end_frame(totals)
        totals = np.zeros(len(COMPONENTS) + 1)
        for _ in range(cfg.slots_per_frame):
            if isinstance(policy, str):
                decision = slot_rule_decision(cfg, policy, simulator, frame_problem)
            else:
                slot_action = policy(self.observer.observe(simulator))
                shares, ratio = decision_from_action(
                    cfg, frame_problem, simulator.state, slot_action
                )
                decision = SlotDecision(shares, ratio)
            outcome = simulator.step_slot(decision, check=False)
            values = outcome.summary
            totals += values
            self.cost_history.append(float(values[0]))
        return self._end_frame(totals)

    def _end_frame(
        self, totals: np.ndarray
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """The step's result from the frame's summed slot summaries ``totals`` (6,)."""
        cfg = self.config
        simulator = self.simulator
        means = totals / cfg.slots_per_frame
        self._episode_means.add(dict(zip(self._episode_means.totals, means.tolist(), strict=True)))
        info: dict[str, Any] = self._episode_means.means()
        info["frame_cost"] = float(totals[0])
        info["frame"] = simulator.state.frame
        truncated = simulator.done
        view = self._final_view() if truncated else simulator.frame_view()
        return frame_observation(view), -float(means[0]) / cfg.num_mus, False, truncated, info

    def _final_view(self) -> FrameView:
        """The view after the last slot with the exact statistics (no frame follows, so the DT
        draws no error for it): the final observation."""
        simulator = self.simulator
        return FrameView(
            self.config,
            simulator.state.frame,
            simulator.exact_statistics(),
            simulator.distances(),
        )
