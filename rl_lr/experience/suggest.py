"""A starting LR policy and a search space for a task, from the runs of a
:class:`~rl_lr.experience.index.RunIndex`: :func:`suggest` (``rl-lr suggest``, and the
``--warm-start`` of ``rl-lr tune``, ``find-lr`` and ``pbt``).

How runs are compared: each run's clean eval AUC is ranked within its **panel** -- the runs of
one output directory on the same env, algorithm, preset, perturbation and budget -- as a
percentile (0 worst, 1 best; a diverged run ranks last), so experiments with other budgets and
reward scales are compared fairly. A **good** run is in its panel's top quarter
(:data:`GOOD`). A **configuration** is an LR spec (with its optimizer and preset); its score
is the mean percentile of its runs, shrunk towards 0.5 as if it had :data:`SHRINK` more runs at
0.5 (two lucky seeds do not beat fifty good ones).

Two kinds of evidence, the nearer one used:

- **same task** (same env and algorithm; similarity 1.0 with the same preset, 0.75 with
  another): the best configurations by score; the starts are those scoring above the middle
  (0.5) without a special optimizer (at least the best), and the space holds their policy
  families, each with its LR range spanning its good runs' and its starts' base LRs (x/÷
  :data:`WIDEN`);
- **prior** (the same algorithm on other envs; similarity 0.5 with the same preset, 0.25 with
  another): the distribution of the good runs' base LRs (10th, 50th, 90th percentiles) and
  each policy family's rate of good runs; the start is the family with the best rate at the
  median good base LR, the space the best families over the good LRs' range (x/÷ WIDEN).

With neither -- no run of the algorithm -- the suggestion is empty and says "no relevant
experience".
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rl_lr import schema
from rl_lr.experience.index import KIND, RunIndex
from rl_lr.experience.policies import base_lr, policy_family, rescale, round_lr, space_entry

__all__ = ["DEFAULT_FROM", "GOOD", "SHRINK", "WIDEN", "Configuration", "Family", "Suggestion",
           "suggest"]

DEFAULT_FROM = Path(__file__).resolve().parents[2] / "results"  # the repository's results/
GOOD = 0.75  # a good run: its AUC percentile in its panel is at least this
SHRINK = 3  # a configuration's score: its runs' mean percentile with SHRINK more runs at 0.5
WIDEN = 3.0  # an LR range spans the good base LRs, widened by this factor each way

Row = dict[str, Any]


@dataclass(frozen=True)
class Configuration:
    """One LR spec's runs: how many, how they ranked (mean percentile in their panels), the
    mean AUC, divergences, and where they are."""

    spec: str
    optimizer: str
    preset: str
    runs: int
    score: float
    mean_auc: float
    diverged: int
    similarity: float
    perturbations: tuple[str, ...]
    envs: tuple[str, ...]
    sources: tuple[str, ...]
    run_ids: tuple[str, ...]

    @property
    def policy(self) -> str | None:
        return policy_family(self.spec)

    @property
    def base_lr(self) -> float | None:
        return base_lr(self.spec)


@dataclass(frozen=True)
class Family:
    """A policy family in the prior: its runs, the share of them that were good, its best
    configuration."""

    name: str
    runs: int
    good_rate: float
    best: Configuration


@dataclass
class Suggestion:
    """What :func:`suggest` found; ``basis`` is ``same task``, ``prior`` or ``none``."""

    env: str
    algo: str
    preset: str | None
    basis: str
    start: str | None = None
    starts: list[str] = field(default_factory=list)
    configurations: list[Configuration] = field(default_factory=list)
    families: list[Family] = field(default_factory=list)
    lr_quantiles: tuple[float, float, float] | None = None  # 10th, 50th, 90th of good base LRs
    lr_range: tuple[float, float] | None = None
    space: dict[str, Any] | None = None
    evidence: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.start is None

    @property
    def base_lr(self) -> float | None:
        """The start's base LR (the centre of ``find-lr --warm-start``)."""
        return base_lr(self.start)

    def grid_bounds(self, decades: float = 1.0) -> tuple[float, float]:
        """``[min, max]`` of an LR range test centred (in log space) on the start's base LR,
        at least ``decades`` each way and covering :attr:`lr_range`.

        Raises:
            ValueError: an empty suggestion.
        """
        centre = self.base_lr
        if centre is None:
            raise ValueError("no suggestion to centre on")
        half = decades
        if self.lr_range is not None:
            low, high = self.lr_range
            half = max(half, math.log10(centre / low), math.log10(high / centre))
        return round_lr(centre / 10**half), round_lr(centre * 10**half)

    def population_lrs(self, members: int) -> list[float]:
        """``members`` initial LRs for PBT: log-spaced over the good LRs (the 10th to the 90th
        percentile; same task, or when those agree within WIDEN: the LR range), the median among
        them for an odd count."""
        if self.empty:
            raise ValueError("no suggestion to draw a population from")
        low, high = (self.lr_quantiles[0], self.lr_quantiles[2]) if self.lr_quantiles else \
            (self.lr_range or (self.base_lr, self.base_lr))
        assert low is not None and high is not None
        if high < WIDEN * low and self.lr_range:  # the good LRs agree: spread over the range
            low, high = self.lr_range
        if members == 1 or low == high:
            return [round_lr(math.sqrt(low * high))] * members
        return [round_lr(x) for x in np.geomspace(low, high, members)]

    def describe(self) -> list[str]:
        """The suggestion as lines of text (``rl-lr suggest``)."""
        head = f"{self.algo} on {self.env}" + (f" (preset {self.preset})" if self.preset else "")
        if self.empty:
            return [f"no relevant experience for {head}", *self.evidence]
        lines = [f"suggestion for {head}, from {self.basis} experience:", f"start: {self.start}"]
        if self.configurations:
            lines.append("best configurations (score: mean AUC percentile in their panels):")
            for i, c in enumerate(self.configurations, 1):
                extra = f" optimizer {c.optimizer}" if c.optimizer else ""
                lines.append(
                    f"  {i}. {c.spec}{extra}: score {c.score:.2f}, mean AUC {c.mean_auc:.4g}, "
                    f"{c.runs} runs ({c.diverged} diverged), preset {c.preset}, "
                    f"similarity {c.similarity:.2f}; perturbations {', '.join(c.perturbations)}; "
                    f"from {', '.join(c.sources)}")
        if self.lr_quantiles:
            q10, q50, q90 = self.lr_quantiles
            lines.append(f"good base LRs ({self.basis}): 10% {q10:.3g}, "
                         f"median {q50:.3g}, 90% {q90:.3g}")
        if self.families:
            lines.append("policy families (share of their runs in their panel's top quarter):")
            lines += [f"  {f.name}: {f.good_rate:.0%} of {f.runs} runs; best {f.best.spec} "
                      f"(envs {', '.join(f.best.envs)})" for f in self.families]
        if self.lr_range:
            lines.append(f"LR range: [{self.lr_range[0]:.3g}, {self.lr_range[1]:.3g}]")
        return [*lines, "evidence:", *[f"  {e}" for e in self.evidence]]


