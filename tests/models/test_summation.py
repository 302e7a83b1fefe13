"""Ordered sums of Python floats against the numpy computations they stand for."""

from __future__ import annotations

import numpy as np

from mec_gym.models.summation import PAIRWISE_BLOCK, last_axis_sum, numpy_sum

LENGTHS = [*range(0, 2 * PAIRWISE_BLOCK + 20), 1000, 1025, 4099]


def spread_values(rng: np.random.Generator, n: int) -> np.ndarray:
    """Values over 16 orders of magnitude and both signs: sums whose order matters."""
    return rng.standard_normal(n) * 10.0 ** rng.integers(-8, 8, n)


def test_numpy_sum_is_what_add_reduce_gives_bit_for_bit():
    rng = np.random.default_rng(0)
    for n in LENGTHS:
        for _ in range(5):
            values = spread_values(rng, n)
            assert numpy_sum(values.tolist()) == np.add.reduce(values) == values.sum(), n
            rows = np.stack((values, values[::-1]))  # a row of a batch sums as one array
            assert numpy_sum(values[::-1].tolist()) == np.add.reduce(rows, axis=-1)[1], n
            assert numpy_sum(tuple(values.tolist())) == numpy_sum(values.tolist()), n


def test_numpy_sum_of_columns_is_the_sum_over_the_last_axis_bit_for_bit():
    rng = np.random.default_rng(1)
    for n in [*range(1, 40), 127, 128, 129, 300]:
        for shape in [(3,), (50, 7)]:
            values = spread_values(rng, int(np.prod(shape)) * n).reshape(*shape, n)
            columns = [values[..., c] for c in range(n)]
            assert np.array_equal(numpy_sum(columns), values.sum(axis=-1)), (n, shape)
            assert np.array_equal(last_axis_sum(values), values.sum(axis=-1)), (n, shape)


def test_the_pairwise_order_is_not_left_to_right():
    values = [1.0] + [1e-16] * 24  # left to right, every small term is lost against 1.0
    assert np.cumsum(values)[-1] == 1.0
    assert numpy_sum(values) == np.add.reduce(values) > 1.0


def test_the_empty_sum_is_zero_and_negative_zeros_sum_to_positive_zero():
    assert numpy_sum([]) == np.add.reduce(np.zeros(0)) == 0.0
    for n in (1, 7, 8, 25, 200):
        total = numpy_sum([-0.0] * n)
        assert total == 0.0 and np.signbit(total) == np.signbit(np.add.reduce(np.full(n, -0.0)))
