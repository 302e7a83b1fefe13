"""Channel, arrival, queueing and accuracy models."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mec_gym.models.accuracy import AccuracyModel
from mec_gym.models.arrivals import mmpp_arrival_times, poisson_arrival_times
from mec_gym.models.channel import (
    LISTED_SEGMENT_BLOCKS,
    BlockFadingUplinks,
    ar1_shadowing_db,
    db_to_linear,
    dbm_to_watt,
    linear_to_db,
    path_loss_db,
    shannon_rate,
    snr_rate,
)
from mec_gym.models.data_drift import log_likelihood, move_toward, move_toward_each_slot
from mec_gym.models.layered_inference import candidate_boundaries, offload_upload_start
from mec_gym.models.queueing import FifoServer


def test_db_conversions_and_path_loss():
    assert db_to_linear(10.0) == pytest.approx(10.0)
    assert linear_to_db(100.0) == pytest.approx(20.0)
    assert dbm_to_watt(30.0) == pytest.approx(1.0)
    assert path_loss_db(1000.0) == pytest.approx(128.1)
    assert path_loss_db(100.0) == pytest.approx(128.1 - 37.6)


def test_shannon_rate_matches_formula_and_is_zero_without_bandwidth():
    rate = shannon_rate(np.array([1e6, 0.0]), 1.0, 1e-10, 1e-18)
    assert rate[0] == pytest.approx(1e6 * np.log2(1 + 1e-10 / 1e-12))
    assert rate[1] == 0.0


def test_ar1_shadowing_statistics():
    values = ar1_shadowing_db(np.random.default_rng(0), 200_000, 4.0, 0.01, 1.0)
    assert values.std() == pytest.approx(4.0, rel=0.05)
    lag = 100  # 1 s at 10 ms blocks
    assert np.corrcoef(values[:-lag], values[lag:])[0, 1] == pytest.approx(np.exp(-1), abs=0.05)


def ar1_recursion(innovations: list[float], initial: float, rho: float) -> list[float]:
    """x_t = rho x_(t-1) + e_t written out, from x_(-1) = ``initial`` (dB)."""
    values, previous = [], initial
    for innovation in innovations:
        previous = innovation + rho * previous
        values.append(previous)
    return values


def test_ar1_shadowing_is_the_written_out_recursion_of_its_draws():
    std, block, correlation = 4.0, 0.01, 0.5
    rho = float(np.exp(-block / correlation))
    scale = std * np.sqrt(1.0 - rho * rho)
    draws = np.random.default_rng(6)
    innovations = draws.normal(0.0, scale, 300)  # the draws, in the model's order
    initial = draws.normal(0.0, std)
    values = ar1_shadowing_db(np.random.default_rng(6), 300, std, block, correlation)
    expected = ar1_recursion(innovations.tolist(), initial, rho)
    np.testing.assert_array_equal(values, expected)
    # continued from a given value: the innovations only
    more = ar1_shadowing_db(np.random.default_rng(7), 50, std, block, correlation, -3.0)
    innovations = np.random.default_rng(7).normal(0.0, scale, 50).tolist()
    np.testing.assert_array_equal(more, ar1_recursion(innovations, -3.0, rho))


@pytest.mark.parametrize("std_db", [4.0, 0.0])
def test_uplink_trace_is_the_formula_of_its_draws_across_segments_and_chunks(std_db):
    """Rates and delivered bits listed a segment at a time across several chunks equal the
    model computed on the whole trace at once: fading of every device, then per device its
    shadowing draws, chunk after chunk."""
    devices, chunk, chunks, block = 3, 2 * LISTED_SEGMENT_BLOCKS + 40, 3, 0.01
    uplinks = BlockFadingUplinks(
        np.random.default_rng(8), devices, 1e6, 10.0, block, std_db, 0.5, chunk
    )
    blocks = chunk * chunks
    times = [block * (b + 0.5) for b in range(blocks)]  # mid-block: block b by any rounding
    rates = [[uplinks.rate(d, t) for t in times] for d in range(devices)]
    sent = [[uplinks.delivered_bits(d, t) for t in times] for d in range(devices)]
    draws = np.random.default_rng(8)
    rho = float(np.exp(-block / 0.5))
    fading, shadowing, last = [], [], [None] * devices
    for _ in range(chunks):
        fading.append(draws.exponential(1.0, (devices, chunk)))
        rows = []
        for d in range(devices):
            if std_db == 0.0:
                rows.append([0.0] * chunk)
                continue
            innovations = draws.normal(0.0, std_db * np.sqrt(1.0 - rho * rho), chunk).tolist()
            if last[d] is None:
                last[d] = draws.normal(0.0, std_db)
            rows.append(ar1_recursion(innovations, last[d], rho))
            last[d] = rows[-1][-1]
        shadowing.append(rows)
    snr = 10.0 * db_to_linear(np.concatenate(shadowing, axis=1)) * np.concatenate(fading, axis=1)
    expected = snr_rate(1e6, snr)
    # the same floats: each chunk's bits are its running sum plus the bits before it
    np.testing.assert_array_equal(rates, expected)
    chunk_bits = np.cumsum(expected.reshape(devices, chunks, chunk) * block, axis=2)
    for c in range(1, chunks):
        chunk_bits[:, c] += chunk_bits[:, c - 1, -1:]
    start_bits = np.concatenate((np.zeros((devices, 1)), chunk_bits.reshape(devices, -1)), 1)
    since_start = np.array(times) - np.arange(blocks) * block  # time into each block, s
    np.testing.assert_array_equal(sent, start_bits[:, :blocks] + expected * since_start)
    assert uplinks.blocks_drawn == blocks
    for query in (uplinks.rate, uplinks.delivered_bits):
        for time_s in (-2 * block, -0.5 * block):
            with pytest.raises(ValueError, match="starts at 0 s"):
                query(0, time_s)
    for bits in (1e3, 0.0):
        with pytest.raises(ValueError, match="starts at 0 s"):
            uplinks.finish_time(0, -0.5 * block, bits)
    assert uplinks.rate(0, -0.0) == expected[0, 0]


@pytest.mark.parametrize("std_db", [-1.0, float("nan")])
def test_shadowing_refuses_a_negative_or_nan_deviation(std_db):
    with pytest.raises(ValueError, match="standard deviation must be >= 0"):
        ar1_shadowing_db(np.random.default_rng(0), 5, std_db, 0.01, 1.0)
    with pytest.raises(ValueError, match="standard deviation must be >= 0"):
        BlockFadingUplinks(np.random.default_rng(0), 2, 1e6, 10.0, 0.01, std_db, 1.0)


def test_uplink_transmission_delivers_exactly_the_bits():
    uplinks = BlockFadingUplinks(np.random.default_rng(1), 2, 1e6, 10.0, 0.01, 4.0, 1.0, 64)
    for start, bits in [(0.0, 1e5), (0.123, 2e6), (3.3, 5e6)]:  # 2nd/3rd extend the trace
        end = uplinks.finish_time(1, start, bits)
        assert end > start
        sent = uplinks.delivered_bits(1, end) - uplinks.delivered_bits(1, start)
        assert sent == pytest.approx(bits, rel=1e-9)
    assert uplinks.finish_time(0, 1.0, 0.0) == 1.0


def test_uplink_trace_does_not_depend_on_query_order():
    a = BlockFadingUplinks(np.random.default_rng(2), 1, 1e6, 10.0, 0.01, 4.0, 1.0, 32)
    b = BlockFadingUplinks(np.random.default_rng(2), 1, 1e6, 10.0, 0.01, 4.0, 1.0, 32)
    late = a.rate(0, 5.0)
    early = a.rate(0, 0.05)
    assert b.rate(0, 0.05) == early and b.rate(0, 5.0) == late


def test_uplink_trace_is_drawn_only_as_far_as_needed():
    """The trace grows by whole chunks up to the block queried and keeps what it drew: a far
    query draws the chunks before it once, earlier blocks keep their rates."""
    uplinks = BlockFadingUplinks(np.random.default_rng(4), 2, 1e6, 10.0, 0.01, 4.0, 1.0, 16)
    assert uplinks.blocks_drawn == 16
    first = [uplinks.rate(1, 0.01 * block) for block in range(16)]
    uplinks.rate(0, 0.01 * 1000 + 0.005)  # block 1000: chunks up to 1008 blocks
    assert uplinks.blocks_drawn == 1008
    assert [uplinks.rate(1, 0.01 * block) for block in range(16)] == first
    end = uplinks.finish_time(0, 10.0, 1e9)  # a long upload draws the blocks it needs
    assert uplinks.blocks_drawn * 0.01 >= end > 10.0
    assert uplinks.blocks_drawn * 0.01 - end < 0.16 + 1e-9  # at most one chunk beyond


def test_uplink_trace_refuses_to_grow_past_its_limit():
    uplinks = BlockFadingUplinks(
        np.random.default_rng(5), 1, 1e6, 10.0, 0.01, 4.0, 1.0, 16, max_blocks=64
    )
    assert uplinks.rate(0, 0.63) > 0  # block 63: the fourth chunk, at the limit
    with pytest.raises(RuntimeError, match="64 blocks"):
        uplinks.rate(0, 0.64)
    with pytest.raises(RuntimeError, match="beyond the horizon"):
        uplinks.finish_time(0, 0.0, 1e12)


def test_poisson_and_mmpp_rates():
    rng = np.random.default_rng(3)
    times = poisson_arrival_times(rng, 4.0, 40_000)
    assert np.all(np.diff(times) > 0)
    assert 40_000 / times[-1] == pytest.approx(4.0, rel=0.03)
    arrivals, switches, _ = mmpp_arrival_times(rng, (2.0, 20.0), 2.0, 0.0, 20_000.0, 0)
    assert np.all(np.diff(arrivals) >= 0) and arrivals.min() >= 0 and arrivals.max() < 20_000
    assert len(arrivals) / 20_000 == pytest.approx(11.0, rel=0.05)
    assert len(switches) / 20_000 == pytest.approx(0.5, rel=0.05)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 5.0)), min_size=1, max_size=30),
    st.floats(0.0, 2.0),
)
def test_fifo_backlog_without_an_arrival_equals_a_server_that_never_saw_it(jobs, extra):
    gaps = np.array([g for g, _ in jobs])
    times = np.cumsum(gaps)
    work = [w for _, w in jobs]
    full = FifoServer(speed=2.0)
    for t, w in zip(times, work, strict=True):
        full.arrive(float(t), w)
    query = float(times[-1] + extra)
    for excluded in range(len(jobs)):
        reduced = FifoServer(speed=2.0)
        for j, (t, w) in enumerate(zip(times, work, strict=True)):
            if j != excluded:
                reduced.arrive(float(t), w)
        reduced.advance(query)
        assert full.backlog_without(query, excluded) == pytest.approx(reduced.backlog, abs=1e-9)
    full.advance(query)
    assert full.backlog_without(query) == pytest.approx(full.backlog, abs=1e-9)


def test_fifo_waiting_time_and_draining():
    server = FifoServer(speed=10.0)
    assert server.arrive(0.0, 20.0) == (0, 0.0)
    assert server.arrive(1.0, 5.0) == (1, pytest.approx(1.0))  # 10 left of the first job
    server.advance(10.0)
    assert server.backlog == 0.0


def test_weighted_cost():
    from mec_gym.models.utility import weighted_cost

    assert weighted_cost(2.0, 3.0, 0.5, 0.2, 0.1, 0.6) == pytest.approx(0.4 + 0.3 - 0.3)


@pytest.mark.parametrize("form", ["exponential", "power", "reciprocal"])
def test_accuracy_models_are_monotone_with_an_exact_inverse(form):
    model = AccuracyModel(0.93, 0.332, 0.405, form)
    x = np.arange(1, 33, dtype=float)
    values = model(x)
    assert np.all(np.diff(values) > 0) and np.all(values < 0.93)
    np.testing.assert_allclose(model.inverse(values), x, rtol=1e-9)
    assert model.inverse(0.95) == np.inf
    need = model.min_input(0.85)
    assert model(need) >= 0.85 and (need == 1 or model(need - 1) < 0.85)


def test_accuracy_model_validation():
    with pytest.raises(ValueError, match="form"):
        AccuracyModel(0.9, 0.3, 0.4, "cubic")
    with pytest.raises(ValueError, match="a2"):
        AccuracyModel(0.9, -0.3, 0.4)


def test_candidate_boundaries_necessary_condition():
    sizes = np.array([100.0, 50.0, 60.0, 40.0, 40.0, 10.0])
    assert candidate_boundaries(sizes, 5, 1.0, 10.0).tolist() == [0, 1, 3, 5]
    assert candidate_boundaries(sizes, 5, 10.0, 1.0).tolist() == [0, 1, 2, 3, 4, 5]


def test_offload_upload_start_cases():
    assert offload_upload_start(reached_s=2.0, decided_s=1.5, local_finish_s=3.0) == 2.0
    assert offload_upload_start(reached_s=1.0, decided_s=1.5, local_finish_s=3.0) == 1.5
    assert offload_upload_start(reached_s=1.0, decided_s=3.5, local_finish_s=3.0) is None


def test_moving_toward_slot_after_slot_is_the_one_slot_update_in_turn():
    rng = np.random.default_rng(3)
    q = rng.dirichlet(np.ones(4), size=(2, 6, 3))  # (envs, slots, MUs, classes)
    bits = rng.uniform(0.0, 2e5, (2, 6, 3))
    bits[:, :, 0] = 0.0  # a MU not retrained keeps its model exactly
    q_model = rng.dirichlet(np.ones(4), size=(2, 3))
    models = move_toward_each_slot(q_model, q, bits, 1e5)
    assert models.shape == q.shape
    current = q_model
    for t in range(6):
        current = move_toward(current, q[:, t], bits[:, t], 1e5)
        np.testing.assert_array_equal(models[:, t], current)
    np.testing.assert_array_equal(models[:, :, 0], np.broadcast_to(q_model[:, None, 0], (2, 6, 4)))
    np.testing.assert_allclose(models.sum(axis=-1), 1.0)


def test_log_likelihood_of_a_row_does_not_depend_on_the_other_rows():
    """A row is summed the same way whether or not another row of the array has a zero class."""
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(12), size=20)
    q = rng.dirichlet(np.ones(12), size=20)
    sparse = q.copy()
    sparse[0, 3] = 0.0
    together = log_likelihood(p, sparse)
    assert together[0] == -np.inf
    for row in range(1, 20):
        assert together[row] == log_likelihood(p[row], q[row])
    p[0, 3] = 0.0  # 0 log 0 = 0
    assert np.isfinite(log_likelihood(p, sparse)[0])
