"""Base class of the frozen, validated parameter dataclasses (one per system)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np

__all__ = ["MAGNITUDE_RANGE", "SystemConfig", "resolve_config"]

MAGNITUDE_RANGE = (1e-30, 1e18)
"""Magnitudes a config's nonzero numbers may have (SI units; dB values are numbers too): no
quantity of these systems comes near either end, and products and quotients of a few values
inside stay far from float64's overflow (an episode's delays or positions would otherwise
become inf or NaN)."""

ConfigT = TypeVar("ConfigT", bound="SystemConfig")


class SystemConfig:
    """Mixin for frozen dataclasses of parameters: validation, dict round-trip, overrides.

    Subclasses are ``@dataclass(frozen=True)`` and implement ``validate()``, raising
    ``ValueError`` through the ``_require_*`` helpers, which name the field and its range.
    """

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            if isinstance(value, (np.generic, np.ndarray)):  # numpy values become Python's
                value = value.tolist()  # np.int64(5): 5; np.array([1, 2]): [1, 2]
                object.__setattr__(self, field.name, value)
            if isinstance(value, (list, tuple)):  # and so do their entries
                value = [v.item() if isinstance(v, np.generic) else v for v in value]
            if isinstance(value, list):  # lists from YAML/JSON become tuples (hashable, frozen)
                object.__setattr__(self, field.name, tuple(value))
            elif isinstance(value, float) and value == 0.0:  # -0.0 (numpy refuses scale=-0.0)
                object.__setattr__(self, field.name, 0.0)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field out of its allowed range."""

    # -- validation helpers -------------------------------------------------------------
    def _value(self, name: str) -> Any:
        return getattr(self, name)

    def _require_number(
        self,
        name: str,
        low: float = -math.inf,
        high: float = math.inf,
        *,
        low_inclusive: bool = True,
        high_inclusive: bool = True,
        integer: bool = False,
        low_field: str | None = None,
        high_field: str | None = None,
    ) -> None:
        """``name`` must be a finite number (an int if ``integer``) in the range, 0 or of a
        magnitude in :data:`MAGNITUDE_RANGE`; a bound that
        is another field's value (or a function of it) names that field (``low_field``,
        ``high_field``: the field, or an expression starting with it such as "area_side / 2"),
        and the error then says which fields to change."""
        value = self._value(name)
        kind = "an integer" if integer else "a number"
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        low_text = f"{low_field} = {low}" if low_field else f"{low}"
        high_text = f"{high_field} = {high}" if high_field else f"{high}"
        allowed = f"{kind} in {left}{low_text}, {high_text}{right}"
        ok_type = (
            isinstance(value, int) if integer else isinstance(value, (int, float))
        ) and not isinstance(value, bool)
        try:
            finite = ok_type and math.isfinite(value)
        except OverflowError:  # an int beyond float64 (10**400)
            finite = False
        if not finite:
            raise ValueError(f"{type(self).__name__}.{name} must be {allowed}, got {value!r}")
        smallest, largest = MAGNITUDE_RANGE
        if value != 0 and not smallest <= abs(value) <= largest:
            zero = (low < 0 or (low == 0 and low_inclusive)) and (high > 0 or high_inclusive)
            raise ValueError(
                f"{type(self).__name__}.{name} must be {allowed}, {'0 or ' if zero else ''}of "
                f"magnitude in [{smallest:g}, {largest:g}], got {value!r}"
            )
        above = value >= low if low_inclusive else value > low
        below = value <= high if high_inclusive else value < high
        if not (above and below):
            # a bound given as an expression ("area_side / 2") names its field first
            others = [field.split()[0] for field in (low_field, high_field) if field]
            change = f" (change {' or '.join([name, *others])})" if others else ""
            raise ValueError(
                f"{type(self).__name__}.{name} must be {allowed}, got {value!r}{change}"
            )

    def _require_positive(self, name: str, *, integer: bool = False) -> None:
        self._require_number(name, 0, low_inclusive=False, integer=integer)

    def _require_choice(self, name: str, choices: tuple[str, ...]) -> None:
        value = self._value(name)
        if value not in choices:
            raise ValueError(
                f"{type(self).__name__}.{name} must be one of {choices}, got {value!r}"
            )

    # -- conversion ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples as lists) that YAML/JSON can store and ``from_dict`` restores."""
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            out[field.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls: type[ConfigT], values: Mapping[str, Any]) -> ConfigT:
        """Build a config from a dict, rejecting unknown keys with the list of valid ones."""
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(
                f"unknown {cls.__name__} field(s) {unknown}; valid fields: {sorted(names)}"
            )
        return cls(**values)  # type: ignore[call-arg]

    def replace(self: ConfigT, **changes: Any) -> ConfigT:
        """A copy with some fields changed (validated again)."""
        return type(self).from_dict({**self.to_dict(), **changes})


def resolve_config(
    config_cls: type[ConfigT], config: ConfigT | Mapping[str, Any] | None, overrides: Mapping
) -> ConfigT:
    """The config an env is built with: ``config`` (object or dict) updated by ``overrides``.

    A config object of a parent class (e.g. the system's config given to an env whose config
    extends it) is taken as the dict of its fields."""
    if config is None:
        base: dict[str, Any] = {}
    elif isinstance(config, config_cls) or (
        isinstance(config, SystemConfig) and issubclass(config_cls, type(config))
    ):
        base = config.to_dict()  # the class itself, or a parent (e.g. a system's config)
    elif isinstance(config, Mapping):
        base = dict(config)
    else:
        raise TypeError(
            f"config must be a {config_cls.__name__}, a dict or None, got {type(config).__name__}"
        )
    return config_cls.from_dict({**base, **overrides})
