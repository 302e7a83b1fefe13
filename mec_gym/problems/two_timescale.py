"""Two-timescale digital-twin-assisted inference and retraining: parameters, physics, slot problem.

Source: J. Cong, G. Cheng, C. You, X. Huang, W. Wu, "Two-Timescale Digital Twin Assisted Model
Interference and Retraining over Wireless Network", arXiv 2411.18329. Model as specified in
``docs/two_timescale.md``; the paper gives the rate, compute delay, DT data (KL projection)
and retraining data formulas, everything else (drift, accuracy, update rule, numbers) is our choice.

M base stations with edge servers serve N mobile users (MUs). Per slot, MU n uploads a batch of
``Q_n`` bit to its BS m at rate ``R_n`` and the BS runs it on a compute share ``lambda_n``; a MU
being retrained also gets a share ``lambda_re_n`` for its retraining work ``c_re S_n``::

    R = B v log2(1 + omega h / sigma^2),  sigma^2 = N0 B,  h = 10^(-PL(d)/10) |xi|^2
    L_tx = Q / R,   L_BS = Q / lambda,   L_re = c_re S / lambda_re
    sum over the MUs of BS m of (lambda + lambda_re) <= Lambda_m

Data drift and retraining: MU n's class distribution ``q`` drifts on the simplex; its model was
fitted to ``q_model`` and has accuracy ``clip(acc_max - zeta KL(q || q_model), 0, acc_max)``. The
DT generates data from ``p* = argmin_{p in P} KL(p || q)``, the I-projection of ``q`` onto the
twin's model family P; of ``S`` bit of generated data only ``S_eff = S exp(-KL(p* || q))`` are
useful, and retraining moves ``q_model`` toward ``q`` by ``S_eff / (S_eff + S_0)``.

The DT's model family is ``P_k``: distributions with at most k classes of positive mass (a twin
that only models its k main classes; the simplest family whose projection is exact and cheap). For
p supported on a set A, ``KL(p || q) = KL(p || q_A) - log q(A)`` with ``q_A = q 1_A / q(A)``, so
the best p on A is ``q_A`` with ``KL = -log q(A)``, and the best A of size k is the one of largest
``q(A)``: the k most likely classes. Hence the exact projection is q restricted to its top k
classes and renormalised, and ``S_eff = S q(A)``.

The configuration-free formulas (KL divergence, the projection, the drift, the model update,
the twin's error) are in :mod:`mec_gym.models.data_drift`, the channel in
:mod:`mec_gym.models.channel`; this module binds them to :class:`TwoTimescaleConfig`.
:class:`SlotProblem` is one slot's compute allocation instance (arrays with optional leading batch
dimensions: several slots or environments) and :meth:`SlotProblem.evaluate` the one cost function
that environments and solvers share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import add, mul
from typing import Any

import numpy as np

from mec_gym.config import SystemConfig
from mec_gym.models.channel import (
    PATH_LOSS_SLOPE_RANGE_DB,
    check_link_budget,
    db_to_linear,
    dbm_to_watt,
    path_loss_db,
    shannon_rate,
)
from mec_gym.models.data_drift import (
    accuracy_of_divergence,
    expected_walk_kl,
    kl_divergence,
    logit_walk,
    move_toward,
    move_toward_each_slot,
)

__all__ = [
    "TwoTimescaleConfig",
    "SlotProblem",
    "ComputeShares",
    "SlotDelays",
    "channel_gains",
    "uplink_rates",
    "model_accuracy",
    "accuracy_violation",
    "shortfall",
    "retraining_bits",
    "update_model_distribution",
    "update_model_distribution_each_slot",
    "drift_trajectory",
    "expected_drift_kl",
    "forecast_accuracy",
    "job_delay",
    "slot_delays",
    "share_scale",
    "shares_from_weights",
    "shares_from_weight_lists",
    "share_violations",
]


MAX_DRIFT_STEP = 10.0
"""Largest std of the class logits' Gaussian step per slot, nat (above, every slot is a fresh
distribution anyway; far above, the walk overflows)."""


@dataclass(frozen=True)
class TwoTimescaleConfig(SystemConfig):
    """Parameters of the two-timescale system (defaults from the spec, section 2)."""

    num_bs: int = 3
    """M, number of base stations (each with an edge server)."""
    num_mus: int = 15
    """N, number of mobile users."""
    area_m: float = 1000.0
    """Side of the square area, m."""
    min_distance_m: float = 10.0
    """Smallest MU-BS distance the path loss is evaluated at, m."""
    bandwidth_hz: float = 1e6
    """B, sub-band width of each associated MU, Hz."""
    noise_dbm_per_hz: float = -174.0
    """N0, noise power spectral density, dBm/Hz."""
    tx_power_w: float = 0.2
    """omega, MU transmit power, W."""
    path_loss_intercept_db: float = 128.1
    """Path loss at 1 km, dB."""
    path_loss_slope_db: float = 37.6
    """Path loss per decade of distance, dB."""
    slot_s: float = 0.1
    """Delta_s, length of a short slot, s."""
    slots_per_frame: int = 50
    """T_L, short slots per large-timescale frame."""
    batch_min_bits: float = 0.2e6
    """Smallest inference batch |Q| per MU per slot, bit (|Q| ~ U[min, max])."""
    batch_max_bits: float = 1e6
    """Largest inference batch |Q| per MU per slot, bit."""
    bs_capacity: float = 50e6
    """Lambda_m, processing capacity of each BS, bit/s of inference data."""
    retrain_cost: float = 5.0
    """c_re, processing work per bit of retraining data (retraining L_re = c_re S / lambda_re)."""
    retrain_ref_bits: float = 1e6
    """S_0, effective retraining data that closes half the gap between q_model and q, bit."""
    acc_max: float = 0.95
    """Accuracy of a model fitted to the current distribution."""
    acc_min: float = 0.85
    """Accuracy constraint (a penalty in the reward)."""
    kl_weight: float = 0.5
    """zeta, accuracy lost per nat of KL(q || q_model)."""
    dt_error_max: float = 0.05
    """eps_max, largest relative error of the DT's view (eps ~ U[-eps_max, eps_max])."""
    num_classes: int = 10
    """Number of classes of the data distributions q."""
    drift_step: float = 0.05
    """Std of the per-slot Gaussian random walk of the log-probabilities (logits) of q, nat."""
    jump_prob: float = 0.002
    """Probability per slot per MU that q jumps to a fresh Dirichlet(1) draw (~1 in 10 frames)."""
    dt_top_k: int = 5
    """k, the DT models distributions with at most k classes of positive mass."""
    max_users_per_bs: int = 0
    """Largest number of MUs a BS may serve (0: no cap)."""

    def validate(self) -> None:
        for name in ("num_bs", "num_mus", "slots_per_frame"):
            self._require_positive(name, integer=True)
        for name in (
            "area_m",
            "min_distance_m",
            "bandwidth_hz",
            "tx_power_w",
            "slot_s",
            "batch_min_bits",
            "bs_capacity",
            "retrain_cost",
            "retrain_ref_bits",
            "kl_weight",
        ):
            self._require_positive(name)
        self._require_number("noise_dbm_per_hz", -250, 0)
        self._require_number("path_loss_intercept_db")
        self._require_number("batch_max_bits", self.batch_min_bits, low_field="batch_min_bits")
        self._require_number("acc_max", 0, 1, low_inclusive=False)
        self._require_number("acc_min", 0, self.acc_max, high_field="acc_max")
        self._require_number("dt_error_max", 0, 1, high_inclusive=False)
        self._require_number("num_classes", 2, integer=True)
        self._require_number("path_loss_slope_db", *PATH_LOSS_SLOPE_RANGE_DB)
        self._require_number("drift_step", 0, MAX_DRIFT_STEP)
        self._require_number("jump_prob", 0, 1)
        self._require_number(
            "dt_top_k", 1, self.num_classes, integer=True, high_field="num_classes"
        )
        self._require_number("max_users_per_bs", 0, integer=True)
        check_link_budget(
            f"{type(self).__name__}.tx_power_w, path_loss_intercept_db, path_loss_slope_db, "
            "min_distance_m, area_m, noise_dbm_per_hz, bandwidth_hz",
            (self.tx_power_w, self.tx_power_w),
            self.path_loss_intercept_db,
            self.path_loss_slope_db,
            self.noise_dbm_per_hz,
            self.bandwidth_hz,
            (self.min_distance_m, self.area_m * np.sqrt(2.0)),  # to the opposite corner
        )
        if 0 < self.max_users_per_bs * self.num_bs < self.num_mus:
            raise ValueError(
                f"{type(self).__name__}.max_users_per_bs must be 0 (no cap) or at least "
                f"ceil(num_mus / num_bs) = {-(-self.num_mus // self.num_bs)}, "
                f"got {self.max_users_per_bs!r}"
            )

    @property
    def noise_w_per_hz(self) -> float:
        """N0, noise power spectral density, W/Hz."""
        return float(dbm_to_watt(self.noise_dbm_per_hz))


