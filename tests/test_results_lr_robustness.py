"""results/lr_robustness (E3: every policy started from base LRs around the tuned constant's)
is what its README and the top-level README say: the design, the diverged runs, the starts at
which each policy is worse than or level with the tuned constant, the LR moves it quotes, the
compute to match the tuned constant, and the small Optuna study scored on unseen seeds, each
recomputed from the committed data."""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Callable

import numpy as np
import yaml

from rl_lr import schema
from rl_lr.bandit import Bandit
from rl_lr.controllers import KLAdaptive
from rl_lr.files import read_csv
from rl_lr.metrics.comparisons import probability_of_improvement_ci
from rl_lr.metrics.power import BETTER, WORSE
from rl_lr.report.base_lr import Extreme, Robustness, against_tuned, extremes
from rl_lr.report.task import Task, ci_text, tasks
from rl_lr.report.verdicts import min_detectable
from rl_lr.results import REPS
from rl_lr.results.scores import at_maximum, is_diverged, name_seed, number
from rl_lr.schedules import Constant
from tests.readme_facts import RESULTS, facts, lr_of, results


def _ends(task: Task, found: Robustness, policy: str) -> tuple[Extreme, Extreme]:
    """``policy``'s worst and best start, which every policy of this experiment has."""
    ends = extremes(task, found, policy)
    assert ends is not None, policy
    return ends

LR_ROBUSTNESS = RESULTS / "lr_robustness"


def _robustness(env: str, score: str) -> Robustness:
    """E3's robustness to the base LR of one task on ``score``: its one group of starts."""
    task = next(t for t in tasks(results(LR_ROBUSTNESS)) if t.env == env)
    (found,) = against_tuned(task, score)
    return found


def _starts(found: Robustness, policy: str, words: Callable[[str], bool]) -> list[str]:
    """The starts at which ``policy``'s verdict against the tuned constant satisfies ``words``."""
    return [start for start, _ in found.starts
            if (policy, start) in found.found and words(found.found[policy, start].words)]