# --------------------------------------------------------------------------------------------
# Ranking runs within their panels
# --------------------------------------------------------------------------------------------


def _percentiles(rows: Sequence[Row]) -> list[float]:
    """Each run's AUC percentile within its panel (module docstring)."""
    panels: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        panels[(r["source"], r[schema.ENV], r[schema.ALGO], r["preset"], r[schema.PERTURB],
                r[schema.STEPS])].append(i)
    out = [0.5] * len(rows)
    for members in panels.values():
        values = np.array([-math.inf if rows[i][schema.DIVERGED] or rows[i][schema.EVAL_AUC]
                           is None else float(rows[i][schema.EVAL_AUC]) for i in members])
        if len(values) < 2:
            continue
        order = values.argsort(kind="stable")
        ranks = np.empty(len(values))
        ranks[order] = np.arange(len(values))
        for v in np.unique(values):  # ties share their mean rank
            ranks[values == v] = ranks[values == v].mean()
        for i, rank in zip(members, ranks / (len(values) - 1), strict=True):
            out[i] = float(rank)
    return out


def _configurations(rows: Sequence[Row], ranks: Sequence[float],
                    similarity: Mapping[int, float]) -> list[Configuration]:
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r[schema.LR_SPEC]:
            groups[(r[schema.LR_SPEC], r[schema.OPTIMIZER_SPEC] or "", r["preset"])].append(i)
    found = []
    for (spec, optimizer, preset), members in groups.items():
        aucs = [rows[i][schema.EVAL_AUC] for i in members if rows[i][schema.EVAL_AUC] is not None]
        found.append(Configuration(
            spec, optimizer, preset, len(members),
            (sum(ranks[i] for i in members) + 0.5 * SHRINK) / (len(members) + SHRINK),
            float(np.mean(aucs)) if aucs else math.nan,
            sum(bool(rows[i][schema.DIVERGED]) for i in members),
            max(similarity[i] for i in members),
            tuple(sorted({str(rows[i][schema.PERTURB]) for i in members})),
            tuple(sorted({str(rows[i][schema.ENV]) for i in members})),
            tuple(sorted({str(rows[i]["source"]) for i in members})),
            tuple(str(rows[i][schema.RUN_ID]) for i in members)))
    return sorted(found, key=lambda c: (-c.score, -c.similarity, -c.runs, c.spec))


