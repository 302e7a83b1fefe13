"""The two-timescale DT-assisted inference and retraining system: one simulator, frames and slots.

Source: J. Cong, G. Cheng, C. You, X. Huang, W. Wu, "Two-Timescale Digital Twin Assisted Model
Interference and Retraining over Wireless Network", arXiv 2411.18329; model as specified in
``docs/two_timescale.md`` (everything beyond the paper's formulas is our choice). The
physics is that of :mod:`mec_gym.problems.two_timescale`; this module only moves it in time.

An episode has ``frames_per_episode`` frames of ``slots_per_frame`` slots. At the start of a frame
the association and the retraining flags are fixed (:meth:`TwoTimescaleSimulator.begin_frame`);
every slot the compute shares and the DT generation ratios are decided
(:meth:`TwoTimescaleSimulator.step_slot`; :meth:`~TwoTimescaleSimulator.step_slots` plays the
rest of a frame at once for decisions fixed in advance) on the slot's
:class:`~mec_gym.problems.two_timescale.SlotProblem`. Our choices:

- BSs (:func:`bs_positions`): fixed, on a circle of radius ``area_m / 4`` around the centre of the
  ``area_m`` square (corner at the origin), BS 0 straight above it, the others every ``2 pi / M``
  counter-clockwise (M = 1: at the centre).
- Mobility: MUs start uniformly in the square; every slot each moves ``mu_speed_mps * slot_s`` m
  in a uniform random direction, reflected at the border.
- Fading: Rayleigh, unit-mean power gains i.i.d. per slot, MU and BS.
- Batches: ``|Q| ~ U[batch_min_bits, batch_max_bits]`` per MU and slot; ``||Q||_2`` of the
  retraining data formula is the slot's batch ``|Q|`` (bit).
- Drift: each MU's class distribution q starts at a Dirichlet(1) draw and drifts by
  :func:`~mec_gym.problems.two_timescale.drift_trajectory` (a logit random walk with jumps);
  the model starts fitted to it (``q_model = q``, accuracy ``acc_max``).
- Retraining: in a slot of a frame with ``delta_n = 1`` and generation ratio ``p_n``, MU n's model
  is retrained with ``S = delta p |Q|`` bit of DT data (work ``c_re S`` in the slot problem),
  worth ``S_eff = S exp(-KL(p* || q))`` with ``p*`` the top-k projection of the slot's q, and
  ``q_model`` moves toward q by ``S_eff / (S_eff + S_0)``; the slot's accuracy is that of the
  updated model on the slot's q. q then drifts to the next slot's.
- Objective of a slot: ``sum_n (L_tx + L_BS + delta L_re)`` (the problem's weighted total) plus
  ``accuracy_penalty * sum_n max(0, acc_min - acc)``.
- The DT (:class:`FrameView`, built at every frame start): the predicted mean rate of every
  (MU, BS) pair (the rate at the path-loss gain, fading averaged out to 1) and the predicted
  accuracy at the end of the frame without retraining
  (:func:`~mec_gym.problems.two_timescale.forecast_accuracy`: the current divergence plus the
  drift's expected growth over the frame), both seen through
  :func:`~mec_gym.models.data_drift.noisy_estimate` with error ``dt_error_max``.

Mobility, fading, batches and drift do not depend on the decisions: a :class:`SlotGenerator`
draws the episode's ``slots + 1`` slots at reset (:class:`RandomSlots`), the last one being seen
only in a final observation. The DT's errors come from a generator seeded from the reset's and
are drawn once per frame whatever the frame policy reads, so that the policy does not change the
trajectory.

The simulator runs one episode (``num_envs=None``: arrays over MUs first) or a batch of
``num_envs`` episodes stepped together (every array gets a leading env axis; each episode is
drawn from its own generator exactly as a single one, so that episode i of a batch equals the
single episode of the same generator). Every formula is a function of
:mod:`mec_gym.models.data_drift` or :mod:`mec_gym.problems.two_timescale` applied to whole
arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, partial
from itertools import repeat
from operator import mul
from typing import NamedTuple, Protocol

import numpy as np

from mec_gym.compiled import compiled, compiled_envs
from mec_gym.models.channel import rayleigh_power_gains
from mec_gym.models.data_drift import (
    accuracy_of_divergence,
    blend_toward,
    divergence_of_likelihood,
    effective_data_bits,
    generated_data_value,
    log_likelihood,
    negative_entropy,
    noisy_estimate,
    projection_kl,
    retraining_fraction,
)
from mec_gym.models.summation import numpy_sum
from mec_gym.problems.two_timescale import (
    ComputeShares,
    SlotDelays,
    SlotProblem,
    TwoTimescaleConfig,
    accuracy_violation,
    channel_gains,
    drift_trajectory,
    forecast_accuracy,
    job_delay,
    model_accuracy,
    retraining_bits,
    share_violations,
    shortfall,
    slot_delays,
    update_model_distribution,
    update_model_distribution_each_slot,
    uplink_rates,
)
from mec_gym.simulators.joint_offload import random_steps, reflect_into

__all__ = [
    "SLOT_ACTIONS",
    "FRAME_ACTIONS",
    "TwoTimescaleEnvConfig",
    "bs_positions",
    "SlotDraws",
    "SlotGenerator",
    "RandomSlots",
    "checked_draws",
    "FrameDecision",
    "checked_frame_decision",
    "SlotDecision",
    "SlotOutcome",
    "DTStatistics",
    "FrameView",
    "TwoTimescaleState",
    "TwoTimescaleSimulator",
    "slot_of",
    "compiled_slot_kernels",
]


SLOT_ACTIONS = ("full", "ratio", "ratio_binary")
"""Values of ``TwoTimescaleEnvConfig.slot_action``."""
FRAME_ACTIONS = ("full", "retrain")
"""Values of ``TwoTimescaleEnvConfig.frame_action``."""
MAX_EPISODE_ENTRIES = 1_000_000
"""Most entries of an episode's largest table, slots x MUs x max(classes, BSs) (an episode is
drawn whole at reset: ~1 s and 8 MB per table at this size, 7 times the default)."""


@dataclass(frozen=True)
class TwoTimescaleEnvConfig(TwoTimescaleConfig):
    """The two-timescale system's parameters plus the episode, mobility and penalty."""

    frames_per_episode: int = 20
    """Frames per episode (truncation)."""
    mu_speed_mps: float = 1.5
    """MU random-walk speed, m/s (0: static)."""
    accuracy_penalty: float = 10.0
    """Penalty per unit of accuracy below ``acc_min`` per MU and slot, s (as a delay)."""
    slot_action: str = "full"
    """What a ``TwoTimescale-v0`` action sets: ``"full"`` (compute weights and generation
    ratios), ``"ratio"`` (the generation ratios in [0, 1]; compute split in closed form) or
    ``"ratio_binary"`` (the generation ratios, each 0 or 1; compute split in closed form)."""
    frame_action: str = "full"
    """What a ``TwoTimescaleFrame-v0`` action sets: ``"full"`` (association and retraining
    flags) or ``"retrain"`` (the flags; association by the DT heuristic)."""

    def validate(self) -> None:
        super().validate()
        self._require_positive("frames_per_episode", integer=True)
        self._require_number("mu_speed_mps", 0)
        self._require_number("accuracy_penalty", 0)
        self._require_choice("slot_action", SLOT_ACTIONS)
        self._require_choice("frame_action", FRAME_ACTIONS)
        entries = self.slots_per_episode * self.num_mus * max(self.num_classes, self.num_bs)
        if entries > MAX_EPISODE_ENTRIES:
            raise ValueError(
                f"{type(self).__name__}.frames_per_episode, slots_per_frame, num_mus, "
                f"num_classes, num_bs: an episode's tables would hold {entries:,} entries "
                f"(slots x MUs x max(classes, BSs); at most {MAX_EPISODE_ENTRIES:,}): lower "
                "frames_per_episode, slots_per_frame, num_mus, num_classes or num_bs"
            )

    @property
    def slots_per_episode(self) -> int:
        """Slots per episode: frames_per_episode * slots_per_frame."""
        return self.frames_per_episode * self.slots_per_frame


