"""Inference accuracy models: accuracy as a function of the input amount (e.g. video frames).

Each model is a monotone non-decreasing, concave-ish function with three constants
``(a1, a2, a3)`` and an inverse, so that accuracy requirements turn into minimum inputs.
Accuracy is a fraction in [0, 1]; the input amount ``x`` is dimensionless (frames).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["AccuracyModel", "ACCURACY_FORMS"]

ACCURACY_FORMS = ("exponential", "power", "reciprocal")


@dataclass(frozen=True)
class AccuracyModel:
    """Accuracy ``A(x)`` of one of three forms with constants ``a1, a2, a3 > 0``.

    - ``"exponential"``: ``a1 - a2 * exp(-a3 * x)``
    - ``"power"``: ``a1 - a2 * x**(-a3)``
    - ``"reciprocal"``: ``a1 - a2 / (x + a3)``
    """

    a1: float
    a2: float
    a3: float
    form: str = "exponential"

    def __post_init__(self) -> None:
        if self.form not in ACCURACY_FORMS:
            raise ValueError(f"form must be one of {ACCURACY_FORMS}, got {self.form!r}")
        for name in ("a1", "a2", "a3"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a finite number > 0, got {getattr(self, name)}")

    def __call__(self, x: np.ndarray | float) -> np.ndarray | float:
        """Accuracy (fraction) for input amount ``x`` (> 0)."""
        x = np.asarray(x, dtype=float)
        if self.form == "exponential":
            return self.a1 - self.a2 * np.exp(-self.a3 * x)
        if self.form == "power":
            return self.a1 - self.a2 * x ** (-self.a3)
        return self.a1 - self.a2 / (x + self.a3)

    def inverse(self, accuracy: np.ndarray | float) -> np.ndarray | float:
        """Input amount at which the model reaches ``accuracy`` (inf at or above ``a1``)."""
        gap = self.a1 - np.asarray(accuracy, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.form == "exponential":
                x = -np.log(gap / self.a2) / self.a3
            elif self.form == "power":
                x = (gap / self.a2) ** (-1.0 / self.a3)
            else:
                x = self.a2 / gap - self.a3
        return np.where(gap > 0, x, np.inf)

    def min_input(self, accuracy_requirement: float) -> int:
        """Smallest integer input ``x >= 1`` with ``A(x) >= accuracy_requirement``."""
        return max(1, int(np.ceil(self.inverse(accuracy_requirement) - 1e-9)))
