"""The committed reference results stay honest: for every results directory with a README
(``results/standard``, ``results/controllers_act``), every interval quoted in its README is in
its committed ``report/tables.md``, and those tables are what the committed code makes of the
committed runs. And the scoring rules every file shares (:mod:`rl_lr.results.scores`)."""

from __future__ import annotations

import math
import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from rl_lr import schema
from rl_lr.metrics import Interval
from rl_lr.report.tables import headline_tables
from rl_lr.results import load_results
from rl_lr.results.scores import (
    final_score,
    group_key,
    group_seed,
    is_diverged,
    name_seed,
    ranking,
    steps_to_threshold,
)

RESULTS = Path(__file__).resolve().parents[1] / "results"
DIRECTORIES = sorted(p.parent for p in RESULTS.glob("*/README.md")
                     if (p.parent / "report" / "tables.md").is_file())
NUMBER = r"-?[\d,]+(?:\.\d+)?(?:e[+-]\d+)?"
INTERVAL = re.compile(rf"{NUMBER} \[{NUMBER}, {NUMBER}\]")


def test_the_standard_benchmark_is_checked() -> None:
    assert RESULTS / "standard" in DIRECTORIES


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda p: p.name)
def test_every_interval_quoted_in_the_readme_is_in_the_tables(directory: Path) -> None:
    readme = " ".join((directory / "README.md").read_text().split())  # wrapped lines too
    tables = (directory / "report" / "tables.md").read_text()
    quoted = INTERVAL.findall(readme)
    assert len(quoted) >= 10
    assert [q for q in quoted if q not in tables] == []


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda p: p.name)
def test_the_readme_is_partial_exactly_when_the_tables_are(directory: Path) -> None:
    readme = (directory / "README.md").read_text()
    tables = (directory / "report" / "tables.md").read_text()
    assert ("**PARTIAL" in readme) == ("**PARTIAL" in tables)


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda p: p.name)
def test_the_committed_tables_are_those_of_the_committed_runs(directory: Path) -> None:
    tables = (directory / "report" / "tables.md").read_text()
    assert headline_tables(load_results(directory)) == tables


def test_a_diverged_run_scores_its_last_finite_evaluation() -> None:
    trace = (np.array([0.0, 10.0, 20.0]), np.array([1.0, 2.0, np.nan]))
    assert final_score({schema.FINAL_EVAL_RETURN: 5.0}, trace) == 5.0  # summary.json
    assert final_score({schema.FINAL_EVAL_RETURN: "5.0"}, trace) == 5.0  # summary.csv
    assert final_score({schema.FINAL_EVAL_RETURN: None}, trace) == 2.0
    assert final_score({schema.FINAL_EVAL_RETURN: ""}, trace) == 2.0
    assert math.isnan(final_score({}, (trace[0], np.full(3, np.nan))))
    assert math.isnan(final_score({}, None))


def test_summary_values_read_the_same_from_json_and_csv() -> None:
    assert is_diverged({schema.DIVERGED: True}) and is_diverged({schema.DIVERGED: "1"})
    assert not is_diverged({schema.DIVERGED: False}) and not is_diverged({schema.DIVERGED: "0"})
    assert not is_diverged({})
    assert steps_to_threshold({schema.STEPS_TO_THRESHOLD: 300}) == 300.0
    assert steps_to_threshold({schema.STEPS_TO_THRESHOLD: "300"}) == 300.0
    assert math.isnan(steps_to_threshold({schema.STEPS_TO_THRESHOLD: ""}))
    assert math.isnan(steps_to_threshold({schema.STEPS_TO_THRESHOLD: None}))


def test_ranking_is_by_iqm_then_mean_then_name() -> None:
    def stats(iqm: float, mean: float) -> dict[str, Interval]:
        return {"iqm": Interval(iqm, iqm, iqm), "mean": Interval(mean, mean, mean)}

    intervals = {"b": stats(1, 1), "a": stats(1, 1), "c": stats(1, 2), "d": stats(2, 0)}
    assert ranking(intervals) == ["d", "c", "a", "b"]


def test_bootstrap_seeds_keep_their_committed_numerics() -> None:
    """metrics.csv seeds with the CRC-32 of the group name, the report and figures with
    the CRC-32 of "0|" and the names: changing either would change committed numbers."""
    assert group_seed("env=CartPole-v1|lr=cosine") == zlib.crc32(b"env=CartPole-v1|lr=cosine")
    assert name_seed("CartPole-v1", "ppo", "ranking") == zlib.crc32(b"0|CartPole-v1|ppo|ranking")
    assert group_key({"env": "E", "seed": "0", "lr": "L"}) == (("env", "E"), ("lr", "L"))
