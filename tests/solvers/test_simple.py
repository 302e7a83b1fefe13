"""The simple offloading baselines: local only, edge only, random offloading."""

from __future__ import annotations

import numpy as np
import pytest

from mec_gym.problems.joint_offload import (
    JointOffloadConfig,
    JointOffloadProblem,
    evaluate_allocation,
    feasibility_violations,
)
from mec_gym.solvers.joint_offload.edge import edge_cost, search_frames
from mec_gym.solvers.joint_offload.gp import gp_frames
from mec_gym.solvers.joint_offload.local import local_optimum
from mec_gym.solvers.joint_offload.simple import edge_only, local_only, random_offloading

CONFIGS = [{}, {"transmit_power": 0.1, "tx_energy": "slot", "local_energy": "macs"}]


def make(overrides: dict, seed: int, n: int = 5) -> JointOffloadProblem:
    config = JointOffloadConfig(**overrides)
    return JointOffloadProblem.sample(config, np.random.default_rng(seed), num_devices=n)


@pytest.mark.parametrize("overrides", CONFIGS)
@pytest.mark.parametrize("seed", range(2))
def test_local_only_is_theorem1_everywhere(overrides, seed):
    problem = make(overrides, seed)
    allocation = local_only(problem)
    assert feasibility_violations(problem, allocation) == []
    assert not allocation.offload.any()
    local = local_optimum(problem)
    np.testing.assert_array_equal(allocation.frames, local.frames)
    np.testing.assert_allclose(evaluate_allocation(problem, allocation).cost, local.cost)


@pytest.mark.parametrize("overrides", CONFIGS)
@pytest.mark.parametrize("seed", range(2))
def test_edge_only_offloads_everything_with_algorithm2(overrides, seed):
    problem = make(overrides, seed)
    allocation = edge_only(problem)
    assert feasibility_violations(problem, allocation) == []
    assert allocation.offload.all()
    devices = np.arange(problem.num_devices)
    np.testing.assert_array_equal(allocation.frames, gp_frames(problem, devices))
    assert evaluate_allocation(problem, allocation).total == pytest.approx(
        edge_cost(problem, devices, allocation.frames)
    )
    assert allocation.time_share.sum() == pytest.approx(1)
    assert allocation.edge_frequency.sum() == pytest.approx(problem.config.edge_capacity)


def test_edge_only_with_the_search_is_the_best_all_edge_allocation():
    problem = make({}, 4, n=3)
    search, gp = edge_only(problem, edge_solver="search"), edge_only(problem)
    devices = np.arange(3)
    np.testing.assert_array_equal(search.frames, search_frames(problem, devices))
    assert (
        evaluate_allocation(problem, search).total <= evaluate_allocation(problem, gp).total + 1e-12
    )


@pytest.mark.parametrize("overrides", CONFIGS)
@pytest.mark.parametrize("seed", range(3))
def test_random_offloading_is_feasible_and_completes_the_draw(overrides, seed):
    problem = make(overrides, seed, n=8)
    allocation = random_offloading(problem, rng=np.random.default_rng(seed))
    assert feasibility_violations(problem, allocation) == []
    expected = np.random.default_rng(seed).random(problem.num_devices) < 0.5
    np.testing.assert_array_equal(allocation.offload, expected)
    local = local_optimum(problem)
    np.testing.assert_array_equal(allocation.frames[~expected], local.frames[~expected])
    devices = np.flatnonzero(expected)
    np.testing.assert_array_equal(allocation.frames[devices], gp_frames(problem, devices))


def test_random_offloading_is_reproducible_and_covers_both_extremes():
    problem = make({}, 7, n=6)
    first, again = random_offloading(problem, rng=11), random_offloading(problem, rng=11)
    np.testing.assert_array_equal(first.offload, again.offload)
    np.testing.assert_array_equal(first.frames, again.frames)
    nobody = random_offloading(problem, rng=0, probability=0.0)
    everybody = random_offloading(problem, rng=0, probability=1.0)
    np.testing.assert_array_equal(nobody.frames, local_only(problem).frames)
    np.testing.assert_array_equal(everybody.frames, edge_only(problem).frames)
    assert everybody.offload.all() and not nobody.offload.any()
    with pytest.raises(ValueError, match="probability"):
        random_offloading(problem, probability=1.5)
