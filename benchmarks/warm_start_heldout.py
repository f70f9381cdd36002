"""Does experience help? Warm- vs cold-started Optuna studies on a task held out of the prior
(issue 19, item 4): the prior is learned from the committed CartPole-v1, InvertedPendulum-v5 and
Pendulum-v1 runs of ``results/standard`` only (``--prior``); the studies tune PPO's LR policy on
``rl_lr/PointNav-v0``.

    python benchmarks/warm_start_heldout.py --estimate            # the cost, nothing run
    python benchmarks/warm_start_heldout.py --smoke --out /tmp/ws # the pipeline, tiny budgets
    python benchmarks/warm_start_heldout.py --out results/warm_start   # the real comparison

Per study seed (``--study-seeds``, >= 5; the TPE sampler's seed), two studies with the same
settings (``--trials`` trials, each ``--seeds`` runs of ``--steps`` env steps, no pruning, the
mean clean eval AUC as objective):

- **cold**: the broad space :data:`COLD_SPACE` (constant, cosine and plateau over LRs 1e-5 to
  1e-2), nothing queued;
- **warm**: ``rl-lr tune --warm-start`` from the prior: the learned space and the suggested
  starts queued as the first trials (``study.enqueue_trial``).

Measured per seed: the cold study's final best AUC; the trials (and env steps) each study needed
to reach it (the warm study: its first trial whose best-so-far >= that value; censored at
``--trials`` when never). The goal (issue 19): warm <= 0.5x the cold trials, in the median over
seeds. The studies run ``--workers`` at a time, one core each; rerun the command to resume
(a finished study is kept, one stopped halfway is run again from its start). Outputs in
``--out``: ``studies/<arm>/seed_<s>/`` (each study's files), ``comparison.csv``
(one row per seed), ``prior.txt`` (the suggestion and its evidence), ``best_so_far.png``
(each study's best-so-far objective by trial), ``summary.md`` (the
table, the medians, the command).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import multiprocessing
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

import torch

from rl_lr.experience.index import RunIndex, index_runs
from rl_lr.experience.suggest import Suggestion, suggest
from rl_lr.files import read_csv
from rl_lr.plots.style import OKABE_ITO, new_figure, save_figure
from rl_lr.schema import TRIALS_CSV
from rl_lr.tuning.study import TuneSettings, run_study

ROOT = Path(__file__).resolve().parents[1]
PRIOR_ENVS = ("CartPole-v1", "InvertedPendulum-v5", "Pendulum-v1")
TASK, ALGO = "rl_lr/PointNav-v0", "ppo"
COLD_SPACE = {"policies": {
    "constant": {"lr": [1e-5, 1e-2, "log"]},
    "cosine": {"lr": [1e-5, 1e-2, "log"], "warmup": 0.05},
    "plateau": {"base": {"constant": {"lr": [1e-5, 1e-2, "log"]}}},
}}
SMOKE = {"trials": 2, "steps": 512, "seeds": 1, "study_seeds": 1, "eval_every": 256,
         "eval_episodes": 1}


def prior_index(results: list[Path]) -> RunIndex:
    """The committed runs of the prior's envs only: the task is held out."""
    index = index_runs(results)
    return index.replace([r for r in index.rows if r["env"] in PRIOR_ENVS])


def trial_values(trials: dict[str, list[dict[str, Any]]]) -> dict[str, list[float | None]]:
    """Per arm, each trial's objective in trial order (``None``: the trial did not finish)."""
    return {arm: [float(t["value"]) if t["state"] == "COMPLETE" else None for t in rows]
            for arm, rows in trials.items()}


def best_so_far_figure(out: Path, seeds: int) -> Path:
    """``out/best_so_far.png``: each study's best-so-far objective against its trial number,
    cold and warm per study seed, and each seed's target (the cold study's final best) as a
    dotted line; read from the studies' ``trials.csv``."""
    figure = new_figure(3.0 * seeds, 3.0)
    axes = figure.subplots(1, seeds, sharey=True, squeeze=False)[0]
    for seed, ax in enumerate(axes):
        values = trial_values({arm: read_csv(out / "studies" / arm / f"seed_{seed}" / TRIALS_CSV)
                               for arm in ("cold", "warm")})
        for arm, colour in zip(("cold", "warm"), OKABE_ITO, strict=False):
            best = list(itertools.accumulate(
                (v if v is not None else -math.inf for v in values[arm]), max))
            ax.step(range(1, len(best) + 1), best, where="post", color=colour, label=arm)
        ax.axhline(max(v for v in values["cold"] if v is not None), color="grey", ls=":")
        ax.set_title(f"study seed {seed}", fontsize=9)
        ax.set_xlabel("trial")
    axes[0].set_ylabel("best mean eval AUC so far")
    axes[0].legend(fontsize=8)
    return save_figure(figure, out / "best_so_far.png", compact=True)


