"""BandwidthSplit-v0 / BandwidthSplitMulti-v0: config, dynamics, action and observation maps,
and the native vector env against the scalar env."""

from __future__ import annotations

import copy
import math
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import mec_gym  # noqa: F401
from mec_gym.compiled import compiled_envs
from mec_gym.envs import bandwidth_split_vector
from mec_gym.envs.bandwidth_split import BandwidthSplitEnv, PeriodValues
from mec_gym.envs.bandwidth_split_vector import BandwidthSplitVectorEnv
from mec_gym.models.channel import ar1_shadowing_batch, ar1_shadowing_db
from mec_gym.problems.bandwidth_split import BandwidthSplitProblem, detection_map
from mec_gym.simulators.bandwidth_split import (
    BandwidthSplitEnvConfig,
    PeriodTrace,
    RandomPeriods,
)
from mec_gym.simulators.joint_offload import reflect_into
from mec_gym.solvers.bandwidth_split import optimal_split
from tests.envs.vector_steps import assert_steps_alike

SHORT = {"periods_per_episode": 5}

# The scalar env computes log1p and powers with Python floats (the math module), its vector env
# with numpy. Where numpy's kernels are libm's they agree bit for bit; where numpy uses its own
# SIMD versions (CPUs with AVX-512), some results differ in the last bit.
_PROBE = np.random.default_rng(0).uniform(1e-3, 1e3, 4000)
NUMPY_IS_LIBM = np.array_equal(
    np.log1p(_PROBE), [math.log1p(x) for x in _PROBE.tolist()]
) and np.array_equal(_PROBE**-0.179, [x**-0.179 for x in _PROBE.tolist()])


def assert_same(vector_value, scalar_value, exact: bool = False) -> None:
    """The vector env's value equals the scalar env's: bit for bit where numpy's log1p and power
    are libm's (or ``exact``: the compiled step, which calls libm's), else to a few units in the
    last place (of float32 for observations)."""
    if NUMPY_IS_LIBM or exact:
        np.testing.assert_array_equal(vector_value, scalar_value)
    else:
        rtol = 1e-6 if np.asarray(scalar_value).dtype == np.float32 else 1e-12
        np.testing.assert_allclose(vector_value, scalar_value, rtol=rtol, atol=0)


def make(env_id: str = "BandwidthSplit-v0", **kwargs) -> BandwidthSplitEnv:
    return gym.make(env_id, **kwargs).unwrapped


# ------------------------------------------------------------------------------------ config
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_devices", 0),
        ("num_devices", 1.5),
        ("periods_per_episode", 0),
        ("min_distance_m", 0.0),
        ("max_distance_m", 10.0),
        ("device_speed_mps", -1.0),
        ("shadowing_std_db", -0.1),
        ("shadowing_std_db", 31.0),  # beyond MAX_SHADOWING_STD_DB
        ("shadowing_correlation_s", 0.0),
        ("freshness_decay", 1.0),
        ("freshness_decay", -0.1),
        ("model_size", "huge"),
    ],
)
def test_a_bad_value_names_the_field_and_its_range(field, value):
    with pytest.raises(ValueError, match=f"BandwidthSplitEnvConfig.{field} must be"):
        BandwidthSplitEnvConfig(**{field: value})


def test_registered_ids_and_defaults():
    single, multi = make(), make("BandwidthSplitMulti-v0")
    assert single.config.num_devices == 1 and multi.config.num_devices == 4
    assert single.config.periods_per_episode == 50 and single.config.model_size == "auto"
    assert single.metadata["evaluation"]["score"] == "map"
    assert single.metadata["evaluation"]["higher_is_better"]
    assert gym.spec("BandwidthSplit-v0").vector_entry_point is not None


# ---------------------------------------------------------------------------------- dynamics
def test_reward_is_the_problems_evaluate_on_the_observed_instance():
    env = make()
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        exact, rebuilt = env.problem, env.problem_from_observation(obs)
        beta = rng.uniform()
        obs, reward, _, _, info = env.step(np.array([beta], np.float32))
        beta = float(np.float32(beta))
        assert reward == pytest.approx(float(exact.evaluate(beta).map[0]), rel=1e-13)
        assert reward == pytest.approx(float(rebuilt.evaluate(beta).map[0]), rel=1e-5)
        assert info["period_map"] == reward and info["period"] == env.period


