"""The HTML report: what it contains, partial experiments, and a real browser: headless Chromium
opens it from disk, every image loads, the console stays empty, the tables sort.

Chromium is Debian's ``chromium`` package; the ``chromium`` fixture installs it with apt-get
when it is missing (idempotent) and skips only when apt-get itself is unavailable."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rl_lr.cli import main
from rl_lr.experiment import load_experiment, plan_runs
from rl_lr.metrics import probability_of_improvement
from rl_lr.report import write_report
from rl_lr.report.figures import FIGURES, REPORT_KINDS, make_figure, panel_grid, report_kinds
from rl_lr.report.tables import format_number
from rl_lr.results import collect, load_results
from tests.test_plots import SMOKE, smoke_experiment

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--enable-logging=stderr", "--v=0"]


@pytest.fixture(scope="module")
def experiment_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return smoke_experiment(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's chromium; ``apt-get install -y chromium`` first when it is missing."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if shutil.which("apt-get") is None:
        pytest.skip("headless Chromium test: chromium is not installed and apt-get is not "
                    "available to install Debian's 'chromium' package")
    if os.geteuid() != 0:
        pytest.skip("headless Chromium test: chromium is not installed and apt-get needs root "
                    "to install it (run: apt-get install -y chromium)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200,
                              check=False)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed ({done.returncode}): "
                        f"{(done.stderr or done.stdout)[-2000:]}")
    found = shutil.which("chromium")
    assert found, "apt-get installed chromium, but no chromium on PATH"
    return found


def browse(chromium: str, page: Path, profile: Path, *args: str
           ) -> subprocess.CompletedProcess[str]:
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args,
               page.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


class _Body(HTMLParser):
    """The attributes of <body> in a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.attrs = {k: v or "" for k, v in attrs}


def body_attributes(dom: str) -> dict[str, str]:
    parser = _Body()
    parser.feed(dom)
    return parser.attrs


# --------------------------------------------------------------------------- contents


def test_bench_writes_a_complete_self_contained_report(experiment_dir: Path) -> None:
    page = experiment_dir / "report" / "index.html"
    html = page.read_text()
    assert "<h1>smoke</h1>" in html and "PPO on CartPole-v1 with two LR policies" in html
    assert "PARTIAL" not in html and "8 of 8 runs finished, 0 failed, 0 diverged" in html
    ranking = html[html.index("<h2>Ranking</h2>"):html.index("<h2>Per condition</h2>")]
    assert "<code>cosine(1e-3)</code>" in ranking and "plateau(1e-3, patience=1" in ranking
    assert ranking.count("<tr>") == 1 + 2  # header + one row per policy
    assert "optimality gap" in ranking and "P(beats next)" in ranking
    sources = re.findall(r'<img src="([^"]+)"', html)
    kinds = report_kinds(load_results(experiment_dir))
    assert sources == [f"figures/{kind}.png" for kind in kinds]
    assert "lr" not in kinds and "curves" in kinds  # the LR plot shown once
    assert "base_lr" not in kinds and "Score against the base LR" not in html  # no such axis
    assert all((page.parent / s).is_file() for s in sources)
    assert all((page.parent / s).with_suffix(".svg").is_file() for s in sources)
    assert not (page.parent / "figures" / "lr.png").exists()
    for kind in kinds:
        assert escape(FIGURES[kind].guide) in html
    assert "<h3>Failed runs</h3><p>None.</p>" in html
    assert "<h3>Diverged runs</h3><p>None.</p>" in html
    assert f"rl-lr bench --suite smoke --out {experiment_dir.resolve()}" in html
    assert f"rl-lr report {experiment_dir.resolve()}" in html
    # nothing from the network: no external scripts, styles, images or fonts
    assert not re.search(r'(src|href)="(https?:)?//', html) and "<link" not in html
    assert "@import" not in html and "url(" not in html


