"""Refactoring guard: the same seeds give the same numbers as the recorded reference.

``tests/data/same_numbers.json`` holds rollouts of every registered environment, episodes of
the fixed baselines, the digital twin's replays and the solvers' costs, recorded with
``python tests/test_same_numbers.py --write``. A change that alters any of them on purpose
(new dynamics, a version bump) re-records the file and says why in its commit; a new env ID is
guarded once it is recorded.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from mec_gym.registration import ENVS

REFERENCE = Path(__file__).parent / "data" / "same_numbers.json"
ROLLOUT_KWARGS = {
    "MultiStepOffload-v1": {"tasks_per_episode": 30},
    "JointOffload-v1": {"rounds_per_episode": 40},
    "JointOffload-pan2023-v1": {"rounds_per_episode": 40},
    "JointOffload-N8-v1": {"rounds_per_episode": 40},
    "PerTaskOffload-v1": {"num_devices": 6, "tasks_per_episode": 50},
}
OBSERVED_STEPS = 12
"""Observations recorded per rollout (rewards and infos are recorded for every step)."""


def _numbers(info: dict[str, Any]) -> dict[str, float]:
    return {
        key: float(value)
        for key, value in sorted(info.items())
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    }


def rollout(env_id: str, seed: int, steps: int = 120) -> dict[str, Any]:
    """Rewards, flags, numeric infos and the first observations under seeded random actions."""
    env = gym.make(f"mec_gym:{env_id}", **ROLLOUT_KWARGS.get(env_id, ENVS[env_id].small_kwargs))
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    observations, rewards, infos = [obs.tolist()], [], [_numbers(info)]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        rewards.append([float(reward), bool(terminated), bool(truncated)])
        infos.append(_numbers(info))
        if len(observations) < OBSERVED_STEPS:
            observations.append(obs.tolist())
        if terminated or truncated:
            obs, _ = env.reset()
    return {"observations": observations, "rewards": rewards, "infos": infos}


def baseline_episodes() -> dict[str, float]:
    """Episode-end mean cost/utility of the fixed baselines that need no training."""
    from mec_gym.agents import build_baselines
    from mec_gym.agents.base import run_episode
    from mec_gym.agents.multistep import fixed_option_policy
    from mec_gym.envs.multistep_offload import LOCAL

    out: dict[str, float] = {}
    for env_id, kwargs in (
        ("JointOffload-N8-v1", {"rounds_per_episode": 4}),
        ("PerTaskOffload-v1", {"num_devices": 6, "tasks_per_episode": 40}),
    ):
        env = gym.make(f"mec_gym:{env_id}", **kwargs)
        for name, policy in build_baselines(env_id, kwargs, seed=3).items():
            info, _, _ = run_episode(policy, env, seed=5)
            out[f"{env_id}/{name}"] = float(info["cost"])
    kwargs = {"tasks_per_episode": 40}
    env = gym.make("mec_gym:MultiStepOffload-v1", **kwargs)
    base = env.unwrapped
    for option in (LOCAL, *base.decision_boundaries):
        info, _, _ = run_episode(fixed_option_policy(base, option), env, seed=5)
        out[f"MultiStepOffload-v1/option {option}"] = float(info["utility"])
    return out


def twin_replays() -> dict[str, Any]:
    """DT #1's counterfactual utilities and observations and DT #2's error on one episode, and
    the stopping agent's training samples (which go through both twins)."""
    from mec_gym.agents.dt_stopping import collect_stopping_data
    from mec_gym.twins.decision_replay import DecisionEvaluationTwin

    env = gym.make("mec_gym:MultiStepOffload-v1", tasks_per_episode=25)
    env.reset(seed=11)
    rng = np.random.default_rng(11)
    done, info = False, {}
    while not done:
        _, _, terminated, truncated, info = env.step(int(rng.random() < 0.3))
        done = terminated or truncated
    options = DecisionEvaluationTwin(env).all_task_options()
    samples = collect_stopping_data(
        "MultiStepOffload-v1", {"tasks_per_episode": 15}, [2, 3], augment=True
    )
    return {
        "twin_error": float(info["twin_error"]),
        "offload_utility": [o.offload_utility.tolist() for o in options],
        "local_utility": [o.local_utility for o in options],
        "observation_sums": [
            [
                None if obs is None else float(np.sum(obs, dtype=np.float64))
                for obs in o.observations
            ]
            for o in options
        ],
        "samples": [
            [
                float(np.sum(s.observations, dtype=np.float64)),
                np.nan_to_num(s.offload_utility, nan=-9.0).tolist(),
                float(np.nan_to_num(s.final_utility, nan=-9.0)),
            ]
            for s in samples
        ],
    }


def solver_costs() -> dict[str, float]:
    """Cost of every solver on fixed drops of the default scenario and of the spec's table."""
    from mec_gym.problems.joint_offload import (
        PRESETS,
        JointOffloadConfig,
        JointOffloadProblem,
        evaluate_allocation,
    )
    from mec_gym.solvers.joint_offload.registry import SOLVERS, solve, solver_applies

    out: dict[str, float] = {}
    for preset in ("balanced", "spec", "pan2023"):
        for n, seed in ((4, 0), (8, 1)):
            config = JointOffloadConfig(**{**PRESETS[preset], "num_devices": n})
            problem = JointOffloadProblem.sample(config, np.random.default_rng(seed))
            for name in SOLVERS:
                if solver_applies(name, n):
                    allocation = solve(name, problem, np.random.default_rng(seed))
                    out[f"{preset}/N{n}/{name}"] = evaluate_allocation(problem, allocation).total
    return out


def fingerprint(env_ids: list[str]) -> dict[str, Any]:
    return {
        "rollouts": {
            env_id: {str(seed): rollout(env_id, seed) for seed in (0, 1)} for env_id in env_ids
        },
        "baselines": baseline_episodes(),
        "twins": twin_replays(),
        "solvers": solver_costs(),
    }


def _compare(path: str, got: Any, want: Any) -> list[str]:
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return [
                f"{path}: keys {sorted(got) if isinstance(got, dict) else got} != {sorted(want)}"
            ]
        return [m for key in want for m in _compare(f"{path}/{key}", got[key], want[key])]
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{path}: length differs"]
        return [
            m
            for i, (g, w) in enumerate(zip(got, want, strict=True))
            for m in _compare(f"{path}[{i}]", g, w)
        ]
    if isinstance(want, float) and isinstance(got, (int, float)):
        if np.isclose(got, want, rtol=1e-12, atol=1e-12) or (np.isnan(got) and np.isnan(want)):
            return []
        return [f"{path}: {got!r} != {want!r}"]
    return [] if got == want else [f"{path}: {got!r} != {want!r}"]


@pytest.mark.skipif(not REFERENCE.exists(), reason="no recorded reference")
def test_same_seeds_give_the_recorded_numbers():
    want = json.loads(REFERENCE.read_text())
    got = json.loads(json.dumps(fingerprint(sorted(want["rollouts"]))))
    mismatches = _compare("", got, want)
    assert not mismatches, f"{len(mismatches)} numbers changed, first: {mismatches[:5]}"


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_same_numbers.py --write  (re-records the reference)")
    REFERENCE.parent.mkdir(exist_ok=True)
    REFERENCE.write_text(json.dumps(fingerprint(sorted(ENVS))) + "\n")
    print(f"wrote {REFERENCE}")
