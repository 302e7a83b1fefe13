"""Problem instances shared by the solver tests."""

from __future__ import annotations

import numpy as np

from mec_gym.problems.joint_offload import PRESETS, JointOffloadConfig, JointOffloadProblem

CONFIGS = {
    "default": JointOffloadConfig(),
    "pan2023": JointOffloadConfig(**PRESETS["pan2023"]),
    "exact": JointOffloadConfig(complexity="exact"),
    "balanced": JointOffloadConfig(**PRESETS["balanced"]),
}
"""The default config (the spec's table), the paper's preset, the exact (staircase) complexity
model and the environments' default scenario."""


def sample(name: str, seed: int, n: int) -> JointOffloadProblem:
    """A random drop of ``n`` devices under ``CONFIGS[name]``."""
    return JointOffloadProblem.sample(CONFIGS[name], np.random.default_rng(seed), n)
