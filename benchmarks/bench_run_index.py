"""The run index (``rl-lr runs``): the plain way (csv module + Python filter, what
rl_lr.experience does) against the stdlib's SQLite engine, side by side, on the committed
results and on a synthetic 100 000-run experiment directory.

    python benchmarks/bench_run_index.py --reps 5 --synthetic 100000

Three timings per data set (median of ``--reps``, interleaved A B / B A):

- ``index``: read every directory into rows (``index_runs``), the part both ways share;
- ``one-shot``: what one ``rl-lr runs DIR --where ...`` does: index, then select. Plain: a
  Python filter; SQLite: load the rows into an in-memory table, then ``SELECT``;
- ``query``: one more selection on rows already loaded (a Python session asking many
  questions): the Python filter vs the SQL ``SELECT`` on the loaded table.

The query is ``env=CartPole-v1 algo=ppo eval_auc>400 perturb!=clean`` (the SQL equivalent for
SQLite).
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rl_lr.experience.index import COLUMNS, NUMERIC, index_runs
from rl_lr.experience.query import where

ROOT = Path(__file__).resolve().parents[1]
WHERE = "env=CartPole-v1 algo=ppo eval_auc>400 perturb!=clean"
SQL = ("SELECT * FROM runs WHERE env = 'CartPole-v1' AND algo = 'ppo' AND eval_auc > 400 "
       "AND perturb != 'clean'")
ENVS = ("CartPole-v1", "Acrobot-v1", "InvertedPendulum-v5", "rl_lr/PointNav-v0", "Pendulum-v1")
POLICIES = ("constant({})", "cosine({}, warmup=0.05)", "linear({})", "onecycle({})",
            "cyclic({}, {}, cycles=4)", "plateau({})", "volatility({})", "bandit({})")
PERTURBS = {"clean": "", "gaussian": "gaussian(std=1.0)", "switch": "switch(at=[0.5], "
            "scale=[1.0, 5.0])", "drift": "drift(scale_sigma=0.01, offset_sigma=0.01)"}


def synthetic(directory: Path, runs: int, seed: int = 0) -> Path:
    """An experiment directory with ``runs`` finished runs in ``summary.csv`` (and
    ``timing.csv``), shaped like ``results/standard``."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "experiment.yaml").write_text("name: synthetic\nbudget: {steps: 30000}\n")
    header = ["run_id", "env", "algo", "lr", "perturb", "optimizer", "seed", "lr_spec",
              "perturb_spec", "optimizer_spec", "steps", "budget", "timesteps", "evaluations",
              "final_eval_return", "eval_auc", "reward_threshold", "steps_to_threshold",
              "diverged", "diverged_at", "divergence_reason"]
    lrs = [f"{10 ** rng.uniform(-5, -2):.3g}" for _ in range(40)]
    with (directory / "summary.csv").open("w", newline="") as summary, \
            (directory / "timing.csv").open("w", newline="") as timing:
        rows, times = csv.writer(summary), csv.writer(timing)
        rows.writerow(header)
        times.writerow(["run_id", "wall_time_s", "steps_per_second"])
        for i in range(runs):
            lr = rng.choice(lrs)
            template = rng.choice(POLICIES)
            spec = template.format(lr, f"{float(lr) * 10:.3g}")
            perturb = rng.choice(list(PERTURBS))
            auc = rng.uniform(0, 500)
            run_id = f"{i:016x}"
            rows.writerow([run_id, rng.choice(ENVS), rng.choice(("ppo", "a2c", "sac")),
                           template.split("(")[0], perturb, "none", i % 10, spec,
                           PERTURBS[perturb], "", 30000, 30000, 30208, 11,
                           f"{auc * 1.2:.4g}", f"{auc:.6g}", 475.0,
                           rng.choice(["", "9216", "15104"]), int(rng.random() < 0.02), "", ""])
            times.writerow([run_id, f"{rng.uniform(10, 60):.3f}", "1000.0"])
    return directory


def _load(rows: list[dict[str, Any]]) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    types = {c: "REAL" if c in NUMERIC else "TEXT" for c in COLUMNS}
    connection.execute(f"CREATE TABLE runs ({', '.join(f'{c} {types[c]}' for c in COLUMNS)})")
    connection.executemany(f"INSERT INTO runs VALUES ({', '.join('?' * len(COLUMNS))})",
                           [tuple(r[c] for c in COLUMNS) for r in rows])
    return connection


def _median(function: Callable[[], Any], reps: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(reps):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def measure(paths: list[Path], reps: int) -> dict[str, float]:
    index_s, index = _median(lambda: index_runs(paths), reps)
    rows = index.rows
    plain_hits = where(rows, WHERE, COLUMNS, NUMERIC)
    connection = _load(rows)
    sql_hits = connection.execute(SQL).fetchall()
    assert len(sql_hits) == len(plain_hits), (len(sql_hits), len(plain_hits))
    query_plain, query_sql, shot_plain, shot_sql = [], [], [], []
    for rep in range(reps):
        order = ("plain", "sql") if rep % 2 == 0 else ("sql", "plain")
        for way in order:
            start = time.perf_counter()
            if way == "plain":
                where(rows, WHERE, COLUMNS, NUMERIC)
                query_plain.append(time.perf_counter() - start)
            else:
                connection.execute(SQL).fetchall()
                query_sql.append(time.perf_counter() - start)
        for way in order:  # one-shot: index (shared, measured above) + what each way adds
            start = time.perf_counter()
            if way == "plain":
                where(rows, WHERE, COLUMNS, NUMERIC)
                shot_plain.append(index_s + time.perf_counter() - start)
            else:
                _load(rows).execute(SQL).fetchall()
                shot_sql.append(index_s + time.perf_counter() - start)
    return {"runs": len(rows), "hits": len(plain_hits), "index_s": index_s,
            "one_shot_plain_s": statistics.median(shot_plain),
            "one_shot_sqlite_s": statistics.median(shot_sql),
            "query_plain_s": statistics.median(query_plain),
            "query_sqlite_s": statistics.median(query_sql)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--synthetic", type=int, default=100_000, help="runs in the synthetic set")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sets = {"committed results/": [ROOT / "results"],
                f"synthetic {args.synthetic} runs": [synthetic(Path(tmp) / "s", args.synthetic)]}
        print("| data | runs | hits | index (s) | one-shot plain / SQLite (s) | ratio | "
              "query plain / SQLite (ms) | ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, paths in sets.items():
            m = measure(paths, args.reps)
            print(f"| {name} | {m['runs']} | {m['hits']} | {m['index_s']:.3f} | "
                  f"{m['one_shot_plain_s']:.3f} / {m['one_shot_sqlite_s']:.3f} | "
                  f"{m['one_shot_plain_s'] / m['one_shot_sqlite_s']:.2f}x | "
                  f"{m['query_plain_s'] * 1e3:.1f} / {m['query_sqlite_s'] * 1e3:.1f} | "
                  f"{m['query_plain_s'] / m['query_sqlite_s']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
