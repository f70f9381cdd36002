"""Input validation shared by the metric modules: inputs become float64 arrays with a clear
error naming the argument, final scores are checked against rliable's ``(runs, tasks)``
contract, learning curves against ``curves`` ``(..., points)`` with ``timesteps`` ``(points,)``
strictly increasing, and 0-d results become NumPy scalars.

These are building blocks for :mod:`rl_lr.metrics`' own modules; a user imports metrics from
:mod:`rl_lr.metrics`.

    >>> check_scores([[1.0, 2.0], [3.0, 4.0]]).shape
    (2, 2)
    >>> check_scores([1.0, 2.0])
    Traceback (most recent call last):
    ...
    ValueError: scores must have shape (runs, tasks) (one task: use x[:, None]), got shape (2,)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Array",
    "Ints",
    "as_float_array",
    "check_curves",
    "check_run_curves",
    "check_scores",
    "check_timesteps",
    "scalar_if_0d",
]

Array = NDArray[np.float64]
Ints = NDArray[np.signedinteger[Any]]


def as_float_array(x: ArrayLike, name: str) -> Array:
    """``x`` as a float64 array; ``TypeError`` naming the argument if it is not numeric.

    Example:
        >>> as_float_array([1, 2], "x")
        array([1., 2.])
    """
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from err


def check_scores(scores: ArrayLike, name: str = "scores") -> Array:
    """Final scores of one policy: shape ``(runs, tasks)`` with runs, tasks >= 1, all finite.

    A ``ValueError`` names the argument and the rule: NaN/inf is refused because how a
    diverged run scores is a decision to take before aggregating, not a silent default.
    """
    x = as_float_array(scores, name)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        hint = " (one task: use x[:, None])" if x.ndim == 1 else ""
        raise ValueError(f"{name} must have shape (runs, tasks){hint}, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(
            f"{name} must be finite, got {int(np.sum(~np.isfinite(x)))} NaN/inf values: decide "
            "how a diverged run scores before aggregating"
        )
    return x


def check_timesteps(timesteps: ArrayLike, min_points: int = 1) -> Array:
    """Shared eval timesteps: shape ``(points,)`` with ``points >= min_points``, finite and
    strictly increasing."""
    t = as_float_array(timesteps, "timesteps")
    if t.ndim != 1 or t.size < min_points:
        raise ValueError(
            f"timesteps must have shape (points,) with points >= {min_points}, got shape {t.shape}"
        )
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError(f"timesteps must be finite and strictly increasing, got {t}")
    return t


def check_curves(
    timesteps: ArrayLike | None, curves: ArrayLike, min_points: int = 1, name: str = "curves"
) -> tuple[Array | None, Array]:
    """Learning curves ``(..., points)`` (NaN allowed) and, if given, their ``timesteps``
    ``(points,)`` (see :func:`check_timesteps`), with matching numbers of points.

    Returns:
        ``(timesteps or None, curves)`` as float64 arrays.
    """
    t = None if timesteps is None else check_timesteps(timesteps, min_points)
    y = as_float_array(curves, name)
    if y.ndim < 1 or y.shape[-1] < min_points:
        raise ValueError(
            f"{name} must have shape (..., points) with points >= {min_points}, got shape {y.shape}"
        )
    if t is None:
        return None, y
    if t.shape[0] != y.shape[-1]:
        raise ValueError(
            f"{name} must have shape (..., {t.shape[0]}) to match timesteps (points,) = "
            f"({t.shape[0]},), got shape {y.shape}"
        )
    return t, y


def check_run_curves(curves: ArrayLike, name: str = "curves", min_points: int = 1) -> Array:
    """One learning curve per run: shape ``(runs, points)`` with runs >= 1 and
    ``points >= min_points`` (for the across-run metrics)."""
    y = as_float_array(curves, name)
    if y.ndim != 2 or y.shape[0] < 1 or y.shape[1] < min_points:
        raise ValueError(
            f"{name} must have shape (runs, points) with runs >= 1 and points >= {min_points}, "
            f"got shape {y.shape}"
        )
    return y


def scalar_if_0d(x: Any) -> Any:
    """A 0-d array becomes a NumPy scalar (what reductions of a 1-D array return); anything
    else is returned as is, so a per-run metric of one curve is a scalar.

    Example:
        >>> scalar_if_0d(np.asarray(2.0)), scalar_if_0d(np.zeros(2))
        (np.float64(2.0), array([0., 0.]))
    """
    return x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x
