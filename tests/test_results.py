"""The committed reference results stay honest: for every results directory with a README
(``results/standard``, ``results/controllers_act``), every interval quoted in its README is in
its committed ``report/tables.md``, every count it quotes is recomputed from the committed data
(see "Counts quoted in the READMEs" below), and those tables are what the committed code makes
of the committed runs. And the scoring rules every file shares (:mod:`rl_lr.results.scores`)."""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import re
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from rl_lr import schema
from rl_lr.bandit import Bandit
from rl_lr.controllers import KLAdaptive
from rl_lr.files import read_csv
from rl_lr.metrics import Interval, tail_points
from rl_lr.metrics.comparisons import probability_of_improvement_ci
from rl_lr.metrics.power import BETTER, WORSE, power
from rl_lr.report.base_lr import Robustness, against_tuned, extremes, short_verdict
from rl_lr.report.tables import headline_tables, risk_titles
from rl_lr.report.task import SCORES, ci_text, tasks
from rl_lr.report.verdicts import POWER, Verdict, min_detectable, verdicts
from rl_lr.results import CURVE_METRICS, REPS, Results, load_results
from rl_lr.results.scores import (
    at_maximum,
    env_maximum,
    final_score,
    group_key,
    group_seed,
    is_diverged,
    name_seed,
    number,
    ranking,
    steps_to_threshold,
)

RESULTS = Path(__file__).resolve().parents[1] / "results"
DIRECTORIES = sorted(p.parent for p in RESULTS.glob("*/README.md")
                     if (p.parent / "report" / "tables.md").is_file())
NUMBER = r"-?[\d,]+(?:\.\d+)?(?:e[+-]\d+)?"
INTERVAL = re.compile(rf"{NUMBER} \[{NUMBER}, {NUMBER}\]")
N_UPDATES = "train/n_updates"  # curves.csv: SB3's gradient-step counter (rollouts x epochs)


@functools.cache
def _results(directory: Path) -> Results:
    """Each results directory read once for every test of this module."""
    return load_results(directory, curve_metrics=(*CURVE_METRICS, N_UPDATES))


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
    assert headline_tables(_results(directory)) == tables


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


# --------------------------------------------------------------------------- counts in the READMEs
#
# Every count a results README quotes is recomputed from the committed data, so its sentences
# follow these patterns (POLICIES: a policy label, a list "a, b and c" meaning each of them, or
# "every policy"; COND: a condition label; TASK: an env id or its short name, e.g. CartPole):
#
#   POLICIES moved the LR in K of N [COND] runs [on TASK]      lr trace in curves.csv changes
#   POLICIES reached 950|the threshold|it in K of N ...        steps to threshold in summary.csv
#   POLICIES ended below|above|at X in K of N ...              final clean return
#   POLICIES followed D distinct LR traces in N [COND] runs [on TASK]
#       K may be a range K1-K2 over the policies; more items follow after ", " / " and ",
#       each optionally "POLICIES in ..."; without COND: every condition of the task
#   N PPO updates | N1-N2 PPO updates                          rollouts of the task's runs
#   N|no pairs of policies [(...)] have disjoint [95 %] CIs on the METRIC [or on the METRIC]
#   Of the N comparisons | none has a CI entirely above 0.5 | N is|are clearly better/entirely
#   above | N is|are clearly worse/entirely below      the verdict tables of report/tables.md,
#       on the scores the sentence names ("AUC", "final return"), else on every score
#   N comparisons with the tuned constant                      its table in report/tables.md
#   POLICY is worse than the tuned constant at K of N starts on the AUC|final return
#       the robustness to the base LR (rl_lr.report.base_lr.against_tuned)
#   All N runs of `experiments/NAME.yaml` | K of N runs, D diverged, F failed | D diverged, F
#   failed | TASK N runs | P x C x S = N runs | P policies x C conditions x S seeds
#
# The task of a claim is its own "on TASK", else the tasks its sentence names (for "starts":
# its paragraph or list item), else its "##" section's, else every task of the directory. A
# count written any other way in prose ("k/n", "k of n" outside a claim, "N updates",
# "N distinct", "moved the LR in every run") is an error.

SUBJECT_JOIN = r"(?:, and |, | and | or )"
METRIC_NAMES = {"long-term risk": schema.LONG_TERM_RISK, "short-term risk": schema.SHORT_TERM_RISK,
                "dispersion across time": schema.DISPERSION_TIME}
