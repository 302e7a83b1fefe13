"""Calibration of MultiStepOffload-v0's defaults: is the default scenario non-trivial?

For every fixed policy (always local, offload at each decision boundary) it reports the mean
utility per task and, from DT #1 on the same trajectories, the hindsight oracle and which option
the oracle picks. The spec asks that the oracle beat every fixed policy by at least 10% of that
policy's mean utility and that at least three options each be the oracle's choice for at least
10% of the tasks. ``--sweep`` repeats the check over a small grid of uplink and edge-load settings
(the search the defaults came from). Writes ``docs/multistep_calibration.md`` (and a CSV).

    python eval/calibrate_multistep.py [--episodes 20] [--sweep] [--env-kwargs k=v ...]
"""

from __future__ import annotations

import argparse
import csv
import itertools
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

import mec_gym  # noqa: F401
from mec_gym.agents.base import CALIBRATION_SEEDS
from mec_gym.agents.multistep import fixed_option_policy
from mec_gym.envs.multistep_offload import LOCAL
from mec_gym.eval.evaluation import evaluate_policy, mean_ci
from mec_gym.models.channel import BlockFadingUplinks

ENV_ID = "MultiStepOffload-v0"
SWEEP = {
    "uplink_mean_snr_db": (5.0, 10.0, 15.0),
    "background_rates": ((2.0, 25.0), (5.0, 40.0)),
}


def option_name(option: int) -> str:
    """Readable name of an option: a boundary index, or local completion."""
    return "local" if option == LOCAL else ("raw" if option == 0 else f"b{option}")


def mean_uplink_rate(env: gym.Env, blocks: int = 200_000) -> float:
    """Mean uplink rate in bit/s of the configured channel (Monte Carlo over fading blocks)."""
    cfg = env.unwrapped.config
    uplinks = BlockFadingUplinks(
        np.random.default_rng(0),
        1,
        cfg.uplink_bandwidth,
        cfg.uplink_mean_snr_db,
        cfg.fading_block,
        cfg.shadowing_std_db,
        cfg.shadowing_correlation,
        chunk_blocks=blocks,
    )
    return uplinks.delivered_bits(0, blocks * cfg.fading_block * 0.999) / (
        blocks * cfg.fading_block * 0.999
    )


def calibrate(env_kwargs: dict[str, Any], episodes: int) -> dict[str, Any]:
    """Evaluate every fixed policy with the hindsight oracle on its own trajectories."""
    env = gym.make(ENV_ID, **env_kwargs)
    seeds = list(CALIBRATION_SEEDS[:episodes])
    options = (LOCAL, *env.unwrapped.decision_boundaries)
    rows, pooled = [], dict.fromkeys(options, 0)
    for option in options:
        policy = fixed_option_policy(env.unwrapped, option)
        result = evaluate_policy(policy, ENV_ID, env_kwargs, seeds, policy.name)
        utility, utility_ci = result.mean_ci()
        oracle, oracle_ci = mean_ci(result.episode_hindsight)
        choices = result.extra["hindsight_choices"]
        total = sum(choices.values())
        shares = {o: choices.get(o, 0) / total for o in options}
        for o in options:
            pooled[o] += choices.get(o, 0)
        rows.append(
            {
                "policy": policy.name,
                "utility": utility,
                "utility_ci95": utility_ci,
                "oracle": oracle,
                "oracle_ci95": oracle_ci,
                "oracle_gain": (oracle - utility) / abs(utility),
                **{f"share_{option_name(o)}": shares[o] for o in options},
            }
        )
    total = sum(pooled.values())
    pooled_shares = {option_name(o): n / total for o, n in pooled.items()}
    return {
        "rows": rows,
        "pooled_shares": pooled_shares,
        "min_gain": min(r["oracle_gain"] for r in rows),
        "options_over_10pct": sum(share >= 0.10 for share in pooled_shares.values()),
        "mean_rate": mean_uplink_rate(env),
        "options": [option_name(o) for o in options],
    }


