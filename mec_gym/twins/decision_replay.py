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

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mec_gym.models.layered_inference import offload_upload_start

if TYPE_CHECKING:
    from mec_gym.envs.multistep_offload import MultiStepOffloadEnv, TaskRecord

__all__ = ["DecisionEvaluationTwin", "TaskOptions"]


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
    """Replays the finished tasks of a finished MultiStepOffload episode under every decision."""

    def __init__(self, env: MultiStepOffloadEnv) -> None:
        env = env.unwrapped  # type: ignore[assignment]
        if any(record is None for record in env.records):
            raise RuntimeError(
                "DecisionEvaluationTwin needs a finished episode: the replays use the whole "
                "realised trajectory (run the episode until terminated)"
            )
        self.env = env
        # realise the background load far enough for any counterfactual upload to end
        env.advance_edge(max(record.finish for record in env.records) + 60.0)

    def replay_offload(self, task: int, boundary: int) -> TaskRecord:
        """Outcome of ``task`` had the controller offloaded it at ``boundary``."""
        env = self.env
        realised = env.records[task]
        start = realised.start
        upload_start = offload_upload_start(
            start + env.reach_s[task, boundary],
            env.decision_time(task, boundary),
            start + env.local_compute_s[task],
        )
        if upload_start is None:  # the decision is never reached: the task finishes locally
            return env.local_record(task)
        upload_end = env.uplinks.finish_time(
            realised.device, upload_start, env.upload_bits[boundary]
        )
        excluded = realised.edge_job if realised.edge_job >= 0 else None
        waiting_s = env.edge.backlog_without(upload_end, excluded) / env.config.edge_speed
        return env.offload_record(task, boundary, upload_start, upload_end, waiting_s)

    def replay_local(self, task: int) -> TaskRecord:
        """Outcome of ``task`` had it run to completion on its device."""
        return self.env.local_record(task)

    def observation(self, task: int, boundary: int) -> np.ndarray | None:
        """The controller's observation at the decision on ``task`` at ``boundary``, had the task
        continued until then (None if it would have finished locally before)."""
        env = self.env
        realised = env.records[task]
        time_s = env.decision_time(task, boundary)
        if time_s >= realised.start + env.local_compute_s[task]:
            return None
        excluded = realised.edge_job if realised.edge_job >= 0 else None
        return env.observation_at(
            realised.device,
            boundary,
            time_s,
            realised.arrival,
            env.queue_length(task, time_s),
            env.edge.backlog_without(time_s, excluded),
        )

    def task_options(self, task: int, with_observations: bool = True) -> TaskOptions:
        """Replay ``task`` under every option."""
        env = self.env
        boundaries = env.decision_boundaries
        observations = tuple(
            self.observation(task, b) if with_observations else None for b in boundaries
        )
        realised = env.records[task]
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
        return [
            self.task_options(task, with_observations)
            for task in range(self.env.config.tasks_per_episode)
        ]
