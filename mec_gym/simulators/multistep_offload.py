"""The multi-step offloading system: config, constants, task generators and the event simulator.

Source: S. Hu, M. Li, J. Gao, C. Zhou, X. Shen, "Adaptive Device-Edge Collaboration on DNN
Inference in AIoT: A Digital Twin-Assisted Approach", IEEE Internet of Things Journal
(arXiv:2405.17664). Model as documented in ``docs/multistep_offload.md``.

:class:`MultiStepSimulator` owns the whole dynamic state (:class:`MultiStepState`) and is the
API of everything around the system: ``MultiStepOffload-v1`` wraps it as an MDP, DT #1
(``mec_gym.twins.decision_replay``) replays its finished episodes, the renderer draws
:meth:`MultiStepSimulator.device_views`, and the fixed policies read :class:`MultiStepSystem`.
Times in s, work in MAC, sizes in bit, energy in J.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import numpy as np

from mec_gym.config import SystemConfig
from mec_gym.models.arrivals import mmpp_arrival_times, poisson_arrival_times
from mec_gym.models.channel import (
    MAX_SHADOWING_STD_DB,
    BlockFadingUplinks,
    db_to_linear,
    snr_rate,
)
from mec_gym.models.dnn_profiles import PROFILE_BUILDERS, DNNProfile, exit_head_macs, get_profile
from mec_gym.models.layered_inference import candidate_boundaries, offload_upload_start
from mec_gym.models.queueing import FifoServer
from mec_gym.models.utility import weighted_cost
from mec_gym.simulators.status_twin import DeviceStatusTwin

__all__ = [
    "LOCAL",
    "IDLE",
    "COMPUTING",
    "FINISHING",
    "UPLOADING",
    "PHASE_NAMES",
    "MultiStepOffloadConfig",
    "MultiStepSystem",
    "TaskRecord",
    "device_energy",
    "TaskDraw",
    "TaskGenerator",
    "PoissonTasks",
    "TaskTrace",
    "DecisionContext",
    "DeviceView",
    "BackgroundLoad",
    "MultiStepState",
    "MultiStepSimulator",
]

LOCAL = -1
"""Offload boundary recorded for a task that finished on the device."""
IDLE, COMPUTING, FINISHING, UPLOADING = -1, 0, 1, 2
"""Device phases: no task; computing towards a decision epoch; computing to local completion;
uploading an offloaded task."""
PHASE_NAMES = {IDLE: "idle", COMPUTING: "computing", FINISHING: "finishing", UPLOADING: "uploading"}

_INF = float("inf")
BACKGROUND_CHUNK_S = 30.0
MAX_TRACE_BLOCKS = 100_000
"""Most fading blocks per device an episode may be expected to span (the uplink trace is kept
whole for replays: ~64 B per block and device)."""
MAX_CLASSES = 100_000
"""Most classes of the DNN's output (ImageNet-21k has ~21,000)."""
MIN_BACKGROUND_SOJOURN_S = BACKGROUND_CHUNK_S / 10_000
"""Shortest mean background sojourn, s: a chunk's state switches are drawn one by one."""
MAX_DEVICES = 1000
"""Most devices K (the observation one-hot encodes the device; per-device tables grow as K^2)."""
TRACE_BLOCK_LIMIT = 10 * MAX_TRACE_BLOCKS
"""Blocks past which the uplink trace refuses to grow (RuntimeError): a valid config's episode
stays far below it (its arrivals span at most ``MAX_TRACE_BLOCKS``)."""
MAX_BACKGROUND_ARRIVALS = 1_000_000
"""Most background events (arrivals at the busy rate, state switches) an episode may be
expected to draw (each arrival is kept)."""
"""Background arrivals are drawn this many seconds at a time, as the simulation reaches them."""


