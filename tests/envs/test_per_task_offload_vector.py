"""The native vector env of PerTaskOffload-v1 against SyncVectorEnv over the scalar env, step
by step, autoresets included, in both action modes, with both kinds of reservation heaps
(compiled arrays, and the lists of the light install) and both kinds of continuous-mode steps
(compiled, numpy); the heaps against heapq."""

from __future__ import annotations

import copy
import heapq
import pickle
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import mec_gym  # noqa: F401
from mec_gym.compiled import compiled_envs
from mec_gym.envs import per_task_offload_vector
from mec_gym.envs.per_task_offload_vector import PerTaskOffloadVectorEnv, ReservationHeaps
from mec_gym.simulators.per_task_offload import ArrivalTrace
from tests.envs.vector_steps import assert_steps_alike

if TYPE_CHECKING:
    from mec_gym.envs.reservation_kernels import ReservationArrays


@pytest.fixture(params=["compiled", "compiled_heaps", "pure_python"])
def heaps_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test with each kind of reservation heaps and step: ``ReservationArrays`` and in
    continuous mode the compiled step (``TaskKernels``), both skipped without numba;
    ``ReservationArrays`` with the numpy step ("compiled_heaps"); the ``ReservationHeaps``
    lists and the numpy step of the light install ("pure_python")."""
    if request.param == "pure_python":
        monkeypatch.setattr(per_task_offload_vector, "compiled_envs", lambda: False)
        return request.param
    if not compiled_envs():
        pytest.skip("the envs do not compile here (no numba, or MEC_GYM_NUMBA=0)")
    if request.param == "compiled_heaps":
        monkeypatch.setattr(per_task_offload_vector, "task_kernels", lambda action_mode: None)
    return request.param


def heaps_of(path: str, num_envs: int, observed: int) -> ReservationHeaps | ReservationArrays:
    """Empty reservation heaps of the kind ``path`` names (see ``heaps_path``)."""
    if path == "pure_python":
        return ReservationHeaps(num_envs, observed)
    from mec_gym.envs.reservation_kernels import ReservationArrays

    return ReservationArrays(num_envs, observed)


def assert_same_steps(
    num_envs: int, seed: int, steps: int, offload_all: bool = False, **kwargs
) -> PerTaskOffloadVectorEnv:
    """Step the native env and SyncVectorEnv over the scalar env with the same sampled actions
    (``offload_all``: continuous actions that offload every task with the smallest shares)
    and check every output (reset included) bit for bit; the native env."""
    native = gym.make_vec(
        "mec_gym:PerTaskOffload-v1", num_envs, vectorization_mode="vector_entry_point", **kwargs
    )
    sync = gym.make_vec("PerTaskOffload-v1", num_envs, vectorization_mode="sync", **kwargs)
    assert isinstance(native, PerTaskOffloadVectorEnv)
    assert native.single_action_space == sync.single_action_space
    assert native.single_observation_space == sync.single_observation_space
    obs_native, info_native = native.reset(seed=seed)
    obs_sync, info_sync = sync.reset(seed=seed)
    outputs = [((obs_native, info_native), (obs_sync, info_sync))]
    native.action_space.seed(seed)
    deepest = 0
    options = native.config.action_mode == "options"
    for _ in range(steps):
        if options:  # MaskablePPO's masks, as the scalar envs give them
            masks = np.stack(sync.call("action_masks"))
            np.testing.assert_array_equal(native.action_masks(), masks)
        actions = native.action_space.sample()
        if offload_all:  # offloaded, holding the smallest shares the longest
            actions[:, 0], actions[:, 2:4] = 1.0, -1.0
        outputs.append((native.step(actions), sync.step(actions)))
        deepest = max(deepest, native.uploads.size.max(), native.edge_jobs.size.max())
    ends = 0
    for step, (out_native, out_sync) in enumerate(outputs):
        for a, b in zip(out_native[:-1], out_sync[:-1], strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b, err_msg=f"step {step}")
        info_native, info_sync = out_native[-1], out_sync[-1]
        assert set(info_native) == set(info_sync), step
        for key, value in info_sync.items():
            assert info_native[key].dtype == value.dtype, key
            np.testing.assert_array_equal(info_native[key], value, err_msg=f"{step} {key}")
        ends += len(out_native) == 5 and bool(out_native[2].all() or out_native[3].all())
    assert ends >= 2  # at least two episode ends and the autoresets after them
    assert deepest >= 4  # heaps of several levels were sifted
    sync.close()
    return native


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize(
    ("num_envs", "steps", "kwargs"),
    [
        (3, 250, {"num_devices": 5, "tasks_per_episode": 60, "arrival_rate": 2.0}),
        (1, 250, {"tasks_per_episode": 100, "arrival_rate": 1.0}),
        (4, 420, {"tasks_per_episode": 200, "arrival_rate": 3.0, "preset": "pan2023"}),
        # weights that differ (each term costed with its own), the slot's transmit energy
        (
            3,
            250,
            {
                "tasks_per_episode": 90,
                "arrival_rate": 3.0,
                "delay_weight": 0.5,
                "energy_weight": 0.07,
                "accuracy_weight": 0.9,
                "tx_energy": "slot",
                "device_max_frequency": 2_000_000_000,  # ints: the kernels compile once
                "edge_capacity": 30_000_000_000,
            },
        ),
        (
            2,
            250,
            {
                "num_devices": 5,
                "tasks_per_episode": 80,
                "arrival_rate": 2.0,
                "action_mode": "options",
            },
        ),
        (3, 330, {"tasks_per_episode": 150, "arrival_rate": 4.0, "action_mode": "options"}),
        # the registered TimeLimit guard cutting episodes short
        (
            2,
            60,
            {
                "num_devices": 5,
                "tasks_per_episode": 40,
                "arrival_rate": 4.0,
                "max_episode_steps": 25,
            },
        ),
    ],
)
def test_the_vector_env_equals_the_scalar_env_step_by_step(
    num_envs, steps, kwargs, seed, heaps_path
):
    native = assert_same_steps(num_envs, seed, steps, **kwargs)
    assert native.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    kind = "ReservationHeaps" if heaps_path == "pure_python" else "ReservationArrays"
    assert type(native.uploads).__name__ == type(native.edge_jobs).__name__ == kind
    continuous = kwargs.get("action_mode", "continuous") == "continuous"
    assert (native.kernels is not None) == (heaps_path == "compiled" and continuous)
    if heaps_path != "pure_python":  # compiled for one array type only: never again in a step
        from mec_gym.envs import reservation_kernels

        kernels = [reservation_kernels.push_entries, reservation_kernels.release_entries]
        kernels += (
            [] if native.kernels is None else [*native.kernels, reservation_kernels.push_entry]
        )
        for kernel in kernels:
            assert len(kernel.signatures) <= 1, kernel.signatures
        assert any(kernel.signatures for kernel in kernels)
    native.close()


def test_heaps_that_outgrow_their_rows_in_a_step_give_the_same_steps(heaps_path):
    """Every task offloaded with the smallest shares: the heaps grow well past their first
    rows (8 entries), so rows are widened during steps (the compiled step then runs again)."""
    kwargs = {"num_devices": 5, "tasks_per_episode": 120, "arrival_rate": 4.0}
    native = assert_same_steps(3, 2, 250, offload_all=True, **kwargs)
    if heaps_path != "pure_python":
        assert native.uploads.keys.shape[1] >= 32 and native.edge_jobs.keys.shape[1] >= 32
    native.close()


def env_mid_episode(seed: int) -> tuple[PerTaskOffloadVectorEnv, np.random.Generator]:
    """A native env of 3 sub-envs 30 steps into its episodes, and the generator of its
    actions."""
    kwargs = {"num_devices": 5, "tasks_per_episode": 50, "arrival_rate": 3.0}
    env = gym.make_vec(
        "mec_gym:PerTaskOffload-v1", 3, vectorization_mode="vector_entry_point", **kwargs
    )
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(30):
        env.step(rng.uniform(-1.0, 1.0, (3, 5)))
    return env, rng


def steps_alike(
    env: PerTaskOffloadVectorEnv, twin: PerTaskOffloadVectorEnv, rng: np.random.Generator
) -> None:
    """Step both with the same actions past their episodes' end and autoreset; the same
    outputs, ``info`` included."""
    assert_steps_alike(env, twin, (rng.uniform(-1.0, 1.0, (3, 5)) for _ in range(40)))


@pytest.mark.parametrize("copy_of", [lambda env: pickle.loads(pickle.dumps(env)), copy.deepcopy])
def test_a_copied_env_steps_on_as_the_original(heaps_path, copy_of):
    """A pickled or deep-copied env mid-episode (training checkpoints pickle the native vector
    env) steps with the same kind of step and gives the same outputs."""
    env, rng = env_mid_episode(4)
    twin = copy_of(env)
    assert (twin.kernels is None) == (env.kernels is None) == (heaps_path != "compiled")
    steps_alike(env, twin, rng)


@pytest.mark.parametrize("load_compiled", [False, True])
@pytest.mark.parametrize("save_compiled", [False, True])
def test_a_pickled_env_loads_with_the_step_and_heaps_of_the_loading_process(
    monkeypatch, save_compiled, load_compiled
):
    """An env pickled where the envs compile loads where they do not (a light install or
    ``MEC_GYM_NUMBA=0``: heap lists and the numpy step) and the other way round, and steps on
    with the same outputs."""
    if not compiled_envs():
        pytest.skip("the envs do not compile here (no numba, or MEC_GYM_NUMBA=0)")

    def switch(compiles: bool) -> None:
        monkeypatch.setattr(per_task_offload_vector, "compiled_envs", lambda: compiles)

    switch(save_compiled)
    env, rng = env_mid_episode(6)
    saved = pickle.dumps(env)
    switch(load_compiled)
    twin = pickle.loads(saved)
    kind = "ReservationArrays" if load_compiled else "ReservationHeaps"
    assert type(twin.uploads).__name__ == type(twin.edge_jobs).__name__ == kind
    assert (twin.kernels is not None) == load_compiled
    switch(save_compiled)
    steps_alike(env, twin, rng)


def test_the_rate_window_counts_tied_arrivals_as_the_scalar_env_does():
    """Arrival times on a 0.5 s grid, several at once, and a rate window of exactly 1 s
    (10 / (N rate)): arrivals at the window's start."""
    rng = np.random.default_rng(5)
    times = np.sort(rng.integers(0, 60, 80)) * 0.5
    trace = ArrivalTrace(times, rng.integers(0, 5, 80))
    kwargs = {"num_devices": 5, "arrival_rate": 2.0, "tasks_per_episode": 80}
    native = assert_same_steps(2, 4, 170, arrivals=trace, **kwargs)
    assert native.recent_arrivals.max() > 3
    native.close()


