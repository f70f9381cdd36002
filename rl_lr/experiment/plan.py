"""Planning an experiment: its grids and explicit runs expanded into validated runs, each
with its axis labels and a run id that hashes the fully resolved run.

Each spec value of an axis (``lr``, ``perturb``, ``optimizer``) is read once, with its YAML path
in any error, and every run of that value carries the same objects with the value's spelling
(:class:`~rl_lr.run.config.Spelled`): the run id hashes the spelling, as written.

An experiment with a protocol (:mod:`.protocol`) plans in two steps: :func:`plan_runs` gives
its tuning runs (every condition x family x configuration x tuning seed), known before any
run starts; :func:`plan_test_runs` gives its test runs once the configurations are chosen."""

from __future__ import annotations

import hashlib
import itertools
import json
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rl_lr import schema
from rl_lr.errors import SpecError, UsageError
from rl_lr.experiment.file import AXES, BUDGET_KEYS, PROTOCOL_AXES, Experiment, ExperimentError
from rl_lr.experiment.protocol import Condition, Protocol, Selected, condition_of
from rl_lr.oracles import is_oracle
from rl_lr.plugins import import_plugin
from rl_lr.run import TrainConfig, resolve_document
from rl_lr.run.config import SPEC_FIELDS, Spelled, read_spec

__all__ = ["PlannedRun", "label_of", "plan_runs", "plan_test_runs", "run_identity"]

#: Each spec value of each grid, read once: ``(grid path, axis, label) -> Spelled``.
ReadValues = dict[tuple[str, str, str], Spelled]


@dataclass(frozen=True)
class PlannedRun:
    """One run of an experiment: what to train, the axis labels it has, and its identity.

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


def _axis(grid: Mapping[str, Any], axis: str) -> list[tuple[str, Any]]:
    """A grid's axis as ``[(label, value)]``; an absent ``perturb`` / ``optimizer`` is none."""
    default: Any = {"none": None} if axis in ("perturb", "optimizer") else None
    return _labelled(grid.get(axis, default))


