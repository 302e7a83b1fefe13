"""Call the joint offloading solvers directly on one problem instance, without an environment.

What it shows: a :class:`~mec_gym.problems.joint_offload.JointOffloadProblem` (one round of the
multi-user MEC cell of Pan et al., IEEE TCCN 2023, arXiv 2301.01010) built from a config preset
and a random drop of devices; the analytic solvers of
:mod:`mec_gym.solvers.joint_offload.registry` called on it by name; each allocation's per-device
decisions and its cost computed by
:func:`~mec_gym.problems.joint_offload.evaluate_allocation` (the function the environments
use for their rewards), checked with ``feasibility_violations``.

Run it from a checkout (or anywhere mec_gym is installed with the ``solvers`` extra, which
brings cvxpy and numba)::

    .venv/bin/python examples/use_solver.py            # 8 devices, the preset "balanced"
    .venv/bin/python examples/use_solver.py --devices 12 --preset pan2023 --show cccp
    .venv/bin/python examples/use_solver.py --quick    # 5 devices

The exact bound (``bound``) proves the optimum, so the column "above best" is each solver's
optimality gap on this instance.

It prints; it writes no file.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mec_gym.problems.joint_offload import (
    PRESETS,
    JointOffloadConfig,
    JointOffloadProblem,
    evaluate_allocation,
    feasibility_violations,
)
from mec_gym.solvers.joint_offload.registry import SOLVER_LABELS, solve, solver_applies

SOLVERS = ("local_only", "edge_only", "random", "gp_heuristic", "admm", "cccp", "bound")
"""The solvers compared (names of ``mec_gym.solvers.joint_offload.registry.SOLVERS``)."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=8, help="N, devices in the cell")
    parser.add_argument("--preset", default="balanced", choices=sorted(PRESETS))
    parser.add_argument("--seed", type=int, default=0, help="seed of the drop")
    parser.add_argument("--show", default="admm", help="solver whose allocation is printed")
    parser.add_argument("--quick", action="store_true", help="5 devices (a few seconds)")
    args = parser.parse_args(argv)
    devices = 5 if args.quick else args.devices
    if args.show not in SOLVERS:
        parser.error(f"--show must be one of {list(SOLVERS)}")

    # One instance: the preset's config and a random drop (positions, path loss, shadowing).
    config = JointOffloadConfig(**PRESETS[args.preset])
    rng = np.random.default_rng(args.seed)
    problem = JointOffloadProblem.sample(config, rng, num_devices=devices)
    print(f"preset {args.preset!r}, N = {problem.num_devices} devices")
    print("channel gains (dB):", np.array2string(problem.gain_db, precision=1))

    allocations, rows = {}, []
    for name in SOLVERS:
        if not solver_applies(name, problem.num_devices):
            continue
        tic = time.perf_counter()
        allocation = solve(name, problem, rng=np.random.default_rng(args.seed))
        seconds = time.perf_counter() - tic
        cost = evaluate_allocation(problem, allocation)
        violations = feasibility_violations(problem, allocation)
        allocations[name] = allocation
        rows.append((name, cost.total, int(allocation.offload.sum()), seconds, violations))

    best = min(total for _, total, *_ in rows)
    header = f"{'solver':<14} {'label':<36} {'total cost':>11} {'above best':>10}"
    print(f"\n{header} {'offload':>7} {'ms':>8}")
    for name, total, offloading, seconds, violations in rows:
        gap = (total - best) / abs(best)
        flag = "" if not violations else f"  INFEASIBLE: {violations}"
        print(
            f"{name:<14} {SOLVER_LABELS[name]:<36} {total:>11.4f} {gap:>10.2%} "
            f"{offloading:>3}/{problem.num_devices:<3} {1e3 * seconds:>8.1f}{flag}"
        )

    # One allocation in full: the decisions of every device and what they cost.
    allocation = allocations[args.show]
    cost = evaluate_allocation(problem, allocation)
    print(f"\nallocation of {args.show} ({SOLVER_LABELS[args.show]}):")
    print(
        f"{'device':>6} {'where':>6} {'frames':>6} {'TDMA share':>10} {'edge GHz':>9} "
        f"{'local GHz':>9} {'delay s':>8} {'energy J':>9} {'accuracy':>8} {'cost':>8}"
    )
    for n in range(problem.num_devices):
        print(
            f"{n:>6} {'edge' if allocation.offload[n] else 'local':>6} "
            f"{allocation.frames[n]:>6} {allocation.time_share[n]:>10.3f} "
            f"{allocation.edge_frequency[n] / 1e9:>9.3f} "
            f"{allocation.local_frequency[n] / 1e9:>9.3f} "
            f"{cost.delay[n]:>8.3f} {cost.energy[n]:>9.4f} {cost.accuracy[n]:>8.3f} "
            f"{cost.cost[n]:>8.4f}"
        )
    print(f"total cost of {args.show}: {cost.total:.4f} (mean per device {cost.mean:.4f})")


if __name__ == "__main__":
    main()
