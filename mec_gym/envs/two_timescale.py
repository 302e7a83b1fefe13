"""TwoTimescale-v0: the slot level of the two-timescale DT-assisted inference and retraining system.

Source: J. Cong, G. Cheng, C. You, X. Huang, W. Wu, "Two-Timescale Digital Twin Assisted Model
Interference and Retraining over Wireless Network", arXiv 2411.18329. Model as specified in
``docs/two_timescale.md`` (everything numeric is our
choice).

The physics and the slot problem live in :mod:`mec_gym.problems.two_timescale`, the frames and
slots in :mod:`mec_gym.simulators.two_timescale` and the frame-level heuristics in
:mod:`mec_gym.solvers.two_timescale.frame`; this module maps actions to compute shares
(:func:`decision_from_action`) and states to observations (:class:`SlotObserver`), with
functions over leading env axes that the scalar env, the batched vector env and the frame-level
env share.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache, partial
from operator import add, mul
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from mec_gym.compiled import compiled, compiled_envs
from mec_gym.envs.base import EpisodeMeans, MecEnv, env_metadata, real_values
from mec_gym.problems.two_timescale import (
    ComputeShares,
    SlotProblem,
    retraining_bits,
    share_scale,
    shares_from_weight_lists,
    shares_from_weights,
)
from mec_gym.simulators.two_timescale import (
    SlotDecision,
    SlotGenerator,
    SlotOutcome,
    TwoTimescaleEnvConfig,
    TwoTimescaleSimulator,
    TwoTimescaleState,
    compiled_slot_kernels,
)
from mec_gym.solvers.two_timescale import (
    accuracy_target_ratio,
    closed_form_split,
    closed_form_weights,
    equal_split,
    equal_weights,
)
from mec_gym.solvers.two_timescale.frame import FRAME_POLICIES, FramePolicy, dt_frame_policy

__all__ = [
    "TwoTimescaleEnv",
    "TwoTimescaleEnvBase",
    "TwoTimescaleEnvConfig",
    "FramePolicy",
    "SlotPolicy",
    "COMPONENTS",
    "WEIGHT_FLOOR",
    "SPECTRAL_HALF",
    "SLOT_RULES",
    "SLOT_WEIGHTS",
    "SLOT_BASELINES",
    "slot_action_space",
    "slot_observation_space",
    "observation_size",
    "resolve_frame_policy",
    "SlotObserver",
    "decode_observation",
    "problem_from_observation",
    "clipped_to_unit",
    "compiled_weight_shares",
    "decision_from_action",
    "action_from_shares",
    "SlotRuleAction",
    "baseline_ratios",
    "slot_rule_decision",
    "rule_decision",
    "has_fixed_ratios",
    "fixed_rule_decision",
]

SlotPolicy = Callable[[np.ndarray], np.ndarray]
"""``policy(observation) -> action`` of ``TwoTimescale-v0`` (one slot)."""

WEIGHT_FLOOR = 0.05
"""Action: an entry u in [0, 1] is the compute weight ``u + WEIGHT_FLOOR`` (every job gets a
positive share, so that every action is feasible)."""
SPECTRAL_HALF = 4.0
"""Observation: the rate R is observed as ``s / (s + SPECTRAL_HALF)``, ``s = R / B`` the spectral
efficiency, bit/s/Hz."""
COMPONENTS = {
    "transmission": "s",
    "computation": "s",
    "retraining": "s",
    "accuracy": "",
    "violation": "",
}
"""``info`` components (episode means per slot) and their units."""

SLOT_RULES: dict[str, Callable[[SlotProblem], ComputeShares]] = {
    "closed_form": closed_form_split,
    "equal": equal_split,
}
"""Slot-level compute splits by name."""
SLOT_WEIGHTS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "closed_form": closed_form_weights,
    "equal": equal_weights,
}
"""The per-job weights behind each split of ``SLOT_RULES`` (``weights(Q, W)``; each BS's
capacity split in proportion to them is the split)."""

SLOT_BASELINES: dict[str, tuple[str, str]] = {
    "closed_form": ("closed_form", "one"),
    "closed_form_adaptive": ("closed_form", "accuracy_target"),
    "equal": ("equal", "one"),
}
"""The slot-level baselines: name -> (compute split of ``SLOT_RULES``, generation ratios:
``"one"``, p = 1 for every MU, or ``"accuracy_target"``,
:func:`~mec_gym.solvers.two_timescale.accuracy_target_ratio`). Played through
``slot_action="full"`` actions, a retrained MU given p = 0 keeps the floor weight of its
retraining job (the action cannot express a zero share), so ``closed_form_adaptive`` is about
0.3 % worse there on the test seeds than its exact decision (:func:`slot_rule_decision`, and
every action under ``"ratio"`` and ``"ratio_binary"``)."""


def slot_action_space(config: TwoTimescaleEnvConfig) -> spaces.Box | spaces.MultiBinary:
    """``Box(0, 1, (3N,))`` (``slot_action="full"``), ``Box(0, 1, (N,))`` (``"ratio"``) or
    ``MultiBinary(N)`` (``"ratio_binary"``)."""
    if config.slot_action == "ratio_binary":
        return spaces.MultiBinary(config.num_mus)
    width = 3 if config.slot_action == "full" else 1
    return spaces.Box(0.0, 1.0, (width * config.num_mus,), np.float32)


def observation_size(config: TwoTimescaleEnvConfig) -> int:
    """N (M + 4) + 2 (see the env's Observation Space)."""
    return config.num_mus * (config.num_bs + 4) + 2


def slot_observation_space(config: TwoTimescaleEnvConfig) -> spaces.Box:
    """``Box(0, 1, (N (M + 4) + 2,), float32)`` (see the env's Observation Space)."""
    return spaces.Box(0.0, 1.0, (observation_size(config),), np.float32)


def resolve_frame_policy(frame_policy: FramePolicy | str | None) -> FramePolicy:
    """The frame policy of an env argument: None (the default), a name of ``FRAME_POLICIES`` or
    a callable (TypeError / ValueError otherwise)."""
    if frame_policy is None:
        return dt_frame_policy
    if isinstance(frame_policy, str):
        if frame_policy not in FRAME_POLICIES:
            raise ValueError(
                f"frame_policy must be one of {sorted(FRAME_POLICIES)} or a callable, "
                f"got {frame_policy!r}"
            )
        return FRAME_POLICIES[frame_policy]
    if not callable(frame_policy):
        raise TypeError(f"frame_policy must be callable, got {type(frame_policy).__name__}")
    return frame_policy


class SlotObserver:
    """The observations of a simulator's slots (see the env's Observation Space), over its env
    axis: ``begin_frame(simulator)`` after each frame decision, then ``observe(simulator)``.

    Everything but the accuracy is known at the frame start, so ``begin_frame`` builds the
    observations of the frame's slots (and of the slot after) and ``observe`` copies one and
    writes the accuracies."""

    def __init__(self, config: TwoTimescaleEnvConfig, batch_shape: tuple[int, ...] = ()) -> None:
        self.config = config
        self.size = observation_size(config)
        width = config.num_bs + 4
        self.accuracy_index = slice(width - 1, config.num_mus * width, width)
        """Positions of the MUs' accuracies in an observation (a basic slice: a cheap view)."""
        self.frame_start = 0
        self.frame_rows = np.zeros((*batch_shape, 0, self.size), dtype=np.float32)
        """The observations of the frame's slots and of the one after, accuracies aside,
        (..., T + 1, size)."""

    def begin_frame(self, simulator: TwoTimescaleSimulator) -> None:
        """Build the frame's observations: the BS one-hot, the batch and rate features, the
        retraining flags and the slot's position in the frame and in the episode."""
        cfg = self.config
        st = simulator.state
        m = cfg.num_bs
        start = self.frame_start = st.slot
        spectral = simulator.frame_rate / cfg.bandwidth_hz  # (..., T + 1, N)
        slots = spectral.shape[-2]
        batch = st.draws.batch_bits[..., start : start + slots, :] / cfg.batch_max_bits
        per_mu = np.zeros((*spectral.shape, m + 4))
        per_mu[..., :m] = (st.association[..., None, :, None] == np.arange(m)).astype(float)
        per_mu[..., m] = batch
        per_mu[..., m + 1] = spectral / (spectral + SPECTRAL_HALF)
        per_mu[..., m + 2] = st.retrain[..., None, :]
        rows = np.empty((*spectral.shape[:-1], self.size), dtype=np.float32)
        rows[..., :-2] = per_mu.reshape(*per_mu.shape[:-2], -1)
        index = start + np.arange(slots)
        rows[..., -2] = (index % cfg.slots_per_frame) / cfg.slots_per_frame
        rows[..., -1] = index / cfg.slots_per_episode
        self.frame_rows = rows

    def observe(self, simulator: TwoTimescaleSimulator) -> np.ndarray:
        """The observation of the simulator's next slot, float32, (..., size)."""
        st = simulator.state
        observation = self.frame_rows[..., st.slot - self.frame_start, :].copy()
        observation[..., self.accuracy_index] = st.accuracy
        return observation


def decode_observation(config: TwoTimescaleEnvConfig, observation: np.ndarray) -> dict[str, Any]:
    """Physical values behind observations (..., size): per MU ``association`` (BS index),
    ``batch_bits`` (bit), ``rate`` (bit/s), ``retrain`` (bool), ``accuracy``; then
    ``slot_in_frame`` (int) and ``progress`` (fraction of the episode played), (...)."""
    values = np.asarray(observation, dtype=float)
    m = config.num_bs
    per_mu = values[..., :-2].reshape(*values.shape[:-1], config.num_mus, m + 4)
    efficiency = per_mu[..., m + 1]
    return {
        "association": np.argmax(per_mu[..., :m], axis=-1).astype(np.intp),
        "batch_bits": per_mu[..., m] * config.batch_max_bits,
        "rate": config.bandwidth_hz * SPECTRAL_HALF * efficiency / (1.0 - efficiency),
        "retrain": per_mu[..., m + 2] > 0.5,
        "accuracy": per_mu[..., m + 3],
        "slot_in_frame": np.rint(values[..., -2] * config.slots_per_frame).astype(np.intp),
        "progress": values[..., -1],
    }


def problem_from_observation(
    config: TwoTimescaleEnvConfig,
    observation: np.ndarray,
    generation_ratio: np.ndarray | float = 1.0,
) -> SlotProblem:
    """The slot's problem rebuilt from observations (..., size), with DT generation ratios
    ``generation_ratio`` (the retraining work c_re delta p |Q|)."""
    decoded = decode_observation(config, observation)
    batch = decoded["batch_bits"]
    bits = retraining_bits(decoded["retrain"], generation_ratio, batch)
    return SlotProblem.from_config(config, batch, decoded["rate"], decoded["association"], bits)


def clipped_to_unit(value: float) -> float:
    """``value`` clipped to [0, 1] as ``np.minimum(np.maximum(value, 0.0), 1.0)`` clips it (the
    0.0 of -0.0); for one float, compiled by :func:`compiled_weight_shares`."""
    return 1.0 if value >= 1.0 else (value if value > 0.0 else 0.0)


@cache
def compiled_weight_shares() -> Callable[..., Any] | None:
    """The map of a ``slot_action="full"`` action to compute shares and generation ratios
    compiled by numba, or None where the envs do not compile
    (:func:`~mec_gym.compiled.compiled_envs`). Compiled on the first call in each process, not
    cached on disk (see :func:`~mec_gym.simulators.two_timescale.compiled_slot_kernels`).

    ``weight_shares(action, association, capacity, flags, decision)``: an action (3N,) of
    float64, the frame's BS of every MU (N,), BS capacities (M,) and retraining flags 0/1 (N,);
    writes the inference shares, retraining shares and generation ratios into the rows of
    ``decision`` (3, N) and returns True, or False at once for an action that is not finite
    (arrays returned from compiled code cost more than arrays written into). The same numbers
    as :func:`decision_from_action`: weights ``WEIGHT_FLOOR`` plus the clipped entries (times
    the flag for retraining), each BS's capacity split in proportion
    (:func:`~mec_gym.problems.two_timescale.share_scale`, the per-BS sums MU by MU)."""
    if not compiled_envs():
        return None
    jit = partial(compiled, cache=False)
    clip, scale_of = jit(clipped_to_unit), jit(share_scale)

    def weight_shares(
        action: np.ndarray,
        association: np.ndarray,
        capacity: np.ndarray,
        flags: np.ndarray,
        decision: np.ndarray,
    ) -> bool:
        for value in action:
            if not np.isfinite(value):
                return False
        count = association.shape[0]
        inference, retraining, ratio = decision[0], decision[1], decision[2]
        per_bs = np.zeros(capacity.shape[0])
        for n in range(count):
            inference[n] = WEIGHT_FLOOR + clip(action[2 * n])
            retraining[n] = flags[n] * (WEIGHT_FLOOR + clip(action[2 * n + 1]))
            ratio[n] = clip(action[2 * count + n])
            per_bs[association[n]] += inference[n] + retraining[n]
        scale = np.empty(capacity.shape[0])
        for m in range(capacity.shape[0]):
            scale[m] = scale_of(capacity[m], per_bs[m])
        for n in range(count):
            inference[n] *= scale[association[n]]
            retraining[n] *= scale[association[n]]
        return True

    compiled_now = jit(weight_shares)
    compiled_now(np.zeros(3), np.zeros(1, np.intp), np.ones(1), np.ones(1), np.empty((3, 1)))
    return compiled_now


def decision_from_action(
    config: TwoTimescaleEnvConfig,
    frame_problem: SlotProblem,
    state: TwoTimescaleState,
    action: Any,
) -> tuple[ComputeShares, np.ndarray]:
    """(compute shares, generation ratios) of actions (..., 3N or N: see the Action Space) in
    the current slot of ``state``, whose frame's association and capacities ``frame_problem``
    holds. ValueError for a wrong shape, a non-finite entry or, under ``"ratio_binary"``, an
    entry other than 0 or 1."""
    n = config.num_mus
    retrain = state.retrain
    batch_shape = retrain.shape[:-1]
    width = 3 * n if config.slot_action == "full" else n
    values = real_values(action)
    if values.shape != (*batch_shape, width):
        raise ValueError(f"action must have shape {(*batch_shape, width)}, got {np.shape(action)}")
    if not np.isfinite(values).all():
        where = np.argwhere(~np.isfinite(values))[:3].tolist()
        raise ValueError(f"action must be finite, got NaN or inf at {where} (first ones)")
    if config.slot_action == "ratio_binary" and not ((values == 0.0) | (values == 1.0)).all():
        where = np.argwhere((values != 0.0) & (values != 1.0))[:3].tolist()
        raise ValueError(
            f"slot_action='ratio_binary' takes generation ratios of 0 or 1, got other values at "
            f"{where} (first ones)"
        )
    values = np.minimum(np.maximum(values, 0.0), 1.0)
    if config.slot_action != "full":
        batch = state.batch_bits
        work = config.retrain_cost * retraining_bits(retrain, values, batch)
        return shares_from_weights(frame_problem, *closed_form_weights(batch, work)), values
    weights = values[..., : 2 * n].reshape(*batch_shape, n, 2) + WEIGHT_FLOOR
    shares = shares_from_weights(frame_problem, weights[..., 0], retrain * weights[..., 1])
    return shares, values[..., 2 * n :]


def action_from_shares(
    problem: SlotProblem, shares: ComputeShares, generation_ratio: np.ndarray | float = 1.0
) -> np.ndarray:
    """The action (float64, (..., 3N)) that applies ``shares`` to ``problem``'s slot with DT
    generation ratios ``generation_ratio``: per BS the weights ``c share`` with c scaling the
    BS's largest share to weight ``1 + WEIGHT_FLOOR``. Exact when every job's share at a BS is
    at least ``WEIGHT_FLOOR / (1 + WEIGHT_FLOOR)`` of the BS's largest (retraining shares of MUs
    that are not retrained are ignored by the env; a zero share comes back as the floor)."""
    weights = np.stack((shares.inference, shares.retraining), axis=-1)  # (..., N, 2)
    membership = problem.membership  # (..., N, M)
    largest = (weights.max(axis=-1)[..., None] * membership).max(axis=-2)  # (..., M)
    scale = (1.0 + WEIGHT_FLOOR) / np.where(largest > 0, largest, 1.0)
    mu_scale = (membership * scale[..., None, :]).sum(axis=-1)
    entries = np.clip(weights * mu_scale[..., None] - WEIGHT_FLOOR, 0.0, 1.0)
    batch_shape = entries.shape[:-2]
    ratio = np.broadcast_to(
        np.asarray(generation_ratio, dtype=float), (*batch_shape, problem.num_mus)
    )
    flat = entries.reshape(*batch_shape, -1)
    return np.concatenate((flat, np.clip(ratio, 0.0, 1.0)), axis=-1)


class SlotRuleAction:
    """A slot policy from a baseline of ``SLOT_BASELINES``: the generation ratios from the
    observed accuracy, the slot rebuilt from the observation at those ratios
    (:func:`problem_from_observation`), the rule's shares; the action of the config's
    ``slot_action`` (under ``"ratio"`` and ``"ratio_binary"`` only the ratios: the env splits in
    closed form, so ``"equal"`` is refused). Works on one observation or a batch."""

    def __init__(self, config: TwoTimescaleEnvConfig, name: str = "closed_form") -> None:
        if name not in SLOT_BASELINES:
            raise ValueError(f"name must be one of {sorted(SLOT_BASELINES)}, got {name!r}")
        split, _ = SLOT_BASELINES[name]
        if config.slot_action != "full" and split != "closed_form":
            raise ValueError(
                f"{name!r} needs slot_action='full' (a compute split other than the closed form)"
            )
        self.config = config
        self.name = name

    def __call__(self, observation: np.ndarray) -> np.ndarray:
        config = self.config
        accuracy = decode_observation(config, observation)["accuracy"]
        ratio = baseline_ratios(config, self.name, accuracy)
        if config.slot_action == "ratio_binary":  # the baselines' ratios are 0 or 1
            return ratio.astype(np.int8)
        if config.slot_action == "ratio":
            return ratio
        problem = problem_from_observation(config, observation, ratio)
        split, _ = SLOT_BASELINES[self.name]
        return action_from_shares(problem, SLOT_RULES[split](problem), ratio)


def baseline_ratios(config: TwoTimescaleEnvConfig, name: str, accuracy: np.ndarray) -> np.ndarray:
    """The generation ratios of the baseline ``name`` of ``SLOT_BASELINES`` for MUs of measured
    accuracy ``accuracy`` (..., N)."""
    _, ratios = SLOT_BASELINES[name]
    if ratios == "one":
        return np.ones(np.shape(accuracy))
    return accuracy_target_ratio(accuracy, config)


def slot_rule_decision(
    config: TwoTimescaleEnvConfig,
    name: str,
    simulator: TwoTimescaleSimulator,
    frame_problem: SlotProblem | None = None,
) -> SlotDecision:
    """The decision of the baseline ``name`` of ``SLOT_BASELINES`` on the simulator's exact
    slot (what :class:`SlotRuleAction` decides from an observation, without its float32
    rounding): the split's weights (``SLOT_WEIGHTS``) of the slot's batches and retraining work
    shared out over ``frame_problem``'s BSs (the frame's association and capacities; default:
    the simulator's current slot problem)."""
    state = simulator.state
    ratio = baseline_ratios(config, name, state.accuracy)
    problem = simulator.slot_problem() if frame_problem is None else frame_problem
    return rule_decision(config, name, problem, state.retrain, state.batch_bits, ratio)


def rule_decision(
    config: TwoTimescaleEnvConfig,
    name: str,
    frame_problem: SlotProblem,
    retrain: np.ndarray,
    batch_bits: np.ndarray,
    ratio: np.ndarray,
) -> SlotDecision:
    """The decision of the baseline ``name`` of ``SLOT_BASELINES`` at generation ratios
    ``ratio`` for batches ``batch_bits`` (bit) of MUs with retraining flags ``retrain``: the
    split's weights (``SLOT_WEIGHTS``) of the batches and retraining work shared out over
    ``frame_problem``'s BSs; arrays (..., N), or (T, N) for T slots of one frame."""
    split, _ = SLOT_BASELINES[name]
    work = config.retrain_cost * retraining_bits(retrain, ratio, batch_bits)
    weights = SLOT_WEIGHTS[split](batch_bits, work)
    return SlotDecision(shares_from_weights(frame_problem, *weights), ratio)


def has_fixed_ratios(name: str) -> bool:
    """Whether the slot baseline ``name`` sets generation ratios that do not depend on the
    slot (so that its decisions for a whole frame are known at the frame start)."""
    return SLOT_BASELINES[name][1] == "one"


def fixed_rule_decision(
    config: TwoTimescaleEnvConfig,
    name: str,
    simulator: TwoTimescaleSimulator,
    frame_problem: SlotProblem,
) -> SlotDecision:
    """The decisions of the baseline ``name`` of ``SLOT_BASELINES`` for every slot left in the
    current frame of a one-episode simulator at once, arrays (T, N) for
    :meth:`~mec_gym.simulators.two_timescale.TwoTimescaleSimulator.step_slots`: each slot's
    decision as :func:`slot_rule_decision`'s, for a baseline whose generation ratios are fixed
    (``"one"``; ValueError for a baseline whose ratios follow the accuracy, which is known only
    slot by slot, and for a batched simulator)."""
    if not has_fixed_ratios(name):
        raise ValueError(f"{name!r} sets its generation ratios slot by slot, from the accuracy")
    if simulator.batch_shape:
        raise ValueError("fixed_rule_decision takes a one-episode simulator (num_envs=None)")
    state = simulator.state
    frame_end = simulator.frame_start + config.slots_per_frame
    batch = state.draws.batch_bits[state.slot : frame_end]
    ratio = baseline_ratios(config, name, np.zeros(batch.shape))  # fixed: any accuracy
    return rule_decision(config, name, frame_problem, state.retrain, batch, ratio)


class TwoTimescaleEnvBase(MecEnv[TwoTimescaleEnvConfig]):
    """What both levels of the two-timescale system share: the config, the simulator
    (``self.simulator``), the slot observations, the objective of every slot played
    (``self.cost_history``, for rendering) and the rendering."""

    metadata: ClassVar[dict[str, Any]] = env_metadata(
        score="cost", higher_is_better=False, components=COMPONENTS
    )

    config_class = TwoTimescaleEnvConfig

    def __init__(
        self,
        config: TwoTimescaleEnvConfig | dict[str, Any] | None,
        render_mode: str | None,
        slots: SlotGenerator | None,
        overrides: dict[str, Any],
    ) -> None:
        super().__init__(config, render_mode, **overrides)
        self.simulator = TwoTimescaleSimulator(self.config, slots)
        self.observer = SlotObserver(self.config)
        self.cost_history: list[float] = []
        """Objective of each slot played in the episode, s (for rendering)."""
        self._figure: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_figure"] = None  # the rendering figure is rebuilt on demand
        return state

    @property
    def episode_over(self) -> bool:
        return self.simulator.done

    def _render_text(self) -> str:
        from mec_gym.envs.two_timescale_render import render_text

        return render_text(self)

    def _render_rgb(self) -> np.ndarray:
        from mec_gym.envs.two_timescale_render import new_figure, render_rgb

        if self._figure is None:
            self._figure = new_figure()
        return render_rgb(self, self._figure)


class TwoTimescaleEnv(TwoTimescaleEnvBase):
    """Slot-level compute allocation and DT data generation under a frame-level policy.

    ## Description
    M base stations with edge servers serve N mobile users (MUs). At the start of every frame a
    frame policy fixes the association of the MUs to the BSs and which models are retrained in
    the frame (delta_n); every slot (one step) the agent splits each BS's compute capacity
    Lambda over the inference batches Q_n and the retraining work c_re S_n of its MUs, and sets
    each MU's DT data generation ratio p_n (S_n = delta_n p_n |Q_n| bit of DT-generated data).
    More DT data retrains a model further (its accuracy recovers from the drift of its MU's
    data) but costs retraining delay. The frame policy is pluggable: ``frame_policy`` is a
    callable ``(view) -> FrameDecision`` called at every frame start (after the reset and
    after the last slot of each frame) with the simulator's
    :class:`~mec_gym.simulators.two_timescale.FrameView` (the DT's statistics, the distances);
    the default, :data:`~mec_gym.solvers.two_timescale.frame.dt_frame_policy`, retrains the
    MUs whose DT-predicted accuracy at the end of the frame is below ``acc_min`` and associates
    greedily on the DT statistics, each MU to the BS that adds the least expected delay
    (transmission at the predicted mean rate plus the growth of the BS's closed-form compute
    cost; at most ``max_users_per_bs`` MUs per BS if set); ``FRAME_POLICIES`` names the other
    rules.

    ## Action Space
    ``Box(0, 1, (3N,), float32)``: first N pairs ``(u_n, v_n)`` (MU-major), the inference and
    retraining compute weights of MU n, then the N generation ratios p_n. At each BS the
    capacity is split in proportion to the weights ``u_n + WEIGHT_FLOOR`` of its MUs'
    inferences and ``delta_n (v_n + WEIGHT_FLOOR)`` of their retrainings
    (``shares_from_weights``): a BS whose entries are all 0 splits equally, and every action is
    feasible (entries are clipped to [0, 1]). A non-finite entry or a wrong size raises
    ``ValueError``. :func:`action_from_shares` gives the action of a solver's shares. With
    ``slot_action="ratio"``: ``Box(0, 1, (N,), float32)``, the generation ratios only (clipped
    to [0, 1]), each BS's capacity split in closed form for them (lambda prop. to sqrt(Q),
    lambda_re prop. to sqrt(c_re S), the slot optimum given p). With
    ``slot_action="ratio_binary"``: ``MultiBinary(N)``, the generation ratios each 0 or 1 (any
    other value raises ``ValueError``), split as under ``"ratio"``: the on/off choice of the
    adaptive baseline ``closed_form_adaptive``, which it expresses exactly.

    ## Observation Space
    ``Box(0, 1, (N (M + 4) + 2,), float32)``: per MU (MU-major) the one-hot of its BS (M), its
    batch ``|Q| / batch_max_bits``, its rate to its BS as ``s / (s + SPECTRAL_HALF)`` with s = R
    / B (bit/s/Hz), its retraining flag delta and the last measured accuracy of its model (after
    the previous slot's retraining, on that slot's data; ``acc_max`` at the start); then the
    slot's index within the frame over ``slots_per_frame`` and the fraction of the episode's
    slots played. :meth:`decode_observation` inverts the map and
    :meth:`problem_from_observation` rebuilds the
    slot's :class:`~mec_gym.problems.two_timescale.SlotProblem` from it (the retraining work
    depends on p, not observed: the problem is built for a given p, 1 by default, the ratio the
    closed-form baseline plays).

    ## Rewards
    ``-objective / N``, the slot objective ``sum_n (L_tx + L_BS + delta L_re) + accuracy_penalty
    sum_n max(0, acc_min - acc)`` (s) per MU (about -0.4 per slot under the default frame
    policy and the closed-form split: a slot cost of 6.0 s, docs/RESULTS.md); the
    unscaled objective is ``info["slot_cost"]``.

    ## Starting State
    MUs uniform in the square, each MU's model fitted to its data (accuracy ``acc_max``); the
    first frame's decision is applied at reset.

    ## Episode End
    Truncated after ``frames_per_episode * slots_per_frame`` slots (never terminated); the env
    truncates itself, so no ``TimeLimit`` is registered.

    ## Arguments
    ``gymnasium.make("TwoTimescale-v0", config=None, render_mode=None, frame_policy=None,
    slots=None, **overrides)``: ``config`` is a ``TwoTimescaleEnvConfig`` (or a dict), overrides
    are its fields (e.g. ``frames_per_episode=2``, ``dt_error_max=0.0``); ``frame_policy`` as in
    the Description, or the name of one of ``FRAME_POLICIES`` (a module-level function or a
    ``RuleFramePolicy`` keeps the env picklable); ``slots`` draws the episodes
    (``RandomSlots()`` by default). ``gymnasium.make_vec("mec_gym:TwoTimescale-v0", n,
    vectorization_mode="vector_entry_point")`` builds the native batched
    :class:`~mec_gym.envs.two_timescale_vector.TwoTimescaleVectorEnv`.

    ## Info
    Means over the episode's slots so far: ``cost`` (the slot objective, s, the score, lower is
    better) and its components ``transmission``, ``computation``, ``retraining`` (sums over the
    MUs of L_tx, L_BS, L_re, s), ``violation`` (sum over the MUs of max(0, acc_min - acc)), so
    that ``cost = transmission + computation + retraining + accuracy_penalty * violation``, and
    ``accuracy`` (mean over the MUs after the slot's retraining); the last slot's ``slot_cost``,
    ``slot`` (slots played) and ``frame`` (the next slot's frame). ``env.unwrapped.last_outcome``
    holds the last slot's ``SlotOutcome``.

    ## Speed
    Where numba imports (the ``solvers`` extra, in ``train`` and ``dev``), the slot's per-MU
    formulas run compiled (:func:`~mec_gym.simulators.two_timescale.compiled_slot_kernels`),
    and so does the map of a ``slot_action="full"`` action given as a float32 or float64 array
    (what SB3 and ``action_space.sample()`` give) to compute shares
    (:func:`compiled_weight_shares`; the closed-form split of the ratio modes stays in numpy):
    the first env made in a process compiles them (about 1.5 s), and a default step costs about
    5 CartPole steps (``docs/bench_envs.md``). Without numba, or with the environment
    variable ``MEC_GYM_NUMBA=0``, the same steps run on Python floats: the same numbers bit for
    bit, at about 9 CartPole steps.

    ## Version History
    - v0, 2026-11-27 (speed only): the slot step compiled where numba imports; the same
      numbers, bit for bit.
    - v0, 2026-11-27 (API only): ``slot_action="ratio_binary"``, a new option; the other
      options' dynamics, observations and rewards are unchanged.
    - v0, 2026-11-27 (numerics only): the per-BS sums of the compute split add MU by MU (the
      same numbers on every CPU; they can differ in the last bit from before, where the BLAS
      kernel added in another order).
    - v0, 2026-11-26 (API only): configs without a usable link (mean SNR outside [-30, 150] dB
      over the area) or with episodes too large for memory are refused naming the fields.
    - v0: initial version.

    ## Frame level
    ``TwoTimescaleFrame-v0`` (:mod:`mec_gym.envs.two_timescale_frame`) runs the same simulator
    one frame per step, with a pluggable slot policy.

    ## System model and source
    Cong, Cheng, You, Huang, Wu, arXiv 2411.18329 (see the module docstring); spec
    ``docs/two_timescale.md``. ``env.simulator``
    (``mec_gym.simulators.two_timescale``) runs the frames and slots and ``env.state`` is its
    state.
    """

    def __init__(
        self,
        config: TwoTimescaleEnvConfig | dict[str, Any] | None = None,
        render_mode: str | None = None,
        frame_policy: FramePolicy | str | None = None,
        slots: SlotGenerator | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(config, render_mode, slots, overrides)
        compiled_slot_kernels()  # compiled here (once per process) rather than in a step
        if self.config.slot_action == "full":
            compiled_weight_shares()
        self.frame_policy: FramePolicy = resolve_frame_policy(frame_policy)
        self.action_space = slot_action_space(self.config)
        self.observation_space = slot_observation_space(self.config)
        self._frame_problem: SlotProblem | None = None
        self._frame_inputs: tuple[list[int], list[float], list[bool]] = ([], [], [])
        """The frame's association, BS capacities and retraining flags as Python values."""
        self._frame_arrays: tuple[np.ndarray, np.ndarray, np.ndarray] = (np.zeros(0),) * 3
        """The same as arrays (intp, float, float 0/1)."""

    # ------------------------------------------------------------------ gym API
    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[np.ndarray, dict[str, Any]]:
        self._episode_means = EpisodeMeans(self.evaluated_keys())
        self.simulator.reset(self.np_random)
        self._begin_frame()
        self.cost_history = []
        return self.observer.observe(self.simulator), {}

    def _step_episode(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        simulator = self.simulator
        if compiled_slot_kernels() is None:
            values = simulator.play_slot(*self.decision_lists(action))
        else:
            values = simulator.play_decision(self.decision_array(action), copy=False)  # fresh
        info = self._episode_means.add_in_order(values)
        cost = values[0]
        info["slot_cost"] = cost
        self.cost_history.append(cost)
        truncated = simulator.done
        if not truncated and simulator.frame_over:
            self._begin_frame()
        state = simulator.state
        info["slot"] = state.slot
        info["frame"] = state.frame
        observation = self.observer.observe(simulator)
        return observation, -cost / self.config.num_mus, False, truncated, info

    def _begin_frame(self) -> None:
        simulator = self.simulator
        simulator.begin_frame(self.frame_policy(simulator.frame_view()))
        self._frame_problem = None
        state = simulator.state
        capacity = [float(self.config.bs_capacity)] * self.config.num_bs
        self._frame_inputs = (state.association.tolist(), capacity, state.retrain.tolist())
        self._frame_arrays = (state.association, np.array(capacity), state.retrain.astype(float))
        self.observer.begin_frame(simulator)

    @property
    def frame_problem(self) -> SlotProblem | None:
        """A slot problem of the current frame (built when first read in the frame; None
        without a running frame): its association and capacities are the frame's, all that
        ``shares_from_weights`` reads."""
        simulator = self.simulator
        if simulator.state is None or simulator.frame_over:
            return None
        if self._frame_problem is None:
            self._frame_problem = simulator.slot_problem()
        return self._frame_problem

    # ------------------------------------------------------------------ actions
    def decision_lists(self, action: Any) -> tuple[list[float], list[float], list[float]]:
        """:meth:`decision_from_action` as Python floats (inference shares, retraining shares,
        generation ratios), bit for bit: in a running frame, a ``slot_action="full"`` action
        that is a float16, float32 or float64 array of the action's shape is mapped on floats,
        anything else (and any error) through :meth:`decision_from_action`."""
        values = action.tolist() if self._maps_directly(action, "efd") else None
        if values is None or not math.isfinite(sum(values)):
            shares, ratio = self.decision_from_action(action)
            return shares.inference.tolist(), shares.retraining.tolist(), ratio.tolist()
        # clipped_to_unit, written inline (a call per value costs more)
        values = [1.0 if v >= 1.0 else (v if v > 0.0 else 0.0) for v in values]
        association, capacity, retrain = self._frame_inputs
        n = self.config.num_mus
        weight = partial(add, WEIGHT_FLOOR)
        inference = list(map(weight, values[: 2 * n : 2]))
        retraining = list(map(mul, retrain, map(weight, values[1 : 2 * n : 2])))
        return (
            *shares_from_weight_lists(association, capacity, inference, retraining),
            values[2 * n :],
        )

    def _maps_directly(self, action: Any, dtypes: str) -> bool:
        """Whether ``action`` is mapped without :meth:`decision_from_action`: in a running
        frame under ``slot_action="full"``, an array of the action's shape whose dtype's
        character is in ``dtypes`` (finiteness aside)."""
        simulator = self.simulator
        return (
            self.config.slot_action == "full"
            and type(action) is np.ndarray
            and action.dtype.char in dtypes
            and action.shape == self.action_space.shape
            and simulator.state is not None
            and not simulator.frame_over
        )

    def decision_array(self, action: Any) -> np.ndarray:
        """:meth:`decision_from_action` as one float64 array (3, N) (rows: inference shares,
        retraining shares, generation ratios), the form the compiled slot takes
        (:meth:`~mec_gym.simulators.two_timescale.TwoTimescaleSimulator.play_decision`): from
        :meth:`compiled_decision` where that applies; the same numbers either way."""
        decision = self.compiled_decision(action)
        if decision is not None:
            return decision
        shares, ratio = self.decision_from_action(action)
        return np.array((shares.inference, shares.retraining, ratio), dtype=np.float64)

    def compiled_decision(self, action: Any) -> np.ndarray | None:
        """:meth:`decision_lists` as the rows of a float64 array (3, N), mapped by compiled code
        (:func:`compiled_weight_shares`), bit for bit; None where that does not apply: where the
        envs do not compile, without a running frame or ``slot_action="full"``, for an action
        that is not a finite float32 or float64 array of the action's shape."""
        if not self._maps_directly(action, "fd"):
            return None
        weight_shares = compiled_weight_shares()
        if weight_shares is None:
            return None
        # a native, contiguous, writable float64 copy (exact): the type the map is compiled for
        values = np.array(action, dtype=np.float64)
        decision = np.empty((3, self.config.num_mus))
        return decision if weight_shares(values, *self._frame_arrays, decision) else None

    def decision_from_action(self, action: Any) -> tuple[ComputeShares, np.ndarray]:
        """(compute shares, generation ratios) of an action in the current slot (see the
        Action Space); RuntimeError without a running frame."""
        problem = self.frame_problem
        if problem is None:
            raise RuntimeError("no running frame: call reset()")
        return decision_from_action(self.config, problem, self.simulator.state, action)

    # ------------------------------------------------------------------ observations
    def decode_observation(self, observation: np.ndarray) -> dict[str, Any]:
        """:func:`decode_observation` with this env's config."""
        return decode_observation(self.config, observation)

    def problem_from_observation(
        self, observation: np.ndarray, generation_ratio: np.ndarray | float = 1.0
    ) -> SlotProblem:
        """:func:`problem_from_observation` with this env's config."""
        return problem_from_observation(self.config, observation, generation_ratio)

    # ------------------------------------------------------------------ queries
    @property
    def problem(self) -> SlotProblem:
        """The current slot's problem at generation ratio 1, exact."""
        return self.simulator.slot_problem(1.0)

    @property
    def last_outcome(self) -> SlotOutcome | None:
        """The previous slot's ``SlotOutcome`` (None at the start of an episode and before the
        first reset)."""
        state = self.simulator.state
        return None if state is None else state.last_outcome
