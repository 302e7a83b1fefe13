"""Train SAC on a mec_gym environment with a continuous (Box) action space.

    python train/sac.py --env PerTaskOffload-v1 [same options as train/ppo.py]

Hyperparameters come from ``train/hyperparams/sac.yml``; an environment whose actions are not a
Box is refused with the list of the algorithms that fit it.
"""

from __future__ import annotations

import sys

from mec_gym.train.common import main

if __name__ == "__main__":
    main("sac", sys.argv[1:])
