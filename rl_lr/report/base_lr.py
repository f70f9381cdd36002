"""Robustness to the base LR (an experiment with a ``base_lr`` axis, e.g.
``experiments/lr_robustness.yaml``): every policy started at each base LR ("start",
``base_lr=x0.1`` ... ``x10``) against **the tuned constant**, the best fixed schedule
(:meth:`~rl_lr.report.task.Task.best_fixed`) at the centre ``x1`` of the same other
conditions (env, algorithm, perturbation, optimizer, ``set.*``), and each policy's worst and
best start.

The report's other comparisons pit a policy against the best fixed schedule *of its own
start* (the constant mistuned the same way); these ask whether a policy started at a
mistuned LR still matches what tuning the constant would have given. Only panels whose
``base_lr`` labels include ``x1`` and at least one other start get them
(:func:`start_groups`), so an experiment without the axis is unchanged.

On each score of :func:`robustness_scores` (the report's primary score, then the AUC):

- :func:`against_tuned`: P(the policy started there beats the tuned constant) with a 95 %
  stratified-bootstrap CI (:data:`~rl_lr.results.REPS` resamples, seeded by the task, the
  start's condition, the policy, :data:`TAG` and the score), its verdict
  (:func:`rl_lr.metrics.verdict` at the P the runs detect with 80 % power) and, per policy,
  at how many starts it is worse;
- :func:`extremes`: each policy's lowest and highest IQM [CI] over its starts, from
  ``metrics.csv`` (``final_iqm`` or ``auc_iqm``).

    >>> start_multiple("x0.2154"), start_multiple("low")
    (0.2154, None)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from rl_lr import schema
from rl_lr.metrics.power import BETTER, CEILING, TOO_FEW, WORSE
from rl_lr.report.task import (
    AGAINST_CONSTANT,
    SCORES,
    Task,
    ci_text,
    compared_scores,
    markdown,
)
from rl_lr.report.verdicts import POWER, Verdict, verdicts
from rl_lr.results import Panel, Results
from rl_lr.results.scores import number

__all__ = ["CENTRE", "IQM_COLUMNS", "REFERENCE", "TAG", "Extreme", "Robustness",
           "against_tuned", "extremes", "needed_text", "robustness_scores",
           "robustness_tables", "short_verdict", "start_groups", "start_multiple", "titles"]

CENTRE = "x1"  # the base_lr label of the centre: the tuned constant's LR
REFERENCE = "reference"  # the tuned constant's own cell
TAG = AGAINST_CONSTANT  # in every bootstrap seed of these comparisons
IQM_COLUMNS = {schema.FINAL_EVAL_RETURN: schema.FINAL_IQM, schema.EVAL_AUC: schema.AUC_IQM}


def start_multiple(label: str) -> float | None:
    """The multiple of the centre a ``base_lr`` label names (``x<multiple>``), else None."""
    try:
        return float(label[1:]) if label.startswith("x") else None
    except ValueError:
        return None


def robustness_scores(data: Results) -> tuple[str, ...]:
    """The scores these tables are on: the report's compared scores
    (:func:`~rl_lr.report.task.compared_scores`, the primary one first), then the AUC."""
    return tuple(dict.fromkeys((*compared_scores(data), schema.EVAL_AUC)))


def start_groups(task: Task) -> list[tuple[Panel, list[tuple[str, Panel]]]]:
    """The task's panels that differ only in ``base_lr``, as (the other conditions, [(start,
    panel)] from the lowest multiple to the highest, else in plan order), for the groups
    whose starts include :data:`CENTRE` and at least one other; empty without a ``base_lr``
    axis."""
    groups: dict[Panel, list[tuple[str, Panel]]] = {}
    for panel in task.panels:
        labels = dict(panel)
        if schema.BASE_LR in labels:
            rest = tuple((k, v) for k, v in panel if k != schema.BASE_LR)
            groups.setdefault(rest, []).append((labels[schema.BASE_LR], panel))
    return [(rest, _by_multiple(starts)) for rest, starts in groups.items()
            if CENTRE in dict(starts) and len(starts) > 1]


def _by_multiple(starts: list[tuple[str, Panel]]) -> list[tuple[str, Panel]]:
    multiples = [start_multiple(label) for label, _ in starts]
    if any(m is None for m in multiples):
        return starts
    return [start for _, start in sorted(zip(multiples, starts, strict=True),
                                         key=lambda pair: pair[0] or 0.0)]


class Robustness(NamedTuple):
    """One group of starts on ``score`` (:func:`against_tuned`): the tuned constant, the
    starts, and each (policy, start)'s verdict against it (none for the tuned constant's own
    cell and for a group without runs)."""

    rest: Panel
    score: str
    tuned: str
    starts: list[tuple[str, Panel]]
    found: dict[tuple[str, str], Verdict]

    def worse(self, policy: str) -> tuple[int, int]:
        """(starts where ``policy`` is worse than the tuned constant, starts compared)."""
        words = [v.words for (p, _), v in self.found.items() if p == policy]
        return sum(w == WORSE for w in words), len(words)


def against_tuned(task: Task, score: str = schema.FINAL_EVAL_RETURN) -> list[Robustness]:
    """Every policy at every start against the tuned constant of its group on ``score``
    (see the module docstring); a group whose centre has no fixed schedule with runs is
    left out. The ceiling (the tuned constant at the env's maximum in every run: no win
    possible) is the final return's only."""
    out = []
    for rest, starts in start_groups(task):
        centre = dict(starts)[CENTRE]
        tuned = task.best_fixed(centre, score)
        y = task.scores(centre, tuned, score) if tuned else []
        if tuned is None or not y:
            continue
        comparisons = []
        for policy in task.fixed + task.adaptive:
            for label, panel in starts:
                x = task.scores(panel, policy, score)
                if not x or (policy == tuned and label == CENTRE):
                    continue
                comparisons.append(task.compare(
                    panel, policy, x, tuned, y, score,
                    (task.env, task.algo, task.condition(panel), policy, TAG, score)))
        start_of = {panel: label for label, panel in starts}
        found = {(v.comparison.policy, start_of[v.comparison.panel]): v
                 for v in verdicts(comparisons)}
        out.append(Robustness(rest, score, tuned, starts, found))
    return out