def _lr_range(lrs: Sequence[float]) -> tuple[float, float]:
    return round_lr(min(lrs) / WIDEN), round_lr(max(lrs) * WIDEN)


def _space(entries: Sequence[tuple[str, float, float]]) -> dict[str, Any]:
    policies: dict[str, Any] = {}
    for spec, low, high in entries:
        made = space_entry(spec, low, high)
        if made is not None and made[0] not in policies:
            policies[made[0]] = made[1]
    return {"policies": policies}


# --------------------------------------------------------------------------------------------
# The suggestion
# --------------------------------------------------------------------------------------------


def _similarity(row: Row, env: str, algo: str, preset: str | None) -> float:
    if row[schema.ALGO] != algo:
        return 0.0
    same_preset = preset is None or row["preset"] == preset
    if row[schema.ENV] == env:
        return 1.0 if same_preset else 0.75
    return 0.5 if same_preset else 0.25


def _evidence(index: RunIndex, rows: Sequence[Row], similarity: Mapping[int, float]) -> list[str]:
    counts: dict[float, int] = defaultdict(int)
    for value in similarity.values():
        counts[value] += 1
    names = {1.0: "same env, algo and preset", 0.75: "same env and algo, another preset",
             0.5: "same algo and preset, other envs", 0.25: "same algo, other envs and preset"}
    sources = sorted({str(r["source"]) for r in rows})
    return [f"{len(index)} runs indexed from {len(index.sources)} directories; "
            f"{len(rows)} used",
            *[f"{n} runs with similarity {s:.2f} ({names[s]})" for s, n in
              sorted(counts.items(), reverse=True)],
            f"envs: {', '.join(sorted({str(r[schema.ENV]) for r in rows}))}",
            f"from: {', '.join(sources[:6])}" + (f" and {len(sources) - 6} more"
                                                 if len(sources) > 6 else "")]


