"""The ``rl-lr`` command.

Errors in what the user typed print one line on stderr and exit with code 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rl_lr.cli.args import Parser, positive_int
from rl_lr.errors import EXIT_USAGE, SpecError, UsageError
from rl_lr.plugins import import_plugin
from rl_lr.schedules import POLICIES

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="rl-lr",
        description="Learning-rate policies for reinforcement learning (Stable-Baselines3).",
        epilog="Example: rl-lr lr 'cosine(3e-4, warmup=0.05)' --points 11",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--import", dest="imports", action="append", default=[], metavar="MODULE_OR_FILE",
        help="import a module or .py file first, e.g. one that registers your own LR policy "
        "(repeatable)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True

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
        help="list LR policies, reward perturbations or benchmark envs, one line each",
        description="List every registered name of a kind with its signature and summary.",
        epilog="Example: rl-lr list perturbations",
    )
    listing.add_argument("kind", nargs="?", default="policies",
                         choices=["policies", "perturbations", "envs"])

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

    from rl_lr.cli.train import add_parser as add_train_parser  # heavy imports are lazy

    add_train_parser(commands)
    from rl_lr.cli.bench import add_parser as add_bench_parser

    add_bench_parser(commands)
    from rl_lr.cli.report import add_parsers as add_plot_parsers

    add_plot_parsers(commands)
    from rl_lr.cli.tune import add_parsers as add_tune_parsers

    add_tune_parsers(commands)
    return parser


def _cmd_lr(args: argparse.Namespace) -> None:
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
        from rl_lr.plots import plot_lr_policy, save_figure

        save_figure(plot_lr_policy(policy, total_steps=args.total_steps, log_scale=args.log),
                    args.plot)
        print(f"plot: {args.plot}", file=sys.stderr)


def _cmd_list(args: argparse.Namespace) -> None:
    if args.kind == "perturbations":
        from rl_lr.envs import PERTURBATIONS

        print("\n".join(PERTURBATIONS.describe()))
    elif args.kind == "envs":
        from rl_lr.envs.suites import describe_envs

        print("\n".join(describe_envs()))
    else:
        print("\n".join(POLICIES.describe()))


def _cmd_demo(args: argparse.Namespace) -> None:
    from rl_lr.cli.demo import run_demo

    outputs = run_demo(args.out, total_timesteps=args.steps, seed=args.seed, quiet=False)
    summary = json.loads(outputs["summary"].read_text())
    print(f"demo: {summary['timesteps']} steps, final eval return "
          f"{summary['final_eval_return']:.1f} (best {summary['best_eval_return']:.1f})")
    print("demo outputs:")
    for name, path in outputs.items():
        print(f"  {name}: {path}")


def _cmd_train(args: argparse.Namespace) -> None:
    from rl_lr.cli.train import run_command

    code = run_command(args)
    if code:
        raise SystemExit(code)


def _cmd_bench(args: argparse.Namespace) -> None:
    from rl_lr.cli.bench import run_command

    code = run_command(args)
    if code:
        raise SystemExit(code)


def _cmd_plot(args: argparse.Namespace) -> None:
    from rl_lr.cli.report import run_plot

    code = run_plot(args)
    if code:
        raise SystemExit(code)


def _cmd_report(args: argparse.Namespace) -> None:
    from rl_lr.cli.report import run_report

    code = run_report(args)
    if code:
        raise SystemExit(code)


def _cmd_tune(args: argparse.Namespace) -> None:
    """``tune``, ``find-lr`` and ``pbt``."""
    from rl_lr.cli.tune import run_command

    code = run_command(args)
    if code:
        raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rl-lr`` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        for target in args.imports:
            import_plugin(target)
        commands = {"lr": _cmd_lr, "list": _cmd_list, "demo": _cmd_demo, "train": _cmd_train,
                    "bench": _cmd_bench, "plot": _cmd_plot, "report": _cmd_report,
                    "tune": _cmd_tune, "find-lr": _cmd_tune, "pbt": _cmd_tune}
        commands[args.command](args)
    except (UsageError, SpecError) as err:
        print(f"rl-lr: error: {err}" if isinstance(err, SpecError) else err, file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
