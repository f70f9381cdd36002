"""What an experiment's comparisons support, in words: each comparison of an adaptive policy
with its condition's best fixed schedule gets the smallest P(improvement) its group sizes
detect with 80 % power (:func:`rl_lr.metrics.min_detectable_p`) and a verdict
(:func:`rl_lr.metrics.verdict`: better, worse, no difference detectable at this power, or no
win possible because the rival is at the env's maximum in every run); the share of runs at the
env's maximum per cell; and the verdict at the top of the report: which policy ranks first,
which differences the CIs support, and how sure the experiment can be at its number of seeds.

The verdict at the top is on the experiment's primary score
(:attr:`rl_lr.results.Results.primary_score`): the final clean return, or, for a
tune-then-test experiment that selects by it (``protocol.select: eval_auc``), the
time-averaged clean return (AUC) -- the ranking by the AUC's IQM and the comparisons on the
AUC (:meth:`rl_lr.report.task.Task.comparisons`), since final returns at the env's ceiling
leave no win possible.

    >>> round(min_detectable(10, 10), 2)   # 10 runs a side: only P >= 0.83 is detected
    0.83
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

from rl_lr import schema
from rl_lr.metrics import Interval, min_detectable_p, verdict
from rl_lr.metrics.power import BETTER, CEILING, MIN_RUNS, TOO_FEW, WORSE
from rl_lr.report.dose import dose_summary
from rl_lr.report.task import Comparison, Task, format_number, markdown, tasks
from rl_lr.results import SEED, Panel, Results

__all__ = ["POWER", "Verdict", "ceiling_table", "min_detectable", "summary_lines",
           "verdict_table", "verdicts"]

POWER = 0.8  # the power every "P needed" of the report is computed at
SEPARATES = 0.75  # a design detecting only P above this cannot separate most LR policies


@functools.cache
def min_detectable(n_x: int, n_y: int) -> float:
    """The smallest P(improvement) that ``n_x`` against ``n_y`` runs detect (CI above 0.5)
    with :data:`POWER`, simulated with the report's seed (deterministic)."""
    return min_detectable_p(n_x, n_y, POWER, rng=SEED)


class Verdict(NamedTuple):
    """A comparison with the P it needs to be detected and its verdict in words."""

    comparison: Comparison
    needed: float
    words: str


def verdicts(comparisons: Sequence[Comparison]) -> list[Verdict]:
    """Each comparison's verdict (:func:`rl_lr.metrics.verdict`)."""
    out = []
    for c in comparisons:
        needed = min_detectable(c.n_x, c.n_y)
        out.append(Verdict(c, needed, verdict(c.ci.low, c.ci.high, needed, ceiling=c.ceiling,
                                              runs=(c.n_x, c.n_y))))
    return out


def verdict_table(task: Task, found: Sequence[Verdict]) -> str:
    """One row per comparison: the condition, the policies, P [CI], the runs of each side,
    the P needed for 80 % power, the verdict."""
    if not found:
        return "No comparison: no adaptive policy and fixed schedule share a condition."
    rows = [[task.condition(v.comparison.panel), v.comparison.policy, v.comparison.rival,
             f"{v.comparison.ci.point:.2f} [{v.comparison.ci.low:.2f}, "
             f"{v.comparison.ci.high:.2f}]", f"{v.comparison.n_x} vs {v.comparison.n_y}",
             f"{v.needed:.2f}", v.words] for v in found]
    return markdown(["condition", "policy", "vs", "P [CI]", "runs", "P needed (80 % power)",
                     "verdict"], rows)


def ceiling_table(task: Task) -> str | None:
    """Runs at the env's maximum return per cell, ``k/n``; None for an env without a known
    maximum."""
    if task.maximum is None:
        return None

    def cell(panel: Panel, policy: str) -> str:
        at, runs = task.at_maximum(panel, policy)
        return f"{at}/{runs}" if runs else "–"

    return task.matrix(cell)


