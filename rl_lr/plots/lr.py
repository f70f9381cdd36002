"""Learning-rate figures: a policy's planned LR, and the LR runs actually applied."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from rl_lr.plots.style import (
    TIMESTEPS_LABEL,
    colours_for,
    mark_switches,
    new_axes,
    policy_linestyles,
)
from rl_lr.schedules import LRPolicy

__all__ = ["lr_band", "plot_lr_curve", "plot_lr_policy", "plot_lr_traces"]


def plot_lr_curve(
    x: Sequence[float] | np.ndarray,
    lr: Sequence[float] | np.ndarray,
    ax: Axes | None = None,
    *,
    xlabel: str = "progress",
    label: str | None = None,
    log_scale: bool = False,
) -> Axes:
    """Draw one LR curve (x = progress or timesteps)."""
    ax = ax if ax is not None else new_axes()
    ax.plot(np.asarray(x), np.asarray(lr), label=label, linewidth=1.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("learning rate")
    if log_scale:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if label is not None:
        ax.legend(frameon=False)
    return ax


def plot_lr_policy(
    policy: LRPolicy,
    ax: Axes | None = None,
    *,
    points: int = 501,
    total_steps: int | None = None,
    log_scale: bool = False,
) -> Axes:
    """Preview a policy's LR over a run: progress on the x-axis, or timesteps if
    ``total_steps`` is given. Controllers are drawn as their value with no signals.

    Example:
        >>> import rl_lr
        >>> ax = plot_lr_policy(rl_lr.cosine(1e-3, warmup=0.1))
        >>> ax.get_ylabel()
        'learning rate'
    """
    progress = np.linspace(0.0, 1.0, points)
    lr = [policy.value(p) for p in progress]
    x = progress * total_steps if total_steps else progress
    ax = plot_lr_curve(
        x, lr, ax, xlabel="timesteps" if total_steps else "progress", log_scale=log_scale
    )
    ax.set_title(repr(policy), fontsize=9)
    return ax


def lr_band(values: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and range (min, max) across runs of LR traces ``(runs, points)``, ignoring NaN
    (a run not logged there): ``(median, low, high)``, each ``(points,)``.

    Example:
        >>> lr_band([[1e-3, 5e-4], [1e-3, 2.5e-4], [1e-3, np.nan]])[0].tolist()
        [0.001, 0.000375]
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"values must have shape (runs, points), got shape {x.shape}")
    x = np.where(np.isfinite(x), x, np.nan)
    finite = np.isfinite(x).any(axis=0)
    filled = np.where(finite[None, :], x, 0.0)  # a column no run logged: no warning, NaN below
    stats = (np.nanmedian(filled, axis=0), np.nanmin(filled, axis=0), np.nanmax(filled, axis=0))
    med, low, high = (np.where(finite, a, np.nan) for a in stats)
    return med, low, high


def plot_lr_traces(
    traces: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    colours: Mapping[str, str] | None = None,
    log_scale: bool = True,
    switches: Sequence[float] = (),
    xlabel: str = TIMESTEPS_LABEL,
    legend: bool = True,
    stepped: Collection[str] = (),
) -> Axes:
    """The LR each policy applied: median across runs (line) and range (band) per logged point.

    Args:
        traces: ``{policy: (timesteps (points,), lr (runs, points))}`` (NaN = not logged),
            e.g. :class:`rl_lr.results.Curves`.
        colours: ``{policy: colour}``; default :func:`rl_lr.plots.policy_colours`.
        log_scale: log y-axis; an LR of 0 (e.g. a cosine's last step) cannot be shown there
            and is marked by a ▼ on the bottom edge instead.
        switches: timesteps of regime switches (dotted vertical lines).
        stepped: policies whose points are the LR of every update (a step function, each
            value holding until the next point: drawn as steps); the others' points are
            evaluations, joined by lines.

    Example:
        >>> ax = plot_lr_traces({"cosine": ([0, 50, 100], [[1e-3, 5e-4, 1e-5]])})
        >>> ax.get_yscale(), ax.get_ylabel()
        ('log', 'applied learning rate')
    """
    ax = ax if ax is not None else new_axes()
    palette = colours_for(traces, colours)
    styles = policy_linestyles(palette)
    stacked = 0  # ▼ markers of several policies are stacked, not drawn over each other
    for name, trace in traces.items():
        steps = np.asarray(trace[0], dtype=float)
        med, low, high = lr_band(trace[1])
        if log_scale:  # an LR of 0 has no place on a log axis: a ▼ on the bottom edge
            zero = np.isfinite(med) & (med <= 0)
            if zero.any():
                ax.plot(steps[zero], np.full(int(zero.sum()), 0.05 + 0.09 * stacked),
                        marker="v", markersize=6, color=palette[name], linestyle="none",
                        transform=ax.get_xaxis_transform())
                stacked += 1
            med, low, high = (np.where(a > 0, a, np.nan) for a in (med, low, high))
        every_update = name in stepped
        ax.fill_between(steps, low, high, color=palette[name], alpha=0.2, linewidth=0,
                        step="post" if every_update else None)
        ax.plot(steps, med, color=palette[name], linestyle=styles.get(name, "solid"),
                linewidth=1.6, label=name, drawstyle="steps-post" if every_update else "default")
    mark_switches(ax, switches)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("applied learning rate")
    ax.grid(True, which="major", alpha=0.3)
    if legend and traces:
        ax.legend(frameon=False, fontsize=8)
    return ax
