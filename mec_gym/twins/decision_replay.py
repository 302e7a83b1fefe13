"""Digital twin #1: evaluation of every possible offloading decision of a finished task.

Each finished task is replayed once per decision boundary (and once for local completion)
against the exogenous trajectory that actually happened: its own arrival, start time and
compute-time noise, the realised uplink channel, and the edge's realised arrivals (background
work and the other devices' uploads) without the task's own upload. The other tasks' decisions
are held fixed. This yields the counterfactual utility ``U(l)`` of every option — training
targets for the continuation values and a hindsight oracle — and the state the controller
would have seen at each boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mec_gym.simulators.multistep_offload import DecisionContext, MultiStepSimulator, TaskRecord

__all__ = ["DecisionEvaluationTwin", "TaskOptions"]

ObservationEncoder = Callable[[DecisionContext], np.ndarray]
"""Maps a decision's context to the controller's observation (an environment's encoder)."""


@dataclass(frozen=True)
class TaskOptions:
    """Every option of one task: offload at each decision boundary, or finish locally.

    ``observations[i]`` is the state at ``boundaries[i]`` (None if the task never reaches that
    decision, having finished locally first); ``offload_utility[i]`` the utility of offloading
    there (the local utility where that decision is never reached).
    """

    task: int
    boundaries: tuple[int, ...]
    observations: tuple[np.ndarray | None, ...]
    offload_utility: np.ndarray
    local_utility: float
    realised_utility: float
    realised_boundary: int

    @property
    def best_utility(self) -> float:
        """Hindsight-optimal utility of the task."""
        return float(max(self.local_utility, self.offload_utility.max(initial=-np.inf)))

    @property
    def best_option(self) -> int:
        """Hindsight-optimal option: an offload boundary, or -1 for local completion."""
        if self.offload_utility.size and self.offload_utility.max() > self.local_utility:
            return self.boundaries[int(np.argmax(self.offload_utility))]
        return -1


class DecisionEvaluationTwin:
    """Replays the finished tasks of a finished MultiStepOffload episode under every decision.

    Built from the environment (``env`` or ``env.unwrapped``: its simulator, and its observation
    encoder for the counterfactual observations), or from a ``MultiStepSimulator`` and an
    optional ``encode`` (without one, ``observation`` is unavailable and ``task_options``
    needs ``with_observations=False``).
    """

    def __init__(self, source: Any, encode: ObservationEncoder | None = None) -> None:
        if isinstance(source, MultiStepSimulator):
            simulator = source
        else:
            env = source.unwrapped
            simulator, encode = env.simulator, encode or env.encode_observation
        records = simulator.state.records if simulator.state is not None else [None]
        if any(record is None for record in records):
            raise RuntimeError(
                "DecisionEvaluationTwin needs a finished episode: the replays use the whole "
                "realised trajectory (run the episode until terminated)"
            )
        self.simulator = simulator
        self.encode = encode
        self.episode = simulator.state
        self.records: list[TaskRecord] = records  # type: ignore[assignment]
        # realise the background load far enough for any counterfactual upload to end
        simulator.advance_edge(max(record.finish for record in records) + 60.0)

    def _replayed_simulator(self) -> MultiStepSimulator:
        """The simulator, still on the episode this twin replays (RuntimeError otherwise)."""
        if self.simulator.state is not self.episode:
            raise RuntimeError("the simulator was reset since this twin was built: build a new one")
        return self.simulator

    def replay_offload(self, task: int, boundary: int) -> TaskRecord:
        """Outcome of ``task`` had the controller offloaded it at ``boundary``."""
        sim = self._replayed_simulator()
        realised = self.records[task]
        interval = sim.upload_interval(task, boundary, sim.decision_time(task, boundary))
        if interval is None:  # the decision is never reached: the task finishes locally
            return sim.local_record(task)
        upload_start, upload_end = interval
        waiting_s = sim.edge_backlog_without(upload_end, realised.edge_job) / sim.config.edge_speed
        return sim.offload_record(task, boundary, upload_start, upload_end, waiting_s)

    def replay_local(self, task: int) -> TaskRecord:
        """Outcome of ``task`` had it run to completion on its device."""
        return self._replayed_simulator().local_record(task)

    def observation(self, task: int, boundary: int) -> np.ndarray | None:
        """The controller's observation at the decision on ``task`` at ``boundary``, had the task
        continued until then (None if it would have finished locally before)."""
        if self.encode is None:
            raise RuntimeError("observations need an encoder: build the twin from the env")
        context = self._replayed_simulator().context_at(task, boundary)
        return None if context is None else self.encode(context)

    def task_options(self, task: int, with_observations: bool = True) -> TaskOptions:
        """Replay ``task`` under every option."""
        boundaries = self.simulator.decision_boundaries
        observations = tuple(
            self.observation(task, b) if with_observations else None for b in boundaries
        )
        realised = self.records[task]
        return TaskOptions(
            task=task,
            boundaries=boundaries,
            observations=observations,
            offload_utility=np.array([self.replay_offload(task, b).utility for b in boundaries]),
            local_utility=self.replay_local(task).utility,
            realised_utility=realised.utility,
            realised_boundary=realised.boundary,
        )

    def all_task_options(self, with_observations: bool = True) -> list[TaskOptions]:
        """Replays of every task of the episode."""
        return [self.task_options(task, with_observations) for task in range(len(self.records))]
