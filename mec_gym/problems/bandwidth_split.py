"""End-edge model collaboration: one link's bandwidth split between data upload and model download.

Source: D. Yang, S. Zhang, H. Zhang, L. Song, "End-Edge Model Collaboration: Bandwidth Allocation
for Data Upload and Model Transmission", arXiv 2504.14310. Model as specified in
``docs/bandwidth_split.md``; everything numeric is our choice.

One update period of ``T`` s: the device holds ``N_avail`` new samples of ``s`` bit; a share
``beta`` of the band ``B`` carries samples up to the edge and a share ``d`` (``1 - beta`` on a
device's own link) carries the distilled model of ``M`` million parameters (``b_p`` bit each)
back down, on parallel sub-bands::

    r(share) = share B log2(1 + snr / share)         snr = P g / (N0 B), the full-band SNR
    n = min(N_avail, T r_u / s)                      samples uploaded (continuous)
    M = min(M_max, T r_d / (b_p 1e6))                largest model the download carries
    mAP(n, M) = a - b M^(-g) - c (1 + n / n0)^(-alpha)

An instance may carry fresh data from earlier periods (``carried_samples``, the sequential
environment's decayed "effective fresh data" F): the staleness term then uses ``F + n``, and
``F = 0`` is the one-period problem of the spec.

A download that cannot carry ``M_min`` in the period delivers no model (``M = 0``): the device
keeps the model it holds, whose mAP is the instance's ``fallback_map`` (by default
``mAP(0, M_min)``, the smallest model without fresh data, so that delivering a model is never worse
than not). Nothing is NaN for finite inputs: a rate is 0 at a share of 0, and ``M^(-g)`` is only
taken for ``M >= M_min``.

:class:`BandwidthSplitProblem` holds one period of one or several instances (arrays of shape
(K,): devices or periods) and :meth:`BandwidthSplitProblem.evaluate` is the one cost function that
environments and solvers share. Its computation, :func:`split_outcome`, is written once
against a small math namespace (:class:`ArrayMath`): with ``NUMPY_MATH`` (the default) on
arrays of any shape (a vector environment's batch), with ``SCALAR_MATH`` on Python floats (one
device: a few microseconds, the scalar environment's fast path).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from typing import Any

import numpy as np

from mec_gym.config import SystemConfig
from mec_gym.models.channel import (
    PATH_LOSS_SLOPE_RANGE_DB,
    db_to_linear,
    dbm_to_watt,
    path_loss_db,
)

__all__ = [
    "BandwidthSplitConfig",
    "BandwidthSplitProblem",
    "SplitOutcome",
    "ArrayMath",
    "NUMPY_MATH",
    "SCALAR_MATH",
    "SIZE_RTOL",
    "channel_gain_db",
    "full_band_snr",
    "subband_rate",
    "subband_rate_slope",
    "share_for_rate",
    "samples_carried",
    "params_carried",
    "upload_airtime",
    "split_outcome",
    "detection_map",
    "detection_map_gradient",
    "bisect_threshold",
]

SIZE_RTOL = 1e-9
"""A download that falls short of a model by less than this fraction of its size (rounding) still
delivers it."""

LN2 = math.log(2.0)
MIN_RATE = 1e-300
"""Rates are divided by at least this many bit/s (:func:`upload_airtime` of no samples is 0)."""
MIN_SHARE = 1e-250
"""Shares in (0, MIN_SHARE) are rated as MIN_SHARE by :func:`subband_rate` (a rate of ~1e-240
bit/s either way); it keeps ``snr / share`` finite for any SNR below 1e58."""


@dataclass(frozen=True)
class BandwidthSplitConfig(SystemConfig):
    """Parameters of the bandwidth split system (defaults from the spec, section 2)."""

    period_s: float = 20.0
    """T, length of an update period, s."""
    sample_bits: float = 1e6
    """s, size of one data sample, bit."""
    mean_available_samples: float = 1000.0
    """Mean of N_avail, the new samples a device holds per period (the default N_avail of an
    instance; an environment draws Poisson around it)."""
    bandwidth_hz: float = 2e6
    """B, bandwidth of the link that upload and download share, Hz."""
    upload_power_w: float = 0.2
    """P_u, device transmit power, W."""
    download_power_w: float = 1.0
    """P_e, edge server transmit power, W."""
    distance_m: float = 100.0
    """Default device-edge distance, m."""
    path_loss_intercept_db: float = 128.1
    """Path loss at 1 km, dB."""
    path_loss_slope_db: float = 37.6
    """Path loss per decade of distance, dB."""
    noise_dbm_per_hz: float = -174.0
    """N0, noise power spectral density, dBm/Hz."""
    min_model_size: float = 3.2
    """M_min, smallest distilled model (YOLOv8n), million parameters."""
    max_model_size: float = 68.2
    """M_max, largest distilled model (YOLOv8x), million parameters."""
    model_sizes: tuple[float, ...] = (3.2, 11.2, 25.9, 43.7, 68.2)
    """The discrete model family (YOLOv8 n, s, m, l, x), million parameters, increasing."""
    bits_per_param: float = 16.0
    """b_p, bits per model parameter."""
    map_a: float = 0.779
    """a of mAP(n, M): the mAP of an infinitely large model with unlimited fresh data."""
    map_b: float = 0.501
    """b of mAP(n, M): weight of the model-capacity term b M^(-g)."""
    map_g: float = 0.179
    """g of mAP(n, M): exponent of the model-capacity term (M in million parameters)."""
    map_c: float = 0.10
    """c of mAP(n, M): staleness penalty with no fresh data."""
    map_n0: float = 100.0
    """n0 of mAP(n, M): fresh samples that reduce the staleness penalty by 1 - 2^(-alpha)."""
    map_alpha: float = 0.5
    """alpha of mAP(n, M): decay exponent of the staleness penalty."""

    def validate(self) -> None:
        for name in (
            "period_s",
            "sample_bits",
            "bandwidth_hz",
            "upload_power_w",
            "download_power_w",
            "distance_m",
            "min_model_size",
            "bits_per_param",
            "map_g",
            "map_n0",
            "map_alpha",
        ):
            self._require_positive(name)
        self._require_number("mean_available_samples", 0)
        self._require_number("path_loss_intercept_db")
        self._require_number("path_loss_slope_db", *PATH_LOSS_SLOPE_RANGE_DB)
        self._require_number("noise_dbm_per_hz", -250, 0)
        self._require_number("max_model_size", self.min_model_size, low_field="min_model_size")
        sizes = self.model_sizes
        if (
            not isinstance(sizes, tuple)
            or not sizes
            or not all(isinstance(m, (int, float)) and not isinstance(m, bool) for m in sizes)
            or any(not self.min_model_size <= m <= self.max_model_size for m in sizes)
            or any(b <= a for a, b in pairwise(sizes))
        ):
            raise ValueError(
                f"{type(self).__name__}.model_sizes must be increasing numbers in "
                f"[min_model_size, max_model_size] = [{self.min_model_size}, "
                f"{self.max_model_size}], got {sizes!r}"
            )
        self._require_number("map_a", 0, 1)
        self._require_number("map_b", 0)
        self._require_number("map_c", 0)
        with np.errstate(over="ignore", invalid="ignore"):  # refused below, not warned
            worst = float(detection_map(self, 0.0, self.min_model_size))
        if not worst >= 0:  # NaN too: b = 0 times an overflowing M_min^(-g)
            raise ValueError(
                f"{type(self).__name__}.map_c (with map_a, map_b, map_g, min_model_size): "
                f"mAP(0, M_min) = a - b M_min^(-g) - c must be a number >= 0, got {worst:.4f} "
                f"(map_a={self.map_a}, map_b={self.map_b}, map_c={self.map_c}, "
                f"min_model_size={self.min_model_size}); raise map_a or min_model_size, or lower "
                "map_b or map_c"
            )

    @property
    def noise_w_per_hz(self) -> float:
        """N0, noise power spectral density, W/Hz."""
        return float(dbm_to_watt(self.noise_dbm_per_hz))


# ------------------------------------------------------------------------------ array math
@dataclass(frozen=True)
class ArrayMath:
    """The few non-arithmetic functions the per-period formulas call, so that one formula runs
    on numpy arrays (``NUMPY_MATH``) and on Python floats (``SCALAR_MATH``, math-module speed:
    about 10x faster than numpy on one value)."""

    asfloat: Callable[[Any], Any]
    """A value as float(s): ``np.asarray(x, float)`` (scalars as numpy scalars) or ``float``."""
    maximum: Callable[[Any, Any], Any]
    minimum: Callable[[Any, Any], Any]
    greater: Callable[[Any, Any], Any]
    log1p: Callable[[Any], Any]
    where: Callable[[Any, Any, Any], Any]
    """``where(condition, x, y)``: x where condition holds, else y."""


def _numpy_asfloat(value: Any) -> Any:
    return np.asarray(value, dtype=float)[()]


def _numpy_where(condition: Any, x: Any, y: Any) -> Any:
    return np.where(condition, x, y)[()]


def _scalar_where(condition: bool, x: float, y: float) -> float:
    return x if condition else y


NUMPY_MATH = ArrayMath(
    asfloat=_numpy_asfloat,
    maximum=np.maximum,
    minimum=np.minimum,
    greater=np.greater,
    log1p=np.log1p,
    where=_numpy_where,
)
"""numpy ufuncs: arrays broadcast (numpy scalars in give numpy scalars out)."""
SCALAR_MATH = ArrayMath(
    asfloat=float,
    maximum=max,
    minimum=min,
    greater=operator.gt,
    log1p=math.log1p,
    where=_scalar_where,
)
"""Python builtins and ``math``, for Python floats only."""


# ----------------------------------------------------------------------------------- physics
def channel_gain_db(
    config: BandwidthSplitConfig,
    distance_m: np.ndarray | float,
    shadowing_db: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Channel power gain in dB: minus the path loss at ``distance_m`` m, plus shadowing (dB)."""
    loss = path_loss_db(distance_m, config.path_loss_intercept_db, config.path_loss_slope_db)
    return -np.asarray(loss, dtype=float) + shadowing_db


