"""The compilation of ADMM's loops where numba cannot cache them on disk."""

from __future__ import annotations

import numba
import pytest

from mec_gym.solvers.joint_offload import admm_kernels


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
    assert admm_kernels.compiled(twice)(1.5) == 3.0
    assert asked == [True, False]


def test_other_compilation_errors_are_not_hidden(monkeypatch):
    def njit(**options):
        raise RuntimeError("something else")

    monkeypatch.setattr(numba, "njit", njit)
    with pytest.raises(RuntimeError, match="something else"):
        admm_kernels.compiled(twice)
