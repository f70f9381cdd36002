"""The report of a tune-then-test experiment (``experiments/fair_smoke.yaml`` run end to end by
``rl-lr bench``): the tuning table shows each family's cost and choice from ``selection.csv``
beside its scores on the test seeds, and no tuning run is ever scored."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from rl_lr import schema
from rl_lr.cli.main import main
from rl_lr.envs.suites import normalise
from rl_lr.metrics import iqm
from rl_lr.results import load_results

FAIR_SMOKE = Path(__file__).resolve().parents[1] / "experiments" / "fair_smoke.yaml"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def fair_smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fair_report") / "out"
    assert main(["bench", str(FAIR_SMOKE), "--out", str(out), "--workers", "2",
                 "--quiet"]) == 0
    return out


def test_the_tuning_table_shows_cost_choice_and_test_scores(fair_smoke: Path) -> None:
    summary = _rows(fair_smoke / schema.SUMMARY_CSV)
    selection = _rows(fair_smoke / schema.SELECTION_CSV)
    tables = (fair_smoke / "report" / "tables.md").read_text()
    section = tables.split("### Tuning (tune-then-test protocol)")[1].split("\n\n")[1]
    lines = section.splitlines()
    assert lines[0] == ("| condition | family | configurations | tuning runs | tuning env steps "
                        "| chosen configuration | tuning score | test runs | test final IQM "
                        "[CI] | test AUC IQM [CI] |")
    assert len(lines) == 2 + len(selection) == 4
    for chosen, line in zip(selection, lines[2:], strict=True):
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        family = chosen[schema.FAMILY]
        tests = [r for r in summary if r[schema.PHASE] == schema.TEST and r[schema.LR] == family]
        tuning = [r for r in summary if r[schema.PHASE] == schema.TUNE
                  and r[schema.LR] == family]
        assert cells[1] == family and cells[2] == "2" and cells[3] == str(len(tuning)) == "4"
        assert cells[4] == f"{sum(int(r[schema.STEPS]) for r in tuning):,}" == "2,048"
        assert cells[5] == f"{chosen[schema.LR_SPEC]} (trial {chosen[schema.TRIAL]})"
        assert cells[6].endswith("(eval_auc, seeds 100 101)") and cells[7] == "2"
        finals = [float(r[schema.FINAL_EVAL_RETURN]) for r in tests]  # test seeds 0 and 1
        assert {r[schema.SEED] for r in tests} == {"0", "1"}
        assert cells[8].startswith(f"{iqm(np.array(finals)):.3g} [")
        aucs = normalise("CartPole-v1", [float(r[schema.EVAL_AUC]) for r in tests])
        assert cells[9].startswith(f"{iqm(np.array(aucs)):.3g} [")
    html = (fair_smoke / "report" / "index.html").read_text()
    assert html.index("<h2>Ranking</h2>") < html.index("<h2>Tuning</h2>") < html.index(
        "<h2>Per condition</h2>")
    assert all(r[schema.LR_SPEC] in html for r in selection)


def test_tuning_runs_are_never_scored(fair_smoke: Path) -> None:
    data = load_results(fair_smoke)
    assert data.summary and {r[schema.PHASE] for r in data.summary} == {schema.TEST}
    assert {r[schema.PHASE] for r in data.metrics} == {schema.TEST}
    tuned = {r[schema.RUN_ID] for r in _rows(fair_smoke / schema.SUMMARY_CSV)
             if r[schema.PHASE] == schema.TUNE}
    assert len(tuned) == 8 and not tuned & {r[schema.RUN_ID] for r in data.summary}
    panel = data.panels[0]
    assert len(data.final_scores(panel, "constant")) == 2  # the test seeds only
    assert data.score_table.scores["constant"].shape == (2, 1)
