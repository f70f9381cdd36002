"""Collecting an experiment's finished runs into its experiment-level files: ``summary.csv``,
``timing.csv``, ``curves.csv``, ``failures.csv`` and ``metrics.csv`` (:mod:`.group_metrics`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rl_lr.experiment import PlannedRun
from rl_lr.files import write_csv
from rl_lr.results.group_metrics import write_metrics

__all__ = ["collect"]

WALL_CLOCK_KEYS = ("wall_time", "wall_time_s", "steps_per_second")


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _spec_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def collect(out: Path, plan: Sequence[PlannedRun], failed: Mapping[str, str] | None = None
            ) -> dict[str, int]:
    """(Re)write the sweep-level files from the finished runs, in plan order."""
    runs_dir = out / "runs"
    summary_rows: list[dict[str, Any]] = []
    timing_rows: list[dict[str, Any]] = []
    curve_rows: list[dict[str, Any]] = []
    label_keys: list[str] = []
    for run in plan:
        label_keys += [k for k in run.labels if k not in label_keys]
    for run in plan:
        summary_file = runs_dir / run.run_id / "summary.json"
        if not summary_file.exists():
            continue
        summary = json.loads(summary_file.read_text())
        row: dict[str, Any] = {"run_id": run.run_id}
        row.update({k: run.labels.get(k, "") for k in label_keys})
        config = run.config
        row.update({"lr_spec": _spec_text(config.lr), "perturb_spec": _spec_text(config.perturb),
                    "optimizer_spec": _spec_text(config.optimizer), "steps": config.steps})
        row.update({k: v for k, v in summary.items() if k not in WALL_CLOCK_KEYS})
        summary_rows.append(row)
        timing_rows.append({"run_id": run.run_id,
                            **{k: summary[k] for k in WALL_CLOCK_KEYS if k in summary}})
        for progress_row in _read_csv(runs_dir / run.run_id / "progress.csv"):
            steps = progress_row.pop("timesteps")
            for metric, value in progress_row.items():
                if value != "":
                    curve_rows.append({"run_id": run.run_id, "timesteps": steps,
                                       "metric": metric, "value": value})
    summary_columns = list(dict.fromkeys(k for row in summary_rows for k in row))
    write_csv(out / "summary.csv", summary_rows, summary_columns)
    timing_columns = list(dict.fromkeys(k for row in timing_rows for k in row)) or ["run_id"]
    write_csv(out / "timing.csv", timing_rows, timing_columns)
    write_csv(out / "curves.csv", curve_rows, ["run_id", "timesteps", "metric", "value"])
    failures = [{"run_id": k, "error": v} for k, v in sorted((failed or {}).items())]
    write_csv(out / "failures.csv", failures, ["run_id", "error"])
    write_metrics(out, plan, summary_rows, curve_rows)
    return {"finished": len(summary_rows), "planned": len(plan)}
