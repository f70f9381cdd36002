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
- ``failures.csv``: runs that failed (not diverged: those are results) and why;
- ``selection.csv``: with a protocol, each family's configuration chosen per condition.

An experiment with a protocol (:mod:`rl_lr.experiment.protocol`) runs in two phases: its
tuning runs; then, once every one has finished, the selection (``selection.csv``) and the test
runs of the chosen configurations. ``experiment.yaml`` lists the tuning runs until the
selection is made, then both phases. Rerunning skips the finished runs of both phases and
derives the same selection from the same tuning runs.

Runs start seed by seed (every combination at the first seed, then at the next, ...), so an
unfinished experiment has whole panels of seeds to compare. The experiment-level files are
refreshed while runs finish, at most every ``COLLECT_EVERY_S`` seconds and at most
``COLLECT_SHARE`` of the driver's time (a large experiment's collection takes seconds), and
always at the end.
Running the same command again skips finished runs and redoes the others; Ctrl-C, or SIGTERM
(``kill``, a batch scheduler's time limit), stops cleanly and keeps what finished.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from rl_lr.errors import SpecError
from rl_lr.experiment import Experiment, PlannedRun, load_experiment, plan_runs, plan_test_runs
from rl_lr.experiment.protocol import TuningScore, select, write_selection
from rl_lr.files import check_output_kind, read_csv, read_yaml, write_yaml
from rl_lr.harness.backends import Backend, check_ray_address, clean_partial, make_backend
from rl_lr.report import write_report
from rl_lr.results import collect
from rl_lr.results.scores import final_score, number
from rl_lr.schema import (
    EVAL_RETURN_MEAN,
    EXPERIMENT_YAML,
    FINAL_EVAL_RETURN,
    PROGRESS_CSV,
    RUN_IDS,
    RUNS_DIR,
    SELECTION_CSV,
    SOURCE,
    SUMMARY_JSON,
    TIMESTEPS,
    run_dir,
)

__all__ = ["ExperimentResult", "check_experiment_dir", "planned_runs", "run_experiment"]

COLLECT_EVERY_S = 60.0  # collecting a 600-run experiment costs about a second of a core
COLLECT_SHARE = 0.02  # 1,440 planned runs of experiments/fair.yaml: ~5 s, so every ~4 min


@dataclass
class ExperimentResult:
    """What running an experiment did: runs planned, finished before, finished now, failed
    (with reasons)."""

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
    ``backend``: ``local``, ``serial`` or ``ray`` (:func:`rl_lr.harness.backends.make_backend`);
    ``report=False`` skips ``report/`` (figures and HTML, a few seconds).

    The experiment is validated completely before anything is written or started.
    """
    if not isinstance(experiment, Experiment):
        experiment = load_experiment(experiment)
    plan = plan_runs(experiment)  # with a protocol: its tuning runs
    check_experiment_dir(out, experiment.name)
    if backend == "ray":
        check_ray_address(ray_address)
    elif ray_address:
        raise SpecError(f"--ray-address {ray_address} needs --backend ray (got --backend "
                        f"{backend}: the runs would ignore the cluster)")
    runs_dir = out / RUNS_DIR
    runs_dir.mkdir(parents=True, exist_ok=True)
    clean_partial(runs_dir)
    result = ExperimentResult(out, planned=len(plan) + _test_runs_to_come(experiment, plan))
    session = _Session(experiment, out, result, stream or sys.stderr, quiet,
                       lambda: make_backend(backend, workers, ray_address))
    try:
        plan += _test_phase(experiment, out, plan)  # tuned already: plan both phases at once
        session.run(plan)
        if len(plan) < result.planned and not result.interrupted:
            tests = _test_phase(experiment, out, plan)  # [] while a tuning run is unfinished
            if tests:
                plan += tests
                session.run(plan)
    finally:
        session.close()
    collect(out, plan, result.failed)
    if report:
        write_report(out)
    return result


def check_experiment_dir(out: Path, name: str) -> None:
    """Refuse ``out`` as the directory of experiment ``name`` unless it is new, empty or that
    experiment's own (finished runs are kept and skipped): a run directory, a study, a file
    collection or another experiment's directory would get its files mixed or overwritten.

    Raises:
        SpecError: naming what ``out`` holds.
    """
    if not out.is_dir():
        return
    check_output_kind(out, EXPERIMENT_YAML)
    if (out / EXPERIMENT_YAML).is_file():
        held = read_yaml(out / EXPERIMENT_YAML, "experiment record")
        held_name = held.get("name") if isinstance(held, dict) else None
        if held_name != name:
            raise SpecError(f"--out {out} holds experiment {held_name!r}, not {name!r}; choose "
                            f"another --out (an experiment continues in its own directory)")
        return
    others = sorted(p.name for p in out.iterdir() if p.name != RUNS_DIR)
    if others:
        raise SpecError(f"--out {out} is not empty and holds no rl-lr experiment ("
                        f"{', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); "
                        "choose a new or empty directory")


class _Session:
    """Runs the pending runs of a plan on one backend (started when first needed)."""

    def __init__(self, experiment: Experiment, out: Path, result: ExperimentResult,
                 stream: TextIO, quiet: bool, start: Callable[[], Backend]) -> None:
        self.experiment, self.out, self.result = experiment, out, result
        self.stream, self.quiet, self.start = stream, quiet, start
        self.pool: Backend | None = None
        self.seen: set[str] = set()  # run ids of the plans run so far
        self.imports = [str(Path(i).resolve()) if i.endswith(".py") else i
                        for i in experiment.imports]

    def run(self, plan: list[PlannedRun]) -> None:
        """Record ``plan`` in ``experiment.yaml`` and run its unfinished runs, seed by seed."""
        out, result = self.out, self.result
        runs_dir = out / RUNS_DIR
        write_yaml(out / EXPERIMENT_YAML, {**self.experiment.to_dict(),
                                           SOURCE: self.experiment.source,
                                           RUN_IDS: [run.run_id for run in plan]},
                   "rl-lr bench: the resolved experiment and the ids of its runs.")
        new = [run for run in plan if run.run_id not in self.seen]
        self.seen.update(run.run_id for run in new)
        pending = [run for run in new if not (runs_dir / run.run_id / SUMMARY_JSON).exists()]
        pending.sort(key=lambda run: run.config.seed)  # stable: plan order within a seed
        result.already_done += len(new) - len(pending)
        keys = dict.fromkeys(k for run in plan for k in run.labels)  # grids may differ in axes
        varying = [k for k in keys if len({run.labels.get(k) for run in plan}) > 1]
        labels = {run.run_id: " ".join(f"{k}={run.labels[k]}" for k in varying
                                       if k in run.labels) for run in plan}
        if not pending:
            return
        if self.pool is None:
            self.pool = self.start()
        pool = self.pool
        progress = _Progress(len(pending), self.stream, self.quiet)
        last_collect, every = time.monotonic(), COLLECT_EVERY_S
        payloads = [_payload(run, runs_dir, self.imports) for run in pending]
        with _terminate_as_interrupt():
            try:
                for outcome in pool.map(payloads):
                    run_id = outcome["run_id"]
                    self._record(outcome)
                    progress.update(outcome, labels[run_id], [labels[a] for a in pool.active()])
                    if time.monotonic() - last_collect >= every:
                        started = time.monotonic()
                        collect(out, plan, result.failed)
                        last_collect = time.monotonic()
                        every = max(COLLECT_EVERY_S, (last_collect - started) / COLLECT_SHARE)
            except KeyboardInterrupt:
                result.interrupted = True

    def _record(self, outcome: Mapping[str, Any]) -> None:
        """Count one run's outcome in the result: failed, diverged (a result) or finished."""
        result, run_id = self.result, outcome["run_id"]
        if outcome["status"] == "failed":
            result.failed[run_id] = outcome["error"]
            return
        result.finished += 1
        if outcome["status"] == "diverged":
            summary = outcome.get("summary") or {}
            result.diverged[run_id] = (f"at step {summary.get('diverged_at')}: "
                                       f"{summary.get('divergence_reason')}")

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Within it, SIGTERM (``kill``, a batch scheduler's time limit) stops the runs as Ctrl-C
    does: the workers are stopped, the finished runs collected, and the same command finishes
    the rest. Signal handlers belong to the main thread: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def planned_runs(experiment: Experiment, out: Path) -> list[PlannedRun]:
    """Every run of ``experiment`` planned so far in ``out``: its grid's runs, or a protocol's
    tuning runs followed, once they have all finished, by its test runs (as ``run_experiment``
    plans them; choosing them writes ``selection.csv``)."""
    plan = plan_runs(experiment)
    return plan + _test_phase(experiment, out, plan)


def _test_runs_to_come(experiment: Experiment, tuning: list[PlannedRun]) -> int:
    """How many test runs a protocol adds to its tuning runs (0 without a protocol)."""
    protocol = experiment.protocol
    if protocol is None:
        return 0
    return protocol.test_runs_for(len(tuning))


def _test_phase(experiment: Experiment, out: Path, tuning: list[PlannedRun]
                ) -> list[PlannedRun]:
    """Once every tuning run of a protocol has finished: choose each family's configuration
    per condition, write ``selection.csv``, and return the test runs (else none)."""
    protocol = experiment.protocol
    if protocol is None or not all(
            (run_dir(out, run.run_id) / SUMMARY_JSON).exists() for run in tuning):
        return []
    selected = select([TuningScore(run.labels, str(run.config.to_dict()["lr"]),
                                   run.config.steps,
                                   _tuning_score(run_dir(out, run.run_id), protocol.select))
                       for run in tuning])
    write_selection(out / SELECTION_CSV, selected, protocol)
    return plan_test_runs(experiment, selected)


def _tuning_score(directory: Path, metric: str) -> float:
    """A finished run's tuning score: its ``summary.json`` value of ``metric``; the final
    eval return by the rule every table uses (:func:`rl_lr.results.scores.final_score`)."""
    summary = json.loads((directory / SUMMARY_JSON).read_text())
    if metric != FINAL_EVAL_RETURN:
        return number(summary.get(metric))
    rows = read_csv(directory / PROGRESS_CSV)
    trace = (np.array([number(r.get(TIMESTEPS)) for r in rows]),
             np.array([number(r.get(EVAL_RETURN_MEAN)) for r in rows]))
    return final_score(summary, trace)