@dataclass(frozen=True)
class MultiStepOffloadConfig(SystemConfig):
    """Parameters of the multi-step offloading system (SI units).

    Defaults follow the spec except where the spec asks for calibration so that the scenario is
    not trivial (``eval/calibrate_multistep.py``, ``docs/multistep_calibration.md``): the uplink
    (3 MHz at a mean SNR of 10 dB with 8 dB shadowing instead of a 5 Mbit/s mean) and the
    background load (2 and 25 tasks/s instead of 5 and 40, which alone take 0.80 of the edge on
    average, 1.16 with every task offloaded raw).

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
    (exact, one status message per block boundary a task reaches while the controller still
    follows it), "oracle" (exact, free)."""
    rate_window: float = 1.0
    """Window for the recent arrival rates in the observation, s."""

    def validate(self) -> None:
        for name in ("num_devices", "tasks_per_episode", "num_classes", "device_blocks"):
            self._require_positive(name, integer=True)
        self._require_number("num_classes", 1, MAX_CLASSES, integer=True)
        self._require_number("num_devices", 1, MAX_DEVICES, integer=True)
        for name in (
            "arrival_rate",
            "device_speed",
            "edge_speed",
            "bits_per_element",
            "uplink_bandwidth",
            "fading_block",
            "shadowing_correlation",
            "rate_window",
        ):
            self._require_positive(name)
        self._require_number("background_mean_sojourn", MIN_BACKGROUND_SOJOURN_S)
        self._require_number("compute_noise", 0.0, 1.0, high_inclusive=False)
        self._require_number("uplink_mean_snr_db", -50.0, 80.0)
        self._require_number("shadowing_std_db", 0.0, MAX_SHADOWING_STD_DB)
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
        blocks = get_profile(self.dnn, self.num_classes).num_blocks
        if self.device_blocks > blocks:
            raise ValueError(
                f"{type(self).__name__}.device_blocks must be an integer in [1, {blocks}] for "
                f"{self.dnn}, got {self.device_blocks}"
            )
        self._check_horizon()

    def _check_horizon(self) -> None:
        """Refuse episodes whose traces would not fit in memory. An episode lasts about as long
        as a device takes to arrive at and work through its share of the tasks, locally:
        ``tasks_per_episode / num_devices * max(1 / arrival_rate, local task time)`` s; that
        span in fading blocks, the background events in it (arrivals at the busy rate and state
        switches) and the largest upload at the mean rate in fading blocks are bounded."""
        name = type(self).__name__
        profile = get_profile(self.dnn, self.num_classes)
        depth = self.device_blocks
        local_macs = sum(profile.block_macs[1 : depth + 1])
        local_s = (
            local_macs + exit_head_macs(profile, depth, self.num_classes)
        ) / self.device_speed
        per_device = self.tasks_per_episode / self.num_devices
        span_s = per_device * max(1.0 / self.arrival_rate, local_s)
        blocks = span_s / self.fading_block
        if blocks > MAX_TRACE_BLOCKS:
            raise ValueError(
                f"{name}.arrival_rate, device_speed, tasks_per_episode, num_devices, fading_block:"
                f" an episode spans about {span_s:.3g} s (each device's {per_device:.3g} tasks at "
                f"{max(1.0 / self.arrival_rate, local_s):.3g} s each, the longer of the arrival "
                f"interval and the local task time), {blocks:.3g} fading blocks of "
                f"{self.fading_block:g} s (at most {MAX_TRACE_BLOCKS:,}); raise arrival_rate, "
                "device_speed or fading_block, or lower tasks_per_episode"
            )
        largest_bits = max(profile.output_elements[: depth + 1]) * self.bits_per_element
        mean_rate = snr_rate(self.uplink_bandwidth, db_to_linear(self.uplink_mean_snr_db))
        upload_blocks = largest_bits / mean_rate / self.fading_block
        if upload_blocks > MAX_TRACE_BLOCKS:
            raise ValueError(
                f"{name}.bits_per_element, uplink_bandwidth, uplink_mean_snr_db: the largest "
                f"upload ({largest_bits:.3g} bit) takes {upload_blocks:.3g} fading blocks at the "
                f"mean rate (at most {MAX_TRACE_BLOCKS:,}); raise uplink_bandwidth or "
                "uplink_mean_snr_db, or lower bits_per_element"
            )
        background_s = max(span_s, BACKGROUND_CHUNK_S)  # drawn in chunks of that length
        events = (max(self.background_rates) + 1.0 / self.background_mean_sojourn) * background_s
        if events > MAX_BACKGROUND_ARRIVALS:
            raise ValueError(
                f"{name}.background_rates, background_mean_sojourn: about {events:.3g} "
                f"background arrivals and state switches in the {background_s:.3g} s drawn "
                f"(at most {MAX_BACKGROUND_ARRIVALS:,}); lower the busy rate or tasks_per_episode,"
                " or raise background_mean_sojourn"
            )
        load = 0.5 * sum(self.background_rates) * profile.total_macs / self.edge_speed
        if load >= 1.0:
            raise ValueError(
                f"{name}.background_rates, edge_speed, dnn: the background load alone puts the "
                f"edge at a utilisation of {load:.3g} (>= 1: its queue, and an offloaded task's "
                "wait, grow without bound); lower the background rates or raise edge_speed"
            )


