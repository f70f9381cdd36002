"""Dose response in the report (:mod:`rl_lr.report.dose`, :mod:`rl_lr.report.dose_figure`), on
the committed runs of ``results/dose_precheck/`` (PPO on InvertedPendulum-v5 under Gaussian
reward noise: clean and std 0.3, 1, 3, 10 at 2,048-step rollouts; clean and std 1, 2, 3, 5 at
512): its two dose axes are found from the specs, each policy's retained fraction is the
ratio of its normalised mean scores on common seeds with a paired bootstrap CI, the lowest
dose where it clearly loses is named, and the tables, the HTML section and the figure show
them; an experiment without a dose axis gets none of them."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from matplotlib.lines import Line2D

from rl_lr import schema
from rl_lr.grammar import parse_text
from rl_lr.metrics import sensitivity_of_means_ci
from rl_lr.report.dose import (
    KEEPS,
    TAG,
    dose_argument,
    dose_axes,
    first_clear_loss,
    retained,
)
from rl_lr.report.dose_figure import has_doses
from rl_lr.report.figures import make_figure, report_kinds
from rl_lr.report.sections import dose_section
from rl_lr.report.tables import headline_tables
from rl_lr.report.task import tasks
from rl_lr.report.verdicts import summary_lines
from rl_lr.results import REPS, ResultsError, load_results, name_seed
from rl_lr.results.scores import env_range

RESULTS = Path(__file__).resolve().parents[1] / "results"
PRECHECK = RESULTS / "dose_precheck"
LONG = ["clean", "std_0.3", "std_1", "std_3", "std_10"]  # 2,048-step rollouts
SHORT = ["clean", "std_1", "std_2", "std_3", "std_5"]  # set.n_steps=512


@pytest.mark.parametrize(("specs", "argument"), [
    (["gaussian(std=1.0)", "gaussian(std=3.0)"], "std"),
    (["scale(0.5)", "scale(2.0)", "scale(10.0)"], "argument 1"),
    (["gaussian(std=1.0)", "gaussian(std=1.0)"], None),  # no dose varies
    (["gaussian(std=1.0)", "heavy_tailed(scale=1.0)"], None),  # two perturbations
    (["switch(5.0, every=1000)", "switch(10.0, every=2000)"], None),  # two arguments vary
    (["delay(steps=2, mode=sum)", "delay(steps=2, mode=last)"], None),  # not a number
    (["[gaussian(std=1.0), delay(steps=2)]", "[gaussian(std=3.0), delay(steps=2)]"], None),
])
def test_a_dose_is_one_number_varying_in_one_perturbation(specs: list[str],
                                                          argument: str | None) -> None:
    assert dose_argument(*(parse_text(s) for s in specs)) == argument


def test_the_precheck_has_two_dose_axes_in_dose_order() -> None:
    data = load_results(PRECHECK)
    assert has_doses(data) and "dose" in report_kinds(data)
    axes = dose_axes(tasks(data)[0])
    assert [[label for label, _, _ in axis.doses] for axis in axes] == [LONG, SHORT]
    assert [[value for _, value, _ in axis.doses] for axis in axes] == [
        [None, 0.3, 1.0, 3.0, 10.0], [None, 1.0, 2.0, 3.0, 5.0]]
    assert {axis.title() for axis in axes} == {"gaussian std"}
    assert [dict(axis.rest)["set.n_steps"] for axis in axes] == ["", "512"]


def test_retained_is_the_ratio_of_normalised_means_on_common_seeds() -> None:
    data = load_results(PRECHECK)
    task = tasks(data)[0]
    axis = dose_axes(task)[0]
    with (PRECHECK / schema.SUMMARY_CSV).open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if not r["set.n_steps"]]
    auc = {(r[schema.PERTURB], r[schema.SEED]): float(r[schema.EVAL_AUC]) for r in rows}
    low, high = env_range("InvertedPendulum-v5") or (0.0, 1.0)
    found = retained(task, axis, "constant", schema.EVAL_AUC)
    assert list(found) == LONG[1:]
    for label, _, panel in axis.doses[1:]:
        seeds = sorted(s for d, s in auc if d == label)
        dosed = np.array([auc[label, s] for s in seeds])
        clean = np.array([auc["clean", s] for s in seeds])
        assert found[label].seeds == 4
        assert found[label].ci.point == pytest.approx(
            (dosed.mean() - low) / (clean.mean() - low), rel=1e-9)
        assert found[label].ci == sensitivity_of_means_ci(
            dosed, clean, low=low, high=high, reps=REPS,
            rng=name_seed(task.env, task.algo, task.condition(panel), "constant", TAG,
                          schema.EVAL_AUC))
        assert found[label].ci.low <= found[label].ci.point <= found[label].ci.high
    # std 3 costs the constant a third of its AUC (CI below 0.9); std 1 does not, clearly
    assert found["std_3"].ci.high < KEEPS <= found["std_1"].ci.high
    assert first_clear_loss(found, axis) == "std_3"
    # the same runs on 3 seeds are too few to judge (fewer than 4 a side)
    fewer = {label: kept._replace(seeds=3) for label, kept in found.items()}
    assert first_clear_loss(fewer, axis) is None


def test_the_report_shows_the_dose_tables_section_and_figure() -> None:
    """In memory (the whole report takes a while): tables.md's tables, the HTML section, the
    figure among the report's; the committed report was regenerated with them."""
    data = load_results(PRECHECK)
    tables = headline_tables(data)
    titles = [line for line in tables.splitlines() if line.startswith("### Dose response")]
    # two axes x two scores (the primary, the final return, then the AUC)
    assert len(titles) == 4 and sum("(set.n_steps=512)" in t for t in titles) == 2
    assert "| policy | std_0.3 | std_1 | std_3 | std_10 | clearly loses from |" in tables
    section = dose_section(data)
    assert section.count("<table") == 4 and "paired bootstrap" in section
    assert tables == (PRECHECK / schema.REPORT_DIR / "tables.md").read_text()
    html = (PRECHECK / schema.REPORT_DIR / "index.html").read_text()
    assert section in html and '<img src="figures/dose.png"' in html
    assert (PRECHECK / schema.REPORT_DIR / "figures" / "dose.png").stat().st_size > 0