def full_band_snr(
    config: BandwidthSplitConfig, power_w: float | np.ndarray, gain_db: np.ndarray | float
) -> np.ndarray:
    """``P g / (N0 B)``: the linear SNR of a transmission of ``power_w`` W over the whole band
    (arrays broadcast)."""
    noise = config.noise_w_per_hz * config.bandwidth_hz
    return power_w * np.asarray(db_to_linear(gain_db)) / noise


def _log_ratio(share: np.ndarray, snr: np.ndarray) -> np.ndarray:
    """``ln(1 + snr / share)`` (inf at a share of 0), accurate at low and high SNR alike."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = snr / share
        small = x < 1.0
        return np.where(
            small, np.log1p(np.where(small, x, 0.0)), np.log(share + snr) - np.log(share)
        )


def subband_rate(
    share: np.ndarray | float,
    bandwidth_hz: float,
    snr: np.ndarray | float,
    xp: ArrayMath = NUMPY_MATH,
) -> np.ndarray:
    """``share B log2(1 + snr / share)`` in bit/s: the rate of a sub-band of ``share`` of the
    band ``B`` Hz with the full power, where ``snr`` is the full-band SNR (0 at a share of 0).

    The same as ``mec_gym.models.channel.shannon_rate(share * B, P, g, N0)`` but accurate at SNRs
    below 1e-8 (log1p) and finite at vanishing shares (see ``MIN_SHARE``); concave and
    increasing in ``share``. Arrays broadcast (``xp``: see :class:`ArrayMath`).
    """
    positive = xp.maximum(share, MIN_SHARE)
    return xp.greater(share, 0.0) * (positive * (bandwidth_hz / LN2)) * xp.log1p(snr / positive)


SERIES_COEFFICIENTS = 1.0 / np.arange(17, 1, -1)
"""1/17, ..., 1/2: Horner coefficients of ``sum_{k>=2} t^k / k`` (exact to 1e-16 for t < 0.1)."""


def subband_rate_slope(
    share: np.ndarray | float, bandwidth_hz: float, snr: np.ndarray | float
) -> np.ndarray:
    """Derivative of :func:`subband_rate` in ``share``, bit/s per unit share (+inf at 0):
    ``B [ln(1 + x) - x / (1 + x)] / ln 2`` with ``x = snr / share``; positive and decreasing.

    With ``t = x / (1 + x)`` the bracket is ``-ln(1 - t) - t = sum_{k>=2} t^k / k``, summed as a
    series for ``t < 0.1`` where the difference would cancel.
    """
    share = np.asarray(share, dtype=float)
    snr = np.asarray(snr, dtype=float)
    t = np.array(snr / (share + snr))
    bracket = np.array(_log_ratio(share, snr) - t)
    low = t < 0.1
    if low.any():
        t_low = t[low]
        series = np.zeros(t_low.shape)
        for coefficient in SERIES_COEFFICIENTS:
            series = series * t_low + coefficient
        bracket[low] = series * t_low * t_low
    return bandwidth_hz * bracket / LN2


def share_for_rate(
    rate: np.ndarray | float, bandwidth_hz: float, snr: np.ndarray | float
) -> np.ndarray:
    """Smallest share whose :func:`subband_rate` is at least ``rate`` bit/s (never below it:
    the upper end of a bisection to adjacent floats); 0 for a rate <= 0, +inf where the whole
    band falls short."""
    target, snr = np.broadcast_arrays(np.asarray(rate, dtype=float), np.asarray(snr, dtype=float))
    reachable = subband_rate(1.0, bandwidth_hz, snr) >= target
    lo = np.zeros(target.shape)
    hi = np.where(target > 0, 1.0, 0.0)
    _, hi = bisect_threshold(lambda share: subband_rate(share, bandwidth_hz, snr) < target, lo, hi)
    return np.where(reachable, hi, np.inf)


def samples_carried(config: BandwidthSplitConfig, rate: np.ndarray | float) -> np.ndarray:
    """``T r / s``: samples an upload at ``rate`` bit/s carries in a period."""
    return config.period_s * rate / config.sample_bits


def params_carried(config: BandwidthSplitConfig, rate: np.ndarray | float) -> np.ndarray:
    """``T r / (b_p 1e6)``: million model parameters a download at ``rate`` bit/s carries in a
    period."""
    return config.period_s * rate / (config.bits_per_param * 1e6)


def upload_airtime(
    config: BandwidthSplitConfig,
    samples: np.ndarray | float,
    rate: np.ndarray | float,
    xp: ArrayMath = NUMPY_MATH,
) -> np.ndarray:
    """``n s / r_u``: seconds the device transmits to upload ``samples`` at ``rate`` bit/s
    (0 for no samples; at most T for what the period carries)."""
    return samples * config.sample_bits / xp.maximum(rate, MIN_RATE)


def detection_map(
    config: BandwidthSplitConfig,
    samples: np.ndarray | float,
    model_size: np.ndarray | float,
    xp: ArrayMath = NUMPY_MATH,
) -> np.ndarray:
    """``mAP(n, M) = a - b M^(-g) - c (1 + n/n0)^(-alpha)`` for ``n`` fresh samples and a model
    of ``M`` (> 0) million parameters (``xp``: see :class:`ArrayMath`)."""
    samples = xp.asfloat(samples)
    model_size = xp.asfloat(model_size)
    return (
        config.map_a
        - config.map_b * model_size ** (-config.map_g)
        - config.map_c * (1.0 + samples / config.map_n0) ** (-config.map_alpha)
    )


def detection_map_gradient(
    config: BandwidthSplitConfig, samples: np.ndarray | float, model_size: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """``(d mAP / dn, d mAP / dM)`` of :func:`detection_map`, per sample and per million
    parameters (both positive and decreasing: mAP is concave and increasing in n and M)."""
    samples = np.asarray(samples, dtype=float)
    model_size = np.asarray(model_size, dtype=float)
    c = config
    per_sample = (
        c.map_c * c.map_alpha / c.map_n0 * (1.0 + samples / c.map_n0) ** (-c.map_alpha - 1.0)
    )
    with np.errstate(divide="ignore", over="ignore"):
        power = model_size ** (-c.map_g - 1.0)  # +inf at M = 0
    per_param = c.map_b * c.map_g * power if c.map_b > 0 else np.zeros(power.shape)
    return per_sample, per_param


def bisect_threshold(
    below: Callable[[np.ndarray], np.ndarray],
    lo: np.ndarray | float,
    hi: np.ndarray | float,
    max_iterations: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise bisection for where a monotone predicate turns from True to False.

    ``below`` maps an array of points to booleans of the same shape, True below the threshold and
    False above it; ``lo <= hi`` bracket it (the ends themselves are never evaluated). Halves
    every bracket until its ends are adjacent floats (or ``max_iterations``) and returns the final
    ``(lo, hi)``: the last points found True (or the initial ``lo``) and False (or ``hi``).
    """
    lo, hi = (np.array(end, dtype=float) for end in np.broadcast_arrays(lo, hi))
    for _ in range(max_iterations):
        mid = lo + 0.5 * (hi - lo)
        active = (mid > lo) & (mid < hi)
        if not active.any():
            break
        is_below = np.asarray(below(mid), dtype=bool)
        lo = np.where(active & is_below, mid, lo)
        hi = np.where(active & ~is_below, mid, hi)
    return lo, hi