# ---------------------------------------------------------------------------------- physics
def channel_gains(
    config: TwoTimescaleConfig, distance_m: np.ndarray, fading: np.ndarray | float = 1.0
) -> np.ndarray:
    """h = 10^(-PL(d)/10) |xi|^2 (dimensionless), distances clipped below at min_distance_m."""
    distance = np.maximum(np.asarray(distance_m, dtype=float), config.min_distance_m)
    loss_db = path_loss_db(distance, config.path_loss_intercept_db, config.path_loss_slope_db)
    return db_to_linear(-loss_db) * fading


def uplink_rates(config: TwoTimescaleConfig, gain: np.ndarray) -> np.ndarray:
    """R = B log2(1 + omega h / (N0 B)) of an associated MU (v = 1) at channel gain h, bit/s."""
    return shannon_rate(config.bandwidth_hz, config.tx_power_w, gain, config.noise_w_per_hz)


def model_accuracy(
    config: TwoTimescaleConfig,
    q: np.ndarray,
    q_model: np.ndarray,
    q_negative_entropy: np.ndarray | None = None,
) -> np.ndarray:
    """acc = clip(acc_max - zeta KL(q || q_model), 0, acc_max) over the last (class) axis
    (``q_negative_entropy``: ``negative_entropy(q)`` if already known, see
    :func:`~mec_gym.models.data_drift.kl_divergence`)."""
    divergence = kl_divergence(q, q_model, q_negative_entropy)
    return accuracy_of_divergence(divergence, config.acc_max, config.kl_weight)


