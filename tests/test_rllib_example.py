"""The RLlib example trains on a registered ID (slow; needs the rllib extra)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "rllib_ppo.py"


@pytest.mark.slow
def test_rllib_ppo_trains_on_a_registered_env():
    pytest.importorskip("ray.rllib")
    spec = importlib.util.spec_from_file_location("rllib_ppo", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    returns = module.main(
        [
            "--env",
            "BandwidthSplit-v0",
            "--iterations",
            "2",
            "--env-kwargs",
            "{'periods_per_episode': 20}",
        ]
    )
    assert len(returns) == 2 and all(math.isfinite(r) for r in returns)
