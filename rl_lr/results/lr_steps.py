"""The LR a group of runs applied at every update, from their ``lr_trace.csv``
(:mod:`rl_lr.run.lr_trace`), read lazily per run: what the LR figures draw as steps.

A run's trace is a step function per network: each row's ``lr`` holds from its ``timesteps``
until the network's next row. Its first network is the one ``progress.csv``'s ``lr`` reads.
Before a run's first update (its step-0 evaluation), the evaluation rows give the LR; after
its last row, the LR holds until the run's last evaluation. Runs written before traces existed
have no file: :func:`group_steps` returns None and the figures fall back on the evaluation
points.

    >>> grid, values = merge_steps([(np.array([0.0, 64, 256]), np.array([1.0, 0.5, 0.25]), 512.0),
    ...                             (np.array([0.0, 128]), np.array([1.0, 0.5]), 512.0)])
    >>> grid.tolist(), values.tolist()
    ([0.0, 64.0, 128.0, 256.0, 512.0], [[1.0, 0.5, 0.5, 0.25, 0.25], [1.0, 1.0, 0.5, 0.5, 0.5]])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rl_lr import schema
from rl_lr.files import read_csv
from rl_lr.results.scores import Trace, number

__all__ = ["group_steps", "merge_steps", "read_lr_trace", "run_steps"]

Array = NDArray[np.float64]


def read_lr_trace(run_dir: Path) -> Trace | None:
    """``(timesteps, lr)`` of the first network in a run directory's ``lr_trace.csv``; None
    when the run has no trace (written before traces existed) or an empty one."""
    rows = read_csv(run_dir / schema.LR_TRACE_CSV, missing_ok=True)
    if not rows:
        return None
    first = rows[0][schema.NETWORK]
    mine = [row for row in rows if row[schema.NETWORK] == first]
    return (np.array([number(r[schema.TIMESTEPS]) for r in mine]),
            np.array([number(r[schema.LR]) for r in mine]))


def run_steps(trace: Trace, evaluations: Trace | None) -> tuple[Array, Array, float]:
    """A run's LR as a step function: the evaluation points before its first update, then
    its trace; and the step it lasts to (its last evaluation, or last trace row)."""
    steps, lrs = (np.asarray(a, dtype=float) for a in trace)
    end = float(steps[-1])
    if evaluations is not None and evaluations[0].size:
        eval_steps, eval_lrs = (np.asarray(a, dtype=float) for a in evaluations)
        before = eval_steps < steps[0]
        steps = np.concatenate([eval_steps[before], steps])
        lrs = np.concatenate([eval_lrs[before], lrs])
        end = max(end, float(eval_steps.max()))
    return steps, lrs, end


def merge_steps(runs: Sequence[tuple[Array, Array, float]]) -> tuple[Array, Array]:
    """Step functions ``(steps, lr, end)`` of several runs on the union of their steps (and
    ends): ``(grid, values (runs, points))``, NaN before a run starts and after it ends."""
    grid = np.unique(np.concatenate([np.append(s, end) for s, _, end in runs]))
    values = np.full((len(runs), grid.size), np.nan)
    for i, (steps, lrs, end) in enumerate(runs):
        at = np.searchsorted(steps, grid, side="right") - 1  # the row holding at each point
        inside = (at >= 0) & (grid <= end)
        values[i, inside] = lrs[at[inside]]
    return grid, values


def group_steps(run_dirs: Sequence[Path], evaluations: Sequence[Trace | None]
                ) -> tuple[Array, Array, tuple[int, ...]] | None:
    """The step functions of a group's runs (their directories, and their evaluation
    points' LR) on one grid: ``(grid, values (runs, points), indices of the runs drawn)``;
    None when no run has a trace. A run without a trace contributes its evaluation points."""
    traces = [read_lr_trace(d) for d in run_dirs]
    if all(t is None for t in traces):
        return None
    runs, drawn = [], []
    for i, (trace, evals) in enumerate(zip(traces, evaluations, strict=True)):
        source = trace if trace is not None else evals
        if source is None or not source[0].size:
            continue
        runs.append(run_steps(source, evals))
        drawn.append(i)
    grid, values = merge_steps(runs)
    return grid, values, tuple(drawn)
