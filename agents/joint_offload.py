"""Fixed policies of the joint offloading system (``JointOffload-v1``, ``PerTaskOffload-v1``).

``JointOffload-v1``: :class:`SolverPolicy` rebuilds the round's problem instance from the
observation (which carries every device's channel gain), solves it with an analytic solver of
:mod:`mec_gym.solvers.joint_offload.registry` and returns the action that applies the solver's
allocation. The policies use the observation only, so they run on any instance of the env.

``PerTaskOffload-v1``: :class:`PerTaskRulePolicy` decides each arriving task from what the
observation tells (the device's gain, its local backlog, the free uplink and edge-CPU shares):
it reserves a share of the free resources, costs the task at the edge with Theorem 2's frames
for those shares and locally with Theorem 1 plus the queueing delay, and takes the cheaper.
With ``share=None`` it is the greedy rule (take everything free); with a share ``1/m`` it sizes
the reservation for ``m`` concurrent edge tasks; :class:`PerTaskSolverPolicy` sizes it with an
analytic solver of the joint problem on the task's device and ``m - 1`` typical devices.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from mec_gym.agents.base import RandomizedPolicy
from mec_gym.envs.per_task_offload import (
    SHARE_FRACTION_FLOOR,
    PerTaskOffloadEnv,
)
from mec_gym.problems.joint_offload import (
    JointOffloadProblem,
    channel_gains_db,
)
from mec_gym.simulators.per_task_offload import TaskDecision, edge_option
from mec_gym.solvers.joint_offload.local import local_optimum
from mec_gym.solvers.joint_offload.registry import SOLVER_LABELS, SOLVERS, solve, solver_applies

__all__ = [
    "SolverPolicy",
    "PerTaskRulePolicy",
    "PerTaskSolverPolicy",
    "PER_TASK_DECISIONS",
    "joint_offload_baselines",
    "per_task_baselines",
]

PER_TASK_DECISIONS = ("cheaper", "local", "edge", "random")
"""How :class:`PerTaskRulePolicy` chooses between its edge and its local option."""


class SolverPolicy(RandomizedPolicy):
    """A JointOffload-v1 solver as a fixed policy: solve the observed instance, apply it.

    ``env`` is any instance of the environment with the same configuration (its
    ``decode_observation`` and ``action_from_allocation`` are used, not its state). ``seed``
    seeds the draws of the ``random`` solver (:class:`RandomizedPolicy`).
    """

    def __init__(self, env: Any, solver: str, seed: int = 0) -> None:
        super().__init__(seed)
        self.base = env.unwrapped
        self.solver = solver
        self.name = solver
        config = self.base.config
        self.template = JointOffloadProblem.from_gains(config, np.zeros(config.num_devices))

    @property
    def label(self) -> str:
        """The solver's name as in the paper's figures."""
        return SOLVER_LABELS[self.solver]

    def problem_from_observation(self, observation: np.ndarray) -> JointOffloadProblem:
        """The round's instance, rebuilt from the observed gains."""
        return self.template.with_gains(self.base.decode_observation(observation)["gain_db"])

    def act(self, observation: np.ndarray, env_index: int) -> np.ndarray:
        allocation = solve(self.solver, self.problem_from_observation(observation), self.rng)
        return self.base.action_from_allocation(allocation)


class PerTaskRulePolicy(RandomizedPolicy):
    """PerTaskOffload-v1: edge-or-local rule for the arriving task, from the observation.

    The edge option reserves ``share`` of the uplink and of the edge CPU (absolute fractions,
    capped by what is free; ``None``: everything the env lets a task take) and runs the frames
    that minimise the task's edge cost with those shares. The local option runs Theorem 1's
    frames and frequency and pays the device's backlog as waiting. The cheaper one is chosen
    (always the local one with ``allow_offload=False``).
    """

    def __init__(
        self,
        env: Any,
        share: float | None = None,
        name: str | None = None,
        decision: str = "cheaper",
        seed: int = 0,
    ) -> None:
        base = env.unwrapped
        if not isinstance(base, PerTaskOffloadEnv):
            raise TypeError(f"PerTaskRulePolicy needs PerTaskOffload-v1, got {type(base).__name__}")
        if share is not None and not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1] or None, got {share}")
        if decision not in PER_TASK_DECISIONS:
            raise ValueError(f"decision must be one of {PER_TASK_DECISIONS}, got {decision!r}")
        super().__init__(seed)
        self.base = base
        self.share = share
        self.decision = decision
        default_name = "greedy" if share is None else f"share_1/{1 / share:g}"
        if decision != "cheaper":
            default_name = {"local": "local_only", "edge": "edge_only"}.get(decision, decision)
        self.name = name or default_name
        config = base.config
        self.template = template = JointOffloadProblem.from_gains(config, [0.0])
        self.local = local_optimum(template)

    def wanted_shares(self, gain_db: float) -> tuple[float, float]:
        """(time share, edge-CPU share) the task would reserve, before capping by what is free."""
        wanted = 1.0 - SHARE_FRACTION_FLOOR if self.share is None else self.share
        return wanted, wanted

    def act(self, observation: np.ndarray, env_index: int) -> np.ndarray:
        config = self.base.config
        observed = self.base.decode_observation(observation)
        gain_db, backlog = observed["gain_db"], observed["local_backlog"]
        free_uplink, free_edge = observed["free_uplink_share"], observed["free_edge_share"]
        problem = self.template.with_gains([gain_db])
        largest = 1.0 - SHARE_FRACTION_FLOOR  # the most of what is free a task can reserve
        wanted_time, wanted_edge = self.wanted_shares(gain_db)
        time_share = min(wanted_time, largest * free_uplink)
        edge_share = min(wanted_edge, largest * free_edge)

        local_cost = float(self.local.cost[0]) + config.delay_weight * backlog
        edge_cost = np.inf
        if self.decision != "local" and time_share > 0 and edge_share > 0:
            edge_frames, edge_cost = edge_option(problem, time_share, edge_share)
        offload = {
            "cheaper": edge_cost < local_cost,
            "local": False,
            "edge": np.isfinite(edge_cost),
            "random": np.isfinite(edge_cost) and self.rng.random() < 0.5,
        }[self.decision]
        if offload:
            decision = TaskDecision(True, edge_frames, time_share, edge_share)
            return self.base.action_from_decision(decision, (free_uplink, free_edge))
        local = TaskDecision(False, int(self.local.frames[0]), 0.0, 0.0, self.local.frequency[0])
        return self.base.action_from_decision(local)


