"""One task (env x algorithm) of an experiment as the headline tables and the report see it:
its conditions and policies (fixed schedules first, then adaptive ones), the ranking with the
final return's IQM and mean and the normalised AUC's IQM, the comparisons of every adaptive
policy with its condition's best fixed schedule on a score (the final clean return, or the
time-averaged one, the AUC: :data:`SCORES`), the runs at the env's maximum return, and the
number formatting every table shares.

Which scores an experiment's comparisons are on (:func:`compared_scores`): its primary score
(:attr:`rl_lr.results.Results.primary_score`: a protocol's selection metric, else the final
return) first, then the final return when the primary score is the AUC.

    >>> format_number(0.012345), is_fixed_schedule("plateau(1e-3)")
    ('0.0123', False)
    >>> SCORES["eval_auc"]
    'the time-averaged clean return (AUC)'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from rl_lr import schema
from rl_lr.errors import SpecError
from rl_lr.metrics import (
    Interval,
    aggregate_with_cis,
    interval_estimates,
    normalise,
    probability_of_improvement_ci,
)
from rl_lr.results import REPS, Panel, Results, name_seed
from rl_lr.results.scores import at_maximum, env_maximum, env_range, number, ranking
from rl_lr.schedules import POLICIES, Constant

__all__ = ["AGAINST_CONSTANT", "SCORES", "Comparison", "Ranked", "Task", "ci_text",
           "compared_scores", "format_number", "is_fixed_schedule", "markdown", "tasks"]

AGAINST_CONSTANT = "vs tuned constant"  # in the bootstrap seed of a comparison with it

# The scores a comparison can be on (summary.csv column -> words for titles and verdicts)
SCORES = {schema.FINAL_EVAL_RETURN: "the final clean return",
          schema.EVAL_AUC: "the time-averaged clean return (AUC)"}


def compared_scores(data: Results) -> tuple[str, ...]:
    """The scores the experiment's comparisons are on, its primary score
    (:attr:`~rl_lr.results.Results.primary_score`) first: the final return alone, or the AUC
    then the final return for an experiment scored by the AUC."""
    return tuple(dict.fromkeys((data.primary_score, schema.FINAL_EVAL_RETURN)))


def is_fixed_schedule(lr_spec: str, optimizer_spec: str = "") -> bool:
    """A fixed schedule: the LR is a function of progress only, with the algorithm's own
    optimizer (no controller, no adaptive or parameter-free optimizer).

    >>> is_fixed_schedule("cosine(1e-3, warmup=0.05)"), is_fixed_schedule("plateau(1e-3)")
    (True, False)
    >>> is_fixed_schedule("constant(1e-3)", "schedulefree_adamw(warmup_steps=100)")
    False
    """
    try:
        policy = POLICIES.parse(lr_spec)
    except SpecError:
        return False  # per-network mappings and plugins: not claimed as fixed
    return not policy.stateful and not optimizer_spec


def _is_constant(lr_spec: str, optimizer_spec: str) -> bool:
    """A constant LR with the algorithm's own optimizer (``constant(3e-4)``)."""
    try:
        return isinstance(POLICIES.parse(lr_spec), Constant) and not optimizer_spec
    except SpecError:
        return False


