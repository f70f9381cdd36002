"""Evaluation metrics: pure functions on NumPy arrays, with reproducible bootstrap CIs.

One data contract, as rliable (Agarwal et al., NeurIPS 2021): final scores are
``dict[policy, array (runs, tasks)]``; learning curves are arrays ``(runs, points)`` with a shared
``timesteps`` array ``(points,)``. Every CI is a percentile interval of a stratified bootstrap
(runs resampled within each task) drawn from an explicit seeded generator, so the same data and
seed always give the same interval (rliable's ``random_state`` is ignored: it draws from NumPy's
global generator).

This package is the one public import path for every metric; its modules implement them:

- :mod:`.bootstrap`: :func:`interval_estimates`, the one interval-estimate function (rliable's
  ``get_interval_estimates``), and on top of it :func:`stratified_bootstrap_ci` (one array) and
  :func:`aggregate_with_cis` (IQM / mean / median / optimality gap per policy);
- :mod:`.aggregates`: point aggregates of final scores (IQM, mean, median, optimality gap,
  :data:`STATISTICS`; rliable's median is the median of per-task means, and
  :func:`median_of_runs` the median of the runs themselves) and normalised scores;
- :mod:`.comparisons`: probability of improvement and performance profiles, with CIs;
- :mod:`.sample_efficiency`: area under the curve, steps to a threshold, fraction of runs
  reaching it;
- :mod:`.robustness`: sensitivity to a reward perturbation and the divergence rate;
- :mod:`.stability`: stability over time and across runs (Chan et al. 2020), and
  :func:`tail_points`, how many values a CVaR averages (with fewer than
  :data:`MIN_TAIL_POINTS`, the single most extreme one);
- :mod:`.regime_switches`: drop and recovery after reward-regime switches;
- :mod:`.lr_traces`: LR direction changes and time at a bound;
- :mod:`.power`: the power of the report's comparison (P(X > Y)'s CI above 0.5) for a design,
  by simulation, :func:`min_detectable_p` and the :func:`verdict` in words; the function
  ``power`` itself is imported from the module (``from rl_lr.metrics.power import power``),
  so that ``rl_lr.metrics.power`` stays the module.

Building blocks the modules share: :mod:`.arrays` (input validation and coercion) and
:mod:`.resampling` (seeded generators, stratified resample indices, percentile intervals,
:class:`Interval`).

NaN policy: final scores must be finite (``ValueError``: decide how a diverged run scores before
aggregating); on curves NaN propagates to that run's value, except that a NaN eval point never
counts as reaching a threshold.

    >>> import numpy as np
    >>> scores = {"cosine": np.array([[0.9], [0.7], [0.8], [0.2]]), "fixed": np.full((4, 1), 0.5)}
    >>> aggregate(scores, "iqm")
    {'cosine': 0.75, 'fixed': 0.5}
    >>> cis = interval_estimates(scores, "iqm", reps=1000, rng=0)    # {policy: Interval}
    >>> cis["cosine"]
    Interval(point=0.75, low=0.2, high=0.9)
    >>> cis["fixed"]
    Interval(point=0.5, low=0.5, high=0.5)
    >>> iqm_ci, mean_ci = interval_estimates(scores, ("iqm", "mean"), rng=0)["cosine"]
    >>> [round(v, 6) for v in mean_ci]
    [0.65, 0.35, 0.85]
"""

from __future__ import annotations

from rl_lr.metrics.aggregates import (
    STATISTICS,
    aggregate,
    iqm,
    median_of_runs,
    normalise,
    optimality_gap,
)
from rl_lr.metrics.bootstrap import aggregate_with_cis, interval_estimates, stratified_bootstrap_ci
from rl_lr.metrics.comparisons import (
    pairwise_probability_of_improvement,
    performance_profile,
    performance_profile_ci,
    probability_of_improvement,
    probability_of_improvement_ci,
)
from rl_lr.metrics.lr_traces import fraction_at_bound, lr_oscillations
from rl_lr.metrics.power import (
    critical_shifts,
    min_detectable_p,
    shift_for,
    simulated_lower_bounds,
    verdict,
)
from rl_lr.metrics.regime_switches import (
    SwitchSummary,
    regime_drop_and_recovery,
    regime_switch_effects,
    switch_summary,
)
from rl_lr.metrics.resampling import Interval
from rl_lr.metrics.robustness import (
    divergence_rate,
    sensitivity,
    sensitivity_of_means,
    sensitivity_of_means_ci,
)
from rl_lr.metrics.sample_efficiency import area_under_curve, fraction_reaching, steps_to_threshold
from rl_lr.metrics.stability import (
    MIN_TAIL_POINTS,
    curve_range,
    cvar,
    detrend,
    dispersion_across_runs,
    dispersion_across_time,
    drawdown,
    long_term_risk,
    lowpass_filter,
    risk_across_runs,
    short_term_risk,
    tail_points,
)

__all__ = [
    "MIN_TAIL_POINTS",
    "STATISTICS",
    "Interval",
    "SwitchSummary",
    "aggregate",
    "aggregate_with_cis",
    "area_under_curve",
    "critical_shifts",
    "curve_range",
    "cvar",
    "detrend",
    "dispersion_across_runs",
    "dispersion_across_time",
    "divergence_rate",
    "drawdown",
    "fraction_at_bound",
    "fraction_reaching",
    "interval_estimates",
    "iqm",
    "long_term_risk",
    "lowpass_filter",
    "lr_oscillations",
    "median_of_runs",
    "min_detectable_p",
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
    "sensitivity_of_means_ci",
    "shift_for",
    "short_term_risk",
    "simulated_lower_bounds",
    "steps_to_threshold",
    "stratified_bootstrap_ci",
    "switch_summary",
    "tail_points",
    "verdict",
]
