"""Train SAC on a mec_gym environment and compare it with the environment's baselines.

    python train/sac.py --env PerTaskOffload-v1 [same options as train/ppo.py]
    python train/sac.py --resume RUN_DIR [--timesteps N]

For an environment whose actions are a Box; an environment it cannot act in is refused with the
list of the algorithms that fit it. Hyperparameters come from ``train/hyperparams/sac.yml`` (rl-
baselines3-zoo format).
"""

from __future__ import annotations

from mec_gym.train.cli import main

if __name__ == "__main__":
    main("sac")
