"""A native batched vector env of BandwidthSplit-v0 / BandwidthSplitMulti-v0.

Source: D. Yang, S. Zhang, H. Zhang, L. Song, "End-Edge Model Collaboration: Bandwidth Allocation
for Data Upload and Model Transmission", arXiv 2504.14310; model ``docs/bandwidth_split.md``.

:class:`BandwidthSplitVectorEnv` runs ``num_envs`` copies of
:class:`~mec_gym.envs.bandwidth_split.BandwidthSplitEnv` with the same functions on arrays of
shape (num_envs, K): the period's outcome (``split_outcome``), the devices' carried state
(``carry_over``), the action and observation maps. Each sub-env keeps its own
``numpy.random.Generator`` and draws its episodes from it exactly as the scalar env draws from its
``np_random``, so that sub-env i after ``reset(seed=s)`` equals the scalar env after
``reset(seed=s + i)`` step by step (what ``SyncVectorEnv`` gives), autoresets included; only the
physics is vectorised. With one device the scalar env computes log1p and powers with the ``math``
module; where the environments compile (:func:`~mec_gym.compiled.compiled_envs`) the step with
one device is a loop compiled by numba that calls the same functions on floats
(:mod:`mec_gym.envs.bandwidth_split_kernels`), the scalar env's numbers bit for bit. The numpy
step (several devices, or without numba) computes log1p and powers with numpy, which on CPUs
with AVX-512 has its own versions of them: with one device its values then differ from the
scalar env's in the last bit of some values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mec_gym.compiled import compiled_envs
from mec_gym.envs.bandwidth_split import (
    BandwidthSplitEnv,
    BandwidthSplitEnvConfig,
    ObservationScale,
    action_space_for,
    observation_space_for,
    own_link_split,
    period_values,
    shared_band_split,
)
from mec_gym.envs.base import LockstepVectorEnv, env_blocks, real_values
from mec_gym.models.summation import numpy_sum
from mec_gym.problems.bandwidth_split import split_outcome
from mec_gym.simulators.bandwidth_split import (
    DeviceState,
    PeriodGenerator,
    RandomPeriods,
    carry_over,
    checked_draws,
    episode_channels,
    initial_devices,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["BandwidthSplitVectorEnv", "compiled_step_for"]


def compiled_step_for(config: BandwidthSplitEnvConfig) -> Callable[..., None] | None:
    """The compiled loop of a one-device step (:mod:`mec_gym.envs.bandwidth_split_kernels`)
    where ``config`` has one device and the environments compile
    (:func:`~mec_gym.compiled.compiled_envs`), else None: the vector env then steps with
    numpy."""
    if config.num_devices != 1 or not compiled_envs():
        return None
    from mec_gym.envs.bandwidth_split_kernels import compiled_link_step

    return compiled_link_step()


class BandwidthSplitVectorEnv(LockstepVectorEnv):
    """``num_envs`` BandwidthSplit environments stepped as one batch (see the module docstring).

    Spaces, rewards, flags and the per-sub-env ``info`` values are those of
    :class:`~mec_gym.envs.bandwidth_split.BandwidthSplitEnv`; ``info`` holds each key as an array
    over the sub-envs with the mask ``"_" + key``, as ``SyncVectorEnv`` builds it. Every episode
    lasts ``periods_per_episode`` periods, so the sub-envs are always at the same period and
    their episodes end together. Autoreset mode ``NEXT_STEP``: the step after the episodes end
    resets them (the actions are ignored) and returns the new episodes' first observations with
    reward 0, both flags False and an empty ``info`` (the scalar env's reset ``info``). Arguments
    are the scalar env's (``config``, ``periods``, config fields); ``render_mode`` must be None.
    """

    def __init__(
        self,
        num_envs: int = 1,
        config: BandwidthSplitEnvConfig | dict[str, Any] | None = None,
        render_mode: str | None = None,
        periods: PeriodGenerator | None = None,
        max_episode_steps: int | None = None,
        **overrides: Any,
    ) -> None:
        if periods is not None and not callable(periods):
            raise TypeError(f"periods must be a PeriodGenerator, got {type(periods).__name__}")
        super().__init__(BandwidthSplitEnv, num_envs, config, render_mode, overrides)
        self.limit_steps(max_episode_steps)
        cfg = self.config
        self.periods = RandomPeriods() if periods is None else periods
        self.set_single_spaces(action_space_for(cfg), observation_space_for(cfg))
        self.scale = ObservationScale(cfg)
        shape = (cfg.periods_per_episode + 1, self.num_envs, cfg.num_devices)
        self.upload_snr, self.download_snr, self.available_samples = (
            np.zeros(shape) for _ in range(3)
        )
        """The episodes' inputs to ``split_outcome``, period first (a period's rows are
        contiguous), (periods + 1, num_envs, K)."""
        self.observed_gain, self.observed_samples = np.zeros(shape), np.zeros(shape)
        """The episodes' observed gain and N_avail (``ObservationScale.period_features``), as
        the tables above."""
        self.devices: DeviceState = initial_devices(cfg, shape[1:])
        """The devices' carried state, arrays of (num_envs, K): the numpy step replaces it
        every period, the compiled step updates its arrays in place."""
        self.blocks = env_blocks(self.num_envs, shape[0] * shape[2])
        """The sub-envs whose episodes are drawn at once (small arrays, see ``env_blocks``)."""
        self.period = 0
        """The current period of every sub-env."""
        self.totals = np.zeros((self.num_envs, len(self.keys)))
        self.device_values = np.empty((cfg.num_devices, len(self.keys), self.num_envs))
        """A period's values per device, key and sub-env (contiguous rows to sum over the
        devices)."""
        self.compile_step()

    compiled_state = ("compiled_step", "compiled_views")

    def compile_step(self) -> None:
        """Step with the compiled loop (:func:`compiled_step_for`) and its views of the config,
        math and scale, or with numpy. A pickled env loads with the step of the loading process
        (the same numbers as the scalar env's, up to numpy's last bit)."""
        step = compiled_step_for(self.config)
        self.compiled_step = step
        """The compiled one-device step (:func:`compiled_step_for`), or None (numpy)."""
        if step is not None:
            from mec_gym.envs.bandwidth_split_kernels import link_arguments

            self.compiled_views = link_arguments(self.config, self.scale)
            """Its views of the config, the math and the observation scale."""

    # ------------------------------------------------------------------ gym API
    def _step_all(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        cfg = self.config
        n, k = self.num_envs, cfg.num_devices
        width = self.single_action_space.shape[0]
        rows = (n, k, width // k)  # a row per device, as the scalar env takes them
        given = np.asarray(actions)
        if given.shape not in ((n, width), rows) and not (width == 1 and given.shape == (n,)):
            raise ValueError(
                f"actions must have shape ({n}, {width}) (or {rows}, a row per device), got "
                f"{given.shape}"
            )
        values = real_values(given, "actions").reshape(n, width)
        if not np.isfinite(values).all():
            raise ValueError("actions must be finite")
        if self.compiled_step is not None:
            return self._step_compiled(values, self.compiled_step)
        if k == 1:
            upload, download, size = own_link_split(cfg, (values[:, :1], values[:, 1:]))
        else:
            upload, download, size = shared_band_split(cfg, values.reshape(n, k, -1))
        t = self.period
        devices = self.devices
        outcome = split_outcome(
            cfg,
            self.upload_snr[t],
            self.download_snr[t],
            self.available_samples[t],
            devices.device_map,
            upload,
            download,
            size,
            devices.fresh_data,
        )
        self.devices = carry_over(cfg, devices, outcome)
        per_device = period_values(cfg, outcome)
        if k == 1:  # every key's (n, 1) values side by side, (n, keys)
            period = np.concatenate(per_device, axis=1)
        else:  # their means over the devices, summed device by device as numpy sums a row
            table = self.device_values
            for j, values in enumerate(per_device):
                table[:, j] = values.T
            period = (numpy_sum(table) / k).T
        self.period += 1
        return self._period_end(period, self._observations())

    def _step_compiled(
        self, values: np.ndarray, step: Callable[..., None]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """The step of the actions ``values`` (float64, (num_envs, entries)) in the compiled
        loop (one device)."""
        t = self.period
        devices = self.devices
        if not (values.flags.c_contiguous and values.flags.writeable):  # one compiled signature
            values = values.copy()
        period = np.empty((self.num_envs, len(self.keys)))
        observations = np.empty((self.num_envs, self.single_observation_space.shape[0]), np.float32)
        step(
            *self.compiled_views,
            values,
            self.upload_snr[t, :, 0],
            self.download_snr[t, :, 0],
            self.available_samples[t, :, 0],
            devices.fresh_data[:, 0],  # updated in place
            devices.held_size[:, 0],
            devices.held_credit[:, 0],
            devices.device_map[:, 0],
            self.observed_gain[t + 1, :, 0],
            self.observed_samples[t + 1, :, 0],
            self.scale.bandwidth,
            self.scale.progress(t + 1),
            period,
            observations,
        )
        self.period = t + 1
        return self._period_end(period, observations)

    def _period_end(
        self, period: np.ndarray, observations: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """The step's return after a period whose values per sub-env are the rows of
        ``period`` (num_envs, keys) and whose next observations are ``observations``."""
        n, t = self.num_envs, self.period
        self.totals += period
        truncated = t >= self.config.periods_per_episode
        self.autoreset = truncated
        rewards = period[:, 0].copy()
        infos: dict[str, Any] = dict(zip(self.keys, (self.totals / t).T, strict=True))
        infos["period_map"] = rewards.copy()
        infos["period"] = np.full(n, t)
        masks = np.ones((len(infos), n), dtype=bool)  # a row per key, each its own array
        for key, mask in zip(list(infos), masks, strict=True):
            infos["_" + key] = mask
        flags = np.zeros(n, dtype=bool)
        return observations, rewards, flags, np.full(n, truncated), infos

    # ------------------------------------------------------------------ internals
    def _start(self) -> tuple[np.ndarray, dict[str, Any]]:
        """New episodes for every sub-env (from their own generators, a block of sub-envs at a
        time, in order: see ``env_blocks``); their observations and reset ``info``
        (none)."""
        cfg = self.config
        for envs in self.blocks:
            rngs = self.rngs[envs]
            draws = checked_draws(cfg, self.periods(cfg, rngs), len(rngs))
            channels = episode_channels(cfg, draws)
            observed = self.scale.period_features(channels.gain_db, draws.available_samples)
            for table, values in (
                (self.upload_snr, channels.upload_snr),
                (self.download_snr, channels.download_snr),
                (self.available_samples, draws.available_samples),
                (self.observed_gain, observed[0]),
                (self.observed_samples, observed[1]),
            ):
                table[:, envs] = values.transpose(1, 0, 2)  # drawn env first, stored period first
        self.devices = initial_devices(cfg, self.upload_snr.shape[1:])
        self.period = 0
        self.totals[:] = 0.0
        self.autoreset = False
        return self._observations(), {}

    def _observations(self) -> np.ndarray:
        t = self.period
        features = self.observed_gain[t], self.observed_samples[t]
        features += self.scale.state_features(self.devices)
        width = len(features)
        observations = np.empty((self.num_envs, self.single_observation_space.shape[0]), np.float32)
        for j, feature in enumerate(features):  # device-major: device k's feature j at 6k + j
            observations[:, j:-2:width] = feature
        observations[:, -2] = self.scale.bandwidth
        observations[:, -1] = self.scale.progress(t)
        return observations
