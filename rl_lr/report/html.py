"""The HTML report of an experiment directory: ``DIR/report/index.html``.

One static page, nothing fetched from the network: the verdict in words, the experiment and
its setup, policies ranked with confidence intervals (sortable tables, a few lines of inline
JavaScript), the tuning of a tune-then-test protocol, the per-condition tables, every
comparison with its power and verdict (and, with a ``base_lr`` axis, every policy at every
base LR against the tuned constant), every figure of
:data:`rl_lr.report.figures.REPORT_KINDS` with a one-line reading guide (PNG shown up to the
window's width, SVG linked, both in ``report/figures/``), failed and diverged runs, and the
exact commands that reproduce it (the sections: :mod:`.sections`). An experiment still
running (or interrupted, or with failed runs) gets a ``PARTIAL: k of n runs finished`` banner
and the same line under the title of every figure.

Every file is written atomically, so the report can be rebuilt while an experiment runs; the
page carries no timestamp, so rebuilding a finished experiment's report rewrites the same
bytes. The headline tables go to ``report/tables.md`` (:mod:`rl_lr.report.tables`).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "experiment.yaml").write_text("name: demo\\nrun_ids: [a]\\n")
    >>> report = write_report(d)
    >>> report.path.relative_to(d).as_posix(), "PARTIAL: 0 of 1 runs finished" in report.html
    ('report/index.html', True)
"""

from __future__ import annotations

import shlex
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from importlib import metadata
from pathlib import Path

from rl_lr import schema
from rl_lr.files import atomic_write_text
from rl_lr.plots import save_figure
from rl_lr.report.figures import FIGURES, make_figure, report_kinds
from rl_lr.report.sections import (
    against_constant_section,
    code_block,
    comparisons_section,
    conditions_section,
    dose_section,
    experiment_yaml,
    oracle_section,
    problems_section,
    ranking_section,
    reproduce_commands,
    robustness_section,
    setup_section,
    tuning_section,
    verdict_section,
    versions_text,
)
from rl_lr.report.tables import write_headline_tables
from rl_lr.results import Results, ResultsError, load_results

__all__ = ["Report", "write_report"]


