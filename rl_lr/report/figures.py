# Over 400 lines: every figure kind of the report and its registry (FIGURES) are one unit.
"""Every figure of an experiment directory, laid out from a :class:`~rl_lr.results.Results`:
what ``rl-lr plot DIR --kind K`` draws and the report shows (:data:`REPORT_KINDS`: every kind
but ``lr``, whose traces the ``curves`` figure already shows under the returns; ``base_lr``,
:mod:`.base_lr_figure`, only for an experiment with a ``base_lr`` axis, and ``dose``,
:mod:`.dose_figure`, only for one with a dose axis: :attr:`FigureKind.applies`).

    >>> sorted(FIGURES)
    ['aggregates', 'base_lr', 'curves', 'diagnostics', 'dose', 'heatmap', 'improvement', 'lr', \
'profiles', 'stability']
    >>> "lr" in REPORT_KINDS, "base_lr" in REPORT_KINDS
    (False, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from rl_lr import schema
from rl_lr.metrics import MIN_TAIL_POINTS, tail_points
from rl_lr.plots.curves import plot_learning_curves
from rl_lr.plots.diagnostics import plot_diagnostic
from rl_lr.plots.intervals import plot_grouped_intervals, plot_intervals
from rl_lr.plots.lr import lr_band, plot_lr_traces
from rl_lr.plots.policy_comparisons import (
    plot_heatmap,
    plot_performance_profiles,
    plot_probability_of_improvement,
)
from rl_lr.plots.style import (
    RETURN_LABEL,
    new_figure,
    policy_colours,
)
from rl_lr.report.base_lr_figure import base_lr_figure, has_starts
from rl_lr.report.dose_figure import dose_figure, has_doses
from rl_lr.report.figure_parts import add_legend, add_title, need_runs
from rl_lr.results import REPS, SEED, Panel, Results, ResultsError, name_seed
from rl_lr.results.scores import last_finite_evaluation, number

__all__ = ["FIGURES", "REPORT_KINDS", "FigureKind", "make_figure", "panel_grid", "report_kinds"]


@dataclass(frozen=True)
class FigureKind:
    """A kind of figure: its title, the one-line reading guide shown under it in the report,
    and the function drawing it."""

    title: str
    guide: str
    draw: Callable[[Results], Figure]
    in_report: bool = True  # drawn on the report's page (else only by rl-lr plot)
    applies: Callable[[Results], bool] = lambda data: True  # else left off the page
    compact: bool = False  # the report's PNG in 256 colours (a large figure of thin lines)


# --------------------------------------------------------------------------- helpers


def panel_grid(data: Results) -> tuple[int, int, dict[Panel, tuple[int, int]]]:
    """Panels on a grid: one row per rest (env, algorithm, ...), its perturbations left to
    right in the experiment's order (up to four: a row with every perturbation puts each in
    its own column; a row with fewer packs them, leaving no empty panel between them); more
    perturbations: three panels a row. Returns (rows, columns, each panel's (row, column)):
    ``results/fair``, CartPole-v1 under 3 conditions and rl_lr/PointNav-v0 under 2, gives 2
    rows of 3 columns, PointNav's 2 panels in the first two."""
    panels = data.panels
    if schema.PERTURB in data.panel_axes:
        def rest(p: Panel) -> Panel:
            return tuple(kv for kv in p if kv[0] != schema.PERTURB)

        order = list(dict.fromkeys(dict(p)[schema.PERTURB] for p in panels))
        rows: dict[Panel, list[Panel]] = {rest(p): [] for p in panels}  # in plan order
        for p in sorted(panels, key=lambda p: order.index(dict(p)[schema.PERTURB])):
            rows[rest(p)].append(p)
        if len(order) <= 4:
            return len(rows), max(map(len, rows.values())), {
                p: (r, row.index(p)) for r, row in enumerate(rows.values()) for p in row}
    ncols = min(len(panels), 3)
    return math.ceil(len(panels) / ncols), ncols, {p: divmod(i, ncols)
                                                   for i, p in enumerate(panels)}


def _group_label(data: Results, panel: Panel) -> str:
    return data.panel_title(panel, env=len(data.envs) > 1 or len(panel) == 1)


# --------------------------------------------------------------------------- curves and LR


MIN_WIDTH = 8.0  # inches: a figure of one panel still has room for its legend below


def _curves_figure(data: Results, *, with_returns: bool = True) -> Figure:
    need_runs(data)
    nrows, ncols, where = panel_grid(data)
    colours = policy_colours(data.palette_policies)
    per_row = (2 if with_returns else 1)
    figure = new_figure(max(0.4 + 4.3 * ncols, MIN_WIDTH),  # one panel: room for the legend
                        1.0 + (4.6 if with_returns else 2.6) * nrows)
    grid = figure.add_gridspec(nrows * per_row, ncols,
                               height_ratios=[2.2, 1.0] * nrows if with_returns else None)
    first_lr: Any = None
    row_axes: dict[int, Any] = {}
    any_switch = any_diverged = any_zero = False
    for panel, (r, c) in where.items():
        switches = data.switch_steps(panel)
        any_switch |= bool(switches)
        lr_groups = {p: data.group_lr(panel, p) for p in data.policies}
        lr_traces = {p: trace for p, (trace, _) in lr_groups.items() if trace is not None}
        stepped = {p for p, (trace, every_update) in lr_groups.items() if every_update}
        any_zero |= any(bool(np.any(lr_band(tr.values)[0] <= 0)) for tr in lr_traces.values())
        if with_returns:
            ax = figure.add_subplot(grid[r * 2, c], sharey=row_axes.get(r))
            row_axes.setdefault(r, ax)
            curves = {p: cv for p in data.policies if (cv := data.group_curves(panel, p))}
            diverged: dict[str, list[tuple[float, float]]] = {}
            for row in data.diverged_rows():  # a × at the last finite evaluation
                evals = data.curves.get(row[schema.RUN_ID], {}).get(schema.EVAL_RETURN_MEAN)
                last = last_finite_evaluation(evals)
                if data.panel_of(row) == panel and last is not None:
                    diverged.setdefault(row[schema.LR], []).append(last)
            any_diverged |= bool(diverged)
            plot_learning_curves(curves, ax, colours=colours, switches=switches,
                                 diverged=diverged, reps=REPS, legend=False,
                                 rng={p: name_seed(str(panel), p) for p in curves})
            ax.set_title(data.panel_title(panel), fontsize=10)
            ax.set_xlabel("")
            ax.tick_params(labelbottom=False)
            if c:
                ax.set_ylabel("")
            lr_ax = figure.add_subplot(grid[r * 2 + 1, c], sharex=ax, sharey=first_lr)
        else:
            lr_ax = figure.add_subplot(grid[r, c], sharey=first_lr)
            lr_ax.set_title(data.panel_title(panel), fontsize=10)
        first_lr = first_lr or lr_ax
        plot_lr_traces(lr_traces, lr_ax, colours=colours, switches=switches, legend=False,
                       stepped=stepped)
        if c:
            lr_ax.set_ylabel("")
    extra: list[tuple[Any, str]] = []
    if with_returns:
        extra.append((Patch(color="0.6", alpha=0.35), "IQM across seeds, 95 % bootstrap CI"))
    extra.append((Patch(color="0.6", alpha=0.2), "LR: median, range across seeds"))
    if any_switch:
        extra.append((Line2D([], [], color="0.35", linestyle=":"), "regime switch"))
    if any_diverged:
        extra.append((Line2D([], [], color="0.3", marker="x", linestyle="none"), "diverged run"))
    if any_zero:
        extra.append((Line2D([], [], color="0.3", marker="v", linestyle="none"),
                      "LR = 0 (off the log axis)"))
    add_legend(figure, data, extra, grow=True)
    add_title(figure, data, "learning curves and applied LR" if with_returns else "applied LR")
    return figure


# --------------------------------------------------------------------------- diagnostics

_DIAGNOSTICS = (  # curves.csv metric, panel title, sign (entropy = -entropy loss)
    ("train/loss", "loss", 1.0),
    ("train/policy_loss", "policy loss", 1.0),
    ("train/actor_loss", "actor loss", 1.0),
    ("train/critic_loss", "critic loss", 1.0),
    ("train/approx_kl", "approx. KL (rollout → updated policy)", 1.0),
    ("train/clip_fraction", "clip fraction", 1.0),
    (schema.GRAD_NORM, "gradient norm (after clipping)", 1.0),
    (f"{schema.GRAD_NORM}/actor", "actor gradient norm", 1.0),
    (f"{schema.GRAD_NORM}/critic", "critic gradient norm", 1.0),
    ("train/entropy_loss", "policy entropy (−entropy loss)", -1.0),
)
DIAGNOSTIC_REPS = 1000  # resamples of each band: a visual guide, and ~700 bands a sweep


def _spans_decades(groups: dict[str, Any]) -> bool:
    """Values (nearly all positive: a KL of exactly 0 is left out) spanning more than a decade
    and a half: drawn on a log axis."""
    values = np.concatenate([cv.values.ravel() for cv in groups.values()])
    values = values[np.isfinite(values)]
    positive = values[values > 0]
    return bool(positive.size and positive.size >= 0.9 * values.size
                and positive.max() > 30 * positive.min())


def _diagnostics_figure(data: Results) -> Figure:
    """One row per panel: the applied LR, then every training statistic the panel's runs
    logged (:data:`_DIAGNOSTICS`; a SAC panel has no KL, a PPO panel no actor loss)."""
    need_runs(data)
    colours = policy_colours(data.palette_policies)
    rows: list[tuple[Panel, list[tuple[str, str, dict[str, Any], bool]]]] = []
    for panel in data.panels:
        stats = []
        for metric, title, sign in _DIAGNOSTICS:
            groups = {p: cv._replace(values=sign * cv.values) for p in data.policies
                      if (cv := data.group_curves(panel, p, metric)) is not None
                      and np.isfinite(cv.values).any()}
            if groups:
                stats.append((metric, title, groups, _spans_decades(groups)))
        rows.append((panel, stats))
    if not any(stats for _, stats in rows):
        raise ResultsError("curves.csv has no training statistics (losses, KL, gradient "
                           "norms) yet")
    ncols = 1 + max(len(stats) for _, stats in rows)
    figure = new_figure(0.4 + 3.1 * ncols, 0.9 + 2.5 * len(rows))
    made = figure.subfigures(len(rows), 1)
    subfigures = list(np.ravel(made)) if isinstance(made, np.ndarray) else [made]
    any_switch = any_zero = False
    for sub, (panel, stats) in zip(subfigures, rows, strict=True):
        switches = data.switch_steps(panel)
        any_switch |= bool(switches)
        sub.suptitle(data.panel_title(panel), fontsize=10, x=0.01, ha="left")
        axes = sub.subplots(1, ncols, sharex=True)
        lr_groups = {p: data.group_lr(panel, p) for p in data.policies}
        lr_traces = {p: tr for p, (tr, _) in lr_groups.items() if tr is not None}
        any_zero |= any(bool(np.any(lr_band(tr.values)[0] <= 0)) for tr in lr_traces.values())
        plot_lr_traces(lr_traces, axes[0], colours=colours, switches=switches, legend=False,
                       stepped={p for p, (_, every) in lr_groups.items() if every})
        axes[0].set_title("applied LR", fontsize=9)
        for ax, (metric, title, groups, log) in zip(axes[1:], stats, strict=False):
            plot_diagnostic(groups, ax, ylabel="", colours=colours, switches=switches,
                            log_scale=log, reps=DIAGNOSTIC_REPS, legend=False,
                            rng={p: name_seed(str(panel), metric, p) for p in groups})
            ax.set_title(title, fontsize=9)
        for ax in axes[1 + len(stats):]:
            ax.axis("off")
        for ax in axes:
            ax.set_xlabel("timesteps" if sub is subfigures[-1] else "", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4))  # narrow panels: no crowding
        axes[0].set_ylabel("")
    extra: list[tuple[Any, str]] = [
        (Patch(color="0.6", alpha=0.35), "statistics: mean across seeds, 95 % bootstrap CI"),
        (Patch(color="0.6", alpha=0.2), "LR: median, range across seeds")]
    if any_switch:
        extra.append((Line2D([], [], color="0.35", linestyle=":"), "regime switch"))
    if any_zero:
        extra.append((Line2D([], [], color="0.3", marker="v", linestyle="none"),
                      "LR = 0 (off the log axis)"))
    add_legend(figure, data, extra)
    add_title(figure, data, "training diagnostics beside the applied LR")
    return figure


