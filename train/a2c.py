"""Train A2C on a mec_gym environment and compare it with the environment's baselines.

    python train/a2c.py --env MultiStepOffload-v1 [same options as train/ppo.py]
    python train/a2c.py --resume RUN_DIR [--timesteps N]

For any action space; an environment it cannot act in is refused with the list of the algorithms
that fit it. Hyperparameters come from ``train/hyperparams/a2c.yml`` (rl-baselines3-zoo format).
"""

from __future__ import annotations

from mec_gym.train.cli import main

if __name__ == "__main__":
    main("a2c")
