"""Interval estimates of aggregate scores by a reproducible stratified bootstrap.

One entry point in the spirit of rliable's ``get_interval_estimates(score_dict, func, reps)``:
:func:`interval_estimates` takes final scores ``{policy: array (runs, tasks)}`` and a statistic
(a name in :data:`~rl_lr.metrics.aggregates.STATISTICS`, a tuple of names, or a function of a
``(runs, tasks)`` array) and returns ``{policy: Interval}`` (a tuple of intervals for several
values). Every interval is the percentile interval of a stratified bootstrap (runs resampled
within each task) drawn from an explicit seeded generator, so the same data and seed always give
the same interval. :func:`stratified_bootstrap_ci` (one array) and :func:`aggregate_with_cis`
(IQM, mean, median, optimality gap per policy) are written on top of it. Import from
:mod:`rl_lr.metrics`.

    >>> import numpy as np
    >>> aggregate_with_cis({"a": np.array([[0.2], [0.5], [0.9]])}, rng=0)["a"]["mean"].point
    0.5333333333333333
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from rl_lr.metrics.aggregates import (
    STATISTICS,
    Statistic,
    median_of_runs,
    normalise,
    vectorised_statistic,
)
from rl_lr.metrics.arrays import Array, check_scores
from rl_lr.metrics.resampling import (
    Interval,
    Seed,
    as_generator,
    check_interval_args,
    named_streams,
    percentile_interval,
    resample_indices,
)

__all__ = ["BATCHED_ESTIMATORS", "aggregate_with_cis", "interval_estimates",
           "stratified_bootstrap_ci"]

Estimator = Statistic | Callable[[Array], Any]  # a name, or f((runs, tasks)) -> number | (k,)

#: Callables with an exact batched form, (batch, runs, tasks) -> (batch,): the same numbers as
#: calling them on each resample (numpy's median of a row is the same with or without an
#: axis), without a Python call per resample (the median's 2,000 calls per group were 80 % of
#: the collection of experiments/fair.yaml: ``python benchmarks/bench_collect.py``).
BATCHED_ESTIMATORS: dict[Callable[..., Any], Callable[[Array], Array]] = {
    median_of_runs: lambda x: np.asarray(np.median(x.reshape(x.shape[0], -1), axis=1)),
}


def _distributions(
    x: Array, stats: Sequence[Estimator], reps: int, gen: np.random.Generator, gamma: float
) -> list[Array]:
    """Bootstrap distributions of several statistics on the same stratified resamples of
    ``x`` (runs, tasks): one array (reps,) per statistic, (reps, k) for a function returning
    k values."""
    runs, tasks = x.shape
    fns = [BATCHED_ESTIMATORS.get(s) if callable(s) else vectorised_statistic(s, gamma)
           for s in stats]
    dists: list[list[Array]] = [[] for _ in stats]
    cols = np.arange(tasks)
    # IQM without a partition per resample: rank all runs × tasks once; a resample is a set
    # of ranks, sorted (radix sort for int16) and mapped back to values.
    n, cut = runs * tasks, (runs * tasks) // 4
    flat_order = np.argsort(x.ravel(), kind="stable")
    sorted_values = x.ravel()[flat_order]
    pooled_rank = np.empty(n, dtype=np.int16 if n <= np.iinfo(np.int16).max else np.int32)
    pooled_rank[flat_order] = np.arange(n)
    pooled_rank = pooled_rank.reshape(runs, tasks)
    for idx in resample_indices(gen, reps, runs, tasks):
        resampled: Array | None = None
        for k, (stat, fn) in enumerate(zip(stats, fns, strict=True)):
            if isinstance(stat, str) and stat == "iqm":
                pos = np.sort(pooled_rank[idx, cols].reshape(len(idx), n), axis=1, kind="stable")
                dists[k].append(sorted_values[pos[:, cut : n - cut]].mean(axis=1))
                continue
            resampled = x[idx, cols] if resampled is None else resampled  # (chunk, runs, tasks)
            if fn is not None:
                dists[k].append(fn(resampled))
            else:
                assert callable(stat)
                dists[k].append(np.array([stat(r) for r in resampled], dtype=np.float64))
    return [np.concatenate(d) for d in dists]


def _estimators(func: Any) -> tuple[list[Estimator], bool]:
    """The statistics to bootstrap and whether the result is a tuple of intervals."""
    hint = f"one of {sorted(STATISTICS)}, a tuple of them or a callable"
    if isinstance(func, str) or callable(func):
        names = [func]
    elif isinstance(func, tuple) and func:
        names = list(func)
    else:
        raise TypeError(f"func must be {hint}, got {func!r}")
    for f in names:
        if not callable(f) and f not in STATISTICS:
            raise ValueError(f"func must be {hint}, got {f!r}")
    return names, isinstance(func, tuple)


def _stream_factory(
    rng: Seed | Mapping[str, Seed], names: Sequence[str]
) -> Callable[[str], np.random.Generator]:
    """``name -> generator``: derived from ``rng`` and the name, or ``rng[name]`` itself."""
    if not isinstance(rng, Mapping):
        return named_streams(rng)
    missing = [n for n in names if n not in rng]
    if missing:
        raise ValueError(f"rng must give a generator or seed for every policy, missing {missing}")
    gens = {n: as_generator(rng[n], f"rng[{n!r}]") for n in names}
    return gens.__getitem__


def _intervals(point: Any, dist: Array, confidence: float) -> tuple[Interval, ...]:
    """Percentile intervals of one estimator: one for a number, k for k values."""
    p = np.asarray(point, dtype=np.float64)
    if p.ndim > 1 or dist.shape[1:] != p.shape:
        raise ValueError(
            f"func must return a number or the same (k,) array for every resample, got shape "
            f"{p.shape} for the scores and {dist.shape[1:]} for a resample"
        )
    low, high = percentile_interval(dist, confidence)
    if p.ndim == 0:
        return (Interval(float(p), float(low), float(high)),)
    return tuple(
        Interval(float(a), float(b), float(c)) for a, b, c in zip(p, low, high, strict=True)
    )


@overload
def interval_estimates(
    scores: Mapping[str, ArrayLike],
    func: str | Callable[[Array], float],
    *,
    reps: int = ...,
    confidence: float = ...,
    rng: Seed | Mapping[str, Seed],
    gamma: float = ...,
) -> dict[str, Interval]: ...


@overload
def interval_estimates(
    scores: Mapping[str, ArrayLike],
    func: tuple[str, ...] | Callable[[Array], Array],
    *,
    reps: int = ...,
    confidence: float = ...,
    rng: Seed | Mapping[str, Seed],
    gamma: float = ...,
) -> dict[str, tuple[Interval, ...]]: ...


def interval_estimates(
    scores: Mapping[str, ArrayLike],
    func: str | tuple[str, ...] | Callable[[Array], Any],
    *,
    reps: int = 2000,
    confidence: float = 0.95,
    rng: Seed | Mapping[str, Seed],
    gamma: float = 1.0,
) -> dict[str, Any]:
    """Point estimate and stratified-bootstrap percentile CI of ``func`` for every policy
    (rliable's ``get_interval_estimates``, with an explicit seeded generator).

    Each of ``reps`` resamples draws, for every task (column) independently, ``runs`` runs with
    replacement from that task's runs; the interval is the ``(1 ∓ confidence) / 2`` percentiles
    of ``func`` over the resamples (``scipy.stats.bootstrap`` with one sample per task and
    ``method='percentile'`` computes the same interval). Several statistics of a policy are
    computed on the same resamples.

    Args:
        scores: ``{policy: array (runs, tasks)}``, finite (decide how a diverged run scores
            before aggregating).
        func: a name in :data:`~rl_lr.metrics.aggregates.STATISTICS` (vectorised over
            resamples); a tuple of names; or a function of a ``(runs, tasks)`` array returning a
            number or a ``(k,)`` array (called once per resample).
        reps: number of resamples.
        confidence: coverage of each interval.
        rng: an int seed or a generator, from which each policy's stream is derived with its
            name (adding, removing or reordering policies leaves the others' intervals as they
            are; a generator is drawn from once); or ``{policy: seed or generator}`` giving each
            policy's stream itself.
        gamma: threshold of the optimality gap.

    Returns:
        ``{policy: Interval}`` for a name or a function returning a number; ``{policy:
        (Interval, ...)}``, one per value, for a tuple of names or a function returning ``(k,)``.

    Raises:
        ValueError: a score array not ``(runs, tasks)`` or not finite (the message names the
            policy), an unknown statistic name, bad ``reps``/``confidence``.
        TypeError: ``scores`` not a mapping, ``func`` of another type, ``rng`` not a seed or
            generator.

    Example:
        >>> scores = {"a": np.array([[0.2, 1.0], [0.5, 1.0], [0.9, 1.0]])}
        >>> interval_estimates(scores, "iqm", rng=0)
        {'a': Interval(point=0.85, low=0.6, high=0.95)}
        >>> worst = interval_estimates(scores, lambda x: x.min(axis=0), rng=0)["a"]  # per task
        >>> [(ci.low, ci.high) for ci in worst]
        [(0.2, 0.9), (1.0, 1.0)]
    """
    check_interval_args(reps, confidence)
    if not isinstance(scores, Mapping):
        raise TypeError(
            f"scores must be a mapping {{policy: array (runs, tasks)}}, got "
            f"{type(scores).__name__} (one array: stratified_bootstrap_ci)"
        )
    stats, several = _estimators(func)
    stream = _stream_factory(rng, list(scores))
    out: dict[str, Any] = {}
    for policy, policy_scores in scores.items():
        x = check_scores(policy_scores, f"scores[{policy!r}]")
        dists = _distributions(x, stats, reps, stream(policy), gamma)
        cis: list[Interval] = []
        as_tuple = several
        for f, dist in zip(stats, dists, strict=True):
            point = f(x) if callable(f) else vectorised_statistic(f, gamma)(x[None])[0]
            cis += _intervals(point, dist, confidence)
            as_tuple = as_tuple or np.ndim(point) == 1  # a function returning (k,)
        out[policy] = tuple(cis) if as_tuple else cis[0]
    return out


def stratified_bootstrap_ci(
    scores: ArrayLike,
    statistic: Statistic,
    *,
    reps: int = 2000,
    confidence: float = 0.95,
    rng: Seed,
    gamma: float = 1.0,
) -> Interval:
    """Percentile CI of an aggregate of one score array by stratified bootstrap: the
    one-array form of :func:`interval_estimates`, drawing from ``rng`` itself.

    Args:
        scores: shape ``(runs, tasks)``, finite.
        statistic: a name in :data:`~rl_lr.metrics.aggregates.STATISTICS` (vectorised) or a
            function of a ``(runs, tasks)`` array (called once per resample).
        reps: number of resamples.
        confidence: coverage.
        rng: a generator or an int seed; the same data and seed give the same interval.
        gamma: threshold of the optimality gap.

    Example:
        >>> x = np.arange(20.0).reshape(10, 2)
        >>> ci = stratified_bootstrap_ci(x, "mean", rng=0)
        >>> ci.point, ci.low < ci.point < ci.high
        (9.5, True)
    """
    check_interval_args(reps, confidence)
    x = check_scores(scores)
    if isinstance(statistic, str):
        vectorised_statistic(statistic)  # an unknown name: the error names `statistic`
    gen = as_generator(rng)
    ci = interval_estimates(
        {"scores": x}, statistic, reps=reps, confidence=confidence, rng={"scores": gen}, gamma=gamma
    )["scores"]
    if not isinstance(ci, Interval):
        raise ValueError(f"statistic must return a number, got {len(ci)} values")
    return ci


def aggregate_with_cis(
    scores: Mapping[str, ArrayLike],
    *,
    rng: Seed,
    low: ArrayLike | None = None,
    high: ArrayLike | None = None,
    statistics: tuple[str, ...] | None = None,
    reps: int = 2000,
    confidence: float = 0.95,
    gamma: float = 1.0,
) -> dict[str, dict[str, Interval]]:
    """IQM, mean, median (and optimality gap when the score range is known) with stratified
    bootstrap CIs for every policy: ``{policy: {statistic: Interval}}``.

    :func:`interval_estimates` of the tuple of statistics, on :func:`normalise`-d scores when
    the range is given: all statistics of a policy use the same resamples, and each policy's
    stream is derived from ``rng`` and its name.

    Args:
        scores: ``{policy: array (runs, tasks)}``.
        rng: a generator or an int seed.
        low, high: per-task score range; if given, scores are :func:`normalise`-d first and
            the optimality gap is included by default.
        statistics: names from :data:`~rl_lr.metrics.aggregates.STATISTICS`; default
            ``iqm, mean, median`` (+ gap).
        reps, confidence, gamma: see :func:`interval_estimates`.

    Example:
        >>> out = aggregate_with_cis({"a": np.array([[0.5], [0.7], [0.9]])}, low=0, high=1, rng=0)
        >>> sorted(out["a"]), round(out["a"]["optimality_gap"].point, 6)
        (['iqm', 'mean', 'median', 'optimality_gap'], 0.3)
    """
    check_interval_args(reps, confidence)
    known = low is not None and high is not None
    if (low is None) != (high is None):
        raise ValueError("low and high must be given together")
    names = statistics or (("iqm", "mean", "median") + (("optimality_gap",) if known else ()))
    for n in names:
        if n not in STATISTICS:
            raise ValueError(f"statistics must be names from {sorted(STATISTICS)}, got {n!r}")
    if "optimality_gap" in names and not known:
        raise ValueError("optimality_gap needs normalised scores: pass low and high")
    if low is not None and high is not None:
        scores = {
            policy: normalise(check_scores(s, f"scores[{policy!r}]"), low, high)
            for policy, s in scores.items()
        }
    estimates = interval_estimates(
        scores, tuple(names), reps=reps, confidence=confidence, rng=rng, gamma=gamma
    )
    return {p: dict(zip(names, cis, strict=True)) for p, cis in estimates.items()}
