"""Shared machinery of the results README tests (``tests/test_results*.py``), not a test
module: each committed results directory read once (:func:`results`), the checker of every
count a README quotes (:class:`CountChecker`, against the :class:`Facts` of the directory's
data; the grammar of those counts is below), and small readers the experiments' tests share:
:func:`verdicts_of` (an experiment's verdicts, cell by cell), :func:`lr_of` (a spec's base LR)
and :func:`rounded_as` (a value rounded as a README's figure is)."""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rl_lr import schema
from rl_lr.metrics.power import BETTER, WORSE
from rl_lr.report.base_lr import against_tuned
from rl_lr.report.task import SCORES, tasks
from rl_lr.report.verdicts import Verdict, verdicts
from rl_lr.results import CURVE_METRICS, Results, load_results
from rl_lr.results.scores import group_key, is_diverged, number, steps_to_threshold

RESULTS = Path(__file__).resolve().parents[1] / "results"
DIRECTORIES = sorted(p.parent for p in RESULTS.glob("*/README.md")
                     if (p.parent / "report" / "tables.md").is_file())
NUMBER = r"-?[\d,]+(?:\.\d+)?(?:e[+-]\d+)?"
INTERVAL = re.compile(rf"{NUMBER} \[{NUMBER}, {NUMBER}\]")
N_UPDATES = "train/n_updates"  # curves.csv: SB3's gradient-step counter (rollouts x epochs)


@functools.cache
def results(directory: Path) -> Results:
    """Each results directory read once for every test module."""
    return load_results(directory, curve_metrics=(*CURVE_METRICS, N_UPDATES))


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


def count(text: str) -> int:
    """A count as a README writes it ("1,000")."""
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
        self.data = data = results(directory)
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
            rollouts, rest = divmod(count(row[schema.TIMESTEPS]), rollout)
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
def facts(directory: Path) -> Facts:
    """A directory's :class:`Facts`, computed once."""
    return Facts(directory)


class CountChecker:
    """The errors of one README: counts that disagree with the data, and counts quoted in
    prose outside the patterns."""

    def __init__(self, directory: Path) -> None:
        self.facts = own = facts(directory)
        self.others = {d.name: facts(d) for d in DIRECTORIES}
        tasks = [n for env in own.tasks for n in _task_names(env)]
        policies = [p for env in own.tasks for p in own.labels(env, schema.LR)]
        self.task = _words(tasks)
        self.policy = _words(policies)
        subject = rf"every policy|{self.policy}(?:{SUBJECT_JOIN}{self.policy})*"
        conds = _words(c for env in own.tasks for c in own.labels(env, schema.PERTURB))
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
            if claim["thr"][0].isdigit() and threshold != {count(claim["thr"])}:
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
              lambda m: (count(m[1]),) * 2,
              lambda m: (names[m[2]].data.planned, names[m[2]].data.finished) if m[2] in names
              else "no such experiment")
        check("totals", rf"\b({COUNT}) of ({COUNT}) runs, (\d+) diverged, (\d+) failed",
              lambda m: tuple(count(g) for g in m.groups()),
              lambda m: (data.finished, data.planned, sum(map(is_diverged, data.summary)),
                         len(data.failures)))
        check("totals", r"\b(\d+) diverged, (\d+) failed", lambda m: (int(m[1]), int(m[2])),
              lambda m: (sum(map(is_diverged, data.summary)), len(data.failures)))
        check("totals", rf"(?P<task>{self.task})(?: \([^)]*\))? ({COUNT}) runs\b",
              lambda m: count(m[2]), lambda m: len(facts.rows(facts.named_tasks(m["task"])[0])))
        check("totals", rf"\b(\d+) (?:policies )?x (\d+) (?:conditions )?x (\d+)"
              rf"(?: seeds| = ({COUNT}) runs)",
              lambda m: tuple(count(g) for g in m.groups() if g),
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


# ---------------------------------------------------------------- shared by the experiments' tests

def lr_of(spec: str) -> float:
    """The first number of a spec: a configuration's base LR."""
    found = re.search(r"\(([\d.e-]+)", spec)
    assert found is not None, spec
    return float(found[1])


def verdicts_of(directory: Path, score: str) -> dict[tuple[str, str, str], Verdict]:
    """(env, condition, policy) -> the verdict of every comparison on ``score``."""
    return {(task.env, task.condition(found.comparison.panel), found.comparison.policy): found
            for task in tasks(results(directory)) for found in verdicts(task.comparisons(score))}


def rounded_as(figure: str, value: float) -> str:
    """``value`` with as many decimals as ``figure`` has."""
    return f"{value:.{len(figure.partition('.')[2])}f}"
