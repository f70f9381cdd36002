"""Evaluation metrics: pure functions on NumPy arrays, with reproducible bootstrap CIs.

One data contract, as rliable (Agarwal et al., NeurIPS 2021): final scores are
``dict[policy, array (runs, tasks)]``; learning curves are arrays ``(runs, points)`` with a shared
``timesteps`` array ``(points,)``. Every CI is a percentile interval of a stratified bootstrap
(runs resampled within each task) drawn from an explicit seeded generator, so the same data and
seed always give the same interval (rliable's ``random_state`` is ignored: it draws from NumPy's
global generator).

Here: final performance (IQM / mean / median / optimality gap with CIs, normalised scores,
probability of improvement, performance profiles), sample efficiency (area under the curve,
steps to a threshold), sensitivity to a reward perturbation and the divergence rate. Stability
over time (Chan et al. 2020) and the regime-switch and LR-trace metrics live in
:mod:`rl_lr.stability` and are re-exported here.

NaN policy: final scores must be finite (``ValueError``: decide how a diverged run scores before
aggregating); on curves NaN propagates to that run's value, except that a NaN eval point never
counts as reaching a threshold.

    >>> import numpy as np
    >>> scores = {"cosine": np.array([[0.9], [0.7], [0.8], [0.2]]), "fixed": np.full((4, 1), 0.5)}
    >>> aggregate(scores, "iqm")
    {'cosine': 0.75, 'fixed': 0.5}
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Mapping
from statistics import NormalDist
from typing import Any, Literal, NamedTuple, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rl_lr.stability import (
    _check_curves,
    _float_array,
    _scalar,
    curve_range,
    cvar,
    detrend,
    dispersion_across_runs,
    dispersion_across_time,
    drawdown,
    fraction_at_bound,
    long_term_risk,
    lowpass_filter,
    lr_oscillations,
    regime_drop_and_recovery,
    regime_switch_effects,
    risk_across_runs,
    short_term_risk,
)

__all__ = [
    "STATISTICS",
    "Interval",
    "aggregate",
    "aggregate_with_cis",
    "area_under_curve",
    "curve_range",
    "cvar",
    "detrend",
    "dispersion_across_runs",
    "dispersion_across_time",
    "divergence_rate",
    "drawdown",
    "fraction_at_bound",
    "fraction_reaching",
    "iqm",
    "long_term_risk",
    "lowpass_filter",
    "lr_oscillations",
    "normalise",
    "optimality_gap",
    "pairwise_probability_of_improvement",
    "performance_profile",
    "performance_profile_ci",
    "probability_of_improvement",
    "probability_of_improvement_ci",
    "regime_drop_and_recovery",
    "regime_switch_effects",
    "risk_across_runs",
    "sensitivity",
    "sensitivity_of_means",
    "short_term_risk",
    "steps_to_threshold",
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


# --------------------------------------------------------------------------- comparisons


def _check_pair(x: ArrayLike, y: ArrayLike) -> tuple[Array, Array]:
    a, b = _check_scores(x, "x"), _check_scores(y, "y")
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


class _Resampler:
    """Stratified bootstrap counts of one policy's runs, chunk by chunk, in ascending order of
    score per task, with their cumulative sums: what P(X > Y) and profiles need."""

    def __init__(self, x: Array, reps: int, gen: np.random.Generator, chunk: int) -> None:
        runs, tasks = x.shape
        self.sorted = np.sort(x, axis=0)
        self._rank = _ranks(x)
        self._chunks = _index_chunks(gen, reps, runs, tasks, chunk=chunk)

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
    _check_ci_args(reps, confidence)
    a, b = _check_pair(x, y)
    gen = _generator(rng)
    chunk = _chunk_size(a.size, b.size)
    # Draw all of x's resamples, then y's: the same stream as one call per sample.
    rx = _Resampler(a, reps, gen, chunk)
    xs = [rx.next() for _ in range(0, reps, chunk)]
    ry = _Resampler(b, reps, gen, chunk)
    bounds = _bounds(rx, ry)
    dist = [_poi_resampled(rx, ry, wx, ry.next()[1], bounds) for wx, _ in xs]
    low, high = _percentiles(np.concatenate(dist), confidence)
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
    _check_ci_args(reps, confidence)
    names = list(scores)
    arrays = {k: _check_scores(v, f"scores[{k!r}]") for k, v in scores.items()}
    if len({a.shape[1] for a in arrays.values()}) > 1:
        shapes = {k: a.shape for k, a in arrays.items()}
        raise ValueError(f"scores must all have the same tasks (runs, tasks), got {shapes}")
    chunk = _chunk_size(*(a.size for a in arrays.values()))
    child = _children(rng)
    res = {k: _Resampler(a, reps, child(k), chunk) for k, a in arrays.items()}
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
        low, high = _percentiles(np.concatenate(dists[p, q]), confidence)
        ci = Interval(probability_of_improvement(arrays[p], arrays[q]), float(low), float(high))
        out[p, q] = ci
        out[q, p] = Interval(1.0 - ci.point, 1.0 - ci.high, 1.0 - ci.low)
    return out


def _check_taus(taus: ArrayLike) -> Array:
    t = _float_array(taus, "taus")
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
    x, t = _check_scores(scores), _check_taus(taus)
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
    _check_ci_args(reps, confidence)
    x, t = _check_scores(scores), _check_taus(taus)
    chunk = _chunk_size(x.size)
    res = _Resampler(x, reps, _generator(rng), chunk)
    dist = [_profile(res.sorted, *res.next(), t, kind) for _ in range(0, reps, chunk)]
    low, high = _percentiles(np.concatenate(dist), confidence)
    return _profile(res.sorted, None, None, t, kind)[0], np.asarray(low), np.asarray(high)


# --------------------------------------------------------------------------- sample efficiency


def area_under_curve(timesteps: ArrayLike, curves: ArrayLike) -> Any:
    """Area under the (clean) eval curve divided by its time span: the time-average return.

    ``AUC = Σ_i (t_{i+1} - t_i) (y_i + y_{i+1}) / 2 / (t_last - t_first)`` (trapezoid rule).
    Dividing by the span keeps it in return units, so curves of different budgets compare.

    Args:
        timesteps: shape ``(points,)``, points >= 2.
        curves: shape ``(..., points)``.

    Returns:
        Shape ``curves.shape[:-1]``.

    Example:
        >>> area_under_curve([0, 1, 3], [0.0, 2.0, 2.0])      # (1 + 4) / 3
        np.float64(1.6666666666666667)
    """
    t, y = _check_curves(timesteps, curves, min_points=2)
    assert t is not None
    return _scalar(np.trapezoid(y, t, axis=-1) / (t[-1] - t[0]))


def steps_to_threshold(timesteps: ArrayLike, curves: ArrayLike, threshold: float) -> Any:
    """Timestep of the first eval point at or above ``threshold``; NaN if none (NaN eval points
    never count as reaching it).

    Returns:
        Shape ``curves.shape[:-1]``.

    Example:
        >>> steps_to_threshold([0, 10, 20, 30], [[0, 5, 3, 7], [0, 1, 2, 3]], 6)
        array([30., nan])
    """
    t, y = _check_curves(timesteps, curves)
    assert t is not None
    hit = y >= threshold
    return _scalar(np.where(hit.any(axis=-1), t[np.argmax(hit, axis=-1)], np.nan))


def fraction_reaching(
    timesteps: ArrayLike, curves: ArrayLike, threshold: float, *, by: float | None = None
) -> Any:
    """Fraction of runs whose curve reaches ``threshold`` at some eval point ``t <= by``
    (``None``: anywhere).

    Args:
        curves: shape ``(..., runs, points)``.

    Returns:
        Shape ``curves.shape[:-2]``.

    Example:
        >>> fraction_reaching([0, 10, 20], [[0, 5, 9], [0, 9, 9], [0, 1, 2]], 8, by=15)
        np.float64(0.3333333333333333)
    """
    steps = np.asarray(steps_to_threshold(timesteps, curves, threshold))
    if steps.ndim < 1:
        raise ValueError(f"curves must have shape (..., runs, points), got {np.shape(curves)}")
    limit = np.inf if by is None else by
    return _scalar(np.mean(~np.isnan(steps) & (steps <= limit), axis=-1))


# --------------------------------------------------------------------------- robustness


def _sensitivity_parts(
    perturbed: ArrayLike, clean: ArrayLike, low: ArrayLike | None, high: ArrayLike | None
) -> tuple[Array, Array]:
    p, c = _float_array(perturbed, "perturbed"), _float_array(clean, "clean")
    if p.shape != c.shape or p.ndim < 1:
        raise ValueError(
            f"perturbed and clean must have the same shape (seeds,) or (seeds, tasks), same "
            f"policy and seeds; got {p.shape} and {c.shape}"
        )
    if (low is None) != (high is None):
        raise ValueError("low and high must be given together")
    if low is not None and high is not None:
        p, c = normalise(p, low, high), normalise(c, low, high)
    return p, c


def sensitivity(
    perturbed: ArrayLike,
    clean: ArrayLike,
    *,
    low: ArrayLike | None = None,
    high: ArrayLike | None = None,
    kind: Literal["ratio", "difference"] = "ratio",
) -> Array:
    """Sensitivity to a reward perturbation, per seed: performance trained under the
    perturbation relative to clean training (same policy, same seeds, clean evaluation).

    With ``low``/``high`` the scores are first normalised, ``x̃ = (x - low) / (high - low)``
    (0 = a reference such as a random policy, 1 = the env's target). Then

    * ``kind="ratio"``: ``p̃ / c̃`` (1 = unaffected, 0.6 = lost 40 %); NaN where ``c̃ <= 0``;
    * ``kind="difference"``: ``p̃ - c̃`` (0 = unaffected; a fraction of the range).

    Why: returns can be negative (Pendulum: -1500 … -150), where a ratio of raw returns
    inverts (-300 / -150 = 2 reads as "twice as good"). Normalising against a known range puts
    0 at "no better than the reference", so the ratio means "fraction of clean performance
    kept" whatever the sign of the raw returns; a seed whose clean run is not above the
    reference has no meaningful ratio (NaN, never a silent number). Use ``"difference"`` when
    no range is known or clean runs sit near the reference.

    Example:
        >>> sensitivity([-600.0, -1500.0], [-300.0, -600.0], low=-1500, high=-150)
        array([0.75, 0.  ])
    """
    p, c = _sensitivity_parts(perturbed, clean, low, high)
    if kind == "difference":
        return p - c
    if kind != "ratio":
        raise ValueError(f"kind must be 'ratio' or 'difference', got {kind!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c > 0, p / np.where(c > 0, c, 1.0), np.nan)


def sensitivity_of_means(
    perturbed: ArrayLike,
    clean: ArrayLike,
    *,
    low: ArrayLike | None = None,
    high: ArrayLike | None = None,
    kind: Literal["ratio", "difference"] = "ratio",
) -> Any:
    """Ratio (or difference) of the seed means, ``mean(p̃) / mean(c̃)`` over axis 0: less noisy
    than the mean of per-seed ratios and defined whenever ``mean(c̃) > 0`` (else NaN).

    Returns:
        A scalar for ``(seeds,)`` input, shape ``(tasks,)`` for ``(seeds, tasks)``.

    Example:
        >>> sensitivity_of_means([2.0, 4.0], [4.0, 4.0])
        np.float64(0.75)
    """
    p, c = _sensitivity_parts(perturbed, clean, low, high)
    mp, mc = p.mean(axis=0), c.mean(axis=0)
    if kind == "difference":
        return _scalar(np.asarray(mp - mc))
    if kind != "ratio":
        raise ValueError(f"kind must be 'ratio' or 'difference', got {kind!r}")
    with np.errstate(divide="ignore", invalid="ignore"):
        return _scalar(np.asarray(np.where(mc > 0, mp / np.where(mc > 0, mc, 1.0), np.nan)))


def divergence_rate(diverged: ArrayLike, *, confidence: float = 0.95) -> Interval:
    """Fraction of diverged runs with a Wilson score interval.

    With ``k`` of ``n`` runs diverged, ``p = k / n`` and ``z`` the normal quantile:
    ``centre = (p + z² / 2n) / (1 + z² / n)``,
    ``half = z / (1 + z² / n) · sqrt(p (1 - p) / n + z² / 4n²)`` (Wilson 1927; unlike the
    normal interval it stays inside [0, 1] and is not empty at k = 0).

    Args:
        diverged: booleans (or 0/1), any shape; all entries count.

    Example:
        >>> [round(v, 4) for v in divergence_rate([True, False, False, False])]
        [0.25, 0.0456, 0.6994]
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    d = np.asarray(diverged)
    if d.size == 0 or not np.all((d == 0) | (d == 1)):
        raise ValueError(f"diverged must be a non-empty array of booleans, got {d!r}")
    n, k = d.size, int(np.sum(d))
    p = k / n
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if k == 0 else max(0.0, centre - half)  # exact ends (rounding leaves ~1e-17)
    high = 1.0 if k == n else min(1.0, centre + half)
    return Interval(p, float(low), float(high))
