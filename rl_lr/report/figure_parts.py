"""What every figure of the report shares: the legend of the policies (label: spec), the
title with the PARTIAL stamp of an experiment still running, and the refusal to draw an
experiment without finished runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from rl_lr.plots.style import policy_colours, policy_linestyles, stamp_status
from rl_lr.results import Results, ResultsError

__all__ = ["LEGEND_FONTSIZE", "add_legend", "add_title", "need_runs"]

LEGEND_FONTSIZE = 10  # legends stay readable when a wide figure is scaled to a page


def add_legend(figure: Figure, data: Results, extra: Sequence[tuple[Any, str]] = (),
               ax: Axes | None = None, policies: Sequence[str] | None = None) -> None:
    """The policies (``label: spec``, or the label alone when its runs have several specs;
    default every policy with runs) and what the marks mean (``extra``: handle, label):
    below the figure, or in ``ax``."""
    palette = data.palette_policies
    colours, styles = policy_colours(palette), policy_linestyles(palette)
    shown = data.policies if policies is None else policies
    handles: list[Any] = [Line2D([], [], color=colours[p], linestyle=styles[p], linewidth=2)
                          for p in shown]
    labels = [f"{p}: {data.specs[p]}" if data.specs.get(p) else p for p in shown]
    handles += [h for h, _ in extra]
    labels += [label for _, label in extra]
    if ax is not None:
        ax.legend(handles, labels, loc="center", frameon=False, fontsize=LEGEND_FONTSIZE)
        return
    figure.legend(handles, labels, loc="outside lower center", frameon=False,
                  fontsize=LEGEND_FONTSIZE, ncols=min(len(labels), 3))


def add_title(figure: Figure, data: Results, what: str) -> None:
    """``<experiment>: <what>``, and the PARTIAL stamp while runs are missing."""
    figure.suptitle(f"{data.name}: {what}", fontsize=11, fontweight="bold")
    stamp_status(figure, data.status)


def need_runs(data: Results) -> None:
    """Refuse to draw an experiment without finished runs.

    Raises:
        ResultsError: nothing has finished in ``data.path`` yet.
    """
    if not data.summary:
        raise ResultsError(f"no finished runs in {data.path} yet")
