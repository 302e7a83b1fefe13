"""Wireless channel models: path loss, Shannon rate, block fading and shadowing.

All functions are pure and vectorised over numpy arrays. Powers in W, bandwidth in Hz,
rates in bit/s, distances in m; dB appears only in names that say so.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right

import numpy as np
from scipy.signal import lfilter

__all__ = [
    "db_to_linear",
    "linear_to_db",
    "dbm_to_watt",
    "path_loss_db",
    "MIN_MEAN_SNR_DB",
    "MAX_MEAN_SNR_DB",
    "MAX_SHADOWING_STD_DB",
    "PATH_LOSS_SLOPE_RANGE_DB",
    "mean_snr_db",
    "check_link_budget",
    "shannon_rate",
    "snr_rate",
    "rayleigh_power_gains",
    "ar1_shadowing_db",
    "ar1_shadowing_batch",
    "LISTED_SEGMENT_BLOCKS",
    "BlockFadingUplinks",
]


def db_to_linear(value_db: np.ndarray | float) -> np.ndarray | float:
    """Convert a power ratio from dB to linear scale."""
    return 10.0 ** (np.asarray(value_db, dtype=float) / 10.0)


def linear_to_db(value: np.ndarray | float) -> np.ndarray | float:
    """Convert a (positive) power ratio from linear scale to dB."""
    return 10.0 * np.log10(np.asarray(value, dtype=float))


def dbm_to_watt(value_dbm: np.ndarray | float) -> np.ndarray | float:
    """Convert a power from dBm to W."""
    return 10.0 ** ((np.asarray(value_dbm, dtype=float) - 30.0) / 10.0)


def path_loss_db(
    distance_m: np.ndarray | float, intercept_db: float = 128.1, slope_db: float = 37.6
) -> np.ndarray | float:
    """3GPP-style path loss ``intercept + slope * log10(d / 1 km)`` in dB for a distance in m."""
    return intercept_db + slope_db * np.log10(np.asarray(distance_m, dtype=float) / 1000.0)


MIN_MEAN_SNR_DB = -30.0
"""Lowest mean SNR (before fading and shadowing) a config may give a link anywhere in its area,
dB: at -30 dB a link carries ~1.4 kbit/s per MHz, so anything below is no link at all (and
its fades underflow the rate to 0, an infinite delay)."""


MAX_MEAN_SNR_DB = 150.0
"""Highest mean SNR a config may give a link anywhere in its area, dB: real links stay below
~100 dB; far above, the linear SNR overflows to inf."""
PATH_LOSS_SLOPE_RANGE_DB = (10.0, 100.0)
"""Path loss per decade of distance a config may set, dB: exponents 1 to 10 (free space is 20
dB, dense urban ~40 dB per decade)."""
MAX_SHADOWING_STD_DB = 30.0
"""Largest shadowing standard deviation a config may set, dB: measured spreads are 4-12 dB; 30 dB
leaves room for stress tests while a few-sigma fade stays far above the rate's underflow."""


def mean_snr_db(
    tx_power_w: float, loss_db: float, noise_dbm_per_hz: float, bandwidth_hz: float
) -> float:
    """Mean SNR ``p / (PL N0 B)`` of a link, dB, computed in dB (no underflow): transmit power
    ``tx_power_w`` W, path loss ``loss_db`` dB, noise ``noise_dbm_per_hz`` dBm/Hz over
    ``bandwidth_hz`` Hz."""
    return float(
        10.0 * np.log10(tx_power_w * 1e3) - loss_db - noise_dbm_per_hz - 10 * np.log10(bandwidth_hz)
    )


