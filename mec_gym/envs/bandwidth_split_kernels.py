"""BandwidthSplit-v0's native vector step with one device, compiled by numba.

:mod:`mec_gym.envs.bandwidth_split_vector` steps its sub-envs with numpy, about 60 calls on
small arrays a step. Where the environments compile (:func:`~mec_gym.compiled.compiled_envs`)
and each sub-env has one device, a step runs instead as one loop over the sub-envs, compiled by
numba, that calls the functions the scalar env calls on Python floats, themselves compiled as
written: the action map (``own_link_split``), the period's outcome (``split_outcome``), the
devices' carried state (``carry_over``), the period's values (``period_values``) and the
observed state (``ObservationScale.state_features``). They are given :class:`FloatMath` in
place of ``SCALAR_MATH``, a :class:`LinkConfig` in place of the config and named tuples in
place of the ``SplitOutcome`` and ``DeviceState`` dataclasses. What the loop writes again is
glue: where each value goes in the arrays. The scalar env computes with the ``math`` module
and so does the loop (libm's ``log1p`` and ``pow``), so the numbers are the scalar env's bit for
bit, which ``tests/envs/test_bandwidth_split.py`` checks (the numpy step's may differ in the
last bit where numpy has its own SIMD ``log1p`` and ``pow``). Importing this module needs numba
(the ``solvers`` extra).
"""

from __future__ import annotations

import dataclasses
import math
from collections import namedtuple
from collections.abc import Callable
from functools import cache
from typing import Any

import numba
import numpy as np
from numba import types
from numba.experimental import jitclass

from mec_gym.compiled import compiled, compiled_calling
from mec_gym.envs.bandwidth_split import (
    ObservationScale,
    model_size_from_entry,
    own_link_split,
    period_values,
)
from mec_gym.problems.bandwidth_split import (
    SplitOutcome,
    detection_map,
    params_carried,
    samples_carried,
    split_outcome,
    subband_rate,
    upload_airtime,
)
from mec_gym.simulators.bandwidth_split import BandwidthSplitEnvConfig, DeviceState, carry_over

__all__ = [
    "LINK_CONFIG_FIELDS",
    "FloatMath",
    "LinkConfig",
    "ObservedScale",
    "link_arguments",
    "compiled_link_step",
]

LINK_CONFIG_FIELDS = (
    "min_model_size",
    "max_model_size",
    "bandwidth_hz",
    "period_s",
    "sample_bits",
    "bits_per_param",
    "map_a",
    "map_b",
    "map_g",
    "map_c",
    "map_n0",
    "map_alpha",
    "freshness_decay",
    "upload_power_w",
)
"""The numeric config fields a step reads (as float64); :class:`LinkConfig` adds the string
``model_size`` and the array ``model_sizes``."""


@jitclass(
    [(name, types.float64) for name in LINK_CONFIG_FIELDS]
    + [("model_size", types.unicode_type), ("model_sizes", types.float64[::1])]
)
class LinkConfig:
    """The config fields a step reads (:data:`LINK_CONFIG_FIELDS`, ``model_size`` and
    ``model_sizes``), as numba passes them to the compiled functions in place of the config
    dataclass."""

    def __init__(
        self,
        min_model_size: float,
        max_model_size: float,
        bandwidth_hz: float,
        period_s: float,
        sample_bits: float,
        bits_per_param: float,
        map_a: float,
        map_b: float,
        map_g: float,
        map_c: float,
        map_n0: float,
        map_alpha: float,
        freshness_decay: float,
        upload_power_w: float,
        model_size: str,
        model_sizes: np.ndarray,
    ) -> None:
        self.min_model_size = min_model_size
        self.max_model_size = max_model_size
        self.bandwidth_hz = bandwidth_hz
        self.period_s = period_s
        self.sample_bits = sample_bits
        self.bits_per_param = bits_per_param
        self.map_a = map_a
        self.map_b = map_b
        self.map_g = map_g
        self.map_c = map_c
        self.map_n0 = map_n0
        self.map_alpha = map_alpha
        self.freshness_decay = freshness_decay
        self.upload_power_w = upload_power_w
        self.model_size = model_size
        self.model_sizes = model_sizes


@jitclass([])
class FloatMath:
    """``SCALAR_MATH`` (Python's builtins and ``math`` on floats) for compiled code: the same
    results, ``max`` and ``min`` included (the first argument unless the second is greater,
    or smaller)."""

    def __init__(self) -> None:
        pass

    def asfloat(self, value: float) -> float:
        return float(value)

    def maximum(self, x: float, y: float) -> float:
        return y if y > x else x

    def minimum(self, x: float, y: float) -> float:
        return y if y < x else x

    def greater(self, x: float, y: float) -> bool:
        return x > y

    def log1p(self, x: float) -> float:
        return math.log1p(x)

    def where(self, condition: bool, x: float, y: float) -> float:
        return x if condition else y


@jitclass([("n0", types.float64), ("map_high", types.float64), ("size_high", types.float64)])
class ObservedScale:
    """The :class:`~mec_gym.envs.bandwidth_split.ObservationScale` values its
    ``state_features`` reads."""

    def __init__(self, n0: float, map_high: float, size_high: float) -> None:
        self.n0 = n0
        self.map_high = map_high
        self.size_high = size_high


