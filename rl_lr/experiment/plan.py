"""Planning an experiment: its grids and explicit runs expanded into validated runs, each
with its axis labels and a run id that hashes the fully resolved run."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from rl_lr.errors import SpecError, UsageError
from rl_lr.experiment.file import AXES, BUDGET_KEYS, Experiment, ExperimentError
from rl_lr.plugins import import_plugin
from rl_lr.run import TrainConfig, resolve_document

__all__ = ["PlannedRun", "label_of", "plan_runs", "run_identity"]

@dataclass(frozen=True)
class PlannedRun:
    """One run of a sweep: what to train, the axis labels it has, and its identity.

    ``run_id`` hashes the fully resolved run (the config plus every hyper-parameter the
    presets resolve to), so editing the file or a preset changes exactly the affected ids.
    """

    config: TrainConfig
    labels: Mapping[str, str]
    run_id: str


def _labelled(value: Any) -> list[tuple[str, Any]]:
    """An axis as ``[(label, value)]``: a list labels each value by itself."""
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, list):
        return [(label_of(v), v) for v in value]
    if value is None:
        return []
    return [(label_of(value), value)]


def label_of(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _check_axis_values(experiment: Experiment, errors: list[str]) -> None:
    """Parse every spec of every axis once, so that errors carry the value's own YAML path."""
    from rl_lr.envs import parse_perturbations
    from rl_lr.optimizers import OPTIMIZERS
    from rl_lr.schedules import POLICIES

    parsers = {"lr": POLICIES.parse, "perturb": parse_perturbations, "optimizer": OPTIMIZERS.parse}
    for where, grid in experiment.grids():
        for axis, parse in parsers.items():
            for label, value in _labelled(grid.get(axis)):
                if value is None or (isinstance(value, dict) and "name" not in value):
                    continue  # none, or per-network mappings (checked when runs resolve)
                try:
                    parse(value)
                except SpecError as err:
                    errors.append(f"{where}.{axis}.{label}: {err}")


def _expand_grids(experiment: Experiment, errors: list[str]) -> list[tuple[dict[str, Any], str]]:
    return [point for where, grid in experiment.grids()
            for point in _expand_grid(grid, where, errors)]


def _expand_grid(grid: dict[str, Any], where: str,
                 errors: list[str]) -> list[tuple[dict[str, Any], str]]:
    unknown = [k for k in grid if k not in (*AXES, "set")]
    errors.extend(f"{where}.{k}: unknown axis (allowed: {', '.join((*AXES, 'set'))})"
                  for k in unknown)
    axes: dict[str, list[tuple[str, Any]]] = {}
    for axis in AXES:
        default: Any = {"none": None} if axis in ("perturb", "optimizer") else None
        values = _labelled(grid.get(axis, default))
        if not values:
            errors.append(f"{where}.{axis}: required (at least one value)")
        axes[axis] = values
    sets = grid.get("set") or {}
    if not isinstance(sets, dict):
        errors.append(f"{where}.set: must map hyper-parameter names to lists of values")
        sets = {}
    for key, values in sets.items():
        axes[f"set.{key}"] = _labelled(values if isinstance(values, list) else [values])
    points = []
    names = list(axes)
    for combo in itertools.product(*(axes[n] for n in names)):
        point: dict[str, dict[str, Any]] = {"labels": {}, "values": {}}
        for name, (label, value) in zip(names, combo, strict=True):
            point["labels"][name] = label
            point["values"][name] = value
        points.append((point, where))
    return points


def _explicit_runs(experiment: Experiment, errors: list[str]) -> list[tuple[dict[str, Any], str]]:
    points = []
    for i, run in enumerate(experiment.runs):
        where = f"runs[{i}]"
        if not isinstance(run, dict):
            errors.append(f"{where}: must be a mapping")
            continue
        unknown = [k for k in run if k not in (*AXES, "set", "label", *BUDGET_KEYS)]
        errors.extend(f"{where}.{k}: unknown key" for k in unknown)
        missing = [k for k in ("env", "algo") if k not in run]
        errors.extend(f"{where}.{k}: required" for k in missing)
        values = {axis: run.get(axis) for axis in AXES}
        values["seed"] = run.get("seed", 0)
        labels = {axis: label_of(values[axis]) for axis in AXES}
        if "label" in run:
            labels["lr"] = str(run["label"])
        for key, value in (run.get("set") or {}).items():
            values[f"set.{key}"], labels[f"set.{key}"] = value, label_of(value)
        values.update({k: run[k] for k in BUDGET_KEYS if k in run})
        points.append(({"labels": labels, "values": values}, where))
    return points