# ---------------------------------------------------------------------------------- instance
@dataclass(frozen=True)
class SplitOutcome:
    """What a split gives in one period (arrays of shape (K,), or broadcast shares' shape)."""

    upload_share: np.ndarray
    """beta (or beta_u), share of the band carrying data up."""
    download_share: np.ndarray
    """1 - beta (or beta_d), share of the band carrying the model down."""
    samples: np.ndarray
    """n, fresh samples uploaded (continuous)."""
    model_size: np.ndarray
    """M, million parameters of the model delivered; 0 if none is."""
    upload_rate: np.ndarray
    """r_u, bit/s."""
    download_rate: np.ndarray
    """r_d, bit/s."""
    map: np.ndarray
    """mAP of the model the device ends the period with."""

    @property
    def model_delivered(self) -> np.ndarray:
        """Whether a new model arrives (else the device keeps its own, of ``fallback_map``)."""
        return self.model_size > 0


@dataclass(frozen=True, eq=False)
class BandwidthSplitProblem:
    """One period of K instances (devices or periods): the config, each instance's channel,
    fresh data, fallback mAP and carried fresh data (arrays of shape (K,)). Build with
    :meth:`from_gains` or :meth:`from_distances`.

    Each instance has a band of ``config.bandwidth_hz`` of its own (``evaluate(beta)``); the
    multi-device solver instead reads the K instances as K devices sharing one band
    (``evaluate(upload_share, download_share)``).
    """

    config: BandwidthSplitConfig
    gain_db: np.ndarray
    """Channel power gain of each instance (both directions), dB."""
    available_samples: np.ndarray
    """N_avail, new samples each device holds (>= 0)."""
    fallback_map: np.ndarray
    """mAP of the model each device keeps when no new model arrives."""
    carried_samples: np.ndarray | float = 0.0
    """F, fresh data the edge holds from earlier periods (decayed, >= 0, in samples): the
    staleness term of a delivered model uses ``F + n``; 0 is the one-period problem."""

    @classmethod
    def from_gains(
        cls,
        config: BandwidthSplitConfig,
        gain_db: np.ndarray | float,
        available_samples: np.ndarray | float | None = None,
        fallback_map: np.ndarray | float | None = None,
        carried_samples: np.ndarray | float = 0.0,
    ) -> BandwidthSplitProblem:
        """Instances with the given gains (dB) and N_avail (default: the config's mean); the
        fallback mAP defaults to ``mAP(0, M_min)``, the carried fresh data to 0. The four
        broadcast to one shape (K,)."""
        if available_samples is None:
            available_samples = config.mean_available_samples
        if fallback_map is None:
            fallback_map = detection_map(config, 0.0, config.min_model_size)
        flat = (
            np.asarray(v, dtype=float).reshape(-1)
            for v in (gain_db, available_samples, fallback_map, carried_samples)
        )
        gains, samples, fallback, carried = (np.array(a) for a in np.broadcast_arrays(*flat))
        for name, values in (("gain_db", gains), ("fallback_map", fallback)):
            if values.size == 0 or not np.all(np.isfinite(values)):
                raise ValueError(f"{name} must be non-empty and finite, got {values}")
        for name, values in (("available_samples", samples), ("carried_samples", carried)):
            if not np.all(np.isfinite(values)) or np.any(values < 0):
                raise ValueError(f"{name} must be finite and >= 0, got {values}")
        weakest = min(config.upload_power_w, config.download_power_w)
        if np.any(full_band_snr(config, weakest, gains) <= 0):
            raise ValueError(f"gain_db too small: the SNR underflows to 0, got {gains}")
        for values in (gains, samples, fallback, carried):
            values.setflags(write=False)
        return cls(config, gains, samples, fallback, carried)

    @classmethod
    def from_distances(
        cls,
        config: BandwidthSplitConfig,
        distance_m: np.ndarray | float | None = None,
        shadowing_db: np.ndarray | float = 0.0,
        available_samples: np.ndarray | float | None = None,
        fallback_map: np.ndarray | float | None = None,
        carried_samples: np.ndarray | float = 0.0,
    ) -> BandwidthSplitProblem:
        """Instances at ``distance_m`` m (default: the config's distance) with ``shadowing_db``
        dB of shadowing; see :meth:`from_gains` for the rest."""
        distance = np.asarray(config.distance_m if distance_m is None else distance_m, float)
        if not np.all(np.isfinite(distance)) or np.any(distance <= 0):
            raise ValueError(f"distance_m must be finite and > 0, got {distance}")
        gains = channel_gain_db(config, distance, shadowing_db)
        return cls.from_gains(config, gains, available_samples, fallback_map, carried_samples)

    @property
    def num_instances(self) -> int:
        """K."""
        return int(self.gain_db.size)

    # -- rates and what they carry --------------------------------------------------------
    @cached_property
    def upload_snr(self) -> np.ndarray:
        """``P_u g / (N0 B)``, the device's full-band SNR."""
        return full_band_snr(self.config, self.config.upload_power_w, self.gain_db)

    @cached_property
    def download_snr(self) -> np.ndarray:
        """``P_e g / (N0 B)``, the edge server's full-band SNR."""
        return full_band_snr(self.config, self.config.download_power_w, self.gain_db)

    def upload_rate(self, share: np.ndarray | float) -> np.ndarray:
        """r_u, bit/s, with ``share`` of the band for the upload."""
        return subband_rate(share, self.config.bandwidth_hz, self.upload_snr)

    def download_rate(self, share: np.ndarray | float) -> np.ndarray:
        """r_d, bit/s, with ``share`` of the band for the download."""
        return subband_rate(share, self.config.bandwidth_hz, self.download_snr)

    def upload_capacity(self, share: np.ndarray | float) -> np.ndarray:
        """``T r_u / s``: samples the upload carries in the period (before the N_avail cap)."""
        return samples_carried(self.config, self.upload_rate(share))

    def download_capacity(self, share: np.ndarray | float) -> np.ndarray:
        """``T r_d / (b_p 1e6)``: million parameters the download carries in the period."""
        return params_carried(self.config, self.download_rate(share))

    def upload_slope(self, share: np.ndarray | float) -> np.ndarray:
        """d mAP / d(upload share) ignoring the N_avail cap, per unit share (at the carried
        fresh data plus what the share uploads)."""
        c = self.config
        fresh = self.carried_samples + self.upload_capacity(share)
        per_sample, _ = detection_map_gradient(c, fresh, 1.0)
        rate_slope = subband_rate_slope(share, c.bandwidth_hz, self.upload_snr)
        with np.errstate(invalid="ignore"):
            slope = per_sample * c.period_s / c.sample_bits * rate_slope
        return np.where(per_sample > 0, slope, 0.0)

    def download_slope(self, share: np.ndarray | float) -> np.ndarray:
        """d mAP / d(download share) ignoring the M_max cap and the M_min floor, per unit share
        (+inf at a share of 0)."""
        c = self.config
        _, per_param = detection_map_gradient(c, 0.0, self.download_capacity(share))
        rate_slope = subband_rate_slope(share, c.bandwidth_hz, self.download_snr)
        with np.errstate(invalid="ignore"):
            slope = per_param * c.period_s / (c.bits_per_param * 1e6) * rate_slope
        return np.where(per_param > 0, slope, 0.0)

    # -- shares at which the caps bind ----------------------------------------------------
    @cached_property
    def full_data_upload_share(self) -> np.ndarray:
        """Smallest upload share that delivers all N_avail samples (+inf if the band cannot)."""
        c = self.config
        need = self.available_samples * c.sample_bits / c.period_s
        return share_for_rate(need, c.bandwidth_hz, self.upload_snr)

    @cached_property
    def min_download_share(self) -> np.ndarray:
        """Smallest download share that carries M_min (+inf if the band cannot)."""
        return self._download_share_for(self.config.min_model_size)

    @cached_property
    def full_model_download_share(self) -> np.ndarray:
        """Smallest download share that carries M_max (+inf if the band cannot)."""
        return self._download_share_for(self.config.max_model_size)

    def _download_share_for(self, model_size: float) -> np.ndarray:
        c = self.config
        need = model_size * c.bits_per_param * 1e6 / c.period_s
        return share_for_rate(np.full(self.gain_db.shape, need), c.bandwidth_hz, self.download_snr)

    @cached_property
    def model_deliverable(self) -> np.ndarray:
        """Whether any split delivers a model (the whole band carries M_min)."""
        return self.min_download_share <= 1.0

    @cached_property
    def upload_limit(self) -> np.ndarray:
        """Largest upload share ``beta`` whose download ``1 - beta`` still carries M_min, exact in
        floating point; 1 where no split delivers a model (there is no model to keep room for)."""
        floor = self.min_download_share
        limit = 1.0 - np.minimum(floor, 1.0)
        limit = np.where(1.0 - limit < floor, np.nextafter(limit, 0.0), limit)
        return np.where(self.model_deliverable, np.maximum(limit, 0.0), 1.0)

    # -- the cost function ----------------------------------------------------------------
    def evaluate(
        self,
        beta: np.ndarray | float,
        download_share: np.ndarray | float | None = None,
        model_size: np.ndarray | float | None = None,
    ) -> SplitOutcome:
        """What the split gives: ``beta`` of the band for the upload and ``download_share``
        (default ``1 - beta``, the device's own link) for the download.

        Every sample the upload carries is used (up to N_avail). ``model_size`` (million
        parameters in [M_min, M_max]) asks for a model of that size; by default the largest the
        download carries, capped at M_max. A download short of the model (or of M_min) delivers
        none: ``M = 0`` and the mAP is ``fallback_map``. Shares broadcast against (K,).
        """
        c = self.config
        up = np.asarray(beta, dtype=float)
        down = 1.0 - up if download_share is None else np.asarray(download_share, dtype=float)
        for name, share in (("beta", up), ("download_share", down)):
            if not np.all((share >= 0) & (share <= 1)):
                raise ValueError(f"{name} must lie in [0, 1], got {share}")
        if model_size is not None:
            model_size = np.asarray(model_size, dtype=float)
            if not np.all((model_size >= c.min_model_size) & (model_size <= c.max_model_size)):
                raise ValueError(
                    f"model_size must lie in [{c.min_model_size}, {c.max_model_size}], "
                    f"got {model_size}"
                )
        return split_outcome(
            c,
            self.upload_snr,
            self.download_snr,
            self.available_samples,
            self.fallback_map,
            up,
            down,
            model_size,
            self.carried_samples,
        )


