"""The skeleton every mec_gym environment is built on.

:class:`MecEnv` does what each environment would otherwise repeat: config resolution (a config
object or dict, a named preset, keyword overrides), the render-mode check and the render
dispatch, the guards against stepping before ``reset`` or after the end, and the running
episode means that ``info`` reports. An environment implements the hooks ``_reset_episode``,
``_step_episode`` and, for rendering, ``_render_text`` / ``_render_rgb``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from mec_gym.config import SystemConfig, resolve_config

__all__ = [
    "MecEnv",
    "MecVectorEnv",
    "EpisodeMeans",
    "RENDER_METADATA",
    "env_metadata",
    "real_values",
]

ConfigT = TypeVar("ConfigT", bound=SystemConfig)

RENDER_METADATA: dict[str, Any] = {"render_modes": ["ansi", "rgb_array", "human"], "render_fps": 4}
"""Render modes and frame rate shared by every environment (merge into ``metadata``): "ansi" a
text view, "rgb_array" an image, "human" that image in a matplotlib window (``render_fps``
frames per second at most)."""

_DEFAULT = object()


def real_values(action: Any, name: str = "action") -> np.ndarray:
    """``action`` as a float64 array; ValueError naming ``name`` unless its dtype is bool,
    integer or float (complex, string and object arrays are refused, even objects holding
    numbers: numpy would drop an imaginary part with a warning or parse a string)."""
    values = np.asarray(action)
    if values.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be real numbers, got dtype {values.dtype}")
    return values.astype(float, copy=False)


def env_metadata(
    score: str, higher_is_better: bool, components: Mapping[str, str], hindsight: bool = False
) -> dict[str, Any]:
    """An env class's ``metadata``: the render modes and, under ``"evaluation"``, what eval/
    scores it on (``mec_gym.eval.evaluation.protocol_for``): the episode-end ``info`` key of
    the score, its direction, the component keys with their units ("" if dimensionless), and
    whether DT #1 can replay its episodes (the hindsight column)."""
    return {
        **RENDER_METADATA,
        "evaluation": {
            "score": score,
            "higher_is_better": higher_is_better,
            "components": tuple(components),
            "units": tuple(components.values()),
            "hindsight": hindsight,
        },
    }


class EpisodeMeans:
    """Running sums of per-step quantities and their means over the steps so far."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.totals = dict.fromkeys(keys, 0.0)
        self.count = 0

    def add(self, values: Mapping[str, float]) -> None:
        """Add one step's values (every key of the constructor)."""
        totals = self.totals
        for key in totals:
            totals[key] += values[key]
        self.count += 1

    def add_in_order(self, values: Iterable[float]) -> dict[str, float]:
        """Add one step's values, given in the order of the constructor's keys; the means."""
        totals = self.totals
        count = self.count = self.count + 1
        means = {}
        for key, value in zip(totals, values, strict=True):
            total = totals[key] = totals[key] + value
            means[key] = total / count
        return means

    def means(self) -> dict[str, float]:
        """Mean of each key over the steps added (0 before the first)."""
        count = max(self.count, 1)
        return {key: total / count for key, total in self.totals.items()}


