"""Dose response (an experiment whose conditions are one perturbation at several strengths,
e.g. ``experiments/dose_response.yaml``: clean and ``gaussian(std=1.0)``, ``(std=3.0)``,
``(std=5.0)``): how much perturbation each policy tolerates.

A **dose axis** (:func:`dose_axes`) is a clean condition and two or more conditions of one
task that differ only in the perturbation, whose specs call the same perturbation with the
same arguments but one number: the dose, ordered from the clean condition up. Found from the
specs in ``summary.csv``, so an experiment declares nothing; one without such conditions is
unchanged.

Per policy and dose, :func:`retained`: the policy's mean score under the dose over its mean in
clean training, on the seeds both have (:func:`rl_lr.metrics.sensitivity_of_means_ci`:
normalised to the env's range where it is known, a paired bootstrap over the seeds,
:data:`~rl_lr.results.REPS` resamples seeded by the task, the dose's condition, the policy,
:data:`TAG` and the score). 1 = unaffected; a policy *clearly loses* at a dose when the whole
CI lies below :data:`KEEPS` (it keeps less than 90 % of its clean score, the bar of
``results/dose_precheck/``), and :func:`first_clear_loss` is the lowest such dose: the policy
tolerates the doses below it. As for every verdict of the report, a dose with fewer than
:data:`~rl_lr.metrics.power.MIN_RUNS` common seeds is too few runs to judge. In a
tune-then-test experiment every condition has its own tuned configuration, so this is the cost
of the dose to a policy tuned for it.

    >>> dose_argument(parse_text("gaussian(std=1.0)"), parse_text("gaussian(std=3.0)"))
    'std'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from rl_lr import schema
from rl_lr.grammar import Call, parse_text
from rl_lr.metrics import Interval, sensitivity_of_means_ci
from rl_lr.metrics.power import MIN_RUNS
from rl_lr.report.task import SCORES, Task, format_number, markdown
from rl_lr.results import REPS, Panel, name_seed
from rl_lr.results.scores import env_range, number

__all__ = ["CLEAN", "KEEPS", "TAG", "DoseAxis", "DoseTable", "Kept", "dose_argument",
           "dose_axes", "dose_markdown", "dose_summary", "dose_tables", "first_clear_loss",
           "retained", "retained_text"]

CLEAN = "clean"  # the dose label of the condition without perturbation
KEEPS = 0.9  # a policy clearly loses at a dose when its retained fraction's CI is below this
TAG = "dose"  # in every bootstrap seed of the retained fractions


class DoseAxis(NamedTuple):
    """One task's doses of one perturbation: the other conditions (``rest``), the
    perturbation's name and the argument that varies, and ``(label, value, panel)`` per dose
    from the clean condition (value None) up."""

    rest: Panel
    perturbation: str
    argument: str
    doses: list[tuple[str, float | None, Panel]]

    def title(self) -> str:
        """``gaussian std`` (the perturbation and its varying argument)."""
        return f"{self.perturbation} {self.argument}"


def _arguments(call: Call) -> dict[str, Any]:
    """A call's arguments by name (positional ones as ``argument 1``, ...)."""
    return {**{f"argument {i + 1}": v for i, v in enumerate(call.args)}, **dict(call.kwargs)}


def dose_argument(*calls: Any) -> str | None:
    """The one numeric argument in which perturbation calls of the same name and arguments
    differ, each call a different value; None when they are not such a series."""
    if not all(isinstance(c, Call) for c in calls) or len({c.name for c in calls}) != 1:
        return None
    arguments = [_arguments(c) for c in calls]
    if len({tuple(sorted(a)) for a in arguments}) != 1:
        return None
    varying = [k for k in arguments[0] if len({repr(a[k]) for a in arguments}) > 1]
    if len(varying) != 1:
        return None
    values = [a[varying[0]] for a in arguments]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    return varying[0] if numeric and len(set(values)) == len(values) else None


