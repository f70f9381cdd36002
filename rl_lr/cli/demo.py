"""``rl-lr demo``: one short run, its files and its LR plot, to see what rl-lr does (a few
seconds with ``--steps 2560``, about 20 s on one core at the default 40,000 steps).

It trains PPO on CartPole-v1 through the one training path, :func:`rl_lr.run.train`, with
the tuned preset (rl-baselines3-zoo's PPO CartPole-v1 values: 8 envs, n_steps 32, batch 256,
gamma 0.98, gae_lambda 0.8, n_epochs 20, clip_range linear(0.2)) and its LR replaced by
``cosine(1e-3, warmup=0.05)`` over a shorter budget; the deterministic policy is evaluated on
10 clean episodes at step 0, about every tenth of the budget and at the end. ``out``
receives the run's own files (``config.yaml``, ``progress.csv``, ``summary.json``,
``timing.csv``; see :mod:`rl_lr.run`) and ``lr.png``, drawn from ``progress.csv``: the LR
actually applied and the clean eval return, against timesteps.

For a benchmark (many runs, policies compared with confidence intervals) use
``rl-lr bench`` (``make demo`` runs ``rl-lr bench --suite quick``).
"""

from __future__ import annotations

import csv
from pathlib import Path

from rl_lr.errors import SpecError
from rl_lr.plots import new_axes, plot_lr_curve, save_figure
from rl_lr.run import TrainConfig, train

__all__ = ["DEMO_LR", "run_demo"]

DEMO_LR = "cosine(1e-3, warmup=0.05)"


def run_demo(out: Path, total_timesteps: int = 40_000, seed: int = 1,
             quiet: bool = True) -> dict[str, Path]:
    """Train the demo run into ``out`` (new or empty), draw ``lr.png``; return the paths.

    Args:
        out: output directory (a directory holding anything is refused).
        total_timesteps: training budget in env steps.
        seed: run seed.
        quiet: no progress bar (it is also silent when stderr is not a terminal).

    Raises:
        SpecError: bad input, or ``out`` not empty (nothing written).
    """
    if out.exists() and any(out.iterdir()):
        raise SpecError(f"rl-lr demo: --out {out} is not empty (a demo ran there?); pass a new "
                        "--out or delete it")
    config = TrainConfig(env="CartPole-v1", algo="ppo", steps=total_timesteps, seed=seed,
                         lr=DEMO_LR, eval_every=max(1, total_timesteps // 10),
                         eval_episodes=10)
    train(config, out, quiet=quiet)
    progress_csv = out / "progress.csv"
    with progress_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))

    ax = new_axes(7, 4)
    steps = [int(r["timesteps"]) for r in rows]
    plot_lr_curve(steps, [float(r["lr"]) for r in rows], ax, xlabel="timesteps",
                  label="applied LR")
    ax.set_title(f"PPO CartPole-v1, {DEMO_LR}, seed {seed}", fontsize=9)
    returns = ax.twinx()
    returns.plot(steps, [float(r["eval_return_mean"]) for r in rows], color="tab:orange",
                 marker="o")
    returns.set_ylabel("clean eval return", color="tab:orange")
    lr_png = out / "lr.png"
    save_figure(ax, lr_png)
    return {"run": out, "config": out / "config.yaml", "progress": progress_csv,
            "summary": out / "summary.json", "plot": lr_png}
