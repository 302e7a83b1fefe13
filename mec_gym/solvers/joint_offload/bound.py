"""The exact optimum of the joint offloading problem (the "Bound" of the spec).

The optimum is ``min over offloading sets S`` of ``sum_{n not in S} U_n^L* + Phi*(S)``: Theorem 1
gives the local costs ``U_n^L*``, Theorem 2 reduces the edge devices to the integer program
``Phi*(S) = min_F Phi(F)`` over ``F in [F_min, F_max]^|S|`` with::

    Phi(F) = (sum_n t_n(F_n))^2 + (sum_n v(F_n))^2 + sum_n g_n(F_n)
    t_n(F) = sqrt(b_n F / R_n),  v(F) = sqrt(w1 eta C(F) / F^E),
    g_n(F) = [airtime] w2 p F D / R_n - w3 A(F)

Two nested exact branch-and-bound searches replace the exhaustive ``2^N x K^|S|`` enumeration
(``K = F_max - F_min + 1``); each prunes only what provably holds no optimum (or nothing better
than the incumbent).

**Frames of one set** (:func:`exact_edge_frames`), a depth-first search over boxes
``F_n in [lo_n, hi_n]`` with three rules:

1. *Order.* ``t_n`` and the energy coefficient ``w2 p D / R_n`` both fall with the rate ``R_n``
   (``b_n`` is the same for every device). Swapping the frames of two devices leaves
   ``sum v`` and ``sum A`` unchanged, and by the rearrangement inequality
   (``sqrt(1/R) sqrt(F)``, ``F/R``) it never raises ``Phi`` when it gives the better channel the
   larger ``F``. Some optimum therefore has ``F`` non-increasing in the order of decreasing rate;
   the search keeps only such vectors (``hi`` is propagated forwards, ``lo`` backwards).
2. *Best response.* At a global optimum ``F*`` each ``F_n*`` minimises
   ``f_n(F; s) = 2 s_1 t_n(F) + 2 s_2 v(F) + t_n(F)^2 + v(F)^2 + g_n(F)`` over all F, where
   ``s = (sum_{m != n} t_m(F_m*), sum_{m != n} v(F_m*))``. Since ``t_n`` and ``v`` are
   non-decreasing in F, ``f_n(F'; s) - f_n(F; s)`` grows with ``s`` for ``F' > F`` (increasing
   differences), so if every ``F_m*`` lies in its box, ``s`` lies between the sums ``s^lo`` at
   the lower ends and ``s^hi`` at the upper ends, and ``F_n*`` lies between the smallest
   minimiser of ``f_n(.; s^hi)`` and the largest minimiser of ``f_n(.; s^lo)`` over its box
   (a larger ``F`` than that largest minimiser ``M`` would satisfy
   ``f_n(F; s) - f_n(M; s) >= f_n(F; s^lo) - f_n(M; s^lo) > 0``, so ``F_n*`` would not be a best
   response). Boxes are shrunk with this rule to a fixed point; a box that empties holds no
   optimum. Ties within a relative tolerance count as minimisers (shrinking less is safe).
3. *Bound.* For every ``y``, ``s^2 >= 2 y s - y^2``, so with ``y`` the sums of the incumbent,
   ``Phi(F) >= -y_1^2 - y_2^2 + sum_n min_{F_n in box} [2 y_1 t_n + 2 y_2 v + g_n]``
   (a Lagrangian bound separable over devices); a box whose bound reaches the incumbent is cut.

The incumbent starts from best-response dynamics (``Phi`` is the potential of the game in which
each device picks its own frames, so the dynamics end at a local optimum); the search branches on
the widest box, halving it.

**Offloading sets** (:func:`exact_optimum`), a depth-first include/exclude search over the
devices sorted by their best gain from offloading alone (include first). Each node (``I``
included, ``O`` excluded, the rest ``Q`` undecided) is cut when one of two lower bounds on every
completion reaches the incumbent:

- *Cross terms.* Adding devices ``J`` to ``I`` only adds non-negative cross terms to the squared
  sums, and ``t_m, v`` are smallest at ``F_min``, so::

      Phi*(I + J) >= Phi*(I) + sum_{n in J} delta_n(I) + |J|(|J|-1) (t_min(F_min)^2 + v(F_min)^2)
      delta_n(I) = min_F [t_n(F)^2 + v(F)^2 + g_n(F) + 2 T_I t_n(F) + 2 V_I v(F)]

  with ``T_I = sum_{m in I} t_m(F_min)``, ``V_I = |I| v(F_min)``; minimised over the size and
  the members of J this bounds ``sum_O U^L* + Phi*(I) + cost(Q)``. In particular a device whose
  edge cost with the whole band and the whole edge CPU, ``delta_n(empty)``, is no better than
  its local optimum never needs to offload, and is left out of the search.
- *Lagrangian.* With ``s^2 >= 2 y s - y^2`` for both squared sums the whole problem separates
  over devices: for every ``y``::

      cost >= -y_1^2 - y_2^2 + sum_O U_n^L* + sum_I h_n(y) + sum_Q min(U_n^L*, h_n(y)),
      h_n(y) = min_F [2 y_1 t_n(F) + 2 y_2 v(F) + g_n(F)].

  The bound is concave in ``y``; it is taken at the ``y`` maximising it at the root
  (Nelder-Mead; any ``y`` is valid, so an inexact maximiser costs only pruning) and at the sums
  of the incumbent. It is nearly tight (the per-device cost curves are almost convex), which is
  why the search usually solves few sets beyond the first dive.

*Twins.* Devices with the same tables and local cost (identical channels) are interchangeable:
swapping two of them maps every allocation to one of the same cost. Twins are adjacent in the
order, and only the sets holding a prefix of each run of twins are searched (once a twin is
excluded, the twins after it are too), so N identical devices cost N + 1 sets instead of 2^N.

``Phi*`` of an include-child is searched with the cut-off the first bound leaves, so a child
that cannot beat the incumbent is discarded without being solved. Both searches are exact up to
floating-point rounding: a node is cut when its bound is not below the incumbent, so an optimum
tied with the incumbent may be missed but never a better one.

The search is exponential in N in the worst case but prunes well on the spec's configurations:
``eval/bench_solvers.py`` times it per N (``docs/bench_solvers.md``). A ``time_limit`` stops it
with the best allocation found (the incumbent) and a proven lower bound on the optimum (the
Lagrangian bound at the root), so ``cost - lower_bound`` bounds the incumbent's gap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from mec_gym.problems.joint_offload import Allocation, JointOffloadProblem, evaluate_allocation
from mec_gym.solvers.joint_offload.edge import compose_allocation
from mec_gym.solvers.joint_offload.local import local_optimum

__all__ = ["BoundResult", "EdgeFrames", "exact_edge_frames", "exact_optimum"]

_TIE_TOLERANCE = 1e-9
"""Relative tolerance under which two costs count as equal in the best-response rule."""


@dataclass(frozen=True)
class BoundResult:
    """The exact optimum of an instance (or the best allocation found within the time limit)."""

    allocation: Allocation
    """The optimal (feasible) allocation, or the best one found within the time limit."""
    cost: float
    """Its total cost sum_n U_n (``evaluate_allocation(...).total``)."""
    lower_bound: float
    """A proven lower bound on the optimal total cost: ``cost`` itself when ``optimal``."""
    sets_evaluated: int
    """Offloading sets whose edge subproblem was searched (out of 2^N)."""
    optimal: bool
    """False when the time limit stopped the search before optimality was proved."""


@dataclass(frozen=True)
class EdgeFrames:
    """The integer minimiser of Phi for one offloading set."""

    frames: np.ndarray
    """F_n of the set's devices (in the order given), integer frames."""
    cost: float
    """Phi(frames), the optimal total cost of the set's devices."""
    optimal: bool
    """False when the deadline stopped the search."""