def dose_axes(task: Task) -> list[DoseAxis]:
    """The task's dose axes (module docstring), in the order of their first panel."""
    groups: dict[Panel, list[Panel]] = {}
    for panel in task.panels:
        rest = tuple((k, v) for k, v in panel if k != schema.PERTURB)
        groups.setdefault(rest, []).append(panel)
    axes = []
    for rest, panels in groups.items():
        specs = {panel: next((row.get(schema.PERTURB_SPEC, "") for row in task.data.rows(panel)),
                             "") for panel in panels}
        clean = [panel for panel in panels if not specs[panel]]
        dosed = [panel for panel in panels if specs[panel]]
        if len(clean) != 1 or len(dosed) < 2:
            continue
        try:
            calls = [parse_text(specs[panel]) for panel in dosed]
        except ValueError:
            continue
        argument = dose_argument(*calls)
        if argument is None:
            continue
        values = [float(_arguments(call)[argument]) for call in calls]
        ordered = sorted(zip(values, dosed, strict=True), key=lambda pair: pair[0])
        doses: list[tuple[str, float | None, Panel]] = [
            (dict(clean[0]).get(schema.PERTURB, CLEAN), None, clean[0]),
            *((dict(panel)[schema.PERTURB], value, panel) for value, panel in ordered)]
        axes.append(DoseAxis(rest, calls[0].name, argument, doses))
    return axes


class Kept(NamedTuple):
    """A policy's retained fraction at one dose [CI] and the seeds it is computed on."""

    ci: Interval
    seeds: int

    @property
    def judged(self) -> bool:
        """Enough seeds for a verdict (:data:`~rl_lr.metrics.power.MIN_RUNS`)."""
        return self.seeds >= MIN_RUNS


def retained(task: Task, axis: DoseAxis, policy: str, score: str) -> dict[str, Kept]:
    """``{dose label: retained fraction [CI] and seeds}`` of ``policy`` on ``score`` at every
    dose but the clean one (module docstring); a dose without runs on common seeds is left
    out."""
    clean_panel = axis.doses[0][2]
    clean = _by_seed(task, clean_panel, policy, score)
    bounds = env_range(task.env)
    low, high = bounds if bounds is not None else (None, None)
    out = {}
    for label, _, panel in axis.doses[1:]:
        dosed = _by_seed(task, panel, policy, score)
        seeds = [seed for seed in dosed if seed in clean]
        if not seeds:
            continue
        out[label] = Kept(sensitivity_of_means_ci(
            [dosed[s] for s in seeds], [clean[s] for s in seeds], low=low, high=high,
            reps=REPS, rng=name_seed(task.env, task.algo, task.condition(panel), policy, TAG,
                                     score)), len(seeds))
    return out


def _by_seed(task: Task, panel: Panel, policy: str, score: str) -> dict[str, float]:
    """``{seed: score}`` of a group's runs with a finite score, scored as everywhere else (a
    diverged run's final return is its last finite evaluation: :mod:`rl_lr.results.scores`)."""
    values = {}
    for row in task.data.rows(panel, policy):
        value = (task.data.final_score(row) if score == schema.FINAL_EVAL_RETURN
                 else number(row.get(score)))
        if math.isfinite(value):
            values[row[schema.SEED]] = value
    return values


def first_clear_loss(found: dict[str, Kept], axis: DoseAxis) -> str | None:
    """The lowest dose judged (:attr:`Kept.judged`) at which the CI of the retained fraction
    lies below :data:`KEEPS`."""
    return next((label for label, _, _ in axis.doses[1:] if label in found
                 and found[label].judged and found[label].ci.high < KEEPS), None)