@dataclass(frozen=True, eq=False)
class MultiStepSystem:
    """What a config fixes: the DNN split, nominal times, sizes, the decision boundaries.

    Per-boundary arrays have ``device_blocks + 1`` entries (boundary 0 is the raw input).
    """

    config: MultiStepOffloadConfig
    profile: DNNProfile
    nominal_block_s: np.ndarray
    """Nominal time of each device block, s."""
    nominal_reach_s: np.ndarray
    """Nominal time from a task's start to each boundary, s."""
    nominal_head_s: float
    """Nominal time of the device's exit head, s."""
    edge_work: np.ndarray
    """MAC the edge runs to finish a task offloaded at each boundary."""
    upload_bits: np.ndarray
    """Bits uploaded when offloading at each boundary."""
    background_work: float
    """MAC of one background (full-model) task."""
    candidates: np.ndarray
    """Boundaries where offloading can pay (the necessary condition)."""
    offload_allowed: np.ndarray
    """Per boundary: whether it is a candidate (the action mask's offload entry)."""
    decision_boundaries: tuple[int, ...]
    """Boundaries at which the controller decides, in order."""
    nominal_rate: float
    """Uplink rate at the mean SNR, bit/s."""
    mean_background_rate: float
    """Mean background arrival rate, 1/s."""

    @classmethod
    def from_config(cls, config: MultiStepOffloadConfig) -> MultiStepSystem:
        profile = get_profile(config.dnn, config.num_classes)
        depth = config.device_blocks
        block_macs = np.asarray(profile.block_macs[1 : depth + 1], dtype=float)
        nominal_block_s = block_macs / config.device_speed
        candidates = candidate_boundaries(
            profile.output_elements, depth, config.device_speed, config.edge_speed
        )
        offload_allowed = np.zeros(depth + 1, dtype=bool)
        offload_allowed[candidates] = True
        if config.decision_points == "candidates":
            decision_boundaries = tuple(int(b) for b in candidates)
        else:
            decision_boundaries = tuple(range(depth + 1))
        return cls(
            config=config,
            profile=profile,
            nominal_block_s=nominal_block_s,
            nominal_reach_s=np.concatenate([[0.0], np.cumsum(nominal_block_s)]),
            nominal_head_s=exit_head_macs(profile, depth, config.num_classes) / config.device_speed,
            edge_work=np.array([profile.macs_after(j) for j in range(depth + 1)]),
            upload_bits=np.asarray(profile.output_elements[: depth + 1]) * config.bits_per_element,
            background_work=float(profile.total_macs),
            candidates=candidates,
            offload_allowed=offload_allowed,
            decision_boundaries=decision_boundaries,
            nominal_rate=float(
                snr_rate(config.uplink_bandwidth, db_to_linear(config.uplink_mean_snr_db))
            ),
            mean_background_rate=0.5 * sum(config.background_rates),
        )

    @property
    def num_boundaries(self) -> int:
        return self.config.device_blocks + 1

    @property
    def nominal_local_s(self) -> float:
        """Nominal time of a whole local task (shallow DNN and exit head), s."""
        return float(self.nominal_reach_s[-1] + self.nominal_head_s)


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


def device_energy(config: MultiStepOffloadConfig, compute_s: float, upload_s: float = 0.0) -> float:
    """Energy a device spends on a task, J: ``P_c`` while computing ``compute_s`` s plus
    ``P_tx`` while uploading ``upload_s`` s."""
    return config.compute_power * compute_s + config.tx_power * upload_s