def format_number(value: Any, digits: int = 3, missing: str = "") -> str:
    """``digits`` significant digits, never an exponent from 1,000 on (whole numbers there,
    thousands separators from 10,000); ``missing`` for anything not a finite number.

    >>> format_number(0.012345), format_number(999.7), format_number(15104.0)
    ('0.0123', '1000', '15,104')
    >>> format_number("nan", missing="–")
    '–'
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        return missing
    if not math.isfinite(x):
        return missing
    text = f"{x:.{digits}g}"
    if "e+" not in text:
        return text
    return f"{x:.0f}" if abs(x) < 1e4 else f"{x:,.0f}"


def ci_text(row: Mapping[str, str], key: str) -> str:
    """A ``metrics.csv`` column with its interval, ``point [low, high]`` (only the point, or
    "–", when a bound is missing)."""
    point, low, high = (format_number(row.get(column), missing="–")
                        for column in (key, *schema.ci_columns(key)))
    return point if "–" in (point, low, high) else f"{point} [{low}, {high}]"


def markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


class Task:
    """One env x algorithm of an experiment: its conditions (panels) and policies."""

    def __init__(self, data: Results, env: str, algo: str) -> None:
        self.data, self.env, self.algo = data, env, algo
        self.panels = [p for p in data.panels if dict(p)[schema.ENV] == env
                       and all(r.get(schema.ALGO) == algo for r in data.rows(p))]
        rows = [row for p in self.panels for row in data.rows(p)]
        specs: dict[str, set[tuple[str, str]]] = {}
        for row in rows:
            specs.setdefault(row[schema.LR], set()).add(
                (row.get(schema.LR_SPEC, ""), row.get(schema.OPTIMIZER_SPEC, "")))
        self.fixed = sorted(p for p, s in specs.items() if is_fixed_schedule(*max(s)))
        self.adaptive = sorted(p for p in specs if p not in self.fixed)
        constants = [p for p, s in specs.items() if all(_is_constant(*spec) for spec in s)]
        self.constant = constants[0] if len(constants) == 1 else None  # the constant LR policy
        self.metrics = {(panel, row.get(schema.LR, "")): row for panel in self.panels
                        for row in data.metric_rows(panel) if row.get(schema.ALGO) == algo}

    def name(self, policy: str) -> str:
        return f"{policy} (fixed)" if policy in self.fixed else policy

    def condition(self, panel: Panel) -> str:
        return self.data.panel_title(tuple((k, v) for k, v in panel if k != schema.ALGO),
                                     env=False)

    def matrix(self, cell: Callable[[Panel, str], str],
               panels: Sequence[Panel] | None = None) -> str:
        """Policies x conditions, ``cell(panel, policy)`` in each."""
        panels = self.panels if panels is None else panels
        rows = [[self.name(policy), *(cell(panel, policy) for panel in panels)]
                for policy in self.fixed + self.adaptive]
        return markdown(["policy", *(self.condition(p) for p in panels)], rows)

    def of_metrics(self, cell: Callable[[Mapping[str, str]], str]
                   ) -> Callable[[Panel, str], str]:
        """A :meth:`matrix` cell from the group's ``metrics.csv`` row."""
        return lambda panel, policy: cell(self.metrics.get((panel, policy), {}))

    def lr_used(self, panel: Panel, policy: str) -> str:
        """Final LR, median [min, max] over the runs, the runs whose LR ever moved and the
        number of distinct LR traces (1: every run followed the same LR sequence, whatever
        its rewards), from the ``lr`` trace at the evaluation points."""
        traces = []
        for row in self.data.rows(panel, policy):
            trace = self.data.curves.get(row[schema.RUN_ID], {}).get(schema.LR)
            lrs = trace[1][np.isfinite(trace[1])] if trace is not None else np.array([])
            if lrs.size:
                traces.append(tuple(lrs.tolist()))
        if not traces:
            return "–"
        finals = [t[-1] for t in traces]
        moved = sum(len(set(t)) > 1 for t in traces)
        low, mid, high = (format_number(x) for x in (min(finals), np.median(finals), max(finals)))
        return (f"{mid} [{low}, {high}] · {moved}/{len(traces)} moved · "
                f"{len(set(traces))} distinct")

    def scores(self, panel: Panel, policy: str, score: str = schema.FINAL_EVAL_RETURN
               ) -> list[float]:
        """A group's finite values of ``score`` (:data:`SCORES`), in plan (seed) order: the
        final clean returns, or the raw AUCs (``eval_auc``)."""
        if score == schema.EVAL_AUC:
            return self.data.aucs(panel, policy)
        return self.data.final_scores(panel, policy)

    def selected(self, panel: Panel) -> list[dict[str, str]]:
        """The ``selection.csv`` rows of this task and condition: each family's choice on the
        tuning seeds (none before the tuning phase has finished, or without a protocol)."""
        return [row for row in self.data.selection
                if row.get(schema.ENV) == self.env and row.get(schema.ALGO, "") == self.algo
                and all(row.get(k) == v for k, v in panel)]

    def best_fixed(self, panel: Panel, score: str = schema.FINAL_EVAL_RETURN) -> str | None:
        """The condition's best fixed schedule, the rival of its adaptive policies.

        In a tune-then-test experiment (:attr:`Results.tuned`) it is chosen on the tuning
        seeds, never on the runs it is compared with: the fixed family whose chosen
        configuration scored highest there (``selection.csv``'s tuning score, the protocol's
        selection metric; ties: the last name), whatever ``score`` is compared. Otherwise:
        the fixed schedule with the highest IQM of ``score`` here, from ``metrics.csv``: the
        final return's (ties: its mean, then the last name), or the AUC's (ties: the mean AUC
        of its runs, then the last name)."""
        if self.data.tuned:
            chosen = [(number(row.get(schema.TUNING_SCORE)), row.get(schema.FAMILY, ""))
                      for row in self.selected(panel)]
            fixed = [c for c in chosen if c[1] in self.fixed and math.isfinite(c[0])]
            return max(fixed)[1] if fixed else None

        def key(policy: str) -> tuple[float, float, str]:
            row = self.metrics.get((panel, policy), {})
            if score == schema.EVAL_AUC:
                iqm = number(row.get(schema.AUC_IQM))
                aucs = self.data.aucs(panel, policy)
                mean = float(np.mean(aucs)) if aucs else math.nan
            else:
                iqm, mean = (number(row.get(k)) for k in (schema.FINAL_IQM, schema.FINAL_MEAN))
            return (iqm if math.isfinite(iqm) else -math.inf,
                    mean if math.isfinite(mean) else -math.inf, policy)

        best = max((key(p) for p in self.fixed if (panel, p) in self.metrics), default=None)
        return best[2] if best is not None and math.isfinite(best[0]) else None

    def comparisons(self, score: str = schema.FINAL_EVAL_RETURN) -> list[Comparison]:
        """Every adaptive policy against its condition's best fixed schedule on ``score``
        (:meth:`best_fixed`; conditions in plan order, policies sorted): P(improvement) on
        the runs' ``score`` (:meth:`scores`; rank-based, so the AUC's normalisation does not
        matter) with a 95 % stratified-bootstrap CI, seeded by the task, condition and policy
        names (and the score's name, for the AUC). The ceiling (the rival at the env's
        maximum in every run: no win possible) is the final return's only."""
        out = []
        for panel in self.panels:
            rival = self.best_fixed(panel, score)
            y = self.scores(panel, rival, score) if rival else []
            for policy in self.adaptive:
                x = self.scores(panel, policy, score)
                if not x or not y or rival is None:
                    continue
                names = (self.env, self.algo, self.condition(panel), policy)
                out.append(self.compare(panel, policy, x, rival, y, score,
                                        names if score == schema.FINAL_EVAL_RETURN
                                        else (*names, score)))
        return out

    def against_constant(self, score: str) -> list[Comparison]:
        """In a tune-then-test experiment, every other policy (fixed or adaptive) against the
        tuned constant (:attr:`constant`) on ``score``, in the conditions where another fixed
        schedule is the best (where the constant is, :meth:`comparisons` has them already):
        does a policy beat the schedule most users would have tuned? A secondary question,
        seeded apart from the main comparisons ("vs tuned constant")."""
        constant = self.constant
        if not self.data.tuned or constant is None:
            return []
        out = []
        for panel in self.panels:
            y = self.scores(panel, constant, score)
            if not y or self.best_fixed(panel, score) in (constant, None):
                continue
            for policy in self.fixed + self.adaptive:
                x = self.scores(panel, policy, score)
                if x and policy != constant:
                    out.append(self.compare(panel, policy, x, constant, y, score, (
                        self.env, self.algo, self.condition(panel), policy, AGAINST_CONSTANT,
                        score)))
        return out

    def compare(self, panel: Panel, policy: str, x: Sequence[float], rival: str,
                y: Sequence[float], score: str, seed_names: tuple[str, ...]) -> Comparison:
        """``policy``'s runs ``x`` against ``rival``'s ``y`` on ``score``: P(improvement)
        with a 95 % stratified-bootstrap CI seeded by ``seed_names``; the ceiling (every run
        of the rival at the env's maximum: no win possible) on the final return only."""
        ci = probability_of_improvement_ci(np.array(x)[:, None], np.array(y)[:, None],
                                           reps=REPS, rng=name_seed(*seed_names))
        ceiling = (score == schema.FINAL_EVAL_RETURN and self.maximum is not None
                   and all(at_maximum(s, self.maximum) for s in y))
        return Comparison(panel, policy, rival, ci, len(x), len(y), ceiling, score)

    def improvement(self, comparisons: Sequence[Comparison],
                    score: str = schema.FINAL_EVAL_RETURN) -> str:
        """The comparisons on ``score`` as a matrix: adaptive policies x conditions, each
        column titled with its rival."""
        found = {(c.panel, c.policy): c for c in comparisons}
        best = {panel: self.best_fixed(panel, score) for panel in self.panels}
        rows = []
        for policy in self.adaptive:
            cells = [policy]
            for panel in self.panels:
                c = found.get((panel, policy))
                cells.append(f"{c.ci.point:.2f} [{c.ci.low:.2f}, {c.ci.high:.2f}]" if c else "–")
            rows.append(cells)
        headers = ["policy", *(f"{self.condition(p)} (vs {best[p]})" for p in self.panels)]
        return markdown(headers, rows)

    def ranked(self) -> Ranked | None:
        """Policies by the IQM of their final return over every condition (stratified over
        the conditions; a policy with unequal runs per condition keeps its first ``k``), with
        the IQM of their AUC (:meth:`aucs`) beside it; None when no policy has a finished run
        in every condition."""
        scores, aucs = {}, {}
        for policy in self.fixed + self.adaptive:
            finals = [self.data.final_scores(panel, policy) for panel in self.panels]
            k = min(len(f) for f in finals)
            if k:
                scores[policy] = np.array([f[:k] for f in finals]).T
            areas = [self.aucs(panel, policy) for panel in self.panels]
            k = min(len(a) for a in areas)
            if k:
                aucs[policy] = np.array([a[:k] for a in areas]).T
        if not scores:
            return None
        cis = aggregate_with_cis(scores, rng=name_seed(self.env, self.algo, "ranking"),
                                 statistics=("iqm", "mean"), reps=REPS)
        auc_cis = {p: ci for p, (ci,) in interval_estimates(
            aucs, ("iqm",), reps=REPS, rng=name_seed(self.env, self.algo, "ranking auc")
        ).items()} if aucs else {}
        return Ranked(ranking(cis), cis, auc_cis, {p: s.size for p, s in scores.items()})

    def ranking(self) -> str:
        """:meth:`ranked` as a Markdown table."""
        ranked = self.ranked()
        if ranked is None:
            return "No policy has a finished run in every condition yet."

        def interval(c: Interval | None) -> str:
            return "–" if c is None else \
                f"{format_number(c.point)} [{format_number(c.low)}, {format_number(c.high)}]"

        rows = [[str(rank), self.name(p), interval(ranked.cis[p]["iqm"]),
                 interval(ranked.cis[p]["mean"]), interval(ranked.auc_cis.get(p)),
                 str(ranked.runs[p])] for rank, p in enumerate(ranked.order, 1)]
        auc = "normalised AUC, IQM [CI]" if self.range is not None else "AUC, IQM [CI]"
        return markdown(["rank", "policy", "IQM [CI]", "mean [CI]", auc, "runs"], rows)

    # ------------------------------------------------------------------ scores beside the final

    @property
    def range(self) -> tuple[float, float] | None:
        """The env's normalisation range (:func:`~rl_lr.results.scores.env_range`)."""
        return env_range(self.env)

    @property
    def maximum(self) -> float | None:
        """The env's maximum return where known (:func:`~rl_lr.results.scores.env_maximum`)."""
        return env_maximum(self.env)

    def aucs(self, panel: Panel, policy: str) -> list[float]:
        """The group's normalised AUCs, in plan (seed) order: each run's ``eval_auc`` (the
        time-averaged clean eval return: the trapezoid area under its evaluation curve over
        the curve's span) mapped by the env's normalisation range, 0 = the random policy's
        return throughout, 1 = the reference return (the maximum, on CartPole-v1 and
        InvertedPendulum-v5) from the first evaluation on. The env range rather than the
        curve's own budget, so that AUC and final return share one scale; raw time-averaged
        returns for an env with no range."""
        finite = np.array(self.data.aucs(panel, policy), dtype=float)
        if self.range is not None and finite.size:
            finite = normalise(finite, *self.range)
        return [float(v) for v in finite]

    def at_maximum(self, panel: Panel, policy: str) -> tuple[int, int]:
        """Runs of the group whose final return is the env's maximum, and its runs."""
        finals = self.data.final_scores(panel, policy)
        return sum(at_maximum(s, self.maximum) for s in finals), len(finals)


class Comparison(NamedTuple):
    """An adaptive policy against its condition's best fixed schedule on ``score``
    (:meth:`Task.comparisons`): ``ceiling`` when every run of the rival is at the env's
    maximum return (the final return only)."""

    panel: Panel
    policy: str
    rival: str
    ci: Interval
    n_x: int
    n_y: int
    ceiling: bool
    score: str = schema.FINAL_EVAL_RETURN


class Ranked(NamedTuple):
    """A task's ranking (:meth:`Task.ranked`): the order, each policy's final-return IQM and
    mean and AUC IQM intervals, and its runs."""

    order: list[str]
    cis: dict[str, dict[str, Interval]]
    auc_cis: dict[str, Interval]
    runs: dict[str, int]

    def auc_order(self) -> list[str]:
        """The policies with an AUC interval, best first by its IQM (ties: the name)."""
        return sorted(self.auc_cis, key=lambda p: (-self.auc_cis[p].point, p))


def tasks(data: Results) -> list[Task]:
    """The experiment's tasks (env x algorithm), in the order of its runs."""
    pairs = dict.fromkeys((row[schema.ENV], row.get(schema.ALGO, "")) for row in data.summary)
    return [Task(data, env, algo) for env, algo in pairs]
