"""The tune-then-test protocol of an experiment: its ``protocol:`` and ``families:`` sections,
the quasi-random design of each family's tuning configurations, and the rule that chooses one
configuration per family and condition (``selection.csv``).

    protocol:
      tuning_seeds: [100, 101]         # configurations are chosen on these seeds only
      test_seeds: [0, 1, 2]            # scores come from these only
      configurations: 4                # per family: the same tuning budget for every family
      select: eval_auc                 # tuning score, mean over the tuning seeds
                                       # (eval_auc or final_eval_return)
      search_seed: 0                   # seeds the quasi-random design
      other_seeds_used_to_choose: []   # seeds of anything else that chose (find-lr runs)
    families:                          # replaces the grid's lr axis; the grid has no seed axis
      constant: {lr: "constant({lr})", space: {lr: {log: [1e-4, 1e-2]}}}
      plateau:
        lr: "plateau({lr}, patience={patience})"
        space: {lr: {log: [1e-4, 1e-2]}, patience: {int: [2, 10]}}
      adam_rel: {lr: "constant({lr})", optimizer: "adam_rel()", space: {lr: {log: [1e-4, 1e-2]}}}

A **condition** is one combination of the grid's other axes (env, algo, perturb, optimizer,
``set.*``). Phase 1, tuning: in every condition, each family runs each of its
``configurations`` on every tuning seed (labels ``phase=tune``, ``lr=<family>``,
``trial=<i>``). Selection (:func:`select`): per condition and family, the configuration with
the highest mean tuning score over the tuning seeds (a NaN mean ranks last; ties: the first in
design order). Phase 2, test: the chosen configuration of every family on every test seed
(``phase=test``, ``trial`` the chosen one).

Rules, checked before anything runs:

- a dimension of a space is ``{log: [low, high]}`` (log-uniform, ``low > 0``),
  ``{uniform: [low, high]}``, ``{int: [low, high]}`` (both ends included) or
  ``{choice: [a, b, ...]}``; a template's ``{slots}`` are exactly its space's dimensions
  (a slot may carry a format spec, ``{lr:.2e}``);
- every family has a space: every policy has at least a base LR to tune, so a family without
  a knob is refused rather than run untuned next to tuned ones;
- a family's ``optimizer`` (a fixed spec) replaces the algorithm's own in its runs, which
  keep the condition's ``optimizer`` label; the grid then has no ``optimizer`` axis;
- a family whose policy is an oracle (it sees the clean reward) says so in its name;
- every family gets the same budget: ``configurations`` x tuning seeds runs of the same steps
  in each condition (an override that changes one family's steps is refused,
  :func:`rl_lr.experiment.plan.plan_runs`), and its configurations are distinct;
- test seeds are disjoint from every seed used to choose (tuning seeds and
  ``other_seeds_used_to_choose``).

The design: a scrambled Halton sequence (:class:`scipy.stats.qmc.Halton`) with as many
dimensions as the family's space, seeded by ``search_seed`` -- deterministic, known before any
run starts, any number of points (Sobol' balances only powers of two), the same unit points for
families with the same number of dimensions. Floats are written with 4 significant digits.

    >>> family = parse_family("constant", {"lr": "constant({lr})",
    ...                                    "space": {"lr": {"log": [1e-4, 1e-2]}}}, "f", [])
    >>> family.configurations(2, seed=0)
    ['constant(0.002597)', 'constant(0.0002597)']
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rl_lr import schema
from rl_lr.agents.hyperparams import coerce_numbers
from rl_lr.files import write_csv

__all__ = [
    "DIMENSION_KINDS", "PROTOCOL_KEYS", "SELECT_METRICS", "Condition", "Dimension", "Family",
    "Protocol", "Selected", "TuningScore", "condition_of", "parse_family", "parse_protocol",
    "select", "write_selection",
]

PROTOCOL_KEYS = ("tuning_seeds", "test_seeds", "configurations", "select", "search_seed",
                 "other_seeds_used_to_choose")
FAMILY_KEYS = ("lr", "space", "optimizer")
DIMENSION_KINDS = ("log", "uniform", "int", "choice")
SELECT_METRICS = (schema.EVAL_AUC, schema.FINAL_EVAL_RETURN)
NOT_CONDITION = (schema.LR, schema.SEED, schema.PHASE, schema.TRIAL)  # labels within one

#: A condition: the labels of a run but its policy, seed, phase and trial, in plan order.
Condition = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Dimension:
    """One knob of a family's space: ``kind`` (:data:`DIMENSION_KINDS`) over ``[low, high]``
    or ``options``."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    options: tuple[Any, ...] = ()

    def value(self, unit: float) -> Any:
        """The dimension's value at ``unit`` in [0, 1).

        >>> Dimension("patience", "int", 2, 4).value(0.99), Dimension("w", "log", 1, 4).value(.5)
        (4, 2.0)
        """
        if self.kind == "log":
            return float(math.exp(math.log(self.low) + unit * math.log(self.high / self.low)))
        if self.kind == "uniform":
            return float(self.low + unit * (self.high - self.low))
        if self.kind == "int":
            span = int(self.high) - int(self.low) + 1
            return int(self.low) + min(int(unit * span), span - 1)
        return self.options[min(int(unit * len(self.options)), len(self.options) - 1)]


