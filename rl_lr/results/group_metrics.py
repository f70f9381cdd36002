"""``metrics.csv``: one row per group of runs (every axis label but the seed), with confidence
intervals, from an experiment's finished runs; the column names are those of
:mod:`rl_lr.schema`.

Columns (``X``, ``X_low``, ``X_high`` for a 95 % stratified-bootstrap interval, 2,000
resamples, seeded by the group's name so the file is reproducible: :mod:`.scores`):

- ``runs``, ``diverged_rate`` (Wilson interval);
- ``final_iqm`` / ``final_mean`` / ``final_median``: final clean eval return, its IQM, mean
  and median over the group's runs (:func:`rl_lr.metrics.median_of_runs`; not rliable's
  ``median``, the median of per-task means, which for one group is its mean); ``norm_final_iqm``
  and ``optimality_gap`` when the env is in a suite (random -> 0, reference -> 1);
- ``auc_iqm``: area under the clean eval curve (a time-averaged return);
- ``reach_fraction``, ``steps_to_threshold_median``: runs reaching the env's threshold;
- stability (Chan et al. 2020) of the clean eval curves: ``dispersion_time`` (IQR of the
  detrended curve), ``short_term_risk`` (CVaR 5 % of the detrended curve), ``long_term_risk``
  (CVaR 5 % of the drawdown), each the IQM over runs with its CI; ``dispersion_runs`` (median
  over eval points of the across-runs IQR) and ``risk_runs`` (CVaR 5 % of final returns);
- ``sensitivity``: IQM over seeds of the normalised final return under this group's
  perturbation over the same policy's clean one, same seeds (``ratio``; the ``difference`` of
  raw returns when the env has no known range); empty for clean groups;
- regime switches, for a perturbation with switches on a fixed schedule (the reward's
  ``switch(...)``, the dynamics switches such as ``damping_switch(...)``; not
  ``markov_switch``, whose switches are random and unrecorded):
  :func:`rl_lr.metrics.switch_summary` after each switch, on the clean eval curves:

  - ``switch_drop_iqm``: the IQM over runs (like every interval here) of each run's mean,
    over its switches, of the drop: the pre-switch level (mean of the last 3 evaluations
    before the switch) minus the lowest clean eval return before the next switch;
  - ``switch_recovery_iqm``: the IQM over runs of each run's mean, over its switches, of the
    steps until the curve is back within 5 % of its pre-switch level (from its lowest point
    on); a switch after which it never comes back before the next switch counts as the
    regime's full length (censored: a lower bound), so slow recoveries are never dropped;
  - ``switch_recovered``: the fraction of switches, over all switches of all runs, after
    which the curve came back within the regime; ``switch_count``: those switches (a switch
    with no finite evaluation before it or inside its regime, e.g. after a divergence, is not
    counted);
  - ``switch_drop`` / ``switch_recovery_steps`` (kept as they were): the plain mean over runs
    and switches of the drop, and of the recovery steps of the switches that recovered only
    (never-recovered switches are left out of it: prefer ``switch_recovery_iqm``);
- ``lr_oscillations``, ``lr_at_bound``: mean LR direction changes and fraction of evaluations
  at the policy's ``min_lr`` / ``max_lr``.

Diverged runs score their last finite evaluation (a divergence is counted in
``diverged_rate``, not hidden): :func:`.scores.final_score`.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rl_lr import metrics, schema
from rl_lr.files import write_csv
from rl_lr.results.load import curves_by_run
from rl_lr.results.scores import (
    REPS,
    Panel,
    Trace,
    env_range,
    final_score,
    group_key,
    group_seed,
    is_diverged,
    number,
    steps_to_threshold,
    switch_steps,
)
from rl_lr.schedules import ALL_NETWORKS

__all__ = ["write_metrics"]

FINAL_COLUMNS = {"iqm": schema.FINAL_IQM, "mean": schema.FINAL_MEAN}  # statistic -> column


def _stack(curves: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray] | None:
    """Curves on the eval points of the longest run; a run that ended early (it diverged)
    keeps its last finite evaluation from there on, as its final score does, so one diverged
    run does not cut every other run's curve short. ``None`` when the runs' eval points differ
    otherwise.

    >>> _stack([(np.array([0, 5, 10]), np.array([1.0, 2.0, 3.0])),
    ...         (np.array([0, 5]), np.array([1.0, 4.0]))])[1].tolist()
    [[1.0, 2.0, 3.0], [1.0, 4.0, 4.0]]
    """
    if not curves:
        return None
    shared = max((c[0] for c in curves), key=len)
    values = []
    for steps, ys in curves:
        if not np.array_equal(steps, shared[:len(steps)]):
            return None
        finite = ys[np.isfinite(ys)]
        last = finite[-1] if finite.size else math.nan
        values.append([*ys, *[last] * (len(shared) - len(steps))])
    return shared, np.asarray(values, dtype=float)


def _with_ci(column: str, ci: metrics.Interval) -> dict[str, float]:
    """``{X: point, X_low: low, X_high: high}``."""
    low, high = schema.ci_columns(column)
    return {column: ci.point, low: ci.low, high: ci.high}


def _interval(column: str, values: np.ndarray, seed: str) -> dict[str, float]:
    """The IQM of the finite ``values`` with its interval, seeded by ``seed``."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return _with_ci(column, metrics.Interval(math.nan, math.nan, math.nan))
    ci = metrics.stratified_bootstrap_ci(finite[:, None], "iqm", reps=REPS,
                                         rng=group_seed(seed))
    return _with_ci(column, ci)


