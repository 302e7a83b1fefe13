"""K devices sharing one band: the upload and download shares maximising the sum of mAPs.

Source: D. Yang, S. Zhang, H. Zhang, L. Song, "End-Edge Model Collaboration: Bandwidth Allocation
for Data Upload and Model Transmission", arXiv 2504.14310; model as specified in
``docs/bandwidth_split.md`` (everything numeric is our choice).

Device k gets ``beta_k^u`` of the band for its data and ``beta_k^d`` for its model::

    max  sum_k mAP_k(n_k(beta_k^u), M_k(beta_k^d))
    s.t. sum_k (beta_k^u + beta_k^d) <= 1,   beta_k^u >= 0,   beta_k^d >= delta_k

with ``delta_k`` the download share that carries M_min (every device gets a model: the spec's
convex problem; :func:`multi_device_split` raises ``ValueError`` when the band cannot carry every
M_min). The one coupling constraint is priced: for a price ``lam`` (mAP per unit share) the
Lagrangian separates into 2K one-dimensional concave maximisations, each solved by bisection on
its (non-increasing) derivative (:func:`device_shares`); the total share is non-increasing and
continuous in ``lam`` and the price that fills the band is found by bisection (several prices per
round). If every cap (N_avail, M_max) can be reached within the band the price is 0 and the spare
band is split equally among the 2K sub-bands. :func:`kkt_residuals` checks any solution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mec_gym.problems.bandwidth_split import BandwidthSplitProblem, SplitOutcome, bisect_threshold
from mec_gym.solvers.bandwidth_split.optimum import marginal_gains

__all__ = [
    "MultiDeviceSplit",
    "KKTResiduals",
    "device_shares",
    "multi_device_split",
    "kkt_residuals",
]

MAX_PRICE_DOUBLINGS = 200
"""Doublings of the price bracket before giving up (prices beyond 2^200 cannot occur)."""
PRICE_SECTIONS = 16
"""Parts the price bracket is cut into per round."""


@dataclass(frozen=True)
class MultiDeviceSplit:
    """Shares of K devices on one band (``outcome.upload_share``, ``outcome.download_share``)."""

    outcome: SplitOutcome
    """What each device gets, arrays of shape (K,)."""
    price: float
    """lam, the multiplier of the band constraint, mAP per unit share."""


@dataclass(frozen=True)
class KKTResiduals:
    """How far a multi-device split is from the KKT conditions (all 0 at an optimum)."""

    upload: np.ndarray
    """Per device: distance of the price from the supergradient of mAP in beta_k^u (with the
    bound beta_k^u >= 0), mAP per unit share."""
    download: np.ndarray
    """Per device: the same for beta_k^d with its bound beta_k^d >= delta_k."""
    budget: float
    """Primal feasibility: max(0, sum of shares - 1)."""
    bounds: float
    """Primal feasibility: largest violation of beta_k^u >= 0 and beta_k^d >= delta_k."""
    slackness: float
    """Complementary slackness: |lam (1 - sum of shares)|."""
    dual: float
    """Dual feasibility: max(0, -lam)."""

    @property
    def max(self) -> float:
        """The largest residual."""
        parts = (self.upload.max(), self.download.max(), self.budget, self.bounds)
        return float(max(*parts, self.slackness, self.dual))


def device_shares(
    problem: BandwidthSplitProblem, price: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Each device's maximiser of ``mAP_k - price (beta_k^u + beta_k^d)`` for a price > 0:
    ``beta_k^u = sup{d mAP / d beta_u > price}`` in [0, 1] and ``beta_k^d`` the same in
    [delta_k, 1]. Returns (upload shares, download shares), each (K,), or (P, K) for P prices."""
    price = np.asarray(price, dtype=float)[..., None]  # against the devices' axis
    floor = problem.min_download_share
    shape = np.broadcast_shapes(price.shape, floor.shape)

    def profitable(shares: np.ndarray) -> np.ndarray:
        upload, download = marginal_gains(problem, shares[0], shares[1])
        return np.stack([upload > price, download > price])

    start = np.stack([np.zeros(shape), np.broadcast_to(floor, shape)])
    low, _ = bisect_threshold(profitable, start, np.ones((2, *shape)))
    return low[0], low[1]


