"""Fixed baseline policies for MultiStepOffload-v1 (action 0 = continue, 1 = offload now)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from mec_gym.agents.base import CALIBRATION_SEEDS, FixedPolicy, run_episode, training_seed_block
from mec_gym.envs.multistep_offload import LOCAL, MultiStepOffloadEnv
from mec_gym.models.utility import weighted_cost
from mec_gym.simulators.multistep_offload import device_energy

__all__ = [
    "AlwaysLocalPolicy",
    "FixedSplitPolicy",
    "SingleShotPolicy",
    "UtilityEstimator",
    "fixed_option_policy",
    "multistep_baselines",
]


class UtilityEstimator:
    """Utility estimates of a task's options from what the controller observes.

    Offloading at ``l`` is estimated with the current uplink rate held for the whole upload,
    the current edge backlog as the waiting time, and nominal device compute times; local
    completion with nominal compute times. Time in s, energy in J.
    """

    def __init__(self, env: MultiStepOffloadEnv) -> None:
        env = env.unwrapped  # type: ignore[assignment]
        self.env = env
        cfg = env.config
        self.cost_weights = (cfg.weight_delay, cfg.weight_energy, cfg.weight_accuracy)
        self.config = cfg
        self.system = env.system
        self.nominal_reach = env.system.nominal_reach_s
        self.local_compute = env.system.nominal_local_s
        self.edge_compute = env.system.edge_work / cfg.edge_speed

    def offload(self, values: dict[str, float], boundary: int) -> float:
        """Estimated utility of offloading at ``boundary`` (at or after the observed one)."""
        cfg = self.config
        current = values["boundary"]
        ahead_s = self.nominal_reach[boundary] - self.nominal_reach[current]
        rate = max(values["uplink_rate"], 1.0)
        upload_s = self.system.upload_bits[boundary] / rate
        delay = (
            values["elapsed_s"]
            + ahead_s
            + upload_s
            + max(values["edge_backlog_s"] - ahead_s - upload_s, 0.0)
            + self.edge_compute[boundary]
        )
        energy = device_energy(cfg, self.nominal_reach[boundary], upload_s)
        return -weighted_cost(delay, energy, cfg.accuracy_full, *self.cost_weights)

    def local(self, values: dict[str, float]) -> float:
        """Estimated utility of finishing the task on the device."""
        cfg = self.config
        remaining = self.local_compute - self.nominal_reach[values["boundary"]]
        delay = values["elapsed_s"] + remaining
        energy = device_energy(cfg, self.local_compute)
        return -weighted_cost(delay, energy, cfg.accuracy_shallow, *self.cost_weights)


class AlwaysLocalPolicy(FixedPolicy):
    """Never offload: every task runs the shallow DNN and its exit head on the device."""

    name = "always_local"

    def act(self, observation: np.ndarray, env_index: int) -> int:
        return 0


class FixedSplitPolicy(FixedPolicy):
    """Offload every task at the first decision at or after a fixed boundary (0 = raw input)."""

    def __init__(self, env: MultiStepOffloadEnv, boundary: int) -> None:
        env = env.unwrapped  # type: ignore[assignment]
        if boundary not in env.decision_boundaries:
            raise ValueError(
                f"boundary must be one of the decision boundaries {env.decision_boundaries}, "
                f"got {boundary}"
            )
        self.env = env
        self.boundary = boundary
        self.name = "offload_raw" if boundary == 0 else f"split_{boundary}"

    def act(self, observation: np.ndarray, env_index: int) -> int:
        return int(self.env.decode_observation(observation)["boundary"] >= self.boundary)


class SingleShotPolicy(FixedPolicy):
    """Decide once where to offload (or not), from utility estimates, at the task's first
    decision epoch (when it starts: later than the spec's "at task generation", knowing its
    queueing delay and the channel and edge backlog at its start).

    Remembers the choice per device until the task's later decisions execute it.
    """

    name = "single_shot"

    def __init__(self, env: MultiStepOffloadEnv) -> None:
        self.env = env.unwrapped
        self.estimator = UtilityEstimator(self.env)
        self._plans: dict[tuple[int, int], int] = {}

    def act(self, observation: np.ndarray, env_index: int) -> int:
        values = self.env.decode_observation(observation)
        key = (env_index, values["device"])
        if values["boundary"] == self.env.decision_boundaries[0] or key not in self._plans:
            options = {b: self.estimator.offload(values, b) for b in self.env.decision_boundaries}
            best = max(options, key=options.__getitem__)
            self._plans[key] = best if options[best] > self.estimator.local(values) else LOCAL
        plan = self._plans[key]
        return int(plan != LOCAL and values["boundary"] >= plan)


def fixed_option_policy(env: MultiStepOffloadEnv, option: int) -> FixedPolicy:
    """The fixed policy that always takes ``option``: a boundary, or LOCAL."""
    return AlwaysLocalPolicy() if option == LOCAL else FixedSplitPolicy(env, option)


def multistep_baselines(
    env_id: str, env_kwargs: dict[str, Any], seed: int, episodes: int = 30
) -> dict[str, Any]:
    """Always local, raw offloading, single shot, the best fixed split (chosen on calibration
    seeds) and the stopping agents with and without DT #1 (trained on the seeds of
    ``training_seed_block(seed, episodes)``, inside the training seeds), by name; the
    registry's baseline builder of ``MultiStepOffload-v1``."""
    from mec_gym.agents.dt_stopping import collect_stopping_data, train_stopping_policy  # torch

    env = gym.make(env_id, **env_kwargs)
    base = env.unwrapped
    policies: dict[str, Any] = {
        "always_local": AlwaysLocalPolicy(),
        "offload_raw": FixedSplitPolicy(base, 0),
        "single_shot": SingleShotPolicy(base),
    }
    # best fixed split, chosen on calibration seeds (disjoint from training and evaluation)
    calibration = CALIBRATION_SEEDS[: max(episodes // 3, 2)]
    scores = {}
    for option in (LOCAL, *base.decision_boundaries):
        policy = fixed_option_policy(base, option)
        scores[option] = float(
            np.mean([run_episode(policy, env, seed)[0]["utility"] for seed in calibration])
        )
    best = max(scores, key=scores.__getitem__)
    best_policy = fixed_option_policy(base, best)
    best_policy.name = f"best_fixed_split ({'local' if best == LOCAL else f'boundary {best}'})"
    policies["best_fixed_split"] = best_policy
    training_seeds = training_seed_block(seed, episodes)
    for augment, name in ((True, "dt_stopping"), (False, "stopping_no_dt")):
        samples = collect_stopping_data(env_id, env_kwargs, training_seeds, augment=augment)
        policies[name] = train_stopping_policy(env, samples, name, seed=seed)
    return policies