# --------------------------------------------------------------------------- final scores


def _score_label(data: Results) -> str:
    if data.score_table.normalised:
        return "normalised final score (0 = random, 1 = reference)"
    return "final " + RETURN_LABEL


def _aggregates_figure(data: Results) -> Figure:
    need_runs(data)
    cis, order = data.policy_intervals, data.ranking()
    if not cis:
        raise ResultsError("no panel where every policy has a finished run yet")
    stats = [("iqm", "IQM", "higher"), ("mean", "mean", "higher"),
             ("median", "median of panel means", "higher"),
             ("optimality_gap", "optimality gap", "lower")]
    stats = [s for s in stats if s[0] in cis[order[0]]]
    colours = policy_colours(data.palette_policies)
    figure = new_figure(1.2 + 2.9 * len(stats), 1.6 + 0.42 * len(order))
    axes = figure.subplots(1, len(stats), sharey=True, squeeze=False)[0]
    for ax, (key, label, better) in zip(axes, stats, strict=True):
        plot_intervals({p: cis[p][key] for p in order}, ax, colours=colours, xlabel=label,
                       better=better)
    table = data.score_table
    runs = {p: table.scores[p].shape[0] for p in order}
    counts = sorted(set(runs.values()))
    per_task = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    figure.supxlabel(f"{_score_label(data)}; {len(table.tasks)} panel(s) as tasks, "
                     f"{per_task} runs per task, "
                     "95 % stratified-bootstrap CIs" + (f"\n{table.note}" if table.note else ""),
                     fontsize=8)
    add_title(figure, data, "aggregate final performance")
    return figure


