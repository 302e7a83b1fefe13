"""Train MaskablePPO (sb3-contrib) on a mec_gym environment that has ``action_masks()``.

    python train/maskable_ppo.py --env MultiStepOffload-v1 [same options as train/ppo.py]

Invalid actions are masked during training and evaluation; hyperparameters come from
``train/hyperparams/maskable_ppo.yml``.
"""

from __future__ import annotations

import sys

from mec_gym.train.common import main

if __name__ == "__main__":
    main("maskable_ppo", sys.argv[1:])
