"""Hyper-parameters: which keys an algorithm accepts, how overrides merge into a preset, and
how the plain (YAML) values become constructor arguments.

Plain values are what presets, ``--set`` and ``config.yaml`` hold: numbers, strings, lists,
mappings. A few keys take richer objects, written in plain form:

- ``clip_range`` / ``clip_range_vf``: a number or a schedule spec (``linear(0.2)``);
- ``policy_kwargs.activation_fn``: a name (``relu``, ``tanh``, ``elu``, ``leaky_relu``,
  ``gelu``, ``silu``) or an import path (``torch.nn.Softplus``);
- ``action_noise``: ``{type: normal | ornstein_uhlenbeck, std: 0.1}`` (per action dimension);
- ``train_freq``: ``4`` or ``[1, episode]``.

Example:
    >>> from rl_lr.agents.hyperparams import merge
    >>> merge({"policy_kwargs": {"net_arch": [64]}, "gamma": 0.9},
    ...       {"policy_kwargs.ortho_init": False, "gamma": 0.95})
    {'policy_kwargs': {'net_arch': [64], 'ortho_init': False}, 'gamma': 0.95}
"""

from __future__ import annotations

import copy
import difflib
import importlib
import inspect
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from torch import nn

from rl_lr.agents.algorithms import RESERVED_ARGUMENTS, AlgorithmInfo
from rl_lr.errors import SpecError
from rl_lr.schedules import POLICIES, LRPolicy

__all__ = [
    "ACTIVATIONS",
    "FACTORY_KEYS",
    "SCHEDULE_ARGUMENTS",
    "check_keys",
    "coerce_numbers",
    "merge",
    "plain",
    "to_constructor_kwargs",
]

#: Keys handled by rl-lr's factory rather than the algorithm's constructor.
FACTORY_KEYS = ("normalize", "env_kwargs")
#: Constructor arguments that accept a schedule (written as an rl-lr spec).
SCHEDULE_ARGUMENTS = ("clip_range", "clip_range_vf")
#: Activation names accepted in ``policy_kwargs.activation_fn``.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU, "silu": nn.SiLU,
}
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def coerce_numbers(value: Any) -> Any:
    """Read numbers that YAML 1.1 leaves as strings (``1e-3``) as numbers, recursively."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() else number
    if isinstance(value, Mapping):
        return {k: coerce_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [coerce_numbers(v) for v in value]
    return value


def check_keys(info: AlgorithmInfo, keys: list[str], where: str) -> None:
    """Refuse keys that are not hyper-parameters of ``info``'s algorithm.

    A key is a constructor argument, a factory key (``normalize``, ``env_kwargs``) or a dotted
    path into a mapping-valued one (``policy_kwargs.net_arch``).

    Raises:
        SpecError: unknown or reserved key (with a "did you mean").
    """
    accepted = [name for name in info.parameters() if name not in RESERVED_ARGUMENTS]
    accepted += list(FACTORY_KEYS)
    for key in keys:
        head = key.split(".", 1)[0]
        if head in RESERVED_ARGUMENTS:
            raise SpecError(
                f"{where}: {head!r} is set by rl-lr, not as a hyper-parameter; use "
                f"{RESERVED_ARGUMENTS[head]}"
            )
        if head not in accepted:
            close = difflib.get_close_matches(head, accepted, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SpecError(
                f"{where}: unknown hyper-parameter {head!r} for {info.class_name}{hint}"
            )


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``overrides``: a plain key replaces the value, a dotted key
    (``policy_kwargs.net_arch``) sets one entry of a mapping (created when absent)."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        *path, last = key.split(".")
        target = merged
        for i, part in enumerate(path):
            current = target.get(part)
            if not isinstance(current, dict):
                if current not in (None, True, False):
                    where = ".".join(path[: i + 1])
                    raise SpecError(f"cannot set {key!r}: {where} is {current!r}, not a mapping")
                current = {}
                target[part] = current
            target = current
        target[last] = copy.deepcopy(value)
    return merged


def _activation(name: str) -> type[nn.Module]:
    """An activation class from its short name or its import path (``torch.nn.Softplus``)."""
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    module, _, attribute = name.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), attribute) if module else None
    except ImportError:
        found = None
    if not (isinstance(found, type) and issubclass(found, nn.Module)):
        raise SpecError(f"policy_kwargs.activation_fn must be one of {', '.join(ACTIVATIONS)} "
                        f"or the import path of a torch module class, got {name!r}")
    return found


def _action_noise(value: Any, action_space: Any) -> Any:
    if value is None:
        return None
    kinds = {"normal": NormalActionNoise, "ornstein_uhlenbeck": OrnsteinUhlenbeckActionNoise}
    if not (isinstance(value, Mapping) and value.get("type") in kinds and "std" in value):
        raise SpecError(
            "action_noise must be {type: normal | ornstein_uhlenbeck, std: SIGMA}, "
            f"got {value!r}"
        )
    dim = int(np.prod(action_space.shape))
    extra = {k: float(v) for k, v in value.items() if k not in ("type", "std")}
    return kinds[value["type"]](
        mean=np.zeros(dim), sigma=float(value["std"]) * np.ones(dim), **extra
    )


def to_constructor_kwargs(hyperparams: Mapping[str, Any], action_space: Any) -> dict[str, Any]:
    """Turn plain hyper-parameters into the algorithm's constructor arguments."""
    kwargs = copy.deepcopy(dict(hyperparams))
    for name in SCHEDULE_ARGUMENTS:
        if isinstance(kwargs.get(name), str):
            kwargs[name] = POLICIES.parse(kwargs[name])
    policy_kwargs = kwargs.get("policy_kwargs")
    if isinstance(policy_kwargs, Mapping):
        policy_kwargs = dict(policy_kwargs)
        activation = policy_kwargs.get("activation_fn")
        if isinstance(activation, str):
            policy_kwargs["activation_fn"] = _activation(activation)
        if "optimizer_class" in policy_kwargs:
            raise SpecError("set optimizers with optimizer= / --optimizer, not policy_kwargs")
        kwargs["policy_kwargs"] = policy_kwargs
    if "action_noise" in kwargs:
        kwargs["action_noise"] = _action_noise(kwargs["action_noise"], action_space)
    if isinstance(kwargs.get("train_freq"), list):
        kwargs["train_freq"] = tuple(kwargs["train_freq"])
    return kwargs


def plain(value: Any) -> Any:
    """A YAML-safe rendering of a hyper-parameter value (specs as their spec strings)."""
    if isinstance(value, LRPolicy):
        return repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, type):
        names = {cls: name for name, cls in ACTIVATIONS.items()}
        return names.get(value, f"{value.__module__}.{value.__qualname__}")
    if isinstance(value, np.generic):
        return value.item()
    if value is inspect.Parameter.empty:
        return None
    return repr(value)