def _profiles_figure(data: Results) -> Figure:
    need_runs(data)
    table = data.score_table
    if not table.scores:
        raise ResultsError("no panel where every policy has a finished run yet")
    figure = new_figure(6.4, 4.4)
    ax = figure.subplots()
    plot_performance_profiles({p: table.scores[p] for p in data.policies if p in table.scores},
                              ax, colours=policy_colours(data.palette_policies), reps=REPS,
                              rng=SEED, xlabel=f"τ: {_score_label(data)}")
    add_title(figure, data, "performance profiles")
    return figure


def _improvement_figure(data: Results) -> Figure:
    need_runs(data)
    table = data.score_table
    if len(table.scores) < 2:
        raise ResultsError("the probability of improvement needs at least two policies with "
                         "finished runs")
    order = [p for p in data.ranking() if p in table.scores]
    n = len(order)
    figure = new_figure(2.6 + 1.3 * n, 1.9 + 0.95 * n)
    plot_probability_of_improvement(table.scores, figure.subplots(), reps=REPS, rng=SEED,
                                    order=order)
    add_title(figure, data, "probability of improvement")
    return figure


def _heatmap_figure(data: Results) -> Figure:
    need_runs(data)
    order = data.ranking() or data.policies
    columns = data.panels
    normalised = data.normalisable
    key = schema.NORM_FINAL_IQM if normalised else schema.FINAL_IQM
    values, low, high = (np.full((len(order), len(columns)), np.nan) for _ in range(3))
    for j, panel in enumerate(columns):
        for row in data.metric_rows(panel):
            if row.get(schema.LR) in order:
                i = order.index(row[schema.LR])
                for target, column in zip((values, low, high), (key, *schema.ci_columns(key)),
                                          strict=True):
                    target[i, j] = number(row.get(column))
    if not np.isfinite(values).any():
        raise ResultsError("metrics.csv has no final scores yet")
    labels = [_group_label(data, p) for p in columns]
    figure = new_figure(2.8 + 1.5 * len(columns), 1.9 + 0.55 * len(order))
    colour, text = values, None
    if normalised:
        label = "normalised IQM of final return\n(0 = random, 1 = reference)"
    elif len(data.envs) == 1:
        label = "IQM of final clean\neval return (raw)"
    else:  # raw returns of different envs do not share a scale: colour within each column
        with np.errstate(invalid="ignore", divide="ignore"):
            span = np.nanmax(values, axis=0) - np.nanmin(values, axis=0)
            colour = (values - np.nanmin(values, axis=0)) / np.where(span > 0, span, 1.0)
        text, label = values, "IQM of final return,\nscaled within each column"
    plot_heatmap(colour, order, labels, figure.subplots(), low=low, high=high, text=text,
                 colourbar_label=label, fmt="{:.2f}" if normalised else "{:.0f}")
    add_title(figure, data, "final performance per condition")
    return figure