# ----------------------------------------------------------------------------------- generators
@dataclass(frozen=True, eq=False)
class TaskDraw:
    """The exogenous task process of one episode (arrays over the episode's tasks)."""

    arrival_times: np.ndarray
    """Arrival time of each task, s (non-decreasing)."""
    task_device: np.ndarray
    """Device of each task."""
    reach_s: np.ndarray
    """(tasks, boundaries): true compute time from the task's start to each boundary, s."""
    local_compute_s: np.ndarray
    """True compute time of the whole local task (shallow DNN and exit head), s."""

    def check(self, system: MultiStepSystem) -> None:
        """ValueError unless the draw fits ``system`` (task count, devices, boundaries)."""
        cfg = system.config
        n = cfg.tasks_per_episode
        arrays = (self.arrival_times, self.task_device, self.reach_s, self.local_compute_s)
        if not all(isinstance(a, np.ndarray) for a in arrays):
            raise ValueError("a task draw holds numpy arrays")
        shapes_ok = (
            self.arrival_times.shape == (n,)
            and self.task_device.shape == (n,)
            and self.reach_s.shape == (n, system.num_boundaries)
            and self.local_compute_s.shape == (n,)
        )
        if not shapes_ok:
            raise ValueError(
                f"a task draw must hold tasks_per_episode={n} tasks over "
                f"{system.num_boundaries} boundaries"
            )
        times = (self.arrival_times, self.reach_s, self.local_compute_s)
        if not all(np.isfinite(t).all() for t in times):
            raise ValueError("task arrival and compute times must be finite")
        if np.any(np.diff(self.arrival_times) < 0) or np.any(self.arrival_times < 0):
            raise ValueError("task arrival times must be >= 0 and non-decreasing")
        if np.any(self.reach_s[:, 0] != 0) or np.any(np.diff(self.reach_s, axis=1) < 0):
            raise ValueError("reach_s must start at 0 and not decrease along the boundaries")
        if np.any(self.local_compute_s < self.reach_s[:, -1]):
            raise ValueError("local_compute_s must be at least the time to the last boundary")
        if self.task_device.dtype.kind not in "iu" or np.any(
            (self.task_device < 0) | (self.task_device >= cfg.num_devices)
        ):
            raise ValueError(f"task devices must be integers in [0, {cfg.num_devices - 1}]")


class TaskGenerator(Protocol):
    """Draws an episode's tasks: ``generator(system, rng) -> TaskDraw``."""

    def __call__(self, system: MultiStepSystem, rng: np.random.Generator) -> TaskDraw: ...


class PoissonTasks:
    """The spec's task process: Poisson arrivals at ``K * lambda``, each task on a uniformly
    drawn device, block times multiplied by i.i.d. U[1 - eps, 1 + eps] noise."""

    def __call__(self, system: MultiStepSystem, rng: np.random.Generator) -> TaskDraw:
        cfg = system.config
        n, k = cfg.tasks_per_episode, cfg.num_devices
        arrival_times = poisson_arrival_times(rng, cfg.arrival_rate * k, n)
        task_device = rng.integers(0, k, size=n)
        noise = rng.uniform(
            1.0 - cfg.compute_noise, 1.0 + cfg.compute_noise, size=(n, cfg.device_blocks + 1)
        )
        block_s = system.nominal_block_s * noise[:, :-1]
        reach = np.zeros((n, system.num_boundaries))
        np.cumsum(block_s, axis=1, out=reach[:, 1:])
        local_compute_s = reach[:, -1] + system.nominal_head_s * noise[:, -1]
        return TaskDraw(arrival_times, task_device, reach, local_compute_s)


class TaskTrace:
    """A recorded or hand-made task process, replayed identically in every episode (a trace or
    a fixed evaluation set); channels and background load stay random."""

    def __init__(self, draw: TaskDraw) -> None:
        self.draw = draw

    def __call__(self, system: MultiStepSystem, rng: np.random.Generator) -> TaskDraw:
        return self.draw


# ---------------------------------------------------------------------------------------- state
class DecisionContext(NamedTuple):
    """What the controller knows at a decision: the observation's physical inputs (immutable;
    a named tuple, cheap to build at every decision)."""

    device: int
    boundary: int
    time_s: float
    arrival_s: float
    """Arrival time of the task decided on, s."""
    queue_length: int
    """Tasks waiting behind it on its device."""
    edge_backlog_work: float
    """Unfinished work at the edge, MAC."""
    tasks_pending: int
    """Tasks of the episode whose outcome is not fixed yet (this one included)."""


@dataclass(frozen=True)
class DeviceView:
    """One device as the renderer shows it."""

    device: int
    task: int
    """Current task, -1 if idle."""
    phase: str
    block: int
    """Blocks of the current task completed."""
    queue: int
    rate: float
    """Current uplink rate, bit/s."""


class BackgroundLoad:
    """The edge's background arrivals (MMPP), drawn lazily in ``BACKGROUND_CHUNK_S`` chunks."""

    def __init__(self, rng: np.random.Generator, config: MultiStepOffloadConfig) -> None:
        self.rng = rng
        self.rates = config.background_rates
        self.mean_sojourn = config.background_mean_sojourn
        self.state = int(rng.integers(2))
        self.horizon = 0.0
        self.times: list[float] = []

    def extend_to(self, time_s: float) -> None:
        """Draw arrivals until the horizon passes ``time_s``."""
        while self.horizon < time_s:
            times, _, self.state = mmpp_arrival_times(
                self.rng,
                self.rates,
                self.mean_sojourn,
                self.horizon,
                self.horizon + BACKGROUND_CHUNK_S,
                self.state,
            )
            self.times.extend(times.tolist())
            self.horizon += BACKGROUND_CHUNK_S

    def count_between(self, start_s: float, end_s: float) -> int:
        """Arrivals in (start_s, end_s]."""
        return bisect_right(self.times, end_s) - bisect_right(self.times, start_s)