class MecEnv(gym.Env, Generic[ConfigT]):
    """Base of the mec_gym environments (see the module docstring).

    Class attributes: ``config_class`` (the env's config dataclass, which accepts only the
    fields this env uses), ``presets`` (name -> field overrides) and ``default_preset`` (the
    preset used when the caller gives none; None: the config's own defaults). An env builds its
    system's simulator as ``self.simulator``; ``state`` is that simulator's state.
    """

    metadata: ClassVar[dict[str, Any]] = dict(RENDER_METADATA)
    config_class: ClassVar[type[SystemConfig]]
    simulator: Any
    presets: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    default_preset: ClassVar[str | None] = None

    def __init__(
        self,
        config: ConfigT | Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        preset: str | None = _DEFAULT,  # type: ignore[assignment]
        **overrides: Any,
    ) -> None:
        self.preset = self.default_preset if preset is _DEFAULT else preset
        self.config: ConfigT = self.resolve_config(config, self.preset, overrides)
        modes = self.metadata["render_modes"]
        if render_mode is not None and render_mode not in modes:
            raise ValueError(
                f"render_mode must be one of {list(modes)} or None, got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.episode_ready = False
        self.last_reward: float | None = None
        """The reward of the last step (None before the first step of an episode)."""

    @classmethod
    def resolve_config(
        cls,
        config: ConfigT | Mapping[str, Any] | None,
        preset: str | None,
        overrides: Mapping[str, Any],
    ) -> ConfigT:
        """The env's config: ``preset`` < ``config`` < ``overrides`` in precedence.

        A config object is taken whole (the preset does not apply to it); a dict updates the
        preset. ``preset=None`` means the config class's own defaults.
        """
        if preset is not None and preset not in cls.presets:
            choices = f"one of {sorted(cls.presets)} or None" if cls.presets else "None"
            raise ValueError(f"{cls.__name__} preset must be {choices}, got {preset!r}")
        if preset is not None and (config is None or isinstance(config, Mapping)):
            config = {**cls.presets[preset], **(config or {})}
        return resolve_config(cls.config_class, config, overrides)  # type: ignore[return-value]

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.episode_ready = False  # until the new episode is drawn (a failed draw stays unready)
        result = self._reset_episode(options)
        self.episode_ready = True
        self.last_reward = None
        if self.render_mode == "human":  # Gymnasium's convention: human frames come by themselves
            self.render()
        return result

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.episode_ready:
            raise RuntimeError("call reset() before step()")
        if self.episode_over:
            raise RuntimeError("the episode has terminated or been truncated; call reset()")
        result = self._step_episode(action)
        self.last_reward = result[1]
        if self.render_mode == "human":
            self.render()
        return result

    def render(self) -> str | np.ndarray | None:
        """ "ansi": a text view ending with the last step's reward; "rgb_array": an (H, W, 3)
        image; "human": that image shown in a matplotlib window (one figure, made on the first
        call, closed by ``close()``; only drawn on its canvas under a non-interactive backend such
        as Agg), None; None (with a warning) without a render mode. RuntimeError before
        ``reset()``."""
        mode = self.render_mode
        if mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode= to make()")
            return None
        if not self.episode_ready:
            raise RuntimeError("call reset() before render()")
        if mode == "ansi":
            reward = self.last_reward
            last = "none yet (reset)" if reward is None else f"{reward:+.4f}"
            return f"{self._render_text()}\nlast reward: {last}"
        frame = self._render_rgb()
        if mode == "rgb_array":
            return frame
        from mec_gym.envs.base_render import human_window

        human_window(self).show(frame)
        return None

    def close(self) -> None:
        """Close the ``human`` window and drop the image view, if rendered."""
        from mec_gym.envs.base_render import close_views  # numpy only: matplotlib is not loaded

        close_views(self)
        super().close()

    @classmethod
    def evaluated_keys(cls) -> tuple[str, ...]:
        """The ``info`` keys eval/ reads (``metadata["evaluation"]``): the score, then its
        components; the episode means an env reports."""
        evaluation = cls.metadata["evaluation"]
        return (evaluation["score"], *evaluation["components"])

    @property
    def state(self) -> Any:
        """The episode's whole dynamic state: ``self.simulator.state`` (each env runs its
        system's simulator as ``self.simulator``)."""
        return self.simulator.state

    # ------------------------------------------------------------------ hooks
    @property
    def episode_over(self) -> bool:
        """Whether the episode has terminated (stepping further is an error)."""
        return False

    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode from ``self.np_random`` (already reseeded); (observation, info)."""
        raise NotImplementedError

    def _step_episode(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One step of a running episode."""
        raise NotImplementedError

    def _render_text(self) -> str:
        raise NotImplementedError

    def _render_rgb(self) -> np.ndarray:
        raise NotImplementedError


class MecVectorEnv(VectorEnv):
    """Base of the native batched vector envs: the argument checks, the config (resolved as the
    scalar env ``env_class`` resolves it), the batched spaces and one generator per sub-env,
    seeded as ``SyncVectorEnv`` seeds its sub-envs. Autoreset mode ``NEXT_STEP``; no rendering.
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        env_class: type[MecEnv],
        num_envs: int,
        config: Any,
        render_mode: str | None,
        overrides: dict[str, Any],
    ) -> None:
        if render_mode is not None:
            raise ValueError(
                f"{type(self).__name__} does not render (render_mode must be None, got "
                f"{render_mode!r}); render a scalar env instead"
            )
        if not is_positive_integer(num_envs):
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        num_envs = int(num_envs)
        # a preset as the scalar env takes it (None: the config class's defaults)
        fields = dict(overrides)
        preset = fields.pop("preset", env_class.default_preset)
        self.config = env_class.resolve_config(config, preset, fields)
        self.num_envs = num_envs
        self.render_mode = None
        self.keys = env_class.evaluated_keys()
        """The ``info`` keys of the episode means (the scalar env's evaluated keys)."""
        self.rngs: list[np.random.Generator | None] = [None] * num_envs
        """Each sub-env's generator (what the scalar env's ``np_random`` is)."""

    compiled_state: ClassVar[tuple[str, ...]] = ()
    """Attributes holding compiled code or its views (not picklable): left out when the env is
    pickled or copied, and built again by :meth:`compile_step` when it is loaded."""

    def compile_step(self) -> None:
        """Set the :attr:`compiled_state` attributes for this process (compiled where the envs
        compile here, else their uncompiled values); none by default."""

    def __getstate__(self) -> dict[str, Any]:
        """The env's state to pickle (or copy), without :attr:`compiled_state`."""
        state = self.__dict__.copy()
        for name in self.compiled_state:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A pickled env, with the step of the loading process (:meth:`compile_step`)."""
        self.__dict__.update(state)
        self.compile_step()

    def set_single_spaces(self, action_space: gym.Space, observation_space: gym.Space) -> None:
        """The scalar env's spaces and their batched forms."""
        self.single_action_space = action_space
        self.action_space = batch_space(action_space, self.num_envs)
        self.single_observation_space = observation_space
        self.observation_space = batch_space(observation_space, self.num_envs)

    def reseed(self, seed: int | list[int | None] | None) -> None:
        """Reseed the sub-envs' generators: sub-env i with ``seed + i`` (an int), ``seed[i]``
        (a list) or its own generator continued (None; a fresh one the first time)."""
        n = self.num_envs
        if seed is None:
            seeds: list[int | None] = [None] * n
        elif isinstance(seed, int):
            seeds = [seed + i for i in range(n)]
        else:
            seeds = list(seed)
            if len(seeds) != n:
                raise ValueError(f"seed must have {n} entries (one per sub-env), got {len(seeds)}")
        super().reset(seed=seeds[0])
        for i, value in enumerate(seeds):
            if value is not None or self.rngs[i] is None:
                self.rngs[i], _ = seeding.np_random(value)


BLOCK_VALUES = 7680
"""Float64 values (60 KiB) up to which a native vector env draws its sub-envs' episode tables in
one block (:func:`env_blocks`). Tables of hundreds of KiB (the whole batch of
``BandwidthSplitMulti-v0`` at 256 envs, 16 sub-envs of ``JointOffload-v1``) went back to the
system when freed (``mmap``'d, or trimmed from the heap) and were faulted in again at the next
reset: in a fresh process a quarter of the reset's time for the first, two fifths for the second
(not once glibc has raised its mmap threshold after freeing larger arrays). A block's arrays
(some, such as a walk's positions, twice a table) stay below glibc's initial mmap threshold (128
KiB) and reuse the last block's memory. A sub-env larger than a block gets a block of its own."""


def env_blocks(num_envs: int, values_per_env: int) -> list[slice]:
    """Consecutive blocks of ``num_envs`` sub-envs, each as many as keep ``values_per_env``
    (>= 1) values per sub-env within :data:`BLOCK_VALUES` (at least one)."""
    size = max(1, BLOCK_VALUES // values_per_env)
    return [slice(first, first + size) for first in range(0, num_envs, size)]


def checked_step_limit(max_episode_steps: Any) -> int | None:
    """``max_episode_steps`` of a native vector env as an int (None: no limit); ValueError
    unless it is a positive integer or None."""
    value = max_episode_steps
    if value is None:
        return None
    if not is_positive_integer(value):
        raise ValueError(f"max_episode_steps must be a positive integer or None, got {value!r}")
    return int(value)


def is_positive_integer(value: Any) -> bool:
    """Whether ``value`` is an integer >= 1 (numpy's too; not a bool)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


class LockstepVectorEnv(MecVectorEnv):
    """A native vector env whose sub-envs' episodes have one length, so they all end at the
    same step: the shared reset and autoreset step, and the step limit (``max_episode_steps``).
    Subclasses set ``self.autoreset`` when the episodes end and implement ``_start`` (new
    episodes for every sub-env from their own generators: the observations and the reset
    ``info``) and ``_step_all`` (one step of every sub-env, the ``step`` return)."""

    ready = False
    """Whether ``reset`` has been called."""
    autoreset = False
    """Whether the last step ended the episodes (the next step resets them)."""
    max_episode_steps: int | None = None
    """Steps after which every episode is truncated, as Gymnasium's ``TimeLimit`` truncates
    the scalar env's (None: the episodes' own length); set by :meth:`limit_steps`."""
    elapsed = 0
    """Steps of the running episodes."""

    def limit_steps(self, max_episode_steps: int | None) -> None:
        """Truncate every episode after ``max_episode_steps`` steps (a positive integer, or
        None for no limit; ValueError otherwise), as ``gymnasium.make_vec(..., max_episode_steps
        =k)`` does in the ``"sync"`` mode."""
        self.max_episode_steps = checked_step_limit(max_episode_steps)

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every sub-env: sub-env i with ``seed + i`` (an int), ``seed[i]`` (a list) or
        its own generator continued (None). ValueError for an ``options["reset_mask"]`` that
        is not all True (the sub-envs run in lockstep: they reset together). A reset that fails
        leaves no episode to step."""
        mask = (options or {}).get("reset_mask")
        shape_ok = np.shape(mask) == (self.num_envs,) and np.asarray(mask).dtype == bool
        if mask is not None and not (shape_ok and np.all(mask)):
            raise ValueError(
                f"{type(self).__name__} resets every sub-env at once (they run in lockstep): "
                f"options['reset_mask'] must be None or {self.num_envs} booleans all True"
            )
        self.reseed(seed)
        self.ready = False
        start = self._start()
        self.ready, self.elapsed = True, 0
        return start

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One step of every sub-env; the step after the episodes end starts new ones (its
        action is ignored; reward 0, both flags False)."""
        if not self.ready:
            raise RuntimeError("call reset() before step()")
        if self.autoreset:
            observations, infos = self._start()
            self.elapsed = 0
            flags = np.zeros(self.num_envs, dtype=bool)
            return observations, np.zeros(self.num_envs), flags, flags.copy(), infos
        observations, rewards, terminated, truncated, infos = self._step_all(actions)
        self.elapsed += 1
        if self.max_episode_steps is not None and self.elapsed >= self.max_episode_steps:
            truncated = np.ones(self.num_envs, dtype=bool)
            self.autoreset = True
        return observations, rewards, terminated, truncated, infos

    def _start(self) -> tuple[np.ndarray, dict[str, Any]]:
        raise NotImplementedError

    def _step_all(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        raise NotImplementedError
