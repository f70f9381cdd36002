"""PPO learns ``rl_lr/PointNav-v0``: success rate over a fixed set of evaluation episodes.

Not part of CI. Trains SB3 PPO (SB3 defaults except ``n_envs`` and the network, see below) on
``rl_lr/PointNav-v0`` with its default reward weights, and every ``--eval-every`` steps runs
the deterministic policy on the same ``--eval-episodes`` episodes (``reset(seed=10_000 + i)``,
a separate env, clean reward). Training stops once the success rate reaches ``--target``
(unless ``--no-stop``) or the budget ``--timesteps`` is spent. The curve is printed and, with
``--out``, written as JSON.

    python benchmarks/bench_pointnav_ppo.py [--timesteps 300000] [--n-envs 4] [--seed 0]
        [--eval-every 20000] [--eval-episodes 50] [--target 0.8] [--out curve.json]

Hyper-parameters: SB3 PPO defaults (lr 3e-4, n_steps 2048 per env, batch 64, 10 epochs,
gamma 0.99, gae_lambda 0.95, clip 0.2, ent_coef 0, 64x64 tanh MLP); ``--n-envs`` copies in a
``DummyVecEnv`` (one process). One torch thread.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

import rl_lr.envs  # noqa: F401  (registers rl_lr/PointNav-v0)

ENV_ID = "rl_lr/PointNav-v0"
EVAL_SEED = 10_000


def evaluate(model: PPO, episodes: int) -> dict[str, float]:
    """Deterministic policy on episodes ``reset(seed=EVAL_SEED + i)``; success rate and return."""
    env = gym.make(ENV_ID)
    successes, returns, lengths = [], [], []
    for i in range(episodes):
        obs, _ = env.reset(seed=EVAL_SEED + i)
        done, total, steps, info = False, 0.0, 0, {}
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
            steps += 1
            done = terminated or truncated
        successes.append(bool(info["is_success"]))
        returns.append(total)
        lengths.append(steps)
    env.close()
    return {
        "success_rate": float(np.mean(successes)),
        "mean_return": float(np.mean(returns)),
        "mean_length": float(np.mean(lengths)),
    }


class SuccessCurve(BaseCallback):
    """Evaluate every ``every`` steps; stop training once the success rate reaches ``target``."""

    def __init__(self, every: int, episodes: int, target: float, stop: bool) -> None:
        super().__init__()
        self.every, self.episodes, self.target, self.stop = every, episodes, target, stop
        self.curve: list[dict[str, Any]] = []
        self.reached_at: int | None = None
        self._next = every
        self._start = time.perf_counter()

    def _on_step(self) -> bool:
        if self.num_timesteps < self._next:
            return True
        self._next += self.every
        row = {"timesteps": self.num_timesteps, **evaluate(self.model, self.episodes),
               "wall_s": round(time.perf_counter() - self._start, 1)}
        self.curve.append(row)
        print(f"{row['timesteps']:>8d} steps  success {row['success_rate']:.2f}  "
              f"return {row['mean_return']:7.2f}  length {row['mean_length']:6.1f}  "
              f"({row['wall_s']:.0f} s)", flush=True)
        if row["success_rate"] >= self.target and self.reached_at is None:
            self.reached_at = self.num_timesteps
            return not self.stop
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=300_000)
    parser.add_argument("--n-envs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-every", type=int, default=20_000)
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument("--target", type=float, default=0.8)
    parser.add_argument("--no-stop", action="store_true", help="train the whole budget")
    parser.add_argument("--out", type=Path, default=None, help="write the curve as JSON")
    args = parser.parse_args()
    torch.set_num_threads(1)

    env = make_vec_env(ENV_ID, n_envs=args.n_envs, seed=args.seed)
    model = PPO("MlpPolicy", env, seed=args.seed, device="cpu", verbose=0)
    callback = SuccessCurve(args.eval_every, args.eval_episodes, args.target, not args.no_stop)
    start = time.perf_counter()
    model.learn(total_timesteps=args.timesteps, callback=callback)
    wall = time.perf_counter() - start
    final = callback.curve[-1] if callback.curve else evaluate(model, args.eval_episodes)
    summary = {
        "env": ENV_ID, "algo": "PPO (SB3 defaults)", "n_envs": args.n_envs, "seed": args.seed,
        "budget": args.timesteps, "trained_steps": model.num_timesteps,
        "eval_episodes": args.eval_episodes, "target": args.target,
        "reached_target_at": callback.reached_at, "final": final, "wall_s": round(wall, 1),
        "curve": callback.curve,
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "curve"}))
    if args.out is not None:
        args.out.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
