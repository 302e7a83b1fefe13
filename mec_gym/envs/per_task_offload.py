"""PerTaskOffload-v1: one step = one arriving video-inference task; resources are held over time.

Source: G. Pan, H. Zhang, S. Xu, S. Zhang, X. Chen, "Joint Optimization of Video-based AI
Inference Tasks in MEC-assisted Augmented Reality Systems", IEEE Trans. Cogn. Commun. Netw.
9(2), 2023 (arXiv 2301.01010). The paper optimises one round of N simultaneous tasks; this is
our sequential variant (model ``docs/joint_offload.md``): the same devices,
channels, DNN, accuracy and cost model, with tasks arriving over time and reserving shares.

The system (config, generators, the reservation simulator and its state) lives in
:mod:`mec_gym.simulators.per_task_offload`; this module poses it as an MDP: the action mapping
onto shares of what is free, the observation encoding and the reward.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from mec_gym.envs.base import EpisodeMeans, env_metadata, real_values
from mec_gym.envs.joint_offload import GainScale, JointOffloadSystemEnv
from mec_gym.problems.joint_offload import Allocation, DropGenerator, local_delay_energy
from mec_gym.simulators.per_task_offload import (
    ArrivalGenerator,
    ArrivalTrace,
    PerTaskOffloadConfig,
    PerTaskSimulator,
    PerTaskState,
    PoissonArrivals,
    TaskDecision,
    TaskOutcome,
    edge_option,
    next_releases,
)
from mec_gym.solvers.joint_offload.local import local_optimum

__all__ = [
    "PerTaskOffloadEnv",
    "PerTaskOffloadConfig",
    "TaskOutcome",
    "ArrivalGenerator",
    "PoissonArrivals",
    "ArrivalTrace",
    "PerTaskState",
    "TaskDecision",
    "SHARE_FRACTION_FLOOR",
    "MIN_ABSOLUTE_SHARE",
    "LOCAL_FRACTION_FLOOR",
    "RELEASES_OBSERVED",
    "BACKLOG_SCALE_S",
    "RELEASE_SCALE_S",
    "RATE_WINDOW_ARRIVALS",
    "OFFLOAD_SHARES",
    "share_fraction",
    "squashed",
    "RESERVATIONS_SCALE",
    "option_shares",
    "option_masks",
]

SHARE_FRACTION_FLOOR = 0.01
"""A task reserves between this fraction and 1 minus it of the free uplink / edge CPU."""
MIN_ABSOLUTE_SHARE = 1e-6
"""Smallest reserved share of the whole uplink / F^E (guards against a share of 0 when almost
nothing is free; may oversubscribe a budget by at most this much per task in service)."""
LOCAL_FRACTION_FLOOR = 0.01
"""Smallest local CPU fraction of f^max."""
RELEASES_OBSERVED = 3
"""Upcoming releases of uplink and of edge-CPU reservations in the observation (each)."""
BACKLOG_SCALE_S = 1.0
"""Observation: the local backlog b (s) is observed as b / (b + BACKLOG_SCALE_S)."""
RELEASE_SCALE_S = 0.1
"""Observation: the time t (s) to a release is observed as t / (t + RELEASE_SCALE_S)."""
RATE_WINDOW_ARRIVALS = 10.0
"""The recent arrival rate is counted over a window holding this many expected arrivals."""
RESERVATIONS_SCALE = 2.0
"""Observation: n reservations in service are observed as n / (n + RESERVATIONS_SCALE)."""
FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
"""Action arrays read as Python floats directly (their values are float64 values exactly)."""
OFFLOAD_SHARES = (0.125, 0.25, 0.5, 1.0)
"""Options mode: reservation sizes of the edge options, as fractions of the whole uplink and of
F^E (each capped at ``1 - SHARE_FRACTION_FLOOR`` of what is free)."""


def squashed(value: Any, scale: float) -> Any:
    """How the observation maps a quantity >= 0 onto [0, 1): ``value / (value + scale)``
    (floats or arrays alike)."""
    return value / (value + scale)


def share_fraction(unit: Any) -> Any:
    """Continuous mode: the fraction of what is free that an action's unit value (in [0, 1])
    reserves, ``q(u)`` (floats or arrays alike)."""
    return SHARE_FRACTION_FLOOR + (1.0 - 2.0 * SHARE_FRACTION_FLOOR) * unit


def option_shares(free_uplink: Any, free_edge: Any) -> np.ndarray:
    """Options mode: the (time share, edge share) each edge option reserves when
    ``free_uplink`` and ``free_edge`` (fractions, floats or (...,) arrays) are free,
    (..., len(OFFLOAD_SHARES), 2)."""
    largest = 1.0 - SHARE_FRACTION_FLOOR
    wanted = np.asarray(OFFLOAD_SHARES)[:, None]
    caps = largest * np.stack((free_uplink, free_edge), axis=-1)[..., None, :]
    return np.maximum(np.minimum(wanted, caps), MIN_ABSOLUTE_SHARE)


def option_masks(shares: np.ndarray, costs: np.ndarray, harm_bound: float) -> np.ndarray:
    """Options mode: which options are valid (see ``PerTaskOffloadEnv``'s Action Space), from
    the edge options' reservations ``shares`` (..., K, 2), every option's immediate cost
    ``costs`` (..., 1 + K), the local one first, and the bound ``harm_bound`` on what a local
    job costs the later tasks; (..., 1 + K) booleans, the local option always valid."""
    first = np.ones((*shares.shape[:-2], 1), dtype=bool)
    distinct = np.concatenate(
        (first, np.any(shares[..., 1:, :] != shares[..., :-1, :], axis=-1)), axis=-1
    )
    worth_it = costs[..., 1:] <= costs[..., :1] + harm_bound
    return np.concatenate((first, distinct & worth_it), axis=-1)


class PerTaskOffloadEnv(JointOffloadSystemEnv[PerTaskOffloadConfig]):
    """Decide, for each arriving task, where it runs and which share of what is free it reserves.

    ## Description
    N devices of the joint-offloading cell (``JointOffload-v1``) receive video-inference tasks
    as independent Poisson processes of ``arrival_rate`` per device. For each arriving task the
    agent chooses local or edge execution, the frames F, and, if it offloads, the fraction of
    the currently *free* uplink time share and edge CPU it reserves; if it runs locally, the
    CPU frequency. Reservations (our choice, which makes every action feasible):

    - an offloaded task reserves its uplink share ``tau`` and its edge CPU ``f^e`` at its
      arrival; ``tau`` is released when its upload ends (``F D / (tau R)`` later) and ``f^e``
      when its edge computation ends (``eta C(F) / f^e`` after the upload). The edge CPU is
      thus held (idle) during the upload, so the task never waits at the edge;
    - a device computes its local tasks one at a time, first come first served; a local task
      starts when the previous one ends and its delay includes that wait.

    ## Action Space
    ``Box(-1, 1, (5,), float32)``: (offload score, frames, uplink fraction, edge-CPU fraction,
    local CPU fraction). Entries are clipped to [-1, 1] and mapped to ``u = (a + 1) / 2``:
    offload iff ``u0 > 1/2``; ``F = rint(F_min + u1 (F_max - F_min))``; reserved uplink
    ``tau = q(u2) * free_uplink`` and edge CPU ``f^e = q(u3) * free_edge * F^E`` with
    ``q(u) = SHARE_FRACTION_FLOOR + (1 - 2 SHARE_FRACTION_FLOOR) u`` (so a task never takes
    nothing and never everything), both at least ``MIN_ABSOLUTE_SHARE`` of the total;
    ``f^l = max(u4, LOCAL_FRACTION_FLOOR) f^max``. Only the entries of the chosen mode matter.
    ``action_from_allocation`` maps a one-device allocation (absolute shares) to this action.

    ``action_mode="options"``: ``Discrete(1 + len(OFFLOAD_SHARES))``. Option 0 runs the task
    locally with Theorem 1's frames and frequency (after the device's queue); option ``k >= 1``
    offloads it reserving ``min(OFFLOAD_SHARES[k-1], (1 - SHARE_FRACTION_FLOOR) free)`` of the
    uplink and of the edge CPU (at least ``MIN_ABSOLUTE_SHARE``), with the frames minimising the
    task's cost for those shares (:func:`~mec_gym.simulators.per_task_offload.edge_option`).
    The largest option is what the greedy rule reserves and the 1/2 option the ``share_1/2``
    rule's, so every rule baseline but the solver-sized ones is expressible exactly.
    ``action_masks()`` (for MaskablePPO) marks an edge option invalid when what is free caps
    it to the same reservation as the next smaller option (the same decision twice), or when it
    costs the task more than the local option plus ``w1 d_L K``, with ``d_L`` the local
    option's compute time and ``K`` the tasks left in the episode after this one: a local job
    delays each later task of its device by at most ``d_L``, so (with the later decisions
    unchanged) such an edge option cannot pay. The local option is always valid.

    ## Observation Space
    ``Box(-1, 1, (5 + 4 * RELEASES_OBSERVED + 2,), float32)`` (19 by default): the task's
    device gain mapped from ``gain_range_db(config)`` onto [-1, 1]; its local backlog
    ``b / (b + BACKLOG_SCALE_S)``; the free uplink share and the free fraction of F^E; uploads
    and edge computations in service, each as ``k / (k + 2)``; for the next
    ``RELEASES_OBSERVED`` uplink releases then the next edge releases, the time to the release
    ``t / (t + RELEASE_SCALE_S)`` and the released share (zeros where there are fewer); the
    recent arrival rate over all devices relative to ``N * arrival_rate``, as ``r / (r + 1)``,
    over the last ``RATE_WINDOW_ARRIVALS / (N * arrival_rate)`` s (current arrival included).
    The observation after the last task is all zeros.
    Options mode appends, per option, the task's immediate cost ``c`` (as the reward counts it,
    the local option's with its waiting) as ``c / (1 + |c|)``: the values the greedy rule
    compares (``1 + len(OFFLOAD_SHARES)`` entries, 24 in all by default).

    ## Rewards
    ``-U`` of the task: ``U = w1 T + w2 E - w3 A(F)`` with T including its local waiting. A
    step is one task, so a discount per step is a discount per task; a reservation holds
    resources for about one inter-arrival time, and the shipped hyperparameters use
    ``gamma=0.9`` (a horizon of ~10 tasks), which learns far better than 0.99 under the
    heavy-tailed costs of far devices.

    ## Starting State
    A drop of N devices (by ``drops``; uniform by default), fixed for the episode, with one
    i.i.d. N(0, shadowing_std_db^2) dB shadowing draw per device; empty queues, all resources
    free; the first step decides the first arrival.

    ## Episode End
    Terminated after ``tasks_per_episode`` decisions (the outcome of a task is fixed when it is
    decided). Registered with a ``max_episode_steps`` guard far above the natural length.

    ## Arguments
    ``gymnasium.make("PerTaskOffload-v1", config=None, render_mode=None, preset="balanced",
    drops=None, arrivals=None, **overrides)``, with a ``PerTaskOffloadConfig`` (taken whole) or
    a dict updating the preset (``None``: the spec's table), and its fields as overrides
    (``arrival_rate``, ``tasks_per_episode``, ...; a field of another env is an error).
    ``drops`` places the devices (``UniformDrops()`` by default, ``FixedDrop``), ``arrivals``
    draws the tasks (``PoissonArrivals()`` by default, ``ArrivalTrace`` replays a trace).

    ## Info
    Episode-to-date means over decided tasks: ``cost``, ``delay`` (s), ``energy`` (J),
    ``accuracy``, ``waiting`` (s), ``offload_rate``; ``edge_in_service`` (edge computations in
    service seen by the task just decided, before it reserved), ``tasks_decided`` and ``time``.

    ## Simulator (for fixed policies)
    ``env.simulator`` (``PerTaskSimulator``) holds the episode's state, ``env.state``
    (``PerTaskState``): at each decision ``device`` (the task's device), ``task`` (its index),
    ``now`` (s), ``free_uplink_share`` (fraction of the TDMA frame), ``free_edge_share``
    (fraction of F^E), ``uploads`` and ``edge_jobs`` (the reservations in service as (release
    time s, share)), ``problem`` (the episode's N-device instance: gains, rates, C(F), A(F)),
    ``outcomes`` (``TaskOutcome`` of every decided task); the simulator's queries
    ``task_problem()`` (the one-device instance the task is costed on), ``task_rate()``
    (bit/s), ``free_edge_frequency()`` (cycle/s) and ``local_backlog()`` (s). A policy that
    reads them instead of the observation must say so.

    ## Version History
    - v1, 2026-11-26: ``action_mode="options"`` (a new option; the default is unchanged).
    - v1, 2026-11-26 (API only: same dynamics, observations and rewards): ``PerTaskOffloadConfig``
      refuses JointOffload's fields; ``drops=`` and ``arrivals=`` generators; the episode's
      state moved to ``env.state`` of ``env.simulator`` (``PerTaskSimulator``); the third
      positional argument is ``drops`` (pass ``preset`` by keyword).
    - v1: default scenario ``balanced`` (see ``JointOffload-v1``) instead of the spec's table;
      the observed gain range spans 5 shadowing sigmas (was 3).
    - v0: initial version.

    ## System model and source
    Pan et al. 2023, arXiv 2301.01010 (see the module docstring); spec ``joint_offload.md``
    section 6. The reservation rules, the FIFO local queue and the i.i.d. per-episode shadowing
    are our choices.
    """

    metadata: ClassVar[dict[str, Any]] = env_metadata(
        score="cost",
        higher_is_better=False,
        components={
            "delay": "s",
            "energy": "J",
            "accuracy": "",
            "waiting": "s",
            "offload_rate": "",
        },
    )

    config_class = PerTaskOffloadConfig

    def __init__(
        self,
        config: PerTaskOffloadConfig | dict[str, Any] | None = None,
        render_mode: str | None = None,
        drops: DropGenerator | None = None,
        arrivals: ArrivalGenerator | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(config, render_mode, **overrides)
        cfg = self.config
        self.simulator = PerTaskSimulator(cfg, drops, arrivals)
        self.min_frames = int(self.simulator.template.frame_range[0])
        self._frame_span = cfg.max_frames - self.min_frames
        self.gain_scale = GainScale(cfg)
        self.rate_window = RATE_WINDOW_ARRIVALS / (cfg.num_devices * cfg.arrival_rate)
        """Observation: the window of the recent arrival rate, s."""
        self.action_mode = cfg.action_mode
        self._obs_size = 5 + 4 * RELEASES_OBSERVED + 2
        local = local_optimum(self.simulator.template)
        self.local_decision = TaskDecision(
            False, int(local.frames[0]), 0.0, 0.0, local.frequency[0]
        )
        """Options mode: the local option (Theorem 1's frames and frequency)."""
        self.local_cost = float(local.cost[0])
        """Options mode: the local option's cost without waiting."""
        template = self.simulator.template
        self.local_delay: float = float(  # s, the local option's compute time
            local_delay_energy(cfg, template.macs[local.frames[0]], local.frequency[0])[0]
        )
        self._options: tuple[int, list[tuple[TaskDecision, float]]] | None = None
        if self.action_mode == "options":
            self._obs_size += 1 + len(OFFLOAD_SHARES)
            self.action_space = spaces.Discrete(1 + len(OFFLOAD_SHARES))
        else:
            self.action_space = spaces.Box(-1.0, 1.0, (5,), np.float32)
        self.observation_space = spaces.Box(-1.0, 1.0, (self._obs_size,), np.float32)

    # ------------------------------------------------------------------ gym API
    @property
    def episode_over(self) -> bool:
        return self.simulator.done

    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any]]:
        self.simulator.reset(self.np_random)
        self._options = None
        gain_db = self.state.problem.gain_db
        self._gain_obs = np.clip(self.gain_scale.encode(gain_db), -1.0, 1.0).tolist()
        self._episode_means = EpisodeMeans(self.evaluated_keys())
        self._edge_seen = 0
        return self._observation(), self._info()

    def _step_episode(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        decision = self.decision_from_action(action)
        self._edge_seen = len(self.simulator.state.edge_jobs)  # in service at the decision
        outcome = self.simulator.decide(decision)
        means = self._episode_means.add_in_order(  # the order of evaluated_keys()
            (
                outcome.cost,
                outcome.delay,
                outcome.energy,
                outcome.accuracy,
                outcome.waiting,
                outcome.offload,
            )
        )
        terminated = self.simulator.done
        obs = np.zeros(self._obs_size, np.float32) if terminated else self._observation()
        return obs, -outcome.cost, terminated, False, self._info(means)

    # ------------------------------------------------------------------ actions
    def decision_from_action(self, action: Any) -> TaskDecision:
        """The decision an action stands for at the current task (see the Action Space)."""
        if self.action_mode == "options":
            values = np.asarray(action)
            if values.size != 1 or values.dtype.kind not in "iuf":
                raise ValueError(f"action must be one option index, got {action!r}")
            index = values.reshape(()).item()
            if index != int(index) or not 0 <= index < self.action_space.n:
                raise ValueError(f"action must be an integer in [0, {self.action_space.n - 1}]")
            return self.option_decisions()[int(index)][0]
        unit = self._parse_action(action)
        cfg, st = self.config, self.simulator.state
        offload = unit[0] > 0.5
        frames = round(self.min_frames + unit[1] * self._frame_span)
        time_share = edge_share = local_frequency = 0.0
        if offload:
            time_share = max(share_fraction(unit[2]) * st.free_uplink_share, MIN_ABSOLUTE_SHARE)
            edge_share = max(share_fraction(unit[3]) * st.free_edge_share, MIN_ABSOLUTE_SHARE)
        else:
            local_frequency = max(unit[4], LOCAL_FRACTION_FLOOR) * cfg.device_max_frequency
        return TaskDecision(offload, frames, time_share, edge_share, local_frequency)

    def _parse_action(self, action: Any) -> list[float]:
        """The action clipped to [-1, 1] and mapped to [0, 1] (Python floats: 5 values are
        faster without numpy)."""
        if type(action) is np.ndarray and action.dtype in FLOAT_DTYPES and action.ndim == 1:
            values = action.tolist()  # what the action space samples and SB3 predicts
        else:
            values = real_values(action).reshape(-1).tolist()
        if len(values) != 5:
            raise ValueError(f"action must have 5 entries, got {len(values)}")
        if not all(map(math.isfinite, values)):
            raise ValueError(f"action must be finite, got {action!r}")
        return [1.0 if v >= 1.0 else 0.0 if v <= -1.0 else (v + 1.0) * 0.5 for v in values]

    # ------------------------------------------------------------------ options mode
    def option_shares(self, free_uplink: float, free_edge: float) -> np.ndarray:
        """Options mode: the (time share, edge share) each edge option reserves when
        ``free_uplink`` and ``free_edge`` are free, (len(OFFLOAD_SHARES), 2)."""
        return option_shares(free_uplink, free_edge)

    def option_decisions(self) -> list[tuple[TaskDecision, float]]:
        """Options mode: (decision, immediate cost) of every option at the current task, the
        local option first (its cost includes the wait in the device's queue)."""
        st = self.simulator.state
        if self._options is not None and self._options[0] == st.task:
            return self._options[1]
        backlog = self.simulator.local_backlog()
        options = [(self.local_decision, self.local_cost + self.config.delay_weight * backlog)]
        problem = self.simulator.task_problem()
        for time_share, edge_share in self.option_shares(
            st.free_uplink_share, st.free_edge_share
        ).tolist():
            frames, cost = edge_option(problem, time_share, edge_share)
            options.append((TaskDecision(True, frames, time_share, edge_share), cost))
        self._options = (st.task, options)
        return options

    def action_masks(self) -> np.ndarray:
        """Options mode: which options are distinct decisions (see the Action Space)."""
        if self.action_mode != "options":
            raise ValueError("action masks exist in action_mode='options' only")
        st = self.simulator.state
        if self.simulator.done:
            return np.concatenate(([True], np.zeros(len(OFFLOAD_SHARES), dtype=bool)))
        shares = self.option_shares(st.free_uplink_share, st.free_edge_share)
        costs = np.array([cost for _, cost in self.option_decisions()])
        later_tasks = self.config.tasks_per_episode - st.task - 1
        harm_bound = self.config.delay_weight * self.local_delay * later_tasks
        return option_masks(shares, costs, harm_bound)

    # ------------------------------------------------------------------ for fixed policies
    def action_from_allocation(self, allocation: Allocation) -> np.ndarray:
        """The action giving the current task the one-device ``allocation`` (absolute shares:
        ``time_share`` of the frame, ``edge_frequency`` and ``local_frequency`` in cycle/s) as
        exactly as the mapping allows (see :meth:`action_from_decision`)."""
        if allocation.num_devices != 1:
            raise ValueError(f"allocation must be for one task, got {allocation.num_devices}")
        decision = TaskDecision(
            bool(allocation.offload[0]),
            int(allocation.frames[0]),
            float(allocation.time_share[0]),
            float(allocation.edge_frequency[0] / self.config.edge_capacity),
            float(allocation.local_frequency[0]),
        )
        return self.action_from_decision(decision)

    def action_from_decision(
        self, decision: TaskDecision, free_shares: tuple[float, float] | None = None
    ) -> np.ndarray:
        """The action for ``decision``. Its shares become fractions of what is free
        (``free_shares`` = (uplink, edge), the env's current ones by default, e.g. as decoded
        from an observation), clipped to what a task can reserve; exact up to float32 rounding
        otherwise. Options mode: the local option, or the edge option whose shares are
        closest to the decision's."""
        cfg = self.config
        if self.action_mode == "options":
            if not decision.offload:
                return np.int64(0)
            free = free_shares or (self.state.free_uplink_share, self.state.free_edge_share)
            shares = self.option_shares(*free)
            wanted = np.array([decision.time_share, decision.edge_share])
            return np.int64(1 + np.argmin(np.abs(shares - wanted).sum(axis=1)))
        span = 1.0 - 2.0 * SHARE_FRACTION_FLOOR
        frames = min(max(decision.frames, self.min_frames), cfg.max_frames)
        unit = np.zeros(5)
        unit[1] = (frames - self.min_frames) / max(self._frame_span, 1)
        if decision.offload:
            unit[0] = 1.0
            free = free_shares or (self.state.free_uplink_share, self.state.free_edge_share)
            shares = (decision.time_share, decision.edge_share)
            for column, (share, available) in enumerate(zip(shares, free, strict=True), start=2):
                fraction = share / available if available > 0 else 1.0
                unit[column] = (fraction - SHARE_FRACTION_FLOOR) / span
        else:
            unit[4] = decision.local_frequency / cfg.device_max_frequency
        return np.clip(2.0 * unit - 1.0, -1.0, 1.0).astype(np.float32)

    def decode_observation(self, observation: np.ndarray) -> dict[str, Any]:
        """Physical values behind an observation: the task device's ``gain_db`` (dB), its
        ``local_backlog`` (s), the ``free_uplink_share`` and ``free_edge_share`` (fractions),
        the ``uploads`` and ``edge_jobs`` in service (counts), the next releases of each as
        ``upload_releases`` and ``edge_releases`` (lists of (s from now, share)), and the
        ``arrival_rate_ratio`` (recent arrivals over their mean), and in options mode the
        ``option_costs``. Exact up to float32 rounding."""
        obs = np.asarray(observation, dtype=float)

        def unsquash(value: float, scale: float) -> float:  # inverse of x / (x + scale)
            return scale * value / max(1.0 - value, 1e-12)

        values: dict[str, Any] = {
            "gain_db": float(self.gain_scale.decode(obs[0])),
            "local_backlog": unsquash(obs[1], BACKLOG_SCALE_S),
            "free_uplink_share": float(obs[2]),
            "free_edge_share": float(obs[3]),
            "uploads": round(unsquash(obs[4], 2.0)),
            "edge_jobs": round(unsquash(obs[5], 2.0)),
        }
        for index, name in enumerate(("upload_releases", "edge_releases")):
            first = 6 + 2 * RELEASES_OBSERVED * index
            pairs = obs[first : first + 2 * RELEASES_OBSERVED].reshape(-1, 2)
            count = min(values["uploads" if index == 0 else "edge_jobs"], RELEASES_OBSERVED)
            values[name] = [
                (unsquash(wait, RELEASE_SCALE_S), float(share)) for wait, share in pairs[:count]
            ]
        rate_index = 6 + 4 * RELEASES_OBSERVED
        values["arrival_rate_ratio"] = unsquash(obs[rate_index], 1.0)
        if self.action_mode == "options":
            squashed = obs[rate_index + 1 :]
            values["option_costs"] = (squashed / np.maximum(1.0 - np.abs(squashed), 1e-12)).tolist()
        return values

    # ------------------------------------------------------------------ observation
    def _observation(self) -> np.ndarray:
        st = self.simulator.state
        now = st.now
        backlog = self.simulator.local_backlog()
        uploads, edge = st.uploads, st.edge_jobs
        features = [
            self._gain_obs[st.device],
            squashed(backlog, BACKLOG_SCALE_S),
            st.free_uplink_share,
            st.free_edge_share,
            squashed(len(uploads), RESERVATIONS_SCALE),
            squashed(len(edge), RESERVATIONS_SCALE),
        ]
        for heap in (uploads, edge):
            upcoming = next_releases(heap, RELEASES_OBSERVED)
            for end, share in upcoming:
                features += (squashed(end - now, RELEASE_SCALE_S), share)
            features += (0.0, 0.0) * (RELEASES_OBSERVED - len(upcoming))
        ratio = self.simulator.recent_arrivals(self.rate_window) / RATE_WINDOW_ARRIVALS
        features.append(squashed(ratio, 1.0))
        if self.action_mode == "options":
            features += [cost / (1.0 + abs(cost)) for _, cost in self.option_decisions()]
        # every feature is in [-1, 1] by construction (gain clipped, the rest in [0, 1])
        return np.array(features, dtype=np.float32)

    def _info(self, means: dict[str, float] | None = None) -> dict[str, Any]:
        """The episode means (``means`` if just computed) and where the episode stands."""
        st = self.simulator.state
        info: dict[str, Any] = self._episode_means.means() if means is None else means
        info["edge_in_service"] = self._edge_seen
        info["tasks_decided"] = len(st.outcomes)
        info["time"] = st.now
        return info

    # ------------------------------------------------------------------ rendering
    def _render_text(self) -> str:
        from mec_gym.envs.joint_offload_render import render_tasks_text

        return render_tasks_text(self.simulator)

    def _render_rgb(self) -> np.ndarray:
        from mec_gym.envs.joint_offload_render import render_tasks_rgb

        return render_tasks_rgb(self)