@pytest.mark.parametrize(
    ("hold_s", "repeat", "deepest"),
    # heaps of up to 15 entries, of over 20, and two pushes per sub-env in each call
    [(1.5, 1, 3), (6.0, 1, 12), (3.0, 2, 12)],
)
def test_the_heaps_are_the_scalar_simulators_heaps(heaps_path, hold_s, repeat, deepest):
    """Per sub-env the reservations the scalar simulator keeps (``heapq`` lists, entry for
    entry), their free share (summed in list order) and their earliest releases in order;
    heaps of more entries than the compiled rows hold at first, and several pushes onto one
    heap in one call."""
    rng = np.random.default_rng(3)
    heaps = heaps_of(heaps_path, 3, observed=3)
    lists: list[list[tuple[float, float]]] = [[], [], []]
    for now in np.cumsum(rng.uniform(0.0, 0.4, 300)):
        envs = np.tile(np.flatnonzero(rng.random(3) < 0.8), repeat)
        keys = now + rng.exponential(hold_s, envs.size).round(1)  # ties in the release times
        shares = rng.choice([0.1, 0.2, 0.3], envs.size)
        heaps.push(envs, keys, shares)
        for env, key, share in zip(envs, keys, shares, strict=True):
            heapq.heappush(lists[env], (key, share))
        heaps.release(np.full(3, now))
        for heap in lists:
            while heap and heap[0][0] <= now:
                heapq.heappop(heap)
        assert [heaps.entries(env) for env in range(3)] == lists
        np.testing.assert_array_equal(heaps.size, [len(heap) for heap in lists])
        for env, heap in enumerate(lists):  # the shares added left to right, in list order
            total = 0.0
            for _, share in heap:
                total += share
            assert heaps.free[env] == max(1.0 - total, 0.0)
        keys, shares, valid = heaps.release_keys, heaps.release_shares, heaps.release_valid
        for env, heap in enumerate(lists):
            smallest = sorted(heap)[:3]
            assert valid[env].sum() == len(smallest)
            pairs = zip(keys[env][valid[env]], shares[env][valid[env]], strict=True)
            assert list(pairs) == smallest
            assert not keys[env][~valid[env]].any() and not shares[env][~valid[env]].any()
    assert max(map(len, lists)) > deepest
    heaps.clear()
    assert [heaps.entries(env) for env in range(3)] == [[], [], []]
    assert not heaps.size.any() and heaps.free.tolist() == [1.0] * 3
    assert not heaps.release_valid.any() and not heaps.release_keys.any()
    assert not heaps.release_shares.any()  # the observation reads the shares unmasked