def bs_positions(config: TwoTimescaleConfig) -> np.ndarray:
    """The fixed BS layout of the module docstring, m, shape (M, 2)."""
    m = config.num_bs
    centre = config.area_m / 2.0
    if m == 1:
        return np.full((1, 2), centre)
    angle = np.pi / 2.0 + 2.0 * np.pi * np.arange(m) / m
    radius = config.area_m / 4.0
    return centre + radius * np.stack((np.cos(angle), np.sin(angle)), axis=-1)


def distances_to(bs_xy: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Distance of MUs at ``positions`` (..., N, 2) to the BSs at ``bs_xy`` (M, 2), m, (..., N,
    M)."""
    return _distances(positions[..., :, None, :], bs_xy)


def _distances(points: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Distance between points (..., 2) and others (..., 2), broadcast, m."""
    offset = points - others
    return np.hypot(offset[..., 0], offset[..., 1])


# ------------------------------------------------------------------------- exogenous draws
@dataclass(frozen=True, eq=False)
class SlotDraws:
    """What does not depend on the decisions, for the ``S + 1`` slots of an episode (S =
    ``slots_per_episode``), N MUs, M BSs and C classes (a batch of episodes: a leading env
    axis on every array)."""

    positions: np.ndarray
    """MU positions in the square, m, (S + 1, N, 2)."""
    fading: np.ndarray
    """Rayleigh power gains |xi|^2 of every (MU, BS) pair, (S + 1, N, M)."""
    batch_bits: np.ndarray
    """Inference batch |Q| of every MU, bit, (S + 1, N)."""
    q: np.ndarray
    """Class distribution of every MU's data, (S + 1, N, C)."""


class SlotGenerator(Protocol):
    """Draws an episode: ``generator(config, rng) -> SlotDraws``, from ``rng`` only."""

    def __call__(self, config: TwoTimescaleEnvConfig, rng: np.random.Generator) -> SlotDraws: ...


class RandomSlots:
    """The mobility, fading, batches and drift of the module docstring, drawn in this order:
    start positions, steps, fading, batches, initial q, then the drift
    (:func:`~mec_gym.problems.two_timescale.drift_trajectory`)."""

    def __call__(self, config: TwoTimescaleEnvConfig, rng: np.random.Generator) -> SlotDraws:
        n, m, slots = config.num_mus, config.num_bs, config.slots_per_episode + 1
        start = rng.uniform(0.0, config.area_m, (n, 2))
        steps = random_steps(rng, slots - 1, n, config.mu_speed_mps * config.slot_s)
        walk = start + np.concatenate((np.zeros((1, n, 2)), np.cumsum(steps, axis=0)))
        fading = rayleigh_power_gains(rng, (slots, n, m))
        batch = rng.uniform(config.batch_min_bits, config.batch_max_bits, (slots, n))
        q0 = rng.dirichlet(np.ones(config.num_classes), size=n)
        q = drift_trajectory(config, q0, slots, rng)
        return SlotDraws(reflect_into(walk, 0.0, config.area_m), fading, batch, q)


def checked_draws(config: TwoTimescaleEnvConfig, draws: SlotDraws) -> SlotDraws:
    """What a slot generator returned as float64 arrays; TypeError unless it is a
    :class:`SlotDraws`, ValueError unless the shapes fit the config, positions lie in the
    square, fading is > 0, batches are in (0, batch_max_bits] and every q is a distribution."""
    if not isinstance(draws, SlotDraws):
        raise TypeError(f"a slot generator must return SlotDraws, got {type(draws).__name__}")
    s, n, m = config.slots_per_episode + 1, config.num_mus, config.num_bs
    shapes = {
        "positions": (s, n, 2),
        "fading": (s, n, m),
        "batch_bits": (s, n),
        "q": (s, n, config.num_classes),
    }
    values = {}
    for name, shape in shapes.items():
        value = values[name] = np.asarray(getattr(draws, name), dtype=float)
        if value.shape != shape:
            raise ValueError(f"draws.{name} must have shape {shape}, got {value.shape}")
        if not np.isfinite(value).all():
            raise ValueError(f"draws.{name} must be finite")
    draws = SlotDraws(**values)
    if np.any((draws.positions < 0) | (draws.positions > config.area_m)):
        raise ValueError(f"draws.positions must lie in [0, {config.area_m}] m")
    if np.any(draws.fading <= 0):
        raise ValueError("draws.fading must be > 0 (a power gain of 0 gives an infinite delay)")
    if np.any((draws.batch_bits <= 0) | (draws.batch_bits > config.batch_max_bits)):
        raise ValueError(
            f"draws.batch_bits must lie in (0, {config.batch_max_bits}] bit (batch_max_bits: "
            "the observations scale the batches by it)"
        )
    if np.any(draws.q < 0) or not np.allclose(draws.q.sum(axis=-1), 1.0):
        raise ValueError("every draws.q[t, n] must be a distribution over the classes")
    return draws


# ------------------------------------------------------------------------------ decisions
@dataclass(frozen=True, eq=False)
class FrameDecision:
    """The large-timescale decision of a frame (a leading env axis for a batch)."""

    association: np.ndarray
    """Index in [0, M) of each MU's BS, integers, (N,)."""
    retrain: np.ndarray
    """delta_n, whether MU n's model is retrained in this frame, booleans, (N,)."""


def checked_frame_decision(
    config: TwoTimescaleConfig, decision: FrameDecision, batch_shape: tuple[int, ...] = ()
) -> FrameDecision:
    """``decision`` as (intp, bool) arrays, or ValueError unless the association holds
    ``batch_shape + (N,)`` integers in [0, M) with at most ``max_users_per_bs`` MUs per BS (if
    capped) and the retraining flags as many booleans (or 0/1)."""
    if not isinstance(decision, FrameDecision):
        raise TypeError(
            f"a frame policy must return a FrameDecision, got {type(decision).__name__}"
        )
    shape = (*batch_shape, config.num_mus)
    m = config.num_bs
    association = np.asarray(decision.association)
    retrain = np.asarray(decision.retrain)
    if association.shape != shape or association.dtype.kind not in "iu":
        raise ValueError(
            f"association must be integers of shape {shape}, got {association.dtype} of shape "
            f"{association.shape}"
        )
    if np.any((association < 0) | (association >= m)):
        raise ValueError(f"association must be in [0, {m - 1}], got {association.tolist()}")
    cap = config.max_users_per_bs
    if cap:
        load = (association[..., None] == np.arange(m)).sum(axis=-2)
        if np.any(load > cap):
            raise ValueError(
                f"at most {cap} MUs per BS (max_users_per_bs), got loads {load.tolist()}"
            )
    if retrain.shape != shape or not np.all((retrain == 0) | (retrain == 1)):
        raise ValueError(
            f"retrain must be booleans (or 0/1) of shape {shape}, got {retrain.dtype} of shape "
            f"{retrain.shape}"
        )
    return FrameDecision(association.astype(np.intp), retrain.astype(bool))


@dataclass(frozen=True, eq=False)
class SlotDecision:
    """The short-timescale decision of a slot (a leading env axis for a batch; for
    :meth:`TwoTimescaleSimulator.step_slots`, a slot axis before the MU axis)."""

    shares: ComputeShares
    """Compute shares of the slot, bit/s, (N,) each (checked by ``share_violations``)."""
    generation_ratio: np.ndarray
    """p_n in [0, 1], the DT data generation ratio of every MU (ignored when not retrained)."""


@dataclass(frozen=True, eq=False)
class SlotOutcome:
    """What a slot gave; per-MU arrays of shape (N,) (a leading env axis for a batch; from
    :meth:`TwoTimescaleSimulator.step_slots`, a slot axis before the MU axis, also on
    ``objective`` (..., T) and last on ``summary`` (6, ..., T))."""

    delays: SlotDelays
    """L_tx, L_BS, L_re per MU (s) and their weighted total (the slot problem's evaluate)."""
    retrain_bits: np.ndarray
    """S = delta p |Q|, DT data used for retraining, bit."""
    effective_bits: np.ndarray
    """S_eff, the part of S worth real data, bit."""
    accuracy: np.ndarray
    """Model accuracy after the slot's retraining, on the slot's distribution."""
    accuracy_violation: np.ndarray
    """max(0, acc_min - accuracy)."""
    objective: np.ndarray
    """Weighted total delay (s) plus ``accuracy_penalty`` times the summed violations, shape
    () (a float array) or (num_envs,)."""
    summary: np.ndarray
    """The objective, the sums over the MUs of L_tx, L_BS and L_re (s), the mean accuracy and
    the summed violation, shape (6,) or (6, num_envs)."""


@dataclass(frozen=True, eq=False)
class DTStatistics:
    """What the frame-level decision sees (exact, or through the DT's error)."""

    mean_rate: np.ndarray
    """The "mean" uplink rate of every (MU, BS) pair: the rate at the path gain (fading 1),
    above the mean rate over Rayleigh fading (docs/two_timescale.md), bit/s, (N, M)."""
    accuracy_end_of_frame: np.ndarray
    """Accuracy forecast at the end of the frame without retraining, (N,)."""


@dataclass(frozen=True, eq=False)
class FrameView:
    """What a frame policy sees at the start of a frame (a leading env axis for a batch)."""

    config: TwoTimescaleEnvConfig
    """The system's parameters."""
    frame: int
    """Index of the frame about to start."""
    statistics: DTStatistics
    """The DT's statistics (with its error)."""
    distances: np.ndarray
    """Distance of every MU to every BS at the frame start, m, (N, M)."""


# ------------------------------------------------------------------------------ simulator
@dataclass(eq=False)
class TwoTimescaleState:
    """The episode's (or batch's) whole state at the start of the next slot; arrays over MUs
    first, after the env axis of a batch."""

    slot: int
    """Slots played so far (the next slot's index in the episode)."""
    frame: int
    """Index of the frame the next slot belongs to."""
    draws: SlotDraws
    """The episode's exogenous slots."""
    q_model: np.ndarray
    """Distribution each MU's model is fitted to, (N, C)."""
    accuracy: np.ndarray
    """Last measured accuracy of each MU's model: after the previous slot's retraining on that
    slot's data (``acc_max`` at the start), (N,)."""
    association: np.ndarray | None = None
    """The current frame's BS of every MU, (N,) (None before the first frame)."""
    retrain: np.ndarray | None = None
    """The current frame's retraining flags, (N,) (None before the first frame)."""
    decided_frame: int = -1
    """Index of the last frame whose decision was applied."""
    played: SlotOutcome | Callable[[], SlotOutcome] | None = None
    """What the previous slot gave (None at the start): its ``SlotOutcome``, or after
    :meth:`TwoTimescaleSimulator.play_slot` the function that builds it; read
    :attr:`last_outcome`."""

    @property
    def last_outcome(self) -> SlotOutcome | None:
        """What the previous slot gave (None at the start)."""
        played = self.played
        if callable(played):
            played = self.played = played()
        return played

    @last_outcome.setter
    def last_outcome(self, outcome: SlotOutcome | None) -> None:
        self.played = outcome

    @property
    def positions(self) -> np.ndarray:
        """MU positions, m, (N, 2)."""
        return self.draws.positions[..., self.slot, :, :]

    @property
    def fading(self) -> np.ndarray:
        """Rayleigh power gains of every (MU, BS) pair, (N, M)."""
        return self.draws.fading[..., self.slot, :, :]

    @property
    def batch_bits(self) -> np.ndarray:
        """Inference batch of every MU, bit, (N,)."""
        return self.draws.batch_bits[..., self.slot, :]

    @property
    def q(self) -> np.ndarray:
        """Class distribution of every MU's data, (N, C)."""
        return self.draws.q[..., self.slot, :, :]


class TwoTimescaleSimulator:
    """N MUs, M BSs, frames of slots: ``reset(rng)``, then per frame ``begin_frame(decision)``
    (after reading ``frame_view()``) and ``slots_per_frame`` times ``step_slot(decision)`` (or
    ``step_slots`` for several slots at once; ``play_slot`` for a decision of Python floats,
    as the scalar env plays), until ``done``. ``num_envs``: a batch of
    episodes (``reset`` takes one generator per episode, decisions and outcomes get a leading
    env axis)."""

    def __init__(
        self,
        config: TwoTimescaleEnvConfig,
        slots: SlotGenerator | None = None,
        num_envs: int | None = None,
    ) -> None:
        if slots is not None and not callable(slots):
            raise TypeError(f"slots must be a SlotGenerator, got {type(slots).__name__}")
        if num_envs is not None and (not isinstance(num_envs, int) or num_envs < 1):
            raise ValueError(f"num_envs must be None or a positive integer, got {num_envs!r}")
        self.config = config
        self.slots = RandomSlots() if slots is None else slots
        self.batch_shape: tuple[int, ...] = () if num_envs is None else (num_envs,)
        """() for one episode, (num_envs,) for a batch."""
        self.bs_positions = bs_positions(config)
        """BS positions, m, (M, 2)."""
        self.state: TwoTimescaleState | None = None
        self.dt_rngs: list[np.random.Generator] = []
        """Source of each episode's DT errors (seeded at reset)."""
        self.data_value = np.zeros(0)
        """Fraction of the DT's generated data worth real data, exp(-KL(p* || q)), of every
        (slot, MU), (S + 1, N)."""
        self.q_negative_entropy = np.zeros(0)
        """sum q log q of every (slot, MU)'s class distribution, nat, (S + 1, N)."""
        self.view: FrameView | None = None
        self.frame_start = 0
        """Index of the current frame's first slot."""
        self._reusable_tables: list[np.ndarray] = []
        """A batch's episode tables (the draws' fields, data value, entropy), reused by the
        next reset."""
        self.frame_rate = np.zeros(0)
        """Uplink rate of every MU to its BS in the current frame's slots and the slot after
        (within the episode's S + 1), bit/s, (T + 1, N)."""
        # the current frame's retraining flags as floats (N,)
        self._retrain_flags = np.zeros(0)
        # the current frame's inputs as Python floats for play_slot (built on first use)
        self._frame_lists: _FrameLists | None = None

    def reset(self, rng: np.random.Generator | Sequence[np.random.Generator]) -> None:
        """Draw an episode from ``rng`` (a batch: episode i from ``rng[i]``); the first frame's
        decision is due. A batch draws into the arrays of its last episodes: the old state's
        ``draws``, ``data_value`` and ``q_negative_entropy`` and the views of them (the state's
        per-slot properties, a ``slot_problem()``'s ``batch_bits``) take the new episodes'
        values, so copy what you keep of them."""
        cfg = self.config
        rngs = [rng] if not self.batch_shape else list(rng)  # type: ignore[arg-type]
        if len(rngs) != max(self.batch_shape, default=1):
            raise ValueError(f"reset needs {self.batch_shape[0]} generators, got {len(rngs)}")
        # the old episode is no longer the simulator's while the new one is drawn (and stays
        # gone if drawing fails). One episode's arrays are freed only once the new ones exist:
        # freed first, the allocator (glibc) hands their pages back and the new episode's arrays
        # fault them in again (about 500 of the default episode's 640 page faults, 0.9 ms of a
        # 7 ms reset). A batch draws into the arrays of the last one (new ones: a page fault per
        # 4 KiB written, 0.4 of 6 ms per episode)
        previous = None if self.batch_shape else (self.state, self.data_value)
        self.state, self.view, self.dt_rngs = None, None, []
        self.data_value = self.q_negative_entropy = self.frame_rate = np.zeros(0)
        self._frame_lists = None
        tables = self._reusable_tables  # a batch's draws' fields, data value and entropy
        self._reusable_tables = []
        for index, generator in enumerate(rngs):
            draws = self.slots(cfg, generator)
            if type(self.slots) is not RandomSlots:  # ours are valid by construction
                draws = checked_draws(cfg, draws)
            episode = [getattr(draws, name) for name in SlotDraws.__annotations__]
            episode += [generated_data_value(projection_kl(draws.q, cfg.dt_top_k))]
            episode += [negative_entropy(draws.q)]
            if not self.batch_shape:
                self.data_value, self.q_negative_entropy = episode[-2:]
            else:  # each episode into the batch's arrays at once: no list of episodes held
                if not tables:  # the first batch (the config fixes the shapes, all float64)
                    tables = [
                        np.empty((len(rngs), *np.shape(t)), np.result_type(t)) for t in episode
                    ]
                for table, values in zip(tables, episode, strict=True):
                    table[index] = values
            self.dt_rngs.append(np.random.default_rng(generator.integers(2**63)))
        if self.batch_shape:
            *fields, self.data_value, self.q_negative_entropy = self._reusable_tables = tables
            draws = SlotDraws(*fields)
        q0 = draws.q[..., 0, :, :]
        accuracy = np.full(q0.shape[:-1], cfg.acc_max)
        self.state = TwoTimescaleState(0, 0, draws, q0.copy(), accuracy)
        self.view = self._frame_view()
        del previous

    def _require_state(self) -> TwoTimescaleState:
        if self.state is None:
            raise RuntimeError("no episode: call reset()")
        return self.state

    @property
    def done(self) -> bool:
        """Whether every slot of the episode has been played."""
        return self.state is not None and self.state.slot >= self.config.slots_per_episode

    @property
    def frame_over(self) -> bool:
        """Whether the next slot's frame has no decision yet (``begin_frame`` is due)."""
        st = self._require_state()
        return st.decided_frame < st.frame

    def distances(self) -> np.ndarray:
        """Distance of every MU to every BS in the current slot, m, (N, M)."""
        return distances_to(self.bs_positions, self._require_state().positions)

    def slot_rates(self) -> np.ndarray:
        """Uplink rate of every MU to its BS in the current slot, bit/s, (N,) (also after the
        last slot, under the last frame's association); RuntimeError before the first frame."""
        st = self._require_state()
        if st.association is None:
            raise RuntimeError("no association yet: call begin_frame()")
        return self.frame_rate[..., st.slot - self.frame_start, :]

    def _associated_rates(self, slots: slice, association: np.ndarray) -> np.ndarray:
        """Uplink rate of every MU to its BS ``association`` (..., N, checked) in the episode's
        slots ``slots`` (a slice), bit/s, (..., T, N): only the BSs served, a third of every
        BS's rates with M = 3."""
        draws = self._require_state().draws
        serving = self.bs_positions[association][..., None, :, :]  # (..., 1, N, 2)
        distance = _distances(draws.positions[..., slots, :, :], serving)
        fading = draws.fading[..., slots, :, :]
        index = np.broadcast_to(association[..., None, :, None], (*fading.shape[:-1], 1))
        chosen = np.take_along_axis(fading, index, axis=-1)[..., 0]
        return uplink_rates(self.config, channel_gains(self.config, distance, chosen))

    def exact_statistics(self) -> DTStatistics:
        """The statistics of :class:`DTStatistics` without the DT's error."""
        st = self._require_state()
        cfg = self.config
        mean_rate = uplink_rates(cfg, channel_gains(cfg, self.distances()))
        accuracy = forecast_accuracy(cfg, st.q, st.q_model, cfg.slots_per_frame)
        return DTStatistics(mean_rate, accuracy)

    def _frame_view(self) -> FrameView:
        """The view of the frame about to start: exact statistics seen through the DT (each
        episode's errors from its own generator, mean rates first)."""
        exact = self.exact_statistics()
        error = self.config.dt_error_max
        if self.batch_shape:
            pairs = [
                (noisy_estimate(rate, rng, error), noisy_estimate(acc, rng, error))
                for rate, acc, rng in zip(
                    exact.mean_rate, exact.accuracy_end_of_frame, self.dt_rngs, strict=True
                )
            ]
            statistics = DTStatistics(*(np.stack(values) for values in zip(*pairs, strict=True)))
        else:
            rng = self.dt_rngs[0]
            statistics = DTStatistics(
                noisy_estimate(exact.mean_rate, rng, error),
                noisy_estimate(exact.accuracy_end_of_frame, rng, error),
            )
        return FrameView(self.config, self._require_state().frame, statistics, self.distances())

    def frame_view(self) -> FrameView:
        """What the frame policy sees for the frame about to start (RuntimeError unless a frame
        decision is due)."""
        if self.done or not self.frame_over or self.view is None:
            raise RuntimeError("frame_view only at the start of a frame of a running episode")
        return self.view

    def begin_frame(self, decision: FrameDecision) -> None:
        """Apply the frame decision (validated) to the frame about to start."""
        st = self._require_state()
        if self.done or not self.frame_over:
            raise RuntimeError("begin_frame only at the start of a frame of a running episode")
        cfg = self.config
        checked = checked_frame_decision(cfg, decision, self.batch_shape)
        st.association, st.retrain = checked.association, checked.retrain
        st.decided_frame = st.frame
        start = self.frame_start = st.slot
        span = slice(start, start + cfg.slots_per_frame + 1)
        self.frame_rate = self._associated_rates(span, checked.association)
        self._retrain_flags = checked.retrain.astype(float)
        self._frame_lists = None

    def slot_problem(self, generation_ratio: np.ndarray | float = 1.0) -> SlotProblem:
        """The current slot's compute problem under the frame's association and retraining, with
        DT generation ratios ``generation_ratio`` (default 1: all of ``|Q|`` generated)."""
        st = self._require_state()
        if self.frame_over:
            raise RuntimeError("the frame has no decision: call begin_frame()")
        rate = self.frame_rate[..., st.slot - self.frame_start, :]
        bits = retraining_bits(self._retrain_flags, generation_ratio, st.batch_bits)
        return SlotProblem.from_config(self.config, st.batch_bits, rate, st.association, bits)

    def step_slot(self, decision: SlotDecision, check: bool = True) -> SlotOutcome:
        """Play the current slot with ``decision``: its delays, the retraining update and
        accuracy; then on to the next slot (and the next frame's view after a frame's last
        slot). ValueError for a bad generation ratio or infeasible shares, unless ``check`` is
        False (the envs' decisions are valid by construction: shares from
        ``shares_from_weights`` with positive weights, ratios clipped to [0, 1])."""
        st = self._slot_due()
        cfg = self.config
        ratio = decision.generation_ratio
        shares = decision.shares
        if check:
            shape = st.accuracy.shape
            ratio = np.asarray(ratio, dtype=float)
            if ratio.shape != shape or not (ratio.min() >= 0.0 and ratio.max() <= 1.0):
                raise ValueError(f"generation_ratio must be numbers in [0, 1] of shape {shape}")
            if any(np.shape(s) != shape for s in (shares.inference, shares.retraining)):
                raise ValueError(f"compute shares must have shape {shape}")
            violations = share_violations(self.slot_problem(ratio), shares)
            if violations:
                raise ValueError(f"infeasible compute shares: {'; '.join(violations)}")
        slot = st.slot
        retrain_bits, delays, effective = self._slot_work(slot, ratio, shares)
        q_model = update_model_distribution(cfg, st.q_model, st.draws.q[..., slot, :, :], effective)
        outcome = self._slot_outcome(slot, q_model, retrain_bits, delays, effective)
        st.q_model = q_model
        st.played = outcome
        self._advance(outcome.accuracy, 1)
        return outcome

    def play_slot(
        self, inference: Sequence[float], retraining: Sequence[float], ratio: Sequence[float]
    ) -> list[float]:
        """``step_slot(SlotDecision(ComputeShares(inference, retraining), ratio), check=False)``
        of a one-episode simulator for a decision of Python floats (N each, e.g. lists, or
        float64 arrays; not float32 arrays, whose products stay float32; the values are not
        checked, and the simulator keeps a copy): the same state after it, bit for bit, several
        times cheaper at N = 15. For three float64 arrays, where the envs compile
        (:func:`~mec_gym.compiled.compiled_envs`), the per-MU formulas run compiled
        (:func:`compiled_slot_kernels`; :meth:`play_decision` takes them as one array).
        Otherwise they (S = delta p |Q|, then ``job_delay``,
        ``effective_data_bits`` and
        ``retraining_fraction`` mapped over the MUs) run on floats; the (N, C) distributions,
        the accuracy and its violation on arrays (``blend_toward``, ``model_accuracy``,
        ``accuracy_violation``); the sums add in numpy's order (``numpy_sum``); tests hold it
        to :meth:`step_slot`. Returns the slot's ``summary`` as floats; ``state.last_outcome``
        is built from arrays (and copies of the decision) when first read. ValueError on a
        batch (``num_envs``: use :meth:`step_slot`) or for sequences of another length than N.
        """
        st = self._slot_due()
        if self.batch_shape:
            raise ValueError("play_slot plays one episode (num_envs=None): use step_slot")
        cfg = self.config
        if not len(inference) == len(retraining) == len(ratio) == cfg.num_mus:
            raise ValueError(f"play_slot takes {cfg.num_mus} shares, shares and ratios")
        if (
            type(inference) is type(retraining) is type(ratio) is np.ndarray
            and inference.dtype.char == retraining.dtype.char == ratio.dtype.char == "d"
            and compiled_slot_kernels() is not None
        ):
            decision = np.array((inference, retraining, ratio), dtype=np.float64)
            if decision.shape != (3, cfg.num_mus):  # rows of N values but not of shape (N,)
                raise ValueError(f"play_slot takes {cfg.num_mus} shares, shares and ratios")
            return self._play_owned(decision)
        lists = self._frame_lists or self._build_frame_lists()
        slot = st.slot
        row = slot - self.frame_start
        batch = lists.batch[row]
        bits = list(map(mul, map(mul, lists.flags, ratio), batch))  # retraining_bits
        try:
            computation = list(map(job_delay, batch, inference))
            work = map(partial(mul, cfg.retrain_cost), bits)
            retrain_delay = list(map(job_delay, work, retraining))
            effective = map(effective_data_bits, bits, lists.data_value[row])
            reference = repeat(cfg.retrain_ref_bits)
            fraction = np.fromiter(map(retraining_fraction, effective, reference), float, len(bits))
        except ZeroDivisionError:  # a job without a share: inf delays, as numpy gives them
            return self._play_infeasible(inference, retraining, ratio)
        q = st.draws.q[slot]
        q_model = blend_toward(st.q_model, q, fraction[:, None])
        accuracy = model_accuracy(cfg, q, q_model, self.q_negative_entropy[slot])
        accuracies = accuracy.tolist()
        violation = accuracy_violation(cfg, accuracy).tolist()
        sums = [numpy_sum(values) for values in (computation, retrain_delay, accuracies, violation)]
        decision = (tuple(inference), tuple(retraining), tuple(ratio))
        return self._played(lists, q_model, accuracy, decision, sums)

    def play_decision(self, decision: np.ndarray, copy: bool = True) -> list[float]:
        """:meth:`play_slot` for a decision given as one float64 array (3, N) (rows: the
        inference shares, the retraining shares, the generation ratios), the form the env hands
        over: the same state after it, bit for bit, and the same ``summary``. The simulator
        keeps the decision for ``state.last_outcome``: a copy, or with ``copy=False`` the array
        itself where it can (the caller then leaves it unchanged). ValueError for another
        shape or dtype, or on a batch."""
        self._slot_due()
        cfg = self.config
        if self.batch_shape:
            raise ValueError("play_decision plays one episode (num_envs=None): use step_slot")
        if (
            type(decision) is not np.ndarray
            or decision.shape != (3, cfg.num_mus)
            or decision.dtype.char != "d"
        ):
            raise ValueError(
                f"play_decision takes a float64 array of shares, shares and ratios of shape "
                f"{(3, cfg.num_mus)}, got {type(decision).__name__} "
                f"{getattr(decision, 'dtype', '')} of shape {np.shape(decision)}"
            )
        if compiled_slot_kernels() is None:
            return self.play_slot(*decision.tolist())
        flags = decision.flags  # the type compiled: native, contiguous, writable
        if copy or not (flags.c_contiguous and flags.writeable and decision.dtype.isnative):
            decision = np.array(decision, dtype=np.float64)
        return self._play_owned(decision)

    def _play_owned(self, decision: np.ndarray) -> list[float]:
        """:meth:`play_decision` compiled, for a (3, N) native, contiguous, writable float64
        ``decision`` of shape (3, N) that the simulator may keep."""
        lists = self._frame_lists or self._build_frame_lists()
        try:
            played = self._compiled_slot(*compiled_slot_kernels(), decision)
        except ZeroDivisionError:  # a job without a share: inf delays, as numpy gives them
            return self._play_infeasible(*decision)
        return self._played(lists, *played)

    def _play_infeasible(
        self, inference: Sequence[float], retraining: Sequence[float], ratio: Sequence[float]
    ) -> list[float]:
        """The current slot played on arrays (:meth:`step_slot`), for a decision of
        :meth:`play_slot` that leaves a job without a share (inf delays, numpy's warning)."""
        decision = SlotDecision(
            ComputeShares(np.array(inference), np.array(retraining)), np.array(ratio, dtype=float)
        )
        return self.step_slot(decision, check=False).summary.tolist()

    def _compiled_slot(
        self,
        slot_work: Callable[..., None],
        slot_accuracy: Callable[..., None],
        decision: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
        """The current slot's outcome under ``decision`` (as :meth:`_play_owned` takes it), the
        per-MU formulas compiled (:func:`compiled_slot_kernels`), the logarithms of the
        accuracy and the sums (a row each) numpy's; the state unchanged: ``(q_model, accuracy,
        decision, sums)`` as :meth:`_played` takes them. ZeroDivisionError for a job without a
        share (as on Python floats)."""
        st = self.state
        cfg = self.config
        slot = st.slot
        per_mu = np.empty((4, cfg.num_mus))  # L_BS, L_re, accuracy, violation of every MU
        q = st.draws.q[slot]
        q_model = np.empty(q.shape)
        slot_work(
            decision,
            self._retrain_flags,
            st.draws.batch_bits[slot],
            self.data_value[slot],
            float(cfg.retrain_cost),
            float(cfg.retrain_ref_bits),
            st.q_model,
            q,
            per_mu,
            q_model,
        )
        likelihood = log_likelihood(q, q_model)  # numpy's logarithms
        slot_accuracy(
            self.q_negative_entropy[slot],
            likelihood,
            float(cfg.acc_max),
            float(cfg.kl_weight),
            float(cfg.acc_min) + 0.0,  # + 0.0: no -0.0 (numba's maximum would keep its sign)
            per_mu,
        )
        return q_model, per_mu[2], decision, per_mu.sum(axis=1).tolist()

    def _played(
        self,
        lists: _FrameLists,
        q_model: np.ndarray,
        accuracy: np.ndarray,
        decision: Sequence[Sequence[float]],
        sums: Sequence[float],
    ) -> list[float]:
        """The end of :meth:`play_slot`: the current slot, played with ``decision`` (inference
        shares, retraining shares, ratios; kept for ``state.last_outcome``), left the models
        at ``q_model`` and ``accuracy`` with sums over the MUs ``sums`` of L_BS, L_re, the
        accuracy and its violation; on to the next slot. Returns the slot's ``summary``."""
        st = self.state
        cfg = self.config
        computation_sum, retraining_sum, accuracy_sum, violation_sum = sums
        row = st.slot - self.frame_start
        transmission = lists.transmission_sum[row]
        total = transmission + computation_sum + retraining_sum  # the weight w is 1
        st.q_model = q_model
        st.played = partial(
            _replayed_outcome,
            cfg,
            st.draws,
            self.data_value,
            self.q_negative_entropy,
            st.slot,
            self.frame_rate[row],
            self._retrain_flags,
            q_model,
            *decision,
        )
        self._advance(accuracy, 1)
        return [
            total + cfg.accuracy_penalty * violation_sum,
            transmission,
            computation_sum,
            retraining_sum,
            accuracy_sum / cfg.num_mus,
            violation_sum,
        ]

    def _build_frame_lists(self) -> _FrameLists:
        """The current frame's inputs of :meth:`play_slot` as Python floats (cached until the
        next frame or episode)."""
        st = self._require_state()
        span = slice(self.frame_start, self.frame_start + self.frame_rate.shape[-2])
        batch = st.draws.batch_bits[span]
        transmission = job_delay(batch, self.frame_rate)
        self._frame_lists = _FrameLists(
            batch.tolist(),
            transmission.sum(axis=-1).tolist(),
            self.data_value[span].tolist(),
            self._retrain_flags.tolist(),
        )
        return self._frame_lists

    def step_slots(self, decision: SlotDecision) -> SlotOutcome:
        """Play the next T slots of the current frame at once, each as :meth:`step_slot` with
        ``check=False`` plays it, for decisions fixed in advance (e.g. a closed-form split with
        fixed generation ratios: nothing of a slot's outcome feeds the next slot's decision).

        ``decision``: arrays with a slot axis before the MU axis, (..., T, N), T in [1, slots
        left in the frame]; the outcome's arrays have that axis too (``objective`` (..., T),
        ``summary`` (6, ..., T)). The values are not checked (as ``step_slot(check=False)``);
        ValueError for another T or for shares and ratios of another shape."""
        st = self._slot_due()
        cfg = self.config
        shares = decision.shares
        shape = np.shape(shares.inference)
        left = self.frame_start + cfg.slots_per_frame - st.slot
        count = shape[-2] if len(shape) >= 2 else 0
        same = {np.shape(shares.retraining), np.shape(decision.generation_ratio)} == {shape}
        if shape != (*self.batch_shape, count, cfg.num_mus) or not same or not 1 <= count <= left:
            raise ValueError(
                f"step_slots takes decisions of shape {(*self.batch_shape, 'T', cfg.num_mus)} "
                f"with T in [1, {left}] (the slots left in the frame), got {shape}, "
                f"{np.shape(shares.retraining)} and {np.shape(decision.generation_ratio)}"
            )
        span = slice(st.slot, st.slot + count)
        ratio = decision.generation_ratio
        retrain_bits, delays, effective = self._slot_work(span, ratio, shares)
        models = update_model_distribution_each_slot(
            cfg, st.q_model, st.draws.q[..., span, :, :], effective
        )
        outcome = self._slot_outcome(span, models, retrain_bits, delays, effective)
        st.q_model = models[..., -1, :, :]
        st.played = slot_of(outcome, count - 1)
        self._advance(outcome.accuracy[..., -1, :], count)
        return outcome

    def _slot_due(self) -> TwoTimescaleState:
        """The state, or RuntimeError unless a slot of a decided frame is due."""
        st = self.state
        if st is None or st.slot >= self.config.slots_per_episode:
            raise RuntimeError("no running episode: call reset()")
        if st.decided_frame < st.frame:
            raise RuntimeError("the frame has no decision: call begin_frame()")
        return st

    def _frame_slots(self, slots: int | slice) -> int | slice:
        """Index into the current frame's tables of episode slot(s) ``slots``."""
        if isinstance(slots, slice):
            return slice(slots.start - self.frame_start, slots.stop - self.frame_start)
        return slots - self.frame_start

    def _slot_work(
        self, slots: int | slice, ratio: np.ndarray, shares: ComputeShares
    ) -> tuple[np.ndarray, SlotDelays, np.ndarray]:
        """(S, the delays, S_eff) of the current frame's slot ``slots`` (an index; a slice: a
        slot axis before the MU axis) under generation ratios ``ratio`` and ``shares``."""
        flags = self._retrain_flags
        if isinstance(slots, slice):  # the frame's flags for each of its slots
            flags = flags[..., None, :]
        rate = self.frame_rate[..., self._frame_slots(slots), :]
        batch = self.state.draws.batch_bits[..., slots, :]
        value = self.data_value[..., slots, :]
        return _slot_work(self.config, batch, rate, flags, ratio, shares, value)

    def _slot_outcome(
        self,
        slots: int | slice,
        q_model: np.ndarray,
        retrain_bits: np.ndarray,
        delays: SlotDelays,
        effective: np.ndarray,
    ) -> SlotOutcome:
        """The outcome of slot(s) ``slots`` (as in :meth:`_slot_work`) whose models, retrained,
        fit ``q_model``: accuracy, violations, objective and summary."""
        q = self.state.draws.q[..., slots, :, :]
        entropy = self.q_negative_entropy[..., slots, :]
        return _slot_outcome(self.config, q, entropy, q_model, retrain_bits, delays, effective)

    def _advance(self, accuracy: np.ndarray, count: int) -> None:
        """On by ``count`` slots whose last left the models at ``accuracy``; the next frame's
        view after a frame's last slot."""
        st = self.state
        cfg = self.config
        st.accuracy = accuracy
        st.slot = slot = st.slot + count
        st.frame = slot // cfg.slots_per_frame
        if st.frame > st.decided_frame and slot < cfg.slots_per_episode:
            self.view = self._frame_view()


class _FrameLists(NamedTuple):
    """A one-episode frame's inputs of :meth:`TwoTimescaleSimulator.play_slot` as Python
    floats, per slot of the frame (and the one after)."""

    batch: list[list[float]]
    """|Q| of every MU, bit."""
    transmission_sum: list[float]
    """Sum over the MUs of L_tx (fixed by the association), s."""
    data_value: list[list[float]]
    """exp(-KL(p* || q)) of every MU."""
    flags: list[float]
    """The frame's retraining flags delta, 0.0 or 1.0."""


@cache
def compiled_slot_kernels() -> tuple[Callable[..., None], Callable[..., None]] | None:
    """The per-MU formulas of a slot compiled by numba, or None where the envs do not compile
    (:func:`~mec_gym.compiled.compiled_envs`; :meth:`TwoTimescaleSimulator.play_slot` then runs
    them on Python floats). Compiled on the first call in each process (about 1 s), not cached
    on disk: numba would not see a change to the formula functions compiled in, which live in
    other modules.

    ``(slot_work, slot_accuracy)`` for one episode's slot (arrays (N,), distributions (N, C)),
    the formula functions themselves compiled (bit for bit what
    :meth:`TwoTimescaleSimulator.step_slot` computes):

    - ``slot_work(decision, flags, batch, data_value, retrain_cost, reference_bits, q_model, q,
      per_mu, retrained)``: for the decision's rows (inference shares, retraining shares,
      ratios; (3, N)), S (:func:`retraining_bits`), ``job_delay`` into rows 0 (L_BS) and 1
      (L_re) of ``per_mu`` (4, N), and the retrained models' distributions
      (``effective_data_bits``, ``retraining_fraction``, ``blend_toward``) into ``retrained``
      (N, C) (written into: arrays returned from compiled code cost more);
    - ``slot_accuracy(negative_entropy, log_likelihood, acc_max, kl_weight, acc_min, per_mu)``:
      from the data's negative entropy and its log-likelihood under the models
      (``divergence_of_likelihood``), the accuracy (``accuracy_of_divergence``) into row 2 and
      its violation (``shortfall``) into row 3. The logarithms stay numpy's: numpy's own
      (AVX-512) logarithm differs from the C library's in the last bit of some values.
    """
    if not compiled_envs():
        return None
    jit = partial(compiled, cache=False)
    # a job without a share: ZeroDivisionError, as on Python floats (play_slot then plays the
    # slot on arrays, with numpy's warning)
    delay = compiled(job_delay, cache=False, error_model="python")
    value_of, fraction_of, blend, bits_of = map(
        jit, (effective_data_bits, retraining_fraction, blend_toward, retraining_bits)
    )
    divergence_of, accuracy_of, below = map(
        jit, (divergence_of_likelihood, accuracy_of_divergence, shortfall)
    )

    def slot_work(
        decision: np.ndarray,
        flags: np.ndarray,
        batch: np.ndarray,
        data_value: np.ndarray,
        retrain_cost: float,
        reference_bits: float,
        q_model: np.ndarray,
        q: np.ndarray,
        per_mu: np.ndarray,
        retrained: np.ndarray,
    ) -> None:
        for n in range(batch.shape[0]):
            inference, retraining, ratio = decision[0, n], decision[1, n], decision[2, n]
            bits = bits_of(flags[n], ratio, batch[n])
            per_mu[0, n] = delay(batch[n], inference)
            per_mu[1, n] = delay(retrain_cost * bits, retraining)
            fraction = fraction_of(value_of(bits, data_value[n]), reference_bits)
            for c in range(q.shape[1]):
                retrained[n, c] = blend(q_model[n, c], q[n, c], fraction)

    def slot_accuracy(
        negative_entropy: np.ndarray,
        log_likelihood: np.ndarray,
        acc_max: float,
        kl_weight: float,
        acc_min: float,
        per_mu: np.ndarray,
    ) -> None:
        for n in range(negative_entropy.shape[0]):
            divergence = divergence_of(negative_entropy[n], log_likelihood[n])
            per_mu[2, n] = accuracy = accuracy_of(divergence, acc_max, kl_weight)
            per_mu[3, n] = below(accuracy, acc_min)

    kernels = jit(slot_work), jit(slot_accuracy)
    one, distribution, per_mu = np.ones(1), np.ones((1, 1)), np.empty((4, 1))
    kernels[0](
        np.ones((3, 1)), *[one] * 3, 1.0, 1.0, distribution, distribution, per_mu, distribution
    )
    kernels[1](one, one, 1.0, 1.0, 1.0, per_mu)
    return kernels


def _slot_work(
    config: TwoTimescaleEnvConfig,
    batch: np.ndarray,
    rate: np.ndarray,
    flags: np.ndarray,
    ratio: np.ndarray,
    shares: ComputeShares,
    data_value: np.ndarray,
) -> tuple[np.ndarray, SlotDelays, np.ndarray]:
    """(S, the delays, S_eff) of slots with batches ``batch`` (bit), rates ``rate`` (bit/s),
    retraining flags ``flags``, generation ratios ``ratio``, ``shares`` and DT data values
    ``data_value``."""
    retrain_bits = retraining_bits(flags, ratio, batch)
    delays = slot_delays(batch, rate, config.retrain_cost * retrain_bits, shares)
    return retrain_bits, delays, effective_data_bits(retrain_bits, data_value)


def _slot_outcome(
    config: TwoTimescaleEnvConfig,
    q: np.ndarray,
    q_negative_entropy: np.ndarray,
    q_model: np.ndarray,
    retrain_bits: np.ndarray,
    delays: SlotDelays,
    effective: np.ndarray,
) -> SlotOutcome:
    """The outcome of slots of data ``q`` (negative entropy ``q_negative_entropy``) whose models,
    retrained, fit ``q_model``: accuracy, violations, objective and summary."""
    accuracy = model_accuracy(config, q, q_model, q_negative_entropy)
    violation = accuracy_violation(config, accuracy)
    summed = np.array((accuracy, violation)).sum(axis=-1)
    objective = delays.weighted_total + config.accuracy_penalty * summed[1]
    summed[0] /= config.num_mus
    summary = np.concatenate((objective[None], delays.sums, summed))
    return SlotOutcome(delays, retrain_bits, effective, accuracy, violation, objective, summary)


def _replayed_outcome(
    config: TwoTimescaleEnvConfig,
    draws: SlotDraws,
    data_value: np.ndarray,
    q_negative_entropy: np.ndarray,
    slot: int,
    rate: np.ndarray,
    flags: np.ndarray,
    q_model: np.ndarray,
    inference: Sequence[float],
    retraining: Sequence[float],
    ratio: Sequence[float],
) -> SlotOutcome:
    """The ``SlotOutcome`` of a slot :meth:`TwoTimescaleSimulator.play_slot` played, computed
    again on arrays as :meth:`~TwoTimescaleSimulator.step_slot` computes it."""
    shares = ComputeShares(np.array(inference, dtype=float), np.array(retraining, dtype=float))
    batch = draws.batch_bits[slot]
    ratio_array = np.array(ratio, dtype=float)
    work = _slot_work(config, batch, rate, flags, ratio_array, shares, data_value[slot])
    return _slot_outcome(config, draws.q[slot], q_negative_entropy[slot], q_model, *work)


def slot_of(outcome: SlotOutcome, t: int) -> SlotOutcome:
    """Slot ``t`` of a :meth:`TwoTimescaleSimulator.step_slots` outcome (the slot axis dropped)."""
    delays = outcome.delays
    return SlotOutcome(
        SlotDelays(
            delays.transmission[..., t, :],
            delays.computation[..., t, :],
            delays.retraining[..., t, :],
            delays.weighted_total[..., t],
            delays.sums[..., t],
        ),
        outcome.retrain_bits[..., t, :],
        outcome.effective_bits[..., t, :],
        outcome.accuracy[..., t, :],
        outcome.accuracy_violation[..., t, :],
        outcome.objective[..., t],
        outcome.summary[..., t],
    )
