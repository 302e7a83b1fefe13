"""A native batched vector env of PerTaskOffload-v1.

Source: G. Pan, H. Zhang, S. Xu, S. Zhang, X. Chen, "Joint Optimization of Video-based AI
Inference Tasks in MEC-assisted Augmented Reality Systems", IEEE Trans. Cogn. Commun. Netw.
9(2), 2023 (arXiv 2301.01010); our sequential variant, model ``docs/joint_offload.md``.

:class:`PerTaskOffloadVectorEnv` runs ``num_envs`` copies of
:class:`~mec_gym.envs.per_task_offload.PerTaskOffloadEnv`, one task per sub-env per step, with
the same functions on arrays over the sub-envs: the task's delay, energy and cost
(``offload_delay_energy``, ``local_delay_energy``, ``weighted_cost``, ``upload_time``), the
options (``option_shares``, ``edge_option`` on a batch of one-device instances), the share map
(``share_fraction``) and the observation map (``squashed``). The reservations in service are
kept per sub-env as the scalar simulator keeps them, in the order ``heapq`` gives its lists, so
that the free shares, sums in that order, are the same numbers.

Where the environments compile (:func:`~mec_gym.compiled.compiled_envs`), the heaps are rows of
arrays kept by numba-compiled sifts
(:class:`~mec_gym.envs.reservation_kernels.ReservationArrays`), and a continuous-mode step runs
as two compiled loops over the sub-envs that call the functions above compiled as written
(:mod:`mec_gym.envs.per_task_kernels`). Otherwise the heaps are ``heapq`` lists kept by the
scalar simulator's own functions (:class:`ReservationHeaps`, a loop over the sub-envs in
Python) and every step runs with numpy: the same numbers, several times slower.

Each sub-env keeps its own ``numpy.random.Generator`` and draws
its episodes from it exactly as the scalar env draws from its ``np_random``
(``PerTaskSimulator.draw_episode``; all sub-envs at once with ``draw_episodes``), so that sub-env
i after ``reset(seed=s)`` equals the scalar env after ``reset(seed=s + i)`` step by step (what
``SyncVectorEnv`` gives), autoresets included. Every episode has ``tasks_per_episode`` tasks,
so the sub-envs end and restart together.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any

import numpy as np

from mec_gym.compiled import compiled_envs
from mec_gym.envs.base import LockstepVectorEnv, real_values
from mec_gym.envs.per_task_offload import (
    BACKLOG_SCALE_S,
    LOCAL_FRACTION_FLOOR,
    MIN_ABSOLUTE_SHARE,
    OFFLOAD_SHARES,
    RATE_WINDOW_ARRIVALS,
    RELEASE_SCALE_S,
    RELEASES_OBSERVED,
    RESERVATIONS_SCALE,
    PerTaskOffloadEnv,
    option_masks,
    option_shares,
    share_fraction,
    squashed,
)
from mec_gym.problems.joint_offload import (
    DropGenerator,
    local_delay_energy,
    offload_delay_energy,
    upload_time,
    weighted_cost,
)
from mec_gym.simulators.per_task_offload import (
    ArrivalGenerator,
    PerTaskOffloadConfig,
    edge_option,
    free_share,
    next_releases,
    release_until,
)

if TYPE_CHECKING:
    from mec_gym.envs.per_task_kernels import TaskKernels
    from mec_gym.envs.reservation_kernels import ReservationArrays

__all__ = [
    "PerTaskOffloadVectorEnv",
    "ReleasedReservations",
    "ReservationHeaps",
    "reservation_heaps",
]


class ReleasedReservations:
    """What the last ``release(now)`` of per-sub-env reservation heaps leaves for the
    observation (the part both kinds of heaps share): ``size``, ``free`` and the ``observed``
    earliest releases (``release_keys``, ``release_shares``, ``release_valid``)."""

    def __init__(self, num_envs: int, observed: int) -> None:
        self.observed = observed
        self.size = np.zeros(num_envs, dtype=np.int64)
        """Reservations in each heap at the last release, (num_envs,)."""
        self.free = np.ones(num_envs)
        """``free_share`` of each heap at the last release, (num_envs,)."""
        self.release_keys = np.zeros((num_envs, observed))
        """Release times (s) of each heap's ``observed`` earliest reservations, in order (0
        past the heap's size), at the last release."""
        self.release_shares = np.zeros((num_envs, observed))
        """Their shares (0 past the heap's size)."""
        self.release_valid = np.zeros((num_envs, observed), dtype=bool)
        """Which of those entries exist."""

    def clear(self) -> None:
        """Forget the last release: no reservation, all free."""
        self.size = np.zeros_like(self.size)
        self.free = np.ones_like(self.free)
        self.release_keys = np.zeros_like(self.release_keys)
        self.release_shares = np.zeros_like(self.release_shares)
        self.release_valid = np.zeros_like(self.release_valid)

    def entries(self, env: int) -> list[tuple[float, float]]:
        """The heap of sub-env ``env``: (release time s, share) pairs in ``heapq``'s order."""
        raise NotImplementedError

    def restore(self, entries: list[list[tuple[float, float]]]) -> None:
        """Hold ``entries[env]`` (pairs in ``heapq``'s order) in the heap of each sub-env."""
        raise NotImplementedError

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as entries and the released view, and loaded as the heaps of the loading
        process (:func:`restored_reservations`): lists where numba is missing or
        ``MEC_GYM_NUMBA=0``, compiled arrays otherwise."""
        entries = [self.entries(env) for env in range(len(self.size))]
        released = (self.size, self.free, self.release_keys, self.release_shares)
        return restored_reservations, (self.observed, entries, (*released, self.release_valid))

    def record_release(self, size: np.ndarray) -> None:
        """Set ``size`` (reservations per heap after a release) and which of the earliest
        releases exist."""
        self.size = size
        self.release_valid = np.arange(self.observed) < size[:, None]


class ReservationHeaps(ReleasedReservations):
    """One heap of (release time s, share) reservations per sub-env, each a list kept by
    ``heapq`` with the scalar simulator's functions (``release_until``, ``free_share``,
    ``next_releases``), so that every heap holds its entries in the scalar simulator's order
    and the free shares, sums in that order, are the same numbers. (A loop over the sub-envs
    in Python: the light install's heaps; :func:`reservation_heaps` gives the compiled
    ``ReservationArrays`` where the environments compile, ``compiled_envs()``.) :meth:`release`
    pops what has ended and sets what the observation reads: ``size``, ``free`` and the
    ``observed`` earliest releases (``release_keys``, ``release_shares``, ``release_valid``)."""

    def __init__(self, num_envs: int, observed: int) -> None:
        super().__init__(num_envs, observed)
        self.heaps: list[list[tuple[float, float]]] = [[] for _ in range(num_envs)]

    def clear(self) -> None:
        """Empty every heap (and what :meth:`release` set: no reservation, all free)."""
        for heap in self.heaps:
            heap.clear()
        super().clear()

    def entries(self, env: int) -> list[tuple[float, float]]:
        """The heap of sub-env ``env``: (release time s, share) pairs in ``heapq``'s order."""
        return list(self.heaps[env])

    def restore(self, entries: list[list[tuple[float, float]]]) -> None:
        """Hold ``entries[env]`` (pairs in ``heapq``'s order) in the heap of each sub-env."""
        self.heaps = [list(heap) for heap in entries]

    def push(self, envs: np.ndarray, key: np.ndarray, share: np.ndarray) -> None:
        """``heappush`` of (``key[j]``, ``share[j]``) onto the heap of sub-env ``envs[j]``."""
        heaps = self.heaps
        for env, item in zip(
            envs.tolist(), zip(key.tolist(), share.tolist(), strict=True), strict=True
        ):
            heapq.heappush(heaps[env], item)

    def release(self, now: np.ndarray) -> None:
        """Pop every reservation released by ``now`` (s, per sub-env), earliest first; then
        the heaps' sizes, free shares and earliest releases."""
        count = self.observed
        padding = [0.0] * (2 * count)
        free, upcoming = [], []
        for heap, time_s in zip(self.heaps, now.tolist(), strict=True):
            release_until(heap, time_s)
            free.append(free_share(heap))
            releases = next_releases(heap, count)
            for item in releases:
                upcoming += item
            upcoming += padding[: 2 * (count - len(releases))]
        n = len(self.heaps)
        self.free = np.array(free)
        table = np.array(upcoming).reshape(n, count, 2)
        self.release_keys, self.release_shares = table[..., 0], table[..., 1]
        self.record_release(np.fromiter(map(len, self.heaps), np.int64, n))


