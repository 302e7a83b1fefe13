"""The sequential bandwidth split system: K devices, one update period per step.

Source: D. Yang, S. Zhang, H. Zhang, L. Song, "End-Edge Model Collaboration: Bandwidth Allocation
for Data Upload and Model Transmission", arXiv 2504.14310; model
``docs/bandwidth_split.md`` (everything numeric is our choice).

Every period each device's instance is one instance of
:class:`~mec_gym.problems.bandwidth_split.BandwidthSplitProblem` and its outcome is computed by
:func:`~mec_gym.problems.bandwidth_split.split_outcome`, the computation of the problem's
``evaluate``. Between periods (our choices, all config fields):

- Mobility: each device's distance to the edge does a random walk in
  ``[min_distance_m, max_distance_m]``: Gaussian steps of standard deviation
  ``device_speed_mps * period_s`` m per period, reflected at both ends; the start is uniform in
  the interval (the walk's stationary law).
- Shadowing: log-normal, a stationary AR(1) process in dB per device, the process of
  :func:`~mec_gym.models.channel.ar1_shadowing_db` (standard deviation ``shadowing_std_db``,
  correlation ``exp(-period_s / shadowing_correlation_s)`` between consecutive periods) drawn
  for a batch of episodes at once (:func:`~mec_gym.models.channel.ar1_shadowing_batch`).
- N_avail: Poisson with mean ``mean_available_samples``, independent per device and period.
- Drift: the edge's "effective fresh data" F decays by ``freshness_decay`` (rho) per period and
  grows with the samples uploaded. A period that uploads n samples ends with ``n_eff = F + n``;
  the model distilled in it has the staleness term of ``n_eff`` (the problem's
  ``carried_samples = F``), and the next period starts with ``F' = rho n_eff``. The model a device
  holds ages the same way: its fresh-data credit is the ``n_eff`` it was distilled with, decayed
  by rho per period since, so its mAP this period (the problem's ``fallback_map``, the device's
  current mAP) is ``mAP(credit, M_held)``. With rho = 0 nothing is carried: every period is the
  one-period problem with the held model's ``mAP(0, M_held)`` as fallback.
- A device keeps its model when no new model arrives (M = 0); it starts each episode with the
  smallest model and no fresh data (``F = 0``, credit 0: the one-period problem's default
  fallback ``mAP(0, M_min)``).

Mobility, shadowing and N_avail do not depend on the decisions: a :class:`PeriodGenerator` draws
an episode's ``periods_per_episode + 1`` periods at reset from the env's ``np_random``
(:class:`RandomPeriods`, or :class:`PeriodTrace` for fixed evaluation sets). With one device the
simulator computes on Python floats (``SCALAR_MATH``, a few microseconds per period), with more on
arrays of shape (K,); a batch of environments (the vector env) runs the same functions on arrays
of shape (num_envs, K).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from mec_gym.models.channel import MAX_SHADOWING_STD_DB, ar1_shadowing_batch, check_link_budget
from mec_gym.problems.bandwidth_split import (
    NUMPY_MATH,
    SCALAR_MATH,
    ArrayMath,
    BandwidthSplitConfig,
    BandwidthSplitProblem,
    SplitOutcome,
    channel_gain_db,
    detection_map,
    full_band_snr,
    split_outcome,
)
from mec_gym.simulators.joint_offload import reflect_into

__all__ = [
    "MODEL_SIZE_MODES",
    "BandwidthSplitEnvConfig",
    "PeriodDraws",
    "PeriodGenerator",
    "RandomPeriods",
    "PeriodTrace",
    "checked_draws",
    "EpisodeChannels",
    "episode_channels",
    "PeriodColumns",
    "DeviceState",
    "initial_devices",
    "carry_over",
    "BandwidthSplitState",
    "BandwidthSplitSimulator",
]

MODEL_SIZE_MODES = ("auto", "continuous", "discrete")
MAX_EPISODE_DRAWS = 1_000_000
"""Most (period, device) channel draws an episode may hold (drawn whole at reset)."""
"""How the model size is decided (see ``BandwidthSplit-v0``'s Action Space)."""


@dataclass(frozen=True)
class BandwidthSplitEnvConfig(BandwidthSplitConfig):
    """The bandwidth split system's parameters plus the devices, periods, mobility, shadowing,
    drift and action options of ``BandwidthSplit-v0`` / ``BandwidthSplitMulti-v0``.

    ``distance_m`` (the one-period problem's default distance) is not used: the devices start
    uniformly in ``[min_distance_m, max_distance_m]``."""

    num_devices: int = 1
    """K, devices sharing the link (1: the device's own link, the spec's BandwidthSplit-v0)."""
    periods_per_episode: int = 50
    """Periods per episode (truncation)."""
    min_distance_m: float = 20.0
    """Nearest distance of the random walk, m."""
    max_distance_m: float = 250.0
    """Farthest distance of the random walk, m."""
    device_speed_mps: float = 1.0
    """Random-walk speed, m/s: the distance moves by N(0, (speed T)^2) m per period (0: static)."""
    shadowing_std_db: float = 6.0
    """Standard deviation of the log-normal shadowing, dB (0: none)."""
    shadowing_correlation_s: float = 100.0
    """Correlation time of the shadowing, s: consecutive periods have correlation
    ``exp(-T / correlation)`` (0.82 at the defaults; a value much below T: i.i.d. per period)."""
    freshness_decay: float = 0.8
    """rho, the fraction of the effective fresh data (and of a held model's credit) left after
    one period of drift; 0: no carried state (the one-period problem every period)."""
    model_size: str = "auto"
    """"auto" (the action is the split; M is the largest model the download carries),
    "continuous" (an action entry chooses M in [M_min, M_max]) or "discrete" (one of
    ``model_sizes``)."""

    def validate(self) -> None:
        super().validate()
        self._require_positive("num_devices", integer=True)
        self._require_positive("periods_per_episode", integer=True)
        self._require_positive("min_distance_m")
        self._require_number("max_distance_m", self.min_distance_m, low_field="min_distance_m")
        self._require_number("device_speed_mps", 0)
        self._require_number("shadowing_std_db", 0, MAX_SHADOWING_STD_DB)
        entries = self.periods_per_episode * self.num_devices
        if entries > MAX_EPISODE_DRAWS:
            raise ValueError(
                f"{type(self).__name__}.periods_per_episode, num_devices: an episode draws "
                f"{entries:,} (period, device) channels at reset (at most "
                f"{MAX_EPISODE_DRAWS:,}); lower periods_per_episode or num_devices"
            )
        check_link_budget(
            f"{type(self).__name__}.upload_power_w, download_power_w, path_loss_intercept_db, "
            "path_loss_slope_db, min_distance_m, max_distance_m, noise_dbm_per_hz, bandwidth_hz",
            (self.upload_power_w, self.download_power_w),
            self.path_loss_intercept_db,
            self.path_loss_slope_db,
            self.noise_dbm_per_hz,
            self.bandwidth_hz,
            (self.min_distance_m, self.max_distance_m),
        )
        self._require_positive("shadowing_correlation_s")
        self._require_number("freshness_decay", 0, 1, high_inclusive=False)
        self._require_choice("model_size", MODEL_SIZE_MODES)


# ------------------------------------------------------------------------- exogenous draws
@dataclass(frozen=True, eq=False)
class PeriodDraws:
    """What does not depend on the decisions, for a batch of B episodes of
    ``periods_per_episode + 1`` periods (the last one is seen in the final observation) and K
    devices: arrays of shape (B, P + 1, K)."""

    distance_m: np.ndarray
    """Device-edge distance, m (> 0)."""
    shadowing_db: np.ndarray
    """Shadowing, dB."""
    available_samples: np.ndarray
    """N_avail, new samples each device holds (>= 0)."""


class PeriodGenerator(Protocol):
    """Draws episodes: ``generator(config, rngs) -> PeriodDraws`` with one episode per
    generator in ``rngs`` (batch axis first, sized by ``len(rngs)``), each drawn from its own
    generator only. A vector env calls it on consecutive blocks of its sub-envs' generators, in
    order (``mec_gym.envs.base.env_blocks``)."""

    def __call__(
        self, config: BandwidthSplitEnvConfig, rngs: Sequence[np.random.Generator]
    ) -> PeriodDraws: ...


class RandomPeriods:
    """The random walk, AR(1) shadowing and Poisson N_avail of the module docstring. Each
    episode draws from its own generator, in this order: the K start distances, the (P, K)
    steps, per device the shadowing innovations and initial value (what ``ar1_shadowing_db``
    draws), the (P + 1, K) N_avail."""

    def __call__(
        self, config: BandwidthSplitEnvConfig, rngs: Sequence[np.random.Generator]
    ) -> PeriodDraws:
        k, periods = config.num_devices, config.periods_per_episode + 1
        low, high = config.min_distance_m, config.max_distance_m
        step_std = config.device_speed_mps * config.period_s
        std_db = config.shadowing_std_db
        batch = len(rngs)
        start = np.empty((batch, 1, k))
        # an episode's normal draws, the steps' then (with shadowing) the innovations', in one
        # call (consecutive standard normal draws: the same values as two calls)
        split = (periods - 1) * k
        normals = np.empty((batch, split + (k * (periods + 1) if std_db > 0 else 0)))
        samples = np.empty((batch, periods, k))
        mean = config.mean_available_samples
        for i, rng in enumerate(rngs):  # the unit draws in place: fewer calls per episode
            rng.random(out=start[i, 0])
            rng.standard_normal(out=normals[i])
            samples[i] = rng.poisson(mean, (periods, k))
        # what rng.uniform(low, high) and rng.normal(0, step_std) compute from the unit draws
        start = low + (high - low) * start
        steps = step_std * normals[:, :split].reshape(batch, periods - 1, k)
        walk = start + np.cumsum(steps, axis=1)
        if std_db > 0:
            shadowing = ar1_shadowing_batch(
                normals[:, split:].reshape(batch, k, periods + 1),
                std_db,
                config.period_s,
                config.shadowing_correlation_s,
            ).transpose(0, 2, 1)
        else:
            shadowing = np.zeros((batch, periods, k))
        return PeriodDraws(
            distance_m=reflect_into(np.concatenate((start, walk), axis=1), low, high),
            shadowing_db=shadowing,
            available_samples=samples,
        )


class PeriodTrace:
    """The same periods in every episode (a fixed evaluation set): distances (m), shadowing
    (dB) and N_avail, each broadcast to (P + 1, K) (a scalar: constant; an array of shape
    (P + 1, K) or (P + 1, 1): per period)."""

    def __init__(
        self,
        distance_m: np.ndarray | float,
        shadowing_db: np.ndarray | float = 0.0,
        available_samples: np.ndarray | float = 1000.0,
    ) -> None:
        self.values = tuple(
            np.array(v, dtype=float) for v in (distance_m, shadowing_db, available_samples)
        )

    def __call__(
        self, config: BandwidthSplitEnvConfig, rngs: Sequence[np.random.Generator]
    ) -> PeriodDraws:
        shape = (len(rngs), config.periods_per_episode + 1, config.num_devices)
        try:
            arrays = [np.broadcast_to(v, shape).copy() for v in self.values]
        except ValueError as error:
            raise ValueError(
                f"PeriodTrace values must broadcast to (periods_per_episode + 1, num_devices) = "
                f"{shape[1:]}, got shapes {[v.shape for v in self.values]}"
            ) from error
        return PeriodDraws(*arrays)


def checked_draws(config: BandwidthSplitEnvConfig, draws: PeriodDraws, batch: int) -> PeriodDraws:
    """``draws`` if they are ``batch`` episodes of (P + 1, K) finite values with distances > 0
    and N_avail >= 0, else ValueError saying which."""
    shape = (batch, config.periods_per_episode + 1, config.num_devices)
    for name in ("distance_m", "shadowing_db", "available_samples"):
        values = getattr(draws, name)
        if values.shape != shape or not np.isfinite(values).all():
            raise ValueError(f"period draws: {name} must be finite of shape {shape}")
    if np.any(draws.distance_m <= 0) or np.any(draws.available_samples < 0):
        raise ValueError("period draws: distances must be > 0 and N_avail >= 0")
    return draws


@dataclass(frozen=True, eq=False)
class EpisodeChannels:
    """Per-period channel quantities of a batch of episodes, arrays of shape (B, P + 1, K)."""

    gain_db: np.ndarray
    """Channel power gain (path loss and shadowing), dB."""
    upload_snr: np.ndarray
    """``P_u g / (N0 B)``, the device's full-band SNR."""
    download_snr: np.ndarray
    """``P_e g / (N0 B)``, the edge server's full-band SNR."""


def episode_channels(config: BandwidthSplitConfig, draws: PeriodDraws) -> EpisodeChannels:
    """The gains and SNRs of drawn episodes (the functions the problem instances use); raises
    ValueError where an SNR underflows to 0 (as ``BandwidthSplitProblem.from_gains`` does)."""
    gain = channel_gain_db(config, draws.distance_m, draws.shadowing_db)
    powers = np.reshape((config.upload_power_w, config.download_power_w), (2,) + (1,) * gain.ndim)
    upload, download = full_band_snr(config, powers, gain)  # one dB conversion for both
    if np.any(upload <= 0) or np.any(download <= 0):
        raise ValueError("period draws: a channel gain so small that the SNR underflows to 0")
    return EpisodeChannels(gain, upload, download)


@dataclass(frozen=True, eq=False)
class PeriodColumns:
    """One episode's per-period inputs, indexed by period: a float per period with one device
    (the scalar fast path), else an array of shape (K,) per period."""

    gain_db: list[Any]
    upload_snr: list[Any]
    download_snr: list[Any]
    available_samples: list[Any]


# ------------------------------------------------------------------------- device dynamics
@dataclass(frozen=True)
class DeviceState:
    """The carried state of the devices at the start of a period (floats for one device in the
    scalar simulator, else arrays of shape (K,) or (num_envs, K))."""

    fresh_data: Any
    """F, the edge's effective fresh data carried into the period (decayed), samples."""
    held_size: Any
    """M of the model each device holds, million parameters."""
    held_credit: Any
    """Fresh-data credit of the held model this period (decayed), samples."""
    device_map: Any
    """mAP of the held model this period, ``mAP(credit, M_held)``: the period's fallback."""


def initial_devices(config: BandwidthSplitConfig, shape: tuple[int, ...] = ()) -> DeviceState:
    """The state an episode starts in: no fresh data, the smallest model with no credit (floats
    for ``shape=()``, else arrays of ``shape``)."""
    fallback = float(detection_map(config, 0.0, config.min_model_size))
    if not shape:
        return DeviceState(0.0, config.min_model_size, 0.0, fallback)
    return DeviceState(
        np.zeros(shape),
        np.full(shape, config.min_model_size, dtype=float),
        np.zeros(shape),
        np.full(shape, fallback),
    )


def carry_over(
    config: BandwidthSplitEnvConfig,
    devices: DeviceState,
    outcome: SplitOutcome,
    xp: ArrayMath = NUMPY_MATH,
) -> DeviceState:
    """The devices' state at the start of the next period after a period with ``outcome``:
    ``n_eff = F + n``; a delivered model replaces the held one with credit ``n_eff``; then both
    the fresh data and the credit decay by rho."""
    fresh = devices.fresh_data + outcome.samples
    delivered = outcome.model_size > 0
    size = xp.where(delivered, outcome.model_size, devices.held_size)
    rho = config.freshness_decay
    credit = rho * xp.where(delivered, fresh, devices.held_credit)
    return DeviceState(rho * fresh, size, credit, detection_map(config, credit, size, xp))


# ------------------------------------------------------------------------------ simulator
@dataclass(eq=False)
class BandwidthSplitState:
    """An episode's whole state: the drawn periods, their channels and the devices' carried
    state (floats with one device, else arrays of shape (K,))."""

    period: int
    """Periods played so far (the current period's index)."""
    draws: PeriodDraws
    """The episode's exogenous periods, arrays of shape (P + 1, K)."""
    channels: EpisodeChannels
    """Their gains and SNRs, arrays of shape (P + 1, K)."""
    devices: DeviceState
    """The devices' carried state at the start of the current period."""
    last_outcome: SplitOutcome | None = None
    """What the previous period gave (None at the start)."""


class BandwidthSplitSimulator:
    """Periods of K devices on one link: ``reset(rng)`` draws an episode, ``step(upload_share,
    download_share, model_size)`` plays the current period and moves to the next.

    Shares and sizes are floats with one device (``download_share`` is then usually ``1 -
    upload_share``), else arrays of shape (K,); ``model_size=None`` delivers the largest model
    the download carries."""

    def __init__(
        self, config: BandwidthSplitEnvConfig, periods: PeriodGenerator | None = None
    ) -> None:
        if periods is not None and not callable(periods):
            raise TypeError(f"periods must be a PeriodGenerator, got {type(periods).__name__}")
        self.config = config
        self.periods = RandomPeriods() if periods is None else periods
        self.scalar = config.num_devices == 1
        self.xp = SCALAR_MATH if self.scalar else NUMPY_MATH
        self.state: BandwidthSplitState | None = None
        self.columns: PeriodColumns | None = None
        """The current episode's per-period inputs (set by ``reset``)."""

    def reset(self, rng: np.random.Generator) -> None:
        """Draw an episode from ``rng`` and start its first period."""
        cfg = self.config
        batch = checked_draws(cfg, self.periods(cfg, [rng]), 1)
        both = episode_channels(cfg, batch)
        draws = PeriodDraws(batch.distance_m[0], batch.shadowing_db[0], batch.available_samples[0])
        channels = EpisodeChannels(both.gain_db[0], both.upload_snr[0], both.download_snr[0])
        columns = (
            channels.gain_db,
            channels.upload_snr,
            channels.download_snr,
            draws.available_samples,
        )
        self.columns = PeriodColumns(
            *(column[:, 0].tolist() if self.scalar else list(column) for column in columns)
        )
        shape = () if self.scalar else (cfg.num_devices,)
        self.state = BandwidthSplitState(0, draws, channels, initial_devices(cfg, shape))

    @property
    def done(self) -> bool:
        """Whether every period of the episode has been played."""
        return self.state is not None and self.state.period >= self.config.periods_per_episode

    def step(self, upload_share: Any, download_share: Any, model_size: Any = None) -> SplitOutcome:
        """Play the current period with these shares (in [0, 1], summing to at most 1 over the
        devices) and return its outcome."""
        st = self.state
        if st is None or self.done:
            raise RuntimeError("no period to play: call reset()")
        t = st.period
        columns = self.columns
        devices = st.devices
        outcome = split_outcome(
            self.config,
            columns.upload_snr[t],
            columns.download_snr[t],
            columns.available_samples[t],
            devices.device_map,
            upload_share,
            download_share,
            model_size,
            devices.fresh_data,
            self.xp,
        )
        st.devices = carry_over(self.config, devices, outcome, self.xp)
        st.last_outcome = outcome
        st.period = t + 1
        return outcome

    def problem(self) -> BandwidthSplitProblem:
        """The current period's instance (K devices, each on its own band for K = 1 or sharing
        it for K > 1): what the next decision is applied to."""
        st = self.state
        t, devices = st.period, st.devices
        return BandwidthSplitProblem.from_gains(
            self.config,
            st.channels.gain_db[t],
            st.draws.available_samples[t],
            devices.device_map,
            devices.fresh_data,
        )
