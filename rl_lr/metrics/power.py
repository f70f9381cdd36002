"""Statistical power of the comparison the report makes: "X beats Y" when the 95 % CI of
``P(X > Y)`` lies entirely above 0.5.

The report estimates ``P(X > Y) = U / (n_x n_y)`` (the Mann–Whitney U of x;
:func:`~rl_lr.metrics.probability_of_improvement`) from ``n_x`` runs of X and ``n_y`` runs of
Y, with a percentile CI from a bootstrap that resamples each side on its own
(:func:`~rl_lr.metrics.probability_of_improvement_ci`, 2,000 resamples). The power of that
design is the probability that the CI's lower bound is above 0.5 when X truly beats Y with
probability ``p_true``. It is simulated here: each simulated experiment draws normal scores,
X's shifted by ``sqrt(2) Φ⁻¹(p_true)`` (then ``P(X > Y) = p_true`` exactly), and gets the very
bootstrap the report computes: simulated experiment ``k`` uses the generator
``named_streams(rng)(str(k))``, draws x's scores, y's scores, then x's resamples and y's
resamples, so its CI equals ``probability_of_improvement_ci`` called with that generator after
the scores were drawn (checked in the tests). No normal approximation.

Common random numbers: every ``p_true`` reuses the same scores and resamples, only the shift
changes, and a larger shift never lowers a resample's ``P(X > Y)``. So each simulated
experiment has a critical shift above which it detects the difference, found by bisection over
the shifts where an x overtakes a y (:func:`critical_shifts`); the power at ``p`` is the
fraction of critical shifts below ``sqrt(2) Φ⁻¹(p)``, and :func:`min_detectable_p` reads the
smallest ``p`` with the requested power off their quantile. Monotone in ``p`` by construction,
deterministic for a given seed.

    >>> round(power(0.7, 10, 10, sims=200, rng=0), 2)   # 10 runs a side: P = 0.7 mostly missed
    0.34
    >>> round(min_detectable_p(10, 10, sims=200, rng=0), 2)   # 80 % power needs P >= 0.83
    0.83
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from statistics import NormalDist

import numpy as np

from rl_lr.metrics.arrays import Array, Ints
from rl_lr.metrics.resampling import (
    Seed,
    check_interval_args,
    named_streams,
    percentile_interval,
    resample_indices,
)

__all__ = ["BETTER", "CEILING", "MIN_RUNS", "SIMS", "TOO_FEW", "WORSE", "critical_shifts",
           "min_detectable_p", "power", "shift_for", "simulated_lower_bounds", "verdict"]

SIMS = 1000  # simulated experiments: the power's standard error is at most 0.5 / sqrt(SIMS)
REPS = 2000  # bootstrap resamples per simulated experiment, as the report's
ELEMENTS_PER_CHUNK = 1 << 21  # sims x resamples x runs held in memory at once

_NORMAL = NormalDist()

BETTER = "better"  # the CI of P(X > Y) lies above 0.5
WORSE = "worse"  # ... below 0.5
CEILING = "no win possible: the baseline is at the env's maximum in every run"
# Fewer runs a side and even complete separation is not significant at 5 % (exact
# Mann-Whitney, two-sided: 2 / C(6, 3) = 0.1 at 3 vs 3, 2 / C(8, 4) = 0.029 at 4 vs 4), while
# the percentile bootstrap's CI of P collapses to [0, 0] or [1, 1]: no verdict is given.
MIN_RUNS = 4
TOO_FEW = f"too few runs to judge (fewer than {MIN_RUNS} a side)"


# --------------------------------------------------------------------------- arguments


def _check_count(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def _check_probability(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must be a probability in (0, 1), got {value!r}")
    return float(value)


def shift_for(p_true: float) -> float:
    """The shift of X's normal scores that makes ``P(X > Y) = p_true`` for unit normals:
    ``X - Y ~ N(shift, 2)``, so ``shift = sqrt(2) Φ⁻¹(p_true)``.

    Example:
        >>> shift_for(0.5), round(shift_for(0.9), 3)
        (0.0, 1.812)
    """
    p = _check_probability(p_true, "p_true")
    return math.sqrt(2.0) * _NORMAL.inv_cdf(p)


# --------------------------------------------------------------------------- simulation


class _Batch:
    """Simulated experiments ``first .. first + size - 1``: unit-normal scores and the bootstrap
    draw counts of each, from which the CI's lower bound follows for any shift of x."""

    def __init__(self, stream: Callable[..., np.random.Generator], first: int, size: int,
                 n_x: int, n_y: int, reps: int) -> None:
        self.zx, self.ys = np.empty((size, n_x)), np.empty((size, n_y))
        ix = np.empty((size, reps, n_x), dtype=np.int32)
        y_pos = np.empty((size, reps, n_y), dtype=np.int32)
        for s in range(size):
            gen = stream(str(first + s))
            self.zx[s] = gen.standard_normal(n_x)
            zy = gen.standard_normal(n_y)
            ix[s] = next(resample_indices(gen, reps, n_x, 1, chunk=reps))[:, :, 0]
            iy = next(resample_indices(gen, reps, n_y, 1, chunk=reps))[:, :, 0]
            order = np.argsort(zy, kind="stable")
            self.ys[s] = zy[order]
            rank = np.empty(n_y, dtype=np.int32)
            rank[order] = np.arange(n_y, dtype=np.int32)
            np.take(rank, iy, out=y_pos[s])
        # How often each x run is drawn, (size, reps, n_x), and y's cumulative draw counts in
        # ascending order of score, (size, reps, n_y + 1): U = sum_i wx_i * cy[#y below x_i].
        self.wx = _counts(ix, n_x)
        self.cy = np.zeros((size, reps, n_y + 1), dtype=np.int64)
        np.cumsum(_counts(y_pos, n_y), axis=2, out=self.cy[:, :, 1:])

    def lower_bounds(self, shift: Array, confidence: float) -> Array:
        """The CI's lower bound of each simulated experiment with x shifted by ``shift``
        (one shift per experiment), shape ``(size,)``."""
        gathered = np.empty_like(self.wx)
        for s, (ys, x) in enumerate(zip(self.ys, self.zx + shift[:, None], strict=True)):
            np.take(self.cy[s], np.searchsorted(ys, x), axis=1, out=gathered[s])
        u = np.einsum("srj,srj->sr", self.wx, gathered)
        dist = u / float(self.zx.shape[1] * self.ys.shape[1])
        low, _ = percentile_interval(dist.T, confidence)
        return np.asarray(low, dtype=np.float64)


