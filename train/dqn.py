"""Train DQN on a mec_gym environment and compare it with the environment's baselines.

    python train/dqn.py --env MultiStepOffload-v1 [same options as train/ppo.py]
    python train/dqn.py --resume RUN_DIR [--timesteps N]

For an environment whose actions are Discrete; an environment it cannot act in is refused with
the list of the algorithms that fit it. Hyperparameters come from ``train/hyperparams/dqn.yml``
(rl-baselines3-zoo format).
"""

from __future__ import annotations

from mec_gym.train.cli import main

if __name__ == "__main__":
    main("dqn")