def accuracy_violation(config: TwoTimescaleConfig, accuracy: np.ndarray) -> np.ndarray:
    """max(0, acc_min - acc): how far each model's accuracy is below the constraint."""
    return shortfall(accuracy, config.acc_min)


def shortfall(value: Any, minimum: float) -> Any:
    """``max(0, minimum - value)``: how far ``value`` is below ``minimum`` (floats or arrays
    alike)."""
    return np.maximum(minimum - value, 0.0)


def retraining_bits(
    retrain: np.ndarray, generation_ratio: np.ndarray, data_bits: np.ndarray
) -> np.ndarray:
    """S = delta p ||Q||_2, bit: DT-generated data of a MU with retraining flag delta in {0, 1},
    generation ratio p in [0, 1] and data norm ||Q||_2 in bit (arrays, sequences or floats)."""
    return np.multiply(retrain, generation_ratio) * data_bits


def update_model_distribution(
    config: TwoTimescaleConfig, q_model: np.ndarray, q: np.ndarray, effective_bits: np.ndarray
) -> np.ndarray:
    """q_model + S_eff / (S_eff + S_0) (q - q_model): the distribution the retrained model fits."""
    return move_toward(q_model, q, effective_bits, config.retrain_ref_bits)


def update_model_distribution_each_slot(
    config: TwoTimescaleConfig, q_model: np.ndarray, q: np.ndarray, effective_bits: np.ndarray
) -> np.ndarray:
    """:func:`update_model_distribution` over T slots in turn: q (..., T, N, C) and S_eff
    (..., T, N) bit of each slot, from ``q_model`` (..., N, C); the distribution after each
    slot, (..., T, N, C)."""
    return move_toward_each_slot(q_model, q, effective_bits, config.retrain_ref_bits)


