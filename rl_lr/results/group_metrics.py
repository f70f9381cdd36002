"""``metrics.csv``: one row per group of runs (every axis label but the seed), with confidence
intervals, from a sweep's finished runs.

Columns (``X``, ``X_low``, ``X_high`` for a 95 % stratified-bootstrap interval, 2,000
resamples, seeded by the group's name so the file is reproducible):

- ``runs``, ``diverged_rate`` (Wilson interval);
- ``final_iqm`` / ``final_mean`` / ``final_median``: final clean eval return; ``norm_final_iqm``
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
- ``switch_drop`` / ``switch_recovery_steps``: mean over runs and regime switches of the drop
  after each switch of a ``switch(...)`` perturbation and the steps to recover;
- ``lr_oscillations``, ``lr_at_bound``: mean LR direction changes and fraction of evaluations
  at the policy's ``min_lr`` / ``max_lr``.

Diverged runs score their last finite evaluation (a divergence is counted in
``diverged_rate``, not hidden).
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rl_lr import metrics
from rl_lr.files import write_csv

__all__ = ["group_key", "write_metrics"]

REPS = 2000


def group_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in labels.items() if k != "seed")


def _curves(curve_rows: Sequence[Mapping[str, Any]], metric: str
            ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """run_id -> (timesteps, values) of one metric."""
    points: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in curve_rows:
        if row["metric"] == metric:
            points[row["run_id"]].append((float(row["timesteps"]), float(row["value"])))
    return {run: (np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
            for run, pts in points.items()}


def _stack(curves: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray] | None:
    """Curves on the eval points all runs share (runs may end early when they diverge)."""
    if not curves:
        return None
    shared = min((c[0] for c in curves), key=len)
    values = []
    for steps, ys in curves:
        index = {s: i for i, s in enumerate(steps)}
        if not all(s in index for s in shared):
            return None
        values.append([ys[index[s]] for s in shared])
    return shared, np.asarray(values, dtype=float)


def _interval(prefix: str, values: np.ndarray, seed: str) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {prefix: math.nan, f"{prefix}_low": math.nan, f"{prefix}_high": math.nan}
    ci = metrics.stratified_bootstrap_ci(finite[:, None], "iqm", reps=REPS, rng=_seed(seed))
    return {prefix: ci.point, f"{prefix}_low": ci.low, f"{prefix}_high": ci.high}


def _seed(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode())


def _env_range(env_id: str) -> tuple[float, float] | None:
    try:
        from rl_lr.envs.suites import env_entry

        entry = env_entry(env_id)
    except (ImportError, KeyError):
        return None
    return float(entry.random_return), float(entry.reference_return)


def _final(row: Mapping[str, Any], curve: tuple[np.ndarray, np.ndarray] | None) -> float:
    value = row.get("final_eval_return")
    if value not in (None, "") and math.isfinite(float(value)):
        return float(value)
    if curve is not None:  # diverged: its last finite evaluation
        finite = curve[1][np.isfinite(curve[1])]
        if finite.size:
            return float(finite[-1])
    return math.nan


def _switch_steps(plan_run: Any, runs_dir: Path) -> list[int]:
    """Timesteps of the regime switches of the run's ``switch(...)`` perturbations."""
    from rl_lr.envs import parse_perturbations, switch_timesteps
    from rl_lr.files import run_n_envs

    n_envs = run_n_envs(runs_dir / plan_run.run_id)
    return switch_timesteps(parse_perturbations(plan_run.config.perturb), plan_run.config.steps,
                            n_envs)


def write_metrics(out: Path, plan: Sequence[Any], summary_rows: Sequence[Mapping[str, Any]],
                  curve_rows: Sequence[Mapping[str, Any]]) -> None:
    """Compute every group's metrics and write ``out/metrics.csv`` atomically."""
    by_id = {run.run_id: run for run in plan}
    eval_curves = _curves(curve_rows, "eval_return_mean")
    lr_curves = _curves(curve_rows, "lr")
    groups: dict[tuple[tuple[str, str], ...], list[Mapping[str, Any]]] = defaultdict(list)
    for row in summary_rows:
        groups[group_key(by_id[row["run_id"]].labels)].append(row)
    finals: dict[tuple[tuple[str, str], ...], dict[int, float]] = {}
    clean = {key for key, rows in groups.items()
             if by_id[rows[0]["run_id"]].config.perturb in (None, "", [])}
    for key, rows in groups.items():
        finals[key] = {by_id[r["run_id"]].config.seed: _final(r, eval_curves.get(r["run_id"]))
                       for r in rows}

    out_rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # short curves are left unfiltered, by design
        for key, rows in groups.items():
            out_rows.append(_group_row(key, rows, by_id, eval_curves, lr_curves, finals, clean,
                                       out / "runs"))
    columns = list(dict.fromkeys(k for row in out_rows for k in row)) or ["runs"]
    write_csv(out / "metrics.csv", out_rows, columns)


