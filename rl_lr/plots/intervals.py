"""Point estimates with confidence intervals, rliable style: one row per policy (or per
group of policies), a bar for the interval and a tick for the point."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from rl_lr.plots.style import colours_for, new_axes

__all__ = ["plot_grouped_intervals", "plot_intervals"]


def _triple(value: Any) -> tuple[float, float, float]:
    """``(point, low, high)`` of an Interval, a 3-sequence or a bare number (no CI)."""
    if isinstance(value, (int, float, np.floating)):
        return float(value), math.nan, math.nan
    point, low, high = value
    return float(point), float(low), float(high)


def _draw(ax: Axes, y: float, value: Any, colour: str, height: float) -> None:
    point, low, high = _triple(value)
    if math.isfinite(low) and math.isfinite(high):
        ax.barh(y, high - low, left=low, height=height, color=colour, alpha=0.35,
                edgecolor=colour, linewidth=0.8)
        ax.plot([point, point], [y - height / 2, y + height / 2], color=colour, linewidth=2.2)
    elif math.isfinite(point):  # no interval (an across-runs metric): hollow marker
        ax.plot([point], [y], marker="o", markersize=6, markerfacecolor="white",
                markeredgecolor=colour, markeredgewidth=1.6, linestyle="none")


def _finish(ax: Axes, xlabel: str, reference: float | None, better: str | None) -> None:
    if reference is not None:
        ax.axvline(reference, color="0.4", linestyle="--", linewidth=1)
    arrow = {"lower": "  (← better)", "higher": "  (better →)"}.get(better or "", "")
    ax.set_xlabel(xlabel + arrow)
    ax.grid(True, axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)


def plot_intervals(
    intervals: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    colours: Mapping[str, str] | None = None,
    xlabel: str = "",
    reference: float | None = None,
    better: str | None = None,
) -> Axes:
    """One metric, one row per policy (top to bottom in the mapping's order).

    Args:
        intervals: ``{policy: Interval | (point, low, high) | point}``
            (e.g. :func:`rl_lr.metrics.aggregate_with_cis` ``[policy][statistic]``).
        colours: ``{policy: colour}``; default :func:`rl_lr.plots.policy_colours`.
        xlabel: the metric and its unit.
        reference: a vertical dashed line (e.g. 1 for a ratio).
        better: ``"lower"`` or ``"higher"``: an arrow in the label.

    Example:
        >>> ax = plot_intervals({"cosine": (0.8, 0.7, 0.9), "constant": (0.5, 0.4, 0.65)},
        ...                     xlabel="IQM")
        >>> [t.get_text() for t in ax.get_yticklabels()]
        ['cosine', 'constant']
    """
    ax = ax if ax is not None else new_axes(4.0, 0.5 + 0.45 * max(1, len(intervals)))
    palette = colours_for(intervals, colours)
    names = list(intervals)
    for i, name in enumerate(names):
        _draw(ax, -i, intervals[name], palette[name], 0.6)
    ax.set_yticks([-i for i in range(len(names))], names)
    ax.set_ylim(-len(names) + 0.4, 0.6)
    _finish(ax, xlabel, reference, better)
    return ax


def plot_grouped_intervals(
    groups: Mapping[str, Mapping[str, Any]],
    ax: Axes | None = None,
    *,
    colours: Mapping[str, str] | None = None,
    policies: Sequence[str] | None = None,
    xlabel: str = "",
    reference: float | None = None,
    better: str | None = None,
    legend: bool = False,
) -> Axes:
    """One metric for several groups (e.g. env x perturbation): one row per group, the
    policies side by side within it (same order, same colours in every group).

    Args:
        groups: ``{group: {policy: Interval | (point, low, high) | point}}``; a missing
            policy or a NaN point leaves its slot empty; a point without interval is drawn
            as a hollow circle.
        policies: slot order (default: sorted names found).

    Example:
        >>> ax = plot_grouped_intervals({"clean": {"a": (1.0, 0.5, 1.5), "b": 2.0},
        ...                              "noise": {"a": (0.5, 0.1, 0.9)}}, xlabel="risk")
        >>> [t.get_text() for t in ax.get_yticklabels()]
        ['clean', 'noise']
    """
    names = list(policies) if policies is not None else sorted(
        {p for per in groups.values() for p in per})
    ax = ax if ax is not None else new_axes(4.0, 0.6 + 0.3 * max(1, len(groups) * len(names)))
    palette = colours_for(names, colours)
    height = 0.8 / max(1, len(names))
    labels = list(groups)
    for g, group in enumerate(labels):
        for k, name in enumerate(names):
            if name in groups[group]:
                y = -g + 0.4 - height * (k + 0.5)  # first policy on top
                _draw(ax, y, groups[group][name], palette[name], height * 0.8)
    ax.set_yticks([-g for g in range(len(labels))], labels)
    ax.set_ylim(-len(labels) + 0.45, 0.55)
    for g in range(1, len(labels)):
        ax.axhline(-g + 0.5, color="0.85", linewidth=0.8)
    _finish(ax, xlabel, reference, better)
    if legend:
        ax.legend([Line2D([], [], color=palette[n], linewidth=6, alpha=0.6) for n in names],
                  names, frameon=False, fontsize=8)
    return ax
