"""Policies: solver-backed fixed baselines, the DT-assisted stopping agent, and their builders."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

import mec_gym  # noqa: F401  (registers the environments)

__all__ = ["build_baselines", "BASELINE_BUILDERS"]

CALIBRATION_SEEDS = range(20_000, 30_000)


def _multistep_baselines(
    env_id: str, env_kwargs: dict[str, Any], seed: int, episodes: int = 30
) -> dict[str, Any]:
    from mec_gym.agents.base import run_episode
    from mec_gym.agents.dt_stopping import collect_stopping_data, train_stopping_policy
    from mec_gym.agents.multistep import (
        AlwaysLocalPolicy,
        FixedSplitPolicy,
        SingleShotPolicy,
        fixed_option_policy,
    )
    from mec_gym.envs.multistep_offload import LOCAL

    env = gym.make(env_id, **env_kwargs)
    base = env.unwrapped
    policies: dict[str, Any] = {
        "always_local": AlwaysLocalPolicy(),
        "offload_raw": FixedSplitPolicy(base, 0),
        "single_shot": SingleShotPolicy(base),
    }
    # best fixed split, chosen on calibration seeds (disjoint from training and evaluation)
    calibration = CALIBRATION_SEEDS[: max(episodes // 3, 2)]
    scores = {}
    for option in (LOCAL, *base.decision_boundaries):
        policy = fixed_option_policy(base, option)
        scores[option] = float(
            np.mean([run_episode(policy, env, seed)[0]["utility"] for seed in calibration])
        )
    best = max(scores, key=scores.__getitem__)
    best_policy = fixed_option_policy(base, best)
    best_policy.name = f"best_fixed_split ({'local' if best == LOCAL else f'boundary {best}'})"
    policies["best_fixed_split"] = best_policy
    training_seeds = range(1000 * seed, 1000 * seed + episodes)
    for augment, name in ((True, "dt_stopping"), (False, "stopping_no_dt")):
        samples = collect_stopping_data(env_id, env_kwargs, training_seeds, augment=augment)
        policies[name] = train_stopping_policy(env, samples, name, seed=seed)
    return policies


def _joint_offload_baselines(env_id: str, env_kwargs: dict[str, Any], seed: int) -> dict[str, Any]:
    """Every analytic solver tractable at the env's N, as a fixed policy."""
    from mec_gym.agents.joint_offload import SolverPolicy
    from mec_gym.solvers.joint_offload.registry import SOLVERS, solver_applies

    env = gym.make(env_id, **env_kwargs)
    n = env.unwrapped.config.num_devices
    return {name: SolverPolicy(env, name, seed) for name in SOLVERS if solver_applies(name, n)}


PER_TASK_CONCURRENCY = (2, 4, 8)
"""Concurrent edge tasks the share-sizing rules of PerTaskOffload-v1 reserve for."""


def _per_task_baselines(env_id: str, env_kwargs: dict[str, Any], seed: int) -> dict[str, Any]:
    """The greedy per-task rule, rules sized for m concurrent edge tasks (fixed 1/m shares, and
    GP+Heuristic on the task's device plus m - 1 typical ones), local only, edge only, random."""
    from mec_gym.agents.joint_offload import PerTaskRulePolicy, PerTaskSolverPolicy

    env = gym.make(env_id, **env_kwargs)
    policies = [
        PerTaskRulePolicy(env),
        *(PerTaskRulePolicy(env, share=1.0 / m) for m in PER_TASK_CONCURRENCY),
        *(PerTaskSolverPolicy(env, "gp_heuristic", m) for m in PER_TASK_CONCURRENCY),
        PerTaskRulePolicy(env, decision="local"),
        PerTaskRulePolicy(env, decision="edge"),
        PerTaskRulePolicy(env, decision="random", seed=seed),
    ]
    return {policy.name: policy for policy in policies}


BASELINE_BUILDERS = {
    "MultiStepOffload-v0": _multistep_baselines,
    "JointOffload-v1": _joint_offload_baselines,
    "JointOffload-pan2023-v1": _joint_offload_baselines,
    "JointOffload-N8-v1": _joint_offload_baselines,
    "PerTaskOffload-v1": _per_task_baselines,
}


def build_baselines(
    env_id: str, env_kwargs: dict[str, Any] | None = None, *, seed: int = 0
) -> dict[str, Any]:
    """The baselines of ``env_id`` as fixed policies (SB3 ``predict`` shape), by display name.

    Baselines that need calibration or training (best fixed split, the DT-assisted stopping
    agents) are fitted here on seeds disjoint from the evaluation seeds.
    """
    if env_id not in BASELINE_BUILDERS:
        raise ValueError(f"no baselines for {env_id!r}; available: {sorted(BASELINE_BUILDERS)}")
    return BASELINE_BUILDERS[env_id](env_id, dict(env_kwargs or {}), seed)
