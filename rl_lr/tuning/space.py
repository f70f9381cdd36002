# Over 400 lines: the space format, its checks and its Optuna parameters are one unit.
"""The search space of ``rl-lr tune``: LR policies and the ranges, choices and fixed values of
their arguments, validated by :func:`parse_space` (a mapping) and :func:`load_space` (a YAML
file); :func:`rl_lr.tuning.study.run_study` samples each trial's policy from it.

The search space is a YAML file (or the same mapping in Python)::

    policies:                          # one or more LR policies (rl-lr list), each with its space
      constant:
        lr: [1e-5, 1e-2, log]          # log-uniform float
      cosine:
        lr: [1e-5, 1e-2, log]
        end: [0, 1e-5]                 # uniform float
        warmup: 0.05                   # a fixed value
      cyclic:
        low: [1e-5, 1e-4, log]
        high: [1e-4, 1e-2, log]
        cycles: [1, 8]                 # an integer argument: an integer range
        mode: {choice: [triangular, triangular2]}   # categorical
      plateau:
        base: {constant: {lr: [1e-4, 1e-2, log]}}   # a nested policy with its own space
        factor: [0.1, 0.9]
        patience: [2, 20, int]

Each argument of a policy (a field of its class, common ones such as ``warmup``, ``min_lr``
included) is one of:

- a fixed value: a number, a string, a list for list arguments, a spec string (read once,
  when the space is loaded);
- a range ``[low, high]`` with optional flags ``log`` (log-uniform, needs ``low > 0``) and
  ``int`` (integers; implied for integer arguments); only numeric arguments take ranges, and
  ``low < high`` (an equal pair is an empty range: write the value itself);
- ``{choice: [a, b, ...]}``: categorical;
- for policy arguments (``base`` of a controller): a mapping ``{policy: {its space}}``, one
  entry (fixed nested policy) or several (a categorical over them).

Arguments not mentioned keep their defaults; required ones must be given. The whole space is
checked before the study is created or opened: unknown policy and argument names, inverted or
empty ranges, log ranges reaching 0, and each policy built once with every range at its middle
(geometric middle for log ranges). A sampled combination that its class refuses (a cyclic
``low`` above its ``high``) fails that trial, with the reason in ``trials.csv``.

Optuna parameter names: ``policy`` (the categorical over policies), ``<policy>.<argument>``,
and for nested policies ``<policy>.<argument>`` (the categorical) and
``<policy>.<argument>.<nested>.<its argument>``. A trial's policy is built as an object and its
``repr`` -- a spec every rl-lr command accepts -- is stored with the trial.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rl_lr.agents.hyperparams import coerce_numbers
from rl_lr.files import read_yaml
from rl_lr.schedules import POLICIES, LRPolicy
from rl_lr.spec import SpecError, render_value

__all__ = ["Choice", "Fixed", "PolicyChoice", "PolicySpace", "Range", "SearchSpace", "load_space",
           "parse_space"]

_FLAGS = ("log", "int")


@dataclass(frozen=True)
class Range:
    """A numeric range: uniform, log-uniform (``log``) and/or integer (``integer``)."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def suggest(self, trial: Any, name: str) -> float | int:
        if self.integer:
            return int(trial.suggest_int(name, int(self.low), int(self.high), log=self.log))
        return float(trial.suggest_float(name, self.low, self.high, log=self.log))

    def middle(self) -> float | int:
        mid = math.sqrt(self.low * self.high) if self.log else (self.low + self.high) / 2
        return round(mid) if self.integer else mid