# --------------------------------------------------------------------------- stability

_STABILITY = (  # metrics.csv column, title, unit (x label), which way is better
    (schema.DISPERSION_TIME, "dispersion across time", "IQR of Δreturn / Δstep", "lower"),
    (schema.SHORT_TERM_RISK, "short-term risk", "CVaR 5 % of Δreturn / Δstep", "higher"),
    (schema.LONG_TERM_RISK, "long-term risk", "CVaR 5 % of drawdown (return)", "lower"),
    (schema.DISPERSION_RUNS, "dispersion across runs", "median IQR across seeds (return)",
     "lower"),
    (schema.RISK_RUNS, "risk across runs", "CVaR 5 % of final return", "higher"),
    (schema.DIVERGED_RATE, "diverged runs", "fraction (Wilson CI; ○: 0)", "lower"),
)


def _value(row: dict[str, str], key: str) -> Any:
    """``(point, low, high)`` of a metrics.csv column with a CI, else the bare value."""
    low, high = schema.ci_columns(key)
    if low in row:
        return number(row.get(key)), number(row.get(low)), number(row.get(high))
    return number(row.get(key))


def _no_divergence(ax: Axes, groups: dict[str, dict[str, Any]], runs: int) -> bool:
    """The diverged-runs panel: "no run diverged" when none did (a Wilson CI of 0 of n runs
    reaches up to ~0.56 for 3 runs and reads as divergence at a glance: it is not drawn);
    otherwise a group with no divergence is drawn as a bare 0 (True: the panel is done)."""
    if all(v[0] == 0 for per in groups.values() for v in per.values()):
        ax.text(0.5, 0.5, f"no run diverged\n(0 of {runs} runs)", ha="center", va="center",
                transform=ax.transAxes, fontsize=11, color="0.25")
        ax.set_xticks([])
        ax.set_yticks([])
        return True
    for per in groups.values():
        for policy, value in per.items():
            if value[0] == 0:
                per[policy] = 0.0  # a hollow circle at 0, no interval
    return False


