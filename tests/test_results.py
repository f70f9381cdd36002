"""The committed reference results stay honest: for every results directory with a README
(``results/standard``, ``results/controllers_act``, ...), every interval quoted in its README is in
its committed ``report/tables.md``, every count it quotes is recomputed from the committed data
(the patterns are in :mod:`tests.readme_facts`), its run times and drawdown wording are the
data's, and those tables are what the committed code makes of the committed runs. And the
scoring rules every file shares (:mod:`rl_lr.results.scores`). Each experiment's own README
figures are checked in ``tests/test_results_<experiment>.py``."""

from __future__ import annotations

import math
import re
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from rl_lr import schema
from rl_lr.files import read_csv
from rl_lr.metrics import Interval, tail_points
from rl_lr.metrics.power import power
from rl_lr.report.tables import headline_tables, risk_titles
from rl_lr.report.task import tasks
from rl_lr.results import load_results
from rl_lr.results.scores import (
    at_maximum,
    env_maximum,
    final_score,
    group_key,
    group_seed,
    is_diverged,
    name_seed,
    ranking,
    steps_to_threshold,
)
from tests.readme_facts import DIRECTORIES, INTERVAL, RESULTS, CountChecker, results, rounded_as


def test_the_standard_benchmark_is_checked() -> None:
    assert RESULTS / "standard" in DIRECTORIES


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda p: p.name)
def test_every_interval_quoted_in_the_readme_is_in_the_tables(directory: Path) -> None:
    readme = " ".join((directory / "README.md").read_text().split())  # wrapped lines too
    tables = (directory / "report" / "tables.md").read_text()
    quoted = INTERVAL.findall(readme)
    assert quoted  # the pattern finds the README's intervals
    assert [q for q in quoted if q not in tables] == []


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda p: p.name)
def test_the_readme_is_partial_exactly_when_the_tables_are(directory: Path) -> None:
    readme = (directory / "README.md").read_text()
    tables = (directory / "report" / "tables.md").read_text()
    assert ("**PARTIAL" in readme) == ("**PARTIAL" in tables)


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda p: p.name)
def test_the_committed_tables_are_those_of_the_committed_runs(directory: Path) -> None:
    tables = (directory / "report" / "tables.md").read_text()
    assert headline_tables(results(directory)) == tables


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda p: p.name)
def test_every_result_row_of_the_readme_is_a_row_of_the_tables(directory: Path) -> None:
    """Rows with intervals or "k/n" counts are copied from report/tables.md (the ranking
    without its last column, the run count)."""
    tables = (directory / "report" / "tables.md").read_text().splitlines()
    rows = [line for line in (directory / "README.md").read_text().splitlines()
            if line.startswith("| ") and (INTERVAL.search(line) or re.search(r"\d/\d", line))]
    assert rows  # the README shows result rows
    assert [r for r in rows if not any(t.startswith(r) for t in tables)] == []


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


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda p: p.name)
def test_every_count_quoted_in_the_readme_is_the_datas(directory: Path) -> None:
    checker = CountChecker(directory)
    assert checker.check((directory / "README.md").read_text()) == []


def test_the_standard_readme_quotes_every_kind_of_count() -> None:
    checker = CountChecker(RESULTS / "standard")
    checker.check((RESULTS / "standard" / "README.md").read_text())
    assert checker.kinds == {"moved", "distinct", "reached", "updates", "totals", "pairs",
                             "comparisons"}


@pytest.mark.parametrize(("name", "quoted", "wrong"), [
    ("standard", "plateau in 3 of 5 clean runs", "plateau in 5 of 5 clean runs"),
    ("standard", "On CartPole-v1, 13 pairs", "On CartPole-v1, 12 pairs"),
    ("standard", "0 pairs of policies", "1 pair of policies"),
    ("standard", "1,000 of 1,000 runs", "999 of 1,000 runs"),
    ("standard", "CartPole 600 runs", "CartPole 601 runs"),
    ("standard", "12 x 5 x 10 = 600 runs", "12 x 5 x 10 = 500 runs"),
    ("standard", "(59 PPO updates instead", "(58 PPO updates instead"),
    ("standard", "With 13-15 PPO updates", "With 13-16 PPO updates"),
    ("standard", "12 comparisons are clearly worse", "11 comparisons are clearly worse"),
    ("standard", "Of the 57 comparisons", "Of the 56 comparisons"),
    ("standard", "in only 2-5 of 10 gaussian runs", "in only 3-5 of 10 gaussian runs"),
    ("standard", "reached 950 in only 5 of 10", "reached 475 in only 5 of 10"),
    ("standard", "volatility moved the LR in 10 of 10 runs",
     "volatility moved the LR in every run"),
    ("controllers_act", "every policy 59 PPO updates", "every policy 58 PPO updates"),
    ("controllers_act", "9 distinct LR traces in 10 switch runs",
     "10 distinct LR traces in 10 switch runs"),
    ("controllers_act", "ended below 250 in 9 of 10", "ended below 250 in 8 of 10"),
    ("controllers_act", "All 140 runs", "All 141 runs"),
    ("controllers_act", "7 policies x 2 conditions", "6 policies x 2 conditions"),
    ("controllers_act", "(plateau moved the LR in 0 of 10 clean runs",
     "(plateau moved the LR in 0/10 clean runs"),
    ("controllers_act", "With 59 PPO updates, constant reached 950 in 20 of 20 runs",
     "With 59 updates, constant reached 950 in all 20 runs"),
    ("lr_robustness", "trend is worse than the tuned constant at 4 of 7 starts on the AUC",
     "trend is worse than the tuned constant at 3 of 7 starts on the AUC"),
    ("lr_robustness", "kl_adaptive is worse than the tuned constant at 0 of 7 starts on the final",
     "kl_adaptive is worse than the tuned constant at 0 of 7 starts on the AUC"),
    ("lr_robustness", "hypergradient is worse than the tuned constant at 7 of 7",
     "bandit is worse than the tuned constant at 7 of 7"),
])
def test_a_count_that_disagrees_with_the_data_fails(name: str, quoted: str, wrong: str) -> None:
    readme = (RESULTS / name / "README.md").read_text()
    quoted_wrapped = r"\s+".join(map(re.escape, quoted.split()))  # wherever the lines break
    assert len(re.findall(quoted_wrapped, readme)) == 1
    assert CountChecker(RESULTS / name).check(re.sub(quoted_wrapped, wrong, readme)) != []