def test_fresh_data_and_the_held_model_carry_over_and_decay():
    env = make(freshness_decay=0.7)
    env.reset(seed=1)
    rho = 0.7
    for beta in (0.3, 1.0, 0.6, 1.0, 1.0):  # beta = 1: no model arrives, the device keeps its own
        before = env.state.devices
        problem = env.problem
        outcome = problem.evaluate(beta)
        env.step([beta])
        after = env.state.devices
        n_eff = before.fresh_data + float(outcome.samples[0])
        assert after.fresh_data == pytest.approx(rho * n_eff, rel=1e-13)
        if beta < 1.0:
            assert after.held_size == pytest.approx(float(outcome.model_size[0]), rel=1e-13)
            assert after.held_credit == pytest.approx(rho * n_eff, rel=1e-13)
        else:
            assert float(outcome.model_size[0]) == 0.0
            assert after.held_size == before.held_size
            assert after.held_credit == pytest.approx(rho * before.held_credit, rel=1e-13)
            assert env.map_history[-1] == pytest.approx(before.device_map, rel=1e-13)
        expected = float(detection_map(env.config, after.held_credit, after.held_size))
        assert after.device_map == pytest.approx(expected, rel=1e-13)
        assert float(env.problem.fallback_map[0]) == pytest.approx(after.device_map, rel=1e-13)
        assert float(env.problem.carried_samples[0]) == pytest.approx(after.fresh_data, rel=1e-13)


def test_without_drift_every_period_is_the_one_period_problem():
    env = make(freshness_decay=0.0)
    env.reset(seed=5)
    cfg = env.config
    first = env.problem
    one_period = BandwidthSplitProblem.from_gains(
        cfg, first.gain_db, first.available_samples
    )  # default fallback mAP(0, M_min), no carried data
    np.testing.assert_array_equal(first.fallback_map, one_period.fallback_map)
    for _ in range(cfg.periods_per_episode):
        problem = env.problem
        np.testing.assert_array_equal(problem.carried_samples, 0.0)
        held = env.state.devices.held_size
        np.testing.assert_allclose(problem.fallback_map, detection_map(cfg, 0.0, held))
        same = BandwidthSplitProblem.from_gains(
            cfg, problem.gain_db, problem.available_samples, problem.fallback_map
        )
        best = optimal_split(same)
        _, reward, _, truncated, _ = env.step(env.action_from_split(best.upload_share))
        assert reward == pytest.approx(float(best.map[0]), rel=1e-12)
    assert truncated


def test_periods_are_drawn_from_np_random_and_a_trace_is_replayed():
    env = make(**SHORT)
    env.reset(seed=0)
    draws = env.state.draws
    rngs = [np.random.default_rng(0)]
    env.reset(seed=0)
    np.testing.assert_array_equal(env.state.draws.distance_m, draws.distance_m)
    distance = np.linspace(30.0, 200.0, 6)[:, None]
    traced = make(periods=PeriodTrace(distance, 2.0, 700.0), **SHORT)
    for seed in (0, 1):
        traced.reset(seed=seed)
        np.testing.assert_array_equal(traced.state.draws.distance_m, distance)
        np.testing.assert_array_equal(traced.state.draws.available_samples, 700.0)
    with pytest.raises(ValueError, match="broadcast"):
        make(periods=PeriodTrace(np.ones(3), 0.0), **SHORT).reset(seed=0)
    with pytest.raises(ValueError, match="distances must be > 0"):
        make(periods=PeriodTrace(0.0), **SHORT).reset(seed=0)
    with pytest.raises(TypeError, match="PeriodGenerator"):
        make(periods=distance)
    draws = RandomPeriods()(env.config, rngs)
    assert draws.distance_m.shape == (1, 6, 1)
    assert np.all((draws.distance_m >= 20.0) & (draws.distance_m <= 250.0))


