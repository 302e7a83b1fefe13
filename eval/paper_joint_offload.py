"""The experiments of Pan et al. (2023) on our model of the joint offloading system.

Runs (a)-(g) of ``mec_gym.eval.joint_offload_experiments`` on the spec's configuration or a
preset and writes the report of ``mec_gym.eval.joint_offload_report``: the page
``<out>/joint_offload_paper[_<preset>].md`` and its CSVs and PNGs in
``<out>/joint_offload_paper[_<preset>]/`` (``--out docs``: the committed pages).

    python eval/paper_joint_offload.py [--quick] [--preset pan2023] [--drops 100] [--out docs]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace

from mec_gym.eval.joint_offload_experiments import FULL, QUICK, Settings, run_experiments
from mec_gym.eval.joint_offload_report import write_report
from mec_gym.eval.output import add_out_argument, arguments, command_line, output_folder
from mec_gym.problems.joint_offload import PRESETS, JointOffloadConfig

NAME = "joint_offload_paper"
"""Stem of the page and of its data folder (``_<preset>`` appended for a preset)."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line (settings not given keep those of ``FULL`` or ``QUICK``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 drops and fewer points")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="named config overrides")
    parser.add_argument("--drops", type=int, help="drops per point (default 100, quick 10)")
    parser.add_argument("--devices", type=int, nargs="+", help="N of (a), (b), (d)")
    parser.add_argument("--default-devices", type=int, help="N of (c), (e), (f), B/F^E sweeps")
    parser.add_argument("--gap-devices", type=int, nargs="+", help="N of the gaps (g)")
    parser.add_argument("--bandwidths-mhz", type=float, nargs="+", help="B of (d), MHz")
    parser.add_argument("--edge-capacities-ghz", type=float, nargs="+", help="F^E of (d), GHz")
    parser.add_argument("--accuracy-weights", type=float, nargs="+", help="w3 of (f)")
    add_out_argument(parser, NAME)
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    """``FULL`` or ``QUICK`` with the settings given on the command line (B in Hz, F^E in
    cycle/s)."""
    base = QUICK if args.quick else FULL
    overrides = {
        "drops": args.drops,
        "devices": tuple(args.devices) if args.devices else None,
        "default_devices": args.default_devices,
        "gap_devices": tuple(args.gap_devices) if args.gap_devices else None,
        "bandwidths": tuple(1e6 * b for b in args.bandwidths_mhz or ()) or None,
        "edge_capacities": tuple(1e9 * f for f in args.edge_capacities_ghz or ()) or None,
        "accuracy_weights": tuple(args.accuracy_weights) if args.accuracy_weights else None,
    }
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def main(argv: Sequence[str] | None = None) -> None:
    argv = arguments(argv)
    args = parse_args(argv)
    config = JointOffloadConfig(**PRESETS.get(args.preset, {}))
    experiments = run_experiments(config, settings_from(args))
    name = NAME + (f"_{args.preset}" if args.preset else "")
    page = output_folder(args.out, NAME) / f"{name}.md"
    print(write_report(experiments, page, command_line(__file__, argv)))
    print(f"wrote {page} and {page.with_suffix('')}/", flush=True)


if __name__ == "__main__":
    main()
