"""Stability of learning curves over time and across runs: pure functions on NumPy arrays.

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
the run enters; nothing is dropped silently. Import from :mod:`rl_lr.metrics`.

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
from numpy.typing import ArrayLike

from rl_lr.metrics.arrays import Array, as_float_array, check_curves, check_run_curves, scalar_if_0d

__all__ = [
    "MIN_TAIL_POINTS",
    "curve_range",
    "cvar",
    "detrend",
    "dispersion_across_runs",
    "dispersion_across_time",
    "drawdown",
    "long_term_risk",
    "lowpass_filter",
    "risk_across_runs",
    "short_term_risk",
    "tail_points",
]

#: A CVaR whose tail holds fewer values than this is its single most extreme value (the
#: maximum drawdown, the worst slope), not the mean of a tail: :func:`tail_points`.
MIN_TAIL_POINTS = 2

Normalise = Literal["curve_range"] | None


# --------------------------------------------------------------------------- validation


def tail_points(n: int, alpha: float = 0.05) -> int:
    """How many of ``n`` values the CVaR of an ``alpha`` tail averages (:func:`cvar`: every
    value at or beyond the linearly interpolated VaR): ``n - ceil((n - 1)(1 - alpha))``.

    With fewer than :data:`MIN_TAIL_POINTS` the "CVaR" is the single most extreme value. A
    curve of 11 evaluation points has 11 drawdowns and 10 slopes, so its CVaR 5 % long-term
    risk is its maximum drawdown and its short-term risk its worst slope; averaging over at
    least two values of a 5 % tail needs 21 points.

    Example:
        >>> tail_points(11), tail_points(10), tail_points(21), tail_points(100)
        (1, 1, 2, 5)
    """
    _check_alpha(alpha)
    if n < 1:
        return 0
    return int(n - math.ceil(round((n - 1) * (1.0 - alpha), 9)))


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")


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
    a = as_float_array(x, "x")
    if a.ndim < 1 or a.shape[-1] < 1:
        raise ValueError(f"x must have shape (..., n) with n >= 1, got shape {a.shape}")
    q = 100.0 * alpha if tail == "lower" else 100.0 * (1.0 - alpha)
    var = np.percentile(a, q, axis=-1, keepdims=True)
    mask = a <= var if tail == "lower" else a >= var
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sum(np.where(mask, a, 0.0), axis=-1) / np.sum(mask, axis=-1)
    out = np.where(np.isnan(a).any(axis=-1), np.nan, out)
    return scalar_if_0d(out)


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
    t, y = check_curves(timesteps, curves, min_points=2)
    assert t is not None
    return np.diff(y, axis=-1) / np.diff(t)


def drawdown(curves: ArrayLike) -> Array:
    """Drawdown ``D_t = max_{s <= t} y_s - y_t`` (>= 0), shape as ``curves``.

    Example:
        >>> drawdown([0.0, 4.0, 1.0, 3.0, 5.0])
        array([0., 0., 3., 1., 0.])
    """
    _, y = check_curves(None, curves)
    return np.asarray(np.maximum.accumulate(y, axis=-1) - y)


def curve_range(curves: ArrayLike) -> Any:
    """Curve range ``percentile(y, 95) - y_0`` per curve (``metric_utils.curve_range``).

    Example:
        >>> curve_range([[1.0, 3.0, 5.0], [2.0, 2.0, 2.0]])   # 95th pct of [1 3 5] = 4.8
        array([3.8, 0. ])
    """
    _, y = check_curves(None, curves)
    return scalar_if_0d(np.percentile(y, 95, axis=-1) - y[..., 0])


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
    _, y = check_curves(None, curves)
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
    _, y = check_curves(timesteps, curves, min_points=2)
    d = detrend(timesteps, y) / _per_run_scale(y, normalise)
    if window is None:
        return scalar_if_0d(_iqr(d))
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
    _, y = check_curves(timesteps, curves, min_points=2)
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
    _, y = check_curves(None, curves)
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
    y = check_run_curves(curves)
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
    y = check_run_curves(curves)
    y = y / _per_run_scale(y, normalise)
    if cutoff is not None:
        y = lowpass_filter(y, cutoff=cutoff)
    return float(cvar(y[:, -1], alpha, tail="lower"))
