"""MultiStepOffload-v0: layer-by-layer device-edge offloading of DNN inference.

Source: S. Hu, M. Li, J. Gao, C. Zhou, X. Shen, "Adaptive Device-Edge Collaboration on DNN
Inference in AIoT: A Digital Twin-Assisted Approach", IEEE Internet of Things Journal
(arXiv:2405.17664). Model as specified in ``shared/spec/multistep_offload.md``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mec_gym.config import SystemConfig, resolve_config
from mec_gym.envs import checked_render_mode, render_view
from mec_gym.models.arrivals import mmpp_arrival_times, poisson_arrival_times
from mec_gym.models.channel import BlockFadingUplinks
from mec_gym.models.dnn_profiles import PROFILE_BUILDERS, exit_head_macs, get_profile
from mec_gym.models.layered_inference import candidate_boundaries, offload_upload_start
from mec_gym.models.queueing import FifoServer
from mec_gym.models.utility import task_utility
from mec_gym.twins.status import DeviceStatusTwin

__all__ = ["MultiStepOffloadConfig", "MultiStepOffloadEnv", "LOCAL", "TaskRecord"]

LOCAL = -1
"""Offload boundary recorded for a task that finished on the device."""

_INF = float("inf")
_BACKGROUND_CHUNK_S = 30.0


@dataclass(frozen=True)
class MultiStepOffloadConfig(SystemConfig):
    """Parameters of the multi-step offloading system (SI units).

    Defaults follow the spec except where the spec asks for calibration so that the scenario is
    not trivial (``eval/calibrate_multistep.py``, ``docs/multistep_calibration.md``): the uplink
    (3 MHz at a mean SNR of 10 dB with 8 dB shadowing instead of a 5 Mbit/s mean) and the
    background load (2 and 25 tasks/s instead of 5 and 40, which overload the edge on average).

    The background edge load is a two-state Markov-modulated Poisson process of full-model
    tasks (calm/busy rates, symmetric exponential sojourns).
    """

    num_devices: int = 5
    """K, devices sharing the edge server."""
    arrival_rate: float = 2.0
    """lambda, Poisson task arrivals per device, 1/s."""
    tasks_per_episode: int = 200
    """Tasks (over all devices) in one episode; it ends when all have finished."""
    dnn: str = "alexnet"
    """DNN profile name (see ``mec_gym.models.dnn_profiles.PROFILE_BUILDERS``)."""
    num_classes: int = 1000
    """Classes of the DNN and of the device's exit head."""
    device_blocks: int = 5
    """L_d, blocks of the device's shallow DNN (before its exit head)."""
    device_speed: float = 2e9
    """f_d, device compute speed, MAC/s."""
    edge_speed: float = 20e9
    """f_e, edge compute speed, MAC/s."""
    compute_noise: float = 0.1
    """epsilon, device block times are multiplied by U[1 - eps, 1 + eps]."""
    bits_per_element: float = 8.0
    """b, bits per uploaded tensor element."""
    uplink_bandwidth: float = 3e6
    """Uplink bandwidth, Hz."""
    uplink_mean_snr_db: float = 10.0
    """Mean uplink SNR before fading and shadowing, dB."""
    fading_block: float = 0.01
    """Rayleigh block-fading coherence time, s."""
    shadowing_std_db: float = 8.0
    """Log-normal shadowing standard deviation, dB (0 disables it)."""
    shadowing_correlation: float = 2.0
    """Shadowing correlation time, s."""
    background_rates: tuple[float, float] = (2.0, 25.0)
    """Background full-model tasks at the edge in the calm and busy states, 1/s."""
    background_mean_sojourn: float = 2.0
    """Mean time in each background state, s."""
    accuracy_full: float = 0.80
    """alpha_full, accuracy of a task finished by the edge's full DNN."""
    accuracy_shallow: float = 0.60
    """alpha_shallow, accuracy of the device's shallow DNN."""
    compute_power: float = 2.0
    """P_c, device power while computing, W."""
    tx_power: float = 0.5
    """P_tx, device power while transmitting, W."""
    weight_accuracy: float = 1.0
    """omega_A, utility weight of accuracy."""
    weight_delay: float = 1.0
    """omega_T, utility weight of delay, 1/s."""
    weight_energy: float = 0.2
    """omega_E, utility weight of energy, 1/J."""
    decision_points: str = "candidates"
    """"candidates": decide only at boundaries allowed by the necessary condition; "all": at
    every boundary (offload at a non-candidate is masked by ``action_masks``, executed if taken)."""
    status: str = "twin"
    """How the controller knows device progress: "twin" (DT #2 estimate, no polling), "polling"
    (exact, one status message per decision point), "oracle" (exact, free)."""
    rate_window: float = 1.0
    """Window for the recent arrival rates in the observation, s."""

    def validate(self) -> None:
        for name in ("num_devices", "tasks_per_episode", "num_classes", "device_blocks"):
            self._require_positive(name, integer=True)
        for name in (
            "arrival_rate",
            "device_speed",
            "edge_speed",
            "bits_per_element",
            "uplink_bandwidth",
            "fading_block",
            "shadowing_correlation",
            "background_mean_sojourn",
            "rate_window",
        ):
            self._require_positive(name)
        self._require_number("compute_noise", 0.0, 1.0, high_inclusive=False)
        self._require_number("uplink_mean_snr_db", -50.0, 80.0)
        self._require_number("shadowing_std_db", 0.0, 30.0)
        for name in ("accuracy_full", "accuracy_shallow"):
            self._require_number(name, 0.0, 1.0)
        for name in ("compute_power", "tx_power", "weight_accuracy", "weight_delay"):
            self._require_number(name, 0.0)
        self._require_number("weight_energy", 0.0)
        rates = self.background_rates
        if (
            not isinstance(rates, tuple)
            or len(rates) != 2
            or not all(isinstance(r, (int, float)) and np.isfinite(r) and r >= 0 for r in rates)
        ):
            raise ValueError(
                f"{type(self).__name__}.background_rates must be two finite rates >= 0 "
                f"(calm, busy) in 1/s, got {rates!r}"
            )
        self._require_choice("decision_points", ("candidates", "all"))
        self._require_choice("status", ("twin", "polling", "oracle"))
        self._require_choice("dnn", tuple(PROFILE_BUILDERS))