def _names(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _runs_per_group(task: Task, score: str) -> int:
    counts = [len(task.scores(panel, policy, score)) for panel in task.panels
              for policy in task.fixed + task.adaptive]
    return min((c for c in counts if c), default=0)


def summary_lines(data: Results) -> list[str]:
    """The verdict at the top of the report, one paragraph per task (plain text), on the
    experiment's primary score (see the module docstring)."""
    score = data.primary_score
    on_auc = score == schema.EVAL_AUC
    lines = []
    for task in tasks(data):
        head = f"{task.env} · {task.algo}: "
        ranked = task.ranked()
        if ranked is None or (on_auc and not ranked.auc_cis):
            lines.append(head + "no policy has a finished run in every condition yet.")
            continue
        cis: dict[str, Interval] = (ranked.auc_cis if on_auc else
                                    {p: c["iqm"] for p, c in ranked.cis.items()})
        order = ranked.auc_order() if on_auc else ranked.order
        first = order[0]
        best = cis[first]
        overlap = [p for p in order[1:] if cis[p].high >= best.low]
        interval = (f"{format_number(best.point)} [{format_number(best.low)}, "
                    f"{format_number(best.high)}] over {len(task.panels)} condition(s)")
        if on_auc:
            scale = "the normalised AUC's IQM" if task.range is not None else "IQM"
            text = (f"{task.name(first)} ranks first on the time-averaged clean return (AUC), "
                    f"the protocol's selection metric ({scale} {interval}). ")
        else:
            text = f"{task.name(first)} ranks first on the final clean return (IQM {interval}). "
        if overlap:
            text += (f"Its CI overlaps those of {len(overlap)} of the other "
                     f"{len(order) - 1} policies ({_names(overlap)}): the runs do not "
                     "separate them from it. ")
        elif len(order) > 1:
            text += "Its CI lies above every other policy's. "
        found = verdicts(task.comparisons(score))
        if found:
            better = [v for v in found if v.words == BETTER]
            worse = [v for v in found if v.words == WORSE]
            ceiling = [v for v in found if v.words == CEILING]
            too_few = [v for v in found if v.words == TOO_FEW]
            rest = len(found) - len(better) - len(worse) - len(ceiling) - len(too_few)
            text += (f"Of the {len(found)} comparisons of an adaptive policy with its "
                     "condition's best fixed schedule"
                     f"{' (chosen on the tuning seeds)' if task.data.tuned else ''}"
                     f"{' on the AUC' if on_auc else ''}, "
                     f"{len(better)} say better"
                     + (f" ({_names([_label(task, v) for v in better])})" if better else "")
                     + f", {len(worse)} say worse"
                     + (f" ({_names([_label(task, v) for v in worse])})" if worse else "")
                     + f", {rest} detect no difference at this power"
                     + (f", and in {len(ceiling)} the rival is at the env's maximum in every "
                        "run, so no win is possible" if ceiling else "")
                     + (f"; {len(too_few)} have too few runs to judge (fewer than {MIN_RUNS} a "
                        "side)" if too_few else "") + ". ")
        n = _runs_per_group(task, score)
        if 0 < n < MIN_RUNS:
            text += (f"How sure: with {n} run{'s' if n > 1 else ''} per group nothing is judged: "
                     f"fewer than {MIN_RUNS} runs a side cannot show a difference at 5 % even "
                     "when every run of one policy beats every run of the other.")
        elif n:
            needed = min_detectable(n, n)
            text += (f"How sure: with {n} runs per group, a difference is detected with "
                     f"{POWER * 100:.0f} % power only when one policy beats the other in P >= "
                     f"{needed:.2f} of pairs of runs")
            text += (f"; {n} seeds cannot separate most LR policies, so an overlapping CI or "
                     "'no difference detectable' means not measured, not equal."
                     if needed > SEPARATES else ".")
        lines.append(head + " ".join([text.strip(), *dose_summary(task, score)]))
    return lines


def _label(task: Task, v: Verdict) -> str:
    return f"{v.comparison.policy} {task.condition(v.comparison.panel)}"
