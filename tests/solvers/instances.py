"""Problem instances shared by the solver tests."""

from __future__ import annotations

import numpy as np

from mec_gym.problems.joint_offload import PRESETS, JointOffloadConfig, JointOffloadProblem

CONFIGS = {
    "default": JointOffloadConfig(),
    "pan2023": JointOffloadConfig(**PRESETS["pan2023"]),
    "exact": JointOffloadConfig(complexity="exact"),
}
"""The default config, the paper's preset and the exact (staircase) complexity model."""


def sample(name: str, seed: int, n: int) -> JointOffloadProblem:
    """A random drop of ``n`` devices under ``CONFIGS[name]``."""
    return JointOffloadProblem.sample(CONFIGS[name], np.random.default_rng(seed), n)
