"""The scoring rules of an experiment, each in one place: ``metrics.csv``
(:mod:`.group_metrics`) and everything read back (:mod:`.load`, the figures, the report)
score runs with these functions, so a table and a figure never disagree on what a run scored.

- :func:`final_score`: a run's final clean eval return; a diverged run scores its last finite
  evaluation (:func:`last_finite_evaluation`), NaN when it has none;
- :func:`is_diverged`, :func:`steps_to_threshold`: what ``summary.json`` says of a run;
- :func:`ranking`: policies best first by IQM, ties by mean, then name;
- :func:`env_range`: the normalisation range of a suite env (random -> 0, reference -> 1);
- :func:`switch_steps`: when a ``switch(...)`` perturbation changes regime, in timesteps;
- :func:`group_key`: a run's group, its axis labels but the seed.

Bootstrap intervals: every one uses :data:`REPS` resamples and a seed derived from a name, so
each file is reproducible. Two seed rules, kept as they are because changing either would
change committed numbers:

- ``metrics.csv`` (:mod:`.group_metrics`) seeds a group's intervals with
  :func:`group_seed`, the CRC-32 of the group's name (plus a suffix per metric);
- the figures and the report (``report/index.html``, ``report/tables.md``) seed with
  :data:`SEED` itself (intervals pooled over panels) or :func:`name_seed`, the CRC-32 of
  ``SEED`` and the names of the item drawn (a panel, a policy).

    >>> diverged = (np.array([0, 10, 20]), np.array([1.0, 2.0, np.nan]))
    >>> final_score({"final_eval_return": ""}, diverged)
    2.0
    >>> final_score({"final_eval_return": 3}, None)
    3.0
    >>> group_key({"env": "CartPole-v1", "lr": "cosine", "seed": "0"})
    (('env', 'CartPole-v1'), ('lr', 'cosine'))
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from rl_lr import schema
from rl_lr.envs import parse_perturbations, switch_timesteps
from rl_lr.envs.suites import env_entry
from rl_lr.files import run_n_envs
from rl_lr.metrics import Interval

__all__ = ["REPS", "SEED", "Panel", "Trace", "at_maximum", "env_maximum", "env_range",
           "final_score", "group_key",
           "group_seed", "is_diverged", "last_finite_evaluation", "name_seed", "number",
           "ranking", "steps_to_threshold", "switch_steps"]

Panel = tuple[tuple[str, str], ...]  # (axis, label) pairs: a panel, or a group's key
Trace = tuple[NDArray[np.float64], NDArray[np.float64]]  # (timesteps, values) of one run

REPS = 2000  # bootstrap resamples of every interval
SEED = 0  # the seed every bootstrap of a figure or the report derives from


def group_seed(name: str) -> int:
    """The bootstrap seed of a ``metrics.csv`` interval: CRC-32 of the group's name."""
    return zlib.crc32(name.encode())


def name_seed(*names: str) -> int:
    """The bootstrap seed of a named item of a figure or the report (a panel, a policy)."""
    return zlib.crc32("|".join((str(SEED), *names)).encode())


def number(text: Any) -> float:
    """A CSV cell (or JSON value) as a float; NaN when empty or not a number."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def group_key(labels: Mapping[str, str]) -> Panel:
    """The group of a run: its axis labels but the seed (a row of ``metrics.csv``)."""
    return tuple((k, v) for k, v in labels.items() if k != schema.SEED)


def last_finite_evaluation(trace: Trace | None) -> tuple[float, float] | None:
    """``(timesteps, return)`` of the last finite point of an eval curve; None if none."""
    if trace is None:
        return None
    finite = np.isfinite(trace[1])
    if not finite.any():
        return None
    return float(trace[0][finite][-1]), float(trace[1][finite][-1])


def final_score(summary: Mapping[str, Any], eval_trace: Trace | None) -> float:
    """A run's final clean eval return (``summary``: its ``summary.json`` or ``summary.csv``
    row); a diverged run scores its last finite evaluation of ``eval_trace``, NaN if none."""
    value = number(summary.get(schema.FINAL_EVAL_RETURN))
    if math.isfinite(value):
        return value
    last = last_finite_evaluation(eval_trace)
    return last[1] if last is not None else math.nan


def is_diverged(summary: Mapping[str, Any]) -> bool:
    """The run diverged (``true`` in ``summary.json``, ``1`` in ``summary.csv``)."""
    return str(summary.get(schema.DIVERGED, "")).lower() in ("1", "true")


def steps_to_threshold(summary: Mapping[str, Any]) -> float:
    """Timesteps the run took to reach its env's reward threshold; NaN if it never did (or
    the env has none); 0 when its untrained policy (the step-0 evaluation) already scored it
    (:mod:`rl_lr.run.summary` says why step 0 counts)."""
    return number(summary.get(schema.STEPS_TO_THRESHOLD))


def ranking(intervals: Mapping[str, Mapping[str, Interval]]) -> list[str]:
    """Policies best first by the IQM of their intervals (ties: mean, then name)."""
    return sorted(intervals, key=lambda p: (-intervals[p]["iqm"].point,
                                            -intervals[p]["mean"].point, p))


def env_range(env_id: str) -> tuple[float, float] | None:
    """``(random_return, reference_return)`` of a suite env, None for others."""
    try:
        entry = env_entry(env_id)
    except KeyError:
        return None
    return float(entry.random_return), float(entry.reference_return)


def env_maximum(env_id: str) -> float | None:
    """The env's maximum return where it is known: a suite env whose reference return is its
    maximum (:mod:`rl_lr.envs.suites` says so in the reference's source: CartPole-v1's 500,
    InvertedPendulum-v5's 1000); None for every other env.

    >>> env_maximum("CartPole-v1"), env_maximum("InvertedPendulum-v5"), env_maximum("Pendulum-v1")
    (500.0, 1000.0, None)
    """
    try:
        entry = env_entry(env_id)
    except KeyError:
        return None
    return float(entry.reference_return) if "maximum" in entry.source else None


def at_maximum(score: float, maximum: float | None) -> bool:
    """A final return at the env's maximum (:func:`env_maximum`; False when unknown): a run
    no policy can beat.

    >>> at_maximum(500.0, 500.0), at_maximum(499.9, 500.0), at_maximum(500.0, None)
    (True, False, False)
    """
    return maximum is not None and math.isfinite(score) and score >= maximum


def switch_steps(perturb: Any, steps: int, run_dir: Path) -> list[int]:
    """Timesteps of the regime switches of a run's ``switch(...)`` perturbations (``perturb``
    as its config or spec text, ``steps`` its budget), counted over the run's vectorised envs
    (its ``config.yaml`` in ``run_dir``)."""
    return switch_timesteps(parse_perturbations(perturb), steps, run_n_envs(run_dir))
