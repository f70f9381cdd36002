"""Evaluation's share of a run's wall time: sequential episodes, batched through
``model.predict``, and batched through the policy's forward pass (the library's).

Runs the CartPole-v1 and InvertedPendulum-v5 settings of ``experiments/standard.yaml`` with the
``constant`` LR policy (clean reward, 10 evaluation episodes every 3,000 steps) as ordinary
``rl-lr train`` runs (``rl_lr.run.train``, one torch thread), three times per round and seed:
``sequential`` (the evaluation before batching: ``evaluate_sequentially`` on one env, episodes
one after the other), ``batched_predict`` (``evaluate`` on ``eval_episodes`` envs, one
``model.predict`` call for all live episodes per step) and ``batched`` (the library's: the same
with :class:`~rl_lr.sb3.DeterministicActions` in place of ``model.predict``). Arms interleave
round by round, their order rotating, so that drift in machine load hits all alike; the arms
of a round train the same seed, so their training is identical and only the evaluation
differs. Figures from each run's ``timing.csv``:
evaluation share = sum of ``eval_time_s`` / final ``wall_time_s``.

    python benchmarks/bench_evaluation.py [--rounds 3] [--steps 30000] [--cases cartpole ...]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from rl_lr.agents import evaluate, evaluate_sequentially, make_eval_env
from rl_lr.run import TrainConfig, train
from rl_lr.sb3 import DeterministicActions

CASES: dict[str, dict[str, Any]] = {  # experiments/standard.yaml, the constant policy, clean reward
    "cartpole": {"env": "CartPole-v1", "algo": "ppo", "lr": "constant(3.16e-3)",
                 "preset": "default"},
    "inverted_pendulum": {"env": "InvertedPendulum-v5", "algo": "ppo", "lr": "constant(3e-3)",
                          "preset": "sb3"},
}
ARMS = ("sequential", "batched_predict", "batched")


class ModelPredict:
    """``model.predict(observation, deterministic=True)[0]``: the batched evaluation's forward
    pass before :class:`~rl_lr.sb3.DeterministicActions`."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, observation: Any) -> Any:
        return self.model.predict(observation, deterministic=True)[0]


@contextmanager
def _rebound(old: Any, new: Any) -> Iterator[None]:
    """Point every module-level name bound to ``old`` at ``new`` for the block (the run's
    modules import ``evaluate`` and ``make_eval_env`` at their top); this module excepted."""
    own = globals()
    changed = [(module, name) for module in list(sys.modules.values())
               if isinstance(getattr(module, "__dict__", None), dict) and vars(module) is not own
               for name, value in list(vars(module).items()) if value is old]
    for module, name in changed:
        setattr(module, name, new)
    try:
        yield
    finally:
        for module, name in changed:
            setattr(module, name, old)


def _one_env(spec: Any, n_envs: int = 1) -> Any:
    return make_eval_env(spec)  # before batching: one env, whatever ``n_envs`` asks


@contextmanager
def evaluation(arm: str) -> Iterator[None]:
    """The runs' evaluation for ``arm`` (one of :data:`ARMS`)."""
    if arm == "batched":
        yield
    elif arm == "batched_predict":
        with _rebound(DeterministicActions, ModelPredict):
            yield
    else:
        with _rebound(evaluate, evaluate_sequentially), _rebound(make_eval_env, _one_env):
            yield


def one_run(case: dict[str, Any], arm: str, seed: int, steps: int,
            out: Path) -> tuple[float, float, str]:
    """Return (wall seconds, evaluation seconds, progress.csv's eval columns) of one run."""
    config = TrainConfig(**case, steps=steps, seed=seed, eval_every=3000, eval_episodes=10)
    with evaluation(arm):
        train(config, out, threads=1)
    with (out / "timing.csv").open() as stream:
        timing = list(csv.DictReader(stream))
    with (out / "progress.csv").open() as stream:
        evals = "\n".join(f"{r['timesteps']},{r['eval_return_mean']},{r['eval_return_std']}"
                          for r in csv.DictReader(stream))
    return (float(timing[-1]["wall_time_s"]), sum(float(r["eval_time_s"]) for r in timing),
            evals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="seeds 0 .. rounds-1")
    parser.add_argument("--steps", type=int, default=30000)
    parser.add_argument("--cases", nargs="*", choices=sorted(CASES), default=list(CASES))
    args = parser.parse_args()

    torch.set_num_threads(1)
    root = Path(tempfile.mkdtemp(prefix="bench_evaluation-"))
    wall: dict[tuple[str, str], list[float]] = defaultdict(list)
    spent: dict[tuple[str, str], list[float]] = defaultdict(list)
    same_returns: dict[str, list[bool]] = defaultdict(list)
    for seed in range(args.rounds):
        for name in args.cases:
            evals = {}
            for arm in ARMS[seed % 3:] + ARMS[:seed % 3]:
                w, e, evals[arm] = one_run(CASES[name], arm, seed, args.steps,
                                           root / f"{name}-{arm}-{seed}")
                wall[name, arm].append(w)
                spent[name, arm].append(e)
                print(f"round {seed} {name:17s} {arm:10s} wall {w:6.1f} s, evaluation "
                      f"{e:6.1f} s ({e / w:.0%})", flush=True)
            same_returns[name].append(len(set(evals.values())) == 1)

    print(f"\n{args.steps} steps, 10 evaluation episodes every 3,000 steps, {args.rounds} "
          "rounds (medians, min-max); time ratios are over the sequential arm's")
    print("| task | arm | evaluation share | evaluation time ratio | wall time ratio |")
    print("|---|---|---:|---:|---:|")
    for name in args.cases:
        for arm in ARMS:
            share = [e / w for e, w in zip(spent[name, arm], wall[name, arm], strict=True)]
            eval_ratio = [a / s for a, s in zip(spent[name, arm], spent[name, "sequential"],
                                                strict=True)]
            wall_ratio = [a / s for a, s in zip(wall[name, arm], wall[name, "sequential"],
                                                strict=True)]
            print(f"| {CASES[name]['env']} | {arm} | {_spread(share, '.1%')} | "
                  f"{_spread(eval_ratio, '.3f')} | {_spread(wall_ratio, '.3f')} |")
        print(f"eval returns identical across the arms: {CASES[name]['env']} "
              f"{sum(same_returns[name])}/{len(same_returns[name])} rounds")


def _spread(values: list[float], fmt: str) -> str:
    return (f"{format(statistics.median(values), fmt)} "
            f"({format(min(values), fmt)}-{format(max(values), fmt)})")


if __name__ == "__main__":
    main()
