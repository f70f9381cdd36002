"""Regime switches in ``metrics.csv`` and the report: a real PPO experiment on
InvertedPendulum-v5 whose joint damping switches x10 every 200 steps (switches at 200, 400 and
600 of 800) beside a clean condition. The switched groups get the drop and the recovery, each
with its interval, and the switches recovered; the report shows them in a "Regime switches"
table per task, for the switched condition only, and no such table without switches."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest

from rl_lr import schema
from rl_lr.report.sections import switches_section
from rl_lr.report.tables import headline_tables
from rl_lr.report.task import ci_text
from rl_lr.results import load_results
from tests.helpers import run_yaml

EXPERIMENT = """\
name: switches
description: PPO on InvertedPendulum-v5, damping x10 on and off every 200 steps, tiny budget.
budget: {steps: 800, eval_every: 100, eval_episodes: 2}
grid:
  env: [InvertedPendulum-v5]
  algo: [ppo]
  lr: {constant: constant(1e-3)}
  perturb:
    clean: null
    damping: "damping_switch(scale=[1.0, 10.0], every=200)"
  seed: [0, 1]
  set: {n_steps: [64], batch_size: [64], n_epochs: [2], policy_kwargs: [{net_arch: [16]}]}
overrides:
  env:
    InvertedPendulum-v5: {preset: sb3}
"""
SWITCH_COLUMNS = (schema.SWITCH_DROP_IQM, schema.SWITCH_RECOVERY_IQM)


@pytest.fixture(scope="module")
def experiment_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_yaml(tmp_path_factory.mktemp("switches"), "switches", EXPERIMENT)


def _metrics(directory: Path) -> dict[str, dict[str, str]]:
    with (directory / schema.METRICS_CSV).open(newline="") as handle:
        return {row[schema.PERTURB]: row for row in csv.DictReader(handle)}


def test_switched_groups_get_drop_and_recovery_with_intervals(experiment_dir: Path) -> None:
    rows = _metrics(experiment_dir)
    damping, clean = rows["damping"], rows["clean"]
    data = load_results(experiment_dir)
    switched = [p for p in data.panels if data.switch_steps(p)]
    assert [dict(p)[schema.PERTURB] for p in switched] == ["damping"]
    assert data.switch_steps(switched[0]) == [200.0, 400.0, 600.0]
    assert int(damping[schema.SWITCH_COUNT]) == 2 * 3  # 2 runs x 3 switches, all scored
    recovered = float(damping[schema.SWITCH_RECOVERED]) * 6
    assert recovered == pytest.approx(round(recovered))
    for column in SWITCH_COLUMNS:
        low, high = schema.ci_columns(column)
        assert float(damping[low]) <= float(damping[column]) <= float(damping[high])
        assert float(damping[column]) >= 0
        assert clean[column] == clean[low] == clean[high] == ""  # no switches, no values
    # a censored recovery is at most the regime's length (200 steps here)
    assert float(damping[schema.SWITCH_RECOVERY_IQM + "_high"]) <= 200
    assert clean[schema.SWITCH_COUNT] == clean[schema.SWITCH_RECOVERED] == ""


def test_the_report_shows_the_regime_switches_with_their_intervals(experiment_dir: Path
                                                                  ) -> None:
    text = (experiment_dir / schema.REPORT_DIR / schema.REPORT_TABLES).read_text()
    damping = _metrics(experiment_dir)["damping"]
    drop, recovery = (section for section in text.split("### ")
                      if section.startswith("Regime switches"))
    assert "| policy | damping |" in drop and "clean" not in drop.split("\n\n")[1]
    assert f"| constant (fixed) | {ci_text(damping, schema.SWITCH_DROP_IQM)} |" in drop
    assert "[" in ci_text(damping, schema.SWITCH_DROP_IQM)  # an interval, not a bare point
    count = int(damping[schema.SWITCH_COUNT])
    recovered = round(float(damping[schema.SWITCH_RECOVERED]) * count)
    assert (f"| constant (fixed) | {recovered}/{count} ({100 * recovered / count:.0f} %) · "
            f"{ci_text(damping, schema.SWITCH_RECOVERY_IQM)} |") in recovery
    assert "censored" in recovery
    page = (experiment_dir / schema.REPORT_DIR / schema.REPORT_INDEX).read_text()
    assert "<h3>Regime switches</h3>" in page and "censored" in page


def test_no_regime_switch_table_without_switches(experiment_dir: Path) -> None:
    data = load_results(experiment_dir)
    assert "### Regime switches" in headline_tables(data)
    clean = [row for row in data.metrics if row[schema.PERTURB] == "clean"]
    assert "### Regime switches" not in headline_tables(replace(data, metrics=clean))
    assert "Regime switches" in switches_section(data)
    assert switches_section(replace(data, metrics=clean)) == ""
