"""LR specs as the experience sees them: a spec's policy family and base LR (the index's
``policy`` and ``base_lr`` columns), a spec rescaled to another base LR, and the
:mod:`rl_lr.tuning.space` entry around a spec (what ``rl-lr suggest`` proposes).

    >>> policy_family("plateau(1e-3)"), base_lr("cyclic(1e-3, 1e-2, cycles=4)")
    ('plateau', 0.01)
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

from rl_lr.controllers import Controller
from rl_lr.errors import SpecError
from rl_lr.schedules import POLICIES, LRPolicy

__all__ = ["base_lr", "parse_policy", "policy_family", "rescale", "round_lr", "space_entry"]

_LR_FIELDS = ("lr", "low", "high", "end")  # the arguments of a policy that are LRs


def round_lr(x: float) -> float:
    """An LR to 3 significant digits: ``round_lr(0.0031623) == 0.00316``."""
    return float(f"{x:.3g}")


def policy_family(spec: str | None) -> str | None:
    """The policy name of an LR spec: ``cosine`` for ``cosine(3e-3, warmup=0.05)``.

    >>> policy_family("cosine(3e-3, warmup=0.05)"), policy_family(None)
    ('cosine', None)
    """
    if not spec:
        return None
    return spec.split("(", 1)[0].strip() or None


def _peak(policy: LRPolicy) -> float:
    while isinstance(policy, Controller):  # a controller starts from its base policy
        policy = policy.base
    return max(float(policy.value(x)) for x in np.linspace(0.0, 1.0, 1001))


@functools.lru_cache(maxsize=4096)
def base_lr(spec: str | None) -> float | None:
    """The peak scheduled LR of an LR spec (a controller: its base policy's), ``None`` when
    the spec does not parse here (a plugin's policy, per-network LRs).

    >>> base_lr("cosine(3e-3, warmup=0.05)"), base_lr("plateau(1e-3)"), base_lr("nope(1)")
    (0.003, 0.001, None)
    """
    if not spec:
        return None
    try:
        policy = POLICIES.parse(spec)
        assert isinstance(policy, LRPolicy)
        return float(f"{_peak(policy):.4g}")
    except (SpecError, TypeError, ValueError, AssertionError):
        return None




def parse_policy(spec: str) -> LRPolicy | None:
    """The policy of a spec, ``None`` if it does not parse here."""
    try:
        policy = POLICIES.parse(spec)
    except (ValueError, TypeError):
        return None
    return policy if isinstance(policy, LRPolicy) else None


def rescale(spec: str, lr: float) -> str:
    """The spec with its LR arguments (``lr``, ``low``, ``high``, ``end``, a controller's
    base's) scaled so that its base LR is ``lr`` (the spec itself if it cannot be).

    >>> rescale("cyclic(1e-3, 1e-2, cycles=4)", 3e-3)
    'cyclic(0.0003, 0.003, cycles=4)'
    """
    policy, old = parse_policy(spec), base_lr(spec)
    if policy is None or not old:
        return spec
    factor = lr / old

    def scaled(p: LRPolicy) -> LRPolicy:
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(p):
            value = getattr(p, f.name)
            if f.name in _LR_FIELDS and isinstance(value, float | int) and value > 0:
                changes[f.name] = round_lr(value * factor)
            elif isinstance(value, LRPolicy):
                changes[f.name] = scaled(value)
        return dataclasses.replace(p, **changes)

    try:
        return repr(scaled(policy))
    except (ValueError, TypeError):
        return spec


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, LRPolicy):
        return repr(value)
    return value


def space_entry(spec: str, low: float, high: float) -> tuple[str, dict[str, Any]] | None:
    """A search-space entry ``(policy, {argument: value or range})`` (the format of
    :mod:`rl_lr.tuning.space`) around a spec: its LR arguments as log ranges over ``[low,
    high]`` (``low`` of a cyclic policy at its ratio to ``high``; a controller's base likewise),
    the other arguments fixed where they differ from their defaults.

    >>> space_entry("cosine(3e-3, warmup=0.05)", 1e-3, 1e-2)
    ('cosine', {'lr': [0.001, 0.01, 'log'], 'warmup': 0.05})
    """
    policy = parse_policy(spec)
    if policy is None:
        return None
    return _entry(policy, low, high)


def _entry(policy: LRPolicy, low: float, high: float) -> tuple[str, dict[str, Any]]:
    name = policy_family(repr(policy)) or ""
    fields = sorted(dataclasses.fields(policy), key=lambda f: bool(f.kw_only))  # own first
    values = {f.name: getattr(policy, f.name) for f in fields if f.init}
    defaults = {f.name: f.default for f in dataclasses.fields(policy)
                if f.init and f.default is not dataclasses.MISSING}
    arguments: dict[str, Any] = {}
    for arg, value in values.items():
        if isinstance(value, LRPolicy):
            sub, entry = _entry(value, low, high)
            arguments[arg] = {sub: entry}
        elif arg in ("lr", "high") and isinstance(value, float | int):
            arguments[arg] = [round_lr(low), round_lr(high), "log"]
        elif arg == "low" and isinstance(values.get("high"), float | int) and value > 0:
            ratio = float(values["high"]) / float(value)
            arguments[arg] = [round_lr(low / ratio), round_lr(high / ratio), "log"]
        elif arg not in defaults or defaults[arg] != value:
            arguments[arg] = _plain(value)
    return name, arguments