@dataclass(frozen=True)
class _Tables:
    """Phi's ingredients for devices (rows) x frames F_min..F_max (columns)."""

    tx: np.ndarray
    """t_n(F) = sqrt(b_n F / R_n), sqrt(cost)."""
    cpu: np.ndarray
    """v(F) = sqrt(w1 eta C(F) / F^E), sqrt(cost), shape (K,)."""
    separable: np.ndarray
    """g_n(F), cost."""

    @property
    def own(self) -> np.ndarray:
        """Cost of a device alone on the edge: t_n^2 + v^2 + g_n."""
        return self.tx**2 + self.cpu**2 + self.separable

    def subset(self, rows: np.ndarray) -> _Tables:
        return _Tables(self.tx[rows], self.cpu, self.separable[rows])


def _tables(problem: JointOffloadProblem) -> _Tables:
    """Phi's tables for all devices of ``problem``."""
    c = problem.config
    frames = problem.frame_range.astype(float)
    with np.errstate(divide="ignore"):  # no uplink (rate 0): inf, the device stays local
        per_frame = problem.tx_weight / problem.rate
    tx = np.sqrt(per_frame[:, None] * frames[None, :])
    cpu = np.sqrt(c.delay_weight * c.cycles_per_mac * problem.macs[problem.frame_range])
    cpu = cpu / np.sqrt(c.edge_capacity)
    separable = np.broadcast_to(
        -c.accuracy_weight * problem.accuracy[problem.frame_range], tx.shape
    ).copy()
    if c.tx_energy == "airtime":
        with np.errstate(divide="ignore"):
            energy_per_frame = c.energy_weight * c.transmit_power * c.frame_bits / problem.rate
        separable += _scaled(energy_per_frame[:, None], frames[None, :])
    if np.any(np.diff(cpu) < 0):
        raise ValueError("the bound needs C(F) non-decreasing in F")
    return _Tables(tx, cpu, separable)


