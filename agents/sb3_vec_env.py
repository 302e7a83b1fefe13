"""stable-baselines3 training on mec_gym's native batched vector envs.

:class:`NativeVecEnv` presents a Gymnasium ``VectorEnv`` built by ``gymnasium.make_vec(ID,
num_envs, vectorization_mode="vector_entry_point")`` as an SB3 ``VecEnv``, so that SB3 steps all
sub-envs in one call of the env's array code instead of one Python call per sub-env::

    env = VecMonitor(NativeVecEnv(gymnasium.make_vec("mec_gym:TwoTimescale-v0", 8,
                                                     vectorization_mode="vector_entry_point")))
    PPO("MlpPolicy", env).learn(100_000)

Autoresets: SB3 expects a sub-env whose episode ends to return the first observation of the
next one at once (the last one in ``info["terminal_observation"]``); Gymnasium's native envs
reset on the step after (``AutoresetMode.NEXT_STEP``). The adapter hands SB3 the final
observations and resets the vector env (every sub-env continues its own generator, as SB3's
``DummyVecEnv`` resets its envs), which needs the sub-envs to end their episodes together: true
of mec_gym's batched envs, whose episodes have one fixed length; a step where only some end
raises RuntimeError, and a vector env of another autoreset mode is refused. ``seed(s)`` seeds
sub-env i with ``s + i`` at the next ``reset()`` (not at the autoresets), as ``DummyVecEnv``
does, so that both give the same episodes. Attributes are set and methods called on the whole
vector env: ``set_attr`` and ``env_method`` take no ``indices`` but all the sub-envs. An
attribute the vector env's wrappers (e.g. ``RecordEpisodeStatistics``) do not have is looked up
through them, down to the native env (e.g. ``action_masks`` for MaskablePPO).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

__all__ = ["NativeVecEnv"]


class NativeVecEnv(VecEnv):
    """An SB3 ``VecEnv`` over a Gymnasium vector env whose sub-envs end together (see the
    module docstring)."""

    def __init__(self, vector_env: gym.vector.VectorEnv) -> None:
        if not isinstance(vector_env, gym.vector.VectorEnv):
            raise TypeError(f"expected a gymnasium VectorEnv, got {type(vector_env).__name__}")
        mode = vector_env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if mode != AutoresetMode.NEXT_STEP:
            raise ValueError(
                f"NativeVecEnv needs AutoresetMode.NEXT_STEP, the vector env has {mode}"
            )
        self.vector_env = vector_env
        super().__init__(
            vector_env.num_envs,
            vector_env.single_observation_space,
            vector_env.single_action_space,
        )
        self.actions: np.ndarray | None = None
        self.next_seed: int | None = None

    def reset(self) -> np.ndarray:
        observations = self.reset_all(self.next_seed)
        self.next_seed = None
        return observations

    def reset_all(self, seed: int | None) -> np.ndarray:
        """Reset every sub-env (sub-env i from ``seed + i``; None: from its own generator)."""
        observations, info = self.vector_env.reset(seed=seed)
        self.reset_infos = self.split_infos(info)
        return observations

    def step_async(self, actions: np.ndarray) -> None:
        self.actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        observations, rewards, terminated, truncated, info = self.vector_env.step(self.actions)
        dones = np.logical_or(terminated, truncated)
        infos = self.split_infos(info)
        if dones.any():
            if not dones.all():
                raise RuntimeError(
                    "NativeVecEnv needs sub-envs that end their episodes together; sub-envs "
                    f"{np.flatnonzero(dones).tolist()} of {self.num_envs} ended alone"
                )
            for i, entry in enumerate(infos):
                entry["terminal_observation"] = observations[i]
                entry["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            observations = self.reset_all(None)
        return observations, np.asarray(rewards, dtype=np.float32), dones, infos

    def split_infos(self, info: dict[str, Any]) -> list[dict[str, Any]]:
        """Gymnasium's batched ``info`` (arrays with ``_key`` masks, nested dicts of the same
        form, e.g. ``RecordEpisodeStatistics``'s ``episode``) as one dict per sub-env."""
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for key, values in info.items():
            if key.startswith("_"):
                continue
            mask = info.get(f"_{key}", np.ones(self.num_envs, dtype=bool))
            per_env = self.split_infos(values) if isinstance(values, dict) else values
            for i in np.flatnonzero(mask):
                value = per_env[i]
                infos[i][key] = value.item() if isinstance(value, np.generic) else value
        return infos

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed sub-env i with ``seed + i`` at the next reset (None: a seed drawn from numpy's
        global generator, as SB3's ``VecEnv.seed`` draws it)."""
        if seed is None:
            seed = int(np.random.randint(0, 2**32 - 1, dtype=np.uint32))  # noqa: NPY002 (as SB3)
        self.next_seed = seed
        return [seed + i for i in range(self.num_envs)]

    def close(self) -> None:
        self.vector_env.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None] * self.num_envs

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The vector env's attribute per sub-env asked for (:meth:`per_env`)."""
        return self.per_env(getattr(self.holder(attr_name), attr_name), indices)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set the vector env's attribute (for every sub-env: ``indices`` must name them all),
        on the outermost wrapper that has it (the vector env itself if none has)."""
        self.check_all(indices, "set_attr")
        try:
            holder = self.holder(attr_name)
        except AttributeError:
            holder = self.vector_env
        setattr(holder, attr_name, value)

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        """The vector env's method, called once for every sub-env (``indices`` must name them
        all), its result per sub-env."""
        self.check_all(indices, "env_method")
        method = getattr(self.holder(method_name), method_name)
        return self.per_env(method(*method_args, **method_kwargs), indices)

    def holder(self, name: str) -> gym.vector.VectorEnv:
        """The outermost of the vector env and the envs it wraps (``.env``, as Gymnasium's
        vector wrappers hold them) that has the attribute ``name``; AttributeError if none."""
        env = self.vector_env
        while not hasattr(env, name):
            inner = env.env if isinstance(env, gym.vector.VectorWrapper) else None
            if inner is None:
                raise AttributeError(
                    f"{type(self.vector_env).__name__} and the envs it wraps have no {name!r}"
                )
            env = inner
        return env

    def per_env(self, value: Any, indices: VecEnvIndices) -> list[Any]:
        """``value`` of the whole batch as one entry per sub-env in ``indices``: row i of an
        array (or list) with one row per sub-env, else the value itself."""
        batched = isinstance(value, (np.ndarray, list)) and len(value) == self.num_envs
        return [value[i] if batched else value for i in self._get_indices(indices)]

    def check_all(self, indices: VecEnvIndices, what: str) -> None:
        """ValueError unless ``indices`` names every sub-env (None does)."""
        if sorted(self._get_indices(indices)) != list(range(self.num_envs)):
            raise ValueError(
                f"NativeVecEnv.{what} acts on the whole vector env: indices must be None or all "
                f"{self.num_envs} sub-envs, got {indices!r}"
            )

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(list(self._get_indices(indices)))
