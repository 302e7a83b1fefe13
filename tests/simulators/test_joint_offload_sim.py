"""The JointOffload simulator's walk helpers."""

from __future__ import annotations

import numpy as np
import pytest

from mec_gym.simulators.joint_offload import reflect_into


def test_reflect_into_folds_any_overshoot_back_into_the_interval():
    low, high = -750.0, 750.0
    values = np.array([0.0, 749.0, 751.0, -751.0, 2250.0, -2251.0, 3000.0 + 1e-9])
    expected = np.array([0.0, 749.0, 749.0, -749.0, -750.0, 749.0, 1e-9])
    np.testing.assert_allclose(reflect_into(values, low, high), expected, atol=1e-6)
    assert reflect_into(5.0, 0.0, 3.0) == 1.0  # scalars too
    assert reflect_into(np.float64(-4.0), 0.0, 3.0) == 2.0


@pytest.mark.parametrize("within_a_period", [False, True])
@pytest.mark.parametrize(("low", "high"), [(-750.0, 750.0), (0.0, 300.0), (-0.1, 0.2)])
def test_reflect_into_gives_the_floats_of_numpys_mod(low, high, within_a_period):
    """The same floats as folding with ``np.mod`` (what it computed before, at a fraction of
    the cost): negative values, exact multiples of the period and signed zeros included, with
    values of any size (the fmod) or all within a period of ``low`` (no fmod needed)."""
    rng = np.random.default_rng(0)
    values = rng.standard_normal(20_000) * 10.0 ** rng.integers(-3, 7, 20_000)
    period = 2.0 * (high - low)
    values[::5] = np.round(values[::5] / period) * period + low  # exact multiples
    values[:3] = -0.0, 0.0, low
    if within_a_period:  # |values - low| < period: fmod would return them as they are
        values = values[np.abs(values - low) < period]
        assert values.size > 5_000 and np.any(values - low == 0.0)
    width = high - low
    expected = low + width - np.abs(width - np.mod(values - low, period))
    got = reflect_into(values, low, high)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))
