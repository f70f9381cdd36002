"""Collecting an experiment's finished runs into its experiment-level files: ``summary.csv``,
``timing.csv``, ``curves.csv``, ``failures.csv`` and ``metrics.csv`` (:mod:`.group_metrics`);
their columns are those of :mod:`rl_lr.schema`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rl_lr import schema
from rl_lr.experiment import PlannedRun
from rl_lr.files import read_csv, write_csv
from rl_lr.results.group_metrics import write_metrics

__all__ = ["collect"]


def _spec_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def collect(out: Path, plan: Sequence[PlannedRun], failed: Mapping[str, str] | None = None
            ) -> dict[str, int]:
    """(Re)write the experiment-level files from the finished runs, in plan order."""
    summary_rows: list[dict[str, Any]] = []
    timing_rows: list[dict[str, Any]] = []
    curve_rows: list[dict[str, Any]] = []
    label_keys: list[str] = []
    for run in plan:
        label_keys += [k for k in run.labels if k not in label_keys]
    for run in plan:
        run_dir = schema.run_dir(out, run.run_id)
        summary_file = run_dir / schema.SUMMARY_JSON
        if not summary_file.exists():
            continue
        summary = json.loads(summary_file.read_text())
        row: dict[str, Any] = {schema.RUN_ID: run.run_id}
        row.update({k: run.labels.get(k, "") for k in label_keys})
        config = run.config.to_dict()  # the specs as the experiment file writes them
        row.update({schema.LR_SPEC: _spec_text(config["lr"]),
                    schema.PERTURB_SPEC: _spec_text(config["perturb"]),
                    schema.OPTIMIZER_SPEC: _spec_text(config["optimizer"]),
                    schema.STEPS: config["steps"]})
        row.update({k: v for k, v in summary.items() if k not in schema.WALL_CLOCK_KEYS})
        summary_rows.append(row)
        timing_rows.append({schema.RUN_ID: run.run_id,
                            **{k: summary[k] for k in schema.WALL_CLOCK_KEYS if k in summary}})
        for progress_row in read_csv(run_dir / schema.PROGRESS_CSV):
            steps = progress_row.pop(schema.TIMESTEPS)
            for metric, value in progress_row.items():
                if value != "":
                    curve_rows.append({schema.RUN_ID: run.run_id, schema.TIMESTEPS: steps,
                                       schema.METRIC: metric, schema.VALUE: value})
    summary_columns = list(dict.fromkeys(k for row in summary_rows for k in row))
    write_csv(out / schema.SUMMARY_CSV, summary_rows, summary_columns)
    timing_columns = list(dict.fromkeys(k for row in timing_rows for k in row)) or [schema.RUN_ID]
    write_csv(out / schema.TIMING_CSV, timing_rows, timing_columns)
    write_csv(out / schema.CURVES_CSV, curve_rows, schema.CURVES_COLUMNS)
    failures = [{schema.RUN_ID: k, schema.ERROR: v} for k, v in sorted((failed or {}).items())]
    write_csv(out / schema.FAILURES_CSV, failures, schema.FAILURES_COLUMNS)
    write_metrics(out, plan, summary_rows, curve_rows)
    return {"finished": len(summary_rows), "planned": len(plan)}
