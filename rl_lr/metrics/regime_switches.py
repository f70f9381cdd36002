"""Recovery of (clean) eval curves from reward-regime switches: how far a curve drops below
its pre-switch level and how many env steps it takes to come back, after one switch or after
each of several, and per run over all its switches with never-recovered switches kept
(:func:`switch_summary`). NaN in the pre-switch window or the after-period makes that run's
values NaN. Import from :mod:`rl_lr.metrics`.

    >>> regime_drop_and_recovery(np.arange(6) * 10, [5, 5, 1, 3, 5, 5.0], 20, window=1)
    (np.float64(4.0), np.float64(20.0))
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from rl_lr.metrics.arrays import Array, as_float_array, check_curves, scalar_if_0d

__all__ = ["SwitchSummary", "regime_drop_and_recovery", "regime_switch_effects",
           "switch_summary"]


def regime_drop_and_recovery(
    timesteps: ArrayLike,
    curves: ArrayLike,
    switch_step: float,
    *,
    window: int = 3,
    end_step: float | None = None,
    atol: float = 0.0,
    rtol: float = 0.05,
) -> tuple[Any, Any]:
    """Drop and recovery time of a (clean) eval curve after one reward-regime switch.

    Definitions (eval points with ``t < switch_step`` are *before*, ``switch_step <= t <
    end_step`` *after*):

    * pre-switch level ``L`` = mean of the last ``window`` points before the switch;
    * ``drop = max(0, L - min(after))``, in return units;
    * tolerance ``τ = atol + rtol · |L|`` (a band ``[L - τ, ∞)``, like ``numpy.isclose``);
    * ``recovery_steps`` = 0 if the curve never leaves the band after the switch; else the first
      point *at or after the lowest point* that is back in the band, minus ``switch_step``
      (recovery from the worst dip, not from an early wiggle); NaN if it never comes back
      before ``end_step``.

    Args:
        timesteps: shape ``(points,)``.
        curves: shape ``(..., points)``.
        switch_step: env step of the switch.
        window: number of eval points before the switch that define ``L`` (fewer if fewer exist).
        end_step: end of the after-period (the next switch); ``None``: end of the curve.
        atol: absolute tolerance, in return units (use it for normalised scores).
        rtol: tolerance relative to ``|L|``.

    Returns:
        ``(drop, recovery_steps)``, each of shape ``curves.shape[:-1]``; both NaN for a run with
        a NaN in the pre-window or after-period.

    Example:
        >>> t = np.arange(10) * 10
        >>> y = np.array([10, 10, 10, 4, 2, 6, 9, 10, 10, 10.0])
        >>> regime_drop_and_recovery(t, y, 30)        # L = 10, τ = 0.5: back at t = 70
        (np.float64(8.0), np.float64(40.0))
    """
    t, y = check_curves(timesteps, curves)
    assert t is not None
    if window < 1:
        raise ValueError(f"window must be >= 1 eval point, got {window}")
    if atol < 0 or rtol < 0:
        raise ValueError(f"atol and rtol must be >= 0, got {atol} and {rtol}")
    end = np.inf if end_step is None else end_step
    before = np.flatnonzero(t < switch_step)[-window:]
    after = np.flatnonzero((t >= switch_step) & (t < end))
    if before.size == 0 or after.size == 0:
        raise ValueError(
            f"switch_step={switch_step} (end_step={end_step}) needs eval points before and after "
            f"it; timesteps span [{t[0]}, {t[-1]}]"
        )
    level = y[..., before].mean(axis=-1)
    post = y[..., after]
    lowest = post.min(axis=-1)
    drop = np.maximum(0.0, level - lowest)
    floor = level - (atol + rtol * np.abs(level))
    trough = np.argmin(post, axis=-1)
    back = (post >= floor[..., None]) & (np.arange(after.size) >= trough[..., None])
    first = np.argmax(back, axis=-1)
    recovery = np.where(back.any(axis=-1), t[after][first] - switch_step, np.nan)
    recovery = np.where(lowest >= floor, 0.0, recovery)
    bad = np.isnan(y[..., before]).any(axis=-1) | np.isnan(post).any(axis=-1)
    drop = np.where(bad, np.nan, drop)
    recovery = np.where(bad, np.nan, recovery)
    return scalar_if_0d(drop), scalar_if_0d(recovery)


def regime_switch_effects(
    timesteps: ArrayLike,
    curves: ArrayLike,
    switch_steps: ArrayLike,
    *,
    window: int = 3,
    atol: float = 0.0,
    rtol: float = 0.05,
) -> tuple[Array, Array]:
    """:func:`regime_drop_and_recovery` after each of several switches; each switch's
    after-period ends at the next switch (the last at the end of the curve).

    Returns:
        ``(drops, recovery_steps)``, each of shape ``(*curves.shape[:-1], switches)``.

    Example:
        >>> t = np.arange(6) * 10
        >>> drops, rec = regime_switch_effects(t, [5, 5, 1, 5, 2, 2.0], [20, 40], window=1)
        >>> drops, rec
        (array([4., 3.]), array([10., nan]))
    """
    s = as_float_array(switch_steps, "switch_steps")
    if s.ndim != 1 or s.size < 1 or np.any(np.diff(s) <= 0):
        raise ValueError(
            f"switch_steps must have shape (switches,), >= 1 and strictly increasing, got {s}"
        )
    ends: list[float | None] = [float(e) for e in s[1:]]
    ends.append(None)
    pairs = [
        regime_drop_and_recovery(
            timesteps, curves, float(sw), window=window, end_step=e, atol=atol, rtol=rtol
        )
        for sw, e in zip(s, ends, strict=True)
    ]
    return (
        np.stack([np.asarray(p[0]) for p in pairs], axis=-1),
        np.stack([np.asarray(p[1]) for p in pairs], axis=-1),
    )


class SwitchSummary(NamedTuple):
    """Each run's effects of its regime switches (:func:`switch_summary`), and the counts of
    switches scored and recovered over all runs."""

    drop: Array  # (runs,): mean drop over the run's scored switches; NaN when none
    recovery: Array  # (runs,): mean censored recovery steps over its scored switches
    recovered: int  # scored switches after which the curve came back within the regime
    scored: int  # switches scored, over all runs


def switch_summary(
    timesteps: ArrayLike,
    curves: ArrayLike,
    switch_steps: ArrayLike,
    end_step: float,
    *,
    window: int = 3,
    atol: float = 0.0,
    rtol: float = 0.05,
) -> SwitchSummary:
    """:func:`regime_drop_and_recovery` after each switch, per run, with never-recovered
    switches kept rather than dropped.

    Each switch's regime runs to the next switch (the last one's to ``end_step``, the run's
    budget); its length is that end minus the switch. A switch is *scored* in a run when the
    curve has finite eval points before it and inside its regime (else it is left out of that
    run: a diverged run, or a regime no evaluation falls in). Per scored switch:

    * ``drop``: as :func:`regime_drop_and_recovery`;
    * censored recovery: the recovery steps when the curve came back within the regime, else
      the regime's full length (right-censored: the true recovery time is at least that).

    Returns:
        :class:`SwitchSummary`: per run, the mean drop and mean censored recovery over its
        scored switches (NaN for a run with none), and over all runs the switches scored and
        the switches recovered.

    Example:
        >>> t = np.arange(6) * 10
        >>> s = switch_summary(t, [[5, 5, 1, 5, 2, 2.0]], [20, 40], 60, window=1)
        >>> s.drop, s.recovery, s.recovered, s.scored  # (4 + 3) / 2; (10 + 20) / 2
        (array([3.5]), array([15.]), 1, 2)
    """
    t, y = check_curves(timesteps, curves)
    assert t is not None
    y = np.atleast_2d(y).reshape(-1, t.size)
    s = as_float_array(switch_steps, "switch_steps")
    if s.ndim != 1 or np.any(np.diff(s) <= 0):
        raise ValueError(f"switch_steps must have shape (switches,), increasing, got {s}")
    ends = np.append(s[1:], float(end_step))
    drops = np.full((y.shape[0], s.size), np.nan)
    recovery = np.full((y.shape[0], s.size), np.nan)
    came_back = np.zeros((y.shape[0], s.size), dtype=bool)
    for i, (start, end) in enumerate(zip(s, ends, strict=True)):
        last = i == s.size - 1  # its regime runs to the end of the curve
        inside = (t >= start) if last else (t >= start) & (t < end)
        if not (np.any(t < start) and np.any(inside)):
            continue  # no evaluation before the switch or inside its regime
        drop, rec = regime_drop_and_recovery(t, y, float(start), window=window,
                                             end_step=None if last else float(end),
                                             atol=atol, rtol=rtol)
        drops[:, i] = drop
        came_back[:, i] = np.isfinite(rec)
        recovery[:, i] = np.where(np.isfinite(rec), rec, end - start)
    scored = np.isfinite(drops)
    counts = scored.sum(axis=-1)
    safe = np.maximum(counts, 1)
    run_drop = np.where(counts > 0, np.where(scored, drops, 0.0).sum(axis=-1) / safe, np.nan)
    run_recovery = np.where(counts > 0, np.where(scored, recovery, 0.0).sum(axis=-1) / safe,
                            np.nan)
    return SwitchSummary(run_drop, run_recovery, int((scored & came_back).sum()),
                         int(scored.sum()))
