"""Train PPO on a mec_gym environment and compare it with the environment's baselines.

    python train/ppo.py --env MultiStepOffload-v1 [--timesteps N] [--seed S] [--n-envs N]
        [--env-kwargs key=value ...] [--hyperparams key=value ...] [--logdir runs]
        [--eval-episodes 20] [--eval-freq N] [--no-baselines]

Hyperparameters come from ``train/hyperparams/ppo.yml``; see ``train/common.py`` for the run
folder it writes.
"""

from __future__ import annotations

import sys

from mec_gym.train.common import main

if __name__ == "__main__":
    main("ppo", sys.argv[1:])