def write_metrics(out: Path, plan: Sequence[Any], summary_rows: Sequence[Mapping[str, Any]],
                  curve_rows: Sequence[Mapping[str, Any]]) -> None:
    """Compute every group's metrics and write ``out/metrics.csv`` atomically."""
    by_id = {run.run_id: run for run in plan}
    curves = curves_by_run(curve_rows, (schema.EVAL_RETURN_MEAN, schema.LR))
    eval_curves = {run: c[schema.EVAL_RETURN_MEAN] for run, c in curves.items()
                   if schema.EVAL_RETURN_MEAN in c}
    lr_curves = {run: c[schema.LR] for run, c in curves.items() if schema.LR in c}
    groups: dict[Panel, list[Mapping[str, Any]]] = defaultdict(list)
    for row in summary_rows:
        groups[group_key(by_id[row[schema.RUN_ID]].labels)].append(row)
    finals: dict[Panel, dict[int, float]] = {}
    clean = {key for key, rows in groups.items()
             if by_id[rows[0][schema.RUN_ID]].config.perturb == ()}
    for key, rows in groups.items():
        finals[key] = {by_id[r[schema.RUN_ID]].config.seed:
                       final_score(r, eval_curves.get(r[schema.RUN_ID])) for r in rows}

    out_rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short curves are left unfiltered, by design
        for key, rows in groups.items():
            out_rows.append(_group_row(key, rows, by_id, eval_curves, lr_curves, finals, clean,
                                       out))
    columns = list(dict.fromkeys(k for row in out_rows for k in row)) or [schema.RUNS]
    write_csv(out / schema.METRICS_CSV, out_rows, columns)


def _group_row(key: Panel, rows: Sequence[Mapping[str, Any]], by_id: Mapping[str, Any],
               eval_curves: Mapping[str, Trace], lr_curves: Mapping[str, Trace],
               finals: Mapping[Panel, dict[int, float]], clean: set[Panel],
               out: Path) -> dict[str, Any]:
    name = "|".join(f"{k}={v}" for k, v in key)
    runs = [by_id[r[schema.RUN_ID]] for r in rows]
    env = runs[0].config.env
    row: dict[str, Any] = dict(key)
    row[schema.RUNS] = len(rows)
    diverged = np.array([is_diverged(r) for r in rows])
    row.update(_with_ci(schema.DIVERGED_RATE, metrics.divergence_rate(diverged)))
    final = np.array(list(finals[key].values()))
    finite = final[np.isfinite(final)]
    if finite.size:
        cis = metrics.aggregate_with_cis({name: finite[:, None]}, rng=group_seed(name),
                                         statistics=tuple(FINAL_COLUMNS), reps=REPS)[name]
        for stat, ci in cis.items():
            row.update(_with_ci(FINAL_COLUMNS[stat], ci))
        row.update(_with_ci(schema.FINAL_MEDIAN, metrics.stratified_bootstrap_ci(
            finite[:, None], metrics.median_of_runs, reps=REPS,
            rng=group_seed(name + "median"))))
    suite_range = env_range(env)
    if suite_range and finite.size:
        low, high = suite_range
        norm = metrics.normalise(finite, low, high)
        row.update(_interval(schema.NORM_FINAL_IQM, norm, name + "norm"))
        gap = metrics.optimality_gap(norm[:, None])
        row[schema.OPTIMALITY_GAP] = gap
    aucs = np.array([number(r.get(schema.EVAL_AUC)) for r in rows])
    row.update(_interval(schema.AUC_IQM, aucs, name + "auc"))
    reach = [steps_to_threshold(r) for r in rows]
    row[schema.REACH_FRACTION] = float(np.mean([math.isfinite(s) for s in reach]))
    steps = [s for s in reach if math.isfinite(s)]
    row[schema.STEPS_TO_THRESHOLD_MEDIAN] = float(np.median(steps)) if steps else math.nan

    stacked = _stack([eval_curves[r[schema.RUN_ID]] for r in rows
                      if r[schema.RUN_ID] in eval_curves])
    if stacked is not None and stacked[0].size >= 3:
        timesteps, curves = stacked
        row.update(_interval(schema.DISPERSION_TIME,
                             np.atleast_1d(metrics.dispersion_across_time(timesteps, curves)),
                             name + "dt"))
        row.update(_interval(schema.SHORT_TERM_RISK,
                             np.atleast_1d(metrics.short_term_risk(timesteps, curves)),
                             name + "srt"))
        row.update(_interval(schema.LONG_TERM_RISK,
                             np.atleast_1d(metrics.long_term_risk(curves)), name + "lrt"))
        row[schema.DISPERSION_RUNS] = float(np.nanmedian(metrics.dispersion_across_runs(curves)))
        row[schema.RISK_RUNS] = float(metrics.risk_across_runs(curves))
        first = runs[0]
        switches = switch_steps(first.config.perturb, first.config.steps,
                                schema.run_dir(out, first.run_id))
        if switches:
            row.update(_mean_switch_effects(timesteps, curves, switches))
            row.update(_switch_columns(metrics.switch_summary(
                timesteps, curves, switches, first.config.steps), name))
    row.update(_sensitivity(key, finals, clean, suite_range, name))
    row.update(_lr_stats(runs, rows, lr_curves))
    return row