def reservation_heaps(num_envs: int, observed: int) -> ReservationHeaps | ReservationArrays:
    """A heap of reservations per sub-env: compiled ``ReservationArrays``
    (:mod:`mec_gym.envs.reservation_kernels`) where the environments compile
    (:func:`~mec_gym.compiled.compiled_envs`), else :class:`ReservationHeaps`; the same
    interface and numbers."""
    if compiled_envs():
        from mec_gym.envs.reservation_kernels import ReservationArrays

        return ReservationArrays(num_envs, observed)
    return ReservationHeaps(num_envs, observed)


def restored_reservations(
    observed: int, entries: list[list[tuple[float, float]]], released: tuple[np.ndarray, ...]
) -> ReservationHeaps | ReservationArrays:
    """Heaps of the kind :func:`reservation_heaps` gives in this process holding ``entries``
    (per sub-env, in ``heapq``'s order), with the released view ``released`` (``size``,
    ``free``, ``release_keys``, ``release_shares``, ``release_valid``): a pickled heap."""
    heaps = reservation_heaps(len(entries), observed)
    heaps.restore(entries)
    heaps.size, heaps.free, heaps.release_keys, heaps.release_shares, heaps.release_valid = released
    return heaps


def task_kernels(action_mode: str) -> TaskKernels | None:
    """The compiled loops of a step (:mod:`mec_gym.envs.per_task_kernels`) in continuous mode
    where the environments compile (:func:`~mec_gym.compiled.compiled_envs`), else None: the
    vector env then steps with numpy (the same numbers)."""
    if action_mode != "continuous" or not compiled_envs():
        return None
    from mec_gym.envs.per_task_kernels import compiled_task_kernels

    return compiled_task_kernels()


