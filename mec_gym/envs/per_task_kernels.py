"""PerTaskOffload-v1's native vector step in continuous mode, compiled by numba.

:mod:`mec_gym.envs.per_task_offload_vector` steps its sub-envs with numpy, about 40 calls on
small arrays a step. Where the environments compile (:func:`~mec_gym.compiled.compiled_envs`),
a step in continuous mode runs instead as two loops over the sub-envs, compiled by numba, that
call the functions the scalar env calls, themselves compiled as written: the share map
(``share_fraction``), the task's delay, energy and cost (``offload_delay_energy``,
``local_delay_energy``, ``upload_time``, ``weighted_cost``, given a :class:`TaskConfig` in
place of the config), the reservation heaps (``push_entry``, ``release_entries``) and the
observation map (``squashed``). What the loops write again is the glue the numpy step writes
with arrays: the unit map of an action and its frames, the floors of the shares and of the
local frequency, the choice between the two ways of running a task, the device's queue, and
the observation's layout. The numbers are the numpy step's (and the scalar env's), bit for bit,
which ``tests/envs/test_per_task_offload_vector.py`` checks against ``SyncVectorEnv``.
Importing this module needs numba (the ``solvers`` extra).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import NamedTuple

import numpy as np
from numba import types
from numba.experimental import jitclass

from mec_gym.compiled import compiled, compiled_calling
from mec_gym.envs.per_task_offload import (
    BACKLOG_SCALE_S,
    LOCAL_FRACTION_FLOOR,
    MIN_ABSOLUTE_SHARE,
    RATE_WINDOW_ARRIVALS,
    RELEASE_SCALE_S,
    RESERVATIONS_SCALE,
    share_fraction,
    squashed,
)
from mec_gym.envs.reservation_kernels import push_entry, release_entries
from mec_gym.models import utility
from mec_gym.problems.joint_offload import (
    local_delay_energy,
    offload_delay_energy,
    upload_time,
    weighted_cost,
)
from mec_gym.simulators.per_task_offload import PerTaskOffloadConfig

__all__ = ["TaskConfig", "TaskKernels", "task_config", "compiled_task_kernels"]


TASK_CONFIG_FIELDS = (
    "cycles_per_mac",
    "capacitance",
    "local_energy_cycles_per_mac",
    "frame_bits",
    "transmit_power",
    "delay_weight",
    "energy_weight",
    "accuracy_weight",
    "device_max_frequency",
    "edge_capacity",
)
"""The numeric config fields a step reads (as float64); :class:`TaskConfig` adds the string
``tx_energy``."""


@jitclass(
    [(name, types.float64) for name in TASK_CONFIG_FIELDS] + [("tx_energy", types.unicode_type)]
)
class TaskConfig:
    """The config fields a step reads (:data:`TASK_CONFIG_FIELDS` and ``tx_energy``), as numba
    passes them to the compiled formula functions in place of the config dataclass (a jitclass
    instance, which numba types at once: a namedtuple cost it about 15 us per call)."""

    def __init__(
        self,
        cycles_per_mac: float,
        capacitance: float,
        local_energy_cycles_per_mac: float,
        frame_bits: float,
        transmit_power: float,
        delay_weight: float,
        energy_weight: float,
        accuracy_weight: float,
        device_max_frequency: float,
        edge_capacity: float,
        tx_energy: str,
    ) -> None:
        self.cycles_per_mac = cycles_per_mac
        self.capacitance = capacitance
        self.local_energy_cycles_per_mac = local_energy_cycles_per_mac
        self.frame_bits = frame_bits
        self.transmit_power = transmit_power
        self.delay_weight = delay_weight
        self.energy_weight = energy_weight
        self.accuracy_weight = accuracy_weight
        self.device_max_frequency = device_max_frequency
        self.edge_capacity = edge_capacity
        self.tx_energy = tx_energy


def task_config(config: PerTaskOffloadConfig) -> TaskConfig:
    """The :class:`TaskConfig` of ``config``."""
    values = [float(getattr(config, name)) for name in TASK_CONFIG_FIELDS]
    return TaskConfig(*values, config.tx_energy)


class TaskKernels(NamedTuple):
    """The compiled loops of a step (see :func:`compiled_task_kernels`)."""

    decide: Callable[..., bool]
    begin: Callable[..., None]


@cache
def compiled_task_kernels() -> TaskKernels:
    """The two loops of a continuous-mode step, compiled at their first calls in each process
    (about 3.5 s; not cached on disk: numba would not see a change to the formula functions
    compiled in, which live in other modules). Arrays are C-contiguous: float64 or int64, the
    ``release_valid`` arrays bool and the observations float32.

    - ``decide(task, actions, min_frames, frame_span, now, device, rates, macs, accuracy,
      busy_until, uploads..., edge_jobs..., outcome)``: each
      sub-env's current task run as its action (num_envs, 5) decides (the map of
      ``PerTaskOffloadVectorEnv._decisions``, then ``_decide``): offloaded, its shares pushed
      onto the heaps ``uploads`` and ``edge_jobs`` (each ``keys``, ``shares``, ``held``,
      ``free``); locally, after its device's queue (``busy_until`` updated). Writes cost,
      delay, energy, accuracy, waiting and whether offloaded into the rows of ``outcome`` (6,
      num_envs) and returns True; returns False at once, changing nothing, where a heap row is
      full (the caller widens the rows and calls again).
    - ``begin(index, arrival_times, task_device, busy_until, gain_obs, recent_arrivals,
      uploads..., edge_jobs..., now, device, backlog, observations)``: on to task ``index`` (as
      ``_begin_task``): its arrival time and device into ``now`` and ``device``, each heap's
      release (``release_entries`` into its ``free``, ``release_keys``, ``release_shares``; its
      ``size`` and ``release_valid``: ``ReservationArrays.release_arrays``), the device's
      backlog, and the observation rows (``_observations``, float32).
    """
    upload = compiled(upload_time, cache=False)
    offload_cost = compiled_calling(offload_delay_energy, {"upload_time": upload})
    local_cost = compiled(local_delay_energy, cache=False)
    cost_of = compiled_calling(
        weighted_cost, {"cost_of": compiled(utility.weighted_cost, cache=False)}
    )
    fraction_of, squash = compiled(share_fraction, cache=False), compiled(squashed, cache=False)

    def decide(
        task: TaskConfig,
        actions: np.ndarray,
        min_frames: int,
        frame_span: int,
        now: np.ndarray,
        device: np.ndarray,
        rates: np.ndarray,
        macs: np.ndarray,
        accuracy: np.ndarray,
        busy_until: np.ndarray,
        upload_keys: np.ndarray,
        upload_shares: np.ndarray,
        upload_held: np.ndarray,
        free_uplink: np.ndarray,
        edge_keys: np.ndarray,
        edge_shares: np.ndarray,
        edge_held: np.ndarray,
        free_edge: np.ndarray,
        outcome: np.ndarray,
    ) -> bool:
        count = actions.shape[0]
        for env in range(count):
            if upload_held[env] >= upload_keys.shape[1] or edge_held[env] >= edge_keys.shape[1]:
                return False
        unit = np.empty(actions.shape[1])
        for env in range(count):
            for j in range(unit.shape[0]):
                unit[j] = (min(max(actions[env, j], -1.0), 1.0) + 1.0) * 0.5
            frames = int(np.rint(min_frames + unit[1] * frame_span))
            time_s, mu = now[env], device[env]
            rate, work, correct = rates[env, mu], macs[frames], accuracy[frames]
            offload = unit[0] > 0.5
            waiting = 0.0
            if offload:
                time_share = max(fraction_of(unit[2]) * free_uplink[env], MIN_ABSOLUTE_SHARE)
                edge_share = max(fraction_of(unit[3]) * free_edge[env], MIN_ABSOLUTE_SHARE)
                delay, energy = offload_cost(
                    task, work, frames, rate, time_share, edge_share * task.edge_capacity
                )
                cost = cost_of(task, delay, energy, correct)
                upload_end = time_s + upload(task, frames, rate, time_share)
                push_entry(
                    upload_keys[env], upload_shares[env], upload_held[env], upload_end, time_share
                )
                upload_held[env] += 1
                push_entry(
                    edge_keys[env], edge_shares[env], edge_held[env], time_s + delay, edge_share
                )
                edge_held[env] += 1
            else:
                frequency = max(unit[4], LOCAL_FRACTION_FLOOR) * task.device_max_frequency
                delay, energy = local_cost(task, work, frequency)
                cost = cost_of(task, delay, energy, correct)
                start = max(time_s, busy_until[env, mu])  # after its device's queue
                busy_until[env, mu] = start + delay
                waiting = start - time_s
                cost = cost + task.delay_weight * waiting
                delay = delay + waiting
            outcome[0, env], outcome[1, env], outcome[2, env] = cost, delay, energy
            outcome[3, env], outcome[4, env], outcome[5, env] = correct, waiting, offload
        return True

    def observe(
        row: np.ndarray,
        column: int,
        env: int,
        time_s: float,
        held: np.ndarray,
        next_keys: np.ndarray,
        next_shares: np.ndarray,
        valid: np.ndarray,
    ) -> None:
        """Sub-env ``env``'s upcoming releases of one heap into ``row`` from ``column``: (wait,
        share) pairs, zeros where none."""
        for j in range(next_keys.shape[1]):
            valid[env, j] = j < held[env]
            wait = next_keys[env, j] - time_s
            row[column] = squash(wait, RELEASE_SCALE_S) if valid[env, j] else 0.0
            row[column + 1] = next_shares[env, j]
            column += 2

    observe = compiled(observe, cache=False)

    def begin(
        index: int,
        arrival_times: np.ndarray,
        task_device: np.ndarray,
        busy_until: np.ndarray,
        gain_obs: np.ndarray,
        recent_arrivals: np.ndarray,
        upload_keys: np.ndarray,
        upload_shares: np.ndarray,
        upload_held: np.ndarray,
        free_uplink: np.ndarray,
        upload_next_keys: np.ndarray,
        upload_next_shares: np.ndarray,
        upload_size: np.ndarray,
        upload_valid: np.ndarray,
        edge_keys: np.ndarray,
        edge_shares: np.ndarray,
        edge_held: np.ndarray,
        free_edge: np.ndarray,
        edge_next_keys: np.ndarray,
        edge_next_shares: np.ndarray,
        edge_size: np.ndarray,
        edge_valid: np.ndarray,
        now: np.ndarray,
        device: np.ndarray,
        backlog: np.ndarray,
        observations: np.ndarray,
    ) -> None:
        count = now.shape[0]
        for env in range(count):
            now[env], device[env] = arrival_times[env, index], task_device[env, index]
        release_entries(
            upload_keys,
            upload_shares,
            upload_held,
            now,
            free_uplink,
            upload_next_keys,
            upload_next_shares,
        )
        release_entries(
            edge_keys, edge_shares, edge_held, now, free_edge, edge_next_keys, edge_next_shares
        )
        observed = upload_next_keys.shape[1]
        for env in range(count):
            time_s, mu = now[env], device[env]
            backlog[env] = max(busy_until[env, mu] - time_s, 0.0)
            row = observations[env]
            row[0] = gain_obs[env, mu]
            row[1] = squash(backlog[env], BACKLOG_SCALE_S)
            row[2], row[3] = free_uplink[env], free_edge[env]
            row[4] = squash(upload_held[env], RESERVATIONS_SCALE)
            row[5] = squash(edge_held[env], RESERVATIONS_SCALE)
            upload_size[env], edge_size[env] = upload_held[env], edge_held[env]
            observe(
                row, 6, env, time_s, upload_held, upload_next_keys, upload_next_shares, upload_valid
            )
            observe(
                row,
                6 + 2 * observed,
                env,
                time_s,
                edge_held,
                edge_next_keys,
                edge_next_shares,
                edge_valid,
            )
            column = 6 + 4 * observed
            row[column] = squash(recent_arrivals[env, index] / RATE_WINDOW_ARRIVALS, 1.0)

    return TaskKernels(compiled(decide, cache=False), compiled(begin, cache=False))
