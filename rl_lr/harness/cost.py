"""What an experiment will cost before it runs (``rl-lr bench --plan``): the runs still to do,
grouped by env, algorithm, budget and the hyper-parameters an experiment sets (its ``set.*``
labels), each group's seconds per run estimated from the measured wall time of earlier runs,
and the total in core-hours.

The estimate of a group comes from earlier finished runs of the same env and algorithm
(``summary.csv`` + ``timing.csv`` of experiment directories), those that set the same
hyper-parameters when there are any (a PPO run at 512-step rollouts costs less than one at
2,048), else all of them, said in the basis: their mean wall time when they had the same
budget, else their mean seconds per env step times this budget (means, not medians: what a
plan needs is the sum over its runs). A run uses one core (one torch thread), so the
core-hours are the sum over runs and the wall-clock time is about core-hours / workers. What
the estimate ignores: eval settings, hyper-parameters a preset sets differently, and the
machine's load when the history was measured; a group with no history is reported as such,
not guessed.

And what the design can show: for each number of seeds per group (runs sharing every label but
the seed), the smallest P(improvement) that the report's comparison (its 95 % CI above 0.5)
detects with 80 % power, simulated by :func:`rl_lr.metrics.min_detectable_p`.

    >>> history = [RunTiming("CartPole-v1", "ppo", 30_000, 20.0),
    ...            RunTiming("CartPole-v1", "ppo", 30_000, 22.0)]
    >>> estimate_seconds("CartPole-v1", "ppo", 60_000, history)
    (42.0, 'scaled from 2 runs of 30000 steps')
    >>> estimate_seconds("CartPole-v1", "ppo", 30_000, history, (("n_steps", "512"),))
    (21.0, 'mean of 2 runs of this budget, other hyper-parameters')
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rl_lr.experiment import PlannedRun
from rl_lr.experiment.protocol import Protocol
from rl_lr.files import read_csv
from rl_lr.metrics import min_detectable_p
from rl_lr.metrics.power import MIN_RUNS, SIMS, TOO_FEW
from rl_lr.results.scores import REPS, SEED, group_key
from rl_lr.schema import (
    ALGO,
    ENV,
    PHASE,
    RUN_ID,
    SET_PREFIX,
    STEPS,
    SUMMARY_CSV,
    TEST,
    TIMING_CSV,
    TUNE,
    WALL_TIME_S,
)

__all__ = ["CostRow", "HyperParams", "RunTiming", "detectable_improvements", "estimate_seconds",
           "format_cost", "format_power", "hyper_params", "plan_cost", "read_history"]

POWER = 0.8  # the power --plan reports the detectable P(improvement) at

HyperParams = tuple[tuple[str, str], ...]
"""The hyper-parameters a run's experiment set: sorted ``(name, label)`` of its ``set.*``."""


def hyper_params(labels: Mapping[str, str]) -> HyperParams:
    """The ``set.*`` labels of a run (a plan's labels or a ``summary.csv`` row), sorted.

        >>> hyper_params({"lr": "constant", "set.n_steps": "512", "set.gamma": ""})
        (('n_steps', '512'),)
    """
    return tuple(sorted((key.removeprefix(SET_PREFIX), value) for key, value in labels.items()
                        if key.startswith(SET_PREFIX) and value))


@dataclass(frozen=True)
class RunTiming:
    """One finished run's measured wall time."""

    env: str
    algo: str
    steps: int
    seconds: float
    hyperparams: HyperParams = ()


@dataclass(frozen=True)
class CostRow:
    """A group of runs still to do: env, algorithm, budget, how many, estimated seconds per run
    (NaN without history), where the estimate comes from and the hyper-parameters set."""

    env: str
    algo: str
    steps: int
    runs: int
    seconds_per_run: float
    basis: str
    hyperparams: HyperParams = ()

    @property
    def core_hours(self) -> float:
        return self.runs * self.seconds_per_run / 3600


def read_history(directories: Iterable[Path]) -> list[RunTiming]:
    """The timed runs of every experiment directory given (missing files are skipped)."""
    history = []
    for directory in directories:
        seconds = {row[RUN_ID]: row.get(WALL_TIME_S, "")
                   for row in read_csv(directory / TIMING_CSV, missing_ok=True)}
        for row in read_csv(directory / SUMMARY_CSV, missing_ok=True):
            wall = seconds.get(row[RUN_ID], "")
            if wall and row.get(STEPS):
                history.append(RunTiming(row[ENV], row[ALGO], int(row[STEPS]), float(wall),
                                         hyper_params(row)))
    return history


def estimate_seconds(env: str, algo: str, steps: int, history: Sequence[RunTiming],
                     hyperparams: HyperParams = ()) -> tuple[float, str]:
    """Estimated wall seconds of one run and the basis of the estimate (see the module)."""
    same = [t for t in history if (t.env, t.algo) == (env, algo)]
    if not same:
        return math.nan, "no earlier runs of this env and algorithm"
    alike = [t for t in same if t.hyperparams == hyperparams]
    caveat = "" if alike else ", other hyper-parameters"
    same = alike or same
    exact = [t.seconds for t in same if t.steps == steps]
    if exact:
        return statistics.fmean(exact), f"mean of {len(exact)} runs of this budget{caveat}"
    per_step = statistics.fmean(t.seconds / t.steps for t in same)
    budgets = sorted({t.steps for t in same})
    shown = ", ".join(str(b) for b in budgets[:3]) + (", ..." if len(budgets) > 3 else "")
    return per_step * steps, f"scaled from {len(same)} runs of {shown} steps{caveat}"


