"""The report of a tune-then-test experiment (``experiments/fair_smoke.yaml`` run end to end by
``rl-lr bench``): the tuning table shows each family's cost and choice from ``selection.csv``
beside its scores on the test seeds, no tuning run is ever scored, and the comparisons and the
verdict are on the protocol's selection metric (the AUC) first, then on the final return."""

from __future__ import annotations

import csv
import dataclasses
import json
from html import escape
from pathlib import Path

import numpy as np
import pytest

from rl_lr import schema
from rl_lr.cli.main import main
from rl_lr.envs.suites import normalise
from rl_lr.files import write_csv
from rl_lr.metrics import iqm, probability_of_improvement_ci
from rl_lr.report.sections import comparisons_section
from rl_lr.report.tables import headline_tables
from rl_lr.report.task import tasks
from rl_lr.report.verdicts import summary_lines
from rl_lr.results import REPS, load_results, name_seed

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


AUC_MATRIX = ("### P(adaptive policy beats the condition's best fixed schedule, chosen on the "
              "tuning seeds) on the time-averaged clean return (AUC), the protocol's selection "
              "metric [CI]")
AUC_VERDICTS = "### Each comparison's verdict on the time-averaged clean return (AUC): "
FINAL_MATRIX = ("### P(adaptive policy beats the condition's best fixed schedule, chosen on the "
                "tuning seeds) on the final clean return [CI]")
PLAIN_FINAL_MATRIX = ("### P(adaptive policy beats the condition's best fixed schedule) on the "
                      "final clean return [CI]")
FINAL_VERDICTS = "### Each comparison's verdict on the final clean return: "
AUC_VERDICT_LINE = ("ranks first on the time-averaged clean return (AUC), the protocol's "
                    "selection metric")


def test_an_auc_protocol_is_compared_and_judged_on_the_auc_first(fair_smoke: Path) -> None:
    data = load_results(fair_smoke)
    assert data.primary_score == schema.EVAL_AUC  # fair_smoke.yaml: select: eval_auc
    tables = (fair_smoke / "report" / "tables.md").read_text()
    positions = [tables.index(title) for title in (AUC_MATRIX, AUC_VERDICTS, FINAL_MATRIX,
                                                   FINAL_VERDICTS)]
    assert positions == sorted(positions)
    # the AUC's P(improvement): plateau's raw eval_auc against constant's (the only fixed
    # schedule), seeded apart from the final return's
    tests = [r for r in _rows(fair_smoke / schema.SUMMARY_CSV) if r[schema.PHASE] == schema.TEST]
    x, y = ([[float(r[schema.EVAL_AUC])] for r in tests if r[schema.LR] == family]
            for family in ("plateau", "constant"))
    (task,) = tasks(data)
    expected = probability_of_improvement_ci(
        np.array(x), np.array(y), reps=REPS,
        rng=name_seed("CartPole-v1", "ppo", "all runs", "plateau", schema.EVAL_AUC))
    (compared,) = task.comparisons(schema.EVAL_AUC)
    assert (compared.rival, compared.ci, compared.ceiling) == ("constant", expected, False)
    matrix = tables.split(AUC_MATRIX)[1].split("\n\n")[1]
    assert matrix.splitlines()[2] == (f"| plateau | {expected.point:.2f} [{expected.low:.2f}, "
                                      f"{expected.high:.2f}] |")
    (line,) = summary_lines(data)
    assert AUC_VERDICT_LINE in line and "Of the 1 comparisons of an adaptive policy with its " \
        "condition's best fixed schedule (chosen on the tuning seeds) on the AUC, " in line
    assert f"- {line}" in tables
    html = (fair_smoke / "report" / "index.html").read_text()
    assert escape(AUC_VERDICT_LINE) in html
    assert html.index("<h3>On the time-averaged clean return (AUC), the protocol&#x27;s "
                      "selection metric</h3>") < html.index("<h3>On the final clean return</h3>")


