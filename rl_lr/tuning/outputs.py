"""The outputs of an ``rl-lr tune`` study, read back from its storage: one row per trial
(:func:`trials_table`), the history and importance plots (:func:`plot_history`,
:func:`plot_importance`) and :func:`write_outputs`, which (re)writes ``trials.csv``,
``best.txt``, ``history.png``, ``importance.png`` / ``importance.csv`` and ``study.yaml`` in the
output directory and returns the :class:`TuneResult` of :func:`rl_lr.tuning.study.run_study`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from rl_lr.files import atomic_write_text, write_csv, write_yaml
from rl_lr.plots import new_axes, save_figure
from rl_lr.schema import (
    BEST_TXT,
    HISTORY_PNG,
    IMPORTANCE_CSV,
    IMPORTANCE_PNG,
    STUDY_DB,
    STUDY_YAML,
    TRIALS_CSV,
)

__all__ = ["TuneResult"]


@dataclass
class TuneResult:
    """What a study holds after :func:`.study.run_study`: the best policy's spec and value
    (``None`` before any trial completed), the trials table, counts, the env steps spent by all
    trials, where the files are, and notes (what was skipped, and why)."""

    out: Path
    study_name: str
    storage: str
    best_spec: str | None
    best_value: float | None
    trials: list[dict[str, Any]]
    total_env_steps: int
    interrupted: bool = False
    notes: list[str] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(row["state"] == state for row in self.trials)


def default_storage(out: Path) -> str:
    """The SQLite URL of a study's default storage, ``study.db`` in its output directory."""
    return f"sqlite:///{out.resolve() / STUDY_DB}"


def storage_record(url: str, out: Path) -> str:
    """How ``study.yaml`` names the storage: the default one by its file name (the directory
    can move: ``rl-lr tune --out`` there opens it again), any other URL without its password.

    >>> storage_record(default_storage(Path("runs")), Path("runs"))
    'study.db'
    >>> storage_record("postgresql://me:secret@db/rl", Path("runs"))
    'postgresql://me:***@db/rl'
    """
    return STUDY_DB if url == default_storage(out) else hide_password(url)


def hide_password(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url  # optional: Optuna's RDB storage brings it

        return str(make_url(url).render_as_string(hide_password=True))
    except Exception:
        return url


def trials_table(study: Any) -> list[dict[str, Any]]:
    """One row per trial: number, state, value, spec, env steps, duration, error, params."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {
            "number": t.number, "state": t.state.name, "value": t.value,
            "spec": t.user_attrs.get("spec"), "env_steps": t.user_attrs.get("env_steps"),
            "last_step": t.last_step,
            "duration_s": round(t.duration.total_seconds(), 3) if t.duration else None,
            "error": t.user_attrs.get("error"),
        }
        row |= {f"params_{k}": v for k, v in sorted(t.params.items())}
        rows.append(row)
    return rows


def plot_history(rows: Sequence[Mapping[str, Any]], ax: Any = None, *,
                 ylabel: str = "objective") -> Any:
    """Trial values (complete: dots; pruned: their last report is unknown here, so they are
    marked on the x-axis) and the best value so far."""
    ax = ax if ax is not None else new_axes()
    done = [(r["number"], r["value"]) for r in rows if r["state"] == "COMPLETE"]
    if done:
        x, y = zip(*done, strict=True)
        ax.scatter(x, y, s=18, label="trial", zorder=3)
        best = np.maximum.accumulate(np.asarray(y, dtype=float))
        ax.step(x, best, where="post", color="C3", label="best so far")
    pruned = [r["number"] for r in rows if r["state"] == "PRUNED"]
    if pruned:
        ax.plot(pruned, [0] * len(pruned), "x", color="0.5", transform=ax.get_xaxis_transform(),
                label="pruned", clip_on=False)

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if done or pruned:
        ax.legend(frameon=False)
    return ax


def plot_importance(importances: Mapping[str, float], ax: Any = None) -> Any:
    """Horizontal bars, most important parameter on top."""
    ax = ax if ax is not None else new_axes()
    items = sorted(importances.items(), key=lambda kv: kv[1])
    ax.barh([k for k, _ in items], [v for _, v in items], color="C0")
    ax.set_xlabel("importance (PED-ANOVA)")
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def _importances(study: Any) -> dict[str, float]:
    from optuna.importance import (  # optional dependency: Optuna (pip install 'rl-lr[tune]')
        PedAnovaImportanceEvaluator,
        get_param_importances,
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dict(get_param_importances(study, evaluator=PedAnovaImportanceEvaluator()))


def write_outputs(study: Any, out: Path, identity: Mapping[str, Any], url: str,
                  interrupted: bool = False) -> TuneResult:
    """(Re)write ``trials.csv``, ``best.txt``, the plots and ``study.yaml`` from the storage."""
    rows = trials_table(study)
    columns = list(dict.fromkeys(k for row in rows for k in row)) or ["number", "state", "value"]
    write_csv(out / TRIALS_CSV, rows, columns)
    complete = [r for r in rows if r["state"] == "COMPLETE"]
    best = max(complete, key=lambda r: r["value"]) if complete else None
    notes: list[str] = []
    if best is not None:
        atomic_write_text(out / BEST_TXT, f"{best['spec']}\n")
    else:
        notes.append("no complete trial yet: no best.txt")
    objective = identity["settings"]["objective"]
    save_figure(plot_history(rows, ylabel=f"{objective} (mean over seeds)"), out / HISTORY_PNG)
    importances: dict[str, float] = {}
    if len(complete) >= 2:
        try:
            importances = _importances(study)
        except (ValueError, RuntimeError) as err:
            notes.append(f"no parameter importance: {err}")
    else:
        notes.append("parameter importance needs at least 2 complete trials: no importance.png")
    if importances:
        save_figure(plot_importance(importances), out / IMPORTANCE_PNG)
        write_csv(out / IMPORTANCE_CSV,
                  [{"param": k, "importance": v} for k, v in importances.items()],
                  ["param", "importance"])
    total = sum(int(r["env_steps"] or 0) for r in rows)
    counts = {state: sum(r["state"] == state for r in rows)
              for state in ("COMPLETE", "PRUNED", "FAIL", "RUNNING")}
    write_yaml(out / STUDY_YAML, {
        "study_name": study.study_name, "storage": storage_record(url, out), **identity,
        "trials": counts, "best": {"spec": best["spec"], "value": best["value"],
                                   "number": best["number"]} if best else None,
        "total_env_steps": total, "notes": notes,
    }, "rl-lr tune: the study's settings, search space and outcome (trials.csv has each trial).")
    return TuneResult(out, study.study_name, hide_password(url),
                      best["spec"] if best else None, best["value"] if best else None,
                      rows, total, interrupted, notes)