def _mean_switch_effects(timesteps: np.ndarray, curves: np.ndarray, switches: Sequence[int]
                         ) -> dict[str, float]:
    """``switch_drop`` and ``switch_recovery_steps`` as they always were (NaN when a switch
    has no evaluation before it or in its regime, e.g. curves cut short by a divergence)."""
    try:
        drops, recovery = metrics.regime_switch_effects(timesteps, curves, switches)
    except ValueError:
        return {schema.SWITCH_DROP: math.nan, schema.SWITCH_RECOVERY_STEPS: math.nan}
    return {schema.SWITCH_DROP: float(np.nanmean(drops)),
            schema.SWITCH_RECOVERY_STEPS: float(np.nanmean(recovery))}


def _switch_columns(summary: metrics.SwitchSummary, name: str) -> dict[str, float]:
    """The regime-switch columns of a group (see the module docstring)."""
    row = {**_interval(schema.SWITCH_DROP_IQM, summary.drop, name + "switch drop"),
           **_interval(schema.SWITCH_RECOVERY_IQM, summary.recovery, name + "switch recovery")}
    row[schema.SWITCH_RECOVERED] = (summary.recovered / summary.scored if summary.scored
                                    else math.nan)
    row[schema.SWITCH_COUNT] = summary.scored
    return row


def _sensitivity(key: Panel, finals: Mapping[Panel, dict[int, float]], clean: set[Panel],
                 env_range: tuple[float, float] | None, name: str) -> dict[str, float]:
    def others(k: Panel) -> Panel:
        return tuple(item for item in k if item[0] != schema.PERTURB)

    if key in clean:
        return {}
    clean_key = next((k for k in clean if others(k) == others(key)), None)
    if clean_key is None:
        return {}
    seeds = sorted(set(finals[key]) & set(finals[clean_key]))
    if not seeds:
        return {}
    perturbed = np.array([finals[key][s] for s in seeds])
    reference = np.array([finals[clean_key][s] for s in seeds])
    if env_range is not None:
        values = metrics.sensitivity(perturbed, reference, low=env_range[0], high=env_range[1])
    else:
        values = metrics.sensitivity(perturbed, reference, kind="difference")
    return _interval(schema.SENSITIVITY, np.atleast_1d(values), name + "sens")


def _lr_stats(runs: Sequence[Any], rows: Sequence[Mapping[str, Any]],
              lr_curves: Mapping[str, Trace]) -> dict[str, float]:
    oscillations, at_bound = [], []
    for run, row in zip(runs, rows, strict=True):
        trace = lr_curves.get(row[schema.RUN_ID])
        if trace is None or trace[1].size < 2 or not np.all(np.isfinite(trace[1])):
            continue
        oscillations.append(float(metrics.lr_oscillations(trace[1])))
        policies = run.config.lr or {}
        if set(policies) == {ALL_NETWORKS}:  # one policy for every network
            policy = policies[ALL_NETWORKS]
            at_bound.append(float(metrics.fraction_at_bound(trace[1], policy.min_lr,
                                                            policy.max_lr)))
    return {schema.LR_OSCILLATIONS: float(np.mean(oscillations)) if oscillations else math.nan,
            schema.LR_AT_BOUND: float(np.mean(at_bound)) if at_bound else math.nan}
