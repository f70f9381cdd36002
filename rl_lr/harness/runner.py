"""``rl-lr bench``: run every run of an experiment, resume after a crash, collect the results.

Layout of ``DIR`` (every file written atomically):

- ``experiment.yaml``: the resolved experiment, with its run ids;
- ``runs/<run_id>/``: one complete run each (``rl-lr train``'s files); a run directory exists
  only once its run finished (see :func:`rl_lr.harness.backends.execute_run`);
- ``summary.csv``: one row per finished run: its axis labels, specs, seed, final metrics,
  ``diverged`` — deterministic (no wall-clock columns);
- ``timing.csv``: the wall-clock figures per run;
- ``curves.csv``: long format ``run_id, timesteps, metric, value`` from every ``progress.csv``;
- ``metrics.csv``: per group of runs (all axes but the seed): aggregates with confidence
  intervals and stability metrics (:mod:`rl_lr.results.group_metrics`);
- ``failures.csv``: runs that failed (not diverged: those are results) and why.

Runs start seed by seed (every combination at the first seed, then at the next, ...), so an
unfinished sweep has whole panels of seeds to compare. The sweep-level files are refreshed at
most every ``COLLECT_EVERY_S`` seconds while runs finish, and always at the end. Running the
same command again skips finished runs and redoes the others; Ctrl-C stops cleanly and keeps
what finished.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rl_lr.experiment import Experiment, PlannedRun, load_experiment, plan_runs
from rl_lr.files import write_yaml
from rl_lr.harness.backends import clean_partial, make_backend
from rl_lr.report import write_report
from rl_lr.results import collect

__all__ = ["ExperimentResult", "run_experiment"]

COLLECT_EVERY_S = 60.0  # collecting a 600-run sweep costs about a second of a core


@dataclass
class ExperimentResult:
    """What a sweep did: runs planned, finished before, finished now, failed (with reasons)."""

    out: Path
    planned: int
    already_done: int = 0
    finished: int = 0
    diverged: dict[str, str] = field(default_factory=dict)  # run id -> step and reason
    failed: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False


def _payload(run: PlannedRun, runs_dir: Path, imports: list[str]) -> dict[str, Any]:
    return {"run_id": run.run_id, "config": run.config.to_dict(),
            "out": str(runs_dir / run.run_id), "imports": imports}


class _Progress:
    """On a terminal: one overall line (done / total, failures, ETA) and a line per active
    run, redrawn in place; otherwise one line per finished run."""

    def __init__(self, total: int, stream: TextIO, quiet: bool) -> None:
        self.total, self.stream, self.quiet = total, stream, quiet
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.done = self.failed = 0
        self.start = time.monotonic()
        self._drawn = 0

    def update(self, result: Mapping[str, Any], label: str, active: list[str]) -> None:
        self.done += 1
        self.failed += result["status"] == "failed"
        if self.quiet:
            return
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        filled = int(20 * self.done / max(self.total, 1))
        line = (f"[{'#' * filled}{'.' * (20 - filled)}] {self.done}/{self.total} runs  "
                f"failures {self.failed}  ETA {eta:,.0f}s")
        if not self.tty:
            self.stream.write(f"{line}  finished: {label} ({result['status']})\n")
        else:
            lines = [line, *(f"  running: {a}" for a in active)]
            clear = "\x1b[F\x1b[K" * self._drawn
            self.stream.write(clear + "\n".join(x[:150] for x in lines) + "\n")
            self._drawn = len(lines)
        self.stream.flush()


def run_experiment(experiment: Experiment | Path | str, out: Path, *, backend: str = "local",
              workers: int | None = None, ray_address: str | None = None,
              quiet: bool = False, stream: TextIO | None = None,
              report: bool = True) -> ExperimentResult:
    """Run (or finish) an experiment into ``out``; see the module docstring for the files;
    ``report=False`` skips ``report/`` (figures and HTML, a few seconds).

    The experiment is validated completely before anything is written or started.
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    plan = plan_runs(experiment)
    stream = stream or sys.stderr
    runs_dir = out / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    clean_partial(runs_dir)
    write_yaml(out / "experiment.yaml", {**experiment.to_dict(), "source": experiment.source,
                                         "run_ids": [run.run_id for run in plan]},
               "rl-lr bench: the resolved experiment and the ids of its runs.")
    result = ExperimentResult(out, planned=len(plan))
    pending = [run for run in plan if not (runs_dir / run.run_id / "summary.json").exists()]
    pending.sort(key=lambda run: run.config.seed)  # stable: plan order within a seed
    result.already_done = len(plan) - len(pending)
    varying = [k for k in plan[0].labels if len({run.labels.get(k) for run in plan}) > 1]
    labels = {run.run_id: " ".join(f"{k}={run.labels[k]}" for k in varying) for run in plan}
    if pending:
        pool = make_backend(backend, workers, ray_address)
        progress = _Progress(len(pending), stream, quiet)
        last_collect = time.monotonic()
        try:
            imports = [str(Path(i).resolve()) if i.endswith(".py") else i
                       for i in experiment.imports]
            for outcome in pool.map([_payload(run, runs_dir, imports) for run in pending]):
                run_id = outcome["run_id"]
                if outcome["status"] == "failed":
                    result.failed[run_id] = outcome["error"]
                else:
                    result.finished += 1
                    if outcome["status"] == "diverged":
                        summary = outcome.get("summary") or {}
                        result.diverged[run_id] = (f"at step {summary.get('diverged_at')}: "
                                                   f"{summary.get('divergence_reason')}")
                progress.update(outcome, labels[run_id], [labels[a] for a in pool.active()])
                if time.monotonic() - last_collect >= COLLECT_EVERY_S:
                    collect(out, plan, result.failed)
                    last_collect = time.monotonic()
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            pool.close()
    collect(out, plan, result.failed)
    if report:
        write_report(out)
    return result
