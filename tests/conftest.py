"""Fixtures shared across the test folders."""

from __future__ import annotations

import pytest

from mec_gym.compiled import compiled_envs
from mec_gym.envs import two_timescale as two_timescale_env
from mec_gym.simulators import two_timescale as two_timescale_simulator


@pytest.fixture(params=["compiled", "pure_python"])
def two_timescale_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test on each code path of TwoTimescale-v0's scalar step: the compiled kernels
    (skipped without numba) and the pure-Python one of the light install."""
    if request.param == "pure_python":
        for module, name in (
            (two_timescale_simulator, "compiled_slot_kernels"),
            (two_timescale_env, "compiled_slot_kernels"),
            (two_timescale_env, "compiled_weight_shares"),
        ):
            monkeypatch.setattr(module, name, lambda: None)
    elif not compiled_envs():
        pytest.skip("the envs do not compile here (no numba, or MEC_GYM_NUMBA=0)")
    return request.param