def suggest(index: RunIndex, env: str, algo: str, preset: str | None = None,
            top: int = 5) -> Suggestion:
    """A starting LR policy and a search space for ``algo`` on ``env`` (module docstring);
    ``preset``: prefer runs with it (``None``: any); ``top``: configurations listed and
    starts proposed."""
    rows = [r for r in index.rows if r[schema.ALGO] == algo and r[schema.LR_SPEC]
            and r[KIND] != "pbt"]  # a PBT row's spec is a method, not an LR policy
    same = [r for r in rows if r[schema.ENV] == env]
    basis = "same task" if same else "prior" if rows else "none"
    used = same or rows
    found = Suggestion(env, algo, preset, basis)
    if not used:
        algos = sorted({str(r[schema.ALGO]) for r in index.rows})
        found.evidence = [f"{len(index)} runs indexed from {len(index.sources)} directories; "
                          f"none of {algo} (algorithms there: {', '.join(algos) or 'none'})"]
        return found
    if preset is not None and any(r["preset"] == preset for r in used):
        closer = [r for r in used if r["preset"] == preset]
        used = closer if len(closer) >= 0.5 * len(used) or basis == "same task" else used
    ranks = _percentiles(used)
    similarity = {i: _similarity(r, env, algo, preset) for i, r in enumerate(used)}
    configurations = _configurations(used, ranks, similarity)
    plain = [c for c in configurations if not c.optimizer and c.base_lr]
    found.evidence = _evidence(index, used, similarity)
    good = [r for r, rank in zip(used, ranks, strict=True)
            if rank >= GOOD and r["base_lr"] and not r[schema.DIVERGED]]
    if not good:  # no run in a top quarter (single-run panels): the best run
        good = sorted((r for r in used if r["base_lr"]),
                      key=lambda r: -(r[schema.EVAL_AUC] or -math.inf))[:1]
    if not good:
        found.evidence.append("no run with an LR policy rl-lr can read: nothing to suggest")
        return found
    logs = np.log(np.array([r["base_lr"] for r in good], dtype=float))
    q10, q50, q90 = (float(x) for x in np.exp(np.quantile(logs, [0.1, 0.5, 0.9])))
    found.lr_quantiles = (round_lr(q10), round_lr(q50), round_lr(q90))
    if basis == "same task":
        found.configurations = configurations[:top]
        promising = [c for c in plain[:top] if c.score >= 0.5] or plain[:1]  # above the middle
        found.start = promising[0].spec if promising else None
        found.starts = [c.spec for c in promising]
        entries = []
        for family in dict.fromkeys(c.policy for c in promising):
            lrs = [r["base_lr"] for r in good if r["policy"] == family] + \
                [c.base_lr for c in promising if c.policy == family and c.base_lr]
            best = next(c for c in promising if c.policy == family)
            entries.append((best.spec, *_lr_range(lrs)))
        found.lr_range = _lr_range([r["base_lr"] for r in good] +
                                   [c.base_lr for c in promising if c.base_lr])
        found.space = _space(entries[:3]) if entries else None
        return found
    found.lr_range = _lr_range([q10, q90])
    by_family: dict[str, list[float]] = defaultdict(list)
    for r, rank in zip(used, ranks, strict=True):
        if r["policy"] and r["base_lr"]:
            by_family[r["policy"]].append(rank)
    families = []
    for name, family_ranks in by_family.items():
        top_config = next((c for c in plain if c.policy == name), None)
        if top_config is not None:
            families.append(Family(name, len(family_ranks),
                                   float(np.mean([x >= GOOD for x in family_ranks])), top_config))
    families.sort(key=lambda f: (-(f.runs >= 3), -f.good_rate, -f.runs, f.name))
    found.families = families[:top]
    if not families:
        return found
    starts = [rescale(f.best.spec, found.lr_quantiles[1]) for f in families[:3]]
    starts += [rescale(families[0].best.spec, q) for q in (found.lr_quantiles[0],
                                                           found.lr_quantiles[2])]
    found.starts = list(dict.fromkeys(starts))[:top]
    found.start = found.starts[0]
    low, high = found.lr_range
    found.space = _space([(f.best.spec, low, high) for f in families[:3]])
    return found
