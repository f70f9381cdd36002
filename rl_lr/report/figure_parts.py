"""What every figure of the report shares: the legend of the policies (label: spec), the
title with the PARTIAL status of an experiment still running, and the refusal to draw an
experiment without finished runs."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from rl_lr.plots.style import policy_colours, policy_linestyles
from rl_lr.results import Results, ResultsError

__all__ = ["LEGEND_FONTSIZE", "add_legend", "add_title", "fit_legend", "need_runs"]

LEGEND_FONTSIZE = 10  # legends stay readable when a wide figure is scaled to a page
LEGEND_CHAR_WIDTH = 0.6 * LEGEND_FONTSIZE / 72  # inches: a DejaVu Sans character, on average
LEGEND_LINE = 1.7 * LEGEND_FONTSIZE / 72  # inches: one line of a legend, with its spacing


def add_legend(figure: Figure, data: Results, extra: Sequence[tuple[Any, str]] = (),
               ax: Axes | None = None, policies: Sequence[str] | None = None,
               grow: bool = False) -> None:
    """The policies (``label: spec``, or the label alone when its runs have several specs;
    default every policy with runs) and what the marks mean (``extra``: handle, label):
    below the figure, or in ``ax``; ``grow``: the figure gets taller by the legend's height
    (its axes keep theirs)."""
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
    width, height = figure.get_size_inches()
    labels, ncols = fit_legend(labels, width)
    if grow:
        lines = sum(label.count("\n") + 1 for label in labels)
        grown = LEGEND_LINE * math.ceil(lines / ncols)
        figure.set_size_inches(width, height + math.ceil(grown / 0.2) * 0.2)  # whole pixels
    figure.legend(handles, labels, loc="outside lower center", frameon=False,
                  fontsize=LEGEND_FONTSIZE, ncols=ncols)


def fit_legend(labels: Sequence[str], width: float) -> tuple[list[str], int]:
    """Labels and a column count (at most 3) for a legend below a figure ``width`` inches
    wide: as many columns as the longest label allows, and labels wrapped where even one
    column would be wider than the figure.

    >>> fit_legend(["constant: constant(0.001)", "cosine"], 12.0)
    (['constant: constant(0.001)', 'cosine'], 2)
    >>> fit_legend(["x" * 80], 4.0)[0][0].count(chr(10))
    1
    """
    line = max(20, int((width - 0.4) / LEGEND_CHAR_WIDTH))  # characters across the figure
    longest = max((len(label) for label in labels), default=1)
    ncols = max(1, min(3, len(labels), line // (longest + 6)))  # 6: the handle and the gap
    if longest > line:
        labels = [textwrap.fill(label, line, subsequent_indent="  ") for label in labels]
    return list(labels), ncols


def add_title(figure: Figure, data: Results, what: str) -> None:
    """``<experiment>: <what>``, and below it the PARTIAL status while runs are missing (a
    line of its own: beside a long title it would overlap it)."""
    title = f"{data.name}: {what}"
    figure.suptitle(f"{title}\n{data.status}" if data.status else title, fontsize=11,
                    fontweight="bold")


def need_runs(data: Results) -> None:
    """Refuse to draw an experiment without finished runs.

    Raises:
        ResultsError: nothing has finished in ``data.path`` yet.
    """
    if not data.summary:
        raise ResultsError(f"no finished runs in {data.path} yet")
