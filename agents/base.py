"""Fixed policies with the stable-baselines3 ``predict`` call shape."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["FixedPolicy"]


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
        return np.stack([self.act(row, i) for i, row in enumerate(observation)]), state

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"
