"""Robustness to the base LR in the report (:mod:`rl_lr.report.base_lr`): a real PPO
experiment on CartPole-v1 with a ``base_lr`` axis (x0.1, x1, x10 around 1e-3), two policies
(the constant and kl_adaptive, both filled from ``{base_lr}``). The report's tables.md and
index.html get, on the final return and on the AUC, every policy at every start against the
tuned constant (the constant at x1: "reference"), with its verdict and the starts where it is
worse, and each policy's worst and best start, and the figure of score against base LR; an
experiment without the axis gets none of them."""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rl_lr import schema
from rl_lr.harness import run_experiment
from rl_lr.metrics import probability_of_improvement_ci
from rl_lr.report.base_lr import TAG, against_tuned, start_groups
from rl_lr.report.base_lr_figure import has_starts
from rl_lr.report.figures import make_figure, report_kinds
from rl_lr.report.sections import robustness_section
from rl_lr.report.tables import headline_tables
from rl_lr.report.task import tasks
from rl_lr.results import REPS, ResultsError, load_results, name_seed
from tests.helpers import run_yaml

EXPERIMENT = """\
name: base_lr_tiny
description: PPO on CartPole-v1 started from 3 base LRs, tiny budget.
budget: {steps: 256, eval_every: 128, eval_episodes: 2}
grid:
  env: [CartPole-v1]
  algo: [ppo]
  lr: {constant: "constant({base_lr})", kl_adaptive: "kl_adaptive({base_lr})"}
  base_lr: {centre: 1.0e-3, multiples: [10, 1, 0.1]}
  seed: [0, 1, 2, 3]  # 4 a side: the fewest runs a verdict is given for
  set: {n_steps: [64], batch_size: [64], n_epochs: [2], policy_kwargs: [{net_arch: [16]}]}
"""
AGAINST = "Robustness to the base LR: P(the policy started at this base LR beats the tuned"
WORST = "Robustness to the base LR: each policy's worst and best start"
STARTS = ["x0.1", "x1", "x10"]


@pytest.fixture(scope="module")
def experiment_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_yaml(tmp_path_factory.mktemp("base_lr"), "base_lr", EXPERIMENT)


def _tables(text: str, title: str) -> list[list[list[str]]]:
    """Every Markdown table under a heading starting with ``title``, as rows of cells."""
    found = []
    for section in text.split("\n### ")[1:]:
        if section.startswith(title):
            lines = [line for line in section.splitlines() if line.startswith("| ")]
            found.append([[c.strip() for c in line.strip("|").split("|")] for line in lines])
    return found


def _summary(directory: Path) -> list[dict[str, str]]:
    with (directory / schema.SUMMARY_CSV).open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_start_is_compared_with_the_tuned_constant(experiment_dir: Path) -> None:
    text = (experiment_dir / schema.REPORT_DIR / schema.REPORT_TABLES).read_text()
    against = _tables(text, AGAINST)
    assert len(against) == 2  # the final return (the primary score), then the AUC
    titles = [s.split("\n")[0] for s in text.split("\n### ") if s.startswith(AGAINST)]
    assert "on the final clean return" in titles[0] and "(AUC)" in titles[1]
    for table in against:
        header, *rows = table
        # the starts from the lowest multiple up, whatever their order in the file
        assert header == ["policy", *(f"base_lr={s}" for s in STARTS), "worse at k of n starts"]
        assert [row[0] for row in rows] == ["constant (fixed)", "kl_adaptive"]
        by_policy = {row[0]: row for row in rows}
        assert by_policy["constant (fixed)"][2] == "reference"
        for row in rows:
            cells = row[1:-1]
            compared = [c for c in cells if c != "reference"]
            assert all(re.fullmatch(r"\d\.\d\d \[\d\.\d\d, \d\.\d\d\] "
                                    r"(better|worse|no difference detectable)", c)
                       for c in compared), compared
            worse = sum(c.endswith(" worse") for c in compared)
            assert row[-1] == f"{worse} of {len(compared)}"
        assert by_policy["constant (fixed)"][-1].endswith("of 2")  # its other two starts
        assert by_policy["kl_adaptive"][-1].endswith("of 3")

    # a cell recomputed from summary.csv: kl_adaptive started at x0.1 against the constant at x1
    runs = _summary(experiment_dir)

    def finals(policy: str, start: str) -> np.ndarray:
        return np.array([float(r[schema.FINAL_EVAL_RETURN]) for r in runs
                         if r[schema.LR] == policy and r[schema.BASE_LR] == start])[:, None]

    ci = probability_of_improvement_ci(
        finals("kl_adaptive", "x0.1"), finals("constant", "x1"), reps=REPS,
        rng=name_seed("CartPole-v1", "ppo", "base_lr=x0.1", "kl_adaptive", TAG,
                      schema.FINAL_EVAL_RETURN))
    kl_row = next(row for row in against[0][1:] if row[0] == "kl_adaptive")
    assert kl_row[1].startswith(f"{ci.point:.2f} [{ci.low:.2f}, {ci.high:.2f}] ")


