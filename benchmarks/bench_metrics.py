"""Cost of every metric in ``rl_lr.metrics`` at experiment scale: 1,000 runs × 200 eval points for
each of 10 policies (targets: <= 10 s and <= 1 GiB on the whole set).

The data are synthetic but shaped like the real thing: saturating eval curves with noise,
dips after three reward-regime switches, a few diverged runs, LR traces that hit their bounds,
and clean/perturbed final scores. Every metric runs once per policy (pairwise comparisons once
per pair) with 2,000 bootstrap resamples wherever there is a CI.

Two passes in one process: a timed pass (wall clock, no tracing), then the same work under
``tracemalloc`` for the peak of memory allocated while computing (NumPy reports its buffers to
tracemalloc); ``ru_maxrss`` adds the interpreter, imports and the input data.

    python benchmarks/bench_metrics.py [--runs 1000] [--points 200] [--policies 10] [--reps 2000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from rl_lr import metrics as mt

LOW, HIGH = -1500.0, -150.0  # score range used for normalisation (Pendulum-like)
SWITCHES = (50_000.0, 100_000.0, 150_000.0)
LR_LOW, LR_HIGH = 1e-5, 1e-3


def make_data(policies: int, runs: int, points: int, seed: int) -> dict[str, dict[str, Any]]:
    """Synthetic curves, LR traces and final scores for each policy."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 200_000.0, points)
    data: dict[str, dict[str, Any]] = {}
    for p in range(policies):
        speed = rng.uniform(2.0, 6.0, size=(runs, 1))
        top = rng.normal(-200.0 - 20 * p, 40.0, size=(runs, 1))
        curves = LOW + (top - LOW) * (1 - np.exp(-speed * t / t[-1]))
        curves += rng.normal(0.0, 30.0, size=curves.shape)
        for s in SWITCHES:  # a dip after each switch, recovering over ~20k steps
            after = t >= s
            curves[:, after] -= rng.uniform(0, 300, (runs, 1)) * np.exp(-(t[after] - s) / 2e4)
        diverged = rng.uniform(size=runs) < 0.02
        curves[diverged, points // 2 :] = LOW
        lr = np.clip(
            3e-4 * np.exp(np.cumsum(rng.normal(0, 0.2, (runs, points)), axis=1)), LR_LOW, LR_HIGH
        )
        data[f"policy_{p}"] = {
            "t": t,
            "curves": curves,
            "final": curves[:, -1:],
            "perturbed": curves[:, -1] - rng.uniform(0, 200, runs),
            "lr": lr,
            "diverged": diverged,
        }
    return data


Work = list[tuple[str, Callable[[], Any]]]


def policy_tasks(d: dict[str, Any], reps: int) -> Work:
    """(metric, thunk) pairs for one policy's curves, LR traces and scores."""
    t, y, lr, final = d["t"], d["curves"], d["lr"], d["final"]
    taus = np.linspace(0.0, 1.2, 121)
    norm = mt.normalise(final, LOW, HIGH)
    kw: dict[str, Any] = {"normalise": "curve_range"}

    def per_run_cis() -> list[mt.Interval]:
        values = (
            mt.area_under_curve(t, y),
            mt.dispersion_across_time(t, y, **kw),
            mt.short_term_risk(t, y, **kw),
            mt.long_term_risk(y, **kw),
        )
        return [mt.stratified_bootstrap_ci(v[:, None], "iqm", reps=reps, rng=0) for v in values]

    return [
        (
            "performance_profile_ci (121 taus)",
            lambda: mt.performance_profile_ci(norm, taus, reps=reps, rng=0),
        ),
        ("area_under_curve", lambda: mt.area_under_curve(t, y)),
        (
            "steps_to_threshold + fraction_reaching",
            lambda: (mt.steps_to_threshold(t, y, -300.0), mt.fraction_reaching(t, y, -300.0)),
        ),
        ("dispersion_across_time (DT)", lambda: mt.dispersion_across_time(t, y, **kw)),
        ("short_term_risk (SRT)", lambda: mt.short_term_risk(t, y, **kw)),
        ("long_term_risk (LRT)", lambda: mt.long_term_risk(y, **kw)),
        ("dispersion_across_runs (DR, filtered)", lambda: mt.dispersion_across_runs(y, **kw)),
        ("risk_across_runs (RR)", lambda: mt.risk_across_runs(y, **kw)),
        ("per-run values -> IQM CI (AUC, DT, SRT, LRT)", per_run_cis),
        ("regime_switch_effects (3 switches)", lambda: mt.regime_switch_effects(t, y, SWITCHES)),
        (
            "sensitivity + sensitivity_of_means",
            lambda: (
                mt.sensitivity(d["perturbed"], final[:, 0], low=LOW, high=HIGH),
                mt.sensitivity_of_means(d["perturbed"], final[:, 0], low=LOW, high=HIGH),
            ),
        ),
        (
            "lr_oscillations + fraction_at_bound",
            lambda: (mt.lr_oscillations(lr), mt.fraction_at_bound(lr, LR_LOW, LR_HIGH)),
        ),
        ("divergence_rate", lambda: mt.divergence_rate(d["diverged"])),
    ]


def tasks(data: dict[str, dict[str, Any]], reps: int) -> Work:
    """(metric, thunk) pairs: everything the harness computes for an experiment."""
    finals = {k: d["final"] for k, d in data.items()}
    pairs = len(data) * (len(data) - 1) // 2
    out: Work = [
        (
            "aggregate_with_cis (IQM, mean, median, gap)",
            lambda: mt.aggregate_with_cis(finals, low=LOW, high=HIGH, reps=reps, rng=0),
        ),
        (
            f"pairwise_probability_of_improvement ({pairs} pairs, CIs)",
            lambda: mt.pairwise_probability_of_improvement(finals, reps=reps, rng=0),
        ),
    ]
    for d in data.values():
        out += policy_tasks(d, reps)
    return out


def run(work: Work) -> dict[str, float]:
    seconds: dict[str, float] = defaultdict(float)
    for name, thunk in work:
        start = time.perf_counter()
        thunk()
        seconds[name] += time.perf_counter() - start
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--policies", type=int, default=10)
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    data = make_data(args.policies, args.runs, args.points, args.seed)
    work = tasks(data, args.reps)
    run(tasks(make_data(2, 50, args.points, 1), 10))  # warm-up: imports, first-call costs
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    seconds = run(work)
    total = sum(seconds.values())
    tracemalloc.start()
    run(work)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    print(
        f"{args.policies} policies × {args.runs} runs × {args.points} eval points, "
        f"{args.reps} bootstrap resamples; numpy {np.__version__}, Python "
        f"{sys.version.split()[0]}\n"
    )
    print("| metric | wall s | share |")
    print("|---|---:|---:|")
    for name, s in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {s:.3f} | {100 * s / total:.1f} % |")
    print(f"| **total** | **{total:.2f}** | 100 % |\n")
    print(f"peak memory allocated while computing (tracemalloc): {peak / 2**20:.0f} MiB")
    print(
        f"peak RSS of the process (ru_maxrss): {maxrss:.0f} MiB, of which {rss_before:.0f} MiB "
        "before computing (interpreter, imports, input data)"
    )
    ok = total <= 10.0 and maxrss <= 1024
    print(f"targets (<= 10 s, <= 1 GiB): {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
