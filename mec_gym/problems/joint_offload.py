"""The joint offloading system of video inference: parameters, problem instances, allocations.

Source: G. Pan, H. Zhang, S. Xu, S. Zhang, X. Chen, "Joint Optimization of Video-based AI
Inference Tasks in MEC-assisted Augmented Reality Systems", IEEE Trans. Cogn. Commun. Netw.
9(2), 2023 (arXiv 2301.01010). Model as documented in ``docs/joint_offload.md``.

One round: N devices each have one inference task over its ``F_n`` most recent video frames.
Device n either runs it locally at CPU frequency ``f_n^l`` or uploads the frames in a share
``tau_n`` of each TDMA frame and runs it on an edge CPU share ``f_n^e``. The cost of a device is
``U_n = w1*T_n + w2*E_n - w3*A(F_n)``. :class:`JointOffloadProblem` is the instance every solver
takes and every environment builds, and :func:`evaluate_allocation` the one cost function both
use, so that an environment and a solver cannot disagree about a cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import Any, Protocol

import numpy as np

from mec_gym.config import SystemConfig
from mec_gym.models.accuracy import ACCURACY_FORMS, AccuracyModel
from mec_gym.models.channel import (
    MAX_SHADOWING_STD_DB,
    PATH_LOSS_SLOPE_RANGE_DB,
    check_link_budget,
    db_to_linear,
    dbm_to_watt,
    path_loss_db,
    shannon_rate,
)
from mec_gym.models.utility import weighted_cost as cost_of
from mec_gym.models.video_complexity import VIDEO_NETWORKS, frame_complexity

__all__ = [
    "JointOffloadConfig",
    "JointOffloadProblem",
    "CONFIG_TABLES",
    "config_tables",
    "device_gains",
    "Allocation",
    "CostBreakdown",
    "evaluate_allocation",
    "evaluate_devices",
    "local_outcome_table",
    "local_delay_energy",
    "offload_delay_energy",
    "upload_time",
    "weighted_cost",
    "feasibility_violations",
    "sample_positions",
    "DropGenerator",
    "UniformDrops",
    "FixedDrop",
    "checked_drops",
    "checked_positions",
    "shadowed_gains_db",
    "shadowing_db",
    "channel_gains_db",
    "PRESETS",
    "BALANCED_SCENARIO",
    "DEFAULT_PRESET",
]

COMPLEXITY_MODELS = ("linear", "exact")
LOCAL_ENERGY_MODELS = ("cycles", "macs")
LOCAL_DECISION_ENERGY_MODELS = ("charged", *LOCAL_ENERGY_MODELS)
TX_ENERGY_MODELS = ("airtime", "slot")
MAX_DEVICES = 10_000
"""Most devices N of a config (the solvers are benchmarked up to N = 1000)."""
MAX_CPU_FREQUENCY = 1e12
"""Highest device or edge CPU frequency, cycle/s (1 THz: far above any processor; the energy
kappa cycles f^2 stays finite)."""
MAX_FRAMES = 128
"""Most frames F_max (3-D CNN clips are tens of frames; the frame searches grow with F_max)."""
MIN_CPU_FREQUENCY = 1e6
"""Lowest device or edge CPU frequency, cycle/s (1 MHz)."""
MAX_CAPACITANCE = 1e-20
"""Largest effective switched capacitance kappa, J s^2/cycle^3 (CMOS: 1e-29 to 1e-26)."""
MAX_CYCLES_PER_MAC = 1e3
"""Most CPU cycles per MAC (a scalar core: a few)."""


@dataclass(frozen=True)
class JointOffloadConfig(SystemConfig):
    """Parameters of the joint offloading system (SI units; defaults from the spec, section 5).

    What every solver and both environments use; each environment's config extends it with its
    own fields only (``MobileCellConfig`` and ``JointOffloadEnvConfig`` of ``JointOffload-v1``,
    ``PerTaskOffloadConfig`` of ``PerTaskOffload-v1``).
    """

    num_devices: int = 25
    """N, devices in the cell."""
    area_side: float = 500.0
    """Side of the square cell, m; the base station is at its centre."""
    min_distance: float = 10.0
    """Minimum device-BS distance, m."""
    path_loss_intercept_db: float = 128.1
    """Path loss at 1 km, dB."""
    path_loss_slope_db: float = 37.6
    """Path loss per decade of distance, dB."""
    shadowing_std_db: float = 0.0
    """Log-normal shadowing standard deviation, dB (0: none, the spec's default)."""
    bandwidth: float = 5e6
    """B, uplink bandwidth shared by TDMA, Hz."""
    noise_psd_dbm: float = -174.0
    """N0, noise power spectral density, dBm/Hz."""
    transmit_power: float = 1.0
    """p, device transmit power, W."""
    edge_capacity: float = 22e9
    """F^E, edge CPU capacity, cycle/s."""
    device_max_frequency: float = 1.8e9
    """f^max, device CPU frequency cap, cycle/s."""
    capacitance: float = 1e-28
    """kappa, effective switched capacitance, J*s^2/cycle^3."""
    cycles_per_mac: float = 0.12
    """eta, CPU cycles per MAC."""
    frame_bits: float = 112 * 112 * 3 * 8
    """D, bits of one video frame."""
    max_frames: int = 32
    """F_max, most frames fed to the DNN."""
    accuracy_requirement: float = 0.85
    """A_min, accuracy every task must reach (sets F_min)."""
    delay_weight: float = 0.2
    """w1, weight of the delay (1/s)."""
    energy_weight: float = 0.2
    """w2, weight of the energy (1/J)."""
    accuracy_weight: float = 0.6
    """w3, weight of the accuracy."""
    accuracy_form: str = "exponential"
    """Form of A(F): "exponential", "power" or "reciprocal" (see ``AccuracyModel``)."""
    accuracy_constants: tuple[float, float, float] = (0.93, 0.332, 0.405)
    """(a1, a2, a3) of A(F)."""
    network: str = "resnet18_3d"
    """3-D CNN whose MACs C(F) are counted (see ``mec_gym.models.video_complexity``)."""
    complexity: str = "linear"
    """C(F) model: "linear" (alpha*F + beta fitted over 1..F_max) or "exact" (the staircase)."""
    local_energy: str = "cycles"
    """Charged local energy kappa*cycles*f^2 with cycles = eta*C ("cycles") or C ("macs")."""
    local_decision_energy: str = "charged"
    """Energy model with which a local device picks its (F, f) by Theorem 1: "charged" (the
    ``local_energy`` model, so the rule is optimal for the cost charged), "cycles" or "macs".
    The paper's Table I decides with "cycles" and charges "macs" (the ``pan2023`` preset)."""
    tx_energy: str = "airtime"
    """Transmit energy p*F*D/R, radio on in its own slot only ("airtime"), or p*T^tx ("slot")."""

    def validate(self) -> None:
        self._require_number("num_devices", 1, MAX_DEVICES, integer=True)
        for name in (
            "area_side",
            "bandwidth",
            "transmit_power",
            "frame_bits",
        ):
            self._require_positive(name)
        for name in ("edge_capacity", "device_max_frequency"):
            self._require_number(name, MIN_CPU_FREQUENCY, MAX_CPU_FREQUENCY)
        self._require_number("capacitance", 0, MAX_CAPACITANCE, low_inclusive=False)
        self._require_number("cycles_per_mac", 0, MAX_CYCLES_PER_MAC, low_inclusive=False)
        self._require_number(
            "min_distance",
            0,
            self.area_side / 2,
            low_inclusive=False,
            high_field="area_side / 2",
        )
        self._require_number("path_loss_intercept_db")
        self._require_number("path_loss_slope_db", *PATH_LOSS_SLOPE_RANGE_DB)
        self._require_number("shadowing_std_db", 0, MAX_SHADOWING_STD_DB)
        self._require_number("noise_psd_dbm", -250, 0)
        check_link_budget(
            f"{type(self).__name__}.transmit_power, path_loss_intercept_db, path_loss_slope_db, "
            "min_distance, area_side, noise_psd_dbm, bandwidth",
            (self.transmit_power, self.transmit_power),
            self.path_loss_intercept_db,
            self.path_loss_slope_db,
            self.noise_psd_dbm,
            self.bandwidth,
            (self.min_distance, self.area_side / np.sqrt(2.0)),  # to the cell's corners
        )
        self._require_number("max_frames", 1, MAX_FRAMES, integer=True)
        self._require_number("accuracy_requirement", 0, 1)
        self._require_positive("delay_weight")  # Theorem 2 prices the shares by delay
        for name in ("energy_weight", "accuracy_weight"):
            self._require_number(name, 0)
        self._require_choice("accuracy_form", ACCURACY_FORMS)
        if len(self.accuracy_constants) != 3:
            raise ValueError(
                f"{type(self).__name__}.accuracy_constants must be three numbers (a1, a2, a3), "
                f"got {self.accuracy_constants!r}"
            )
        try:
            model = self.accuracy_model
        except (TypeError, ValueError) as error:
            raise ValueError(f"{type(self).__name__}.accuracy_constants: {error}") from error
        if model(self.max_frames) < self.accuracy_requirement:
            raise ValueError(
                f"{type(self).__name__}.accuracy_requirement {self.accuracy_requirement} is not "
                f"reachable with max_frames={self.max_frames}: A({self.max_frames}) = "
                f"{float(model(self.max_frames)):.4f} under accuracy_form="
                f"{self.accuracy_form!r}, accuracy_constants={self.accuracy_constants}; lower "
                "accuracy_requirement, raise max_frames or change the accuracy model"
            )
        self._require_choice("network", tuple(VIDEO_NETWORKS))
        self._require_choice("complexity", COMPLEXITY_MODELS)
        self._require_choice("local_energy", LOCAL_ENERGY_MODELS)
        self._require_choice("local_decision_energy", LOCAL_DECISION_ENERGY_MODELS)
        self._require_choice("tx_energy", TX_ENERGY_MODELS)

    @property
    def accuracy_model(self) -> AccuracyModel:
        """A(F) of this configuration."""
        return AccuracyModel(*self.accuracy_constants, form=self.accuracy_form)

    @property
    def min_frames(self) -> int:
        """F_min, the fewest frames meeting the accuracy requirement."""
        return self.accuracy_model.min_input(self.accuracy_requirement)

    @property
    def local_energy_cycles_per_mac(self) -> float:
        """c in the charged local energy kappa*c*C*f^2: eta ("cycles") or 1 ("macs"), cycle/MAC."""
        return self._cycles_per_mac_of(self.local_energy)

    @property
    def local_decision_cycles_per_mac(self) -> float:
        """c in the local energy that Theorem 1's decision rule assumes, cycle/MAC."""
        model = self.local_decision_energy
        return self._cycles_per_mac_of(self.local_energy if model == "charged" else model)

    def _cycles_per_mac_of(self, energy_model: str) -> float:
        return self.cycles_per_mac if energy_model == "cycles" else 1.0


BALANCED_SCENARIO: dict[str, Any] = {
    "area_side": 1500.0,
    "shadowing_std_db": 8.0,
    "bandwidth": 10e6,
    "edge_capacity": 50e9,
    "local_energy": "macs",
}
"""The environments' default scenario: the spec's parameters except a 1.5 km cell with 8 dB
log-normal shadowing, a 10 MHz uplink, a 50 GHz edge and local energy charged on MACs (as the
paper's Table I charges it). Under the spec's own table local-only computing is within 1.3 % of
the optimum; here local only, edge only and random offloading are each at least 5 % worse
(``python eval/joint_offload_scenario.py``, ``docs/joint_offload.md``)."""

PRESETS: dict[str, dict[str, Any]] = {
    "balanced": dict(BALANCED_SCENARIO),
    "pan2023": {
        "transmit_power": 0.1,
        "tx_energy": "slot",
        "local_energy": "macs",
        "local_decision_energy": "cycles",
    },
    "N8": {**BALANCED_SCENARIO, "num_devices": 8},
    "spec": {},
}
"""Named overrides of the joint offloading configs, registered as separate environment IDs:
``balanced`` (the environments' default), ``pan2023`` (the paper's Table I), ``N8`` (the default
scenario with 8 devices), ``spec`` (the spec's section 5 table, the config's own defaults)."""

DEFAULT_PRESET = "balanced"
"""The preset the joint offloading environments start from when none is given."""


# ------------------------------------------------------------------------------------ drops
def sample_positions(rng: np.random.Generator, config: JointOffloadConfig, n: int) -> np.ndarray:
    """Uniform positions (m, shape (n, 2), BS at the origin) at least ``min_distance`` from it.

    Rejection sampling in the square ``[-side/2, side/2]^2``.
    """
    half = config.area_side / 2.0
    positions = rng.uniform(-half, half, size=(n, 2))
    too_close = np.hypot(positions[:, 0], positions[:, 1]) < config.min_distance
    if too_close.any():
        missing = np.flatnonzero(too_close)
        while missing.size:  # redrawn, in order, until none is too close
            draw = rng.uniform(-half, half, size=(missing.size, 2))
            ok = np.hypot(draw[:, 0], draw[:, 1]) >= config.min_distance
            positions[missing[ok]] = draw[ok]
            missing = missing[~ok]
    return positions


class DropGenerator(Protocol):
    """Places the devices of an episode: ``generator(config, rng, n) -> positions`` (m, (n, 2),
    BS at the origin)."""

    def __call__(
        self, config: JointOffloadConfig, rng: np.random.Generator, num_devices: int
    ) -> np.ndarray: ...


class UniformDrops:
    """The spec's drops: uniform in the cell, at least ``min_distance`` from the BS."""

    def __call__(
        self, config: JointOffloadConfig, rng: np.random.Generator, num_devices: int
    ) -> np.ndarray:
        return sample_positions(rng, config, num_devices)


class FixedDrop:
    """The same device positions (m, (N, 2), BS at the origin) in every episode: a measured
    deployment or one drop of a fixed evaluation set."""

    def __init__(self, positions: np.ndarray) -> None:
        self.positions = np.array(positions, dtype=float)
        if self.positions.ndim != 2 or self.positions.shape[1] != 2:
            raise ValueError(
                f"FixedDrop positions must have shape (N, 2), got {self.positions.shape}"
            )

    def __call__(
        self, config: JointOffloadConfig, rng: np.random.Generator, num_devices: int
    ) -> np.ndarray:
        return self.positions.copy()


def checked_positions(
    config: JointOffloadConfig, positions: np.ndarray, num_devices: int
) -> np.ndarray:
    """``positions`` (what a drop generator returned) as a float array, or ValueError unless it
    places ``num_devices`` devices in the cell, at least ``min_distance`` from the BS."""
    return checked_drops(config, [positions], num_devices)[0]


def checked_drops(
    config: JointOffloadConfig, drops: Sequence[np.ndarray], num_devices: int
) -> np.ndarray:
    """The drops ``drops`` (what a drop generator returned, one per episode) as a float array
    (episodes, N, 2), or ValueError unless each places ``num_devices`` devices (shape (N, 2))
    at finite positions in the cell, at least ``min_distance`` from the BS (every drop's shape
    is checked first, then the positions)."""
    for drop in drops:
        if np.shape(drop) != (num_devices, 2):
            raise ValueError(
                f"a drop must place {num_devices} devices, shape (N, 2); got {np.shape(drop)}"
            )
    positions = np.array(drops, dtype=float).reshape(len(drops), num_devices, 2)
    half = config.area_side / 2.0
    distance = np.hypot(positions[..., 0], positions[..., 1])
    if not np.isfinite(positions).all() or np.any(np.abs(positions) > half):
        raise ValueError(f"drop positions must be finite and lie in the {config.area_side} m cell")
    if np.any(distance < config.min_distance):
        raise ValueError(f"drop positions must be at least {config.min_distance} m from the BS")
    return positions


def shadowed_gains_db(
    config: JointOffloadConfig, rng: np.random.Generator, distance_m: np.ndarray
) -> np.ndarray:
    """Gains in dB at ``distance_m`` with one i.i.d. N(0, ``shadowing_std_db``^2) dB shadowing
    draw per entry (no draw without shadowing)."""
    return channel_gains_db(config, distance_m, shadowing_db(config, rng, np.shape(distance_m)))


def shadowing_db(
    config: JointOffloadConfig, rng: np.random.Generator, shape: tuple[int, ...]
) -> np.ndarray | float:
    """I.i.d. N(0, ``shadowing_std_db``^2) shadowing terms (dB) of ``shape``; 0.0 (no draw)
    without shadowing."""
    std = config.shadowing_std_db
    return rng.normal(0.0, std, shape) if std > 0 else 0.0


def channel_gains_db(
    config: JointOffloadConfig, distance_m: np.ndarray, shadowing_db: np.ndarray | float = 0.0
) -> np.ndarray:
    """Channel power gain in dB (negative path loss plus shadowing) at ``distance_m`` m."""
    loss = path_loss_db(
        np.maximum(distance_m, config.min_distance),
        config.path_loss_intercept_db,
        config.path_loss_slope_db,
    )
    return -np.asarray(loss, dtype=float) + shadowing_db


# --------------------------------------------------------------------------------- instance
CONFIG_TABLES = ("macs", "accuracy", "frame_range", "linear_complexity")
"""Cached properties of an instance that depend on its config only (shared by ``with_gains``,
and by every instance of one config through :func:`config_tables`)."""


def device_gains(gain_db: np.ndarray | list[float]) -> np.ndarray:
    """The gains (dB) of one instance's devices as a new read-only float array (N,); a
    ValueError unless they are a non-empty array of finite values."""
    gains = np.array(gain_db, dtype=float).reshape(-1)
    if gains.size == 0 or not np.isfinite(gains).all():
        raise ValueError(f"gain_db must be a non-empty array of finite values, got {gain_db}")
    gains.setflags(write=False)
    return gains


@lru_cache(maxsize=64)
def config_tables(config: JointOffloadConfig) -> Mapping[str, Any]:
    """The :data:`CONFIG_TABLES` of ``config``'s instances, computed once per config (equal
    configs share them; a read-only mapping of read-only arrays): what
    ``JointOffloadProblem.from_gains`` gives every new instance instead of recomputing them
    (the linear fit alone is about 0.1 ms)."""
    template = JointOffloadProblem(config, np.zeros(1))
    tables = {name: getattr(template, name) for name in CONFIG_TABLES}
    for table in tables.values():
        if isinstance(table, np.ndarray):
            table.setflags(write=False)
    return MappingProxyType(tables)


@dataclass(frozen=True, eq=False)
class JointOffloadProblem:
    """One round of the system: the configuration and each device's channel.

    Everything a solver needs; build with :meth:`from_gains`. Arrays are per device (N,), or
    (..., N) for a batch of instances of one config (:meth:`with_gains` with (..., N) gains; what
    :func:`evaluate_allocation` and Theorem 2's shares broadcast over in the batched vector envs).
    """

    config: JointOffloadConfig
    gain_db: np.ndarray
    """Channel power gain of each device, dB."""

    @classmethod
    def from_gains(
        cls, config: JointOffloadConfig, gain_db: np.ndarray | list[float]
    ) -> JointOffloadProblem:
        """An instance with the given per-device gains (dB); N is ``len(gain_db)``."""
        problem = cls(config, device_gains(gain_db))
        vars(problem).update(config_tables(config))  # functools.cached_property's values
        return problem

    @classmethod
    def sample(
        cls, config: JointOffloadConfig, rng: np.random.Generator, num_devices: int | None = None
    ) -> JointOffloadProblem:
        """A random drop: uniform positions, path loss, optional shadowing."""
        n = config.num_devices if num_devices is None else num_devices
        positions = sample_positions(rng, config, n)
        return cls.from_gains(config, shadowed_gains_db(config, rng, np.hypot(*positions.T)))

    def with_gains(
        self, gain_db: np.ndarray | list[float], rate: np.ndarray | None = None
    ) -> JointOffloadProblem:
        """An instance of the same config with other gains (dB) that shares this instance's
        config-only tables (C(F), A(F), the frame range, the linear fit) instead of recomputing
        them. ``rate``, if given, must be the full-band rates (bit/s) of ``gain_db``, computed in
        bulk by the caller (an environment drawing many rounds at once). Gains of shape (..., N)
        give a batch of instances (N devices each) instead of one instance."""
        gains = np.array(gain_db, dtype=float)
        if gains.ndim < 2:
            other = JointOffloadProblem(self.config, device_gains(gains))
        elif gains.shape[-1] == 0 or not np.isfinite(gains).all():
            raise ValueError(f"gain_db must be non-empty and finite, got shape {gains.shape}")
        else:
            gains.setflags(write=False)
            other = JointOffloadProblem(self.config, gains)
        cache = vars(other)  # where functools.cached_property keeps its values
        for name in CONFIG_TABLES:
            cache[name] = getattr(self, name)
        if other.num_devices == self.num_devices:  # b_n depends on the config and N only
            cache["tx_weight"] = self.tx_weight
        if rate is not None:
            rate = np.asarray(rate, dtype=float)
            if rate.shape != other.gain_db.shape:
                raise ValueError(f"rate must have shape {other.gain_db.shape}, got {rate.shape}")
            cache["rate"] = rate
        return other

    @property
    def num_devices(self) -> int:
        """N, devices per instance."""
        return int(self.gain_db.shape[-1])

    @property
    def can_offload(self) -> np.ndarray:
        """Whether each device has an uplink at all (R_n > 0; a rate that underflows to 0 would
        take forever to upload), bool (N,). The solvers keep the others local."""
        return self.rate > 0

    @cached_property
    def rate(self) -> np.ndarray:
        """R_n, rate with the whole band, bit/s."""
        c = self.config
        noise_psd = float(dbm_to_watt(c.noise_psd_dbm))
        return np.asarray(
            shannon_rate(c.bandwidth, c.transmit_power, db_to_linear(self.gain_db), noise_psd)
        )

    @cached_property
    def frame_range(self) -> np.ndarray:
        """The feasible frame counts F_min..F_max."""
        return np.arange(self.config.min_frames, self.config.max_frames + 1)

    @cached_property
    def macs(self) -> np.ndarray:
        """C(F) in MAC for F = 0..F_max (index F; entry 0 is unused and 0)."""
        c = self.config
        table = np.zeros(c.max_frames + 1)
        table[1:] = frame_complexity(c.network, c.max_frames, c.complexity)
        table.setflags(write=False)
        return table

    @cached_property
    def linear_complexity(self) -> tuple[float, float]:
        """(alpha MAC/frame, beta MAC) of the linear fit of C(F) over 1..F_max."""
        c = self.config
        exact = frame_complexity(c.network, c.max_frames, "exact")
        frames = np.arange(1, c.max_frames + 1)
        alpha, beta = np.polyfit(frames, exact, 1)
        return float(alpha), float(beta)

    @cached_property
    def accuracy(self) -> np.ndarray:
        """A(F) for F = 0..F_max (index F; entry 0 is NaN: no task runs on 0 frames)."""
        table = np.full(self.config.max_frames + 1, np.nan)
        table[1:] = self.config.accuracy_model(np.arange(1.0, self.config.max_frames + 1))
        table.setflags(write=False)
        return table

    @cached_property
    def tx_weight(self) -> np.ndarray:
        """b_n of Theorem 2: w1*D ("airtime") or (w1 + w2*p)*D ("slot"), cost/(s*bit/s)."""
        c = self.config
        b = c.delay_weight + (c.energy_weight * c.transmit_power if c.tx_energy == "slot" else 0)
        weight = np.full(self.num_devices, b * c.frame_bits)
        weight.setflags(write=False)
        return weight


# ------------------------------------------------------------------------------- allocation
@dataclass(frozen=True, eq=False)
class Allocation:
    """Decisions for every device (arrays of shape (N,), or (..., N) for a batch of instances).

    ``time_share`` and ``edge_frequency`` matter for offloading devices only, ``local_frequency``
    for local devices only; solvers set the unused ones to 0.
    """

    offload: np.ndarray
    """x_n, True = the task runs on the edge."""
    frames: np.ndarray
    """F_n, frames fed to the DNN (integer)."""
    time_share: np.ndarray
    """tau_n, fraction of each TDMA frame."""
    edge_frequency: np.ndarray
    """f_n^e, edge CPU share, cycle/s."""
    local_frequency: np.ndarray
    """f_n^l, local CPU frequency, cycle/s."""

    def __post_init__(self) -> None:
        names = ("offload", "frames", "time_share", "edge_frequency", "local_frequency")
        shape = np.shape(self.offload)
        if not shape or any(np.shape(getattr(self, name)) != shape for name in names):
            shapes = {name: np.shape(getattr(self, name)) for name in names}
            raise ValueError(f"allocation arrays must all have one shape (..., N), got {shapes}")
        object.__setattr__(self, "offload", np.asarray(self.offload, dtype=bool))
        object.__setattr__(self, "frames", np.asarray(self.frames, dtype=np.int64))
        for name in ("time_share", "edge_frequency", "local_frequency"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=float))

    @property
    def num_devices(self) -> int:
        """N, devices per instance."""
        return int(self.offload.shape[-1])


