# Over 400 lines: the report page's sections, each a short function sharing the cell/table helpers.
"""The sections of the HTML report (:mod:`.html`): the verdict in words, the setup, the
ranking, the tuning of a tune-then-test protocol, the per-condition tables (with the regime
switches where a perturbation switches on a schedule), the comparisons with their power and
verdicts (on the primary score first: :func:`comparisons_section`), those with the tuned
constant where it is not the best fixed schedule (:func:`against_constant_section`), the
oracles against their rules (:func:`oracle_section`), the robustness to the base LR of an
experiment with a ``base_lr`` axis (:func:`robustness_section`), the dose response of one with
a dose axis (:func:`dose_section`), failed and diverged runs, the versions and the commands
that reproduce it, each an HTML fragment drawn from a :class:`~rl_lr.results.Results`. Runs are
scored and ranked by the rules of :mod:`rl_lr.results.scores`; the ranking and the
per-condition tables are sortable (the page's script reads ``data-sort``).

    >>> cell("<b>0.5</b>", 0.5), cell("x")
    ('<td data-sort="0.5"><b>0.5</b></td>', '<td>x</td>')
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import yaml

from rl_lr import metrics, schema
from rl_lr.experiment.file import SUITES_DIR, TOP_KEYS
from rl_lr.report.base_lr import (
    CENTRE,
    IQM_COLUMNS,
    REFERENCE,
    Robustness,
    against_tuned,
    extremes,
    needed_text,
    robustness_scores,
    short_verdict,
)
from rl_lr.report.dose import dose_tables
from rl_lr.report.oracle_gap import against_rule
from rl_lr.report.tables import risk_titles
from rl_lr.report.task import SCORES, Task, compared_scores, format_number, tasks
from rl_lr.report.tuning import TUNING_HEADERS, tuning_rows
from rl_lr.report.verdicts import POWER, Verdict, summary_lines, verdicts
from rl_lr.results import REPS, SEED, Results
from rl_lr.results.scores import at_maximum, env_maximum, is_diverged, number

__all__ = ["against_constant_section", "cell", "ci_html", "code_block", "comparisons_section",
           "conditions_section", "dose_section", "experiment_yaml", "oracle_section",
           "problems_section", "ranking_section", "reproduce_commands", "robustness_section",
           "setup_section", "switches_section", "table", "tuning_section", "verdict_section",
           "versions_text"]


# --------------------------------------------------------------------------- formatting


def ci_html(point: Any, low: Any, high: Any, digits: int = 3) -> str:
    """``point [low, high]``, the interval in a ``ci`` span; only the point when a bound is
    missing."""
    text, low_text, high_text = (format_number(x, digits) for x in (point, low, high))
    if text and low_text and high_text:
        text += f" <span class=ci>[{low_text}, {high_text}]</span>"
    return text


def cell(html: str, sort: Any = None) -> str:
    """A table cell; ``sort`` is its sort key (numbers sort as numbers, NaN last)."""
    if sort is None:
        return f"<td>{html}</td>"
    try:
        key = float(sort)
        key_text = repr(key) if math.isfinite(key) else ""
    except (TypeError, ValueError):
        key_text = str(sort)
    return f'<td data-sort="{escape(key_text)}">{html}</td>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, sortable: bool = True,
          titles: Mapping[str, str] | None = None) -> str:
    """A table of ``rows`` of cells (:func:`cell`); ``titles`` are the headers' tooltips."""
    titles = titles or {}
    head = "".join(f'<th title="{escape(titles.get(h, "click to sort"))}">{escape(h)}</th>'
                   if sortable else f"<th>{escape(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    cls = ' class="sortable"' if sortable else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def code_block(text: str) -> str:
    """``text`` as a preformatted code block."""
    return f"<pre><code>{escape(text)}</code></pre>"


# --------------------------------------------------------------------------- sections


def reproduce_commands(data: Results) -> list[str]:
    """The commands that redo this experiment and this report, from ``experiment.yaml``."""
    out = shlex.quote(_typed(data.path))
    source = str(data.experiment.get(schema.SOURCE) or "")
    commands = []
    if source and Path(source).is_file():
        path = Path(source).resolve()
        if path.parent == SUITES_DIR and path.suffix == ".yaml":
            commands.append(f"rl-lr bench --suite {path.stem} --out {out}")
        else:
            commands.append(f"rl-lr bench {shlex.quote(_typed(path))} --out {out}")
    else:
        commands.append(f"rl-lr bench experiment.yaml --out {out}  "
                        "# experiment.yaml: the YAML under 'Resolved experiment' below")
    commands.append(f"rl-lr report {out}")
    return commands


def _typed(path: Path) -> str:
    """A path as one types it: relative to the working directory when inside it (so a
    report regenerated in another clone is the same file), else absolute."""
    resolved = path.resolve()
    return str(resolved.relative_to(Path.cwd()) if resolved.is_relative_to(Path.cwd())
               else resolved)


def experiment_yaml(data: Results) -> str:
    """The experiment as its file gives it (without what rl-lr bench records), in YAML."""
    plain = {k: data.experiment[k] for k in TOP_KEYS
             if data.experiment.get(k) not in (None, [], {})}
    return yaml.safe_dump(plain, sort_keys=False, allow_unicode=True)


def setup_section(data: Results) -> str:
    """The grid's axes and values, the budget and the number of explicit runs."""
    grids = data.experiment.get("grid") or {}
    named = ([(f"grid {i + 1}: ", g) for i, g in enumerate(grids)] if isinstance(grids, list)
             else [("", grids)])
    rows = [row for prefix, grid in named for row in _axis_rows(grid, prefix)]
    budget = data.experiment.get("budget") or {}
    if budget:
        rows.append(["<th>budget</th>",
                     f"<td>{escape(', '.join(f'{k} {v}' for k, v in budget.items()))}</td>"])
    if data.experiment.get("runs"):
        rows.append(["<th>explicit runs</th>", f"<td>{len(data.experiment['runs'])}</td>"])
    return "<table class=setup><tbody>" + "".join(
        "<tr>" + "".join(r) + "</tr>" for r in rows) + "</tbody></table>"


def _axis_rows(grid: dict[str, Any], prefix: str) -> list[list[str]]:
    """Setup-table rows (header cell, values cell) of one grid's axes."""
    rows = []
    for axis, values in grid.items():
        if isinstance(values, dict) and axis != "set":
            text = "<br>".join(f"<b>{escape(str(k))}</b>: <code>{escape(_spec(v))}</code>"
                               for k, v in values.items())
        elif axis == "set" and isinstance(values, dict):
            text = "<br>".join(f"<code>{escape(str(k))}</code> ∈ {escape(_spec(v))}"
                               for k, v in values.items())
        else:
            text = escape(", ".join(_spec(v) for v in values) if isinstance(values, list)
                          else _spec(values))
        rows.append([f"<th>{escape(prefix + str(axis))}</th>", f"<td>{text}</td>"])
    return rows


def _spec(value: Any) -> str:
    if value is None:
        return "none"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def ranking_section(data: Results) -> str:
    """Policies ranked over every panel (:meth:`Results.ranking`), with their intervals and
    the IQM of their AUC (:attr:`Results.auc_table`) beside the final return."""
    cis, scores = data.policy_intervals, data.score_table
    if not cis:
        return "<p class=note>No panel where every policy has a finished run yet.</p>"
    order = data.ranking()
    pairs = (metrics.pairwise_probability_of_improvement(scores.scores, reps=REPS, rng=SEED)
             if len(order) > 1 else {})
    aucs = data.auc_table
    auc_cis = ({p: ci for p, (ci,) in metrics.interval_estimates(
        aucs.scores, ("iqm",), reps=REPS, rng=SEED).items()} if aucs.scores else {})
    auc_header = "normalised AUC" if aucs.normalised else "AUC"
    headers = ["rank", "policy", "spec", "IQM", "mean", "median of panel means"]
    if scores.normalised:
        headers.append("optimality gap")
    headers += [auc_header, "P(beats next)", "runs", "diverged"]
    rows = []
    for rank, policy in enumerate(order, 1):
        c, spec = cis[policy], data.specs.get(policy, "")
        row = [cell(str(rank), rank), cell(escape(policy), policy),
               cell(f"<code>{escape(spec)}</code>" if spec else "several: one per panel", spec)]
        stats = ["iqm", "mean", "median"] + (["optimality_gap"] if scores.normalised else [])
        row += [cell(ci_html(*c[s]), c[s].point) for s in stats]
        auc = auc_cis.get(policy)
        row.append(cell(ci_html(*auc), auc.point) if auc else cell("", None))
        if rank < len(order):
            p = pairs[policy, order[rank]]
            word = "better" if p.low > 0.5 else "worse" if p.high < 0.5 else "not separated"
            row.append(cell(f"{ci_html(*p, digits=2)} vs {escape(order[rank])}: {word}",
                            p.point))
        else:
            row.append(cell("", None))
        runs = [r for task in scores.tasks for r in data.rows(task, policy)]
        diverged = sum(is_diverged(r) for r in runs)
        row += [cell(str(len(runs)), len(runs)), cell(str(diverged), diverged)]
        rows.append(row)
    scale = ("normalised final clean return (0 = random policy, 1 = the env's reference "
             "return)" if scores.normalised else "final clean eval return (raw)")
    note = (f"Pooled over {len(scores.tasks)} panel(s) as tasks ({scale}); 95 % "
            f"stratified-bootstrap CIs, {REPS} resamples, seed {SEED}. Median of panel means: "
            "rliable's median, the median over the panels of each panel's mean final score "
            "(not a median over runs; metrics.csv's final_median is the median over a "
            f"group's runs). {auc_header}: the IQM of the time-averaged clean eval return"
            + (", mapped by the env's range like the final score" if aucs.normalised else "")
            + ". P(beats next): probability that a run of this policy beats one of the "
            "next-ranked policy on the same panel, averaged over the panels: better when its "
            "CI lies above 0.5, not separated when it contains 0.5 (what each comparison's "
            "runs can detect: the comparisons below).")
    if scores.note:
        note += f" Note: {scores.note}."
    titles = {"IQM": "interquartile mean: mean of the middle 50 % of runs",
              "median of panel means": "median over panels of each panel's mean final score",
              auc_header: "IQM of the time-averaged clean eval return (area under the curve "
                          "over its span)",
              "optimality gap": "mean shortfall below the reference score (lower is better)"}
    return table(headers, rows, titles=titles) + f"<p class=note>{escape(note)}</p>"


def verdict_section(data: Results) -> str:
    """The verdict in words (:func:`rl_lr.report.verdicts.summary_lines`), one item per
    task."""
    lines = summary_lines(data)
    if not lines:
        return "<p class=note>No finished runs yet.</p>"
    return "<ul class=verdict>" + "".join(f"<li>{escape(line)}</li>" for line in lines) + "</ul>"


def tuning_section(data: Results) -> str:
    """The tuning table of a tune-then-test protocol (:mod:`rl_lr.report.tuning`); empty for
    an experiment without one."""
    rows = [row for task in tasks(data) for row in tuning_rows(task)]
    if not data.selection:
        return ""
    if not rows:
        return "<p class=note>selection.csv lists no finished condition yet.</p>"
    html_rows = [[cell(escape(text)) for text in row] for row in rows]
    return ("<div class=scroll>" + table(TUNING_HEADERS, html_rows, sortable=False)
            + "</div><p class=note>Each family was tuned with the same budget on the tuning "
            "seeds; its chosen configuration was then run on the test seeds, and only those "
            "test runs are scored anywhere in this report.</p>")


def comparisons_section(data: Results) -> str:
    """Every comparison of an adaptive policy with its condition's best fixed schedule:
    P(improvement) [CI], the runs of each side, the P detected with 80 % power, the
    verdict in words; on the final clean return, or, for an experiment whose primary score
    is the AUC (:func:`rl_lr.report.task.compared_scores`), on the AUC first and then on the
    final return, each under a heading naming its score."""
    compared = compared_scores(data)
    if len(compared) == 1:
        return _comparisons(data, compared[0])
    titles = {score: f"On {SCORES[score]}" + (", the protocol's selection metric"
                                              if score == data.primary_score else "")
              for score in compared}
    return "".join(f"<h3>{escape(titles[score])}</h3>{_comparisons(data, score)}"
                   for score in compared)


def _verdict_rows(data: Results, found: Sequence[Verdict]) -> list[list[str]]:
    """One row per comparison: condition, policy, rival, P [CI], runs, P needed, verdict."""
    rows = []
    for v in found:
        c = v.comparison
        rows.append([cell(escape(data.panel_title(c.panel))), cell(escape(c.policy)),
                     cell(escape(c.rival)), cell(ci_html(*c.ci, digits=2), c.ci.point),
                     cell(f"{c.n_x} vs {c.n_y}"), cell(f"{v.needed:.2f}", v.needed),
                     cell(escape(v.words))])
    return rows


def _comparisons(data: Results, score: str) -> str:
    """The comparisons table on ``score`` with its note."""
    rows = [row for task in tasks(data) for row in _verdict_rows(
        data, verdicts(task.comparisons(score)))]
    if not rows:
        return "<p class=note>No adaptive policy and fixed schedule share a condition.</p>"
    tuned = data.tuned
    rival = ("the condition's best fixed schedule chosen on the tuning seeds (the fixed family "
             "whose chosen configuration scored highest there, never the runs compared)"
             if tuned else "the condition's best fixed schedule")
    return ("<div class=scroll>" + table(
        ["condition", "policy", "vs (best fixed on the tuning seeds)" if tuned
         else "vs (best fixed)", "P(improvement)", "runs",
         f"P needed ({POWER * 100:.0f} % power)", "verdict"], rows, sortable=False)
        + f"</div><p class=note>P(improvement): the probability that a run of the policy beats "
        f"a run of {rival} on {SCORES[score]}"
        + (", the runs' eval_auc" if score == schema.EVAL_AUC else "")
        + " (0.5 = no difference), 95 % bootstrap CI. Better: CI above 0.5; worse: CI below "
        "0.5. P needed: "
        f"the smallest true P(improvement) these numbers of runs detect with {POWER * 100:.0f} % "
        "power "
        "(simulated, rl_lr.metrics.min_detectable_p); a smaller real difference usually goes "
        "unseen." + ("" if score == schema.EVAL_AUC else " Where the rival is at the env's "
                     "maximum return in every run no run can beat it, so P cannot exceed 0.5 "
                     "and no win is possible.") + "</p>")


def against_constant_section(data: Results) -> str:
    """A tune-then-test experiment's comparisons of every policy with the tuned constant on
    its primary score, in the conditions where another fixed schedule is the best
    (:meth:`~rl_lr.report.task.Task.against_constant`); "" where there are none."""
    score = compared_scores(data)[0]
    rows = [row for task in tasks(data) for row in _verdict_rows(
        data, verdicts(task.against_constant(score)))]
    if not rows:
        return ""
    return ("<div class=scroll>" + table(
        ["condition", "policy", "vs (the tuned constant)", "P(improvement)", "runs",
         f"P needed ({POWER * 100:.0f} % power)", "verdict"], rows, sortable=False)
        + "</div><p class=note>Where the best fixed schedule on the tuning seeds is not the "
        "constant LR, does a policy beat the constant tuned with the same budget, the schedule "
        f"most users would have tuned? P(improvement) on {SCORES[score]}, read as above; a "
        "secondary question, beside the comparisons with the best fixed schedule.</p>")


def oracle_section(data: Results) -> str:
    """Every oracle against the same rule on the observed reward, on the primary score
    (:mod:`rl_lr.report.oracle_gap`); "" without an oracle and its rule."""
    score = compared_scores(data)[0]
    rows = [row for task in tasks(data) for row in _verdict_rows(
        data, verdicts(against_rule(task, score)))]
    if not rows:
        return ""
    return ("<div class=scroll>" + table(
        ["condition", "oracle", "vs (its rule)", "P(improvement)", "runs",
         f"P needed ({POWER * 100:.0f} % power)", "verdict"], rows, sortable=False)
        + "</div><p class=note>An oracle runs a rule on the clean reward, which no deployed "
        "agent sees: if it beats the same rule on the observed reward, the noise in the signal "
        "costs the rule; if not, the rule itself is what fails. P(improvement) on "
        f"{SCORES[score]}, read as above.</p>")


def robustness_section(data: Results) -> str:
    """Robustness to the base LR (:mod:`rl_lr.report.base_lr`): per task, group of starts and
    score (the primary one, then the AUC), every policy at every start against the tuned
    constant (P(improvement) [CI], verdict, starts where it is worse), then each policy's
    worst and best start; empty without a ``base_lr`` axis centred on ``x1``."""
    parts = []
    for task in tasks(data):
        for score in robustness_scores(data):
            for found in against_tuned(task, score):
                parts.append(_robustness(task, found))
    if not parts:
        return ""
    return "".join(parts) + (
        "<p class=note>The tuned constant: the best fixed schedule (highest IQM) at the "
        "centre base_lr=x1, the tuned LR, of the same other conditions. P(improvement): the "
        "probability that a run of the policy started at that base LR beats a run of the "
        f"tuned constant, 95 % bootstrap CI ({REPS:,} resamples); better: CI above 0.5, worse: "
        f"CI below 0.5, else no difference detectable with {POWER * 100:.0f} % power at these "
        "numbers of runs. Worst and best start: the lowest and highest IQM of the score over "
        "the policy's starts, from metrics.csv [95 % CI].</p>")


def _robustness(task: Task, found: Robustness) -> str:
    """The two tables of one group of starts on one score, under a heading."""
    labels = [label for label, _ in found.starts]
    rows, extreme_rows = [], []
    column = IQM_COLUMNS[found.score]
    for policy in task.fixed + task.adaptive:
        cells = [cell(escape(task.name(policy)))]
        for label in labels:
            v = found.found.get((policy, label))
            if policy == found.tuned and label == CENTRE:
                cells.append(cell(f"<b>{REFERENCE}</b>"))
            elif v is None:
                cells.append(cell("–"))
            else:
                cells.append(cell(f"{ci_html(*v.comparison.ci, digits=2)} "
                                  f"{escape(short_verdict(v.words))}"))
        k, n = found.worse(policy)
        rows.append([*cells, cell(f"{k} of {n}")])
        ends = extremes(task, found, policy)
        if ends is not None:
            extreme_rows.append([cell(escape(task.name(policy))), *(
                c for end in ends for c in (cell(_ci_cell(end.row, column)),
                                            cell(escape(end.start))))])
    where = task.condition(found.rest)
    heading = " · ".join(x for x in (task.env, task.algo, "" if where == "all runs" else where,
                                     f"on {SCORES[found.score]}") if x)
    return (f"<h3>{escape(heading)}</h3><p>Against the tuned constant ({escape(found.tuned)} at "
            f"base_lr={CENTRE}; {escape(needed_text(found))} needed for "
            f"{POWER * 100:.0f} % power):</p><div class=scroll>"
            + table(["policy", *(f"base_lr={label}" for label in labels),
                     "worse at k of n starts"], rows, sortable=False)
            + "</div><p>Worst and best start:</p><div class=scroll>"
            + table(["policy", "lowest IQM [CI]", "at", "highest IQM [CI]", "at"],
                    extreme_rows, sortable=False) + "</div>")


def dose_section(data: Results) -> str:
    """Dose response (:mod:`rl_lr.report.dose`): per task, dose axis and score (the primary
    one, then the AUC), each policy's score under each dose as a fraction of its clean one
    [CI] and the lowest dose where it clearly loses; empty without a dose axis."""
    parts = []
    for task in tasks(data):
        for found in dose_tables(task, robustness_scores(data)):
            rows = [[cell(escape(text)) for text in row] for row in found.rows]
            parts.append(f"<h3>{escape(task.env)} · {escape(task.algo)}</h3>"
                         f"<p>{escape(found.title)}:</p><div class=scroll>"
                         + table(found.headers, rows, sortable=False) + "</div>")
    if not parts:
        return ""
    return "".join(parts) + (
        "<p class=note>Each cell: the policy's mean score under the dose over its mean in "
        "clean training, on the seeds both have, with a paired bootstrap 95 % CI over the "
        f"seeds ({REPS:,} resamples); in a tune-then-test experiment each condition's runs "
        "use the configuration tuned for it.</p>")


_SCORE_COLUMNS = (  # metrics.csv column, header
    (schema.FINAL_IQM, "final return (IQM)"),
    (schema.AUC_IQM, "AUC (IQM)"),
    (schema.SENSITIVITY, "sensitivity"),
)
_STABILITY_COLUMNS = (  # metrics.csv column, header, has a CI
    (schema.DISPERSION_TIME, "dispersion across time ↓", True),
    (schema.SHORT_TERM_RISK, "short-term risk ↑", True),
    (schema.LONG_TERM_RISK, "long-term risk ↓", True),
    (schema.LR_OSCILLATIONS, "LR oscillations", False),
)


def switches_section(data: Results) -> str:
    """One row per group of runs with regime switches on a schedule (``metrics.csv``'s
    ``switch_*`` columns, :mod:`rl_lr.results.group_metrics`): the return drop after a
    switch and the recovery, each an IQM over runs [CI], and the switches recovered; empty
    when no group has switches."""
    rows = []
    for panel in data.panels:
        for row in data.metric_rows(panel):
            count = number(row.get(schema.SWITCH_COUNT))
            if not count > 0:
                continue
            policy, title = row.get(schema.LR, ""), data.panel_title(panel)
            recovered = round(number(row.get(schema.SWITCH_RECOVERED)) * count)
            rows.append([cell(escape(title), title), cell(escape(policy), policy),
                         cell(_ci_cell(row, schema.SWITCH_DROP_IQM),
                              row.get(schema.SWITCH_DROP_IQM)),
                         cell(f"{recovered}/{count:.0f} ({100 * recovered / count:.0f} %)",
                              recovered / count),
                         cell(_ci_cell(row, schema.SWITCH_RECOVERY_IQM),
                              row.get(schema.SWITCH_RECOVERY_IQM))])
    if not rows:
        return ""
    return ("<h3>Regime switches</h3><div class=scroll>" + table(
        ["condition", "policy", "drop ↓", "switches recovered", "steps to recover ↓"], rows,
        titles={"drop ↓": "pre-switch level minus the lowest clean eval return in the regime",
                "steps to recover ↓": "a switch never recovered counts as its regime's full "
                                      "length (censored)"})
        + "</div><p class=note>After each regime switch of a perturbation on a schedule (the "
        "reward's or the dynamics'): the drop is the pre-switch level (the mean of the last 3 "
        "evaluations before the switch) minus the lowest clean eval return in the switch's "
        "regime (until the next switch, the last one's until the end of training); recovered: "
        "the clean eval return came back within 5 % of the pre-switch level within the regime, "
        "counted over all switches of all runs; steps to recover: from the switch, a switch "
        "never recovered counting as its regime's full length (censored: a lower bound). "
        "Drop and steps: each run's mean over its switches, IQM over the runs [95 % CI].</p>")


def _present(data: Results, keys: Iterable[str]) -> list[str]:
    return [k for k in keys if any(r.get(k) not in (None, "", "nan") for r in data.metrics)]


def _count(data: Results, rows: Sequence[Mapping[str, str]], maximum: float | None
           ) -> tuple[str, str]:
    """``k/n`` runs at the env's maximum (empty when unknown) and ``k/n`` diverged runs."""
    finals = [data.final_score(r) for r in rows]
    at = f"{sum(at_maximum(s, maximum) for s in finals)}/{len(rows)}" if maximum else ""
    return at, f"{sum(is_diverged(r) for r in rows)}/{len(rows)}"


def conditions_section(data: Results) -> str:
    """Tables with one row per group of runs (``metrics.csv``): its scores (final return,
    AUC, runs at the env's maximum, diverged runs, sensitivity), its stability and, where
    groups have them, its regime switches (:func:`switches_section`)."""
    if not data.metrics:
        return "<p class=note>metrics.csv has no rows yet.</p>"
    scores = [c for c in _SCORE_COLUMNS if c[0] in _present(data, [k for k, _ in _SCORE_COLUMNS])]
    stability = [c for c in _STABILITY_COLUMNS
                 if c[0] in _present(data, [k for k, _, _ in _STABILITY_COLUMNS])]
    any_max = any(env_maximum(env) is not None for env in data.envs)
    score_rows, stability_rows = [], []
    for panel in data.panels:
        maximum = env_maximum(dict(panel)[schema.ENV])
        for row in data.metric_rows(panel):
            policy = row.get(schema.LR, "")
            title = data.panel_title(panel)
            first = [cell(escape(title), title), cell(escape(policy), policy)]
            at, diverged = _count(data, data.rows(panel, policy), maximum)
            cells = [*first, cell(escape(row.get(schema.RUNS, "")), row.get(schema.RUNS))]
            for key, _ in scores[:2]:
                cells.append(cell(_ci_cell(row, key), row.get(key)))
            if any_max:
                cells.append(cell(at or "–", at.split("/")[0] if at else None))
            cells.append(cell(diverged, diverged.split("/")[0]))
            cells += [cell(_ci_cell(row, key), row.get(key)) for key, _ in scores[2:]]
            score_rows.append(cells)
            stability_rows.append([*first, *(
                cell(_ci_cell(row, key) if with_ci else format_number(row.get(key)),
                     row.get(key)) for key, _, with_ci in stability)])
    score_headers = ["condition", "policy", "runs", *(h for _, h in scores[:2]),
                     *(["at max"] if any_max else []), "diverged", *(h for _, h in scores[2:])]
    points = max((len(trace[0]) for run in data.curves.values()
                  if (trace := run.get(schema.EVAL_RETURN_MEAN)) is not None), default=0)
    short_risk, long_risk = risk_titles(points)
    return (
        "<h3>Scores</h3><div class=scroll>" + table(score_headers, score_rows, titles={
            "at max": "runs whose final return is the env's maximum (no run can beat them)",
            "AUC (IQM)": "area under the clean eval curve over its span: the time-averaged "
                         "return"}) + "</div>"
        "<p class=note>One row per group of runs (every axis but the seed) from "
        "<code>metrics.csv</code> and <code>summary.csv</code>; 95 % CIs in brackets. At max: "
        "runs whose final return is the env's maximum (known for CartPole-v1 and "
        "InvertedPendulum-v5), a ceiling no policy can beat. Sensitivity: final return under "
        "the perturbation over clean training of the same policy (1 = unaffected).</p>"
        "<h3>Stability of the eval curves (Chan et al. 2020)</h3><div class=scroll>"
        + table(["condition", "policy", *(h for _, h, _ in stability)], stability_rows)
        + "</div><p class=note>↓ lower is better, ↑ higher is better, IQM over runs [95 % CI]. "
        f"{escape(short_risk)}. {escape(long_risk)}. Dispersion across time: IQR of the "
        "curve's slope (return per env step).</p>" + switches_section(data))


def _ci_cell(row: Mapping[str, str], key: str) -> str:
    low, high = schema.ci_columns(key)
    return ci_html(row.get(key), row.get(low), row.get(high))


def _labels_text(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items() if not k.startswith(schema.SET_PREFIX))


def problems_section(data: Results) -> str:
    """Failed runs (with the error) and diverged runs (where and why)."""
    parts = []
    failed = data.failures
    if failed:
        planned = data.plan_labels
        rows = [[cell(f"<code>{escape(r[schema.RUN_ID])}</code>", r[schema.RUN_ID]),
                 cell(escape(_labels_text(planned.get(r[schema.RUN_ID], {}))) or "(unknown)"),
                 cell(f"<code>{escape(r.get(schema.ERROR, ''))}</code>")] for r in failed]
        parts.append(f"<h3>Failed runs ({len(failed)})</h3>" +
                     table(["run", "labels", "error"], rows) +
                     "<p class=note>Run the bench command below again to retry them.</p>")
    else:
        parts.append("<h3>Failed runs</h3><p>None.</p>")
    diverged = data.diverged_rows()
    if diverged:
        rows = [[cell(f"<code>{escape(r[schema.RUN_ID])}</code>", r[schema.RUN_ID]),
                 cell(escape(_labels_text(data.labels(r)))),
                 cell(escape(r.get(schema.DIVERGED_AT, "")), r.get(schema.DIVERGED_AT)),
                 cell(escape(r.get(schema.DIVERGENCE_REASON, "")))] for r in diverged]
        parts.append(f"<h3>Diverged runs ({len(diverged)})</h3>" +
                     table(["run", "labels", "diverged at (timesteps)", "reason"], rows) +
                     "<p class=note>Diverged runs are results, not errors: they count in the "
                     "diverged rate and score their last finite evaluation.</p>")
    else:
        parts.append("<h3>Diverged runs</h3><p>None.</p>")
    pending = data.planned - data.finished - len(failed)
    if pending > 0:
        parts.append(f"<p class=note>{pending} planned run(s) not finished yet.</p>")
    return "\n".join(parts)


def versions_text(data: Results) -> str:
    """Versions of the packages (and the git commit) of the first finished run."""
    for run_id in data.finished_ids[:1]:
        try:
            config = yaml.safe_load((schema.run_dir(data.path, run_id)
                                     / schema.CONFIG_YAML).read_text())
        except (OSError, yaml.YAMLError):
            break
        versions = dict(config.get("versions") or {})
        if config.get("git_commit"):
            versions["git commit"] = config["git_commit"]
        return ", ".join(f"{k} {v}" for k, v in versions.items())
    return ""