def _text(value: Any) -> str:
    """A value as a template slot writes it: floats with 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Family:
    """A policy family: its spec ``template`` with ``{slots}``, the space of its slots, and
    the optimizer spec its runs use (``None``: the condition's)."""

    name: str
    template: str
    space: tuple[Dimension, ...]
    optimizer: str | None = None

    def render(self, values: Mapping[str, Any]) -> str:
        """The template with every slot filled (``{lr}``, or ``{lr:.2e}`` formatted)."""
        parts = []
        for literal, slot, spec, _ in string.Formatter().parse(self.template):
            parts.append(literal)
            if slot is not None:
                parts.append(format(values[slot], spec) if spec else _text(values[slot]))
        return "".join(parts)

    def design(self, n: int, seed: int) -> list[dict[str, Any]]:
        """``n`` configurations: a scrambled Halton design over the space, seeded."""
        from scipy.stats import qmc  # scipy.stats costs ~1 s: not for `rl-lr --help`

        units = qmc.Halton(len(self.space), scramble=True, rng=seed).random(n)
        return [{dim.name: dim.value(float(u)) for dim, u in zip(self.space, row, strict=True)}
                for row in np.atleast_2d(units)]

    def configurations(self, n: int, seed: int) -> list[str]:
        """The specs of the family's ``n`` tuning configurations, in design order."""
        return [self.render(values) for values in self.design(n, seed)]


@dataclass(frozen=True)
class Protocol:
    """A validated protocol with its families; ``raw`` and ``raw_families`` as written (what
    ``experiment.yaml`` keeps)."""

    tuning_seeds: tuple[int, ...]
    test_seeds: tuple[int, ...]
    configurations: int
    select: str
    search_seed: int
    other_seeds_used_to_choose: tuple[int, ...]
    families: tuple[Family, ...]
    raw: Mapping[str, Any]
    raw_families: Mapping[str, Any]

    def trials(self, family: Family) -> list[str]:
        """The family's tuning configurations (specs), trial 0 first."""
        return family.configurations(self.configurations, self.search_seed)

    def test_runs_for(self, tuning_runs: int) -> int:
        """The test runs that follow ``tuning_runs`` tuning runs (of whole conditions): per
        family and condition, one run per test seed for its configurations x tuning seeds."""
        return tuning_runs // (self.configurations * len(self.tuning_seeds)) * len(
            self.test_seeds)


