"""The ``rl-lr train`` command: arguments -> :class:`~rl_lr.run.TrainConfig` (where the specs
of ``--lr``, ``--perturb`` and ``--optimizer`` are read, once) -> :func:`~rl_lr.run.train` or
:func:`~rl_lr.run.resume`.

Bad input raises :class:`~rl_lr.SpecError` (one line on stderr, exit code 2, nothing
written); a diverged run is a result (exit code 0 with a line saying so); Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import yaml

from rl_lr.agents import resolve_algo
from rl_lr.agents.hyperparams import check_keys, coerce_numbers
from rl_lr.agents.zoo import load_zoo_entry
from rl_lr.cli.args import positive_int
from rl_lr.errors import SpecError, UsageError
from rl_lr.run import TrainConfig, resume, train

__all__ = ["add_parser", "overrides_from_pairs", "run_command"]


def add_parser(commands: Any) -> None:
    """Add ``rl-lr train`` to the ``rl-lr`` sub-command parsers."""
    parser = commands.add_parser(
        "train",
        help="train one agent with an LR policy and write its config, progress and summary",
        description="Train one agent (preset hyper-parameters + --set overrides) with an LR "
        "policy, evaluating it on a clean env; write config.yaml (the resolved run), "
        "progress.csv (one row per evaluation: timesteps, eval_return_mean, eval_return_std, "
        "train_return, lr, lr/<network>, grad_norm, controller/*, train/*), lr_trace.csv (the "
        "LR of every update, one row per change), timing.csv "
        "(wall clock) and summary.json into --out. A diverged run is a result (exit 0); bad "
        "input exits 2 with nothing written.",
        epilog="Example: rl-lr train --env CartPole-v1 --algo ppo --lr 'cosine(1e-3)' "
        "--steps 100000 --seed 1 --out runs/ppo-cartpole",
    )
    parser.add_argument("--env", help="Gymnasium env id, e.g. CartPole-v1 or rl_lr/PointNav-v0")
    parser.add_argument("--algo", help="ppo, a2c, sac, td3, ddpg, dqn, tqc, trpo or crossq")
    parser.add_argument("--lr", action="append", metavar="SPEC",
                        help="LR policy spec (default: the preset's); per network: "
                        "--lr actor=SPEC --lr critic=SPEC")
    parser.add_argument("--perturb", metavar="SPEC", help="reward perturbation(s) for training")
    parser.add_argument("--optimizer", action="append", metavar="SPEC",
                        help="optimizer spec; per network: --optimizer actor=SPEC ...")
    parser.add_argument("--steps", type=positive_int, help="training budget in env steps")
    parser.add_argument("--seed", type=int, default=0, help="run seed (default 0)")
    parser.add_argument("--n-envs", type=positive_int, help="training envs (default: preset)")
    parser.add_argument("--eval-every", type=positive_int, metavar="STEPS",
                        help="steps between clean evaluations (default: steps / 20)")
    parser.add_argument("--eval-episodes", type=positive_int, default=10, metavar="E",
                        help="episodes per evaluation (default 10)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a hyper-parameter (YAML value), e.g. --set n_steps=64 "
                        "--set policy_kwargs.net_arch=[64,64]")
    parser.add_argument("--preset", choices=["default", "sb3"],
                        help="tuned preset (default) or SB3's defaults")
    parser.add_argument("--hyperparams", type=Path, metavar="ZOO_FILE",
                        help="take the run's hyper-parameters from an rl-baselines3-zoo file "
                        "(hyperparams/<algo>.yml): the env's entry over SB3's defaults, its "
                        "n_timesteps as the budget unless --steps, its learning_rate unless "
                        "--lr, then --set; --algo defaults to the file's name")
    parser.add_argument("--zoo-entry", metavar="KEY",
                        help="with --hyperparams: use this entry instead of --env's (the zoo "
                        "keys MuJoCo to v4: --env Hopper-v5 --zoo-entry Hopper-v4)")
    parser.add_argument("--out", type=Path, help="output directory (new or empty)")
    parser.add_argument("--save-model", action="store_true",
                        help="write model.zip and checkpoints that --resume continues")
    parser.add_argument("--tensorboard", action="store_true", help="also log to OUT/tb")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="torch threads (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--resume", type=Path, metavar="DIR",
                        help="continue the run saved in DIR (started with --save-model)")


def _per_network(values: list[str] | None, flag: str) -> Any:
    if not values:
        return None
    named = [v.partition("=") for v in values]
    is_named = [bool(sep) and key.isidentifier() and "(" not in key for key, sep, _ in named]
    if len(values) == 1 and not is_named[0]:
        return values[0]
    if not all(is_named):
        raise SpecError(f"{flag}: give one spec, or NETWORK=SPEC for each network")
    keys = [key for key, _, _ in named]
    twice = sorted({key for key in keys if keys.count(key) > 1})
    if twice:
        raise SpecError(f"{flag}: network {', '.join(twice)} given twice; give one "
                        "NETWORK=SPEC for each network")
    return {key: spec for key, _, spec in named}


def overrides_from_pairs(pairs: list[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` pairs -> hyper-parameter overrides (each value read as YAML).

    >>> overrides_from_pairs(["n_steps=64", "policy_kwargs.net_arch=[64, 64]", "gamma=9e-1"])
    {'n_steps': 64, 'policy_kwargs.net_arch': [64, 64], 'gamma': 0.9}

    Raises:
        SpecError: a pair without ``=`` or a value YAML cannot read.
    """
    overrides: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"--set expects KEY=VALUE, got {pair!r}")
        try:
            overrides[key.strip()] = coerce_numbers(yaml.safe_load(text))
        except yaml.YAMLError as err:  # its str() spans lines: keep the problem alone
            problem = getattr(err, "problem", None) or "not YAML"
            raise SpecError(f"--set {key}: cannot read {text!r} as a value ({problem}); "
                            "write a YAML value, e.g. 64, 3e-4, [64, 64], true") from None
    return overrides


