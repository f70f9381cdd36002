"""The seeded stratified bootstrap's machinery, shared by :mod:`rl_lr.metrics.bootstrap` and
:mod:`rl_lr.metrics.comparisons`: generators from seeds (one stream per named item), resample
indices drawn in chunks (each task's runs resampled on their own), percentile intervals, and
:class:`Interval`, the point estimate with its confidence interval that every CI returns.

Reproducibility rules: every draw comes from an explicit generator; indices are int32 draws,
which are the same however they are chunked, so a result depends only on the generator, the
shape of the data and the number of resamples (never on :data:`INDICES_PER_CHUNK`).

    >>> gen = as_generator(0)
    >>> [idx.shape for idx in resample_indices(gen, reps=5, runs=3, tasks=2, chunk=2)]
    [(2, 3, 2), (2, 3, 2), (1, 3, 2)]
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from rl_lr.metrics.arrays import Array, Ints

__all__ = [
    "INDICES_PER_CHUNK",
    "Interval",
    "Seed",
    "as_generator",
    "check_interval_args",
    "chunk_size",
    "named_streams",
    "percentile_interval",
    "resample_indices",
]

Seed = np.random.Generator | int

# Resample indices drawn per chunk: small enough to stay in cache. Read at each call, so a test
# may monkeypatch it to check that chunking never changes a result.
INDICES_PER_CHUNK = 1 << 18


class Interval(NamedTuple):
    """A point estimate with its confidence interval."""

    point: float
    low: float
    high: float


def check_interval_args(reps: int, confidence: float) -> None:
    """``ValueError`` unless ``reps >= 1`` and ``0 < confidence < 1``."""
    if reps < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def as_generator(rng: Seed, name: str = "rng") -> np.random.Generator:
    """A ``Generator`` as is, an int seed as ``numpy.random.default_rng(seed)``; ``TypeError``
    naming the argument for anything else."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be a numpy.random.Generator or an int seed, got {rng!r}")


def named_streams(rng: Seed) -> Callable[..., np.random.Generator]:
    """A factory of generators for named items (a policy, a pair of policies): the same seed
    and names always give the same stream, whatever else is evaluated alongside. A
    ``Generator`` is drawn from once, here.

    Example:
        >>> stream = named_streams(0)
        >>> int(stream("ppo").integers(100)) == int(named_streams(0)("ppo").integers(100))
        True
    """
    as_generator(rng)  # validates
    entropy = int(rng.integers(2**63)) if isinstance(rng, np.random.Generator) else int(rng)

    def stream(*keys: str) -> np.random.Generator:
        return np.random.default_rng([entropy, *(zlib.crc32(k.encode()) for k in keys)])

    return stream


def percentile_interval(dist: Array, confidence: float) -> tuple[Any, Any]:
    """``(low, high)``: the ``(1 ∓ confidence) / 2`` percentiles of a bootstrap distribution
    along axis 0 (linear interpolation, as ``scipy.stats.bootstrap(method='percentile')``)."""
    alpha = (1.0 - confidence) / 2.0
    low, high = np.percentile(dist, [100.0 * alpha, 100.0 * (1.0 - alpha)], axis=0)
    return low, high


def chunk_size(*sizes: int) -> int:
    """Resamples per chunk for data of the given sizes (runs × tasks of each sample)."""
    return max(1, INDICES_PER_CHUNK // max(sizes))


def resample_indices(
    gen: np.random.Generator, reps: int, runs: int, tasks: int, chunk: int | None = None
) -> Iterator[Ints]:
    """Stratified bootstrap indices, ``reps`` resamples in chunks of shape
    ``(chunk, runs, tasks)``: each task's runs are drawn with replacement on their own.

    int32 draws are the same however they are chunked: the chunks concatenated equal one draw
    ``gen.integers(0, runs, (reps, runs, tasks), dtype=np.int32)``.
    """
    chunk = chunk or chunk_size(runs * tasks)
    for start in range(0, reps, chunk):
        size = (min(chunk, reps - start), runs, tasks)
        yield gen.integers(0, runs, size=size, dtype=np.int32)
