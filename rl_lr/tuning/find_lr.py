"""An LR range test for RL: ``rl-lr find-lr`` and :func:`find_lr`.

Short runs over a log grid of constant LRs (``points`` LRs in ``[min_lr, max_lr]`` x
``seeds`` seeds from ``first_seed`` on), run by rl-lr's harness
(:func:`rl_lr.harness.run_experiment`: every core or a Ray cluster, resumable, the usual
``summary.csv`` / ``curves.csv`` / ``metrics.csv`` / ``runs/`` in ``out``; ``workers=1`` runs
them one after the other in this process, on the ``serial`` backend), then per LR the mean
area under the clean eval curve (``eval_auc``, a time-averaged return) with a
stratified-bootstrap CI (:func:`rl_lr.metrics.stratified_bootstrap_ci`, seeded, so the file is
reproducible).

A diverged run's curve is extended to the budget at its lowest evaluation, so a divergence
costs the rest of the run instead of being averaged away.

Suggestion rules:

- **LR**: the grid LR with the best mean AUC among LRs where no seed diverged (among all LRs
  if every one diverged somewhere); no smoothing.
- **Range** ``[low, high]`` for cyclical policies: the contiguous grid LRs around the
  suggested one, without divergences, whose CI reaches the suggested LR's lower CI bound
  (``high CI >= best's low CI``): LRs statistically not worse. When that is the suggested LR
  alone, its grid neighbours (within the searched range) bound it. Printed as
  ``constant(X)`` and ``cyclic(low, high, cycles=4)``.

Warnings (in ``notes``, printed by ``rl-lr find-lr``, and in ``suggestion.json``;
:func:`grid_warnings`): the suggestion is the lowest or the highest LR of the grid (the best
may lie outside it: widen the grid), or its CI overlaps the CIs of most other grid LRs (the
test cannot tell them apart: more seeds, longer runs).

Files in ``out`` besides the harness's: ``find_lr.csv`` (one row per LR), ``find_lr.png``
(AUC vs LR, log x, CI band, each seed's point, diverged runs as red crosses, the suggestion
and range marked) and ``suggestion.json``.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from rl_lr.errors import SpecError
from rl_lr.experiment import Experiment, PlannedRun, plan_runs
from rl_lr.files import read_csv, write_csv, write_json
from rl_lr.harness import run_experiment
from rl_lr.metrics import stratified_bootstrap_ci
from rl_lr.plots import new_axes, save_figure
from rl_lr.run import summarize
from rl_lr.schedules import Constant, Cyclic
from rl_lr.schema import (
    DIVERGED,
    EVAL_AUC,
    EVAL_RETURN_MEAN,
    FINAL_EVAL_RETURN,
    FIND_LR_CSV,
    FIND_LR_PNG,
    LR,
    PROGRESS_CSV,
    SUGGESTION_JSON,
    SUMMARY_JSON,
    TIMESTEPS,
    run_dir,
)

__all__ = ["FindLRResult", "find_lr", "grid_warnings", "lr_grid", "plot_find_lr", "suggest"]

CYCLES = 4


def lr_grid(min_lr: float, max_lr: float, points: int) -> list[float]:
    """``points`` log-spaced LRs from ``min_lr`` to ``max_lr`` (both exact); the interior
    ones rounded to 3 significant digits.

    >>> lr_grid(1e-5, 1e-1, 5)
    [1e-05, 0.0001, 0.001, 0.01, 0.1]
    """
    for name, value in (("min_lr", min_lr), ("max_lr", max_lr)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise SpecError(f"--{name.replace('_lr', '')} must be a finite LR > 0, got {value!r}")
    if max_lr <= min_lr:
        what = "empty" if max_lr == min_lr else "inverted"
        raise SpecError(f"{what} LR range: --min {min_lr!r} must be < --max {max_lr!r}")
    if type(points) is not int or points < 2:
        raise SpecError(f"--points must be an integer >= 2, got {points!r}")
    grid = [float(f"{x:.3g}") for x in np.geomspace(min_lr, max_lr, points)]
    grid[0], grid[-1] = float(min_lr), float(max_lr)
    return grid


@dataclass
class FindLRResult:
    """Per LR: mean AUC with its CI and the divergences; the suggestion and its range."""

    out: Path
    rows: list[dict[str, Any]]
    lr: float
    low: float
    high: float
    total_env_steps: int
    notes: list[str] = field(default_factory=list)

    @property
    def constant_spec(self) -> str:
        return repr(Constant(self.lr))

    @property
    def cyclic_spec(self) -> str:
        return repr(Cyclic(self.low, self.high, CYCLES))


def suggest(lrs: Sequence[float], mean: Sequence[float], ci_low: Sequence[float],
            ci_high: Sequence[float], diverged: Sequence[int]) -> tuple[int, int, int]:
    """Indices ``(best, low, high)`` into the grid by the module's rules.

    >>> suggest([1, 2, 3, 4], [1.0, 5.0, 4.0, 0.0], [0.5, 4.0, 3.5, 0], [1.5, 6, 4.5, 0],
    ...         [0, 0, 0, 1])
    (1, 1, 2)
    """
    ok = [i for i in range(len(lrs)) if not diverged[i] and math.isfinite(mean[i])]
    pool = ok or [i for i in range(len(lrs)) if math.isfinite(mean[i])]
    if not pool:
        raise SpecError("find-lr: no run finished; nothing to suggest")
    best = max(pool, key=lambda i: (mean[i], -i))
    good = [bool(i in pool and ci_high[i] >= ci_low[best]) for i in range(len(lrs))]
    low = high = best
    while low > 0 and good[low - 1]:
        low -= 1
    while high < len(lrs) - 1 and good[high + 1]:
        high += 1
    if low == high:
        low, high = max(best - 1, 0), min(best + 1, len(lrs) - 1)
    return best, low, high


def grid_warnings(lrs: Sequence[float], mean: Sequence[float], ci_low: Sequence[float],
                  ci_high: Sequence[float], best: int) -> list[str]:
    """What to distrust in a suggestion: it sits at an edge of the grid, or its CI overlaps
    the CIs of most (over half) of the other grid LRs with a finite mean.

    >>> grid_warnings([1e-5, 1e-4, 1e-3], [131, 120, 130], [43, 100, 114], [219, 140, 145], 0)
    ... # doctest: +NORMALIZE_WHITESPACE
    ['warning: the suggested LR 1e-05 is the lowest of the grid; a lower one may be better:
    widen the grid (--min 1e-06)', 'warning: the CI of the suggested LR [43, 219] overlaps the
    CIs of 2 of the 2 other grid LRs: the test cannot tell them apart; run more seeds (--seeds)
    or longer runs (--steps)']
    """
    found: list[str] = []
    if len(lrs) > 1 and best in (0, len(lrs) - 1):
        lowest = best == 0
        wider = lrs[best] / 10 if lowest else lrs[best] * 10
        found.append(f"warning: the suggested LR {lrs[best]:.3g} is the "
                     f"{'lowest' if lowest else 'highest'} of the grid; a "
                     f"{'lower' if lowest else 'higher'} one may be better: widen the grid "
                     f"(--{'min' if lowest else 'max'} {wider:.3g})")
    others = [i for i in range(len(lrs)) if i != best and math.isfinite(mean[i])]
    overlapping = [i for i in others
                   if ci_high[i] >= ci_low[best] and ci_low[i] <= ci_high[best]]
    if others and 2 * len(overlapping) > len(others):
        found.append(f"warning: the CI of the suggested LR [{ci_low[best]:.3g}, "
                     f"{ci_high[best]:.3g}] overlaps the CIs of {len(overlapping)} of the "
                     f"{len(others)} other grid LRs: the test cannot tell them apart; run more "
                     "seeds (--seeds) or longer runs (--steps)")
    return found


def _auc(progress: Path, budget: int, diverged: bool) -> tuple[float, int]:
    """AUC of a run (extended at its lowest evaluation to the budget if it diverged), and
    the env steps it took."""
    rows = [{TIMESTEPS: int(r[TIMESTEPS]), EVAL_RETURN_MEAN: float(r[EVAL_RETURN_MEAN])}
            for r in read_csv(progress) if r[EVAL_RETURN_MEAN] not in ("", "nan")]
    steps = int(rows[-1][TIMESTEPS]) if rows else 0
    if diverged and rows and steps < budget:
        rows.append({TIMESTEPS: budget, EVAL_RETURN_MEAN: min(r[EVAL_RETURN_MEAN] for r in rows)})
    auc = summarize(rows, None, 0.0, budget, None)[EVAL_AUC] if rows else math.nan
    return float(auc), steps


def _experiment(env: str, algo: str, grid: list[float], seeds: range, steps: int,
                eval_every: int | None, eval_episodes: int, n_envs: int | None, preset: str,
                perturb: Any, overrides: Mapping[str, Any]) -> Experiment:
    budget: dict[str, Any] = {"steps": steps, "eval_episodes": eval_episodes, "preset": preset}
    budget |= {k: v for k, v in (("eval_every", eval_every), ("n_envs", n_envs)) if v}
    return Experiment(
        name="find-lr", description=f"LR range test: {algo} on {env}", budget=budget,
        grid={"env": [env], "algo": [algo], "lr": {repr(Constant(lr)): repr(Constant(lr))
                                                   for lr in grid},
              "perturb": {"none" if perturb is None else "perturbed": perturb},
              "seed": list(seeds),
              "set": {k: [v] for k, v in overrides.items()}},
        source="find-lr",
    )


def find_lr(
    env: str,
    algo: str,
    *,
    steps: int,
    out: Path,
    min_lr: float = 1e-6,
    max_lr: float = 1e-1,
    points: int = 8,
    seeds: int = 3,
    first_seed: int = 0,
    eval_every: int | None = None,
    eval_episodes: int = 10,
    n_envs: int | None = None,
    preset: str = "default",
    perturb: Any = None,
    overrides: Mapping[str, Any] | None = None,
    backend: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    confidence: float = 0.95,
    quiet: bool = True,
    stream: TextIO | None = None,
) -> FindLRResult:
    """Run the range test into ``out`` and suggest an LR and a range (module docstring).

    Raises:
        SpecError: empty / inverted range, bad counts or settings -- nothing written.
    """
    grid = lr_grid(min_lr, max_lr, points)
    if type(seeds) is not int or seeds < 1:
        raise SpecError(f"--seeds must be a positive integer, got {seeds!r}")
    if type(first_seed) is not int or first_seed < 0:
        raise SpecError(f"--first-seed must be an integer >= 0, got {first_seed!r}")
    if not 0 < confidence < 1:
        raise SpecError(f"confidence must be in (0, 1), got {confidence!r}")
    if out.exists() and not out.is_dir():
        raise SpecError(f"--out {out} is a file, not a directory")
    experiment = _experiment(env, algo, grid, range(first_seed, first_seed + seeds), steps,
                             eval_every, eval_episodes, n_envs, preset, perturb,
                             dict(overrides or {}))
    plan = plan_runs(experiment)  # validates everything before anything is written
    serial = workers == 1 and backend == "local"  # one run at a time: no process pool
    # The serial path writes no report/ (figures and HTML, a few seconds), as before.
    result = run_experiment(experiment, out, backend="serial" if serial else backend,
                            workers=workers, ray_address=ray_address, quiet=quiet,
                            stream=stream, report=not serial)
    if result.interrupted:
        raise KeyboardInterrupt
    return _analyse(out, grid, plan, steps, confidence, result.failed)


def _analyse(out: Path, grid: list[float], plan: Sequence[PlannedRun], steps: int,
             confidence: float, failed: Mapping[str, str]) -> FindLRResult:
    notes = [f"{len(failed)} run(s) failed: see failures.csv"] if failed else []
    rows: list[dict[str, Any]] = []
    total = 0
    for lr in grid:
        spec = repr(Constant(lr))
        aucs, finals, n_diverged = [], [], 0
        for run in (r for r in plan if r.labels[LR] == spec):
            summary_file = run_dir(out, run.run_id) / SUMMARY_JSON
            if not summary_file.exists():
                continue
            summary = json.loads(summary_file.read_text())
            n_diverged += bool(summary.get(DIVERGED))
            auc, taken = _auc(summary_file.with_name(PROGRESS_CSV), steps,
                              bool(summary.get(DIVERGED)))
            total += taken
            if math.isfinite(auc):
                aucs.append(auc)
                finals.append(summary.get(FINAL_EVAL_RETURN))
        row: dict[str, Any] = {"lr": lr, "spec": spec, "runs": len(aucs), "diverged": n_diverged,
                               "auc_mean": math.nan, "auc_low": math.nan, "auc_high": math.nan}
        if aucs:
            ci = stratified_bootstrap_ci(np.asarray(aucs)[:, None], "mean", confidence=confidence,
                                         rng=zlib.crc32(spec.encode()))
            row |= {"auc_mean": ci.point, "auc_low": ci.low, "auc_high": ci.high}
            finite = [float(f) for f in finals if f is not None]
            row["final_mean"] = float(np.mean(finite)) if finite else None
        row["auc_seeds"] = " ".join(repr(a) for a in aucs)
        rows.append(row)
    if any(r["runs"] == 1 for r in rows):
        notes.append("one seed per LR: the CIs are points; use --seeds >= 3")
    columns = ([r["auc_mean"] for r in rows], [r["auc_low"] for r in rows],
               [r["auc_high"] for r in rows])
    best, low, high = suggest(grid, *columns, [r["diverged"] for r in rows])
    notes += grid_warnings(grid, *columns, best)
    for i, row in enumerate(rows):
        row["suggested"] = int(i == best)
        row["in_range"] = int(low <= i <= high)
    write_csv(out / FIND_LR_CSV, rows,
              ["lr", "spec", "runs", "diverged", "auc_mean", "auc_low", "auc_high", "final_mean",
               "suggested", "in_range", "auc_seeds"])
    found = FindLRResult(out, rows, grid[best], grid[low], grid[high], total, notes)
    save_figure(plot_find_lr(rows, found.lr, (found.low, found.high)), out / FIND_LR_PNG)
    write_json(out / SUGGESTION_JSON, {
        "lr": found.lr, "low": found.low, "high": found.high, "constant": found.constant_spec,
        "cyclic": found.cyclic_spec, "searched": [grid[0], grid[-1]], "points": len(grid),
        "confidence": confidence, "total_env_steps": total, "notes": notes,
        "rule": "lr: best mean AUC among LRs without divergence; range: contiguous LRs "
                "without divergence whose CI upper bound >= the best's CI lower bound "
                "(its grid neighbours if none)",
    })
    return found


def plot_find_lr(rows: Sequence[Mapping[str, Any]], lr: float | None = None,
                 span: tuple[float, float] | None = None, ax: Any = None) -> Any:
    """AUC vs LR (log x) with the CI band, each seed's AUC, diverged runs, the suggestion."""
    ax = ax if ax is not None else new_axes()
    lrs = np.array([r["lr"] for r in rows], dtype=float)
    mean = np.array([r["auc_mean"] for r in rows], dtype=float)
    ax.fill_between(lrs, [r["auc_low"] for r in rows], [r["auc_high"] for r in rows],
                    alpha=0.25, color="C0", linewidth=0, label="CI of the mean")
    ax.plot(lrs, mean, "o-", color="C0", label="mean AUC")
    for r in rows:
        seeds = [float(a) for a in str(r.get("auc_seeds") or "").split()]
        ax.plot([r["lr"]] * len(seeds), seeds, ".", color="0.45", markersize=4)
    bad = [(r["lr"], r["auc_mean"]) for r in rows if r["diverged"] and math.isfinite(r["auc_mean"])]
    if bad:
        ax.plot(*zip(*bad, strict=True), "x", color="#B00020", markersize=9, label="diverged runs")
    if span is not None:
        ax.axvspan(span[0], span[1], color="C2", alpha=0.12, label="suggested range")
    if lr is not None:
        ax.axvline(lr, color="C3", linestyle="--", linewidth=1.2, label=f"suggested {lr:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (constant)")
    ax.set_ylabel("area under the eval curve")
    ax.grid(True, alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    return ax
