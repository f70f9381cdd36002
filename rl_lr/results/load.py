# Over 400 lines: Results is one unit, an experiment directory read once with every view of it
# the figures, tables and the report use.
"""An experiment directory (what ``rl-lr bench`` writes; its files: :mod:`rl_lr.schema`) read
once into memory, and the arrays the figures and the report are drawn from.

Vocabulary: a **policy** is a run's ``lr`` label; a **panel** is one combination of every other
axis that varies, except the seed (env x perturbation, x algo or optimizer or ``set.*`` when
those vary too); a **group** is a policy in a panel, its runs differing only by seed (the rows
of ``metrics.csv``).

Works on an experiment that is still running: only finished runs are read (``summary.csv`` is
rewritten as runs finish), and :attr:`Results.partial` says so. How a run scores, how policies
rank and how intervals are seeded are the rules of :mod:`.scores`.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "experiment.yaml").write_text("name: demo\\nrun_ids: [a, b]\\n")
    >>> data = load_results(d)
    >>> data.name, data.planned, data.finished, data.partial
    ('demo', 2, 0, True)
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import yaml
from numpy.typing import NDArray

from rl_lr import schema
from rl_lr.errors import SpecError
from rl_lr.experiment import experiment_from_dict, label_of, plan_runs
from rl_lr.experiment.file import TOP_KEYS
from rl_lr.experiment.protocol import SELECT_METRICS
from rl_lr.files import read_csv
from rl_lr.metrics import Interval
from rl_lr.results import scores
from rl_lr.results.lr_steps import group_steps
from rl_lr.results.score_table import ScoreTable, make_score_table, policy_intervals
from rl_lr.results.scores import Panel, Trace

__all__ = ["CURVE_METRICS", "DIAGNOSTIC_METRICS", "Curves", "Results", "ResultsError",
           "curves_by_run", "load_results"]

Array = NDArray[np.float64]
# what training looked like beside the LR (the diagnostics figure): SB3's statistics of the
# PPO family, A2C and SAC, and the gradient norms (one per network when there are several)
DIAGNOSTIC_METRICS = (
    "train/loss", "train/policy_loss", "train/actor_loss",
    "train/critic_loss", "train/approx_kl", "train/clip_fraction", schema.GRAD_NORM,
    f"{schema.GRAD_NORM}/actor", f"{schema.GRAD_NORM}/critic", "train/entropy_loss")
CURVE_METRICS = (schema.EVAL_RETURN_MEAN, schema.LR, *DIAGNOSTIC_METRICS)


class ResultsError(ValueError):
    """The directory is not an experiment directory (or a file in it is unreadable)."""


class Curves(NamedTuple):
    """Learning curves of a group: ``values[run, point]`` at ``timesteps[point]``, NaN where a
    run has no finite value (not evaluated there, or diverged)."""

    timesteps: Array
    values: Array
    run_ids: tuple[str, ...]


@dataclass
class Results:
    """Everything a figure or the report needs from an experiment directory; see
    :func:`load_results`."""

    path: Path
    experiment: dict[str, Any]
    summary: list[dict[str, str]]
    curves: dict[str, dict[str, Trace]]  # run_id -> metric -> (timesteps, values)
    metrics: list[dict[str, str]]
    failures: list[dict[str, str]]
    finished_ids: list[str] = field(default_factory=list)
    palette: tuple[str, ...] = ()  # policies colours are assigned over (default: policies)

    # ------------------------------------------------------------------ the experiment

    @property
    def name(self) -> str:
        return str(self.experiment.get("name") or self.path.name)

    @property
    def description(self) -> str:
        return str(self.experiment.get("description") or "")

    @property
    def planned_ids(self) -> list[str]:
        return [str(i) for i in self.experiment.get(schema.RUN_IDS) or []]

    @property
    def planned(self) -> int:
        return len(self.planned_ids)

    @property
    def finished(self) -> int:
        return len(self.finished_ids)

    @property
    def partial(self) -> bool:
        """Not every planned run has finished (still running, interrupted, or failed)."""
        return self.finished < self.planned

    @property
    def status(self) -> str:
        """``""`` when complete, else the line every figure and the report carry."""
        if not self.partial:
            return ""
        return f"PARTIAL: {self.finished} of {self.planned} runs finished"

    @property
    def primary_score(self) -> str:
        """The score the report's verdict and its first comparisons are on: an experiment
        with a tune-then-test protocol is scored by the metric that chose its configurations
        (``protocol.select``: ``eval_auc``, the protocol's default, or ``final_eval_return``);
        any other experiment by the final clean return (``final_eval_return``).

            >>> Results(Path("x"), {"protocol": {"select": "eval_auc"}}, [], {}, [], []
            ...         ).primary_score
            'eval_auc'
        """
        protocol = self.experiment.get("protocol")
        if not isinstance(protocol, Mapping):
            return schema.FINAL_EVAL_RETURN
        metric = str(protocol.get("select", schema.EVAL_AUC))
        return metric if metric in SELECT_METRICS else schema.FINAL_EVAL_RETURN

    @property
    def tuned(self) -> bool:
        """A tune-then-test experiment (it has a ``protocol``): its configurations, and the
        best fixed schedule its adaptive policies are compared with, are chosen on tuning
        seeds that are never scored."""
        return isinstance(self.experiment.get("protocol"), Mapping)

    @cached_property
    def label_keys(self) -> list[str]:
        keys = list(self.summary[0]) if self.summary else []
        return [k for k in keys if k in schema.AXES or k == schema.BASE_LR
                or k.startswith(schema.SET_PREFIX)]

    def labels(self, row: Mapping[str, str]) -> dict[str, str]:
        return {k: row.get(k, "") for k in self.label_keys}

    @cached_property
    def plan_labels(self) -> dict[str, dict[str, str]]:
        """Axis labels of every planned run, from the experiment (empty if it no longer plans,
        e.g. a plugin is missing): names failed runs, which ``summary.csv`` does not list."""
        try:
            experiment = experiment_from_dict({k: v for k, v in self.experiment.items()
                                               if k in TOP_KEYS and v not in (None, [], {})},
                                              str(self.experiment.get(schema.SOURCE, "")))
            return {run.run_id: dict(run.labels) for run in plan_runs(experiment)}
        except (SpecError, ValueError, TypeError, ImportError):
            return {}

    # ------------------------------------------------------------------ grouping

    @cached_property
    def policies(self) -> list[str]:
        """LR-policy labels with finished runs, sorted: the order of legends."""
        return sorted({row.get(schema.LR, "") for row in self.summary})

    @cached_property
    def planned_policies(self) -> list[str]:
        """Policy labels the experiment plans (grid ``lr`` axis and explicit runs), sorted."""
        grids = self.experiment.get("grid") or {}
        labels: list[str] = []
        for grid in grids if isinstance(grids, list) else [grids]:
            grid_lr = grid.get(schema.LR)
            labels += ([str(k) for k in grid_lr] if isinstance(grid_lr, dict) else
                       [label_of(v) for v in grid_lr] if isinstance(grid_lr, list) else
                       [label_of(grid_lr)] if grid_lr is not None else [])
        for run in self.experiment.get("runs") or []:
            if isinstance(run, dict):
                labels.append(str(run["label"]) if "label" in run
                              else label_of(run.get(schema.LR)))
        return sorted(set(labels))

    @property
    def palette_policies(self) -> list[str]:
        """The policies colours are assigned over: every planned one, so that a policy keeps
        its colour while an experiment runs and in a figure of a subset (:meth:`select`)."""
        return sorted(set(self.palette) | set(self.planned_policies) | set(self.policies))

    @cached_property
    def specs(self) -> dict[str, str]:
        """Spec text of each policy (``lr`` label -> ``lr_spec``, and ``with <optimizer_spec>``
        when its runs name an optimizer), ``""`` for a policy whose runs have several (an LR
        per env, a configuration tuned per condition, a grid of base LRs): no one spec names
        it, so a legend shows its label alone."""
        seen: dict[str, set[str]] = defaultdict(set)
        for row in self.summary:
            optimizer = row.get(schema.OPTIMIZER_SPEC, "")
            seen[row.get(schema.LR, "")].add(row.get(schema.LR_SPEC, "")
                                             + (f" with {optimizer}" if optimizer else ""))
        return {policy: next(iter(texts)) if len(texts) == 1 else ""
                for policy, texts in seen.items()}

    @cached_property
    def panel_axes(self) -> list[str]:
        """``env``, then every other axis that varies within a policy, except the seed, and
        the perturbation when every run has the same one (its name then titles the condition
        instead of "all runs").

        An axis whose value the policy label fixes (an ``optimizer`` given only to the
        ``schedulefree`` policy, say) is part of that policy, not a panel.
        """
        def varies_within_a_policy(key: str) -> bool:
            values: dict[str, set[str]] = {}
            for row in self.summary:
                values.setdefault(row.get(schema.LR, ""), set()).add(row[key])
            return any(len(v) > 1 for v in values.values())

        def one_perturbation(key: str) -> bool:
            return key == schema.PERTURB and {row[key] for row in self.summary} not in (
                {"none"}, {""})

        return [schema.ENV, *(k for k in self.label_keys
                              if k not in (schema.ENV, schema.LR, schema.SEED)
                              and (varies_within_a_policy(k) or one_perturbation(k)))]

    def panel_of(self, row: Mapping[str, str]) -> Panel:
        return tuple((k, row.get(k, "")) for k in self.panel_axes)

    @cached_property
    def panels(self) -> list[Panel]:
        """Panels in the order the experiment plans them."""
        return list(dict.fromkeys(self.panel_of(row) for row in self.summary))

    @property
    def envs(self) -> list[str]:
        return list(dict.fromkeys(dict(p)[schema.ENV] for p in self.panels))

    @property
    def normalisable(self) -> bool:
        """Every env has a normalisation range (:func:`~rl_lr.results.scores.env_range`)."""
        return all(self.env_range(env) is not None for env in self.envs)

    @staticmethod
    def panel_title(panel: Panel, *, env: bool = True) -> str:
        parts = [v if k in (schema.ENV, schema.PERTURB, schema.ALGO) else f"{k}={v}"
                 for k, v in panel if (env or k != schema.ENV) and v != ""]  # "": not its axis
        return " · ".join(parts) or "all runs"

    def rows(self, panel: Panel | None = None, policy: str | None = None
             ) -> list[dict[str, str]]:
        """Finished runs of a panel and/or policy, in plan order."""
        if panel is not None and policy is not None:
            return self._groups.get((panel, policy), [])
        return [row for row in self.summary
                if (panel is None or self.panel_of(row) == panel)
                and (policy is None or row.get(schema.LR) == policy)]

    @cached_property
    def _groups(self) -> dict[tuple[Panel, str], list[dict[str, str]]]:
        """The runs of each group (panel, policy), in plan order: :meth:`rows`' index."""
        groups: dict[tuple[Panel, str], list[dict[str, str]]] = defaultdict(list)
        for row in self.summary:
            groups[(self.panel_of(row), row.get(schema.LR, ""))].append(row)
        return dict(groups)

    def select(self, envs: Collection[str] | None) -> Results:
        """The same experiment restricted to some envs (colours stay those of the whole
        experiment); it is partial only if runs of those envs are missing (all runs when the
        experiment no longer plans)."""
        if not envs:
            return self
        summary = [row for row in self.summary if row.get(schema.ENV) in envs]
        keep = {row[schema.RUN_ID] for row in summary}
        planned = [i for i in self.planned_ids
                   if self.plan_labels.get(i, {}).get(schema.ENV, next(iter(envs))) in envs]
        return Results(self.path, {**self.experiment, schema.RUN_IDS: planned}, summary,
                       {k: v for k, v in self.curves.items() if k in keep},
                       [r for r in self.metrics if r.get(schema.ENV) in envs], self.failures,
                       [i for i in self.finished_ids if i in set(planned)],
                       tuple(self.palette_policies))

    # ------------------------------------------------------------------ curves

    def group_curves(self, panel: Panel, policy: str, metric: str = schema.EVAL_RETURN_MEAN
                     ) -> Curves | None:
        """One group's curves on the union of its eval points (None: no run logged it)."""
        traces = [(row[schema.RUN_ID], self.curves.get(row[schema.RUN_ID], {}).get(metric))
                  for row in self.rows(panel, policy)]
        present = [(run, trace) for run, trace in traces if trace is not None]
        if not present:
            return None
        timesteps = np.unique(np.concatenate([trace[0] for _, trace in present]))
        values = np.full((len(present), timesteps.size), np.nan)
        for i, (_, (steps, ys)) in enumerate(present):
            values[i, np.searchsorted(timesteps, steps)] = np.where(np.isfinite(ys), ys, np.nan)
        return Curves(timesteps, values, tuple(run for run, _ in present))

    def group_lr(self, panel: Panel, policy: str) -> tuple[Curves | None, bool]:
        """The LR a group applied: at every update from the runs' ``lr_trace.csv``
        (:mod:`.lr_steps`, a step function: True), else at the evaluation points (False)."""
        rows = self.rows(panel, policy)
        evals = [self.curves.get(r[schema.RUN_ID], {}).get(schema.LR) for r in rows]
        steps = group_steps([schema.run_dir(self.path, r[schema.RUN_ID]) for r in rows], evals)
        if steps is None:
            return self.group_curves(panel, policy, schema.LR), False
        grid, values, drawn = steps
        return Curves(grid, values, tuple(rows[i][schema.RUN_ID] for i in drawn)), True

    def diverged_rows(self) -> list[dict[str, str]]:
        return [row for row in self.summary if scores.is_diverged(row)]

    def switch_steps(self, panel: Panel) -> list[float]:
        """Timesteps of the regime switches of the panel's ``switch(...)`` perturbation."""
        rows = self.rows(panel)
        if not rows or not rows[0].get(schema.PERTURB_SPEC) \
                or not scores.number(rows[0].get(schema.STEPS)) > 0:
            return []
        row = rows[0]
        try:
            steps = scores.switch_steps(row[schema.PERTURB_SPEC],
                                        int(scores.number(row[schema.STEPS])),
                                        schema.run_dir(self.path, row[schema.RUN_ID]))
        except SpecError:
            return []
        return [float(t) for t in steps]

    # ------------------------------------------------------------------ final scores

    def final_score(self, row: Mapping[str, str]) -> float:
        """Final clean eval return of a ``summary.csv`` row (:func:`.scores.final_score`)."""
        trace = self.curves.get(row[schema.RUN_ID], {}).get(schema.EVAL_RETURN_MEAN)
        return scores.final_score(row, trace)

    def final_scores(self, panel: Panel, policy: str) -> list[float]:
        """The finite final scores of a group's runs, in plan (seed) order."""
        values = (self.final_score(row) for row in self.rows(panel, policy))
        return [v for v in values if math.isfinite(v)]

    def env_range(self, env: str) -> tuple[float, float] | None:
        """``(random_return, reference_return)`` of a suite env, None for others."""
        return scores.env_range(env)

    def aucs(self, panel: Panel, policy: str) -> list[float]:
        """The finite ``eval_auc`` (time-averaged clean eval return) of a group's runs, raw,
        in plan (seed) order."""
        values = (scores.number(row.get(schema.EVAL_AUC)) for row in self.rows(panel, policy))
        return [v for v in values if math.isfinite(v)]

    @cached_property
    def auc_table(self) -> ScoreTable:
        """:attr:`score_table` of the AUCs: normalised by the env's range when every env has
        one (0 = the random policy's return throughout, 1 = the reference return from the
        first evaluation on), raw otherwise."""
        return make_score_table(self.panels, self.policies,
                                {env: self.env_range(env) for env in self.envs}, self.aucs)

    @cached_property
    def score_table(self) -> ScoreTable:
        """Final scores per policy over the panels (tasks); see
        :func:`~rl_lr.results.score_table.make_score_table`."""
        return make_score_table(self.panels, self.policies,
                                {env: self.env_range(env) for env in self.envs},
                                self.final_scores)

    @cached_property
    def policy_intervals(self) -> dict[str, dict[str, Interval]]:
        """IQM, mean, median (and optimality gap when normalised) per policy with 95 %
        stratified-bootstrap CIs, seeded (:data:`~rl_lr.results.scores.SEED`)."""
        return policy_intervals(self.score_table)

    def ranking(self) -> list[str]:
        """Policies, best first by IQM (ties: mean, then name)."""
        return scores.ranking(self.policy_intervals)

    @cached_property
    def selection(self) -> list[dict[str, str]]:
        """``selection.csv``: each family's configuration chosen per condition on the tuning
        seeds, with its cost (an experiment with a protocol; empty for others, and until the
        tuning phase has finished)."""
        return read_csv(self.path / schema.SELECTION_CSV, missing_ok=True)

    def metric_rows(self, panel: Panel | None = None) -> list[dict[str, str]]:
        """Rows of ``metrics.csv`` (of one panel)."""
        if panel is None:
            return self.metrics
        return [row for row in self.metrics if all(row.get(k) == v for k, v in panel)]


def curves_by_run(rows: Iterable[Mapping[str, Any]], wanted: Collection[str] | None = None
                  ) -> dict[str, dict[str, Trace]]:
    """``curves.csv`` rows (:data:`rl_lr.schema.CURVES_COLUMNS`) as ``run_id -> metric ->
    (timesteps, values)`` sorted by timesteps, for the ``wanted`` metrics (None: all)."""
    points: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if wanted is None or row[schema.METRIC] in wanted:
            points[row[schema.RUN_ID]][row[schema.METRIC]].append(
                (scores.number(row[schema.TIMESTEPS]), scores.number(row[schema.VALUE])))
    out: dict[str, dict[str, Trace]] = {}
    for run, per_metric in points.items():
        out[run] = {}
        for metric, pts in per_metric.items():
            pts.sort(key=lambda p: p[0])
            out[run][metric] = (np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    return out


def load_results(path: Path | str, *, curve_metrics: Iterable[str] | None = CURVE_METRICS
                 ) -> Results:
    """Read an experiment directory (``rl-lr bench --out DIR``) once.

    Args:
        path: the directory; it needs ``experiment.yaml``; the other files may be missing
            (an experiment that has only just started).
        curve_metrics: metrics of ``curves.csv`` to keep (None: all).

    Raises:
        ResultsError: ``path`` holds no ``experiment.yaml`` or it is unreadable.
    """
    path = Path(path)
    spec = path / schema.EXPERIMENT_YAML
    if not spec.is_file():
        raise ResultsError(f"{str(path)!r} is not an experiment directory (no "
                           f"{schema.EXPERIMENT_YAML}); run rl-lr bench --out DIR first")
    try:
        experiment = yaml.safe_load(spec.read_text()) or {}
    except yaml.YAMLError as err:
        raise ResultsError(f"{spec}: broken YAML: {err}") from None
    if not isinstance(experiment, dict):
        raise ResultsError(f"{spec}: expected a mapping, got {type(experiment).__name__}")
    summary = _scored(read_csv(path / schema.SUMMARY_CSV, missing_ok=True))
    wanted = None if curve_metrics is None else set(curve_metrics)
    finished = [i for i in (str(r) for r in experiment.get(schema.RUN_IDS) or [])
                if (schema.run_dir(path, i) / schema.SUMMARY_JSON).is_file()]
    curves = curves_by_run(read_csv(path / schema.CURVES_CSV, missing_ok=True), wanted)
    return Results(path, experiment, summary, curves,
                   _scored(read_csv(path / schema.METRICS_CSV, missing_ok=True)),
                   read_csv(path / schema.FAILURES_CSV, missing_ok=True), finished)


def _scored(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows of scored runs: an experiment with a protocol scores its test runs; its tuning
    runs (``phase=tune``) only chose their configurations (``selection.csv``)."""
    return [row for row in rows if row.get(schema.PHASE) != schema.TUNE]
