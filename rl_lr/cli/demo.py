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

For an experiment (many runs, policies compared with confidence intervals) use
``rl-lr bench`` (``make demo`` runs ``rl-lr bench --suite quick``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rl_lr.cli.args import positive_int
from rl_lr.errors import SpecError
from rl_lr.files import read_csv
from rl_lr.run import TrainConfig, train
from rl_lr.schema import CONFIG_YAML, EVAL_RETURN_MEAN, LR, PROGRESS_CSV, SUMMARY_JSON, TIMESTEPS

__all__ = ["DEMO_LR", "add_parser", "run_command", "run_demo"]

DEMO_LR = "cosine(1e-3, warmup=0.05)"


def add_parser(commands: Any) -> None:
    """Add ``demo`` to the ``rl-lr`` sub-commands."""
    demo = commands.add_parser(
        "demo",
        help="train one small PPO agent with a cosine LR and write its run files and LR plot",
        description="Train PPO on CartPole-v1 (tuned preset) with cosine(1e-3, warmup=0.05) "
        "through rl-lr train's path; write the run's config.yaml, progress.csv, summary.json, "
        "timing.csv and lr.png (applied LR and clean eval return) into --out (new or empty).",
        epilog="Example: rl-lr demo --out runs/demo",
    )
    demo.add_argument("--out", type=Path, default=Path("runs/demo"), help="output directory")
    demo.add_argument("--steps", type=positive_int, default=40_000, help="training budget")
    demo.add_argument("--seed", type=int, default=1, help="random seed")


def run_command(args: argparse.Namespace) -> int:
    """Run the demo and print where its files are; return the exit code."""
    outputs = run_demo(args.out, total_timesteps=args.steps, seed=args.seed, quiet=False)
    summary = json.loads(outputs["summary"].read_text())
    print(f"demo: {summary['timesteps']} steps, final eval return "
          f"{summary['final_eval_return']:.1f} (best {summary['best_eval_return']:.1f})")
    print("demo outputs:")
    for name, path in outputs.items():
        print(f"  {name}: {path}")
    return 0


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
    from rl_lr.plots import new_axes, plot_lr_curve, save_figure  # matplotlib: not for --help

    progress_csv = out / PROGRESS_CSV
    rows = read_csv(progress_csv)

    ax = new_axes(7, 4)
    steps = [int(r[TIMESTEPS]) for r in rows]
    plot_lr_curve(steps, [float(r[LR]) for r in rows], ax, xlabel="timesteps",
                  label="applied LR")
    ax.set_title(f"PPO CartPole-v1, {DEMO_LR}, seed {seed}", fontsize=9)
    returns = ax.twinx()
    returns.plot(steps, [float(r[EVAL_RETURN_MEAN]) for r in rows], color="tab:orange",
                 marker="o")
    returns.set_ylabel("clean eval return", color="tab:orange")
    lr_png = out / "lr.png"
    save_figure(ax, lr_png)
    return {"run": out, "config": out / CONFIG_YAML, "progress": progress_csv,
            "summary": out / SUMMARY_JSON, "plot": lr_png}
