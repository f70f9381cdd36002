"""Raw ``env.step`` throughput: ``rl_lr/PointNav-v0`` vs gymnasium-robotics ``PointMaze_UMaze-v3``.

Not part of CI. Both envs are measured side by side in one process, in interleaved
repetitions (A B, B A, A B, ...) so that drift in machine load hits both alike; the reported
figure is the median over repetitions of the ratio ``PointNav steps/s / PointMaze steps/s``
(>= 1.0 means PointNav steps at least as fast).

Two pairings, each env in the same configuration as its counterpart:

* ``unwrapped``: ``gym.make(id).unwrapped`` for both: the env's own ``step`` (physics,
  observation, reward, info) and nothing else. PointMaze returns its ``Dict`` observation.
* ``made``: the ids as the suites use them, ``gym.make(id)`` with Gymnasium's default
  wrappers (TimeLimit, OrderEnforcing, PassiveEnvChecker) on both:
  ``rl_lr/PointNav-v0`` vs ``rl_lr/PointMaze_UMaze-v3`` (flat observation, see
  :mod:`rl_lr.envs.robotics`).

Actions are uniform random in ``[-1, 1]^2``, drawn beforehand from a seeded generator; only
``step`` calls are timed (a reset every episode of the registered length is not). Per env
step PointNav simulates 0.05 s (5 MuJoCo steps of 0.01 s), PointMaze 0.01 s (1 step), so
the simulated-time rate is printed too. One thread.

    python benchmarks/bench_navigation.py [--reps 7] [--steps 20000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import gymnasium as gym
import gymnasium_robotics
import numpy as np

import rl_lr.envs  # noqa: F401  (registers the rl_lr/* ids)

PAIRS: dict[str, tuple[str, str]] = {
    "unwrapped": ("rl_lr/PointNav-v0", "PointMaze_UMaze-v3"),
    "made": ("rl_lr/PointNav-v0", "rl_lr/PointMaze_UMaze-v3"),
}
EPISODE = {"rl_lr/PointNav-v0": 500, "PointMaze_UMaze-v3": 300, "rl_lr/PointMaze_UMaze-v3": 300}


def make(env_id: str, unwrapped: bool) -> Any:
    env = gym.make(env_id)
    return env.unwrapped if unwrapped else env


def sim_dt(env: Any) -> float:
    """Simulated seconds per env step (PointMaze keeps its MuJoCo env in ``point_env``)."""
    base = env.unwrapped
    base = getattr(base, "goal_env", base).unwrapped  # a flat rl-lr robotics env
    return float(getattr(base, "point_env", base).dt)


def steps_per_second(env: Any, actions: np.ndarray, episode: int, seed: int) -> float:
    """Time ``env.step`` over ``actions``; reset (untimed) every ``episode`` steps or at end."""
    env.reset(seed=seed)
    elapsed, since_reset = 0.0, 0
    for action in actions:
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        elapsed += time.perf_counter() - start
        since_reset += 1
        if terminated or truncated or since_reset == episode:
            env.reset()
            since_reset = 0
    return len(actions) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20_000)
    args = parser.parse_args()
    gym.register_envs(gymnasium_robotics)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1.0, 1.0, size=(args.steps, 2)).astype(np.float32)

    for pairing, (nav_id, maze_id) in PAIRS.items():
        unwrapped = pairing == "unwrapped"
        envs = {env_id: make(env_id, unwrapped) for env_id in (nav_id, maze_id)}
        dts = {env_id: sim_dt(env) for env_id, env in envs.items()}
        for env_id, env in envs.items():  # warm-up
            steps_per_second(env, actions[:1000], EPISODE[env_id], seed=0)
        ratios, rates = [], {env_id: [] for env_id in envs}
        for rep in range(args.reps):
            order = (nav_id, maze_id) if rep % 2 == 0 else (maze_id, nav_id)
            for env_id in order:
                rates[env_id].append(
                    steps_per_second(envs[env_id], actions, EPISODE[env_id], seed=rep)
                )
            ratios.append(rates[nav_id][-1] / rates[maze_id][-1])
        print(f"[{pairing}] {args.reps} interleaved reps x {args.steps} random-action steps")
        for env_id in envs:
            median = statistics.median(rates[env_id])
            print(f"  {env_id:<26s} {median:9.0f} steps/s  (dt {dts[env_id]:.2f} s: "
                  f"{median * dts[env_id]:7.0f} simulated s per wall s)")
        print(f"  ratio PointNav/PointMaze steps/s: median {statistics.median(ratios):.2f}x "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
        for env in envs.values():
            env.close()


if __name__ == "__main__":
    main()
