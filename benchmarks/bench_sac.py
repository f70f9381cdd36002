"""Cost of a SAC step on Pendulum-v1 and the levers that keep SB3 (issue "Run cost").

The run measured is the standard benchmark's grid 5: ``rl-lr train`` of SAC on Pendulum-v1
with the zoo preset (SB3's defaults: 256x256 networks, batch 256, one gradient step per env
step) at ``constant(1e-3)``, one torch thread. The machine is shared and noisy: every speed
figure is a ratio against a baseline measured alongside, in the same loop. Parts:

* ``profile`` (:mod:`sac_profile`): where one step goes, section by section, in a real
  ``rl_lr.run.train`` run;
* ``levers`` (:mod:`sac_levers`): one worker process per lever (its own threads, patches and
  compiled code), trained in chunks of ``--chunk`` steps; in every round each lever's chunk
  runs next to a baseline chunk (order alternated, levers rotated) and the ratio is taken
  against that neighbour; ``2 runs x 1 thread`` steps two baseline workers at once
  (aggregate steps/s); a compiled arm's compile time is reported apart and counted for a
  10k-step run;
* ``divergence``: the cost of one call of rl-lr's divergence check (run at every env step of
  SAC); whole runs against SB3's own ``learn()`` are ``bench_train_overhead.py``'s;
* ``identity``: each lever's ``rl-lr train`` run (``--identity-steps``, evaluation every 1000
  steps) against the baseline's, every ``progress.csv`` cell; the baseline also against the
  committed ``results/standard`` run of the same seed;
* ``curves`` (not in the default parts): levers that change the math, seeds 0-2 of
  ``--curve-steps`` steps, final and mean evaluation return vs the committed baseline runs.

    python benchmarks/bench_sac.py --quick                  # ~5 min
    nice -n 5 python benchmarks/bench_sac.py                # ~25 min on the 2-core machine
    nice -n 5 python benchmarks/bench_sac.py --parts curves --levers "adam fused"
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
import yaml
from sac_levers import LEVERS, QUICK_LEVERS, TWO_PROCESSES, Lever
from sac_profile import profile
from stable_baselines3.common.base_class import BaseAlgorithm

from rl_lr.agents import make
from rl_lr.run import TrainConfig, divergence, train
from rl_lr.sb3 import silence_logger

ENV, ALGO = "Pendulum-v1", "sac"
COMMITTED = Path(__file__).resolve().parent.parent / "results" / "standard" / "runs"

# --------------------------------------------------------------------------------------------
# The levers, chunk by chunk
# --------------------------------------------------------------------------------------------


def build_model(lever: Lever, seed: int, warmup: int) -> tuple[BaseAlgorithm, float]:
    """The agent ``rl-lr train`` builds, with ``lever``; learned ``warmup`` steps (the 100
    random steps, then updates: compilation happens here). Returns (model, warm-up seconds)."""
    with lever.active():
        started = time.perf_counter()
        model = make(ALGO, ENV, seed=seed, total_timesteps=10**7, **lever.overrides).model
        silence_logger(model)
        model.learn(warmup)
        return model, time.perf_counter() - started


def _worker(connection: Any, name: str, seed: int, warmup: int) -> None:
    """One arm in its own process (its own torch threads, patches and compiled code): builds
    the model, reports the warm-up time, then learns a chunk of steps per request and reports
    when it started and ended (``time.monotonic``, comparable across processes)."""
    torch.set_num_threads(1)
    lever = LEVERS[name]
    model, seconds = build_model(lever, seed, warmup)
    connection.send(seconds)
    while (steps := connection.recv()) is not None:
        with lever.active():
            started = time.monotonic()
            model.learn(steps, reset_num_timesteps=False)
            connection.send((started, time.monotonic()))


class Arm:
    """Worker processes running one lever; :meth:`rate` steps them all at once."""

    def __init__(self, name: str, seed: int, warmup: int, copies: int = 1) -> None:
        context = mp.get_context("spawn")
        self.connections, self.processes, self.warmups = [], [], []
        for index in range(copies):  # one after the other: warm-up times undisturbed
            parent, child = context.Pipe()
            process = context.Process(target=_worker, args=(child, name, seed + index, warmup))
            process.start()
            self.connections.append(parent)
            self.processes.append(process)
            self.warmups.append(parent.recv())

    def rate(self, steps: int) -> float:
        """Steps per second of a chunk of ``steps`` in every copy (summed over copies)."""
        for connection in self.connections:
            connection.send(steps)
        spans = [connection.recv() for connection in self.connections]
        return len(spans) * steps / (max(end for _, end in spans) -
                                     min(start for start, _ in spans))

    def close(self) -> None:
        for connection in self.connections:
            connection.send(None)
        for process in self.processes:
            process.join()


def levers(names: list[str], rounds: int, chunk: int, seed: int, warmup: int,
           run_steps: int = 10_000) -> None:
    """Steps/s ratio of each lever to the baseline: in every round each arm's chunk runs next
    to a baseline chunk (baseline first in even rounds, second in odd ones; arm order
    rotated), and the ratio is taken against that adjacent baseline chunk."""
    arms: dict[str, Arm] = {}
    try:
        for name in ["baseline", *names]:
            arms[name] = Arm("baseline", seed, warmup, copies=2) if name == TWO_PROCESSES \
                else Arm(name, seed, warmup)
            print(f"started {name}: warm-up {arms[name].warmups[0]:.1f} s", flush=True)
        rates: dict[str, list[float]] = defaultdict(list)
        ratios: dict[str, list[float]] = defaultdict(list)
        for index in range(rounds):
            for name in names[index % len(names):] + names[:index % len(names)]:
                pair = ["baseline", name] if index % 2 == 0 else [name, "baseline"]
                measured = {arm: arms[arm].rate(chunk) for arm in pair}
                rates[name].append(measured[name])
                rates["baseline"].append(measured["baseline"])
                ratios[name].append(measured[name] / measured["baseline"])
            print(f"round {index + 1}/{rounds}: " + ", ".join(
                f"{n} {ratios[n][-1]:.2f}" for n in names), flush=True)
    finally:
        for arm in arms.values():
            arm.close()
    print(f"\n### Levers: {rounds} rounds of {chunk} steps per arm next to {chunk} baseline "
          f"steps, after {warmup} warm-up steps, each arm in its own process; baseline "
          f"{statistics.median(rates['baseline']):.1f} steps/s (median)\n")
    print("| lever | steps/s (median) | ratio to baseline (median, min-max) | extra warm-up "
          f"(compile) s | ratio over a {run_steps}-step run, warm-up counted |")
    print("|---|---:|---:|---:|---:|")
    base_seconds = run_steps / statistics.median(rates["baseline"])
    for name in names:
        ratio = statistics.median(ratios[name])
        extra = max(0.0, arms[name].warmups[0] - arms["baseline"].warmups[0])
        run_ratio = base_seconds / (base_seconds / ratio + extra)
        print(f"| {name} | {statistics.median(rates[name]):.1f} | **{ratio:.2f}x** "
              f"({min(ratios[name]):.2f}-{max(ratios[name]):.2f}) | {extra:.1f} | "
              f"{run_ratio:.2f}x |")


# --------------------------------------------------------------------------------------------
# rl-lr's per-step cost: the divergence check
# --------------------------------------------------------------------------------------------


def per_tensor_check(model: Any) -> str | None:
    """rl-lr's parameter check before this issue (one ``isfinite().all()`` per tensor), for
    reference: now :func:`rl_lr.run.divergence.find_divergence` filters with one foreach
    call of the norms first."""
    with torch.no_grad():
        for name, param in model.policy.named_parameters():
            if not bool(torch.isfinite(param).all()):
                return f"parameter {name} is not finite"
    return None


def divergence_check_cost(seed: int, calls: int = 300, repeats: int = 7) -> None:
    """Microseconds per call of rl-lr's divergence check (it runs at every rollout start,
    i.e. at every env step of SAC) as a run calls it, walking the modules at each call, and
    the per-tensor parameter check of every parameter it replaced, on the SAC model;
    interleaved repeats, medians."""
    model = make(ALGO, ENV, seed=seed).model
    silence_logger(model)
    model.learn(200)  # losses logged, as during a run
    collected = divergence.watched_parameters(model)
    checks = {"rl-lr's check in a run (parameters collected once)":
              lambda model: divergence.find_divergence(model, collected),
              "find_divergence walking the modules at each call":
              divergence.find_divergence,
              "the per-tensor parameter check it replaced": per_tensor_check}
    micros: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        for name, check in checks.items():
            started = time.perf_counter()
            for _ in range(calls):
                assert check(model) is None
            micros[name].append(1e6 * (time.perf_counter() - started) / calls)
    print("\nDivergence check on the SAC model: " + ", ".join(
        f"{name} {statistics.median(values):.0f} us per call" for name, values in
        micros.items()))


# --------------------------------------------------------------------------------------------
# Same math? Same learning curve?
# --------------------------------------------------------------------------------------------


def train_run(lever: Lever, seed: int, steps: int, out: Path) -> list[dict[str, str]]:
    """An ``rl-lr train`` run with ``lever`` (evaluation every 1000 steps, 10 episodes);
    its ``progress.csv`` rows."""
    torch._dynamo.reset()  # compiled code of an earlier run: not reused, not counted
    with lever.active():
        train(TrainConfig(env=ENV, algo=ALGO, steps=steps, seed=seed, lr="preset",
                          eval_every=1000, eval_episodes=10, overrides=lever.overrides),
              out, threads=lever.threads)
    return list(csv.DictReader((out / "progress.csv").open()))


def committed_rows(seed: int) -> list[dict[str, str]] | None:
    """The committed standard-benchmark run of SAC Pendulum-v1, ``constant(1e-3)``, clean."""
    for config in sorted(COMMITTED.glob("*/config.yaml")):
        run = (yaml.safe_load(config.read_text()) or {}).get("run", {})
        if (run.get("algo"), run.get("env"), run.get("seed"), run.get("lr"),
                run.get("perturb")) == (ALGO, ENV, seed, "constant(1e-3)", None):
            return list(csv.DictReader((config.parent / "progress.csv").open()))
    return None


def compare(rows: list[dict[str, str]], base: list[dict[str, str]]) -> str:
    """Whether two runs' ``progress.csv`` rows are identical, and if not whether training is
    (every column but the evaluation returns: SB3's losses, gradient norms, train return)."""
    if rows == base:
        return "identical"
    evaluation = ("eval_return_mean", "eval_return_std")
    training = [{k: v for k, v in row.items() if k not in evaluation} for row in rows]
    if training == [{k: v for k, v in row.items() if k not in evaluation} for row in base]:
        return "training identical, evaluation returns differ"
    return "different"


def identity(names: list[str], steps: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = train_run(LEVERS["baseline"], seed, steps, Path(tmp) / "baseline")
        committed = committed_rows(seed)
        verdict = "not found"
        if committed is not None:  # a 10k-step run: compare the rows at the same steps
            at = {row["timesteps"]: row for row in committed}
            common = [row for row in base if row["timesteps"] in at]
            verdict = compare([at[row["timesteps"]] for row in common], common) + \
                f" (steps {', '.join(row['timesteps'] for row in common)})"
        print(f"\n### Same math? `rl-lr train`, seed {seed}, {steps} steps, every "
              f"progress.csv cell\n\nbaseline vs the committed results/standard run: "
              f"{verdict}\n")
        print("| lever | progress.csv vs baseline | max abs diff of the train/ losses | wall s |")
        print("|---|---|---:|---:|")
        for name in names:
            if name == TWO_PROCESSES:
                continue
            started = time.perf_counter()
            rows = train_run(LEVERS[name], seed, steps, Path(tmp) / name.replace(" ", "_"))
            wall = time.perf_counter() - started
            diffs = [abs(float(a[k]) - float(b[k])) for a, b in zip(rows, base, strict=True)
                     for k in a if k.startswith("train/") and a[k] and b[k]]
            print(f"| {name} | {compare(rows, base)} | "
                  f"{max(diffs, default=0.0):.3g} | {wall:.0f} |", flush=True)


def curves(names: list[str], steps: int, seeds: list[int]) -> None:
    """Final and mean evaluation return (rows 0..steps) per seed vs the committed baseline."""
    def scores(rows: list[dict[str, str]]) -> tuple[float, float]:
        returns = [float(r["eval_return_mean"]) for r in rows if int(r["timesteps"]) <= steps]
        return returns[-1], statistics.fmean(returns)

    print(f"\n### Learning curves, seeds {seeds}, {steps} steps (final, mean of the "
          "evaluations)\n")
    print("| arm | final per seed | mean final | mean AUC |")
    print("|---|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["baseline", *names]:
            results = []
            for seed in seeds:
                rows = committed_rows(seed) if name == "baseline" else None
                if rows is None:
                    rows = train_run(LEVERS[name], seed, steps, Path(tmp) / f"{name}{seed}")
                results.append(scores(rows))
            finals = [final for final, _ in results]
            print(f"| {name} | {', '.join(f'{f:.0f}' for f in finals)} | "
                  f"{statistics.fmean(finals):.0f} | "
                  f"{statistics.fmean(auc for _, auc in results):.0f} |", flush=True)


def run_parts(args: argparse.Namespace, chosen: list[str]) -> None:
    quick = args.quick
    if "profile" in args.parts:
        profile(args.profile_steps or (600 if quick else 2000), args.seed)
    if "levers" in args.parts:
        levers(chosen, args.rounds or (3 if quick else 10), args.chunk or 50, args.seed,
               warmup=300)
    if "divergence" in args.parts:
        divergence_check_cost(args.seed)
    if "identity" in args.parts:
        identity(chosen, args.identity_steps or (400 if quick else 1000), args.seed)
    if "curves" in args.parts:
        curves([n for n in chosen if not LEVERS[n].identical] if not args.levers else chosen,
               args.curve_steps, [0, 1, 2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few minutes: fewer, smaller")
    parser.add_argument("--parts", nargs="*", default=["profile", "levers", "divergence",
                                                       "identity"],
                        choices=["profile", "levers", "divergence", "identity", "curves"])
    parser.add_argument("--levers", nargs="*", choices=[*LEVERS, TWO_PROCESSES],
                        help="default: all (--quick: a subset)")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--chunk", type=int, help="steps per arm per round")
    parser.add_argument("--profile-steps", type=int)
    parser.add_argument("--identity-steps", type=int)
    parser.add_argument("--curve-steps", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    chosen = args.levers or ([TWO_PROCESSES, *QUICK_LEVERS] if args.quick else
                             [TWO_PROCESSES, *(n for n in LEVERS if n != "baseline")])
    chosen = [n for n in chosen if n != "baseline"]
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="inductor-") as cache:
        # compile time as a first run pays it: an empty inductor cache (the workers inherit it)
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", cache)
        run_parts(args, chosen)
    print(f"\nload at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