def split_outcome(
    config: BandwidthSplitConfig,
    upload_snr: np.ndarray | float,
    download_snr: np.ndarray | float,
    available_samples: np.ndarray | float,
    fallback_map: np.ndarray | float,
    upload_share: np.ndarray | float,
    download_share: np.ndarray | float,
    model_size: np.ndarray | float | None = None,
    carried_samples: np.ndarray | float = 0.0,
    xp: ArrayMath = NUMPY_MATH,
) -> SplitOutcome:
    """The computation of :meth:`BandwidthSplitProblem.evaluate`, without its checks: the
    outcome of shares in [0, 1] (and a model size in [M_min, M_max] or None) for instances
    given by their full-band SNRs (:func:`full_band_snr`), N_avail, fallback mAP and carried
    fresh data. Arrays of any shape broadcast (a batch of environments, each with K devices);
    with ``xp=SCALAR_MATH`` every input is a Python float (one device)."""
    c = config
    upload_rate = subband_rate(upload_share, c.bandwidth_hz, upload_snr, xp)
    download_rate = subband_rate(download_share, c.bandwidth_hz, download_snr, xp)
    capacity = params_carried(c, download_rate)
    if model_size is None:
        size = xp.minimum(xp.maximum(capacity, c.min_model_size), c.max_model_size)
        delivered = capacity >= c.min_model_size * (1 - SIZE_RTOL)
    else:
        size = model_size
        delivered = capacity >= size * (1 - SIZE_RTOL)
    samples = xp.minimum(available_samples, samples_carried(c, upload_rate))
    accuracy = detection_map(c, carried_samples + samples, size, xp)
    return SplitOutcome(
        upload_share=upload_share,
        download_share=download_share,
        samples=samples,
        model_size=xp.where(delivered, size, 0.0),
        upload_rate=upload_rate,
        download_rate=download_rate,
        map=xp.where(delivered, accuracy, fallback_map),
    )
