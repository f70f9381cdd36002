"""``rl-lr plot`` and ``rl-lr report``: the figures and the HTML report of an experiment
directory (:mod:`rl_lr.report`). Both work on an experiment still running."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from rl_lr import schema
from rl_lr.cli.args import check_output_path
from rl_lr.errors import UsageError

__all__ = ["KINDS", "add_parsers", "run_plot", "run_report"]

# the keys of rl_lr.report.figures.FIGURES (tests/test_report.py checks they agree), kept
# here so that `rl-lr --help` does not import matplotlib
KINDS = ("curves", "lr", "diagnostics", "aggregates", "stability", "profiles", "improvement",
         "heatmap", "base_lr", "dose")
FORMATS = (".png", ".svg", ".pdf")


def _dpi(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 150:
        raise argparse.ArgumentTypeError(f"expected a resolution >= 150 dpi, got {value}")
    return value


def add_parsers(commands: Any) -> None:
    """Add ``plot`` and ``report`` to the ``rl-lr`` sub-commands."""
    plot = commands.add_parser(
        "plot",
        help="draw one figure of an experiment directory (PNG + SVG)",
        description="Draw one figure of an experiment directory written by rl-lr bench (also "
        "while it runs: partial results are marked). Kinds: curves (clean eval return with "
        "the applied LR below, per env x perturbation), lr (applied LR, at every update where the "
        "runs recorded it), diagnostics (loss, approx. KL, clip fraction, gradient norm and "
        "entropy beside the LR), aggregates (IQM, "
        "mean, median, optimality gap with CIs), stability (Chan et al. metrics and "
        "sensitivity), profiles (performance profiles), improvement (probability of "
        "improvement), heatmap (normalised IQM, policy x condition), base_lr (each "
        "policy's score against the base LR it started from, for an experiment with a "
        "base_lr axis), dose (each policy's score and the fraction of its clean score it "
        "keeps against the dose of a perturbation, for an experiment with a dose axis).",
        epilog="Example: rl-lr plot runs/smoke --kind curves --out curves.png",
    )
    plot.add_argument("dir", type=Path, help="experiment directory (rl-lr bench --out)")
    plot.add_argument("--kind", required=True, choices=KINDS, help="which figure")
    plot.add_argument("--env", action="extend", nargs="+", default=None, metavar="ENV",
                      help="only these envs (repeatable); colours stay those of the whole "
                      "experiment")
    plot.add_argument("--out", type=Path, default=None,
                      help="output file, .png (an .svg is written next to it), .svg or .pdf "
                      "(default: DIR/plots/KIND.png)")
    plot.add_argument("--dpi", type=_dpi, default=150, help="PNG resolution (>= 150)")
    plot.add_argument("--compact", action="store_true",
                      help="a 256-colour PNG, about 3x smaller (for READMEs and web pages)")

    report = commands.add_parser(
        "report",
        help="write DIR/report/index.html: ranking, figures, failed runs, how to reproduce",
        description="Write a static HTML report of an experiment directory (no network needed "
        "to view it): the experiment, policies ranked with confidence intervals, every "
        "figure with a reading guide, failed and diverged runs, and the command that "
        "reproduces it. rl-lr bench writes it at the end of every experiment.",
        epilog="Example: rl-lr report runs/smoke",
    )
    report.add_argument("dir", type=Path, help="experiment directory (rl-lr bench --out)")


def _load(command: str, directory: Path, envs: list[str] | None = None) -> Any:
    from rl_lr.results import ResultsError, load_results  # NumPy, SciPy: not for --help

    try:
        data = load_results(directory)
    except ResultsError as err:
        raise UsageError(f"rl-lr {command}: {err}") from None
    if envs:
        known = sorted({row.get("env", "") for row in data.summary})
        unknown = [e for e in envs if e not in known]
        if unknown:
            raise UsageError(f"rl-lr {command}: --env {', '.join(unknown)}: not in this "
                             "experiment's finished runs "
                             f"(known: {', '.join(known) or 'none yet'})")
        data = data.select(envs)
    return data


def run_plot(args: argparse.Namespace) -> int:
    """Draw the figure; return the exit code (0 drawn, 1 nothing to draw yet)."""
    # matplotlib, SciPy: not for `rl-lr --help`
    from rl_lr.plots import save_figure
    from rl_lr.report.figures import make_figure
    from rl_lr.results import ResultsError

    out: Path | None = args.out
    if out is not None and out.suffix.lower() not in FORMATS:
        raise UsageError(f"rl-lr plot: --out must end in {', '.join(FORMATS)}, got "
                         f"{str(out)!r}")
    data = _load("plot", args.dir, args.env)
    if out is None:
        suffix = "-" + "-".join(re.sub(r"[^\w.-]+", "_", e) for e in args.env) if args.env else ""
        out = args.dir / "plots" / f"{args.kind}{suffix}.png"
        check_output_path("rl-lr plot:", out, directory=False)
    try:
        figure = make_figure(data, args.kind)
    except ResultsError as err:
        print(f"rl-lr plot: nothing to draw: {err}", file=sys.stderr)
        return 1
    save_figure(figure, out, dpi=args.dpi, svg=out.suffix.lower() == ".png",
                compact=args.compact)
    written = [out] + ([out.with_suffix(".svg")] if out.suffix.lower() == ".png" else [])
    if data.partial:
        print(f"rl-lr plot: {data.status} (figure marked as partial)", file=sys.stderr)
    print("\n".join(str(p) for p in written))
    return 0


def run_report(args: argparse.Namespace) -> int:
    """Write the report; return the exit code (0 written, 1 a figure failed unexpectedly)."""
    from rl_lr.report import write_report  # matplotlib: not for `rl-lr --help`

    data = _load("report", args.dir)
    check_output_path("rl-lr report:", args.dir / schema.REPORT_DIR / schema.REPORT_FIGURES,
                      directory=True)
    report = write_report(args.dir, data=data)
    if data.partial:
        print(f"rl-lr report: {data.status}", file=sys.stderr)
    for kind, why in report.missing.items():
        print(f"rl-lr report: {kind} not drawn: {why}", file=sys.stderr)
    for kind, error in report.errors.items():
        print(f"rl-lr report: {kind} failed: {error}", file=sys.stderr)
    print(report.path)
    return 1 if report.errors else 0
