"""Experiment files: a YAML description of a sweep -> the validated list of its runs.

    name: quick
    description: PPO on CartPole-v1, four LR policies, clean vs noisy reward.
    imports: []                      # modules / .py files registering your own policies
    budget: {steps: 30000, eval_every: 3000, eval_episodes: 10}
    grid:                            # the cross product of every axis (or a list of such
                                     # grids, each its own cross product: grid[0], grid[1], ...)
      env: [CartPole-v1]
      algo: [ppo]
      lr: {constant: "constant(1e-3)", cosine: "cosine(1e-3, warmup=0.05)"}
      perturb: {clean: null, noise: "gaussian(std=1.0)"}
      optimizer: {adam: null}        # null: the algorithm's own optimizer
      seed: [0, 1, 2]
      set: {batch_size: [64, 256]}   # any hyper-parameter as an axis
    overrides:                       # per axis value: budget keys and hyper-parameters
      env:
        Pendulum-v1: {steps: 100000, set: {n_steps: 1024}}
    runs:                            # explicit runs, in addition to (or instead of) the grid
      - {env: CartPole-v1, algo: a2c, lr: "linear(7e-4)", seed: 0}

Axis values are a list (each value is its own label) or a ``{label: value}`` mapping. The whole
file is validated before any run starts: every spec parsed, every combination resolved against
the presets and compatibility rules; every problem is reported at once with its YAML path
(:class:`ExperimentError`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rl_lr.spec import SpecError
from rl_lr.train import TrainConfig

__all__ = ["Experiment", "ExperimentError", "PlannedRun", "load_experiment", "plan_runs"]

AXES = ("env", "algo", "lr", "perturb", "optimizer", "seed")
BUDGET_KEYS = ("steps", "eval_every", "eval_episodes", "n_envs", "preset")
TOP_KEYS = ("name", "description", "imports", "budget", "grid", "overrides", "runs")
RECORD_KEYS = ("source", "run_ids")  # written by rl-lr bench into OUT/experiment.yaml; ignored


class ExperimentError(SpecError):
    """Everything wrong with an experiment file, one line per problem (``errors``)."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{source}: {len(errors)} problem(s): " + "; ".join(errors))


@dataclass(frozen=True)
class PlannedRun:
    """One run of a sweep: what to train, the axis labels it has, and its identity.

    ``run_id`` hashes the fully resolved run (the config plus every hyper-parameter the
    presets resolve to), so editing the file or a preset changes exactly the affected ids.
    """

    config: TrainConfig
    labels: Mapping[str, str]
    run_id: str


@dataclass
class Experiment:
    """A parsed experiment file (see the module docstring for the format)."""

    name: str
    description: str = ""
    imports: list[str] = field(default_factory=list)
    budget: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, Any] | list[dict[str, Any]] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    source: str = "<experiment>"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "imports": self.imports,
                "budget": self.budget, "grid": self.grid, "overrides": self.overrides,
                "runs": self.runs}

    def grids(self) -> list[tuple[str, dict[str, Any]]]:
        """Each grid with its YAML path: ``[("grid", {...})]``, or ``grid[i]`` for a list."""
        if isinstance(self.grid, list):
            return [(f"grid[{i}]", grid) for i, grid in enumerate(self.grid)]
        return [("grid", self.grid)] if self.grid else []


def load_experiment(path: Path | str) -> Experiment:
    """Read an experiment YAML file; structural problems raise :class:`ExperimentError`.

    The resolved copy that ``rl-lr bench`` writes into ``OUT/experiment.yaml`` reads back too
    (its ``source`` and ``run_ids`` records are ignored): it plans the same runs.
    """
    from rl_lr.run_files import read_yaml

    path = Path(path)
    return experiment_from_dict(read_yaml(path, "experiment"), str(path))


def experiment_from_dict(data: Any, source: str = "<experiment>") -> Experiment:
    if not isinstance(data, dict):
        raise ExperimentError(source, [f"top level must be a mapping, got {type(data).__name__}"])
    errors = [f"{key}: unknown key (allowed: {', '.join(TOP_KEYS)})"
              for key in data if key not in (*TOP_KEYS, *RECORD_KEYS)]
    if not isinstance(data.get("name"), str) or not data.get("name"):
        errors.append("name: required, a non-empty string")
    for key, kind in (("budget", dict), ("overrides", dict), ("runs", list), ("imports", list)):
        if key in data and not isinstance(data[key], kind):
            errors.append(f"{key}: must be a {'mapping' if kind is dict else 'list'}")
    grid = data.get("grid")
    if grid is not None and not (isinstance(grid, dict) or (
            isinstance(grid, list) and all(isinstance(g, dict) for g in grid))):
        errors.append("grid: must be a mapping of axes, or a list of such mappings")
    if not data.get("grid") and not data.get("runs"):
        errors.append("grid / runs: an experiment needs a grid, a list of runs, or both")
    if errors:
        raise ExperimentError(source, errors)
    return Experiment(
        name=data["name"], description=str(data.get("description") or ""),
        imports=[str(i) for i in data.get("imports") or []], budget=dict(data.get("budget") or {}),
        grid=[dict(g) for g in grid] if isinstance(grid, list) else dict(grid or {}),
        overrides=dict(data.get("overrides") or {}),
        runs=list(data.get("runs") or []), source=source,
    )


def _labelled(value: Any) -> list[tuple[str, Any]]:
    """An axis as ``[(label, value)]``: a list labels each value by itself."""
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, list):
        return [(_label_of(v), v) for v in value]
    if value is None:
        return []
    return [(_label_of(value), value)]


def _label_of(value: Any) -> str:
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
        labels = {axis: _label_of(values[axis]) for axis in AXES}
        if "label" in run:
            labels["lr"] = str(run["label"])
        for key, value in (run.get("set") or {}).items():
            values[f"set.{key}"], labels[f"set.{key}"] = value, _label_of(value)
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


def resolve_agent(config: TrainConfig) -> dict[str, Any]:
    """Every hyper-parameter the run will use (presets + overrides), as plain data; raises
    :class:`SpecError` for anything that cannot run (unknown env, incompatible algorithm, ...)."""
    from rl_lr.agents import resolve

    spec = resolve(config.algo, config.env, config.lr, seed=config.seed, perturb=config.perturb,
                   optimizer=config.optimizer, preset=config.preset, n_envs=config.n_envs,
                   total_timesteps=config.steps, **dict(config.overrides))
    resolved: dict[str, Any] = spec.to_dict()
    return resolved


def run_identity(config: TrainConfig, resolved: Mapping[str, Any]) -> str:
    """16 hex digits of SHA-256 over the canonical JSON of the run and its resolved agent."""
    payload = json.dumps({"run": config.to_dict(), "agent": resolved}, sort_keys=True,
                         default=repr)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def plan_runs(experiment: Experiment) -> list[PlannedRun]:
    """Every run of the experiment, validated; raises :class:`ExperimentError` listing every
    problem (axis values first, then each combination that cannot run)."""
    from rl_lr.cli import UsageError, import_plugin

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
                resolved_by_config[key] = resolve_agent(replace(config, seed=0))
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
