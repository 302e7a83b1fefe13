"""BandwidthSplit-v0 and BandwidthSplitMulti-v0: one link shared by data upload and model download.

Source: D. Yang, S. Zhang, H. Zhang, L. Song, "End-Edge Model Collaboration: Bandwidth Allocation
for Data Upload and Model Transmission", arXiv 2504.14310. Model as specified in
``docs/bandwidth_split.md`` (everything numeric is our
choice).

The physics (sub-band rates, the samples and model a split carries, the mAP) lives in
:mod:`mec_gym.problems.bandwidth_split` and the periods (mobility, shadowing, N_avail, the drift
of the fresh data) in :mod:`mec_gym.simulators.bandwidth_split`; this module maps actions to
shares and states to observations. The functions that do so (:func:`own_link_split`,
:func:`shared_band_split`, :class:`ObservationScale`) are shared with the batched vector env
(:mod:`mec_gym.envs.bandwidth_split_vector`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, NamedTuple

import numpy as np
from gymnasium import spaces

from mec_gym.envs.base import EpisodeMeans, MecEnv, env_metadata, real_values
from mec_gym.problems.bandwidth_split import (
    NUMPY_MATH,
    SCALAR_MATH,
    ArrayMath,
    BandwidthSplitProblem,
    channel_gain_db,
    upload_airtime,
)
from mec_gym.simulators.bandwidth_split import (
    BandwidthSplitEnvConfig,
    BandwidthSplitSimulator,
    DeviceState,
    PeriodGenerator,
)

__all__ = [
    "BandwidthSplitEnv",
    "BandwidthSplitEnvConfig",
    "ObservationScale",
    "COMPONENTS",
    "DEVICE_FEATURES",
    "BANDWIDTH_SCALE",
    "SHADOWING_SPAN",
    "SAMPLES_SPAN",
    "entries_per_device",
    "action_space_for",
    "observation_space_for",
    "model_size_from_entry",
    "own_link_split",
    "shared_band_split",
    "PeriodValues",
    "period_values",
]

BANDWIDTH_SCALE = 20e6
"""Observation: B is observed as ``B / BANDWIDTH_SCALE`` (Hz), clipped to 1."""
SHADOWING_SPAN = 5.0
"""Observation: the gain range is widened by this many shadowing standard deviations (a draw
beyond it, probability 6e-7, is clipped)."""
SAMPLES_SPAN = 10.0
"""Observation: N_avail is observed as ``N_avail / (mean + SAMPLES_SPAN (sqrt(mean) + 1))``
(a Poisson draw beyond it is about 10 standard deviations out, and clipped)."""
DEVICE_FEATURES = (
    "gain_db",
    "available_samples",
    "device_map",
    "fresh_data",
    "held_size",
    "held_credit",
)
"""The observed values of each device, in order (see the Observation Space)."""
COMPONENTS = {
    "n": "samples",
    "M": "Mparam",
    "r_u": "bit/s",
    "r_d": "bit/s",
    "upload_time": "s",
    "upload_energy": "J",
}
"""``info`` components (episode means per device) and their units."""


def entries_per_device(config: BandwidthSplitEnvConfig) -> int:
    """Action entries per device: the upload share (one device) or the two share weights
    (several), plus one for the model size unless ``model_size="auto"``."""
    shares = 1 if config.num_devices == 1 else 2
    return shares + (config.model_size != "auto")


def action_space_for(config: BandwidthSplitEnvConfig) -> spaces.Box:
    """``Box(0, 1, (K * entries_per_device,), float32)`` (see the env's Action Space)."""
    return spaces.Box(0.0, 1.0, (config.num_devices * entries_per_device(config),), np.float32)


def observation_space_for(config: BandwidthSplitEnvConfig) -> spaces.Box:
    """``Box(-1, 1, (6 K + 2,), float32)`` (see the env's Observation Space)."""
    size = len(DEVICE_FEATURES) * config.num_devices + 2
    return spaces.Box(-1.0, 1.0, (size,), np.float32)


def model_size_from_entry(
    config: BandwidthSplitEnvConfig, entry: Any, xp: ArrayMath = NUMPY_MATH
) -> Any:
    """The model size (million parameters) an action entry asks for, after clipping it to
    [0, 1]: ``M_min + u (M_max - M_min)`` ("continuous"), or ``model_sizes[j]`` for
    ``j / m <= u < (j + 1) / m`` with m sizes ("discrete")."""
    unit = xp.minimum(xp.maximum(entry, 0.0), 1.0)
    if config.model_size == "continuous":
        span = config.max_model_size - config.min_model_size
        return xp.minimum(config.min_model_size + unit * span, config.max_model_size)
    sizes = config.model_sizes
    size = sizes[0]
    for index in range(1, len(sizes)):
        size = xp.where(unit >= index / len(sizes), sizes[index], size)
    return size


def own_link_split(
    config: BandwidthSplitEnvConfig, entries: Any, xp: ArrayMath = NUMPY_MATH
) -> tuple[Any, Any, Any]:
    """(upload share, download share, model size or None) of one device on its own link:
    ``beta = clip(entries[0], 0, 1)``, the download ``1 - beta``; ``entries[1]`` the model size
    (unless "auto"). Entries are floats (``SCALAR_MATH``) or arrays."""
    beta = xp.minimum(xp.maximum(entries[0], 0.0), 1.0)
    size = None if config.model_size == "auto" else model_size_from_entry(config, entries[1], xp)
    return beta, 1.0 - beta, size


def shared_band_split(
    config: BandwidthSplitEnvConfig, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(upload shares, download shares, model sizes or None) of K devices sharing the band,
    from weights of shape (..., K, entries): clipped to [0, 1], the two share weights are the
    shares if they sum to at most 1 and are scaled to sum to 1 otherwise."""
    clipped = np.minimum(np.maximum(weights, 0.0), 1.0)
    upload, download = clipped[..., 0], clipped[..., 1]
    total = np.add.reduce(upload, axis=-1) + np.add.reduce(download, axis=-1)
    scale = (1.0 / np.maximum(total, 1.0))[..., None]
    size = None if config.model_size == "auto" else model_size_from_entry(config, weights[..., 2])
    return upload * scale, download * scale, size


class PeriodValues(NamedTuple):
    """The score and components of a period, per device (floats or arrays), in the order of
    the env's evaluated keys (``"map"``, then :data:`COMPONENTS`)."""

    map: Any
    """mAP of the model the device holds after the period."""
    n: Any
    """Fresh samples uploaded."""
    M: Any
    """Million parameters of the model delivered (0 if none arrives)."""
    r_u: Any
    """Upload rate, bit/s."""
    r_d: Any
    """Download rate, bit/s."""
    upload_time: Any
    """The upload airtime ``n s / r_u``, s."""
    upload_energy: Any
    """``P_u`` times the airtime, J."""


def period_values(
    config: BandwidthSplitEnvConfig, outcome: Any, xp: ArrayMath = NUMPY_MATH
) -> PeriodValues:
    """The score and components of a period with ``outcome`` (a ``SplitOutcome``), per device
    (floats or arrays; see :class:`PeriodValues`)."""
    airtime = upload_airtime(config, outcome.samples, outcome.upload_rate, xp)
    return PeriodValues(
        map=outcome.map,
        n=outcome.samples,
        M=outcome.model_size,
        r_u=outcome.upload_rate,
        r_d=outcome.download_rate,
        upload_time=airtime,
        upload_energy=config.upload_power_w * airtime,
    )


class ObservationScale:
    """The maps of the observed values onto [-1, 1] and [0, 1], and their inverse.

    Per device: the gain, linear from ``[g(max_distance) - 5 sigma, g(min_distance) + 5 sigma]``
    onto [-1, 1]; ``N_avail / samples_high``; ``mAP / a``; the fresh data and the held model's
    credit as ``x / (x + n0)``; ``M_held / M_max``. The gain and N_avail are clipped (the others
    lie in [0, 1] by construction).
    """

    def __init__(self, config: BandwidthSplitEnvConfig) -> None:
        far, near = channel_gain_db(
            config, np.array([config.max_distance_m, config.min_distance_m])
        )
        spread = SHADOWING_SPAN * config.shadowing_std_db + 0.5  # > 0 even for a fixed gain
        self.gain_low, self.gain_high = float(far - spread), float(near + spread)
        self.gain_scale = 2.0 / (self.gain_high - self.gain_low)
        self.gain_offset = -1.0 - self.gain_low * self.gain_scale
        mean = config.mean_available_samples
        self.samples_high = mean + SAMPLES_SPAN * (math.sqrt(mean) + 1.0)
        self.map_high = max(config.map_a, 1e-12)
        self.n0 = config.map_n0
        self.size_high = config.max_model_size
        self.bandwidth = min(config.bandwidth_hz / BANDWIDTH_SCALE, 1.0)
        """The observed B (constant)."""
        self.periods = config.periods_per_episode
        """Periods per episode (the progress's denominator)."""

    def progress(self, period: int) -> float:
        """The observed progress: the fraction of the episode's periods played before
        ``period``."""
        return period / self.periods

    def device_features(
        self, gain_db: Any, available: Any, devices: DeviceState, xp: ArrayMath = NUMPY_MATH
    ) -> tuple[Any, ...]:
        """The six observed values of ``DEVICE_FEATURES`` (floats or arrays): the
        :meth:`period_features` of the period's gain and N_avail, then the
        :meth:`state_features` of the devices."""
        return self.period_features(gain_db, available, xp) + self.state_features(devices)

    def period_features(
        self, gain_db: Any, available: Any, xp: ArrayMath = NUMPY_MATH
    ) -> tuple[Any, Any]:
        """The observed gain and N_avail of ``DEVICE_FEATURES`` (floats or arrays; they depend on
        the drawn periods only)."""
        gain = xp.minimum(xp.maximum(gain_db * self.gain_scale + self.gain_offset, -1.0), 1.0)
        return gain, xp.minimum(available / self.samples_high, 1.0)

    def state_features(self, devices: DeviceState) -> tuple[Any, Any, Any, Any]:
        """The observed mAP, fresh data, held model size and credit of ``DEVICE_FEATURES``
        (floats or arrays)."""
        fresh, credit, n0 = devices.fresh_data, devices.held_credit, self.n0
        return (
            devices.device_map / self.map_high,
            fresh / (fresh + n0),
            devices.held_size / self.size_high,
            credit / (credit + n0),
        )

    def decode(self, observation: np.ndarray) -> dict[str, Any]:
        """Physical values behind an observation (float64): per device (arrays of shape (K,))
        ``gain_db`` (dB), ``available_samples``, ``device_map``, ``fresh_data`` (samples),
        ``held_size`` (million parameters), ``held_credit`` (samples); ``bandwidth_hz`` (Hz) and
        ``progress`` (fraction of the episode's periods played). Exact up to float32 rounding
        and the clipping of the gain and N_avail. A batch of observations (leading axes) gives
        arrays of shape (batch..., K) and (batch...)."""
        obs = np.asarray(observation, dtype=np.float64)
        per = self.device_columns(obs)

        def unsquash(x: np.ndarray) -> np.ndarray:
            x = np.minimum(x, 1.0 - 1e-7)
            return self.n0 * x / (1.0 - x)

        return {
            "gain_db": (per[..., 0] - self.gain_offset) / self.gain_scale,
            "available_samples": per[..., 1] * self.samples_high,
            "device_map": per[..., 2] * self.map_high,
            "fresh_data": unsquash(per[..., 3]),
            "held_size": per[..., 4] * self.size_high,
            "held_credit": unsquash(per[..., 5]),
            "bandwidth_hz": (obs[..., -2] * BANDWIDTH_SCALE)[()],
            "progress": obs[..., -1][()],
        }

    def gain_step_db(self, observation: np.ndarray) -> np.ndarray:
        """Per device, dB, shape (batch..., K): one float32 step of the observed gain feature,
        at least what rounding the observation moved the gain by, either way."""
        feature = self.device_columns(np.asarray(observation, dtype=np.float32))[..., 0]
        return np.abs(np.spacing(feature)).astype(np.float64) / self.gain_scale

    @staticmethod
    def device_columns(obs: np.ndarray) -> np.ndarray:
        """The per-device features of observations (batch..., 6K + 2): (batch..., K, 6)."""
        return obs[..., :-2].reshape(*obs.shape[:-1], -1, len(DEVICE_FEATURES))


class BandwidthSplitEnv(MecEnv[BandwidthSplitEnvConfig]):
    """Every period, split one link between uploading fresh data and downloading the model.

    ## Description
    A device runs object detection with a small model; the edge server keeps a large model up to
    date with the samples the device uploads and sends back a distilled model every period of
    ``T`` s. One link of ``B`` Hz carries both: a share ``beta`` uploads samples (``n <= N_avail``
    of ``s`` bit), the rest downloads the distilled model (``M`` million parameters, the largest
    that fits). The device's accuracy is
    ``mAP(n_eff, M) = a - b M^(-g) - c (1 + n_eff / n0)^(-alpha)``. The data distribution
    drifts, so fresh data keeps its value only for a while: the edge's effective fresh data F
    decays by ``freshness_decay`` per period and grows with every upload, ``n_eff = F + n``,
    and a held model's credit decays alike. Uploading more when the channel is good pays
    later; a large model kept from a good period lets later periods spend the band on data (a
    device keeps its model when no new one arrives). The device moves (distance random walk,
    AR(1) shadowing) and ``N_avail`` is Poisson. ``BandwidthSplitMulti-v0``: K = 4 devices
    share the band.

    ## Action Space
    One device (``num_devices=1``): ``Box(0, 1, (1,), float32)``, the upload share ``beta``; the
    download gets ``1 - beta`` and carries the largest model that fits (``model_size="auto"``).
    ``model_size="continuous"``: ``Box(0, 1, (2,))``, ``[beta, u]`` with ``M = M_min + u (M_max -
    M_min)``; ``"discrete"``: ``[beta, u]`` with ``M = model_sizes[floor(5 u)]`` (the YOLOv8 n..x
    sizes, u = 1 the largest). A model the download cannot carry in the period does not arrive.

    K devices (``num_devices >= 2``): ``Box(0, 1, (2K,))`` device-major, ``(w_k^u, w_k^d)`` per
    device (a third entry ``u_k`` for the model size with the options above); the weights are the
    shares ``(beta_k^u, beta_k^d)`` if they sum to at most 1 and are scaled to sum to 1 otherwise.

    Entries are clipped to [0, 1]; every action is feasible. A non-finite entry or a wrong size
    raises ``ValueError``. ``action_from_split`` gives the action of a solver's shares (float64:
    a float32 rounding up of a share at the ``M_min`` limit would lose the model).

    ## Observation Space
    ``Box(-1, 1, (6K + 2,), float32)``: per device (device-major) the channel gain, N_avail, the
    device's current mAP (the held model's, this period's fallback), the effective fresh data F
    carried into the period, the held model's size and its fresh-data credit, normalised by
    :class:`ObservationScale`; then ``B / BANDWIDTH_SCALE`` and the fraction of the episode's
    periods played (so that an undiscounted critic sees how much return remains).
    ``decode_observation`` inverts the map and ``problem_from_observation`` rebuilds the
    period's :class:`~mec_gym.problems.bandwidth_split.BandwidthSplitProblem` from it.

    ## Rewards
    The period's mAP of the model each device ends the period with, averaged over the devices
    (0.3 to 0.6 at the defaults); the return is the episode's sum.

    ## Starting State
    Each device at a uniform distance in ``[min_distance_m, max_distance_m]`` with stationary
    shadowing, holding the smallest model (``M_min``) with no fresh data (``F = 0``).

    ## Episode End
    Truncated after ``periods_per_episode`` periods (never terminated); the env truncates itself,
    so no ``TimeLimit`` is registered.

    ## Arguments
    ``gymnasium.make("BandwidthSplit-v0", config=None, render_mode=None, periods=None,
    **overrides)``: ``config`` is a ``BandwidthSplitEnvConfig`` (or a dict); overrides are its
    fields (e.g. ``model_size="discrete"``, ``freshness_decay=0.0``); ``periods`` draws the
    episodes (``RandomPeriods()`` by default, ``PeriodTrace`` for fixed periods).
    ``gymnasium.make_vec(id, num_envs, vectorization_mode="vector_entry_point")`` gives the batched
    :class:`~mec_gym.envs.bandwidth_split_vector.BandwidthSplitVectorEnv`.

    ## Info
    Means per device over the episode's periods so far: ``map`` (the score), ``n`` (samples
    uploaded), ``M`` (million parameters delivered, 0 if none), ``r_u``, ``r_d`` (bit/s),
    ``upload_time`` (upload airtime, s), ``upload_energy`` (the device's transmit energy, J);
    the last period's ``period_map``
    (= reward) and ``period`` (periods played). ``env.unwrapped.last_outcome`` holds the last
    period's ``SplitOutcome``.

    ## Version History
    - v0, 2026-11-28 (numerics of the native vector env only): with one device and numba, the
      vector env steps in a compiled loop with the ``math`` module's log1p and powers, as the
      scalar env does (it differed in the last bit where numpy has its own AVX-512 versions).
    - v0, 2026-11-26 (API only): configs without a usable link (mean SNR outside [-30, 150] dB
      over the walk), with shadowing above 30 dB or with episodes too large for memory are
      refused naming the fields.
    - v0: initial version.

    ## System model and source
    Yang, Zhang, Zhang, Song, arXiv 2504.14310 (see the module docstring); spec
    ``bandwidth_split.md``. ``env.simulator`` (``mec_gym.simulators.bandwidth_split``) runs the
    periods and ``env.state`` is its state.
    """

    metadata: ClassVar[dict[str, Any]] = env_metadata(
        score="map", higher_is_better=True, components=COMPONENTS
    )

    config_class = BandwidthSplitEnvConfig

    def __init__(
        self,
        config: BandwidthSplitEnvConfig | dict[str, Any] | None = None,
        render_mode: str | None = None,
        periods: PeriodGenerator | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(config, render_mode, **overrides)
        cfg = self.config
        self.simulator = BandwidthSplitSimulator(cfg, periods)
        self.scale = ObservationScale(cfg)
        self.action_space = action_space_for(cfg)
        self.observation_space = observation_space_for(cfg)
        self.action_size = int(self.action_space.shape[0])
        self.map_history: list[float] = []
        """Mean mAP of each period played in the episode (for rendering)."""

    # ------------------------------------------------------------------ gym API
    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any]]:
        self._episode_means = EpisodeMeans(self.evaluated_keys())
        self.simulator.reset(self.np_random)
        self.map_history = []
        return self._observation(), {}

    def _step_episode(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        cfg = self.config
        simulator = self.simulator
        outcome = simulator.step(*self.split_from_action(action))
        values = period_values(cfg, outcome, simulator.xp)
        if not simulator.scalar:  # means over the devices
            values = (np.add.reduce(np.stack(values), axis=-1) / cfg.num_devices).tolist()
        info: dict[str, Any] = self._episode_means.add_in_order(values)
        reward = values[0]
        info["period_map"] = reward
        info["period"] = period = simulator.state.period
        self.map_history.append(reward)
        truncated = period >= cfg.periods_per_episode
        return self._observation(), reward, False, truncated, info

    @property
    def episode_over(self) -> bool:
        return self.simulator.done

    # ------------------------------------------------------------------ actions
    def split_from_action(self, action: Any) -> tuple[Any, Any, Any]:
        """(upload shares, download shares, model sizes or None) of an action (see the Action
        Space): floats with one device, arrays of shape (K,) otherwise."""
        flat = self.action_space.shape
        rows = (self.config.num_devices, flat[0] // self.config.num_devices)
        if np.shape(action) not in (flat, rows) and not (flat == (1,) and np.ndim(action) == 0):
            raise ValueError(
                f"action must have shape {flat} (or {rows}, a row per device), got "
                f"{np.shape(action)}"
            )
        values = real_values(action)
        if self.simulator.scalar:
            entries = values.reshape(-1).tolist()
            if not all(map(math.isfinite, entries)):
                raise ValueError(f"action must be finite, got {action!r}")
            return own_link_split(self.config, entries, SCALAR_MATH)
        if not np.isfinite(values).all():
            raise ValueError(f"action must be finite, got {action!r}")
        cfg = self.config
        return shared_band_split(cfg, values.reshape(cfg.num_devices, -1))

    def action_from_split(
        self,
        upload_share: np.ndarray | float,
        download_share: np.ndarray | float | None = None,
        model_size: np.ndarray | float | None = None,
    ) -> np.ndarray:
        """The action (float64) that applies these shares (and model sizes, ignored with
        ``model_size="auto"``; a model size is mapped to the nearest choice at or below it).

        One device: ``beta`` (its download is ``1 - beta``; ``download_share`` is ignored).
        K devices: the shares themselves (exact if they sum to at most 1)."""
        cfg = self.config
        columns = [np.asarray(upload_share, dtype=float).reshape(-1)]
        if cfg.num_devices > 1:
            columns.append(np.asarray(download_share, dtype=float).reshape(-1))
        if cfg.model_size != "auto":
            size = np.broadcast_to(np.asarray(model_size, dtype=float), columns[0].shape)
            if cfg.model_size == "continuous":
                span = cfg.max_model_size - cfg.min_model_size
                columns.append((size - cfg.min_model_size) / span)
            else:
                sizes = np.asarray(cfg.model_sizes)
                index = np.maximum(np.searchsorted(sizes, size * (1 + 1e-12), "right") - 1, 0)
                columns.append((index + 0.5) / sizes.size)
        return np.clip(np.stack(columns, axis=-1), 0.0, 1.0).reshape(-1)

    # ------------------------------------------------------------------ observations
    def _observation(self) -> np.ndarray:
        simulator = self.simulator
        st = simulator.state
        t = st.period
        columns = simulator.columns
        features = self.scale.device_features(
            columns.gain_db[t], columns.available_samples[t], st.devices, simulator.xp
        )
        progress = self.scale.progress(t)
        if simulator.scalar:
            return np.array([*features, self.scale.bandwidth, progress], dtype=np.float32)
        per_device = np.stack(features, axis=-1).reshape(-1)
        return np.concatenate((per_device, (self.scale.bandwidth, progress))).astype(np.float32)

    def decode_observation(self, observation: np.ndarray) -> dict[str, Any]:
        """Physical values behind an observation (see :meth:`ObservationScale.decode`)."""
        return self.scale.decode(observation)

    def problem_from_observation(self, observation: np.ndarray) -> BandwidthSplitProblem:
        """The period's instance rebuilt from an observation: the K devices' gains, N_avail,
        current mAP (the fallback) and carried fresh data, with this env's config. With one
        device a batch of observations gives one instance per observation.

        The gains are taken one float32 step of their feature low (at the defaults at most
        3e-6 dB for a gain within the observed range, much less near its middle;
        :meth:`ObservationScale.gain_step_db`): a split planned on the instance then
        delivers its model on the true channel (a model arrives only if the download carries all
        of it, and the observation's rounding alone would miss that for a split planned to the
        limit). Not below the observed range: a gain clipped to its floor (``SHADOWING_SPAN``
        shadowing deviations and 0.5 dB below the farthest distance's) decodes as the floor,
        above the true gain.
        """
        if self.config.num_devices > 1 and np.ndim(observation) != 1:
            raise ValueError("with several devices, rebuild one observation at a time")
        decoded = self.decode_observation(observation)
        return BandwidthSplitProblem.from_gains(
            self.config,
            decoded["gain_db"] - self.scale.gain_step_db(observation),
            decoded["available_samples"],
            decoded["device_map"],
            decoded["fresh_data"],
        )

    # ------------------------------------------------------------------ queries
    @property
    def problem(self) -> BandwidthSplitProblem:
        """The current period's instance (the one the next action is applied to), exact."""
        return self.simulator.problem()

    @property
    def period(self) -> int:
        """Periods played in the episode."""
        return self.simulator.state.period

    @property
    def last_outcome(self) -> Any:
        """The previous period's ``SplitOutcome`` (None at the start of an episode)."""
        return self.simulator.state.last_outcome

    # ------------------------------------------------------------------ rendering
    def _render_text(self) -> str:
        from mec_gym.envs.bandwidth_split_render import render_text

        return render_text(self)

    def _render_rgb(self) -> np.ndarray:
        from mec_gym.envs.bandwidth_split_render import render_rgb

        return render_rgb(self)
