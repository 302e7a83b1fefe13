"""Calibration of MultiStepOffload-v1's defaults: is the default scenario non-trivial?

For every fixed policy (always local, offload at each decision boundary) it reports the mean
utility per task and, from DT #1 on the same trajectories, the hindsight oracle and which option
the oracle picks. The spec asks that the oracle beat every fixed policy by at least 10% of that
policy's mean utility and that at least three options each be the oracle's choice for at least
10% of the tasks. ``--sweep`` repeats the check over a small grid of uplink and edge-load settings
(the search the defaults came from). Writes ``<out>/multistep_calibration.md`` (and, with
``--sweep``, ``<out>/multistep_calibration.csv``; ``--out docs``: the committed pages).

    python eval/calibrate_multistep.py [--env ID] [--episodes 20] [--sweep] \
        [--env-kwargs k=v ...] [--out docs]
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

import mec_gym  # noqa: F401
from mec_gym.agents.base import CALIBRATION_SEEDS
from mec_gym.agents.multistep import fixed_option_policy
from mec_gym.envs.multistep_offload import LOCAL
from mec_gym.eval import output
from mec_gym.eval.evaluation import evaluate_policy, mean_ci, protocol_for
from mec_gym.models.channel import BlockFadingUplinks
from mec_gym.registration import ENVS

ENV_ID = "MultiStepOffload-v1"
"""The env calibrated by default (any ID with DT #1's hindsight replay can be given)."""
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


def calibrate(env_id: str, env_kwargs: dict[str, Any], episodes: int) -> dict[str, Any]:
    """Evaluate every fixed policy with the hindsight oracle on its own trajectories."""
    env = gym.make(env_id, **env_kwargs)
    seeds = list(CALIBRATION_SEEDS[:episodes])
    options = (LOCAL, *env.unwrapped.decision_boundaries)
    rows, pooled = [], dict.fromkeys(options, 0)
    for option in options:
        policy = fixed_option_policy(env.unwrapped, option)
        result = evaluate_policy(policy, env_id, env_kwargs, seeds, policy.name)
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
    columns: dict[str, output.Cell] = {
        "fixed policy": "{policy}",
        "utility (95% CI)": "{utility:.3f} ± {utility_ci95:.3f}",
        "hindsight oracle (95% CI)": "{oracle:.3f} ± {oracle_ci95:.3f}",
        "oracle gain": "{oracle_gain:+.0%}",
        **{f"oracle picks {n}": f"{{share_{n}:.0%}}" for n in names},
    }
    pooled = ", ".join(f"{n}: {s:.0%}" for n, s in result["pooled_shares"].items())
    gain_ok = result["min_gain"] >= 0.10
    options_ok = result["options_over_10pct"] >= 3
    lines = [
        *output.markdown_table(result["rows"], columns),
        "",
        f"- Mean uplink rate: {result['mean_rate'] / 1e6:.2f} Mbit/s.",
        f"- Oracle choices pooled over all fixed policies' trajectories: {pooled}.",
        f"- Smallest oracle gain over a fixed policy: {result['min_gain']:+.0%} "
        f"(target ≥ +10%): {'PASS' if gain_ok else 'FAIL'}.",
        f"- Options chosen by the oracle for ≥ 10% of tasks: {result['options_over_10pct']} "
        f"(target ≥ 3): {'PASS' if options_ok else 'FAIL'}.",
    ]
    return "\n".join(lines) + "\n"


def sweep(env_id: str, env_kwargs: dict[str, Any], episodes: int) -> list[dict[str, Any]]:
    """One row per setting of the ``SWEEP`` grid (``episodes`` per fixed policy): the best
    fixed policy, the smallest oracle gain and the options the oracle picks."""
    rows = []
    for values in itertools.product(*SWEEP.values()):
        kwargs = {**env_kwargs, **dict(zip(SWEEP, values, strict=True))}
        swept = calibrate(env_id, kwargs, episodes)
        best = max(swept["rows"], key=lambda r: r["utility"])
        rows.append(
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
        print(rows[-1], flush=True)
    return rows


def parse_kwargs(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs, values parsed as YAML."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--env-kwargs takes key=value pairs, got {pair!r}")
        out[key] = yaml.safe_load(value)
    return out


def hindsight_envs() -> list[str]:
    """The registered IDs whose evaluation protocol has DT #1's hindsight replay."""
    return [env_id for env_id in ENVS if protocol_for(env_id).hindsight]


def main(argv: Sequence[str] | None = None) -> None:
    argv = output.arguments(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    output.add_env_argument(parser, hindsight_envs(), f"env ID (default {ENV_ID})", default=ENV_ID)
    parser.add_argument("--episodes", type=int, default=20, help="episodes per fixed policy")
    parser.add_argument("--sweep", action="store_true", help="also run the calibration grid")
    parser.add_argument("--env-kwargs", nargs="*", default=[], metavar="KEY=VALUE")
    output.add_out_argument(parser, "multistep_calibration")
    args = parser.parse_args(argv)
    env_kwargs = parse_kwargs(args.env_kwargs)

    result = calibrate(args.env, env_kwargs, args.episodes)
    config = gym.make(args.env, **env_kwargs).unwrapped.config
    text = [
        f"# {args.env}: calibration of the default scenario",
        "",
        f"Generated by `{output.command_line(__file__, argv)}`; seeds {CALIBRATION_SEEDS.start}.."
        f"{CALIBRATION_SEEDS.start + args.episodes - 1}.",
        "The hindsight oracle is DT #1's per-task best option on each policy's own trajectories.",
        "",
        "Config: `"
        + yaml.safe_dump(config.to_dict(), default_flow_style=True, width=1000).strip()
        + "`",
        "",
        report(result),
    ]
    print(report(result))
    out = output.output_folder(args.out, "multistep_calibration")
    if args.sweep:
        rows = sweep(args.env, env_kwargs, max(args.episodes // 2, 2))
        columns = {
            key: f"{{{key}:.3g}}" if isinstance(value, float) else f"{{{key}}}"
            for key, value in rows[0].items()
        }
        text += ["## Sweep", "", *output.markdown_table(rows, columns)]
        output.write_csv(out / "multistep_calibration.csv", rows)
    output.write_markdown(out / "multistep_calibration.md", text)
    print(f"wrote {out}/multistep_calibration.md" + (" and .csv" if args.sweep else ""))


if __name__ == "__main__":
    main()
