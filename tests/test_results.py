"""The committed reference results stay honest: for every results directory with a README
(``results/standard``, ``results/controllers_act``), every interval quoted in its README is in
its committed ``report/tables.md``, and those tables are what the committed code makes of the
committed runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rl_lr.report.tables import headline_tables
from rl_lr.results import load_results

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
