"""numpy's sum of Python floats, so that a pure-Python step and a numpy computation agree bit
for bit.

Float addition is not associative, so a sum depends on its order. :func:`numpy_sum` adds in the
pairwise order of ``np.add.reduce`` over a contiguous float64 axis (what ``ndarray.sum`` and
``ndarray.mean`` use). Python's own ``sum`` adds left to right up to Python 3.11 and compensates
its rounding from 3.12 on, so it gives neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from operator import add

__all__ = ["PAIRWISE_BLOCK", "numpy_sum"]

PAIRWISE_BLOCK = 128
"""Longest run numpy's pairwise summation adds with its eight accumulators before halving."""


def numpy_sum(values: Sequence[float]) -> float:
    """What ``np.add.reduce`` returns for a float64 array of ``values``, bit for bit: fewer than
    8 values left to right; up to :data:`PAIRWISE_BLOCK` in 8 interleaved running sums (values
    i, i + 8, ...) combined as a tree, then the remainder left to right; more, the two halves
    (the first a multiple of 8 long) summed so and added."""
    n = len(values)
    if n < 8:
        return reduce(add, values, 0.0)
    if n > PAIRWISE_BLOCK:
        half = n // 2
        half -= half % 8
        return numpy_sum(values[:half]) + numpy_sum(values[half:])
    end = n - n % 8
    r0, r1, r2, r3, r4, r5, r6, r7 = values[:8]
    for i in range(8, end, 8):
        v0, v1, v2, v3, v4, v5, v6, v7 = values[i : i + 8]
        r0 += v0
        r1 += v1
        r2 += v2
        r3 += v3
        r4 += v4
        r5 += v5
        r6 += v6
        r7 += v7
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for value in values[end:]:
        total += value
    return 0.0 + total  # numpy adds to +0.0: negative zeros sum to +0.0