def test_the_lr_robustness_readmes_figures_are_the_data() -> None:
    """The E3 README's figures that no table and no count pattern carries: the design, the
    diverged runs, the extremes it names, kl_adaptive's cap and its identical runs, the LR
    moves it quotes, the power, the starts it names, and the compute to match the tuned
    constant (the fair search's cost, Optuna's random start, the 7-point grid on seed pairs)."""
    readme = " ".join((LR_ROBUSTNESS / "README.md").read_text().split())
    data = results(LR_ROBUSTNESS)
    runs = defaultdict(list)
    for row in data.summary:
        runs[row[schema.ENV], row[schema.LR], row[schema.BASE_LR]].append(row)
    per_env = {env: sum(1 for r in data.summary if r[schema.ENV] == env)
               for env in ("CartPole-v1", "Pendulum-v1")}
    assert (f"{per_env['CartPole-v1']} PPO runs on CartPole-v1 and {per_env['Pendulum-v1']} SAC "
            "runs on Pendulum-v1") in readme
    diverged = {(r[schema.ENV], r[schema.LR], r[schema.BASE_LR], r["divergence_reason"])
                for r in data.summary if is_diverged(r)}
    assert diverged == {("Pendulum-v1", "hypergradient", "x10", "train/critic_loss is inf")}
    assert "hypergradient's on Pendulum-v1 started at `x10` (the critic's loss became" in readme
    assert {r["evaluations"] for r in data.summary if not is_diverged(r)} == {"21"}

    def final_lrs(env: str, policy: str, start: str) -> list[float]:
        return [float(data.curves[r[schema.RUN_ID]][schema.LR][1][-1])
                for r in runs[env, policy, start]]

    # CartPole-v1: every adaptive policy's AUC from most starts, and where it is level
    auc, final = (_robustness("CartPole-v1", s) for s in (schema.EVAL_AUC,
                                                            schema.FINAL_EVAL_RETURN))
    task = next(t for t in tasks(data) if t.env == "CartPole-v1")
    policies = task.fixed + task.adaptive
    level = {p: _starts(auc, p, lambda w: w != WORSE) for p in task.adaptive}
    assert level["hypergradient"] == ["x1", "x2.154"]
    assert "(level with it only at `x1` and `x2.154`)" in readme
    assert _starts(auc, "constant", lambda w: w != WORSE) == ["x2.154"]
    assert all(set(s) <= {"x0.4642", "x1", "x2.154"} for s in level.values())
    assert "only from a start within a factor of about 2 of the tuned LR" in readme
    lows = {p: number(_ends(task, auc, p)[0].row[schema.AUC_IQM]) for p in policies}
    assert max(lows, key=lambda p: lows[p]) == "kl_adaptive"
    kl_low, kl_high = _ends(task, auc, "kl_adaptive")
    assert (kl_low.start, kl_high.start) == ("x0.4642", "x2.154")
    assert _ends(task, auc, "constant")[0].start == "x10"
    assert "its AUC stays between 271 [244, 310] and 337 [292, 373]" in readme
    assert "falls to 167 [132, 220] at `x10` and hypergradient's to 197 [97.4, 249]" in readme

    default = KLAdaptive(Constant(1e-3))
    assert (default.target, default.max_lr) == (0.008, 0.01)
    assert "(kl_adaptive's target KL 0.008 and cap 0.01" in readme
    cap = default.max_lr
    centre = lr_of(next(r[schema.LR_SPEC] for r in data.summary
                         if r[schema.ENV] == "CartPole-v1" and r[schema.BASE_LR] == "x1"))
    for start, _ in auc.starts:
        assert np.median(final_lrs("CartPole-v1", "kl_adaptive", start)) == cap
    assert f"up to its default cap of {cap:g}" in readme
    assert f"about {cap / centre:.1f} times the tuned constant" in readme
    high = [runs["CartPole-v1", "kl_adaptive", s] for s in ("x4.642", "x10")]
    above = [lr_of(rows[0][schema.LR_SPEC]) for rows in high]
    assert min(above) > cap
    assert (f"({above[0]:.3g} and {above[1]:.3g}, both above the cap) are the same runs, seed for "
            "seed") in readme
    skip = {schema.RUN_ID, schema.BASE_LR, schema.LR_SPEC}
    assert [{k: v for k, v in r.items() if k not in skip} for r in high[0]] == \
        [{k: v for k, v in r.items() if k not in skip} for r in high[1]]
    kl_p = sorted(final.found["kl_adaptive", s].comparison.ci.point for s, _ in final.starts)
    assert f"lies between {kl_p[0]:.2f} and {kl_p[-1]:.2f} at every start" in readme
    assert f"detect only P(improvement) >= {min_detectable(16, 16):.2f}" in readme
    assert _starts(final, "hypergradient", lambda w: w == WORSE) == ["x0.1", "x10"]
    assert _starts(final, "constant", lambda w: w == WORSE) == ["x0.1", "x0.2154", "x10"]
    assert "final return (`x0.2154` too)" in readme
    moved = np.median(final_lrs("CartPole-v1", "hypergradient", "x0.1")) / (centre * 0.1)
    assert f"its LR ends {moved:.1f} times higher than it started" in readme
    ranked = task.ranked()
    assert ranked is not None and ranked.order[-1] == "bandit"  # the lowest on both scores
    assert min(ranked.auc_cis, key=lambda p: ranked.auc_cis[p].point) == "bandit"
    assert _ends(task, auc, "bandit")[1].start == "x1"
    bandit = Bandit(Constant(1e-3))
    updates = facts(LR_ROBUSTNESS).updates["CartPole-v1"]
    assert (len(bandit.arms), bandit.period, min(bandit.arms), max(bandit.arms)) == (5, 5, 0.25, 4)
    assert (f"59 PPO updates make {59 // bandit.period} periods" in readme and updates == {59})
    for start, _ in auc.starts:  # "the first 5 of which try every arm once"
        for row in runs["CartPole-v1", "bandit", start]:
            base = lr_of(row[schema.LR_SPEC])
            directory = schema.run_dir(LR_ROBUSTNESS, row[schema.RUN_ID])
            trace = read_csv(directory / schema.LR_TRACE_CSV)
            levels = [round(float(r[schema.LR]) / base, 6) for r in trace]
            played = [a for i, a in enumerate(levels) if i == 0 or a != levels[i - 1]]
            assert played[:len(bandit.arms)] == list(bandit.arms), row[schema.RUN_ID]
    assert "the first 5 of which try every arm once" in readme
    final_max = sum(at_maximum(data.final_score(r), 500.0)
                    for r in runs["CartPole-v1", "constant", "x1"])
    assert final_max > len(runs["CartPole-v1", "constant", "x1"]) / 2  # "in most runs"

    # Pendulum-v1: who is worse where, hypergradient's LR, bandit's fixed sequences
    sac, sac_auc = (_robustness("Pendulum-v1", s) for s in (schema.FINAL_EVAL_RETURN,
                                                            schema.EVAL_AUC))
    assert f"only P >= {min_detectable(5, 5):.2f} detectable" in readme
    assert _starts(sac, "constant", lambda w: w == WORSE) == ["x0.1"]
    assert all(set(_starts(sac, p, lambda w: w == WORSE)) <= {"x0.1", "x0.2154"}
               for p in ("bandit", "trend"))
    third = np.median(final_lrs("Pendulum-v1", "hypergradient", "x1")) / 1e-3
    assert 0.25 < third < 0.4 and "falls to about a third of the start at `x1`" in readme
    assert max(final_lrs("Pendulum-v1", "hypergradient", "x10")) == 1.0
    assert "(up to 1.0 at `x10`, where 2 runs diverged)" in readme
    for start, _ in sac.starts:
        traces = {tuple(data.curves[r[schema.RUN_ID]][schema.LR][1])
                  for r in runs["Pendulum-v1", "bandit", start]}
        assert len(traces) == 1, start
    sac_task = next(t for t in tasks(data) if t.env == "Pendulum-v1")
    assert _ends(sac_task, sac_auc, "constant")[1].start == "x4.642"
    assert sac_auc.found["constant", "x4.642"].words not in (BETTER, WORSE)
    assert "the constant's AUC is highest at `x4.642` (-732 [-816, -699]" in readme

    # the compute to match the tuned constant
    chosen = next(r for r in read_csv(RESULTS / "fair" / schema.SELECTION_CSV)
                  if r[schema.ENV] == "CartPole-v1" and r[schema.PERTURB] == "clean"
                  and r[schema.FAMILY] == "constant")
    assert lr_of(chosen[schema.LR_SPEC]) == centre
    seeds = chosen["tuning_seeds"].split()
    assert (f"{chosen['configurations']} configurations x {len(seeds)} tuning seeds = "
            f"{int(chosen['configurations']) * len(seeds)} runs, "
            f"{int(chosen[schema.TUNING_STEPS]):,} env steps") in readme
    import optuna  # ~1 s: only here

    startup = inspect.signature(optuna.samplers.TPESampler).parameters["n_startup_trials"]
    assert f"(`n_startup_trials={startup.default}`, its default)" in readme
    scores = {(start, int(r[schema.SEED])): float(r[schema.EVAL_AUC])
              for start, _ in auc.starts for r in runs["CartPole-v1", "constant", start]}
    test_seeds = sorted({seed for _, seed in scores})
    picks, gaps = [], []
    for pair in (test_seeds[i:i + 2] for i in range(0, len(test_seeds), 2)):
        pick = max((s for s, _ in auc.starts), key=lambda s: np.mean([scores[s, x] for x in pair]))
        rest = [x for x in test_seeds if x not in pair]
        picks.append(pick)
        gaps.append(np.mean([scores[pick, x] for x in rest]) / np.mean(
            [scores["x1", x] for x in rest]) - 1)
    counts = {s: picks.count(s) for s in set(picks)}
    assert counts == {"x1": len(picks) // 2, "x2.154": 3, "x4.642": 1}
    assert (f"chooses `x1` for half of the {len(picks)} disjoint pairs of seeds here, `x2.154` "
            "for 3 and `x4.642` for 1") in readme
    assert f"on average {-np.mean(gaps):.0%} below the tuned constant's".replace(
        "%", " %") in readme
    assert f"(14 runs, {14 * 15_000:,} env steps)" in readme


def test_the_top_level_readmes_summary_of_the_lr_robustness_experiment_is_the_data() -> None:
    """The top-level README's summary of results/lr_robustness: the range of starts where each
    adaptive policy is worse on CartPole's AUC, where any is level, kl_adaptive's range and
    final-return verdicts, the grid's shortfall and hypergradient on SAC."""
    readme = " ".join((RESULTS.parent / "README.md").read_text().split())
    auc = _robustness("CartPole-v1", schema.EVAL_AUC)
    task = next(t for t in tasks(results(LR_ROBUSTNESS)) if t.env == "CartPole-v1")
    worse = sorted(auc.worse(p)[0] for p in task.adaptive)
    starts = {auc.worse(p)[1] for p in task.adaptive}
    assert starts == {7}
    assert (f"each is worse than the tuned constant from {worse[0]} to {worse[-1]} of the 7 "
            "starts") in readme
    level = {s for p in task.adaptive for s in _starts(auc, p, lambda w: w != WORSE)}
    assert level <= {"x0.4642", "x1", "x2.154"}
    assert "none is level with it from a start more than about twice or half the tuned LR" \
        in readme
    low, high = _ends(task, auc, "kl_adaptive")
    cis = [ci_text(end.row, schema.AUC_IQM) for end in (low, high)]
    assert f"(its AUC between {cis[0]} and {cis[1]} over the 100-fold range)" in readme
    final = _robustness("CartPole-v1", schema.FINAL_EVAL_RETURN)
    assert final.worse("kl_adaptive") == (0, 7)
    assert "not detectably worse than the tuned constant on the final return from any start" \
        in readme
    assert "within 5 % of the tuned constant's AUC on average" in readme  # the E3 README's test
    e3 = " ".join((LR_ROBUSTNESS / "README.md").read_text().split())
    assert "on average 5 % below the tuned constant's" in e3
    assert "a 16-trial Optuna study's choice within 6 %" in readme  # the study's test
    assert "16 trials of 2 runs" in e3 and "mean AUC is 6 % below the tuned constant's" in e3
    sac = _robustness("Pendulum-v1", schema.FINAL_EVAL_RETURN)
    assert sac.worse("hypergradient") == (7, 7)
    assert "hypergradient is worse than the tuned constant from every start" in readme


def test_the_lr_robustness_optuna_study_is_the_data() -> None:
    """E3's small Optuna study (results/lr_robustness/optuna, `rl-lr tune`'s files) and its
    choice scored on the seeds it never saw (optuna_test): the same agent as E3's runs, the
    study's size and choice, and the comparison with the tuned constant the README quotes."""
    readme = " ".join((LR_ROBUSTNESS / "README.md").read_text().split())
    study = LR_ROBUSTNESS / "optuna"
    settings = yaml.safe_load((study / "study.yaml").read_text())
    data = results(LR_ROBUSTNESS)
    centre = [r for r in data.summary if r[schema.ENV] == "CartPole-v1"
              and r[schema.LR] == "constant" and r[schema.BASE_LR] == "x1"]
    config = yaml.safe_load((schema.run_dir(LR_ROBUSTNESS, centre[0][schema.RUN_ID])
                             / schema.CONFIG_YAML).read_text())
    assert settings["agent"]["hyperparams"] == config["agent"]["hyperparams"]
    assert settings["settings"]["seeds"] == [0, 1] and settings["settings"]["steps"] == 15_000
    space = yaml.safe_load((RESULTS.parent / "experiments" / "spaces"
                            / "lr_robustness_constant.yaml").read_text())
    assert space == {"policies": {"constant": {"lr": ["1e-4", "1e-2", "log"]}}}  # YAML strings
    trials = read_csv(study / "trials.csv")
    assert {t["state"] for t in trials} == {"COMPLETE"}
    best = max(trials, key=lambda t: float(t["value"]))
    assert best["spec"] == (study / "best.txt").read_text().strip()
    lr = lr_of(best["spec"])
    tuned = lr_of(centre[0][schema.LR_SPEC])
    assert (f"{len(trials)} trials of 2 runs on seeds 0-1, "
            f"{sum(int(t['env_steps']) for t in trials):,} env steps") in readme
    assert int(best["number"]) < 10  # among the random start-up trials
    assert (f"found its best LR at trial {best['number']} ({lr:.3g}, {lr / tuned:.1f} times the "
            "tuned one)") in readme

    scored = read_csv(LR_ROBUSTNESS / "optuna_test" / schema.SUMMARY_CSV)
    assert {r[schema.LR_SPEC] for r in scored} == {best["spec"]}
    seeds = sorted(int(r[schema.SEED]) for r in scored)
    assert seeds == list(range(2, 16))
    rival = [r for r in centre if int(r[schema.SEED]) in seeds]
    x, y = ([float(r[schema.EVAL_AUC]) for r in rows] for rows in (scored, rival))
    gap = 1 - np.mean(x) / np.mean(y)
    assert f"mean AUC is {gap:.0%} below the tuned constant's".replace("%", " %") in readme
    ci = probability_of_improvement_ci(np.array(x)[:, None], np.array(y)[:, None], reps=REPS,
                                       rng=name_seed("CartPole-v1", "ppo", "optuna"))
    assert ci.low < 0.5 < ci.high
    assert (f"{len(x)} runs a side do not resolve (P {ci.point:.2f}, 95 % CI {ci.low:.2f}-"
            f"{ci.high:.2f})") in readme
