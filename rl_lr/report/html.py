"""The HTML report of a benchmark directory: ``DIR/report/index.html``.

One static page, nothing fetched from the network: the experiment and its setup, policies
ranked with confidence intervals (sortable tables, a few lines of inline JavaScript), every
figure of :data:`rl_lr.plots.FIGURES` with a one-line reading guide (PNG shown, SVG linked,
both in ``report/figures/``), failed and diverged runs, and the exact commands that reproduce
it. A sweep still running (or interrupted, or with failed runs) gets a ``PARTIAL: k of n runs
finished`` banner and the same stamp on every figure.

Every file is written atomically, so the report can be rebuilt while a sweep runs; the page
carries no timestamp, so rebuilding a finished sweep's report rewrites the same bytes. The
headline tables go to ``report/tables.md`` (:mod:`rl_lr.report.tables`).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "experiment.yaml").write_text("name: demo\\nrun_ids: [a]\\n")
    >>> report = write_report(d)
    >>> report.path.relative_to(d).as_posix(), "PARTIAL: 0 of 1 runs finished" in report.html
    ('report/index.html', True)
"""

from __future__ import annotations

import json
import math
import shlex
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from rl_lr import metrics
from rl_lr.experiment.file import SUITES_DIR
from rl_lr.files import atomic_write_text
from rl_lr.plots import save_figure
from rl_lr.report.figures import FIGURES, make_figure
from rl_lr.report.tables import format_number, write_headline_tables
from rl_lr.results import REPS, SEED, Results, ResultsError, load_results

__all__ = ["Report", "reproduce_commands", "write_report"]



@dataclass
class Report:
    """What :func:`write_report` wrote: the page, each figure (or why it is missing), and
    figures that failed unexpectedly (a bug: ``errors``)."""

    path: Path
    html: str
    figures: dict[str, Path] = field(default_factory=dict)
    sizes: dict[str, tuple[float, float]] = field(default_factory=dict)  # inches
    missing: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- formatting


def _ci(point: Any, low: Any, high: Any, digits: int = 3) -> str:
    text, low_text, high_text = (format_number(x, digits) for x in (point, low, high))
    if text and low_text and high_text:
        text += f" <span class=ci>[{low_text}, {high_text}]</span>"
    return text


