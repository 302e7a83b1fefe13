"""What the sequential environment adds to the one-period problem: carried fresh data, the
scalar fast path of the cost function, the upload airtime."""

from __future__ import annotations

import numpy as np
import pytest

from mec_gym.problems.bandwidth_split import (
    NUMPY_MATH,
    SCALAR_MATH,
    BandwidthSplitConfig,
    BandwidthSplitProblem,
    detection_map,
    split_outcome,
    subband_rate,
    upload_airtime,
)
from mec_gym.solvers.bandwidth_split import optimal_split

DEFAULT = BandwidthSplitConfig()
FIELDS = ("samples", "model_size", "upload_rate", "download_rate", "map")


def test_carried_samples_join_the_period_samples_in_the_staleness_term():
    p = BandwidthSplitProblem.from_gains(DEFAULT, [-90.0, -100.0], 800.0, 0.2, [0.0, 3000.0])
    np.testing.assert_array_equal(p.carried_samples, [0.0, 3000.0])
    outcome = p.evaluate(0.4)
    expected = detection_map(DEFAULT, p.carried_samples + outcome.samples, outcome.model_size)
    np.testing.assert_allclose(outcome.map, expected, rtol=1e-15)
    without = BandwidthSplitProblem.from_gains(DEFAULT, [-90.0, -100.0], 800.0, 0.2)
    np.testing.assert_array_equal(without.carried_samples, 0.0)
    np.testing.assert_array_equal(without.evaluate(0.4).map[0], outcome.map[0])
    assert outcome.map[1] > without.evaluate(0.4).map[1]
    with pytest.raises(ValueError, match="carried_samples"):
        BandwidthSplitProblem.from_gains(DEFAULT, -90.0, carried_samples=-1.0)


@pytest.mark.parametrize("carried", [0.0, 500.0, 20_000.0])
def test_the_optimum_accounts_for_the_carried_data(carried):
    p = BandwidthSplitProblem.from_gains(DEFAULT, [-85.0, -95.0, -105.0], 1000.0, None, carried)
    best = optimal_split(p)
    grid = np.linspace(0.0, 1.0, 4001)[:, None] * p.upload_limit
    assert np.all(best.map >= p.evaluate(grid).map.max(axis=0) - 1e-12)
    # more carried data makes data worth less: the optimum never uploads more
    more = BandwidthSplitProblem.from_gains(p.config, p.gain_db, 1000.0, None, carried + 1e4)
    assert np.all(optimal_split(more).upload_share <= best.upload_share + 1e-9)


def test_scalar_and_numpy_math_give_the_same_outcome_as_evaluate():
    rng = np.random.default_rng(0)
    gains = rng.uniform(-120.0, -70.0, 40)
    p = BandwidthSplitProblem.from_gains(
        DEFAULT, gains, rng.uniform(0, 3000, 40), rng.uniform(0.2, 0.4, 40), rng.uniform(0, 1e4, 40)
    )
    beta = rng.uniform(0.0, 1.0, 40)
    beta[:4] = [0.0, 1.0, 5e-324, 1e-300]
    reference = p.evaluate(beta)
    arrays = split_outcome(
        DEFAULT,
        p.upload_snr,
        p.download_snr,
        p.available_samples,
        p.fallback_map,
        beta,
        1.0 - beta,
        None,
        p.carried_samples,
        NUMPY_MATH,
    )
    for i in range(40):
        scalar = split_outcome(
            DEFAULT,
            *(float(v[i]) for v in (p.upload_snr, p.download_snr, p.available_samples)),
            float(p.fallback_map[i]),
            float(beta[i]),
            1.0 - float(beta[i]),
            None,
            float(p.carried_samples[i]),
            SCALAR_MATH,
        )
        for name in FIELDS:
            value = getattr(scalar, name)
            assert isinstance(value, float)
            assert value == pytest.approx(getattr(reference, name)[i], rel=1e-14, abs=1e-300)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(arrays, name), getattr(reference, name))


def test_rate_is_exactly_zero_at_zero_and_finite_at_vanishing_shares():
    assert subband_rate(0.0, 2e6, 1e4, SCALAR_MATH) == 0.0
    tiny = subband_rate(np.array([5e-324, 1e-300, 1e-250]), 2e6, 1e12)
    assert np.all(np.isfinite(tiny)) and np.all(tiny < 1e-230)


def test_upload_airtime_is_what_the_samples_take_at_the_rate():
    assert upload_airtime(DEFAULT, 0.0, 0.0) == 0.0
    p = BandwidthSplitProblem.from_gains(DEFAULT, -90.0, 1e9)
    outcome = p.evaluate(0.5)
    # no cap: the upload runs the whole period
    np.testing.assert_allclose(upload_airtime(DEFAULT, outcome.samples, outcome.upload_rate), 20.0)
    samples, rate = float(outcome.samples[0]), float(outcome.upload_rate[0])
    assert upload_airtime(DEFAULT, samples / 2, rate, SCALAR_MATH) == pytest.approx(10.0)