def _scaled(values: np.ndarray, factor: np.ndarray | float) -> np.ndarray:
    """``factor * values`` with the infinite entries (devices without uplink) kept infinite,
    also where the factor is 0 (where ``0 * inf`` would give NaN)."""
    values, factor = np.broadcast_arrays(values, factor)
    finite = np.isfinite(values)
    return np.multiply(factor, values, out=np.full(values.shape, np.inf), where=finite)


def _phi(tables: _Tables, index: np.ndarray) -> float:
    rows = np.arange(index.size)
    return float(
        tables.tx[rows, index].sum() ** 2
        + tables.cpu[index].sum() ** 2
        + tables.separable[rows, index].sum()
    )


def _best_response_dynamics(tables: _Tables, index: np.ndarray) -> np.ndarray:
    """Improve ``index`` (frame indices) one device at a time until no device can gain alone."""
    index = index.copy()
    rows = np.arange(index.size)
    own = tables.own
    changed = True
    while changed:
        changed = False
        for n in rows:
            others_tx = tables.tx[rows, index].sum() - tables.tx[n, index[n]]
            others_cpu = tables.cpu[index].sum() - tables.cpu[index[n]]
            cost = 2 * others_tx * tables.tx[n] + 2 * others_cpu * tables.cpu + own[n]
            best = int(np.argmin(cost))
            if cost[best] < cost[index[n]] - _TIE_TOLERANCE * abs(cost[index[n]]):
                index[n], changed = best, True
    return index


