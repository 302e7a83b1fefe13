"""Data drift, model accuracy and retraining with generated data: the formulas of
``docs/two_timescale.md`` without a system's configuration.

Distributions are arrays whose last axis holds the class probabilities; any leading axes are
batch axes. Divergences are in nat, data amounts in bit.

- :func:`kl_divergence`: KL(p || q); :func:`negative_entropy` and :func:`log_likelihood`, its two
  terms (a caller that meets the same p many times tabulates the first).
- :func:`accuracy_of_divergence`: a model's accuracy ``clip(acc_max - zeta KL(q || q_model), 0,
  acc_max)``.
- :func:`project_top_k`: the I-projection of q onto the distributions with at most k positive
  classes (q restricted to its k likeliest classes, renormalised; KL(p* || q) = -log q(top k),
  :func:`projection_kl`), the data a twin modelling k classes generates;
  :func:`generated_data_value`: the fraction ``exp(-KL(p* || q))`` of such data worth real data,
  :func:`effective_data_bits`: the part of S bit of it worth real data; :func:`move_toward`:
  the retrained model's distribution (:func:`move_toward_each_slot`: over several slots).
- :func:`logit_walk`: a drifting distribution (Gaussian random walk of its logits with jumps to
  fresh Dirichlet(1) draws); :func:`expected_walk_kl`: its expected divergence growth.
- :func:`noisy_estimate`: a twin's estimate with a bounded relative error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mec_gym.models.summation import last_axis_sum

__all__ = [
    "kl_divergence",
    "divergence_of_likelihood",
    "negative_entropy",
    "log_likelihood",
    "accuracy_of_divergence",
    "projection_kl",
    "project_top_k",
    "generated_data_value",
    "effective_data_bits",
    "move_toward",
    "retraining_fraction",
    "blend_toward",
    "move_toward_each_slot",
    "logit_walk",
    "expected_walk_kl",
    "noisy_estimate",
]


def kl_divergence(
    p: np.ndarray, q: np.ndarray, p_negative_entropy: np.ndarray | None = None
) -> np.ndarray:
    """KL(p || q) in nat over the last axis; 0 log 0 = 0, and inf where p > 0 = q.

    ``p_negative_entropy``: :func:`negative_entropy` of p if already known; the divergence is
    then ``negative_entropy(p) - log_likelihood(p, q)`` (a caller that tabulates the first for
    every p it will meet pays one log per class per call)."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if p_negative_entropy is not None:
        return divergence_of_likelihood(p_negative_entropy, log_likelihood(p, q))
    if p.min() > 0.0 and q.min() > 0.0:  # the common case, without masks
        return (p * np.log(p / q)).sum(axis=-1)
    positive = p > 0
    log_p = np.log(p, out=np.zeros_like(p), where=positive)
    log_q = np.log(q, out=np.full_like(q, -np.inf), where=q > 0)
    terms = np.multiply(p, log_p - log_q, out=np.zeros_like(p), where=positive)
    return terms.sum(axis=-1)


def divergence_of_likelihood(p_negative_entropy: Any, log_likelihood: Any) -> Any:
    """KL(p || q) = ``sum p log p - sum p log q``, nat, from :func:`negative_entropy` of p and
    :func:`log_likelihood` of p under q (floats or arrays alike)."""
    return p_negative_entropy - log_likelihood


