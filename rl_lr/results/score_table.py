"""Final scores of an experiment as rliable's contract, and the policies' aggregate intervals
over them: what the ranking, the aggregate figures and the report's ranking are drawn from
(:attr:`rl_lr.results.Results.score_table`).

    >>> import math
    >>> panels = [(("env", "Foo-v0"),)]
    >>> table = make_score_table(panels, ["a", "b"], {"Foo-v0": None},
    ...                          lambda panel, policy: [1.0, 2.0, math.nan])
    >>> table.scores["a"].shape, table.normalised, table.note
    ((2, 1), False, 'raw returns: Foo-v0 is in no env suite (no normalisation range)')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rl_lr import schema
from rl_lr.metrics import Interval, aggregate_with_cis, normalise
from rl_lr.results.scores import REPS, SEED, Panel

__all__ = ["ScoreTable", "make_score_table", "policy_intervals"]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class ScoreTable:
    """Final clean eval returns as rliable's contract: ``scores[policy]`` has shape
    ``(runs, tasks)``, one task per panel in :attr:`tasks`; normalised (0 = random policy,
    1 = the env's reference return) when every env's range is known."""

    scores: dict[str, Array]
    tasks: list[Panel]
    normalised: bool
    note: str = ""


def make_score_table(panels: Sequence[Panel], policies: Sequence[str],
                     ranges: Mapping[str, tuple[float, float] | None],
                     finals: Callable[[Panel, str], Iterable[float]]) -> ScoreTable:
    """Final scores per policy over the panels (tasks).

    A panel where some policy has no finished run (not planned there, or not yet) is left
    out; a policy with unequal runs per panel (a partial experiment) keeps its first ``k`` in
    plan (seed) order in each, ``k`` its smallest count. With several envs, those of no env
    suite (no normalisation range) are left out. All of it is said in :attr:`ScoreTable.note`.

    Args:
        panels: the panels, in plan order.
        policies: the policies (sorted).
        ranges: each env's normalisation range (None: in no suite), in the panels' order.
        finals: the final scores of a panel's runs of a policy, in plan order (NaN ignored).
    """
    envs = list(ranges)
    unknown = [env for env, r in ranges.items() if r is None]
    tasks, notes = list(panels), []
    if unknown and len(ranges) > 1:
        keep = {env for env, r in ranges.items() if r is not None} or {envs[0]}
        tasks = [t for t in tasks if dict(t)[schema.ENV] in keep]
        notes.append(f"left out {', '.join(e for e in unknown if e not in keep)}: in no "
                     "env suite, so returns cannot be normalised and pooled")
    elif unknown:
        notes.append(f"raw returns: {unknown[0]} is in no env suite (no normalisation range)")
    normalised = bool(tasks) and all(ranges[dict(t)[schema.ENV]] is not None for t in tasks)
    scores_of = {(t, p): [s for s in finals(t, p) if math.isfinite(s)]
                 for t in tasks for p in policies}
    usable = [t for t in tasks if all(scores_of[t, p] for p in policies)]
    if len(usable) < len(tasks):
        notes.append(f"{len(tasks) - len(usable)} panel(s) left out: not every policy "
                     "has a finished run there (not planned there, or not finished yet)")
    scores: dict[str, Array] = {}
    for p in policies if usable else []:
        n = min(len(scores_of[t, p]) for t in usable)
        if any(len(scores_of[t, p]) > n for t in usable):
            notes.append(f"{p}: unequal runs per panel, first {n} (by seed order) used")
        columns = []
        for t in usable:
            column = np.array(scores_of[t, p][:n])
            r = ranges[dict(t)[schema.ENV]]
            columns.append(normalise(column, r[0], r[1]) if normalised and r else column)
        scores[p] = np.stack(columns, axis=1)
    return ScoreTable(scores, usable, normalised, "; ".join(notes))


def policy_intervals(table: ScoreTable) -> dict[str, dict[str, Interval]]:
    """IQM, mean, median (and optimality gap when normalised) per policy with 95 %
    stratified-bootstrap CIs, seeded (:data:`~rl_lr.results.scores.SEED`)."""
    if not table.scores:
        return {}
    if table.normalised:  # scores are already normalised: the identity range
        return aggregate_with_cis(table.scores, rng=SEED, low=0.0, high=1.0, reps=REPS)
    return aggregate_with_cis(table.scores, rng=SEED, reps=REPS)