def _counts(idx: Ints, n: int) -> Ints:
    """Draw counts of each of ``n`` runs: (..., reps, n) indices -> (..., reps, n) counts."""
    rows = idx.reshape(-1, n)
    flat = np.add(rows, (np.arange(rows.shape[0], dtype=np.int64) * n)[:, None], dtype=np.int64)
    return np.bincount(flat.ravel(), minlength=flat.size).reshape(idx.shape)


def _batches(n_x: int, n_y: int, sims: int, reps: int, rng: Seed) -> Iterator[_Batch]:
    stream = named_streams(rng)
    per_chunk = max(1, ELEMENTS_PER_CHUNK // (reps * max(n_x, n_y + 1)))
    for first in range(0, sims, per_chunk):
        yield _Batch(stream, first, min(per_chunk, sims - first), n_x, n_y, reps)


def _check_design(n_x: int, n_y: int, sims: int, reps: int, confidence: float) -> None:
    _check_count(n_x, "n_x")
    _check_count(n_y, "n_y")
    _check_count(sims, "sims")
    check_interval_args(reps, confidence)


def simulated_lower_bounds(p_true: float, n_x: int, n_y: int, *, sims: int = SIMS,
                           reps: int = REPS, confidence: float = 0.95, rng: Seed) -> Array:
    """The CI lower bound of ``P(X > Y)`` in each of ``sims`` simulated experiments, shape
    ``(sims,)`` (see the module for the simulation).

    Example:
        >>> simulated_lower_bounds(0.9, 3, 3, sims=4, reps=200, rng=0).shape
        (4,)
    """
    shift = shift_for(p_true)
    _check_design(n_x, n_y, sims, reps, confidence)
    return np.concatenate([
        b.lower_bounds(np.full(len(b.zx), shift), confidence)
        for b in _batches(n_x, n_y, sims, reps, rng)])


def power(p_true: float, n_x: int, n_y: int, *, sims: int = SIMS, reps: int = REPS,
          confidence: float = 0.95, rng: Seed) -> float:
    """The probability that the CI of ``P(X > Y)`` from ``n_x`` and ``n_y`` runs lies above
    0.5 when ``P(X > Y) = p_true``: the fraction of ``sims`` simulated experiments that detect
    it (standard error ``sqrt(power (1 - power) / sims)``).

    Args:
        p_true: the true ``P(X > Y)``, in (0, 1).
        n_x, n_y: runs of each policy (seeds per group).
        sims: simulated experiments.
        reps, confidence: the bootstrap of each CI (the report's: 2,000, 0.95).
        rng: seed or generator; the same seed gives the same answer.

    Example:
        >>> power(0.9, 20, 20, sims=100, rng=0) > power(0.6, 20, 20, sims=100, rng=0)
        True
    """
    low = simulated_lower_bounds(p_true, n_x, n_y, sims=sims, reps=reps,
                                 confidence=confidence, rng=rng)
    return float(np.mean(low > 0.5))


def critical_shifts(n_x: int, n_y: int, *, sims: int = SIMS, reps: int = REPS,
                    confidence: float = 0.95, rng: Seed) -> Array:
    """For each simulated experiment, the shift of x above which its CI lies above 0.5,
    shape ``(sims,)``: a bisection over the shifts ``y_j - x_i`` at which an x overtakes a
    y (between two consecutive ones nothing changes), so exact for the simulated data.
    ``power(p) == mean(critical_shifts(...) < shift_for(p))`` with the same arguments.

    Example:
        >>> critical_shifts(1, 1, sims=3, reps=10, rng=0).shape   # one run a side: x > y
        (3,)
    """
    _check_design(n_x, n_y, sims, reps, confidence)
    out = []
    for batch in _batches(n_x, n_y, sims, reps, rng):
        size = len(batch.zx)
        # Breakpoints per experiment, ascending; interval j lies between breakpoints j - 1 and
        # j. Interval 0 (every x below every y) never detects, interval n_x n_y (every x above
        # every y: P = 1 in every resample) always does.
        cuts = np.sort((batch.ys[:, None, :] - batch.zx[:, :, None]).reshape(size, -1), axis=1)
        low = np.zeros(size, dtype=np.int64)
        high = np.full(size, cuts.shape[1], dtype=np.int64)
        rows = np.arange(size)
        while np.any(high - low > 1):
            mid = (low + high) // 2
            active = high - low > 1
            mid = np.where(active, mid, high)
            inside = np.minimum(mid, cuts.shape[1] - 1)
            shift = (cuts[rows, mid - 1] + cuts[rows, inside]) / 2.0
            detects = batch.lower_bounds(shift, confidence) > 0.5
            high = np.where(active & detects, mid, high)
            low = np.where(active & ~detects, mid, low)
        out.append(cuts[rows, high - 1])
    return np.concatenate(out)


def min_detectable_p(n_x: int, n_y: int, power: float = 0.8, *, sims: int = SIMS,
                     reps: int = REPS, confidence: float = 0.95, rng: Seed) -> float:
    """The smallest true ``P(X > Y)`` that ``n_x`` against ``n_y`` runs detect (CI above 0.5)
    with probability ``power``, from the quantile of :func:`critical_shifts`.

    Example:
        >>> round(min_detectable_p(1, 1, sims=400, rng=0), 1)   # one run a side: power = p
        0.8
    """
    target = _check_probability(power, "power")
    shifts = np.sort(critical_shifts(n_x, n_y, sims=sims, reps=reps, confidence=confidence,
                                     rng=rng))
    needed = shifts[max(math.ceil(target * len(shifts)) - 1, 0)]
    return _NORMAL.cdf(float(needed) / math.sqrt(2.0))


def verdict(low: float, high: float, min_p: float, *, ceiling: bool = False,
            runs: tuple[int, int] | None = None) -> str:
    """The comparison's verdict in words, from the 95 % CI ``[low, high]`` of ``P(X > Y)``:
    :data:`TOO_FEW` when ``runs`` (X's and Y's) has fewer than :data:`MIN_RUNS` on a side;
    :data:`BETTER` (``low > 0.5``), :data:`WORSE` (``high < 0.5``), :data:`CEILING` when
    ``ceiling`` (Y at the env's maximum return in every run, so ``P(X > Y) <= 0.5``: no CI
    can lie above 0.5) and the CI does not say worse, else that no difference is detectable
    at this design's power: ``min_p`` is :func:`min_detectable_p` at its numbers of runs.

    Example:
        >>> verdict(0.55, 0.9, 0.83), verdict(0.1, 0.45, 0.83)
        ('better', 'worse')
        >>> verdict(0.3, 0.7, 0.83)
        'no difference detectable at this power (P >= 0.83 needed)'
        >>> verdict(0.5, 0.5, 0.83, ceiling=True) == CEILING
        True
        >>> verdict(0.0, 0.0, 0.8, runs=(1, 1)) == TOO_FEW
        True
    """
    if runs is not None and min(runs) < MIN_RUNS:
        return TOO_FEW
    if low > 0.5:
        return BETTER
    if high < 0.5:
        return WORSE
    if ceiling:
        return CEILING
    return f"no difference detectable at this power (P >= {min_p:.2f} needed)"