def test_batched_shadowing_is_the_channel_models_draw_for_draw():
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    model = np.array([ar1_shadowing_db(a, 30, 6.0, 20.0, 100.0) for _ in range(3)])
    batched = ar1_shadowing_batch(b.standard_normal((3, 31)), 6.0, 20.0, 100.0)
    np.testing.assert_array_equal(batched, model)
    assert a.random() == b.random()  # both streams advanced alike
    flat = make(shadowing_std_db=0.0, device_speed_mps=0.0, **SHORT)
    flat.reset(seed=0)
    np.testing.assert_array_equal(flat.state.draws.shadowing_db, 0.0)
    np.testing.assert_array_equal(np.ptp(flat.state.draws.distance_m, axis=0), 0.0)


@pytest.mark.parametrize("num_devices", [1, 4])
def test_random_periods_draw_what_uniform_and_normal_draw(num_devices):
    """Each episode's start distances and walk steps are the values ``rng.uniform`` and
    ``rng.normal`` give (drawn as unit draws in place, scaled per batch), bit for bit."""
    config = BandwidthSplitEnvConfig(num_devices=num_devices, periods_per_episode=7)
    draws = RandomPeriods()(config, [np.random.default_rng(s) for s in (3, 4)])
    low, high = config.min_distance_m, config.max_distance_m
    for i, seed in enumerate((3, 4)):
        rng = np.random.default_rng(seed)
        start = rng.uniform(low, high, num_devices)
        steps = rng.normal(0.0, config.device_speed_mps * config.period_s, (7, num_devices))
        walk = np.concatenate((start[None], start + np.cumsum(steps, axis=0)))
        np.testing.assert_array_equal(draws.distance_m[i], reflect_into(walk, low, high))


# ----------------------------------------------------------------------------------- actions
@pytest.mark.parametrize(
    ("env_id", "model_size", "shape"),
    [
        ("BandwidthSplit-v0", "auto", (1,)),
        ("BandwidthSplit-v0", "continuous", (2,)),
        ("BandwidthSplit-v0", "discrete", (2,)),
        ("BandwidthSplitMulti-v0", "auto", (8,)),
        ("BandwidthSplitMulti-v0", "discrete", (12,)),
    ],
)
def test_action_spaces_of_the_model_size_options(env_id, model_size, shape):
    env = make(env_id, model_size=model_size)
    assert env.action_space.shape == shape and env.action_space.dtype == np.float32
    assert (env.action_space.low == 0).all() and (env.action_space.high == 1).all()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=rf"shape \({shape[0]},\)"):
        env.step(np.zeros(shape[0] + 1))
    with pytest.raises(ValueError, match="row per device"):
        env.step(np.zeros((1, shape[0])).T if shape[0] > 1 else np.zeros((2, 1)))


def test_one_device_split_is_clipped_beta_and_its_complement():
    env = make()
    env.reset(seed=0)
    for value, beta in ((-0.5, 0.0), (0.25, 0.25), (3.0, 1.0)):
        assert env.split_from_action([value]) == (beta, 1.0 - beta, None)


def test_model_size_options_ask_for_a_model_that_arrives_only_if_it_fits():
    cfg = BandwidthSplitEnvConfig()
    sizes = cfg.model_sizes
    env = make(model_size="discrete", periods=PeriodTrace(60.0, 0.0, 1000.0))
    env.reset(seed=0)
    for entry, index in ((0.0, 0), (0.19, 0), (0.2, 1), (0.5, 2), (0.99, 4), (1.0, 4)):
        assert env.split_from_action([0.5, entry])[2] == sizes[index]
    capacity = env.problem.download_capacity(0.5)[0]
    fits = max(m for m in sizes if m <= capacity)
    _, reward, *_ = env.step(env.action_from_split(0.5, model_size=fits))
    assert env.last_outcome.model_size == fits
    too_big = min(m for m in sizes if m > capacity)
    fallback = env.state.devices.device_map
    env.step(env.action_from_split(0.5, model_size=too_big))
    assert env.last_outcome.model_size == 0.0 and env.last_outcome.map == fallback
    continuous = make(model_size="continuous", periods=PeriodTrace(60.0, 0.0, 1000.0))
    continuous.reset(seed=0)
    assert continuous.split_from_action([0.5, 0.5])[2] == pytest.approx(
        cfg.min_model_size + 0.5 * (cfg.max_model_size - cfg.min_model_size)
    )
    continuous.step(continuous.action_from_split(0.5, model_size=20.0))
    assert continuous.last_outcome.model_size == pytest.approx(20.0, rel=1e-12)