@dataclass
class TaskRecord:
    """Outcome of one finished task (times in s, energy in J)."""

    device: int
    arrival: float
    start: float
    finish: float
    boundary: int
    """Offload boundary, or LOCAL."""
    delay: float
    energy: float
    accuracy: float
    utility: float
    upload_start: float = _INF
    upload_end: float = _INF
    edge_job: int = -1
    """Index of the task's job in the edge server's arrival log (-1 if local)."""


class MultiStepOffloadEnv(gym.Env):
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

    ## Observation Space
    ``Box(0, 1, (K + L_d + 13,), float32)``: one-hot deciding device, one-hot boundary, and
    (squashed as x / (x + scale)) elapsed time of the task, device queue length, edge backlog (s),
    uplink rate estimate, estimated upload time, estimated offload delay, recent device and edge
    arrival rates; plus output size at the boundary, remaining local and edge MACs, remaining local
    time, all as fractions of their maxima. With ``status="twin"`` the boundary and elapsed time
    are the digital twin's estimates.

    ## Rewards
    The utility ``w_A * accuracy - w_T * delay - w_E * energy`` of every task whose outcome
    became fixed during the step: a local completion, or an offloaded task whose upload ended
    (under FIFO its edge completion is then fixed). An episode's return is the sum of its tasks'
    utilities.

    ## Starting State
    Empty queues, an edge backlog of zero, a random background state; the first step is the
    first decision of the first task.

    ## Episode End
    Terminated when all ``tasks_per_episode`` tasks have finished. Registered with a
    ``max_episode_steps`` guard far above the natural length.

    ## Arguments
    ``gymnasium.make("MultiStepOffload-v0", config=None, render_mode=None, **overrides)``, where
    ``config`` is a ``MultiStepOffloadConfig`` or dict and overrides are its fields.

    ## Info
    Episode-to-date means over finished tasks: ``utility``, ``cost`` (= -utility), ``delay``,
    ``energy``, ``accuracy``, ``offload_rate``, ``signalling`` (messages per task),
    ``twin_error`` (mean |estimated - true| boundary time, s); also ``tasks_finished``,
    ``step_tasks`` (records of the tasks finished in this step), ``device``, ``task``, ``boundary``
    (of the pending decision),
    ``action_mask``.

    ## Version History
    - v0: initial version.

    ## System model and source
    Hu et al., arXiv:2405.17664 (see module docstring); spec ``multistep_offload.md``.
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["ansi", "rgb_array"],
        "render_fps": 4,
        # what eval/ scores the env on: episode-end ``info`` keys (mec_gym.eval.evaluation)
        "evaluation": {
            "score": "utility",
            "higher_is_better": True,
            "components": ("delay", "energy", "accuracy", "offload_rate", "signalling"),
            "units": ("s", "J", "", "", "/task"),
            "hindsight": True,
        },
    }

    def __init__(
        self,
        config: MultiStepOffloadConfig | dict[str, Any] | None = None,
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        self.config = resolve_config(MultiStepOffloadConfig, config, overrides)
        self.render_mode = checked_render_mode(render_mode, self.metadata["render_modes"])
        cfg = self.config
        self.profile = get_profile(cfg.dnn, cfg.num_classes)
        if cfg.device_blocks > self.profile.num_blocks:
            raise ValueError(
                f"MultiStepOffloadConfig.device_blocks must be an integer in "
                f"[1, {self.profile.num_blocks}] for {cfg.dnn}, got {cfg.device_blocks}"
            )
        self._derive_constants()
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Box(0.0, 1.0, (self._obs_size,), np.float32)
        self._episode_ready = False

    # ------------------------------------------------------------------ constants
    def _derive_constants(self) -> None:
        cfg, prof = self.config, self.profile
        depth = cfg.device_blocks
        self.num_boundaries = depth + 1
        block_macs = np.asarray(prof.block_macs[1 : depth + 1], dtype=float)
        self.head_macs = exit_head_macs(prof, depth, cfg.num_classes)
        self.nominal_block_s = block_macs / cfg.device_speed
        self.nominal_reach_s = np.concatenate([[0.0], np.cumsum(self.nominal_block_s)])
        self.nominal_head_s = self.head_macs / cfg.device_speed
        self.edge_work = np.array([prof.macs_after(j) for j in range(depth + 1)])
        self.upload_bits = np.asarray(prof.output_elements[: depth + 1]) * cfg.bits_per_element
        self.background_work = float(prof.total_macs)
        self.candidates = candidate_boundaries(
            prof.output_elements, depth, cfg.device_speed, cfg.edge_speed
        )
        self.offload_allowed = np.zeros(depth + 1, dtype=bool)
        self.offload_allowed[self.candidates] = True
        if cfg.decision_points == "candidates":
            self.decision_boundaries = tuple(int(b) for b in self.candidates)
        else:
            self.decision_boundaries = tuple(range(depth + 1))
        self.nominal_rate = cfg.uplink_bandwidth * np.log2(
            1.0 + 10 ** (cfg.uplink_mean_snr_db / 10)
        )
        self.mean_background_rate = 0.5 * sum(cfg.background_rates)
        # Python-float copies for the event loop (numpy scalars are slow there)
        self._upload_bits = self.upload_bits.tolist()
        self._edge_work = self.edge_work.tolist()
        self._nominal_reach = self.nominal_reach_s.tolist()
        self._masks = [np.array([True, bool(allowed)]) for allowed in self.offload_allowed.tolist()]
        # observation: static features per boundary
        local_total = self.nominal_reach_s[-1] + self.nominal_head_s
        remaining_local_s = local_total - self.nominal_reach_s
        static = np.zeros((depth + 1, depth + 1 + 4), dtype=np.float32)
        static[:, : depth + 1] = np.eye(depth + 1)
        static[:, depth + 1] = self.upload_bits / self.upload_bits.max()
        static[:, depth + 2] = remaining_local_s / local_total
        static[:, depth + 3] = self.edge_work / prof.total_macs
        static[:, depth + 4] = remaining_local_s / (remaining_local_s + 0.25)
        self._static_obs = static
        self._device_onehot = np.eye(cfg.num_devices, dtype=np.float32)
        self._dynamic_scales = np.array([scale for _, scale in self._dynamic_features()])
        self._dynamic_offset = cfg.num_devices + static.shape[1]
        self._obs_size = self._dynamic_offset + len(self._dynamic_scales)
        self._utility_weights = (cfg.weight_accuracy, cfg.weight_delay, cfg.weight_energy)

    def _dynamic_features(self) -> tuple[tuple[str, float], ...]:
        """Names and squashing scales (x -> x / (x + scale)) of the state-dependent features."""
        return (
            ("elapsed_s", 0.5),
            ("queue_length", 2.0),
            ("edge_backlog_s", 0.25),
            ("uplink_rate", float(self.nominal_rate)),
            ("upload_s", 0.25),
            ("offload_delay_s", 0.5),
            ("device_arrival_rate", 1.0),
            ("edge_arrival_rate", 1.0),
        )

    def decode_observation(self, observation: np.ndarray) -> dict[str, float]:
        """Physical values behind an observation: device, boundary, and the dynamic features in
        SI units (arrival rates relative to their means); for policies built from the env."""
        k, depth = self.config.num_devices, self.config.device_blocks
        obs = np.asarray(observation, dtype=np.float64)
        values: dict[str, float] = {
            "device": int(np.argmax(obs[:k])),
            "boundary": int(np.argmax(obs[k : k + depth + 1])),
        }
        squashed = np.minimum(obs[self._dynamic_offset :], 1.0 - 1e-7)
        raw = self._dynamic_scales * squashed / (1.0 - squashed)
        for (name, _), value in zip(self._dynamic_features(), raw.tolist(), strict=True):
            values[name] = value
        return values

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        cfg = self.config
        n, k = cfg.tasks_per_episode, cfg.num_devices
        # independent streams, so that each exogenous process is the same whatever the actions
        streams = np.random.SeedSequence(self.np_random.integers(2**63)).spawn(4)
        task_rng, channel_rng, background_rng, _ = (np.random.default_rng(s) for s in streams)

        self.arrival_times = poisson_arrival_times(task_rng, cfg.arrival_rate * k, n)
        self.task_device = task_rng.integers(0, k, size=n)
        noise = task_rng.uniform(
            1.0 - cfg.compute_noise, 1.0 + cfg.compute_noise, size=(n, cfg.device_blocks + 1)
        )
        block_s = self.nominal_block_s * noise[:, :-1]
        reach = np.zeros((n, self.num_boundaries))
        np.cumsum(block_s, axis=1, out=reach[:, 1:])
        self.reach_s = reach
        self.local_compute_s = reach[:, -1] + self.nominal_head_s * noise[:, -1]
        self._reach = reach.tolist()
        self._local_compute = self.local_compute_s.tolist()
        self._arrivals = self.arrival_times.tolist()
        self._task_device = self.task_device.tolist()
        self.device_tasks = [np.flatnonzero(self.task_device == d) for d in range(k)]
        self._device_arrivals = [self.arrival_times[idx].tolist() for idx in self.device_tasks]
        self._device_position = np.zeros(n, dtype=int)
        for idx in self.device_tasks:
            self._device_position[idx] = np.arange(len(idx))
        self._device_position_list = self._device_position.tolist()

        self.uplinks = BlockFadingUplinks(
            channel_rng,
            k,
            cfg.uplink_bandwidth,
            cfg.uplink_mean_snr_db,
            cfg.fading_block,
            cfg.shadowing_std_db,
            cfg.shadowing_correlation,
        )
        self._background_rng = background_rng
        self._background_state = int(background_rng.integers(2))
        self.background_times: list[float] = []
        self.background_switches: list[float] = []
        self.background_initial_state = self._background_state
        self._background_horizon = 0.0
        self._background_next = 0
        self.edge = FifoServer(cfg.edge_speed)

        self.status_twin = DeviceStatusTwin(self._nominal_reach, k)
        self.now = 0.0
        self._next_arrival = 0
        self._current = [-1] * k
        self._start = [0.0] * k
        self._phase = [_IDLE] * k
        self._next_decision = [0] * k
        self._event_time = [_INF] * k
        self._queues: list[deque[int]] = [deque() for _ in range(k)]
        self.records: list[TaskRecord | None] = [None] * n
        self._task_start = [_INF] * n
        self._offload_boundary = [LOCAL] * n
        self._upload_start = [_INF] * n
        self.decision_log: list[tuple[int, int, float, int]] = []
        self._finished: list[int] = []
        self._stats = dict.fromkeys(
            ("utility", "delay", "energy", "accuracy", "offloaded", "twin_error"), 0.0
        )
        self._tasks_finished = 0
        self._decisions = 0
        self.signalling = 0
        self._step_records: list[int] = []
        self._episode_ready = True
        self._deciding = self._advance_to_decision()
        return self._observation(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._episode_ready:
            raise RuntimeError("call reset() before step()")
        if self._deciding < 0:
            raise RuntimeError("the episode has terminated; call reset()")
        offload = self._parse_action(action)
        device = self._deciding
        task = self._current[device]
        boundary = self.decision_boundaries[self._next_decision[device]]
        self.decision_log.append((task, boundary, self.now, int(offload)))
        if offload:
            self.signalling += 1  # the "offload now" command
            start = self._start[device]
            upload_start = offload_upload_start(
                start + self._reach[task][boundary], self.now, start + self._local_compute[task]
            )
            assert upload_start is not None  # a decision epoch precedes the local completion
            upload_end = self.uplinks.finish_time(device, upload_start, self._upload_bits[boundary])
            self._offload_boundary[task] = boundary
            self._upload_start[task] = upload_start
            self._phase[device] = _UPLOADING
            self._event_time[device] = upload_end
        else:
            self._next_decision[device] += 1
            self._schedule(device)
        self._step_records = []
        self._deciding = self._advance_to_decision()
        terminated = self._deciding < 0
        reward = float(sum(self.records[i].utility for i in self._step_records))
        obs = self._observation() if not terminated else self._terminal_observation()
        return obs, reward, terminated, False, self._info()

    def action_masks(self) -> np.ndarray:
        """Valid actions at the current decision: [continue, offload] as booleans."""
        if self._deciding < 0:
            return np.array([True, False])
        boundary = self.decision_boundaries[self._next_decision[self._deciding]]
        return self._masks[boundary].copy()

    # ------------------------------------------------------------------ simulation
    def _parse_action(self, action: Any) -> bool:
        value = np.asarray(action)
        if value.size != 1:
            raise ValueError(f"action must be a single 0/1 value, got shape {value.shape}")
        scalar = value.reshape(()).item()
        if isinstance(scalar, float) and not np.isfinite(scalar):
            raise ValueError(f"action must be finite, got {scalar}")
        if scalar not in (0, 1):
            raise ValueError(f"action must be 0 (continue) or 1 (offload), got {scalar!r}")
        return bool(scalar)

    def _start_task(self, device: int, task: int, time_s: float) -> None:
        self._current[device] = task
        self._start[device] = time_s
        self._task_start[task] = time_s
        self._next_decision[device] = 0
        self._phase[device] = _COMPUTING
        self.status_twin.task_started(device, time_s)
        self._schedule(device)

    def _schedule(self, device: int) -> None:
        """Set the device's next event: its next decision epoch, or its local completion."""
        task = self._current[device]
        start = self._start[device]
        finish = start + self._local_compute[task]
        index = self._next_decision[device]
        if index < len(self.decision_boundaries):
            boundary = self.decision_boundaries[index]
            if self.config.status == "twin":
                epoch = self.status_twin.estimated_reach_time(device, boundary)
            else:
                epoch = start + self._reach[task][boundary]
            if epoch < finish:
                self._event_time[device] = epoch
                return
        self._phase[device] = _FINISHING
        self._event_time[device] = finish

    def _advance_to_decision(self) -> int:
        """Run events until some device is at a decision epoch; -1 when all tasks are done."""
        event_time = self._event_time
        devices = range(self.config.num_devices)
        n_tasks = self.config.tasks_per_episode
        while True:
            device = min(devices, key=event_time.__getitem__)
            t_device = event_time[device]
            t_arrival = self._arrivals[self._next_arrival] if self._next_arrival < n_tasks else _INF
            if t_arrival <= t_device:
                if t_arrival == _INF:
                    self.now = max(self.now, self.edge.time)
                    return -1
                self._arrive(self._next_arrival, t_arrival)
                continue
            self.now = t_device
            phase = self._phase[device]
            if phase == _COMPUTING:
                self._decision_epoch(device)
                return device
            if phase == _FINISHING:
                self._finish_local(device, t_device)
            else:
                self._finish_upload(device, t_device)

    def _arrive(self, task: int, time_s: float) -> None:
        self._next_arrival += 1
        device = self._task_device[task]
        if self._current[device] < 0:
            self._start_task(device, task, time_s)
        else:
            self._queues[device].append(task)

    def _decision_epoch(self, device: int) -> None:
        task = self._current[device]
        boundary = self.decision_boundaries[self._next_decision[device]]
        self._decisions += 1
        if self.config.status == "polling":
            self.signalling += 1
        elif self.config.status == "twin":
            true_reach = self._start[device] + self._reach[task][boundary]
            self._stats["twin_error"] += abs(self.now - true_reach)

    def _device_free(self, device: int, time_s: float) -> None:
        queue = self._queues[device]
        if queue:
            self._start_task(device, queue.popleft(), time_s)
        else:
            self._current[device] = -1
            self._phase[device] = _IDLE
            self._event_time[device] = _INF

    def _finish_local(self, device: int, time_s: float) -> None:
        task = self._current[device]
        self._record(self.local_record(task), task)
        self._device_free(device, time_s)

    def _finish_upload(self, device: int, time_s: float) -> None:
        task = self._current[device]
        boundary = self._offload_boundary[task]
        self.advance_edge(time_s)
        job, waiting_s = self.edge.arrive(time_s, self._edge_work[boundary])
        record = self.offload_record(task, boundary, self._upload_start[task], time_s, waiting_s)
        record.edge_job = job
        self._record(record, task)
        self._device_free(device, time_s)

    def local_record(self, task: int) -> TaskRecord:
        """Outcome of a started ``task`` run to completion on its device."""
        cfg = self.config
        arrival = self._arrivals[task]
        start = self._task_start[task]
        compute_s = self._local_compute[task]
        finish = start + compute_s
        delay = finish - arrival
        energy = cfg.compute_power * compute_s
        return TaskRecord(
            device=self._task_device[task],
            arrival=arrival,
            start=start,
            finish=finish,
            boundary=LOCAL,
            delay=delay,
            energy=energy,
            accuracy=cfg.accuracy_shallow,
            utility=task_utility(cfg.accuracy_shallow, delay, energy, *self._utility_weights),
        )

    def offload_record(
        self, task: int, boundary: int, upload_start: float, upload_end: float, waiting_s: float
    ) -> TaskRecord:
        """Outcome of ``task`` offloaded at ``boundary``: upload in [start, end] (s), then a
        wait of ``waiting_s`` s in the edge's FIFO queue and the rest of the DNN at the edge."""
        cfg = self.config
        arrival = self._arrivals[task]
        start = self._task_start[task]
        finish = upload_end + waiting_s + self._edge_work[boundary] / cfg.edge_speed
        delay = finish - arrival
        energy = cfg.compute_power * (upload_start - start) + cfg.tx_power * (
            upload_end - upload_start
        )
        return TaskRecord(
            device=self._task_device[task],
            arrival=arrival,
            start=start,
            finish=finish,
            boundary=boundary,
            delay=delay,
            energy=energy,
            accuracy=cfg.accuracy_full,
            utility=task_utility(cfg.accuracy_full, delay, energy, *self._utility_weights),
            upload_start=upload_start,
            upload_end=upload_end,
        )

    def decision_time(self, task: int, boundary: int) -> float:
        """When the controller decides on ``task`` at ``boundary`` (s): the twin's estimate of
        the time the task reaches it under ``status="twin"``, the true time otherwise."""
        start = self._task_start[task]
        if self.config.status == "twin":
            return start + self._nominal_reach[boundary]
        return start + self._reach[task][boundary]

    def queue_length(self, task: int, time_s: float) -> int:
        """Tasks waiting behind ``task`` in its device's queue at ``time_s`` while it runs."""
        device = self._task_device[task]
        arrived = bisect_right(self._device_arrivals[device], time_s)
        return arrived - self._device_position_list[task] - 1

    def _record(self, record: TaskRecord, task: int) -> None:
        self.records[task] = record
        self._step_records.append(task)
        self._tasks_finished += 1
        stats = self._stats
        stats["utility"] += record.utility
        stats["delay"] += record.delay
        stats["energy"] += record.energy
        stats["accuracy"] += record.accuracy
        stats["offloaded"] += record.boundary != LOCAL

    def advance_edge(self, time_s: float) -> None:
        """Feed the edge server every background arrival up to ``time_s`` (drawing more lazily)."""
        while self._background_horizon < time_s:
            times, switches, self._background_state = mmpp_arrival_times(
                self._background_rng,
                self.config.background_rates,
                self.config.background_mean_sojourn,
                self._background_horizon,
                self._background_horizon + _BACKGROUND_CHUNK_S,
                self._background_state,
            )
            self.background_times.extend(times.tolist())
            self.background_switches.extend(switches.tolist())
            self._background_horizon += _BACKGROUND_CHUNK_S
        times, work, edge = self.background_times, self.background_work, self.edge
        index = self._background_next
        while index < len(times) and times[index] <= time_s:
            edge.arrive(times[index], work)
            index += 1
        self._background_next = index
        edge.advance(time_s)

    # ------------------------------------------------------------------ observation
    def observation_at(
        self,
        device: int,
        boundary: int,
        time_s: float,
        arrival_s: float,
        queue_length: int,
        edge_backlog_work: float,
    ) -> np.ndarray:
        """Observation of a decision of ``device`` at ``boundary`` taken at ``time_s``.

        Shared by the live environment and the decision-evaluation twin (counterfactual states).
        """
        cfg = self.config
        window = cfg.rate_window
        rate = self.uplinks.rate(device, time_s)
        backlog_s = edge_backlog_work / cfg.edge_speed
        upload_s = self._upload_bits[boundary] / rate if rate > 0 else 1e6
        offload_delay = upload_s + backlog_s + self._edge_work[boundary] / cfg.edge_speed
        elapsed = time_s - arrival_s
        arrivals = self._device_arrivals[device]
        device_recent = bisect_right(arrivals, time_s) - bisect_right(arrivals, time_s - window)
        background_recent = bisect_right(self.background_times, time_s) - bisect_right(
            self.background_times, time_s - window
        )
        device_rate = device_recent / (cfg.arrival_rate * window)
        background_rate = background_recent / (self.mean_background_rate * window)
        dynamic = np.array(
            (
                elapsed,
                queue_length,
                backlog_s,
                rate,
                upload_s,
                offload_delay,
                device_rate,
                background_rate,
            ),
            dtype=np.float64,
        )
        dynamic = (dynamic / (dynamic + self._dynamic_scales)).astype(np.float32)
        return np.concatenate((self._device_onehot[device], self._static_obs[boundary], dynamic))

    def _observation(self) -> np.ndarray:
        device = self._deciding
        task = self._current[device]
        boundary = self.decision_boundaries[self._next_decision[device]]
        self.advance_edge(self.now)
        return self.observation_at(
            device,
            boundary,
            self.now,
            self._arrivals[task],
            len(self._queues[device]),
            self.edge.backlog,
        )

    def _terminal_observation(self) -> np.ndarray:
        return np.zeros(self._obs_size, dtype=np.float32)

    def _info(self) -> dict[str, Any]:
        finished = max(self._tasks_finished, 1)
        stats = self._stats
        deciding = self._deciding
        info: dict[str, Any] = {
            "utility": stats["utility"] / finished,
            "cost": -stats["utility"] / finished,
            "delay": stats["delay"] / finished,
            "energy": stats["energy"] / finished,
            "accuracy": stats["accuracy"] / finished,
            "offload_rate": stats["offloaded"] / finished,
            "signalling": self.signalling / finished,
            "twin_error": stats["twin_error"] / max(self._decisions, 1),
            "tasks_finished": self._tasks_finished,
            "step_tasks": [self.records[i] for i in self._step_records],
            "time": self.now,
        }
        if deciding >= 0:
            info["device"] = deciding
            info["task"] = self._current[deciding]
            info["boundary"] = self.decision_boundaries[self._next_decision[deciding]]
        info["action_mask"] = self.action_masks()
        return info

    # ------------------------------------------------------------------ rendering
    def render(self) -> str | np.ndarray | None:
        from mec_gym.envs import multistep_render as view

        return render_view(self, self._episode_ready, view.render_text, view.render_rgb)


_IDLE, _COMPUTING, _FINISHING, _UPLOADING = -1, 0, 1, 2
