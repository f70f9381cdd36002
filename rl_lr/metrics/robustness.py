"""Robustness of a policy: sensitivity of final scores to a reward perturbation (perturbed
against clean training, same seeds) and the divergence rate with a Wilson interval. Import from
:mod:`rl_lr.metrics`.

    >>> sensitivity([-600.0, -1500.0], [-300.0, -600.0], low=-1500, high=-150)
    array([0.75, 0.  ])
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from rl_lr.metrics.aggregates import normalise
from rl_lr.metrics.arrays import Array, as_float_array, scalar_if_0d
from rl_lr.metrics.resampling import (
    Interval,
    Seed,
    as_generator,
    check_interval_args,
    percentile_interval,
    resample_indices,
)

__all__ = ["divergence_rate", "sensitivity", "sensitivity_of_means", "sensitivity_of_means_ci"]


def _sensitivity_parts(
    perturbed: ArrayLike, clean: ArrayLike, low: ArrayLike | None, high: ArrayLike | None
) -> tuple[Array, Array]:
    p, c = as_float_array(perturbed, "perturbed"), as_float_array(clean, "clean")
    if p.shape != c.shape or p.ndim < 1:
        raise ValueError(
            f"perturbed and clean must have the same shape (seeds,) or (seeds, tasks), same "
            f"policy and seeds; got {p.shape} and {c.shape}"
        )
    if (low is None) != (high is None):
        raise ValueError("low and high must be given together")
    if low is not None and high is not None:
        p, c = normalise(p, low, high), normalise(c, low, high)
    return p, c


def _compare(p: Array, c: Array, kind: str) -> Array:
    """``p / c`` (NaN where ``c <= 0``) or ``p - c``."""
    if kind == "difference":
        return np.asarray(p - c)
    if kind != "ratio":
        raise ValueError(f"kind must be 'ratio' or 'difference', got {kind!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c > 0, p / np.where(c > 0, c, 1.0), np.nan)


def sensitivity(
    perturbed: ArrayLike,
    clean: ArrayLike,
    *,
    low: ArrayLike | None = None,
    high: ArrayLike | None = None,
    kind: Literal["ratio", "difference"] = "ratio",
) -> Array:
    """Sensitivity to a reward perturbation, per seed: performance trained under the
    perturbation relative to clean training (same policy, same seeds, clean evaluation).

    With ``low``/``high`` the scores are first normalised, ``x̃ = (x - low) / (high - low)``
    (0 = a reference such as a random policy, 1 = the env's target). Then

    * ``kind="ratio"``: ``p̃ / c̃`` (1 = unaffected, 0.6 = lost 40 %); NaN where ``c̃ <= 0``;
    * ``kind="difference"``: ``p̃ - c̃`` (0 = unaffected; a fraction of the range).

    Why: returns can be negative (Pendulum: -1500 … -150), where a ratio of raw returns
    inverts (-300 / -150 = 2 reads as "twice as good"). Normalising against a known range puts
    0 at "no better than the reference", so the ratio means "fraction of clean performance
    kept" whatever the sign of the raw returns; a seed whose clean run is not above the
    reference has no meaningful ratio (NaN, never a silent number). Use ``"difference"`` when
    no range is known or clean runs sit near the reference.

    Example:
        >>> sensitivity([-600.0, -1500.0], [-300.0, -600.0], low=-1500, high=-150)
        array([0.75, 0.  ])
    """
    p, c = _sensitivity_parts(perturbed, clean, low, high)
    return _compare(p, c, kind)


def sensitivity_of_means(
    perturbed: ArrayLike,
    clean: ArrayLike,
    *,
    low: ArrayLike | None = None,
    high: ArrayLike | None = None,
    kind: Literal["ratio", "difference"] = "ratio",
) -> Any:
    """Ratio (or difference) of the seed means, ``mean(p̃) / mean(c̃)`` over axis 0: less noisy
    than the mean of per-seed ratios and defined whenever ``mean(c̃) > 0`` (else NaN).

    Returns:
        A scalar for ``(seeds,)`` input, shape ``(tasks,)`` for ``(seeds, tasks)``.

    Example:
        >>> sensitivity_of_means([2.0, 4.0], [4.0, 4.0])
        np.float64(0.75)
    """
    p, c = _sensitivity_parts(perturbed, clean, low, high)
    return scalar_if_0d(np.asarray(_compare(p.mean(axis=0), c.mean(axis=0), kind)))


def sensitivity_of_means_ci(
    perturbed: ArrayLike,
    clean: ArrayLike,
    *,
    low: float | None = None,
    high: float | None = None,
    reps: int = 2000,
    confidence: float = 0.95,
    rng: Seed = 0,
) -> Interval:
    """:func:`sensitivity_of_means` (``ratio``) of paired runs, ``perturbed[i]`` and
    ``clean[i]`` of the same seed, with a percentile-bootstrap interval that resamples the seeds
    (pairs kept together, so what a seed's start shares between both conditions cancels).
    A resample whose clean mean is not above 0 has no ratio: the interval is over the others;
    the point is NaN when the clean mean itself is not.

    Example:
        >>> ci = sensitivity_of_means_ci([80.0, 90.0, 70.0, 100.0], [100.0] * 4, reps=500)
        >>> round(ci.point, 3), ci.low <= ci.point <= ci.high < 1
        (0.85, True)
    """
    check_interval_args(reps, confidence)
    p, c = _sensitivity_parts(perturbed, clean, low, high)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"perturbed and clean must be non-empty (seeds,) arrays, got {p.shape}")
    point = float(sensitivity_of_means(p, c))
    draws = np.concatenate([idx[:, :, 0] for idx in resample_indices(
        as_generator(rng), reps, p.size, 1)])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = _compare(p[draws].mean(axis=1), c[draws].mean(axis=1), "ratio")
    ratios = ratios[np.isfinite(ratios)]
    if not ratios.size:
        return Interval(point, math.nan, math.nan)
    lo, hi = percentile_interval(ratios, confidence)
    return Interval(point, float(lo), float(hi))


def divergence_rate(diverged: ArrayLike, *, confidence: float = 0.95) -> Interval:
    """Fraction of diverged runs with a Wilson score interval.

    With ``k`` of ``n`` runs diverged, ``p = k / n`` and ``z`` the normal quantile:
    ``centre = (p + z² / 2n) / (1 + z² / n)``,
    ``half = z / (1 + z² / n) · sqrt(p (1 - p) / n + z² / 4n²)`` (Wilson 1927; unlike the
    normal interval it stays inside [0, 1] and is not empty at k = 0).

    Args:
        diverged: booleans (or 0/1), any shape; all entries count.

    Example:
        >>> [round(v, 4) for v in divergence_rate([True, False, False, False])]
        [0.25, 0.0456, 0.6994]
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    d = np.asarray(diverged)
    if d.size == 0 or not np.all((d == 0) | (d == 1)):
        raise ValueError(f"diverged must be a non-empty array of booleans, got {d!r}")
    n, k = d.size, int(np.sum(d))
    p = k / n
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if k == 0 else max(0.0, centre - half)  # exact ends (rounding leaves ~1e-17)
    high = 1.0 if k == n else min(1.0, centre + half)
    return Interval(p, float(low), float(high))
