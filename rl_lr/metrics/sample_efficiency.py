"""Sample efficiency of learning curves ``(..., runs, points)`` on shared ``timesteps``: the
time-averaged return (area under the curve), the steps to reach a threshold and the fraction of
runs reaching it. NaN in a curve propagates to that run's value, except that a NaN eval point
never counts as reaching a threshold. Import from :mod:`rl_lr.metrics`.

    >>> steps_to_threshold([0, 10, 20, 30], [[0, 5, 3, 7], [0, 1, 2, 3]], 6)
    array([30., nan])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from rl_lr.metrics.arrays import check_curves, scalar_if_0d

__all__ = ["area_under_curve", "fraction_reaching", "steps_to_threshold"]


def area_under_curve(timesteps: ArrayLike, curves: ArrayLike) -> Any:
    """Area under the (clean) eval curve divided by its time span: the time-average return.

    ``AUC = Σ_i (t_{i+1} - t_i) (y_i + y_{i+1}) / 2 / (t_last - t_first)`` (trapezoid rule).
    Dividing by the span keeps it in return units, so curves of different budgets compare.

    Args:
        timesteps: shape ``(points,)``, points >= 2.
        curves: shape ``(..., points)``.

    Returns:
        Shape ``curves.shape[:-1]``.

    Example:
        >>> area_under_curve([0, 1, 3], [0.0, 2.0, 2.0])      # (1 + 4) / 3
        np.float64(1.6666666666666667)
    """
    t, y = check_curves(timesteps, curves, min_points=2)
    assert t is not None
    return scalar_if_0d(np.trapezoid(y, t, axis=-1) / (t[-1] - t[0]))


def steps_to_threshold(timesteps: ArrayLike, curves: ArrayLike, threshold: float) -> Any:
    """Timestep of the first eval point at or above ``threshold``; NaN if none (NaN eval points
    never count as reaching it).

    Returns:
        Shape ``curves.shape[:-1]``.

    Example:
        >>> steps_to_threshold([0, 10, 20, 30], [[0, 5, 3, 7], [0, 1, 2, 3]], 6)
        array([30., nan])
    """
    t, y = check_curves(timesteps, curves)
    assert t is not None
    hit = y >= threshold
    return scalar_if_0d(np.where(hit.any(axis=-1), t[np.argmax(hit, axis=-1)], np.nan))


def fraction_reaching(
    timesteps: ArrayLike, curves: ArrayLike, threshold: float, *, by: float | None = None
) -> Any:
    """Fraction of runs whose curve reaches ``threshold`` at some eval point ``t <= by``
    (``None``: anywhere).

    Args:
        curves: shape ``(..., runs, points)``.

    Returns:
        Shape ``curves.shape[:-2]``.

    Example:
        >>> fraction_reaching([0, 10, 20], [[0, 5, 9], [0, 9, 9], [0, 1, 2]], 8, by=15)
        np.float64(0.3333333333333333)
    """
    steps = np.asarray(steps_to_threshold(timesteps, curves, threshold))
    if steps.ndim < 1:
        raise ValueError(f"curves must have shape (..., runs, points), got {np.shape(curves)}")
    limit = np.inf if by is None else by
    return scalar_if_0d(np.mean(~np.isnan(steps) & (steps <= limit), axis=-1))

