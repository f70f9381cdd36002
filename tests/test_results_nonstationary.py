"""results/nonstationary (E2: policies on a task whose dynamics switch during training) is
what its README and the top-level README say: the tuning scores and costs, the resets each
reset arm made, the comparisons with the tuned constant, the lowest and widest AUCs, the drops,
the design's power and the precheck it cites, each recomputed from the committed data."""

from __future__ import annotations

import numpy as np

from rl_lr import schema
from rl_lr.files import read_csv
from rl_lr.metrics.power import BETTER, WORSE, power
from rl_lr.report.task import tasks
from rl_lr.report.verdicts import verdicts
from rl_lr.results import CURVE_METRICS, load_results
from rl_lr.results.scores import number
from tests.readme_facts import RESULTS, lr_of, results, verdicts_of

NONSTATIONARY = RESULTS / "nonstationary"


def test_the_nonstationary_readmes_figures_are_the_data() -> None:
    """The E2 README's figures that no table carries: the tuning scores and costs it quotes,
    the LR the constant's search ended at (its highest), the resets each reset arm made, the
    borderline CI of oracle_reset against the tuned constant and the chance count beside it,
    the arms with the lowest and widest AUCs, the drops, the design's evaluations, power and
    precheck figures."""
    readme = " ".join((NONSTATIONARY / "README.md").read_text().split())
    data = load_results(NONSTATIONARY, curve_metrics=(*CURVE_METRICS, "controller/resets",
                                                      "controller/cleared"))
    chosen = {row[schema.FAMILY]: row for row in read_csv(NONSTATIONARY / schema.SELECTION_CSV)}
    score = {family: f"{number(row[schema.TUNING_SCORE]):.0f}" for family, row in chosen.items()}
    assert f"(tuning AUC {score['cosine_warmup']} against the constant's {score['constant']})" \
        in readme
    assert (f"({score['adam_equal_betas']} and {score['adam_rel']} against "
            f"{score['constant']})") in readme
    assert sorted(score, key=lambda f: float(score[f]))[:2] == ["adam_equal_betas", "adam_rel"]
    assert {row[schema.TUNING_STEPS] for row in chosen.values()} == {"480000"}
    assert "= 16 runs, 480,000 env steps" in readme
    tried = {lr_of(r[schema.LR_SPEC]) for r in read_csv(NONSTATIONARY / schema.SUMMARY_CSV)
             if r[schema.PHASE] == schema.TUNE and r[schema.LR] == "constant"}
    highest = [f for f, row in chosen.items() if lr_of(row[schema.LR_SPEC]) == max(tried)]
    assert len(tried) == 8 and sorted(highest) == ["constant", "oracle_reset", "volatility"]
    assert f"same LR the constant's search chose ({max(tried):g})" in readme

    def last(policy: str, metric: str) -> list[int]:
        return sorted(int(data.curves[r[schema.RUN_ID]][metric][1][-1]) for r in data.summary
                      if r[schema.LR] == policy)

    assert set(last("oracle_reset", "controller/cleared")) == {5}
    detected = last("reset_on_change", "controller/resets")
    assert f"between {detected[0]} and {detected[-1]} times per run for 5 switches" in readme

    task = tasks(results(NONSTATIONARY))[0]
    against = {c.policy: c for c in task.against_constant(schema.EVAL_AUC)}
    oracle = against["oracle_reset"].ci
    assert 0.5 < oracle.low < 0.505 and "above 0.5 only in the third decimal" in readme
    assert f"one of the {len(against)} comparisons" in readme
    assert f"about {round(len(against) * 0.025, 1)} CIs above 0.5" in readme

    metrics = {r[schema.LR]: r for r in data.metric_rows()}
    auc = sorted(metrics, key=lambda p: number(metrics[p][schema.AUC_IQM]))
    assert auc[:2] == ["adam_rel", "adam_equal_betas"]
    widest = max(metrics, key=lambda p: number(metrics[p][f"{schema.AUC_IQM}_high"])
                 - number(metrics[p][f"{schema.AUC_IQM}_low"]))
    assert widest == "trac" and "TRAC is level" in readme
    drop = sorted(metrics, key=lambda p: number(metrics[p][schema.SWITCH_DROP_IQM]))
    assert drop[0] == "bandit" and set(drop[-2:]) == {"constant", "oracle_reset"}

    early = [value for r in data.summary for step, value in zip(
        *data.curves[r[schema.RUN_ID]][schema.EVAL_RETURN_MEAN], strict=True) if step <= 10_240]
    assert np.median(early) < 100 and "no arm has learned much yet" in readme  # of 1000

    assert {r["evaluations"] for r in data.summary} == {"16"} and "16 clean evaluations" in readme
    assert (f"P(improvement) = 0.75 with {power(0.75, 24, 24, sims=1000, rng=0):.0%} power and "
            f"0.70 with {power(0.7, 24, 24, sims=1000, rng=0):.0%}").replace("%", " %") in readme
    precheck = {r[schema.PERTURB]: f"{number(r[schema.AUC_IQM]):.0f}"
                for r in load_results(RESULTS / "dynamics_precheck").metric_rows()}
    assert f"({precheck['damping']} against {precheck['clean']} clean, 4 seeds)" in readme


def test_the_top_level_readmes_summary_of_the_nonstationary_experiment_is_the_data() -> None:
    """The top-level README's summary of results/nonstationary: the rival, how many
    comparisons on the AUC, the P they detect, which are worse, and the two resets against
    the tuned constant."""
    readme = " ".join((RESULTS.parent / "README.md").read_text().split())
    on_auc = verdicts_of(NONSTATIONARY, schema.EVAL_AUC)
    rivals = {found.comparison.rival for found in on_auc.values()}
    needed = {f"{found.needed:.2f}" for found in on_auc.values()}
    worse = {policy for (_, _, policy), found in on_auc.items() if found.words == WORSE}
    assert rivals == {"cosine_warmup"} and len(needed) == 1
    assert not any(found.words == BETTER for found in on_auc.values())
    assert (f"none of its {len(on_auc)} comparisons on the AUC, each detecting P(improvement) "
            f">= {needed.pop()} with 80 % power), and {len(worse)} of them are clearly worse "
            "(Adam with equal betas and Adam-Rel)") in readme
    assert worse == {"adam_equal_betas", "adam_rel"}
    task = tasks(results(NONSTATIONARY))[0]
    against = {v.comparison.policy: v for v in verdicts(task.against_constant(schema.EVAL_AUC))}
    def ci(policy: str) -> str:
        found = against[policy].comparison.ci
        return f"{found.point:.2f} [{found.low:.2f}, {found.high:.2f}]"

    assert against["oracle_reset"].words == BETTER
    assert f"beats the tuned constant at the edge of its CI (P {ci('oracle_reset')})" in readme
    assert against["reset_on_change"].words not in (BETTER, WORSE)
    assert f"on the returns does not ({ci('reset_on_change')})" in readme