@dataclass(frozen=True)
class CostBreakdown:
    """Per-device cost components of an allocation (arrays of shape (N,), SI units)."""

    delay: np.ndarray
    """T_n, s."""
    energy: np.ndarray
    """E_n, J."""
    accuracy: np.ndarray
    """A(F_n)."""
    cost: np.ndarray
    """U_n = w1*T_n + w2*E_n - w3*A(F_n)."""

    @property
    def total(self) -> float:
        """Sum of U_n over devices (the problem's objective)."""
        return float(self.cost.sum())

    @property
    def mean(self) -> float:
        """Mean of U_n over devices (the environment's cost per device)."""
        return float(self.cost.mean())


def local_delay_energy(
    config: JointOffloadConfig,
    macs: Any,
    frequency: Any,
    energy_cycles_per_mac: float | None = None,
) -> tuple[Any, Any]:
    """Local computing: delay ``eta*C/f^l`` (s) and energy ``kappa*c*C*(f^l)^2`` (J).

    ``macs`` C in MAC, ``frequency`` f^l in cycle/s; ``c`` is the charged model's
    (``config.local_energy_cycles_per_mac``: eta for "cycles", 1 for "macs") unless
    ``energy_cycles_per_mac`` is given (Theorem 1's decision model). Plain arithmetic: floats or
    numpy arrays alike.
    """
    c = (
        config.local_energy_cycles_per_mac
        if energy_cycles_per_mac is None
        else energy_cycles_per_mac
    )
    delay = config.cycles_per_mac * macs / frequency
    energy = config.capacitance * c * macs * frequency * frequency
    return delay, energy


