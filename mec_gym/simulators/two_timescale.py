"""The two-timescale DT-assisted inference and retraining system: one simulator, frames and slots.

Source: J. Cong, G. Cheng, C. You, X. Huang, W. Wu, "Two-Timescale Digital Twin Assisted Model
Interference and Retraining over Wireless Network", arXiv 2411.18329; model as specified in
``shared/spec/two_timescale.md`` (everything beyond the paper's formulas is our choice). The
physics is that of :mod:`mec_gym.problems.two_timescale`; this module only moves it in time.

An episode has ``frames_per_episode`` frames of ``slots_per_frame`` slots. At the start of a frame
the association and the retraining flags are fixed (:meth:`TwoTimescaleSimulator.begin_frame`);
every slot the compute shares and the DT generation ratios are decided
(:meth:`TwoTimescaleSimulator.step_slot`) on the slot's
:class:`~mec_gym.problems.two_timescale.SlotProblem`. Our choices:

- BSs (:func:`bs_positions`): fixed, on a circle of radius ``area_m / 4`` around the centre of the
  ``area_m`` square (corner at the origin), BS 0 straight above it, the others every ``2 pi / M``
  counter-clockwise (M = 1: at the centre).
- Mobility: MUs start uniformly in the square; every slot each moves ``mu_speed_mps * slot_s`` m
  in a uniform random direction, reflected at the border.
- Fading: Rayleigh, unit-mean power gains i.i.d. per slot, MU and BS.
- Batches: ``|Q| ~ U[batch_min_bits, batch_max_bits]`` per MU and slot; ``||Q||_2`` of the
  retraining data formula is the slot's batch ``|Q|`` (bit).
- Drift: each MU's class distribution q starts at a Dirichlet(1) draw and moves by
  :func:`~mec_gym.problems.two_timescale.drift_distributions` every slot; the model starts fitted
  to it (``q_model = q``, accuracy ``acc_max``).
- Retraining: in a slot of a frame with ``delta_n = 1`` and generation ratio ``p_n``, MU n's model
  is retrained with ``S = delta p |Q|`` bit of DT data (work ``c_re S`` in the slot problem),
  worth ``S_eff = S exp(-KL(p* || q))`` with ``p*`` the top-k projection of the slot's q, and
  ``q_model`` moves toward q by ``S_eff / (S_eff + S_0)``; the slot's accuracy is that of the
  updated model on the slot's q. q then drifts to the next slot's.
- Objective of a slot: ``sum_n (L_tx + L_BS + delta L_re)`` (the problem's weighted total) plus
  ``accuracy_penalty * sum_n max(0, acc_min - acc)``.
- The DT (:meth:`TwoTimescaleSimulator.dt_statistics`): the predicted mean rate of every (MU, BS)
  pair (the rate at the path-loss gain, fading averaged out to 1) and the predicted accuracy at
  the end of the frame without retraining (a persistence forecast: the distribution held at its
  current value, the drift having no trend), both seen through
  :func:`~mec_gym.problems.two_timescale.dt_view` with error ``dt_error_max``.

Mobility, fading, batches and drift do not depend on the decisions: a :class:`SlotGenerator`
draws the episode's ``slots + 1`` slots at reset (:class:`RandomSlots`), the last one being seen
only in a final observation. The DT's errors come from a generator seeded from the reset's, so
querying the DT does not change the trajectory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from mec_gym.models.channel import rayleigh_power_gains
from mec_gym.problems.two_timescale import (
    ComputeShares,
    SlotDelays,
    SlotProblem,
    TwoTimescaleConfig,
    channel_gains,
    drift_distributions,
    dt_view,
    effective_retraining_bits,
    model_accuracy,
    project_top_k,
    retraining_bits,
    share_violations,
    update_model_distribution,
    uplink_rates,
)
from mec_gym.simulators.joint_offload import random_steps, reflect_into

__all__ = [
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
    "TwoTimescaleState",
    "TwoTimescaleSimulator",
]


@dataclass(frozen=True)
class TwoTimescaleEnvConfig(TwoTimescaleConfig):
    """The two-timescale system's parameters plus the episode, mobility and penalty."""

    frames_per_episode: int = 20
    """Frames per episode (truncation)."""
    mu_speed_mps: float = 1.5
    """MU random-walk speed, m/s (0: static)."""
    accuracy_penalty: float = 10.0
    """Penalty per unit of accuracy below ``acc_min`` per MU and slot, s (as a delay)."""

    def validate(self) -> None:
        super().validate()
        self._require_positive("frames_per_episode", integer=True)
        self._require_number("mu_speed_mps", 0)
        self._require_number("accuracy_penalty", 0)

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