def plan_cost(pending: Sequence[PlannedRun], history: Sequence[RunTiming]) -> list[CostRow]:
    """The runs still to do, grouped (in plan order) by env, algorithm, budget and the
    hyper-parameters set."""
    groups: Counter[tuple[str, str, int, HyperParams]] = Counter(
        (run.config.env, run.config.algo, run.config.steps, hyper_params(run.labels))
        for run in pending)
    rows = []
    for (env, algo, steps, hyperparams), count in groups.items():
        seconds, basis = estimate_seconds(env, algo, steps, history, hyperparams)
        rows.append(CostRow(env, algo, steps, count, seconds, basis, hyperparams))
    return rows


def protocol_test_cost(tuning: Sequence[PlannedRun], protocol: Protocol,
                       finished: Mapping[tuple[str, str, int], int],
                       history: Sequence[RunTiming]) -> list[CostRow]:
    """The test runs a protocol adds once its selection is made, still to do: per env,
    algorithm and budget, each family's chosen configuration on every test seed (a test run
    costs what a tuning run of its condition costs); ``finished`` counts the test runs done.

    Example:
        >>> from rl_lr.experiment import load_experiment, plan_runs
        >>> from rl_lr.experiment.file import SUITES_DIR
        >>> experiment = load_experiment(SUITES_DIR / "fair_smoke.yaml")
        >>> rows = protocol_test_cost(plan_runs(experiment), experiment.protocol, {}, [])
        >>> [(r.env, r.steps, r.runs) for r in rows]
        [('CartPole-v1', 512, 4)]
    """
    rows = []
    for row in plan_cost(tuning, history):
        key = (row.env, row.algo, row.steps)
        runs = protocol.test_runs_for(row.runs) - finished.get(key, 0)
        if runs > 0:
            rows.append(CostRow(row.env, row.algo, row.steps, runs, row.seconds_per_run,
                                f"test phase: {row.basis}", row.hyperparams))
    return rows


def format_cost(rows: Sequence[CostRow], planned: int, finished: int, workers: int) -> str:
    """The plan as a table with the total core-hours and wall-clock hours at ``workers``."""
    lines = [f"{planned} runs planned, {finished} finished already, "
             f"{planned - finished} to run"]
    if rows:
        header = ("env", "algo", "steps", "runs", "s/run", "core-h", "estimate from", "set")
        table = [header] + [
            (r.env, r.algo, str(r.steps), str(r.runs),
             "?" if math.isnan(r.seconds_per_run) else f"{r.seconds_per_run:.1f}",
             "?" if math.isnan(r.seconds_per_run) else f"{r.core_hours:.2f}", r.basis,
             " ".join(f"{k}={v}" for k, v in r.hyperparams))
            for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                  .rstrip() for row in table]
    known = [r for r in rows if not math.isnan(r.seconds_per_run)]
    total = sum(r.core_hours for r in known)
    unknown = sum(r.runs for r in rows) - sum(r.runs for r in known)
    line = (f"estimated: {total:.2f} core-hours, about {total / max(workers, 1):.2f} h of "
            f"wall-clock time on {workers} worker(s)")
    if unknown:
        line += f"; {unknown} run(s) without an estimate (no history) not counted"
    lines.append(line)
    return "\n".join(lines)


def detectable_improvements(plan: Sequence[PlannedRun], *, power: float = POWER,
                            sims: int = SIMS, protocol: Protocol | None = None
                            ) -> dict[int, float]:
    """``{seeds per group: smallest P(improvement) detected with this power}`` for each
    distinct number of seeds per group in the plan, comparing two groups of that size with the
    report's bootstrap (its resamples and seed). Only scored runs count: tuning runs
    (``phase=tune``) only choose a configuration; a protocol's test phase (planned once its
    selection is made) compares ``len(test_seeds)`` runs per group."""
    sizes = list(Counter(group_key(run.labels) for run in plan
                         if run.labels.get(PHASE, TEST) != TUNE).values())
    if protocol is not None:
        sizes.append(len(protocol.test_seeds))
    return {n: min_detectable_p(n, n, power, sims=sims, reps=REPS, rng=SEED)
            for n in sorted(set(sizes))}


def format_power(detectable: Mapping[int, float], power: float = POWER) -> str:
    """One line per number of seeds per group; fewer than :data:`~rl_lr.metrics.power.MIN_RUNS`
    seeds get no verdict in the report, whatever their P.

    Example:
        >>> print(format_power({2: 0.93, 10: 0.8274}))
        2 seeds per group: too few runs to judge (fewer than 4 a side): the report gives no verdict
        10 seeds per group: P(improvement) detectable with 80 % power >= 0.83
    """
    return "\n".join(
        f"{n} seed{'s' if n != 1 else ''} per group: "
        + (f"{TOO_FEW}: the report gives no verdict" if n < MIN_RUNS else
           f"P(improvement) detectable with {100 * power:g} % power >= {p:.2f}")
        for n, p in detectable.items())
