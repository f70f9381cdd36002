"""The sections of the HTML report (:mod:`.html`): the setup, the ranking, the per-condition
table, failed and diverged runs, the versions and the commands that reproduce it, each an HTML
fragment drawn from a :class:`~rl_lr.results.Results`. Runs are scored and ranked by the rules
of :mod:`rl_lr.results.scores`; every table is sortable (the page's script reads
``data-sort``).

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
from rl_lr.report.tables import format_number
from rl_lr.results import REPS, SEED, Results
from rl_lr.results.scores import is_diverged

__all__ = ["cell", "ci_html", "code_block", "conditions_section", "experiment_yaml",
           "problems_section", "ranking_section", "reproduce_commands", "setup_section", "table",
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
    """Policies ranked over every panel (:meth:`Results.ranking`), with their intervals."""
    cis, scores = data.policy_intervals, data.score_table
    if not cis:
        return "<p class=note>No panel where every policy has a finished run yet.</p>"
    order = data.ranking()
    pairs = (metrics.pairwise_probability_of_improvement(scores.scores, reps=REPS, rng=SEED)
             if len(order) > 1 else {})
    headers = ["rank", "policy", "spec", "IQM", "mean", "median"]
    if scores.normalised:
        headers.append("optimality gap")
    headers += ["P(beats next)", "runs", "diverged"]
    rows = []
    for rank, policy in enumerate(order, 1):
        c = cis[policy]
        row = [cell(str(rank), rank), cell(escape(policy), policy),
               cell(f"<code>{escape(data.specs.get(policy, ''))}</code>",
                     data.specs.get(policy, ""))]
        stats = ["iqm", "mean", "median"] + (["optimality_gap"] if scores.normalised else [])
        row += [cell(ci_html(*c[s]), c[s].point) for s in stats]
        if rank < len(order):
            p = pairs[policy, order[rank]]
            row.append(cell(f"{ci_html(*p, digits=2)} vs {escape(order[rank])}", p.point))
        else:
            row.append(cell("", None))
        runs = [r for task in scores.tasks for r in data.rows(task, policy)]
        diverged = sum(is_diverged(r) for r in runs)
        row += [cell(str(len(runs)), len(runs)), cell(str(diverged), diverged)]
        rows.append(row)
    scale = ("normalised final clean return (0 = random policy, 1 = the env's reference "
             "return)" if scores.normalised else "final clean eval return (raw)")
    note = (f"Pooled over {len(scores.tasks)} panel(s) as tasks ({scale}); 95 % "
            f"stratified-bootstrap CIs, {REPS} resamples, seed {SEED}. P(beats next): "
            "probability that a run of this policy beats one of the next-ranked policy.")
    if scores.note:
        note += f" Note: {scores.note}."
    titles = {"IQM": "interquartile mean: mean of the middle 50 % of runs",
              "optimality gap": "mean shortfall below the reference score (lower is better)"}
    return table(headers, rows, titles=titles) + f"<p class=note>{escape(note)}</p>"


_CONDITION_COLUMNS = (  # metrics.csv column, header, has a CI
    (schema.FINAL_IQM, "final IQM", True),
    (schema.NORM_FINAL_IQM, "normalised IQM", True),
    (schema.AUC_IQM, "AUC (IQM)", True),
    (schema.DIVERGED_RATE, "diverged", True),
    (schema.DISPERSION_TIME, "dispersion across time ↓", True),
    (schema.SHORT_TERM_RISK, "short-term risk ↑", True),
    (schema.LONG_TERM_RISK, "long-term risk ↓", True),
    (schema.SENSITIVITY, "sensitivity", True),
    (schema.SWITCH_DROP, "switch drop", False),
    (schema.LR_OSCILLATIONS, "LR oscillations", False),
)


def conditions_section(data: Results) -> str:
    """One row per group of runs (``metrics.csv``), its intervals in brackets."""
    if not data.metrics:
        return "<p class=note>metrics.csv has no rows yet.</p>"
    present = [c for c in _CONDITION_COLUMNS
               if any(r.get(c[0]) not in (None, "", "nan") for r in data.metrics)]
    headers = ["condition", "policy", "runs"] + [h for _, h, _ in present]
    rows = []
    for panel in data.panels:
        for row in data.metric_rows(panel):
            cells = [cell(escape(data.panel_title(panel)), data.panel_title(panel)),
                     cell(escape(row.get(schema.LR, "")), row.get(schema.LR, "")),
                     cell(escape(row.get(schema.RUNS, "")), row.get(schema.RUNS))]
            for key, _, with_ci in present:
                low, high = schema.ci_columns(key)
                html = (ci_html(row.get(key), row.get(low), row.get(high))
                        if with_ci else format_number(row.get(key)))
                cells.append(cell(html, row.get(key)))
            rows.append(cells)
    return "<div class=scroll>" + table(headers, rows) + "</div>" + (
        "<p class=note>One row per group of runs (every axis but the seed) from "
        "<code>metrics.csv</code>; 95 % CIs in brackets; ↓ lower is better, ↑ higher is "
        "better. Sensitivity: final return under the perturbation over clean training of the "
        "same policy (1 = unaffected).</p>")


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
