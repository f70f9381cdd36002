"""The headline tables of an experiment, in Markdown: ``report/tables.md`` (written with the
report by :func:`rl_lr.report.write_report`).

For each task (env x algorithm), one table per question, the LR policies as rows (fixed
schedules first, then adaptive ones: controllers and adaptive optimizers) and the reward
conditions as columns:

0. the ranking over all conditions: IQM [95 % CI] of the final clean return, the conditions
   as the tasks of a stratified bootstrap (rliable's aggregate), best first;
1. final clean return, IQM [95 % CI] (``metrics.csv``), with the number of diverged runs;
2. sample efficiency: area under the clean eval curve, IQM [CI];
3. steps to the env's threshold: runs reaching it and their median steps;
4. stability of the clean eval curves: dispersion across time, long-term risk (Chan et al.);
5. sensitivity: final return under the perturbation over the same policy's clean one;
6. the LR actually used: final LR over the runs, how many runs moved it, and how many distinct
   LR sequences they followed (a controller that never acts, or acts the same way whatever
   the rewards, is a fixed schedule in disguise);
7. probability of improvement of each adaptive policy over the best fixed schedule of that
   condition (the fixed schedule with the highest final IQM there; ties: mean, then the
   last name), with a 95 % stratified-bootstrap CI over the final returns, seeded by the
   condition and policy names.

Every number comes from ``metrics.csv``, ``summary.csv`` or ``curves.csv`` of the same
directory, so a claim quoting the tables can be checked against them; runs are scored and
ranked by the rules of :mod:`rl_lr.results.scores`. A partial experiment says so in the first
line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rl_lr import schema
from rl_lr.errors import SpecError
from rl_lr.files import atomic_write_text
from rl_lr.metrics import aggregate_with_cis, probability_of_improvement_ci
from rl_lr.results import REPS, Panel, Results, name_seed
from rl_lr.results.scores import number, ranking
from rl_lr.schedules import POLICIES

__all__ = ["format_number", "headline_tables", "is_fixed_schedule", "write_headline_tables"]


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


def _ci(row: Mapping[str, str], key: str) -> str:
    point, low, high = (format_number(row.get(column), missing="–")
                        for column in (key, *schema.ci_columns(key)))
    return point if "–" in (point, low, high) else f"{point} [{low}, {high}]"


def _markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


class _Task:
    """One env x algorithm of an experiment: its conditions (panels) and policies."""

    def __init__(self, data: Results, env: str, algo: str) -> None:
        self.data, self.env, self.algo = data, env, algo
        self.panels = [p for p in data.panels if dict(p)[schema.ENV] == env
                       and all(r.get(schema.ALGO) == algo for r in data.rows(p))]
        specs = {row[schema.LR]: (row.get(schema.LR_SPEC, ""), row.get(schema.OPTIMIZER_SPEC, ""))
                 for p in self.panels for row in data.rows(p)}
        self.fixed = sorted(p for p, s in specs.items() if is_fixed_schedule(*s))
        self.adaptive = sorted(p for p in specs if p not in self.fixed)
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
        return _markdown(["policy", *(self.condition(p) for p in panels)], rows)

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

    def best_fixed(self, panel: Panel) -> str | None:
        """The fixed schedule with the highest final IQM here (ties: mean, then the last
        name), from ``metrics.csv``."""
        def score(policy: str) -> tuple[float, float, str]:
            row = self.metrics.get((panel, policy), {})
            iqm, mean = (number(row.get(k)) for k in (schema.FINAL_IQM, schema.FINAL_MEAN))
            return (iqm if math.isfinite(iqm) else -math.inf,
                    mean if math.isfinite(mean) else -math.inf, policy)

        best = max((score(p) for p in self.fixed if (panel, p) in self.metrics), default=None)
        return best[2] if best is not None and math.isfinite(best[0]) else None

    def improvement(self) -> str:
        rows = []
        best = {panel: self.best_fixed(panel) for panel in self.panels}
        for policy in self.adaptive:
            cells = [policy]
            for panel in self.panels:
                rival = best[panel]
                x = self.data.final_scores(panel, policy)
                y = self.data.final_scores(panel, rival) if rival else []
                if not x or not y:
                    cells.append("–")
                    continue
                ci = probability_of_improvement_ci(
                    np.array(x)[:, None], np.array(y)[:, None], reps=REPS,
                    rng=name_seed(self.env, self.algo, self.condition(panel), policy))
                cells.append(f"{ci.point:.2f} [{ci.low:.2f}, {ci.high:.2f}]")
            rows.append(cells)
        headers = ["policy", *(f"{self.condition(p)} (vs {best[p]})" for p in self.panels)]
        return _markdown(headers, rows)

    def ranking(self) -> str:
        """Policies by the IQM of their final return over every condition (stratified over
        the conditions; a policy with unequal runs per condition keeps its first ``k``)."""
        scores = {}
        for policy in self.fixed + self.adaptive:
            finals = [self.data.final_scores(panel, policy) for panel in self.panels]
            k = min(len(f) for f in finals)
            if k:
                scores[policy] = np.array([f[:k] for f in finals]).T
        if not scores:
            return "No policy has a finished run in every condition yet."
        cis = aggregate_with_cis(scores, rng=name_seed(self.env, self.algo, "ranking"),
                                 statistics=("iqm", "mean"), reps=REPS)
        order = ranking(cis)
        rows = [[str(rank), self.name(p),
                 *(f"{format_number(c.point)} [{format_number(c.low)}, {format_number(c.high)}]"
                   for c in (cis[p]["iqm"], cis[p]["mean"])), str(scores[p].size)]
                for rank, p in enumerate(order, 1)]
        return _markdown(["rank", "policy", "IQM [CI]", "mean [CI]", "runs"], rows)


def _final(row: Mapping[str, str]) -> str:
    text = _ci(row, schema.FINAL_IQM)
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


def headline_tables(data: Results) -> str:
    """The Markdown text of ``tables.md`` (see the module docstring)."""
    lines = [f"# Headline tables: {data.name}", ""]
    if data.partial:
        lines += [f"**{data.status}.** Every table below covers the finished runs only.", ""]
    tasks = list(dict.fromkeys((row[schema.ENV], row.get(schema.ALGO, "")) for row in data.summary))
    lines += [f"95 % stratified-bootstrap CIs in brackets ({REPS:,} resamples). Conditions are the "
              "reward perturbations of training; every return is the clean one, evaluated on a "
              "separate env. Generated by `rl-lr report` from `metrics.csv` and `summary.csv`.",
              ""]
    for env, algo in tasks:
        task = _Task(data, env, algo)
        perturbed = [p for p in task.panels if any(
            task.metrics.get((p, policy), {}).get(schema.SENSITIVITY) not in (None, "", "nan")
            for policy in task.fixed + task.adaptive)]
        sections = [
            (f"Ranking over the {len(task.panels)} conditions: final clean return",
             task.ranking()),
            ("Final clean return, IQM [CI] (div.: diverged runs, scored at their last finite "
             "evaluation)", task.matrix(task.of_metrics(_final))),
            ("Area under the clean eval curve (time-averaged return), IQM [CI]",
             task.matrix(task.of_metrics(lambda r: _ci(r, schema.AUC_IQM)))),
            ("Runs reaching the env's threshold · median steps to reach it",
             task.matrix(task.of_metrics(_reach))),
            ("Dispersion across time (IQR of the eval curve's slope, return per env step; "
             "lower is steadier), IQM [CI]",
             task.matrix(task.of_metrics(lambda r: _ci(r, schema.DISPERSION_TIME)))),
            ("Long-term risk (CVaR 5 % of the drawdown of the eval curve; lower is safer), "
             "IQM [CI]", task.matrix(task.of_metrics(lambda r: _ci(r, schema.LONG_TERM_RISK)))),
            ("Sensitivity: final return under the perturbation / clean (1 = unaffected), "
             "IQM [CI]",
             task.matrix(task.of_metrics(lambda r: _ci(r, schema.SENSITIVITY)), perturbed)),
            ("LR actually used: final LR, median [min, max] over the runs · runs whose LR "
             "moved · distinct LR traces (1: the same LR sequence in every run); the LR at "
             "the evaluation points", task.matrix(task.lr_used)),
            ("P(adaptive policy beats the condition's best fixed schedule) on the final clean "
             "return [CI]; 0.5 = no difference", task.improvement()),
        ]
        lines += [f"## {env} · {algo}", ""]
        for title, table in sections:
            lines += [f"### {title}", "", table, ""]
    return "\n".join(lines)


def write_headline_tables(data: Results, path: Path) -> Path:
    """Write :func:`headline_tables` to ``path`` (atomically); return it."""
    atomic_write_text(path, headline_tables(data))
    return path
