"""Train MaskablePPO (sb3-contrib) on a mec_gym environment and compare it with the baselines.

    python train/maskable_ppo.py --env MultiStepOffload-v1 [same options as train/ppo.py]
    python train/maskable_ppo.py --resume RUN_DIR [--timesteps N]

For an environment with ``action_masks()`` (invalid actions are masked in training and
evaluation); an environment it cannot act in is refused with the list of the algorithms that fit
it. Hyperparameters come from ``train/hyperparams/maskable_ppo.yml`` (rl-baselines3-zoo format).
"""

from __future__ import annotations

from mec_gym.train.cli import main

if __name__ == "__main__":
    main("maskable_ppo")
