"""Does a perturbation move the tuned constant's score? Measure before you spend (issue 17).

Trains the same configuration -- one env, algorithm, LR (the tuned constant), budget -- on the
clean training env and under each given perturbation, for seeds ``0 .. K-1``, as ordinary
``rl-lr train`` runs (:func:`rl_lr.run.train`, one torch thread each, one after the other).
The clean run and the perturbed runs of a seed share everything but the perturbation, so the
comparison is paired. For each perturbation it prints the mean ``eval_auc`` (time-averaged
clean evaluation return, the runs' ``summary.json``) clean and perturbed, the relative change
``mean(perturbed) / mean(clean) - 1`` with a 95 % percentile-bootstrap interval over seeds
(paired resampling, 10,000 resamples, seeded), the same for the final return, and whether the
AUC moved by at least ``--min-effect`` (default 10 %) with the interval excluding 0.

Runs are kept under ``--out`` (one directory per perturbation and seed, named by a hash of
the configuration); a finished run is read back instead of trained again, so an interrupted
measurement resumes. Example (a 2-seed smoke run; a real measurement wants ``--seeds 10``)::

    python benchmarks/measure_perturbation_effect.py --env InvertedPendulum-v5 --algo ppo \\
        --lr "constant(3e-3)" --steps 30000 --seeds 10 --preset sb3 --set n_steps=512 \\
        --perturb "friction_switch(scale=[1.0, 0.3], every=5000)" \\
        --perturb "gravity_switch(scale=[1.0, 0.5], every=5000)" --out /tmp/effect
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rl_lr.run import TrainConfig, train
from rl_lr.schema import EVAL_AUC, FINAL_EVAL_RETURN, SUMMARY_JSON

CLEAN = "none"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", required=True)
    parser.add_argument("--algo", default="ppo")
    parser.add_argument("--lr", required=True, help="the tuned constant, e.g. constant(3e-3)")
    parser.add_argument("--perturb", action="append", required=True,
                        help="a perturbation spec (repeat for several)")
    parser.add_argument("--steps", type=int, default=30000)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--n-envs", type=int, default=None)
    parser.add_argument("--eval-every", type=int, default=None)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="hyper-parameter override (YAML value), e.g. --set n_steps=512")
    parser.add_argument("--min-effect", type=float, default=0.10)
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args(argv)


def overrides(pairs: list[str]) -> dict[str, Any]:
    read: dict[str, Any] = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        read[key] = yaml.safe_load(text)
    return read


def run_summary(args: argparse.Namespace, perturb: str | None, seed: int) -> dict[str, Any]:
    """The ``summary.json`` of one run, trained now unless already finished under ``--out``."""
    config = TrainConfig(env=args.env, algo=args.algo, steps=args.steps, seed=seed, lr=args.lr,
                         perturb=perturb, preset=args.preset, n_envs=args.n_envs,
                         eval_every=args.eval_every, eval_episodes=args.eval_episodes,
                         overrides=overrides(args.set))
    key = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True, default=str)
                         .encode()).hexdigest()[:16]
    out = args.out / key
    summary = out / SUMMARY_JSON
    if not summary.exists():
        if out.exists():  # an interrupted run: start it again
            for path in sorted(out.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            out.rmdir()
        train(config, out)
    loaded: dict[str, Any] = json.loads(summary.read_text())
    return loaded


def paired_change(clean: np.ndarray, perturbed: np.ndarray,
                  resamples: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """``mean(perturbed) / mean(clean) - 1`` and its 95 % paired bootstrap interval.

    >>> paired_change(np.array([10.0, 10.0]), np.array([5.0, 5.0]))
    (-0.5, -0.5, -0.5)
    """
    rng = np.random.default_rng(seed)
    point = float(perturbed.mean() / clean.mean() - 1.0)
    picks = rng.integers(0, len(clean), size=(resamples, len(clean)))
    ratios = perturbed[picks].mean(axis=1) / clean[picks].mean(axis=1) - 1.0
    low, high = np.quantile(ratios, [0.025, 0.975])
    return point, float(low), float(high)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    seeds = range(args.seeds)
    scores: dict[str, dict[str, np.ndarray]] = {}
    for perturb in [None, *args.perturb]:
        summaries = [run_summary(args, perturb, seed) for seed in seeds]
        scores[perturb or CLEAN] = {
            metric: np.array([float(s[metric]) for s in summaries])
            for metric in (EVAL_AUC, FINAL_EVAL_RETURN)}
    clean = scores[CLEAN]
    print(f"{args.env} {args.algo} lr={args.lr} steps={args.steps} seeds={args.seeds}: "
          f"clean AUC {clean[EVAL_AUC].mean():.2f}, final {clean[FINAL_EVAL_RETURN].mean():.2f}")
    for perturb in args.perturb:
        auc = paired_change(clean[EVAL_AUC], scores[perturb][EVAL_AUC])
        final = paired_change(clean[FINAL_EVAL_RETURN], scores[perturb][FINAL_EVAL_RETURN])
        moves = abs(auc[0]) >= args.min_effect and not auc[1] <= 0.0 <= auc[2]
        print(f"{perturb}: AUC {scores[perturb][EVAL_AUC].mean():.2f} "
              f"({auc[0]:+.1%}, 95% CI [{auc[1]:+.1%}, {auc[2]:+.1%}]); final "
              f"{final[0]:+.1%} [{final[1]:+.1%}, {final[2]:+.1%}]; moves AUC by >= "
              f"{args.min_effect:.0%}: {'yes' if moves else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
