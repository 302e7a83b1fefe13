"""Arrival processes: Poisson and two-state Markov-modulated Poisson (MMPP).

Times in s, rates in 1/s. Every draw comes from the generator passed in.
"""

from __future__ import annotations

import numpy as np

__all__ = ["poisson_arrival_times", "mmpp_arrival_times"]


def poisson_arrival_times(rng: np.random.Generator, rate: float, count: int) -> np.ndarray:
    """The first ``count`` arrival times (s) of a Poisson process of ``rate`` 1/s from time 0."""
    return rng.exponential(1.0 / rate, size=count).cumsum()


def mmpp_arrival_times(
    rng: np.random.Generator,
    rates: tuple[float, float],
    mean_sojourn_s: float,
    start_s: float,
    end_s: float,
    state: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Arrivals in ``[start_s, end_s)`` of a two-state MMPP with symmetric exponential sojourns.

    The process starts in ``state`` (0 or 1) at ``start_s``; state ``i`` emits Poisson arrivals at
    ``rates[i]``. Returns the sorted arrival times, the times of the state switches in the window,
    and the state at ``end_s``. By memorylessness, consecutive windows chain into one process.
    """
    arrivals: list[np.ndarray] = []
    switches: list[float] = []
    t = start_s
    while t < end_s:
        stay = min(rng.exponential(mean_sojourn_s), end_s - t)
        count = rng.poisson(rates[state] * stay)
        arrivals.append(np.sort(rng.uniform(t, t + stay, size=count)))
        t += stay
        if t < end_s:
            switches.append(t)
            state = 1 - state
    times = np.concatenate(arrivals) if arrivals else np.empty(0)
    return times, np.asarray(switches), state