def report(result: dict[str, Any]) -> str:
    """Markdown of one calibration."""
    names = result["options"]
    lines = [
        "| fixed policy | utility (95% CI) | hindsight oracle (95% CI) | oracle gain | "
        + " | ".join(f"oracle picks {n}" for n in names)
        + " |",
        "|---" * (4 + len(names)) + "|",
    ]
    for r in result["rows"]:
        shares = " | ".join(f"{r[f'share_{n}']:.0%}" for n in names)
        lines.append(
            f"| {r['policy']} | {r['utility']:.3f} ± {r['utility_ci95']:.3f} "
            f"| {r['oracle']:.3f} ± {r['oracle_ci95']:.3f} | {r['oracle_gain']:+.0%} | {shares} |"
        )
    pooled = ", ".join(f"{n}: {s:.0%}" for n, s in result["pooled_shares"].items())
    gain_ok = result["min_gain"] >= 0.10
    options_ok = result["options_over_10pct"] >= 3
    lines += [
        "",
        f"- Mean uplink rate: {result['mean_rate'] / 1e6:.2f} Mbit/s.",
        f"- Oracle choices pooled over all fixed policies' trajectories: {pooled}.",
        f"- Smallest oracle gain over a fixed policy: {result['min_gain']:+.0%} "
        f"(target ≥ +10%): {'PASS' if gain_ok else 'FAIL'}.",
        f"- Options chosen by the oracle for ≥ 10% of tasks: {result['options_over_10pct']} "
        f"(target ≥ 3): {'PASS' if options_ok else 'FAIL'}.",
    ]
    return "\n".join(lines) + "\n"


def parse_kwargs(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs, values parsed as YAML."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--env-kwargs takes key=value pairs, got {pair!r}")
        out[key] = yaml.safe_load(value)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20, help="episodes per fixed policy")
    parser.add_argument("--sweep", action="store_true", help="also run the calibration grid")
    parser.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", type=Path, default=Path("docs/multistep_calibration.md"))
    args = parser.parse_args(argv)
    env_kwargs = parse_kwargs(args.env_kwargs)

    result = calibrate(env_kwargs, args.episodes)
    config = gym.make(ENV_ID, **env_kwargs).unwrapped.config
    text = [
        "# MultiStepOffload-v0: calibration of the default scenario",
        "",
        "Generated by `python eval/calibrate_multistep.py"
        + (" --sweep" if args.sweep else "")
        + f" --episodes {args.episodes}`"
        + (f" with `{' '.join(args.env_kwargs)}`" if args.env_kwargs else "")
        + f"; seeds {CALIBRATION_SEEDS.start}..{CALIBRATION_SEEDS.start + args.episodes - 1}.",
        "The hindsight oracle is DT #1's per-task best option on each policy's own trajectories.",
        "",
        "Config: `"
        + yaml.safe_dump(config.to_dict(), default_flow_style=True, width=1000).strip()
        + "`",
        "",
        report(result),
    ]
    print(report(result))
    if args.sweep:
        sweep_rows = []
        for values in itertools.product(*SWEEP.values()):
            kwargs = {**env_kwargs, **dict(zip(SWEEP, values, strict=True))}
            swept = calibrate(kwargs, max(args.episodes // 2, 2))
            best = max(swept["rows"], key=lambda r: r["utility"])
            sweep_rows.append(
                {
                    **{k: v for k, v in kwargs.items() if k in SWEEP},
                    "mean_rate_mbps": swept["mean_rate"] / 1e6,
                    "best_fixed": best["policy"],
                    "best_fixed_utility": best["utility"],
                    "min_oracle_gain": swept["min_gain"],
                    "options_over_10pct": swept["options_over_10pct"],
                    "oracle_shares": ", ".join(
                        f"{n}: {s:.0%}" for n, s in swept["pooled_shares"].items()
                    ),
                }
            )
            print(sweep_rows[-1], flush=True)
        text += [
            "## Sweep",
            "",
            "| " + " | ".join(sweep_rows[0]) + " |",
            "|---" * len(sweep_rows[0]) + "|",
            *(
                "| "
                + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r.values())
                + " |"
                for r in sweep_rows
            ),
            "",
        ]
        with args.out.with_suffix(".csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(sweep_rows[0]))
            writer.writeheader()
            writer.writerows(sweep_rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(text))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