def log_likelihood(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``sum_c p_c log q_c`` in nat over the last axis (the expected log-likelihood under q of
    data from p); 0 log 0 = 0, and -inf where p > 0 = q."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if q.min() > 0.0:  # the common case, without masks (p = 0 gives 0 log q = 0)
        return np.vecdot(p, np.log(q))
    # summed as above, so that a row's value does not depend on the other rows of the array
    log_q = np.log(q, out=np.full_like(q, -np.inf), where=q > 0)
    return np.vecdot(p, np.where(p > 0, log_q, 0.0))


def negative_entropy(p: np.ndarray) -> np.ndarray:
    """``sum_c p_c log p_c`` in nat over the last axis (minus the entropy; 0 log 0 = 0)."""
    return log_likelihood(p, p)


def accuracy_of_divergence(divergence: Any, acc_max: float, weight: float) -> Any:
    """``clip(acc_max - weight divergence, 0, acc_max)``: the accuracy of a model whose data
    have drifted ``divergence`` nat from what it was fitted to (``weight``: accuracy per nat);
    floats or arrays alike."""
    accuracy = acc_max - weight * divergence
    return np.minimum(np.maximum(accuracy, 0.0), acc_max)


def projection_kl(q: np.ndarray, k: int) -> np.ndarray:
    """KL(p* || q) of the top-k projection of :func:`project_top_k`: ``-log q(top k)``, nat, over
    the last (class) axis (ValueError unless 1 <= k <= classes)."""
    q = np.asarray(q, dtype=float)
    classes = q.shape[-1]
    if not 1 <= k <= classes:
        raise ValueError(f"k must be in [1, {classes}] (the classes), got {k!r}")
    mass = last_axis_sum(np.partition(q, classes - k, axis=-1)[..., classes - k :])
    return -np.log(np.minimum(mass, 1.0))


def project_top_k(q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The I-projection p* = argmin KL(p || q) over distributions with at most k positive classes.

    Returns ``(p*, KL(p* || q))``: q restricted to its k most likely classes and renormalised, and
    ``-log q(top k)`` (:func:`projection_kl`). Exact: for p supported on a set A, ``KL(p || q) =
    KL(p || q_A) - log q(A)`` with ``q_A = q 1_A / q(A)``, so the best p on A is q_A and the
    best A of size k the one of largest q(A). Last axis: classes.
    """
    q = np.asarray(q, dtype=float)
    top = np.argpartition(-q, k - 1, axis=-1)[..., :k]
    mask = np.zeros(q.shape, dtype=bool)
    np.put_along_axis(mask, top, True, axis=-1)
    kept = np.where(mask, q, 0.0)
    return kept / kept.sum(axis=-1, keepdims=True), projection_kl(q, k)


def generated_data_value(projection_kl: np.ndarray) -> np.ndarray:
    """``exp(-KL(p* || q))``: the fraction of data generated from the projection p* of q that is
    worth real data (``projection_kl`` in nat)."""
    return np.exp(-np.asarray(projection_kl, dtype=float))


def effective_data_bits(data_bits: np.ndarray, data_value: np.ndarray) -> np.ndarray:
    """S_eff = S exp(-KL(p* || q)), bit: the generated data that is worth real data, from S =
    ``data_bits`` and its :func:`generated_data_value`."""
    return data_bits * data_value


def move_toward(
    q_model: np.ndarray, q: np.ndarray, effective_bits: np.ndarray, reference_bits: float
) -> np.ndarray:
    """q_model + S_eff / (S_eff + S_0) (q - q_model): the distribution a model fits after
    retraining on S_eff bit of effective data (S_0 = ``reference_bits`` closes half the gap)."""
    return blend_toward(q_model, q, _retraining_fraction(effective_bits, reference_bits))


def move_toward_each_slot(
    q_model: np.ndarray, q: np.ndarray, effective_bits: np.ndarray, reference_bits: float
) -> np.ndarray:
    """:func:`move_toward` slot after slot: the distributions fitted after each of T slots of
    data ``q`` (..., T, N, C) and effective retraining data ``effective_bits`` (..., T, N) bit,
    from ``q_model`` (..., N, C); shape (..., T, N, C)."""
    q = np.asarray(q, dtype=float)
    fraction = _retraining_fraction(effective_bits, reference_bits)
    models = np.empty(q.shape)
    for t in range(q.shape[-3]):
        q_model = models[..., t, :, :] = blend_toward(
            q_model, q[..., t, :, :], fraction[..., t, :, :]
        )
    return models


def retraining_fraction(effective_bits: Any, reference_bits: float) -> Any:
    """S_eff / (S_eff + S_0): how far retraining on S_eff bit of effective data moves a model
    toward its data (S_0 = ``reference_bits`` closes half the gap); floats or arrays alike."""
    return effective_bits / (effective_bits + reference_bits)


def _retraining_fraction(effective_bits: np.ndarray, reference_bits: float) -> np.ndarray:
    """:func:`retraining_fraction` with a trailing class axis of 1."""
    return retraining_fraction(np.asarray(effective_bits, dtype=float), reference_bits)[..., None]


def blend_toward(q_model: Any, q: Any, fraction: Any) -> Any:
    """q_model + fraction (q - q_model): distributions (..., C) moved toward q by ``fraction``
    (..., 1) of the gap (:func:`move_toward` with the fraction already known); arrays, or one
    class's probabilities as floats."""
    return q_model + fraction * (q - q_model)


def logit_walk(
    q0: np.ndarray, slots: int, rng: np.random.Generator, step_std: float, jump_prob: float
) -> np.ndarray:
    """The class distributions of ``slots`` consecutive slots starting at ``q0`` (..., C), shape
    (slots, ..., C): from one slot to the next the logits take a Gaussian step of std
    ``step_std`` nat, except that with probability ``jump_prob`` q jumps to a fresh Dirichlet(1)
    draw. Drawn in this order: the steps, the jump flags, then one Dirichlet draw per jump (in
    the order of the slots, then of the distributions)."""
    q0 = np.asarray(q0, dtype=float)
    if not step_std >= 0.0:
        raise ValueError(f"step_std must be >= 0, got {step_std!r}")
    logits = np.empty((slots, *q0.shape))
    walk = logits[1:]  # the steps, drawn in place (rng.normal(0, step_std)'s stream), summed
    rng.standard_normal(out=walk)
    walk *= step_std
    jumps = np.argwhere(rng.random((slots - 1, *q0.shape[:-1])) < jump_prob)
    fresh = np.log(np.maximum(rng.dirichlet(np.ones(q0.shape[-1]), size=len(jumps)), 1e-300))
    np.cumsum(walk, axis=0, out=walk)
    logits[0] = np.log(np.maximum(q0, 1e-300))
    walk += logits[0]
    for (t, *where), start in zip(jumps, fresh, strict=True):  # in slot order: later jumps win
        index = (slice(t + 1, None), *where)
        logits[index] += start - logits[(t + 1, *where)]
    largest = logits[..., 0].copy()  # the max over the classes, one class at a time (faster)
    for c in range(1, q0.shape[-1]):
        np.maximum(largest, logits[..., c], out=largest)
    logits -= largest[..., None]
    q = np.exp(logits, out=logits)
    q /= last_axis_sum(q)[..., None]
    return q


def expected_walk_kl(q: np.ndarray, slots: int, step_std: float) -> np.ndarray:
    """E KL(q' || q) after ``slots`` slots of :func:`logit_walk` without a jump, to second
    order: ``step_std^2 slots (1 - sum q^2) / 2`` nat (half the variance under q of the summed
    logit steps), over the last (class) axis."""
    q = np.asarray(q, dtype=float)
    return 0.5 * step_std**2 * slots * (1.0 - np.square(q).sum(axis=-1))


def noisy_estimate(values: np.ndarray, rng: np.random.Generator, error_max: float) -> np.ndarray:
    """An estimate ``values (1 + eps)``, eps ~ U[-error_max, error_max] i.i.d. per entry.

    Always draws ``values.size`` uniforms (the same rng stream for any error_max); exact when
    ``error_max`` is 0."""
    values = np.asarray(values, dtype=float)
    return values * (1.0 + error_max * rng.uniform(-1.0, 1.0, size=values.shape))