def test_the_top_level_readme_figures_about_the_standard_design_are_the_data() -> None:
    """The README's reading of the standard benchmark: ceiling shares and power at 10 seeds."""
    readme = " ".join((RESULTS.parent / "README.md").read_text().split())
    rows = load_results(RESULTS / "standard").summary
    shares = {}
    for env in ("CartPole-v1", "InvertedPendulum-v5"):  # the suites' known maxima
        finals = [float(r["final_eval_return"]) for r in rows if r["env"] == env]
        shares[env] = round(100 * sum(at_maximum(x, env_maximum(env)) for x in finals)
                            / len(finals))
    assert (f"{shares['CartPole-v1']} % of CartPole and {shares['InvertedPendulum-v5']} % of "
            "InvertedPendulum final returns sit at the maximum") in readme
    at_ten = round(100 * power(0.7, 10, 10, sims=1000, rng=0))
    assert f"10 seeds give {at_ten} % power for a true P(improvement) of 0.7" in readme



@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda p: p.name)
def test_final_median_is_the_median_over_the_groups_runs(directory: Path) -> None:
    """metrics.csv's final_median is the median of a group's final returns (it was rliable's
    median of task means, i.e. the group's mean, in every group)."""
    data = results(directory)
    groups: dict[tuple[tuple[str, str], ...], list[float]] = defaultdict(list)
    for row in data.summary:
        groups[group_key(data.labels(row))].append(data.final_score(row))
    differs = 0
    for row in data.metrics:
        key = tuple((k, row[k]) for k in data.label_keys if k != schema.SEED)
        assert float(row[schema.FINAL_MEDIAN]) == pytest.approx(np.median(groups[key]))
        differs += not math.isclose(float(row[schema.FINAL_MEDIAN]), float(row[schema.FINAL_MEAN]))
    if directory.name == "standard":
        assert (differs, len(data.metrics)) == (93, 104)  # issue 16's count


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda p: p.name)
def test_what_the_readme_says_of_the_drawdown_follows_each_tasks_evaluation_points(
        directory: Path) -> None:
    """A curve of n evaluation points has n drawdowns, and the CVaR 5 % of the drawdown (the
    long-term risk) averages tail_points(n) of them: with one, it is the maximum drawdown.
    Each task's table title says which, and so does the README, with the task's point count:
    "with 11 evaluation points" and "maximum drawdown" (one), or "the 2 largest of its 21
    drawdowns" (more)."""
    readme = " ".join((directory / "README.md").read_text().split())
    if "drawdown" not in readme:
        pytest.skip(f"{directory.name}'s README says nothing of the drawdown")
    data = results(directory)
    tables = (directory / "report" / "tables.md").read_text()
    points: dict[str, set[int]] = defaultdict(set)
    for row in data.summary:
        trace = data.curves[row[schema.RUN_ID]].get(schema.EVAL_RETURN_MEAN)
        if trace is not None:
            points[row[schema.ENV]].add(trace[0].size)
    for env, sizes in points.items():
        (n,) = sizes  # every run of a task is evaluated at the same steps
        section = tables.split(f"\n## {env} · ")[1].split("\n## ")[0]
        assert f"### {risk_titles(n)[1]}" in section
        tail = tail_points(n)
        said = (f"with {n} evaluation points" if tail == 1
                else f"the {tail} largest of its {n} drawdowns")
        assert said in readme and ("maximum drawdown" in readme or tail > 1)


