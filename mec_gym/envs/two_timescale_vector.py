"""A native batched vector env of TwoTimescale-v0.

Source: J. Cong, G. Cheng, C. You, X. Huang, W. Wu, "Two-Timescale Digital Twin Assisted Model
Interference and Retraining over Wireless Network", arXiv 2411.18329; spec
``docs/two_timescale.md``.

:class:`TwoTimescaleVectorEnv` runs ``num_envs`` copies of
:class:`~mec_gym.envs.two_timescale.TwoTimescaleEnv` as one batch of the same simulator
(:class:`~mec_gym.simulators.two_timescale.TwoTimescaleSimulator` with ``num_envs``), with the
env's own action and observation maps applied to arrays with a leading env axis. Each sub-env
keeps its own ``numpy.random.Generator`` and draws its episodes from it exactly as the scalar env
draws from its ``np_random``, so that sub-env i after ``reset(seed=s)`` equals the scalar env
after ``reset(seed=s + i)`` step by step (what ``SyncVectorEnv`` gives), autoresets included.
Every episode has the same length, so the sub-envs end and restart together.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mec_gym.envs.base import LockstepVectorEnv
from mec_gym.envs.two_timescale import (
    FramePolicy,
    SlotObserver,
    TwoTimescaleEnv,
    decision_from_action,
    resolve_frame_policy,
    slot_action_space,
    slot_observation_space,
)
from mec_gym.problems.two_timescale import SlotProblem
from mec_gym.simulators.two_timescale import (
    SlotDecision,
    SlotGenerator,
    TwoTimescaleEnvConfig,
    TwoTimescaleSimulator,
)

__all__ = ["TwoTimescaleVectorEnv"]


class TwoTimescaleVectorEnv(LockstepVectorEnv):
    """``num_envs`` TwoTimescale environments stepped as one batch (see the module docstring).

    Spaces, rewards, flags and the per-sub-env ``info`` values are those of
    :class:`~mec_gym.envs.two_timescale.TwoTimescaleEnv`; ``info`` holds each key as an array
    over the sub-envs with the mask ``"_" + key``, as ``SyncVectorEnv`` builds it. Autoreset
    mode ``NEXT_STEP``: the step after the episodes end resets them (the actions are ignored)
    and returns the new episodes' first observations with reward 0, both flags False and an
    empty ``info``. Arguments are the scalar env's (``config``, ``frame_policy``, ``slots``,
    config fields); the frame policy sees the batch's
    :class:`~mec_gym.simulators.two_timescale.FrameView` (a leading env axis on its arrays), as
    the rules of ``FRAME_POLICIES`` accept; ``render_mode`` must be None. ``env.simulator``
    draws the next episodes into the arrays of the last ones (see
    :meth:`~mec_gym.simulators.two_timescale.TwoTimescaleSimulator.reset`): copy what you keep
    of its state across an autoreset.
    """

    def __init__(
        self,
        num_envs: int = 1,
        config: TwoTimescaleEnvConfig | dict[str, Any] | None = None,
        render_mode: str | None = None,
        frame_policy: FramePolicy | str | None = None,
        slots: SlotGenerator | None = None,
        max_episode_steps: int | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(TwoTimescaleEnv, num_envs, config, render_mode, overrides)
        self.limit_steps(max_episode_steps)
        cfg = self.config
        self.frame_policy: FramePolicy = resolve_frame_policy(frame_policy)
        self.simulator = TwoTimescaleSimulator(cfg, slots, self.num_envs)
        self.observer = SlotObserver(cfg, (self.num_envs,))
        self.set_single_spaces(slot_action_space(cfg), slot_observation_space(cfg))
        self.frame_problem: SlotProblem | None = None
        self.totals = np.zeros((self.num_envs, len(self.keys)))

    # ------------------------------------------------------------------ gym API
    def _step_all(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        n, cfg = self.num_envs, self.config
        simulator = self.simulator
        shares, ratio = decision_from_action(cfg, self.frame_problem, simulator.state, actions)
        outcome = simulator.step_slot(SlotDecision(shares, ratio), check=False)
        values = outcome.summary.T
        self.totals += values
        slot = simulator.state.slot
        infos: dict[str, Any] = {key: self.totals[:, j] / slot for j, key in enumerate(self.keys)}
        infos["slot_cost"] = values[:, 0]
        truncated = simulator.done
        if not truncated and simulator.frame_over:
            self._begin_frame()
        infos["slot"] = np.full(n, slot)
        infos["frame"] = np.full(n, simulator.state.frame)
        for key in list(infos):
            infos["_" + key] = np.ones(n, dtype=bool)
        self.autoreset = truncated
        return (
            self.observer.observe(simulator),
            -values[:, 0] / cfg.num_mus,
            np.zeros(n, dtype=bool),
            np.full(n, truncated),
            infos,
        )

    # ------------------------------------------------------------------ internals
    def _start(self) -> tuple[np.ndarray, dict[str, Any]]:
        """New episodes for every sub-env (from their own generators); their observations and
        reset ``info`` (none)."""
        self.simulator.reset(self.rngs)
        self._begin_frame()
        self.totals[:] = 0.0
        self.autoreset = False
        return self.observer.observe(self.simulator), {}

    def _begin_frame(self) -> None:
        simulator = self.simulator
        simulator.begin_frame(self.frame_policy(simulator.frame_view()))
        self.frame_problem = simulator.slot_problem()
        self.observer.begin_frame(simulator)