def _ys(line: Line2D) -> list[float]:
    return [float(y) for y in np.asarray(line.get_ydata(), dtype=float)]


def test_the_figure_draws_each_dose_and_the_fraction_kept() -> None:
    """Two columns (the axes); top row the final return's IQM per dose from metrics.csv,
    bottom row the retained fraction, 1 at the clean dose, with lines at 1 and 0.9."""
    data = load_results(PRECHECK)
    figure = make_figure(data, "dose")
    top, bottom = figure.axes[0], figure.axes[2]
    assert [t.get_text() for t in top.get_xticklabels()] == LONG
    with (PRECHECK / schema.METRICS_CSV).open(newline="") as handle:
        iqm = {r[schema.PERTURB]: float(r[schema.FINAL_IQM]) for r in csv.DictReader(handle)
               if not r["set.n_steps"]}
    (curve,) = [line for line in top.get_lines() if line.get_marker() == "o"]
    assert _ys(curve) == pytest.approx([iqm[label] for label in LONG])
    (kept,) = [line for line in bottom.get_lines() if line.get_marker() == "o"]
    task = tasks(data)[0]
    found = retained(task, dose_axes(task)[0], "constant", schema.FINAL_EVAL_RETURN)
    assert _ys(kept) == pytest.approx([1.0, *(found[d].ci.point for d in LONG[1:])])
    assert sorted(_ys(line)[0] for line in bottom.get_lines()
                  if line.get_marker() != "o") == [KEEPS, 1.0]


def test_an_experiment_without_a_dose_axis_gets_none() -> None:
    """results/fair_precheck: four perturbations, one strength each."""
    data = load_results(RESULTS / "fair_precheck")
    assert not has_doses(data) and "dose" not in report_kinds(data)
    assert "Dose response" not in headline_tables(data)
    assert dose_section(data) == ""
    with pytest.raises(ResultsError, match="no dose axis"):
        make_figure(data, "dose")


def test_the_verdict_at_the_top_says_where_each_policy_clearly_loses() -> None:
    (line,) = summary_lines(load_results(PRECHECK))
    assert line.endswith(
        "Dose response to gaussian std, on the final clean return (the lowest dose at which a "
        "policy keeps clearly less than 90 % of its clean score): std_10 for constant (fixed). "
        "Dose response to gaussian std (set.n_steps=512), on the final clean return (the "
        "lowest dose at which a policy keeps clearly less than 90 % of its clean score): no "
        "dose for constant (fixed).")
