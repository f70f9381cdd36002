"""Figures. Every plotting function takes ``ax=None`` (a new figure is made) and returns the
``Axes``; none calls ``show()`` and none touches pyplot's global state, so they work headless.
One colour per LR policy across every figure (:func:`policy_colours`, Okabe–Ito palette).

- :mod:`~rl_lr.plots.style`: colours, axes, :func:`save_figure` (PNG and SVG);
- :mod:`~rl_lr.plots.lr`: a policy's planned LR; the LR runs applied;
- :mod:`~rl_lr.plots.curves`: learning curves with bootstrap CI bands;
- :mod:`~rl_lr.plots.diagnostics`: training statistics (losses, KL, gradient norms) over time;
- :mod:`~rl_lr.plots.intervals`: point estimates with CIs (aggregates, stability);
- :mod:`~rl_lr.plots.policy_comparisons`: performance profiles, probability of improvement,
  heatmap.

The figures of an experiment directory (``rl-lr plot``) are drawn by :mod:`rl_lr.report.figures`.

    >>> import rl_lr
    >>> from rl_lr.plots import plot_lr_policy
    >>> ax = plot_lr_policy(rl_lr.cosine(1e-3, warmup=0.1))
    >>> ax.get_ylabel()
    'learning rate'
"""

from __future__ import annotations

from rl_lr.plots.curves import curve_band, plot_learning_curves
from rl_lr.plots.diagnostics import plot_diagnostic
from rl_lr.plots.intervals import plot_grouped_intervals, plot_intervals
from rl_lr.plots.lr import lr_band, plot_lr_curve, plot_lr_policy, plot_lr_traces
from rl_lr.plots.policy_comparisons import (
    plot_heatmap,
    plot_performance_profiles,
    plot_probability_of_improvement,
)
from rl_lr.plots.style import (
    OKABE_ITO,
    new_axes,
    new_figure,
    policy_colours,
    policy_linestyles,
    save_figure,
)

__all__ = [
    "OKABE_ITO",
    "curve_band",
    "lr_band",
    "new_axes",
    "new_figure",
    "plot_diagnostic",
    "plot_grouped_intervals",
    "plot_heatmap",
    "plot_intervals",
    "plot_learning_curves",
    "plot_lr_curve",
    "plot_lr_policy",
    "plot_lr_traces",
    "plot_performance_profiles",
    "plot_probability_of_improvement",
    "policy_colours",
    "policy_linestyles",
    "save_figure",
]
