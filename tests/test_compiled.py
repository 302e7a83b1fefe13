"""mec_gym.compiled: compilation where numba cannot cache on disk; whether the envs compile."""

from __future__ import annotations

import importlib.abc
import sys
import warnings

import pytest

from mec_gym import compiled


def twice(x: float) -> float:
    return 2.0 * x


def twice_plus(x: float, extra: float = 0.5) -> float:
    """Calls another function of its module (numba calls only compiled functions)."""
    return twice(x) + extra


def twice_each(n: int) -> float:
    """Calls another function of its module in a comprehension only (nested code)."""
    return sum([twice(float(i)) for i in range(n)])


def test_a_function_compiles_as_written_with_the_functions_it_calls_compiled():
    pytest.importorskip("numba")
    with pytest.raises(Exception, match="twice"):  # numba cannot call the Python function
        compiled.compiled(twice_plus, cache=False)(1.5)
    fast = compiled.compiled_calling(twice_plus, {"twice": compiled.compiled(twice, cache=False)})
    assert fast(1.5) == twice_plus(1.5) == 3.5 and fast(1.5, 1.0) == 4.0  # defaults kept
    assert twice_plus.__globals__["twice"] is twice  # the module itself is unchanged
    assert fast.py_func.__qualname__ == "twice_plus" and fast.py_func.__doc__ == twice_plus.__doc__
    with pytest.raises(ValueError, match=r"twice_plus uses no global named \['thrice'\]"):
        compiled.compiled_calling(twice_plus, {"thrice": twice})
    nested = compiled.compiled_calling(twice_each, {"twice": compiled.compiled(twice, cache=False)})
    assert nested(4) == twice_each(4) == 12.0


def test_compiles_without_the_disk_cache_where_numba_has_no_cache_folder(monkeypatch):
    numba = pytest.importorskip("numba")
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
    numba = pytest.importorskip("numba")

    def njit(**options):
        raise RuntimeError("something else")

    monkeypatch.setattr(numba, "njit", njit)
    with pytest.raises(RuntimeError, match="something else"):
        compiled.compiled(twice)


@pytest.fixture
def fresh_switch():
    """``compiled_envs`` read again within the test (and again after it)."""
    compiled.compiled_envs.cache_clear()
    yield compiled.compiled_envs
    compiled.compiled_envs.cache_clear()


@pytest.mark.parametrize("value", ["0", "off", "FALSE", " no "])
def test_the_switch_turns_compilation_off(monkeypatch, fresh_switch, value):
    monkeypatch.setenv(compiled.ENV_SWITCH, value)
    assert fresh_switch() is False


@pytest.mark.parametrize("value", [None, "", "1", "on", "True", "yes"])
def test_the_envs_compile_where_numba_imports_and_the_switch_allows(
    monkeypatch, fresh_switch, value
):
    pytest.importorskip("numba")
    if value is None:
        monkeypatch.delenv(compiled.ENV_SWITCH, raising=False)
    else:
        monkeypatch.setenv(compiled.ENV_SWITCH, value)
    assert fresh_switch() is True


def test_a_bad_switch_value_is_refused_naming_the_variable(monkeypatch, fresh_switch):
    monkeypatch.setenv(compiled.ENV_SWITCH, "maybe")
    with pytest.raises(ValueError, match="MEC_GYM_NUMBA must be 0 or 1.*'maybe'"):
        fresh_switch()


def test_without_numba_the_envs_do_not_compile_and_say_nothing(monkeypatch, fresh_switch):
    monkeypatch.delenv(compiled.ENV_SWITCH, raising=False)
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba: ModuleNotFoundError
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fresh_switch() is False


class BrokenNumba(importlib.abc.MetaPathFinder):
    """numba installed but failing to import (as under a numpy release it does not support)."""

    def find_spec(self, name, path, target=None):
        if name == "numba":
            raise ImportError("Numba needs NumPy 2.3 or less")


def test_a_numba_that_fails_to_import_is_a_warning_and_the_pure_python_paths(
    monkeypatch, fresh_switch
):
    monkeypatch.delenv(compiled.ENV_SWITCH, raising=False)
    monkeypatch.delitem(sys.modules, "numba", raising=False)
    monkeypatch.setattr(sys, "meta_path", [BrokenNumba(), *sys.meta_path])
    with pytest.warns(RuntimeWarning, match="numba failed to import .*NumPy 2.3.*uncompiled paths"):
        assert fresh_switch() is False