@dataclass
class Report:
    """What :func:`write_report` wrote: the page, each figure (or why it is missing), and
    figures that failed unexpectedly (a bug: ``errors``); ``kinds``: the figure kinds that
    apply to the experiment (:func:`~rl_lr.report.figures.report_kinds`)."""

    path: Path
    html: str
    kinds: list[str] = field(default_factory=list)
    figures: dict[str, Path] = field(default_factory=dict)
    sizes: dict[str, tuple[float, float]] = field(default_factory=dict)  # inches
    missing: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


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
table.setup th{background:#f6f6f6;width:9rem}.ci{color:#666;font-size:.82rem;white-space:nowrap}
ul.verdict li{margin:.4rem 0}
figure{margin:1.2rem 0 2rem;width:min(96vw,1800px);margin-left:calc(50% - min(48vw,900px))}
figure img{max-width:100%;height:auto;border:1px solid #eee}
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
    """Every figure with its reading guide, or why it is not drawn."""
    quoted = shlex.quote(str(data.path))
    shown = {k: v for k, v in FIGURES.items() if k in report.kinds or k in report.figures}
    parts = ['<nav>' + "".join(f'<a href="#fig-{k}">{escape(v.title)}</a>'
                               for k, v in shown.items()) + "</nav>"]
    for kind, spec in shown.items():
        parts.append(f'<figure id="fig-{kind}"><h3>{escape(spec.title)}</h3>'
                     f"<p class=guide>{escape(spec.guide)}</p>")
        if kind in report.figures:
            png = f"{schema.REPORT_FIGURES}/{kind}.png"
            width, height = (round(n * 96) for n in report.sizes[kind])  # inches -> CSS px
            parts.append(f'<img src="{png}" alt="{escape(spec.title)}" width="{width}" '
                         f'height="{height}">'
                         f'<figcaption><a href="{png}">PNG</a> · '
                         f'<a href="{schema.REPORT_FIGURES}/{kind}.svg">SVG</a> · '
                         f"<code>rl-lr plot {escape(quoted)} --kind {kind}</code></figcaption>")
        else:
            why = report.errors.get(kind) or report.missing.get(kind, "")
            cls = "banner bad" if kind in report.errors else "note"
            parts.append(f"<p class='{cls}'>Not drawn: {escape(why)}</p>")
        parts.append("</figure>")
    return "\n".join(parts)


def _page(data: Results, report: Report) -> str:
    """The whole page: the header, the banner of a partial experiment, every section."""
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
    versions = versions_text(data)
    sections = [
        f"<h1>{escape(data.name)}</h1>",
        f"<p>{escape(data.description)}</p>" if data.description else "",
        f"<p class=meta>{finished} of {data.planned} runs finished, {failed} failed, "
        f"{diverged} diverged · source <code>{escape(str(data.experiment.get(schema.SOURCE, '')))}"
        f"</code> · rl-lr {escape(version)}</p>",
        banner,
        "<h2>Verdict</h2>", verdict_section(data),
        "<h2>Setup</h2>", setup_section(data),
        "<h2>Ranking</h2>", ranking_section(data),
        *(["<h2>Tuning</h2>", tuning] if (tuning := tuning_section(data)) else []),
        "<h2>Per condition</h2>", conditions_section(data),
        "<h2>Comparisons with the best fixed schedule</h2>", comparisons_section(data),
        *(["<h2>Against the tuned constant</h2>", constant]
          if (constant := against_constant_section(data)) else []),
        *(["<h2>Oracles against their rules</h2>", oracle]
          if (oracle := oracle_section(data)) else []),
        *(["<h2>Robustness to the base LR: against the tuned constant</h2>", robustness]
          if (robustness := robustness_section(data)) else []),
        *(["<h2>Dose response</h2>", dose] if (dose := dose_section(data)) else []),
        "<h2>Figures</h2>", _figures(data, report),
        "<h2>Failed and diverged runs</h2>", problems_section(data),
        "<h2>Reproduce</h2>",
        # "partial sweep": the committed reports carry these words (byte-identical regeneration)
        "<p>Run these from the repository root; finished runs are skipped, so the same "
        "command also finishes a partial sweep:</p>", code_block("\n".join(commands)),
        f"<p class=note>Versions of the first run: {escape(versions)}</p>" if versions else "",
        "<details><summary>Resolved experiment</summary>" + code_block(experiment_yaml(data)) +
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


def write_report(experiment_dir: Path | str, *, data: Results | None = None,
                 kinds: Iterable[str] | None = None, dpi: int = 150) -> Report:
    """Write ``experiment_dir/report/index.html``, its figures and ``report/tables.md``;
    return what was written.

    A figure that cannot be drawn yet (no finished runs, one policy only) is explained on the
    page; one that fails unexpectedly is reported there too and in :attr:`Report.errors`, so a
    finished experiment never loses its report to a plotting bug.

    Args:
        experiment_dir: an experiment directory (``rl-lr bench --out``).
        data: the loaded experiment (default: :func:`~rl_lr.results.load_results`).
        kinds: figures to draw (default: the kinds of
            :data:`rl_lr.report.figures.REPORT_KINDS` that apply to the experiment; the files
            of the other kinds are removed, so the page shows each figure once).
        dpi: resolution of the PNGs.

    Raises:
        ResultsError: ``experiment_dir`` is not an experiment directory.
        ValueError: an unknown kind.
    """
    experiment_dir = Path(experiment_dir)
    data = data if data is not None else load_results(experiment_dir)
    out = experiment_dir / schema.REPORT_DIR
    report = Report(out / schema.REPORT_INDEX, "", kinds=report_kinds(data))
    chosen = report.kinds if kinds is None else list(kinds)
    unknown = [k for k in chosen if k not in FIGURES]
    if unknown:
        raise ValueError(f"kinds must be among {', '.join(FIGURES)}; got {unknown}")
    report.missing.update({k: "not asked for (write_report kinds=...)" for k in report.kinds
                           if k not in chosen})
    if kinds is None:  # a kind the page does not show leaves no stale file behind
        for kind in FIGURES.keys() - set(report.kinds):
            for suffix in (".png", ".svg"):
                (out / schema.REPORT_FIGURES / f"{kind}{suffix}").unlink(missing_ok=True)
    for kind in chosen:
        png = out / schema.REPORT_FIGURES / f"{kind}.png"
        try:
            figure = make_figure(data, kind)
            save_figure(figure, png, dpi=dpi, svg=True, compact=FIGURES[kind].compact)
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
    write_headline_tables(data, out / schema.REPORT_TABLES)
    return report
