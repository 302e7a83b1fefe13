"""JointOffload-v1: one round of offloading, frames, TDMA shares and CPU for N devices per step.

Source: G. Pan, H. Zhang, S. Xu, S. Zhang, X. Chen, "Joint Optimization of Video-based AI
Inference Tasks in MEC-assisted Augmented Reality Systems", IEEE Trans. Cogn. Commun. Netw.
9(2), 2023 (arXiv 2301.01010). Model as documented in ``docs/joint_offload.md``.

The physics (rates, delays, energies, accuracy, cost) lives in
:mod:`mec_gym.problems.joint_offload` and the devices' motion in
:mod:`mec_gym.simulators.joint_offload`; this module only takes each round's
:class:`~mec_gym.problems.joint_offload.JointOffloadProblem` and maps actions to
:class:`~mec_gym.problems.joint_offload.Allocation` objects, which
:func:`~mec_gym.problems.joint_offload.evaluate_allocation` costs exactly as it does for the
solvers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from mec_gym.envs.base import ConfigT, EpisodeMeans, MecEnv, env_metadata, real_values
from mec_gym.models.summation import numpy_sum
from mec_gym.problems.joint_offload import (
    DEFAULT_PRESET,
    PRESETS,
    Allocation,
    DropGenerator,
    JointOffloadConfig,
    JointOffloadProblem,
    channel_gains_db,
    evaluate_allocation,
    evaluate_devices,
    local_outcome_table,
)
from mec_gym.simulators.joint_offload import (
    JointOffloadRoundsSimulator,
    MobileCellConfig,
    RoundInstance,
)
from mec_gym.solvers.joint_offload.bound import exact_edge_frames
from mec_gym.solvers.joint_offload.edge import (
    allocation_with_shares,
    compute_weight,
    device_edge_shares,
    shares_allocation,
)
from mec_gym.solvers.joint_offload.local import local_optimum

__all__ = [
    "JointOffloadEnv",
    "JointOffloadSystemEnv",
    "JointOffloadEnvConfig",
    "GainScale",
    "RoundObserver",
    "gain_range_db",
    "decisions_allocation",
    "offload_decisions",
    "offload_frames",
    "full_allocation",
    "SHARE_WEIGHT_FLOOR",
    "LOCAL_FRACTION_FLOOR",
    "BANDWIDTH_SCALE",
    "FREQUENCY_SCALE",
    "EDGE_CAPACITY_SCALE",
    "SHADOWING_SPAN",
]

SHARE_WEIGHT_FLOOR = 1e-3
"""Full mode: weight added to ``(a + 1) / 2`` so that every offloading device gets a share > 0."""
LOCAL_FRACTION_FLOOR = 0.01
"""Full mode: smallest local CPU fraction of f^max (a local frequency of 0 never finishes)."""
BANDWIDTH_SCALE = 20e6
"""Observation: B is observed as ``B / BANDWIDTH_SCALE`` (Hz)."""
FREQUENCY_SCALE = 5e9
"""Observation: f^max is observed as ``f^max / FREQUENCY_SCALE`` (cycle/s)."""
EDGE_CAPACITY_SCALE = 100e9
"""Observation: F^E is observed as ``F^E / EDGE_CAPACITY_SCALE`` (cycle/s)."""
SHADOWING_SPAN = 5.0
"""Observation: the gain range is widened by this many shadowing standard deviations (a draw
beyond it, probability 6e-7, is clipped, and a policy decoding the observation would see a
slightly different instance)."""
ACTION_MODES = ("decisions", "offload", "full")


@dataclass(frozen=True)
class JointOffloadEnvConfig(MobileCellConfig):
    """The joint offloading system's parameters plus the rounds, mobility and action mode of
    ``JointOffload-v1``."""

    action_mode: str = "decisions"
    """"decisions" (MultiDiscrete offload+frames), "offload" (MultiBinary offloading set; frames
    and shares optimal for it) or "full" (Box allocation)."""

    def validate(self) -> None:
        super().validate()
        self._require_choice("action_mode", ACTION_MODES)


def gain_range_db(config: JointOffloadConfig) -> tuple[float, float]:
    """(lowest, highest) channel gain in dB the observation maps onto [-1, 1].

    Path loss at the farthest point of the cell (a corner, ``side / sqrt(2)`` m) and at
    ``min_distance``, widened by ``SHADOWING_SPAN`` shadowing standard deviations; gains outside
    (shadowing beyond ``SHADOWING_SPAN`` sigma) are clipped in the observation.
    """
    far, near = channel_gains_db(config, np.array([config.area_side / np.sqrt(2.0), 0.0]))
    spread = SHADOWING_SPAN * config.shadowing_std_db
    return float(far - spread), float(near + spread)


class GainScale:
    """The linear map of channel gains (dB) from ``gain_range_db(config)`` onto [-1, 1] that
    the joint offloading observations use, and its inverse."""

    def __init__(self, config: JointOffloadConfig) -> None:
        self.low, self.high = gain_range_db(config)
        self.scale = 2.0 / (self.high - self.low)
        self.offset = -1.0 - self.low * self.scale

    def encode(self, gain_db: np.ndarray) -> np.ndarray:
        """Observed value of ``gain_db`` (not clipped)."""
        return gain_db * self.scale + self.offset

    def decode(self, observed: np.ndarray | float) -> np.ndarray | float:
        """Gain in dB of an observed value."""
        return self.low + (observed + 1.0) * 0.5 * (self.high - self.low)


class RoundObserver:
    """The observation of a round (see ``JointOffloadEnv``'s Observation Space), on arrays with
    any leading axes (rounds of a chunk, sub-envs of a batch)."""

    def __init__(self, config: JointOffloadConfig) -> None:
        self.gain_scale = GainScale(config)
        self.max_distance = config.area_side / np.sqrt(2.0)
        """Farthest distance from the BS in the cell, m (observed as +1)."""
        self.distance_scale = 2.0 / self.max_distance
        self.static = np.array(
            [
                config.device_max_frequency / FREQUENCY_SCALE,
                config.bandwidth / BANDWIDTH_SCALE,
                config.edge_capacity / EDGE_CAPACITY_SCALE,
            ]
        ).clip(-1.0, 1.0)

    def encode(self, gain_db: np.ndarray, distance: np.ndarray) -> np.ndarray:
        """Observations (float32, (..., 3N + 2)) of gains (dB) and distances (m), (..., N)."""
        lead, n = gain_db.shape[:-1], gain_db.shape[-1]
        observations = np.empty((*lead, 3 * n + 2))
        width = 3 * n  # device-major: device k's features at 3k, 3k + 1, 3k + 2
        observations[..., 0:width:3] = self.gain_scale.encode(gain_db)
        observations[..., 1:width:3] = distance * self.distance_scale - 1.0
        observations[..., 2:width:3] = self.static[0]
        observations[..., width:] = self.static[1:]
        return np.clip(observations, -1.0, 1.0, out=observations).astype(np.float32)


def decisions_allocation(
    problem: JointOffloadProblem, values: np.ndarray, local_frequency: np.ndarray
) -> Allocation:
    """Decisions mode: the allocation of (offload, frames index) pairs ``values`` (..., N, 2) on
    ``problem`` (one instance, or a batch with the same leading axes): Theorem 2's shares for the
    offloading devices, ``local_frequency`` (cycle/s, (N,)) for the local ones. ValueError
    unless the entries are integers in range."""
    frame_range = problem.frame_range
    _check_integer_entries(values)
    if not ((values >= 0) & (values < (2, frame_range.size))).all():
        raise ValueError(_decisions_range_error(frame_range.size))
    offload = values[..., 0].astype(bool)
    frames = values[..., 1].astype(np.int64) + int(frame_range[0])
    return allocation_with_shares(problem, offload, frames, local_frequency)


def _check_integer_entries(values: np.ndarray) -> None:
    """Decisions mode: ValueError unless ``values`` are integers (an integer or bool dtype, or
    finite floats with integer values)."""
    if values.dtype.kind == "f":
        if not np.isfinite(values).all():
            raise ValueError("action must be finite")
        if not np.array_equal(values, np.rint(values)):
            raise ValueError("decisions-mode action entries must be integers")
    elif values.dtype.kind not in "iub":
        raise ValueError(f"action must be integers, got dtype {values.dtype}")


def _decisions_range_error(frame_choices: int) -> str:
    """The error message of a decisions-mode action entry out of range."""
    return (
        f"action entries must be offload in {{0, 1}} and frames index in [0, {frame_choices - 1}]"
    )


def offload_decisions(values: np.ndarray) -> np.ndarray:
    """Offload mode: the offloading masks of 0/1 entries ``values`` (any shape); ValueError for
    other entries."""
    if values.dtype.kind not in "iubf" or not np.isin(values, (0, 1)).all():
        raise ValueError("offload-mode action entries must be 0 or 1")
    return values.astype(bool)


def offload_frames(
    problem: JointOffloadProblem, offload: np.ndarray, local_frames: np.ndarray
) -> np.ndarray:
    """Offload mode: the frames (N,) of one instance's devices: the exact frames minimising
    Theorem 2's edge cost for the offloading set ``offload`` (N,), ``local_frames`` (Theorem 1's,
    (N,)) for the others."""
    devices = np.flatnonzero(offload)
    frames = local_frames.copy()
    frames[devices] = exact_edge_frames(problem, devices).frames
    return frames


def full_allocation(config: JointOffloadConfig, min_frames: int, values: np.ndarray) -> Allocation:
    """Full mode: the allocation of ``values`` (..., N, 5), finite (see ``JointOffloadEnv``'s
    Action Space): offload iff the score > 0, frames in [``min_frames``, F_max], shares of the
    offloading devices in proportion to their weights (both budgets used in full), local CPU
    at least ``LOCAL_FRACTION_FLOOR`` of f^max (cycle/s)."""
    offload = values[..., 0] > 0.0
    unit = (np.minimum(np.maximum(values, -1.0), 1.0) + 1.0) * 0.5
    span = config.max_frames - min_frames
    frames = np.rint(min_frames + unit[..., 1] * span).astype(np.int64)
    weights = (unit[..., 2:4] + SHARE_WEIGHT_FLOOR) * offload[..., None]
    total = weights.sum(axis=-2, keepdims=True)
    shares = weights / np.where(total > 0, total, 1.0)
    local = np.maximum(unit[..., 4], LOCAL_FRACTION_FLOOR) * config.device_max_frequency
    edge_frequency = shares[..., 1] * config.edge_capacity
    return shares_allocation(offload, frames, shares[..., 0], edge_frequency, local)


class JointOffloadSystemEnv(MecEnv[ConfigT]):
    """Base of the joint offloading environments: the presets (``PRESETS``, ``balanced`` by
    default)."""

    presets = PRESETS
    default_preset = DEFAULT_PRESET


class JointOffloadEnv(JointOffloadSystemEnv[JointOffloadEnvConfig]):
    """Every round, decide how N devices run one video-inference task each.

    ## Description
    N devices (AR glasses, robots) in a square cell with one base station and an edge server
    each have one DNN inference task per round over their ``F_n`` most recent video frames.
    A device either runs it locally at CPU frequency ``f_n^l <= f^max`` or uploads the frames in
    a share ``tau_n`` of each TDMA frame and runs it on an edge CPU share ``f_n^e``; the shares
    of the offloading devices sum to at most 1 and F^E. Between rounds the devices random-walk,
    so their channels change.

    ## Action Space
    ``action_mode="decisions"`` (default): ``MultiDiscrete([2, nF] * N)`` with
    ``nF = F_max - F_min + 1``; entries ``2n, 2n+1`` are device n's (offload, frames index),
    ``F_n = F_min + index``. The shares of the offloading devices follow Theorem 2
    (:func:`~mec_gym.solvers.joint_offload.edge.edge_shares`, both budgets tight) and every local
    device runs its frames at Theorem 1's frequency ``f* = min((w1 eta / (2 w2 kappa c))^(1/3),
    f^max)`` (which does not depend on F). An (N, 2) array is accepted too. Values that are not
    integers in range raise ``ValueError``.

    ``action_mode="offload"``: ``MultiBinary(N)``, entry n = 1 if device n offloads. The env
    completes the allocation optimally for that set: the exact integer frames of the offloading
    devices (:func:`~mec_gym.solvers.joint_offload.bound.exact_edge_frames`, the minimiser of
    Theorem 2's edge cost Phi), Theorem 2's shares, and Theorem 1's frames and frequency for
    every local device. The agent then decides exactly the combinatorial part that the exact
    bound enumerates, and an optimal action reaches the bound (the DROO split between a learned
    offloading decision and the convex resource allocation). A step costs ~1 ms (the frame
    search) instead of tens of microseconds.

    ``action_mode="full"``: ``Box(-1, 1, (5N,), float32)``, device-major (an (N, 5) array is
    accepted too); per device ``a = (offload score, frames, time-share weight, edge-CPU weight,
    local CPU fraction)``. Entries are first clipped to [-1, 1], then: offload iff score > 0;
    ``F = rint(F_min + (a1 + 1)/2 (F_max - F_min))``; weights ``(a + 1)/2 + SHARE_WEIGHT_FLOOR``
    normalised over the offloading devices give ``tau`` and ``f^e / F^E`` (both budgets used in
    full); ``f^l = max((a4 + 1)/2, LOCAL_FRACTION_FLOOR) f^max``. Every action is feasible.

    ``action_from_allocation(allocation)`` returns the action that reproduces a solver's
    allocation as exactly as the mode allows (policy adapters of the solvers use it).

    ## Observation Space
    ``Box(-1, 1, (3N + 2,), float32)``: per device (device-major) the channel gain, mapped
    linearly from ``gain_range_db(config)`` onto [-1, 1]; the distance to the BS,
    ``2 d / (side / sqrt 2) - 1``; ``f^max / FREQUENCY_SCALE``; then the cell's
    ``B / BANDWIDTH_SCALE`` and ``F^E / EDGE_CAPACITY_SCALE``. Everything is clipped to [-1, 1].
    ``decode_observation`` inverts the map, so a policy can rebuild the instance from the
    observation alone (``JointOffloadProblem.from_gains(config, decoded["gain_db"])``).

    ## Rewards
    ``-(1/N) sum_n U_n`` with ``U_n = w1 T_n + w2 E_n - w3 A(F_n)``, computed by
    :func:`~mec_gym.problems.joint_offload.evaluate_allocation` on the round's problem. An
    action does not change later rounds (the devices move on their own), so the episode is a
    contextual bandit: train with ``gamma=0`` (the shipped hyperparameters do), where the
    return is the round's reward and the objective the mean cost per round.

    ## Starting State
    The devices placed by ``drops`` (uniformly, at least ``min_distance`` from the BS, by
    default). The default scenario is the preset ``balanced`` (``BALANCED_SCENARIO``: a 1.5 km
    cell, 8 dB shadowing, 10 MHz, a 50 GHz edge, local energy charged on MACs), in which local
    only, edge only and random offloading are each at least 5 % worse than the optimum;
    ``preset=None`` gives the spec's section 5 table, ``JointOffload-pan2023-v1`` the paper's
    Table I setting.

    ## Episode End
    Truncated after ``rounds_per_episode`` rounds (never terminated); the env truncates itself,
    so no ``TimeLimit`` is registered and any ``rounds_per_episode`` is honoured.

    ## Arguments
    ``gymnasium.make("JointOffload-v1", config=None, render_mode=None, preset="balanced",
    drops=None, **overrides)``: ``config`` is a ``JointOffloadEnvConfig`` (taken whole) or a
    dict updating the preset, ``preset`` a key of ``PRESETS`` or None (the config's own
    defaults, the spec's table); ``JointOffload-pan2023-v1`` and ``JointOffload-N8-v1`` are
    registered with their presets. Overrides are config fields (e.g. ``action_mode="full"``).
    ``drops`` places the devices at each reset (``UniformDrops()`` by default; ``FixedDrop``
    for a fixed deployment; any ``DropGenerator``).

    ## Info
    Means per device over the episode's rounds so far (so that the episode-end ``info`` holds
    the episode's means, as ``Monitor(info_keywords=...)`` logs it): ``cost``, ``delay`` (s),
    ``energy`` (J), ``accuracy``, ``offload_rate`` (fraction of devices offloading); the last
    round's mean cost ``round_cost`` (= -reward) and ``round`` (rounds played).
    The allocation itself is ``env.unwrapped.last_allocation`` (and its instance
    ``last_problem``).

    ## Attributes for fixed policies
    ``problem`` is the current round's ``JointOffloadProblem`` (the one the next action is
    applied to; ``state.problem`` of ``env.simulator``); a policy reading it instead of the
    observation must say so.
    ``positions`` (m, (N, 2), BS at the origin), ``distance`` (m) and ``gain_db`` (dB) describe
    the current round.

    ## Version History
    - v1, 2026-11-26: ``action_mode="offload"`` (a new option; the default is unchanged).
    - v1, 2026-11-26 (API only: same dynamics, observations and rewards for every setting that
      ran before): ``JointOffloadEnvConfig`` refuses PerTask's fields; no ``TimeLimit`` at
      registration, so a ``rounds_per_episode`` above 100 is honoured (it was cut at 100);
      stepping after the last round raises; ``drops=`` places the devices; the devices' motion
      runs in ``env.simulator``; the third positional argument is ``drops`` (pass ``preset`` by
      keyword).
    - v1: default scenario ``balanced`` instead of the spec's table (where local only was within
      1.3 % of the optimum); the observed gain range spans 5 shadowing sigmas (was 3);
      ``pan2023`` decides local (F, f) by the cycles-based Theorem 1 and charges the energy on
      MACs (``local_decision_energy``), reproducing the paper's Table I.
    - v0: initial version.

    ## System model and source
    Pan et al. 2023, arXiv 2301.01010 (see the module docstring); spec ``joint_offload.md``.
    The devices move and their gains change as ``mec_gym.simulators.joint_offload`` says
    (random walk reflected in the cell, i.i.d. shadowing per round, no fast fading, drawn from
    ``np_random`` ``CHUNK_ROUNDS`` rounds at a time); ``env.simulator`` runs it and
    ``env.state`` is its state.
    """

    metadata: ClassVar[dict[str, Any]] = env_metadata(
        score="cost",
        higher_is_better=False,
        components={"delay": "s", "energy": "J", "accuracy": "", "offload_rate": ""},
    )

    config_class = JointOffloadEnvConfig

    def __init__(
        self,
        config: JointOffloadEnvConfig | dict[str, Any] | None = None,
        render_mode: str | None = None,
        drops: DropGenerator | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(config, render_mode, **overrides)
        self.simulator = JointOffloadRoundsSimulator(self.config, drops)
        self._derive_constants()
        self._played: RoundInstance | None = None
        self._played_allocation: Allocation | None = None
        self._played_decisions: tuple[list[Any], ...] = ()

    # ------------------------------------------------------------------ constants
    def _derive_constants(self) -> None:
        cfg = self.config
        n = cfg.num_devices
        template = self.simulator.template
        self.min_frames = int(template.frame_range[0])
        self.num_frame_choices = int(template.frame_range.size)
        self.action_mode = cfg.action_mode
        # Theorem 1's decision depends on the config only, not on the gains or the frames
        local = local_optimum(template)
        for values in (local.frequency, local.frames):
            values.setflags(write=False)  # the step's tables below are built from them
        self._local = local
        # what a decisions-mode step computes with, as Python values (no numpy in that step)
        self._device_tables = (
            template.tx_weight.tolist(),
            compute_weight(template.macs).tolist(),
            template.macs.tolist(),
            template.accuracy.tolist(),
            local_outcome_table(cfg, template.macs, template.accuracy, local.frequency),
        )
        self.observer = RoundObserver(cfg)
        self.gain_scale = self.observer.gain_scale
        self.observation_space = spaces.Box(-1.0, 1.0, (3 * n + 2,), np.float32)
        if self.action_mode == "decisions":
            self.action_space = spaces.MultiDiscrete([2, self.num_frame_choices] * n)
        elif self.action_mode == "offload":
            self.action_space = spaces.MultiBinary(n)
        else:
            self.action_space = spaces.Box(-1.0, 1.0, (5 * n,), np.float32)
        self._frame_span = cfg.max_frames - self.min_frames
        self._observed_chunk: Any = None

    # ------------------------------------------------------------------ gym API
    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any]]:
        self._episode_means = EpisodeMeans(self.evaluated_keys())
        self.simulator.reset(self.np_random)
        self._played = self._played_allocation = None
        self._played_decisions = ()
        return self._observation(), {}

    def _step_episode(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        played = self.simulator.state.current
        n = self.config.num_devices
        if self.action_mode == "decisions":
            sums = self._decisions_step(played, action)
        else:
            sums = self._allocation_sums(played, self.allocation_from_action(action))
        delay, energy, accuracy, cost, offloading = sums
        self._played = played
        self.simulator.advance()
        means = self._episode_means.add_in_order(
            (cost / n, delay / n, energy / n, accuracy / n, offloading / n)
        )
        means["round_cost"] = cost / n
        means["round"] = rounds = self.simulator.state.round
        truncated = rounds >= self.config.rounds_per_episode
        return self._observation(), -cost / n, False, truncated, means

    def _decisions_step(self, played: RoundInstance, action: Any) -> tuple[float, ...]:
        """Decisions mode: the sums over the devices of the delay, energy, accuracy and cost
        of ``action`` on ``played`` and the number of offloading devices, in Python floats
        (the values ``decisions_allocation`` and ``evaluate_allocation`` give, bit for bit)."""
        offload, frames = self._decision_values(action)
        rate = played.rate.tolist()
        tx_weight, cpu_weight, macs, accuracy, local_outcomes = self._device_tables
        config = self.config
        try:
            time_share, edge_frequency = device_edge_shares(
                config, tx_weight, cpu_weight, offload, frames, rate
            )
            allocation = (offload, frames, rate, time_share, edge_frequency, local_outcomes)
            outcomes = evaluate_devices(config, macs, accuracy, *allocation)
        except ZeroDivisionError:  # an offloading device without an uplink (R_n = 0)
            return self._allocation_sums(played, self._decisions_allocation(action))
        self._played_decisions = (offload, frames, time_share, edge_frequency)
        self._played_allocation = None  # built from the decisions when asked for
        delay, energy, accuracy_total, cost = map(numpy_sum, zip(*outcomes, strict=True))
        return delay, energy, accuracy_total, cost, sum(offload)

    def _allocation_sums(self, played: RoundInstance, allocation: Allocation) -> tuple[float, ...]:
        """The sums of :meth:`_decisions_step` for an allocation, with numpy (``inf`` and NaN
        where a share or a rate is zero)."""
        breakdown = evaluate_allocation(played.problem, allocation)
        self._played_allocation = allocation
        self._played_decisions = ()
        sums = np.add.reduce  # what ndarray.mean sums with: cost is breakdown.mean bit for bit
        fields = breakdown.delay, breakdown.energy, breakdown.accuracy, breakdown.cost
        delay, energy, accuracy, cost = (float(sums(values)) for values in fields)
        return delay, energy, accuracy, cost, np.count_nonzero(allocation.offload)

    def _decision_values(self, action: Any) -> tuple[list[Any], list[int]]:
        """Decisions mode: the offload flags (0/1) and frames of ``action`` as Python values,
        with the checks (and errors) of :meth:`allocation_from_action`."""
        values = np.asarray(action)
        if values.shape != self.action_space.shape:
            self._check_action_shape(values)  # a row per device is accepted too
        kind = values.dtype.kind
        if kind != "i":
            _check_integer_entries(values)
        entries = values.reshape(-1).tolist()
        offload, index = entries[0::2], entries[1::2]
        if min(entries) < 0 or max(offload) > 1 or max(index) >= self.num_frame_choices:
            raise ValueError(_decisions_range_error(self.num_frame_choices))
        first = self.min_frames
        if kind == "f":
            return offload, [int(i) + first for i in index]
        return offload, list(map(first.__add__, index))

    @property
    def local_frequency(self) -> np.ndarray:
        """Theorem 1's CPU frequency of a local device, cycle/s, (N,) (read-only)."""
        return self._local.frequency

    @property
    def local_frames(self) -> np.ndarray:
        """Theorem 1's frames of a local device, (N,) (read-only)."""
        return self._local.frames

    @property
    def last_problem(self) -> JointOffloadProblem | None:
        """The instance of the last round played (None before the episode's first step)."""
        return None if self._played is None else self._played.problem

    @property
    def last_allocation(self) -> Allocation | None:
        """The allocation the last step applied (None before the episode's first step)."""
        if self._played_allocation is None and self._played_decisions:
            offload, frames, time_share, edge_frequency = self._played_decisions
            self._played_allocation = shares_allocation(
                np.array(offload, dtype=bool),
                np.array(frames, dtype=np.int64),
                np.array(time_share),
                np.array(edge_frequency),
                self.local_frequency,
            )
        return self._played_allocation

    # ------------------------------------------------------------------ dynamics
    @property
    def episode_over(self) -> bool:
        return self.round >= self.config.rounds_per_episode

    @property
    def problem(self) -> JointOffloadProblem:
        """The current round's instance (the one the next action is applied to)."""
        return self.simulator.state.problem

    @property
    def round(self) -> int:
        """Rounds played in the episode."""
        return self.simulator.state.round

    @property
    def positions(self) -> np.ndarray:
        """Current device positions, m, (N, 2), BS at the origin."""
        return self.simulator.state.positions

    @property
    def distance(self) -> np.ndarray:
        """Current device-BS distances, m."""
        return self.simulator.state.distance

    @property
    def gain_db(self) -> np.ndarray:
        """Current channel gains, dB."""
        return self.simulator.state.gain_db

    # ------------------------------------------------------------------ actions
    def allocation_from_action(self, action: Any) -> Allocation:
        """The feasible allocation an action stands for on the current ``problem``.

        Raises ``ValueError`` for a non-finite or non-real action, a shape other than the action
        space's or one row per device, or (decisions mode) values
        that are not integers inside the MultiDiscrete ranges; (offload mode) entries that are
        not 0 or 1.
        """
        self._check_action_shape(action)
        if self.action_mode == "decisions":
            return self._decisions_allocation(action)
        if self.action_mode == "offload":
            return self._offload_allocation(action)
        return self._full_allocation(action)

    def _check_action_shape(self, action: Any) -> None:
        flat = self.action_space.shape
        rows = (self.config.num_devices, flat[0] // self.config.num_devices)
        if np.shape(action) not in (flat, rows):
            raise ValueError(
                f"action must have shape {flat} (or {rows}, a row per device), got "
                f"{np.shape(action)}"
            )

    def _decisions_allocation(self, action: Any) -> Allocation:
        n = self.config.num_devices
        values = np.asarray(action)
        if values.size != 2 * n:
            raise ValueError(f"action must have {2 * n} entries (offload, frames index) per device")
        return decisions_allocation(self.problem, values.reshape(n, 2), self.local_frequency)

    def _offload_allocation(self, action: Any) -> Allocation:
        n = self.config.num_devices
        values = np.asarray(action)
        if values.size != n:
            raise ValueError(f"action must have {n} entries (offload 0/1 per device)")
        offload = offload_decisions(values.reshape(n))
        problem = self.problem
        frames = offload_frames(problem, offload, self.local_frames)
        return allocation_with_shares(problem, offload, frames, self.local_frequency)

    def _full_allocation(self, action: Any) -> Allocation:
        n = self.config.num_devices
        values = real_values(action)
        if values.size != 5 * n:
            raise ValueError(f"action must have {5 * n} entries (5 per device), got {values.size}")
        if not np.isfinite(values).all():
            raise ValueError(f"action must be finite, got {action!r}")
        return full_allocation(self.config, self.min_frames, values.reshape(n, 5))

    def action_from_allocation(self, allocation: Allocation) -> np.ndarray:
        """The action (current mode) reproducing ``allocation`` as exactly as the mode allows.

        Decisions mode: the offload decisions and frames (clipped to [F_min, F_max]); shares and
        frequencies come from Theorems 1 and 2, so a solver allocation built by them with the
        same frames (e.g. ``compose_allocation``) is reproduced exactly. Offload mode: the
        offloading set (the env chooses the frames optimal for it, so the allocation is
        reproduced exactly when its frames are, e.g. the exact bound's). Full mode: scores
        +-1, frames, weights proportional to the shares (the largest at +1; a share below
        ``SHARE_WEIGHT_FLOOR`` times the largest is raised to it), and ``f^l / f^max``; the
        shares are renormalised to use the whole budgets and are exact up to float32 rounding.
        """
        cfg = self.config
        n = cfg.num_devices
        if allocation.num_devices != n:
            raise ValueError(f"allocation has {allocation.num_devices} devices, the env {n}")
        offload = allocation.offload
        frames = np.clip(allocation.frames, self.min_frames, cfg.max_frames)
        if self.action_mode == "decisions":
            return np.stack((offload.astype(np.int64), frames - self.min_frames), axis=1).reshape(
                -1
            )
        if self.action_mode == "offload":
            return offload.astype(np.int8)
        action = np.full((n, 5), -1.0)
        action[:, 0] = np.where(offload, 1.0, -1.0)
        span = max(self._frame_span, 1)
        action[:, 1] = 2.0 * (frames - self.min_frames) / span - 1.0
        for column, share in ((2, allocation.time_share), (3, allocation.edge_frequency)):
            used = np.where(offload, share, 0.0)
            largest = used.max()
            if largest > 0:
                weight = used / largest * (1.0 + SHARE_WEIGHT_FLOOR) - SHARE_WEIGHT_FLOOR
                action[:, column] = np.where(offload, 2.0 * weight - 1.0, -1.0)
        fraction = allocation.local_frequency / cfg.device_max_frequency
        action[:, 4] = np.where(offload, -1.0, 2.0 * fraction - 1.0)
        return np.clip(action, -1.0, 1.0).astype(np.float32).reshape(-1)

    # ------------------------------------------------------------------ observation
    def _observation(self) -> np.ndarray:
        st = self.simulator.state
        if st.chunk is not self._observed_chunk:  # observations are encoded a chunk at a time
            self._chunk_observations = self.observer.encode(st.chunk.gain_db, st.chunk.distance)
            self._observed_chunk = st.chunk
        return self._chunk_observations[st.slot].copy()

    def decode_observation(self, observation: np.ndarray) -> dict[str, np.ndarray | float]:
        """Physical values behind an observation: ``gain_db`` (dB), ``distance`` (m),
        ``max_frequency`` (cycle/s) per device, ``bandwidth`` (Hz), ``edge_capacity``
        (cycle/s). Exact up to float32 rounding and the clipping of the gain range."""
        obs = np.asarray(observation, dtype=np.float64)
        per_device = obs[:-2].reshape(-1, 3)
        return {
            "gain_db": self.gain_scale.decode(per_device[:, 0]),
            "distance": (per_device[:, 1] + 1.0) * 0.5 * self.observer.max_distance,
            "max_frequency": per_device[:, 2] * FREQUENCY_SCALE,
            "bandwidth": float(obs[-2] * BANDWIDTH_SCALE),
            "edge_capacity": float(obs[-1] * EDGE_CAPACITY_SCALE),
        }

    # ------------------------------------------------------------------ rendering
    def _render_text(self) -> str:
        from mec_gym.envs.joint_offload_render import render_round_text

        return render_round_text(self)

    def _render_rgb(self) -> np.ndarray:
        from mec_gym.envs.joint_offload_render import render_round_rgb

        return render_round_rgb(self)