SCORE_NAMES = {"AUC": f"on {SCORES[schema.EVAL_AUC]}",  # a README's name: what the P table's
               "final return": f"on {SCORES[schema.FINAL_EVAL_RETURN]}"}  # title in tables.md says
TUNED_CONSTANT = "tuned constant"  # the verdict table against the tuned constant (tables.md)
ROBUSTNESS_SCORES = {"AUC": schema.EVAL_AUC, "final return": schema.FINAL_EVAL_RETURN}
COUNT = r"\d[\d,]*"
UNPARSED = {  # prose that quotes a count outside the patterns above
    "k/n count": r"\b\d+/\d+\b",
    "'k of n'": rf"\b{COUNT} of (?:its |their |the )?{COUNT}\b",
    "LR-moves claim": r"\b(?:mov|cut|lower)\w* (?:the LR|it) in\b",
    "threshold claim":
        r"\b(?:reach|end)\w* (?:below |above |at )?(?:the threshold|it|-?\d[\d,.]*) in\b",
    "'all N runs'": rf"\ball {COUNT} runs\b",
    "update count": r"\b\d+(?:-\d+)? (?:PPO )?updates\b",
    "distinct count": r"\b\d+ distinct\b",
    "pairs claim": r"\bpairs? of policies\b",
    "comparison count": r"\b\d+ comparisons\b",
}


def _count(text: str) -> int:
    return int(text.replace(",", ""))


def _words(words: Iterable[str]) -> str:
    """Any of the words, whole (not inside a longer name)."""
    alternatives = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return rf"(?<![\w/-])(?:{alternatives})(?![\w-])"


def _task_names(env: str) -> tuple[str, ...]:
    base = env.split("/")[-1]
    return tuple(dict.fromkeys((env, base, re.sub(r"-v\d+$", "", base))))


@dataclass(frozen=True)
class Sentence:
    text: str
    section: str  # the "##" heading above it
    prose: bool  # not a table row
    block: str = ""  # its paragraph or list item


def _blocks(readme: str) -> Iterator[str]:
    """Paragraphs, list items, table rows and headings, code blocks left out."""
    block: list[str] = []
    fenced = False
    for line in readme.splitlines():
        fence = line.startswith("```")
        fenced ^= fence
        skip = fence or fenced or not line.strip()
        if block and (skip or line.startswith(("- ", "|", "#"))):
            yield " ".join(block)
            block = []
        if skip:
            continue
        if line.startswith(("|", "#")):
            yield line
        else:
            block.append(line.strip())
    if block:
        yield " ".join(block)


def _sentences(readme: str) -> Iterator[Sentence]:
    section = ""
    for block in _blocks(readme):
        if block.startswith("## "):
            section = block
        if block.startswith("|"):
            yield Sentence(block, section, prose=False)
        else:
            yield from (Sentence(t, section, True, block)
                        for t in re.split(r"(?<=[.;?!])\s+", block))