@dataclass(eq=False)
class MultiStepState:
    """The whole dynamic state of an episode. Lists are per device (K) or per task (N)."""

    tasks: TaskDraw
    uplinks: BlockFadingUplinks
    edge: FifoServer
    background: BackgroundLoad
    status: DeviceStatusTwin
    """DT #2: the edge's estimate of each device's progress."""
    now: float = 0.0
    next_arrival: int = 0
    """Index of the next task to arrive."""
    background_next: int = 0
    """Index of the next background arrival to feed the edge."""
    current: list[int] = field(default_factory=list)
    """Per device: its task in service, -1 if idle."""
    start: list[float] = field(default_factory=list)
    """Per device: when its current task started, s."""
    phase: list[int] = field(default_factory=list)
    next_decision: list[int] = field(default_factory=list)
    """Per device: index into ``decision_boundaries`` of its next decision."""
    event_time: list[float] = field(default_factory=list)
    """Per device: time of its next event, s."""
    queues: list[deque[int]] = field(default_factory=list)
    records: list[TaskRecord | None] = field(default_factory=list)
    task_start: list[float] = field(default_factory=list)
    offload_boundary: list[int] = field(default_factory=list)
    upload_start: list[float] = field(default_factory=list)
    deciding: int = -1
    """Device at a decision epoch, -1 when none (the episode is over)."""
    tasks_finished: int = 0
    decisions: int = 0
    signalling: int = 0
    """Messages sent: offload commands and, with polling, status polls (counted when a task's
    outcome is fixed)."""
    fixed_times: list[float] | None = None
    """Sorted times at which the tasks' outcomes became fixed (for DT #1, once finished)."""
    totals: dict[str, float] = field(default_factory=dict)
    """Sums over finished tasks: utility, delay, energy, accuracy, offloaded; and twin_error
    (sum over decisions of |estimated - true| boundary time, s)."""


