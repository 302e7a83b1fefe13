"""A native batched vector env of JointOffload-v1 (and its preset IDs).

Source: G. Pan, H. Zhang, S. Xu, S. Zhang, X. Chen, "Joint Optimization of Video-based AI
Inference Tasks in MEC-assisted Augmented Reality Systems", IEEE Trans. Cogn. Commun. Netw.
9(2), 2023 (arXiv 2301.01010); model ``docs/joint_offload.md``.

:class:`JointOffloadVectorEnv` runs ``num_envs`` copies of
:class:`~mec_gym.envs.joint_offload.JointOffloadEnv` with the same functions on arrays of shape
(num_envs, N): the env's action maps (``decisions_allocation``, ``full_allocation``,
``offload_frames``), Theorem 2's shares and
:func:`~mec_gym.problems.joint_offload.evaluate_allocation` on a batch of instances, and the
observation map (``RoundObserver``). Each sub-env keeps its own ``numpy.random.Generator`` and
draws its rounds from it exactly as the scalar env's simulator draws from its ``np_random``
(``first_chunks`` and ``draw_chunks`` of the same
:class:`~mec_gym.simulators.joint_offload.JointOffloadRoundsSimulator`, batched over sub-envs
after each one's draws), so that sub-env i after ``reset(seed=s)`` equals the scalar env after
``reset(seed=s + i)`` step by step (what ``SyncVectorEnv`` gives), autoresets included. Every
episode has ``rounds_per_episode`` rounds, so the sub-envs end and restart together.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mec_gym.envs.base import LockstepVectorEnv, env_blocks, real_values
from mec_gym.envs.joint_offload import (
    JointOffloadEnv,
    JointOffloadEnvConfig,
    decisions_allocation,
    full_allocation,
    offload_decisions,
    offload_frames,
)
from mec_gym.problems.joint_offload import (
    Allocation,
    DropGenerator,
    JointOffloadProblem,
    evaluate_allocation,
)
from mec_gym.simulators.joint_offload import JointOffloadRoundsSimulator, RoundChunk
from mec_gym.solvers.joint_offload.edge import allocation_with_shares

__all__ = ["JointOffloadVectorEnv"]

ACTION_WIDTH = {"decisions": 2, "offload": 1, "full": 5}
"""Action entries per device in each action mode."""


class JointOffloadVectorEnv(LockstepVectorEnv):
    """``num_envs`` JointOffload environments stepped as one batch (see the module docstring).

    Spaces, rewards, flags and the per-sub-env ``info`` values are those of
    :class:`~mec_gym.envs.joint_offload.JointOffloadEnv`; ``info`` holds each key as an array
    over the sub-envs with the mask ``"_" + key``, as ``SyncVectorEnv`` builds it. Autoreset
    mode ``NEXT_STEP``: the step after the episodes end resets them (the actions are ignored)
    and returns the new episodes' first observations with reward 0, both flags False and an
    empty ``info``. Arguments are the scalar env's (``config``, ``preset``, ``drops``, config
    fields); ``render_mode`` must be None. ``action_mode="offload"`` runs the exact frame search
    once per sub-env (~1 ms each), so it gains little from batching.
    """

    def __init__(
        self,
        num_envs: int = 1,
        config: JointOffloadEnvConfig | dict[str, Any] | None = None,
        render_mode: str | None = None,
        drops: DropGenerator | None = None,
        preset: str | None = JointOffloadEnv.default_preset,
        max_episode_steps: int | None = None,
        **overrides: Any,
    ) -> None:
        resolved = JointOffloadEnv.resolve_config(config, preset, overrides)  # as the scalar env
        super().__init__(JointOffloadEnv, num_envs, resolved, render_mode, {})
        self.limit_steps(max_episode_steps)
        self.preset = preset
        cfg = self.config
        self.scalar = JointOffloadEnv(cfg, drops=drops)
        """A scalar env of the same config: its simulator draws the rounds, its Theorem 1
        decisions (``local_frequency``, ``local_frames``) and ``observer`` are shared."""
        self.set_single_spaces(self.scalar.action_space, self.scalar.observation_space)
        self.simulator: JointOffloadRoundsSimulator = self.scalar.simulator
        self.template = self.simulator.template
        self.action_mode = cfg.action_mode
        self.width = ACTION_WIDTH[self.action_mode]
        n, rounds = cfg.num_devices, self.simulator.chunk_rounds
        self.gain_db, self.rate = (
            np.zeros((self.num_envs, rounds, n)),
            np.zeros((self.num_envs, rounds, n)),
        )
        self.distance = np.zeros((self.num_envs, rounds, n))
        self.walk_end = np.zeros((self.num_envs, n, 2))
        self.blocks = env_blocks(self.num_envs, rounds * n)
        """The sub-envs whose rounds are drawn at once (small arrays, see ``env_blocks``)."""
        self.slot = self.round = 0
        self.totals = np.zeros((self.num_envs, len(self.keys)))

    # ------------------------------------------------------------------ gym API
    def _step_all(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        n, cfg = self.num_envs, self.config
        devices = cfg.num_devices
        values = np.asarray(actions)
        if values.shape not in ((n, devices * self.width), (n, devices, self.width)):
            raise ValueError(
                f"actions must have shape ({n}, {devices * self.width}) (or ({n}, {devices}, "
                f"{self.width}), a row per device), got {values.shape}"
            )
        values = values.reshape(n, devices, self.width)
        slot = self.slot
        problem = self.template.with_gains(self.gain_db[:, slot], rate=self.rate[:, slot])
        allocation = self._allocation(problem, values)
        breakdown = evaluate_allocation(problem, allocation)
        # per row what the scalar env sums with (np.add.reduce: pairwise, as over one row)
        components = (breakdown.cost, breakdown.delay, breakdown.energy, breakdown.accuracy)
        means = np.empty((n, len(self.keys)))  # the round's means per device, keys' order
        for j, component in enumerate(components):
            means[:, j] = np.add.reduce(component, axis=-1) / devices
        means[:, 4] = np.count_nonzero(allocation.offload, axis=-1) / devices
        self.totals += means
        self._advance()
        infos: dict[str, Any] = {
            key: self.totals[:, j] / self.round for j, key in enumerate(self.keys)
        }
        infos["round_cost"] = means[:, 0]
        infos["round"] = np.full(n, self.round)
        for key in list(infos):
            infos["_" + key] = np.ones(n, dtype=bool)
        truncated = self.round >= cfg.rounds_per_episode
        self.autoreset = truncated
        return (
            self._observations(),
            -means[:, 0],
            np.zeros(n, dtype=bool),
            np.full(n, truncated),
            infos,
        )

    # ------------------------------------------------------------------ internals
    def _allocation(self, problem: JointOffloadProblem, values: np.ndarray) -> Allocation:
        """The sub-envs' allocations (arrays (num_envs, N)) of their actions ``values``
        (num_envs, N, width) on the batch of instances ``problem``."""
        if self.action_mode == "decisions":
            return decisions_allocation(problem, values, self.scalar.local_frequency)
        if self.action_mode == "full":
            values = real_values(values, "actions")
            if not np.isfinite(values).all():
                raise ValueError("actions must be finite")
            return full_allocation(self.config, self.scalar.min_frames, values)
        offload = offload_decisions(values[..., 0])
        gains, rates = self.gain_db[:, self.slot], self.rate[:, self.slot]
        frames = np.stack(
            [
                offload_frames(
                    self.template.with_gains(gain, rate=rate), mask, self.scalar.local_frames
                )
                for gain, rate, mask in zip(gains, rates, offload, strict=True)
            ]
        )
        return allocation_with_shares(problem, offload, frames, self.scalar.local_frequency)

    def _start(self) -> tuple[np.ndarray, dict[str, Any]]:
        """New episodes for every sub-env (from their own generators, a block of sub-envs at a
        time, in order: see ``env_blocks``); their observations and reset ``info`` (none)."""
        for envs in self.blocks:
            self._store(envs, self.simulator.first_chunks(self.rngs[envs]))
        self.slot = self.round = 0
        self.totals[:] = 0.0
        self.autoreset = False
        return self._observations(), {}

    def _advance(self) -> None:
        """On to the next round (drawing every sub-env's next chunk when one is used up, as the
        scalar env's simulator does)."""
        self.round += 1
        self.slot += 1
        if self.slot == self.simulator.chunk_rounds:
            for envs in self.blocks:
                chunks = self.simulator.draw_chunks(self.rngs[envs], self.walk_end[envs], False)
                self._store(envs, chunks)
            self.slot = 0

    def _store(self, envs: slice, chunks: RoundChunk) -> None:
        """Keep the chunks of rounds of the sub-envs ``envs`` (arrays (envs, rounds, ...)):
        gains, rates, distances and where the walks end."""
        self.gain_db[envs], self.rate[envs] = chunks.gain_db, chunks.rate
        self.distance[envs] = chunks.distance
        self.walk_end[envs] = chunks.positions[:, -1]

    def _observations(self) -> np.ndarray:
        """The current round's observations (the scalar env's map, a round at a time: the same
        numbers as its chunk at a time, with small arrays)."""
        slot = self.slot
        return self.scalar.observer.encode(self.gain_db[:, slot], self.distance[:, slot])