def test_headline_tables_quote_metrics_csv_and_compare_adaptive_with_fixed(
        experiment_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "experiment"
    shutil.copytree(experiment_dir, out)
    write_report(out)
    text = (out / "report" / "tables.md").read_text()
    assert "PARTIAL" not in text and "## CartPole-v1 · ppo" in text
    ranking, first = text.split("### ")[1:3]
    assert ranking.startswith("Ranking over the 2 conditions") and "| 1 | " in ranking
    assert "| policy | clean | noise |" in first
    with (out / "metrics.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):  # each final IQM with its CI, from metrics.csv
            low, point, high = (float(row[f"final_iqm{k}"]) for k in ("_low", "", "_high"))
            assert f"{point:.3g} [{low:.3g}, {high:.3g}]" in first
    assert "| cosine (fixed) |" in first and "| plateau |" in first
    with (out / "summary.csv").open(newline="") as handle:
        summary = list(csv.DictReader(handle))
    finals: dict[tuple[str, str], list[float]] = {}
    for r in summary:
        finals.setdefault((r["lr"], r["perturb"]), []).append(float(r["final_eval_return"]))
    improvement = text.split("### P(adaptive policy beats")[1]
    assert "clean (vs cosine)" in improvement and "noise (vs cosine)" in improvement
    cells = next(line for line in improvement.splitlines() if line.startswith("| plateau |"))
    for i, condition in enumerate(("clean", "noise")):
        p = probability_of_improvement(
            np.array(finals["plateau", condition])[:, None],
            np.array(finals["cosine", condition])[:, None])
        assert cells.split(" | ")[i + 1].startswith(f"{p:.2f} [")
    lr_table = text.split("### LR actually used")[1]
    cosine = next(line for line in lr_table.splitlines() if line.startswith("| cosine (fixed) |"))
    runs = sum(r["lr"] == "cosine" and r["perturb"] == "clean" for r in summary)
    assert cosine.split(" | ")[1].endswith(f"{runs}/{runs} moved · 1 distinct")  # a schedule
    plateau = next(line for line in lr_table.splitlines() if line.startswith("| plateau |"))
    last_lrs = []
    for r in summary:
        if r["lr"] == "plateau" and r["perturb"] == "clean":
            with (out / "runs" / r["run_id"] / "progress.csv").open(newline="") as handle:
                last_lrs.append(float(list(csv.DictReader(handle))[-1]["lr"]))
    assert plateau.split(" | ")[1].startswith(f"{format_number(np.median(last_lrs))} [")
    page = (out / "report" / "index.html").read_bytes()
    write_report(out)  # rebuilding a finished experiment's report rewrites the same bytes
    assert (out / "report" / "index.html").read_bytes() == page
    assert (out / "report" / "tables.md").read_text() == text


def test_partial_experiment_report_is_marked_and_names_failed_runs(
        experiment_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "experiment"
    shutil.copytree(experiment_dir, out)
    plan = plan_runs(load_experiment(SMOKE))
    for run in plan[5:]:
        shutil.rmtree(out / "runs" / run.run_id)  # as if still running, or failed
    failed = plan[-1]
    collect(out, plan, {failed.run_id: "RuntimeError: boom"})  # what rl-lr bench rewrites
    data = load_results(out)
    assert (data.partial, data.finished, data.planned) == (True, 5, 8)
    assert main(["report", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(out / "report" / "index.html")
    assert "PARTIAL: 5 of 8 runs finished" in captured.err
    html = (out / "report" / "index.html").read_text()
    assert ("PARTIAL: 5 of 8 runs finished (1 failed, 2 not finished yet): everything below "
            "uses the finished runs only.") in html
    problems = html[html.index("<h3>Failed runs (1)</h3>"):html.index("<h3>Diverged runs")]
    assert failed.run_id in problems and "RuntimeError: boom" in problems
    assert "lr=plateau" in problems and "perturb=noise" in problems
    assert all((out / "report" / "figures" / f"{k}.png").is_file() for k in report_kinds(data))
    title = make_figure(data, "curves").get_suptitle().splitlines()
    assert title[-1] == "PARTIAL: 5 of 8 runs finished"  # a line of its own, below the title


def test_panels_of_a_row_with_fewer_perturbations_leave_no_gap() -> None:
    """results/fair: CartPole-v1 under clean, heavy_tailed and markov rewards, PointNav-v0
    under clean and gaussian; a column per perturbation would leave two empty panels in
    PointNav's row (there were)."""
    data = load_results(Path(__file__).resolve().parents[1] / "results" / "fair")
    rows, columns, where = panel_grid(data)
    found = {(dict(p)["env"], dict(p)["perturb"]): cell for p, cell in where.items()}
    assert (rows, columns) == (2, 3)
    assert found == {("CartPole-v1", "clean"): (0, 0), ("CartPole-v1", "heavy_tailed"): (0, 1),
                     ("CartPole-v1", "markov"): (0, 2), ("rl_lr/PointNav-v0", "clean"): (1, 0),
                     ("rl_lr/PointNav-v0", "gaussian"): (1, 1)}


def test_report_of_an_experiment_that_has_just_started(tmp_path: Path) -> None:
    (tmp_path / "experiment.yaml").write_text(json.dumps(
        {"name": "fresh", "description": "nothing yet", "run_ids": ["a", "b"],
         "source": "/nowhere.yaml", "grid": {"lr": {"cos": "cosine(1e-3)"}}}))
    report = write_report(tmp_path)
    assert report.figures == {} and report.errors == {}
    assert set(report.missing) == set(REPORT_KINDS) - {"base_lr", "dose"}  # no such axes
    assert "PARTIAL: 0 of 2 runs finished" in report.html
    assert "No panel where every policy has a finished run yet." in report.html
    assert "Not drawn: no finished runs" in report.html
    assert "rl-lr bench experiment.yaml --out" in report.html  # the source file is gone
    assert not (tmp_path / "report" / "figures").exists() or not any(
        (tmp_path / "report" / "figures").iterdir())


def test_the_per_condition_tables_are_narrow_and_explain_their_signs(experiment_dir: Path
                                                                     ) -> None:
    html = (experiment_dir / "report" / "index.html").read_text()
    section = html[html.index("<h2>Per condition</h2>"):html.index("<h2>Comparisons")]
    tables = re.findall(r"<table.*?</table>", section, flags=re.S)
    assert len(tables) == 2  # scores, then stability: not one 12-column table
    assert all(len(re.findall(r"<th[ >]", t)) <= 8 for t in tables)
    assert "white-space:nowrap" in html.split(".ci{")[1].split("}")[0]  # CIs never wrap
    assert "at max" in tables[0] and "diverged" in tables[0]
    assert "short-term risk ↑" in tables[1] and "negative: the curve fell" in section
    assert "maximum drawdown" in section  # what the long-term risk is with these few points


def test_the_diverged_panel_draws_no_interval_when_nothing_diverged(experiment_dir: Path) -> None:
    data = load_results(experiment_dir)
    assert data.diverged_rows() == []
    figure = make_figure(data, "stability")
    panel = next(ax for ax in figure.axes if ax.get_title().startswith("diverged runs"))
    assert [t.get_text() for t in panel.texts] == [
        f"no run diverged\n(0 of {len(data.summary)} runs)"]
    assert len(panel.patches) == 0 and len(panel.lines) == 0  # no CI bar, no tick


# --------------------------------------------------------------------------- in a browser

_SORT_PROBE = """<script>
window.addEventListener('load', function () {
  var table = document.querySelector('table.sortable');
  function column(name) {
    var cells = Array.prototype.slice.call(table.tHead.rows[0].cells);
    return cells.filter(function (c) { return c.textContent.trim() === name; })[0];
  }
  function order(i) {
    return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
      return r.cells[i].textContent.trim(); });
  }
  var result = {};
  var policy = column('policy'), iqm = column('IQM');
  policy.click(); result.policyAsc = order(1);
  policy.click(); result.policyDesc = order(1);
  iqm.click(); result.iqmAsc = order(3);
  iqm.click(); result.iqmDesc = order(3);
  var verdict = document.querySelector('ul.verdict');
  result.verdictTop = verdict.getBoundingClientRect().top;
  result.verdictText = verdict.textContent;
  result.stabilityWidth = document.querySelector('#fig-stability img')
    .getBoundingClientRect().width;
  var diagnostics = document.querySelector('#fig-diagnostics img');
  result.diagnostics = {loaded: diagnostics.complete && diagnostics.naturalWidth > 0,
                        width: diagnostics.getBoundingClientRect().width,
                        height: diagnostics.getBoundingClientRect().height,
                        heading: document.querySelector('#fig-diagnostics h3').textContent,
                        linked: !!document.querySelector('nav a[href="#fig-diagnostics"]')};
  document.body.setAttribute('data-sort-probe', JSON.stringify(result));
});
</script></body>"""


def test_report_in_headless_chromium(chromium: str, experiment_dir: Path, tmp_path: Path) -> None:
    report = tmp_path / "report"
    shutil.copytree(experiment_dir / "report", report)  # a copy: the probe page stays out of DIR
    page = report / "index.html"
    shot = tmp_path / "report.png"
    done = browse(chromium, page, tmp_path / "profile-1", f"--screenshot={shot}",
                  "--window-size=1280,2400")
    assert done.returncode == 0, done.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.size == (1280, 2400)
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 20 and (pixels < 128).mean() > 0.01  # text and figures, not blank

    probe = report / "probe.html"
    probe.write_text(page.read_text().replace("</body>", _SORT_PROBE))
    done = browse(chromium, probe, tmp_path / "profile-2", "--dump-dom",
                  "--window-size=1600,1000")
    assert done.returncode == 0, done.stderr[-2000:]
    attrs = body_attributes(done.stdout)
    assert attrs.get("data-images") == str(len(report_kinds(load_results(experiment_dir)))), attrs
    assert attrs["data-images-loaded"] == attrs["data-images"]  # every image loaded
    assert json.loads(attrs["data-errors"]) == []  # no script or resource errors
    console = [line for line in (done.stderr + "\n").splitlines() if ":CONSOLE" in line]
    assert console == []  # the page writes nothing to the console
    sort = json.loads(attrs["data-sort-probe"])
    assert sort["policyAsc"] == ["cosine", "plateau"]
    assert sort["policyDesc"] == ["plateau", "cosine"]
    iqm = [float(text.split()[0]) for text in sort["iqmAsc"]]
    assert iqm == sorted(iqm) and sort["iqmDesc"] == sort["iqmAsc"][::-1]
    # the verdict is where the reader looks first: on the first screen, in words
    assert sort["verdictTop"] < 600 and "ranks first on the final clean return" in sort[
        "verdictText"] and "How sure: with" in sort["verdictText"]
    # a wide figure is shown wider than the text column (1180 px), not squeezed into it
    assert sort["stabilityWidth"] > 1300
    diagnostics = sort["diagnostics"]
    assert diagnostics["loaded"] and diagnostics["linked"]
    assert diagnostics["heading"] == "Training diagnostics beside the LR"
    assert diagnostics["width"] > 1300 and diagnostics["height"] > 300

    # a screenshot of the diagnostics section alone (the rest of the page hidden): its
    # heading on top and its figure drawn in the policies' colours (cosine #0072B2, plateau
    # #D55E00)
    shot = tmp_path / "diagnostics.png"
    alone = report / "diagnostics.html"
    alone.write_text(page.read_text().replace(
        "</head>", "<style>body>:not(#fig-diagnostics){display:none!important}</style></head>"))
    done = browse(chromium, alone, tmp_path / "profile-3", f"--screenshot={shot}",
                  "--window-size=1600,1200", "--virtual-time-budget=5000")
    assert done.returncode == 0, done.stderr[-2000:]
    with Image.open(shot) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=int)
    for colour in ((0x00, 0x72, 0xB2), (0xD5, 0x5E, 0x00)):
        near = (np.abs(rgb - np.array(colour)).sum(axis=2) < 60).mean()
        assert near > 1e-4, (colour, near)  # the policies' lines are on screen
    top = np.asarray(Image.open(shot).convert("L"), dtype=float)[:60]
    assert (top < 128).mean() > 0.005  # the section's heading, at the top of the screen


def test_browser_check_notices_a_missing_figure(chromium: str, experiment_dir: Path,
                                                tmp_path: Path) -> None:
    """The in-page check the test above relies on does fail when an image is missing."""
    report = tmp_path / "report"
    shutil.copytree(experiment_dir / "report", report)
    (report / "figures" / "heatmap.png").unlink()
    done = browse(chromium, report / "index.html", tmp_path / "profile", "--dump-dom")
    attrs = body_attributes(done.stdout)
    assert attrs["data-images-loaded"] == str(len(report_kinds(load_results(experiment_dir))) - 1)
    assert any("heatmap.png" in e for e in json.loads(attrs["data-errors"]))
    assert "figure(s) could not be loaded" in done.stdout


def test_the_cli_knows_every_figure_kind() -> None:
    from rl_lr.cli.report import KINDS

    assert tuple(FIGURES) == KINDS