def multi_device_split(problem: BandwidthSplitProblem) -> MultiDeviceSplit:
    """The optimal shares of the K instances of ``problem`` read as devices sharing its band.

    The price is bracketed by doubling and the bracket cut into ``PRICE_SECTIONS`` per round
    (a bisection that tests several prices in one vectorised call) down to adjacent floats; the
    shares are those of the bracket's upper end, so they never exceed the band (up to the
    rounding of their sum)."""
    floor = problem.min_download_share
    if floor.sum() > 1.0:
        raise ValueError(
            f"the band cannot carry M_min to every device: the download shares that carry it "
            f"sum to {floor.sum():.4g} > 1"
        )
    k = problem.num_instances
    full = problem.full_data_upload_share + problem.full_model_download_share
    if full.sum() <= 1.0:  # every cap within reach: price 0, spare band split equally
        spare = (1.0 - full.sum()) / (2 * k)
        outcome = problem.evaluate(
            problem.full_data_upload_share + spare, problem.full_model_download_share + spare
        )
        return MultiDeviceSplit(outcome, 0.0)

    def total(prices: np.ndarray) -> np.ndarray:
        upload, download = device_shares(problem, prices)
        return upload.sum(axis=-1) + download.sum(axis=-1)

    high = 1.0
    for _ in range(MAX_PRICE_DOUBLINGS):
        if total(np.array(high)) <= 1.0:
            break
        high *= 2.0
    else:
        raise RuntimeError("no price fills the band: the smallest models take all of it")
    low = 0.0
    while True:
        prices = np.unique(low + (high - low) * np.arange(1, PRICE_SECTIONS) / PRICE_SECTIONS)
        prices = prices[(prices > low) & (prices < high)]
        if prices.size == 0:
            break
        over = total(prices) > 1.0  # True for the lower prices, False for the higher
        low = max(low, prices[over].max(initial=low))
        high = min(high, prices[~over].min(initial=high))
    upload, download = device_shares(problem, high)
    return MultiDeviceSplit(problem.evaluate(upload, download), high)


def kkt_residuals(
    problem: BandwidthSplitProblem, split: MultiDeviceSplit, rtol: float = 1e-9
) -> KKTResiduals:
    """The KKT residuals of ``split`` (from any solver) for the shared-band problem.

    A share within ``rtol`` (relative) of where a cap starts to bind counts as at the kink, whose
    supergradient is the interval [0, slope]; one within ``rtol`` of its lower bound counts as
    on it (only the right derivative must not exceed the price)."""
    price = split.price
    up = split.outcome.upload_share
    down = split.outcome.download_share
    floor = problem.min_download_share

    def residual(
        slope: np.ndarray,
        capacity: np.ndarray,
        cap: np.ndarray | float,
        share: np.ndarray,
        bound: np.ndarray | float,
    ) -> np.ndarray:
        left = np.where(capacity <= cap * (1 + rtol), slope, 0.0)
        right = np.where(capacity < cap * (1 - rtol), slope, 0.0)
        above = np.maximum(right - price, 0.0)
        on_bound = share <= bound * (1 + rtol)
        return np.where(on_bound, above, np.maximum(above, price - left))

    used = float(up.sum() + down.sum())
    return KKTResiduals(
        upload=residual(
            problem.upload_slope(up), problem.upload_capacity(up), problem.available_samples, up, 0
        ),
        download=residual(
            problem.download_slope(down),
            problem.download_capacity(down),
            problem.config.max_model_size,
            down,
            floor,
        ),
        budget=max(used - 1.0, 0.0),
        bounds=float(max(np.max(-up), np.max(floor - down), 0.0)),
        slackness=abs(price * (1.0 - used)),
        dual=max(-price, 0.0),
    )
