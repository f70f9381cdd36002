"""The prechecks are what their READMEs say: results/dynamics_precheck (the friction switch
leaves InvertedPendulum unchanged, the damping switch does not) and results/dose_precheck (its
clean runs are dynamics_precheck's, the budgets, which doses pass the 10 % bar, and what
512-step rollouts change), each recomputed from the committed data."""

from __future__ import annotations

import numpy as np

from rl_lr import schema
from rl_lr.files import read_csv
from rl_lr.results.scores import at_maximum, number, steps_to_threshold
from tests.readme_facts import RESULTS, results


def test_the_friction_switch_leaves_inverted_pendulum_unchanged() -> None:
    """results/dynamics_precheck/README.md: friction_switch is a no-op on InvertedPendulum-v5
    (no sliding contact): every friction run scores exactly what the clean run of its seed
    does, while the damping switch, which the README says hurts, does not."""
    rows = read_csv(RESULTS / "dynamics_precheck" / schema.SUMMARY_CSV)
    by = {(r[schema.PERTURB], r[schema.SEED]): r[schema.EVAL_AUC] for r in rows}
    seeds = sorted({seed for _, seed in by})
    assert len(seeds) == 4
    assert [by["friction", s] for s in seeds] == [by["clean", s] for s in seeds]
    assert [by["damping", s] for s in seeds] != [by["clean", s] for s in seeds]


def test_the_dose_precheck_readme_is_the_data() -> None:
    """results/dose_precheck/README.md: its first grid's clean runs are dynamics_precheck's to
    the bit, the budgets it quotes, which doses pass the 10 % bar on the AUC (IQM against the
    clean IQM of the same rollout length), fall below it or raise it (CI entirely above the
    clean one), and what 512-step rollouts change."""
    readme = " ".join((RESULTS / "dose_precheck" / "README.md").read_text().split())
    data = results(RESULTS / "dose_precheck")
    steps = schema.SET_PREFIX + "n_steps"
    before = {r[schema.SEED]: r[schema.EVAL_AUC]
              for r in read_csv(RESULTS / "dynamics_precheck" / schema.SUMMARY_CSV)
              if r[schema.PERTURB] == "clean"}
    clean = {r[schema.SEED]: r[schema.EVAL_AUC] for r in data.summary
             if r[schema.PERTURB] == "clean" and not r[steps]}
    assert clean == before and "to the bit (the same eval AUC seed for seed)" in readme
    assert {(r[steps], r[schema.TIMESTEPS], r["evaluations"]) for r in data.summary} == {
        ("", "30720", "16"), ("512", "30208", "21")}
    assert "30k steps: 30,720, whole rollouts of 2,048 steps; 16 evaluation points" in readme
    rows = {(r[schema.PERTURB], r[steps]): r for r in data.metric_rows()}
    iqm = {key: number(row[schema.AUC_IQM]) for key, row in rows.items()}
    hurt = [dose for (dose, n), v in iqm.items() if v < 0.9 * iqm["clean", n]]
    assert hurt == ["std_3", "std_10", "std_1", "std_2", "std_3", "std_5"]  # then the 512 grid
    assert "**Passes the 10 % bar**: std 3" in readme and "and std 10 (" in readme
    assert "**Below it**: std 1" in readme
    assert "every dose from std 1 up lowers its AUC by 10 % or more" in readme
    assert number(rows["std_0.3", ""][f"{schema.AUC_IQM}_low"]) > number(
        rows["clean", ""][f"{schema.AUC_IQM}_high"]) and "std 0.3 *raised* the AUC" in readme
    sooner = {n: np.median([steps_to_threshold(r) for r in data.summary
                            if r[schema.PERTURB] == "clean" and r[steps] == n])
              for n in ("", "512")}
    assert round(sooner[""] / sooner["512"]) == 3 and "about three times sooner" in readme
    assert (f"at a median {sooner['512']:,.0f} steps, against {sooner['']:,.0f} at 2,048-step "
            "rollouts") in readme
    for dose in ("std_1", "std_2", "std_3", "std_5"):  # "stays at the maximum in most runs"
        finals = [data.final_score(r) for r in data.summary
                  if r[schema.PERTURB] == dose and r[steps] == "512"]
        assert sum(at_maximum(x, 1000.0) for x in finals) > len(finals) / 2, dose