# ------------------------------------------------------------------------- exogenous draws
@dataclass(frozen=True, eq=False)
class SlotDraws:
    """What does not depend on the decisions, for the ``S + 1`` slots of an episode (S =
    ``slots_per_episode``), N MUs, M BSs and C classes."""

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
    start positions, steps, fading, batches, initial q, then the drift slot by slot."""

    def __call__(self, config: TwoTimescaleEnvConfig, rng: np.random.Generator) -> SlotDraws:
        n, m, slots = config.num_mus, config.num_bs, config.slots_per_episode + 1
        start = rng.uniform(0.0, config.area_m, (n, 2))
        steps = random_steps(rng, slots - 1, n, config.mu_speed_mps * config.slot_s)
        walk = start + np.concatenate((np.zeros((1, n, 2)), np.cumsum(steps, axis=0)))
        fading = rayleigh_power_gains(rng, (slots, n, m))
        batch = rng.uniform(config.batch_min_bits, config.batch_max_bits, (slots, n))
        q = np.empty((slots, n, config.num_classes))
        q[0] = rng.dirichlet(np.ones(config.num_classes), size=n)
        for t in range(1, slots):
            q[t] = drift_distributions(config, q[t - 1], rng)
        return SlotDraws(reflect_into(walk, 0.0, config.area_m), fading, batch, q)


def checked_draws(config: TwoTimescaleEnvConfig, draws: SlotDraws) -> SlotDraws:
    """What a slot generator returned, or ValueError unless the shapes fit the config, positions
    lie in the square, fading is >= 0, batches are > 0 and every q is a distribution."""
    s, n, m = config.slots_per_episode + 1, config.num_mus, config.num_bs
    shapes = {
        "positions": (s, n, 2),
        "fading": (s, n, m),
        "batch_bits": (s, n),
        "q": (s, n, config.num_classes),
    }
    for name, shape in shapes.items():
        value = np.asarray(getattr(draws, name), dtype=float)
        if value.shape != shape or not np.isfinite(value).all():
            raise ValueError(f"draws.{name} must be finite of shape {shape}, got {value.shape}")
    if np.any((draws.positions < 0) | (draws.positions > config.area_m)):
        raise ValueError(f"draws.positions must lie in [0, {config.area_m}] m")
    if np.any(draws.fading < 0) or np.any(draws.batch_bits <= 0):
        raise ValueError("draws.fading must be >= 0 and draws.batch_bits > 0")
    if np.any(draws.q < 0) or not np.allclose(draws.q.sum(axis=-1), 1.0):
        raise ValueError("every draws.q[t, n] must be a distribution over the classes")
    return draws


# ------------------------------------------------------------------------------ decisions
@dataclass(frozen=True, eq=False)
class FrameDecision:
    """The large-timescale decision of a frame."""

    association: np.ndarray
    """Index in [0, M) of each MU's BS, integers, (N,)."""
    retrain: np.ndarray
    """delta_n, whether MU n's model is retrained in this frame, booleans, (N,)."""


def checked_frame_decision(config: TwoTimescaleConfig, decision: FrameDecision) -> FrameDecision:
    """``decision`` as (intp, bool) arrays, or ValueError unless the association holds N
    integers in [0, M) with at most ``max_users_per_bs`` MUs per BS (if capped) and the
    retraining flags N booleans (or 0/1)."""
    n, m = config.num_mus, config.num_bs
    association = np.asarray(decision.association)
    retrain = np.asarray(decision.retrain)
    if association.shape != (n,) or association.dtype.kind not in "iu":
        raise ValueError(f"association must be {n} integers, got {association!r}")
    if np.any((association < 0) | (association >= m)):
        raise ValueError(f"association must be in [0, {m - 1}], got {association.tolist()}")
    cap = config.max_users_per_bs
    load = np.bincount(association, minlength=m)
    if cap and np.any(load > cap):
        raise ValueError(f"at most {cap} MUs per BS (max_users_per_bs), got loads {load.tolist()}")
    if retrain.shape != (n,) or not np.all((retrain == 0) | (retrain == 1)):
        raise ValueError(f"retrain must be {n} booleans, got {retrain!r}")
    return FrameDecision(association.astype(np.intp), retrain.astype(bool))


