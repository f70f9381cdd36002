"""rl-lr's cost over plain SB3: whole runs, side by side (issue "Run cost", item 2).

Three arms train the same task, seed and hyper-parameters, one torch thread each:

* ``SB3 learn()``: the model built directly from SB3's class (the preset's constructor
  arguments, a float learning rate, the same Monitor-wrapped ``DummyVecEnv``), then
  ``model.learn(steps)``;
* ``agents.make + learn()``: rl-lr's agent (optimizers, the LR hook with ``constant(lr)``);
* ``rl-lr train``: the whole run (``rl_lr.run.train``: callbacks, divergence check, progress
  and timing files, the console off) with its evaluation time left out (the run evaluates at
  step 0 and at the end, one episode each; their seconds come from ``timing.csv``).

Each arm's wall time covers building and training. Rounds interleave the arms, order rotating,
so that load drift on the shared machine hits all alike; the figure is the steps/s ratio to
the SB3 arm of the same round (median, min-max).

    python benchmarks/bench_train_overhead.py                     # ~15 min, both tasks
    python benchmarks/bench_train_overhead.py --tasks ppo-cartpole --rounds 7
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

from rl_lr.agents import ALGORITHMS, make, resolve
from rl_lr.agents.hyperparams import to_constructor_kwargs
from rl_lr.run import TrainConfig, train
from rl_lr.sb3 import silence_logger

TASKS: dict[str, dict[str, Any]] = {
    # experiments/standard.yaml's CartPole setting (zoo preset, its tuned constant), 30k steps
    "ppo-cartpole": {"env": "CartPole-v1", "algo": "ppo", "lr": 3.16e-3, "steps": 30_000},
    # its SAC setting (zoo preset = SB3's defaults): one gradient step per env step
    "sac-pendulum": {"env": "Pendulum-v1", "algo": "sac", "lr": 1e-3, "steps": 800},
}


def sb3_learn(task: dict[str, Any], seed: int) -> float:
    """SB3 alone: the preset's constructor arguments, a float LR; returns 0 (no evaluation)."""
    spec = resolve(task["algo"], task["env"], seed=seed, total_timesteps=task["steps"])
    env: VecEnv = DummyVecEnv([lambda: Monitor(gym.make(spec.env_id, **spec.env_kwargs))]
                              * spec.n_envs)
    if spec.normalize is not None:
        env = VecNormalize(env, **spec.normalize)
    model = ALGORITHMS[task["algo"]].cls(
        spec.policy, env, learning_rate=task["lr"], seed=seed, device="cpu",
        **to_constructor_kwargs(spec.hyperparams, env.action_space))
    silence_logger(model)
    model.learn(task["steps"])
    return 0.0


def make_learn(task: dict[str, Any], seed: int) -> float:
    """rl-lr's agent and LR hook, then ``learn()``; returns 0 (no evaluation)."""
    model = make(task["algo"], task["env"], f"constant({task['lr']})", seed=seed,
                 total_timesteps=task["steps"]).model
    silence_logger(model)
    model.learn(task["steps"])
    return 0.0


def rl_lr_train(task: dict[str, Any], seed: int) -> float:
    """The whole ``rl-lr train`` run; returns its evaluation seconds (``timing.csv``)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        train(TrainConfig(env=task["env"], algo=task["algo"], lr=f"constant({task['lr']})",
                          steps=task["steps"], seed=seed, eval_every=task["steps"],
                          eval_episodes=1), out, threads=1)
        with (out / "timing.csv").open() as stream:
            return sum(float(row["eval_time_s"]) for row in csv.DictReader(stream))


ARMS: dict[str, Callable[[dict[str, Any], int], float]] = {
    "SB3 learn()": sb3_learn,
    "agents.make + learn()": make_learn,
    "rl-lr train, evaluation left out": rl_lr_train,
}


def measure(name: str, rounds: int, seed: int) -> None:
    """Print the ratio table of task ``name``."""
    task = TASKS[name]
    warm = task | {"steps": 256}
    for run in ARMS.values():
        run(warm, seed)  # first-use costs (imports, allocator), charged to no arm
    names = list(ARMS)
    walls: dict[str, list[float]] = defaultdict(list)
    for index in range(rounds):
        for arm in names[index % len(names):] + names[:index % len(names)]:
            started = time.perf_counter()
            evaluation = ARMS[arm](task, seed)
            walls[arm].append(time.perf_counter() - started - evaluation)
        print(f"{name}: round {index + 1}/{rounds}, load {os.getloadavg()[0]:.1f}", flush=True)
    base = walls[names[0]]
    print(f"\n{task['algo'].upper()} {task['env']}, {task['steps']} steps, seed {seed}, "
          f"{rounds} rounds\n")
    print("| arm | wall s (median) | steps/s ratio to SB3 learn() (median, min-max) |")
    print("|---|---:|---:|")
    for arm in names:
        ratios = [b / w for b, w in zip(base, walls[arm], strict=True)]
        print(f"| {arm} | {statistics.median(walls[arm]):.2f} | {statistics.median(ratios):.3f} "
              f"({min(ratios):.3f}-{max(ratios):.3f}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", choices=sorted(TASKS), default=list(TASKS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    for name in args.tasks:
        measure(name, args.rounds, args.seed)


if __name__ == "__main__":
    main()
