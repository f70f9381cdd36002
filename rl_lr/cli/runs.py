"""``rl-lr runs DIR... [--where EXPR] [--csv]``: one table of every finished run in any number of
experiment, range-test, study, PBT and run directories (:mod:`rl_lr.experience.index`), selected
with the ``--where`` mini-language (:mod:`rl_lr.experience.query`), as an aligned table or CSV
on stdout. A path that is not an rl-lr output directory, or a malformed one, is one line on
stderr naming it, exit code 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from rl_lr.cli.args import positive_int

__all__ = ["TABLE_COLUMNS", "add_parser", "run_command"]

TABLE_COLUMNS = ("kind", "env", "algo", "preset", "steps", "lr_spec", "perturb", "optimizer",
                 "seed", "final_eval_return", "eval_auc", "steps_to_threshold", "diverged",
                 "wall_time_s")
CELL = 44  # widest cell of the table (--csv: whole)


def add_parser(commands: Any) -> None:
    """Add ``runs`` to the ``rl-lr`` sub-command parsers."""
    parser = commands.add_parser(
        "runs",
        help="one table of past runs from experiment, find-lr, tune, pbt and run directories",
        description="Index every finished run in the given directories (searched below for "
        "rl-lr outputs: results/ holds several) into one table: env, algo, preset, budget, LR "
        "policy and its arguments, perturbation, optimizer, seed, scores and cost. --where "
        "selects rows with terms COLUMN OP VALUE (OP: = != < <= > >= ~; = takes a,b "
        "alternatives and * wildcards), all of which must hold.",
        epilog="Example: rl-lr runs results --where 'env=CartPole-v1 algo=ppo eval_auc>400' "
        "--sort eval_auc --desc --limit 10",
    )
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR",
                        help="rl-lr output directories (or directories holding them)")
    parser.add_argument("--where", action="append", default=[], metavar="EXPR",
                        help="keep rows where every term holds, e.g. 'env=CartPole-v1 "
                        "algo=ppo perturb!=clean' (repeatable)")
    parser.add_argument("--csv", action="store_true",
                        help="CSV with every column (pandas.read_csv loads it)")
    parser.add_argument("--columns", metavar="A,B,...",
                        help="columns to show (default: a readable subset; --csv: all)")
    parser.add_argument("--sort", metavar="COLUMN", help="sort by a column (empty cells last)")
    parser.add_argument("--desc", action="store_true", help="with --sort: largest first")
    parser.add_argument("--limit", type=positive_int, metavar="N", help="at most N rows")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    text = str(value)
    return text if len(text) <= CELL else text[: CELL - 3] + "..."


def _print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    cells = [[_text(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def run_command(args: argparse.Namespace) -> int:
    """Index, select, sort and print the runs; bad input raises SpecError (exit 2)."""
    # Lazy: the index imports the LR core (torch); keeps `rl-lr --help` fast
    from rl_lr.errors import SpecError
    from rl_lr.experience.index import COLUMNS, NUMERIC, index_runs
    from rl_lr.experience.query import parse_where, sort_rows

    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else \
        list(COLUMNS if args.csv else TABLE_COLUMNS)
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise SpecError(f"--columns: unknown {', '.join(unknown)}; columns: {', '.join(COLUMNS)}")
    test = parse_where(args.where, COLUMNS, NUMERIC)  # checked before reading any directory
    index = index_runs(args.dirs)
    rows = [r for r in index.rows if test(r)]
    if args.sort:
        rows = sort_rows(rows, args.sort, COLUMNS, descending=args.desc)
    if args.limit:
        rows = rows[: args.limit]
    if args.csv:
        index.replace(rows).write_csv(sys.stdout, columns)
    else:
        _print_table(rows, columns)
        print(f"rl-lr: runs: {len(rows)} of {len(index)} runs from {len(index.sources)} "
              "directories", file=sys.stderr)
    return 0
