"""The bandwidth split system: config validation, physics and the one cost function."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mec_gym.models.channel import shannon_rate
from mec_gym.problems.bandwidth_split import (
    BandwidthSplitConfig,
    BandwidthSplitProblem,
    bisect_threshold,
    channel_gain_db,
    detection_map,
    detection_map_gradient,
    share_for_rate,
    subband_rate,
    subband_rate_slope,
)

DEFAULT = BandwidthSplitConfig()
SNRS = np.array([1e-9, 1e-3, 0.5, 1.0, 1e3, 1e9])
EXTREME = [
    {"bandwidth_hz": 1.0},
    {"bandwidth_hz": 1e3},
    {"bandwidth_hz": 1e12},
    {"distance_m": 1e7},
    {"mean_available_samples": 0.0},
    {"map_b": 0.0, "map_c": 0.0},
]
"""Extreme but valid configs: tiny and huge bands, a huge distance, no data, constant mAP."""


def problem(config: BandwidthSplitConfig = DEFAULT, **kwargs) -> BandwidthSplitProblem:
    return BandwidthSplitProblem.from_distances(config, **kwargs)


# ------------------------------------------------------------------------------------ config
def test_defaults_are_the_spec_table():
    c = DEFAULT
    assert (c.period_s, c.sample_bits, c.mean_available_samples) == (20, 1e6, 1000)
    assert (c.bandwidth_hz, c.upload_power_w, c.download_power_w) == (2e6, 0.2, 1.0)
    assert (c.distance_m, c.path_loss_intercept_db, c.path_loss_slope_db) == (100, 128.1, 37.6)
    assert c.noise_dbm_per_hz == -174
    assert (c.min_model_size, c.max_model_size, c.bits_per_param) == (3.2, 68.2, 16)
    assert c.model_sizes == (3.2, 11.2, 25.9, 43.7, 68.2)
    assert (c.map_a, c.map_b, c.map_g) == (0.779, 0.501, 0.179)
    assert (c.map_c, c.map_n0, c.map_alpha) == (0.10, 100, 0.5)
    assert BandwidthSplitConfig.from_dict(c.to_dict()) == c
    assert c.replace(bandwidth_hz=5e6).bandwidth_hz == 5e6


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("period_s", 0.0),
        ("sample_bits", -1.0),
        ("bandwidth_hz", float("nan")),
        ("upload_power_w", 0.0),
        ("download_power_w", float("inf")),
        ("distance_m", -5.0),
        ("mean_available_samples", -1.0),
        ("noise_dbm_per_hz", 10.0),
        ("path_loss_slope_db", 0.0),
        ("bits_per_param", True),
        ("min_model_size", 0.0),
        ("max_model_size", 3.0),
        ("model_sizes", (3.2, 3.2, 68.2)),
        ("model_sizes", (1.0, 68.2)),
        ("model_sizes", ()),
        ("map_a", 1.5),
        ("map_b", -0.1),
        ("map_g", 0.0),
        ("map_c", 0.4),
        ("map_n0", 0.0),
        ("map_alpha", -0.5),
    ],
)
def test_a_bad_value_names_the_field(field, value):
    with pytest.raises(ValueError, match=rf"BandwidthSplitConfig\.{field}\b"):
        BandwidthSplitConfig(**{field: value})


def test_unknown_fields_are_rejected_with_the_valid_ones():
    with pytest.raises(ValueError, match="bandwidth_hz"):
        BandwidthSplitConfig.from_dict({"bandwith_hz": 1e6})


# ----------------------------------------------------------------------- physics by hand
def test_formulas_at_the_defaults_by_hand():
    p = problem()
    assert p.gain_db == pytest.approx([-90.5])  # 128.1 + 37.6 log10(0.1 km)
    noise = 10 ** ((-174 - 30) / 10) * 2e6  # W over the band
    gain = 10 ** (-90.5 / 10)
    snr_u, snr_d = 0.2 * gain / noise, 1.0 * gain / noise
    assert p.upload_snr == pytest.approx([snr_u], rel=1e-12)
    assert p.download_snr == pytest.approx([snr_d], rel=1e-12)
    assert snr_u == pytest.approx(22387.2, rel=1e-5)
    rate_u = 1e6 * math.log2(1 + snr_u / 0.5)  # half the band each way
    rate_d = 1e6 * math.log2(1 + snr_d / 0.5)
    outcome = p.evaluate(0.5)
    assert outcome.upload_rate == pytest.approx([rate_u], rel=1e-12)
    assert outcome.download_rate == pytest.approx([rate_d], rel=1e-12)
    n = min(1000, 20 * rate_u / 1e6)
    m = min(68.2, 20 * rate_d / 16e6)
    assert outcome.samples == pytest.approx([n], rel=1e-12)
    assert outcome.model_size == pytest.approx([m], rel=1e-12)
    expected = 0.779 - 0.501 * m**-0.179 - 0.10 * (1 + n / 100) ** -0.5
    assert outcome.map == pytest.approx([expected], rel=1e-12)
    # whole band: 578 samples up or a 41.9 M-parameter model down in a period
    assert p.upload_capacity(1.0) == pytest.approx([578.018], rel=1e-5)
    assert p.download_capacity(1.0) == pytest.approx([41.9308], rel=1e-5)


def test_the_rate_is_the_shannon_rate_of_the_sub_band():
    p = problem(distance_m=np.array([20.0, 100.0, 700.0]))
    noise = DEFAULT.noise_w_per_hz
    gain = 10 ** (p.gain_db / 10)
    for share in (0.01, 0.3, 1.0):
        bandwidth = share * DEFAULT.bandwidth_hz
        expected = shannon_rate(bandwidth, DEFAULT.upload_power_w, gain, noise)
        np.testing.assert_allclose(p.upload_rate(share), expected, rtol=1e-12)


def test_channel_gain_adds_shadowing():
    gains = channel_gain_db(DEFAULT, np.array([100.0, 1000.0]), np.array([3.0, -2.0]))
    np.testing.assert_allclose(gains, [-90.5 + 3.0, -128.1 - 2.0])


def test_map_reproduces_the_yolov8_fit_and_its_gradient():
    # a - b M^-g with unlimited fresh data vs YOLOv8 n/s/m/l/x COCO mAP50-95
    coco = np.array([37.3, 44.9, 50.2, 52.9, 53.9]) / 100
    fitted = detection_map(DEFAULT, np.inf, np.array(DEFAULT.model_sizes))
    np.testing.assert_allclose(fitted, coco, atol=0.006)
    by_hand = 0.779 - 0.501 * 3.2**-0.179 - 0.1 * 2**-0.5
    assert detection_map(DEFAULT, 100.0, 3.2) == pytest.approx(by_hand, rel=1e-14)
    n, m, h = np.array([0.0, 50.0, 3000.0]), np.array([3.2, 20.0, 68.2]), 1e-5
    per_sample, per_param = detection_map_gradient(DEFAULT, n, m)
    fd_n = (detection_map(DEFAULT, n + h, m) - detection_map(DEFAULT, n - h * (n > 0), m)) / (
        h * (1 + (n > 0))
    )
    fd_m = (detection_map(DEFAULT, n, m + h) - detection_map(DEFAULT, n, m - h)) / (2 * h)
    np.testing.assert_allclose(per_sample, fd_n, rtol=1e-4)
    np.testing.assert_allclose(per_param, fd_m, rtol=1e-6)


# ----------------------------------------------------------------------------------- rates
def test_rates_are_zero_at_zero_increasing_and_concave():
    shares = np.linspace(0.0, 1.0, 401)[:, None]
    rates = subband_rate(shares, 1.0, SNRS)
    np.testing.assert_array_equal(rates[0], 0.0)
    assert np.all(np.diff(rates, axis=0) > 0)
    second = np.diff(rates, 2, axis=0)
    assert np.all(second <= 1e-12 * rates.max(axis=0))
    assert np.all(subband_rate_slope(0.0, 1.0, SNRS) == np.inf)


def test_rate_slope_is_the_derivative_even_at_low_snr():
    shares = np.array([1e-4, 0.05, 0.3, 0.9])[:, None]
    h, snrs = 1e-7 * shares, SNRS[1:]  # differences of rates ~1e-9 are all rounding
    fd = (subband_rate(shares + h, 1.0, snrs) - subband_rate(shares - h, 1.0, snrs)) / (2 * h)
    np.testing.assert_allclose(subband_rate_slope(shares, 1.0, snrs), fd, rtol=1e-5)
    slope = subband_rate_slope(shares, 1.0, SNRS)
    assert np.all(np.diff(slope, axis=0) < 0)  # decreasing: the rate is strictly concave
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    for share, snr in [(0.5, 1e-12), (0.3, 1e-4), (0.2, 0.03), (1e-6, 1e5)]:
        x = mpmath.mpf(snr) / mpmath.mpf(share)
        exact = (mpmath.log1p(x) - x / (1 + x)) / mpmath.log(2)
        assert float(subband_rate_slope(share, 1.0, snr)) == pytest.approx(float(exact), rel=1e-13)


def test_share_for_rate_is_the_smallest_share_reaching_the_rate():
    snr = np.array([1e-3, 1.0, 1e4, 1e4, 5.0])
    target = np.array([1e-4, 0.7, 3.0, 0.0, 1e9])
    share = share_for_rate(target, 1.0, snr)
    ok = np.isfinite(share)
    np.testing.assert_array_equal(ok, [True, True, True, True, False])
    assert share[3] == 0.0
    assert np.all(subband_rate(share[ok], 1.0, snr[ok]) >= target[ok])
    below = np.nextafter(share[:3], 0.0)
    assert np.all(subband_rate(below, 1.0, snr[:3]) < target[:3])


def test_bisect_threshold_brackets_each_threshold_to_adjacent_floats():
    threshold = np.array([0.0, 1e-9, 0.25, 0.999])
    lo, hi = bisect_threshold(lambda x: x < threshold, np.zeros(4), np.ones(4), 2000)
    assert np.all(lo <= threshold) and np.all(threshold <= hi)
    np.testing.assert_array_equal(hi[1:], np.nextafter(lo[1:], 1.0))


# ---------------------------------------------------------------------------- the instance
def test_from_gains_checks_and_broadcasts():
    p = BandwidthSplitProblem.from_gains(DEFAULT, [-80.0, -90.0, -100.0], 500)
    assert p.num_instances == 3
    np.testing.assert_array_equal(p.available_samples, [500, 500, 500])
    np.testing.assert_allclose(p.fallback_map, detection_map(DEFAULT, 0.0, 3.2))
    with pytest.raises(ValueError, match="gain_db"):
        BandwidthSplitProblem.from_gains(DEFAULT, [np.nan])
    with pytest.raises(ValueError, match="available_samples"):
        BandwidthSplitProblem.from_gains(DEFAULT, [-90.0], -1)
    with pytest.raises(ValueError, match="underflows"):
        BandwidthSplitProblem.from_gains(DEFAULT, [-4000.0])
    with pytest.raises(ValueError, match="distance_m"):
        problem(distance_m=0.0)
    with pytest.raises(ValueError):
        BandwidthSplitProblem.from_gains(DEFAULT, [-80.0, -90.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="beta"):
        p.evaluate(1.2)
    with pytest.raises(ValueError, match="download_share"):
        p.evaluate(0.5, np.nan)
    with pytest.raises(ValueError, match="model_size"):
        p.evaluate(0.5, model_size=100.0)


def test_caps_and_the_model_floor():
    p = problem(
        config=DEFAULT.replace(bandwidth_hz=10e6), distance_m=np.array([100.0, 100.0, 300.0])
    )
    p = BandwidthSplitProblem.from_gains(p.config, p.gain_db, [500.0, 1e6, 1000.0])
    up = p.full_data_upload_share
    assert np.isfinite(up[0]) and up[1] == np.inf  # a million samples never fit
    full = p.evaluate(0.999, 0.999)
    np.testing.assert_array_equal(full.samples[0], 500.0)
    np.testing.assert_array_equal(full.model_size[:2], 68.2)
    # the upload limit leaves the download exactly enough for M_min, one step more does not
    limit = p.upload_limit
    assert np.all(1.0 - limit >= p.min_download_share)
    at_limit = p.evaluate(limit)
    np.testing.assert_allclose(at_limit.model_size, 3.2, rtol=1e-12)
    beyond = p.evaluate(limit + 1e-6)
    np.testing.assert_array_equal(beyond.model_size, 0.0)
    np.testing.assert_array_equal(beyond.map, p.fallback_map)
    # a requested size: delivered if the download carries it, else the fallback
    asked = p.evaluate(0.5, model_size=np.array([11.2, 68.2, 68.2]))
    fits = p.download_capacity(0.5) >= np.array([11.2, 68.2, 68.2])
    np.testing.assert_array_equal(asked.model_delivered, fits)
    assert not fits.all() and fits.any()
    np.testing.assert_array_equal(asked.map[~fits], p.fallback_map[~fits])


def test_a_custom_fallback_is_the_map_without_a_model():
    p = problem(distance_m=np.array([100.0, 1e5]), fallback_map=0.5)
    assert not p.model_deliverable[1] and p.model_deliverable[0]
    np.testing.assert_array_equal(p.upload_limit[1], 1.0)
    assert p.evaluate(0.3).map[1] == 0.5


@pytest.mark.parametrize(
    "overrides",
    [{}, {"bandwidth_hz": 0.5e6}, {"bandwidth_hz": 10e6}, {"mean_available_samples": 5000.0}],
)
def test_the_map_is_concave_in_beta_where_a_model_arrives(overrides):
    p = problem(config=DEFAULT.replace(**overrides), distance_m=np.array([30.0, 150.0, 400.0]))
    beta = np.linspace(0.0, 1.0, 2001)[:, None] * p.upload_limit
    values = p.evaluate(beta).map
    assert np.all(p.evaluate(beta).model_delivered)
    assert np.all(np.diff(values, 2, axis=0) <= 1e-13)


def test_evaluate_broadcasts_a_grid_of_shares():
    p = problem(distance_m=np.array([50.0, 200.0]))
    grid = np.array([[0.1, 0.2], [0.5, 0.7]])
    together = p.evaluate(grid)
    for row in range(2):
        alone = p.evaluate(grid[row])
        np.testing.assert_array_equal(together.map[row], alone.map)
        np.testing.assert_array_equal(together.samples[row], alone.samples)


@pytest.mark.parametrize("overrides", EXTREME)
def test_no_nan_at_extreme_but_valid_configs(overrides):
    p = problem(config=DEFAULT.replace(**overrides), distance_m=np.array([1.0, 100.0, 1e6]))
    shares = np.array([0.0, 5e-324, 1e-300, 1e-9, 0.5, 1.0])[:, None]
    outcome = p.evaluate(shares)
    for name in ("samples", "model_size", "upload_rate", "download_rate", "map"):
        assert np.all(np.isfinite(getattr(outcome, name))), name
    assert np.all(np.isfinite(p.upload_limit))
    for share in (5e-324, 1e-9, 0.5, 1.0):
        assert not np.isnan(p.upload_slope(share)).any()
        assert not np.isnan(p.download_slope(share)).any()
