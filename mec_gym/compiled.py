"""Compiled loops with numba, which is not in the light install (the ``solvers`` extra has it).

:func:`compiled` compiles a function with the package's numba options. ADMM's loops need it
(:mod:`mec_gym.solvers.joint_offload.admm_kernels`). An environment compiles its hot loops only
where :func:`compiled_envs` (numba imports, and the environment variable ``MEC_GYM_NUMBA`` is not
``0``), and runs its pure-Python path otherwise, with the same numbers bit for bit:
``MEC_GYM_NUMBA=0`` gives the light install's speed and code path with numba installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import Any

__all__ = ["COMPILE", "ENV_SWITCH", "compiled", "compiled_envs"]

COMPILE = {"cache": True, "error_model": "numpy", "nogil": True}
"""numba options: compiled code cached on disk; ``error_model="numpy"``: a float division by 0
gives inf or NaN as in numpy (no exception check in the loops, so they vectorise)."""


ENV_SWITCH = "MEC_GYM_NUMBA"
"""Environment variable: ``0`` makes the environments run their pure-Python paths."""


@cache
def compiled_envs() -> bool:
    """Whether the environments compile their hot loops: numba imports (not where it is missing
    or fails to import, e.g. with a numpy release it does not support yet) and ``MEC_GYM_NUMBA``
    is not ``0`` (read once per process)."""
    if os.environ.get(ENV_SWITCH, "").strip() == "0":
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def compiled(function: Callable[..., Any], *, cache: bool = True) -> Any:
    """``function`` compiled by numba with :data:`COMPILE`'s options (``cache=False``: compiled in
    each process, never loaded from disk), without the disk cache where numba finds no writable
    cache folder (a read-only install without a home folder: numba then refuses ``cache=True``
    with a RuntimeError; each process compiles instead). ModuleNotFoundError without numba."""
    import numba

    options = {**COMPILE, "cache": cache}
    try:
        return numba.njit(**options)(function)
    except RuntimeError as error:
        if "cannot cache" not in str(error):
            raise
        return numba.njit(**{**options, "cache": False})(function)
