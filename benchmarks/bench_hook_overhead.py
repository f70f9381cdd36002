"""Wall-time cost of rl-lr's SB3 hook: PPO with a plain float LR vs the same run with
``rl_lr.attach(model, constant(lr), total_timesteps=N)``, measured side by side in one process.

Runs alternate (A B, B A, A B, ...) so that drift in machine load hits both arms alike; the
reported figure is the median of the per-pair ratios ``hooked / plain`` with its range.

    python benchmarks/bench_hook_overhead.py [--pairs 7] [--steps 8192]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from stable_baselines3 import PPO

import rl_lr

LR = 3e-4


def one_run(hooked: bool, steps: int, seed: int) -> tuple[float, float]:
    """Train PPO on CartPole-v1; return (wall seconds, process CPU seconds) of learn()."""
    model = PPO("MlpPolicy", "CartPole-v1", learning_rate=LR, seed=seed, device="cpu")
    if hooked:
        rl_lr.attach(model, rl_lr.constant(LR), total_timesteps=steps)
    wall, cpu = time.perf_counter(), time.process_time()
    model.learn(steps)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--steps", type=int, default=8192)
    args = parser.parse_args()
    torch.set_num_threads(1)
    one_run(False, 2048, seed=0)  # warm-up: imports, allocator, env registration

    wall_ratios, cpu_ratios = [], []
    for pair in range(args.pairs):
        order = (False, True) if pair % 2 == 0 else (True, False)
        times = {hooked: one_run(hooked, args.steps, seed=pair) for hooked in order}
        wall_ratios.append(times[True][0] / times[False][0])
        cpu_ratios.append(times[True][1] / times[False][1])
        print(f"pair {pair}: plain {times[False][0]:.2f}s  hooked {times[True][0]:.2f}s  "
              f"ratio {wall_ratios[-1]:.4f}")

    for name, ratios in (("wall", wall_ratios), ("cpu", cpu_ratios)):
        print(f"{name}-time ratio hooked/plain: median {statistics.median(ratios):.4f} "
              f"(min {min(ratios):.4f}, max {max(ratios):.4f}, {len(ratios)} pairs, "
              f"{args.steps} steps each)")


if __name__ == "__main__":
    main()
