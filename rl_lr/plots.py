"""Figures. Every function takes ``ax=None`` (a new figure is made) and returns the ``Axes``;
none calls ``show()`` and none touches pyplot's global state, so they work headless.

    >>> import rl_lr
    >>> from rl_lr.plots import plot_lr_policy
    >>> ax = plot_lr_policy(rl_lr.cosine(1e-3, warmup=0.1))
    >>> ax.get_ylabel()
    'learning rate'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rl_lr.schedules import LRPolicy

__all__ = ["new_axes", "plot_lr_curve", "plot_lr_policy", "save_figure"]


def new_axes(width: float = 6.0, height: float = 3.5) -> Axes:
    """A fresh ``Axes`` on its own figure (no pyplot)."""
    axes: Axes = Figure(figsize=(width, height), layout="constrained").subplots()
    return axes


def save_figure(ax: Axes, path: Path, dpi: int = 150) -> Path:
    """Write the figure holding ``ax`` to ``path`` (format from the suffix); return ``path``."""
    figure = ax.get_figure(root=True)
    if figure is None:
        raise ValueError("the Axes belongs to no figure")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    return path


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
    ``total_steps`` is given. Controllers are drawn as their value with no signals."""
    progress = np.linspace(0.0, 1.0, points)
    lr = [policy.value(p) for p in progress]
    x = progress * total_steps if total_steps else progress
    ax = plot_lr_curve(
        x, lr, ax, xlabel="timesteps" if total_steps else "progress", log_scale=log_scale
    )
    ax.set_title(repr(policy), fontsize=9)
    return ax
