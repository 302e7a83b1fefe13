"""Train RLlib's PPO on a registered mec_gym environment, unchanged.

    pip install "mec-gym[rllib]"     # RLlib pins its own gymnasium: use a separate venv
    python examples/rllib_ppo.py [--env BandwidthSplit-v0] [--iterations 3]

RLlib builds the env by its registered ID (``gymnasium.make`` in each env runner, with the
``mec_gym:`` prefix so that the runner process registers the IDs); nothing in mec_gym is
adapted for it. Prints the mean episode return of each training iteration.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> list[float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="BandwidthSplit-v0", help="a registered mec_gym ID")
    parser.add_argument("--iterations", type=int, default=3, help="training iterations")
    parser.add_argument(
        "--env-kwargs", default="{}", help="keyword arguments of gymnasium.make, as a dict"
    )
    args = parser.parse_args(argv)

    import ast

    import ray
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (
        PPOConfig()
        .environment(f"mec_gym:{args.env}", env_config=ast.literal_eval(args.env_kwargs))
        .env_runners(num_env_runners=0)
        .training(train_batch_size=400, minibatch_size=100, num_epochs=2)
        .debugging(seed=0)
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    returns = []
    try:
        algorithm = config.build_algo()
        for iteration in range(args.iterations):
            result = algorithm.train()
            mean_return = result["env_runners"]["episode_return_mean"]
            returns.append(float(mean_return))
            print(f"iteration {iteration + 1}: mean episode return {mean_return:.3f}")
        algorithm.stop()
    finally:
        ray.shutdown()
    return returns


if __name__ == "__main__":
    main()