@pytest.mark.parametrize("status", sorted(RESULTS.glob("*/STATUS.md")), ids=lambda p: p.parent.name)
def test_a_partial_status_counts_what_is_there(status: Path) -> None:
    """``PARTIAL: k of n tuning runs finished`` (phase 1) or ``PARTIAL: k of n test runs
    finished`` (phase 2: every tuning run has finished) of a tune-then-test experiment, or
    ``PARTIAL: k of n runs finished`` of any other, is the directory's own count; so are the
    core-hours and the median seconds per run it quotes from timing.csv."""
    text = " ".join(status.read_text().split())
    match = re.search(r"PARTIAL: (\d+) of (\d+) (?:(tuning|test) )?runs finished", text)
    assert match is not None
    data = load_results(status.parent)
    seconds = [float(r["wall_time_s"]) for r in read_csv(status.parent / schema.TIMING_CSV)]
    for runs, hours in re.findall(r"(\d+) runs took ([\d.]+) core-hours", text):
        assert (int(runs), hours) == (data.finished, rounded_as(hours, sum(seconds) / 3600))
    for median in re.findall(r"timing\.csv`: ([\d.]+) s per run", text):
        assert median == rounded_as(median, float(np.median(seconds)))
    if match[3] is None:
        assert not data.tuned
        assert (int(match[1]), int(match[2])) == (data.finished, data.planned)
        return
    rows = read_csv(status.parent / schema.SUMMARY_CSV)
    phase = {"tuning": schema.TUNE, "test": schema.TEST}[match[3]]
    finished = sum(r.get(schema.PHASE) == phase for r in rows)
    tuning = sum(r.get(schema.PHASE) == schema.TUNE for r in rows)
    planned = data.planned  # both phases once tuning has finished
    assert (int(match[1]), int(match[2])) == (finished, planned - tuning * (phase == schema.TEST))


@pytest.mark.parametrize("directory", DIRECTORIES, ids=lambda p: p.name)
def test_the_readmes_run_times_are_the_runs_durations(directory: Path) -> None:
    """The run times a README's opening quotes come from timing.csv (wall-clock seconds of
    each run, one core each): "N core-hours" is their sum, "median S s per run [on TASK]"
    the median over the task's runs (or all runs), to the quoted precision."""
    opening = " ".join((directory / "README.md").read_text().split("\n## ")[0].split())
    hours = re.findall(r"(\d+(?:\.\d+)?) core-hours", opening)
    medians = re.findall(r"median (\d+(?:\.\d+)?) s per run(?: on ([\w/.-]+))?", opening)
    if not hours and not medians:
        pytest.skip(f"{directory.name}'s README quotes no run times")
    seconds = {row[schema.RUN_ID]: float(row[schema.WALL_TIME_S])
               for row in read_csv(directory / schema.TIMING_CSV)}
    env = {row[schema.RUN_ID]: row[schema.ENV]  # every run, tuning runs too
           for row in read_csv(directory / schema.SUMMARY_CSV)}
    assert [figure for figure in hours
            if figure != rounded_as(figure, sum(seconds.values()) / 3600)] == []
    for figure, task in medians:
        runs = [s for run, s in seconds.items() if task in ("", env[run])]
        assert runs and figure == rounded_as(figure, float(np.median(runs))), (figure, task)


REPORTED = sorted(p.parents[1] for p in RESULTS.glob("*/report/tables.md"))


@pytest.mark.parametrize("directory", REPORTED, ids=lambda p: p.name)
def test_no_table_of_a_committed_report_is_empty(directory: Path) -> None:
    """Every table of ``report/tables.md`` has a row of data and a column beyond the policy's
    (results/nonstationary has no clean condition, so no sensitivity table; the prechecks
    have no adaptive policy, so no comparison tables)."""
    empty = []
    for section in (directory / "report" / "tables.md").read_text().split("\n### ")[1:]:
        rows = [line for line in section.splitlines() if line.startswith("|")]
        if len(rows) < 3 or all(row.count("|") < 3 for row in rows):
            empty.append(section.splitlines()[0])
    assert empty == []


@pytest.mark.parametrize(("name", "expected"), [
    ("fair", {("CartPole-v1", "clean")}), ("nonstationary", {("InvertedPendulum-v5", "damping")})])
def test_policies_meet_the_tuned_constant_where_another_fixed_schedule_is_best(
        name: str, expected: set[tuple[str, str]]) -> None:
    """The secondary comparisons with the tuned constant come where the tuning seeds chose
    another fixed schedule as the best (cosine with warm-up, in these), for every other
    policy, the best fixed schedule included; elsewhere the main comparisons have them."""
    data = results(RESULTS / name)
    found = set()
    for task in tasks(data):
        comparisons = task.against_constant(data.primary_score)
        for panel in task.panels:
            best = task.best_fixed(panel, data.primary_score)
            rivals = [c for c in comparisons if c.panel == panel]
            if best != task.constant:
                found.add((task.env, task.condition(panel)))
                assert {c.policy for c in rivals} == set(task.fixed + task.adaptive) - {"constant"}
                assert {c.rival for c in rivals} == {"constant"} == {task.constant}
            else:
                assert rivals == []
    assert found == expected