def test_each_policys_worst_and_best_start_come_from_metrics_csv(experiment_dir: Path
                                                                  ) -> None:
    text = (experiment_dir / schema.REPORT_DIR / schema.REPORT_TABLES).read_text()
    worst = _tables(text, WORST)
    assert len(worst) == 2
    with (experiment_dir / schema.METRICS_CSV).open(newline="") as handle:
        groups = list(csv.DictReader(handle))
    for table, column in zip(worst, (schema.FINAL_IQM, schema.AUC_IQM), strict=True):
        header, *rows = table
        assert header == ["policy", "lowest IQM [CI]", "at", "highest IQM [CI]", "at"]
        for row in rows:
            policy = row[0].removesuffix(" (fixed)")
            iqm = {g[schema.BASE_LR]: float(g[column]) for g in groups if g[schema.LR] == policy}
            assert sorted(iqm) == STARTS
            assert float(row[1].split(" [")[0]) == pytest.approx(min(iqm.values()), rel=1e-2)
            assert iqm[row[2]] == min(iqm.values())
            assert iqm[row[4]] == max(iqm.values())

    html = (experiment_dir / schema.REPORT_DIR / "index.html").read_text()
    section = html[html.index("<h2>Robustness to the base LR"):html.index("<h2>Figures")]
    assert section.count("<b>reference</b>") == 2 and "Worst and best start" in section
    assert "on the time-averaged clean return (AUC)" in section


def test_only_a_centred_base_lr_axis_gets_the_tables(experiment_dir: Path,
                                                    tmp_path: Path) -> None:
    data = load_results(experiment_dir)
    assert [[s for s, _ in starts] for _, starts in start_groups(tasks(data)[0])] == [STARTS]
    # the same runs without the centre x1, or with x1 alone: no tuned constant to compare with
    for keep in (("x0.1", "x10"), ("x1",)):
        subset = replace(data, summary=[r for r in data.summary if r[schema.BASE_LR] in keep],
                         metrics=[r for r in data.metrics if r[schema.BASE_LR] in keep])
        assert all(not against_tuned(task) for task in tasks(subset))
        assert not has_starts(subset) and "base_lr" not in report_kinds(subset)
        assert "Robustness to the base LR" not in headline_tables(subset)
        assert robustness_section(subset) == ""
    # an experiment without a base_lr axis
    plain = tmp_path / "plain.yaml"
    plain.write_text(EXPERIMENT.replace("({base_lr})", "(1e-3)").replace(
        "  base_lr: {centre: 1.0e-3, multiples: [10, 1, 0.1]}\n", "").replace(
        "seed: [0, 1, 2, 3]", "seed: [0]"))
    result = run_experiment(plain, tmp_path / "out", backend="serial", quiet=True, report=False)
    assert result.failed == {}
    plain_data = load_results(tmp_path / "out")
    assert schema.BASE_LR not in plain_data.summary[0]
    assert "Robustness to the base LR" not in headline_tables(plain_data)
    assert robustness_section(plain_data) == ""
    assert "base_lr" not in report_kinds(plain_data)
    with pytest.raises(ResultsError, match="no base_lr axis"):
        make_figure(plain_data, "base_lr")


def test_the_figure_draws_each_policys_iqm_against_its_start(experiment_dir: Path) -> None:
    """One column (the task), one row per score (final return, then AUC); per policy a line
    through its IQM at x0.1, x1, x10 from metrics.csv; the tuned constant's IQM at x1 as the
    dotted line across; and the report shows the PNG."""
    data = load_results(experiment_dir)
    assert "base_lr" in report_kinds(data)
    html = (experiment_dir / schema.REPORT_DIR / "index.html").read_text()
    assert '<img src="figures/base_lr.png"' in html
    assert (experiment_dir / schema.REPORT_DIR / "figures" / "base_lr.png").is_file()
    with (experiment_dir / schema.METRICS_CSV).open(newline="") as handle:
        groups = list(csv.DictReader(handle))
    figure = make_figure(data, "base_lr")
    assert len(figure.axes) == 2
    for ax, column in zip(figure.axes, (schema.FINAL_IQM, schema.AUC_IQM), strict=True):
        assert ax.get_xscale() == "log"
        assert [t.get_text() for t in ax.get_xticklabels()] == STARTS
        iqm = {(g[schema.LR], g[schema.BASE_LR]): float(g[column]) for g in groups}
        curves = [line for line in ax.get_lines() if line.get_marker() == "o"]
        assert len(curves) == 2  # constant, kl_adaptive
        for line, policy in zip(curves, ("constant", "kl_adaptive"), strict=True):
            assert list(line.get_xdata()) == [0.1, 1.0, 10.0]
            assert list(line.get_ydata()) == pytest.approx(
                [iqm[policy, start] for start in STARTS], rel=1e-6)
        dotted = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
        assert [line.get_ydata()[0] for line in dotted] == pytest.approx(
            [iqm["constant", "x1"]], rel=1e-6)
