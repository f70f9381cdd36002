"""Aggregates of final scores over runs, with reproducible stratified-bootstrap CIs.

Final scores are ``{policy: array (runs, tasks)}`` (rliable's contract), finite. The aggregates
are IQM, mean, median and optimality gap (:data:`STATISTICS`), on raw or :func:`normalise`-d
scores. Every CI is a percentile interval of a stratified bootstrap (runs resampled within each
task) drawn from an explicit seeded generator, so the same data and seed always give the same
interval. The resampling machinery here is shared with :mod:`rl_lr.metrics.comparisons`. Import from
:mod:`rl_lr.metrics`.

    >>> import numpy as np
    >>> aggregate_with_cis({"a": np.array([[0.2], [0.5], [0.9]])}, rng=0)["a"]["mean"].point
    0.5333333333333333
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rl_lr.metrics.arrays import _float_array

__all__ = [
    "STATISTICS",
    "Interval",
    "aggregate",
    "aggregate_with_cis",
    "iqm",
    "normalise",
    "optimality_gap",
    "stratified_bootstrap_ci",
]

Array = NDArray[np.float64]
Ints = NDArray[np.signedinteger[Any]]
Seed = np.random.Generator | int
Statistic = str | Callable[[Array], float]  # a name in STATISTICS, or f(scores (runs, tasks))


class Interval(NamedTuple):
    """A point estimate with its confidence interval."""

    point: float
    low: float
    high: float


# --------------------------------------------------------------------------- validation


def _check_scores(scores: ArrayLike, name: str = "scores") -> Array:
    x = _float_array(scores, name)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        hint = " (one task: use x[:, None])" if x.ndim == 1 else ""
        raise ValueError(f"{name} must have shape (runs, tasks){hint}, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(
            f"{name} must be finite, got {int(np.sum(~np.isfinite(x)))} NaN/inf values: decide "
            "how a diverged run scores before aggregating"
        )
    return x


def _check_ci_args(reps: int, confidence: float) -> None:
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _generator(rng: Seed) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy.random.Generator or an int seed, got {rng!r}")


def _children(rng: Seed) -> Callable[..., np.random.Generator]:
    """Generators for named items (a policy, a pair): the same seed and name always give the
    same stream, whatever else is evaluated alongside. A ``Generator`` is drawn from once."""
    _generator(rng)  # validates
    entropy = int(rng.integers(2**63)) if isinstance(rng, np.random.Generator) else int(rng)

    def child(*keys: str) -> np.random.Generator:
        return np.random.default_rng([entropy, *(zlib.crc32(k.encode()) for k in keys)])

    return child


def _percentiles(dist: Array, confidence: float) -> tuple[Any, Any]:
    """Percentile interval of a bootstrap distribution along axis 0 (linear interpolation,
    as ``scipy.stats.bootstrap(method='percentile')``)."""
    alpha = (1.0 - confidence) / 2.0
    low, high = np.percentile(dist, [100.0 * alpha, 100.0 * (1.0 - alpha)], axis=0)
    return low, high


_CHUNK = 1 << 18  # indices per chunk of resamples: small enough to stay in cache


def _chunk_size(*sizes: int) -> int:
    return max(1, _CHUNK // max(sizes))


def _index_chunks(
    gen: np.random.Generator, reps: int, runs: int, tasks: int, chunk: int | None = None
) -> Iterator[Ints]:
    """Bootstrap indices, shape (chunk, runs, tasks): each task's runs resampled on their own
    (stratified). int32 draws are the same however they are chunked, so results depend only
    on the generator, the shape and ``reps``: one draw ``gen.integers(0, runs, (reps, runs,
    tasks), dtype=np.int32)`` gives the same resamples."""
    chunk = chunk or _chunk_size(runs * tasks)
    for start in range(0, reps, chunk):
        size = (min(chunk, reps - start), runs, tasks)
        yield gen.integers(0, runs, size=size, dtype=np.int32)


# --------------------------------------------------------------------------- statistics


def _trimmed_mean(x: Array) -> Array:
    """25 % trimmed mean of each row of (batch, n), as ``scipy.stats.trim_mean(x, 0.25)``."""
    n = x.shape[-1]
    cut = n // 4
    if cut == 0:
        return np.asarray(x.mean(axis=-1))
    part = np.partition(x, (cut, n - cut - 1), axis=-1)
    return np.asarray(part[..., cut : n - cut].mean(axis=-1))


def _batched_statistic(name: str, gamma: float) -> Callable[[Array], Array]:
    """(batch, runs, tasks) -> (batch,)."""
    if name == "iqm":
        return lambda x: _trimmed_mean(x.reshape(x.shape[0], -1))
    if name == "mean":
        return lambda x: np.asarray(x.mean(axis=(1, 2)))
    if name == "median":
        return lambda x: np.asarray(np.median(x.mean(axis=1), axis=1))
    if name == "optimality_gap":
        return lambda x: np.asarray(gamma - np.minimum(x, gamma).mean(axis=(1, 2)))
    raise ValueError(f"statistic must be one of {sorted(STATISTICS)} or a callable, got {name!r}")


def iqm(x: ArrayLike) -> float:
    """Interquartile mean: the 25 % trimmed mean of all values pooled (all runs × tasks).

    Sort the ``n`` values, drop ``floor(n / 4)`` from each end, average the rest
    (``scipy.stats.trim_mean(x, 0.25, axis=None)``, rliable's ``aggregate_iqm``).

    Example:
        >>> iqm([[1, 2], [3, 4], [5, 6], [7, 8]])    # mean(3, 4, 5, 6)
        4.5
    """
    a = _float_array(x, "x").ravel()
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"x must be non-empty and finite, got {a.size} values")
    return float(_trimmed_mean(a[None, :])[0])


def optimality_gap(x: ArrayLike, gamma: float = 1.0) -> float:
    """Optimality gap ``mean(max(0, γ - x))`` over all runs × tasks of *normalised* scores
    (rliable's ``aggregate_optimality_gap``); lower is better.

    Example:
        >>> round(optimality_gap([0.5, 1.2, 0.9, -0.1]), 12)    # (0.5 + 0 + 0.1 + 1.1) / 4
        0.425
    """
    a = _float_array(x, "x")
    if a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"x must be non-empty and finite, got {a.size} values")
    return float(gamma - np.mean(np.minimum(a, gamma)))


STATISTICS: dict[str, str] = {
    "iqm": "25 % trimmed mean of all runs × tasks",
    "mean": "mean of all runs × tasks",
    "median": "median over tasks of the per-task mean (rliable; = mean for one task)",
    "optimality_gap": "mean of max(0, γ - x) over all runs × tasks (normalised scores)",
}


def aggregate(
    scores: Mapping[str, ArrayLike], statistic: Statistic, *, gamma: float = 1.0
) -> dict[str, float]:
    """One aggregate per policy: ``{policy: statistic(scores[policy])}``.

    Args:
        scores: ``{policy: array (runs, tasks)}``.
        statistic: a name in :data:`STATISTICS` or a function of a ``(runs, tasks)`` array.
        gamma: threshold of the optimality gap.

    Example:
        >>> aggregate({"a": np.array([[0.0, 10.0, 100.0], [2.0, 20.0, 300.0]])}, "median")
        {'a': 15.0}
    """
    out: dict[str, float] = {}
    for name, s in scores.items():
        x = _check_scores(s, f"scores[{name!r}]")
        if callable(statistic):
            out[name] = float(statistic(x))
        else:
            out[name] = float(_batched_statistic(statistic, gamma)(x[None])[0])
    return out


def _bootstrap(
    x: Array,
    stats: Mapping[str, Statistic],
    reps: int,
    gen: np.random.Generator,
    gamma: float,
) -> dict[str, Array]:
    """Bootstrap distributions of several statistics on the same stratified resamples."""
    runs, tasks = x.shape
    fns = {k: None if callable(s) else _batched_statistic(s, gamma) for k, s in stats.items()}
    dists: dict[str, list[Array]] = {k: [] for k in stats}
    cols = np.arange(tasks)
    # IQM without a partition per resample: rank all runs × tasks once; a resample is a set
    # of ranks, sorted (radix sort for int16) and mapped back to values.
    n, cut = runs * tasks, (runs * tasks) // 4
    flat_order = np.argsort(x.ravel(), kind="stable")
    sorted_values = x.ravel()[flat_order]
    pooled_rank = np.empty(n, dtype=np.int16 if n <= np.iinfo(np.int16).max else np.int32)
    pooled_rank[flat_order] = np.arange(n)
    pooled_rank = pooled_rank.reshape(runs, tasks)
    for idx in _index_chunks(gen, reps, runs, tasks):
        resampled: Array | None = None
        for k, fn in fns.items():
            if stats[k] == "iqm":
                pos = np.sort(pooled_rank[idx, cols].reshape(len(idx), n), axis=1, kind="stable")
                dists[k].append(sorted_values[pos[:, cut : n - cut]].mean(axis=1))
                continue
            resampled = x[idx, cols] if resampled is None else resampled  # (chunk, runs, tasks)
            if fn is not None:
                dists[k].append(fn(resampled))
            else:
                user = stats[k]
                assert callable(user)
                dists[k].append(np.array([user(r) for r in resampled], dtype=np.float64))
    return {k: np.concatenate(v) for k, v in dists.items()}


def stratified_bootstrap_ci(
    scores: ArrayLike,
    statistic: Statistic,
    *,
    reps: int = 2000,
    confidence: float = 0.95,
    rng: Seed,
    gamma: float = 1.0,
) -> Interval:
    """Percentile CI of an aggregate by stratified bootstrap.

    Each of ``reps`` resamples draws, for every task (column) independently, ``runs`` runs
    with replacement from that task's runs; the interval is the ``(1 ± confidence) / 2``
    percentiles of the statistic over the resamples (``scipy.stats.bootstrap`` with one sample
    per task and ``method='percentile'`` computes the same interval). Vectorised over resamples.

    Args:
        scores: shape ``(runs, tasks)``, finite.
        statistic: a name in :data:`STATISTICS` (vectorised) or a function of a
            ``(runs, tasks)`` array (called once per resample).
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
    _check_ci_args(reps, confidence)
    x = _check_scores(scores)
    point = aggregate({"x": x}, statistic, gamma=gamma)["x"]
    dist = _bootstrap(x, {"s": statistic}, reps, _generator(rng), gamma)["s"]
    low, high = _percentiles(dist, confidence)
    return Interval(point, float(low), float(high))


@overload
def normalise(
    scores: Mapping[str, ArrayLike], low: ArrayLike, high: ArrayLike
) -> dict[str, Array]: ...


@overload
def normalise(scores: ArrayLike, low: ArrayLike, high: ArrayLike) -> Array: ...


def normalise(scores: Any, low: ArrayLike, high: ArrayLike) -> Any:
    """Normalised scores ``(x - low) / (high - low)`` with per-task ranges (0 = ``low``, e.g.
    a random policy; 1 = ``high``, e.g. the env's reward threshold).

    Args:
        scores: ``{policy: array (..., tasks)}`` or one such array.
        low: scalar or shape ``(tasks,)``.
        high: scalar or shape ``(tasks,)``, each > ``low``.

    Example:
        >>> normalise(np.array([[-1000.0, 250.0]]), low=[-1500.0, 0.0], high=[-150.0, 500.0])
        array([[0.37037037, 0.5       ]])
    """
    lo, hi = _float_array(low, "low"), _float_array(high, "high")
    if lo.ndim > 1 or hi.ndim > 1 or not np.all(hi > lo):
        raise ValueError(
            f"low and high must be scalars or (tasks,) with high > low, got {lo}, {hi}"
        )
    if isinstance(scores, Mapping):
        return {k: normalise(v, lo, hi) for k, v in scores.items()}
    x = _float_array(scores, "scores")
    for name, b in (("low", lo), ("high", hi)):
        if b.ndim == 1 and (x.ndim == 0 or b.shape[0] != x.shape[-1]):
            raise ValueError(
                f"{name} must have shape (tasks,) = ({x.shape[-1] if x.ndim else 0},) to match "
                f"scores (..., tasks) of shape {x.shape}, got shape {b.shape}"
            )
    return (x - lo) / (hi - lo)


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

    All statistics of a policy use the same resamples. Each policy's generator is derived from
    ``rng`` and the policy's name, so adding or reordering policies does not change the others'
    intervals.

    Args:
        scores: ``{policy: array (runs, tasks)}``.
        rng: a generator or an int seed.
        low, high: per-task score range; if given, scores are :func:`normalise`-d first and
            the optimality gap is included by default.
        statistics: names from :data:`STATISTICS`; default ``iqm, mean, median`` (+ gap).
        reps, confidence, gamma: see :func:`stratified_bootstrap_ci`.

    Example:
        >>> out = aggregate_with_cis({"a": np.array([[0.5], [0.7], [0.9]])}, low=0, high=1, rng=0)
        >>> sorted(out["a"]), round(out["a"]["optimality_gap"].point, 6)
        (['iqm', 'mean', 'median', 'optimality_gap'], 0.3)
    """
    _check_ci_args(reps, confidence)
    known = low is not None and high is not None
    if (low is None) != (high is None):
        raise ValueError("low and high must be given together")
    names = statistics or (("iqm", "mean", "median") + (("optimality_gap",) if known else ()))
    for n in names:
        if n not in STATISTICS:
            raise ValueError(f"statistics must be names from {sorted(STATISTICS)}, got {n!r}")
    if "optimality_gap" in names and not known:
        raise ValueError("optimality_gap needs normalised scores: pass low and high")
    child = _children(rng)
    result: dict[str, dict[str, Interval]] = {}
    for policy, policy_scores in scores.items():
        x = _check_scores(policy_scores, f"scores[{policy!r}]")
        if known:
            assert low is not None and high is not None
            x = normalise(x, low, high)
        stats: dict[str, Statistic] = {n: n for n in names}
        dists = _bootstrap(x, stats, reps, child(policy), gamma)
        result[policy] = {}
        for n in names:
            lo_, hi_ = _percentiles(dists[n], confidence)
            point = float(_batched_statistic(n, gamma)(x[None])[0])
            result[policy][n] = Interval(point, float(lo_), float(hi_))
    return result