def test_multi_device_shares_are_feasible_and_exact_below_the_band():
    env = make("BandwidthSplitMulti-v0")
    env.reset(seed=0)
    rng = np.random.default_rng(1)
    for _ in range(200):
        action = rng.uniform(-0.5, 1.5, 8)
        up, down, size = env.split_from_action(action)
        assert size is None
        assert np.all(up >= 0) and np.all(down >= 0)
        assert up.sum() + down.sum() <= 1.0 + 1e-12
    shares = np.array([0.1, 0.05, 0.2, 0.1, 0.05, 0.15, 0.1, 0.2])  # sum 0.95
    up, down, _ = env.split_from_action(shares)
    np.testing.assert_array_equal(up, shares[0::2])
    np.testing.assert_array_equal(down, shares[1::2])
    np.testing.assert_array_equal(env.action_from_split(up, down), shares)
    _, reward, *_ = env.step(shares)
    outcome = env.last_outcome
    assert 0.0 <= reward <= env.config.map_a
    np.testing.assert_allclose(reward, outcome.map.mean(), rtol=1e-15)


# ------------------------------------------------------------------------------ observations
@pytest.mark.parametrize("env_id", ["BandwidthSplit-v0", "BandwidthSplitMulti-v0"])
def test_decode_observation_inverts_the_observation(env_id):
    env = make(env_id)
    obs, _ = env.reset(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(15):
        obs, *_ = env.step(rng.uniform(0.0, 0.4, env.action_space.shape))
    st, t = env.state, env.period
    decoded = env.decode_observation(obs)
    devices = st.devices
    expected = {
        "gain_db": st.channels.gain_db[t],
        "available_samples": st.draws.available_samples[t],
        "device_map": devices.device_map,
        "fresh_data": devices.fresh_data,
        "held_size": devices.held_size,
        "held_credit": devices.held_credit,
    }
    for name, value in expected.items():
        np.testing.assert_allclose(decoded[name], np.atleast_1d(value), rtol=2e-5, err_msg=name)
    assert decoded["fresh_data"].min() > 0  # data has been uploaded
    assert decoded["bandwidth_hz"] == pytest.approx(env.config.bandwidth_hz)
    assert decoded["progress"] == pytest.approx(15 / 50)
    batch = env.decode_observation(np.stack([obs, obs]))
    np.testing.assert_array_equal(batch["gain_db"][1], decoded["gain_db"])


def test_info_holds_episode_means_and_the_suite_wide_keys():
    env = make(**SHORT)
    env.reset(seed=0)
    rewards = []
    for _ in range(5):
        _, reward, _, truncated, info = env.step([0.4])
        rewards.append(reward)
    assert truncated
    cfg = env.config
    assert info["map"] == pytest.approx(np.mean(rewards))
    assert 0.0 < info["upload_time"] <= cfg.period_s + 1e-9
    assert info["upload_energy"] == pytest.approx(cfg.upload_power_w * info["upload_time"])
    assert info["n"] > 0 and cfg.min_model_size <= info["M"] <= cfg.max_model_size
    assert info["r_u"] > 0 and info["r_d"] > 0


# -------------------------------------------------------------------------------- vector env
def scalar_trace(env_id: str, kwargs: dict, seed: int, actions: np.ndarray) -> list:
    """Per step (obs, reward, terminated, truncated, info or None) of a scalar env driven as a
    NEXT_STEP autoreset sub-env: the step after an episode ends resets it."""
    env = make(env_id, **kwargs)
    obs, _ = env.reset(seed=seed)
    trace, ended = [obs], False
    for action in actions:
        if ended:
            obs, _ = env.reset()
            trace.append((obs, 0.0, False, False, None))
            ended = False
            continue
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((obs, reward, terminated, truncated, info))
        ended = terminated or truncated
    return trace


@pytest.fixture(params=["compiled", "numpy"])
def step_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with each step of the vector env: the compiled one-device step (skipped
    without numba; the numpy step with several devices) and the numpy step of the light
    install."""
    if request.param == "numpy":
        monkeypatch.setattr(bandwidth_split_vector, "compiled_envs", lambda: False)
    elif not compiled_envs():
        pytest.skip("the envs do not compile here (no numba, or MEC_GYM_NUMBA=0)")
    return request.param


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("BandwidthSplit-v0", {}),
        ("BandwidthSplit-v0", {"model_size": "discrete", "device_speed_mps": 3.0}),
        ("BandwidthSplit-v0", {"model_size": "continuous", "freshness_decay": 0.0}),
        (
            "BandwidthSplit-v0",
            {
                "min_model_size": 3,
                "max_model_size": 40,
                "model_sizes": (3, 9, 40),
                "sample_bits": 80_000,
            },
        ),
        ("BandwidthSplitMulti-v0", {}),
        ("BandwidthSplitMulti-v0", {"model_size": "continuous", "num_devices": 3}),
    ],
)
@pytest.mark.parametrize("per_block", [None, 1, 2])  # sub-envs per block (None: all in one)
def test_vector_env_equals_the_scalar_env_step_by_step(
    env_id, kwargs, per_block, step_path, monkeypatch
):
    kwargs = {**SHORT, **kwargs}
    if per_block is not None:
        cfg = make(env_id, **kwargs).config
        per_env = (cfg.periods_per_episode + 1) * cfg.num_devices  # values of a sub-env's table
        monkeypatch.setattr("mec_gym.envs.base.BLOCK_VALUES", per_block * per_env)
    n, seed, steps = 3, 11, 13  # two episodes of 5 periods, two autoresets and a bit
    envs = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    assert isinstance(envs, BandwidthSplitVectorEnv)
    exact = step_path == "compiled" and envs.config.num_devices == 1
    assert (envs.compiled_step is not None) == exact
    assert envs.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert envs.single_action_space == make(env_id, **kwargs).action_space
    assert envs.single_observation_space == make(env_id, **kwargs).observation_space
    actions = np.random.default_rng(seed).uniform(-0.2, 1.2, (steps, *envs.action_space.shape))
    obs, _ = envs.reset(seed=seed)
    vector = [obs]
    for action in actions:
        vector.append(envs.step(action))
    for i in range(n):
        scalar = scalar_trace(env_id, kwargs, seed + i, actions[:, i])
        np.testing.assert_array_equal(vector[0][i], scalar[0])
        for step, (obs, reward, terminated, truncated, info) in enumerate(scalar[1:], 1):
            v_obs, v_reward, v_terminated, v_truncated, v_info = vector[step]
            assert_same(v_obs[i], obs, exact)
            assert_same(v_reward[i], reward, exact)
            assert v_terminated[i] == terminated and v_truncated[i] == truncated
            if info is None:  # the reset step: the scalar env's reset info, none
                assert v_info == {}
                continue
            assert set(v_info) == {*info, *("_" + key for key in info)}
            for key, value in info.items():
                assert v_info["_" + key][i], (step, key)
                assert_same(v_info[key][i], value, exact)
    assert sum(bool(step[3].any()) for step in vector[1:]) == 2  # both episode ends seen
    if exact:  # one signature for every config: float64 state and actions
        assert len(envs.compiled_step.signatures) == 1
    assert [len(range(n)[b]) for b in envs.blocks] == {None: [3], 1: [1, 1, 1], 2: [2, 1]}[
        per_block
    ]
    envs.close()


def test_vector_env_equals_the_scalar_env_with_a_trace_a_midway_reset_and_continued_seeds(
    step_path,
):
    trace = PeriodTrace(np.linspace(30.0, 200.0, 6)[:, None], 2.0, 700.0)
    kwargs = {**SHORT, "periods": trace}
    envs = BandwidthSplitVectorEnv(num_envs=2, **kwargs)
    exact = step_path == "compiled"
    assert (envs.compiled_step is not None) == exact
    scalars = [make(**kwargs), make(**kwargs)]
    actions = np.random.default_rng(3).uniform(0.0, 1.0, (12, 2, 1))
    first, _ = envs.reset(seed=[5, None])
    starts = [scalars[0].reset(seed=5)[0], scalars[1].reset(seed=None)[0]]
    np.testing.assert_array_equal(first, np.stack(starts))
    for step, action in enumerate(actions):
        if step == 3:  # a reset in mid-episode; sub-env 1 continues its own generator
            obs, info = envs.reset(seed=[7, None])
            expected = [scalars[0].reset(seed=7)[0], scalars[1].reset()[0]]
            np.testing.assert_array_equal(obs, np.stack(expected))
            assert info == {}
            continue
        obs, reward, _, truncated, info = envs.step(action)
        if not info:  # the step after the episodes ended: new episodes
            expected = [scalar.reset()[0] for scalar in scalars]
            np.testing.assert_array_equal(obs, np.stack(expected))
            continue
        for i, scalar in enumerate(scalars):
            s_obs, s_reward, _, s_truncated, s_info = scalar.step(action[i])
            assert_same(obs[i], s_obs, exact)
            assert_same(reward[i], s_reward, exact)
            assert truncated[i] == s_truncated
            for key, value in s_info.items():
                assert_same(info[key][i], value, exact)


def test_a_step_limit_truncates_as_the_time_limit_of_sync_vector_envs(step_path):
    """``max_episode_steps`` cuts the episodes as ``TimeLimit`` cuts the scalar envs', with
    the same steps before and after the autoreset."""
    kwargs = {"model_size": "continuous", "max_episode_steps": 3}
    native = gym.make_vec("BandwidthSplit-v0", 3, vectorization_mode="vector_entry_point", **kwargs)
    sync = gym.make_vec("BandwidthSplit-v0", 3, vectorization_mode="sync", **kwargs)
    exact = step_path == "compiled"
    assert (native.compiled_step is not None) == exact
    for envs in (native, sync):
        envs.reset(seed=[4, 5, 7])
    actions = np.random.default_rng(2).uniform(-0.1, 1.1, (9, 3, 2))
    truncations = 0
    for batch in actions:
        mine, theirs = native.step(batch), sync.step(batch)
        for a, b in zip(mine[:2], theirs[:2], strict=True):
            assert_same(a, b, exact)
        for a, b in zip(mine[2:4], theirs[2:4], strict=True):
            np.testing.assert_array_equal(a, b)
        for key, value in theirs[4].items():
            assert_same(mine[4][key], value, exact)
        truncations += bool(mine[3].all())
    assert truncations == 2


def test_the_period_values_are_in_the_order_of_the_evaluated_keys():
    assert PeriodValues._fields == BandwidthSplitEnv.evaluated_keys()


def test_the_compiled_math_is_the_scalar_math():
    """``FloatMath`` gives what ``SCALAR_MATH`` (Python's builtins and ``math``) gives, signed
    zeros, ties and NaN included."""
    if not compiled_envs():
        pytest.skip("the envs do not compile here (no numba, or MEC_GYM_NUMBA=0)")
    from mec_gym.envs.bandwidth_split_kernels import FloatMath
    from mec_gym.problems.bandwidth_split import SCALAR_MATH

    compiled_math = FloatMath()
    values = [0.0, -0.0, 1.0, -2.5, 1e-300, 3e8, math.inf, -math.inf, math.nan]
    for x in values:
        for y in values:
            for name in ("maximum", "minimum", "greater"):
                mine, theirs = getattr(compiled_math, name)(x, y), getattr(SCALAR_MATH, name)(x, y)
                assert repr(mine) == repr(theirs), (name, x, y)
            for condition in (True, False):
                assert repr(compiled_math.where(condition, x, y)) == repr(
                    SCALAR_MATH.where(condition, x, y)
                )
        if x > -1.0:
            assert repr(compiled_math.log1p(x)) == repr(SCALAR_MATH.log1p(x)), x
        assert repr(compiled_math.asfloat(x)) == repr(SCALAR_MATH.asfloat(x))
    probe = _PROBE.tolist()
    assert [compiled_math.log1p(x) for x in probe] == [math.log1p(x) for x in probe]
    assert compiled_math.asfloat(3) == 3.0


def vector_mid_episode(num_envs: int = 3) -> tuple[BandwidthSplitVectorEnv, np.random.Generator]:
    """A one-device vector env two periods into its episodes, and the actions' generator."""
    envs = BandwidthSplitVectorEnv(num_envs=num_envs, model_size="discrete", **SHORT)
    envs.reset(seed=2)
    rng = np.random.default_rng(8)
    for _ in range(2):
        envs.step(rng.uniform(0.0, 1.0, (num_envs, 2)))
    return envs, rng


@pytest.mark.parametrize("copy_of", [lambda env: pickle.loads(pickle.dumps(env)), copy.deepcopy])
def test_a_copied_vector_env_steps_on_as_the_original(step_path, copy_of):
    """A pickled or deep-copied vector env mid-episode (training checkpoints pickle it) steps
    with the same kind of step and gives the same outputs."""
    envs, rng = vector_mid_episode()
    twin = copy_of(envs)
    assert (twin.compiled_step is None) == (envs.compiled_step is None) == (step_path == "numpy")
    assert_steps_alike(envs, twin, (rng.uniform(-0.1, 1.1, (3, 2)) for _ in range(8)))


@pytest.mark.parametrize("load_compiled", [False, True])
@pytest.mark.parametrize("save_compiled", [False, True])
def test_a_pickled_vector_env_loads_with_the_step_of_the_loading_process(
    monkeypatch, save_compiled, load_compiled
):
    """A vector env pickled where the envs compile loads where they do not (the numpy step)
    and the other way round, and steps on alike (bit for bit where numpy's log1p and power are
    libm's)."""
    if not compiled_envs():
        pytest.skip("the envs do not compile here (no numba, or MEC_GYM_NUMBA=0)")

    def switch(compiles: bool) -> None:
        monkeypatch.setattr(bandwidth_split_vector, "compiled_envs", lambda: compiles)

    switch(save_compiled)
    envs, rng = vector_mid_episode()
    saved = pickle.dumps(envs)
    switch(load_compiled)
    twin = pickle.loads(saved)
    assert (twin.compiled_step is not None) == load_compiled
    assert (envs.compiled_step is not None) == save_compiled
    for _ in range(8):
        actions = rng.uniform(-0.1, 1.1, (envs.num_envs, 2))
        mine, theirs = envs.step(actions), twin.step(actions)
        exact = save_compiled == load_compiled
        for a, b in zip(mine[:2], theirs[:2], strict=True):
            assert_same(b, a, exact)
        for a, b in zip(mine[2:4], theirs[2:4], strict=True):
            np.testing.assert_array_equal(a, b)
        assert set(mine[4]) == set(theirs[4])
        for key, value in mine[4].items():
            assert_same(theirs[4][key], value, exact)


def test_actions_of_any_layout_step_through_one_compiled_signature(step_path):
    """Read-only, Fortran-ordered, float32 and broadcast actions step alike, and the compiled
    step compiles once (a new signature would cost seconds)."""
    envs = BandwidthSplitVectorEnv(num_envs=3, **SHORT)
    twin = BandwidthSplitVectorEnv(num_envs=3, **SHORT)
    envs.reset(seed=1)
    twin.reset(seed=1)
    read_only = np.full((3, 1), 0.4)
    read_only.setflags(write=False)
    layouts = [
        read_only,
        np.asfortranarray(np.full((3, 1), 0.3)),
        np.full((3, 1), 0.3, np.float32),
        np.broadcast_to(0.5, (3, 1)),
    ]
    plain = [np.array(actions, dtype=np.float64, order="C") for actions in layouts]
    for actions, same in zip(layouts, plain, strict=True):
        mine, theirs = envs.step(actions), twin.step(same)
        np.testing.assert_array_equal(mine[0], theirs[0])
        np.testing.assert_array_equal(mine[1], theirs[1])
    if step_path == "compiled":
        assert len(envs.compiled_step.signatures) == 1


def test_a_failed_vector_reset_leaves_no_episode_and_partial_resets_are_refused():
    envs = BandwidthSplitVectorEnv(num_envs=2, periods=PeriodTrace(np.ones(3), 0.0), **SHORT)
    with pytest.raises(ValueError, match="broadcast"):
        envs.reset(seed=0)
    with pytest.raises(RuntimeError, match="reset"):
        envs.step(np.zeros((2, 1)))
    envs = BandwidthSplitVectorEnv(num_envs=2, **SHORT)
    with pytest.raises(ValueError, match="reset_mask"):
        envs.reset(seed=0, options={"reset_mask": np.array([True, False])})


def test_vector_env_seeding_and_arguments():
    envs = gym.make_vec("BandwidthSplit-v0", num_envs=2, vectorization_mode="vector_entry_point")
    first, _ = envs.reset(seed=[4, 9])
    again, _ = envs.reset(seed=[4, 9])
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first[1], make().reset(seed=9)[0])
    with pytest.raises(ValueError, match="2 entries"):
        envs.reset(seed=[1, 2, 3])
    with pytest.raises(RuntimeError, match="reset"):
        BandwidthSplitVectorEnv(num_envs=2).step(np.zeros((2, 1)))
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        envs.step(np.array([[np.nan], [0.5]]))
    with pytest.raises(ValueError, match="render_mode"):
        BandwidthSplitVectorEnv(num_envs=2, render_mode="rgb_array")
    with pytest.raises(ValueError, match="num_envs"):
        BandwidthSplitVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="unknown"):
        BandwidthSplitVectorEnv(num_envs=2, no_such_field=1)