def _number(value: Any) -> float | None:
    value = coerce_numbers(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _dimension(name: str, data: Any, where: str, errors: list[str]) -> Dimension | None:
    if not isinstance(data, Mapping) or len(data) != 1 or next(iter(data)) not in DIMENSION_KINDS:
        errors.append(f"{where}: must be one of {{log: [low, high]}}, {{uniform: [low, high]}}, "
                      f"{{int: [low, high]}}, {{choice: [a, b, ...]}}; got {data!r}")
        return None
    kind, items = next(iter(data.items()))
    if kind == "choice":
        if not isinstance(items, list) or not items:
            errors.append(f"{where}.choice: must be a non-empty list")
            return None
        options = tuple(coerce_numbers(o) for o in items)
        if len(set(map(repr, options))) != len(options):
            errors.append(f"{where}.choice: lists an option twice: {items!r}")
            return None
        return Dimension(name, kind, options=options)
    bounds = [_number(v) for v in items] if isinstance(items, list) else []
    if len(bounds) != 2 or None in bounds:
        errors.append(f"{where}.{kind}: must be [low, high] with finite numbers, got {items!r}")
        return None
    low, high = bounds[0] or 0.0, bounds[1] or 0.0
    if low >= high:
        errors.append(f"{where}.{kind}: {'empty' if low == high else 'inverted'} range "
                      f"{items!r}: low must be < high")
    elif kind == "log" and low <= 0:
        errors.append(f"{where}.log: a log range needs low > 0, got {items[0]!r}")
    elif kind == "int" and not (low.is_integer() and high.is_integer()):
        errors.append(f"{where}.int: needs integer bounds, got {items!r}")
    else:
        return Dimension(name, kind, low, high)
    return None


def parse_family(name: str, data: Any, where: str, errors: list[str]) -> Family | None:
    """One entry of ``families:``; problems are appended to ``errors`` with ``where``."""
    if not isinstance(data, Mapping):
        errors.append(f"{where}: must be a mapping {{lr: <template>, space: {{...}}}}")
        return None
    errors.extend(f"{where}.{k}: unknown key (allowed: {', '.join(FAMILY_KEYS)})"
                  for k in data if k not in FAMILY_KEYS)
    template, space, optimizer = data.get("lr"), data.get("space"), data.get("optimizer")
    if optimizer is not None and (not isinstance(optimizer, str) or not optimizer.strip()):
        errors.append(f"{where}.optimizer: an optimizer spec such as \"adam_rel()\", got "
                      f"{optimizer!r}")
        return None
    if not isinstance(template, str) or not template.strip():
        errors.append(f"{where}.lr: required, a spec template such as \"constant({{lr}})\"")
        return None
    if not isinstance(space, Mapping) or not space:
        errors.append(f"{where}.space: required, at least one dimension (every family is tuned "
                      "with the same budget; a policy with no knob still has its base LR)")
        return None
    dims = [_dimension(str(k), v, f"{where}.space.{k}", errors) for k, v in space.items()]
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as err:
        errors.append(f"{where}.lr: broken template {template!r}: {err}")
        return None
    slots = [slot for _, slot, _, _ in fields if slot is not None]
    if any(conversion for _, _, _, conversion in fields) or "" in slots:
        errors.append(f"{where}.lr: slots are plain names ({{lr}}, {{lr:.2e}}), got {template!r}")
        return None
    missing = [s for s in space if s not in slots]
    unknown = [s for s in dict.fromkeys(slots) if s not in space]
    if missing or unknown:
        errors.append(f"{where}.lr: the template's slots {sorted(set(slots))} must match its "
                      f"space's dimensions {sorted(map(str, space))}"
                      + (f" (no slot for {', '.join(map(str, missing))})" if missing else "")
                      + (f" (not in the space: {', '.join(unknown)})" if unknown else ""))
        return None
    if any(d is None for d in dims):
        return None
    return Family(name, template, tuple(d for d in dims if d is not None), optimizer)


def _seeds(data: Mapping[str, Any], key: str, required: bool, errors: list[str]) -> list[int]:
    value = data.get(key, None if required else [])
    if value is None or not isinstance(value, list) or (required and not value) or any(
            type(s) is not int or s < 0 for s in value):
        errors.append(f"protocol.{key}: {'required, ' if required else ''}a "
                      f"{'non-empty ' if required else ''}list of seeds (integers >= 0), "
                      f"got {value!r}")
        return []
    twice = sorted({s for s in value if value.count(s) > 1})
    if twice:
        errors.append(f"protocol.{key}: seed(s) {', '.join(map(str, twice))} listed twice")
    return list(value)


def _integer(data: Mapping[str, Any], key: str, default: int | None, low: int,
             errors: list[str]) -> int:
    value = data.get(key, default)
    if type(value) is not int or value < low:
        errors.append(f"protocol.{key}: {'required, ' if default is None else ''}an integer "
                      f">= {low}, got {value!r}")
        return low
    return value


def parse_protocol(protocol: Any, families: Any, errors: list[str]) -> Protocol | None:
    """The ``protocol:`` and ``families:`` sections, validated; every problem is appended to
    ``errors`` with its YAML path (None then)."""
    before = len(errors)
    settings = _settings(protocol, errors)
    if not isinstance(families, Mapping) or not families:
        errors.append("families: required next to a protocol: a mapping of policy families "
                      "{name: {lr: <template>, space: {...}}}")
        families = {}
    parsed = [parse_family(str(name), data, f"families.{name}", errors)
              for name, data in families.items()]
    if settings is None or len(errors) > before:
        return None
    result = Protocol(**settings, families=tuple(f for f in parsed if f is not None),
                      raw=dict(protocol), raw_families=dict(families))
    for family in result.families:
        specs = result.trials(family)
        repeated = sorted({s for s in specs if specs.count(s) > 1})
        if repeated:
            errors.append(f"families.{family.name}.space: the design repeats a configuration "
                          f"({', '.join(repeated)}): widen the space or lower "
                          "protocol.configurations (every trial must be a distinct run)")
    return None if len(errors) > before else result


def _settings(protocol: Any, errors: list[str]) -> dict[str, Any] | None:
    """The ``protocol:`` section's values, :class:`Protocol`'s fields (None: not a mapping)."""
    if not isinstance(protocol, Mapping):
        errors.append(f"protocol: {'required next to families: ' if protocol is None else ''}"
                      f"a mapping ({', '.join(PROTOCOL_KEYS)})")
        return None
    errors.extend(f"protocol.{k}: unknown key (allowed: {', '.join(PROTOCOL_KEYS)})"
                  for k in protocol if k not in PROTOCOL_KEYS)
    tuning = _seeds(protocol, "tuning_seeds", True, errors)
    test = _seeds(protocol, "test_seeds", True, errors)
    others = _seeds(protocol, "other_seeds_used_to_choose", False, errors)
    overlap = sorted(set(test) & (set(tuning) | set(others)))
    if overlap:
        used = [k for k, seeds in (("tuning_seeds", tuning), ("other_seeds_used_to_choose",
                                                              others)) if set(seeds) & set(test)]
        errors.append(f"protocol.test_seeds: seed(s) {', '.join(map(str, overlap))} also used "
                      f"to choose ({', '.join(used)}): test seeds must be disjoint from every "
                      "seed used to choose")
    configurations = _integer(protocol, "configurations", None, 1, errors)
    search_seed = _integer(protocol, "search_seed", 0, 0, errors)
    metric = protocol.get("select", schema.EVAL_AUC)
    if metric not in SELECT_METRICS:
        errors.append(f"protocol.select: one of {', '.join(SELECT_METRICS)}, got {metric!r}")
    return {"tuning_seeds": tuple(tuning), "test_seeds": tuple(test),
            "configurations": configurations, "select": str(metric), "search_seed": search_seed,
            "other_seeds_used_to_choose": tuple(others)}


# ------------------------------------------------------------------ selection


def condition_of(labels: Mapping[str, str]) -> Condition:
    """A run's condition: its labels but the policy, seed, phase and trial."""
    return tuple((k, v) for k, v in labels.items() if k not in NOT_CONDITION)


@dataclass(frozen=True)
class TuningScore:
    """A finished tuning run as the selection sees it: its labels, spec, budget and score."""

    labels: Mapping[str, str]
    spec: str
    steps: int
    score: float


@dataclass(frozen=True)
class Selected:
    """A family's chosen configuration in one condition, with what choosing it cost."""

    condition: Condition
    family: str
    trial: int
    spec: str
    score: float  # its mean tuning score over the tuning seeds
    steps: int  # env steps of every tuning run of the family in the condition
    configurations: int  # configurations tried


def select(runs: Sequence[TuningScore]) -> list[Selected]:
    """Per condition and family (in the order the runs give them), the configuration with
    the highest mean score over its runs; a NaN mean ranks last; ties: the lowest trial.

    >>> runs = [TuningScore({"env": "E", "lr": "c", "seed": "9", "trial": str(t)}, f"c({t})",
    ...                     100, s) for t, s in enumerate([1.0, 3.0, 3.0, math.nan])]
    >>> [(s.trial, s.spec, s.score, s.steps, s.configurations) for s in select(runs)]
    [(1, 'c(1)', 3.0, 400, 4)]
    """
    groups: dict[tuple[Condition, str], dict[int, list[TuningScore]]] = {}
    for run in runs:
        key = (condition_of(run.labels), run.labels[schema.LR])
        groups.setdefault(key, {}).setdefault(int(run.labels[schema.TRIAL]), []).append(run)
    chosen = []
    for (condition, family), trials in groups.items():
        means = {t: float(np.mean([r.score for r in rs])) for t, rs in sorted(trials.items())}
        ranked = [t for t in means if not math.isnan(means[t])] or list(means)
        best = max(ranked, key=lambda t: means[t])  # max keeps the first of equal means
        chosen.append(Selected(condition, family, best, trials[best][0].spec, means[best],
                               sum(r.steps for rs in trials.values() for r in rs), len(trials)))
    return chosen


def write_selection(path: Path, selected: Sequence[Selected], protocol: Protocol) -> None:
    """``selection.csv`` (atomically): per condition (its labels, one column each, as in
    ``summary.csv``) and family: the chosen trial and spec, its tuning score, the tuning cost
    in env steps, the configurations tried and the tuning seeds."""
    rows = [{**dict(s.condition), schema.FAMILY: s.family, schema.TRIAL: s.trial,
             schema.LR_SPEC: s.spec, schema.SELECT: protocol.select,
             schema.TUNING_SCORE: s.score, schema.TUNING_STEPS: s.steps,
             schema.CONFIGURATIONS: s.configurations,
             schema.TUNING_SEEDS: " ".join(map(str, protocol.tuning_seeds))} for s in selected]
    columns = list(dict.fromkeys(k for row in rows for k in row)) or [schema.FAMILY]
    write_csv(path, rows, columns)
