"""results/fair (the fair protocol: each family tuned on its own seeds, then tested on others)
is what its README and the top-level README say: the table of what the protocol changed, cell
by cell against results/standard, the power figures, the tuning's cost and selections, and the
top-level summary of its verdicts, each recomputed from the committed data."""

from __future__ import annotations

from pathlib import Path

import pytest

from rl_lr import schema
from rl_lr.files import read_csv
from rl_lr.metrics.power import BETTER, WORSE, power
from rl_lr.report.base_lr import short_verdict
from rl_lr.report.verdicts import POWER, min_detectable
from rl_lr.results.scores import number
from tests.readme_facts import RESULTS, count, results, verdicts_of

FAIR = RESULTS / "fair" / "README.md"
CHANGED = "## What the protocol changed, cell by cell"


def _verdict_cells(directory: Path, score: str) -> dict[tuple[str, str, str], str]:
    """(env, condition, policy) -> "verdict (vs rival)" of every comparison on ``score``."""
    return {key: f"{short_verdict(found.words)} (vs {found.comparison.rival})"
            for key, found in verdicts_of(directory, score).items()}


@pytest.mark.skipif(not FAIR.is_file(), reason="results/fair is not complete")
def test_the_fair_readme_says_what_the_protocol_changed_cell_by_cell() -> None:
    """results/fair/README.md's table of the cells it shares with results/standard: each
    adaptive policy's verdict there (final return, best fixed picked on the runs compared)
    beside its verdicts under the protocol (AUC, then final return; best fixed chosen on
    the tuning seeds), every cell recomputed from both directories."""
    section = FAIR.read_text().split(CHANGED)[1].split("\n## ")[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in section.splitlines() if line.startswith("| ")][1:]
    standard = _verdict_cells(RESULTS / "standard", schema.FINAL_EVAL_RETURN)
    fair_auc = _verdict_cells(RESULTS / "fair", schema.EVAL_AUC)
    fair_final = _verdict_cells(RESULTS / "fair", schema.FINAL_EVAL_RETURN)
    expected = [[f"{env} · {condition}", policy, standard[env, condition, policy],
                 fair_auc[env, condition, policy], fair_final[env, condition, policy]]
                for (env, condition, policy) in fair_auc if (env, condition, policy) in standard]
    assert expected  # the two experiments share cells
    assert rows == expected


@pytest.mark.skipif(not FAIR.is_file(), reason="results/fair is not complete")
def test_the_fair_readmes_power_figures_are_computed() -> None:
    """The power the fair README quotes for 10 and 32 runs per side at a true P of 0.7, and
    the smallest P its 32 test runs per side detect with 80 % power (the report's figure)."""
    readme = " ".join(FAIR.read_text().split())
    ten, full = (round(100 * power(0.7, n, n, sims=1000, rng=0)) for n in (10, 32))
    assert f"| power at a true P(improvement) of 0.70 | {ten} % | {full} % |" in readme
    assert f"detected with {full} % power here, with {ten} % by the standard" in readme
    assert (f"detects P(improvement) >= {min_detectable(32, 32):.2f} with {POWER * 100:.0f} % "
            "power") in readme


@pytest.mark.skipif(not FAIR.is_file(), reason="results/fair is not complete")
def test_the_top_level_readmes_summary_of_the_fair_benchmark_is_the_data() -> None:
    """The top-level README's summary of results/fair: how many comparisons on each score,
    which are better or worse, and the power of 32 runs per side at a true P of 0.7."""
    readme = " ".join((RESULTS.parent / "README.md").read_text().split())

    def named(score: str, words: str) -> set[tuple[str, str, str]]:
        return {(env.split("/")[-1].split("-")[0], condition, policy) for
                (env, condition, policy), found in verdicts_of(RESULTS / "fair", score).items()
                if found.words == words}

    on_auc, on_final = (verdicts_of(RESULTS / "fair", s) for s in (schema.EVAL_AUC,
                                                                  schema.FINAL_EVAL_RETURN))
    full = round(100 * power(0.7, 32, 32, sims=1000, rng=0))
    assert not named(schema.EVAL_AUC, BETTER)
    worse = named(schema.EVAL_AUC, WORSE)
    assert (f"none of its {len(on_auc)} comparisons on the AUC, each with {full} % power "
            f"for a true P(improvement) of 0.7), and {len(worse)} of them are clearly worse "
            "(bandit on clean CartPole, kl_adaptive and volatility on PointNav)") in readme
    assert {(task, policy) for task, _, policy in worse} == {
        ("CartPole", "bandit"), ("PointNav", "kl_adaptive"), ("PointNav", "volatility")}
    assert ("CartPole", "clean", "bandit") in worse
    better = named(schema.FINAL_EVAL_RETURN, BETTER)
    assert (f"{len(better)} of its {len(on_final)} comparisons on the final return favours an "
            "adaptive policy (bandit under random x10 reward-scale regimes on CartPole)") in readme
    assert better == {("CartPole", "markov", "bandit")}
    rows = {r[schema.LR]: r for r in results(RESULTS / "fair").metric_rows()
            if r[schema.ENV] == "CartPole-v1" and r[schema.PERTURB] == "markov"}
    cosine, constant = (rows[p] for p in ("cosine_warmup", "constant"))
    iqm = [f"{number(r[schema.FINAL_IQM]):.0f}" for r in (cosine, constant)]
    assert number(cosine[f"{schema.FINAL_IQM}_low"]) < number(constant[f"{schema.FINAL_IQM}_high"])
    assert (f"also ends higher than the tuned constant (IQM {iqm[0]} against {iqm[1]}, their CIs "
            "overlapping)") in readme