def label_of(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _read_axis_values(experiment: Experiment, errors: list[str]) -> ReadValues:
    """Read every spec of every grid's axes once; errors carry the value's own YAML path."""
    read: ReadValues = {}
    for where, grid in experiment.grids():
        for axis in SPEC_FIELDS:
            for label, value in _axis(grid, axis):
                try:
                    read[where, axis, label] = read_spec(axis, value)
                except SpecError as err:
                    errors.append(f"{where}.{axis}.{label}: {err}")
                    continue
                if axis == schema.LR and is_oracle(read[where, axis, label].value) and (
                        "oracle" not in label.lower()):
                    errors.append(f"{where}.lr.{label}: an oracle policy sees the clean reward; "
                                  f"its label must say so (e.g. oracle_{label})")
    return read


def _expand_grids(experiment: Experiment, errors: list[str]) -> list[tuple[dict[str, Any], str]]:
    """Every grid point; with a protocol, every condition (the grids have no lr, no seed)."""
    axes = AXES if experiment.protocol is None else tuple(
        a for a in AXES if a not in PROTOCOL_AXES)
    return [point for where, grid in experiment.grids()
            for point in _expand_grid(grid, where, errors, axes)]


def _expand_grid(grid: dict[str, Any], where: str, errors: list[str],
                 required: tuple[str, ...] = AXES) -> list[tuple[dict[str, Any], str]]:
    unknown = [k for k in grid if k not in (*AXES, "set", schema.BASE_LR)]
    errors.extend(f"{where}.{k}: unknown axis (allowed: "
                  f"{', '.join((*AXES, 'set', schema.BASE_LR))})" for k in unknown)
    axes: dict[str, list[tuple[str, Any]]] = {}
    for axis in required:
        values = _axis(grid, axis)
        if not values:
            errors.append(f"{where}.{axis}: required (at least one value)")
        axes[axis] = values
    sets = grid.get("set") or {}
    if not isinstance(sets, dict):
        errors.append(f"{where}.set: must map hyper-parameter names to lists of values")
        sets = {}
    for key, values in sets.items():
        axes[f"set.{key}"] = _labelled(values if isinstance(values, list) else [values])
    if schema.BASE_LR in grid:  # one value: Experiment.grids() gives a grid per base LR
        axes[schema.BASE_LR] = _labelled(grid[schema.BASE_LR])
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
    """Every run of the experiment (with a protocol: its tuning runs), validated; raises
    :class:`ExperimentError` listing every problem (axis values first, then each combination
    that cannot run)."""

    errors: list[str] = []
    for i, target in enumerate(experiment.imports):
        try:
            import_plugin(target)
        except UsageError as err:
            errors.append(f"imports[{i}]: {err}")
    read = _read_axis_values(experiment, errors)
    points = _expand_grids(experiment, errors) + _explicit_runs(experiment, errors)
    if experiment.protocol is not None:
        points = _tuning_points(experiment.protocol, points, errors)
    errors += _unmatched_overrides(experiment, points)
    if errors:
        raise ExperimentError(experiment.source, errors)
    planned = _plan_points(experiment, points, read, errors)
    if experiment.protocol is not None:
        errors += _unequal_budgets(planned)
    if errors:
        raise ExperimentError(experiment.source, list(dict.fromkeys(errors)))  # each once
    return planned


def plan_test_runs(experiment: Experiment, selected: Sequence[Selected]) -> list[PlannedRun]:
    """The test runs of an experiment with a protocol: in every condition, each family's
    ``selected`` configuration (:func:`.protocol.select`) on every test seed."""
    protocol = experiment.protocol
    if protocol is None:
        raise ValueError(f"{experiment.source}: has no protocol, so no test runs")
    errors: list[str] = []
    read = _read_axis_values(experiment, errors)
    chosen = {(s.condition, s.family): s for s in selected}
    optimizers = _family_optimizers(protocol, errors)
    points = []
    for point, where in _expand_grids(experiment, errors):
        for family in protocol.families:
            choice = chosen.get((condition_of(point["labels"]), family.name))
            if choice is None:
                errors.append(f"{where} ({_combination_name(point['labels'])}): no "
                              f"configuration chosen for family {family.name}")
                continue
            spec = read_spec("lr", choice.spec)
            points += [(_protocol_point(point, family.name, spec, optimizers[family.name],
                                        seed, schema.TEST, choice.trial), where)
                       for seed in protocol.test_seeds]
    if errors:
        raise ExperimentError(experiment.source, errors)
    planned = _plan_points(experiment, points, read, errors)
    if errors:
        raise ExperimentError(experiment.source, list(dict.fromkeys(errors)))
    return planned


def _protocol_point(condition: dict[str, Any], family: str, spec: Spelled,
                    optimizer: Spelled | None, seed: int, phase: str,
                    trial: int) -> dict[str, Any]:
    """A run of a protocol: a condition's labels and values with the family as its ``lr``
    (and its ``optimizer``, if it has one, under the condition's label), the seed, then the
    ``phase`` and ``trial`` labels (in the axes' order, as a grid's)."""
    given = {schema.LR: (family, spec), schema.SEED: (label_of(seed), seed)}
    if optimizer is not None:
        given[schema.OPTIMIZER] = (condition["labels"][schema.OPTIMIZER], optimizer)
    labels: dict[str, str] = {}
    values: dict[str, Any] = {}
    for axis in AXES:
        labels[axis], values[axis] = given.get(axis) or (condition["labels"][axis],
                                                          condition["values"][axis])
    for key in condition["labels"]:
        if key not in labels:
            labels[key], values[key] = condition["labels"][key], condition["values"][key]
    labels |= {schema.PHASE: phase, schema.TRIAL: str(trial)}
    return {"labels": labels, "values": values}


def _tuning_points(protocol: Protocol, conditions: list[tuple[dict[str, Any], str]],
                   errors: list[str]) -> list[tuple[dict[str, Any], str]]:
    """Every condition x family x configuration (its spec read once) x tuning seed."""
    optimizers = _family_optimizers(protocol, errors)
    trials: list[tuple[str, int, Spelled]] = []
    for family in protocol.families:
        for trial, text in enumerate(protocol.trials(family)):
            try:
                trials.append((family.name, trial, read_spec("lr", text)))
            except SpecError as err:
                errors.append(f"families.{family.name}.lr: trial {trial} ({text}): {err}")
                continue
            if trial == 0 and is_oracle(trials[-1][2].value) and (
                    "oracle" not in family.name.lower()):
                errors.append(f"families.{family.name}: an oracle policy sees the clean reward; "
                              f"its name must say so (e.g. oracle_{family.name})")
    if any(optimizers.values()):
        errors += [f"{where}.optimizer: the families set their own optimizers; a grid with "
                   "families has no optimizer axis" for where in dict.fromkeys(
                       where for point, where in conditions
                       if point["values"][schema.OPTIMIZER] is not None)]
    return [(_protocol_point(point, family, spec, optimizers.get(family), seed, schema.TUNE,
                             trial), where)
            for point, where in conditions for family, trial, spec in trials
            for seed in protocol.tuning_seeds]


def _unmatched_overrides(experiment: Experiment,
                         points: list[tuple[dict[str, Any], str]]) -> list[str]:
    """An override whose key is no value or label of its axis would apply to no run: a typo
    (``CartPole-v2``) must not leave a budget silently unchanged."""
    known: dict[str, set[str]] = {}
    for point, _ in points:
        for axis, label in point["labels"].items():
            value = point["values"].get(axis)
            known.setdefault(axis, set()).update(
                [label, *([value] if isinstance(value, str) else [])])
    return [f"overrides.{axis}.{key}: no {axis} of the experiment is {key!r} (known: "
            f"{', '.join(sorted(known.get(axis, ())))})"
            for axis, per_value in experiment.overrides.items()
            if axis in AXES and isinstance(per_value, dict)
            for key in per_value if key not in known.get(axis, set())]


def _family_optimizers(protocol: Protocol, errors: list[str]) -> dict[str, Spelled | None]:
    """Each family's optimizer spec, read once (``None``: the condition's optimizer)."""
    optimizers: dict[str, Spelled | None] = {}
    for family in protocol.families:
        try:
            optimizers[family.name] = (None if family.optimizer is None
                                       else read_spec(schema.OPTIMIZER, family.optimizer))
        except SpecError as err:
            errors.append(f"families.{family.name}.optimizer: {err}")
            optimizers[family.name] = None
    return optimizers


def _unequal_budgets(planned: Sequence[PlannedRun]) -> list[str]:
    """Every family's tuning runs of a condition must add up to the same env steps."""
    steps: dict[tuple[Condition, str], int] = {}
    for run in planned:
        key = (condition_of(run.labels), run.labels[schema.LR])
        steps[key] = steps.get(key, 0) + run.config.steps
    per_condition: dict[Condition, dict[str, int]] = {}
    for (condition, family), total in steps.items():
        per_condition.setdefault(condition, {})[family] = total
    return [f"families: unequal tuning budgets in condition "
            f"({', '.join(f'{k}={v}' for k, v in condition)}): "
            + ", ".join(f"{family} {total} env steps" for family, total in totals.items())
            + " (an override changes one family's steps; every family gets the same budget)"
            for condition, totals in per_condition.items() if len(set(totals.values())) > 1]


def _plan_points(experiment: Experiment, points: list[tuple[dict[str, Any], str]],
                 read: ReadValues, errors: list[str]) -> list[PlannedRun]:
    """The runs of validated points (errors of combinations that cannot run: ``errors``)."""
    planned: list[PlannedRun] = []
    resolved_by_config: dict[str, dict[str, Any]] = {}  # seeds share one resolution
    configs_by_group: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}  # labels -> runs
    for point, where in points:
        budget, hyper = _budget_for(experiment, point, where, errors)
        values = point["values"]
        labels = dict(point["labels"])
        specs = {axis: _read_value(read, where, axis, labels[axis], values[axis])
                 for axis in SPEC_FIELDS}
        seed = values["seed"]
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
            errors.append(f"{where}.seed: seeds are integers >= 0, got {seed!r}")  # int()
            continue  # would read -1 and 0.5 (as 0) silently
        try:
            config = TrainConfig(
                env=str(values["env"]), algo=str(values["algo"]), lr=specs["lr"],
                perturb=specs["perturb"], optimizer=specs["optimizer"],
                seed=int(seed), steps=budget.get("steps", 1),
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
        group = tuple(sorted((k, v) for k, v in labels.items() if k != schema.SEED))
        configs_by_group.setdefault(group, {}).setdefault(key, where)
    errors.extend(f"{', '.join(wheres.values())}: labelled alike ({_combination_name(dict(g))}) "
                  "but different runs; give each its own label (a group's runs differ only by "
                  "seed)" for g, wheres in configs_by_group.items() if len(wheres) > 1)
    ids = [run.run_id for run in planned]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    errors.extend(f"runs: the same run appears twice (run id {i})" for i in duplicates)
    return planned


def _read_value(read: ReadValues, where: str, axis: str, label: str, value: Any) -> Any:
    """The grid value as read by :func:`_read_axis_values`, else ``value`` itself (an explicit
    run's, which :class:`~rl_lr.run.TrainConfig` reads)."""
    spelled = read.get((where, axis, label))
    return spelled if spelled is not None and spelled.written is value else value


def _combination_name(labels: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in labels.items() if k != "seed")