def first_reaching(values: list[float | None], target: float) -> int | None:
    """1-based number of the first trial whose best-so-far reaches ``target``.

    >>> first_reaching([1.0, None, 3.0, 2.0], 2.5)
    3
    """
    best = float("-inf")
    for number, value in enumerate(values, 1):
        best = max(best, value if value is not None else float("-inf"))
        if best >= target:
            return number
    return None


def per_run_cost(results: Path) -> tuple[float, int]:
    """Measured wall-clock seconds per env step of PPO on the task (results/standard's
    PointNav runs, timing.csv), and how many runs that mean is over."""
    rows = [r for r in index_runs([results / "standard"]).rows
            if r["env"] == TASK and r["kind"] == "experiment" and r["wall_time_s"]]
    return sum(r["wall_time_s"] for r in rows) / sum(r["timesteps"] for r in rows), len(rows)


def estimate(args: argparse.Namespace) -> str:
    seconds_per_step, runs = per_run_cost(ROOT / "results")
    steps = 2 * args.study_seeds * args.trials * args.seeds * args.steps
    hours = steps * seconds_per_step / 3600
    return (f"{2} arms x {args.study_seeds} study seeds x {args.trials} trials x {args.seeds} "
            f"seeds x {args.steps} steps = {steps:,} env steps (runs train whole rollouts: "
            f"up to 8192 more each with PointNav's preset); at the measured "
            f"{seconds_per_step * 1e3:.2f} ms per env step (mean of {runs} PointNav PPO runs in "
            f"results/standard/timing.csv, 1 core each) = {hours:.1f} core-hours, "
            f"{hours / max(args.workers, 1):.1f} h of wall clock on {args.workers} cores")


def _finished(study_dir: Path, trials: int) -> bool:
    """Whether ``study_dir`` holds a study that finished its ``trials`` (its trials.csv)."""
    table = study_dir / TRIALS_CSV
    return table.is_file() and sum(r["state"] != "RUNNING" for r in read_csv(table)) >= trials


def _study(job: tuple[Path, Any, TuneSettings, int, int, list[str]]) -> list[dict[str, Any]]:
    """One study, run from scratch unless it finished before: a study stopped halfway (the
    session ended) is deleted and rerun, since continuing it would leave its interrupted trial
    behind and number the rest differently from an uninterrupted study."""
    out, space, settings, trials, seed, enqueue = job
    torch.set_num_threads(1)  # one core per study, as in every rl-lr worker
    if out.exists() and not _finished(out, trials):
        shutil.rmtree(out)
    result = run_study(space, settings, trials=trials, out=out, pruner="none",
                       sampler_seed=seed, enqueue=enqueue)
    return sorted(result.trials, key=lambda r: r["number"])


def compare(args: argparse.Namespace, found: Suggestion) -> list[dict[str, Any]]:
    """Every study (arm x study seed), ``args.workers`` at a time, each on one core and
    independent of the others (same bits in any order); one row per study seed."""
    settings = TuneSettings(env=TASK, algo=ALGO, steps=args.steps,
                            seeds=tuple(range(args.seeds)), objective="auc",
                            eval_every=args.eval_every, eval_episodes=args.eval_episodes)
    spaces = {"cold": (COLD_SPACE, []), "warm": (found.space, found.starts)}
    jobs = {(seed, arm): (args.out / "studies" / arm / f"seed_{seed}", space, settings,
                          args.trials, seed, enqueue)
            for seed in range(args.study_seeds) for arm, (space, enqueue) in spaces.items()}
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        done = dict(zip(jobs, pool.map(_study, jobs.values(), chunksize=1), strict=True))
    rows = []
    for seed in range(args.study_seeds):
        trials = {arm: done[seed, arm] for arm in spaces}
        values = trial_values(trials)
        target = max(v for v in values["cold"] if v is not None)
        row: dict[str, Any] = {"study_seed": seed, "cold_best_auc": target,
                               "warm_best_auc": max((v for v in values["warm"] if v is not None),
                                                    default=None)}
        for arm in ("cold", "warm"):
            scored = [(v, t["spec"]) for v, t in zip(values[arm], trials[arm], strict=True)
                      if v is not None]
            row[f"{arm}_best_spec"] = max(scored)[1] if scored else None
            row[f"{arm}_core_s"] = round(sum(float(t["duration_s"] or 0) for t in trials[arm]))
        for arm in ("cold", "warm"):
            reached = first_reaching(values[arm], target)
            steps = [int(t["env_steps"] or 0) for t in trials[arm]]
            row[f"{arm}_trials"] = reached if reached is not None else f">{args.trials}"
            row[f"{arm}_env_steps"] = sum(steps[:reached]) if reached else f">{sum(steps)}"
        rows.append(row)
    return rows