def _budget_for(experiment: Experiment, point: dict[str, Any], where: str,
                errors: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Budget keys and hyper-parameters of one point: budget, then per-axis overrides (in axis
    order), then the point's own values."""
    budget = {k: v for k, v in experiment.budget.items()}
    unknown = [k for k in budget if k not in BUDGET_KEYS]
    errors.extend(f"budget.{k}: unknown key (allowed: {', '.join(BUDGET_KEYS)})"
                  for k in unknown)
    hyper: dict[str, Any] = {}
    for axis, per_value in experiment.overrides.items():
        if axis not in AXES or not isinstance(per_value, dict):
            errors.append(f"overrides.{axis}: must be an axis ({', '.join(AXES)}) mapping "
                          "axis values or labels to settings")
            continue
        label = point["labels"].get(axis)
        value = point["values"].get(axis)
        for key in (label, value):
            entry = per_value.get(key) if isinstance(key, str) else None
            if isinstance(entry, dict):
                budget.update({k: v for k, v in entry.items() if k in BUDGET_KEYS})
                hyper.update(entry.get("set") or {})
                bad = [k for k in entry if k not in (*BUDGET_KEYS, "set")]
                errors.extend(f"overrides.{axis}.{key}.{k}: unknown key" for k in bad)
                break
    budget.update({k: v for k, v in point["values"].items() if k in BUDGET_KEYS})
    hyper.update({k[4:]: v for k, v in point["values"].items() if k.startswith("set.")})
    budget.update({k: hyper.pop(k) for k in BUDGET_KEYS if k in hyper})  # set: {n_envs: [..]}
    if "steps" not in budget:
        errors.append(f"{where}: no training budget (set budget.steps)")
    return budget, hyper


def run_identity(config: TrainConfig, resolved: Mapping[str, Any]) -> str:
    """16 hex digits of SHA-256 over the canonical JSON of the run and its resolved agent."""
    payload = json.dumps({"run": config.to_dict(), "agent": resolved}, sort_keys=True,
                         default=repr)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def plan_runs(experiment: Experiment) -> list[PlannedRun]:
    """Every run of the experiment, validated; raises :class:`ExperimentError` listing every
    problem (axis values first, then each combination that cannot run)."""

    errors: list[str] = []
    for i, target in enumerate(experiment.imports):
        try:
            import_plugin(target)
        except UsageError as err:
            errors.append(f"imports[{i}]: {err}")
    _check_axis_values(experiment, errors)
    points = _expand_grids(experiment, errors) + _explicit_runs(experiment, errors)
    if errors:
        raise ExperimentError(experiment.source, errors)

    planned: list[PlannedRun] = []
    resolved_by_config: dict[str, dict[str, Any]] = {}  # seeds share one resolution
    for point, where in points:
        budget, hyper = _budget_for(experiment, point, where, errors)
        values = point["values"]
        labels = dict(point["labels"])
        try:
            config = TrainConfig(
                env=str(values["env"]), algo=str(values["algo"]), lr=values["lr"],
                perturb=values["perturb"], optimizer=values["optimizer"],
                seed=int(values["seed"]), steps=budget.get("steps", 1),
                eval_every=budget.get("eval_every"),
                eval_episodes=budget.get("eval_episodes", 10),
                n_envs=budget.get("n_envs"), preset=budget.get("preset", "default"),
                overrides=hyper,
            )
            key = json.dumps(replace(config, seed=0).to_dict(), sort_keys=True, default=repr)
            if key not in resolved_by_config:
                resolved_by_config[key] = resolve_document(replace(config, seed=0))
            resolved = resolved_by_config[key]
        except (SpecError, ValueError, TypeError) as err:
            errors.append(f"{where} ({_combination_name(labels)}): {err}")
            continue
        planned.append(PlannedRun(config, labels, run_identity(config, resolved)))
    ids = [run.run_id for run in planned]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    errors.extend(f"runs: the same run appears twice (run id {i})" for i in duplicates)
    if errors:
        raise ExperimentError(experiment.source, list(dict.fromkeys(errors)))  # each once
    return planned


def _combination_name(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items() if k != "seed")
