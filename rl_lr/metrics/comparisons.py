"""Comparing policies on final scores ``{policy: array (runs, tasks)}``: probability of
improvement (rliable's ``P(X > Y)``; one pair, or every ordered pair on common resamples) and
performance profiles, each with stratified-bootstrap percentile CIs (machinery in
:mod:`rl_lr.metrics.resampling`). Import from :mod:`rl_lr.metrics`.

Why these CIs are not :func:`rl_lr.metrics.interval_estimates` of a function: P(X > Y) resamples
two score arrays jointly (x's resamples drawn first, then y's; or one stream per policy shared by
all its pairs), which a function of one policy's ``(runs, tasks)`` array cannot express; and
both work on counts of how often each sorted run is drawn (O(runs) per resample, vectorised over
resamples) rather than calling a function once per resample.

    >>> probability_of_improvement([[3.0], [4.0]], [[1.0], [3.0], [5.0]])
    0.5833333333333334
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from rl_lr.metrics.arrays import Array, Ints, as_float_array, check_scores
from rl_lr.metrics.resampling import (
    Interval,
    Seed,
    as_generator,
    check_interval_args,
    chunk_size,
    named_streams,
    percentile_interval,
    resample_indices,
)

__all__ = [
    "pairwise_probability_of_improvement",
    "performance_profile",
    "performance_profile_ci",
    "probability_of_improvement",
    "probability_of_improvement_ci",
]


# --------------------------------------------------------------------------- P(X > Y)


def _check_pair(x: ArrayLike, y: ArrayLike) -> tuple[Array, Array]:
    a, b = check_scores(x, "x"), check_scores(y, "y")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"x and y must have the same tasks: shapes (runs_x, tasks) and (runs_y, tasks), "
            f"got {a.shape} and {b.shape}"
        )
    return a, b


def probability_of_improvement(x: ArrayLike, y: ArrayLike) -> float:
    """``P(X > Y)``: the probability that a run of policy X beats a run of Y on the same task,
    averaged over tasks.

    Per task ``P_m = U_m / (n_x n_y)`` with ``U_m = Σ_i Σ_j [x_i > y_j] + ½ [x_i = y_j]`` the
    Mann–Whitney U of x (``scipy.stats.mannwhitneyu(x, y).statistic``); rliable's
    ``probability_of_improvement``. 0.5 = no difference.

    Args:
        x: shape ``(runs_x, tasks)``.
        y: shape ``(runs_y, tasks)``.

    Example:
        >>> probability_of_improvement([[3.0], [4.0]], [[1.0], [3.0], [5.0]])  # (1.5 + 2) / 6
        0.5833333333333334
    """
    a, b = _check_pair(x, y)
    p = []
    for m in range(a.shape[1]):
        ys = np.sort(b[:, m])
        lo, hi = np.searchsorted(ys, a[:, m], "left"), np.searchsorted(ys, a[:, m], "right")
        p.append(np.sum(lo + hi) / (2.0 * a.shape[0] * b.shape[0]))
    return float(np.mean(p))


def _ranks(x: Array) -> Ints:
    """Position of each run in its task's ascending order, shape (runs, tasks)."""
    runs, tasks = x.shape
    rank = np.empty((runs, tasks), dtype=np.int32)
    order = np.argsort(x, axis=0, kind="stable")
    np.put_along_axis(rank, order, np.arange(runs, dtype=np.int32)[:, None], axis=0)
    return rank


def _sorted_counts(idx: Ints, rank: Ints) -> Ints:
    """How often each run is drawn, runs in ascending order of score per task:
    (chunk, runs, tasks) indices -> (chunk, tasks, runs) counts."""
    b, runs, t = idx.shape
    pos = rank[idx, np.arange(t)].astype(np.int64)
    pos += (np.arange(b)[:, None, None] * t + np.arange(t)[None, None, :]) * runs
    return np.bincount(pos.ravel(), minlength=b * t * runs).reshape(b, t, runs)


class _Resampler:
    """Stratified bootstrap counts of one policy's runs, chunk by chunk, in ascending order of
    score per task, with their cumulative sums: what P(X > Y) and profiles need."""

    def __init__(self, x: Array, reps: int, gen: np.random.Generator, chunk: int) -> None:
        runs, tasks = x.shape
        self.sorted = np.sort(x, axis=0)
        self._rank = _ranks(x)
        self._chunks = resample_indices(gen, reps, runs, tasks, chunk=chunk)

    def next(self) -> tuple[Ints, Ints]:
        """Counts (chunk, tasks, runs) and cumulative counts (chunk, tasks, runs + 1)."""
        counts = _sorted_counts(next(self._chunks), self._rank)
        cum = np.zeros((*counts.shape[:2], counts.shape[2] + 1), dtype=np.int64)
        np.cumsum(counts, axis=2, out=cum[:, :, 1:])
        return counts, cum


