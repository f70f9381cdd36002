"""Behaviour of recorded LR traces ``(..., steps)``: how often the LR changes direction and the
fraction of the time it sits at a bound. Traces must be finite. Import from
:mod:`rl_lr.metrics`.

    >>> lr_oscillations([[1, 2, 3, 2, 2, 1, 3], [3, 2, 1, 1, 1, 1, 1]])   # a cycle, a decay
    array([2, 0])
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from rl_lr.metrics.arrays import Array, check_curves, scalar_if_0d

__all__ = ["fraction_at_bound", "lr_oscillations"]


def _check_lr(lr_trace: ArrayLike, min_points: int) -> Array:
    _, lr = check_curves(None, lr_trace, min_points=min_points, name="lr_trace")
    if not np.all(np.isfinite(lr)):
        raise ValueError(f"lr_trace must be finite, got {int(np.sum(~np.isfinite(lr)))} bad values")
    return lr


def lr_oscillations(lr_trace: ArrayLike, *, rtol: float = 1e-6) -> Any:
    """Number of direction changes of the LR, ignoring flat steps.

    A step ``Δ_i = lr_{i+1} - lr_i`` is flat if ``|Δ_i| <= rtol · max(|lr_i|, |lr_{i+1}|)``;
    the others have a direction ``sign(Δ_i)``; the count is the number of consecutive non-flat
    steps (flat ones skipped) whose directions differ. A cosine schedule has 0, a triangular
    cycle 2 per period.

    Args:
        lr_trace: shape ``(..., steps)``, finite.
        rtol: relative tolerance for a flat step.

    Returns:
        Integer count(s), shape ``lr_trace.shape[:-1]``.

    Example:
        >>> lr_oscillations([1, 2, 3, 2, 2, 1, 3])    # + + - (flat) - +: two changes
        np.int64(2)
    """
    lr = _check_lr(lr_trace, 1)
    d = np.diff(lr, axis=-1)
    scale = np.maximum(np.abs(lr[..., :-1]), np.abs(lr[..., 1:]))
    direction = np.where(np.abs(d) > rtol * scale, np.sign(d), 0.0)
    m = direction.shape[-1]
    if m == 0:
        return scalar_if_0d(np.zeros(lr.shape[:-1], dtype=np.int64))
    # Index of the latest non-flat step strictly before each step (-1 if none).
    latest = np.maximum.accumulate(np.where(direction != 0, np.arange(m), -1), axis=-1)
    prev = np.concatenate([np.full((*latest.shape[:-1], 1), -1), latest[..., :-1]], axis=-1)
    prev_dir = np.where(prev >= 0, np.take_along_axis(direction, np.maximum(prev, 0), axis=-1), 0.0)
    changes = (direction != 0) & (prev_dir != 0) & (direction != prev_dir)
    return scalar_if_0d(np.sum(changes, axis=-1))


def fraction_at_bound(
    lr_trace: ArrayLike, low: float | None, high: float | None, *, rtol: float = 1e-6
) -> Any:
    """Fraction of recorded LR values at (or beyond) a bound.

    At the low bound if ``lr <= low + rtol · |low|``, at the high bound if
    ``lr >= high - rtol · |high|``. Each value counts equally, so pass a trace sampled
    uniformly in time (e.g. one value per update or per eval point).

    Args:
        lr_trace: shape ``(..., steps)``, finite.
        low: lower bound, or ``None``.
        high: upper bound, or ``None`` (at least one bound is needed).
        rtol: relative tolerance.

    Returns:
        Shape ``lr_trace.shape[:-1]``.

    Example:
        >>> fraction_at_bound([1e-6, 1e-6, 5e-4, 1e-2], low=1e-6, high=1e-2)
        np.float64(0.75)
    """
    if low is None and high is None:
        raise ValueError("fraction_at_bound needs low or high (or both), got neither")
    if low is not None and high is not None and not low < high:
        raise ValueError(f"low must be < high, got low={low}, high={high}")
    lr = _check_lr(lr_trace, 1)
    at = np.zeros(lr.shape, dtype=bool)
    if low is not None:
        at |= lr <= low + rtol * abs(low)
    if high is not None:
        at |= lr >= high - rtol * abs(high)
    return scalar_if_0d(np.mean(at, axis=-1))