def link_arguments(
    config: BandwidthSplitEnvConfig, scale: ObservationScale
) -> tuple[LinkConfig, FloatMath, ObservedScale]:
    """The compiled step's views of ``config``, of the math and of ``scale``."""
    values = [float(getattr(config, name)) for name in LINK_CONFIG_FIELDS]
    sizes = np.array(config.model_sizes, dtype=np.float64)
    link = LinkConfig(*values, config.model_size, sizes)
    observed = ObservedScale(float(scale.n0), float(scale.map_high), float(scale.size_high))
    return link, FloatMath(), observed


def named_values(dataclass: type) -> type:
    """A named tuple with the fields of ``dataclass`` (what numba builds in its place)."""
    return namedtuple(dataclass.__name__, [field.name for field in dataclasses.fields(dataclass)])


@cache
def compiled_link_step() -> Callable[..., None]:
    """The loop of a one-device step, compiled at its first call in each process (about 5 s;
    not cached on disk: numba would not see a change to the functions compiled in).

    ``step(link, xp, scale, actions, upload_snr, download_snr, available, fresh, held_size,
    held_credit, device_map, next_gain, next_samples, bandwidth, progress, period,
    observations)``, with :func:`link_arguments`' ``link``, ``xp`` and ``scale``, plays each
    sub-env's period with its action row (``actions``, (num_envs, entries)) on its SNRs and
    N_avail (each (num_envs,)); updates the devices' state (``fresh``, ``held_size``,
    ``held_credit``, ``device_map``, each (num_envs,), in place); writes the period's values
    (``PeriodValues``' order) into the rows of ``period`` (num_envs, 7) and the observation
    rows (``observations``, (num_envs, 8), float32) with the next period's observed gain and
    N_avail (``next_gain``, ``next_samples``), the observed bandwidth and the progress. Arrays
    are C-contiguous float64 unless said.
    """
    outcome_values, device_values = named_values(SplitOutcome), named_values(DeviceState)
    rate = compiled(subband_rate, cache=False)
    accuracy = compiled(detection_map, cache=False)
    own_link = compiled_calling(
        own_link_split, {"model_size_from_entry": compiled(model_size_from_entry, cache=False)}
    )
    outcome_of = compiled_calling(
        split_outcome,
        {
            "subband_rate": rate,
            "params_carried": compiled(params_carried, cache=False),
            "samples_carried": compiled(samples_carried, cache=False),
            "detection_map": accuracy,
            "SplitOutcome": outcome_values,
        },
    )
    carried = compiled_calling(
        carry_over, {"detection_map": accuracy, "DeviceState": device_values}
    )
    values_of = compiled_calling(
        period_values, {"upload_airtime": compiled(upload_airtime, cache=False)}
    )
    state_features = compiled(ObservationScale.state_features, cache=False)
    # an explicit signature makes numba unwrap the optional value (no other option matters)
    present = numba.njit("float64(optional(float64))")(_present)

    def step(
        link: Any,
        xp: Any,
        scale: Any,
        actions: np.ndarray,
        upload_snr: np.ndarray,
        download_snr: np.ndarray,
        available: np.ndarray,
        fresh: np.ndarray,
        held_size: np.ndarray,
        held_credit: np.ndarray,
        device_map: np.ndarray,
        next_gain: np.ndarray,
        next_samples: np.ndarray,
        bandwidth: float,
        progress: float,
        period: np.ndarray,
        observations: np.ndarray,
    ) -> None:
        last = actions.shape[1] - 1  # the model-size entry (with "auto" none: never read)
        for env in range(actions.shape[0]):
            upload, download, size = own_link(link, (actions[env, 0], actions[env, last]), xp)
            up_snr, down_snr, samples = upload_snr[env], download_snr[env], available[env]
            fallback, carried_samples = device_map[env], fresh[env]
            if size is None:  # the largest model the download carries
                outcome = outcome_of(
                    link, up_snr, down_snr, samples, fallback, upload, download, None,
                    carried_samples, xp,
                )  # fmt: skip
            else:
                outcome = outcome_of(
                    link, up_snr, down_snr, samples, fallback, upload, download,
                    present(size), carried_samples, xp,
                )  # fmt: skip
            before = device_values(fresh[env], held_size[env], held_credit[env], device_map[env])
            devices = carried(link, before, outcome, xp)
            fresh[env], held_size[env] = devices.fresh_data, devices.held_size
            held_credit[env], device_map[env] = devices.held_credit, devices.device_map
            values = values_of(link, outcome, xp)
            for key in range(len(values)):  # PeriodValues' order
                period[env, key] = values[key]
            observed = observations[env]
            observed[0], observed[1] = next_gain[env], next_samples[env]
            observed[2], observed[3], observed[4], observed[5] = state_features(scale, devices)
            observed[6], observed[7] = bandwidth, progress

    return compiled(step, cache=False)


def _present(value: float | None) -> float:
    """``value``, known not to be None (compiled with the signature ``float64(optional(
    float64))``: numba's type of an optional model size, unwrapped)."""
    return value