def drift_trajectory(
    config: TwoTimescaleConfig, q0: np.ndarray, slots: int, rng: np.random.Generator
) -> np.ndarray:
    """The class distributions of ``slots`` consecutive slots from ``q0`` (..., C), shape
    (slots, ..., C): :func:`~mec_gym.models.data_drift.logit_walk` with steps of
    ``drift_step`` nat and jumps of probability ``jump_prob`` per slot."""
    return logit_walk(q0, slots, rng, config.drift_step, config.jump_prob)


def expected_drift_kl(config: TwoTimescaleConfig, q: np.ndarray, slots: int) -> np.ndarray:
    """E KL(q' || q) after ``slots`` slots of drift without a jump, nat
    (:func:`~mec_gym.models.data_drift.expected_walk_kl`)."""
    return expected_walk_kl(q, slots, config.drift_step)


def forecast_accuracy(
    config: TwoTimescaleConfig, q: np.ndarray, q_model: np.ndarray, slots: int
) -> np.ndarray:
    """Accuracy expected after ``slots`` slots of drift without retraining: the accuracy of the
    divergence ``KL(q || q_model) + expected_drift_kl`` (the cross term has mean zero to first
    order)."""
    divergence = kl_divergence(q, q_model) + expected_drift_kl(config, q, slots)
    return accuracy_of_divergence(divergence, config.acc_max, config.kl_weight)


# ----------------------------------------------------------------------------- slot problem
@dataclass(frozen=True, eq=False)
class ComputeShares:
    """Compute shares of one slot (or of several: a slot axis before the MU axis), bit/s, each
    of shape (..., N)."""

    inference: np.ndarray
    """lambda_n, the share of MU n's inference batch at its BS."""
    retraining: np.ndarray
    """lambda_re_n, the share of MU n's retraining work at its BS (0 when not retrained)."""


@dataclass(frozen=True, eq=False)
class SlotDelays:
    """Delays of one slot (or of several: a slot axis before the MU axis) per MU, s, each of
    shape (..., N); ``weighted_total`` of shape (...)."""

    transmission: np.ndarray
    """L_tx = Q / R."""
    computation: np.ndarray
    """L_BS = Q / lambda."""
    retraining: np.ndarray
    """L_re = c_re S / lambda_re (0 for a MU not retrained)."""
    weighted_total: np.ndarray
    """Sum over MUs of L_tx + L_BS + w L_re, w the problem's retrain_weight."""
    sums: np.ndarray
    """Sums over the MUs of L_tx, L_BS and L_re, shape (3, ...)."""

    @property
    def per_mu(self) -> np.ndarray:
        """L_tx + L_BS + L_re of every MU, s."""
        return self.transmission + self.computation + self.retraining


def job_delay(work: Any, share: Any) -> Any:
    """``work / share``, s, for work (bit) and compute or link share (bit/s), floats or arrays
    alike: 0 where there is no work (``work <= 0``) and inf where work gets no share (numpy,
    with its divide-by-zero warning; ZeroDivisionError on floats)."""
    return work / (share + (work <= 0))  # no work: 0 / (share + 1) = 0


