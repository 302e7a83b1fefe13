"""The environments run without the extras (torch, SB3, sb3-contrib, cvxpy, numba, tensorboard).

A fresh ``pip install .`` has none of them; here they are hidden from a subprocess instead.
"""

from __future__ import annotations

import subprocess
import sys

EXTRAS = ("torch", "stable_baselines3", "sb3_contrib", "cvxpy", "numba", "llvmlite", "tensorboard")

SCRIPT = f"""
import importlib.abc, sys

class HideExtras(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in {EXTRAS!r}:
            hidden = f"No module named {{name!r}} (hidden: not in the light install)"
            raise ModuleNotFoundError(hidden, name=name)

sys.meta_path.insert(0, HideExtras())
import gymnasium
import mec_gym

for env_id, entry in mec_gym.registration.ENVS.items():
    env = gymnasium.make(f"mec_gym:{{env_id}}")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    if entry.vector_entry_point:
        envs = gymnasium.make_vec(
            f"mec_gym:{{env_id}}", 2, vectorization_mode="vector_entry_point"
        )
        envs.reset(seed=0)
        envs.step(envs.action_space.sample())
loaded = sorted(m for m in sys.modules if m.partition(".")[0] in {EXTRAS!r})
assert not loaded, loaded
"""


def test_every_env_and_native_vector_env_runs_without_the_extras():
    subprocess.run([sys.executable, "-c", SCRIPT], check=True, timeout=300)
