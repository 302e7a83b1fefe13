"""Reservation heaps of many sub-envs in arrays, kept by compiled loops (numba).

The scalar simulator of PerTaskOffload-v1 keeps the reservations in service (release time s,
share) in ``heapq`` lists (:mod:`mec_gym.simulators.per_task_offload`), and a free share is
their sum in list order: the same numbers need the same lists, entry for entry.
:class:`ReservationArrays` holds one such heap per sub-env as a row of two arrays and keeps it
with the sifts of Python's ``heapq`` (push: the new entry moves toward the root past every parent
it sorts before; pop: the last entry replaces the root, moves down to a leaf along the children
that sort first, then back up), comparing entries as Python compares (release time, share)
tuples. So every row holds its entries in the order ``heapq`` gives the list, which
``tests/envs/test_per_task_offload_vector.py`` checks against ``heapq`` itself.

:mod:`mec_gym.envs.per_task_offload_vector` uses it where the environments compile
(:func:`mec_gym.compiled.compiled_envs`); otherwise ``ReservationHeaps``, the lists with ``heapq``
and the scalar simulator's functions, a loop over the sub-envs in Python. Importing this module
needs numba (the ``solvers`` extra).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mec_gym.compiled import compiled
from mec_gym.envs.per_task_offload_vector import ReleasedReservations

__all__ = ["ReservationArrays", "push_entry", "push_entries", "release_entries"]

INITIAL_CAPACITY = 8
"""Entries per heap row at first (the rows double when a push finds one full)."""


@compiled
def sorts_before(key: float, share: float, other_key: float, other_share: float) -> bool:
    """Whether (key, share) < (other_key, other_share) as Python compares tuples."""
    return key < other_key or (key == other_key and share < other_share)


@compiled
def sift_toward_root(keys: np.ndarray, shares: np.ndarray, start: int, position: int) -> None:
    """Move the entry at ``position`` of a heap row up past every parent (down to ``start``)
    it sorts before (``heapq``'s ``_siftdown``)."""
    key, share = keys[position], shares[position]
    while position > start:
        parent = (position - 1) >> 1
        if not sorts_before(key, share, keys[parent], shares[parent]):
            break
        keys[position], shares[position] = keys[parent], shares[parent]
        position = parent
    keys[position], shares[position] = key, share


@compiled
def sift_toward_leaves(keys: np.ndarray, shares: np.ndarray, size: int, position: int) -> None:
    """Move the entry at ``position`` of a heap row of ``size`` entries down to a leaf along
    the children that sort first, then up to its place (``heapq``'s ``_siftup``)."""
    start = position
    key, share = keys[position], shares[position]
    child = 2 * position + 1
    while child < size:
        right = child + 1
        if right < size and not sorts_before(
            keys[child], shares[child], keys[right], shares[right]
        ):
            child = right
        keys[position], shares[position] = keys[child], shares[child]
        position = child
        child = 2 * position + 1
    keys[position], shares[position] = key, share
    sift_toward_root(keys, shares, start, position)


@compiled
def push_entry(keys: np.ndarray, shares: np.ndarray, size: int, key: float, share: float) -> None:
    """``heappush`` of (``key``, ``share``) onto a heap row of ``size`` entries (which has room
    for one more)."""
    keys[size], shares[size] = key, share
    sift_toward_root(keys, shares, 0, size)


@compiled
def push_entries(
    keys: np.ndarray,
    shares: np.ndarray,
    sizes: np.ndarray,
    envs: np.ndarray,
    new_keys: np.ndarray,
    new_shares: np.ndarray,
    first: int,
) -> int:
    """``heappush`` of (``new_keys[j]``, ``new_shares[j]``) onto the heap row ``envs[j]`` of
    ``keys`` and ``shares`` (num_envs, capacity), for j from ``first``; ``sizes`` (num_envs,)
    entries per row, updated. Returns the j of the first push that finds its row full (the
    caller widens the rows and goes on from there), else ``len(envs)``."""
    capacity = keys.shape[1]
    for j in range(first, envs.shape[0]):
        env = envs[j]
        position = sizes[env]
        if position == capacity:
            return j
        push_entry(keys[env], shares[env], position, new_keys[j], new_shares[j])
        sizes[env] = position + 1
    return envs.shape[0]


@compiled
def release_entries(
    keys: np.ndarray,
    shares: np.ndarray,
    sizes: np.ndarray,
    now: np.ndarray,
    free: np.ndarray,
    next_keys: np.ndarray,
    next_shares: np.ndarray,
) -> None:
    """Per heap row: ``heappop`` every entry released by ``now`` (s, (num_envs,)), earliest
    first (``release_until``); into ``free`` the share the rest leave, ``max(1 - sum, 0)`` with
    the sum in row order (``free_share``); into ``next_keys`` and ``next_shares`` (num_envs,
    observed) the ``observed`` earliest entries in order, zeros past the row's size
    (``next_releases``)."""
    observed = next_keys.shape[1]
    for env in range(sizes.shape[0]):
        row_keys, row_shares = keys[env], shares[env]
        size = sizes[env]
        while size > 0 and row_keys[0] <= now[env]:
            size -= 1
            if size > 0:
                row_keys[0], row_shares[0] = row_keys[size], row_shares[size]
                sift_toward_leaves(row_keys, row_shares, size, 0)
        sizes[env] = size
        total = 0.0
        for i in range(size):
            total += row_shares[i]
        free[env] = max(1.0 - total, 0.0)
        # the earliest entries in order: each entry inserted into the sorted ones kept so far;
        # only the first 2^observed - 1 can be among them (an entry k levels down sorts after
        # or equals its k ancestors)
        kept = 0
        for i in range(min(size, (1 << observed) - 1)):
            key, share = row_keys[i], row_shares[i]
            place = kept
            while place > 0 and sorts_before(
                key, share, next_keys[env, place - 1], next_shares[env, place - 1]
            ):
                place -= 1
            if place == observed:
                continue
            kept = min(kept + 1, observed)
            for m in range(kept - 1, place, -1):
                next_keys[env, m], next_shares[env, m] = (
                    next_keys[env, m - 1],
                    next_shares[env, m - 1],
                )
            next_keys[env, place], next_shares[env, place] = key, share
        for m in range(kept, observed):
            next_keys[env, m] = next_shares[env, m] = 0.0


def kernel_array(values: Any, dtype: type[np.generic]) -> np.ndarray:
    """``values`` as the one array type the kernels are compiled for: C-contiguous, writeable,
    of ``dtype`` (a copy where needed; numba would compile them again for any other type)."""
    if (
        type(values) is np.ndarray
        and values.dtype == dtype
        and values.flags.c_contiguous
        and values.flags.writeable
    ):
        return values  # already so (what np.require returns too, at a quarter of its cost)
    return np.require(values, dtype=dtype, requirements=("C", "W"))


class ReservationArrays(ReleasedReservations):
    """One heap of (release time s, share) reservations per sub-env, as rows of arrays kept by
    the compiled sifts of the module docstring: the interface and numbers of
    ``mec_gym.envs.per_task_offload_vector.ReservationHeaps``. :meth:`release` pops what has
    ended and sets what the observation reads (:class:`ReleasedReservations`), new arrays at
    each call."""

    def __init__(self, num_envs: int, observed: int) -> None:
        super().__init__(num_envs, observed)
        self.keys = np.zeros((num_envs, INITIAL_CAPACITY))
        """Release times (s) of each heap, in heap order in the first ``held[env]`` entries."""
        self.shares = np.zeros((num_envs, INITIAL_CAPACITY))
        """Their shares."""
        self.held = np.zeros(num_envs, dtype=np.int64)
        """Reservations each heap holds now, (num_envs,)."""

    def clear(self) -> None:
        """Empty every heap (and what :meth:`release` set: no reservation, all free)."""
        self.held = np.zeros_like(self.held)
        super().clear()

    def entries(self, env: int) -> list[tuple[float, float]]:
        """The heap of sub-env ``env`` as ``heapq`` keeps its list: (release time s, share)
        pairs in heap order."""
        size = int(self.held[env])
        keys, shares = self.keys[env, :size].tolist(), self.shares[env, :size].tolist()
        return list(zip(keys, shares, strict=True))

    def restore(self, entries: list[list[tuple[float, float]]]) -> None:
        """Hold ``entries[env]`` (pairs in ``heapq``'s order) in the heap row of each sub-env."""
        capacity = INITIAL_CAPACITY
        while capacity < max(map(len, entries), default=0):
            capacity *= 2
        self.keys, self.shares = (
            np.zeros((len(entries), capacity)),
            np.zeros((len(entries), capacity)),
        )
        self.held = np.array([len(heap) for heap in entries], dtype=np.int64)
        for env, heap in enumerate(entries):
            for position, (key, share) in enumerate(heap):
                self.keys[env, position], self.shares[env, position] = key, share

    def push(self, envs: np.ndarray, key: np.ndarray, share: np.ndarray) -> None:
        """``heappush`` of (``key[j]``, ``share[j]``) onto the heap of sub-env ``envs[j]``."""
        envs = kernel_array(envs, np.int64)
        key, share = kernel_array(key, np.float64), kernel_array(share, np.float64)
        done = 0
        while (
            done := push_entries(self.keys, self.shares, self.held, envs, key, share, done)
        ) < len(envs):
            self._widen()

    def release(self, now: np.ndarray) -> None:
        """Pop every reservation released by ``now`` (s, per sub-env), earliest first; then
        the heaps' sizes, free shares and earliest releases."""
        self.new_release()
        release_entries(
            self.keys,
            self.shares,
            self.held,
            kernel_array(now, np.float64),
            self.free,
            self.release_keys,
            self.release_shares,
        )
        self.record_release(self.held.copy())

    def new_release(self) -> None:
        """New arrays for what a release writes (``free``, ``release_keys``,
        ``release_shares``): the arrays handed out before stay as they are."""
        num_envs = len(self.held)
        self.free = np.empty(num_envs)
        self.release_keys = np.empty((num_envs, self.observed))
        self.release_shares = np.empty((num_envs, self.observed))

    def new_record(self) -> None:
        """New arrays for the sizes and ``release_valid`` (which the compiled step writes in
        place of :meth:`record_release`)."""
        self.size = np.empty(len(self.held), np.int64)
        self.release_valid = np.empty((len(self.held), self.observed), bool)

    def release_arrays(self) -> tuple[np.ndarray, ...]:
        """What the compiled step (``mec_gym.envs.per_task_kernels``) reads and writes: the
        rows (``keys``, ``shares``, ``held``) and the release's ``free``, ``release_keys``,
        ``release_shares``, ``size`` and ``release_valid``."""
        return (
            self.keys,
            self.shares,
            self.held,
            self.free,
            self.release_keys,
            self.release_shares,
            self.size,
            self.release_valid,
        )

    def make_room(self) -> None:
        """Widen the rows if one is full (so that every heap takes one more push)."""
        if self.held.max(initial=0) == self.keys.shape[1]:
            self._widen()

    def _widen(self) -> None:
        """Double the entries each heap row can hold."""
        extra = np.zeros(self.keys.shape)
        self.keys = np.concatenate((self.keys, extra), axis=1)
        self.shares = np.concatenate((self.shares, extra), axis=1)
