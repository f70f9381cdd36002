"""results/warm_start (issue 19, item 4) stays honest: its comparison.csv is what its studies'
trials.csv make of the rule in benchmarks/warm_start_heldout.py, and the README's table, median
ratio and counts are what comparison.csv and the trials say."""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from rl_lr.files import read_csv
from rl_lr.schema import TRIALS_CSV

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "warm_start"
ARMS = ("cold", "warm")


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "warm_start_heldout", ROOT / "benchmarks" / "warm_start_heldout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _comparison() -> list[dict[str, Any]]:
    """comparison.csv's rows, numbers typed as the script wrote them."""
    def typed(value: str) -> Any:
        return int(value) if value.isdigit() else value
    return [{k: typed(v) for k, v in row.items()} for row in read_csv(OUT / "comparison.csv")]


def _values(seed: object) -> dict[str, list[float | None]]:
    return _script().trial_values(
        {arm: read_csv(OUT / "studies" / arm / f"seed_{seed}" / TRIALS_CSV) for arm in ARMS})


def _readme() -> str:
    return " ".join((OUT / "README.md").read_text().split())  # wrapped lines too


def test_the_comparison_is_what_the_studies_trials_make_of_the_rule() -> None:
    first_reaching = _script().first_reaching
    rows = _comparison()
    assert len(rows) >= 5  # issue 19: >= 5 study seeds
    for row in rows:
        values = _values(row["study_seed"])
        target = max(v for v in values["cold"] if v is not None)
        assert float(row["cold_best_auc"]) == target
        for arm in ARMS:
            reached = first_reaching(values[arm], target)
            assert row[f"{arm}_trials"] == (reached or f">{len(values[arm])}")


def test_the_readme_quotes_the_comparison() -> None:
    readme, rows = _readme(), _comparison()
    table = [[c.strip() for c in line.strip("|").split("|")]
             for line in (OUT / "README.md").read_text().splitlines()
             if re.match(r"\| \d+ \|", line)]
    assert [t[0] for t in table] == [str(r["study_seed"]) for r in rows]
    for cells, row in zip(table, rows, strict=True):
        assert cells[1:7] == [f"{float(row['cold_best_auc']):.4g}",
                              f"{float(row['warm_best_auc']):.4g}",
                              *(str(row[k]) for k in ("cold_trials", "warm_trials",
                                                      "cold_env_steps", "warm_env_steps"))]
        assert cells[7:9] == [f"`{row['cold_best_spec']}`", f"`{row['warm_best_spec']}`"]
    median = _script().median_ratio(rows)  # a warm study that never reached it: infinite
    assert (f"{median:.2f}x" if math.isfinite(median) else "never reached") in readme


def test_the_readmes_counts_are_the_studies() -> None:
    readme, rows = _readme(), _comparison()
    seeds = len(rows)
    reached = sum(isinstance(r["warm_trials"], int) for r in rows)
    higher = sum(float(r["warm_best_auc"]) > float(r["cold_best_auc"]) for r in rows)
    below = {arm: [v for r in rows for v in _values(r["study_seed"])[arm]] for arm in ARMS}
    negative = {arm: (sum(v is not None and v < 0 for v in values), len(values))
                for arm, values in below.items()}
    assert (f"the warm study reached the cold one's best in {reached} of {seeds} study seeds"
            in readme)
    assert f"ended with the higher best AUC in {higher} of {seeds} study seeds" in readme
    assert (f"a mean AUC below 0 in {negative['warm'][0]} of {negative['warm'][1]} warm trials "
            f"and {negative['cold'][0]} of {negative['cold'][1]} cold trials") in readme


def test_the_readmes_why_is_the_prior_and_the_held_out_range_test() -> None:
    """The LRs the README's "Why" quotes: the prior's (prior.txt), the cold studies' best,
    PointNav's own range test (never seen by the prior), the measured cost."""
    readme, rows = _readme(), _comparison()
    prior = (OUT / "prior.txt").read_text()
    assert "10% 0.00316, median 0.00316, 90% 0.01" in prior and "[0.00105, 0.03]" in prior
    assert "starts plateau(constant(0.00316))" in (OUT / "summary.md").read_text()
    assert "plateau(constant(0.01))" in (OUT / "summary.md").read_text()

    def base_lr(spec: str) -> float:
        found = re.search(r"([\d.]+(?:e-?\d+)?)", spec)
        assert found is not None
        return float(found[1])

    cold = [base_lr(r["cold_best_spec"]) for r in rows]
    assert f"best configurations have base LRs {min(cold):.2g}-{max(cold):.2g}" in readme
    edge = sum(base_lr(r["warm_best_spec"]) < 0.0013 for r in rows)
    assert f"in {edge} of {len(rows)} study seeds the warm study's best configuration" in readme
    suggestion = yaml.safe_load((ROOT / "results" / "standard" / "find_lr" / "PointNav-v0" /
                                 "suggestion.json").read_text())
    assert (f"suggests {suggestion['lr']:g} with a good range [{suggestion['low']:g}, "
            f"{suggestion['high']:g}]") in readme
    core_hours = sum(r["cold_core_s"] + r["warm_core_s"] for r in rows) / 3600
    assert f"Measured: {core_hours:.1f} core-hours" in readme
    estimated = re.search(r"= ([0-9.]+) core-hours", (OUT / "summary.md").read_text())
    assert estimated is not None and f"before running, {estimated[1]} core-hours" in readme


def test_the_top_level_readme_quotes_the_median() -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    median = _script().median_ratio(_comparison())
    ratio = f"{median:.2f}x" if math.isfinite(median) else "never reached"
    assert (f"needed {ratio} the trials of cold-started ones to reach the cold studies' best "
            f"AUC (median over {len(_comparison())} study seeds") in readme


def test_the_readme_quotes_the_lowest_ratio() -> None:
    rows = _comparison()
    lowest = min(r["warm_trials"] / r["cold_trials"] for r in rows
                 if isinstance(r["warm_trials"], int))
    assert f"none came near the goal: the lowest ratio was {lowest:.2f}x" in _readme()