def check_link_budget(
    fields: str,
    power_w: tuple[float, float],
    intercept_db: float,
    slope_db: float,
    noise_dbm_per_hz: float,
    bandwidth_hz: float,
    distance_m: tuple[float, float],
) -> None:
    """ValueError, naming the config ``fields`` (e.g. ``"Config.tx_power_w, ..."``), unless the
    mean SNR stays in [MIN_MEAN_SNR_DB, MAX_MEAN_SNR_DB]: the weaker of ``power_w`` (W) at the
    farther of ``distance_m`` (m) and the stronger at the nearer, under the path loss
    ``intercept_db + slope_db log10(d / 1 km)`` and the noise over ``bandwidth_hz``."""
    nearest, farthest = min(distance_m), max(distance_m)
    weakest, strongest = (
        mean_snr_db(
            power,
            path_loss_db(distance, intercept_db, slope_db),
            noise_dbm_per_hz,
            bandwidth_hz,
        )
        for power, distance in ((min(power_w), farthest), (max(power_w), nearest))
    )
    if weakest < MIN_MEAN_SNR_DB:
        raise ValueError(
            f"{fields}: the mean SNR at {farthest:.3g} m is {weakest:.1f} dB, below "
            f"{MIN_MEAN_SNR_DB:g} dB (no link): raise the transmit power, or lower the path loss, "
            "the distances, the noise or the bandwidth"
        )
    if strongest > MAX_MEAN_SNR_DB:
        raise ValueError(
            f"{fields}: the mean SNR at {nearest:.3g} m is {strongest:.1f} dB, above "
            f"{MAX_MEAN_SNR_DB:g} dB: lower the transmit power, or raise the path loss, the "
            "nearest distance or the noise"
        )


def snr_rate(bandwidth_hz: np.ndarray | float, snr: np.ndarray | float) -> np.ndarray | float:
    """Shannon rate ``B log2(1 + snr)`` in bit/s at a linear signal-to-noise ratio ``snr``."""
    return bandwidth_hz * np.log2(1.0 + snr)


def shannon_rate(
    bandwidth_hz: np.ndarray | float,
    tx_power_w: np.ndarray | float,
    channel_gain: np.ndarray | float,
    noise_psd_w_per_hz: float,
) -> np.ndarray | float:
    """Shannon rate ``B log2(1 + p h / (N0 B))`` in bit/s (0 where the bandwidth is 0)."""
    bandwidth = np.asarray(bandwidth_hz, dtype=float)
    noise = noise_psd_w_per_hz * bandwidth
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.where(noise > 0, np.asarray(tx_power_w) * channel_gain / noise, 0.0)
    return snr_rate(bandwidth, snr)