def _stability_figure(data: Results) -> Figure:
    need_runs(data)
    if not data.metrics:
        raise ResultsError("metrics.csv has no rows yet")
    colours = policy_colours(data.palette_policies)
    groups: dict[str, dict[str, dict[str, Any]]] = {k[0]: {} for k in _STABILITY}
    groups[schema.SENSITIVITY] = {}
    for panel in data.panels:
        label = _group_label(data, panel)
        for row in data.metric_rows(panel):
            for key in groups:
                if key in row and row[key] not in ("", None):
                    groups[key].setdefault(label, {})[row[schema.LR]] = _value(row, key)
    ratio = data.normalisable
    plots: list[tuple[str, str, str, str, float | None]] = [(*k, None) for k in _STABILITY]
    points = max((trace[0].size for run in data.curves.values()
                  if (trace := run.get(schema.EVAL_RETURN_MEAN)) is not None), default=0)
    if tail_points(points) < MIN_TAIL_POINTS:  # the 5 % tail is one value: say which
        units = {schema.SHORT_TERM_RISK: f"worst Δreturn/Δstep (CVaR 5 %, {points} pts)",
                 schema.LONG_TERM_RISK: f"max drawdown (CVaR 5 %, {points} pts)"}
        plots = [(k, t, units.get(k, u), b, r) for k, t, u, b, r in plots]
    plots.append((schema.SENSITIVITY, "sensitivity to the perturbation",
                  "perturbed / clean (normalised final return)" if ratio else
                  "perturbed − clean (final return)", "higher", 1.0 if ratio else 0.0))
    slots = max(1, len(data.panels)) * len(data.policies)  # bars per subplot
    figure = new_figure(16.0, min(1.6 + 2 * (0.7 + 0.22 * slots), 36.0))
    axes = figure.subplots(2, 4).ravel()
    row_labels: dict[int, list[str]] = {}  # each row's group labels, shown once per row
    for ax, (key, title, unit, better, reference) in zip(axes, plots, strict=False):
        ax.set_title(f"{title}  {'← better' if better == 'lower' else 'better →'}",
                     fontsize=10)
        if key == schema.DIVERGED_RATE and groups[key] and _no_divergence(
                ax, groups[key], len(data.summary)):
            continue
        if not groups[key]:
            ax.text(0.5, 0.5, "no values: a perturbed panel\nneeds a clean one beside it"
                    if key == schema.SENSITIVITY else "no values yet", ha="center", va="center",
                    transform=ax.transAxes, color="0.4")
            ax.set_xlabel(unit)
            ax.set_yticks([])
            continue
        plot_grouped_intervals(groups[key], ax, colours=colours, policies=data.policies,
                               xlabel=unit, reference=reference)
        labelled = row_labels.setdefault(ax.get_subplotspec().rowspan.start, list(groups[key]))
        if ax.get_subplotspec().colspan.start and list(groups[key]) == labelled:
            ax.tick_params(labelleft=False)  # the same groups as the row's first panel
    axes[-1].axis("off")
    extra = [(Patch(color="0.6", alpha=0.35), "95 % CI (bar), estimate (tick)"),
             (Line2D([], [], marker="o", markerfacecolor="white", markeredgecolor="0.3",
                     linestyle="none"), "across-runs metric (no CI)")]
    add_legend(figure, data, extra, ax=axes[-1])
    add_title(figure, data, "stability (Chan et al. 2020) and sensitivity to the perturbation")
    return figure


