"""Aggregates of final scores over runs (point estimates; their CIs are in
:mod:`rl_lr.metrics.bootstrap`).

Final scores are ``{policy: array (runs, tasks)}`` (rliable's contract), finite. The aggregates
are IQM, mean, median and optimality gap (:data:`STATISTICS`), on raw or :func:`normalise`-d
scores; :func:`vectorised_statistic` computes each over a batch of resamples at once. Import
from :mod:`rl_lr.metrics`.

    >>> import numpy as np
    >>> aggregate({"a": np.array([[0.2], [0.5], [0.9], [0.4]])}, "iqm")
    {'a': 0.45}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from rl_lr.metrics.arrays import Array, as_float_array, check_scores

__all__ = [
    "STATISTICS",
    "Statistic",
    "aggregate",
    "iqm",
    "median_of_runs",
    "normalise",
    "optimality_gap",
    "vectorised_statistic",
]

Statistic = str | Callable[[Array], Any]  # a name in STATISTICS, or f(scores (runs, tasks))

STATISTICS: dict[str, str] = {
    "iqm": "25 % trimmed mean of all runs × tasks",
    "mean": "mean of all runs × tasks",
    "median": "median over tasks of the per-task mean (rliable; = mean for one task)",
    "optimality_gap": "mean of max(0, γ - x) over all runs × tasks (normalised scores)",
}


def _trimmed_mean(x: Array) -> Array:
    """25 % trimmed mean of each row of (batch, n), as ``scipy.stats.trim_mean(x, 0.25)``."""
    n = x.shape[-1]
    cut = n // 4
    if cut == 0:
        return np.asarray(x.mean(axis=-1))
    part = np.partition(x, (cut, n - cut - 1), axis=-1)
    return np.asarray(part[..., cut : n - cut].mean(axis=-1))


def vectorised_statistic(name: str, gamma: float = 1.0) -> Callable[[Array], Array]:
    """The statistic ``name`` of :data:`STATISTICS` over a batch: ``(batch, runs, tasks) ->
    (batch,)``; ``gamma`` is the optimality gap's threshold.

    Example:
        >>> vectorised_statistic("median")(np.array([[[0.0, 10.0], [2.0, 20.0]]]))
        array([8.])
    """
    if name == "iqm":
        return lambda x: _trimmed_mean(x.reshape(x.shape[0], -1))
    if name == "mean":
        return lambda x: np.asarray(x.mean(axis=(1, 2)))
    if name == "median":
        return lambda x: np.asarray(np.median(x.mean(axis=1), axis=1))
    if name == "optimality_gap":
        return lambda x: np.asarray(gamma - np.minimum(x, gamma).mean(axis=(1, 2)))
    raise ValueError(f"statistic must be one of {sorted(STATISTICS)} or a callable, got {name!r}")


def iqm(x: ArrayLike) -> float:
    """Interquartile mean: the 25 % trimmed mean of all values pooled (all runs × tasks).

    Sort the ``n`` values, drop ``floor(n / 4)`` from each end, average the rest
    (``scipy.stats.trim_mean(x, 0.25, axis=None)``, rliable's ``aggregate_iqm``).

    Example:
        >>> iqm([[1, 2], [3, 4], [5, 6], [7, 8]])    # mean(3, 4, 5, 6)
        4.5
    """
    a = as_float_array(x, "x").ravel()
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"x must be non-empty and finite, got {a.size} values")
    return float(_trimmed_mean(a[None, :])[0])


def median_of_runs(x: ArrayLike) -> float:
    """The median of all values pooled (all runs × tasks): with one task, the median over the
    runs. Not rliable's ``median`` (:data:`STATISTICS`), the median over tasks of the per-task
    *mean*, which for a single task is the mean.

    Example:
        >>> median_of_runs([[1.0], [2.0], [30.0]]), aggregate({"a": [[1.0], [2.0], [30.0]]},
        ...                                                   "median")["a"]
        (2.0, 11.0)
    """
    a = as_float_array(x, "x")
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"x must be non-empty and finite, got {a.size} values")
    return float(np.median(a))


def optimality_gap(x: ArrayLike, gamma: float = 1.0) -> float:
    """Optimality gap ``mean(max(0, γ - x))`` over all runs × tasks of *normalised* scores
    (rliable's ``aggregate_optimality_gap``); lower is better.

    Example:
        >>> round(optimality_gap([0.5, 1.2, 0.9, -0.1]), 12)    # (0.5 + 0 + 0.1 + 1.1) / 4
        0.425
    """
    a = as_float_array(x, "x")
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"x must be non-empty and finite, got {a.size} values")
    return float(gamma - np.mean(np.minimum(a, gamma)))


def aggregate(
    scores: Mapping[str, ArrayLike], statistic: Statistic, *, gamma: float = 1.0
) -> dict[str, float]:
    """One aggregate per policy: ``{policy: statistic(scores[policy])}``.

    Args:
        scores: ``{policy: array (runs, tasks)}``.
        statistic: a name in :data:`STATISTICS` or a function of a ``(runs, tasks)`` array.
        gamma: threshold of the optimality gap.

    Example:
        >>> aggregate({"a": np.array([[0.0, 10.0, 100.0], [2.0, 20.0, 300.0]])}, "median")
        {'a': 15.0}
    """
    out: dict[str, float] = {}
    for name, s in scores.items():
        x = check_scores(s, f"scores[{name!r}]")
        if callable(statistic):
            out[name] = float(statistic(x))
        else:
            out[name] = float(vectorised_statistic(statistic, gamma)(x[None])[0])
    return out


@overload
def normalise(
    scores: Mapping[str, ArrayLike], low: ArrayLike, high: ArrayLike
) -> dict[str, Array]: ...


@overload
def normalise(scores: ArrayLike, low: ArrayLike, high: ArrayLike) -> Array: ...


def normalise(scores: Any, low: ArrayLike, high: ArrayLike) -> Any:
    """Normalised scores ``(x - low) / (high - low)`` with per-task ranges (0 = ``low``, e.g.
    a random policy; 1 = ``high``, e.g. the env's reward threshold).

    Args:
        scores: ``{policy: array (..., tasks)}`` or one such array.
        low: scalar or shape ``(tasks,)``.
        high: scalar or shape ``(tasks,)``, each > ``low``.

    Example:
        >>> normalise(np.array([[-1000.0, 250.0]]), low=[-1500.0, 0.0], high=[-150.0, 500.0])
        array([[0.37037037, 0.5       ]])
    """
    lo, hi = as_float_array(low, "low"), as_float_array(high, "high")
    if lo.ndim > 1 or hi.ndim > 1 or not np.all(hi > lo):
        raise ValueError(
            f"low and high must be scalars or (tasks,) with high > low, got {lo}, {hi}"
        )
    if isinstance(scores, Mapping):
        return {k: normalise(v, lo, hi) for k, v in scores.items()}
    x = as_float_array(scores, "scores")
    for name, b in (("low", lo), ("high", hi)):
        if b.ndim == 1 and (x.ndim == 0 or b.shape[0] != x.shape[-1]):
            raise ValueError(
                f"{name} must have shape (tasks,) = ({x.shape[-1] if x.ndim else 0},) to match "
                f"scores (..., tasks) of shape {x.shape}, got shape {b.shape}"
            )
    return (x - lo) / (hi - lo)
