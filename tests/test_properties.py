"""Property-based tests (hypothesis): random configs from the validated domain run with finite,
in-space observations and finite rewards, and the physical invariants hold, for every
registered ID and every joint offloading solver.

A config is drawn by scaling each numeric field of the ID's defaults by a log-uniform factor in
[1/10, 10] (integers rounded, at least 1); draws the config refuses are discarded (the fuzz of
``eval/fuzz_configs.py`` covers refusals).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import mec_gym  # noqa: F401
from mec_gym.eval.fuzz_configs import config_defaults
from mec_gym.problems.joint_offload import (
    JointOffloadConfig,
    JointOffloadProblem,
    evaluate_allocation,
    feasibility_violations,
)
from mec_gym.registration import ENVS
from mec_gym.solvers.joint_offload.registry import SOLVERS, solve, solver_applies

NON_NEGATIVE_UNITS = {"s", "J", "samples", "Mparam", "bit/s", "/task"}
"""Units of ``info`` components that cannot be negative."""
FRACTIONS = {"accuracy", "offload_rate"}
"""``info`` components that are fractions in [0, 1]."""
SIZE_FIELDS = {"num_devices", "num_mus", "num_bs", "num_classes", "tasks_per_episode"}
"""Integer fields kept small (their episodes' cost grows with them)."""
PROPERTY_SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,  # the same examples on every run (CI is reproducible)
)


def scaled_overrides(draw: st.DrawFn, defaults: dict[str, Any]) -> dict[str, Any]:
    """Every numeric field scaled by a log-uniform factor in [1/10, 10] (or kept)."""
    overrides = {}
    for name, value in defaults.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value == 0:
            continue
        if not draw(st.booleans()):
            continue
        factor = 10.0 ** draw(st.floats(-1.0, 1.0))
        if isinstance(value, int):
            high = 2 * value if name in SIZE_FIELDS else 10 * value
            overrides[name] = int(min(max(1, round(value * factor)), high))
        else:
            overrides[name] = value * factor
    return overrides


@st.composite
def valid_env(draw: st.DrawFn, env_id: str) -> tuple[gym.Env, dict[str, Any]]:
    """An env of ``env_id`` with a random valid config (short episodes) and the overrides."""
    overrides = scaled_overrides(draw, config_defaults(env_id))
    try:
        env = gym.make(env_id, **{**overrides, **ENVS[env_id].small_kwargs})
    except ValueError:
        assume(False)
    return env, overrides


def check_info(env: gym.Env, info: dict[str, Any]) -> None:
    """The physical invariants of an ``info``'s components."""
    evaluation = env.unwrapped.metadata["evaluation"]
    for key, unit in zip(evaluation["components"], evaluation["units"], strict=True):
        if key not in info:
            continue
        value = float(info[key])
        assert math.isfinite(value), key
        if unit in NON_NEGATIVE_UNITS:
            assert value >= 0, (key, value)
        if key in FRACTIONS:
            assert 0 <= value <= 1 + 1e-12, (key, value)


@pytest.mark.parametrize("env_id", sorted(ENVS))
def test_valid_configs_run_within_the_physics(env_id):
    @PROPERTY_SETTINGS
    @given(case=valid_env(env_id), seed=st.integers(0, 2**16))
    def run(case: tuple[gym.Env, dict[str, Any]], seed: int) -> None:
        env, _ = case
        observation, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        for _ in range(15):
            assert env.observation_space.contains(observation)
            assert np.isfinite(observation).all()
            observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
            assert math.isfinite(float(reward))
            check_info(env, info)
            if terminated or truncated:
                observation, _ = env.reset()
        env.close()

    run()


@st.composite
def joint_offload_problem(draw: st.DrawFn) -> JointOffloadProblem:
    """A drop of a random valid joint offloading config (N up to 8)."""
    defaults = {
        name: value
        for name, value in JointOffloadConfig().to_dict().items()
        if name != "num_devices"
    }
    overrides = scaled_overrides(draw, defaults)
    try:
        config = JointOffloadConfig(num_devices=draw(st.integers(1, 8)), **overrides)
    except ValueError:
        assume(False)
    return JointOffloadProblem.sample(config, np.random.default_rng(draw(st.integers(0, 999))))


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_every_solver_returns_a_feasible_allocation_within_the_physics(solver):
    @PROPERTY_SETTINGS
    @given(problem=joint_offload_problem())
    def run(problem: JointOffloadProblem) -> None:
        assume(solver_applies(solver, problem.num_devices))
        allocation = solve(solver, problem, np.random.default_rng(0))
        assert feasibility_violations(problem, allocation) == []
        breakdown = evaluate_allocation(problem, allocation)
        assert np.all(breakdown.delay >= 0) and np.all(breakdown.energy >= 0)
        assert np.all((breakdown.accuracy >= 0) & (breakdown.accuracy <= 1))
        assert math.isfinite(breakdown.total)

    run()
