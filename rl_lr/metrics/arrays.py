"""Validation shared by the metric modules: inputs become float64 arrays with a clear error,
learning curves are checked against rliable's shape convention (``curves`` ``(..., points)``,
``timesteps`` ``(points,)`` strictly increasing), and 0-d results become NumPy scalars. Private
helpers only; import metrics from :mod:`rl_lr.metrics`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__: list[str] = []  # helpers for the metric modules, nothing public

Array = NDArray[np.float64]


def _float_array(x: ArrayLike, name: str) -> Array:
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from err


def _check_timesteps(timesteps: ArrayLike, min_points: int = 1) -> Array:
    t = _float_array(timesteps, "timesteps")
    if t.ndim != 1 or t.size < min_points:
        raise ValueError(
            f"timesteps must have shape (points,) with points >= {min_points}, got shape {t.shape}"
        )
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError(f"timesteps must be finite and strictly increasing, got {t}")
    return t


def _check_curves(
    timesteps: ArrayLike | None, curves: ArrayLike, min_points: int = 1, name: str = "curves"
) -> tuple[Array | None, Array]:
    """Validate ``curves`` (..., points) and, if given, ``timesteps`` (points,)."""
    t = None if timesteps is None else _check_timesteps(timesteps, min_points)
    y = _float_array(curves, name)
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


def _check_runs_points(curves: ArrayLike, name: str = "curves", min_points: int = 1) -> Array:
    y = _float_array(curves, name)
    if y.ndim != 2 or y.shape[0] < 1 or y.shape[1] < min_points:
        raise ValueError(
            f"{name} must have shape (runs, points) with runs >= 1 and points >= {min_points}, "
            f"got shape {y.shape}"
        )
    return y


def _scalar(x: Any) -> Any:
    """A 0-d array becomes a NumPy scalar (what reductions of a 1-D array return)."""
    return x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x
