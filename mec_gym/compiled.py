"""Compiled loops with numba, which is not in the light install (the ``solvers`` extra has it).

:func:`compiled` compiles a function with the package's numba options. ADMM's loops need it
(:mod:`mec_gym.solvers.joint_offload.admm_kernels`), whatever the switch below. An environment
compiles its hot loops only where :func:`compiled_envs` (numba imports, and the environment
variable ``MEC_GYM_NUMBA`` does not say otherwise), and runs its uncompiled path (Python and
numpy) otherwise, with the same numbers bit for bit: ``MEC_GYM_NUMBA=0`` gives the environments
the light install's speed and code with numba installed. One exception: ``BandwidthSplit-v0``'s
vector env, whose compiled step equals the scalar env bit for bit and whose numpy step may differ
from both in the last bit (where numpy has its own SIMD ``log1p`` and ``pow``).
"""

from __future__ import annotations

import os
import types
import warnings
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

__all__ = [
    "COMPILE",
    "COMPILED_ENV_CODE",
    "ENV_SWITCH",
    "SWITCH_VALUES",
    "compiled",
    "compiled_calling",
    "compiled_envs",
]

COMPILE = {"cache": True, "error_model": "numpy", "nogil": True}
"""numba options: compiled code cached on disk; ``error_model="numpy"``: a float division by 0
gives inf or NaN as in numpy (no exception check in the loops, so they vectorise)."""


COMPILED_ENV_CODE = (
    "TwoTimescale-v0's slot step",
    "PerTaskOffload-v1's native vector env (its reservation heaps, and its continuous-mode step)",
    "BandwidthSplit-v0's native vector step",
)
"""The environment code compiled where :func:`compiled_envs` (Python and numpy otherwise)."""

ENV_SWITCH = "MEC_GYM_NUMBA"
"""Environment variable: ``0`` (or off, false, no) makes the environments run their uncompiled
paths; unset, empty, ``1`` (or on, true, yes) lets them compile where numba imports."""

SWITCH_VALUES = {
    **dict.fromkeys(("", "1", "on", "true", "yes"), True),
    **dict.fromkeys(("0", "off", "false", "no"), False),
}
"""Values of ``MEC_GYM_NUMBA`` (case and surrounding spaces aside), and whether each lets the
environments compile."""


@cache
def compiled_envs() -> bool:
    """Whether the environments compile their hot loops (read once per process): numba imports
    and ``MEC_GYM_NUMBA`` is unset or one of 1, on, true, yes (0, off, false, no: the
    uncompiled paths; another value is a ValueError). Where numba is installed but fails to
    import (e.g. under a numpy release it does not support yet), a warning says so and the
    envs run their uncompiled paths."""
    value = os.environ.get(ENV_SWITCH, "")
    setting = SWITCH_VALUES.get(value.strip().lower())
    if setting is None:
        raise ValueError(
            f"{ENV_SWITCH} must be 0 or 1 (or off/on, false/true, no/yes), got {value!r}"
        )
    if not setting:
        return False
    try:
        import numba  # noqa: F401
    except ModuleNotFoundError as error:
        if error.name == "numba":  # not installed: the light install
            return False
        failure: Exception = error
    except Exception as error:  # noqa: BLE001 (any failure of an optional speed-up)
        failure = error
    else:
        return True
    warnings.warn(
        f"numba failed to import ({type(failure).__name__}: {failure}); the environments run "
        "their uncompiled paths, Python and numpy (the same numbers, slower)",
        RuntimeWarning,
        stacklevel=2,
    )
    return False


def compiled_calling(
    function: Callable[..., Any], calls: Mapping[str, Any], *, error_model: str = "numpy"
) -> Any:
    """``function`` compiled (:func:`compiled`, not cached on disk) with the global functions
    it calls, named in ``calls``, replaced by their compiled versions (numba calls compiled
    functions only; for a dataclass it builds, pass a named tuple of its fields): a function
    written once for floats and arrays compiled as written, its module unchanged. ValueError
    for a name in ``calls`` that ``function`` (or code nested in it) never looks up."""
    unused = set(calls) - global_names(function.__code__)
    if unused:
        raise ValueError(f"{function.__qualname__} uses no global named {sorted(unused)}")
    namespace = {**function.__globals__, **calls}
    copy = types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__
    )
    copy.__kwdefaults__ = None if function.__kwdefaults__ is None else {**function.__kwdefaults__}
    copy.__qualname__, copy.__doc__ = function.__qualname__, function.__doc__
    return compiled(copy, cache=False, error_model=error_model)


def global_names(code: types.CodeType) -> set[str]:
    """The names ``code`` and the code nested in it (comprehensions, lambdas, inner
    functions) look up as globals or attributes."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= global_names(constant)
    return names


def compiled(
    function: Callable[..., Any], *, cache: bool = True, error_model: str = "numpy"
) -> Any:
    """``function`` compiled by numba with :data:`COMPILE`'s options (``cache=False``: compiled in
    each process, never loaded from disk; ``error_model="python"``: a float division by 0 raises
    ZeroDivisionError), without the disk cache where numba finds no writable cache folder (a
    read-only install without a home folder: numba then refuses ``cache=True`` with a
    RuntimeError; each process compiles instead). ModuleNotFoundError without numba."""
    import numba

    options = {**COMPILE, "cache": cache, "error_model": error_model}
    try:
        return numba.njit(**options)(function)
    except RuntimeError as error:
        if "cannot cache" not in str(error):
            raise
        return numba.njit(**{**options, "cache": False})(function)