def _group_row(key: tuple[tuple[str, str], ...], rows: Sequence[Mapping[str, Any]],
               by_id: Mapping[str, Any], eval_curves: Mapping[str, Any],
               lr_curves: Mapping[str, Any],
               finals: Mapping[tuple[tuple[str, str], ...], dict[int, float]],
               clean: set[tuple[tuple[str, str], ...]], runs_dir: Path) -> dict[str, Any]:
    name = "|".join(f"{k}={v}" for k, v in key)
    runs = [by_id[r["run_id"]] for r in rows]
    env = runs[0].config.env
    row: dict[str, Any] = dict(key)
    row["runs"] = len(rows)
    diverged = np.array([str(r.get("diverged")).lower() == "true" for r in rows])
    rate = metrics.divergence_rate(diverged)
    row.update({"diverged_rate": rate.point, "diverged_rate_low": rate.low,
                "diverged_rate_high": rate.high})
    final = np.array(list(finals[key].values()))
    finite = final[np.isfinite(final)]
    if finite.size:
        cis = metrics.aggregate_with_cis({name: finite[:, None]}, rng=_seed(name),
                                         statistics=("iqm", "mean", "median"), reps=REPS)[name]
        for stat, ci in cis.items():
            row.update({f"final_{stat}": ci.point, f"final_{stat}_low": ci.low,
                        f"final_{stat}_high": ci.high})
    env_range = _env_range(env)
    if env_range and finite.size:
        low, high = env_range
        norm = metrics.normalise(finite, low, high)
        row.update(_interval("norm_final_iqm", norm, name + "norm"))
        gap = metrics.optimality_gap(norm[:, None])
        row["optimality_gap"] = gap
    aucs = np.array([float(r["eval_auc"]) if r.get("eval_auc") not in (None, "") else math.nan
                     for r in rows])
    row.update(_interval("auc_iqm", aucs, name + "auc"))
    reached = [r.get("steps_to_threshold") not in (None, "") for r in rows]
    row["reach_fraction"] = float(np.mean(reached))
    steps = [float(r["steps_to_threshold"]) for r in rows if r.get("steps_to_threshold")
             not in (None, "")]
    row["steps_to_threshold_median"] = float(np.median(steps)) if steps else math.nan

    stacked = _stack([eval_curves[r["run_id"]] for r in rows if r["run_id"] in eval_curves])
    if stacked is not None and stacked[0].size >= 3:
        timesteps, curves = stacked
        row.update(_interval("dispersion_time",
                             np.atleast_1d(metrics.dispersion_across_time(timesteps, curves)),
                             name + "dt"))
        row.update(_interval("short_term_risk",
                             np.atleast_1d(metrics.short_term_risk(timesteps, curves)),
                             name + "srt"))
        row.update(_interval("long_term_risk", np.atleast_1d(metrics.long_term_risk(curves)),
                             name + "lrt"))
        row["dispersion_runs"] = float(np.nanmedian(metrics.dispersion_across_runs(curves)))
        row["risk_runs"] = float(metrics.risk_across_runs(curves))
        switches = _switch_steps(runs[0], runs_dir)
        if switches:
            effects = metrics.regime_switch_effects(timesteps, curves, switches)
            row["switch_drop"] = float(np.nanmean(effects[0]))
            row["switch_recovery_steps"] = float(np.nanmean(effects[1]))
    row.update(_sensitivity(key, finals, clean, env_range, name))
    row.update(_lr_stats(runs, rows, lr_curves))
    return row


def _sensitivity(key: tuple[tuple[str, str], ...],
                 finals: Mapping[tuple[tuple[str, str], ...], dict[int, float]],
                 clean: set[tuple[tuple[str, str], ...]],
                 env_range: tuple[float, float] | None, name: str) -> dict[str, float]:
    def others(k: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        return tuple(item for item in k if item[0] != "perturb")

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
    return _interval("sensitivity", np.atleast_1d(values), name + "sens")


def _lr_stats(runs: Sequence[Any], rows: Sequence[Mapping[str, Any]],
              lr_curves: Mapping[str, Any]) -> dict[str, float]:
    from rl_lr.schedules import POLICIES

    oscillations, at_bound = [], []
    for run, row in zip(runs, rows, strict=True):
        trace = lr_curves.get(row["run_id"])
        if trace is None or trace[1].size < 2 or not np.all(np.isfinite(trace[1])):
            continue
        oscillations.append(float(metrics.lr_oscillations(trace[1])))
        lr = run.config.lr
        if isinstance(lr, str):
            policy = POLICIES.parse(lr)
            at_bound.append(float(metrics.fraction_at_bound(trace[1], policy.min_lr,
                                                            policy.max_lr)))
    return {"lr_oscillations": float(np.mean(oscillations)) if oscillations else math.nan,
            "lr_at_bound": float(np.mean(at_bound)) if at_bound else math.nan}