# ------------------------------------------------------------------------------------ simulator
class MultiStepSimulator:
    """Event-driven simulation of the K devices, their uplinks and the edge server.

    ``reset(rng)`` draws an episode and runs it to the first decision; ``decide(offload)``
    applies the controller's choice for the pending decision and runs to the next one. Both
    return the records of the tasks whose outcome became fixed on the way.
    """

    def __init__(self, system: MultiStepSystem, tasks: TaskGenerator | None = None) -> None:
        self.system = system
        self.config = system.config
        if tasks is not None and not callable(tasks):
            raise TypeError(f"tasks must be a TaskGenerator, got {type(tasks).__name__}")
        self.tasks = PoissonTasks() if tasks is None else tasks
        # Python-float copies for the event loop (numpy scalars are slow there)
        self.upload_bits = system.upload_bits.tolist()
        self.edge_work = system.edge_work.tolist()
        self.nominal_reach = system.nominal_reach_s.tolist()
        self.decision_boundaries = system.decision_boundaries
        self.cost_weights = (
            self.config.weight_delay,
            self.config.weight_energy,
            self.config.weight_accuracy,
        )
        self.state: MultiStepState | None = None

    # ------------------------------------------------------------------ episode
    def reset(self, rng: np.random.Generator) -> list[TaskRecord]:
        """Start an episode from ``rng`` and run it to the first decision."""
        cfg = self.config
        n, k = cfg.tasks_per_episode, cfg.num_devices
        # independent streams, so that each exogenous process is the same whatever the actions
        streams = np.random.SeedSequence(rng.integers(2**63)).spawn(4)
        task_rng, channel_rng, background_rng, _ = (np.random.default_rng(s) for s in streams)
        tasks = self.tasks(self.system, task_rng)
        if type(self.tasks) is not PoissonTasks:  # ours are valid by construction
            tasks.check(self.system)
        self.arrivals = tasks.arrival_times.tolist()
        self.task_device = tasks.task_device.tolist()
        self.reach = tasks.reach_s.tolist()
        self.local_compute = tasks.local_compute_s.tolist()
        # each device's arrival times in order, and each task's index among its device's
        self.device_arrivals: list[list[float]] = [[] for _ in range(k)]
        self.device_position: list[int] = []
        for device, arrival in zip(self.task_device, self.arrivals, strict=True):
            device_arrivals = self.device_arrivals[device]
            self.device_position.append(len(device_arrivals))
            device_arrivals.append(arrival)
        self.state = MultiStepState(
            tasks=tasks,
            uplinks=BlockFadingUplinks(
                channel_rng,
                k,
                cfg.uplink_bandwidth,
                cfg.uplink_mean_snr_db,
                cfg.fading_block,
                cfg.shadowing_std_db,
                cfg.shadowing_correlation,
                max_blocks=TRACE_BLOCK_LIMIT,
            ),
            edge=FifoServer(cfg.edge_speed),
            background=BackgroundLoad(background_rng, cfg),
            status=DeviceStatusTwin(self.nominal_reach, k),
            current=[-1] * k,
            start=[0.0] * k,
            phase=[IDLE] * k,
            next_decision=[0] * k,
            event_time=[_INF] * k,
            queues=[deque() for _ in range(k)],
            records=[None] * n,
            task_start=[_INF] * n,
            offload_boundary=[LOCAL] * n,
            upload_start=[_INF] * n,
            totals=dict.fromkeys(
                ("utility", "delay", "energy", "accuracy", "offloaded", "twin_error"), 0.0
            ),
        )
        return self._run_to_decision()

    def decide(self, offload: bool) -> list[TaskRecord]:
        """Apply the controller's choice at the pending decision and run to the next one."""
        st = self.state
        if st is None:
            raise RuntimeError("call reset() before decide()")
        if st.deciding < 0:
            raise RuntimeError("the episode is over; call reset()")
        device = st.deciding
        task = st.current[device]
        boundary = self.decision_boundaries[st.next_decision[device]]
        if offload:
            st.signalling += 1  # the "offload now" command
            interval = self.upload_interval(task, boundary, st.now)
            assert interval is not None  # a decision epoch precedes the local completion
            upload_start, upload_end = interval
            st.offload_boundary[task] = boundary
            st.upload_start[task] = upload_start
            st.phase[device] = UPLOADING
            st.event_time[device] = upload_end
        else:
            st.next_decision[device] += 1
            self._schedule(device)
        return self._run_to_decision()

    # ------------------------------------------------------------------ queries
    @property
    def done(self) -> bool:
        """Whether every task of the episode has finished."""
        return self.state is not None and self.state.deciding < 0

    def pending_boundary(self) -> int:
        """Boundary of the pending decision."""
        st = self.state
        return self.decision_boundaries[st.next_decision[st.deciding]]

    def decision_context(self) -> DecisionContext:
        """The pending decision as the controller sees it."""
        st = self.state
        device = st.deciding
        task = st.current[device]
        return DecisionContext(  # positional: the fields' order
            device,
            self.pending_boundary(),
            st.now,
            self.arrivals[task],
            len(st.queues[device]),
            st.edge.backlog,
            self.config.tasks_per_episode - st.tasks_finished,
        )

    def context_at(self, task: int, boundary: int) -> DecisionContext | None:
        """The decision on a finished ``task`` at ``boundary`` had the task continued until
        then, against the realised trajectory without the task's own edge job (None if the
        task would have finished locally first); the query of DT #1."""
        realised = self.state.records[task]
        time_s = self.decision_time(task, boundary)
        if time_s >= realised.start + self.local_compute[task]:
            return None
        return DecisionContext(
            device=realised.device,
            boundary=boundary,
            time_s=time_s,
            arrival_s=realised.arrival,
            queue_length=self.queue_length(task, time_s),
            edge_backlog_work=self.edge_backlog_without(time_s, realised.edge_job),
            tasks_pending=self.tasks_pending_at(time_s),
        )

    def tasks_pending_at(self, time_s: float) -> int:
        """Tasks of a finished episode whose outcome was not fixed yet at ``time_s`` (an
        offloaded task's is fixed when its upload ends, a local one's when it finishes)."""
        st = self.state
        if st.fixed_times is None:
            st.fixed_times = sorted(
                r.finish if r.boundary == LOCAL else r.upload_end for r in st.records
            )
        return len(st.fixed_times) - bisect_right(st.fixed_times, time_s)

    def uplink_rate(self, device: int, time_s: float) -> float:
        """Uplink rate of ``device`` at ``time_s``, bit/s."""
        return self.state.uplinks.rate(device, time_s)

    def upload_interval(
        self, task: int, boundary: int, decided_s: float
    ) -> tuple[float, float] | None:
        """(start, end) in s of the upload of ``task`` offloaded at ``boundary`` by a command
        at ``decided_s``, on the realised channel; None if the task finishes locally first."""
        start = self.state.task_start[task]
        upload_start = offload_upload_start(
            start + self.reach[task][boundary], decided_s, start + self.local_compute[task]
        )
        if upload_start is None:
            return None
        bits = self.upload_bits[boundary]
        device = self.task_device[task]
        return upload_start, self.state.uplinks.finish_time(device, upload_start, bits)

    def edge_backlog_without(self, time_s: float, edge_job: int) -> float:
        """Edge backlog (MAC) a job arriving at ``time_s`` finds without the logged job
        ``edge_job`` (-1: none excluded)."""
        return self.state.edge.backlog_without(time_s, edge_job if edge_job >= 0 else None)

    def edge_backlog_at(self, time_s: float) -> float:
        """Unfinished edge work at ``time_s`` (not before the last edge event), MAC."""
        return self.state.edge.backlog_at(time_s)

    def recent_arrivals(self, device: int, time_s: float) -> tuple[int, int]:
        """Arrivals of ``device``'s tasks and of background tasks in the last ``rate_window``
        s up to ``time_s``."""
        window = self.config.rate_window
        arrivals = self.device_arrivals[device]
        device_recent = bisect_right(arrivals, time_s) - bisect_right(arrivals, time_s - window)
        return device_recent, self.state.background.count_between(time_s - window, time_s)

    def decision_time(self, task: int, boundary: int) -> float:
        """When the controller decides on ``task`` at ``boundary`` (s): the twin's estimate of
        the time the task reaches it under ``status="twin"``, the true time otherwise."""
        start = self.state.task_start[task]
        if self.config.status == "twin":
            return start + self.nominal_reach[boundary]
        return start + self.reach[task][boundary]

    def queue_length(self, task: int, time_s: float) -> int:
        """Tasks waiting behind ``task`` in its device's queue at ``time_s`` while it runs."""
        device = self.task_device[task]
        arrived = bisect_right(self.device_arrivals[device], time_s)
        return arrived - self.device_position[task] - 1

    def device_views(self) -> list[DeviceView]:
        """Every device's task, phase, progress, queue and uplink rate now."""
        st = self.state
        views = []
        for device in range(self.config.num_devices):
            task = st.current[device]
            block = 0
            if task >= 0:
                elapsed = st.now - st.start[device]
                block = max(int(np.searchsorted(st.tasks.reach_s[task], elapsed, "right")) - 1, 0)
            views.append(
                DeviceView(
                    device=device,
                    task=task,
                    phase=PHASE_NAMES[st.phase[device]],
                    block=block,
                    queue=len(st.queues[device]),
                    rate=st.uplinks.rate(device, st.now),
                )
            )
        return views

    def local_record(self, task: int) -> TaskRecord:
        """Outcome of a started ``task`` run to completion on its device."""
        cfg = self.config
        compute_s = self.local_compute[task]
        finish = self.state.task_start[task] + compute_s
        energy = device_energy(cfg, compute_s)
        return self._task_record(task, LOCAL, finish, energy, cfg.accuracy_shallow)

    def offload_record(
        self, task: int, boundary: int, upload_start: float, upload_end: float, waiting_s: float
    ) -> TaskRecord:
        """Outcome of ``task`` offloaded at ``boundary``: upload in [start, end] (s), then a
        wait of ``waiting_s`` s in the edge's FIFO queue and the rest of the DNN at the edge."""
        cfg = self.config
        finish = upload_end + waiting_s + self.edge_work[boundary] / cfg.edge_speed
        compute_s = upload_start - self.state.task_start[task]
        energy = device_energy(cfg, compute_s, upload_end - upload_start)
        record = self._task_record(task, boundary, finish, energy, cfg.accuracy_full)
        record.upload_start, record.upload_end = upload_start, upload_end
        return record

    def _task_record(
        self, task: int, boundary: int, finish: float, energy: float, accuracy: float
    ) -> TaskRecord:
        arrival = self.arrivals[task]
        delay = finish - arrival
        return TaskRecord(
            device=self.task_device[task],
            arrival=arrival,
            start=self.state.task_start[task],
            finish=finish,
            boundary=boundary,
            delay=delay,
            energy=energy,
            accuracy=accuracy,
            utility=-weighted_cost(delay, energy, accuracy, *self.cost_weights),
        )

    def advance_edge(self, time_s: float) -> None:
        """Feed the edge server every background arrival up to ``time_s`` (drawing more lazily)."""
        st = self.state
        background = st.background
        background.extend_to(time_s)
        times, work, edge = background.times, self.system.background_work, st.edge
        index = st.background_next
        while index < len(times) and times[index] <= time_s:
            edge.arrive(times[index], work)
            index += 1
        st.background_next = index
        edge.advance(time_s)

    # ------------------------------------------------------------------ events
    def _run_to_decision(self) -> list[TaskRecord]:
        """Run events until some device is at a decision epoch (or every task has finished);
        the records of the tasks finished on the way."""
        st = self.state
        finished: list[TaskRecord] = []
        event_time = st.event_time
        n_tasks = self.config.tasks_per_episode
        arrivals = self.arrivals
        while True:
            t_device = min(event_time)
            device = event_time.index(t_device)  # the first device whose event is next
            t_arrival = arrivals[st.next_arrival] if st.next_arrival < n_tasks else _INF
            if t_arrival <= t_device:
                if t_arrival == _INF:
                    st.now = max(st.now, st.edge.time)
                    st.deciding = -1
                    return finished
                self._arrive(st.next_arrival, t_arrival)
                continue
            st.now = t_device
            phase = st.phase[device]
            if phase == COMPUTING:
                self._decision_epoch(device)
                self.advance_edge(st.now)  # the edge's state at the decision, queried or not
                st.deciding = device
                return finished
            if phase == FINISHING:
                finished.append(self._finish_local(device, t_device))
            else:
                finished.append(self._finish_upload(device, t_device))

    def _start_task(self, device: int, task: int, time_s: float) -> None:
        st = self.state
        st.current[device] = task
        st.start[device] = time_s
        st.task_start[task] = time_s
        st.next_decision[device] = 0
        st.phase[device] = COMPUTING
        st.status.task_started(device, time_s)
        self._schedule(device)

    def _schedule(self, device: int) -> None:
        """Set the device's next event: its next decision epoch, or its local completion."""
        st = self.state
        task = st.current[device]
        start = st.start[device]
        finish = start + self.local_compute[task]
        index = st.next_decision[device]
        if index < len(self.decision_boundaries):
            boundary = self.decision_boundaries[index]
            if self.config.status == "twin":
                epoch = st.status.estimated_reach_time(device, boundary)
            else:
                epoch = start + self.reach[task][boundary]
            if epoch < finish:
                st.event_time[device] = epoch
                return
        st.phase[device] = FINISHING
        st.event_time[device] = finish

    def _arrive(self, task: int, time_s: float) -> None:
        st = self.state
        st.next_arrival += 1
        device = self.task_device[task]
        if st.current[device] < 0:
            self._start_task(device, task, time_s)
        else:
            st.queues[device].append(task)

    def _decision_epoch(self, device: int) -> None:
        st = self.state
        task = st.current[device]
        boundary = self.decision_boundaries[st.next_decision[device]]
        st.decisions += 1
        if self.config.status == "twin":
            true_reach = st.start[device] + self.reach[task][boundary]
            st.totals["twin_error"] += abs(st.now - true_reach)

    def _device_free(self, device: int, time_s: float) -> None:
        st = self.state
        queue = st.queues[device]
        if queue:
            self._start_task(device, queue.popleft(), time_s)
        else:
            st.current[device] = -1
            st.phase[device] = IDLE
            st.event_time[device] = _INF

    def _finish_local(self, device: int, time_s: float) -> TaskRecord:
        task = self.state.current[device]
        record = self.local_record(task)
        self._record(record, task)
        self._device_free(device, time_s)
        return record

    def _finish_upload(self, device: int, time_s: float) -> TaskRecord:
        st = self.state
        task = st.current[device]
        boundary = st.offload_boundary[task]
        self.advance_edge(time_s)
        job, waiting_s = st.edge.arrive(time_s, self.edge_work[boundary])
        record = self.offload_record(task, boundary, st.upload_start[task], time_s, waiting_s)
        record.edge_job = job
        self._record(record, task)
        self._device_free(device, time_s)
        return record

    def _record(self, record: TaskRecord, task: int) -> None:
        st = self.state
        st.records[task] = record
        st.tasks_finished += 1
        if self.config.status == "polling":  # one poll per boundary reached: 0..l, or all
            last = self.config.device_blocks if record.boundary == LOCAL else record.boundary
            st.signalling += last + 1
        totals = st.totals
        totals["utility"] += record.utility
        totals["delay"] += record.delay
        totals["energy"] += record.energy
        totals["accuracy"] += record.accuracy
        totals["offloaded"] += record.boundary != LOCAL
