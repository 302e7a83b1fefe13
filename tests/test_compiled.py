"""mec_gym.compiled: compilation where numba cannot cache on disk, and without numba."""

from __future__ import annotations

import sys

import numba
import pytest

from mec_gym import compiled


def twice(x: float) -> float:
    return 2.0 * x


def test_compiles_without_the_disk_cache_where_numba_has_no_cache_folder(monkeypatch):
    real_njit, asked = numba.njit, []

    def njit(*args, **options):
        if args:  # numba's own uses
            return real_njit(*args, **options)
        asked.append(options["cache"])
        if options["cache"]:
            raise RuntimeError("cannot cache function 'twice': no locator available for file 'x'")
        return real_njit(**options)

    monkeypatch.setattr(numba, "njit", njit)
    assert compiled.compiled(twice)(1.5) == 3.0
    assert asked == [True, False]


def test_other_compilation_errors_are_not_hidden(monkeypatch):
    def njit(**options):
        raise RuntimeError("something else")

    monkeypatch.setattr(numba, "njit", njit)
    with pytest.raises(RuntimeError, match="something else"):
        compiled.compiled(twice)


@pytest.mark.parametrize(
    ("switch", "hidden", "expected"), [("0", False, False), ("1", True, False)]
)
def test_envs_compile_unless_switched_off_or_numba_does_not_import(
    monkeypatch, switch, hidden, expected
):
    monkeypatch.setenv(compiled.ENV_SWITCH, switch)
    if hidden:
        monkeypatch.setitem(sys.modules, "numba", None)  # import numba raises ImportError
    compiled.compiled_envs.cache_clear()
    try:
        assert compiled.compiled_envs() is expected
    finally:
        compiled.compiled_envs.cache_clear()


def test_envs_compile_with_numba_and_no_switch(monkeypatch):
    monkeypatch.delenv(compiled.ENV_SWITCH, raising=False)
    compiled.compiled_envs.cache_clear()
    try:
        assert compiled.compiled_envs() is True
    finally:
        compiled.compiled_envs.cache_clear()
