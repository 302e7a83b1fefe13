"""TwoTimescale-v0: the slot level of the two-timescale DT-assisted inference and retraining system.

Source: J. Cong, G. Cheng, C. You, X. Huang, W. Wu, "Two-Timescale Digital Twin Assisted Model
Interference and Retraining over Wireless Network", arXiv 2411.18329. Model as specified in
``shared/spec/two_timescale.md`` (section 3 for the environments; everything numeric is our
choice).

The physics and the slot problem live in :mod:`mec_gym.problems.two_timescale`, the frames and
slots in :mod:`mec_gym.simulators.two_timescale` and the frame-level heuristics in
:mod:`mec_gym.solvers.two_timescale.frame`; this module maps actions to compute shares and
states to observations.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from mec_gym.envs.base import EpisodeMeans, MecEnv, env_metadata
from mec_gym.problems.two_timescale import (
    ComputeShares,
    SlotProblem,
    channel_gains,
    model_accuracy,
    retraining_bits,
    shares_from_weights,
    uplink_rates,
)
from mec_gym.simulators.two_timescale import (
    FrameDecision,
    SlotDecision,
    SlotGenerator,
    SlotOutcome,
    TwoTimescaleEnvConfig,
    TwoTimescaleSimulator,
)
from mec_gym.solvers.two_timescale.frame import dt_frame_policy

__all__ = [
    "TwoTimescaleEnv",
    "TwoTimescaleEnvConfig",
    "FramePolicy",
    "COMPONENTS",
    "WEIGHT_FLOOR",
    "SPECTRAL_HALF",
    "observation_size",
    "action_from_shares",
]

FramePolicy = Callable[[TwoTimescaleSimulator], FrameDecision]
"""``policy(simulator) -> FrameDecision``, called at the start of every frame."""

WEIGHT_FLOOR = 0.05
"""Action: an entry u in [0, 1] is the compute weight ``u + WEIGHT_FLOOR`` (every job gets a
positive share, so that every action is feasible)."""
SPECTRAL_HALF = 4.0
"""Observation: the rate R is observed as ``s / (s + SPECTRAL_HALF)``, ``s = R / B`` the spectral
efficiency, bit/s/Hz."""
COMPONENTS = {
    "transmission": "s",
    "computation": "s",
    "retraining": "s",
    "accuracy": "",
    "violation": "",
}
"""``info`` components (episode means per slot) and their units."""


def observation_size(config: TwoTimescaleEnvConfig) -> int:
    """N (M + 4) + 2 (see the env's Observation Space)."""
    return config.num_mus * (config.num_bs + 4) + 2


def action_from_shares(
    problem: SlotProblem, shares: ComputeShares, generation_ratio: np.ndarray | float = 1.0
) -> np.ndarray:
    """The action (float64) that applies ``shares`` to ``problem``'s slot with DT generation
    ratios ``generation_ratio``: per BS the weights ``c share`` with c scaling the BS's largest
    share to weight ``1 + WEIGHT_FLOOR``. Exact when every job's share at a BS is at least
    ``WEIGHT_FLOOR / (1 + WEIGHT_FLOOR)`` of the BS's largest (retraining shares of MUs that
    are not retrained are ignored by the env; a zero share comes back as the floor)."""
    weights = np.stack((shares.inference, shares.retraining), axis=-1)
    largest = np.zeros(problem.num_bs)
    np.maximum.at(largest, problem.association, weights.max(axis=-1))
    scale = (1.0 + WEIGHT_FLOOR) / np.where(largest > 0, largest, 1.0)
    entries = np.clip(weights * scale[problem.association, None] - WEIGHT_FLOOR, 0.0, 1.0)
    ratio = np.broadcast_to(np.asarray(generation_ratio, dtype=float), (problem.num_mus,))
    return np.concatenate((entries.reshape(-1), np.clip(ratio, 0.0, 1.0)))


class TwoTimescaleEnv(MecEnv[TwoTimescaleEnvConfig]):
    """Slot-level compute allocation and DT data generation under a frame-level policy.

    ## Description
    M base stations with edge servers serve N mobile users (MUs). At the start of every frame a
    frame policy fixes the association of the MUs to the BSs and which models are retrained in
    the frame (delta_n); every slot (one step) the agent splits each BS's compute capacity
    Lambda over the inference batches Q_n and the retraining work c_re S_n of its MUs, and sets
    each MU's DT data generation ratio p_n (S_n = delta_n p_n |Q_n| bit of DT-generated data).
    More DT data retrains a model further (its accuracy recovers from the drift of its MU's
    data) but costs retraining delay. The frame policy is pluggable: ``frame_policy`` is a
    callable ``(simulator) -> FrameDecision`` called at every frame start (after the reset and
    after the last slot of each frame); the default,
    :func:`~mec_gym.solvers.two_timescale.frame.dt_frame_policy`, associates greedily on the
    DT-predicted mean rates with at most ceil(N / M) MUs per BS (or ``max_users_per_bs``) and
    retrains the MUs whose DT-predicted accuracy is below ``acc_min``. It may read anything of
    the simulator (``simulator.dt_statistics()``, ``simulator.distances()``, the state).

    ## Action Space
    ``Box(0, 1, (3N,), float32)``: first N pairs ``(u_n, v_n)`` (MU-major), the inference and
    retraining compute weights of MU n, then the N generation ratios p_n. At each BS the
    capacity is split in proportion to the weights ``u_n + WEIGHT_FLOOR`` of its MUs'
    inferences and ``delta_n (v_n + WEIGHT_FLOOR)`` of their retrainings
    (``shares_from_weights``): a BS whose entries are all 0 splits equally, and every action is
    feasible (entries are clipped to [0, 1]). A non-finite entry or a wrong size raises
    ``ValueError``. :func:`action_from_shares` gives the action of a solver's shares.

    ## Observation Space
    ``Box(0, 1, (N (M + 4) + 2,), float32)``: per MU (MU-major) the one-hot of its BS (M), its
    batch ``|Q| / batch_max_bits``, its rate to its BS as ``s / (s + SPECTRAL_HALF)`` with s = R
    / B (bit/s/Hz), its retraining flag delta and the current accuracy of its model on its
    current data (before the slot's retraining); then the slot's index within the frame over
    ``slots_per_frame`` and the fraction of the episode's slots played.
    :meth:`decode_observation` inverts the map and :meth:`problem_from_observation` rebuilds the
    slot's :class:`~mec_gym.problems.two_timescale.SlotProblem` from it (the retraining work
    depends on p, not observed: the problem is built for a given p, 1 by default, the ratio the
    closed-form baseline plays).

    ## Rewards
    ``-objective / N``, the slot objective ``sum_n (L_tx + L_BS + delta L_re) + accuracy_penalty
    sum_n max(0, acc_min - acc)`` (s) per MU (about -0.7 per slot at the defaults); the
    unscaled objective is ``info["slot_cost"]``.

    ## Starting State
    MUs uniform in the square, each MU's model fitted to its data (accuracy ``acc_max``); the
    first frame's decision is applied at reset.

    ## Episode End
    Truncated after ``frames_per_episode * slots_per_frame`` slots (never terminated); the env
    truncates itself, so no ``TimeLimit`` is registered.

    ## Arguments
    ``gymnasium.make("TwoTimescale-v0", config=None, render_mode=None, frame_policy=None,
    slots=None, **overrides)``: ``config`` is a ``TwoTimescaleEnvConfig`` (or a dict), overrides
    are its fields (e.g. ``frames_per_episode=2``, ``dt_error_max=0.0``); ``frame_policy`` as in
    the Description (a module-level function keeps the env picklable); ``slots`` draws the
    episodes (``RandomSlots()`` by default).

    ## Info
    Means over the episode's slots so far: ``cost`` (the slot objective, s, the score, lower is
    better) and its components ``transmission``, ``computation``, ``retraining`` (sums over the
    MUs of L_tx, L_BS, L_re, s), ``violation`` (sum over the MUs of max(0, acc_min - acc)), so
    that ``cost = transmission + computation + retraining + accuracy_penalty * violation``, and
    ``accuracy`` (mean over the MUs after the slot's retraining); the last slot's ``slot_cost``,
    ``slot`` (slots played) and ``frame`` (the next slot's frame). ``env.unwrapped.last_outcome``
    holds the last slot's ``SlotOutcome``.

    ## Version History
    - v0: initial version.

    ## System model and source
    Cong, Cheng, You, Huang, Wu, arXiv 2411.18329 (see the module docstring); spec
    ``shared/spec/two_timescale.md``. ``env.simulator``
    (``mec_gym.simulators.two_timescale``) runs the frames and slots and ``env.state`` is its
    state.
    """

    metadata: ClassVar[dict[str, Any]] = env_metadata(
        score="cost", higher_is_better=False, components=COMPONENTS
    )

    config_class = TwoTimescaleEnvConfig

    def __init__(
        self,
        config: TwoTimescaleEnvConfig | dict[str, Any] | None = None,
        render_mode: str | None = None,
        frame_policy: FramePolicy | None = None,
        slots: SlotGenerator | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(config, render_mode, **overrides)
        if frame_policy is not None and not callable(frame_policy):
            raise TypeError(f"frame_policy must be callable, got {type(frame_policy).__name__}")
        cfg = self.config
        self.frame_policy: FramePolicy = dt_frame_policy if frame_policy is None else frame_policy
        self.simulator = TwoTimescaleSimulator(cfg, slots)
        n = cfg.num_mus
        self.action_space = spaces.Box(0.0, 1.0, (3 * n,), np.float32)
        self.observation_space = spaces.Box(0.0, 1.0, (observation_size(cfg),), np.float32)
        self.cost_history: list[float] = []
        """Objective of each slot played in the episode, s (for rendering)."""
        self.rate_table = np.zeros((cfg.slots_per_episode + 1, n, cfg.num_bs))
        """Uplink rate of every (slot, MU, BS) of the episode, bit/s (exogenous: drawn at
        reset)."""
        self.frame_problem: SlotProblem | None = None
        """The first slot's problem of the current frame: its association and capacities are
        the frame's, all that ``shares_from_weights`` reads."""
        self._figure: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_figure"] = None  # the rendering figure is rebuilt on demand
        return state

    # ------------------------------------------------------------------ gym API
    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any]]:
        self._episode_means = EpisodeMeans(self.evaluated_keys())
        simulator = self.simulator
        simulator.reset(self.np_random)
        draws = simulator.state.draws
        offset = draws.positions[:, :, None, :] - simulator.bs_positions
        distances = np.hypot(offset[..., 0], offset[..., 1])
        self.rate_table = uplink_rates(
            self.config, channel_gains(self.config, distances, draws.fading)
        )
        self._begin_frame()
        self.cost_history = []
        return self._observation(), {}

    def _step_episode(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        cfg = self.config
        simulator = self.simulator
        shares, ratio = self.decision_from_action(action)
        outcome = simulator.step_slot(SlotDecision(shares, ratio))
        delays = outcome.delays
        values = {
            "cost": outcome.objective,
            "transmission": float(delays.transmission.sum()),
            "computation": float(delays.computation.sum()),
            "retraining": float(delays.retraining.sum()),
            "accuracy": float(outcome.accuracy.mean()),
            "violation": float(outcome.accuracy_violation.sum()),
        }
        self._episode_means.add(values)
        info: dict[str, Any] = self._episode_means.means()
        info["slot_cost"] = outcome.objective
        self.cost_history.append(outcome.objective)
        truncated = simulator.done
        if not truncated and simulator.frame_over:
            self._begin_frame()
        info["slot"] = simulator.state.slot
        info["frame"] = simulator.state.frame
        return self._observation(), -outcome.objective / cfg.num_mus, False, truncated, info

    @property
    def episode_over(self) -> bool:
        return self.simulator.done

    def _begin_frame(self) -> None:
        simulator = self.simulator
        simulator.begin_frame(self.frame_policy(simulator))
        self.frame_problem = simulator.slot_problem()

    # ------------------------------------------------------------------ actions
    def decision_from_action(self, action: Any) -> tuple[ComputeShares, np.ndarray]:
        """(compute shares, generation ratios) of an action in the current slot (see the
        Action Space)."""
        n = self.config.num_mus
        values = np.asarray(action, dtype=float).reshape(-1)
        if values.size != 3 * n:
            raise ValueError(f"action must have {3 * n} entries, got {values.size}")
        if not np.isfinite(values).all():
            raise ValueError(f"action must be finite, got {action!r}")
        values = np.clip(values, 0.0, 1.0)
        weights = values[: 2 * n].reshape(n, 2) + WEIGHT_FLOOR
        ratio = values[2 * n :]
        retrain = self.simulator.state.retrain
        shares = shares_from_weights(self.frame_problem, weights[:, 0], retrain * weights[:, 1])
        return shares, ratio

    # ------------------------------------------------------------------ observations
    def slot_rates(self) -> np.ndarray:
        """Uplink rate of every MU to its BS in the current slot, bit/s, (N,) (also after the
        last slot, under the last frame's association)."""
        st = self.simulator.state
        return self.rate_table[st.slot, np.arange(self.config.num_mus), st.association]

    def _observation(self) -> np.ndarray:
        cfg = self.config
        st = self.simulator.state
        spectral = self.slot_rates() / cfg.bandwidth_hz
        per_mu = np.column_stack(
            (
                st.association[:, None] == np.arange(cfg.num_bs),
                st.batch_bits / cfg.batch_max_bits,
                spectral / (spectral + SPECTRAL_HALF),
                st.retrain,
                model_accuracy(cfg, st.q, st.q_model),
            )
        )
        phase = (
            (st.slot % cfg.slots_per_frame) / cfg.slots_per_frame,
            st.slot / cfg.slots_per_episode,
        )
        return np.concatenate((per_mu.reshape(-1), phase)).astype(np.float32)

    def decode_observation(self, observation: np.ndarray) -> dict[str, Any]:
        """Physical values behind an observation: per MU ``association`` (BS index),
        ``batch_bits`` (bit), ``rate`` (bit/s), ``retrain`` (bool), ``accuracy``; then
        ``slot_in_frame`` (int) and ``progress`` (fraction of the episode played)."""
        cfg = self.config
        values = np.asarray(observation, dtype=float)
        m = cfg.num_bs
        per_mu = values[:-2].reshape(cfg.num_mus, m + 4)
        efficiency = per_mu[:, m + 1]
        return {
            "association": np.argmax(per_mu[:, :m], axis=1).astype(np.intp),
            "batch_bits": per_mu[:, m] * cfg.batch_max_bits,
            "rate": cfg.bandwidth_hz * SPECTRAL_HALF * efficiency / (1.0 - efficiency),
            "retrain": per_mu[:, m + 2] > 0.5,
            "accuracy": per_mu[:, m + 3],
            "slot_in_frame": int(round(values[-2] * cfg.slots_per_frame)),
            "progress": float(values[-1]),
        }

    def problem_from_observation(
        self, observation: np.ndarray, generation_ratio: np.ndarray | float = 1.0
    ) -> SlotProblem:
        """The slot's problem rebuilt from an observation, with DT generation ratios
        ``generation_ratio`` (the retraining work c_re delta p |Q|)."""
        decoded = self.decode_observation(observation)
        batch = decoded["batch_bits"]
        bits = retraining_bits(decoded["retrain"], generation_ratio, batch)
        return SlotProblem.from_config(
            self.config, batch, decoded["rate"], decoded["association"], bits
        )

    # ------------------------------------------------------------------ queries
    @property
    def problem(self) -> SlotProblem:
        """The current slot's problem at generation ratio 1, exact."""
        return self.simulator.slot_problem(1.0)

    @property
    def last_outcome(self) -> SlotOutcome | None:
        """The previous slot's ``SlotOutcome`` (None at the start of an episode)."""
        return self.simulator.state.last_outcome

    # ------------------------------------------------------------------ rendering
    def _render_text(self) -> str:
        from mec_gym.envs.two_timescale_render import render_text

        return render_text(self)

    def _render_rgb(self) -> np.ndarray:
        from mec_gym.envs.two_timescale_render import new_figure, render_rgb

        if self._figure is None:
            self._figure = new_figure()
        return render_rgb(self, self._figure)