def _zoo_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``--hyperparams FILE``: the zoo entry of ``--env`` as settings of the run (the flags
    given on the command line win; ``--set`` applies over the entry)."""
    if args.preset is not None:
        raise SpecError("--hyperparams replaces the preset; drop --preset")
    if args.algo is None:
        try:
            args.algo = resolve_algo(args.hyperparams.stem).name
        except SpecError:
            raise SpecError(f"--hyperparams {args.hyperparams}: name the algorithm with --algo "
                            "(the file's name is not one)") from None
    if args.env is None:
        raise UsageError("rl-lr train: missing --env (the entry of the zoo file to use)")
    entry = load_zoo_entry(args.hyperparams, args.env, args.algo, args.zoo_entry)
    _say(f"hyper-parameters from {entry.source}")
    return {"steps": args.steps or entry.n_timesteps, "n_envs": args.n_envs or entry.n_envs,
            "lr": _per_network(args.lr, "--lr") or entry.lr, "preset": "sb3",
            "overrides": dict(entry.hyperparams)}


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
    settings: dict[str, Any] = {"steps": args.steps, "n_envs": args.n_envs,
                                "lr": _per_network(args.lr, "--lr"),
                                "preset": args.preset or "default", "overrides": {}}
    if args.hyperparams is not None:
        settings = _zoo_settings(args)
    elif args.zoo_entry is not None:
        raise SpecError("--zoo-entry needs --hyperparams ZOO_FILE")
    missing = [f"--{n}" for n in ("env", "algo", "out") if getattr(args, n) is None]
    missing += [] if settings["steps"] is not None else ["--steps"]
    if missing:
        raise UsageError(f"rl-lr train: missing {', '.join(missing)} (see rl-lr train --help)")
    overrides = overrides_from_pairs(args.set)
    check_keys(resolve_algo(args.algo), list(overrides), "--set")
    return TrainConfig(
        env=args.env, algo=args.algo, steps=settings["steps"], seed=args.seed,
        lr=settings["lr"], perturb=args.perturb,
        optimizer=_per_network(args.optimizer, "--optimizer"), preset=settings["preset"],
        n_envs=settings["n_envs"], eval_every=args.eval_every,
        eval_episodes=args.eval_episodes, overrides=settings["overrides"] | overrides,
    )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.6g}"


def _say(message: str) -> None:
    print(f"rl-lr: {message}", file=sys.stderr)


def run_command(args: argparse.Namespace) -> int:
    """``rl-lr train``: returns the exit code (bad input raises SpecError -> exit 2)."""

    def show(message: Any, category: Any, *rest: Any, **kwargs: Any) -> None:
        _say(f"warning: {str(message).strip().splitlines()[0]}")

    with warnings.catch_warnings():
        warnings.showwarning = show
        try:
            if args.resume is not None:
                given = [f"--{n.replace('_', '-')}" for n in
                         ("env", "algo", "lr", "perturb", "optimizer", "steps", "n_envs",
                          "eval_every", "out") if getattr(args, n) not in (None, [])]
                if given or args.set or args.save_model or args.tensorboard \
                        or args.hyperparams or args.preset or args.zoo_entry:
                    raise SpecError(f"--resume takes the run's settings from {args.resume}/"
                                    f"config.yaml; drop {', '.join(given) or 'the other flags'}")
                result = resume(args.resume, quiet=args.quiet, threads=args.threads)
            else:
                result = train(_config_from_args(args), args.out, threads=args.threads or 1,
                               save_model=args.save_model, tensorboard=args.tensorboard,
                               quiet=args.quiet)
        except KeyboardInterrupt:
            _say("interrupted; with --save-model, `rl-lr train --resume DIR` continues from "
                 "the last evaluation")
            return 130
    summary = result.summary or {}
    if result.already_done:
        _say(f"the run in {result.out} is already finished ({result.status}); nothing to do")
    elif result.status == "diverged":
        print(f"rl-lr: run diverged at step {summary['diverged_at']} "
              f"({summary['divergence_reason']}); recorded in {result.out}/summary.json")
    else:
        final, best = summary.get("final_eval_return"), summary.get("best_eval_return")
        print(f"rl-lr: {result.status}: {summary.get('timesteps')} steps, final eval return "
              f"{_fmt(final)} (best {_fmt(best)}); outputs in {result.out}")
    return 0
