"""Compiled loops of ADMM (Algorithm 4, :mod:`mec_gym.solvers.joint_offload.admm`).

The local step's cubics, the projection onto the budgets, Theorem 2's cost of a set of
decisions and the iterations of one instance, written as loops and compiled by numba (the
``solvers`` extra) on first use, then cached on disk where a cache folder is writable.
:mod:`~mec_gym.solvers.joint_offload.admm` sets up the instances with numpy and calls
:func:`iterate_batch`; its public functions (``share_cubic_root``, ``project_budget``,
``decision_cost``, ``local_step``) are these kernels on arrays of any shape.

The formulas are those of the numpy code they replaced, and the numbers differ from that
code's in the last bits at most: sums over the devices run in sequence rather than in numpy's
pairwise order, and Newton's method on the share cubics starts from a bound on the cube root
(:func:`cube_root_bounds`, within 1.5e-4) rather than from the cube root itself: it ends on
the same root to machine precision, not always on the same float. So an exact tie (two F
with the same value, a gain of exactly 0) could in principle go the other way; on the
recorded instances (``tests/data/admm_numpy_results.json``) every decision is the same.

Why compiled: one iteration at N = 25 was about 100 numpy calls on arrays of a few hundred
values, so numpy's cost per call, not the arithmetic, set the time (``python
eval/bench_solvers.py --solver admm`` times the solves). The Newton steps are inner loops over
the values with no calls or branches, which LLVM can vectorise.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from mec_gym.compiled import compiled

try:
    import numba  # noqa: F401
except ModuleNotFoundError as error:  # the solvers extra is not installed
    if error.name != "numba":
        raise
    raise ImportError(
        "ADMM's compiled loops need numba, in the solvers extra: pip install 'mec-gym[solvers]'"
    ) from error

__all__ = [
    "NEWTON_STEPS",
    "cube_root_bounds",
    "share_roots",
    "share_roots_elementwise",
    "project_rows",
    "decision_cost_rows",
    "local_step_instance",
    "local_step_batch",
    "work_array",
    "iterate_batch",
]

NEWTON_STEPS = 6
"""Newton steps of :func:`share_roots` (enough for machine precision for every cubic)."""
CUBE_ROOT_GUESS = 715094163
"""Added to a third of the high 32 bits of a positive double x: the high bits of a guess of
cbrt(x) within 3.3 % ((682 - 0.03306235651) 2^20, the constant of fdlibm's ``cbrt``)."""
CUBE_ROOT_MARGIN = 1.0 + 1e-4
"""One Halley step from that guess is within 4.6e-5 of cbrt(x) (a guess within 4 % is); this
factor makes it an upper bound, at most 1.5e-4 above."""
HIGH_WORD = 1 if sys.byteorder == "little" else 0
"""Index of a double's high 32 bits among its two int32 words."""
HALLEY_RANGE = (1e-300, 1e300)
"""x outside this range (or NaN) takes the C library's cube root in :func:`cube_root_bounds`
(the guess needs a positive normal double, and the Halley step must neither overflow nor
underflow)."""


@compiled
def cube_root_bounds(a: np.ndarray, rho: float, out: np.ndarray) -> None:
    """Into ``out`` ((m,), C-contiguous, not ``a`` itself): upper bounds of cbrt(a / rho) for
    ``a`` (m,), at most 1.5e-4 above (relative): :data:`CUBE_ROOT_GUESS`'s guess from the
    exponent bits, one Halley step ``y (y^3 + 2x) / (2 y^3 + x)`` and
    :data:`CUBE_ROOT_MARGIN`, in loops LLVM can vectorise (about 3 ns a value against 16 ns
    for the C library's ``cbrt``). NaN for NaN."""
    m = a.shape[0]
    for j in range(m):
        out[j] = a[j] / rho
    words = out.view(np.int32)
    for j in range(m):
        words[2 * j + HIGH_WORD] = words[2 * j + HIGH_WORD] // 3 + CUBE_ROOT_GUESS
        words[2 * j + 1 - HIGH_WORD] = 0
    low, high = HALLEY_RANGE
    for j in range(m):
        x, y = a[j] / rho, out[j]
        y_cubed = y * y * y
        out[j] = y * ((y_cubed + 2.0 * x) / (2.0 * y_cubed + x)) * CUBE_ROOT_MARGIN
    for j in range(m):
        x = a[j] / rho
        if not low <= x <= high:
            out[j] = np.cbrt(x)


@compiled
def share_roots(
    a: np.ndarray, linear: float, rho: float, root: np.ndarray, value: np.ndarray
) -> None:
    """For ``a`` (m,): into ``root`` the positive roots t of ``rho t^3 + linear t^2 - a = 0``
    (a > 0, rho > 0) and into ``value`` ``a/t + t (linear + rho/2 t)``, one share's part of the
    local step's edge value (``root`` and ``value`` distinct from ``a``: ``value`` serves as
    scratch first).

    With a > 0 and rho > 0 the cubic is -a at 0 and has exactly one positive root r, right of
    which it is increasing and convex. Newton's method starts from the upper bound
    ``min((a/rho)^(1/3), sqrt(a/linear^+)) + (-linear)^+/rho`` (at most twice r; the cube root
    is :func:`cube_root_bounds`' bound, at most 1.5e-4 above) and descends monotonically.
    Scaling t = r x reduces every cubic to ``x^3 + beta x^2 - (1 + beta)`` with beta =
    linear/(rho r) > -1, and Newton's iterates scale with it, so the error depends on beta
    only: over beta in (-1, 1e15) the start is at most 1.386 r, and :data:`NEWTON_STEPS` = 6
    steps reach machine precision (5 steps: 1e-12). No convergence test is needed.
    """
    m = a.shape[0]
    if linear > 0.0:  # the square-root bound (inf where linear <= 0)
        for j in range(m):
            root[j] = math.sqrt(a[j] / linear)
    else:
        root[:] = math.inf
    cube_root_bounds(a, rho, value)  # the cube-root bound (value is written at the end)
    shift, twice_linear = max(-linear, 0.0) / rho, 2.0 * linear
    for j in range(m):
        bound = value[j]
        root[j] = (bound if bound < root[j] else root[j]) + shift
    for _ in range(NEWTON_STEPS):  # t -= (t t (rho t + linear) - a) / (t (3 rho t + 2 linear))
        for j in range(m):  # (the inner loop over the values is vectorised)
            t = root[j]
            rho_t = rho * t
            step = t * t * (rho_t + linear) - a[j]
            step /= (rho_t * 3.0 + twice_linear) * t
            root[j] = t - step
    half_rho = 0.5 * rho
    for j in range(m):
        t = root[j]
        value[j] = a[j] / t + t * (linear + half_rho * t)


@compiled
def share_roots_elementwise(
    a: np.ndarray, linear: np.ndarray, rho: np.ndarray, root: np.ndarray, value: np.ndarray
) -> None:
    """:func:`share_roots` with a ``linear`` and a ``rho`` per value (1-D arrays (m,))."""
    for j in range(a.shape[0]):
        share_roots(a[j : j + 1], linear[j], rho[j], root[j : j + 1], value[j : j + 1])


@compiled
def project_rows(values: np.ndarray, out: np.ndarray) -> None:
    """Into ``out``: the Euclidean projection of each row of ``values`` (R, n) onto {z >= 0,
    sum z <= 1}.

    Exact: if the positive part fits the budget it is the projection; otherwise the projection
    is onto the simplex sum z = 1, z = max(v - theta, 0), where theta, the root of
    sum max(v - theta, 0) = 1, is the largest of the averages (u_1 + ... + u_j - 1)/j over the
    values sorted in decreasing order u (the sort-based algorithm instead of a bisection; the
    spec's theta equals rho times this one).
    """
    rows, n = values.shape
    for r in range(rows):
        total = 0.0
        for i in range(n):
            out[r, i] = max(values[r, i], 0.0)
            total += out[r, i]
        if not total > 1.0:
            continue
        ascending = np.sort(values[r])
        partial, theta = 0.0, -np.inf
        for j in range(n):  # the values in decreasing order
            partial += ascending[n - 1 - j]
            theta = max(theta, (partial - 1.0) / (j + 1))
        for i in range(n):
            out[r, i] = max(values[r, i] - theta, 0.0)


@compiled
def decision_cost_row(
    offload: np.ndarray,
    tx: np.ndarray,
    cpu: np.ndarray,
    constant: np.ndarray,
    local_cost: np.ndarray,
) -> float:
    """Total cost of one instance's offloading decisions (N,) with Theorem 2's shares (see
    ``admm.decision_cost``)."""
    sum_tx = sum_cpu = sum_constant = sum_local = 0.0
    for i in range(offload.shape[0]):
        if offload[i]:
            sum_tx += math.sqrt(tx[i])
            sum_cpu += math.sqrt(cpu[i])
            sum_constant += constant[i]
        else:
            sum_local += local_cost[i]
    return sum_tx * sum_tx + sum_cpu * sum_cpu + sum_constant + sum_local


@compiled
def decision_cost_rows(
    offload: np.ndarray,
    tx: np.ndarray,
    cpu: np.ndarray,
    constant: np.ndarray,
    local_cost: np.ndarray,
    out: np.ndarray,
) -> None:
    """:func:`decision_cost_row` of every row of arrays (R, N), into ``out`` (R,)."""
    for r in range(offload.shape[0]):
        out[r] = decision_cost_row(offload[r], tx[r], cpu[r], constant[r], local_cost[r])


@compiled
def local_step_instance(
    tx: np.ndarray,
    cpu: np.ndarray,
    constant: np.ndarray,
    linear: np.ndarray,
    penalty: np.ndarray,
    common: float,
    best: np.ndarray,
    edge_value: np.ndarray,
    shares: np.ndarray,
    work: np.ndarray,
) -> None:
    """ADMM's local step on one instance: for every device its best F as an index into the
    frames (into ``best`` (N,)), its edge value there (``edge_value`` (N,); without the terms
    ``-lambda t_hat + rho/2 t_hat^2`` common to local and edge) and its optimal shares there
    (``shares`` (2, N)).

    ``tx`` (N, nF) is a_tau, ``cpu`` (nF,) is a_phi (the same for every device), ``constant``
    (N, nF) is c, ``linear`` (2, N) is ``lambda - rho t_hat`` and ``penalty`` (2,) is rho, per
    budget. The CPU share's cubics depend on the device through its ``linear`` only: they are
    solved once for all devices whose ``linear[1]`` equals ``common`` (the local devices' price;
    NaN: none). The best F is the first of the smallest values, or the first NaN (numpy's
    ``argmin``). ``work``: an array of :func:`work_array`'s shape.
    """
    n, frames = tx.shape
    tx_root, tx_value = work[0], work[1]
    cpu_root, cpu_value = work[2 : 2 + n], work[2 + n : 2 + 2 * n]
    shared = -1  # the device whose CPU roots the devices at the common price use
    for i in range(n):
        share_roots(tx[i], linear[0, i], penalty[0], tx_root, tx_value)
        row = i
        if shared >= 0 and linear[1, i] == common:
            row = shared
        else:
            share_roots(cpu, linear[1, i], penalty[1], cpu_root[i], cpu_value[i])
            if linear[1, i] == common:
                shared = i
        chosen, lowest = 0, np.inf
        for j in range(frames):
            value = constant[i, j] + (tx_value[j] + cpu_value[row, j])
            if math.isnan(value):
                chosen, lowest = j, value
                break
            if value < lowest:
                chosen, lowest = j, value
        best[i], edge_value[i] = chosen, lowest
        shares[0, i], shares[1, i] = tx_root[chosen], cpu_root[row, chosen]


@compiled
def work_array(n: int, frames: int) -> np.ndarray:
    """The work array of :func:`local_step_instance` for N = ``n`` devices and ``frames``
    values of F: (2 N + 2, frames)."""
    return np.empty((2 * n + 2, frames))


@compiled
def local_step_batch(
    tx: np.ndarray,
    cpu: np.ndarray,
    constant: np.ndarray,
    linear: np.ndarray,
    penalty: np.ndarray,
    common: np.ndarray,
    best: np.ndarray,
    edge_value: np.ndarray,
    shares: np.ndarray,
) -> None:
    """:func:`local_step_instance` of L instances: ``tx`` and ``constant`` (L, N, nF),
    ``linear`` (L, 2, N), ``penalty`` (L, 2), ``common`` (L,); into ``best`` and
    ``edge_value`` (L, N) and ``shares`` (L, 2, N)."""
    work = work_array(tx.shape[1], tx.shape[2])
    for r in range(tx.shape[0]):
        local_step_instance(
            tx[r],
            cpu,
            constant[r],
            linear[r],
            penalty[r],
            common[r],
            best[r],
            edge_value[r],
            shares[r],
            work,
        )


@compiled
def iterate_instance(
    terms: tuple[np.ndarray, ...],
    state: tuple[np.ndarray, ...],
    settings: np.ndarray,
    record: tuple[np.ndarray, ...],
) -> tuple[int, bool]:
    """ADMM's iterations on one instance from its start, until its stop rule or
    ``max_iterations``: (iterations run, whether the stop rule was met). See ``admm.admm``.

    ``terms``: a_tau ``tx`` and c ``constant`` (N, nF), a_phi ``cpu`` (nF,), Theorem 1's costs
    ``local_cost`` (N,) and the frames ``frame_range`` (nF,). ``state``, updated in place:
    ``offload`` (N,), ``global_shares`` and ``multipliers`` (2, N), the budgets' ``price`` (2,)
    and ``price_floor`` (2,). ``settings``: (rho or NaN for the adaptive penalty,
    penalty_scale, tol, residual_tol, min_iterations, max_iterations). ``record``, written:
    the best iterate (``best_offload``, ``best_frames`` (N,), ``best_cost`` (1,), holding the
    start's on entry) and the traces (``trace``, ``raw_trace``, (max_iterations,)).
    """
    tx, cpu, constant, local_cost, frame_range = terms
    offload, global_shares, multipliers, price, price_floor = state
    best_offload, best_frames, best_cost, trace, raw_trace = record
    n = tx.shape[0]
    rho, penalty_scale, tol, residual_tol = settings[0], settings[1], settings[2], settings[3]
    min_iterations, max_iterations = int(settings[4]), int(settings[5])
    adaptive = math.isnan(rho)
    penalty = np.full(2, rho)
    linear, shares, targets = np.empty((2, n)), np.empty((2, n)), np.empty((2, n))
    picked = np.empty((3, n))  # a_tau, a_phi and c at each offloading device's frames
    priced_max = np.empty(2)  # the largest multiplier of the priced devices, per budget
    work = work_array(n, tx.shape[1])
    best, edge_value, roots = np.empty(n, np.int64), np.empty(n), np.empty((2, n))
    frames, previous_frames = np.empty(n, np.int64), np.empty(n, np.int64)
    for i in range(n):
        previous_frames[i] = frame_range[0] if offload[i] else 0
    previous_raw = np.nan  # no iterate yet
    for k in range(max_iterations):
        if adaptive:
            for b in range(2):
                penalty[b] = penalty_scale * max(price[b], price_floor[b])
        # 1. local step, every device and every F
        for b in range(2):
            for i in range(n):
                linear[b, i] = multipliers[b, i] - penalty[b] * global_shares[b, i]
        local_step_instance(
            tx, cpu, constant, linear, penalty, price[1], best, edge_value, roots, work
        )
        # the BS switches the device with the largest gain (> 0: the device prefers the edge)
        switch, largest = -1, -1.0
        for i in range(n):
            gain = local_cost[i] - edge_value[i]
            if (gain > 0) != offload[i]:
                size = abs(gain)
                if math.isnan(size):  # numpy's argmax: the first NaN
                    switch = i
                    break
                if size > largest:
                    switch, largest = i, size
        switching = switch >= 0
        if switching:
            offload[switch] = not offload[switch]
        # 2. global step, 3. multipliers; local devices take the common price
        for b in range(2):
            for i in range(n):
                shares[b, i] = roots[b, i] if offload[i] else 0.0
                targets[b, i] = shares[b, i] + multipliers[b, i] / penalty[b] if offload[i] else 0.0
        project_rows(targets, global_shares)
        for b in range(2):
            for i in range(n):
                multipliers[b, i] += penalty[b] * (shares[b, i] - global_shares[b, i])
        priced_any, anyone = False, False
        priced_max[:] = -np.inf
        for i in range(n):
            if offload[i]:
                anyone = True
                if min(global_shares[0, i], global_shares[1, i]) > 0:
                    priced_any = True
                    for b in range(2):
                        priced_max[b] = max(priced_max[b], multipliers[b, i])
        for b in range(2):
            if priced_any:
                price[b] = priced_max[b]
            elif not anyone:
                price[b] = 0.0
        # cost of the iterate: with the global copies, and with Theorem 2's shares
        raw = 0.0
        for i in range(n):
            if offload[i]:
                j = best[i]
                frames[i] = frame_range[j]
                edge = tx[i, j] / global_shares[0, i] + cpu[j] / global_shares[1, i]
                raw += constant[i, j] + edge
                picked[0, i], picked[1, i], picked[2, i] = tx[i, j], cpu[j], constant[i, j]
            else:
                frames[i] = 0
                raw += local_cost[i]
                for b in range(2):
                    multipliers[b, i] = price[b]
        cost = decision_cost_row(offload, picked[0], picked[1], picked[2], local_cost)
        raw_trace[k], trace[k] = raw, cost
        if cost < best_cost[0]:
            best_cost[0] = cost
            best_offload[:] = offload
            best_frames[:] = frames
        # the stop rule, tested where no device wants to switch (from the second iteration)
        settled = not switching and k + 1 >= max(min_iterations, 2)
        if settled:
            # ||(tau, phi) - (tau_hat, phi_hat)|| and ||(tau_hat, phi_hat)||
            residual = scale = 0.0
            for b in range(2):
                gap_sum = norm_sum = 0.0
                for i in range(n):
                    gap = shares[b, i] - global_shares[b, i]
                    gap_sum += gap * gap
                    norm_sum += global_shares[b, i] * global_shares[b, i]
                residual += gap_sum
                scale += norm_sum
            same_frames = True
            for i in range(n):
                same_frames = same_frames and frames[i] == previous_frames[i]
            settled = (
                same_frames
                and math.sqrt(residual) <= residual_tol * math.sqrt(scale)
                and abs(raw - previous_raw) <= tol * abs(previous_raw)
            )
        previous_frames[:] = frames
        previous_raw = raw
        if settled:
            return k + 1, True
    return max_iterations, False


@compiled
def iterate_batch(
    terms: tuple[np.ndarray, ...],
    state: tuple[np.ndarray, ...],
    settings: np.ndarray,
    record: tuple[np.ndarray, ...],
    iterations: np.ndarray,
    converged: np.ndarray,
) -> None:
    """:func:`iterate_instance` on each of B instances, into ``iterations`` and ``converged``
    (B,): every array of ``terms``, ``state`` and ``record`` has a leading axis B but ``cpu``,
    ``local_cost`` and ``frame_range``, which the instances share."""
    tx, cpu, constant, local_cost, frame_range = terms
    for r in range(tx.shape[0]):
        iterations[r], converged[r] = iterate_instance(
            (tx[r], cpu, constant[r], local_cost, frame_range),
            (state[0][r], state[1][r], state[2][r], state[3][r], state[4][r]),
            settings,
            (record[0][r], record[1][r], record[2][r : r + 1], record[3][r], record[4][r]),
        )
