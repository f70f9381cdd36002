"""Training diagnostics beside the LR: a statistic of the updates (a loss, the approximate KL,
the clip fraction, a gradient norm, the entropy) over time, per policy, as the mean across
seeds with a 95 % bootstrap CI band, and the regime switches as dotted lines.

Each panel is one statistic: :func:`plot_diagnostic` draws it on arrays; which statistics a
task has and where they come from is the caller's (:mod:`rl_lr.report.figures`).

    >>> ax = plot_diagnostic({"cosine": ([0, 10, 20], [[0.3, 0.2, 0.1], [0.5, 0.3, 0.1]])},
    ...                      ylabel="approx. KL", log_scale=True, switches=[10])
    >>> ax.get_ylabel(), ax.get_yscale(), len(ax.lines)
    ('approx. KL', 'log', 2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from rl_lr.plots.curves import curve_band
from rl_lr.plots.style import (
    TIMESTEPS_LABEL,
    colours_for,
    mark_switches,
    new_axes,
    policy_linestyles,
)

__all__ = ["plot_diagnostic"]


def plot_diagnostic(
    curves: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    ylabel: str,
    colours: Mapping[str, str] | None = None,
    switches: Sequence[float] = (),
    log_scale: bool = False,
    reps: int = 2000,
    rng: int | Mapping[str, int] = 0,
    xlabel: str = TIMESTEPS_LABEL,
    legend: bool = True,
) -> Axes:
    """One training statistic per policy: the mean across runs (line) with its 95 % bootstrap
    CI (band, :func:`rl_lr.plots.curve_band`), regime switches as dotted vertical lines.

    Args:
        curves: ``{policy: (timesteps (points,), values (runs, points))}``, NaN = not logged
            there (no update yet, or a diverged run), e.g. :class:`rl_lr.results.Curves`.
        ylabel: what the statistic is.
        colours: ``{policy: colour}``; default :func:`rl_lr.plots.policy_colours`.
        switches: timesteps of regime switches (reward or dynamics).
        log_scale: log y-axis (a statistic spanning decades: the KL, a gradient norm); values
            <= 0 are left out there.
        reps: bootstrap resamples.
        rng: seed of every band, or ``{policy: seed}``.
    """
    ax = ax if ax is not None else new_axes()
    palette = colours_for(curves, colours)
    styles = policy_linestyles(palette)
    for name, curve in curves.items():
        steps = np.asarray(curve[0], dtype=float)
        values = np.asarray(curve[1], dtype=float)
        if log_scale:
            values = np.where(values > 0, values, np.nan)
        if not np.isfinite(values).any():
            continue
        seed = rng[name] if isinstance(rng, Mapping) else rng
        centre, low, high = curve_band(values, statistic="mean", reps=reps, rng=seed)
        ax.fill_between(steps, low, high, color=palette[name], alpha=0.2, linewidth=0)
        ax.plot(steps, centre, color=palette[name], linestyle=styles.get(name, "solid"),
                linewidth=1.5, label=name)
    mark_switches(ax, switches)
    if log_scale:
        ax.set_yscale("log")
    else:  # values, not an offset above the axis (a gradient norm held at its clip)
        ax.ticklabel_format(axis="y", useOffset=False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if legend and curves:
        ax.legend(frameon=False, fontsize=8)
    return ax