def test_one_push_call_widens_the_compiled_rows_midway_as_heappush_would():
    """20 pushes onto one heap in one call (the rows hold 8, then 16, then 32 entries), then
    an empty push; a release with a read-only clock compiles nothing again."""
    if not compiled_envs():
        pytest.skip("the envs do not compile here (no numba, or MEC_GYM_NUMBA=0)")
    from mec_gym.envs import reservation_kernels

    rng = np.random.default_rng(11)
    heaps = reservation_kernels.ReservationArrays(2, observed=3)
    envs = np.array([1, 0, 0, 1] + [0] * 19)
    keys = rng.integers(1, 6, envs.size).astype(float)  # ties in the release times
    shares = rng.choice([0.01, 0.02], envs.size)
    heaps.push(envs, keys, shares)
    heaps.push(np.array([], dtype=np.int64), np.array([]), np.array([]))
    lists: list[list[tuple[float, float]]] = [[], []]
    for env, key, share in zip(envs.tolist(), keys.tolist(), shares.tolist(), strict=True):
        heapq.heappush(lists[env], (key, share))
    assert [heaps.entries(env) for env in range(2)] == lists
    assert heaps.keys.shape[1] == 32
    heaps.release(np.zeros(2))  # nothing ends at 0 s
    clock = np.array([2.0, 0.0])  # s, read-only
    clock.setflags(write=False)
    heaps.release(clock)
    for heap, now in zip(lists, clock.tolist(), strict=True):
        while heap and heap[0][0] <= now:
            heapq.heappop(heap)
    assert [heaps.entries(env) for env in range(2)] == lists
    assert 0 < len(lists[0]) < 21 and len(lists[1]) == 2  # popped at 2 s only
    for env, heap in enumerate(lists):  # the 3 earliest in order, zeros past the heap
        earliest = np.zeros((3, 2))
        earliest[: len(heap)] = sorted(heap)[:3]
        np.testing.assert_array_equal(heaps.release_keys[env], earliest[:, 0])
        np.testing.assert_array_equal(heaps.release_shares[env], earliest[:, 1])
    for kernel in (reservation_kernels.push_entries, reservation_kernels.release_entries):
        assert len(kernel.signatures) == 1, kernel.signatures