def test_the_env_copies_and_continues_identically():
    env = make(**SHORT)
    env.reset(seed=0)
    env.step([0.3])
    clone = copy.deepcopy(env)
    for beta in (0.2, 0.9, 0.5):
        a, b = env.step([beta]), clone.step([beta])
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:4] == b[1:4]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"periods_per_episode": 400_000, "num_devices": 4}, "periods_per_episode, num_devices"),
        ({"path_loss_intercept_db": 300.0}, "upload_power_w, .* below -30 dB"),
        ({"upload_power_w": 1e12}, "upload_power_w, .* above 150 dB"),
    ],
)
def test_episodes_that_cannot_run_are_refused_naming_the_fields(overrides, match):
    with pytest.raises(ValueError, match=f"BandwidthSplitEnvConfig.{match}"):
        BandwidthSplitEnvConfig(**overrides)


def test_vector_actions_of_another_shape_or_dtype_are_refused():
    envs = gym.make_vec("BandwidthSplitMulti-v0", 3, vectorization_mode="vector_entry_point")
    width = envs.single_action_space.shape[0]
    devices = envs.unwrapped.config.num_devices
    actions = np.random.default_rng(0).random((3, width))
    envs.reset(seed=0)
    for bad in (actions.T, actions.reshape(-1), actions[:2]):
        with pytest.raises(ValueError, match=rf"actions must have shape \(3, {width}\)"):
            envs.step(bad)
    with pytest.raises(ValueError, match="real numbers"):
        envs.step(actions.astype(complex))
    flat = envs.step(actions)
    envs.reset(seed=0)
    by_rows = envs.step(actions.reshape(3, devices, -1))  # a row per device, as the scalar env
    np.testing.assert_array_equal(flat[1], by_rows[1])
    one = gym.make_vec("BandwidthSplit-v0", 2, vectorization_mode="vector_entry_point")
    one.reset(seed=0)
    column = one.step(np.full((2, 1), 0.3))
    one.reset(seed=0)
    np.testing.assert_array_equal(one.step(np.full(2, 0.3))[1], column[1])