def offload_delay_energy(
    config: JointOffloadConfig,
    macs: Any,
    frames: Any,
    rate: Any,
    time_share: Any,
    edge_frequency: Any,
) -> tuple[Any, Any]:
    """Offloading: delay ``F*D/(tau*R) + eta*C/f^e`` (s) and transmit energy (J).

    The energy is ``p*F*D/R`` (radio on in its own slot, ``tx_energy="airtime"``) or
    ``p*F*D/(tau*R)`` (``"slot"``). ``rate`` R in bit/s with the whole band, ``edge_frequency``
    in cycle/s. Plain arithmetic: floats or numpy arrays alike.
    """
    tx_delay = upload_time(config, frames, rate, time_share)
    delay = tx_delay + config.cycles_per_mac * macs / edge_frequency
    # airtime: the radio is on as long as the upload would take with the whole frame (tau = 1)
    airtime = upload_time(config, frames, rate, 1.0) if config.tx_energy == "airtime" else tx_delay
    return delay, config.transmit_power * airtime


def upload_time(config: JointOffloadConfig, frames: Any, rate: Any, time_share: Any) -> Any:
    """Upload of F frames in a TDMA share: ``F*D/(tau*R)`` (s), ``rate`` R in bit/s with the
    whole band. Plain arithmetic: floats or numpy arrays alike."""
    return frames * config.frame_bits / (time_share * rate)


