"""rl-baselines3-zoo trains on mec_gym environments with the shipped hyperparameter files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mec_gym.train.cli import ALGOS, HYPERPARAMS_DIR

ROOT = Path(__file__).resolve().parents[1]

ENTRIES = [
    (algo, env_id)
    for algo in sorted(ALGOS)
    for env_id in yaml.safe_load((HYPERPARAMS_DIR / f"{algo}.yml").read_text())
    if env_id != "default"
]
"""Every (algorithm, env ID) entry of the YAML files."""


@pytest.mark.slow
@pytest.mark.parametrize(("algo", "env_id"), ENTRIES)
def test_the_zoo_trains_with_the_shipped_entry(algo, env_id, tmp_path):
    zoo = pytest.importorskip("rl_zoo3.utils")
    if algo not in zoo.ALGOS:
        pytest.skip(f"rl-baselines3-zoo has no {algo} (its algorithms: {sorted(zoo.ALGOS)})")
    command = [
        sys.executable,
        "-m",
        "rl_zoo3.train",
        "--algo",
        algo,
        "--env",
        env_id,
        "--gym-packages",
        "mec_gym",
        "-conf",
        str(HYPERPARAMS_DIR / f"{algo}.yml"),
        "-n",
        "300",
        "--eval-freq",
        "-1",
        "--log-folder",
        str(tmp_path),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(tmp_path.glob(f"{algo}/{env_id}_1/{env_id}.zip"))
