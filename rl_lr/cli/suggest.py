"""``rl-lr suggest --env E --algo A [--from DIR...]``: a starting LR policy and a search space for
a task, from past runs (:mod:`rl_lr.experience.suggest`), with the evidence; and
:func:`warm_start`, the suggestion ``rl-lr tune``, ``find-lr`` and ``pbt`` start from with
``--warm-start DIR...``.

The start spec is the first line on stdout; the rest (best configurations or the prior, the
space, the evidence) follows; ``--space-out FILE`` writes the space as a ``rl-lr tune
--space`` file. Without ``--from``, the repository's committed ``results/`` is read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from rl_lr.errors import UsageError

__all__ = ["add_parser", "run_command", "warm_start"]


def add_parser(commands: Any) -> None:
    """Add ``suggest`` to the ``rl-lr`` sub-command parsers."""
    parser = commands.add_parser(
        "suggest",
        help="a starting LR policy and a search space for a task, learned from past runs",
        description="Read past runs (rl-lr runs DIR...) and propose an LR policy and an "
        "rl-lr tune search space for --algo on --env: the same task's best configurations "
        "where there are runs of it, otherwise a prior learned across envs (good base LRs of "
        "the algorithm, which policy families did well), with the evidence.",
        epilog="Example: rl-lr suggest --env rl_lr/PointNav-v0 --algo ppo --from results "
        "--space-out space.yaml",
    )
    parser.add_argument("--env", required=True, help="Gymnasium env id of the new task")
    parser.add_argument("--algo", required=True, help="ppo, a2c, sac, td3, ddpg, dqn, ...")
    parser.add_argument("--preset", default=None,
                        help="prefer runs with this preset (default: any)")
    parser.add_argument("--from", dest="sources", nargs="+", type=Path, metavar="DIR",
                        help="directories of past runs (default: the repository's results/)")
    parser.add_argument("--top", type=int, default=5, metavar="K",
                        help="configurations listed and starts proposed (default 5)")
    parser.add_argument("--space-out", type=Path, metavar="FILE",
                        help="write the suggested search space (an rl-lr tune --space file)")


def warm_start(sources: Sequence[Path] | None, env: str, algo: str,
               preset: str | None = None, top: int = 5) -> Any:
    """The :class:`~rl_lr.experience.suggest.Suggestion` for a task from ``sources`` (default:
    the repository's ``results/``)."""
    # Lazy: the index imports the LR core (torch); keeps `rl-lr --help` fast
    from rl_lr.experience.index import index_runs
    from rl_lr.experience.suggest import DEFAULT_FROM, suggest

    if not sources:
        if not DEFAULT_FROM.is_dir():
            raise UsageError(f"rl-lr: no --from given and no {DEFAULT_FROM} (the repository's "
                             "results); give --from DIR...")
        sources = [DEFAULT_FROM]
    return suggest(index_runs(sources), env, algo, preset, top)


def run_command(args: argparse.Namespace) -> int:
    """Print the suggestion (or "no relevant experience"); write ``--space-out``."""
    # Lazy: the space parser imports the LR core; keeps `rl-lr --help` fast
    from rl_lr.agents import resolve
    from rl_lr.files import write_yaml
    from rl_lr.tuning.space import parse_space

    if args.top < 1:
        raise UsageError(f"rl-lr suggest: --top must be >= 1, got {args.top}")
    # a typo or an impossible pair (sac on CartPole-v1) is an error, not "no experience"
    resolve(args.algo, args.env, preset=args.preset or "default")
    found = warm_start(args.sources, args.env, args.algo, args.preset, args.top)
    if found.empty:
        print("\n".join(found.describe()))
        if args.space_out:
            print(f"rl-lr: suggest: no space to write to {args.space_out}", file=sys.stderr)
        return 0
    lines = found.describe()
    print(f"{found.start}\n" + "\n".join(lines))
    if found.space:
        parse_space(found.space, "the suggested space")  # valid for rl-lr tune, or SpecError
        print("search space (rl-lr tune --space):")
        text = yaml.safe_dump(found.space, sort_keys=False, default_flow_style=None)
        print("  " + text.rstrip().replace("\n", "\n  "))
        if args.space_out:
            write_yaml(args.space_out, found.space,
                       f"rl-lr suggest --env {args.env} --algo {args.algo}: the search space "
                       f"from {found.basis} experience.")
            print(f"rl-lr: suggest: search space written to {args.space_out}", file=sys.stderr)
    return 0
