"""``rl-lr bench``: run an experiment (:mod:`rl_lr.harness`) into its experiment directory."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from rl_lr.cli.args import positive_int
from rl_lr.errors import UsageError
from rl_lr.experiment import Experiment, plan_runs
from rl_lr.experiment.file import SUITES_DIR, load_experiment
from rl_lr.files import read_csv
from rl_lr.schema import ALGO, ENV, PHASE, STEPS, SUMMARY_CSV, SUMMARY_JSON, TEST, run_dir

__all__ = ["add_parser", "run_command"]


def add_parser(commands: Any) -> None:
    """Add ``bench`` to the ``rl-lr`` sub-commands."""
    bench = commands.add_parser(
        "bench",
        help="run an experiment (env x algo x LR policy x perturbation x seed) and "
        "aggregate it",
        description="Run every run of an experiment file (or a named suite from experiments/) "
        "on every core or a Ray cluster, skipping runs already finished in the experiment "
        "directory --out, and write experiment.yaml, summary.csv, curves.csv, metrics.csv and "
        "the report there.",
        epilog="Example: rl-lr bench --suite smoke --out runs/smoke --workers 2",
    )
    source = bench.add_mutually_exclusive_group(required=True)
    source.add_argument("experiment", nargs="?", type=Path, help="experiment YAML file")
    source.add_argument("--suite", help="a named suite, a file of experiments/: smoke, quick, "
                        "standard, controllers_act, fair_smoke")
    bench.add_argument("--workers", type=positive_int, default=None,
                       help="parallel runs (default: all cores, or the Ray cluster's CPUs)")
    bench.add_argument("--backend", choices=["local", "serial", "ray"], default="local",
                       help="local process pool (default), serial (this process, one run "
                       "after the other) or Ray tasks")
    bench.add_argument("--ray-address", default=None,
                       help="an existing Ray cluster (default: start a local one)")
    bench.add_argument("--out", type=Path, default=None,
                       help="output directory (default: runs/<experiment name>)")
    bench.add_argument("--quiet", action="store_true", help="no progress output")
    bench.add_argument("--plan", action="store_true",
                       help="run nothing: print the runs still to do and their estimated "
                       "core-hours, from the measured wall time of earlier runs")
    bench.add_argument("--history", type=Path, action="append", default=None, metavar="DIR",
                       help="with --plan: experiment directories whose timing.csv the estimate "
                       "uses (repeatable; default: --out and every directory under ./results "
                       "and ./runs)")


def _experiment_path(args: argparse.Namespace) -> Path:
    if args.suite is not None:
        path = SUITES_DIR / f"{args.suite}.yaml"
        if not path.is_file() or Path(args.suite).name != args.suite:  # a name, not a path
            known = sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))
            raise UsageError(f"rl-lr bench: unknown suite {args.suite!r} (known: "
                             f"{', '.join(known)})")
        return path
    path = Path(args.experiment)
    if not path.is_file():
        raise UsageError(f"rl-lr bench: no such experiment file {str(path)!r}")
    return path


def _history_dirs(out: Path, given: list[Path] | None) -> list[Path]:
    if given:
        missing = [str(p) for p in given if not p.is_dir()]
        if missing:
            raise UsageError(f"rl-lr bench: --history {', '.join(missing)}: no such directory "
                             "(give experiment directories with a summary.csv)")
        return given
    found = [p.parent for top in (Path("results"), Path("runs")) if top.is_dir()
             for p in sorted(top.glob(f"*/{SUMMARY_CSV}"))]
    return list(dict.fromkeys([out, *found]))


def _finished_test_runs(out: Path) -> dict[tuple[str, str, int], int]:
    """Test runs of a protocol already finished in ``out``, per env, algorithm and budget."""
    done: dict[tuple[str, str, int], int] = {}
    for row in read_csv(out / SUMMARY_CSV, missing_ok=True):
        if row.get(PHASE) == TEST:
            key = (row[ENV], row[ALGO], int(row[STEPS]))
            done[key] = done.get(key, 0) + 1
    return done


def _print_plan(experiment: Experiment, out: Path, args: argparse.Namespace) -> int:
    """``--plan``: validate, estimate, print; nothing is written or started."""
    from rl_lr.harness.cost import (  # the harness loads matplotlib: not for --help
        detectable_improvements,
        format_cost,
        format_power,
        plan_cost,
        protocol_test_cost,
        read_history,
    )
    from rl_lr.harness.runner import check_experiment_dir  # Lazy: as the cost model above

    plan = plan_runs(experiment)
    check_experiment_dir(out, experiment.name)
    pending = [run for run in plan if not (run_dir(out, run.run_id) / SUMMARY_JSON).exists()]
    history = read_history(_history_dirs(out, args.history))
    workers = args.workers or os.cpu_count() or 1
    rows = plan_cost(pending, history)
    planned, finished = len(plan), len(plan) - len(pending)
    if experiment.protocol is not None:  # its test runs are planned after the selection
        done = _finished_test_runs(out)
        test_rows = protocol_test_cost(plan, experiment.protocol, done, history)
        rows += test_rows
        finished += sum(done.values())
        planned += sum(r.runs for r in test_rows) + sum(done.values())
    print(f"rl-lr bench --plan: {experiment.source} -> {out}")
    print(format_cost(rows, planned, finished, workers))
    print(format_power(detectable_improvements(plan, protocol=experiment.protocol)))
    return 0


def run_command(args: argparse.Namespace) -> int:
    """Run the experiment; return the exit code (0 done, 1 some runs failed, 130 interrupted)."""
    from rl_lr.harness import run_experiment  # SB3, matplotlib: not for `rl-lr --help`

    experiment = load_experiment(_experiment_path(args))
    out = args.out or Path("runs") / experiment.name
    if args.plan:
        return _print_plan(experiment, out, args)
    result = run_experiment(experiment, out, backend=args.backend, workers=args.workers,
                            ray_address=args.ray_address, quiet=args.quiet)
    done = result.already_done + result.finished
    print(f"rl-lr bench: {done}/{result.planned} runs finished ({result.already_done} before "
          f"this call), {len(result.diverged)} diverged, {len(result.failed)} failed; "
          f"results in {out}, report {out / 'report' / 'index.html'}", file=sys.stderr)
    for run_id, reason in result.diverged.items():
        print(f"  diverged: {run_id} {reason}", file=sys.stderr)
    for run_id, reason in result.failed.items():
        print(f"  failed: {run_id}: {reason}", file=sys.stderr)
    if result.interrupted:
        print("rl-lr bench: interrupted; run the same command again to finish",
              file=sys.stderr)
        return 130
    return 1 if result.failed else 0