def retained_text(kept: Kept) -> str:
    """``0.84 [0.77, 0.9]``, with its seeds when too few to judge.

    >>> retained_text(Kept(Interval(0.84, 0.77, 0.9), 2))
    '0.84 [0.77, 0.9] (2 seeds: too few to judge)'
    """
    ci = kept.ci
    text = f"{format_number(ci.point)} [{format_number(ci.low)}, {format_number(ci.high)}]"
    return text if kept.judged else f"{text} ({kept.seeds} seeds: too few to judge)"


def _verdict(found: dict[str, Kept], axis: DoseAxis) -> str:
    """The last column: the first clear loss, ``none``, ``too few runs`` or ``–``."""
    if not found:
        return "–"
    if not any(kept.judged for kept in found.values()):
        return "too few runs"
    return first_clear_loss(found, axis) or "none"


def dose_summary(task: Task, score: str) -> list[str]:
    """One sentence per dose axis for the verdict at the top of the report: the policies by
    the lowest dose at which they clearly lose (:func:`first_clear_loss`) on ``score``.

    Example (results/dose_precheck, 2,048-step rollouts): "Dose response to gaussian std, on
    the final clean return (the lowest dose at which a policy keeps clearly less than 90 % of
    its clean score): std_10 for constant (fixed)."
    """
    out = []
    for axis in dose_axes(task):
        groups: dict[str, list[str]] = {}
        for policy in task.fixed + task.adaptive:
            found = retained(task, axis, policy, score)
            if found:
                groups.setdefault(_verdict(found, axis), []).append(task.name(policy))
        if not groups:
            continue
        where = task.condition(axis.rest)
        parts = [f"{label} for {', '.join(groups[label])}"
                 for label, _, _ in axis.doses[1:] if label in groups]
        if "none" in groups:
            parts.append(f"no dose for {', '.join(groups['none'])}")
        if "too few runs" in groups:
            parts.append(f"too few runs to judge for {', '.join(groups['too few runs'])}")
        out.append(f"Dose response to {axis.title()}"
                   + ("" if where == "all runs" else f" ({where})")
                   + f", on {SCORES[score]} (the lowest dose at which a policy keeps clearly "
                   f"less than {KEEPS * 100:.0f} % of its clean score): {'; '.join(parts)}.")
    return out


class DoseTable(NamedTuple):
    """One dose axis on one score, as the report's tables show it (:func:`dose_tables`)."""

    title: str
    headers: list[str]
    rows: list[list[str]]


def dose_tables(task: Task, scores: Sequence[str]) -> list[DoseTable]:
    """Per dose axis and score, a table: the policies as rows, the doses as columns, each cell
    the retained fraction [CI], the last column the lowest dose where the policy clearly loses
    (``none``: it tolerates every dose). Empty without a dose axis."""
    out = []
    for axis in dose_axes(task):
        where = task.condition(axis.rest)
        where = "" if where == "all runs" else f" ({where})"
        labels = [label for label, _, _ in axis.doses[1:]]
        for score in scores:
            rows = []
            for policy in task.fixed + task.adaptive:
                found = retained(task, axis, policy, score)
                cells = [retained_text(found[label]) if label in found else "–"
                         for label in labels]
                rows.append([task.name(policy), *cells, _verdict(found, axis)])
            title = (f"Dose response{where}: {SCORES[score]} under each dose of "
                     f"{axis.title()} as a fraction of the same policy's in clean training "
                     "(ratio of the means over the seeds both have"
                     + (", normalised to the env's range" if env_range(task.env) else "")
                     + "; 1 = unaffected) [95 % CI]; the last column: the lowest dose at which "
                     f"it keeps clearly less than {KEEPS * 100:.0f} % (CI below {KEEPS})")
            out.append(DoseTable(title, ["policy", *labels, "clearly loses from"], rows))
    return out


def dose_markdown(task: Task, scores: Sequence[str]) -> list[tuple[str, str]]:
    """:func:`dose_tables` as (title, Markdown table) for ``tables.md``."""
    return [(t.title, markdown(t.headers, t.rows)) for t in dose_tables(task, scores)]