class Extreme(NamedTuple):
    """A policy's lowest or highest IQM over its starts: the start and its ``metrics.csv``
    row."""

    start: str
    row: Mapping[str, str]


def extremes(task: Task, found: Robustness, policy: str) -> tuple[Extreme, Extreme] | None:
    """``policy``'s (lowest, highest) IQM of ``found.score`` over its starts (ties: the
    earlier start for the lowest, the later for the highest); None without a finite IQM."""
    column = IQM_COLUMNS[found.score]
    rows = [(label, task.metrics.get((panel, policy), {})) for label, panel in found.starts]
    rows = [(label, row) for label, row in rows if math.isfinite(number(row.get(column)))]
    if not rows:
        return None
    low = min(rows, key=lambda r: number(r[1].get(column)))
    high = max(reversed(rows), key=lambda r: number(r[1].get(column)))
    return Extreme(*low), Extreme(*high)


def short_verdict(words: str) -> str:
    """A verdict (:func:`rl_lr.metrics.verdict`) in a table cell's few words.

    >>> short_verdict("no difference detectable at this power (P >= 0.93 needed)")
    'no difference detectable'
    """
    if words in (BETTER, WORSE):
        return words
    if words == TOO_FEW:
        return "too few runs"
    return "no win possible" if words == CEILING else "no difference detectable"


def _cell(found: Robustness, policy: str, label: str) -> str:
    if policy == found.tuned and label == CENTRE:
        return REFERENCE
    v = found.found.get((policy, label))
    if v is None:
        return "–"
    ci = v.comparison.ci
    return f"{ci.point:.2f} [{ci.low:.2f}, {ci.high:.2f}] {short_verdict(v.words)}"


def needed_text(found: Robustness) -> str:
    """The P(improvement) the comparisons' runs detect with 80 % power, ``P >= 0.93``, or
    its range over the cells."""
    needed = sorted({f"{v.needed:.2f}" for v in found.found.values()})
    if not needed:
        return "P >= –"
    return "P >= " + (needed[0] if len(needed) == 1 else f"{needed[0]} to {needed[-1]}")


def titles(task: Task, found: Robustness) -> tuple[str, str]:
    """The titles of the two tables of ``found`` (against the tuned constant, worst start)."""
    where = task.condition(found.rest)
    where = "" if where == "all runs" else f" ({where})"
    score = SCORES[found.score]
    return (f"Robustness to the base LR{where}: P(the policy started at this base LR beats "
            f"the tuned constant, {found.tuned} at {schema.BASE_LR}={CENTRE}) on {score} [CI] "
            "and the verdict: better (CI above 0.5), worse (CI below 0.5), or no difference "
            f"detectable ({needed_text(found)} needed for {POWER * 100:.0f} % power); the "
            "last column: at how many starts it is worse",
            f"Robustness to the base LR{where}: each policy's worst and best start, the lowest "
            f"and highest IQM [CI] of {score} over its starts")


def robustness_tables(task: Task, scores: Sequence[str]) -> list[tuple[str, str]]:
    """The two tables (title, Markdown) per group of starts and score: rows = policies,
    columns = the starts, then ``worse at k of n starts``; and per policy its worst and best
    start. Empty for a task without a ``base_lr`` axis centred on ``x1``."""
    out = []
    for score in scores:
        for found in against_tuned(task, score):
            policies = task.fixed + task.adaptive
            labels = [label for label, _ in found.starts]
            rows = []
            for policy in policies:
                k, n = found.worse(policy)
                rows.append([task.name(policy), *(_cell(found, policy, label) for label in labels),
                             f"{k} of {n}"])
            against = markdown(["policy", *(f"{schema.BASE_LR}={label}" for label in labels),
                                "worse at k of n starts"], rows)
            column = IQM_COLUMNS[score]
            worst = []
            for policy in policies:
                ends = extremes(task, found, policy)
                if ends is not None:
                    low, high = ends
                    worst.append([task.name(policy), ci_text(low.row, column), low.start,
                                  ci_text(high.row, column), high.start])
            table = markdown(["policy", "lowest IQM [CI]", "at", "highest IQM [CI]", "at"],
                             worst)
            first, second = titles(task, found)
            out += [(first, against), (second, table)]
    return out