class Facts:
    """What a results directory's README counts are checked against, computed once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data = data = _results(directory)
        self.tasks = list(dict.fromkeys(row[schema.ENV] for row in data.summary))
        self.lr = {}
        for row in data.summary:
            trace = data.curves.get(row[schema.RUN_ID], {}).get(schema.LR)
            lrs = trace[1][np.isfinite(trace[1])] if trace is not None else np.array([])
            self.lr[row[schema.RUN_ID]] = tuple(lrs.tolist())
        self.updates = {env: self._ppo_updates(env) for env in self.tasks
                        if self.rows(env)[0][schema.ALGO] == "ppo"}
        self.comparison_verdicts = self._comparisons()
        self.worse_starts = {  # (task, score name) -> policy -> (worse, compared) starts
            (task.env, name): {p: found.worse(p) for p in task.fixed + task.adaptive}
            for task in tasks(data) for name, score in ROBUSTNESS_SCORES.items()
            for found in against_tuned(task, score)}

    def rows(self, env: str, policy: str | None = None, cond: str | None = None
             ) -> list[dict[str, str]]:
        return [r for r in self.data.summary if r[schema.ENV] == env
                and policy in (None, r[schema.LR]) and cond in (None, r[schema.PERTURB])]

    def labels(self, env: str, axis: str) -> list[str]:
        return list(dict.fromkeys(r[axis] for r in self.rows(env)))

    def _ppo_updates(self, env: str) -> set[int]:
        """Rollouts per run: timesteps / (n_steps x n_envs) from the config of the run's
        hyper-parameter group (its ``set.*`` labels), checked against SB3's own counter
        (train/n_updates = rollouts x n_epochs) in every run."""
        agents: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        updates = set()
        for row in self.rows(env):
            key = tuple((k, v) for k, v in row.items() if k.startswith(schema.SET_PREFIX))
            if key not in agents:
                config = schema.run_dir(self.directory, row[schema.RUN_ID]) / schema.CONFIG_YAML
                agents[key] = yaml.safe_load(config.read_text())["agent"]
            agent = agents[key]
            rollout = agent["hyperparams"]["n_steps"] * agent["n_envs"]
            rollouts, rest = divmod(_count(row[schema.TIMESTEPS]), rollout)
            counter = self.data.curves[row[schema.RUN_ID]][N_UPDATES][1][-1]
            assert rest == 0 and counter == rollouts * agent["hyperparams"]["n_epochs"], row
            updates.add(rollouts)
        return updates

    def _comparisons(self) -> dict[tuple[str, str], list[str]]:
        """The verdicts of report/tables.md's verdict tables ("better", "worse", "no
        difference ...", from each comparison's CI at full precision), by task and score (a
        key of :data:`SCORE_NAMES`: the score of the P(improvement) table above it)."""
        out: dict[tuple[str, str], list[str]] = defaultdict(list)
        env, score, inside = "", "", ""
        for line in (self.directory / "report" / "tables.md").read_text().splitlines():
            if line.startswith("## "):
                env = line[3:].split(" · ")[0]
            elif line.startswith("### "):
                inside = (score if line.startswith("### Each comparison's verdict") else
                          TUNED_CONSTANT if line.startswith("### Against the tuned constant")
                          else "")
                if line.startswith("### P("):
                    score = next(name for name, title in SCORE_NAMES.items() if title in line)
            elif inside and line.startswith("| ") and not line.startswith("| condition"):
                out[env, inside].append(line.strip("| ").split(" | ")[-1])
        return out

    def verdicts(self, sentence: Sentence) -> list[str]:
        """The verdicts of the tasks in the sentence's scope, on the scores it names ("AUC",
        "final return"), or on every score if it names none."""
        named = [name for name in SCORE_NAMES if name in sentence.text]
        return [verdict for env in self.scope(sentence) for name in named or SCORE_NAMES
                for verdict in self.comparison_verdicts[env, name]]

    def disjoint_pairs(self, env: str, metric: str) -> int:
        """Pairs of policies of one condition whose CIs on ``metric`` do not overlap."""
        panels: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        for row in self.data.metrics:
            if row[schema.ENV] == env:
                panels[row[schema.ALGO], row[schema.PERTURB]].append(
                    (number(row[f"{metric}_low"]), number(row[f"{metric}_high"])))
        return sum(a[1] < b[0] or b[1] < a[0] for cis in panels.values()
                   for a, b in itertools.combinations(cis, 2))

    def named_tasks(self, text: str) -> list[str]:
        return [env for env in self.tasks if re.search(_words(_task_names(env)), text)]

    def scope(self, sentence: Sentence) -> list[str]:
        return (self.named_tasks(sentence.text) or self.named_tasks(sentence.section)
                or self.tasks)


@functools.cache
def _facts(directory: Path) -> Facts:
    return Facts(directory)


class CountChecker:
    """The errors of one README: counts that disagree with the data, and counts quoted in
    prose outside the patterns."""

    def __init__(self, directory: Path) -> None:
        self.facts = facts = _facts(directory)
        self.others = {d.name: _facts(d) for d in DIRECTORIES}
        tasks = [n for env in facts.tasks for n in _task_names(env)]
        policies = [p for env in facts.tasks for p in facts.labels(env, schema.LR)]
        self.task = _words(tasks)
        self.policy = _words(policies)
        subject = rf"every policy|{self.policy}(?:{SUBJECT_JOIN}{self.policy})*"
        conds = _words(c for env in facts.tasks for c in facts.labels(env, schema.PERTURB))
        where = rf"(?: (?P<cond>{conds}))? runs(?: on (?P<task>{self.task}))?"
        self.item = re.compile(rf"(?:only )?(?P<k>\d+)(?:-(?P<k2>\d+))? of (?P<n>\d+){where}")
        self.distinct = re.compile(rf"(?P<k>\d+) distinct LR traces? in (?P<n>\d+){where}")
        self.claim = re.compile(
            rf"(?:(?P<subject>{subject}) )?(?:(?P<moved>mov(?:ed|es) the LR)|reach(?:ed|es)? "
            rf"(?P<thr>the threshold|it|{COUNT})|end(?:ed|s) (?P<cmp>below|above|at) "
            rf"(?P<x>-?{COUNT}(?:\.\d+)?)) in ")
        self.follows = re.compile(rf"(?:(?P<subject>{subject}) )?follow(?:ed|s) (?=\d+ distinct)")
        self.next = re.compile(rf"(?:, and |, | and )(?:(?P<subject>{subject}) )?(?:in )?")
        self.errors: list[str] = []
        self.kinds: set[str] = set()

    # ---------------------------------------------------------------- one README

    def check(self, readme: str) -> list[str]:
        for sentence in _sentences(readme):
            spans = self._claims(sentence) + self._other_counts(sentence)
            if sentence.prose:
                for kind, pattern in UNPARSED.items():
                    for found in re.finditer(pattern, sentence.text):
                        if not any(a <= found.start() < b for a, b in spans):
                            self._error(sentence, f"{kind} {found[0]!r} not in a checked pattern")
        return self.errors

    def _error(self, sentence: Sentence, message: str) -> None:
        self.errors.append(f"{self.facts.directory.name}: {message}: {sentence.text!r}")

    def _task(self, sentence: Sentence, item: re.Match[str]) -> str | None:
        tasks = self.facts.named_tasks(item["task"]) if item["task"] else self.facts.scope(sentence)
        if len(tasks) != 1:
            self._error(sentence, f"{item[0]!r}: which task? (candidates {tasks})")
            return None
        return tasks[0]

    def _policies(self, subject: str, env: str) -> list[str]:
        known = self.facts.labels(env, schema.LR)
        if subject == "every policy":
            return known
        named = re.split(SUBJECT_JOIN, subject)
        return named if set(named) <= set(known) else []

    # ---------------------------------------------------------------- per-run claims

    def _claims(self, sentence: Sentence) -> list[tuple[int, int]]:
        spans = []
        for pattern, item in ((self.claim, self.item), (self.follows, self.distinct)):
            for claim in pattern.finditer(sentence.text):
                spans.append((claim.start(), self._items(sentence, claim, item)))
        return spans

    def _items(self, sentence: Sentence, claim: re.Match[str], item_pattern: re.Pattern[str]
               ) -> int:
        """Check each item of a claim; return where the claim ends."""
        subject, pos = claim["subject"], claim.end()
        while True:
            item = item_pattern.match(sentence.text, pos)
            if item is None or subject is None:
                self._error(sentence, f"claim {claim[0]!r} without a policy or a 'k of n runs'")
                return pos
            self._check_item(sentence, claim, subject, item, item_pattern is self.distinct)
            pos = item.end()
            more = self.next.match(sentence.text, pos)
            if more is None or item_pattern.match(sentence.text, more.end()) is None:
                return pos
            subject, pos = more["subject"] or subject, more.end()

    def _check_item(self, sentence: Sentence, claim: re.Match[str], subject: str,
                    item: re.Match[str], distinct: bool) -> None:
        env = self._task(sentence, item)
        if env is None:
            return
        policies = self._policies(subject, env)
        if not policies:
            self._error(sentence, f"{subject!r}: not policies of {env}")
            return
        runs = {p: self.facts.rows(env, p, item["cond"]) for p in policies}
        if distinct:
            self.kinds.add("distinct")
            counts = {p: len({self.facts.lr[r[schema.RUN_ID]] for r in rows})
                      for p, rows in runs.items()}
        else:
            test = self._predicate(sentence, claim, env)
            counts = {p: sum(map(test, rows)) for p, rows in runs.items()}
        low, high = int(item["k"]), int(item.groupdict().get("k2") or item["k"])
        sizes = {len(rows) for rows in runs.values()}
        if sizes != {int(item["n"])} or (min(counts.values()), max(counts.values())) != (low, high):
            self._error(sentence, f"{subject} {claim[0].strip()!r} {item[0]!r} on {env}: the data "
                        f"say {counts} of {sorted(sizes)} runs")

    def _predicate(self, sentence: Sentence, claim: re.Match[str], env: str
                   ) -> Callable[[Mapping[str, str]], bool]:
        if claim["moved"]:
            self.kinds.add("moved")
            return lambda row: len(set(self.facts.lr[row[schema.RUN_ID]])) > 1
        if claim["thr"]:
            self.kinds.add("reached")
            threshold = {number(r["reward_threshold"]) for r in self.facts.rows(env)}
            if claim["thr"][0].isdigit() and threshold != {_count(claim["thr"])}:
                self._error(sentence, f"{claim['thr']} is not the threshold of {env}: {threshold}")
            return lambda row: math.isfinite(steps_to_threshold(row))
        self.kinds.add("ended")
        x, final = float(claim["x"].replace(",", "")), self.facts.data.final_score
        compare = {"below": lambda v: v < x, "above": lambda v: v > x, "at": lambda v: v == x}
        return lambda row: compare[claim["cmp"]](final(row))

    # ---------------------------------------------------------------- totals, updates, CIs

    def _other_counts(self, sentence: Sentence) -> list[tuple[int, int]]:
        spans = []
        text, facts, data = sentence.text, self.facts, self.facts.data

        def check(kind: str, pattern: str, got: Callable[[re.Match[str]], object],
                  want: Callable[[re.Match[str]], object]) -> None:
            for found in re.finditer(pattern, text):
                spans.append(found.span())
                self.kinds.add(kind)
                if got(found) != want(found):
                    self._error(sentence, f"{found[0]!r}: quoted {got(found)}, the data say "
                                f"{want(found)}")

        names = {f.data.name: f for f in self.others.values()}
        check("totals", rf"\b[Aa]ll ({COUNT}) runs of `experiments/([\w-]+)\.yaml`",
              lambda m: (_count(m[1]),) * 2,
              lambda m: (names[m[2]].data.planned, names[m[2]].data.finished) if m[2] in names
              else "no such experiment")
        check("totals", rf"\b({COUNT}) of ({COUNT}) runs, (\d+) diverged, (\d+) failed",
              lambda m: tuple(_count(g) for g in m.groups()),
              lambda m: (data.finished, data.planned, sum(map(is_diverged, data.summary)),
                         len(data.failures)))
        check("totals", r"\b(\d+) diverged, (\d+) failed", lambda m: (int(m[1]), int(m[2])),
              lambda m: (sum(map(is_diverged, data.summary)), len(data.failures)))
        check("totals", rf"(?P<task>{self.task})(?: \([^)]*\))? ({COUNT}) runs\b",
              lambda m: _count(m[2]), lambda m: len(facts.rows(facts.named_tasks(m["task"])[0])))
        check("totals", rf"\b(\d+) (?:policies )?x (\d+) (?:conditions )?x (\d+)"
              rf"(?: seeds| = ({COUNT}) runs)",
              lambda m: tuple(_count(g) for g in m.groups() if g),
              lambda m: self._design(sentence, m[4] is not None))
        check("updates", r"\b(\d+)(?:-(\d+))? PPO updates\b",
              lambda m: {int(g) for g in m.groups() if g} | ({"range"} if m[2] else set()),
              lambda m: self._updates(sentence, m))
        metric = "|".join(METRIC_NAMES)
        check("pairs", rf"\b(\d+|no) pairs? of policies(?: \([^)]*\))? ha(?:ve|s) disjoint "
              rf"(?:95 % )?CIs on the ({metric})(?: or (?:on )?the ({metric}))?",
              lambda m: {(e, name): 0 if m[1] == "no" else int(m[1])
                         for e in facts.scope(sentence) for name in m.groups()[1:] if name},
              lambda m: {(e, name): facts.disjoint_pairs(e, METRIC_NAMES[name])
                         for e in facts.scope(sentence) for name in m.groups()[1:] if name})
        found = facts.verdicts(sentence)
        check("comparisons", r"\bOf the (\d+) comparisons\b", lambda m: int(m[1]),
              lambda m: len(found))
        check("comparisons", r"\b(\d+) comparisons with the tuned constant\b",
              lambda m: int(m[1]), lambda m: sum(len(facts.comparison_verdicts[e, TUNED_CONSTANT])
                                                 for e in facts.scope(sentence)))
        check("comparisons", r"\bnone has a CI entirely above 0\.5\b", lambda m: 0,
              lambda m: found.count(BETTER))
        check("comparisons", r"\b(\d+) (?:comparisons )?(?:is|are) (?:clearly|entirely) "
              r"(better|above|worse|below)", lambda m: int(m[1]),
              lambda m: found.count(BETTER if m[2] in ("better", "above") else WORSE))
        check("starts", rf"\b(?P<policy>{self.policy}) is worse than the tuned constant at "
              rf"(\d+) of (\d+) starts on the ({'|'.join(ROBUSTNESS_SCORES)})",
              lambda m: (int(m[2]), int(m[3])), lambda m: self._worse_starts(sentence, m))
        return spans

    def _worse_starts(self, sentence: Sentence, found: re.Match[str]) -> object:
        """(starts where the policy is worse than the tuned constant, starts compared) on the
        one task the sentence names, else its paragraph or list item, else its scope."""
        tasks = (self.facts.named_tasks(sentence.text) or self.facts.named_tasks(sentence.block)
                 or self.facts.scope(sentence))
        if len(tasks) != 1:
            return f"one task, not {tasks}"
        return self.facts.worse_starts.get((tasks[0], found[4]), {}).get(found["policy"])

    def _design(self, sentence: Sentence, total: bool) -> object:
        """Policies x conditions x seeds per group (and their product's runs) of the task."""
        tasks = self.facts.scope(sentence)
        if len(tasks) != 1:
            return f"one task, not {tasks}"
        rows = self.facts.rows(tasks[0])
        sizes = {len(g) for g in _grouped(rows).values()}
        design = (len(self.facts.labels(tasks[0], schema.LR)),
                  len(self.facts.labels(tasks[0], schema.PERTURB)),
                  sizes.pop() if len(sizes) == 1 else sorted(sizes))
        return (*design, len(rows)) if total else design

    def _updates(self, sentence: Sentence, found: re.Match[str]) -> object:
        """The quoted numbers if each is the PPO updates of a task in scope (a range: its ends),
        else the counts in scope. Scope: this directory and any other one the sentence names,
        the tasks the sentence (or section) names."""
        allowed = set()
        for name, other in self.others.items():
            if other is self.facts or re.search(rf"(?<![\w-]){name}(?![\w-])", sentence.text):
                tasks = (other.named_tasks(sentence.text) or other.named_tasks(sentence.section)
                         or other.tasks)
                allowed |= {u for env in tasks for u in other.updates.get(env, ())}
        quoted = {int(g) for g in found.groups() if g}
        ordered = found[2] is None or int(found[1]) < int(found[2])
        ok = quoted <= allowed and ordered
        return quoted | ({"range"} if found[2] else set()) if ok else sorted(allowed)


def _grouped(rows: Iterable[Mapping[str, str]]) -> dict[tuple[tuple[str, str], ...], list[str]]:
    groups: dict[tuple[tuple[str, str], ...], list[str]] = defaultdict(list)
    for row in rows:
        labels = {k: row[k] for k in schema.AXES if k in row}
        groups[group_key(labels)].append(row[schema.RUN_ID])
    return groups


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
    data = _results(directory)
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
    data = _results(directory)
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
    ``PARTIAL: k of n runs finished`` of any other, is the directory's own count."""
    match = re.search(r"PARTIAL: (\d+) of (\d+) (?:(tuning|test) )?runs finished",
                      status.read_text())
    assert match is not None
    data = load_results(status.parent)
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
    data = _results(RESULTS / "dose_precheck")
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


def _rounded_as(figure: str, value: float) -> str:
    """``value`` with as many decimals as ``figure`` has."""
    return f"{value:.{len(figure.partition('.')[2])}f}"


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
            if figure != _rounded_as(figure, sum(seconds.values()) / 3600)] == []
    for figure, task in medians:
        runs = [s for run, s in seconds.items() if task in ("", env[run])]
        assert runs and figure == _rounded_as(figure, float(np.median(runs))), (figure, task)