def weighted_cost(config: JointOffloadConfig, delay: Any, energy: Any, accuracy: Any) -> Any:
    """U = w1*T + w2*E - w3*A for delay T (s), energy E (J) and accuracy A (the shared
    :func:`mec_gym.models.utility.weighted_cost` with the config's weights)."""
    return cost_of(
        delay,
        energy,
        accuracy,
        config.delay_weight,
        config.energy_weight,
        config.accuracy_weight,
    )


def evaluate_allocation(problem: JointOffloadProblem, allocation: Allocation) -> CostBreakdown:
    """Delay, energy, accuracy and cost of every device under ``allocation``.

    Elementwise: a batch of instances and allocations (arrays (..., N)) gives (..., N) arrays,
    each row what its own instance gives. Shares of 0 give infinite delay (and cost); the
    allocation is not checked for feasibility (see :func:`feasibility_violations`).
    """
    c = problem.config
    if allocation.num_devices != problem.num_devices:
        raise ValueError(
            f"allocation has {allocation.num_devices} devices, the problem {problem.num_devices}"
        )
    frames = allocation.frames
    if frames.min() < 1 or frames.max() > c.max_frames:
        raise ValueError(f"frames must be integers in [1, {c.max_frames}], got {frames}")
    macs = problem.macs[frames]
    x = allocation.offload
    with np.errstate(divide="ignore", invalid="ignore"):
        local_delay, local_energy = local_delay_energy(c, macs, allocation.local_frequency)
        edge_delay, tx_energy = offload_delay_energy(
            c, macs, frames, problem.rate, allocation.time_share, allocation.edge_frequency
        )
    delay = np.where(x, edge_delay, local_delay)
    energy = np.where(x, tx_energy, local_energy)
    accuracy = problem.accuracy[frames]
    cost = weighted_cost(c, delay, energy, accuracy)
    return CostBreakdown(delay=delay, energy=energy, accuracy=accuracy, cost=cost)


