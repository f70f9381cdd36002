"""Comparing policies on final scores (rliable's contract, ``{policy: (runs, tasks)}``):
performance profiles, the probability-of-improvement matrix, and a heatmap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from rl_lr import metrics
from rl_lr.plots.style import colours_for, new_axes, policy_linestyles

__all__ = ["plot_heatmap", "plot_performance_profiles", "plot_probability_of_improvement"]


def plot_performance_profiles(
    scores: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    taus: Any = None,
    colours: Mapping[str, str] | None = None,
    reps: int = 2000,
    rng: int = 0,
    xlabel: str = "normalised score τ",
) -> Axes:
    """Score distributions: the fraction of runs scoring above τ, per policy, with a 95 %
    stratified-bootstrap band (:func:`rl_lr.metrics.performance_profile_ci`). A curve above
    another everywhere dominates it.

    Args:
        scores: ``{policy: (runs, tasks)}``.
        taus: thresholds (default: 101 points over the range of all scores).
        rng: seed of the bands (each policy's derived from it and its name).

    Example:
        >>> ax = plot_performance_profiles({"a": [[0.2], [0.6]], "b": [[0.5], [0.9]]})
        >>> ax.get_ylabel()
        'fraction of runs with score > τ'
    """
    ax = ax if ax is not None else new_axes(5.5, 3.8)
    palette = colours_for(scores, colours)
    styles = policy_linestyles(palette)
    arrays = {k: np.asarray(v, dtype=float) for k, v in scores.items()}
    if taus is None:
        pooled = np.concatenate([a.ravel() for a in arrays.values()]) if arrays else np.zeros(1)
        lo, hi = float(pooled.min()), float(pooled.max())
        pad = 0.05 * (hi - lo) if hi > lo else 0.5
        taus = np.linspace(lo - pad, hi + pad, 101)
    t = np.asarray(taus, dtype=float)
    for name, x in arrays.items():
        profile, low, high = metrics.performance_profile_ci(
            x, t, reps=reps, rng=np.random.default_rng([rng, sum(map(ord, name))]))
        ax.fill_between(t, low, high, color=palette[name], alpha=0.2, linewidth=0, step="post")
        ax.step(t, profile, where="post", color=palette[name], linewidth=1.8,
                linestyle=styles.get(name, "solid"), label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of runs with score > τ")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    if arrays:
        ax.legend(frameon=False, fontsize=8)
    return ax


def plot_probability_of_improvement(
    scores: Mapping[str, Any],
    ax: Axes | None = None,
    *,
    reps: int = 2000,
    rng: int = 0,
    order: Sequence[str] | None = None,
) -> Axes:
    """Matrix of ``P(row > column)``: the probability that a run of the row's policy beats a
    run of the column's on the same task (Mann–Whitney, averaged over tasks), each cell with
    its 95 % bootstrap CI (:func:`rl_lr.metrics.pairwise_probability_of_improvement`).
    0.5 = no difference; a CI excluding 0.5 is a significant difference.

    Example:
        >>> ax = plot_probability_of_improvement({"a": [[1.0], [2.0]], "b": [[0.0], [3.0]]})
        >>> ax.get_xlabel()
        'Y (column)'
    """
    names = list(order) if order is not None else list(scores)
    n = len(names)
    ax = ax if ax is not None else new_axes(1.6 + 1.25 * n, 1.2 + 1.0 * n)
    pairs = metrics.pairwise_probability_of_improvement(
        {k: scores[k] for k in names}, reps=reps, rng=rng) if n > 1 else {}
    matrix = np.full((n, n), np.nan)
    for i, p in enumerate(names):
        for j, q in enumerate(names):
            if i != j:
                matrix[i, j] = pairs[p, q].point
    image = ax.imshow(matrix, cmap="RdBu", vmin=0.0, vmax=1.0)
    for i, p in enumerate(names):
        for j, q in enumerate(names):
            if i == j:
                ax.text(j, i, "—", ha="center", va="center", color="0.5")
                continue
            ci = pairs[p, q]
            dark = abs(ci.point - 0.5) > 0.3
            ax.text(j, i, f"{ci.point:.2f}\n[{ci.low:.2f}, {ci.high:.2f}]", ha="center",
                    va="center", fontsize=8, color="white" if dark else "black")
    ax.set_xticks(range(n), names, rotation=30, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("Y (column)")
    ax.set_ylabel("X (row)")
    colourbar = ax.get_figure(root=True).colorbar(image, ax=ax, shrink=0.8)  # type: ignore[union-attr]
    colourbar.set_label("P(X > Y)")
    return ax


def plot_heatmap(
    values: Any,
    rows: Sequence[str],
    columns: Sequence[str],
    ax: Axes | None = None,
    *,
    low: Any = None,
    high: Any = None,
    text: Any = None,
    cmap: str = "cividis",
    vmin: float | None = None,
    vmax: float | None = None,
    colourbar_label: str = "",
    fmt: str = "{:.2f}",
) -> Axes:
    """A table of numbers as colours, each cell annotated with its value (and ``[low, high]``
    when given); NaN cells stay blank.

    Args:
        values, low, high: ``(rows, columns)``.
        text: ``(rows, columns)`` numbers written in the cells when they differ from the
            colours' ``values`` (e.g. raw returns over colours scaled per column).
        cmap: a perceptually uniform, colour-blind-safe map by default (cividis).

    Example:
        >>> ax = plot_heatmap([[0.2, 0.8]], ["cosine"], ["clean", "noise"])
        >>> [t.get_text() for t in ax.get_xticklabels()]
        ['clean', 'noise']
    """
    v = np.asarray(values, dtype=float)
    if v.shape != (len(rows), len(columns)):
        raise ValueError(f"values must have shape (rows, columns) = ({len(rows)}, "
                         f"{len(columns)}), got {v.shape}")
    ax = ax if ax is not None else new_axes(2.0 + 1.3 * len(columns), 1.2 + 0.6 * len(rows))
    finite = v[np.isfinite(v)]
    vmin = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    vmax = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    if vmax <= vmin:
        vmax = vmin + 1.0
    image = ax.imshow(np.ma.masked_invalid(v), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    lo = None if low is None else np.asarray(low, dtype=float)
    hi = None if high is None else np.asarray(high, dtype=float)
    shown = v if text is None else np.asarray(text, dtype=float)
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            if not np.isfinite(v[i, j]):
                continue
            label = fmt.format(shown[i, j])
            if lo is not None and hi is not None and np.isfinite(lo[i, j]):
                label += f"\n[{fmt.format(lo[i, j])}, {fmt.format(hi[i, j])}]"
            bright = (v[i, j] - vmin) / (vmax - vmin) > 0.55
            ax.text(j, i, label, ha="center", va="center", fontsize=8,
                    color="black" if bright else "white")
    ax.set_xticks(range(len(columns)), columns, rotation=20 if len(columns) > 3 else 0,
                  ha="right" if len(columns) > 3 else "center")
    ax.set_yticks(range(len(rows)), rows)
    colourbar = ax.get_figure(root=True).colorbar(image, ax=ax, shrink=0.9)  # type: ignore[union-attr]
    colourbar.set_label(colourbar_label)
    return ax