FAIR = RESULTS / "fair" / "README.md"
CHANGED = "## What the protocol changed, cell by cell"


def _verdicts(directory: Path, score: str) -> dict[tuple[str, str, str], Verdict]:
    """(env, condition, policy) -> the verdict of every comparison on ``score``."""
    return {(task.env, task.condition(found.comparison.panel), found.comparison.policy): found
            for task in tasks(_results(directory)) for found in verdicts(task.comparisons(score))}


def _verdict_cells(directory: Path, score: str) -> dict[tuple[str, str, str], str]:
    """(env, condition, policy) -> "verdict (vs rival)" of every comparison on ``score``."""
    return {key: f"{short_verdict(found.words)} (vs {found.comparison.rival})"
            for key, found in _verdicts(directory, score).items()}


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
                (env, condition, policy), found in _verdicts(RESULTS / "fair", score).items()
                if found.words == words}

    on_auc, on_final = (_verdicts(RESULTS / "fair", s) for s in (schema.EVAL_AUC,
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
    rows = {r[schema.LR]: r for r in _results(RESULTS / "fair").metric_rows()
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
    trained = {sum(_count(r[schema.TIMESTEPS]) for r in tuning if (r[schema.ENV],
               r[schema.PERTURB], r[schema.LR]) == ("rl_lr/PointNav-v0", "clean", "constant"))}
    (cartpole,), (pointnav,), (whole,) = steps["CartPole-v1"], steps["rl_lr/PointNav-v0"], trained
    assert (f"{configurations} configurations x {seeds} seeds = {configurations * seeds} runs, "
            f"{cartpole:,} env steps on CartPole-v1 and {pointnav:,} on PointNav-v0") in readme
    assert f"so {configurations * seeds} runs train {whole:,}" in readme

    rivals = {(env, condition): found.comparison.rival for (env, condition, _), found
              in _verdicts(RESULTS / "fair", schema.EVAL_AUC).items()}
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
    data = _results(RESULTS / name)
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


NONSTATIONARY = RESULTS / "nonstationary"


def _lr_of(spec: str) -> float:
    """The first number of a spec: a configuration's base LR."""
    found = re.search(r"\(([\d.e-]+)", spec)
    assert found is not None, spec
    return float(found[1])


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
    tried = {_lr_of(r[schema.LR_SPEC]) for r in read_csv(NONSTATIONARY / schema.SUMMARY_CSV)
             if r[schema.PHASE] == schema.TUNE and r[schema.LR] == "constant"}
    highest = [f for f, row in chosen.items() if _lr_of(row[schema.LR_SPEC]) == max(tried)]
    assert len(tried) == 8 and sorted(highest) == ["constant", "oracle_reset", "volatility"]
    assert f"same LR the constant's search chose ({max(tried):g})" in readme

    def last(policy: str, metric: str) -> list[int]:
        return sorted(int(data.curves[r[schema.RUN_ID]][metric][1][-1]) for r in data.summary
                      if r[schema.LR] == policy)

    assert set(last("oracle_reset", "controller/cleared")) == {5}
    detected = last("reset_on_change", "controller/resets")
    assert f"between {detected[0]} and {detected[-1]} times per run for 5 switches" in readme

    task = tasks(_results(NONSTATIONARY))[0]
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
    on_auc = _verdicts(NONSTATIONARY, schema.EVAL_AUC)
    rivals = {found.comparison.rival for found in on_auc.values()}
    needed = {f"{found.needed:.2f}" for found in on_auc.values()}
    worse = {policy for (_, _, policy), found in on_auc.items() if found.words == WORSE}
    assert rivals == {"cosine_warmup"} and len(needed) == 1
    assert not any(found.words == BETTER for found in on_auc.values())
    assert (f"none of its {len(on_auc)} comparisons on the AUC, each detecting P(improvement) "
            f">= {needed.pop()} with 80 % power), and {len(worse)} of them are clearly worse "
            "(Adam with equal betas and Adam-Rel)") in readme
    assert worse == {"adam_equal_betas", "adam_rel"}
    task = tasks(_results(NONSTATIONARY))[0]
    against = {v.comparison.policy: v for v in verdicts(task.against_constant(schema.EVAL_AUC))}
    def ci(policy: str) -> str:
        found = against[policy].comparison.ci
        return f"{found.point:.2f} [{found.low:.2f}, {found.high:.2f}]"

    assert against["oracle_reset"].words == BETTER
    assert f"beats the tuned constant at the edge of its CI (P {ci('oracle_reset')})" in readme
    assert against["reset_on_change"].words not in (BETTER, WORSE)
    assert f"on the returns does not ({ci('reset_on_change')})" in readme


LR_ROBUSTNESS = RESULTS / "lr_robustness"


def _robustness(env: str, score: str) -> Robustness:
    """E3's robustness to the base LR of one task on ``score``: its one group of starts."""
    task = next(t for t in tasks(_results(LR_ROBUSTNESS)) if t.env == env)
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
    data = _results(LR_ROBUSTNESS)
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
    lows = {p: number(extremes(task, auc, p)[0].row[schema.AUC_IQM]) for p in policies}
    assert max(lows, key=lambda p: lows[p]) == "kl_adaptive"
    kl_low, kl_high = extremes(task, auc, "kl_adaptive")
    assert (kl_low.start, kl_high.start) == ("x0.4642", "x2.154")
    assert extremes(task, auc, "constant")[0].start == "x10"
    assert "its AUC stays between 271 [244, 310] and 337 [292, 373]" in readme
    assert "falls to 167 [132, 220] at `x10` and hypergradient's to 197 [97.4, 249]" in readme

    assert (KLAdaptive(1e-3).target, KLAdaptive(1e-3).max_lr) == (0.008, 0.01)
    assert "(kl_adaptive's target KL 0.008 and cap 0.01" in readme
    cap = KLAdaptive(1e-3).max_lr
    centre = _lr_of(next(r[schema.LR_SPEC] for r in data.summary
                         if r[schema.ENV] == "CartPole-v1" and r[schema.BASE_LR] == "x1"))
    for start, _ in auc.starts:
        assert np.median(final_lrs("CartPole-v1", "kl_adaptive", start)) == cap
    assert f"up to its default cap of {cap:g}" in readme
    assert f"about {cap / centre:.1f} times the tuned constant" in readme
    high = [runs["CartPole-v1", "kl_adaptive", s] for s in ("x4.642", "x10")]
    above = [_lr_of(rows[0][schema.LR_SPEC]) for rows in high]
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
    assert extremes(task, auc, "bandit")[1].start == "x1"
    bandit = Bandit(1e-3)
    updates = _facts(LR_ROBUSTNESS).updates["CartPole-v1"]
    assert (len(bandit.arms), bandit.period, min(bandit.arms), max(bandit.arms)) == (5, 5, 0.25, 4)
    assert (f"59 PPO updates make {59 // bandit.period} periods" in readme and updates == {59})
    for start, _ in auc.starts:  # "the first 5 of which try every arm once"
        for row in runs["CartPole-v1", "bandit", start]:
            base = _lr_of(row[schema.LR_SPEC])
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
    assert extremes(sac_task, sac_auc, "constant")[1].start == "x4.642"
    assert sac_auc.found["constant", "x4.642"].words not in (BETTER, WORSE)
    assert "the constant's AUC is highest at `x4.642` (-732 [-816, -699]" in readme

    # the compute to match the tuned constant
    chosen = next(r for r in read_csv(RESULTS / "fair" / schema.SELECTION_CSV)
                  if r[schema.ENV] == "CartPole-v1" and r[schema.PERTURB] == "clean"
                  and r[schema.FAMILY] == "constant")
    assert _lr_of(chosen[schema.LR_SPEC]) == centre
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
    task = next(t for t in tasks(_results(LR_ROBUSTNESS)) if t.env == "CartPole-v1")
    worse = sorted(auc.worse(p)[0] for p in task.adaptive)
    starts = {auc.worse(p)[1] for p in task.adaptive}
    assert starts == {7}
    assert (f"each is worse than the tuned constant from {worse[0]} to {worse[-1]} of the 7 "
            "starts") in readme
    level = {s for p in task.adaptive for s in _starts(auc, p, lambda w: w != WORSE)}
    assert level <= {"x0.4642", "x1", "x2.154"}
    assert "none is level with it from a start more than about twice or half the tuned LR" \
        in readme
    low, high = extremes(task, auc, "kl_adaptive")
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
    data = _results(LR_ROBUSTNESS)
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
    lr = _lr_of(best["spec"])
    tuned = _lr_of(centre[0][schema.LR_SPEC])
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
