"""Fixed policies of the bandwidth split system (``BandwidthSplit-v0``, ``BandwidthSplitMulti-v0``).

Source: D. Yang, S. Zhang, H. Zhang, L. Song, "End-Edge Model Collaboration: Bandwidth Allocation
for Data Upload and Model Transmission", arXiv 2504.14310; model ``docs/bandwidth_split.md``.

Every policy but the lookahead rebuilds the period's instance from the observation
(``env.problem_from_observation``: gain, with a margin for the observation's rounding, N_avail,
the device's current mAP as the fallback, the carried fresh data) and applies a solver of
:mod:`mec_gym.solvers.bandwidth_split` to it (the lookahead decodes the observation as is):

- :class:`SplitRulePolicy` (one device): the per-period optimum (``myopic``, bisection) or a rule
  (``equal``, ``upload_first``, ``model_first``, ``smallest_model``);
- :class:`SharedBandPolicy` (K devices on one band): the multi-device optimum (``myopic``, dual
  bisection) or the equal split;
- :class:`LookaheadPolicy` (one device): a short-horizon search over the upload share that plans
  over the carried state (fresh data, held model) under the expected channel, the strong
  sequential reference.

With ``model_size="continuous"`` the policies ask for the model their split delivers; with
``"discrete"`` for the largest of the family at or below it (the discrete optimum is not
computed). Actions are float64 (see ``BandwidthSplitEnv.action_from_split``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from mec_gym.agents.base import CALIBRATION_SEEDS, FixedPolicy
from mec_gym.envs.bandwidth_split import BandwidthSplitEnv
from mec_gym.problems.bandwidth_split import (
    BandwidthSplitProblem,
    SplitOutcome,
    full_band_snr,
    split_outcome,
)
from mec_gym.simulators.bandwidth_split import (
    DeviceState,
    RandomPeriods,
    carry_over,
    episode_channels,
)
from mec_gym.solvers.bandwidth_split import BASELINES, multi_device_split, optimal_split

__all__ = [
    "SPLIT_RULES",
    "SplitRulePolicy",
    "SharedBandPolicy",
    "GainForecast",
    "LookaheadPolicy",
    "served_devices",
    "bandwidth_split_baselines",
]

SPLIT_RULES: dict[str, Callable[[BandwidthSplitProblem], SplitOutcome]] = {
    "myopic": optimal_split,
    **BASELINES,
}
"""One-device rules by name: the per-period optimum and the baselines."""


def _single_device_env(env: Any) -> BandwidthSplitEnv:
    base = env.unwrapped
    if not isinstance(base, BandwidthSplitEnv) or base.config.num_devices != 1:
        raise TypeError("this policy needs BandwidthSplit-v0 with num_devices=1")
    return base


class SplitRulePolicy(FixedPolicy):
    """One device: apply a rule of ``SPLIT_RULES`` to the observed period (the myopic optimum
    maximises the period's mAP given the carried state, ignoring what it leaves for later).

    The rules cost 0.2 to 4 ms per decision, the myopic optimum ~10 ms (its bisections run to
    adjacent floats; measured on a shared machine); a batch of observations is decided in one
    vectorised call for about the cost of one."""

    def __init__(self, env: Any, rule: str) -> None:
        if rule not in SPLIT_RULES:
            raise ValueError(f"rule must be one of {sorted(SPLIT_RULES)}, got {rule!r}")
        self.base = _single_device_env(env)
        self.rule = SPLIT_RULES[rule]
        self.name = rule

    def act(self, observation: np.ndarray, env_index: int) -> np.ndarray:
        outcome = self.rule(self.base.problem_from_observation(observation))
        return self.base.action_from_split(outcome.upload_share, model_size=outcome.model_size)

    def act_batch(self, observations: np.ndarray) -> np.ndarray:
        """One vectorised call for the batch (one instance per observation), so a decision
        costs far less in a batch."""
        outcome = self.rule(self.base.problem_from_observation(observations))
        actions = self.base.action_from_split(outcome.upload_share, model_size=outcome.model_size)
        return actions.reshape(len(observations), -1)


def served_devices(problem: BandwidthSplitProblem) -> np.ndarray:
    """Indices of the devices the band can carry ``M_min`` to together: all of them, or
    without those whose ``M_min`` needs the largest download shares (first dropped first)."""
    floor = problem.min_download_share
    order = np.argsort(floor, kind="stable")
    fits = np.cumsum(floor[order]) <= 1.0
    return np.sort(order[fits])


class SharedBandPolicy(FixedPolicy):
    """K devices on one band: the multi-device optimum (``"myopic"``: dual bisection,
    :func:`~mec_gym.solvers.bandwidth_split.multi_device_split`) or ``"equal"`` (1/(2K) of the
    band to each upload and each download, the largest model each download carries).

    The optimum serves the devices of :func:`served_devices` (the solver needs every device to
    get ``M_min``); the others get no share and keep their models. It maximises the delivered
    models' mAP (the solver does not weigh keeping a held model instead) and costs what the
    solver costs: ~0.1 to 0.3 s per decision at K = 4 (measured on a shared machine)."""

    def __init__(self, env: Any, rule: str) -> None:
        if rule not in ("myopic", "equal"):
            raise ValueError(f"rule must be 'myopic' or 'equal', got {rule!r}")
        base = env.unwrapped
        if not isinstance(base, BandwidthSplitEnv) or base.config.num_devices < 2:
            raise TypeError("SharedBandPolicy needs BandwidthSplitMulti-v0 (num_devices >= 2)")
        self.base = base
        self.rule = rule
        self.name = rule

    def act(self, observation: np.ndarray, env_index: int) -> np.ndarray:
        k = self.base.config.num_devices
        whole = self.base.problem_from_observation(observation)
        if self.rule == "equal":  # and the largest model each download carries
            share = np.full(k, 0.5 / k)
            carried = whole.evaluate(share, share).model_size
            return self.base.action_from_split(share, share, carried)
        served = served_devices(whole)
        upload, download, size = np.zeros(k), np.zeros(k), np.zeros(k)
        if served.size:
            problem = BandwidthSplitProblem.from_gains(
                whole.config,
                whole.gain_db[served],
                whole.available_samples[served],
                whole.fallback_map[served],
                whole.carried_samples[served],
            )
            outcome = multi_device_split(problem).outcome
            upload[served] = outcome.upload_share
            download[served] = outcome.download_share
            size[served] = outcome.model_size
        return self.base.action_from_split(upload, download, size)


class GainForecast:
    """The expected channel gain (dB) ``j`` periods ahead given the current one:
    ``mu + phi^j (g - mu)``, an AR(1) fitted by least squares to the gains of episodes drawn by
    the env's own process (``RandomPeriods``) on calibration seeds. It stands for a random walk
    of the distance plus AR(1) shadowing, which the observed gain alone cannot separate."""

    def __init__(self, env: BandwidthSplitEnv, episodes: int = 64) -> None:
        cfg = env.config
        rngs = [np.random.default_rng(seed) for seed in CALIBRATION_SEEDS[:episodes]]
        gains = episode_channels(cfg, RandomPeriods()(cfg, rngs)).gain_db
        now, ahead = gains[:, :-1].ravel(), gains[:, 1:].ravel()
        spread = now - now.mean()
        slope = float(spread @ (ahead - ahead.mean()) / (spread @ spread)) if spread.any() else 1.0
        self.phi = min(max(slope, 0.0), 1.0)
        """Correlation of consecutive periods' gains (in [0, 1])."""
        self.mean = float(gains.mean())
        """Mean gain, dB."""

    def __call__(self, gain_db: float, periods_ahead: np.ndarray) -> np.ndarray:
        """Expected gains (dB) ``periods_ahead`` periods from now."""
        return self.mean + self.phi ** np.asarray(periods_ahead) * (gain_db - self.mean)


class LookaheadPolicy(FixedPolicy):
    """One device: the upload share maximising the expected mAP summed over the next
    ``horizon`` periods (fewer near the episode's end), planning over the carried state.

    The approximation (certainty equivalence): the future periods have the expected gain of
    :class:`GainForecast` and the mean N_avail; for that deterministic forecast the policy
    searches a tree of upload shares, ``grid`` per period (on ``[0, upload_limit]`` of that
    period's forecast instance, plus ``beta = 1``: keep the held model and upload everything),
    computing each period with the env's functions (``split_outcome``, ``carry_over``) on the
    whole tree at once and maximising backwards (a dynamic program over the tree's nodes). The
    first period's share is then refined by a second search around the best one (a grid step
    either side). Cost: two trees of ``grid ** horizon`` leaves, about 1 to 3 ms per decision at
    the defaults. With ``model_size="auto"`` only (the search is over the split).
    """

    def __init__(self, env: Any, horizon: int = 3, grid: int = 17) -> None:
        if horizon < 1 or grid < 3:
            raise ValueError(f"horizon must be >= 1 and grid >= 3, got {horizon}, {grid}")
        base = _single_device_env(env)
        if base.config.model_size != "auto":
            raise ValueError("LookaheadPolicy plans the split only (model_size='auto')")
        self.base = base
        self.horizon = horizon
        self.grid = grid
        self.forecast = GainForecast(base)
        self.name = "lookahead"

    def act(self, observation: np.ndarray, env_index: int) -> np.ndarray:
        base = self.base
        cfg = base.config
        decoded = base.decode_observation(observation)
        left = round((1.0 - decoded["progress"]) * cfg.periods_per_episode)
        periods = max(min(self.horizon, left), 1)
        gains = self.forecast(float(decoded["gain_db"][0]), np.arange(periods))
        gains[0] = decoded["gain_db"][0]
        samples = np.full(periods, cfg.mean_available_samples)
        samples[0] = decoded["available_samples"][0]
        limits = BandwidthSplitProblem.from_gains(cfg, gains, samples).upload_limit
        devices = DeviceState(
            *(float(decoded[name][0]) for name in ("fresh_data", "held_size", "held_credit")),
            float(decoded["device_map"][0]),
        )
        stages = (
            full_band_snr(cfg, cfg.upload_power_w, gains),
            full_band_snr(cfg, cfg.download_power_w, gains),
            samples,
        )
        unit = np.linspace(0.0, 1.0, self.grid - 1)
        grids = [np.append(limit * unit, 1.0) for limit in limits]
        best = grids[0][np.argmax(self._values(stages, grids, devices))]
        if best < 1.0:  # refine between the best share's neighbours (the best one included)
            step = limits[0] / (self.grid - 2)
            low, high = max(best - step, 0.0), min(best + step, limits[0])
            grids[0] = np.append(np.linspace(low, high, self.grid), best)
            best = grids[0][np.argmax(self._values(stages, grids, devices))]
        return base.action_from_split(best)

    def _values(
        self, stages: tuple[np.ndarray, ...], grids: list[np.ndarray], devices: DeviceState
    ) -> np.ndarray:
        """Summed mAP over the forecast periods of each first-period share in ``grids[0]``,
        the later shares chosen best (backward maximisation over the tree)."""
        cfg = self.base.config
        upload_snr, download_snr, samples = stages
        rewards = []
        for j, grid in enumerate(grids):
            beta = grid.reshape((1,) * j + (-1,))
            here = DeviceState(*(np.asarray(value)[..., None] for value in _fields(devices)))
            outcome = split_outcome(
                cfg,
                upload_snr[j],
                download_snr[j],
                samples[j],
                here.device_map,
                beta,
                1.0 - beta,
                None,
                here.fresh_data,
            )
            rewards.append(outcome.map)
            devices = carry_over(cfg, here, outcome)
        value = rewards[-1]
        for reward in reversed(rewards[:-1]):
            value = reward + value.max(axis=-1)
        return value


def _fields(devices: DeviceState) -> tuple[Any, ...]:
    return devices.fresh_data, devices.held_size, devices.held_credit, devices.device_map


def bandwidth_split_baselines(env_id: str, env_kwargs: dict[str, Any], seed: int) -> dict[str, Any]:
    """One device: the myopic optimum, the four rules and (``model_size="auto"``) the
    lookahead policy; K devices: the multi-device optimum and the equal split. ``seed`` is
    unused (every policy is deterministic)."""
    env = gym.make(env_id, **env_kwargs)
    base = env.unwrapped
    if base.config.num_devices > 1:
        return {rule: SharedBandPolicy(env, rule) for rule in ("myopic", "equal")}
    policies: dict[str, Any] = {rule: SplitRulePolicy(env, rule) for rule in SPLIT_RULES}
    if base.config.model_size == "auto":
        policies["lookahead"] = LookaheadPolicy(env)
    return policies