FIGURES: dict[str, FigureKind] = {
    "curves": FigureKind(
        "Learning curves and the LR behind them",
        "Top: clean evaluation return (IQM across seeds, band = 95 % bootstrap CI); below: "
        "the LR each policy applied (median and range across seeds, log scale; steps: the "
        "LR of every update, where the runs recorded it). Read down a "
        "column to see what the LR did before the return moved; dotted lines mark regime "
        "switches (of the reward or the dynamics), × a diverged run.",
        _curves_figure),
    "lr": FigureKind(
        "Applied learning rate",
        "The LR each policy actually applied (median across seeds, band = range, log scale; "
        "steps: the LR of every update, where the runs recorded it): fixed schedules are "
        "identical across seeds; controllers react to what they observe.",
        lambda data: _curves_figure(data, with_returns=False), in_report=False),
    "diagnostics": FigureKind(
        "Training diagnostics beside the LR",
        "One row per condition: the LR each policy applied (left), then what the updates "
        "looked like under it, as SB3 logged them at each evaluation (mean across seeds, band "
        "= 95 % bootstrap CI): the loss, the approximate KL and clip fraction (PPO), the "
        "actor and critic losses (SAC), the gradient norm and the policy entropy. A KL or "
        "gradient norm rising right after the LR does, or an entropy collapsing, shows why a "
        "policy's return moved; dotted lines mark regime switches (of the reward or the "
        "dynamics).",
        _diagnostics_figure, compact=True),
    "aggregates": FigureKind(
        "Aggregate final performance",
        # "this sweep": the committed reports carry these words (byte-identical regeneration)
        "Final clean return pooled over every panel (rliable): higher IQM, mean and median of "
        "panel means (the median over panels of each panel's mean) and a lower optimality gap "
        "are better; overlapping intervals mean this sweep cannot separate the policies.",
        _aggregates_figure),
    "stability": FigureKind(
        "Stability and sensitivity",
        "Reliability of training per panel (Chan et al. 2020); the arrow in each label says "
        "which way is better. Sensitivity: final return trained under the perturbation over "
        "the same policy's clean one (1 = unaffected).",
        _stability_figure),
    "profiles": FigureKind(
        "Performance profiles",
        "Fraction of runs scoring above each threshold τ: a curve above another everywhere "
        "is better over the whole distribution of runs, not only on average.",
        _profiles_figure),
    "improvement": FigureKind(
        "Probability of improvement",
        "P(a run of the row's policy beats a run of the column's on the same panel): 0.5 = no "
        "difference; an interval excluding 0.5 is a clear difference.",
        _improvement_figure),
    "heatmap": FigureKind(
        "Final performance per condition",
        "IQM of the final clean return for each policy (row, best first) in each condition "
        "(column), with its 95 % CI: where a policy wins and where it breaks down.",
        _heatmap_figure),
    "base_lr": FigureKind(
        "Score against the base LR",
        "Each policy started from every base LR of the experiment (x: its multiple of the "
        "tuned constant's LR, log scale): IQM across seeds, band = 95 % CI; the dotted line "
        "and grey band are the tuned constant at x1. A flat curve at the line is a policy "
        "that needs no LR tuning; drawn only for an experiment with a base_lr axis.",
        base_lr_figure, applies=has_starts),
    "dose": FigureKind(
        "Score against the dose",
        "Each policy under each dose of the perturbation (x: clean, then the doses in order): "
        "top, the IQM of the primary score across seeds, band = 95 % CI; bottom, the fraction "
        "of its clean score it keeps (1: dotted, unaffected; below the dashed 0.9 line with "
        "its whole band: clearly loses). Drawn only for an experiment with a dose axis.",
        dose_figure, applies=has_doses),
}


REPORT_KINDS = tuple(kind for kind, spec in FIGURES.items() if spec.in_report)


def report_kinds(data: Results) -> list[str]:
    """The kinds of :data:`REPORT_KINDS` the report of ``data`` shows: those that apply to it
    (``base_lr`` needs a ``base_lr`` axis, ``dose`` a dose axis)."""
    return [kind for kind in REPORT_KINDS if FIGURES[kind].applies(data)]


def make_figure(data: Results, kind: str) -> Figure:
    """Draw one figure of an experiment (``kind`` in :data:`FIGURES`).

    Raises:
        ValueError: unknown ``kind``.
        ResultsError: nothing to draw yet (no finished runs, or a single policy for
            ``improvement``).
    """
    if kind not in FIGURES:
        raise ValueError(f"kind must be one of {', '.join(FIGURES)}; got {kind!r}")
    return FIGURES[kind].draw(data)