def slot_delays(
    batch_bits: np.ndarray,
    rate: np.ndarray,
    retrain_work: np.ndarray,
    shares: ComputeShares,
    retrain_weight: float = 1.0,
) -> SlotDelays:
    """The delays of one slot (the formulas of the module docstring), arrays (..., N): batches
    Q (bit), uplink rates R (bit/s), retraining work W = c_re S (bit) and the compute shares.

    Each delay is work / share, 0 where there is no work and inf where work gets no share (an
    infeasible decision, with numpy's divide-by-zero warning); the three are computed as one
    (3, ..., N) array."""
    work = np.array((batch_bits, batch_bits, retrain_work), dtype=float)
    share = np.array((rate, shares.inference, shares.retraining), dtype=float)
    per_mu = job_delay(work, share)
    sums = per_mu.sum(axis=-1)
    total = sums[0] + sums[1] + retrain_weight * sums[2]
    return SlotDelays(per_mu[0], per_mu[1], per_mu[2], total, sums)


@dataclass(frozen=True, eq=False)
class SlotProblem:
    """One slot's compute allocation for a fixed association (optional leading batch axes).

    The compute problem is ``min sum_n Q_n / lambda_n + w sum_n W_n / lambda_re_n`` subject to
    the shares of each BS summing to at most its capacity; the transmission delay is fixed.
    """

    batch_bits: np.ndarray
    """Q_n, inference batch of each MU, bit, shape (..., N)."""
    rate: np.ndarray
    """R_n, uplink rate of each MU to its BS, bit/s, shape (..., N)."""
    association: np.ndarray
    """Index in [0, M) of each MU's BS, shape (..., N)."""
    retrain_work: np.ndarray
    """W_n = c_re S_n, retraining work of each MU (0: not retrained), bit, shape (..., N)."""
    capacity: np.ndarray
    """Lambda_m, capacity of each BS, bit/s, shape (..., M)."""
    retrain_weight: float = 1.0
    """w > 0, weight of the retraining delay in the objective."""

    def __post_init__(self) -> None:
        for name in ("batch_bits", "rate", "retrain_work", "capacity"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=float))
        object.__setattr__(self, "association", np.asarray(self.association, dtype=np.intp))
        shape = self.batch_bits.shape
        for name in ("rate", "association", "retrain_work"):
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, expected {shape}")
        if self.capacity.shape[:-1] != shape[:-1]:
            raise ValueError(f"capacity has shape {self.capacity.shape}, batch shape {shape[:-1]}")
        if np.any(self.association < 0) or np.any(self.association >= self.num_bs):
            raise ValueError(f"association must be in [0, {self.num_bs}), got {self.association}")
        if np.any(self.batch_bits < 0) or np.any(self.retrain_work < 0):
            raise ValueError("batch_bits and retrain_work must be non-negative")
        if np.any(self.capacity <= 0) or not self.retrain_weight > 0:
            raise ValueError("capacity and retrain_weight must be positive")

    @classmethod
    def from_config(
        cls,
        config: TwoTimescaleConfig,
        batch_bits: np.ndarray,
        rate: np.ndarray,
        association: np.ndarray,
        retrain_bits: np.ndarray | None = None,
        retrain_weight: float = 1.0,
    ) -> SlotProblem:
        """The slot with the config's capacities and W_n = c_re S_n (S_n: retraining data, bit)."""
        batch = np.asarray(batch_bits, dtype=float)
        bits = np.zeros_like(batch) if retrain_bits is None else np.asarray(retrain_bits)
        capacity = np.full(batch.shape[:-1] + (config.num_bs,), config.bs_capacity)
        work = config.retrain_cost * bits
        return cls(batch, rate, association, work, capacity, retrain_weight)

    @property
    def num_bs(self) -> int:
        """M, number of BSs."""
        return self.capacity.shape[-1]

    @property
    def num_mus(self) -> int:
        """N, number of MUs."""
        return self.batch_bits.shape[-1]

    @cached_property
    def membership(self) -> np.ndarray:
        """One-hot association as floats, shape (..., N, M)."""
        return (self.association[..., None] == np.arange(self.num_bs)).astype(float)

    def per_bs_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum of per-MU ``values`` (..., N) over the MUs of each BS, shape (..., M), added MU by
        MU in index order (as :func:`shares_from_weight_lists` adds Python floats; a matrix
        product would add in the order of the machine's BLAS kernel)."""
        values = np.asarray(values, dtype=float)
        members = np.where(self.membership > 0, values[..., None], 0.0)  # (..., N, M)
        if members.shape[-2] == 0:
            return members.sum(axis=-2)
        return np.add.accumulate(members, axis=-2)[..., -1, :]

    def per_mu_value(self, per_bs: np.ndarray) -> np.ndarray:
        """The value of each MU's BS of per-BS ``per_bs`` (..., M), shape (..., N)."""
        if self.association.ndim == 1 and per_bs.ndim == 1:
            return per_bs[self.association]
        return (self.membership @ per_bs[..., None])[..., 0]

    def evaluate(self, shares: ComputeShares) -> SlotDelays:
        """Delays of every MU under ``shares`` (not checked: see :func:`share_violations`)."""
        return slot_delays(
            self.batch_bits, self.rate, self.retrain_work, shares, self.retrain_weight
        )


def shares_from_weights(
    problem: SlotProblem, inference_weights: np.ndarray, retrain_weights: np.ndarray
) -> ComputeShares:
    """Each BS's whole capacity split in proportion to non-negative per-MU weights (..., N).

    A BS whose weights are all 0 hands out nothing."""
    inference = np.asarray(inference_weights, dtype=float)
    retraining = np.asarray(retrain_weights, dtype=float)
    per_bs = problem.per_bs_sum(inference + retraining)
    mu_scale = problem.per_mu_value(share_scale(problem.capacity, per_bs))
    return ComputeShares(inference * mu_scale, retraining * mu_scale)


def share_scale(capacity: Any, weight_sum: Any) -> Any:
    """Share per unit of weight at BSs of capacity ``capacity`` (bit/s) whose jobs' weights sum
    to ``weight_sum``, floats or arrays alike: ``capacity / weight_sum``, or ``capacity`` where
    the sum is 0 (the BS hands out nothing: a finite scale times weights of 0)."""
    return capacity / (weight_sum + (weight_sum == 0))


def shares_from_weight_lists(
    association: Sequence[int],
    capacity: Sequence[float],
    inference_weights: Sequence[float],
    retrain_weights: Sequence[float],
) -> tuple[list[float], list[float]]:
    """:func:`shares_from_weights` for one slot on Python floats, bit for bit (the per-BS sums
    MU by MU, as :meth:`SlotProblem.per_bs_sum`): MUs at BSs ``association`` (N ints in [0,
    M), not checked), BS capacities ``capacity`` (M, bit/s) and the weights (N each); the
    (inference, retraining) shares, bit/s, N each."""
    per_bs = [0.0] * len(capacity)
    for bs, weight in zip(association, map(add, inference_weights, retrain_weights), strict=True):
        per_bs[bs] += weight
    scale = list(map(share_scale, capacity, per_bs))
    mu_scale = [scale[bs] for bs in association]
    return list(map(mul, inference_weights, mu_scale)), list(map(mul, retrain_weights, mu_scale))


def share_violations(problem: SlotProblem, shares: ComputeShares, rtol: float = 1e-9) -> list[str]:
    """Human-readable list of the constraints ``shares`` violate (empty when feasible)."""
    found = []
    if np.any(shares.inference < 0) or np.any(shares.retraining < 0):
        found.append("negative compute share")
    used = problem.per_bs_sum(shares.inference + shares.retraining)
    over = used > problem.capacity * (1 + rtol)
    if over.any():
        found.append(f"shares exceed the capacity at BS {np.argwhere(over).tolist()}")
    for name, work, share in (
        ("inference", problem.batch_bits, shares.inference),
        ("retraining", problem.retrain_work, shares.retraining),
    ):
        if np.any((work > 0) & (share <= 0)):
            found.append(f"a MU with {name} work has no {name} share")
    return found