@dataclass(frozen=True, eq=False)
class SlotDecision:
    """The short-timescale decision of a slot."""

    shares: ComputeShares
    """Compute shares of the slot, bit/s, (N,) each (checked by ``share_violations``)."""
    generation_ratio: np.ndarray
    """p_n in [0, 1], the DT data generation ratio of every MU (ignored when not retrained)."""


@dataclass(frozen=True, eq=False)
class SlotOutcome:
    """What a slot gave; per-MU arrays of shape (N,)."""

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
    objective: float
    """Weighted total delay (s) plus ``accuracy_penalty`` times the summed violations."""


@dataclass(frozen=True, eq=False)
class DTStatistics:
    """What the frame-level decision sees (exact, or through the DT's error)."""

    mean_rate: np.ndarray
    """Mean uplink rate of every (MU, BS) pair (the rate at the path-loss gain), bit/s, (N, M)."""
    accuracy_end_of_frame: np.ndarray
    """Accuracy at the end of the frame without retraining (persistence forecast), (N,)."""


# ------------------------------------------------------------------------------ simulator
@dataclass(eq=False)
class TwoTimescaleState:
    """An episode's whole state at the start of the next slot (arrays over MUs first)."""

    slot: int
    """Slots played so far (the next slot's index in the episode)."""
    frame: int
    """Index of the frame the next slot belongs to."""
    draws: SlotDraws
    """The episode's exogenous slots."""
    q_model: np.ndarray
    """Distribution each MU's model is fitted to, (N, C)."""
    association: np.ndarray | None = None
    """The current frame's BS of every MU, (N,) (None before the first frame)."""
    retrain: np.ndarray | None = None
    """The current frame's retraining flags, (N,) (None before the first frame)."""
    decided_frame: int = -1
    """Index of the last frame whose decision was applied."""
    last_outcome: SlotOutcome | None = None
    """What the previous slot gave (None at the start)."""

    @property
    def positions(self) -> np.ndarray:
        """MU positions, m, (N, 2)."""
        return self.draws.positions[self.slot]

    @property
    def fading(self) -> np.ndarray:
        """Rayleigh power gains of every (MU, BS) pair, (N, M)."""
        return self.draws.fading[self.slot]

    @property
    def batch_bits(self) -> np.ndarray:
        """Inference batch of every MU, bit, (N,)."""
        return self.draws.batch_bits[self.slot]

    @property
    def q(self) -> np.ndarray:
        """Class distribution of every MU's data, (N, C)."""
        return self.draws.q[self.slot]


