"""The committed reference results stay honest: every interval quoted in
``results/standard/README.md`` is in the committed ``report/tables.md``, and those tables are
what the committed code makes of the committed runs."""

from __future__ import annotations

import re
from pathlib import Path

from rl_lr.headline import headline_tables
from rl_lr.sweep_data import load_sweep

STANDARD = Path(__file__).resolve().parents[1] / "results" / "standard"
NUMBER = r"-?[\d,]+(?:\.\d+)?(?:e[+-]\d+)?"
INTERVAL = re.compile(rf"{NUMBER} \[{NUMBER}, {NUMBER}\]")


def test_every_interval_quoted_in_the_readme_is_in_the_tables() -> None:
    readme = " ".join((STANDARD / "README.md").read_text().split())  # wrapped lines too
    tables = (STANDARD / "report" / "tables.md").read_text()
    quoted = INTERVAL.findall(readme)
    assert len(quoted) >= 50
    assert [q for q in quoted if q not in tables] == []


def test_the_readme_is_partial_exactly_when_the_tables_are() -> None:
    readme = (STANDARD / "README.md").read_text()
    tables = (STANDARD / "report" / "tables.md").read_text()
    assert ("**PARTIAL" in readme) == ("**PARTIAL" in tables)


def test_the_committed_tables_are_those_of_the_committed_runs() -> None:
    tables = (STANDARD / "report" / "tables.md").read_text()
    assert headline_tables(load_sweep(STANDARD)) == tables
