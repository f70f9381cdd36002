"""The report states what its comparisons support: a verdict in words for every comparison with
the P(improvement) its runs detect with 80 % power, a mark where a ceiling leaves no win
possible, the share of runs at the env's maximum per cell, the normalised AUC beside the final
return, the verdict at the top, and what 11 evaluation points can measure. Checked on
constructed experiment directories whose outcome is known by construction (better, worse,
undetectable, at the ceiling), read by the real loader and written by the real report."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import numpy as np
import pytest

from rl_lr import schema
from rl_lr.envs.suites import normalise
from rl_lr.files import write_csv
from rl_lr.metrics import iqm, long_term_risk, short_term_risk, tail_points
from rl_lr.metrics.power import BETTER, CEILING, WORSE
from rl_lr.report import write_report
from rl_lr.report.tables import headline_tables, risk_titles
from rl_lr.report.task import tasks
from rl_lr.report.verdicts import min_detectable
from rl_lr.results import load_results
from rl_lr.results.scores import at_maximum, env_maximum

ENV = "CartPole-v1"
# condition -> (constant's final returns, plateau's final returns), 10 seeds each
OUTCOMES = {
    "better": ([100.0 + i for i in range(10)], [400.0 + i for i in range(10)]),
    "worse": ([400.0 + i for i in range(10)], [100.0 + i for i in range(10)]),
    "unclear": ([200.0 + 10 * i for i in range(10)], [205.0 + 10 * i for i in range(10)]),
    "ceiling": ([500.0] * 10, [500.0] * 9 + [480.0]),
}


def _experiment(out: Path, outcomes: dict[str, tuple[list[float], list[float]]]) -> Path:
    """An experiment directory of finished runs with the given final returns (constant: a
    fixed schedule; plateau: adaptive); AUC = 0.8 x the final return."""
    rows = []
    for perturb, (constant, plateau) in outcomes.items():
        for lr, spec, finals in (("constant", "constant(1e-3)", constant),
                                 ("plateau", "plateau(1e-3)", plateau)):
            for seed, final in enumerate(finals):
                run_id = f"{perturb}-{lr}-{seed}"
                rows.append({schema.RUN_ID: run_id, schema.ENV: ENV, schema.ALGO: "ppo",
                             schema.LR: lr, schema.PERTURB: perturb, schema.SEED: seed,
                             schema.LR_SPEC: spec, schema.STEPS: 1000,
                             schema.FINAL_EVAL_RETURN: final, schema.EVAL_AUC: 0.8 * final,
                             schema.DIVERGED: 0})
                (out / "runs" / run_id).mkdir(parents=True)
                (out / "runs" / run_id / schema.SUMMARY_JSON).write_text("{}")
    write_csv(out / schema.SUMMARY_CSV, rows, list(rows[0]))
    groups = [{schema.ENV: ENV, schema.ALGO: "ppo", schema.LR: lr, schema.PERTURB: perturb,
               schema.RUNS: len(finals), schema.FINAL_IQM: iqm(np.array(finals)),
               schema.FINAL_MEAN: float(np.mean(finals))}
              for perturb, both in outcomes.items()
              for lr, finals in zip(("constant", "plateau"), both, strict=True)]
    write_csv(out / schema.METRICS_CSV, groups, list(groups[0]))  # the best fixed: by IQM
    (out / schema.EXPERIMENT_YAML).write_text(json.dumps(
        {"name": "constructed", "run_ids": [r[schema.RUN_ID] for r in rows]}))
    return out


@pytest.fixture(scope="module")
def constructed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _experiment(tmp_path_factory.mktemp("verdicts"), OUTCOMES)


def _verdict_rows(text: str) -> dict[str, list[str]]:
    table = text.split("### Each comparison's verdict")[1].split("\n\n")[1]
    rows = [line.strip("|").split(" | ") for line in table.splitlines()[2:]]
    return {row[0].strip(): [c.strip() for c in row] for row in rows}


def test_each_comparison_gets_its_verdict_in_words_and_the_p_it_needs(constructed: Path) -> None:
    text = headline_tables(load_results(constructed))
    rows = _verdict_rows(text)
    needed = f"{min_detectable(10, 10):.2f}"
    assert needed == "0.83"
    assert rows["better"][-1] == BETTER and rows["better"][3].startswith("1.00 [")
    assert rows["worse"][-1] == WORSE and rows["worse"][3].startswith("0.00 [")
    assert rows["unclear"][-1] == f"no difference detectable at this power (P >= {needed} needed)"
    assert rows["ceiling"][-1] == CEILING  # constant at 500 in every run: plateau cannot win
    for row in rows.values():
        assert row[1:3] == ["plateau", "constant"] and row[4] == "10 vs 10" and row[5] == needed


def test_ceiling_shares_per_cell_and_the_ceiling_mark(constructed: Path) -> None:
    assert (env_maximum(ENV), env_maximum("InvertedPendulum-v5")) == (500.0, 1000.0)
    assert env_maximum("Pendulum-v1") is None and env_maximum("rl_lr/PointNav-v0") is None
    assert at_maximum(500.0, 500.0) and not at_maximum(499.0, 500.0)
    text = headline_tables(load_results(constructed))
    table = text.split("### Runs whose final return is the env's maximum (500)")[1]
    lines = table.split("\n\n")[1].splitlines()
    assert lines[0] == "| policy | better | worse | unclear | ceiling |"
    assert lines[2] == "| constant (fixed) | 0/10 | 0/10 | 0/10 | 10/10 |"
    assert lines[3] == "| plateau | 0/10 | 0/10 | 0/10 | 9/10 |"
    html = write_report(constructed, kinds=[]).html
    assert "10/10" in html and escape(CEILING) in html  # per-condition table, comparisons


def test_the_verdict_at_the_top_says_who_is_first_what_the_cis_support_and_how_sure(
        constructed: Path, tmp_path: Path) -> None:
    text = headline_tables(load_results(constructed))
    top = text.split("## Verdict\n\n")[1].split("\n\n")[0]
    assert text.index("## Verdict") < text.index(f"## {ENV} · ppo")
    assert top.startswith(f"- {ENV} · ppo: ")
    assert "Of the 4 comparisons of an adaptive policy with its condition's best fixed " \
           "schedule, 1 say better (plateau better), 1 say worse (plateau worse), 1 detect no " \
           "difference at this power, and in 1 the rival is at the env's maximum" in top
    assert "with 10 runs per group" in top and "P >= 0.83" in top
    # 5 seeds: the report says they cannot separate most policies
    few = {k: (c[:5], p[:5]) for k, (c, p) in OUTCOMES.items()}
    top5 = headline_tables(load_results(_experiment(tmp_path, few))).split("## Verdict")[1]
    assert f"with 5 runs per group, a difference is detected with 80 % power only when one " \
           f"policy beats the other in P >= {min_detectable(5, 5):.2f}" in top5
    assert "5 seeds cannot separate most LR policies" in top5
    html = write_report(tmp_path, kinds=[]).html
    assert html.index("<h2>Verdict</h2>") < html.index("<h2>Setup</h2>")
    assert "5 seeds cannot separate most LR policies" in html
    # 3 seeds: no verdict at all, even where every run of one side beats the other's
    fewer = {k: (c[:3], p[:3]) for k, (c, p) in OUTCOMES.items()}
    top3 = headline_tables(load_results(_experiment(tmp_path / "three", fewer))).split(
        "## Verdict")[1]
    assert ("0 say better, 0 say worse, 0 detect no difference at this power; 4 have too few "
            "runs to judge (fewer than 4 a side)") in top3
    assert "with 3 runs per group nothing is judged" in top3


def test_the_normalised_auc_is_a_primary_score_beside_the_final_return(constructed: Path) -> None:
    data = load_results(constructed)
    task = tasks(data)[0]
    panel = task.panels[0]
    expected = normalise(ENV, 0.8 * np.array(OUTCOMES["better"][1]))
    assert task.aucs(panel, "plateau") == pytest.approx(list(expected))
    ranking = headline_tables(data).split("### Ranking")[1].split("\n\n")[1].splitlines()
    assert ranking[0] == ("| rank | policy | IQM [CI] | mean [CI] | normalised AUC, IQM [CI] | "
                          "runs |")
    pooled = np.concatenate([normalise(ENV, 0.8 * np.array(p)) for _, p in OUTCOMES.values()])
    plateau = next(line for line in ranking if "| plateau |" in line)
    assert plateau.split(" | ")[4].startswith(f"{iqm(pooled):.3g} [")
    html = write_report(constructed, kinds=[]).html
    ranking_html = html[html.index("<h2>Ranking</h2>"):html.index("<h2>Per condition</h2>")]
    assert "normalised AUC" in ranking_html and "median of panel means" in ranking_html


def test_what_eleven_evaluation_points_can_measure() -> None:
    rng = np.random.default_rng(0)
    curves = rng.normal(size=(50, 11)).cumsum(axis=1)
    drawdowns = np.maximum.accumulate(curves, axis=1) - curves
    assert tail_points(11) == 1 and tail_points(21) == 2
    assert np.array_equal(long_term_risk(curves), drawdowns.max(axis=1))  # the maximum
    slopes = np.diff(curves, axis=1)
    assert np.allclose(short_term_risk(np.arange(11), curves), slopes.min(axis=1))
    short, long = risk_titles(11)
    assert long.startswith("Long-term risk = the maximum drawdown") and "needs 21 drawdowns" in long
    assert short.startswith("Short-term risk = the eval curve's worst slope")
    assert "negative: the curve fell" in short
    assert "needs 21 slopes" in short
    assert risk_titles(41)[1].startswith("Long-term risk (CVaR 5 %")
    # 21 points: 21 drawdowns average a tail of 2 (a CVaR), 20 slopes still hold one (the worst)
    assert np.array_equal(long_term_risk(curves21 := rng.normal(size=(50, 21)).cumsum(axis=1)),
                          np.sort(np.maximum.accumulate(curves21, axis=1) - curves21)[:, -2:]
                          .mean(axis=1))
    short21, long21 = risk_titles(21)
    assert long21.startswith("Long-term risk (CVaR 5 %")
    assert short21.startswith("Short-term risk = the eval curve's worst slope")


def test_a_single_perturbation_titles_its_condition(tmp_path: Path) -> None:
    one = {"damping": OUTCOMES["better"]}
    task = tasks(load_results(_experiment(tmp_path / "one", one)))[0]
    assert [task.condition(panel) for panel in task.panels] == ["damping"]
    clean = {"none": OUTCOMES["better"]}  # no perturbation at all: one unnamed condition
    task = tasks(load_results(_experiment(tmp_path / "clean", clean)))[0]
    assert [task.condition(panel) for panel in task.panels] == ["all runs"]
