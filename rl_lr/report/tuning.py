"""The tuning table of an experiment with a tune-then-test protocol
(:mod:`rl_lr.experiment.protocol`): per condition and family, what tuning cost (configurations
tried, tuning runs, their env steps) and what it chose (``selection.csv``), beside the family's
scores on the test seeds. The scores are those of the test runs only: an experiment directory
read by :func:`rl_lr.results.load_results` leaves its tuning runs (``phase=tune``) out of
every score, so a configuration is never scored on the seeds that chose it.

    >>> TUNING_HEADERS[:4]
    ('condition', 'family', 'configurations', 'tuning runs')
"""

from __future__ import annotations

import math

import numpy as np

from rl_lr import schema
from rl_lr.metrics import stratified_bootstrap_ci
from rl_lr.report.task import Task, format_number
from rl_lr.results import REPS, name_seed
from rl_lr.results.scores import number

__all__ = ["TUNING_HEADERS", "tuning_rows"]

TUNING_HEADERS = ("condition", "family", "configurations", "tuning runs", "tuning env steps",
                  "chosen configuration", "tuning score", "test runs", "test final IQM [CI]",
                  "test AUC IQM [CI]")


def _interval(values: list[float], *names: str) -> str:
    if not values:
        return "–"
    ci = stratified_bootstrap_ci(np.array(values)[:, None], "iqm", reps=REPS,
                                 rng=name_seed(*names))
    return f"{format_number(ci.point)} [{format_number(ci.low)}, {format_number(ci.high)}]"


def _steps(text: str | None) -> str:
    steps = number(text)
    return f"{int(steps):,}" if math.isfinite(steps) else "–"


def tuning_rows(task: Task) -> list[list[str]]:
    """One row per ``selection.csv`` row of the task (:data:`TUNING_HEADERS`): its cost, its
    choice, and the family's final return and AUC (normalised where the env has a range,
    :meth:`Task.aucs`) on the test seeds, IQM with a 95 % bootstrap CI."""
    rows = []
    for chosen in task.data.selection:
        if chosen.get(schema.ENV) != task.env or chosen.get(schema.ALGO, "") != task.algo:
            continue
        panel = next((p for p in task.panels if all(chosen.get(k) == v for k, v in p)), None)
        family = chosen.get(schema.FAMILY, "")
        seeds = chosen.get(schema.TUNING_SEEDS, "").split()
        configurations = int(number(chosen.get(schema.CONFIGURATIONS)))
        condition = task.condition(panel) if panel is not None else "(no test run yet)"
        finals = task.data.final_scores(panel, family) if panel is not None else []
        aucs = task.aucs(panel, family) if panel is not None else []
        rows.append([condition, family, str(configurations), str(configurations * len(seeds)),
                     _steps(chosen.get(schema.TUNING_STEPS)),
                     f"{chosen.get(schema.LR_SPEC, '')} (trial {chosen.get(schema.TRIAL)})",
                     f"{format_number(number(chosen.get(schema.TUNING_SCORE)))} "
                     f"({chosen.get(schema.SELECT, '')}, seeds {' '.join(seeds)})",
                     str(len(finals)),
                     _interval(finals, task.env, task.algo, condition, family, "test final"),
                     _interval(aucs, task.env, task.algo, condition, family, "test auc")])
    return rows