def _poi_resampled(
    x: _Resampler, y: _Resampler, wx: Ints, cum_y: Ints, bounds: list[tuple[Ints, Ints]]
) -> Array:
    """P(X > Y) for each resample in a chunk, averaged over tasks.

    With y sorted, ``Σ_j w_j ([x_i > y_j] + ½[x_i = y_j]) = (C[lo_i] + C[hi_i]) / 2`` for the
    cumulative weights C and the left/right insertion points lo/hi of x_i: O(n_x + n_y) per
    resample instead of O(n_x n_y)."""
    nx, tasks = x.sorted.shape
    ny = y.sorted.shape[0]
    total = np.zeros(wx.shape[0])
    for m, (lo, hi) in enumerate(bounds):
        twice = np.take(cum_y[:, m], lo, axis=1) + np.take(cum_y[:, m], hi, axis=1)
        total += np.einsum("ij,ij->i", wx[:, m], twice)
    return total / (2.0 * nx * ny * tasks)


def _bounds(x: _Resampler, y: _Resampler) -> list[tuple[Ints, Ints]]:
    """Insertion points of each sorted x into sorted y, per task."""
    return [
        (np.searchsorted(ys, xs, "left"), np.searchsorted(ys, xs, "right"))
        for xs, ys in zip(x.sorted.T, y.sorted.T, strict=True)
    ]


def probability_of_improvement_ci(
    x: ArrayLike, y: ArrayLike, *, reps: int = 2000, confidence: float = 0.95, rng: Seed
) -> Interval:
    """:func:`probability_of_improvement` with a percentile CI from a stratified bootstrap
    that resamples x and y independently within each task (rliable's
    ``StratifiedIndependentBootstrap``; the x resamples are drawn first, then the y ones).

    Example:
        >>> ci = probability_of_improvement_ci([[3.0], [4.0], [6.0]], [[1.0], [2.0]], rng=0)
        >>> ci.point, ci.high
        (1.0, 1.0)
    """
    check_interval_args(reps, confidence)
    a, b = _check_pair(x, y)
    gen = as_generator(rng)
    chunk = chunk_size(a.size, b.size)
    # Draw all of x's resamples, then y's: the same stream as one call per sample.
    rx = _Resampler(a, reps, gen, chunk)
    xs = [rx.next() for _ in range(0, reps, chunk)]
    ry = _Resampler(b, reps, gen, chunk)
    bounds = _bounds(rx, ry)
    dist = [_poi_resampled(rx, ry, wx, ry.next()[1], bounds) for wx, _ in xs]
    low, high = percentile_interval(np.concatenate(dist), confidence)
    return Interval(probability_of_improvement(a, b), float(low), float(high))


def pairwise_probability_of_improvement(
    scores: Mapping[str, ArrayLike], *, reps: int = 2000, confidence: float = 0.95, rng: Seed
) -> dict[tuple[str, str], Interval]:
    """``P(X > Y)`` with CIs for every ordered pair of policies.

    Common random numbers: each policy's runs are resampled once (generator derived from
    ``rng`` and its name) and those resamples serve all of its pairs, which is cheaper and
    makes the comparisons consistent with each other; ``P(Y > X) = 1 - P(X > Y)`` on the same
    resamples. The intervals therefore differ (within Monte Carlo error) from
    :func:`probability_of_improvement_ci` with the same seed.

    Example:
        >>> out = pairwise_probability_of_improvement({"a": [[1.0], [2.0]], "b": [[0.0], [3.0]]},
        ...                                           rng=0)
        >>> out["a", "b"].point, out["b", "a"].point
        (0.5, 0.5)
    """
    check_interval_args(reps, confidence)
    names = list(scores)
    arrays = {k: check_scores(v, f"scores[{k!r}]") for k, v in scores.items()}
    if len({a.shape[1] for a in arrays.values()}) > 1:
        shapes = {k: a.shape for k, a in arrays.items()}
        raise ValueError(f"scores must all have the same tasks (runs, tasks), got {shapes}")
    chunk = chunk_size(*(a.size for a in arrays.values()))
    stream = named_streams(rng)
    res = {k: _Resampler(a, reps, stream(k), chunk) for k, a in arrays.items()}
    pairs = [(p, q) for i, p in enumerate(names) for q in names[i + 1 :]]
    bounds = {(p, q): _bounds(res[p], res[q]) for p, q in pairs}
    dists: dict[tuple[str, str], list[Array]] = {pq: [] for pq in pairs}
    for _ in range(0, reps, chunk):
        drawn = {k: r.next() for k, r in res.items()}
        for p, q in pairs:
            wx, cum_y = drawn[p][0], drawn[q][1]
            dists[p, q].append(_poi_resampled(res[p], res[q], wx, cum_y, bounds[p, q]))
    out: dict[tuple[str, str], Interval] = {}
    for p, q in pairs:
        low, high = percentile_interval(np.concatenate(dists[p, q]), confidence)
        ci = Interval(probability_of_improvement(arrays[p], arrays[q]), float(low), float(high))
        out[p, q] = ci
        out[q, p] = Interval(1.0 - ci.point, 1.0 - ci.high, 1.0 - ci.low)
    return out


