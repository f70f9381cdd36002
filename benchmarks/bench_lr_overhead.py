"""Cost of rl-lr's SB3 hook and of every controller, on PPO CartPole-v1.

Two figures per arm, both measured in one process, arms interleaved round by round (the order
rotates) so that drift in machine load hits every arm alike:

* ``hook share``: the fraction of ``learn()`` wall time spent inside rl-lr's code (setting LRs,
  building signals, controller decisions, optimizer step hooks), timed in place. This is the
  precise figure: it does not depend on how busy the machine is.
* ``ratio``: median over rounds of ``learn()`` wall time of the arm / the plain-float-LR run
  of the same round (end to end; noisy on a shared machine, given with its range).

    python benchmarks/bench_lr_overhead.py [--rounds 5] [--steps 4096] [--arms NAME ...]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from typing import Any

import torch
from stable_baselines3 import PPO

import rl_lr
from rl_lr.sb3 import LRHook

LR = 3e-4
ARMS: dict[str, str | None] = {
    "plain float LR": None,
    "constant (hook)": "constant(3e-4)",
    "plateau": "plateau(3e-4)",
    "kl_adaptive": "kl_adaptive(3e-4)",
    "volatility": "volatility(3e-4)",
    "trend": "trend(3e-4)",
    "hypergradient": "hypergradient(3e-4)",
    "bandit": "bandit(3e-4)",
}

HOOK_SECONDS = [0.0]


def _timed(function: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            HOOK_SECONDS[0] += time.perf_counter() - start

    return wrapper


def instrument() -> None:
    """Time every entry point of rl-lr's code that SB3 calls during learn()."""
    LRHook.apply = _timed(LRHook.apply)  # type: ignore[method-assign]
    LRHook.after_update = _timed(LRHook.after_update)  # type: ignore[method-assign]
    LRHook._record_minibatch_kl = _timed(LRHook._record_minibatch_kl)  # type: ignore
    LRHook._after_minibatch = _timed(LRHook._after_minibatch)  # type: ignore[method-assign]
    make_step_hook = LRHook._step_hook
    LRHook._step_hook = lambda self, name: _timed(make_step_hook(self, name))  # type: ignore


def one_run(spec: str | None, steps: int, seed: int) -> tuple[float, float]:
    """Return (learn() wall seconds, seconds inside rl-lr)."""
    model = PPO("MlpPolicy", "CartPole-v1", learning_rate=LR, n_steps=512, seed=seed,
                device="cpu")
    if spec is not None:
        rl_lr.attach(model, spec, total_timesteps=steps)
    HOOK_SECONDS[0] = 0.0
    start = time.perf_counter()
    model.learn(steps)
    return time.perf_counter() - start, HOOK_SECONDS[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4096)
    parser.add_argument("--arms", nargs="*", default=list(ARMS), choices=list(ARMS),
                        help="arms to run (the plain float LR is always included)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    instrument()
    one_run("constant(3e-4)", 1024, seed=0)  # warm-up: imports, allocator, env registration

    names = ["plain float LR", *(a for a in args.arms if a != "plain float LR")]
    walls: dict[str, list[float]] = defaultdict(list)
    shares: dict[str, list[float]] = defaultdict(list)
    for round_index in range(args.rounds):
        order = names[round_index % len(names):] + names[: round_index % len(names)]
        for name in order:
            wall, inside = one_run(ARMS[name], args.steps, seed=round_index)
            walls[name].append(wall)
            shares[name].append(inside / wall)
        print(f"round {round_index + 1}/{args.rounds} done", flush=True)

    print(f"\nPPO CartPole-v1, n_steps 512, {args.steps} steps per run, {args.rounds} rounds, "
          f"torch threads 1\n")
    print("| arm | hook share of learn() (median) | wall ratio vs plain (median, min-max) |")
    print("|---|---|---|")
    for name in names:
        ratios = [w / p for w, p in zip(walls[name], walls["plain float LR"], strict=True)]
        print(f"| {name} | {100 * statistics.median(shares[name]):.3f} % | "
              f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}) |")


if __name__ == "__main__":
    main()
