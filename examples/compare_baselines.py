"""Compare your own policy with an environment's shipped baselines on the fixed evaluation seeds.

What it shows: any object with the stable-baselines3 ``predict`` call shape is a policy to
mec_gym's evaluation (a trained SB3 model, a baseline, or the hand-written rule below). It is
played with :func:`mec_gym.eval.evaluation.evaluate_policy` on the first test seeds of
``EVAL_SEEDS`` (the seeds of every table in the docs, disjoint from training and validation),
beside the baselines of :func:`mec_gym.agents.build_baselines`; ``comparison_rows`` ranks them
with each policy's mean score, its 95% CI and its paired difference to the best other policy
(same seeds, so the interval is tight), and ``paired_advantage`` gives the rule's difference to
any one baseline.

The environment is ``BandwidthSplit-v0`` (Yang et al., arXiv 2504.14310): every period a device
splits its link between uploading fresh data (upload share ``beta``) and downloading the edge's
distilled model; the score is the mean mAP per period, higher is better. The rule uploads more
while the edge's fresh data is low and the channel is good.

Run it from a checkout::

    .venv/bin/python examples/compare_baselines.py            # 20 test seeds, 50 periods each
    .venv/bin/python examples/compare_baselines.py --quick    # 5 test seeds, 20 periods each

It prints a Markdown table; it writes no file.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from mec_gym.agents import build_baselines
from mec_gym.envs.bandwidth_split import DEVICE_FEATURES
from mec_gym.eval.evaluation import (
    EVAL_SEEDS,
    comparison_markdown,
    comparison_rows,
    evaluate_policy,
    format_mean_ci,
    paired_advantage,
    protocol_for,
)

ENV_ID = "BandwidthSplit-v0"
GAIN = DEVICE_FEATURES.index("gain_db")
FRESH = DEVICE_FEATURES.index("fresh_data")


class FreshDataRule:
    """Upload share ``beta = clip(0.7 - 0.4 f + 0.1 g, 0.1, 0.9)`` from the observation: ``f``
    is the edge's effective fresh data squashed to [0, 1), ``g`` the channel gain mapped to
    [-1, 1] (see the env's Observation Space)."""

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """SB3's call shape: an action for one observation (or a row per observation)."""
        observation = np.asarray(observation, dtype=np.float64)
        beta = 0.7 - 0.4 * observation[..., FRESH] + 0.1 * observation[..., GAIN]
        return np.clip(beta, 0.1, 0.9)[..., None].astype(np.float32), state


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20, help="test seeds (episodes)")
    parser.add_argument("--periods", type=int, default=50, help="periods per episode")
    parser.add_argument(
        "--quick", action="store_true", help="5 episodes of 20 periods (well under a minute)"
    )
    args = parser.parse_args(argv)
    episodes, periods = (5, 20) if args.quick else (args.episodes, args.periods)
    env_kwargs = {"periods_per_episode": periods}
    seeds = EVAL_SEEDS[:episodes]

    policies: dict[str, Any] = {"my_rule": FreshDataRule()}
    policies.update(build_baselines(ENV_ID, env_kwargs))
    results = {
        name: evaluate_policy(policy, ENV_ID, env_kwargs, seeds, name=name)
        for name, policy in policies.items()
    }

    protocol = protocol_for(ENV_ID)
    print(f"{ENV_ID}, test seeds {seeds[0]}..{seeds[-1]}, {periods} periods per episode")
    print(comparison_markdown(comparison_rows(list(results.values())), protocol))
    mine = results["my_rule"]
    for name, result in results.items():
        if name != "my_rule":
            mean, half = paired_advantage(mine, result)
            print(
                f"my_rule vs {name}: {format_mean_ci(mean, half, sign='+')} "
                f"{protocol.score} (paired, 95% CI; positive: my_rule is better)"
            )


if __name__ == "__main__":
    main()
