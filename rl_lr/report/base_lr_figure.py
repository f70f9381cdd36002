"""The figure of an experiment with a ``base_lr`` axis (``experiments/lr_robustness.yaml``):
each policy's score against the base LR it started from, the classic sensitivity curve, with
the tuned constant (the best fixed schedule at ``x1``, :mod:`rl_lr.report.base_lr`) as the
line to reach.

One column per group of starts (a task and its other conditions), one row per score of
:func:`~rl_lr.report.base_lr.robustness_scores` (the report's primary score, then the AUC):
per policy its IQM over the runs at each start with the 95 % CI as a band (``metrics.csv``),
on a log axis of the start's multiple of the centre; the tuned constant's IQM and CI as a
dotted line and a grey band across the axis. The same numbers as the report's robustness
tables, drawn.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from rl_lr import schema
from rl_lr.plots.style import new_figure, policy_colours, policy_linestyles
from rl_lr.report.base_lr import (
    CENTRE,
    IQM_COLUMNS,
    robustness_scores,
    start_groups,
    start_multiple,
)
from rl_lr.report.figure_parts import add_legend, add_title, need_runs
from rl_lr.report.task import SCORES, Task, tasks
from rl_lr.results import Panel, Results, ResultsError
from rl_lr.results.scores import number

__all__ = ["base_lr_figure", "has_starts"]


def has_starts(data: Results) -> bool:
    """Whether the experiment has a ``base_lr`` axis centred on ``x1`` with another start."""
    return schema.BASE_LR in data.panel_axes and any(start_groups(t) for t in tasks(data))


def _iqm(task: Task, panel: Panel, policy: str, score: str) -> tuple[float, float, float]:
    row = task.metrics.get((panel, policy), {})
    column = IQM_COLUMNS[score]
    point, low, high = (number(row.get(c)) for c in (column, *schema.ci_columns(column)))
    return point, low, high


def base_lr_figure(data: Results) -> Figure:
    """Score against base LR, per policy (module docstring).

    Raises:
        ResultsError: no finished runs, or no ``base_lr`` axis centred on ``x1``.
    """
    need_runs(data)
    groups = [(task, rest, starts) for task in tasks(data)
              for rest, starts in start_groups(task)]
    multiples = [[start_multiple(label) for label, _ in starts] for _, _, starts in groups]
    if not groups or any(m is None for ms in multiples for m in ms):
        raise ResultsError("no base_lr axis with starts x<multiple> around x1 in "
                           f"{data.path}: this figure is for experiments with one")
    scores = robustness_scores(data)
    palette = data.palette_policies
    colours, styles = policy_colours(palette), policy_linestyles(palette)
    figure = new_figure(max(7.0, 0.6 + 4.2 * len(groups)), 1.2 + 2.9 * len(scores))
    axes = figure.subplots(len(scores), len(groups), squeeze=False)
    shown: list[str] = []
    for column, ((task, rest, starts), xs) in enumerate(zip(groups, multiples, strict=True)):
        where = task.condition(rest)
        for row, score in enumerate(scores):
            ax = axes[row, column]
            tuned = task.best_fixed(dict(starts)[CENTRE], score)
            if tuned is not None:
                point, low, high = _iqm(task, dict(starts)[CENTRE], tuned, score)
                if math.isfinite(point):
                    ax.axhline(point, color="#000000", linestyle=":", linewidth=1.2)
                    if math.isfinite(low) and math.isfinite(high):
                        ax.axhspan(low, high, color="#000000", alpha=0.08, linewidth=0)
            for policy in task.fixed + task.adaptive:
                values = np.array([_iqm(task, panel, policy, score) for _, panel in starts])
                if not np.isfinite(values[:, 0]).any():
                    continue
                if policy not in shown:
                    shown.append(policy)
                ax.plot(xs, values[:, 0], color=colours[policy], linestyle=styles[policy],
                        marker="o", markersize=4, linewidth=1.8)
                ax.fill_between(xs, values[:, 1], values[:, 2], color=colours[policy],
                                alpha=0.15, linewidth=0)
            ax.set_xscale("log")
            ax.set_xticks([x for x in xs if x is not None],
                          [label for label, _ in starts], fontsize=8)
            ax.minorticks_off()
            ax.grid(alpha=0.3)
            ax.set_ylabel(f"IQM of {SCORES[score].removeprefix('the ')}", fontsize=9)
            if row == 0:
                title = f"{task.env} · {task.algo}"
                if where != "all runs":  # the other conditions, wrapped to the column
                    title += "\n" + "\n".join(textwrap.wrap(where, 55))
                ax.set_title(title, fontsize=9)
            if row == len(scores) - 1:
                ax.set_xlabel("base LR, as a multiple of the tuned constant's", fontsize=9)
    extra = [(Line2D([], [], color="#000000", linestyle=":"), "the tuned constant at x1 (IQM)"),
             (Patch(color="#000000", alpha=0.08), "its 95 % CI")]
    add_legend(figure, data, extra, policies=[p for p in data.policies if p in shown])
    add_title(figure, data, "score against the base LR each policy started from")
    return figure
