"""Train PPO on a mec_gym environment and compare it with the environment's baselines.

    python train/ppo.py --env MultiStepOffload-v1 [--timesteps N] [--seed S] [--n-envs N]
        [--env-kwargs key=value ...] [--hyperparams key=value ...] [--logdir runs]
        [--eval-episodes E] [--eval-freq N] [--checkpoint-freq N] [--no-baselines]
    python train/ppo.py --resume RUN_DIR [--timesteps N]

Hyperparameters come from ``train/hyperparams/ppo.yml`` (rl-baselines3-zoo format); see
``train/common.py`` for the run folder it writes and ``train/cli.py`` for the options.
"""

from __future__ import annotations

from mec_gym.train.cli import main

if __name__ == "__main__":
    main("ppo")