@pytest.mark.skipif(not FAIR.is_file(), reason="results/fair is not complete")
def test_the_fair_readmes_tuning_figures_are_the_selections() -> None:
    """What the fair README says of its tuning, from selection.csv and the tuning runs: the
    cost per family, the best fixed schedule of each condition (the rival of its verdicts),
    kl_adaptive's best tuning score against the constant's on clean PointNav, and the
    markov constant's LR as the highest of those its search tried."""
    readme = " ".join(FAIR.read_text().split())
    selection = read_csv(RESULTS / "fair" / "selection.csv")
    tuning = [r for r in read_csv(RESULTS / "fair" / schema.SUMMARY_CSV)
              if r[schema.PHASE] == schema.TUNE]
    configurations, = {int(r["configurations"]) for r in selection}
    seeds, = {len(r["tuning_seeds"].split()) for r in selection}
    steps = {env: {int(r["tuning_steps"]) for r in selection if r[schema.ENV] == env}
             for env in ("CartPole-v1", "rl_lr/PointNav-v0")}
    trained = {sum(count(r[schema.TIMESTEPS]) for r in tuning if (r[schema.ENV],
               r[schema.PERTURB], r[schema.LR]) == ("rl_lr/PointNav-v0", "clean", "constant"))}
    (cartpole,), (pointnav,), (whole,) = steps["CartPole-v1"], steps["rl_lr/PointNav-v0"], trained
    assert (f"{configurations} configurations x {seeds} seeds = {configurations * seeds} runs, "
            f"{cartpole:,} env steps on CartPole-v1 and {pointnav:,} on PointNav-v0") in readme
    assert f"so {configurations * seeds} runs train {whole:,}" in readme

    rivals = {(env, condition): found.comparison.rival for (env, condition, _), found
              in verdicts_of(RESULTS / "fair", schema.EVAL_AUC).items()}
    assert rivals.pop(("CartPole-v1", "clean")) == "cosine_warmup"
    assert (len(rivals), set(rivals.values())) == (4, {"constant"})
    assert ("cosine with warm-up is clean CartPole-v1's best fixed schedule" in readme
            and "the constant is the best fixed schedule in the four other conditions" in readme)

    score = {r["family"]: float(r["tuning_score"]) for r in selection
             if (r[schema.ENV], r[schema.PERTURB]) == ("rl_lr/PointNav-v0", "clean")}
    assert (f"its best tuning score is half the constant's ({score['kl_adaptive']:.1f} against "
            f"{score['constant']:.1f})") in readme
    assert 0.45 < score["kl_adaptive"] / score["constant"] < 0.55  # "half"

    chosen, = (r[schema.LR_SPEC] for r in selection if (r[schema.ENV], r[schema.PERTURB],
               r["family"]) == ("CartPole-v1", "markov", "constant"))
    tried = {r[schema.LR_SPEC] for r in tuning if (r[schema.ENV], r[schema.PERTURB],
             r[schema.LR]) == ("CartPole-v1", "markov", "constant")}
    lr = chosen.removeprefix("constant(").removesuffix(")")
    assert max(tried, key=lambda spec: float(spec[9:-1])) == chosen
    assert f"({lr}, the highest of the {len(tried)} LRs its search tried)" in readme
