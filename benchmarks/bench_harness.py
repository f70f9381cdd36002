"""Harness throughput: an 8-run experiment with 1 worker, 2 workers and the Ray backend (2 CPUs),
measured in one session (after a warm-up experiment; 1 and 2 workers interleaved twice, best of
each), each into a fresh directory.

    python benchmarks/bench_harness.py [--steps 6144]

Reports the wall time of each and the ratios: speedup of 2 workers over 1 (target >= 1.85x on
2 free cores; the limit is 2.0x) and Ray over local with 2 workers (target <= 1.15x). The
machine must be otherwise idle for the speedup to mean anything: it measures the cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rl_lr.experiment import experiment_from_dict
from rl_lr.harness import run_experiment


def experiment(steps: int) -> object:
    return experiment_from_dict({
        "name": "bench8",
        "budget": {"steps": steps, "eval_every": steps // 4, "eval_episodes": 5},
        "grid": {"env": ["CartPole-v1"], "algo": ["ppo"], "lr": {"cosine": "cosine(1e-3)"},
                 "seed": list(range(8))},
    })


def timed(**kwargs: object) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = run_experiment(experiment(STEPS), Path(out), quiet=True, report=REPORT,
                           **kwargs)  # type: ignore[arg-type]
        assert result.finished == 8, result
        return time.perf_counter() - start


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6144)
    parser.add_argument("--report", action="store_true",
                        help="include writing the HTML report (a few serial seconds)")
    parser.add_argument("--ray-only", action="store_true",
                        help="only local (2 workers) vs Ray, e.g. on a longer experiment")
    arguments = parser.parse_args()
    STEPS, REPORT = arguments.steps, arguments.report
    timed(workers=2)  # warm-up: starts the fork server (imports) once for the whole session
    ones, twos = [], []
    for _ in range(1 if arguments.ray_only else 2):  # interleaved: load drift hits both alike
        if not arguments.ray_only:
            ones.append(timed(workers=1))
        twos.append(timed(workers=2))
    one, two = min(ones, default=float("nan")), min(twos)
    ray = timed(backend="ray", workers=2)
    print(f"8 runs of PPO CartPole-v1, {STEPS} steps each, report {'on' if REPORT else 'off'}\n")
    print("| backend | wall s |\n|---|---|")
    print(f"| local, 1 worker | {one:.1f} |\n| local, 2 workers | {two:.1f} |\n"
          f"| ray, 2 CPUs (local cluster, start-up included) | {ray:.1f} |")
    print(f"\nspeedup 2 workers / 1 worker: {one / two:.2f}x; ray / local (2): {ray / two:.2f}x")
