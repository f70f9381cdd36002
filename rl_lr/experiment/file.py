"""Experiment files: a YAML description of an experiment -> the validated list of its runs.

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
      base_lr: [3e-4, 1e-3]          # optional: fills {base_lr} in every lr spec of the grid,
                                     # e.g. lr: {kl: "kl_adaptive({base_lr})"} (a label too);
                                     # or {centre: 1e-3, multiples: [0.1, 1, 10]}: x0.1, x1, x10
    overrides:                       # per axis value: budget keys and hyper-parameters
      env:
        Pendulum-v1: {steps: 100000, set: {n_steps: 1024}}
    runs:                            # explicit runs, in addition to (or instead of) the grid
      - {env: CartPole-v1, algo: a2c, lr: "linear(7e-4)", seed: 0}
    protocol: {...}                  # tune, then test (with families: in place of the grid's
    families: {...}                  # lr axis, and no seed axis): rl_lr.experiment.protocol

Axis values are a list (each value is its own label) or a ``{label: value}`` mapping. The whole
file is validated before any run starts: every spec parsed, every combination resolved against
the presets and compatibility rules; every problem is reported at once with its YAML path
(:class:`ExperimentError`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rl_lr.agents.hyperparams import coerce_numbers
from rl_lr.errors import SpecError
from rl_lr.experiment.protocol import Protocol, parse_protocol
from rl_lr.files import read_yaml
from rl_lr.schema import (
    AXES,  # re-exported: the axes an experiment's grid may have
    BASE_LR,
    LR,
    SEED,
)

__all__ = [
    "AXES",
    "BUDGET_KEYS",
    "SUITES_DIR",
    "Experiment",
    "ExperimentError",
    "experiment_from_dict",
    "load_experiment",
]

SUITES_DIR = Path(__file__).resolve().parents[2] / "experiments"  # the suites of a checkout
BUDGET_KEYS = ("steps", "eval_every", "eval_episodes", "n_envs", "preset")
TOP_KEYS = ("name", "description", "imports", "budget", "grid", "overrides", "runs",
            "protocol", "families")
PROTOCOL_AXES = (LR, SEED)  # a protocol's families and seeds take these axes' place
RECORD_KEYS = ("source", "run_ids")  # written by rl-lr bench into OUT/experiment.yaml; ignored


class ExperimentError(SpecError):
    """Everything wrong with an experiment file, one line per problem (``errors``)."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{source}: {len(errors)} problem(s): " + "; ".join(errors))


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
    protocol: Protocol | None = None  # tune, then test (rl_lr.experiment.protocol)

    def to_dict(self) -> dict[str, Any]:
        data = {"name": self.name, "description": self.description, "imports": self.imports,
                "budget": self.budget, "grid": self.grid, "overrides": self.overrides,
                "runs": self.runs}
        if self.protocol is not None:  # as written; an experiment without one is unchanged
            data |= {"protocol": dict(self.protocol.raw),
                     "families": dict(self.protocol.raw_families)}
        return data

    def grids(self) -> list[tuple[str, dict[str, Any]]]:
        """Each grid with its YAML path: ``[("grid", {...})]``, or ``grid[i]`` for a list; a
        grid with a ``base_lr`` axis as one grid per base LR, ``grid[base_lr=LABEL]``, its lr
        specs filled in and ``base_lr`` a one-value axis (:func:`per_base_lr`)."""
        return [sub for where, grid in _listed(self.grid) for sub in per_base_lr(where, grid)]


def _listed(grid: Any) -> list[tuple[str, Any]]:
    """The file's ``grid`` as ``[(YAML path, grid)]``: ``grid``, or ``grid[i]`` for a list."""
    if isinstance(grid, list):
        return [(f"grid[{i}]", g) for i, g in enumerate(grid)]
    return [("grid", grid)] if grid else []


def base_lrs(grid: dict[str, Any]) -> list[tuple[str, Any]]:
    """A grid's ``base_lr`` axis as ``[(label, value)]``; empty without one. Three forms: a
    list (each value its own label), ``{label: value}``, or ``{centre: C, multiples: [...]}``
    (each start ``C * m`` labelled ``x<m>``: ``x1`` is the centre, the tuned LR a report
    compares every start with).

    >>> base_lrs({"base_lr": {"centre": 2e-3, "multiples": [0.1, 1, 10]}})
    [('x0.1', 0.0002), ('x1', 0.002), ('x10', 0.02)]
    """
    values = grid.get(BASE_LR)
    if isinstance(values, dict) and set(values) == {"centre", "multiples"}:
        centre = coerce_numbers(values["centre"])
        multiples = [coerce_numbers(m) for m in values["multiples"]] if isinstance(
            values["multiples"], list) else []
        if not (_positive(centre) and multiples and all(map(_positive, multiples))):
            return []  # refused by _base_lr_errors
        return [(f"x{m:g}", float(f"{centre * m:.4g}")) for m in multiples]
    if isinstance(values, dict):
        return [(str(label), coerce_numbers(value)) for label, value in values.items()]
    return ([(str(value), coerce_numbers(value)) for value in values]
            if isinstance(values, list) else [])


