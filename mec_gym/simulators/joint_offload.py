"""The round-based joint offloading system: N moving devices, one problem instance per round.

Source: G. Pan, H. Zhang, S. Xu, S. Zhang, X. Chen, "Joint Optimization of Video-based AI
Inference Tasks in MEC-assisted Augmented Reality Systems", IEEE Trans. Cogn. Commun. Netw.
9(2), 2023 (arXiv 2301.01010); model ``docs/joint_offload.md``.

:class:`JointOffloadRoundsSimulator` owns an episode's state (:class:`RoundsState`): the
devices' positions, distances, gains and the round's :class:`JointOffloadProblem`. Mobility (our
choice): every round each device moves ``device_speed * round_duration`` m in a uniform random
direction, reflecting at the border of the square; a step that would end closer than
``min_distance`` to the BS is taken backwards (see :func:`walk_in_cell`). Shadowing (our
choice): with ``shadowing_std_db > 0`` every device's gain gets an independent
N(0, std^2) dB term, redrawn every round. Neither depends on the allocations, so both are drawn
``CHUNK_ROUNDS`` rounds at a time, vectorised over rounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mec_gym.problems.joint_offload import (
    DropGenerator,
    JointOffloadConfig,
    JointOffloadProblem,
    UniformDrops,
    channel_gains_db,
    checked_drops,
    shadowing_db,
)

__all__ = [
    "CHUNK_ROUNDS",
    "MobileCellConfig",
    "RoundChunk",
    "RoundInstance",
    "RoundsState",
    "JointOffloadRoundsSimulator",
    "reflect_into",
    "random_steps",
    "step_angles",
    "step_vectors",
    "walk_in_cell",
]

CHUNK_ROUNDS = 256
"""Rounds of mobility and shadowing drawn at once (they do not depend on the actions)."""


@dataclass(frozen=True)
class MobileCellConfig(JointOffloadConfig):
    """The joint offloading system's parameters plus the rounds and the devices' mobility."""

    rounds_per_episode: int = 100
    """Rounds per episode (truncation)."""
    round_duration: float = 1.0
    """Time between rounds, s (moves the devices)."""
    device_speed: float = 1.0
    """Random-walk speed of the devices, m/s (0: static)."""

    def validate(self) -> None:
        super().validate()
        self._require_positive("rounds_per_episode", integer=True)
        self._require_positive("round_duration")
        self._require_number("device_speed", 0)


def reflect_into(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``values`` folded into ``[low, high]`` by reflecting at both ends (any overshoot); all
    ``low`` where ``high == low``."""
    width = high - low
    period = 2.0 * width
    if period == 0.0:  # a point: no fold (fmod by 0 is NaN)
        return np.full(np.shape(values), float(low))
    # np.mod(values - low, period) as numpy computes it, at a fraction of the cost: the exact
    # fmod (the value itself wherever it is within a period of 0: skipped if all are), plus a
    # period where negative (a zero's sign does not matter below)
    folded = values - low
    if not np.abs(folded).max(initial=0.0) < period:
        folded = np.fmod(folded, period)
    folded = np.where(folded < 0, folded + period, folded)
    return low + width - np.abs(width - folded)


def random_steps(rng: np.random.Generator, rounds: int, n: int, step_m: float) -> np.ndarray:
    """Random-walk steps (m, shape (rounds, n, 2)): ``step_m`` m in uniform random directions."""
    return step_vectors(step_angles(rng, rounds, n), step_m)


def step_angles(rng: np.random.Generator, rounds: int, n: int) -> np.ndarray:
    """Uniform random step directions, rad, shape (rounds, n, 1)."""
    return rng.uniform(0.0, 2.0 * np.pi, (rounds, n, 1))


def step_vectors(angle: np.ndarray, step_m: float) -> np.ndarray:
    """Steps of ``step_m`` m in the directions ``angle`` (rad, (..., 1)), shape (..., 2)."""
    # (cos, sin) of the angle in one call: sin(a) = cos(a - pi/2)
    return step_m * np.cos(angle - np.array([0.0, np.pi / 2.0]))