# --------------------------------------------------------------------------- performance profiles


def _check_taus(taus: ArrayLike) -> Array:
    t = as_float_array(taus, "taus")
    if t.ndim != 1 or t.size < 1:
        raise ValueError(f"taus must have shape (thresholds,), got shape {t.shape}")
    return t


def _profile(xs: Array, counts: Ints | None, cum: Ints | None, taus: Array, kind: str) -> Array:
    """Profile from run counts (B, tasks, runs) and their cumulative sums, runs sorted per task
    (xs: (runs, tasks) sorted per column; None: each run once) -> (B, thresholds)."""
    runs, tasks = xs.shape
    if counts is None or cum is None:
        counts = np.ones((1, tasks, runs), dtype=np.int64)
        cum = np.concatenate([np.zeros((1, tasks, 1), np.int64), counts.cumsum(axis=2)], axis=2)
    if kind == "average":
        means = np.einsum("btr,rt->bt", counts, xs) / runs  # (B, tasks)
        return np.asarray((means[:, :, None] > taus).mean(axis=1))
    if kind != "run":
        raise ValueError(f"kind must be 'run' or 'average', got {kind!r}")
    out = np.zeros((counts.shape[0], taus.size))
    for m in range(tasks):
        at_most = np.searchsorted(xs[:, m], taus, "right")  # runs with score <= tau
        out += runs - cum[:, m, at_most]
    return out / (runs * tasks)


def performance_profile(
    scores: ArrayLike, taus: ArrayLike, *, kind: Literal["run", "average"] = "run"
) -> Array:
    """Performance profile: the fraction of scores above each threshold τ.

    ``kind="run"``: rliable's run-score distribution, ``F(τ) = mean over runs × tasks of
    [x > τ]``; ``kind="average"``: the fraction of tasks whose mean score is > τ.

    Args:
        scores: shape ``(runs, tasks)``.
        taus: thresholds, shape ``(thresholds,)``.

    Returns:
        Shape ``(thresholds,)``.

    Example:
        >>> performance_profile([[0.1, 0.5], [0.7, 0.9]], [0.0, 0.5, 1.0])
        array([1. , 0.5, 0. ])
    """
    x, t = check_scores(scores), _check_taus(taus)
    return _profile(np.sort(x, axis=0), None, None, t, kind)[0]


def performance_profile_ci(
    scores: ArrayLike,
    taus: ArrayLike,
    *,
    kind: Literal["run", "average"] = "run",
    reps: int = 2000,
    confidence: float = 0.95,
    rng: Seed,
) -> tuple[Array, Array, Array]:
    """:func:`performance_profile` with pointwise stratified-bootstrap percentile CIs.

    Returns:
        ``(profile, low, high)``, each of shape ``(thresholds,)``.

    Example:
        >>> p, lo, hi = performance_profile_ci([[0.1], [0.7], [0.9]], [0.0, 2.0], rng=0)
        >>> p, lo, hi
        (array([1., 0.]), array([1., 0.]), array([1., 0.]))
    """
    check_interval_args(reps, confidence)
    x, t = check_scores(scores), _check_taus(taus)
    chunk = chunk_size(x.size)
    res = _Resampler(x, reps, as_generator(rng), chunk)
    dist = [_profile(res.sorted, *res.next(), t, kind) for _ in range(0, reps, chunk)]
    low, high = percentile_interval(np.concatenate(dist), confidence)
    return _profile(res.sorted, None, None, t, kind)[0], np.asarray(low), np.asarray(high)