@pytest.mark.parametrize(
    ("kwargs", "actions", "message"),
    [
        ({}, np.zeros((2, 4)), r"shape \(2, 5\)"),
        ({}, np.full((2, 5), np.inf), "finite"),
        ({"action_mode": "options"}, np.zeros(3, dtype=np.int64), "option indices"),
        ({"action_mode": "options"}, np.array([0.5, 1.0]), "integers"),
        ({"action_mode": "options"}, np.array([0, 5]), r"\[0, 4\]"),
    ],
)
def test_bad_actions_raise_one_line_value_errors(kwargs, actions, message):
    envs = PerTaskOffloadVectorEnv(num_envs=2, **kwargs)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=message) as error:
        envs.step(actions)
    assert "\n" not in str(error.value)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="options"):
        PerTaskOffloadVectorEnv(num_envs=2).action_masks()
    with pytest.raises(RuntimeError, match="reset"):
        PerTaskOffloadVectorEnv(num_envs=2).step(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="render_mode"):
        gym.make_vec(
            "PerTaskOffload-v1", 2, vectorization_mode="vector_entry_point", render_mode="ansi"
        )
    with pytest.raises(ValueError, match="num_envs"):
        PerTaskOffloadVectorEnv(num_envs=0)
    with pytest.raises(ValueError, match="preset"):
        PerTaskOffloadVectorEnv(num_envs=2, preset="nowhere")
    with pytest.raises(ValueError, match="unknown"):
        PerTaskOffloadVectorEnv(num_envs=2, rounds_per_episode=3)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.zeros((5, 3)), r"must have shape \(3, 5\)"),
        (np.zeros((3, 5), dtype=complex), "must be real numbers"),
    ],
)
def test_transposed_or_complex_actions_are_refused(bad, message):
    envs = PerTaskOffloadVectorEnv(num_envs=3, action_mode="continuous", tasks_per_episode=5)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        envs.step(bad)
