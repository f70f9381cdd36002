"""A benchmark directory (what ``rl-lr bench`` writes) read once into memory, and the arrays
the figures and the report are drawn from.

Vocabulary: a **policy** is a run's ``lr`` label; a **panel** is one combination of every other
axis that varies, except the seed (env x perturbation, x algo or optimizer or ``set.*`` when
those vary too); a **group** is a policy in a panel, its runs differing only by seed (the rows
of ``metrics.csv``).

Works on a sweep that is still running: only finished runs are read (``summary.csv`` is
rewritten after every run), and :attr:`Results.partial` says so.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "experiment.yaml").write_text("name: demo\\nrun_ids: [a, b]\\n")
    >>> data = load_results(d)
    >>> data.name, data.planned, data.finished, data.partial
    ('demo', 2, 0, True)
"""

from __future__ import annotations

import csv
import json
import math
import zlib
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import yaml
from numpy.typing import NDArray

from rl_lr.metrics import Interval, aggregate_with_cis, normalise

__all__ = ["CURVE_METRICS", "Curves", "Results", "ResultsError", "ScoreTable", "load_results"]

Array = NDArray[np.float64]
Panel = tuple[tuple[str, str], ...]
AXES = ("env", "algo", "lr", "perturb", "optimizer", "seed")  # rl_lr.experiment.AXES
CURVE_METRICS = ("eval_return_mean", "lr")
REPS = 2000  # bootstrap resamples, as metrics.csv
SEED = 0  # every bootstrap in a figure or the report derives from this seed and a name


class ResultsError(ValueError):
    """The directory is not a benchmark directory (or a file in it is unreadable)."""


class Curves(NamedTuple):
    """Learning curves of a group: ``values[run, point]`` at ``timesteps[point]``, NaN where a
    run has no finite value (not evaluated there, or diverged)."""

    timesteps: Array
    values: Array
    run_ids: tuple[str, ...]


