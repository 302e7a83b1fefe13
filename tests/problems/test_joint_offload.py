"""The joint offloading problem's delay and energy formulas."""

from __future__ import annotations

import numpy as np
import pytest

from mec_gym.models.summation import numpy_sum
from mec_gym.problems.joint_offload import (
    CONFIG_TABLES,
    PRESETS,
    Allocation,
    JointOffloadConfig,
    JointOffloadProblem,
    config_tables,
    evaluate_allocation,
    evaluate_devices,
    local_outcome_table,
    offload_delay_energy,
    upload_time,
)
from mec_gym.solvers.joint_offload.edge import (
    allocation_with_shares,
    compute_weight,
    device_edge_shares,
)
from mec_gym.solvers.joint_offload.local import local_optimum


def test_upload_time_is_the_transmission_part_of_the_offloading_delay():
    config = JointOffloadConfig()
    frames, rate, macs, edge_frequency = 4, 2e7, 3e9, 1e10
    shares = np.array([0.1, 0.25, 1.0])
    expected = frames * config.frame_bits / (shares * rate)  # F D / (tau R), s
    np.testing.assert_array_equal(upload_time(config, frames, rate, shares), expected)
    assert upload_time(config, frames, rate, 0.25) == expected[1]
    delay, _ = offload_delay_energy(config, macs, frames, rate, shares, edge_frequency)
    np.testing.assert_array_equal(delay, expected + config.cycles_per_mac * macs / edge_frequency)


# ----------------------------------------------------- the per-device (pure Python) evaluation
CONFIGS = {
    "spec": JointOffloadConfig(),
    **{name: JointOffloadConfig(**fields) for name, fields in PRESETS.items()},
    "slot energy, cycles": JointOffloadConfig(tx_energy="slot", local_energy="cycles"),
}


def random_allocations(config: JointOffloadConfig, seed: int, count: int = 30):
    """(instance, allocation) pairs: random drops, offloading sets (none, all, random) and
    frames, Theorem 2's shares and Theorem 1's local frequency (what an env's step applies)."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        problem = JointOffloadProblem.sample(config, rng)
        n = problem.num_devices
        offload = np.full(n, i % 3 == 1) if i % 3 < 2 else rng.random(n) < 0.5
        frames = rng.integers(problem.frame_range[0], config.max_frames + 1, n)
        local = local_optimum(problem)
        yield problem, allocation_with_shares(problem, offload, frames, local.frequency), local


@pytest.mark.parametrize("name", CONFIGS)
def test_the_per_device_evaluation_gives_evaluate_allocations_floats(name):
    config = CONFIGS[name]
    for problem, allocation, local in random_allocations(config, seed=len(name)):
        offload, frames = allocation.offload.tolist(), allocation.frames.tolist()
        rate = problem.rate.tolist()
        cpu_weight = compute_weight(problem.macs).tolist()
        time_share, edge_frequency = device_edge_shares(
            config, problem.tx_weight.tolist(), cpu_weight, offload, frames, rate
        )
        # Theorem 2's shares as edge_shares computes them
        assert time_share == allocation.time_share.tolist()
        assert edge_frequency == allocation.edge_frequency.tolist()
        table = local_outcome_table(config, problem.macs, problem.accuracy, local.frequency)
        outcomes = evaluate_devices(
            config,
            problem.macs.tolist(),
            problem.accuracy.tolist(),
            offload,
            frames,
            rate,
            time_share,
            edge_frequency,
            table,
        )
        expected = evaluate_allocation(problem, allocation)
        fields = ("delay", "energy", "accuracy", "cost")
        for field, values in zip(fields, zip(*outcomes, strict=True), strict=True):
            assert list(values) == getattr(expected, field).tolist(), field
            assert numpy_sum(values) == np.add.reduce(getattr(expected, field)), field


def test_the_local_outcome_table_is_the_local_evaluation_of_every_frame_count():
    config = CONFIGS["balanced"]
    problem = JointOffloadProblem.sample(config, np.random.default_rng(3))
    n = problem.num_devices
    frequency = np.linspace(0.5, 1.0, n) * config.device_max_frequency  # one per device
    table = local_outcome_table(config, problem.macs, problem.accuracy, frequency)
    assert len(table) == n and all(len(row) == config.max_frames + 1 for row in table)
    same = local_outcome_table(config, problem.macs, problem.accuracy, np.full(n, frequency[0]))
    assert all(row is same[0] for row in same)  # one row for devices of one frequency
    for f in range(1, config.max_frames + 1):
        allocation = Allocation(
            offload=np.zeros(n, bool),
            frames=np.full(n, f),
            time_share=np.zeros(n),
            edge_frequency=np.zeros(n),
            local_frequency=frequency,
        )
        expected = evaluate_allocation(problem, allocation)
        for device in range(n):
            assert table[device][f] == (
                expected.delay[device],
                expected.energy[device],
                expected.accuracy[device],
                expected.cost[device],
            )


def test_instances_of_one_config_share_its_tables_read_only():
    config = JointOffloadConfig(num_devices=3)
    first = JointOffloadProblem.from_gains(config, [-90.0, -100.0, -110.0])
    second = JointOffloadProblem.from_gains(JointOffloadConfig(num_devices=3), [-95.0])
    built = JointOffloadProblem(config, np.array([-90.0]))  # computes its own tables
    for name in CONFIG_TABLES:
        assert getattr(first, name) is getattr(second, name)  # equal configs: one computation
        np.testing.assert_array_equal(getattr(first, name), getattr(built, name))
        table = getattr(first, name)
        if isinstance(table, np.ndarray):
            with pytest.raises(ValueError, match="read-only"):
                table[0] = 1
    with pytest.raises(TypeError):
        config_tables(config)["macs"] = np.zeros(3)  # the shared mapping cannot be rebound
    other = JointOffloadProblem.from_gains(JointOffloadConfig(num_devices=3, max_frames=20), [0.0])
    assert other.frame_range[-1] == 20 and first.frame_range[-1] != 20