class PerTaskOffloadVectorEnv(LockstepVectorEnv):
    """``num_envs`` PerTaskOffload environments stepped as one batch (see the module docstring).

    Spaces, rewards, flags and the per-sub-env ``info`` values are those of
    :class:`~mec_gym.envs.per_task_offload.PerTaskOffloadEnv`; ``info`` holds each key as an
    array over the sub-envs with the mask ``"_" + key``, as ``SyncVectorEnv`` builds it.
    Autoreset mode ``NEXT_STEP``: the step after the episodes end resets them (the actions are
    ignored) and returns the new episodes' first observations and reset ``info`` with reward 0
    and both flags False. Arguments are the scalar env's (``config``, ``preset``, ``drops``,
    ``arrivals``, config fields, and ``max_episode_steps``, the registered ``TimeLimit``
    guard, applied as the wrapper applies it); ``render_mode`` must be None.
    """

    def __init__(
        self,
        num_envs: int = 1,
        config: PerTaskOffloadConfig | dict[str, Any] | None = None,
        render_mode: str | None = None,
        drops: DropGenerator | None = None,
        arrivals: ArrivalGenerator | None = None,
        preset: str | None = PerTaskOffloadEnv.default_preset,
        max_episode_steps: int | None = None,
        **overrides: Any,
    ) -> None:
        resolved = PerTaskOffloadEnv.resolve_config(config, preset, overrides)  # as the scalar
        super().__init__(PerTaskOffloadEnv, num_envs, resolved, render_mode, {})
        self.preset = preset
        self.limit_steps(max_episode_steps)  # the registered TimeLimit guard, applied alike
        cfg = self.config
        self.scalar = PerTaskOffloadEnv(cfg, drops=drops, arrivals=arrivals)
        """A scalar env of the same config: its simulator draws the episodes."""
        self.set_single_spaces(self.scalar.action_space, self.scalar.observation_space)
        self.simulator = self.scalar.simulator
        self.template = self.simulator.template
        self.macs, self.accuracy = self.template.macs, self.template.accuracy
        self.min_frames = int(self.scalar.min_frames)
        self.frame_span = int(cfg.max_frames - self.min_frames)
        self.options = cfg.action_mode == "options"
        self.rows = np.arange(self.num_envs)
        self.uploads, self.edge_jobs = (
            reservation_heaps(self.num_envs, RELEASES_OBSERVED) for _ in range(2)
        )
        """The reservations in service of the TDMA frame and of the edge CPU per sub-env."""
        self.compile_step()
        self.totals = np.zeros((self.num_envs, len(self.keys)))
        self.task = 0

    compiled_state = ("kernels", "task_config")

    def compile_step(self) -> None:
        """Step with the compiled loops (:func:`task_kernels`) and the :class:`TaskConfig` view
        of the config, or with numpy. RuntimeError if the observation is not the layout the
        loops write. A pickled env loads with the step and heaps of the loading process
        (compiled where the envs compile there, numpy and lists otherwise: the same numbers;
        the heaps pickle as their entries, ``ReleasedReservations``)."""
        kernels = task_kernels(self.config.action_mode)
        self.kernels: TaskKernels | None = kernels
        """The compiled loops of a continuous-mode step, or None (numpy)."""
        if kernels is not None:
            from mec_gym.envs.per_task_kernels import task_config

            self.task_config = task_config(self.config)
            width = 7 + 4 * RELEASES_OBSERVED  # the columns the compiled loop writes
            if self.single_observation_space.shape != (width,):
                raise RuntimeError(f"the compiled step writes {width} observation columns")

    # ------------------------------------------------------------------ gym API
    def _step_all(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        n = self.num_envs
        edge_seen = self.edge_jobs.size.copy()  # at the decision; info gets its own array
        if self.kernels is None:
            decisions = self._decisions(actions)
            outcome = (*self._decide(*decisions), decisions[0])
            self.totals += np.stack(outcome, axis=1)
        else:
            outcome = self._decide_compiled(self._continuous_actions(actions), self.kernels)
            self.totals += outcome.T
        cost = outcome[0]
        self.task += 1
        terminated = self.task >= self.config.tasks_per_episode
        if terminated:
            observations = np.zeros((n, self.single_observation_space.shape[0]), np.float32)
        elif self.kernels is None:
            self._begin_task()
            observations = self._observations()
        else:
            observations = self._begin_compiled(self.kernels)
        self.autoreset = terminated  # the step limit: LockstepVectorEnv.step
        return (
            observations,
            -cost,
            np.full(n, terminated),
            np.zeros(n, dtype=bool),
            self._infos(edge_seen),
        )

    def action_masks(self) -> np.ndarray:
        """Options mode: each sub-env's valid options at its current task, (num_envs, options),
        as ``PerTaskOffloadEnv.action_masks`` gives them (for MaskablePPO)."""
        if not self.options:
            raise ValueError("action masks exist in action_mode='options' only")
        if not self.ready:
            raise RuntimeError("call reset() before action_masks()")
        cfg = self.config
        if self.task >= cfg.tasks_per_episode:  # every task decided: the local option only
            masks = np.zeros((self.num_envs, 1 + len(OFFLOAD_SHARES)), dtype=bool)
            masks[:, 0] = True
            return masks
        later_tasks = cfg.tasks_per_episode - self.task - 1
        harm_bound = cfg.delay_weight * self.scalar.local_delay * later_tasks
        return option_masks(self.option_reserved, self.option_costs, harm_bound)

    # ------------------------------------------------------------------ actions
    def _decisions(self, actions: np.ndarray) -> tuple[np.ndarray, ...]:
        """(offload, frames, time share, edge share, local frequency cycle/s) per sub-env."""
        n = self.num_envs
        values = np.asarray(actions)
        if self.options:
            if values.shape not in ((n,), (n, 1)) or values.dtype.kind not in "iuf":
                raise ValueError(f"actions must be {n} option indices, got shape {values.shape}")
            index = values.reshape(n)
            count = self.single_action_space.n
            if not (
                np.array_equal(index, np.rint(index)) and ((index >= 0) & (index < count)).all()
            ):
                raise ValueError(f"actions must be integers in [0, {count - 1}]")
            index = index.astype(np.int64)
            option = np.maximum(index - 1, 0)
            offload = index > 0
            local = self.scalar.local_decision
            frames = np.where(offload, self.option_frames[self.rows, option], local.frames)
            time_share = np.where(offload, self.option_reserved[self.rows, option, 0], 0.0)
            edge_share = np.where(offload, self.option_reserved[self.rows, option, 1], 0.0)
            local_frequency = np.where(offload, 0.0, local.local_frequency)
            return offload, frames, time_share, edge_share, local_frequency
        values = self._continuous_actions(values)
        unit = (np.minimum(np.maximum(values, -1.0), 1.0) + 1.0) * 0.5
        offload = unit[:, 0] > 0.5
        frames = np.rint(self.min_frames + unit[:, 1] * self.frame_span).astype(np.int64)
        free_uplink, free_edge = self.free_uplink, self.free_edge
        time_share = np.where(
            offload, np.maximum(share_fraction(unit[:, 2]) * free_uplink, MIN_ABSOLUTE_SHARE), 0.0
        )
        edge_share = np.where(
            offload, np.maximum(share_fraction(unit[:, 3]) * free_edge, MIN_ABSOLUTE_SHARE), 0.0
        )
        fraction = np.maximum(unit[:, 4], LOCAL_FRACTION_FLOOR)
        local_frequency = np.where(offload, 0.0, fraction * self.config.device_max_frequency)
        return offload, frames, time_share, edge_share, local_frequency

    def _continuous_actions(self, actions: np.ndarray) -> np.ndarray:
        """Continuous-mode actions as float64 (num_envs, 5); ValueError unless they are finite
        real numbers of that shape."""
        values = np.asarray(actions)
        if values.shape != (self.num_envs, 5):
            raise ValueError(f"actions must have shape ({self.num_envs}, 5), got {values.shape}")
        values = real_values(values, "actions")
        if not np.isfinite(values).all():
            raise ValueError("actions must be finite")
        return values

    # ------------------------------------------------------------------ dynamics
    def _decide(
        self,
        offload: np.ndarray,
        frames: np.ndarray,
        time_share: np.ndarray,
        edge_share: np.ndarray,
        local_frequency: np.ndarray,
    ) -> tuple[np.ndarray, ...]:
        """Run every sub-env's current task as decided (``PerTaskSimulator.decide``): locally
        after its device's queue, or offloaded with its shares reserved until its upload and
        its edge computation end. (cost, delay s, energy J, accuracy, waiting s) per sub-env."""
        cfg = self.config
        rows, device, now = self.rows, self.device, self.now
        rate = self.rate[rows, device]
        macs = self.macs[frames]
        with np.errstate(divide="ignore", invalid="ignore"):  # the other mode's terms, dropped
            edge_delay, tx_energy = offload_delay_energy(
                cfg, macs, frames, rate, time_share, edge_share * cfg.edge_capacity
            )
            local_delay, local_energy = local_delay_energy(cfg, macs, local_frequency)
            upload_s = upload_time(cfg, frames, rate, time_share)
        delay = np.where(offload, edge_delay, local_delay)
        energy = np.where(offload, tx_energy, local_energy)
        accuracy = self.accuracy[frames]
        cost = weighted_cost(cfg, delay, energy, accuracy)
        edge = np.flatnonzero(offload)
        self.uploads.push(edge, (now + upload_s)[edge], time_share[edge])
        self.edge_jobs.push(edge, (now + delay)[edge], edge_share[edge])
        busy = self.busy_until[rows, device]
        start = np.maximum(now, busy)  # a local task starts when its device's queue is done
        self.busy_until[rows, device] = np.where(offload, busy, start + delay)
        waiting = np.where(offload, 0.0, start - now)
        cost = np.where(offload, cost, cost + cfg.delay_weight * waiting)
        delay = np.where(offload, delay, delay + waiting)
        return cost, delay, energy, accuracy, waiting

    def _decide_compiled(self, values: np.ndarray, kernels: TaskKernels) -> np.ndarray:
        """The continuous-mode decisions and :meth:`_decide` of the actions ``values``
        (float64, (num_envs, 5)) in the compiled loop (``TaskKernels.decide``): cost, delay
        s, energy J, accuracy, waiting s and whether offloaded, rows of (6, num_envs)."""
        from mec_gym.envs.reservation_kernels import kernel_array

        outcome = np.empty((6, self.num_envs))
        heaps = self.uploads, self.edge_jobs
        while not kernels.decide(
            self.task_config,
            kernel_array(values, np.float64),
            self.min_frames,
            self.frame_span,
            self.now,
            self.device,
            self.rate,
            self.macs,
            self.accuracy,
            self.busy_until,
            *self.uploads.release_arrays()[:4],
            *self.edge_jobs.release_arrays()[:4],
            outcome,
        ):
            for heap in heaps:
                heap.make_room()
        return outcome

    def _begin_compiled(self, kernels: TaskKernels) -> np.ndarray:
        """:meth:`_begin_task` and :meth:`_observations` in the compiled loop
        (``TaskKernels.begin``); the observations."""
        n = self.num_envs
        heaps = self.uploads, self.edge_jobs
        for heap in heaps:
            heap.new_release()
            heap.new_record()
        self.now, self.device, self.backlog = np.empty(n), np.empty(n, np.int64), np.empty(n)
        observations = np.empty((n, self.single_observation_space.shape[0]), np.float32)
        kernels.begin(
            self.task,
            self.arrival_times,
            self.task_device,
            self.busy_until,
            self.gain_obs,
            self.recent_arrivals,
            *self.uploads.release_arrays(),
            *self.edge_jobs.release_arrays(),
            self.now,
            self.device,
            self.backlog,
            observations,
        )
        self.free_uplink, self.free_edge = self.uploads.free, self.edge_jobs.free
        return observations

    def _start(self) -> tuple[np.ndarray, dict[str, Any]]:
        """New episodes for every sub-env (from their own generators); their observations and
        reset ``info``."""
        draws = self.simulator.draw_episodes(self.rngs)
        self.gain_db = gain_db = draws.gain_db
        self.rate = self.template.with_gains(gain_db).rate
        self.gain_obs = np.clip(self.scalar.gain_scale.encode(gain_db), -1.0, 1.0)
        self.arrival_times = arrivals = draws.arrival_times
        self.task_device = draws.task_device
        # the arrivals in the rate window of each task, the current one included
        # (PerTaskSimulator.recent_arrivals: the times are non-decreasing, so bisecting the
        # first task + 1 of them counts min(those <= the window's start, task + 1))
        starts = arrivals - self.scalar.rate_window
        before = np.stack(
            [
                np.searchsorted(row, row_starts, side="right")
                for row, row_starts in zip(arrivals, starts, strict=True)
            ]
        )
        counts = np.arange(1, arrivals.shape[1] + 1)
        self.recent_arrivals = counts - np.minimum(before, counts)
        """Per sub-env and task, the tasks arrived in the rate window at its arrival, (num_envs,
        tasks_per_episode)."""
        self.busy_until = np.zeros(gain_db.shape)
        self.uploads.clear()
        self.edge_jobs.clear()
        self.totals[:] = 0.0
        self.task = 0
        self.autoreset = False
        if self.kernels is None:
            self._begin_task()
            observations = self._observations()
        else:
            observations = self._begin_compiled(self.kernels)
        return observations, self._infos(np.zeros(self.num_envs, dtype=np.int64))

    def _begin_task(self) -> None:
        """On to task ``task``: the clock at its arrival, what has ended by then released
        (``PerTaskSimulator._begin_task``), and in options mode the options."""
        self.now = self.arrival_times[:, self.task]
        self.device = self.task_device[:, self.task]
        self.uploads.release(self.now)
        self.edge_jobs.release(self.now)
        self.free_uplink, self.free_edge = self.uploads.free, self.edge_jobs.free
        self.backlog = np.maximum(self.busy_until[self.rows, self.device] - self.now, 0.0)
        if self.options:
            self._options()

    def _options(self) -> None:
        """Options mode: every option's reservation, frames and immediate cost at the current
        tasks (``PerTaskOffloadEnv.option_decisions``), the local option's cost first."""
        rows, device = self.rows, self.device
        self.option_reserved = option_shares(self.free_uplink, self.free_edge)  # (n, K, 2)
        tasks = self.template.with_gains(  # each sub-env's task device: one-device instances
            self.gain_db[rows, device][:, None], rate=self.rate[rows, device][:, None]
        )
        frames, costs = zip(
            *(
                edge_option(tasks, self.option_reserved[:, k, :1], self.option_reserved[:, k, 1:])
                for k in range(len(OFFLOAD_SHARES))
            ),
            strict=True,
        )
        self.option_frames = np.stack(frames, axis=1)
        local_cost = self.scalar.local_cost + self.config.delay_weight * self.backlog
        self.option_costs = np.stack((local_cost, *costs), axis=1)

    # ------------------------------------------------------------------ observations, info
    def _observations(self) -> np.ndarray:
        """The observations of the current tasks (``PerTaskOffloadEnv._observation``), each
        feature cast to float32 as it is written in."""
        rows, now = self.rows, self.now
        uploads, edge = self.uploads.size, self.edge_jobs.size
        observations = np.empty((len(now), self.single_observation_space.shape[0]), np.float32)
        features = (
            self.gain_obs[rows, self.device],
            squashed(self.backlog, BACKLOG_SCALE_S),
            self.free_uplink,
            self.free_edge,
            squashed(uploads, RESERVATIONS_SCALE),
            squashed(edge, RESERVATIONS_SCALE),
        )
        for column, feature in enumerate(features):
            observations[:, column] = feature
        column = len(features)
        for heap in (self.uploads, self.edge_jobs):  # (wait, share) of each upcoming release
            wait = heap.release_keys - now[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):  # only where no release
                waits = np.where(heap.release_valid, squashed(wait, RELEASE_SCALE_S), 0.0)
            end = column + 2 * RELEASES_OBSERVED
            observations[:, column:end:2] = waits
            observations[:, column + 1 : end : 2] = heap.release_shares  # 0 where none
            column = end
        ratio = self.recent_arrivals[:, self.task] / RATE_WINDOW_ARRIVALS
        observations[:, column] = squashed(ratio, 1.0)
        if self.options:
            observations[:, column + 1 :] = self.option_costs / (1.0 + np.abs(self.option_costs))
        return observations

    def _infos(self, edge_seen: np.ndarray) -> dict[str, Any]:
        """Episode-to-date means, edge jobs seen at the decision, tasks decided, time (s)."""
        n = self.num_envs
        means = self.totals / max(self.task, 1)
        infos: dict[str, Any] = {key: means[:, j] for j, key in enumerate(self.keys)}
        infos["edge_in_service"] = edge_seen
        infos["tasks_decided"] = np.full(n, self.task)
        infos["time"] = self.now.copy()
        masks = np.ones((len(infos), n), dtype=bool)  # a row per key, each its own array
        for key, mask in zip(list(infos), masks, strict=True):
            infos["_" + key] = mask
        return infos
