"""The ``rl-lr`` command: the top layer. This module assembles the parser from one module per
command family and dispatches; each command's own module holds its arguments and its work:

- :mod:`.lr`: ``rl-lr lr`` (preview a policy) and ``rl-lr list``;
- :mod:`.demo`: ``rl-lr demo``;
- :mod:`.train`: ``rl-lr train`` (one run, ``--resume``);
- :mod:`.evaluate`: ``rl-lr evaluate`` (play a saved agent, record a video);
- :mod:`.bench`: ``rl-lr bench`` (run an experiment);
- :mod:`.report`: ``rl-lr plot`` and ``rl-lr report`` (an experiment directory's figures and page);
- :mod:`.tune`: ``rl-lr tune``, ``rl-lr find-lr`` and ``rl-lr pbt``;
- :mod:`.runs`: ``rl-lr runs`` (one table of past runs); :mod:`.suggest`: ``rl-lr suggest``.

Errors in what the user typed print one line on stderr and exit with code 2, never a
traceback. A command module imports the heavy layers (SB3 runs, matplotlib, Optuna, Ray) inside
its command function, so that ``rl-lr --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rl_lr.cli import bench, demo, evaluate, lr, report, runs, suggest, train, tune
from rl_lr.cli.args import Parser, check_output_path
from rl_lr.errors import EXIT_USAGE, SpecError, UsageError
from rl_lr.plugins import import_plugin

__all__ = ["COMMANDS", "build_parser", "main"]

# Each sub-command's function: takes the parsed arguments, returns the exit code.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "lr": lr.run_lr, "list": lr.run_list, "demo": demo.run_command,
    "train": train.run_command, "evaluate": evaluate.run_command, "bench": bench.run_command,
    "plot": report.run_plot, "report": report.run_report,
    "tune": tune.run_command, "find-lr": tune.run_command, "pbt": tune.run_command,
    "runs": runs.run_command, "suggest": suggest.run_command,
}
# Commands whose --out is a directory they create (the others' --out is a file).
DIRECTORY_OUTPUTS = frozenset({"demo", "train", "bench", "tune", "find-lr", "pbt"})
# Other options naming a file a command writes (checked like --out before it runs).
FILE_OUTPUTS = ("plot", "space_out", "video")


def build_parser() -> argparse.ArgumentParser:
    """The ``rl-lr`` parser (sub-commands from their modules)."""
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
    lr.add_parsers(commands)
    demo.add_parser(commands)
    train.add_parser(commands)
    evaluate.add_parser(commands)
    bench.add_parser(commands)
    report.add_parsers(commands)
    tune.add_parsers(commands)
    runs.add_parser(commands)
    suggest.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rl-lr`` console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        for target in args.imports:
            import_plugin(target)
        out = getattr(args, "out", None)
        if isinstance(out, Path):
            check_output_path(f"rl-lr {args.command}: --out", out,
                              directory=args.command in DIRECTORY_OUTPUTS)
        for flag in FILE_OUTPUTS:  # lr --plot, suggest --space-out, evaluate --video
            if isinstance(getattr(args, flag, None), Path):
                check_output_path(f"rl-lr {args.command}: --{flag.replace('_', '-')}",
                                  getattr(args, flag), directory=False)
        code = COMMANDS[args.command](args)
    except (UsageError, SpecError) as err:
        print(f"rl-lr: error: {err}" if isinstance(err, SpecError) else err, file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