def test_without_a_protocol_the_report_compares_the_final_return_only(fair_smoke: Path) -> None:
    """The same runs read as an experiment without a protocol: one comparison table per task,
    on the final return, and the verdict on the final return."""
    data = load_results(fair_smoke)
    plain = dataclasses.replace(data, experiment={k: v for k, v in data.experiment.items()
                                                  if k != "protocol"})
    assert plain.primary_score == schema.FINAL_EVAL_RETURN
    tables = headline_tables(plain)
    assert "time-averaged clean return (AUC)" not in tables and "tuning seeds)" not in tables
    assert tables.count("### P(") == 1 and PLAIN_FINAL_MATRIX in tables
    assert "### Each comparison's verdict: better (CI above 0.5)" in tables
    (line,) = summary_lines(plain)
    assert "ranks first on the final clean return (IQM " in line
    html = comparisons_section(plain)
    assert "<h3>" not in html and "AUC" not in html


def test_the_best_fixed_schedule_is_chosen_on_the_tuning_seeds(tmp_path: Path) -> None:
    """Constructed: cosine beats the constant on the test seeds, the constant beat cosine on the
    tuning seeds (``selection.csv``). Under a protocol the rival is the constant, whatever the
    score compared, so plateau (between the two) is better, not worse; read as an experiment
    without a protocol, the rival is the post-hoc best, cosine."""
    finals = {"constant": 100.0, "cosine": 300.0, "plateau": 200.0}
    specs = {"constant": "constant(1e-3)", "cosine": "cosine(1e-3)", "plateau": "plateau(1e-3)"}
    rows, groups = [], []
    for family, base in finals.items():
        scores = [base + seed for seed in range(8)]
        for seed, final in enumerate(scores):
            run_id = f"{family}-{seed}"
            rows.append({schema.RUN_ID: run_id, schema.ENV: "CartPole-v1", schema.ALGO: "ppo",
                         schema.LR: family, schema.SEED: seed, schema.PHASE: schema.TEST,
                         schema.LR_SPEC: specs[family], schema.STEPS: 1000,
                         schema.FINAL_EVAL_RETURN: final, schema.EVAL_AUC: final,
                         schema.DIVERGED: 0})
            (tmp_path / "runs" / run_id).mkdir(parents=True)
            (tmp_path / "runs" / run_id / schema.SUMMARY_JSON).write_text("{}")
        groups.append({schema.ENV: "CartPole-v1", schema.ALGO: "ppo", schema.LR: family,
                       schema.RUNS: 8, schema.FINAL_IQM: iqm(np.array(scores)),
                       schema.FINAL_MEAN: float(np.mean(scores)),
                       schema.AUC_IQM: iqm(np.array(scores))})
    write_csv(tmp_path / schema.SUMMARY_CSV, rows, list(rows[0]))
    write_csv(tmp_path / schema.METRICS_CSV, groups, list(groups[0]))
    tuning = {"constant": 50.0, "cosine": 40.0, "plateau": 45.0}
    selection = [{schema.ENV: "CartPole-v1", schema.ALGO: "ppo", schema.FAMILY: family,
                  schema.TRIAL: 0, schema.LR_SPEC: specs[family], schema.SELECT: schema.EVAL_AUC,
                  schema.TUNING_SCORE: score, schema.CONFIGURATIONS: 2,
                  schema.TUNING_SEEDS: "100 101", schema.TUNING_STEPS: 4000}
                 for family, score in tuning.items()]
    write_csv(tmp_path / schema.SELECTION_CSV, selection, list(selection[0]))
    experiment = {"name": "constructed", "protocol": {"select": schema.EVAL_AUC},
                  "run_ids": [r[schema.RUN_ID] for r in rows]}
    (tmp_path / schema.EXPERIMENT_YAML).write_text(json.dumps(experiment))
    data = load_results(tmp_path)
    (task,) = tasks(data)
    assert data.tuned and task.fixed == ["constant", "cosine"]
    for score in (schema.EVAL_AUC, schema.FINAL_EVAL_RETURN):
        (compared,) = task.comparisons(score)
        assert (compared.policy, compared.rival, compared.ci.point) == ("plateau", "constant", 1.0)
    assert "| plateau | 1.00 [" in headline_tables(data).split(AUC_MATRIX)[1]
    plain = dataclasses.replace(data, experiment={"name": "constructed",
                                                  "run_ids": experiment["run_ids"]})
    (compared,) = tasks(plain)[0].comparisons()
    assert (compared.rival, compared.ci.point) == ("cosine", 0.0)