def rayleigh_power_gains(rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
    """Power gains |h|^2 of Rayleigh fading with unit mean: i.i.d. Exp(1) draws (dimensionless)."""
    return rng.exponential(1.0, size=size)


def ar1_shadowing_db(
    rng: np.random.Generator,
    n_blocks: int,
    std_db: float,
    block_s: float,
    correlation_s: float,
    previous_db: float | None = None,
) -> np.ndarray:
    """Log-normal shadowing as a stationary AR(1) process in dB, one value per block of block_s s.

    Blocks ``k`` apart have correlation ``exp(-k * block_s / correlation_s)``; the marginal is
    N(0, std_db^2). ``previous_db`` (the value of the block before) continues an earlier sequence;
    without it the initial value is drawn after the ``n_blocks`` innovations. Nothing is drawn
    when ``std_db`` is 0 (zeros).
    """
    _check_std(std_db)
    if std_db == 0.0:
        return np.zeros(n_blocks)
    normals = rng.standard_normal(n_blocks + (previous_db is None))
    return ar1_shadowing_batch(normals, std_db, block_s, correlation_s, previous_db)


def ar1_shadowing_batch(
    normals: np.ndarray,
    std_db: float,
    block_s: float,
    correlation_s: float,
    previous_db: np.ndarray | float | None = None,
) -> np.ndarray:
    """:func:`ar1_shadowing_db` of many sequences at once, dB, (..., n), from its standard
    normal draws ``normals``: per sequence its n innovations, then (without ``previous_db``, dB,
    (...,)) the draw of its initial value, (..., n + 1); with ``previous_db``, (..., n)."""
    _check_std(std_db)
    n = normals.shape[-1] - (previous_db is None)
    rho = float(np.exp(-block_s / correlation_s))
    steps = std_db * np.sqrt(1.0 - rho * rho) * normals[..., :n]
    if previous_db is None:
        previous = std_db * normals[..., n:]
    else:
        previous = np.asarray(previous_db, dtype=float)[..., None]
    shadowing, _ = lfilter([1.0], [1.0, -rho], steps, axis=-1, zi=rho * previous)
    return shadowing


def _check_std(std_db: float) -> None:
    """ValueError unless the shadowing's standard deviation ``std_db`` is a number >= 0."""
    if not std_db >= 0.0:
        raise ValueError(f"the shadowing's standard deviation must be >= 0 dB, got {std_db!r}")


def _before_the_trace(time_s: float) -> ValueError:
    """The error of a query at a time before 0 s (the start of the first fading block)."""
    return ValueError(f"an uplink trace starts at 0 s, got a query at {time_s!r} s")


LISTED_SEGMENT_BLOCKS = 1024
"""How many fading blocks' rates a :class:`BlockFadingUplinks` computes at a time (it draws
them a chunk at a time; an episode often ends long before its chunk does)."""


class BlockFadingUplinks:
    """Uplink rates of several devices under Rayleigh block fading and AR(1) shadowing.

    Each device's rate is constant within a fading block of ``block_s`` s:
    ``r = bandwidth * log2(1 + mean_snr * 10**(shadowing_db / 10) * |h|^2)`` bit/s. The trace is
    drawn lazily in chunks from ``rng`` and never changes once drawn, so a transmission that is
    replayed with the same start time and size finishes at the same time (what a digital twin
    replaying the realised channel needs).
    """

    def __init__(
        self,
        rng: np.random.Generator,
        num_devices: int,
        bandwidth_hz: float,
        mean_snr_db: float,
        block_s: float,
        shadowing_std_db: float,
        shadowing_correlation_s: float,
        chunk_blocks: int = 4096,
        max_blocks: int | None = None,
    ) -> None:
        _check_std(shadowing_std_db)
        self._rng = rng
        self.num_devices = num_devices
        self.bandwidth_hz = bandwidth_hz
        self.mean_snr = float(db_to_linear(mean_snr_db))
        self.block_s = block_s
        self.shadowing_std_db = shadowing_std_db
        self.shadowing_correlation_s = shadowing_correlation_s
        self._chunk = chunk_blocks
        self._max_blocks = max_blocks
        self._drawn = 0
        # the last chunk drawn (by _draw_chunk): fading gains and shadowing (dB), (N, chunk);
        # its rates are computed a segment at a time as queries reach them, carrying the
        # chunk's running sum of bits (from its start's bits); the shadowing's last value
        # continues the next chunk
        self._chunk_shadowing = np.zeros((num_devices, chunk_blocks))  # without shadowing
        self._last_shadowing: np.ndarray | None = None
        self._chunk_start_bits: np.ndarray | float = 0.0
        # per device: the rate of every block listed so far, and the bits sent from time 0 to
        # the start of every such block (one more entry); arrays of doubles (indexed and
        # bisected like lists, without a Python float per block), extended in place a segment
        # of LISTED_SEGMENT_BLOCKS blocks at a time
        self._listed = 0
        self._rate_lists = [array("d") for _ in range(num_devices)]
        self._bits_lists = [array("d", [0.0]) for _ in range(num_devices)]
        self._draw_chunk()

    def _draw_chunk(self) -> None:
        """Draw the next chunk of fading blocks for every device (RuntimeError past
        ``max_blocks``: a query that far is a bug or a config the caller should refuse):
        the fading of every device, then per device the normal draws of its shadowing (those
        of :func:`ar1_shadowing_db`, in one call)."""
        n, devices = self._chunk, self.num_devices
        if self._max_blocks is not None and self._drawn + n > self._max_blocks:
            raise RuntimeError(
                f"the uplink trace would pass its {self._max_blocks:,} blocks "
                f"({self._max_blocks * self.block_s:.3g} s): a transmission or a query beyond "
                "the horizon the config allows"
            )
        self._chunk_fading = rayleigh_power_gains(self._rng, (devices, n))
        if self.shadowing_std_db > 0.0:
            first = self._last_shadowing is None  # the first chunk draws the initial values
            self._chunk_shadowing = ar1_shadowing_batch(
                self._rng.standard_normal((devices, n + first)),
                self.shadowing_std_db,
                self.block_s,
                self.shadowing_correlation_s,
                self._last_shadowing,
            )
            self._last_shadowing = self._chunk_shadowing[:, -1].copy()
        if self._drawn:
            self._chunk_start_bits = np.array([bits[-1] for bits in self._bits_lists])[:, None]
        self._chunk_sum = np.zeros((devices, 1))
        self._drawn += n

    def _extend(self) -> None:
        """List the next segment of blocks (drawing the next chunk first if it is all listed):
        their rates and the bits sent by their ends, computed as for the whole chunk at once
        (the running sum carried over from the segment before)."""
        start = self._listed - (self._drawn - self._chunk)  # into the last chunk drawn
        if start >= self._chunk:
            self._draw_chunk()
            start = 0
        end = min(start + LISTED_SEGMENT_BLOCKS, self._chunk)
        shadowing = self._chunk_shadowing[:, start:end]
        snr = self.mean_snr * db_to_linear(shadowing) * self._chunk_fading[:, start:end]
        rates = snr_rate(self.bandwidth_hz, snr)
        # the bits sent since the chunk's start, added in block order from the running sum
        running = np.concatenate((self._chunk_sum, rates * self.block_s), axis=1)
        np.cumsum(running, axis=1, out=running)
        self._chunk_sum = running[:, -1:]
        bits = running[:, 1:] + self._chunk_start_bits
        segment = zip(rates, bits, self._rate_lists, self._bits_lists, strict=True)
        for rate_row, bits_row, rate_list, bits_list in segment:
            rate_list.frombytes(rate_row.tobytes())
            bits_list.frombytes(bits_row.tobytes())
        self._listed += end - start

    @property
    def blocks_drawn(self) -> int:
        """Fading blocks drawn so far per device (the trace covers ``blocks_drawn * block_s`` s)."""
        return self._drawn

    def rate(self, device: int, time_s: float) -> float:
        """Rate of ``device`` at ``time_s``, in bit/s."""
        if time_s < 0.0:
            raise _before_the_trace(time_s)
        block = int(time_s / self.block_s)
        while block >= self._listed:
            self._extend()
        return self._rate_lists[device][block]

    def delivered_bits(self, device: int, time_s: float) -> float:
        """Bits that ``device`` could have sent from time 0 to ``time_s`` at full rate."""
        if time_s < 0.0:
            raise _before_the_trace(time_s)
        block = int(time_s / self.block_s)
        while block >= self._listed:
            self._extend()
        return self._bits_lists[device][block] + self._rate_lists[device][block] * (
            time_s - block * self.block_s
        )

    def finish_time(self, device: int, start_s: float, bits: float) -> float:
        """Time in s at which a transmission of ``bits`` bit started at ``start_s`` ends."""
        if start_s < 0.0:
            raise _before_the_trace(start_s)
        if bits <= 0.0:
            return start_s
        target = self.delivered_bits(device, start_s) + bits
        while target >= self._bits_lists[device][-1]:  # a block to end in
            self._extend()
        block = bisect_right(self._bits_lists[device], target) - 1
        rate = self._rate_lists[device][block]
        return max(
            start_s, block * self.block_s + (target - self._bits_lists[device][block]) / rate
        )