def walk_in_cell(
    origin: np.ndarray, steps: np.ndarray, config: JointOffloadConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (m, (rounds, n, 2)) and distances to the BS (m, (rounds, n)) of devices that
    start at the valid positions ``origin`` (n, 2) and take ``steps`` (rounds, n, 2).

    Each coordinate reflects at the border of the square: the unconstrained walk is folded into
    it (:func:`reflect_into`), which, the steps being symmetric, has the law of a walk reflected
    step by step, at the cost of one vectorised pass. A step that would end closer than
    ``min_distance`` to the BS is taken backwards instead (the excluded disc is convex, so the
    reversed step ends outside it); the devices concerned, rare, are replayed step by step from
    their first such step. A position moves by at most one step length per round.
    """
    half = config.area_side / 2.0
    positions = reflect_into(origin + np.cumsum(steps, axis=0), -half, half)
    radius = np.hypot(positions[..., 0], positions[..., 1])
    inside = radius < config.min_distance
    if inside.any():
        for device in np.flatnonzero(inside.any(axis=0)).tolist():
            first = int(np.argmax(inside[:, device]))
            here = positions[first - 1, device] if first > 0 else origin[device]
            for t in range(first, steps.shape[0]):
                moved = reflect_into(here + steps[t, device], -half, half)
                if np.hypot(moved[0], moved[1]) < config.min_distance:
                    moved = reflect_into(here - steps[t, device], -half, half)
                positions[t, device] = here = moved
        radius = np.hypot(positions[..., 0], positions[..., 1])
    return positions, radius


@dataclass(frozen=True, eq=False)
class RoundChunk:
    """Consecutive rounds drawn at once (arrays over (rounds, devices)); read-only rates."""

    positions: np.ndarray
    """m, (rounds, N, 2), BS at the origin."""
    distance: np.ndarray
    """m, (rounds, N)."""
    gain_db: np.ndarray
    """Channel gains with shadowing, dB, (rounds, N)."""
    rate: np.ndarray
    """Full-band rates, bit/s, (rounds, N)."""


class RoundInstance:
    """One round of a chunk, whose ``JointOffloadProblem`` is built on first use (a step that
    reads the rates only does not build it)."""

    __slots__ = ("template", "chunk", "slot", "_problem")

    def __init__(self, template: JointOffloadProblem, chunk: RoundChunk, slot: int) -> None:
        self.template = template
        """An instance of the config whose config-only tables the round's instance shares."""
        self.chunk = chunk
        self.slot = slot
        """Index of the round in ``chunk``."""
        self._problem: JointOffloadProblem | None = None

    @property
    def rate(self) -> np.ndarray:
        """Full-band rates of the round, bit/s, (N,) (read-only)."""
        return self.chunk.rate[self.slot]

    @property
    def problem(self) -> JointOffloadProblem:
        """The round's instance (the same object on every call)."""
        if self._problem is None:
            chunk, slot = self.chunk, self.slot
            self._problem = self.template.with_gains(chunk.gain_db[slot], rate=chunk.rate[slot])
        return self._problem


@dataclass(eq=False)
class RoundsState:
    """An episode's state: the rounds played, the current chunk and the current round in it."""

    round: int
    """Rounds played so far."""
    chunk: RoundChunk
    slot: int
    """Index of the current round in ``chunk``."""
    walk_end: np.ndarray
    """Positions (m, (N, 2)) of the chunk's last round, where the next chunk's walk starts."""
    current: RoundInstance
    """The current round (what the next allocation is applied to)."""

    @property
    def problem(self) -> JointOffloadProblem:
        """The current round's instance."""
        return self.current.problem

    @property
    def positions(self) -> np.ndarray:
        """Current positions, m, (N, 2)."""
        return self.chunk.positions[self.slot]

    @property
    def distance(self) -> np.ndarray:
        """Current distances to the BS, m."""
        return self.chunk.distance[self.slot]

    @property
    def gain_db(self) -> np.ndarray:
        """Current channel gains, dB."""
        return self.chunk.gain_db[self.slot]


class JointOffloadRoundsSimulator:
    """Rounds of N moving devices: ``reset(rng)`` places them (``drops``) and draws the first
    chunk of rounds, ``advance()`` moves to the next round (drawing the next chunk when one is
    used up). The current round's instance is ``state.problem``."""

    def __init__(self, config: MobileCellConfig, drops: DropGenerator | None = None) -> None:
        self.config = config
        if drops is not None and not callable(drops):
            raise TypeError(f"drops must be a DropGenerator, got {type(drops).__name__}")
        self.drops = UniformDrops() if drops is None else drops
        self.template = JointOffloadProblem.from_gains(config, np.zeros(config.num_devices))
        self.step_m = config.device_speed * config.round_duration
        self.chunk_rounds = min(config.rounds_per_episode + 1, CHUNK_ROUNDS)
        self.state: RoundsState | None = None

    def reset(self, rng: np.random.Generator) -> None:
        """Start an episode: a drop, then its first chunk of rounds (``rng`` is kept for the
        next chunks)."""
        self.rng = rng
        chunk = self.first_chunk(rng)
        walk_end = chunk.positions[-1].copy()
        self.state = RoundsState(0, chunk, 0, walk_end, RoundInstance(self.template, chunk, 0))

    def advance(self) -> None:
        """Move to the next round."""
        st = self.state
        st.round += 1
        st.slot += 1
        if st.slot == self.chunk_rounds:
            st.chunk = self.draw_chunk(self.rng, st.walk_end, include_start=False)
            st.walk_end = st.chunk.positions[-1].copy()
            st.slot = 0
        st.current = RoundInstance(self.template, st.chunk, st.slot)

    def first_chunk(self, rng: np.random.Generator) -> RoundChunk:
        """An episode's drop (``drops``) and its first ``chunk_rounds`` rounds, from ``rng``."""
        return _single(self.first_chunks([rng]))

    def draw_chunk(
        self, rng: np.random.Generator, origin: np.ndarray, include_start: bool
    ) -> RoundChunk:
        """The next ``chunk_rounds`` rounds from ``origin`` (m, (N, 2)), drawn from ``rng``;
        ``include_start``: the first round is at ``origin`` (an episode's start)."""
        return _single(self.draw_chunks([rng], origin[None], include_start))

    def first_chunks(self, rngs: Sequence[np.random.Generator]) -> RoundChunk:
        """The drops and first chunks of ``len(rngs)`` episodes, episode e from ``rngs[e]`` as
        :meth:`first_chunk` draws one (arrays with a leading episode axis)."""
        n = self.config.num_devices
        # each drop copied as it comes (a generator may refill one array)
        drops = [np.array(self.drops(self.config, rng, n)) for rng in rngs]
        origins = checked_drops(self.config, drops, n)
        return self.draw_chunks(rngs, origins, include_start=True)

    def draw_chunks(
        self, rngs: Sequence[np.random.Generator], origins: np.ndarray, include_start: bool
    ) -> RoundChunk:
        """The next ``chunk_rounds`` rounds of ``len(rngs)`` episodes from ``origins`` (m, (E,
        N, 2)), episode e's random steps and shadowing drawn from ``rngs[e]``: positions,
        distances, gains (with fresh shadowing) and full-band rates (arrays (E, rounds, N...)),
        from one ``JointOffloadProblem`` holding every round (the same code as every round's
        instance). Every device walks independently, so the episodes' devices walk as one set.
        ``include_start``: the first round is at the origin (an episode's start)."""
        cfg, size, step_m = self.config, self.chunk_rounds, self.step_m
        episodes, n = origins.shape[:2]
        fresh = size - 1 if include_start else size
        angles, shadowing = [], []
        for rng in rngs:  # each episode's draws in order: its steps, then its shadowing
            if step_m > 0:
                angles.append(step_angles(rng, fresh, n))
            shadowing.append(shadowing_db(cfg, rng, (size, n)))
        origin_distance = np.hypot(origins[..., 0], origins[..., 1])
        if step_m > 0:
            steps = step_vectors(np.stack(angles, axis=1), step_m)  # (fresh, E, N, 2)
            walked, radius = walk_in_cell(origins.reshape(-1, 2), steps.reshape(fresh, -1, 2), cfg)
            positions = walked.reshape(fresh, episodes, n, 2).transpose(1, 0, 2, 3)
            distance = radius.reshape(fresh, episodes, n).transpose(1, 0, 2)
        else:
            positions = np.repeat(origins[:, None], fresh, axis=1)
            distance = np.repeat(origin_distance[:, None], fresh, axis=1)
        if include_start:
            positions = np.concatenate((origins[:, None], positions), axis=1)
            distance = np.concatenate((origin_distance[:, None], distance), axis=1)
        else:
            positions, distance = np.ascontiguousarray(positions), np.ascontiguousarray(distance)
        # (E, rounds, N) drawn terms, or 0.0 without shadowing (nothing drawn)
        shadowing_terms = np.stack(shadowing) if cfg.shadowing_std_db > 0 else 0.0
        gains = channel_gains_db(cfg, distance, shadowing_terms)
        rates = JointOffloadProblem.from_gains(cfg, gains.reshape(-1)).rate.reshape(gains.shape)
        rates.setflags(write=False)
        return RoundChunk(positions, distance, gains, rates)


def _single(chunks: RoundChunk) -> RoundChunk:
    """The only episode of a batch of chunks of one episode."""
    return RoundChunk(*(getattr(chunks, name)[0] for name in RoundChunk.__dataclass_fields__))