def median_ratio(rows: list[dict[str, Any]]) -> float:
    """The median over study seeds of warm/cold trials to the cold study's best; a warm study
    that never reached it counts as an infinite ratio (censored: it must not be dropped, or
    the failures of the warm start would flatter it), so the median is ``inf`` when half or
    more never did.

    >>> median_ratio([{"warm_trials": 2, "cold_trials": 8}, {"warm_trials": ">20",
    ...               "cold_trials": 10}, {"warm_trials": 3, "cold_trials": 4}])
    0.75
    """
    return statistics.median(
        r["warm_trials"] / r["cold_trials"] if isinstance(r["warm_trials"], int) else math.inf
        for r in rows)


def summary(rows: list[dict[str, Any]], args: argparse.Namespace, found: Suggestion) -> str:
    median = median_ratio(rows)
    lines = ["| study seed | cold best AUC | warm best AUC | trials cold | trials warm | "
             "env steps cold | env steps warm | best cold | best warm |",
             "|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    lines += [f"| {r['study_seed']} | {r['cold_best_auc']:.4g} | "
              f"{'n/a' if r['warm_best_auc'] is None else format(r['warm_best_auc'], '.4g')} "
              f"| {r['cold_trials']} | {r['warm_trials']} | {r['cold_env_steps']} | "
              f"{r['warm_env_steps']} | `{r['cold_best_spec']}` | `{r['warm_best_spec']}` |"
              for r in rows]
    reached = sum(isinstance(r["warm_trials"], int) for r in rows)
    return "\n".join([
        f"# Warm vs cold start on {TASK} ({ALGO}), prior from {', '.join(PRIOR_ENVS)}", "",
        f"Command: `python benchmarks/warm_start_heldout.py {' '.join(sys.argv[1:])}`", "",
        f"Prior: {found.basis}, start {found.start}, starts {', '.join(found.starts)}", "",
        *lines, "", f"Median warm/cold trials to the cold study's final best AUC: "
        f"{'never reached' if math.isinf(median) else format(median, '.2f') + 'x'} "
        f"({'met' if median <= 0.5 else 'not met'}; goal <= 0.5x) over "
        f"{len(rows)} study seeds; the warm study reached the cold one's best in {reached} of "
        f"them (a study that never did counts as an infinite ratio).", "",
        f"Estimated cost before running: {estimate(args)}. Measured: "
        f"{sum(r['cold_core_s'] + r['warm_core_s'] for r in rows) / 3600:.1f} core-hours "
        f"(the trials' durations, one core each)."])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "warm_start")
    parser.add_argument("--prior", type=Path, nargs="+",
                        default=[ROOT / "results" / "standard"],
                        help="the committed results the prior is learned from (default: "
                             "results/standard, pinned so that later experiments under "
                             "results/ do not change the prior)")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, default=2, help="runs per trial")
    parser.add_argument("--study-seeds", type=int, default=5)
    parser.add_argument("--eval-every", type=int, default=5_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2,
                        help="studies run at once, one core each (and the wall-clock estimate)")
    parser.add_argument("--estimate", action="store_true", help="print the cost, run nothing")
    parser.add_argument("--smoke", action="store_true", help="tiny budgets: the pipeline only")
    args = parser.parse_args()
    if args.smoke:
        vars(args).update(SMOKE)
    found = suggest(prior_index(args.prior), TASK, ALGO, "default")
    assert found.basis == "prior", found.basis  # the task must be held out
    print("\n".join(["prior for the held-out task:", *found.describe()]), file=sys.stderr)
    print(estimate(args))
    if args.estimate:
        return
    if args.study_seeds < 5 and not args.smoke:
        parser.error("--study-seeds must be >= 5 (issue 19)")
    rows = compare(args, found)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "comparison.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (args.out / "prior.txt").write_text("\n".join(found.describe()) + "\n")
    best_so_far_figure(args.out, args.study_seeds)
    text = summary(rows, args, found)
    (args.out / "summary.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
