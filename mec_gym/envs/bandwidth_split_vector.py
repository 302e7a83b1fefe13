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
physics is vectorised.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

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
from mec_gym.envs.base import MecVectorEnv
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

__all__ = ["BandwidthSplitVectorEnv", "DEVICE_FIELDS"]

DEVICE_FIELDS = tuple(field.name for field in fields(DeviceState))
"""The fields of the devices' carried state, in order."""


class BandwidthSplitVectorEnv(MecVectorEnv):
    """``num_envs`` BandwidthSplit environments stepped as one batch (see the module docstring).

    Spaces, rewards, flags and the per-sub-env ``info`` values are those of
    :class:`~mec_gym.envs.bandwidth_split.BandwidthSplitEnv`; ``info`` holds each key as an array
    over the sub-envs with the mask ``"_" + key`` (False for a sub-env that was just reset), as
    ``SyncVectorEnv`` builds it. Autoreset mode ``NEXT_STEP``: the step after a sub-env's episode
    ends resets it (its action is ignored) and returns the new episode's first observation with
    reward 0 and both flags False. Arguments are the scalar env's (``config``, ``periods``,
    config fields); ``render_mode`` must be None.
    """

    def __init__(
        self,
        num_envs: int = 1,
        config: BandwidthSplitEnvConfig | dict[str, Any] | None = None,
        render_mode: str | None = None,
        periods: PeriodGenerator | None = None,
        **overrides: Any,
    ) -> None:
        if periods is not None and not callable(periods):
            raise TypeError(f"periods must be a PeriodGenerator, got {type(periods).__name__}")
        super().__init__(BandwidthSplitEnv, num_envs, config, render_mode, overrides)
        cfg = self.config
        self.periods = RandomPeriods() if periods is None else periods
        self.set_single_spaces(action_space_for(cfg), observation_space_for(cfg))
        self.scale = ObservationScale(cfg)
        k, periods_total = cfg.num_devices, cfg.periods_per_episode + 1
        shape = (num_envs, periods_total, k)
        self.gain_db, self.upload_snr, self.download_snr, self.available_samples = (
            np.zeros(shape) for _ in range(4)
        )
        self.devices: DeviceState = initial_devices(cfg, (num_envs, k))
        self.period = np.zeros(num_envs, dtype=np.int64)
        self.totals = np.zeros((num_envs, len(self.keys)))
        self.autoreset = np.zeros(num_envs, dtype=bool)
        self.rows = np.arange(num_envs)
        self.ready = False

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every sub-env: sub-env i with ``seed + i`` (an int), ``seed[i]`` (a list) or
        its own generator continued (None)."""
        self.reseed(seed)
        self._start(self.rows)
        self.autoreset[:] = False
        self.ready = True
        return self._observations(), {}

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self.ready:
            raise RuntimeError("call reset() before step()")
        cfg = self.config
        n, k = self.num_envs, cfg.num_devices
        values = np.asarray(actions, dtype=float)
        width = self.single_action_space.shape[0]
        if values.size != n * width:
            raise ValueError(f"actions must have shape ({n}, {width}), got {values.shape}")
        stepping = ~self.autoreset
        values = values.reshape(n, width)
        if not stepping.all():  # the actions of the sub-envs being reset are ignored
            values = np.where(stepping[:, None], values, 0.0)
        if not np.isfinite(values).all():
            raise ValueError("actions must be finite")
        if k == 1:
            upload, download, size = own_link_split(cfg, (values[:, :1], values[:, 1:]))
        else:
            upload, download, size = shared_band_split(cfg, values.reshape(n, k, -1))
        rows, t = self.rows, self.period
        devices = self.devices
        outcome = split_outcome(
            cfg,
            self.upload_snr[rows, t],
            self.download_snr[rows, t],
            self.available_samples[rows, t],
            devices.device_map,
            upload,
            download,
            size,
            devices.fresh_data,
        )
        # every row is computed; the rows of the sub-envs being reset are then overwritten
        self.devices = carry_over(cfg, devices, outcome)
        per_device = period_values(cfg, outcome)
        period = np.stack([per_device[key] for key in self.keys], axis=1)  # (n, keys, K)
        period = period[..., 0] if k == 1 else np.add.reduce(period, axis=-1) / k
        self.totals += period
        self.period = t + 1
        restarting = np.flatnonzero(self.autoreset)
        if restarting.size:
            self._start(restarting)
        truncated = stepping & (self.period >= cfg.periods_per_episode)
        self.autoreset = truncated
        rewards = np.where(stepping, period[:, 0], 0.0)
        return (
            self._observations(),
            rewards,
            np.zeros(n, dtype=bool),
            truncated,
            self._infos(rewards, stepping),
        )

    # ------------------------------------------------------------------ internals
    def _start(self, envs: np.ndarray) -> None:
        """Draw new episodes for the sub-envs ``envs`` (from their own generators)."""
        cfg = self.config
        draws = checked_draws(cfg, self.periods(cfg, [self.rngs[i] for i in envs]), envs.size)
        channels = episode_channels(cfg, draws)
        self.gain_db[envs] = channels.gain_db
        self.upload_snr[envs] = channels.upload_snr
        self.download_snr[envs] = channels.download_snr
        self.available_samples[envs] = draws.available_samples
        start = initial_devices(cfg)
        for name in DEVICE_FIELDS:
            getattr(self.devices, name)[envs] = getattr(start, name)
        self.period[envs] = 0
        self.totals[envs] = 0.0

    def _observations(self) -> np.ndarray:
        rows, t = self.rows, self.period
        features = self.scale.device_features(
            self.gain_db[rows, t], self.available_samples[rows, t], self.devices
        )
        width = len(features)
        observations = np.empty((self.num_envs, self.single_observation_space.shape[0]), np.float32)
        for j, feature in enumerate(features):  # device-major: device k's feature j at 6k + j
            observations[:, j:-2:width] = feature
        observations[:, -2] = self.scale.bandwidth
        observations[:, -1] = t / self.config.periods_per_episode
        return observations

    def _infos(self, period_map: np.ndarray, stepping: np.ndarray) -> dict[str, Any]:
        """Episode means (and the last period's mAP and index) of the sub-envs that stepped
        (0 for the others, as ``SyncVectorEnv`` fills the rows of sub-envs without them)."""
        means = self.totals / np.maximum(self.period, 1)[:, None]
        period = self.period.copy()
        if not stepping.all():
            means = np.where(stepping[:, None], means, 0.0)
            period = np.where(stepping, period, 0)
        infos: dict[str, Any] = {key: means[:, j] for j, key in enumerate(self.keys)}
        infos["period_map"] = period_map
        infos["period"] = period
        for key in list(infos):
            infos["_" + key] = stepping
        return infos