def _minimisers(cost: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest column within ``inside`` whose cost is within tolerance of the min."""
    masked = np.where(inside, cost, np.inf)
    best = masked.min(axis=1, keepdims=True)
    near = masked <= best + _TIE_TOLERANCE * (1.0 + np.abs(best))
    width = cost.shape[1]
    return np.argmax(near, axis=1), width - 1 - np.argmax(near[:, ::-1], axis=1)


def _propagate(
    tables: _Tables, own: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Shrink the boxes with the order and best-response rules; None if a box empties."""
    rows = np.arange(lo.size)
    columns = np.arange(tables.cpu.size)
    while True:
        inside = (columns[None, :] >= lo[:, None]) & (columns[None, :] <= hi[:, None])
        bounds = []
        for ends in (lo, hi):
            tx, cpu = tables.tx[rows, ends], tables.cpu[ends]
            others_tx, others_cpu = tx.sum() - tx, cpu.sum() - cpu
            cost = 2 * others_tx[:, None] * tables.tx + 2 * others_cpu[:, None] * tables.cpu + own
            bounds.append(_minimisers(cost, inside))
        new_hi = np.minimum.accumulate(bounds[0][1])
        new_lo = np.maximum.accumulate(bounds[1][0][::-1])[::-1]
        if np.any(new_lo > new_hi):
            return None
        if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
            return lo, hi
        lo, hi = new_lo, new_hi


def _lagrangian_bound(
    tables: _Tables, lo: np.ndarray, hi: np.ndarray, y_tx: float, y_cpu: float
) -> float:
    """-y1^2 - y2^2 + sum_n min over the box of [2 y1 t_n + 2 y2 v + g_n] <= min Phi on the box."""
    columns = np.arange(tables.cpu.size)
    inside = (columns[None, :] >= lo[:, None]) & (columns[None, :] <= hi[:, None])
    cost = 2 * y_tx * tables.tx + 2 * y_cpu * tables.cpu + tables.separable
    return float(np.where(inside, cost, np.inf).min(axis=1).sum() - y_tx**2 - y_cpu**2)


def _search_frames(
    tables: _Tables, start: np.ndarray, cutoff: float, deadline: float
) -> tuple[np.ndarray | None, float, bool]:
    """Branch-and-bound minimum of Phi over sorted index vectors (rows sorted by rate, desc).

    Returns (index or None if nothing beats ``cutoff``, its Phi, finished before the deadline).
    """
    m, width = tables.tx.shape
    own = tables.own
    rows = np.arange(m)
    incumbent = _best_response_dynamics(tables, start)
    incumbent_cost = _phi(tables, incumbent)
    best: np.ndarray | None = incumbent if incumbent_cost < cutoff else None
    best_cost = min(incumbent_cost, cutoff)
    y_tx = float(tables.tx[rows, incumbent].sum())
    y_cpu = float(tables.cpu[incumbent].sum())
    stack = [(np.zeros(m, dtype=np.int64), np.full(m, width - 1, dtype=np.int64))]
    while stack:
        if time.perf_counter() > deadline:
            return best, best_cost, False
        boxes = _propagate(tables, own, *stack.pop())
        if boxes is None:
            continue
        lo, hi = boxes
        if _lagrangian_bound(tables, lo, hi, y_tx, y_cpu) >= best_cost:
            continue
        if np.array_equal(lo, hi):
            cost = _phi(tables, lo)
            if cost < best_cost:
                best, best_cost = lo, cost
                y_tx, y_cpu = float(tables.tx[rows, lo].sum()), float(tables.cpu[lo].sum())
            continue
        n = int(np.argmax(hi - lo))
        middle = (lo[n] + hi[n]) // 2
        lower_hi, upper_lo = hi.copy(), lo.copy()
        lower_hi[n], upper_lo[n] = middle, middle + 1
        children = [(lo, lower_hi), (upper_lo, hi)]
        if incumbent[n] <= middle:  # explore the half holding the incumbent's value first
            children.reverse()
        stack.extend(children)
    return best, best_cost, True


def _rate_order(problem: JointOffloadProblem, devices: np.ndarray) -> np.ndarray:
    """Positions sorting ``devices`` by decreasing rate (the order rule needs equal ``b_n``)."""
    if np.ptp(problem.tx_weight) > 0:
        raise ValueError("the bound's order rule needs the same b_n for every device")
    return np.argsort(-problem.rate[devices], kind="stable")


def exact_edge_frames(
    problem: JointOffloadProblem, devices: np.ndarray, time_limit: float | None = None
) -> EdgeFrames:
    """The integer frames in [F_min, F_max]^|S| minimising Phi for the offloading ``devices``.

    Exact (same optimum as Algorithm 1's exhaustive search) by branch and bound; see the module
    docstring. ``time_limit`` (s) stops the search early (``optimal=False``).
    """
    devices = np.asarray(devices, dtype=np.int64)
    if devices.size == 0:
        return EdgeFrames(np.zeros(0, dtype=np.int64), 0.0, True)
    deadline = time.perf_counter() + (np.inf if time_limit is None else time_limit)
    permutation = _rate_order(problem, devices)
    tables = _tables(problem).subset(devices[permutation])
    start = np.zeros(devices.size, dtype=np.int64)
    index, cost, finished = _search_frames(tables, start, np.inf, deadline)
    frames = np.empty(devices.size, dtype=np.int64)
    frames[permutation] = problem.frame_range[index]
    return EdgeFrames(frames, cost, finished)


def _increments(tables: _Tables, members: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """delta_n(I) for the ``candidates``: least cost of adding each alone to the set ``members``."""
    tx_floor = tables.tx[members, 0].sum()
    cpu_floor = members.size * tables.cpu[0]
    cost = (
        tables.own[candidates]
        + _scaled(tables.tx[candidates], 2 * tx_floor)
        + 2 * cpu_floor * tables.cpu[None, :]
    )
    return cost.min(axis=1)


def _undecided_floor(
    tables: _Tables, local: np.ndarray, members: np.ndarray, undecided: np.ndarray
) -> float:
    """Lower bound on the cost of the ``undecided`` devices, whichever of them join ``members``.

    A subset J that offloads costs at least ``sum_J delta_n + |J|(|J|-1) (t_min^2 + v^2)`` at
    F_min (the cross terms among J), the others their local optimum.
    """
    if undecided.size == 0:
        return 0.0
    savings = np.sort(_increments(tables, members, undecided) - local[undecided])
    joined = np.arange(1, undecided.size + 1)
    pair = tables.tx[undecided, 0].min() ** 2 + tables.cpu[0] ** 2
    best = min(0.0, float(np.min(np.cumsum(savings) + joined * (joined - 1) * pair)))
    return float(local[undecided].sum()) + best


@dataclass(frozen=True)
class _DualPrices:
    """The Lagrangian bound of the whole problem at one ``y`` (see the module docstring)."""

    offset: float
    """-y_1^2 - y_2^2."""
    edge: np.ndarray
    """h_n(y) = min_F [2 y_1 t_n + 2 y_2 v + g_n], the least linearised edge cost per device."""
    relaxed: np.ndarray
    """min(U_n^L*, h_n(y)): a device free to choose."""

    def bound(self, members: np.ndarray, undecided: np.ndarray) -> float:
        """Lower bound on the edge cost of ``members`` plus the cost of the ``undecided``."""
        return self.offset + float(self.edge[members].sum() + self.relaxed[undecided].sum())


def _dual_prices(tables: _Tables, local: np.ndarray, y: np.ndarray) -> _DualPrices:
    """The Lagrangian bound's ingredients at ``y = (y_1, y_2)`` (sqrt(cost) each)."""
    edge = (_scaled(tables.tx, 2 * y[0]) + 2 * y[1] * tables.cpu + tables.separable).min(axis=1)
    return _DualPrices(-float(y @ y), edge, np.minimum(local, edge))


def _root_dual(tables: _Tables, local: np.ndarray) -> _DualPrices:
    """The (numerically) best ``y`` of the root Lagrangian bound, a concave function of y."""
    everyone = np.arange(local.size)
    result = minimize(
        lambda y: -_dual_prices(tables, local, y).bound(everyone[:0], everyone),
        np.zeros(2),
        method="Nelder-Mead",
        options={"xatol": 1e-7, "fatol": 1e-10},
    )
    return _dual_prices(tables, local, result.x)


class _SetSearch:
    """Depth-first include/exclude search over the offloading sets (see the module docstring)."""

    def __init__(self, problem: JointOffloadProblem, deadline: float) -> None:
        self.tables = _tables(problem)
        self.local = local_optimum(problem).cost
        self.deadline = deadline
        n = problem.num_devices
        self.rank = np.argsort(np.argsort(-problem.rate, kind="stable"))
        everyone = np.arange(n)
        gain = self.local - _increments(self.tables, everyone[:0], everyone)
        self.candidates = everyone[gain > 0][np.argsort(-gain[gain > 0], kind="stable")]
        # twins: a candidate with the same tables and local cost as the one before it
        tx, separable = self.tables.tx[self.candidates], self.tables.separable[self.candidates]
        local = self.local[self.candidates]
        self.twin_of_previous = np.r_[
            False,
            (tx[1:] == tx[:-1]).all(axis=1)
            & (separable[1:] == separable[:-1]).all(axis=1)
            & (local[1:] == local[:-1]),
        ]
        self.sets_evaluated = 1
        self.finished = True
        self.root_dual = _root_dual(self.tables, self.local)
        self._update(float(self.local.sum()), everyone[:0], everyone[:0])

    def _update(self, cost: float, members: np.ndarray, index: np.ndarray) -> None:
        """New incumbent; add the Lagrangian bound centred at its sums ``y``."""
        self.cost, self.members, self.index = cost, members, index
        y = np.array([self.tables.tx[members, index].sum(), self.tables.cpu[index].sum()])
        self.duals = (self.root_dual, _dual_prices(self.tables, self.local, y))

    def _dual_bound(self, members: np.ndarray, undecided: np.ndarray) -> float:
        return max(dual.bound(members, undecided) for dual in self.duals)

    def run(self) -> None:
        empty = self.candidates[:0]
        self._visit(empty, empty, 0.0, 0, False)

    def lower_bound(self) -> float:
        """A lower bound on the optimum: the incumbent's cost once the search has finished, the
        Lagrangian bound of the whole problem otherwise."""
        if self.finished:
            return self.cost
        everyone = np.arange(self.local.size)
        return min(self.cost, self._dual_bound(everyone[:0], everyone))

    def _visit(
        self, members: np.ndarray, index: np.ndarray, phi: float, position: int, skipped: bool
    ) -> None:
        """Explore the sets holding ``members`` (frame indices ``index``, Phi* = ``phi``) whose
        other devices are among ``candidates[position:]``; ``skipped``: the candidate before
        ``position`` was left out."""
        rest = self.candidates[position:]
        if rest.size == 0 or not self.finished or time.perf_counter() > self.deadline:
            self.finished = self.finished and rest.size == 0
            return
        local, tables = self.local, self.tables
        device, later = rest[0], rest[1:]
        outside = local.sum() - local[members].sum() - local[rest].sum()
        grown = np.append(members, device)
        grown = grown[np.argsort(self.rank[grown], kind="stable")]
        cutoff = self.cost - outside - _undecided_floor(tables, local, grown, later)
        increment = _increments(tables, members, rest[:1])[0]
        # twins are interchangeable: only sets holding a prefix of each run of twins are searched
        symmetric = skipped and self.twin_of_previous[position]
        if (
            not symmetric
            and outside + self._dual_bound(grown, later) < self.cost
            and phi + increment < cutoff
        ):
            start = np.zeros(grown.size, dtype=np.int64)
            start[np.isin(grown, members)] = index
            found, grown_phi, finished = _search_frames(
                tables.subset(grown), start, cutoff, self.deadline
            )
            self.sets_evaluated += 1
            self.finished = finished
            if found is not None:
                total = outside + local[later].sum() + grown_phi
                if total < self.cost:
                    self._update(total, grown, found)
                self._visit(grown, found, grown_phi, position + 1, False)
        outside += local[device]
        floor = phi + _undecided_floor(tables, local, members, later)
        if outside + max(floor, self._dual_bound(members, later)) < self.cost:
            self._visit(members, index, phi, position + 1, True)


def exact_optimum(problem: JointOffloadProblem, time_limit: float | None = None) -> BoundResult:
    """The optimal allocation of ``problem`` (all offloading sets, exact integer frames).

    Branch and bound over offloading sets around :func:`exact_edge_frames` (module docstring).
    ``time_limit`` (s) returns the best allocation found so far with ``optimal=False`` and a
    proven ``lower_bound`` if the proof is not complete by then.
    """
    if time_limit is not None and not time_limit >= 0:
        raise ValueError(f"time_limit must be >= 0 s (or None: no limit), got {time_limit}")
    n = problem.num_devices
    deadline = time.perf_counter() + (np.inf if time_limit is None else time_limit)
    search = _SetSearch(problem, deadline)
    search.run()
    offload = np.zeros(n, dtype=bool)
    offload[search.members] = True
    frames = np.zeros(n, dtype=np.int64)
    frames[search.members] = problem.frame_range[search.index]
    allocation = compose_allocation(problem, offload, frames)
    return BoundResult(
        allocation=allocation,
        cost=float(evaluate_allocation(problem, allocation).total),
        lower_bound=search.lower_bound(),
        sets_evaluated=search.sets_evaluated,
        optimal=search.finished,
    )
