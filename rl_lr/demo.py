"""The default demo: one small PPO agent on CartPole-v1 with a cosine LR (with warm-up),
evaluated on a separate clean env, written as ``progress.csv`` and ``lr.png``.

Hyper-parameters are rl-baselines3-zoo's tuned PPO CartPole-v1 values (8 envs, n_steps 32,
batch 256, gamma 0.98, gae_lambda 0.8, n_epochs 20, peak lr 1e-3), with the zoo's linear LR
decay replaced by ``cosine(1e-3, warmup=0.05)`` and a shorter budget. The evaluation harness
(``rl-lr bench``) will replace this demo with a small sweep.
"""

from __future__ import annotations

import csv
from pathlib import Path

from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import rl_lr
from rl_lr.evaluation import EvalRecorder
from rl_lr.plots import new_axes, plot_lr_curve, save_figure
from rl_lr.sb3 import silence_logger

__all__ = ["run_demo"]

DEMO_LR = "cosine(1e-3, warmup=0.05)"


def run_demo(out: Path, total_timesteps: int = 40_000, seed: int = 1) -> dict[str, Path]:
    """Train, evaluate and write the demo's outputs into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=seed + 10_000)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=32,  # rollout length per env (zoo)
        batch_size=256,  # minibatch size (zoo)
        gamma=0.98,  # discount (zoo)
        gae_lambda=0.8,  # GAE lambda (zoo)
        n_epochs=20,  # passes over each rollout (zoo)
        ent_coef=0.0,
        seed=seed,
        device="cpu",
    )
    rl_lr.attach(model, DEMO_LR, total_timesteps=total_timesteps)
    recorder = EvalRecorder(eval_env, eval_every=total_timesteps // 10, n_episodes=10)
    silence_logger(model)
    model.learn(total_timesteps, callback=recorder)

    progress_csv = out / "progress.csv"
    rows = recorder.as_dicts()
    with progress_csv.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    ax = new_axes(7, 4)
    steps = [r["timesteps"] for r in rows]
    plot_lr_curve(steps, [r["lr"] for r in rows], ax, xlabel="timesteps", label="applied LR")
    ax.set_title(f"PPO CartPole-v1, {DEMO_LR}, seed {seed}", fontsize=9)
    returns = ax.twinx()
    returns.plot(steps, [r["eval_return_mean"] for r in rows], color="tab:orange", marker="o")
    returns.set_ylabel("clean eval return", color="tab:orange")
    lr_png = out / "lr.png"
    save_figure(ax, lr_png)
    return {"progress": progress_csv, "plot": lr_png}
