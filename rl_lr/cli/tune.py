"""``rl-lr tune``, ``rl-lr find-lr`` and ``rl-lr pbt``: the command lines of
:mod:`rl_lr.tuning.study`, :mod:`rl_lr.tuning.find_lr` and :mod:`rl_lr.tuning.pbt`.

Bad input (a malformed search space, an empty or inverted range, an unreachable storage)
raises :class:`~rl_lr.SpecError`: one line on stderr, exit code 2, nothing written to
``--out``. The result goes to stdout (the best spec, the suggested specs), the rest to
stderr; Ctrl-C exits 130 (a study keeps every finished trial: run the command again).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rl_lr.cli.args import non_negative_int, positive_int
from rl_lr.cli.suggest import warm_start
from rl_lr.cli.train import overrides_from_pairs
from rl_lr.errors import UsageError
from rl_lr.tuning.space import load_space, parse_space

__all__ = ["COMMANDS", "add_parsers", "run_command"]

COMMANDS = ("tune", "find-lr", "pbt")


def _run_options(parser: Any, *, n_envs: bool = True) -> None:
    """The options every command shares with ``rl-lr train``."""
    parser.add_argument("--env", required=True, help="Gymnasium env id, e.g. CartPole-v1")
    parser.add_argument("--algo", required=True, help="ppo, a2c, sac, td3, ddpg, dqn, ...")
    parser.add_argument("--steps", type=positive_int, required=True,
                        help="training budget of each run (each member for pbt) in env steps")
    parser.add_argument("--eval-episodes", type=positive_int, default=10, metavar="E",
                        help="episodes per clean evaluation (default 10)")
    if n_envs:
        parser.add_argument("--n-envs", type=positive_int, help="training envs (default: preset)")
    parser.add_argument("--preset", default="default", choices=["default", "sb3"],
                        help="tuned preset (default) or SB3's defaults")
    parser.add_argument("--perturb", metavar="SPEC", help="reward perturbation(s) for training")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a hyper-parameter (YAML value), e.g. --set n_steps=64")
    parser.add_argument("--out", type=Path, help="output directory")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _first_seed(parser: argparse.ArgumentParser, unit: str) -> None:
    parser.add_argument("--first-seed", type=non_negative_int, default=0, metavar="N",
                        help=f"each {unit} trains seeds N..N+K-1 (default 0): start past the "
                        "seeds an experiment scores, so the choice is made on seeds never scored")


def add_parsers(commands: Any) -> None:
    """Add ``tune``, ``find-lr`` and ``pbt`` to the ``rl-lr`` sub-command parsers."""
    tune = commands.add_parser(
        "tune",
        help="Optuna search over LR policies and their arguments (resumable study)",
        description="An Optuna study over the LR policies of a search-space YAML (see "
        "rl_lr.tuning.space): each trial trains --seeds runs, scored by the mean clean eval AUC "
        "or final return, pruned on intermediate evaluations. Writes best.txt, trials.csv, "
        "history.png, importance.png and study.yaml into --out; prints the best spec. The "
        "same command again continues the study up to --trials.",
        epilog="Example: rl-lr tune --env CartPole-v1 --algo ppo --space space.yaml "
        "--trials 50 --steps 50000 --seeds 3 --out runs/tune",
    )
    tune.add_argument("--space", type=Path,
                      help="search-space YAML file (with --warm-start: default the learned one)")
    tune.add_argument("--trials", type=positive_int, required=True,
                      help="finished trials the study should hold (earlier ones count)")
    _run_options(tune)
    tune.add_argument("--seeds", type=positive_int, default=1, metavar="K",
                      help="K seeds per trial, the same for every trial (default 1)")
    _first_seed(tune, "trial")
    tune.add_argument("--objective", choices=["auc", "final"], default="auc",
                      help="mean over seeds of the eval AUC (default) or final eval return")
    tune.add_argument("--storage", metavar="URL",
                      help="Optuna RDB URL shared by many machines, e.g. "
                      "postgresql://user@host/db (default: sqlite:///OUT/study.db)")
    tune.add_argument("--study-name", help="default rl-lr-<env>-<algo>")
    tune.add_argument("--pruner", choices=["median", "halving", "none"], default="median",
                      help="median (default, after 5 trials), successive halving, or none")
    tune.add_argument("--reports", type=positive_int, default=4,
                      help="intermediate reports (pruning points) per run (default 4)")
    tune.add_argument("--workers", type=positive_int, default=1,
                      help="trials in parallel on this machine (processes, default 1)")
    tune.add_argument("--eval-every", type=positive_int, metavar="STEPS",
                      help="steps between clean evaluations (default: steps / 20)")
    tune.add_argument("--sampler-seed", type=int, default=0, help="TPE sampler seed")
    tune.add_argument("--warm-start", nargs="+", type=Path, metavar="DIR",
                      help="past runs (rl-lr runs DIR...): a new study first tries their best "
                      "configurations for this task (rl-lr suggest), in the learned space "
                      "unless --space is given")

    finder = commands.add_parser(
        "find-lr",
        help="LR range test: short runs over a log grid of constant LRs, AUC vs LR with CIs",
        description="Train --seeds short runs at each of --points constant LRs log-spaced in "
        "[--min, --max] (through the bench harness), plot the eval AUC against the LR with "
        "bootstrap CIs and suggest an LR and a [low, high] range for cyclical policies. "
        "Writes find_lr.csv, find_lr.png and suggestion.json into --out.",
        epilog="Example: rl-lr find-lr --env CartPole-v1 --algo ppo --min 1e-5 --max 1e-1 "
        "--points 9 --steps 20000 --seeds 3",
    )
    _run_options(finder)
    finder.add_argument("--min", type=float, default=None, dest="min_lr",
                        help="smallest LR (default 1e-6)")
    finder.add_argument("--max", type=float, default=None, dest="max_lr",
                        help="largest LR (default 1e-1)")
    finder.add_argument("--warm-start", nargs="+", type=Path, metavar="DIR",
                        help="centre the grid on the LR rl-lr suggest gives from these past "
                        "runs (a decade each way at least; replaces --min/--max)")
    finder.add_argument("--points", type=positive_int, default=8, help="LRs on the grid (>= 2)")
    finder.add_argument("--seeds", type=positive_int, default=3, metavar="K",
                        help="K seeds per LR (default 3)")
    _first_seed(finder, "LR")
    finder.add_argument("--eval-every", type=positive_int, metavar="STEPS",
                        help="steps between clean evaluations (default: steps / 20)")
    finder.add_argument("--workers", type=positive_int, default=None,
                        help="parallel runs (default: all cores)")
    finder.add_argument("--backend", choices=["local", "ray"], default="local",
                        help="local process pool (default) or Ray tasks")
    finder.add_argument("--ray-address", default=None, help="an existing Ray cluster")

    pbt = commands.add_parser(
        "pbt",
        help="population-based training of the LR (Ray actors); counts every member's steps",
        description="Train a population with PBT (exploit: copy the weights, optimizer "
        "states and LR of a top member; explore: resample or perturb the LR in log space "
        "within [min_lr, max_lr]). Writes the best member's lineage (progress.csv), "
        "summary.json with total_env_steps, members.csv, events.csv and lr.png into --out.",
        epilog="Example: rl-lr pbt 'pbt(population=4, interval=4096)' --env CartPole-v1 "
        "--algo ppo --steps 50000 --out runs/pbt",
    )
    pbt.add_argument("method", nargs="?", default="pbt()",
                     help="pbt(population=4, interval=2048, min_lr=1e-5, max_lr=1e-2, ...)")
    _run_options(pbt)
    pbt.add_argument("--seed", type=int, default=0, help="population seed (default 0)")
    pbt.add_argument("--ray-address", default=None,
                     help="an existing Ray cluster (default: start a local one)")
    pbt.add_argument("--num-cpus", type=positive_int, default=None,
                     help="CPUs of the local Ray cluster (default: all cores)")
    pbt.add_argument("--warm-start", nargs="+", type=Path, metavar="DIR",
                     help="draw the initial LRs from the good LRs of these past runs (rl-lr "
                     "suggest); min_lr/max_lr widen to hold them")


def _say(message: str) -> None:
    print(f"rl-lr: {message}", file=sys.stderr)


@contextmanager
def _one_line_warnings() -> Iterator[None]:
    def show(message: Any, *rest: Any, **kwargs: Any) -> None:
        _say(f"warning: {str(message).strip().splitlines()[0]}")

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.6g}"


def _suggestion(sources: list[Path], env: str, algo: str, preset: str) -> Any:
    """The suggestion of ``--warm-start`` (:func:`rl_lr.cli.suggest.warm_start`); none is an
    error: the command would start cold while the user asked for a warm start."""
    found = warm_start(sources, env, algo, preset)
    if found.empty:
        raise UsageError(f"rl-lr: --warm-start: no relevant experience for {algo} on {env} in "
                         f"{' '.join(map(str, sources))}: {found.evidence[-1]}")
    return found


def _tune(args: argparse.Namespace) -> int:
    from rl_lr.tuning.study import TuneSettings, run_study  # matplotlib: not for --help

    if args.space is None and not args.warm_start:
        raise UsageError("rl-lr tune: give --space FILE, or --warm-start DIR... for a learned "
                         "space (see rl-lr tune --help)")
    enqueue: list[str] = []
    if args.warm_start:
        found = _suggestion(args.warm_start, args.env, args.algo, args.preset)
        enqueue = found.starts
        if args.space is None:
            _say(f"tune: warm start: the space learned from {found.basis} experience "
                 f"({', '.join(found.space['policies'])})")
    space = load_space(args.space) if args.space else \
        parse_space(found.space, f"the space learned from {found.basis} experience")
    settings = TuneSettings(
        env=args.env, algo=args.algo, steps=args.steps,
        seeds=tuple(range(args.first_seed, args.first_seed + args.seeds)),
        objective=args.objective, eval_every=args.eval_every, eval_episodes=args.eval_episodes,
        n_envs=args.n_envs, preset=args.preset, perturb=args.perturb,
        overrides=overrides_from_pairs(args.set),
    )
    out = args.out or Path("runs") / f"tune-{args.env.replace('/', '-')}-{args.algo}"
    result = run_study(space, settings, trials=args.trials, out=out, storage=args.storage,
                       study_name=args.study_name, pruner=args.pruner, reports=args.reports,
                       workers=args.workers, sampler_seed=args.sampler_seed, quiet=args.quiet,
                       enqueue=enqueue)
    counts = ", ".join(f"{result.count(s)} {s.lower()}" for s in ("COMPLETE", "PRUNED", "FAIL"))
    _say(f"tune: study {result.study_name!r}: {len(result.trials)} trials ({counts}), "
         f"{result.total_env_steps} env steps in all; best {args.objective} "
         f"{_fmt(result.best_value)}; outputs in {out}")
    for note in result.notes:
        _say(f"tune: {note}")
    if result.best_spec is not None:
        print(result.best_spec)
    if result.interrupted:
        _say("tune: interrupted; run the same command again to continue the study")
        return 130
    return 0


def _find_lr(args: argparse.Namespace) -> int:
    from rl_lr.tuning.find_lr import find_lr  # matplotlib: not for `rl-lr --help`

    out = args.out or Path("runs") / f"find-lr-{args.env.replace('/', '-')}-{args.algo}"
    min_lr, max_lr = 1e-6 if args.min_lr is None else args.min_lr, \
        1e-1 if args.max_lr is None else args.max_lr
    if args.warm_start:
        if args.min_lr is not None or args.max_lr is not None:
            raise UsageError("rl-lr find-lr: --warm-start sets the grid: drop --min/--max")
        found = _suggestion(args.warm_start, args.env, args.algo, args.preset)
        min_lr, max_lr = found.grid_bounds()
        _say(f"find-lr: grid centred on {found.base_lr:.3g} ({found.basis} experience: "
             f"{found.start}): [{min_lr:.3g}, {max_lr:.3g}]")
    result = find_lr(args.env, args.algo, steps=args.steps, out=out, min_lr=min_lr,
                     max_lr=max_lr, points=args.points, seeds=args.seeds,
                     first_seed=args.first_seed,
                     eval_every=args.eval_every, eval_episodes=args.eval_episodes,
                     n_envs=args.n_envs, preset=args.preset, perturb=args.perturb,
                     overrides=overrides_from_pairs(args.set), backend=args.backend,
                     workers=args.workers, ray_address=args.ray_address, quiet=args.quiet)
    _say(f"find-lr: suggested LR {result.lr:.3g}, range [{result.low:.3g}, {result.high:.3g}] "
         f"({result.total_env_steps} env steps); outputs in {out}")
    for note in result.notes:
        _say(f"find-lr: {note}")
    print(result.constant_spec)
    print(result.cyclic_spec)
    return 0


def _pbt(args: argparse.Namespace) -> int:
    from rl_lr.tuning.pbt import parse_method, run_pbt  # matplotlib: not for `rl-lr --help`

    out = args.out or Path("runs") / f"pbt-{args.env.replace('/', '-')}-{args.algo}"
    method, initial = parse_method(args.method), None
    if args.warm_start:
        found = _suggestion(args.warm_start, args.env, args.algo, args.preset)
        initial = found.population_lrs(method.population)
        method = dataclasses.replace(method, min_lr=min(method.min_lr, *initial),
                                     max_lr=max(method.max_lr, *initial))
        _say(f"pbt: initial LRs from {found.basis} experience: "
             f"{', '.join(f'{x:.3g}' for x in initial)}")
    result = run_pbt(method, args.env, args.algo, steps=args.steps, out=out,
                     seed=args.seed, eval_episodes=args.eval_episodes, n_envs=args.n_envs,
                     preset=args.preset, perturb=args.perturb,
                     overrides=overrides_from_pairs(args.set), ray_address=args.ray_address,
                     num_cpus=args.num_cpus, initial_lrs=initial,
                     stream=None if args.quiet else sys.stderr)
    summary = result.summary
    print(f"pbt: best member {result.best_member}: final eval return "
          f"{_fmt(summary.get('final_eval_return'))}, AUC {_fmt(summary.get('eval_auc'))}, "
          f"final LR {result.rows[-1]['lr']:.3g} after {summary.get('lr_changes')} LR changes "
          f"in the population; {result.total_env_steps} env steps in all "
          f"({result.method.population} members)")
    _say(f"pbt: outputs in {out}")
    return 0


_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "tune": _tune, "find-lr": _find_lr, "pbt": _pbt}


def run_command(args: argparse.Namespace) -> int:
    """Run ``args.command``; return the exit code (bad input raises SpecError -> exit 2)."""
    with _one_line_warnings():
        try:
            return _HANDLERS[args.command](args)
        except KeyboardInterrupt:
            _say(f"{args.command}: interrupted; run the same command again to continue")
            return 130
