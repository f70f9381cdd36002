"""Do the tuned presets train? PPO CartPole-v1 and SAC Pendulum-v1, five seeds each.

Acceptance (issue "Agents"): with the zoo preset and its LR, PPO on CartPole-v1 reaches a
clean eval return >= 475 within 100k steps on at least 4 of 5 seeds, and SAC on Pendulum-v1
reaches >= -200 within 20k steps on at least 4 of 5. Not part of CI (about 35 min on one core).

Each run is an ordinary ``rl-lr train`` run (``rl_lr.run.train``) with ``--save-model``
under ``--out``; the script is resumable: finished runs are skipped, interrupted ones continue
from their last checkpoint. It prints a Markdown table and writes ``results.json`` in ``--out``.

    python benchmarks/bench_presets.py                    # both cases, seeds 1-5
    python benchmarks/bench_presets.py --cases ppo --seeds 1 2
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rl_lr.run import TrainConfig, resume, train


@dataclass(frozen=True)
class Case:
    name: str
    algo: str
    env: str
    steps: int
    threshold: float
    eval_every: int


CASES = {
    "ppo": Case("ppo", "ppo", "CartPole-v1", 100_000, 475.0, 5_000),
    "sac": Case("sac", "sac", "Pendulum-v1", 20_000, -200.0, 1_000),
}


def run_case(case: Case, seed: int, root: Path) -> dict[str, object]:
    out = root / f"{case.algo}-{case.env}-seed{seed}"
    if (out / "config.yaml").exists():
        result = resume(out, quiet=True)
    else:
        config = TrainConfig(env=case.env, algo=case.algo, steps=case.steps, seed=seed,
                             lr="preset", eval_every=case.eval_every, eval_episodes=10)
        result = train(config, out, save_model=True, quiet=True)
    summary = result.summary or {}
    best = summary.get("best_eval_return")
    with (out / "progress.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    reached_at = [int(r["timesteps"]) for r in rows
                  if float(r["eval_return_mean"]) >= case.threshold]
    return {
        "case": case.name, "seed": seed, "out": str(out),
        "final": summary.get("final_eval_return"), "best": best,
        "steps_to_threshold": reached_at[0] if reached_at else None,
        "reached": bool(reached_at) and reached_at[0] <= case.steps,
        "diverged": summary.get("diverged"), "wall_time_s": summary.get("wall_time_s"),
        "steps_per_second": summary.get("steps_per_second"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/runs/presets"))
    args = parser.parse_args(argv)
    results = []
    for name in args.cases:
        case = CASES[name]
        for seed in args.seeds:
            started = time.monotonic()
            row = run_case(case, seed, args.out)
            results.append(row)
            print(f"{case.name} seed {seed}: best {row['best']}, final {row['final']}, "
                  f"threshold at {row['steps_to_threshold']} "
                  f"({time.monotonic() - started:.0f} s)", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\n| case | env | budget | seeds reaching | best (per seed) | final (per seed) "
          "| steps to threshold |\n|---|---|---|---|---|---|---|")
    ok = True
    for name in args.cases:
        case = CASES[name]
        rows = [r for r in results if r["case"] == name]
        reached = sum(bool(r["reached"]) for r in rows)
        ok &= reached >= 4 if len(rows) == 5 else True
        fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
        print(f"| {case.algo} | {case.env} | {case.steps:,} | {reached}/{len(rows)} "
              f"(>= {case.threshold:g}) | {', '.join(fmt(r['best']) for r in rows)} "
              f"| {', '.join(fmt(r['final']) for r in rows)} "
              f"| {', '.join(str(r['steps_to_threshold']) for r in rows)} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
