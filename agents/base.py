"""Fixed policies with the stable-baselines3 ``predict`` call shape."""

from __future__ import annotations

import inspect
import numbers
import time
from typing import Any

import numpy as np

__all__ = [
    "CALIBRATION_SEEDS",
    "TRAINING_SEEDS",
    "FixedPolicy",
    "RandomizedPolicy",
    "training_seed_block",
    "run_episode",
]

TRAINING_SEEDS = range(0, 10_000)
"""Seeds a baseline may learn or fit on, disjoint from the calibration, test (10_000..10_099)
and validation (30_000..30_099) seeds."""
CALIBRATION_SEEDS = range(20_000, 30_000)
"""Seeds for calibrating baselines (e.g. the best fixed split), disjoint from the training
(0..9_999) and evaluation (10_000..10_099) seeds."""


def training_seed_block(seed: int, count: int) -> range:
    """``count`` consecutive seeds of :data:`TRAINING_SEEDS` for a baseline fitted under
    training seed ``seed`` (>= 0): from ``1000 seed`` for seeds 0..9 (their blocks do not
    overlap while ``count`` <= 1000); a later seed's block wraps round inside
    ``TRAINING_SEEDS`` and may share seeds with an earlier one's, never with the held-out seeds.
    ValueError for a negative seed or a count outside [1, 10_000]."""
    if isinstance(seed, bool) or seed < 0 or not 1 <= count <= len(TRAINING_SEEDS):
        raise ValueError(
            f"training seed must be >= 0 and count in [1, {len(TRAINING_SEEDS)}], "
            f"got seed {seed} and count {count}"
        )
    start = 1000 * seed % (len(TRAINING_SEEDS) - count + 1)
    return TRAINING_SEEDS[start : start + count]


class FixedPolicy:
    """Base of the baselines: ``predict`` maps one observation or a batch of them to actions.

    Subclasses implement ``act(observation, env_index) -> action`` for a single observation;
    ``env_index`` tells the rows of a vectorised batch apart for policies with per-task memory.
    """

    name: str = "fixed"

    def act(self, observation: np.ndarray, env_index: int) -> Any:
        raise NotImplementedError

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, Any]:
        """Actions for ``observation`` (a single one or a batch), SB3-style; state is unused."""
        observation = np.asarray(observation)
        if observation.ndim == 1:
            return np.asarray(self.act(observation, 0)), state
        return self.act_batch(observation), state

    def act_batch(self, observations: np.ndarray) -> np.ndarray:
        """Actions for a batch of observations (rows); ``act`` row by row unless overridden."""
        return np.stack([self.act(row, i) for i, row in enumerate(observations)])

    def begin_episode(self, seed: int) -> None:
        """Called by the evaluations before each episode with its env seed (see
        :class:`RandomizedPolicy`); nothing to do for a policy without draws of its own."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class RandomizedPolicy(FixedPolicy):
    """A fixed policy with draws of its own (``self.rng``, e.g. a random baseline): they start
    from ``seed`` and again, at each :meth:`begin_episode`, from ``seed`` and the episode's env
    seed, so that its actions in an episode depend on those two alone (not on the episodes it
    played before: a table resumed or played in another order gives the same scores)."""

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)

    def begin_episode(self, seed: int) -> None:
        self.rng = np.random.default_rng([self.seed, int(seed)])


def takes_state(policy: Any) -> bool:
    """Whether ``policy.predict`` takes a ``state`` argument (SB3's call shape)."""
    try:
        return "state" in inspect.signature(policy.predict).parameters
    except (TypeError, ValueError):
        return False


def run_episode(
    policy: Any, env: Any, seed: int, action_masks: bool = False
) -> tuple[dict[str, Any], int, float]:
    """Play one deterministic episode of ``policy`` on ``env`` from ``reset(seed=seed)``.

    A :class:`FixedPolicy` is told the episode's seed first (:meth:`FixedPolicy.begin_episode`).
    A ``predict`` that takes ``state`` gets back the state it returned (recurrent policies).
    With ``action_masks``, the env's ``action_masks()`` is passed to ``predict`` (MaskablePPO).
    Returns the last ``info``, the number of decisions and the seconds spent in ``predict``.
    """
    observation, info = env.reset(seed=int(seed))
    if isinstance(policy, FixedPolicy):
        policy.begin_episode(int(seed))
    episode_start = np.ones(1, dtype=bool)
    recurrent = takes_state(policy)
    state = None  # a recurrent policy's hidden state, handed back at every step
    decisions, seconds, done = 0, 0.0, False
    while not done:
        extra = {"action_masks": env.unwrapped.action_masks()} if action_masks else {}
        if recurrent:
            extra["state"] = state
        tic = time.perf_counter()
        action, state = policy.predict(
            observation, episode_start=episode_start, deterministic=True, **extra
        )
        seconds += time.perf_counter() - tic
        decisions += 1
        episode_start = np.zeros(1, dtype=bool)
        observation, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    return info, decisions, seconds
