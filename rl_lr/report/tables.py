"""The headline tables of an experiment, in Markdown: ``report/tables.md`` (written with the
report by :func:`rl_lr.report.write_report`).

For each task (env x algorithm), one table per question, the LR policies as rows (fixed
schedules first, then adaptive ones: controllers and adaptive optimizers) and the
conditions (the perturbations of training) as columns:

0. the ranking over all conditions: IQM [95 % CI] of the final clean return, the conditions
   as the tasks of a stratified bootstrap (rliable's aggregate), best first, with the
   normalised AUC beside it (:meth:`rl_lr.report.task.Task.aucs`);
   - with a tune-then-test protocol, the tuning table (:mod:`rl_lr.report.tuning`);
1. final clean return, IQM [95 % CI] (``metrics.csv``), with the number of diverged runs;
   - where the env's maximum return is known, the runs at it per cell (ceiling shares);
2. sample efficiency: area under the clean eval curve, IQM [CI];
3. steps to the env's threshold: runs reaching it and their median steps;
4. stability of the clean eval curves: dispersion across time, long-term risk (Chan et al.;
   titled the maximum drawdown when the curves have too few points for a 5 % tail:
   :func:`risk_titles`);
5. sensitivity: final return under the perturbation over the same policy's clean one (none
   without a clean condition: :func:`sensitivity_tables`);
   - where a perturbation switches regime on a schedule (``switch(...)``, the dynamics
     switches), the regime switches: the return drop after a switch, IQM [CI] over runs, and
     the switches recovered with the steps to recover, IQM [CI], a never-recovered switch
     counting as its regime's full length (``metrics.csv``'s ``switch_*`` columns:
     :mod:`rl_lr.results.group_metrics`; :func:`switch_tables`);
6. the LR actually used: final LR over the runs, how many runs moved it, and how many distinct
   LR sequences they followed (a controller that never acts, or acts the same way whatever
   the rewards, is a fixed schedule in disguise);
7. probability of improvement of each adaptive policy over the best fixed schedule of that
   condition (the fixed schedule with the highest final IQM there; ties: mean, then the
   last name), with a 95 % stratified-bootstrap CI over the final returns, seeded by the
   condition and policy names; then each comparison's verdict in words with the
   P(improvement) its runs detect with 80 % power (:mod:`rl_lr.report.verdicts`).
   An experiment whose primary score is the AUC (a protocol with ``select: eval_auc``:
   :attr:`rl_lr.results.Results.primary_score`) gets this pair on the AUC first (the rival:
   the highest AUC IQM; P over the runs' ``eval_auc``), then the pair on the final return,
   each titled with its score (:func:`rl_lr.report.task.compared_scores`);
   - with an oracle (``oracle(X)``) and the policy running its rule X on the observed
     reward, the oracle against that rule on the primary score, with its verdict: the gap the
     noisy signal costs the rule (:mod:`rl_lr.report.oracle_gap`);
8. with a ``base_lr`` axis centred on ``x1`` (robustness to the base LR,
   :mod:`rl_lr.report.base_lr`), on the primary score and on the AUC: P(each policy started
   at each base LR beats the tuned constant, the best fixed schedule at ``x1``) [CI] with its
   verdict and the starts where it is worse, and each policy's worst and best start (its
   lowest and highest IQM [CI] over the starts);
9. with a dose axis (one perturbation at several strengths beside a clean condition,
   :mod:`rl_lr.report.dose`), on the primary score and on the AUC: each policy's score under
   each dose as a fraction of its clean one [CI], and the lowest dose at which it clearly
   keeps less than 90 %.

Above the tasks, the verdict in words (:func:`rl_lr.report.verdicts.summary_lines`), on the
primary score.

Every number comes from ``metrics.csv``, ``summary.csv`` or ``curves.csv`` of the same
directory, so a claim quoting the tables can be checked against them; runs are scored and
ranked by the rules of :mod:`rl_lr.results.scores`. A partial experiment says so in the first
line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from rl_lr import schema
from rl_lr.files import atomic_write_text
from rl_lr.metrics import MIN_TAIL_POINTS, tail_points
from rl_lr.report.base_lr import robustness_scores, robustness_tables
from rl_lr.report.dose import dose_markdown
from rl_lr.report.oracle_gap import against_rule
from rl_lr.report.task import (
    SCORES,
    Task,
    ci_text,
    compared_scores,
    format_number,
    is_fixed_schedule,
    markdown,
    tasks,
)
from rl_lr.report.tuning import TUNING_HEADERS, tuning_rows
from rl_lr.report.verdicts import POWER, ceiling_table, summary_lines, verdict_table, verdicts
from rl_lr.results import REPS, Results
from rl_lr.results.scores import number

__all__ = ["against_constant_tables", "comparison_tables", "format_number", "headline_tables",
           "is_fixed_schedule", "oracle_tables", "risk_titles", "sensitivity_tables",
           "switch_tables", "write_headline_tables"]


def _final(row: Mapping[str, str]) -> str:
    text = ci_text(row, schema.FINAL_IQM)
    runs, rate = row.get(schema.RUNS), row.get(schema.DIVERGED_RATE)
    if runs and rate and float(rate) > 0:
        text += f" ({round(float(rate) * float(runs))} div.)"
    return text


def _reach(row: Mapping[str, str]) -> str:
    if not row.get(schema.RUNS) or row.get(schema.REACH_FRACTION) in (None, "", "nan"):
        return "–"
    runs = int(float(row[schema.RUNS]))
    reached = round(float(row[schema.REACH_FRACTION]) * runs)
    steps = number(row.get(schema.STEPS_TO_THRESHOLD_MEDIAN))
    return f"{reached}/{runs}" + (f" · {steps:,.0f}" if reached and math.isfinite(steps) else "")


def _has_switches(row: Mapping[str, str]) -> bool:
    return number(row.get(schema.SWITCH_COUNT)) > 0


def _recovery(row: Mapping[str, str]) -> str:
    if not _has_switches(row):
        return "–"
    count = int(number(row[schema.SWITCH_COUNT]))
    recovered = round(number(row.get(schema.SWITCH_RECOVERED)) * count)
    return (f"{recovered}/{count} ({100 * recovered / count:.0f} %) · "
            f"{ci_text(row, schema.SWITCH_RECOVERY_IQM)}")


SWITCH_NOTE = ("each run's mean over its switches, IQM over the runs [95 % CI]; a switch's "
               "regime lasts until the next switch (the last one's until the end of training)")


def switch_tables(task: Task) -> list[tuple[str, str]]:
    """The regime-switch tables of a task (title, table), the conditions with switches as
    columns; none when no condition has a switch on a schedule."""
    panels = [p for p in task.panels if any(
        _has_switches(task.metrics.get((p, policy), {})) for policy in task.fixed + task.adaptive)]
    if not panels:
        return []
    return [
        ("Regime switches: return drop after a switch (the pre-switch level, the mean of the "
         "last 3 evaluations before it, minus the lowest clean eval return in its regime; "
         f"lower is better), {SWITCH_NOTE}",
         task.matrix(task.of_metrics(lambda r: ci_text(r, schema.SWITCH_DROP_IQM)
                                     if _has_switches(r) else "–"), panels)),
        ("Regime switches: switches after which the clean eval return came back within 5 % "
         "of its pre-switch level before the next switch, of all switches of all runs · "
         "steps to recover (from the switch), a switch never recovered counting as its "
         f"regime's full length (censored: a lower bound), {SWITCH_NOTE}",
         task.matrix(task.of_metrics(_recovery), panels)),
    ]


def sensitivity_tables(task: Task) -> list[tuple[str, str]]:
    """The sensitivity table of a task (title, table), the conditions with a sensitivity as
    columns; none when no condition has a clean counterpart to divide by (an experiment whose
    every run is perturbed)."""
    perturbed = [p for p in task.panels if any(
        task.metrics.get((p, policy), {}).get(schema.SENSITIVITY) not in (None, "", "nan")
        for policy in task.fixed + task.adaptive)]
    if not perturbed:
        return []
    return [("Sensitivity: final return under the perturbation / clean (1 = unaffected), "
             "IQM [CI]",
             task.matrix(task.of_metrics(lambda r: ci_text(r, schema.SENSITIVITY)), perturbed))]


def evaluation_points(task: Task) -> int:
    """The most evaluation points of any eval curve of the task (the step-0 one included)."""
    return max((trace[0].size for row in task.data.summary
                if row.get(schema.ENV) == task.env and row.get(schema.ALGO, "") == task.algo
                and (trace := task.data.curves.get(row[schema.RUN_ID], {}).get(
                    schema.EVAL_RETURN_MEAN)) is not None), default=0)


def risk_titles(points: int) -> tuple[str, str]:
    """What the short- and long-term risk (CVaR 5 %, Chan et al.) of curves of ``points``
    evaluation points measure. A curve has ``points`` drawdowns but ``points - 1`` slopes; where
    the 5 % tail of either holds fewer than :data:`~rl_lr.metrics.MIN_TAIL_POINTS` values
    (:func:`~rl_lr.metrics.tail_points`) its CVaR is the single most extreme value (the worst
    slope, the maximum drawdown), and that title says so.

    >>> [title.split(" (")[0].split(":")[0] for title in risk_titles(21)]
    ["Short-term risk = the eval curve's worst slope between two evaluations", 'Long-term risk']
    """
    def limit(values: str, count: int) -> str | None:
        if tail_points(count) >= MIN_TAIL_POINTS:
            return None
        needed = next(n for n in range(count, 10_000) if tail_points(n) >= MIN_TAIL_POINTS)
        return (f"with {points} evaluation points ({count} {values}) the 5 % tail holds a "
                f"single value, so the CVaR 5 % is the most extreme one; averaging a 5 % tail "
                f"needs {needed} {values}")

    short_limit, long_limit = limit("slopes", points - 1), limit("drawdowns", points)
    if short_limit:
        short = (f"Short-term risk = the eval curve's worst slope between two evaluations "
                 f"(return per env step; negative: the curve fell; higher is safer): {short_limit}")
    else:
        short = ("Short-term risk (CVaR 5 % of the eval curve's slope between evaluations, "
                 "return per env step: negative when the curve falls; higher is safer)")
    if long_limit:
        long = (f"Long-term risk = the maximum drawdown of the eval curve (the largest fall "
                f"below its running best; lower is safer): {long_limit}")
    else:
        long = "Long-term risk (CVaR 5 % of the drawdown of the eval curve; lower is safer)"
    return short, long


def headline_tables(data: Results) -> str:
    """The Markdown text of ``tables.md`` (see the module docstring)."""
    lines = [f"# Headline tables: {data.name}", ""]
    if data.partial:
        lines += [f"**{data.status}.** Every table below covers the finished runs only.", ""]
    lines += [f"95 % stratified-bootstrap CIs in brackets ({REPS:,} resamples). Conditions are the "
              "perturbations of training (of the reward or the dynamics); every return is the "
              "clean one, evaluated on a separate env. Generated by `rl-lr report` from "
              "`metrics.csv` and `summary.csv`.",
              ""]
    verdict = summary_lines(data)
    if verdict:
        lines += ["## Verdict", "", *(f"- {line}" for line in verdict), ""]
    compared = compared_scores(data)
    for task in tasks(data):
        env, algo = task.env, task.algo
        long_risk = risk_titles(evaluation_points(task))[1]
        auc = ("normalised AUC: the time-averaged clean return mapped by the env's range, 0 = "
               "random, 1 = reference" if task.range is not None else
               "AUC: the time-averaged clean return (raw: the env has no normalisation range)")
        sections = [
            (f"Ranking over the {len(task.panels)} conditions: final clean return, and the "
             f"{auc}", task.ranking()),
        ]
        rows = tuning_rows(task)
        if rows:
            sections.append((
                "Tuning (tune-then-test protocol): each family's configurations tried on the "
                "tuning seeds, what that cost, the configuration chosen, and the family's "
                "scores on the test seeds only", markdown(TUNING_HEADERS, rows)))
        sections += [
            ("Final clean return, IQM [CI] (div.: diverged runs, scored at their last finite "
             "evaluation)", task.matrix(task.of_metrics(_final))),
        ]
        ceiling = ceiling_table(task)
        if ceiling is not None:
            sections.append((f"Runs whose final return is the env's maximum ({task.maximum:g}): "
                             "a run there cannot be beaten", ceiling))
        sections += [
            ("Area under the clean eval curve (time-averaged return), IQM [CI]",
             task.matrix(task.of_metrics(lambda r: ci_text(r, schema.AUC_IQM)))),
            ("Runs reaching the env's threshold · median steps to reach it",
             task.matrix(task.of_metrics(_reach))),
            ("Dispersion across time (IQR of the eval curve's slope, return per env step; "
             "lower is steadier), IQM [CI]",
             task.matrix(task.of_metrics(lambda r: ci_text(r, schema.DISPERSION_TIME)))),
            (f"{long_risk}, IQM [CI]",
             task.matrix(task.of_metrics(lambda r: ci_text(r, schema.LONG_TERM_RISK)))),
            *sensitivity_tables(task),
            *switch_tables(task),
            ("LR actually used: final LR, median [min, max] over the runs · runs whose LR "
             "moved · distinct LR traces (1: the same LR sequence in every run); the LR at "
             "the evaluation points", task.matrix(task.lr_used)),
            *(section for score in compared for section in
              comparison_tables(task, score, named=len(compared) > 1)),
            *against_constant_tables(task, compared[0]),
            *oracle_tables(task, compared[0]),
            *robustness_tables(task, robustness_scores(data)),
            *dose_markdown(task, robustness_scores(data)),
        ]
        lines += [f"## {env} · {algo}", ""]
        for title, table in sections:
            lines += [f"### {title}", "", table, ""]
    return "\n".join(lines)


def comparison_tables(task: Task, score: str, *, named: bool) -> list[tuple[str, str]]:
    """The P(improvement) matrix and the verdict table of a task's comparisons on ``score``
    (title, table); ``named``: the verdict table's title names the score too. None without
    an adaptive policy to compare."""
    comparisons = task.comparisons(score)
    if not comparisons:
        return []
    rival = "best fixed schedule" + (", chosen on the tuning seeds" if task.data.tuned else "")
    selection = ", the protocol's selection metric" if score == task.data.primary_score \
        and task.data.tuned else ""
    matrix = (f"P(adaptive policy beats the condition's {rival}) on {SCORES[score]}{selection} "
              "[CI]; 0.5 = no difference")
    ceiling = ("; a rival at the env's maximum in every run leaves no win possible"
               if score == schema.FINAL_EVAL_RETURN else "")
    return [
        (matrix, task.improvement(comparisons, score)),
        (f"Each comparison's verdict{f' on {SCORES[score]}' if named else ''}: better (CI "
         "above 0.5), worse (CI below 0.5), or no difference detectable at this power, with "
         f"the P(improvement) its runs detect with {POWER * 100:.0f} % power{ceiling}",
         verdict_table(task, verdicts(comparisons))),
    ]


def against_constant_tables(task: Task, score: str) -> list[tuple[str, str]]:
    """The verdicts of every policy against the tuned constant on ``score`` where another
    fixed schedule is the best (:meth:`Task.against_constant`; title, table); none where the
    constant is the best fixed schedule or the experiment has no protocol."""
    found = verdicts(task.against_constant(score))
    if not found:
        return []
    return [(f"Against the tuned constant ({task.constant}, chosen on the tuning seeds), where "
             f"another fixed schedule is the best: each policy's P(beats it) on {SCORES[score]} "
             "[CI] and verdict, better (CI above 0.5), worse (CI below 0.5), or no difference "
             f"detectable at this power, with the P(improvement) its runs detect with "
             f"{POWER * 100:.0f} % power; a secondary question beside the comparisons with the "
             "best fixed schedule", verdict_table(task, found))]


def oracle_tables(task: Task, score: str) -> list[tuple[str, str]]:
    """The verdicts of every oracle against the same rule on the observed reward on ``score``
    (:mod:`rl_lr.report.oracle_gap`; title, table); none without an oracle and its rule."""
    found = verdicts(against_rule(task, score))
    if not found:
        return []
    return [("Oracle gap: each oracle (the rule fed the clean reward, not deployable) against "
             f"the same rule on the observed reward, P(the oracle beats it) on {SCORES[score]} "
             "[CI] and verdict, better (CI above 0.5: the signal's noise costs the rule), worse "
             "(CI below 0.5), or no difference detectable at this power, with the "
             f"P(improvement) its runs detect with {POWER * 100:.0f} % power",
             verdict_table(task, found))]


def write_headline_tables(data: Results, path: Path) -> Path:
    """Write :func:`headline_tables` to ``path`` (atomically); return it."""
    atomic_write_text(path, headline_tables(data))
    return path
