"""MultiStepOffload-v1: layer-by-layer device-edge offloading of DNN inference.

Source: S. Hu, M. Li, J. Gao, C. Zhou, X. Shen, "Adaptive Device-Edge Collaboration on DNN
Inference in AIoT: A Digital Twin-Assisted Approach", IEEE Internet of Things Journal
(arXiv:2405.17664). Model as documented in ``docs/multistep_offload.md``.

The system (config, constants, task generators, the event simulator and its state) lives in
:mod:`mec_gym.simulators.multistep_offload`; this module poses it as an MDP: actions, the
observation encoding and the reward.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from mec_gym.envs.base import MecEnv, env_metadata
from mec_gym.simulators.multistep_offload import (
    LOCAL,
    DecisionContext,
    MultiStepOffloadConfig,
    MultiStepSimulator,
    MultiStepSystem,
    TaskGenerator,
    TaskRecord,
)

__all__ = ["MultiStepOffloadConfig", "MultiStepOffloadEnv", "LOCAL", "TaskRecord"]

DYNAMIC_FEATURES: tuple[tuple[str, float], ...] = (
    ("elapsed_s", 0.5),
    ("queue_length", 2.0),
    ("edge_backlog_s", 0.25),
    ("uplink_rate", 0.0),  # scale: the nominal rate of the config
    ("upload_s", 0.25),
    ("offload_delay_s", 0.5),
    ("device_arrival_rate", 1.0),
    ("edge_arrival_rate", 1.0),
)
"""Names and squashing scales (x -> x / (x + scale)) of the state-dependent features."""
INTEGER_ACTIONS = (int, bool, np.int64, np.int32)
"""Action types taken without conversion when 0 or 1 (anything else goes through the checks)."""


class MultiStepOffloadEnv(MecEnv[MultiStepOffloadConfig]):
    """Event-driven control of when K devices offload a DNN task to an edge server.

    ## Description
    K devices receive inference tasks (Poisson arrivals, FIFO queue per device) and run a
    shallow DNN (the first ``device_blocks`` blocks of AlexNet plus an exit head) block by
    block. Before each decision boundary the controller at the edge decides whether the device
    continues or uploads the boundary's output so that the edge's full DNN finishes the task.
    The edge is a FIFO server also loaded by bursty background work; the uplink has Rayleigh
    block fading and log-normal shadowing; device block times are noisy.

    ## Action Space
    ``Discrete(2)``: 0 = continue on the device, 1 = offload now. ``action_masks()`` gives the
    valid actions for MaskablePPO (offload is masked where the necessary condition rules it out).
    With ``decision_points="candidates"`` (default) every decision is at a candidate, so the mask
    is always ``[True, True]`` and MaskablePPO acts as PPO; with ``"all"`` it masks the
    non-candidate boundaries.

    ## Observation Space
    ``Box(0, 1, (K + L_d + 14,), float32)``: one-hot deciding device, one-hot boundary, and
    (squashed as x / (x + scale)) elapsed time of the task, device queue length, edge backlog (s),
    uplink rate estimate, estimated upload time, estimated offload delay, recent device and edge
    arrival rates; plus output size at the boundary, remaining local and edge MACs, remaining local
    time, all as fractions of their maxima; last, the fraction of the episode's tasks whose
    outcome is not fixed yet. With ``status="twin"`` the boundary and elapsed time are the
    digital twin's estimates.

    ## Rewards
    The utility ``w_A * accuracy - w_T * delay - w_E * energy`` of every task whose outcome
    became fixed during the step: a local completion, or an offloaded task whose upload ended
    (under FIFO its edge completion is then fixed). An episode's return is the sum of its tasks'
    utilities, the objective itself: train undiscounted (``gamma=1``, as the shipped
    hyperparameters do). Steps are decisions, not tasks or seconds, so a discount per step would
    charge every "continue" for delaying all later rewards; the pending-task fraction in the
    observation tells the critic how much return remains.

    ## Starting State
    Empty queues, an edge backlog of zero, a random background state; the first step is the
    first decision of the first task.

    ## Episode End
    Terminated when all ``tasks_per_episode`` tasks have finished. Registered with a
    ``max_episode_steps`` guard far above the natural length.

    ## Arguments
    ``gymnasium.make("MultiStepOffload-v1", config=None, render_mode=None,
    tasks=None, **overrides)``, where ``config`` is a ``MultiStepOffloadConfig`` or dict,
    overrides are its fields, and ``tasks`` draws each episode's tasks
    (``PoissonTasks()`` by default; ``TaskTrace(draw)`` replays a fixed task set or trace; any
    callable ``(system, rng) -> TaskDraw``).

    ## Info
    Episode-to-date means over finished tasks: ``utility``, ``cost`` (= -utility), ``delay``,
    ``energy``, ``accuracy``, ``offload_rate``, ``signalling`` (messages per task),
    ``twin_error`` (mean |estimated - true| boundary time, s); also ``tasks_finished``,
    ``step_tasks`` (records of the tasks finished in this step), ``device``, ``task``, ``boundary``
    (of the pending decision),
    ``action_mask``.

    ## Version History
    - v1, 2026-11-26 (API only: the same numbers for every config that ran before): configs
      whose traces would not fit in memory are refused naming the fields (the arrivals' span in
      fading blocks, the background arrivals, the largest upload, ``num_devices <= 1000``);
      ``background_rates=(0, 0)`` runs (its arrival-rate feature is 0); the uplink trace grows
      in place (linear in simulated time).
    - v1: the observation ends with the fraction of the episode's tasks still pending (for an
      undiscounted critic); ``status="polling"`` counts a status message per block boundary a
      task reaches (the spec's polling), no longer per decision point; dynamics and rewards
      unchanged. Also (API): the system runs in
      ``env.simulator`` (state ``env.state``); ``tasks=`` swaps the task process; a ``preset``
      is refused (the env has none).
    - v0: initial version.

    ## Simulator
    ``env.simulator`` (``MultiStepSimulator``) holds the episode's whole state
    (``simulator.state``, a ``MultiStepState``) and answers the queries of the twins, the
    renderer and the policies; ``env.system`` holds what the config fixes (``MultiStepSystem``).

    ## System model and source
    Hu et al., arXiv:2405.17664 (see module docstring); spec ``multistep_offload.md``.
    """

    metadata: ClassVar[dict[str, Any]] = env_metadata(
        score="utility",
        higher_is_better=True,
        components={
            "delay": "s",
            "energy": "J",
            "accuracy": "",
            "offload_rate": "",
            "signalling": "/task",
        },
        hindsight=True,
    )
    config_class = MultiStepOffloadConfig

    def __init__(
        self,
        config: MultiStepOffloadConfig | dict[str, Any] | None = None,
        render_mode: str | None = None,
        tasks: TaskGenerator | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(config, render_mode, **overrides)
        self.system = system = MultiStepSystem.from_config(self.config)
        self.simulator = MultiStepSimulator(system, tasks)
        self.decision_boundaries = system.decision_boundaries
        self.offload_allowed = system.offload_allowed
        self._build_observation_tables()
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Box(0.0, 1.0, (self.observation_size,), np.float32)
        self._step_records: list[TaskRecord] = []
        self.last_decision: tuple[int, int, bool] | None = None
        """(device, boundary, offload) of the last step's decision (None after reset)."""
        self._pending_decision = (-1, -1)  # (device, boundary) of the decision due

    # ------------------------------------------------------------------ observation tables
    def _build_observation_tables(self) -> None:
        cfg, system = self.config, self.system
        depth = cfg.device_blocks
        local_total = system.nominal_local_s
        remaining_local_s = local_total - system.nominal_reach_s
        static = np.zeros((depth + 1, depth + 1 + 4), dtype=np.float32)
        static[:, : depth + 1] = np.eye(depth + 1)
        static[:, depth + 1] = system.upload_bits / system.upload_bits.max()
        static[:, depth + 2] = remaining_local_s / local_total
        static[:, depth + 3] = system.edge_work / system.profile.total_macs
        static[:, depth + 4] = remaining_local_s / (remaining_local_s + 0.25)
        self._dynamic_scales = np.array(
            [scale or system.nominal_rate for _, scale in DYNAMIC_FEATURES]
        )
        self._dynamic_offset = cfg.num_devices + static.shape[1]
        # the dynamic features, then the fraction of the episode's tasks still pending
        self.observation_size = self._dynamic_offset + len(DYNAMIC_FEATURES) + 1
        # per (device, boundary): the one-hot device and the boundary's static features
        rows = np.zeros((cfg.num_devices, depth + 1, self.observation_size), dtype=np.float32)
        rows[:, :, : cfg.num_devices] = np.eye(cfg.num_devices)[:, None, :]
        rows[:, :, cfg.num_devices : self._dynamic_offset] = static
        self._observation_rows = rows
        self._scale_list = self._dynamic_scales.tolist()
        # mean background arrivals per rate window (0 without background load: feature 0)
        self._background_per_window = system.mean_background_rate * cfg.rate_window
        self._masks = [np.array([True, bool(allowed)]) for allowed in system.offload_allowed]

    def encode_observation(self, context: DecisionContext) -> np.ndarray:
        """Observation of a decision (the live one, or a counterfactual one of DT #1)."""
        cfg, sim = self.config, self.simulator
        time_s, boundary = context.time_s, context.boundary
        rate = sim.uplink_rate(context.device, time_s)
        backlog_s = context.edge_backlog_work / cfg.edge_speed
        upload_s = sim.upload_bits[boundary] / rate if rate > 0 else 1e6
        offload_delay = upload_s + backlog_s + sim.edge_work[boundary] / cfg.edge_speed
        device_recent, background_recent = sim.recent_arrivals(context.device, time_s)
        dynamic = (
            time_s - context.arrival_s,
            context.queue_length,
            backlog_s,
            rate,
            upload_s,
            offload_delay,
            device_recent / (cfg.arrival_rate * cfg.rate_window),
            background_recent / self._background_per_window if background_recent else 0.0,
        )
        observation = self._observation_rows[context.device, boundary].copy()
        # value / (value + scale) in float64, stored as float32, then the pending fraction
        features = [
            value / (value + scale) for value, scale in zip(dynamic, self._scale_list, strict=True)
        ]
        features.append(context.tasks_pending / cfg.tasks_per_episode)
        observation[self._dynamic_offset :] = features
        return observation

    def decode_observation(self, observation: np.ndarray) -> dict[str, float]:
        """Physical values behind an observation: device, boundary, and the dynamic features in
        SI units (arrival rates relative to their means); for policies built from the env."""
        k, depth = self.config.num_devices, self.config.device_blocks
        obs = np.asarray(observation, dtype=np.float64)
        values: dict[str, float] = {
            "device": int(np.argmax(obs[:k])),
            "boundary": int(np.argmax(obs[k : k + depth + 1])),
        }
        squashed = np.minimum(obs[self._dynamic_offset : -1], 1.0 - 1e-7)
        raw = self._dynamic_scales * squashed / (1.0 - squashed)
        for (name, _), value in zip(DYNAMIC_FEATURES, raw.tolist(), strict=True):
            values[name] = value
        values["tasks_pending"] = float(obs[-1]) * self.config.tasks_per_episode
        return values

    # ------------------------------------------------------------------ MDP
    @property
    def records(self) -> list[TaskRecord | None]:
        """Outcome of every task of the episode (None until it finishes)."""
        return self.simulator.state.records

    @property
    def episode_over(self) -> bool:
        return self.simulator.done

    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any]]:
        self._step_records = self.simulator.reset(self.np_random)
        self.last_decision = None
        return self._observation(), self._info()

    def _step_episode(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        offload = self._parse_action(action)
        self.last_decision = (*self._pending_decision, offload)
        self._step_records = self.simulator.decide(offload)
        terminated = self.simulator.done
        reward = sum([record.utility for record in self._step_records], 0.0)
        obs = self._observation() if not terminated else np.zeros(self.observation_size, np.float32)
        return obs, reward, terminated, False, self._info()

    def action_masks(self) -> np.ndarray:
        """Valid actions at the current decision: [continue, offload] as booleans."""
        if self.simulator.done:
            return np.array([True, False])
        return self._masks[self.simulator.pending_boundary()].copy()

    def _parse_action(self, action: Any) -> bool:
        if type(action) in INTEGER_ACTIONS and (action == 0 or action == 1):
            return bool(action)  # what Discrete(2).sample() and SB3's predict give
        value = np.asarray(action)
        if value.size != 1:
            raise ValueError(f"action must be a single 0/1 value, got shape {value.shape}")
        scalar = value.reshape(()).item()
        if isinstance(scalar, float) and not np.isfinite(scalar):
            raise ValueError(f"action must be finite, got {scalar}")
        if scalar not in (0, 1):
            raise ValueError(f"action must be 0 (continue) or 1 (offload), got {scalar!r}")
        return bool(scalar)

    def _observation(self) -> np.ndarray:
        return self.encode_observation(self.simulator.decision_context())

    def _info(self) -> dict[str, Any]:
        st = self.simulator.state
        finished = max(st.tasks_finished, 1)
        totals = st.totals
        info: dict[str, Any] = {
            "utility": totals["utility"] / finished,
            "cost": -totals["utility"] / finished,
            "delay": totals["delay"] / finished,
            "energy": totals["energy"] / finished,
            "accuracy": totals["accuracy"] / finished,
            "offload_rate": totals["offloaded"] / finished,
            "signalling": st.signalling / finished,
            "twin_error": totals["twin_error"] / max(st.decisions, 1),
            "tasks_finished": st.tasks_finished,
            "step_tasks": self._step_records,
            "time": st.now,
        }
        if st.deciding >= 0:  # a decision is pending (the episode is not over)
            boundary = self.simulator.pending_boundary()
            info["device"] = st.deciding
            info["task"] = st.current[st.deciding]
            info["boundary"] = boundary
            info["action_mask"] = self._masks[boundary].copy()
            self._pending_decision = (st.deciding, boundary)
        else:
            info["action_mask"] = self.action_masks()
        return info

    # ------------------------------------------------------------------ rendering
    def _render_text(self) -> str:
        from mec_gym.envs.multistep_render import render_text

        return render_text(self.simulator)

    def _render_rgb(self) -> np.ndarray:
        from mec_gym.envs.multistep_render import render_rgb

        return render_rgb(self, self._step_records)