def _cell(html: str, sort: Any = None) -> str:
    if sort is None:
        return f"<td>{html}</td>"
    try:
        key = float(sort)
        key_text = repr(key) if math.isfinite(key) else ""
    except (TypeError, ValueError):
        key_text = str(sort)
    return f'<td data-sort="{escape(key_text)}">{html}</td>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, sortable: bool = True,
           titles: Mapping[str, str] | None = None) -> str:
    titles = titles or {}
    head = "".join(f'<th title="{escape(titles.get(h, "click to sort"))}">{escape(h)}</th>'
                   if sortable else f"<th>{escape(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    cls = ' class="sortable"' if sortable else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _code(text: str) -> str:
    return f"<pre><code>{escape(text)}</code></pre>"


# --------------------------------------------------------------------------- sections


def reproduce_commands(data: Results) -> list[str]:
    """The commands that redo this sweep and this report, from ``experiment.yaml``."""
    out = shlex.quote(_typed(data.path))
    source = str(data.experiment.get("source") or "")
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


def _experiment_yaml(data: Results) -> str:
    keep = ("name", "description", "imports", "budget", "grid", "overrides", "runs")
    plain = {k: data.experiment[k] for k in keep if data.experiment.get(k) not in (None, [], {})}
    return yaml.safe_dump(plain, sort_keys=False, allow_unicode=True)


def _setup(data: Results) -> str:
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


def _ranking(data: Results) -> str:
    cis, table = data.policy_intervals, data.score_table
    if not cis:
        return "<p class=note>No panel where every policy has a finished run yet.</p>"
    order = data.ranking()
    pairs = (metrics.pairwise_probability_of_improvement(table.scores, reps=REPS, rng=SEED)
             if len(order) > 1 else {})
    headers = ["rank", "policy", "spec", "IQM", "mean", "median"]
    if table.normalised:
        headers.append("optimality gap")
    headers += ["P(beats next)", "runs", "diverged"]
    rows = []
    for rank, policy in enumerate(order, 1):
        c = cis[policy]
        row = [_cell(str(rank), rank), _cell(escape(policy), policy),
               _cell(f"<code>{escape(data.specs.get(policy, ''))}</code>",
                     data.specs.get(policy, ""))]
        stats = ["iqm", "mean", "median"] + (["optimality_gap"] if table.normalised else [])
        row += [_cell(_ci(*c[s]), c[s].point) for s in stats]
        if rank < len(order):
            p = pairs[policy, order[rank]]
            row.append(_cell(f"{_ci(*p, digits=2)} vs {escape(order[rank])}", p.point))
        else:
            row.append(_cell("", None))
        runs = [r for task in table.tasks for r in data.rows(task, policy)]
        diverged = sum(str(r.get("diverged", "")).lower() in ("1", "true") for r in runs)
        row += [_cell(str(len(runs)), len(runs)), _cell(str(diverged), diverged)]
        rows.append(row)
    scale = ("normalised final clean return (0 = random policy, 1 = the env's reference "
             "return)" if table.normalised else "final clean eval return (raw)")
    note = (f"Pooled over {len(table.tasks)} panel(s) as tasks ({scale}); 95 % "
            f"stratified-bootstrap CIs, {REPS} resamples, seed {SEED}. P(beats next): "
            "probability that a run of this policy beats one of the next-ranked policy.")
    if table.note:
        note += f" Note: {table.note}."
    titles = {"IQM": "interquartile mean: mean of the middle 50 % of runs",
              "optimality gap": "mean shortfall below the reference score (lower is better)"}
    return _table(headers, rows, titles=titles) + f"<p class=note>{escape(note)}</p>"


_CONDITION_COLUMNS = (  # metrics.csv column, header, has a CI
    ("final_iqm", "final IQM", True),
    ("norm_final_iqm", "normalised IQM", True),
    ("auc_iqm", "AUC (IQM)", True),
    ("diverged_rate", "diverged", True),
    ("dispersion_time", "dispersion across time ↓", True),
    ("short_term_risk", "short-term risk ↑", True),
    ("long_term_risk", "long-term risk ↓", True),
    ("sensitivity", "sensitivity", True),
    ("switch_drop", "switch drop", False),
    ("lr_oscillations", "LR oscillations", False),
)


def _conditions(data: Results) -> str:
    if not data.metrics:
        return "<p class=note>metrics.csv has no rows yet.</p>"
    present = [c for c in _CONDITION_COLUMNS
               if any(r.get(c[0]) not in (None, "", "nan") for r in data.metrics)]
    headers = ["condition", "policy", "runs"] + [h for _, h, _ in present]
    rows = []
    for panel in data.panels:
        for row in data.metric_rows(panel):
            cells = [_cell(escape(data.panel_title(panel)), data.panel_title(panel)),
                     _cell(escape(row.get("lr", "")), row.get("lr", "")),
                     _cell(escape(row.get("runs", "")), row.get("runs"))]
            for key, _, with_ci in present:
                html = (_ci(row.get(key), row.get(f"{key}_low"), row.get(f"{key}_high"))
                        if with_ci else format_number(row.get(key)))
                cells.append(_cell(html, row.get(key)))
            rows.append(cells)
    return "<div class=scroll>" + _table(headers, rows) + "</div>" + (
        "<p class=note>One row per group of runs (every axis but the seed) from "
        "<code>metrics.csv</code>; 95 % CIs in brackets; ↓ lower is better, ↑ higher is "
        "better. Sensitivity: final return under the perturbation over clean training of the "
        "same policy (1 = unaffected).</p>")


def _labels_text(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items() if not k.startswith("set."))


def _problems(data: Results) -> str:
    parts = []
    failed = data.failures
    if failed:
        planned = data.plan_labels
        rows = [[_cell(f"<code>{escape(r['run_id'])}</code>", r["run_id"]),
                 _cell(escape(_labels_text(planned.get(r["run_id"], {}))) or "(unknown)"),
                 _cell(f"<code>{escape(r.get('error', ''))}</code>")] for r in failed]
        parts.append(f"<h3>Failed runs ({len(failed)})</h3>" +
                     _table(["run", "labels", "error"], rows) +
                     "<p class=note>Run the bench command below again to retry them.</p>")
    else:
        parts.append("<h3>Failed runs</h3><p>None.</p>")
    diverged = data.diverged_rows()
    if diverged:
        rows = [[_cell(f"<code>{escape(r['run_id'])}</code>", r["run_id"]),
                 _cell(escape(_labels_text(data.labels(r)))),
                 _cell(escape(r.get("diverged_at", "")), r.get("diverged_at")),
                 _cell(escape(r.get("divergence_reason", "")))] for r in diverged]
        parts.append(f"<h3>Diverged runs ({len(diverged)})</h3>" +
                     _table(["run", "labels", "diverged at (timesteps)", "reason"], rows) +
                     "<p class=note>Diverged runs are results, not errors: they count in the "
                     "diverged rate and score their last finite evaluation.</p>")
    else:
        parts.append("<h3>Diverged runs</h3><p>None.</p>")
    pending = data.planned - data.finished - len(failed)
    if pending > 0:
        parts.append(f"<p class=note>{pending} planned run(s) not finished yet.</p>")
    return "\n".join(parts)


def _versions(data: Results) -> str:
    for run_id in data.finished_ids[:1]:
        try:
            config = yaml.safe_load((data.path / "runs" / run_id / "config.yaml").read_text())
        except (OSError, yaml.YAMLError):
            break
        versions = dict(config.get("versions") or {})
        if config.get("git_commit"):
            versions["git commit"] = config["git_commit"]
        return ", ".join(f"{k} {v}" for k, v in versions.items())
    return ""


# --------------------------------------------------------------------------- the page

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1180px;padding:1.5rem 2rem 4rem;color:#1b1b1b;background:#fff}
h1{margin:.2rem 0}h2{margin-top:2.4rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.meta,.note{color:#555;font-size:.9rem}.guide{margin:.2rem 0 .6rem;color:#333}
.banner{padding:.7rem 1rem;border-radius:6px;font-weight:600;margin:1rem 0}
.partial{background:#fff3cd;border:1px solid #e0b000;color:#6b4e00}
.bad{background:#fde2e1;border:1px solid #b00020;color:#7a0014}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}
th,td{border-bottom:1px solid #e5e5e5;padding:.3rem .6rem;text-align:left;vertical-align:top}
table.sortable th{cursor:pointer;background:#f6f6f6;user-select:none}
table.sortable th[data-dir=asc]::after{content:" ▲"}
table.sortable th[data-dir=desc]::after{content:" ▼"}
table.setup th{background:#f6f6f6;width:9rem}.ci{color:#666;font-size:.82rem}
figure{margin:1.2rem 0 2rem}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#555}pre{background:#f6f6f6;padding:.7rem;overflow:auto}
code{font-size:.85rem}nav a{margin-right:.8rem}.scroll{overflow-x:auto}
"""

_HEAD_JS = """
window.rlLrErrors = [];
window.addEventListener('error', function (e) {
  var t = e.target;
  window.rlLrErrors.push(t && t !== window && t.src ? 'failed to load ' + t.src
                                                     : String(e.message));
}, true);
window.addEventListener('unhandledrejection', function (e) {
  window.rlLrErrors.push('unhandled rejection: ' + String(e.reason));
});
"""

_BODY_JS = """
(function () {
  function key(cell) {
    var v = cell.hasAttribute('data-sort') ? cell.getAttribute('data-sort')
                                           : cell.textContent.trim();
    if (v === '') return null;
    var n = Number(v);
    return isNaN(n) ? v.toLowerCase() : n;
  }
  document.querySelectorAll('table.sortable th').forEach(function (th) {
    th.addEventListener('click', function () {
      var table = th.closest('table'), body = table.tBodies[0];
      var i = Array.prototype.indexOf.call(th.parentNode.children, th);
      var dir = th.getAttribute('data-dir') === 'asc' ? 'desc' : 'asc';
      table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-dir'); });
      th.setAttribute('data-dir', dir);
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a.cells[i]), y = key(b.cells[i]);
        if (x === null || y === null) return (x === null) - (y === null);  // blanks last
        var c = (typeof x === 'number' && typeof y === 'number') ? x - y
              : String(x).localeCompare(String(y));
        return dir === 'asc' ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  window.addEventListener('load', function () {
    var images = Array.prototype.slice.call(document.images);
    var bad = images.filter(function (im) { return !(im.complete && im.naturalWidth > 0); });
    document.body.setAttribute('data-images', String(images.length));
    document.body.setAttribute('data-images-loaded', String(images.length - bad.length));
    document.body.setAttribute('data-errors', JSON.stringify(window.rlLrErrors));
    if (bad.length) {
      var note = document.createElement('div');
      note.className = 'banner bad';
      note.textContent = bad.length + ' figure(s) could not be loaded: keep report/figures/ ' +
                         'next to index.html, or run rl-lr report again.';
      document.body.insertBefore(note, document.body.firstChild);
    }
  });
})();
"""


def _figures(data: Results, report: Report) -> str:

    quoted = shlex.quote(str(data.path))
    parts = ['<nav>' + "".join(f'<a href="#fig-{k}">{escape(v.title)}</a>'
                               for k, v in FIGURES.items()) + "</nav>"]
    for kind, spec in FIGURES.items():
        parts.append(f'<figure id="fig-{kind}"><h3>{escape(spec.title)}</h3>'
                     f"<p class=guide>{escape(spec.guide)}</p>")
        if kind in report.figures:
            png = f"figures/{kind}.png"
            width, height = (round(n * 96) for n in report.sizes[kind])  # inches -> CSS px
            parts.append(f'<img src="{png}" alt="{escape(spec.title)}" width="{width}" '
                         f'height="{height}">'
                         f'<figcaption><a href="{png}">PNG</a> · '
                         f'<a href="figures/{kind}.svg">SVG</a> · '
                         f"<code>rl-lr plot {escape(quoted)} --kind {kind}</code></figcaption>")
        else:
            why = report.errors.get(kind) or report.missing.get(kind, "")
            cls = "banner bad" if kind in report.errors else "note"
            parts.append(f"<p class='{cls}'>Not drawn: {escape(why)}</p>")
        parts.append("</figure>")
    return "\n".join(parts)


def _page(data: Results, report: Report) -> str:
    finished, failed = data.finished, len(data.failures)
    diverged = len(data.diverged_rows())
    banner = ""
    if data.partial:
        rest = data.planned - finished - failed
        detail = ", ".join(x for x in (f"{failed} failed" if failed else "",
                                       f"{rest} not finished yet" if rest > 0 else "") if x)
        banner = (f"<div class='banner partial'>{escape(data.status)}"
                  f"{escape(' (' + detail + ')') if detail else ''}: everything below uses "
                  "the finished runs only.</div>")
    version = metadata.version("rl-lr") if _installed("rl-lr") else "?"
    commands = reproduce_commands(data)
    versions = _versions(data)
    sections = [
        f"<h1>{escape(data.name)}</h1>",
        f"<p>{escape(data.description)}</p>" if data.description else "",
        f"<p class=meta>{finished} of {data.planned} runs finished, {failed} failed, "
        f"{diverged} diverged · source <code>{escape(str(data.experiment.get('source', '')))}"
        f"</code> · rl-lr {escape(version)}</p>",
        banner,
        "<h2>Setup</h2>", _setup(data),
        "<h2>Ranking</h2>", _ranking(data),
        "<h2>Per condition</h2>", _conditions(data),
        "<h2>Figures</h2>", _figures(data, report),
        "<h2>Failed and diverged runs</h2>", _problems(data),
        "<h2>Reproduce</h2>",
        "<p>Run these from the repository root; finished runs are skipped, so the same "
        "command also finishes a partial sweep:</p>", _code("\n".join(commands)),
        f"<p class=note>Versions of the first run: {escape(versions)}</p>" if versions else "",
        "<details><summary>Resolved experiment</summary>" + _code(_experiment_yaml(data)) +
        "</details>",
    ]
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width, initial-scale=1">'
            f"<title>{escape(data.name)}: rl-lr report</title>"
            f"<style>{_CSS}</style><script>{_HEAD_JS}</script></head>\n<body>\n"
            + "\n".join(s for s in sections if s)
            + f"\n<script>{_BODY_JS}</script>\n</body></html>\n")


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def write_report(sweep_dir: Path | str, *, data: Results | None = None,
                 kinds: Iterable[str] | None = None, dpi: int = 150) -> Report:
    """Write ``sweep_dir/report/index.html`` and its figures; return what was written.

    A figure that cannot be drawn yet (no finished runs, one policy only) is explained on the
    page; one that fails unexpectedly is reported there too and in :attr:`Report.errors`, so a
    finished sweep never loses its report to a plotting bug.

    Args:
        sweep_dir: a benchmark directory (``rl-lr bench --out``).
        data: the loaded sweep (default: :func:`~rl_lr.results.load_results`).
        kinds: figures to draw (default: all of :data:`rl_lr.plots.FIGURES`).
        dpi: resolution of the PNGs.

    Raises:
        ResultsError: ``sweep_dir`` is not a benchmark directory.
        ValueError: an unknown kind.
    """

    sweep_dir = Path(sweep_dir)
    data = data if data is not None else load_results(sweep_dir)
    out = sweep_dir / "report"
    report = Report(out / "index.html", "")
    chosen = list(FIGURES) if kinds is None else list(kinds)
    unknown = [k for k in chosen if k not in FIGURES]
    if unknown:
        raise ValueError(f"kinds must be among {', '.join(FIGURES)}; got {unknown}")
    report.missing.update({k: "not asked for (write_report kinds=...)" for k in FIGURES
                           if k not in chosen})
    for kind in chosen:
        png = out / "figures" / f"{kind}.png"
        try:
            figure = make_figure(data, kind)
            save_figure(figure, png, dpi=dpi, svg=True)
            report.figures[kind] = png
            width, height = figure.get_size_inches()
            report.sizes[kind] = (float(width), float(height))
            continue
        except ResultsError as err:
            report.missing[kind] = str(err)
        except Exception as err:  # a bug: keep the rest of the report
            last = traceback.format_exc().strip().splitlines()[-3:]
            report.errors[kind] = f"{type(err).__name__}: {err} ({' | '.join(last)})"
        for stale in (png, png.with_suffix(".svg")):
            stale.unlink(missing_ok=True)
    report.html = _page(data, report)
    atomic_write_text(report.path, report.html)
    write_headline_tables(data, out / "tables.md")
    return report
