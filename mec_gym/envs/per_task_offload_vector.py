"""A native batched vector env of PerTaskOffload-v1.

Source: G. Pan, H. Zhang, S. Xu, S. Zhang, X. Chen, "Joint Optimization of Video-based AI
Inference Tasks in MEC-assisted Augmented Reality Systems", IEEE Trans. Cogn. Commun. Netw.
9(2), 2023 (arXiv 2301.01010); our sequential variant, model ``docs/joint_offload.md``.

:class:`PerTaskOffloadVectorEnv` runs ``num_envs`` copies of
:class:`~mec_gym.envs.per_task_offload.PerTaskOffloadEnv`, one task per sub-env per step, with
the same functions on arrays over the sub-envs: the task's delay, energy and cost
(``offload_delay_energy``, ``local_delay_energy``, ``weighted_cost``, ``upload_time``), the
options (``option_shares``, ``edge_option`` on a batch of one-device instances) and the share
map (``share_fraction``). The reservations in service are kept as binary heaps laid out exactly
as ``heapq`` lays out the scalar simulator's lists (:class:`ReservationHeaps`), so that the free
shares, sums over those lists, are the same numbers. Each sub-env keeps its own
``numpy.random.Generator`` and draws its episodes from it exactly as the scalar env draws from
its ``np_random`` (``PerTaskSimulator.draw_episode``), so that sub-env i after ``reset(seed=s)``
equals the scalar env after ``reset(seed=s + i)`` step by step (what ``SyncVectorEnv`` gives),
autoresets included. Every episode has ``tasks_per_episode`` tasks, so the sub-envs end and
restart together.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mec_gym.envs.base import LockstepVectorEnv
from mec_gym.envs.per_task_offload import (
    BACKLOG_SCALE_S,
    LOCAL_FRACTION_FLOOR,
    MIN_ABSOLUTE_SHARE,
    OFFLOAD_SHARES,
    RATE_WINDOW_ARRIVALS,
    RELEASE_SCALE_S,
    RELEASES_OBSERVED,
    PerTaskOffloadEnv,
    option_masks,
    option_shares,
    share_fraction,
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
)

__all__ = ["PerTaskOffloadVectorEnv", "ReservationHeaps"]


class ReservationHeaps:
    """One binary min-heap of (release time s, share) reservations per sub-env, stored as one
    array ``entries`` (num_envs, capacity, 2) with the heaps' sizes ``size`` (num_envs,), and
    updated as ``heapq.heappush`` / ``heappop`` update a list (the same sift rules and tuple
    order), so that every heap holds its entries in the scalar simulator's list order."""

    def __init__(self, num_envs: int, capacity: int = 8) -> None:
        self.entries = np.zeros((num_envs, capacity, 2))
        self.size = np.zeros(num_envs, dtype=np.int64)

    @property
    def key(self) -> np.ndarray:
        """Release times, s, (num_envs, capacity); a heap's entries are its first ``size``."""
        return self.entries[..., 0]

    @property
    def share(self) -> np.ndarray:
        """Reserved shares, (num_envs, capacity)."""
        return self.entries[..., 1]

    def clear(self) -> None:
        self.size[:] = 0

    def push(self, envs: np.ndarray, key: np.ndarray, share: np.ndarray) -> None:
        """``heappush`` of (``key[j]``, ``share[j]``) onto the heap of sub-env ``envs[j]``."""
        if envs.size == 0:
            return
        if self.size[envs].max() >= self.entries.shape[1]:  # grow: the slots past a size unused
            self.entries = np.concatenate((self.entries, np.zeros_like(self.entries)), axis=1)
        position = self.size[envs]
        self.size[envs] += 1
        self._sift_down(envs, position, np.stack((key, share), axis=1))

    def pop_released(self, now: np.ndarray) -> None:
        """``heappop`` every entry released by ``now`` (s, per sub-env), smallest first."""
        while True:
            envs = np.flatnonzero((self.size > 0) & (self.entries[:, 0, 0] <= now))
            if envs.size == 0:
                return
            self._pop(envs)

    def free(self) -> np.ndarray:
        """``max(1 - sum of the shares in list order, 0)`` per sub-env (``cumsum`` adds in
        order, as ``sum`` does; the unused slots add zeros at the end)."""
        width = int(self.size.max(initial=0))
        if width == 0:
            return np.ones(self.size.size)
        used = np.arange(width) < self.size[:, None]
        total = np.cumsum(np.where(used, self.entries[:, :width, 1], 0.0), axis=1)[:, -1]
        return np.maximum(1.0 - total, 0.0)

    def smallest(self, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``count`` smallest entries of each heap in order, ``sorted(heap)[:count]``:
        (keys, shares, valid) arrays (num_envs, count), zeros where a heap has fewer. The k-th
        smallest entry of a heap is in its first ``2^k - 1`` slots, so only those are sorted."""
        width = min(2**count - 1, self.entries.shape[1])
        top = self.entries[:, :width]
        used = np.arange(width) < self.size[:, None]
        order = np.lexsort((top[..., 1], np.where(used, top[..., 0], np.inf)), axis=-1)
        ordered = np.take_along_axis(top, order[:, :count, None], axis=1)
        valid = np.arange(ordered.shape[1]) < self.size[:, None]
        ordered = np.where(valid[..., None], ordered, 0.0)
        pad = count - ordered.shape[1]
        if pad:
            ordered = np.pad(ordered, ((0, 0), (0, pad), (0, 0)))
            valid = np.pad(valid, ((0, 0), (0, pad)))
        return ordered[..., 0], ordered[..., 1], valid

    # ------------------------------------------------------------------ heapq's sifts
    @staticmethod
    def _before(item: np.ndarray, other: np.ndarray) -> np.ndarray:
        """item < other as (key, share) tuples compare, row by row."""
        key, other_key = item[:, 0], other[:, 0]
        return (key < other_key) | ((key == other_key) & (item[:, 1] < other[:, 1]))

    def _sift_down(self, envs: np.ndarray, position: np.ndarray, item: np.ndarray) -> None:
        """heapq's ``_siftdown(heap, 0, position)``: ``item`` (k, 2), put at ``position``,
        moves up past every larger parent."""
        flat = self.entries.reshape(-1, 2)
        slot = envs * self.entries.shape[1]  # flat index of each heap's root
        moving = np.flatnonzero(position > 0)
        while moving.size:
            parent = (position[moving] - 1) >> 1
            above = flat[slot[moving] + parent]
            larger = self._before(item[moving], above)
            moving, parent, above = moving[larger], parent[larger], above[larger]
            flat[slot[moving] + position[moving]] = above
            position[moving] = parent
            moving = moving[parent > 0]
        flat[slot + position] = item

    def _pop(self, envs: np.ndarray) -> None:
        """``heappop`` on the non-empty heaps of ``envs``: the last entry replaces the root and
        heapq's ``_siftup`` moves it down (the smaller child up to a leaf, then back up)."""
        capacity = self.entries.shape[1]
        flat = self.entries.reshape(-1, 2)
        last = self.size[envs] - 1
        self.size[envs] = last
        item = flat[envs * capacity + last]
        remaining = last > 0
        envs, item, end = envs[remaining], item[remaining], last[remaining]
        slot = envs * capacity
        position = np.zeros(envs.size, dtype=np.int64)
        moving = np.flatnonzero(end > 1)  # a child at 1
        while moving.size:
            child = 2 * position[moving] + 1
            right = child + 1
            has_right = right < end[moving]
            left_item = flat[slot[moving] + child]
            right_item = flat[slot[moving] + np.where(has_right, right, child)]
            child = np.where(has_right & ~self._before(left_item, right_item), right, child)
            flat[slot[moving] + position[moving]] = flat[slot[moving] + child]
            position[moving] = child
            moving = moving[2 * child + 1 < end[moving]]
        self._sift_down(envs, position, item)


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
        self.max_episode_steps = max_episode_steps
        """Truncation after this many steps, as ``TimeLimit`` (the registered guard)."""
        cfg = self.config
        self.scalar = PerTaskOffloadEnv(cfg, drops=drops, arrivals=arrivals)
        """A scalar env of the same config: its simulator draws the episodes."""
        self.set_single_spaces(self.scalar.action_space, self.scalar.observation_space)
        self.simulator = self.scalar.simulator
        self.template = self.simulator.template
        self.macs, self.accuracy = self.template.macs, self.template.accuracy
        self.min_frames = self.scalar.min_frames
        self.frame_span = cfg.max_frames - self.min_frames
        self.options = cfg.action_mode == "options"
        self.rows = np.arange(num_envs)
        self.uploads, self.edge_jobs = ReservationHeaps(num_envs), ReservationHeaps(num_envs)
        self.totals = np.zeros((num_envs, len(self.keys)))
        self.task = 0

    # ------------------------------------------------------------------ gym API
    def _step_all(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        n = self.num_envs
        offload, frames, time_share, edge_share, local_frequency = self._decisions(actions)
        edge_seen = self.edge_jobs.size.copy()
        cost, delay, energy, accuracy, waiting = self._decide(
            offload, frames, time_share, edge_share, local_frequency
        )
        self.totals += np.stack((cost, delay, energy, accuracy, waiting, offload), axis=1)
        self.task += 1
        terminated = self.task >= self.config.tasks_per_episode
        if terminated:
            observations = np.zeros((n, self.single_observation_space.shape[0]), np.float32)
        else:
            self._begin_task()
            observations = self._observations()
        limit = self.max_episode_steps
        truncated = limit is not None and self.task >= limit
        self.autoreset = terminated or truncated
        return (
            observations,
            -cost,
            np.full(n, terminated),
            np.full(n, truncated),
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
        if values.shape != (n, 5) or values.dtype.kind not in "iubf":
            raise ValueError(
                f"actions must be real numbers of shape ({n}, 5), got {values.dtype} of shape "
                f"{values.shape}"
            )
        values = values.astype(float)
        values = values.reshape(n, 5)
        if not np.isfinite(values).all():
            raise ValueError("actions must be finite")
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

    def _start(self) -> tuple[np.ndarray, dict[str, Any]]:
        """New episodes for every sub-env (from their own generators); their observations and
        reset ``info``."""
        draws = [self.simulator.draw_episode(rng) for rng in self.rngs]
        self.gain_db = gain_db = np.stack([draw.gain_db for draw in draws])
        self.rate = self.template.with_gains(gain_db).rate
        self.gain_obs = np.clip(self.scalar.gain_scale.encode(gain_db), -1.0, 1.0)
        self.arrival_times = np.stack([draw.arrival_times for draw in draws])
        self.task_device = np.stack([draw.task_device for draw in draws])
        self.busy_until = np.zeros(gain_db.shape)
        self.uploads.clear()
        self.edge_jobs.clear()
        self.totals[:] = 0.0
        self.task = 0
        self.autoreset = False
        self._begin_task()
        return self._observations(), self._infos(np.zeros(self.num_envs, dtype=np.int64))

    def _begin_task(self) -> None:
        """On to task ``task``: the clock at its arrival, what has ended by then released
        (``PerTaskSimulator._begin_task``), and in options mode the options."""
        self.now = self.arrival_times[:, self.task]
        self.device = self.task_device[:, self.task]
        self.uploads.pop_released(self.now)
        self.edge_jobs.pop_released(self.now)
        self.free_uplink, self.free_edge = self.uploads.free(), self.edge_jobs.free()
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
        """The observations of the current tasks (``PerTaskOffloadEnv._observation``)."""
        rows, now = self.rows, self.now
        uploads, edge = self.uploads.size, self.edge_jobs.size
        columns = [
            self.gain_obs[rows, self.device],
            self.backlog / (self.backlog + BACKLOG_SCALE_S),
            self.free_uplink,
            self.free_edge,
            uploads / (uploads + 2.0),
            edge / (edge + 2.0),
        ]
        for heap in (self.uploads, self.edge_jobs):
            keys, shares, valid = heap.smallest(RELEASES_OBSERVED)
            wait = keys - now[:, None]
            with np.errstate(invalid="ignore"):
                squashed = np.where(valid, wait / (wait + RELEASE_SCALE_S), 0.0)
            for j in range(RELEASES_OBSERVED):
                columns += (squashed[:, j], np.where(valid[:, j], shares[:, j], 0.0))
        window_start = now - self.scalar.rate_window
        before = np.count_nonzero(
            self.arrival_times[:, : self.task + 1] <= window_start[:, None], axis=1
        )
        ratio = (self.task + 1 - before) / RATE_WINDOW_ARRIVALS
        columns.append(ratio / (ratio + 1.0))
        if self.options:
            columns += list((self.option_costs / (1.0 + np.abs(self.option_costs))).T)
        return np.stack(columns, axis=1).astype(np.float32)

    def _infos(self, edge_seen: np.ndarray) -> dict[str, Any]:
        """Episode-to-date means, edge jobs seen at the decision, tasks decided, time (s)."""
        n = self.num_envs
        means = self.totals / max(self.task, 1)
        infos: dict[str, Any] = {key: means[:, j] for j, key in enumerate(self.keys)}
        infos["edge_in_service"] = edge_seen
        infos["tasks_decided"] = np.full(n, self.task)
        infos["time"] = self.now.copy()
        for key in list(infos):
            infos["_" + key] = np.ones(n, dtype=bool)
        return infos