def per_base_lr(where: str, grid: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``grid`` as one grid per base LR, each lr spec's ``{base_lr}`` replaced by the number.

    >>> per_base_lr("grid", {"lr": {"c": "constant({base_lr})"}, "base_lr": {"low": 1e-4}})
    [('grid[base_lr=low]', {'lr': {'c': 'constant(0.0001)'}, 'base_lr': {'low': 0.0001}})]
    """
    if BASE_LR not in grid:
        return [(where, grid)]
    specs = grid.get(LR)
    labelled = (list(specs.items()) if isinstance(specs, dict)
                else [(spec, spec) for spec in specs] if isinstance(specs, list) else [])
    return [(f"{where}[{BASE_LR}={label}]",
             {**grid, LR: {str(name): str(spec).replace("{base_lr}", repr(float(value)))
                           for name, spec in labelled},
              BASE_LR: {label: value}})
            for label, value in base_lrs(grid)]


def load_experiment(path: Path | str) -> Experiment:
    """Read an experiment YAML file; structural problems raise :class:`ExperimentError`.

    The resolved copy that ``rl-lr bench`` writes into ``OUT/experiment.yaml`` reads back too
    (its ``source`` and ``run_ids`` records are ignored): it plans the same runs.
    """
    path = Path(path)
    return experiment_from_dict(read_yaml(path, "experiment"), str(path))


def experiment_from_dict(data: Any, source: str = "<experiment>") -> Experiment:
    if not isinstance(data, dict):
        raise ExperimentError(source, [f"top level must be a mapping, got {type(data).__name__}"])
    errors = [f"{key}: unknown key (allowed: {', '.join(TOP_KEYS)})"
              for key in data if key not in (*TOP_KEYS, *RECORD_KEYS)]
    if not isinstance(data.get("name"), str) or not data.get("name"):
        errors.append("name: required, a non-empty string")
    elif any(c in data["name"] for c in "/\\") or data["name"] in (".", ".."):
        errors.append(f"name: a plain name without / (rl-lr bench writes runs/<name> by "
                      f"default), got {data['name']!r}")
    for key, kind in (("budget", dict), ("overrides", dict), ("runs", list), ("imports", list)):
        if key in data and not isinstance(data[key], kind):
            errors.append(f"{key}: must be a {'mapping' if kind is dict else 'list'}")
    grid = data.get("grid")
    if grid is not None and not (isinstance(grid, dict) or (
            isinstance(grid, list) and all(isinstance(g, dict) for g in grid))):
        errors.append("grid: must be a mapping of axes, or a list of such mappings")
    if not data.get("grid") and not data.get("runs"):
        errors.append("grid / runs: an experiment needs a grid, a list of runs, or both")
    errors += _base_lr_errors(grid)
    protocol = None
    if "protocol" in data or "families" in data:
        protocol = parse_protocol(data.get("protocol"), data.get("families"), errors)
        errors += _protocol_grid_errors(data)
    if errors:
        raise ExperimentError(source, errors)
    return Experiment(
        name=data["name"], description=str(data.get("description") or ""),
        imports=[str(i) for i in data.get("imports") or []], budget=dict(data.get("budget") or {}),
        grid=[dict(g) for g in grid] if isinstance(grid, list) else dict(grid or {}),
        overrides=dict(data.get("overrides") or {}),
        runs=list(data.get("runs") or []), source=source, protocol=protocol,
    )


def _protocol_grid_errors(data: dict[str, Any]) -> list[str]:
    """Next to a protocol: a grid without ``lr`` and ``seed`` axes, and no explicit runs."""
    errors = [f"{where}.{axis}: not allowed next to a protocol (the "
              f"{'protocol seeds' if axis == SEED else 'families'} take its place)"
              for where, g in _listed(data.get("grid")) if isinstance(g, dict)
              for axis in (*PROTOCOL_AXES, BASE_LR) if axis in g]
    if data.get("runs"):
        errors.append("runs: not allowed next to a protocol (every run comes from the grid, "
                      "the families and the protocol seeds)")
    return errors


def _base_lr_errors(grid: Any) -> list[str]:
    """A ``base_lr`` axis: positive finite numbers, and ``{base_lr}`` in every lr spec; no
    ``{base_lr}`` without the axis."""
    errors = []
    for where, g in _listed(grid):
        if not isinstance(g, dict):
            continue
        specs = g.get(LR)
        texts = list(specs.values()) if isinstance(specs, dict) else specs or []
        if BASE_LR not in g:
            errors += [f"{where}.{LR}: {spec!r} has {{base_lr}} but the grid has no {BASE_LR} "
                       "axis to fill it (add base_lr: [LR, ...] or write the LR)"
                       for spec in texts if "{base_lr}" in str(spec)]
            continue
        values = base_lrs(g)
        if not values or not all(_positive(v) for _, v in values):
            errors.append(f"{where}.{BASE_LR}: a list (or label: value mapping) of LRs > 0, "
                          f"or {{centre: LR, multiples: [numbers > 0]}}, got {g[BASE_LR]!r}")
        errors += [f"{where}.{LR}: {spec!r} has no {{base_lr}} to fill (a grid with a "
                   f"{BASE_LR} axis varies the base LR of every lr spec)"
                   for spec in texts if "{base_lr}" not in str(spec)]
    return errors


def _positive(value: Any) -> bool:
    """A finite number > 0 (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and (
        0 < value < math.inf)
