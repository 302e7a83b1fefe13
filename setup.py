"""Package layout (metadata and dependencies are in pyproject.toml).

The checkout keeps ``agents/``, ``train/`` and ``eval/`` beside ``mec_gym/``; they are installed
as ``mec_gym.agents``, ``mec_gym.train`` and ``mec_gym.eval`` so that no generic top-level name
lands in site-packages.
"""

from setuptools import find_packages, setup

BESIDE = {"mec_gym.agents": "agents", "mec_gym.train": "train", "mec_gym.eval": "eval"}

setup(
    packages=[*find_packages(include=["mec_gym", "mec_gym.*"]), *BESIDE],
    package_dir=BESIDE,
)
