"""The per-task joint offloading system: tasks arrive over time and hold the shares they reserve.

Source: G. Pan, H. Zhang, S. Xu, S. Zhang, X. Chen, "Joint Optimization of Video-based AI
Inference Tasks in MEC-assisted Augmented Reality Systems", IEEE Trans. Cogn. Commun. Netw.
9(2), 2023 (arXiv 2301.01010); our sequential variant of its one-round model (spec
``docs/joint_offload.md``).

:class:`PerTaskSimulator` owns the episode's state (:class:`PerTaskState`): the drop, the task
arrivals, the uplink and edge-CPU reservations in service, the devices' local queues. Every task
is costed by the functions :func:`~mec_gym.problems.joint_offload.evaluate_allocation` is made
of (``local_delay_energy``, ``offload_delay_energy``, ``weighted_cost``, on scalars), plus
``w1`` times its waiting in the device's local queue, so that the per-task and the per-round
environment cannot disagree about physics. Times in s from the episode start.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np

from mec_gym.models.arrivals import poisson_arrival_times
from mec_gym.problems.joint_offload import (
    DropGenerator,
    JointOffloadConfig,
    JointOffloadProblem,
    UniformDrops,
    channel_gains_db,
    checked_drops,
    local_delay_energy,
    offload_delay_energy,
    shadowing_db,
    upload_time,
    weighted_cost,
)

__all__ = [
    "PerTaskOffloadConfig",
    "ArrivalGenerator",
    "PoissonArrivals",
    "ArrivalTrace",
    "checked_arrivals",
    "checked_episode_arrivals",
    "TaskDecision",
    "TaskOutcome",
    "PerTaskState",
    "PerTaskSimulator",
    "ACTION_MODES",
    "EpisodeDraw",
    "edge_option",
    "release_until",
    "free_share",
    "next_releases",
]

ACTION_MODES = ("continuous", "options")
"""Action parameterisations of ``PerTaskOffload-v1`` (see the env's Action Space)."""
MAX_TASKS_PER_EPISODE = 1_000_000
"""Most tasks per episode (their arrivals are drawn whole at reset)."""


def release_until(reservations: list[tuple[float, float]], time_s: float) -> None:
    """Pop from the heap ``reservations`` (release time s, share) every reservation released
    by ``time_s`` s (``heapq.heappop``, earliest first)."""
    while reservations and reservations[0][0] <= time_s:
        heapq.heappop(reservations)


def next_releases(reservations: list[tuple[float, float]], count: int) -> list[tuple[float, float]]:
    """The ``count`` earliest reservations (release time s, share) in order (fewer if there
    are fewer)."""
    return sorted(reservations)[:count]


def free_share(reservations: list[tuple[float, float]]) -> float:
    """``max(1 - sum of the shares, 0)``: what the reservations (release time s, share) leave
    free, summed left to right in the list's order (not with Python's ``sum``, which
    compensates its rounding from Python 3.12 on)."""
    total = 0.0
    for _, share in reservations:
        total += share
    return max(1.0 - total, 0.0)


@dataclass(frozen=True)
class PerTaskOffloadConfig(JointOffloadConfig):
    """The joint offloading system's parameters plus the task arrivals of ``PerTaskOffload-v1``."""

    arrival_rate: float = 0.2
    """Poisson task arrivals per device, 1/s."""
    tasks_per_episode: int = 200
    """Tasks per episode."""
    action_mode: str = "continuous"
    """"continuous" (Box: mode, frames, shares, frequency) or "options" (Discrete: local or
    one of a few reservation sizes; frames optimal for it)."""

    def validate(self) -> None:
        super().validate()
        self._require_positive("arrival_rate")
        self._require_number("tasks_per_episode", 1, MAX_TASKS_PER_EPISODE, integer=True)
        self._require_choice("action_mode", ACTION_MODES)


def edge_option(problem: JointOffloadProblem, time_share: Any, edge_share: Any) -> tuple[Any, Any]:
    """(frames, cost) of offloading a task of ``problem``'s single device with the reserved
    ``time_share`` of the TDMA frame and ``edge_share`` of F^E: the frames in [F_min, F_max]
    minimising its cost ``w1 T + w2 E - w3 A(F)`` (no waiting: the reservation is exclusive).

    On a batch of one-device instances (``problem`` with (..., 1) gains) and shares of shape
    (..., 1), the (...,) arrays of each instance's frames and cost."""
    config = problem.config
    frames = problem.frame_range
    delay, energy = offload_delay_energy(
        config,
        problem.macs[frames],
        frames,
        problem.rate[..., :1] if problem.gain_db.ndim > 1 else float(problem.rate[0]),
        time_share,
        edge_share * config.edge_capacity,
    )
    costs = weighted_cost(config, delay, energy, problem.accuracy[frames])
    best = np.argmin(costs, axis=-1)
    if costs.ndim > 1:
        return frames[best], np.take_along_axis(costs, best[..., None], axis=-1)[..., 0]
    return int(frames[best]), float(costs[best])


class ArrivalGenerator(Protocol):
    """Draws an episode's tasks: ``generator(config, rng) -> (arrival times s, devices)``."""

    def __call__(
        self, config: PerTaskOffloadConfig, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]: ...


class PoissonArrivals:
    """Independent Poisson arrivals of ``arrival_rate`` per device (one merged process at
    ``N * arrival_rate``, each task on a uniformly drawn device)."""

    def __call__(
        self, config: PerTaskOffloadConfig, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        n = config.num_devices
        times = poisson_arrival_times(rng, config.arrival_rate * n, config.tasks_per_episode)
        return times, rng.integers(0, n, size=config.tasks_per_episode)


class ArrivalTrace:
    """The same tasks in every episode: ``times`` (s, non-decreasing) and their ``devices``."""

    def __init__(self, times: np.ndarray, devices: np.ndarray) -> None:
        self.times = np.array(times, dtype=float)
        self.devices = np.array(devices)
        if self.times.shape != self.devices.shape or self.times.ndim != 1:
            raise ValueError("ArrivalTrace needs one device per arrival time (1-D arrays)")

    def __call__(
        self, config: PerTaskOffloadConfig, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.times.copy(), self.devices.copy()


def checked_arrivals(
    config: PerTaskOffloadConfig, times: np.ndarray, devices: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What an arrival generator returned, or ValueError unless it is ``tasks_per_episode``
    finite, non-decreasing times >= 0 (s) and integer devices in ``[0, N)``."""
    times, devices = checked_episode_arrivals(config, [(times, devices)])
    return times[0], devices[0]


def checked_episode_arrivals(
    config: PerTaskOffloadConfig, arrivals: Sequence[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """What an arrival generator returned for each of several episodes, as arrays (episodes,
    tasks_per_episode) of times (s) and devices (int64); ValueError unless each is
    ``tasks_per_episode`` finite, non-decreasing times >= 0 and integer devices in ``[0, N)``
    (the shapes and device types of every episode are checked first, then the values)."""
    n = config.tasks_per_episode
    integers = f"arrival devices must be integers in [0, {config.num_devices - 1}]"
    for times, devices in arrivals:
        if np.shape(times) != (n,) or np.shape(devices) != (n,):
            raise ValueError(f"arrivals must be {n} times and {n} devices (tasks_per_episode={n})")
        if np.asarray(devices).dtype.kind not in "iu":
            raise ValueError(integers)
    times = np.array([times for times, _ in arrivals], dtype=float).reshape(len(arrivals), n)
    devices = np.array([devices for _, devices in arrivals], dtype=np.int64)
    devices = devices.reshape(len(arrivals), n)
    if not np.isfinite(times).all() or np.any(times < 0) or np.any(np.diff(times) < 0):
        raise ValueError("arrival times must be finite, >= 0 and non-decreasing")
    if np.any((devices < 0) | (devices >= config.num_devices)):
        raise ValueError(integers)
    return times, devices


class EpisodeDraw(NamedTuple):
    """The random parts of an episode (SI units; with a leading episode axis from
    ``PerTaskSimulator.draw_episodes``)."""

    positions: np.ndarray
    """Device positions, m, (N, 2), BS at the origin."""
    distance: np.ndarray
    """Device-BS distances, m, (N,)."""
    gain_db: np.ndarray
    """Channel gains with the episode's shadowing, dB, (N,)."""
    arrival_times: np.ndarray
    """Arrival time of each task, s."""
    task_device: np.ndarray
    """Device of each task."""


@dataclass(slots=True)
class TaskDecision:
    """What is decided for a task: where it runs, its frames, and what it reserves."""

    offload: bool
    frames: int
    time_share: float = 0.0
    """Fraction of the TDMA frame reserved (offloaded tasks)."""
    edge_share: float = 0.0
    """Fraction of F^E reserved (offloaded tasks)."""
    local_frequency: float = 0.0
    """CPU frequency, cycle/s (local tasks)."""


@dataclass
class TaskOutcome:
    """One decided task (times in s from the episode start, energy in J, shares as used)."""

    device: int
    arrival: float
    offload: bool
    frames: int
    time_share: float
    """Fraction of the TDMA frame reserved (0 if local)."""
    edge_frequency: float
    """Edge CPU reserved, cycle/s (0 if local)."""
    local_frequency: float
    """Local CPU frequency, cycle/s (0 if offloaded)."""
    start: float
    """Local: when its computation starts (after waiting); offloaded: the arrival."""
    upload_end: float
    """Offloaded: when the uplink share is released; local: the arrival."""
    finish: float
    """Local: end of the computation; offloaded: end of the edge computation (edge released)."""
    waiting: float
    delay: float
    energy: float
    accuracy: float
    cost: float


@dataclass(eq=False)
class PerTaskState:
    """The whole state of an episode; the reservation heaps hold (release time s, share)."""

    problem: JointOffloadProblem
    """The episode's N-device instance (gains, rates, C(F), A(F))."""
    positions: np.ndarray
    """Device positions, m, (N, 2), BS at the origin."""
    distance: np.ndarray
    """Device-BS distances, m."""
    arrival_times: np.ndarray
    """Arrival time of each task, s."""
    task_device: np.ndarray
    """Device of each task."""
    task: int = 0
    """Index of the task to decide (``tasks_per_episode`` when the episode is over)."""
    now: float = 0.0
    device: int = 0
    """Device of the task to decide."""
    uploads: list[tuple[float, float]] = field(default_factory=list)
    """Uplink reservations in service: (release time s, fraction of the TDMA frame)."""
    edge_jobs: list[tuple[float, float]] = field(default_factory=list)
    """Edge-CPU reservations in service: (release time s, fraction of F^E)."""
    local_busy_until: list[float] = field(default_factory=list)
    """Per device: when its CPU finishes its queued local tasks, s."""
    free_uplink_share: float = 1.0
    free_edge_share: float = 1.0
    outcomes: list[TaskOutcome] = field(default_factory=list)


class PerTaskSimulator:
    """Tasks arriving at N devices, each decided once: local (FIFO per device) or offloaded
    with uplink and edge-CPU shares reserved until its upload and its edge computation end.

    ``reset(rng)`` draws the drop and the arrivals and moves to the first task; ``decide(...)``
    reserves what a decision asks for, returns the task's outcome and moves to the next task.
    """

    def __init__(
        self,
        config: PerTaskOffloadConfig,
        drops: DropGenerator | None = None,
        arrivals: ArrivalGenerator | None = None,
    ) -> None:
        self.config = config
        for name, generator in (("drops", drops), ("arrivals", arrivals)):
            if generator is not None and not callable(generator):
                raise TypeError(f"{name} must be a generator, got {type(generator).__name__}")
        self.drops = UniformDrops() if drops is None else drops
        self.arrivals = PoissonArrivals() if arrivals is None else arrivals
        self.template = JointOffloadProblem.from_gains(config, np.zeros(1))
        self.macs = self.template.macs.tolist()  # lists: fast scalar lookups per task
        self.accuracy = self.template.accuracy.tolist()
        self.state: PerTaskState | None = None

    def draw_episode(self, rng: np.random.Generator) -> EpisodeDraw:
        """An episode's random parts, from ``rng``: the drop (with one shadowing draw per
        device), then the tasks."""
        return EpisodeDraw(*(values[0] for values in self.draw_episodes([rng])))

    def draw_episodes(self, rngs: Sequence[np.random.Generator]) -> EpisodeDraw:
        """The random parts of ``len(rngs)`` episodes, episode e from ``rngs[e]`` as
        :meth:`draw_episode` draws one (arrays with a leading episode axis): each rng's draws
        in turn (copied as they come, so a generator may refill one array), then the checks
        (:func:`~mec_gym.problems.joint_offload.checked_drops`,
        :func:`checked_episode_arrivals`) and the gains of all at once."""
        cfg = self.config
        n = cfg.num_devices
        drops: list[np.ndarray] = []
        shadowing: list[np.ndarray | float] = []
        arrivals: list[tuple[np.ndarray, np.ndarray]] = []
        for rng in rngs:  # each episode's draws in order: its drop, shadowing, tasks
            drops.append(np.array(self.drops(cfg, rng, n)))
            shadowing.append(shadowing_db(cfg, rng, (n,)))
            times, devices = self.arrivals(cfg, rng)
            arrivals.append((np.array(times), np.array(devices)))
        positions = checked_drops(cfg, drops, n)
        distance = np.hypot(positions[..., 0], positions[..., 1])
        # the drawn terms (episodes, N), or (episodes, 1) zeros without shadowing (no draw)
        terms = np.array(shadowing).reshape(len(rngs), -1)
        gain_db = channel_gains_db(cfg, distance, terms)
        return EpisodeDraw(positions, distance, gain_db, *checked_episode_arrivals(cfg, arrivals))

    def reset(self, rng: np.random.Generator) -> None:
        """Draw an episode (:meth:`draw_episode`) and move to its first task."""
        n = self.config.num_devices
        positions, distance, gain_db, arrival_times, task_device = self.draw_episode(rng)
        problem = self.template.with_gains(gain_db)
        self.rates = problem.rate.tolist()
        self.arrival_list = arrival_times.tolist()
        self.device_list = task_device.tolist()
        self.state = PerTaskState(
            problem=problem,
            positions=positions,
            distance=distance,
            arrival_times=arrival_times,
            task_device=task_device,
            local_busy_until=[0.0] * n,
        )
        self._begin_task()

    @property
    def done(self) -> bool:
        """Whether every task of the episode has been decided."""
        return self.state is not None and self.state.task >= self.config.tasks_per_episode

    def decide(self, decision: TaskDecision) -> TaskOutcome:
        """Run the current task as ``decision`` says (locally after the device's queue, or
        offloaded with its shares reserved); its outcome, then on to the next task."""
        st = self.state
        if st is None or st.task >= self.config.tasks_per_episode:
            raise RuntimeError("no task to decide: call reset()")
        cfg, now, device = self.config, st.now, st.device
        offload, frames = decision.offload, decision.frames
        time_share, edge_share = decision.time_share, decision.edge_share
        local_frequency = decision.local_frequency
        edge_frequency = edge_share * cfg.edge_capacity
        macs = self.macs[frames]
        if offload:
            delay, energy = offload_delay_energy(
                cfg, macs, frames, self.rates[device], time_share, edge_frequency
            )
        else:
            delay, energy = local_delay_energy(cfg, macs, local_frequency)
        accuracy = self.accuracy[frames]
        cost = weighted_cost(cfg, delay, energy, accuracy)
        if offload:
            upload_s = float(upload_time(cfg, frames, self.rates[device], time_share))
            start, upload_end, finish, waiting = now, now + upload_s, now + delay, 0.0
            heapq.heappush(st.uploads, (upload_end, time_share))
            heapq.heappush(st.edge_jobs, (finish, edge_share))
        else:
            start = max(now, st.local_busy_until[device])
            finish = start + delay
            waiting = start - now
            st.local_busy_until[device] = finish
            upload_end = now
            delay += waiting
            cost += cfg.delay_weight * waiting
        outcome = TaskOutcome(
            device=device,
            arrival=now,
            offload=offload,
            frames=frames,
            time_share=time_share,
            edge_frequency=edge_frequency,
            local_frequency=local_frequency,
            start=start,
            upload_end=upload_end,
            finish=finish,
            waiting=waiting,
            delay=delay,
            energy=energy,
            accuracy=accuracy,
            cost=cost,
        )
        st.outcomes.append(outcome)
        st.task += 1
        if st.task < cfg.tasks_per_episode:
            self._begin_task()
        return outcome

    def _begin_task(self) -> None:
        """Advance the clock to the next arrival and release what has ended by then."""
        st = self.state
        st.now = now = self.arrival_list[st.task]
        st.device = self.device_list[st.task]
        release_until(st.uploads, now)
        release_until(st.edge_jobs, now)
        st.free_uplink_share = free_share(st.uploads)
        st.free_edge_share = free_share(st.edge_jobs)

    # ------------------------------------------------------------------ queries
    def task_problem(self) -> JointOffloadProblem:
        """One-device instance of the current task's device (its channel), on which the task is
        costed; Theorems 1 and 2 apply to it directly."""
        st = self.state
        d = st.device
        problem = st.problem
        return problem.with_gains(problem.gain_db[d : d + 1], rate=problem.rate[d : d + 1])

    def task_rate(self) -> float:
        """Full-band uplink rate of the current task's device, bit/s."""
        return self.rates[self.state.device]

    def free_edge_frequency(self) -> float:
        """Edge CPU not reserved at the current decision, cycle/s."""
        return self.state.free_edge_share * self.config.edge_capacity

    def local_backlog(self) -> float:
        """Seconds until the current task's device finishes its queued local tasks."""
        st = self.state
        return max(st.local_busy_until[st.device] - st.now, 0.0)

    def recent_arrivals(self, window_s: float) -> int:
        """Tasks arrived in the last ``window_s`` s, the current one included."""
        st = self.state
        task = st.task
        return task + 1 - bisect_right(self.arrival_list, st.now - window_s, 0, task + 1)
