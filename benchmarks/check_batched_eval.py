"""Re-run committed runs of results/standard with the batched evaluation and compare.

For a sample of committed runs (the first run ids in sorted order of each task), train the
run again from its ``config.yaml`` (``rl_lr.run.train(TrainConfig(**run), out)``, one torch
thread, as the harness runs it) and compare the new ``progress.csv`` with the committed one:
byte-identical, or the largest absolute difference of ``eval_return_mean`` /
``eval_return_std``, the first evaluation (timestep) that differs and whether every training
column (losses, LRs, gradient norms, training return) is still identical. Prints a Markdown
table; also the evaluation share of the run's wall time (``timing.csv``: the sum of
``eval_time_s`` over the final ``wall_time_s``), committed and now.

    python benchmarks/check_batched_eval.py                       # 20 runs, ~15-20 core-min
    python benchmarks/check_batched_eval.py --ids 0017ba312d66c292 --reference   # control

``--reference`` runs the evaluation before batching (``evaluate_sequentially`` on one env)
instead, the control showing that the committed files are reproduced by the old path on this
machine. Runs one run at a time.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from bench_evaluation import evaluation  # the same switch as the benchmark's (same folder)

from rl_lr.files import read_yaml
from rl_lr.run import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "results" / "standard" / "runs"
SAMPLE = {  # (env, algo) -> committed runs to redo
    ("CartPole-v1", "ppo"): 8,
    ("InvertedPendulum-v5", "ppo"): 6,
    ("rl_lr/PointNav-v0", "ppo"): 4,
    ("Pendulum-v1", "sac"): 2,
}
EVAL_COLUMNS = ("eval_return_mean", "eval_return_std")


def sample_runs(runs: Path) -> list[tuple[str, dict[str, Any]]]:
    """The first run ids in sorted order of each task, with their ``run`` sections."""
    chosen: list[tuple[str, dict[str, Any]]] = []
    taken = dict.fromkeys(SAMPLE, 0)
    for run_dir in sorted(p for p in runs.iterdir() if (p / "config.yaml").exists()):
        run = read_yaml(run_dir / "config.yaml")["run"]
        task = (run["env"], run["algo"])
        if task in taken and taken[task] < SAMPLE[task]:
            taken[task] += 1
            chosen.append((run_dir.name, run))
    return sorted(chosen, key=lambda item: (list(SAMPLE).index((item[1]["env"],
                                                                 item[1]["algo"])), item[0]))


def read_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def eval_share(timing: Path) -> float:
    """Evaluation time over the run's wall time (``eval_time_s`` is per evaluation)."""
    rows = read_rows(timing.read_text())
    return sum(float(r["eval_time_s"]) for r in rows) / float(rows[-1]["wall_time_s"])


def compare(committed: str, new: str) -> dict[str, Any]:
    """How the new progress.csv differs from the committed one."""
    if committed == new:
        return {"identical": True, "max_abs_mean": 0.0, "max_abs_std": 0.0, "first_diff": "",
                "train_identical": True}
    old_rows, new_rows = read_rows(committed), read_rows(new)
    if [r["timesteps"] for r in old_rows] != [r["timesteps"] for r in new_rows] \
            or list(old_rows[0]) != list(new_rows[0]):
        return {"identical": False, "max_abs_mean": float("nan"), "max_abs_std": float("nan"),
                "first_diff": "rows/columns differ", "train_identical": False}
    diffs = {c: [abs(float(o[c] or "nan") - float(n[c] or "nan"))
                 for o, n in zip(old_rows, new_rows, strict=True)] for c in EVAL_COLUMNS}
    first = next((o["timesteps"] for o, n in zip(old_rows, new_rows, strict=True)
                  if any(o[c] != n[c] for c in EVAL_COLUMNS)), "")
    train_identical = all(o[c] == n[c] for o, n in zip(old_rows, new_rows, strict=True)
                          for c in o if c not in EVAL_COLUMNS)
    return {"identical": False, "max_abs_mean": max(diffs["eval_return_mean"]),
            "max_abs_std": max(diffs["eval_return_std"]), "first_diff": first,
            "train_identical": train_identical}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=RUNS, help="committed runs directory")
    parser.add_argument("--ids", nargs="*", help="run ids to redo (default: the sample)")
    parser.add_argument("--reference", action="store_true",
                        help="evaluate sequentially (the path before batching): a control")
    parser.add_argument("--out", type=Path, help="where the runs go (default: a temp dir)")
    args = parser.parse_args()

    torch.set_num_threads(1)
    if args.ids:
        runs = [(i, read_yaml(args.runs / i / "config.yaml")["run"]) for i in args.ids]
    else:
        runs = sample_runs(args.runs)
    out_root = args.out or Path(tempfile.mkdtemp(prefix="check_batched_eval-"))
    arm = "sequential (reference)" if args.reference else "batched"
    print(f"{len(runs)} runs, evaluation {arm}, into {out_root}", file=sys.stderr, flush=True)
    print("| run | task | policy | progress.csv | max abs diff eval_return_mean | "
          "max abs diff eval_return_std | first eval that differs | training columns | "
          "eval share committed -> now | wall s |")
    print("|---|---|---|---|---:|---:|---:|---|---|---:|")
    worst = 0.0
    for run_id, run in runs:
        out = out_root / run_id
        started = time.monotonic()
        with evaluation("sequential" if args.reference else "batched"):
            train(TrainConfig(**run), out, threads=1)
        wall = time.monotonic() - started
        committed = args.runs / run_id
        result = compare((committed / "progress.csv").read_text(),
                         (out / "progress.csv").read_text())
        worst = max(worst, result["max_abs_mean"])
        shares = eval_share(committed / "timing.csv"), eval_share(out / "timing.csv")
        share = f"{shares[0]:.0%} -> {shares[1]:.0%}"
        policy = run["lr"] if run.get("optimizer") is None else f"{run['lr']} + {run['optimizer']}"
        print(f"| {run_id} | {run['algo']} {run['env']} | {policy}, {run['perturb'] or 'clean'}, "
              f"seed {run['seed']} | {'identical' if result['identical'] else 'differs'} | "
              f"{result['max_abs_mean']:.6g} | {result['max_abs_std']:.6g} | "
              f"{result['first_diff']} | "
              f"{'identical' if result['train_identical'] else 'differ'} | {share} | "
              f"{wall:.0f} |", flush=True)
    print(f"\nlargest |difference| of eval_return_mean: {worst:.6g}")


if __name__ == "__main__":
    main()
