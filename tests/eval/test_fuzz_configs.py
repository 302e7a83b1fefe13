"""eval/fuzz_configs.py: hostile configs are refused naming a field or run cleanly."""

from __future__ import annotations

import csv

import gymnasium as gym
import numpy as np

from mec_gym.eval import fuzz_configs
from mec_gym.registration import ENVS


def test_every_id_survives_a_short_hostile_fuzz(tmp_path):
    """40 cases per ID (the seed-0 cases, the longer run is ``python eval/fuzz_configs.py``):
    no unnamed refusal, NaN, out-of-space observation, crash or hang."""
    counts = fuzz_configs.main(["--cases", "40", "--steps", "5", "--out", str(tmp_path)])
    assert set(counts) == set(ENVS)
    for env_id, outcomes in counts.items():
        assert sum(outcomes.values()) == 40
        assert outcomes["ran"] > 0, env_id  # the fuzz reaches the valid domain too
        failures = {name: outcomes[name] for name in fuzz_configs.FAILURES if outcomes[name]}
        assert not failures, (env_id, failures)
    rows = list(csv.DictReader((tmp_path / "fuzz_failures.csv").open()))
    assert all(not row["env"] for row in rows)  # the header's placeholder row only


def test_outcomes_are_classified():
    assert fuzz_configs.run_case("BandwidthSplit-v0", {}, 3, 5.0, 0) == ("ran", "")
    outcome, error = fuzz_configs.run_case("BandwidthSplit-v0", {"period_s": -1.0}, 3, 5.0, 0)
    assert outcome == "refused" and "period_s" in error
    outcome, _ = fuzz_configs.run_case("BandwidthSplit-v0", {"not_a_field": 1.0}, 3, 5.0, 0)
    assert outcome == "refused"  # the unknown field is named


def test_hostile_overrides_are_reproducible_and_hostile():
    defaults = fuzz_configs.config_defaults("MultiStepOffload-v1")
    draws = [fuzz_configs.hostile_overrides(np.random.default_rng(3), defaults) for _ in range(2)]
    assert repr(draws[0]) == repr(draws[1])
    rng = np.random.default_rng(0)
    cases = [fuzz_configs.hostile_overrides(rng, defaults) for _ in range(200)]
    assert all(set(case) <= set(defaults) for case in cases)
    assert any(
        len(case) == len([v for v in defaults.values() if type(v) in (int, float)])
        for case in cases
    )  # the extreme-but-finite cases scale every number


class InfiniteInfo(gym.Env):
    """One-number env whose step reports an infinite ``info`` value (a fuzz failure)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(1, np.float32), {}

    def step(self, action):
        return np.zeros(1, np.float32), 0.0, False, False, {"delay": float("inf"), "name": "x"}


def test_an_infinite_number_in_info_is_a_failure():
    assert fuzz_configs.play(InfiniteInfo(), 3, 0) == ("nan", "info['delay'] = inf at step 1")
