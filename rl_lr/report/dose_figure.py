"""The figure of an experiment with a dose axis (:mod:`rl_lr.report.dose`,
``experiments/dose_response.yaml``): each policy's score against the dose of the perturbation,
and the fraction of its clean score it keeps.

One column per dose axis (a task and its other conditions). Top row: per policy the IQM of
the report's primary score over the runs at each dose, its 95 % CI as a band
(``metrics.csv``). Bottom row: the retained fraction of that score
(:func:`~rl_lr.report.dose.retained`) with its CI, a dotted line at 1 (unaffected) and a
dashed one at :data:`~rl_lr.report.dose.KEEPS`, below which a CI means the policy clearly
loses. The doses are evenly spaced in their order (clean first): the same numbers as the
report's dose tables, drawn.
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from rl_lr import schema
from rl_lr.plots.style import new_figure, policy_colours, policy_linestyles
from rl_lr.report.base_lr import IQM_COLUMNS
from rl_lr.report.dose import KEEPS, dose_axes, retained
from rl_lr.report.figure_parts import add_legend, add_title, need_runs
from rl_lr.report.task import SCORES, compared_scores, tasks
from rl_lr.results import Results, ResultsError
from rl_lr.results.scores import number

__all__ = ["dose_figure", "has_doses"]


def has_doses(data: Results) -> bool:
    """Whether the experiment has a dose axis (:func:`~rl_lr.report.dose.dose_axes`)."""
    return any(dose_axes(task) for task in tasks(data))


def dose_figure(data: Results) -> Figure:
    """Score and retained fraction against the dose, per policy (module docstring).

    Raises:
        ResultsError: no finished runs, or no dose axis.
    """
    need_runs(data)
    axes_found = [(task, axis) for task in tasks(data) for axis in dose_axes(task)]
    if not axes_found:
        raise ResultsError(f"no dose axis in {data.path} (a clean condition and one "
                           "perturbation at two or more strengths): this figure is for "
                           "experiments with one")
    score = compared_scores(data)[0]
    column_name = IQM_COLUMNS[score]
    palette = data.palette_policies
    colours, styles = policy_colours(palette), policy_linestyles(palette)
    figure = new_figure(max(7.0, 0.6 + 4.2 * len(axes_found)), 7.0)
    grid = figure.subplots(2, len(axes_found), squeeze=False)
    shown: list[str] = []
    for column, (task, axis) in enumerate(axes_found):
        xs = np.arange(len(axis.doses))
        top, bottom = grid[0, column], grid[1, column]
        for policy in task.fixed + task.adaptive:
            rows = [task.metrics.get((panel, policy), {}) for _, _, panel in axis.doses]
            iqm = np.array([[number(row.get(c)) for c in (column_name,
                                                          *schema.ci_columns(column_name))]
                            for row in rows])
            if not np.isfinite(iqm[:, 0]).any():
                continue
            if policy not in shown:
                shown.append(policy)
            style = {"color": colours[policy], "linestyle": styles[policy]}
            top.plot(xs, iqm[:, 0], marker="o", markersize=4, linewidth=1.8, **style)
            top.fill_between(xs, iqm[:, 1], iqm[:, 2], color=colours[policy], alpha=0.15,
                             linewidth=0)
            found = retained(task, axis, policy, score)
            kept = np.array([[1.0, 1.0, 1.0]] + [
                list(found[label].ci) if label in found else [np.nan] * 3
                for label, _, _ in axis.doses[1:]])
            bottom.plot(xs, kept[:, 0], marker="o", markersize=4, linewidth=1.8, **style)
            bottom.fill_between(xs, kept[:, 1], kept[:, 2], color=colours[policy], alpha=0.15,
                                linewidth=0)
        bottom.axhline(1.0, color="#000000", linestyle=":", linewidth=1.2)
        bottom.axhline(KEEPS, color="#000000", linestyle="--", linewidth=0.9, alpha=0.6)
        where = task.condition(axis.rest)
        title = f"{task.env} · {task.algo}"
        if where != "all runs":
            title += "\n" + "\n".join(textwrap.wrap(where, 55))
        top.set_title(title, fontsize=9)
        top.set_ylabel(f"IQM of {SCORES[score].removeprefix('the ')}", fontsize=9)
        bottom.set_ylabel("fraction of its clean score kept", fontsize=9)
        bottom.set_xlabel(f"dose: {axis.title()}", fontsize=9)
        for ax in (top, bottom):
            ax.set_xticks(xs, [label for label, _, _ in axis.doses], fontsize=8)
            ax.grid(alpha=0.3)
    extra = [(Line2D([], [], color="#000000", linestyle=":"), "unaffected (1)"),
             (Line2D([], [], color="#000000", linestyle="--", alpha=0.6),
              f"keeps {KEEPS * 100:.0f} %: a CI below it clearly loses")]
    add_legend(figure, data, extra, policies=[p for p in data.policies if p in shown])
    add_title(figure, data, "score against the dose of the perturbation")
    return figure
