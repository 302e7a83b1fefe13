"""A FIFO work-conserving server with an arrival log for counterfactual queries.

Work in MAC (or any unit), speed in work/s, time in s.
"""

from __future__ import annotations

from bisect import bisect_right

__all__ = ["FifoServer"]


class FifoServer:
    """Single FIFO server of ``speed`` work/s whose backlog follows Lindley's recursion.

    Every arrival is logged with the backlog it found, so that ``backlog_without`` can answer
    "what backlog would a job arriving at time t have found had arrival i never happened" — the
    query a digital twin replaying one task against the realised load needs.
    """

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.time = 0.0
        self.backlog = 0.0
        self.arrival_times: list[float] = []
        self.arrival_work: list[float] = []
        self.backlog_found: list[float] = []

    def advance(self, time_s: float) -> None:
        """Serve work until ``time_s`` (no-op for an earlier time)."""
        if time_s > self.time:
            self.backlog = max(0.0, self.backlog - self.speed * (time_s - self.time))
            self.time = time_s

    def arrive(self, time_s: float, work: float) -> tuple[int, float]:
        """Add a job of ``work`` at ``time_s`` (not before the last event).

        Returns the job's index in the log and its waiting time in s before service.
        """
        self.advance(time_s)
        waiting_s = self.backlog / self.speed
        self.arrival_times.append(time_s)
        self.arrival_work.append(work)
        self.backlog_found.append(self.backlog)
        self.backlog += work
        return len(self.arrival_times) - 1, waiting_s

    def backlog_at(self, time_s: float) -> float:
        """Unfinished work at ``time_s`` (>= the last arrival) in work units."""
        return max(0.0, self.backlog - self.speed * (time_s - self.time))

    def backlog_without(self, time_s: float, excluded: int | None = None) -> float:
        """Backlog a job arriving at ``time_s`` would find, the logged arrival ``excluded`` removed.

        Counts every logged arrival at or before ``time_s`` (ties go before the new job).
        """
        end = bisect_right(self.arrival_times, time_s)
        times, work = self.arrival_times, self.arrival_work
        if excluded is None or excluded >= end:
            if end == 0:
                return 0.0
            last = end - 1
            backlog, last_time = self.backlog_found[last] + work[last], times[last]
        else:
            backlog, last_time = self.backlog_found[excluded], times[excluded]
            for j in range(excluded + 1, end):
                backlog = max(0.0, backlog - self.speed * (times[j] - last_time)) + work[j]
                last_time = times[j]
        return max(0.0, backlog - self.speed * (time_s - last_time))