class TwoTimescaleSimulator:
    """N MUs, M BSs, frames of slots: ``reset(rng)``, then per frame ``begin_frame(decision)``
    and ``slots_per_frame`` times ``step_slot(decision)``, until ``done``."""

    def __init__(self, config: TwoTimescaleEnvConfig, slots: SlotGenerator | None = None) -> None:
        if slots is not None and not callable(slots):
            raise TypeError(f"slots must be a SlotGenerator, got {type(slots).__name__}")
        self.config = config
        self.slots = RandomSlots() if slots is None else slots
        self.bs_positions = bs_positions(config)
        """BS positions, m, (M, 2)."""
        self.state: TwoTimescaleState | None = None
        self.dt_rng: np.random.Generator | None = None
        """Source of the DT's errors (seeded at reset)."""

    def reset(self, rng: np.random.Generator) -> None:
        """Draw an episode from ``rng``; the first frame's decision is due."""
        draws = checked_draws(self.config, self.slots(self.config, rng))
        self.dt_rng = np.random.default_rng(rng.integers(2**63))
        self.state = TwoTimescaleState(0, 0, draws, draws.q[0].copy())

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

    def begin_frame(self, decision: FrameDecision) -> None:
        """Apply the frame decision (validated) to the frame about to start."""
        st = self._require_state()
        if self.done or not self.frame_over:
            raise RuntimeError("begin_frame only at the start of a frame of a running episode")
        checked = checked_frame_decision(self.config, decision)
        st.association, st.retrain = checked.association, checked.retrain
        st.decided_frame = st.frame

    def distances(self) -> np.ndarray:
        """Distance of every MU to every BS in the current slot, m, (N, M)."""
        offset = self._require_state().positions[:, None, :] - self.bs_positions[None, :, :]
        return np.hypot(offset[..., 0], offset[..., 1])

    def slot_problem(self, generation_ratio: np.ndarray | float = 1.0) -> SlotProblem:
        """The current slot's compute problem under the frame's association and retraining, with
        DT generation ratios ``generation_ratio`` (default 1: all of ``|Q|`` generated)."""
        st = self._require_state()
        if self.frame_over:
            raise RuntimeError("the frame has no decision: call begin_frame()")
        gains = channel_gains(self.config, self.distances(), st.fading)
        rate = np.take_along_axis(uplink_rates(self.config, gains), st.association[:, None], 1)
        bits = retraining_bits(st.retrain, generation_ratio, st.batch_bits)
        return SlotProblem.from_config(self.config, st.batch_bits, rate[:, 0], st.association, bits)

    def step_slot(self, decision: SlotDecision) -> SlotOutcome:
        """Play the current slot with ``decision`` (ValueError if infeasible): its delays, the
        retraining update and accuracy; then on to the next slot."""
        st = self._require_state()
        cfg = self.config
        if self.done:
            raise RuntimeError("the episode is over: call reset()")
        ratio = np.asarray(decision.generation_ratio, dtype=float)
        if ratio.shape != (cfg.num_mus,) or not np.all((ratio >= 0) & (ratio <= 1)):
            raise ValueError(f"generation_ratio must be {cfg.num_mus} numbers in [0, 1]")
        problem = self.slot_problem(ratio)
        shares = decision.shares
        if any(np.shape(s) != (cfg.num_mus,) for s in (shares.inference, shares.retraining)):
            raise ValueError(f"compute shares must have shape ({cfg.num_mus},)")
        violations = share_violations(problem, shares)
        if violations:
            raise ValueError(f"infeasible compute shares: {'; '.join(violations)}")
        delays = problem.evaluate(shares)
        q = st.q
        retrain_bits = retraining_bits(st.retrain, ratio, st.batch_bits)
        _, projection_kl = project_top_k(q, cfg.dt_top_k)
        effective = effective_retraining_bits(retrain_bits, projection_kl)
        st.q_model = update_model_distribution(cfg, st.q_model, q, effective)
        accuracy = model_accuracy(cfg, q, st.q_model)
        violation = np.maximum(cfg.acc_min - accuracy, 0.0)
        objective = float(delays.weighted_total) + cfg.accuracy_penalty * float(violation.sum())
        outcome = SlotOutcome(delays, retrain_bits, effective, accuracy, violation, objective)
        st.last_outcome = outcome
        st.slot += 1
        st.frame = st.slot // cfg.slots_per_frame
        return outcome

    def exact_statistics(self) -> DTStatistics:
        """The statistics of :class:`DTStatistics` without the DT's error."""
        st = self._require_state()
        mean_rate = uplink_rates(self.config, channel_gains(self.config, self.distances()))
        accuracy = model_accuracy(self.config, st.q, st.q_model)
        return DTStatistics(mean_rate, accuracy)

    def dt_statistics(self) -> DTStatistics:
        """The DT's view of :meth:`exact_statistics`: each entry times ``1 + eps``, eps ~
        U[-dt_error_max, dt_error_max] i.i.d. (exact when dt_error_max = 0)."""
        exact = self.exact_statistics()
        error = self.config.dt_error_max
        return DTStatistics(
            dt_view(exact.mean_rate, self.dt_rng, error),
            dt_view(exact.accuracy_end_of_frame, self.dt_rng, error),
        )
