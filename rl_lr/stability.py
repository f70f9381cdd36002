"""Stability of learning curves and LR traces: pure functions on NumPy arrays.

Learning curves follow rliable's shape convention: ``curves`` has shape ``(..., points)`` (usually
``(runs, points)``) and ``timesteps`` is the shared 1-D array ``(points,)``, strictly increasing.
Per-run metrics return an array of shape ``curves.shape[:-1]`` (a scalar for one curve) so the
harness can aggregate them with :func:`rl_lr.metrics.stratified_bootstrap_ci`; across-run
metrics take ``(runs, points)``.

Chan et al. (ICLR 2020), "Measuring the Reliability of Reinforcement Learning Algorithms", as the
google-research/rl-reliability-metrics code computes them (``metrics_online.py``,
``metric_utils.py``), with these deliberate differences, each documented where it applies:

* long-term risk is the CVaR of the drawdown's *upper* tail (the library's ``LowerCVaROnDrawdown``
  averages the smallest drawdowns, which are 0: a sign slip);
* the low-pass filter is the same Butterworth filter in second-order sections, padded with the
  whole curve, and is skipped (with a warning) for curves too short for it;
* ``curve_range`` normalisation gives NaN, not a sign-flipped value, when a curve's range is <= 0.

NaN policy: NaN in a curve makes that run's per-run metric NaN and an across-run metric NaN where
the run enters; nothing is dropped silently. LR traces must be finite.

    >>> import numpy as np
    >>> curves = np.array([[0.0, 1.0, 3.0, 2.0, 6.0], [0.0, 2.0, 1.0, 3.0, 4.0]])
    >>> dispersion_across_time(np.arange(5), curves)        # one value per run
    array([2. , 1.5])
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import numpy as np
import scipy.signal
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "curve_range",
    "cvar",
    "detrend",
    "dispersion_across_runs",
    "dispersion_across_time",
    "drawdown",
    "fraction_at_bound",
    "long_term_risk",
    "lowpass_filter",
    "lr_oscillations",
    "regime_drop_and_recovery",
    "regime_switch_effects",
    "risk_across_runs",
    "short_term_risk",
]

Array = NDArray[np.float64]
Normalise = Literal["curve_range"] | None


# --------------------------------------------------------------------------- validation


def _float_array(x: ArrayLike, name: str) -> Array:
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from err


def _check_timesteps(timesteps: ArrayLike, min_points: int = 1) -> Array:
    t = _float_array(timesteps, "timesteps")
    if t.ndim != 1 or t.size < min_points:
        raise ValueError(
            f"timesteps must have shape (points,) with points >= {min_points}, got shape {t.shape}"
        )
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError(f"timesteps must be finite and strictly increasing, got {t}")
    return t


def _check_curves(
    timesteps: ArrayLike | None, curves: ArrayLike, min_points: int = 1, name: str = "curves"
) -> tuple[Array | None, Array]:
    """Validate ``curves`` (..., points) and, if given, ``timesteps`` (points,)."""
    t = None if timesteps is None else _check_timesteps(timesteps, min_points)
    y = _float_array(curves, name)
    if y.ndim < 1 or y.shape[-1] < min_points:
        raise ValueError(
            f"{name} must have shape (..., points) with points >= {min_points}, got shape {y.shape}"
        )
    if t is None:
        return None, y
    if t.shape[0] != y.shape[-1]:
        raise ValueError(
            f"{name} must have shape (..., {t.shape[0]}) to match timesteps (points,) = "
            f"({t.shape[0]},), got shape {y.shape}"
        )
    return t, y


def _check_runs_points(curves: ArrayLike, name: str = "curves", min_points: int = 1) -> Array:
    y = _float_array(curves, name)
    if y.ndim != 2 or y.shape[0] < 1 or y.shape[1] < min_points:
        raise ValueError(
            f"{name} must have shape (runs, points) with runs >= 1 and points >= {min_points}, "
            f"got shape {y.shape}"
        )
    return y


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")


def _scalar(x: Any) -> Any:
    """A 0-d array becomes a NumPy scalar (what reductions of a 1-D array return)."""
    return x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x


# --------------------------------------------------------------------------- building blocks


def cvar(x: ArrayLike, alpha: float = 0.05, *, tail: Literal["lower", "upper"] = "lower") -> Any:
    """Conditional value at risk (expected shortfall) along the last axis.

    Lower tail: ``VaR = percentile(x, 100 α)``, ``CVaR = mean(x[x <= VaR])``; upper tail:
    ``VaR = percentile(x, 100 (1 - α))``, ``CVaR = mean(x[x >= VaR])``; percentiles with linear
    interpolation (``scipy.stats.scoreatpercentile``), as ``metric_utils.compute_cvar``.

    Args:
        x: values, shape ``(..., n)``.
        alpha: tail probability in (0, 1].
        tail: ``"lower"`` or ``"upper"``.

    Returns:
        Shape ``x.shape[:-1]``; NaN where a row has a NaN.

    Example:
        >>> cvar([1.0, 2.0, 3.0, 4.0], alpha=0.5)    # VaR = 2.5 -> mean(1, 2)
        np.float64(1.5)
    """
    _check_alpha(alpha)
    if tail not in ("lower", "upper"):
        raise ValueError(f"tail must be 'lower' or 'upper', got {tail!r}")
    a = _float_array(x, "x")
    if a.ndim < 1 or a.shape[-1] < 1:
        raise ValueError(f"x must have shape (..., n) with n >= 1, got shape {a.shape}")
    q = 100.0 * alpha if tail == "lower" else 100.0 * (1.0 - alpha)
    var = np.percentile(a, q, axis=-1, keepdims=True)
    mask = a <= var if tail == "lower" else a >= var
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sum(np.where(mask, a, 0.0), axis=-1) / np.sum(mask, axis=-1)
    out = np.where(np.isnan(a).any(axis=-1), np.nan, out)
    return _scalar(out)


def detrend(timesteps: ArrayLike, curves: ArrayLike) -> Array:
    """First differences per unit time, ``d_i = (y_{i+1} - y_i) / (t_{i+1} - t_i)``.

    Dividing by Δt makes the values independent of the evaluation frequency
    (``metric_utils.differences``).

    Args:
        timesteps: shape ``(points,)``, points >= 2.
        curves: shape ``(..., points)``.

    Returns:
        Shape ``(..., points - 1)``.

    Example:
        >>> detrend([0, 2, 3], [1.0, 5.0, 4.0])
        array([ 2., -1.])
    """
    t, y = _check_curves(timesteps, curves, min_points=2)
    assert t is not None
    return np.diff(y, axis=-1) / np.diff(t)


def drawdown(curves: ArrayLike) -> Array:
    """Drawdown ``D_t = max_{s <= t} y_s - y_t`` (>= 0), shape as ``curves``.

    Example:
        >>> drawdown([0.0, 4.0, 1.0, 3.0, 5.0])
        array([0., 0., 3., 1., 0.])
    """
    _, y = _check_curves(None, curves)
    return np.asarray(np.maximum.accumulate(y, axis=-1) - y)


def curve_range(curves: ArrayLike) -> Any:
    """Curve range ``percentile(y, 95) - y_0`` per curve (``metric_utils.curve_range``).

    Example:
        >>> curve_range([[1.0, 3.0, 5.0], [2.0, 2.0, 2.0]])   # 95th pct of [1 3 5] = 4.8
        array([3.8, 0. ])
    """
    _, y = _check_curves(None, curves)
    return _scalar(np.percentile(y, 95, axis=-1) - y[..., 0])


def _per_run_scale(y: Array, normalise: Normalise) -> Array:
    """1 for no normalisation; else the curve range, NaN where it is <= 0 (shape (..., 1))."""
    if normalise is None:
        return np.ones((*y.shape[:-1], 1))
    if normalise != "curve_range":
        raise ValueError(f"normalise must be 'curve_range' or None, got {normalise!r}")
    r = np.percentile(y, 95, axis=-1) - y[..., 0]
    return np.where(r > 0, r, np.nan)[..., None]


def _iqr(a: Array, axis: int = -1) -> Array:
    q25, q75 = np.percentile(a, [25.0, 75.0], axis=axis)
    return np.asarray(q75 - q25)


def lowpass_filter(curves: ArrayLike, *, cutoff: float = 0.01, order: int = 8) -> Array:
    """Zero-phase Butterworth low-pass filter along the last axis (Chan et al.'s pre-processing
    for across-run metrics).

    The filter is ``scipy.signal.butter(order, cutoff)`` (cutoff as a fraction of the Nyquist
    frequency of the eval grid) applied forwards and backwards. Two differences from the
    library's ``metric_utils.lowpass_filter``, both because its output is wrong otherwise:

    * second-order sections (``sosfiltfilt``) instead of ``(b, a)``: at order 8 and cutoff 0.01
      the ``(b, a)`` polynomial loses precision, its DC gain is 0.990 and a constant curve
      comes back 1 % low; the sections compute the same filter exactly;
    * padding with the whole curve (``padlen = points - 1``) instead of ``min(points - 1, 27)``:
      with 27 samples of padding a 200-point ramp is distorted by 70 % of its range, with the
      whole curve by 4 %.

    Short-curve rule: a filter with cutoff ``c`` cannot act on fewer points than one period of
    its cutoff, ``ceil(2 / c)`` (200 at 0.01); shorter curves come back unfiltered, with a
    ``UserWarning`` naming the length and the limit (on 50 points the filtered values would
    overshoot the curve by twice its range).

    Args:
        curves: shape ``(..., points)``.
        cutoff: -3 dB point as a fraction of Nyquist, in (0, 1).
        order: filter order (>= 1).

    Returns:
        Filtered curves, same shape; a run with a NaN is NaN throughout.

    Example:
        >>> y = np.full((2, 300), 3.0)
        >>> bool(np.allclose(lowpass_filter(y), 3.0))   # DC gain exactly 1
        True
    """
    if not 0.0 < cutoff < 1.0:
        raise ValueError(f"cutoff must be in (0, 1) (fraction of Nyquist), got {cutoff}")
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    _, y = _check_curves(None, curves)
    n = y.shape[-1]
    min_points = math.ceil(2.0 / cutoff)
    if n < min_points:
        warnings.warn(
            f"curves have {n} points, fewer than ceil(2 / cutoff) = {min_points} needed by a "
            f"low-pass filter with cutoff {cutoff}: using them unfiltered",
            UserWarning,
            stacklevel=2,
        )
        return y.copy()
    sos = scipy.signal.butter(order, cutoff, output="sos")
    return np.asarray(scipy.signal.sosfiltfilt(sos, y, axis=-1, padlen=n - 1))


# --------------------------------------------------------------------------- Chan et al. 2020


def dispersion_across_time(
    timesteps: ArrayLike,
    curves: ArrayLike,
    *,
    window: int | None = None,
    normalise: Normalise = None,
) -> Array:
    """Dispersion across time (DT): IQR of the detrended curve, per run.

    ``DT = IQR(d) / s`` with ``d = Δy/Δt`` (:func:`detrend`) and ``s`` the curve range when
    ``normalise="curve_range"`` (else 1); ``IqrWithinRuns`` in the library.

    Args:
        timesteps: shape ``(points,)``, points >= 2.
        curves: shape ``(..., points)``.
        window: number of detrended values per window; windows are consecutive, non-overlapping
            and start at the first value (a trailing remainder shorter than ``window`` is
            dropped). ``None``: the whole run is one window.
        normalise: ``"curve_range"`` or ``None``.

    Returns:
        Shape ``curves.shape[:-1]`` without a window, ``(..., n_windows)`` with one.

    Example:
        >>> dispersion_across_time([0, 1, 2, 3, 4], [0.0, 1.0, 3.0, 2.0, 6.0])  # d = [1 2 -1 4]
        np.float64(2.0)
    """
    _, y = _check_curves(timesteps, curves, min_points=2)
    d = detrend(timesteps, y) / _per_run_scale(y, normalise)
    if window is None:
        return _scalar(_iqr(d))
    m = d.shape[-1]
    if not 1 <= window <= m:
        raise ValueError(f"window must be in [1, points - 1 = {m}] detrended values, got {window}")
    blocks = d[..., : (m // window) * window].reshape(*d.shape[:-1], m // window, window)
    return _iqr(blocks)


def short_term_risk(
    timesteps: ArrayLike, curves: ArrayLike, *, alpha: float = 0.05, normalise: Normalise = None
) -> Any:
    """Short-term risk across time (SRT): lower CVaR of the detrended curve, per run.

    ``SRT = CVaR_α^lower(Δy/Δt) / s`` (``LowerCVaROnDiffs``); more negative = worse drops
    between consecutive evaluations.

    Args:
        timesteps: shape ``(points,)``, points >= 2.
        curves: shape ``(..., points)``.
        alpha: tail probability (0.05 in Chan et al.).
        normalise: ``"curve_range"`` or ``None``.

    Returns:
        Shape ``curves.shape[:-1]``.

    Example:
        >>> short_term_risk([0, 1, 2, 3, 4], [0.0, 1.0, 3.0, 2.0, 6.0], alpha=0.5)
        np.float64(0.0)
    """
    _, y = _check_curves(timesteps, curves, min_points=2)
    return cvar(detrend(timesteps, y) / _per_run_scale(y, normalise), alpha, tail="lower")


def long_term_risk(curves: ArrayLike, *, alpha: float = 0.05, normalise: Normalise = None) -> Any:
    """Long-term risk across time (LRT): CVaR of the drawdown over its upper tail, per run.

    ``LRT = CVaR_α^upper(D) / s``, ``D_t = max_{s<=t} y_s - y_t``: the mean of the worst α
    fraction of drawdowns (larger = worse). The library's ``LowerCVaROnDrawdown`` (the one its
    example config runs) averages the *smallest* drawdowns instead, which are 0 for nearly every
    curve (D = 0 wherever a curve is at its running maximum, at least at its first point): a
    sign slip. ``UpperCVaROnDrawdown``, what the paper describes, is what this returns.

    Args:
        curves: shape ``(..., points)``.
        alpha: tail probability.
        normalise: ``"curve_range"`` or ``None``.

    Returns:
        Shape ``curves.shape[:-1]``.

    Example:
        >>> long_term_risk([0.0, 4.0, 1.0, 3.0, 5.0, 2.0], alpha=0.05)   # D = [0 0 3 1 0 3]
        np.float64(3.0)
    """
    _, y = _check_curves(None, curves)
    return cvar(drawdown(y) / _per_run_scale(y, normalise), alpha, tail="upper")


def dispersion_across_runs(
    curves: ArrayLike, *, cutoff: float | None = 0.01, normalise: Normalise = None
) -> Array:
    """Dispersion across runs (DR): IQR across runs at each eval point, after low-pass filtering.

    ``DR_j = IQR_i(f(y_i)_j) / median_i(s_i)`` with ``f`` :func:`lowpass_filter` (``None``: no
    filter) and ``s_i`` the curve ranges if ``normalise="curve_range"`` (the library divides by
    their median; NaN if that median is <= 0).

    Args:
        curves: shape ``(runs, points)``.
        cutoff: low-pass cutoff as a fraction of Nyquist, or ``None`` for no filter.
        normalise: ``"curve_range"`` or ``None``.

    Returns:
        Shape ``(points,)``.

    Example:
        >>> dispersion_across_runs([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], cutoff=None)
        array([2., 2.])
    """
    y = _check_runs_points(curves)
    filtered = y if cutoff is None else lowpass_filter(y, cutoff=cutoff)
    result = _iqr(filtered, axis=0)
    if normalise is not None:
        _per_run_scale(y, normalise)  # validates the name
        scale = float(np.median(np.percentile(y, 95, axis=-1) - y[:, 0]))
        result = result / scale if scale > 0 else np.full_like(result, np.nan)
    return result


def risk_across_runs(
    curves: ArrayLike,
    *,
    alpha: float = 0.05,
    cutoff: float | None = None,
    normalise: Normalise = None,
) -> float:
    """Risk across runs (RR): lower CVaR across runs of the final performance.

    ``RR = CVaR_α^lower over runs of f(y_i / s_i)_final`` with ``s_i`` each run's curve range if
    ``normalise="curve_range"`` (divided per run, as ``LowerCVaROnAcross``) and ``f`` the
    low-pass filter if ``cutoff`` is given (the library evaluates the filtered curves; the
    default ``None`` takes the last evaluation as is). The expected final score of the worst
    α fraction of runs.

    Args:
        curves: shape ``(runs, points)``; the last column is the final performance.
        alpha: tail probability.
        cutoff: low-pass cutoff or ``None``.
        normalise: ``"curve_range"`` or ``None``.

    Example:
        >>> risk_across_runs(np.arange(1.0, 21.0)[:, None], alpha=0.25)   # VaR 5.75: mean(1..5)
        3.0
    """
    y = _check_runs_points(curves)
    y = y / _per_run_scale(y, normalise)
    if cutoff is not None:
        y = lowpass_filter(y, cutoff=cutoff)
    return float(cvar(y[:, -1], alpha, tail="lower"))


# --------------------------------------------------------------------------- regime switches


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
    t, y = _check_curves(timesteps, curves)
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
    return _scalar(drop), _scalar(recovery)


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
    s = _float_array(switch_steps, "switch_steps")
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


# --------------------------------------------------------------------------- LR traces


def _check_lr(lr_trace: ArrayLike, min_points: int) -> Array:
    _, lr = _check_curves(None, lr_trace, min_points=min_points, name="lr_trace")
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
        return _scalar(np.zeros(lr.shape[:-1], dtype=np.int64))
    # Index of the latest non-flat step strictly before each step (-1 if none).
    latest = np.maximum.accumulate(np.where(direction != 0, np.arange(m), -1), axis=-1)
    prev = np.concatenate([np.full((*latest.shape[:-1], 1), -1), latest[..., :-1]], axis=-1)
    prev_dir = np.where(prev >= 0, np.take_along_axis(direction, np.maximum(prev, 0), axis=-1), 0.0)
    changes = (direction != 0) & (prev_dir != 0) & (direction != prev_dir)
    return _scalar(np.sum(changes, axis=-1))


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
    return _scalar(np.mean(at, axis=-1))
