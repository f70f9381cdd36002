"""Learning curves: a statistic across runs per eval point, with a bootstrap CI band."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from matplotlib.axes import Axes
from numpy.typing import NDArray

from rl_lr.plots.style import (
    RETURN_LABEL,
    TIMESTEPS_LABEL,
    colours_for,
    mark_switches,
    new_axes,
    policy_linestyles,
)

__all__ = ["curve_band", "plot_learning_curves"]

Array = NDArray[np.float64]
Statistic = Literal["iqm", "mean"]


def _nan_iqm(x: Array) -> Array:
    """25 % trimmed mean along the last axis over the finite values (NaN = missing run):
    ``scipy.stats.trim_mean(v, 0.25)`` of each row's finite values ``v``; NaN if none."""
    s = np.sort(x, axis=-1)  # NaN sort last
    n = np.isfinite(x).sum(axis=-1, keepdims=True)
    k = np.arange(x.shape[-1])
    keep = (k >= n // 4) & (k < n - n // 4)
    count = keep.sum(axis=-1)
    total = np.where(keep, s, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(count > 0, total / count, np.nan))


def _nan_mean(x: Array) -> Array:
    n = np.isfinite(x).sum(axis=-1)
    total = np.where(np.isfinite(x), x, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(n > 0, total / n, np.nan))


def curve_band(
    values: Any,
    *,
    statistic: Statistic = "iqm",
    reps: int = 2000,
    confidence: float = 0.95,
    rng: np.random.Generator | int,
) -> tuple[Array, Array, Array]:
    """A statistic across runs at every eval point with a percentile bootstrap CI.

    Each resample draws ``runs`` whole curves with replacement (one draw serves every point,
    so the band keeps the runs' correlation over time), vectorised over resamples and points.
    NaN marks a run missing at a point (not evaluated there, or diverged): the statistic uses
    the runs present. IQM is the 25 % trimmed mean (:func:`rl_lr.metrics.iqm` on the runs
    present).

    Args:
        values: ``(runs, points)``.
        statistic: ``"iqm"`` or ``"mean"``.
        reps: resamples.
        confidence: coverage of the interval.
        rng: a generator or an int seed: the same data and seed give the same band.

    Returns:
        ``(centre, low, high)``, each ``(points,)``; NaN where no run has a value.

    Example:
        >>> centre, low, high = curve_band([[0.0, 1.0], [0.0, 3.0]], statistic="mean", rng=0)
        >>> centre.tolist(), low.tolist(), high.tolist()
        ([0.0, 2.0], [0.0, 1.0], [0.0, 3.0])
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"values must have shape (runs, points), got shape {x.shape}")
    if statistic not in ("iqm", "mean"):
        raise ValueError(f"statistic must be 'iqm' or 'mean', got {statistic!r}")
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x = np.where(np.isfinite(x), x, np.nan)
    fn = _nan_iqm if statistic == "iqm" else _nan_mean
    centre = fn(x.T)
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    runs, points = x.shape
    chunk = max(1, (1 << 21) // max(1, runs * points))
    dists = []
    for start in range(0, reps, chunk):
        # int32 draws, as rl_lr.metrics: at a point where every run has a value, the band
        # is stratified_bootstrap_ci(values[:, [point]], statistic) with the same seed
        idx = gen.integers(0, runs, size=(min(chunk, reps - start), runs), dtype=np.int32)
        dists.append(fn(np.swapaxes(x[idx], 1, 2)))  # (chunk, points, runs) -> (chunk, points)
    dist = np.concatenate(dists)
    alpha = (1.0 - confidence) / 2.0
    present: NDArray[np.bool_] = np.asarray(np.isfinite(dist).any(axis=0))
    filled = np.where(present[None, :], dist, 0.0)  # a point no resample has: NaN below
    with np.errstate(invalid="ignore"):
        low, high = np.nanpercentile(filled, [100 * alpha, 100 * (1 - alpha)], axis=0)
    valid = np.isfinite(centre)
    return centre, np.where(valid, low, np.nan), np.where(valid, high, np.nan)


def plot_learning_curves(
    curves: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    statistic: Statistic = "iqm",
    colours: Mapping[str, str] | None = None,
    switches: Sequence[float] = (),
    diverged: Mapping[str, Sequence[tuple[float, float]]] | None = None,
    reps: int = 2000,
    rng: int | Mapping[str, int] = 0,
    xlabel: str = TIMESTEPS_LABEL,
    ylabel: str = RETURN_LABEL,
    legend: bool = True,
) -> Axes:
    """Learning curves per policy: the statistic across runs (line) with its 95 % bootstrap CI
    (band, :func:`curve_band`), regime switches as dotted vertical lines, diverged runs as ×.

    Args:
        curves: ``{policy: (timesteps (points,), values (runs, points))}``, NaN = missing,
            e.g. :class:`rl_lr.results.Curves`.
        statistic: ``"iqm"`` (default) or ``"mean"`` across runs.
        colours: ``{policy: colour}``; default :func:`rl_lr.plots.policy_colours`.
        switches: timesteps of regime switches (reward or dynamics).
        diverged: ``{policy: [(timestep, value), ...]}``: where runs diverged (last finite
            evaluation).
        reps: bootstrap resamples.
        rng: seed of every band, or ``{policy: seed}``.

    Example:
        >>> ax = plot_learning_curves({"cosine": ([0, 10, 20], [[0, 5, 9], [1, 4, 8]])})
        >>> ax.get_xlabel()
        'timesteps (environment steps)'
    """
    ax = ax if ax is not None else new_axes()
    palette = colours_for(curves, colours)
    styles = policy_linestyles(palette)
    for name, curve in curves.items():
        steps = np.asarray(curve[0], dtype=float)
        seed = rng[name] if isinstance(rng, Mapping) else rng
        centre, low, high = curve_band(curve[1], statistic=statistic, reps=reps, rng=seed)
        ax.fill_between(steps, low, high, color=palette[name], alpha=0.2, linewidth=0)
        ax.plot(steps, centre, color=palette[name], linestyle=styles.get(name, "solid"),
                linewidth=1.8, label=name)
        for step, value in (diverged or {}).get(name, ()):
            ax.plot([step], [value], marker="x", markersize=8, markeredgewidth=2,
                    color=palette[name], linestyle="none")
    mark_switches(ax, switches)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if legend and curves:
        ax.legend(frameon=False, fontsize=8)
    return ax
