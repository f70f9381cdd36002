"""``rl-lr lr`` (preview an LR policy as CSV, optionally a plot) and ``rl-lr list`` (every
registered LR policy, perturbation or benchmark env, one line each)."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from rl_lr.cli.args import positive_int
from rl_lr.errors import UsageError
from rl_lr.schedules import POLICIES

__all__ = ["add_parsers", "run_list", "run_lr"]


def add_parsers(commands: Any) -> None:
    """Add ``lr`` and ``list`` to the ``rl-lr`` sub-commands."""
    preview = commands.add_parser(
        "lr",
        help="preview an LR policy as CSV (progress,lr) and optionally a plot",
        description="Print an LR policy's value at K evenly spaced points of a run as CSV with "
        "the header 'progress,lr' (row i is at progress i/(K-1)).",
        epilog="Example: rl-lr lr 'sequence(constant(1e-3), cosine(1e-3), at=[0.5])' "
        "--total-steps 100000 --points 5 --plot lr.png --log",
    )
    preview.add_argument("spec", help="LR policy spec, e.g. 'cosine(3e-4, warmup=0.05)'")
    preview.add_argument(
        "--total-steps", type=positive_int, default=None,
        help="run length in env steps; the plot's x-axis is then timesteps",
    )
    preview.add_argument(
        "--points", type=positive_int, default=101, help="number of rows (>= 2, default 101)"
    )
    preview.add_argument("--plot", type=Path, default=None, help="also draw the curve to this PNG")
    preview.add_argument("--log", action="store_true", help="log-scale LR axis in the plot")

    listing = commands.add_parser(
        "list",
        help="list LR policies, perturbations, optimizers or benchmark envs, one line each",
        description="List every registered name of a kind with its signature and summary.",
        epilog="Example: rl-lr list perturbations",
    )
    listing.add_argument("kind", nargs="?", default="policies",
                         choices=["policies", "perturbations", "optimizers", "envs"])


def run_lr(args: argparse.Namespace) -> int:
    """Print the CSV (and draw the plot); return the exit code."""
    if args.points < 2:
        raise UsageError(f"rl-lr lr: --points must be >= 2, got {args.points}")
    policy = POLICIES.parse(args.spec)
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise UsageError(f"rl-lr lr: --plot must name a .png file, got {str(args.plot)!r}")
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["progress", "lr"])
    for i in range(args.points):
        progress = i / (args.points - 1)
        writer.writerow([repr(progress), repr(policy.value(progress))])
    if args.plot is not None:
        from rl_lr.plots import plot_lr_policy, save_figure  # matplotlib: only when plotting

        save_figure(plot_lr_policy(policy, total_steps=args.total_steps, log_scale=args.log),
                    args.plot)
        print(f"plot: {args.plot}", file=sys.stderr)
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print the names of one kind, one line each; return the exit code."""
    if args.kind == "perturbations":
        from rl_lr.envs import PERTURBATIONS  # gymnasium and MuJoCo: only for this listing

        print("\n".join(PERTURBATIONS.describe()))
    elif args.kind == "optimizers":
        # Lazy: torch and the optimizer packages load only for this listing
        from rl_lr.optimizer_arms import OPTIMIZERS

        print("\n".join(OPTIMIZERS.describe()))
    elif args.kind == "envs":
        from rl_lr.envs.suites import describe_envs  # gymnasium and MuJoCo: only for this

        print("\n".join(describe_envs()))
    else:
        print("\n".join(POLICIES.describe()))
    return 0