def local_outcome_table(
    config: JointOffloadConfig,
    macs: np.ndarray,
    accuracy: np.ndarray,
    local_frequency: np.ndarray,
) -> list[list[tuple[float, float, float, float]]]:
    """Per device n and frame count F, the (delay s, energy J, accuracy, cost) of running
    locally at ``local_frequency[n]`` (cycle/s), what :func:`evaluate_allocation` gives a local
    device, as Python floats: ``table[n][F]``. ``macs`` and ``accuracy`` are an instance's C(F)
    and A(F) tables (index F; entry 0 unused). The local outcome depends on the config only, so
    a step looks it up instead of computing it. Devices with the same frequency share one row
    (Theorem 1 gives every device the same)."""
    frequency = np.asarray(local_frequency, dtype=float)
    distinct, device_row = np.unique(frequency, return_inverse=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        delay, energy = local_delay_energy(config, macs, distinct[:, None])
        cost = weighted_cost(config, delay, energy, accuracy)
    columns = delay, energy, np.broadcast_to(accuracy, delay.shape), cost
    per_row = zip(*(column.tolist() for column in columns), strict=True)
    rows = [list(zip(*outcomes, strict=True)) for outcomes in per_row]
    return [rows[i] for i in device_row.reshape(-1).tolist()]


def evaluate_devices(
    config: JointOffloadConfig,
    macs: Sequence[float],
    accuracy: Sequence[float],
    offload: Sequence[bool],
    frames: Sequence[int],
    rate: Sequence[float],
    time_share: Sequence[float],
    edge_frequency: Sequence[float],
    local_outcomes: Sequence[Sequence[tuple[float, float, float, float]]],
) -> list[tuple[float, float, float, float]]:
    """:func:`evaluate_allocation` of one instance given as Python values per device, without
    numpy (an environment's step): each device's (delay s, energy J, accuracy, cost), the same
    floats bit for bit. ``macs`` and ``accuracy`` are the instance's C(F) and A(F) tables
    (index F), ``rate`` the full-band rates (bit/s), ``local_outcomes`` the local devices'
    outcomes (:func:`local_outcome_table` of the allocation's local frequencies); the rest are
    an allocation's fields, with valid frames (unchecked)."""
    w1, w2, w3 = config.delay_weight, config.energy_weight, config.accuracy_weight
    outcomes = []
    for x, f, r, tau, f_edge, local in zip(
        offload, frames, rate, time_share, edge_frequency, local_outcomes, strict=True
    ):
        if x:
            delay, energy = offload_delay_energy(config, macs[f], f, r, tau, f_edge)
            a_f = accuracy[f]
            outcomes.append((delay, energy, a_f, cost_of(delay, energy, a_f, w1, w2, w3)))
        else:
            outcomes.append(local[f])
    return outcomes


def feasibility_violations(
    problem: JointOffloadProblem, allocation: Allocation, rtol: float = 1e-6
) -> list[str]:
    """Human-readable list of the constraints ``allocation`` violates (empty when feasible)."""
    c = problem.config
    x = allocation.offload
    problems: list[str] = []
    if allocation.num_devices != problem.num_devices:
        return [f"allocation has {allocation.num_devices} devices, problem {problem.num_devices}"]
    for name in ("time_share", "edge_frequency", "local_frequency"):
        if not np.isfinite(getattr(allocation, name)).all():
            problems.append(f"{name} is not finite (NaN or inf)")
    if problems:
        return problems  # every comparison below is False for NaN
    f_min = c.min_frames
    bad_frames = (allocation.frames < f_min) | (allocation.frames > c.max_frames)
    if bad_frames.any():
        problems.append(
            f"frames outside [{f_min}, {c.max_frames}] at devices {np.flatnonzero(bad_frames)}"
        )
    time_used = float(allocation.time_share[x].sum())
    if time_used > 1 + rtol:
        problems.append(f"time shares of offloading devices sum to {time_used} > 1")
    cpu_used = float(allocation.edge_frequency[x].sum())
    if cpu_used > c.edge_capacity * (1 + rtol):
        problems.append(f"edge CPU shares sum to {cpu_used} > F^E = {c.edge_capacity}")
    if np.any(allocation.time_share < 0) or np.any(allocation.edge_frequency < 0):
        problems.append("negative time or edge CPU share")
    if np.any(allocation.time_share[x] <= 0) or np.any(allocation.edge_frequency[x] <= 0):
        problems.append("an offloading device has a zero time or edge CPU share")
    f_local = allocation.local_frequency[~x]
    if np.any(f_local <= 0) or np.any(f_local > c.device_max_frequency * (1 + rtol)):
        problems.append(f"local frequencies outside (0, {c.device_max_frequency}]")
    return problems
