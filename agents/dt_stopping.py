"""The digital-twin-assisted optimal-stopping agent of Hu et al. for MultiStepOffload-v1.

Offloading a task is an optimal-stopping problem: at each decision boundary the controller
compares the stopping value ``G(s)`` (utility of offloading now) with the continuation value
``Q_c(s)`` and offloads at the first boundary where ``G(s) >= Q_c(s)``. A small MLP
("ContValueNet") with two heads estimates both from the observation. It is trained by fitted
backward induction on data from DT #1: every finished task is replayed at every boundary, so
each task yields a state and a stopping utility for every boundary ("DT augmentation"). The
variant without augmentation sees only the states the behaviour policy visited and their
realised outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from mec_gym.agents.base import FixedPolicy
from mec_gym.twins.decision_replay import DecisionEvaluationTwin

__all__ = [
    "ContValueNet",
    "StoppingSample",
    "OptimalStoppingPolicy",
    "collect_stopping_data",
    "train_stopping_policy",
]


class ContValueNet(nn.Module):
    """MLP from an observation to (stopping value G, continuation value Q_c), in utility units."""

    def __init__(self, obs_size: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = obs_size
        for size in hidden:
            layers += [nn.Linear(width, size), nn.Tanh()]
            width = size
        layers.append(nn.Linear(width, 2))
        self.body = nn.Sequential(*layers)

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        return self.body(observation)


@dataclass
class StoppingSample:
    """The decision states of one task in order, with what stopping at each would yield.

    ``offload_utility[i]`` is NaN where it is unknown (no DT augmentation, not offloaded there)
    or offloading is not allowed; ``final_utility`` is the utility of continuing past the last
    state (local completion, or with no augmentation the realised outcome).
    """

    observations: np.ndarray
    offload_utility: np.ndarray
    final_utility: float


def collect_stopping_data(
    env_id: str,
    env_kwargs: dict | None,
    seeds: Sequence[int],
    augment: bool,
    offload_probability: float = 0.3,
) -> list[StoppingSample]:
    """Run a random-stopping behaviour policy and turn its episodes into training samples.

    With ``augment``, DT #1 provides every boundary's state and stopping utility; without, only
    the visited states, the realised utility where the task was offloaded, and the realised
    outcome as the value of continuing.
    """
    env = gym.make(env_id, **(env_kwargs or {}))
    base = env.unwrapped
    samples: list[StoppingSample] = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        observation, info = env.reset(seed=int(seed))
        visited: dict[int, list[tuple[np.ndarray, int]]] = {}
        done = False
        while not done:
            allowed = bool(info["action_mask"][1])
            action = int(allowed and rng.random() < offload_probability)
            visited.setdefault(info["task"], []).append((observation, action))
            observation, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        if augment:
            twin = DecisionEvaluationTwin(env)
            for task in range(base.config.tasks_per_episode):
                options = twin.task_options(task)
                reached = [i for i, obs in enumerate(options.observations) if obs is not None]
                if not reached:
                    continue
                utilities = options.offload_utility[reached].copy()
                utilities[~base.offload_allowed[np.asarray(options.boundaries)[reached]]] = np.nan
                samples.append(
                    StoppingSample(
                        np.stack([options.observations[i] for i in reached]),
                        utilities,
                        options.local_utility,
                    )
                )
        else:
            for task, steps in visited.items():
                record = base.records[task]
                utilities = np.full(len(steps), np.nan)
                offloaded = steps[-1][1] == 1
                if offloaded:
                    utilities[-1] = record.utility
                samples.append(
                    StoppingSample(
                        np.stack([obs for obs, _ in steps]),
                        utilities,
                        np.nan if offloaded else record.utility,
                    )
                )
    env.close()
    return samples


def continuation_targets(sample: StoppingSample, stops: np.ndarray) -> np.ndarray:
    """Backward-induction targets of Q_c for one task's states.

    ``stops[i]`` says whether the current policy would offload at state ``i``. The value of
    continuing past the last state is ``final_utility``; before, it is the stopping utility of the
    next state where the policy stops there (or where nothing later is known), else the next
    state's continuation target. NaN where nothing is known.
    """
    count = len(sample.offload_utility)
    targets = np.full(count, np.nan)
    targets[-1] = sample.final_utility
    for i in range(count - 2, -1, -1):
        next_stop = sample.offload_utility[i + 1]
        if np.isfinite(next_stop) and (stops[i + 1] or not np.isfinite(targets[i + 1])):
            targets[i] = next_stop
        else:
            targets[i] = targets[i + 1]
    return targets


def _fit(
    net: ContValueNet,
    observations: torch.Tensor,
    targets: torch.Tensor,
    epochs: int,
    generator: torch.Generator,
) -> None:
    """Regress both heads on their targets (NaN targets are ignored)."""
    known = torch.isfinite(targets)
    filled = torch.where(known, targets, torch.zeros_like(targets))
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-3)
    batch = 256
    for _ in range(epochs):
        order = torch.randperm(len(observations), generator=generator)
        for first in range(0, len(order), batch):
            index = order[first : first + batch]
            error = (net(observations[index]) - filled[index]) ** 2 * known[index]
            loss = error.sum() / known[index].sum().clamp(min=1)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()


def train_stopping_policy(
    env: gym.Env,
    samples: Sequence[StoppingSample],
    name: str,
    iterations: int = 3,
    epochs: int = 20,
    seed: int = 0,
) -> OptimalStoppingPolicy:
    """Fitted backward induction: fit G and Q_c, recompute the targets under the new stopping
    rule, refit; ``iterations`` rounds."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    observations = torch.as_tensor(np.concatenate([s.observations for s in samples]))
    stop_targets = np.concatenate([s.offload_utility for s in samples])
    bounds = np.cumsum([0] + [len(s.offload_utility) for s in samples])
    net = ContValueNet(observations.shape[1])
    stops = np.isfinite(stop_targets)  # first round: the myopic rule "stop wherever known"
    for _ in range(iterations):
        continue_targets = np.concatenate(
            [
                continuation_targets(sample, stops[bounds[i] : bounds[i + 1]])
                for i, sample in enumerate(samples)
            ]
        )
        targets = torch.as_tensor(
            np.stack([stop_targets, continue_targets], axis=1), dtype=torch.float32
        )
        _fit(net, observations, targets, epochs, generator)
        with torch.no_grad():
            values = net(observations).numpy()
        stops = np.isfinite(stop_targets) & (values[:, 0] >= values[:, 1])
    net.eval()
    return OptimalStoppingPolicy(env, net, name)


class OptimalStoppingPolicy(FixedPolicy):
    """Offload at the first allowed boundary where ContValueNet's G(s) >= Q_c(s)."""

    def __init__(self, env: gym.Env, net: ContValueNet, name: str) -> None:
        base = env.unwrapped
        self.net = net
        self.name = name
        self._offload_allowed = base.offload_allowed
        self._boundary = slice(
            base.config.num_devices, base.config.num_devices + len(base.offload_allowed)
        )

    def act(self, observation: np.ndarray, env_index: int) -> int:
        boundary = int(np.argmax(observation[self._boundary]))
        if not self._offload_allowed[boundary]:
            return 0
        with torch.no_grad():
            stop, cont = self.net(torch.as_tensor(observation, dtype=torch.float32)).tolist()
        return int(stop >= cont)
