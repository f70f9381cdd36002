"""Cost of collecting an experiment directory (``rl_lr.results.collect``: summary, curves and
the per-group metrics with their bootstrap CIs), the work ``rl-lr bench`` repeats while runs
finish: the batched median of the runs (``rl_lr.metrics.bootstrap``) against one call per
resample, side by side on a copy of a results directory, and the two outputs compared byte for
byte.

    python benchmarks/bench_collect.py --results results/fair --experiment experiments/fair.yaml

(the copy is collected in a temporary directory; the results directory is only read).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from rl_lr.experiment import load_experiment
from rl_lr.harness.runner import check_experiment_dir, planned_runs
from rl_lr.metrics import bootstrap
from rl_lr.results import collect
from rl_lr.schema import METRICS_CSV


def _collect_seconds(out: Path, experiment_path: Path) -> float:
    """CPU seconds of one collection of ``out`` (its plan's finished runs)."""
    experiment = load_experiment(experiment_path)
    check_experiment_dir(out, experiment.name)
    plan = planned_runs(experiment, out)
    started = time.process_time()
    collect(out, plan, {})
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results/standard"))
    parser.add_argument("--experiment", type=Path, default=Path("experiments/standard.yaml"))
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / args.results.name
        shutil.copytree(args.results, out, ignore=shutil.ignore_patterns("report", "*.partial-*"))
        batched = dict(bootstrap.BATCHED_ESTIMATORS)
        times: dict[str, list[float]] = {"batched": [], "per resample": []}
        metrics: dict[str, bytes] = {}
        for _ in range(args.rounds):
            for arm in times:
                bootstrap.BATCHED_ESTIMATORS.clear()
                if arm == "batched":
                    bootstrap.BATCHED_ESTIMATORS.update(batched)
                times[arm].append(_collect_seconds(out, args.experiment))
                metrics[arm] = (out / METRICS_CSV).read_bytes()
        bootstrap.BATCHED_ESTIMATORS.update(batched)
    best = {arm: min(t) for arm, t in times.items()}
    for arm, t in times.items():
        print(f"{arm:>13}: {', '.join(f'{s:.1f}' for s in t)} s of CPU per collection")
    print(f"ratio per resample / batched: {best['per resample'] / best['batched']:.1f}x; "
          f"metrics.csv identical: {metrics['batched'] == metrics['per resample']}")


if __name__ == "__main__":
    main()