def _label(value: Any) -> Any:
    """An Optuna categorical choice: the value itself if Optuna stores it, else its spec text."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else \
        render_value(value)


@dataclass(frozen=True)
class Choice:
    """A categorical argument: its ``options`` (a policy argument's specs read already) and
    the ``labels`` Optuna stores for them: the options as written (default: the options)."""

    options: tuple[Any, ...]
    labels: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if not self.labels:
            object.__setattr__(self, "labels", tuple(_label(o) for o in self.options))

    def suggest(self, trial: Any, name: str) -> Any:
        labels = list(self.labels)
        return self.options[labels.index(trial.suggest_categorical(name, labels))]

    def middle(self) -> Any:
        return self.options[0]


@dataclass(frozen=True)
class Fixed:
    """An argument that is not searched."""

    value: Any

    def suggest(self, trial: Any, name: str) -> Any:
        return self.value

    def middle(self) -> Any:
        return self.value


@dataclass(frozen=True)
class PolicySpace:
    """One policy and the space of its arguments."""

    name: str
    arguments: Mapping[str, Any]  # argument -> Range | Choice | Fixed | PolicyChoice

    def build(self, values: Mapping[str, Any]) -> LRPolicy:
        policy = POLICIES.get(self.name)(**values)
        assert isinstance(policy, LRPolicy)
        return policy

    def sample(self, trial: Any, prefix: str) -> LRPolicy:
        return self.build({arg: dim.suggest(trial, f"{prefix}{arg}")
                           for arg, dim in self.arguments.items()})

    def middle(self) -> LRPolicy:
        return self.build({arg: dim.middle() for arg, dim in self.arguments.items()})

    def check(self) -> None:
        """Build the policy at its middle, and with each other choice / nested policy."""
        middles = {arg: dim.middle() for arg, dim in self.arguments.items()}
        self.build(middles)
        for arg, dim in self.arguments.items():
            if isinstance(dim, PolicyChoice):
                for option in dim.options.values():
                    option.check()
                    self.build(middles | {arg: option.middle()})
            elif isinstance(dim, Choice):
                for value in dim.options[1:]:
                    self.build(middles | {arg: value})


@dataclass(frozen=True)
class PolicyChoice:
    """A categorical over policies, each with its own space (the top level, or ``base``)."""

    options: Mapping[str, PolicySpace]

    def suggest(self, trial: Any, name: str) -> LRPolicy:
        names = list(self.options)
        key = names[0] if len(names) == 1 else trial.suggest_categorical(name or "policy", names)
        return self.options[key].sample(trial, f"{name}.{key}." if name else f"{key}.")

    def middle(self) -> LRPolicy:
        return next(iter(self.options.values())).middle()


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space (see the module docstring); ``raw`` is the mapping it was
    read from, ``source`` where from."""

    root: PolicyChoice
    raw: Mapping[str, Any]
    source: str = "<space>"

    def sample(self, trial: Any) -> LRPolicy:
        """The trial's policy (raises :class:`SpecError` if its class refuses the values)."""
        return self.root.suggest(trial, "")

    @property
    def policies(self) -> list[str]:
        return list(self.root.options)

    def params_for(self, policy: LRPolicy) -> dict[str, Any] | None:
        """The Optuna parameters under which this space samples ``policy`` (ranges clipped
        to their bounds, fixed arguments as the space has them): what
        ``study.enqueue_trial`` needs to try it first; ``None`` if the space cannot express it
        (another policy, a choice it does not list).

        >>> space = parse_space({"policies": {"cosine": {"lr": [1e-4, 1e-2, "log"]},
        ...                                   "constant": {"lr": [1e-4, 1e-2, "log"]}}})
        >>> space.params_for(POLICIES.parse("cosine(3e-3, warmup=0.05)"))
        {'policy': 'cosine', 'cosine.lr': 0.003}
        """
        return _params_for(self.root, policy, "")


def _params_for(choice: PolicyChoice, policy: Any, name: str) -> dict[str, Any] | None:
    key = repr(policy).split("(", 1)[0]
    if not isinstance(policy, LRPolicy) or key not in choice.options:
        return None
    params: dict[str, Any] = {} if len(choice.options) == 1 else {name or "policy": key}
    prefix = f"{name}.{key}." if name else f"{key}."
    for arg, dim in choice.options[key].arguments.items():
        value = getattr(policy, arg, None)
        if isinstance(dim, Range) and isinstance(value, (int, float)):
            clipped = min(max(float(value), dim.low), dim.high)
            params[prefix + arg] = round(clipped) if dim.integer else clipped
        elif isinstance(dim, Choice):
            if _label(value) not in dim.labels:
                return None
            params[prefix + arg] = _label(value)
        elif isinstance(dim, PolicyChoice):
            nested = _params_for(dim, value, prefix + arg)
            if nested is None:
                return None
            params |= nested
        elif not isinstance(dim, Fixed):
            return None
    return params


class SpaceError(SpecError):
    """Everything wrong with a search space, on one line."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{source}: " + "; ".join(errors))


def _kind(hint: Any) -> str:
    """``policy``, ``int``, ``float``, ``list`` or ``other`` for a field's type hint."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        kinds = {_kind(a) for a in typing.get_args(hint) if a is not type(None)}
        return next((k for k in ("policy", "float", "int", "list") if k in kinds), "other")
    if typing.get_origin(hint) is tuple:
        return "list"
    if isinstance(hint, type) and issubclass(hint, LRPolicy):
        return "policy"
    return {int: "int", float: "float"}.get(hint, "other")


def _number(value: Any) -> float | None:
    value = coerce_numbers(value)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _range(items: list[Any], kind: str, where: str, errors: list[str]) -> Range | None:
    if len(items) < 2:
        errors.append(f"{where}: empty range {items!r}: give [low, high] (flags: log, int)")
        return None
    flags = [str(f) for f in items[2:]]
    bad = [f for f in flags if f not in _FLAGS]
    if bad or len(set(flags)) != len(flags):
        errors.append(f"{where}: range flags must be among {', '.join(_FLAGS)} (each once), "
                      f"got {items[2:]!r}")
        return None
    low, high = _number(items[0]), _number(items[1])
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        errors.append(f"{where}: range bounds must be finite numbers, got {items[:2]!r}")
        return None
    if low >= high:
        what = "empty range" if low == high else "inverted range"
        errors.append(f"{where}: {what} [{items[0]}, {items[1]}]: low must be < high"
                      + (" (for a fixed value write the value itself)" if low == high else ""))
        return None
    log, integer = "log" in flags, "int" in flags or kind == "int"
    if log and low <= 0:
        errors.append(f"{where}: a log range needs low > 0, got {items[0]}")
        return None
    if integer and not (low.is_integer() and high.is_integer()):
        errors.append(f"{where}: an integer range needs integer bounds, got {items[:2]!r}")
        return None
    return Range(low, high, log, integer)


def _policy(value: Any, where: str, errors: list[str]) -> LRPolicy | None:
    """A policy argument's spec, read once (the space's edge); ``None`` after an error."""
    try:
        policy: LRPolicy = POLICIES.parse(value)
    except SpecError as err:
        errors.append(f"{where}: {err}")
        return None
    return policy


def _dimension(value: Any, hint: Any, where: str, errors: list[str]) -> Any:
    kind = _kind(hint)
    if isinstance(value, Mapping):
        if set(value) == {"choice"}:
            options = value["choice"]
            if not isinstance(options, list) or not options:
                errors.append(f"{where}: choice must be a non-empty list")
                return None
            options = [coerce_numbers(o) for o in options]
            labels = [_label(o) for o in options]
            if len(set(map(repr, labels))) != len(labels):
                errors.append(f"{where}: choice lists an option twice: {options!r}")
                return None
            if kind == "policy":
                options = [_policy(o, f"{where}.choice[{i}]", errors)
                           for i, o in enumerate(options)]
                if None in options:
                    return None
            return Choice(tuple(options), tuple(labels))
        if kind == "policy":
            return _policy_choice(value, where, errors)
        errors.append(f"{where}: a mapping must be {{choice: [...]}}"
                      + (" or {policy: {its space}}" if kind == "policy" else ""))
        return None
    if isinstance(value, list) and kind != "list":
        if kind in ("int", "float"):
            return _range(value, kind, where, errors)
        errors.append(f"{where}: a list is a range, which only numeric arguments take; "
                      "give options as {choice: [...]}")
        return None
    if kind == "policy" and value is not None:
        policy = _policy(coerce_numbers(value), where, errors)
        return None if policy is None else Fixed(policy)
    return Fixed(coerce_numbers(value))


def _policy_space(name: str, data: Any, where: str, errors: list[str]) -> PolicySpace | None:
    try:
        cls = POLICIES.get(str(name))
    except SpecError as err:
        errors.append(f"{where}: {err}")
        return None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        errors.append(f"{where}: must map {name}'s arguments to values, ranges or choices, "
                      f"got {data!r}")
        return None
    fields = {f.name: f for f in sorted((f for f in dataclasses.fields(cls) if f.init),
                                        key=lambda f: bool(f.kw_only))}  # own ones first
    hints = typing.get_type_hints(cls)
    arguments: dict[str, Any] = {}
    for arg, value in data.items():
        if arg not in fields:
            errors.append(f"{where}.{arg}: unknown argument of {name} "
                          f"(arguments: {', '.join(fields)})")
            continue
        dim = _dimension(value, hints[arg], f"{where}.{arg}", errors)
        if dim is not None:
            arguments[str(arg)] = dim
    missing = [n for n, f in fields.items() if n not in data and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    errors.extend(f"{where}.{n}: required argument of {name} (a value, range or choice)"
                  for n in missing)
    return PolicySpace(str(name), arguments)


def _policy_choice(data: Any, where: str, errors: list[str]) -> PolicyChoice | None:
    if not isinstance(data, Mapping) or not data:
        errors.append(f"{where}: must map one or more LR policy names to their spaces")
        return None
    options = {}
    for name, sub in data.items():
        space = _policy_space(name, sub, f"{where}.{name}", errors)
        if space is not None:
            options[str(name)] = space
    return PolicyChoice(options)


def parse_space(data: Any, source: str = "<space>") -> SearchSpace:
    """Validate a search-space mapping (see the module docstring).

    Raises:
        SpecError: every problem found, on one line, each with its path in the space.

    Example:
        >>> space = parse_space({"policies": {"cosine": {"lr": [1e-4, 1e-2, "log"]}}})
        >>> space.root.middle()
        cosine(0.001)
    """
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise SpaceError(source, [f"top level must be a mapping with 'policies', got "
                                  f"{type(data).__name__}"])
    errors += [f"{k}: unknown key (allowed: policies)" for k in data if k != "policies"]
    root = _policy_choice(data.get("policies"), "policies", errors)
    if root is not None and not errors:
        for name, space in root.options.items():
            try:
                space.check()
            except SpecError as err:
                errors.append(f"policies.{name}: {err} (built with each range at its middle)")
    if errors or root is None:
        raise SpaceError(source, errors)
    return SearchSpace(root, json.loads(json.dumps(dict(data), default=str)), source)


def load_space(path: Path | str) -> SearchSpace:
    """Read and validate a search-space YAML file (:class:`SpecError` on any problem)."""
    path = Path(path)
    return parse_space(read_yaml(path, "search space"), str(path))
