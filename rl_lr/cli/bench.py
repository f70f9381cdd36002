"""``rl-lr bench``: the command line of :mod:`rl_lr.harness`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rl_lr.cli.args import positive_int
from rl_lr.errors import UsageError
from rl_lr.experiment.file import SUITES_DIR

__all__ = ["add_parser", "run_command"]



def add_parser(commands: Any) -> None:
    bench = commands.add_parser(
        "bench",
        help="run an experiment grid (env x algo x LR policy x perturbation x seed) and "
        "aggregate it",
        description="Run every run of an experiment YAML (or a named suite from experiments/) "
        "on every core or a Ray cluster, skipping runs already finished in --out, and write "
        "summary.csv, curves.csv, metrics.csv and experiment.yaml there.",
        epilog="Example: rl-lr bench --suite smoke --out runs/smoke --workers 2",
    )
    source = bench.add_mutually_exclusive_group(required=True)
    source.add_argument("experiment", nargs="?", type=Path, help="experiment YAML file")
    source.add_argument("--suite", help="a named suite, a file of experiments/: smoke, quick, "
                        "standard, controllers_act")
    bench.add_argument("--workers", type=positive_int, default=None,
                       help="parallel runs (default: all cores, or the Ray cluster's CPUs)")
    bench.add_argument("--backend", choices=["local", "ray"], default="local",
                       help="local process pool (default) or Ray tasks")
    bench.add_argument("--ray-address", default=None,
                       help="an existing Ray cluster (default: start a local one)")
    bench.add_argument("--out", type=Path, default=None,
                       help="output directory (default: runs/<experiment name>)")
    bench.add_argument("--quiet", action="store_true", help="no progress output")


def _experiment_path(args: argparse.Namespace) -> Path:
    if args.suite is not None:
        path = SUITES_DIR / f"{args.suite}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))
            raise UsageError(f"rl-lr bench: unknown suite {args.suite!r} (known: "
                             f"{', '.join(known)})")
        return path
    path = Path(args.experiment)
    if not path.is_file():
        raise UsageError(f"rl-lr bench: no such experiment file {str(path)!r}")
    return path


def run_command(args: argparse.Namespace) -> int:
    """Run the sweep; return the exit code (0 done, 1 some runs failed, 130 interrupted)."""
    from rl_lr.experiment import load_experiment
    from rl_lr.harness import run_experiment

    experiment = load_experiment(_experiment_path(args))
    out = args.out or Path("runs") / experiment.name
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