class PerTaskSolverPolicy(PerTaskRulePolicy):
    """PerTaskOffload-v1: shares sized by an analytic solver for ``concurrency`` edge tasks.

    The arriving task's device is solved together with ``concurrency - 1`` typical devices (at
    the median distance of a uniform drop in the cell, no shadowing) by the named solver of the
    joint problem; if the solver offloads the task, its Theorem-2 shares are what the task
    reserves (capped by what is free), else it reserves 1/``concurrency``. The task then goes
    to the edge or stays local, whichever costs less with the shares it actually gets (as in
    :class:`PerTaskRulePolicy`). Solutions are cached per device gain.
    """

    def __init__(self, env: Any, solver: str = "gp_heuristic", concurrency: int = 4) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        super().__init__(env, share=1.0 / concurrency, name=f"{solver}_m{concurrency}")
        self.solver = solver
        self.concurrency = concurrency
        config = self.base.config
        # median distance to the centre of a uniform point in the square: 0.3826 * side
        typical = channel_gains_db(config, np.array([0.3826 * config.area_side]))[0]
        self.typical_gain_db = float(typical)
        self._cache: dict[float, tuple[float, float]] = {}

    def wanted_shares(self, gain_db: float) -> tuple[float, float]:
        key = round(gain_db, 3)  # observations carry the gain to about 1e-3 dB
        if key not in self._cache:
            gains = [gain_db, *[self.typical_gain_db] * (self.concurrency - 1)]
            problem = JointOffloadProblem.from_gains(self.base.config, gains)
            allocation = solve(self.solver, problem)
            if allocation.offload[0]:
                self._cache[key] = (
                    float(allocation.time_share[0]),
                    float(allocation.edge_frequency[0] / problem.config.edge_capacity),
                )
            else:
                self._cache[key] = (self.share, self.share)
        return self._cache[key]


def joint_offload_baselines(env_id: str, env_kwargs: dict[str, Any], seed: int) -> dict[str, Any]:
    """Every analytic solver tractable at the env's N, as a fixed policy."""

    env = gym.make(env_id, **env_kwargs)
    n = env.unwrapped.config.num_devices
    return {name: SolverPolicy(env, name, seed) for name in SOLVERS if solver_applies(name, n)}


PER_TASK_CONCURRENCY = (2, 4, 8)
"""Concurrent edge tasks the share-sizing rules of PerTaskOffload-v1 reserve for."""


def per_task_baselines(env_id: str, env_kwargs: dict[str, Any], seed: int) -> dict[str, Any]:
    """The greedy per-task rule, rules sized for m concurrent edge tasks (fixed 1/m shares, and
    GP+Heuristic on the task's device plus m - 1 typical ones), local only, edge only, random."""
    env = gym.make(env_id, **env_kwargs)
    policies = [
        PerTaskRulePolicy(env),
        *(PerTaskRulePolicy(env, share=1.0 / m) for m in PER_TASK_CONCURRENCY),
        *(PerTaskSolverPolicy(env, "gp_heuristic", m) for m in PER_TASK_CONCURRENCY),
        PerTaskRulePolicy(env, decision="local"),
        PerTaskRulePolicy(env, decision="edge"),
        PerTaskRulePolicy(env, decision="random", seed=seed),
    ]
    return {policy.name: policy for policy in policies}