@dataclass(frozen=True)
class ScoreTable:
    """Final clean eval returns as rliable's contract: ``scores[policy]`` has shape
    ``(runs, tasks)``, one task per panel in :attr:`tasks`; normalised (0 = random policy,
    1 = the env's reference return) when every env's range is known."""

    scores: dict[str, Array]
    tasks: list[Panel]
    normalised: bool
    note: str = ""


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _number(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _label_of(value: Any) -> str:
    """An axis value's label when the experiment lists values (rl_lr.experiment's rule)."""
    if value is None:
        return "none"
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def name_seed(*names: str) -> int:
    """A reproducible bootstrap seed for a named item (a panel, a policy)."""
    return zlib.crc32("|".join((str(SEED), *names)).encode())


@dataclass
class Results:
    """Everything a figure or the report needs from a benchmark directory; see
    :func:`load_results`."""

    path: Path
    experiment: dict[str, Any]
    summary: list[dict[str, str]]
    curves: dict[str, dict[str, tuple[Array, Array]]]  # run_id -> metric -> (t, values)
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
        return [str(i) for i in self.experiment.get("run_ids") or []]

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

    @cached_property
    def label_keys(self) -> list[str]:
        keys = list(self.summary[0]) if self.summary else []
        return [k for k in keys if k in AXES or k.startswith("set.")]

    def labels(self, row: Mapping[str, str]) -> dict[str, str]:
        return {k: row.get(k, "") for k in self.label_keys}

    @cached_property
    def plan_labels(self) -> dict[str, dict[str, str]]:
        """Axis labels of every planned run, from the experiment (empty if it no longer plans,
        e.g. a plugin is missing): names failed runs, which ``summary.csv`` does not list."""
        from rl_lr.errors import SpecError
        from rl_lr.experiment import experiment_from_dict, plan_runs

        keys = ("name", "description", "imports", "budget", "grid", "overrides", "runs")
        try:
            experiment = experiment_from_dict({k: v for k, v in self.experiment.items()
                                               if k in keys and v not in (None, [], {})},
                                              str(self.experiment.get("source", "")))
            return {run.run_id: dict(run.labels) for run in plan_runs(experiment)}
        except (SpecError, ValueError, TypeError, ImportError):
            return {}

    # ------------------------------------------------------------------ grouping

    @cached_property
    def policies(self) -> list[str]:
        """LR-policy labels with finished runs, sorted: the order of legends."""
        return sorted({row.get("lr", "") for row in self.summary})

    @cached_property
    def planned_policies(self) -> list[str]:
        """Policy labels the experiment plans (grid ``lr`` axis and explicit runs), sorted."""
        grids = self.experiment.get("grid") or {}
        labels: list[str] = []
        for grid in grids if isinstance(grids, list) else [grids]:
            grid_lr = grid.get("lr")
            labels += ([str(k) for k in grid_lr] if isinstance(grid_lr, dict) else
                       [_label_of(v) for v in grid_lr] if isinstance(grid_lr, list) else
                       [_label_of(grid_lr)] if grid_lr is not None else [])
        for run in self.experiment.get("runs") or []:
            if isinstance(run, dict):
                labels.append(str(run["label"]) if "label" in run else _label_of(run.get("lr")))
        return sorted(set(labels))

    @property
    def palette_policies(self) -> list[str]:
        """The policies colours are assigned over: every planned one, so that a policy keeps
        its colour while a sweep runs and in a figure of a subset (:meth:`select`)."""
        return sorted(set(self.palette) | set(self.planned_policies) | set(self.policies))

    @cached_property
    def specs(self) -> dict[str, str]:
        """Spec text of each policy (``lr`` label -> ``lr_spec``)."""
        return {row.get("lr", ""): row.get("lr_spec", "") for row in self.summary}

    @cached_property
    def panel_axes(self) -> list[str]:
        """``env``, then every other axis that varies within a policy, except the seed.

        An axis whose value the policy label fixes (an ``optimizer`` given only to the
        ``schedulefree`` policy, say) is part of that policy, not a panel.
        """
        def varies_within_a_policy(key: str) -> bool:
            values: dict[str, set[str]] = {}
            for row in self.summary:
                values.setdefault(row.get("lr", ""), set()).add(row[key])
            return any(len(v) > 1 for v in values.values())

        return ["env", *(k for k in self.label_keys
                         if k not in ("env", "lr", "seed") and varies_within_a_policy(k))]

    def panel_of(self, row: Mapping[str, str]) -> Panel:
        return tuple((k, row.get(k, "")) for k in self.panel_axes)

    @cached_property
    def panels(self) -> list[Panel]:
        """Panels in the order the experiment plans them."""
        return list(dict.fromkeys(self.panel_of(row) for row in self.summary))

    @property
    def envs(self) -> list[str]:
        return list(dict.fromkeys(dict(p)["env"] for p in self.panels))

    @staticmethod
    def panel_title(panel: Panel, *, env: bool = True) -> str:
        parts = [v if k in ("env", "perturb", "algo") else f"{k}={v}"
                 for k, v in panel if env or k != "env"]
        return " · ".join(parts) or "all runs"

    def rows(self, panel: Panel | None = None, policy: str | None = None
             ) -> list[dict[str, str]]:
        """Finished runs of a panel and/or policy, in plan order."""
        return [row for row in self.summary
                if (panel is None or self.panel_of(row) == panel)
                and (policy is None or row.get("lr") == policy)]

    def select(self, envs: Collection[str] | None) -> Results:
        """The same sweep restricted to some envs (colours stay those of the whole sweep);
        it is partial only if runs of those envs are missing (all runs when the experiment
        no longer plans)."""
        if not envs:
            return self
        summary = [row for row in self.summary if row.get("env") in envs]
        keep = {row["run_id"] for row in summary}
        planned = [i for i in self.planned_ids
                   if self.plan_labels.get(i, {}).get("env", next(iter(envs))) in envs]
        return Results(self.path, {**self.experiment, "run_ids": planned}, summary,
                         {k: v for k, v in self.curves.items() if k in keep},
                         [r for r in self.metrics if r.get("env") in envs], self.failures,
                         [i for i in self.finished_ids if i in set(planned)],
                         tuple(self.palette_policies))

    # ------------------------------------------------------------------ curves

    def group_curves(self, panel: Panel, policy: str, metric: str = "eval_return_mean"
                     ) -> Curves | None:
        """One group's curves on the union of its eval points (None: no run logged it)."""
        traces = [(row["run_id"], self.curves.get(row["run_id"], {}).get(metric))
                  for row in self.rows(panel, policy)]
        present = [(run, trace) for run, trace in traces if trace is not None]
        if not present:
            return None
        timesteps = np.unique(np.concatenate([trace[0] for _, trace in present]))
        values = np.full((len(present), timesteps.size), np.nan)
        for i, (_, (steps, ys)) in enumerate(present):
            values[i, np.searchsorted(timesteps, steps)] = np.where(np.isfinite(ys), ys, np.nan)
        return Curves(timesteps, values, tuple(run for run, _ in present))

    def diverged_rows(self) -> list[dict[str, str]]:
        return [row for row in self.summary
                if str(row.get("diverged", "")).lower() in ("1", "true")]

    def switch_steps(self, panel: Panel) -> list[float]:
        """Timesteps of the regime switches of the panel's ``switch(...)`` perturbation."""
        from rl_lr.envs import parse_perturbations, switch_timesteps
        from rl_lr.errors import SpecError
        from rl_lr.files import run_n_envs

        rows = self.rows(panel)
        if not rows or not rows[0].get("perturb_spec") or not _number(rows[0].get("steps")) > 0:
            return []
        row = rows[0]
        try:
            chain = parse_perturbations(row["perturb_spec"])
        except SpecError:
            return []
        n_envs = run_n_envs(self.path / "runs" / row["run_id"])
        return [float(t) for t in switch_timesteps(chain, int(_number(row["steps"])), n_envs)]

    # ------------------------------------------------------------------ final scores

    def final_score(self, row: Mapping[str, str]) -> float:
        """Final clean eval return; a diverged run scores its last finite evaluation (as
        ``metrics.csv``), NaN if it has none."""
        value = _number(row.get("final_eval_return"))
        if math.isfinite(value):
            return value
        trace = self.curves.get(row["run_id"], {}).get("eval_return_mean")
        if trace is not None:
            finite = trace[1][np.isfinite(trace[1])]
            if finite.size:
                return float(finite[-1])
        return math.nan

    def env_range(self, env: str) -> tuple[float, float] | None:
        """``(random_return, reference_return)`` of a suite env, None for others."""
        try:
            from rl_lr.envs.suites import env_entry

            entry = env_entry(env)
        except (ImportError, KeyError):
            return None
        return float(entry.random_return), float(entry.reference_return)

    @cached_property
    def score_table(self) -> ScoreTable:
        """Final scores per policy over the panels (tasks); see :class:`ScoreTable`.

        A panel where some policy has no finished run (not planned there, or not yet) is left
        out; a policy with unequal runs per panel (a partial sweep) keeps its first ``k`` in
        plan (seed) order in each, ``k`` its smallest count. Both are said in
        :attr:`ScoreTable.note`.
        """
        ranges = {env: self.env_range(env) for env in self.envs}
        unknown = [env for env, r in ranges.items() if r is None]
        tasks, notes = list(self.panels), []
        if unknown and len(ranges) > 1:
            keep = {env for env, r in ranges.items() if r is not None} or {self.envs[0]}
            tasks = [t for t in tasks if dict(t)["env"] in keep]
            notes.append(f"left out {', '.join(e for e in unknown if e not in keep)}: in no "
                         "env suite, so returns cannot be normalised and pooled")
        elif unknown:
            notes.append(f"raw returns: {unknown[0]} is in no env suite (no normalisation range)")
        normalised = bool(tasks) and all(ranges[dict(t)["env"]] is not None for t in tasks)
        finals = {(t, p): [s for s in (self.final_score(r) for r in self.rows(t, p))
                           if math.isfinite(s)] for t in tasks for p in self.policies}
        usable = [t for t in tasks if all(finals[t, p] for p in self.policies)]
        if len(usable) < len(tasks):
            notes.append(f"{len(tasks) - len(usable)} panel(s) left out: not every policy "
                         "has a finished run there (not planned there, or not finished yet)")
        scores: dict[str, Array] = {}
        for p in self.policies if usable else []:
            n = min(len(finals[t, p]) for t in usable)
            if any(len(finals[t, p]) > n for t in usable):
                notes.append(f"{p}: unequal runs per panel, first {n} (by seed order) used")
            columns = []
            for t in usable:
                column = np.array(finals[t, p][:n])
                r = ranges[dict(t)["env"]]
                columns.append(normalise(column, r[0], r[1]) if normalised and r
                               else column)
            scores[p] = np.stack(columns, axis=1)
        return ScoreTable(scores, usable, normalised, "; ".join(notes))

    @cached_property
    def policy_intervals(self) -> dict[str, dict[str, Interval]]:
        """IQM, mean, median (and optimality gap when normalised) per policy with 95 %
        stratified-bootstrap CIs, seeded (:data:`SEED`)."""
        table = self.score_table
        if not table.scores:
            return {}
        if table.normalised:  # scores are already normalised: the identity range
            return aggregate_with_cis(table.scores, rng=SEED, low=0.0, high=1.0,
                                              reps=REPS)
        return aggregate_with_cis(table.scores, rng=SEED, reps=REPS)

    def ranking(self) -> list[str]:
        """Policies, best first by IQM (ties: mean, then name)."""
        cis = self.policy_intervals
        return sorted(cis, key=lambda p: (-cis[p]["iqm"].point, -cis[p]["mean"].point, p))

    def metric_rows(self, panel: Panel | None = None) -> list[dict[str, str]]:
        """Rows of ``metrics.csv`` (of one panel)."""
        if panel is None:
            return self.metrics
        return [row for row in self.metrics if all(row.get(k) == v for k, v in panel)]


def _read_curves(path: Path, wanted: Collection[str] | None
                 ) -> dict[str, dict[str, tuple[Array, Array]]]:
    points: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for row in _read_csv(path):
        if wanted is None or row["metric"] in wanted:
            points[row["run_id"]][row["metric"]].append(
                (_number(row["timesteps"]), _number(row["value"])))
    out: dict[str, dict[str, tuple[Array, Array]]] = {}
    for run, per_metric in points.items():
        out[run] = {}
        for metric, pts in per_metric.items():
            pts.sort(key=lambda p: p[0])
            out[run][metric] = (np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
    return out


def load_results(path: Path | str, *, curve_metrics: Iterable[str] | None = CURVE_METRICS
               ) -> Results:
    """Read a benchmark directory (``rl-lr bench --out DIR``) once.

    Args:
        path: the directory; it needs ``experiment.yaml``; the other files may be missing
            (a sweep that has only just started).
        curve_metrics: metrics of ``curves.csv`` to keep (None: all).

    Raises:
        ResultsError: ``path`` holds no ``experiment.yaml`` or it is unreadable.
    """
    path = Path(path)
    spec = path / "experiment.yaml"
    if not spec.is_file():
        raise ResultsError(f"{str(path)!r} is not a benchmark directory (no experiment.yaml); "
                         "run rl-lr bench --out DIR first")
    try:
        experiment = yaml.safe_load(spec.read_text()) or {}
    except yaml.YAMLError as err:
        raise ResultsError(f"{spec}: broken YAML: {err}") from None
    if not isinstance(experiment, dict):
        raise ResultsError(f"{spec}: expected a mapping, got {type(experiment).__name__}")
    summary = _read_csv(path / "summary.csv")
    wanted = None if curve_metrics is None else set(curve_metrics)
    finished = [i for i in (str(r) for r in experiment.get("run_ids") or [])
                if (path / "runs" / i / "summary.json").is_file()]
    return Results(path, experiment, summary, _read_curves(path / "curves.csv", wanted),
                     _read_csv(path / "metrics.csv"), _read_csv(path / "failures.csv"),
                     finished)
