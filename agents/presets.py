"""Tuned presets: one YAML file per algorithm in ``agents/presets/``, keyed by env id.

Each entry says where its numbers come from (``source``) and may set ``n_timesteps`` (the
recommended budget), ``n_envs``, ``normalize`` (VecNormalize), ``policy``, ``lr`` (an rl-lr
spec, or one per network), ``env_kwargs`` and ``hyperparams`` (constructor arguments). Values
come from rl-baselines3-zoo where it has them (the zoo keys its MuJoCo presets to v4; the v5
entries reuse them and say so), measured values for rl-lr's own envs.

A missing entry falls back to SB3's defaults with a one-line :class:`PresetWarning`;
``preset="sb3"`` asks for SB3's defaults without a warning.

Example:
    >>> from rl_lr.agents.presets import load_preset
    >>> preset = load_preset("ppo", "CartPole-v1")
    >>> preset.lr, preset.n_envs, preset.hyperparams["n_steps"]
    ({'default': linear(0.001)}, 8, 32)
    >>> preset.source.startswith("zoo hyperparams/ppo.yml")
    True
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from stable_baselines3.common.vec_env import VecNormalize

from rl_lr.agents.compat import resolve_algo
from rl_lr.agents.hyperparams import check_keys, coerce_numbers
from rl_lr.errors import SpecError
from rl_lr.schedules import LRPolicy, parse_policies

__all__ = [
    "PRESET_DIR",
    "PRESET_NAMES",
    "Preset",
    "PresetWarning",
    "load_preset",
    "normalize_arguments",
    "preset_entries",
    "read_lr",
    "validate_entry",
]

#: Where the preset files live (installed as package data of ``rl_lr.agents``).
PRESET_DIR = Path(__file__).parent / "presets"
#: ``default``: the tuned entry, else SB3's defaults with a warning; ``sb3``: SB3's defaults.
PRESET_NAMES = ("default", "sb3")
_ENTRY_KEYS = ("source", "n_timesteps", "n_envs", "normalize", "policy", "lr", "env_kwargs",
               "hyperparams")


class PresetWarning(UserWarning):
    """No tuned preset for an (algorithm, env) pair: SB3's defaults are used."""


@dataclass(frozen=True)
class Preset:
    """One resolved preset.

    Attributes:
        algo: algorithm name.
        env_id: env id.
        found: False when no entry exists (SB3's defaults are used).
        source: where the values come from.
        n_timesteps: recommended budget, if the source gives one.
        n_envs: training envs (1 unless the entry says).
        normalize: ``None`` (no VecNormalize), else its keyword arguments (``{}``: defaults).
        policy: SB3 policy name (``None``: chosen from the observation space).
        lr: the LR policy per network, read from the entry's spec (``{"default": policy}``
            for every network); ``None``: SB3's default for the algorithm.
        env_kwargs: keyword arguments for ``gymnasium.make``.
        hyperparams: constructor arguments (plain values).
    """

    algo: str
    env_id: str
    found: bool
    source: str
    n_timesteps: int | None = None
    n_envs: int = 1
    normalize: dict[str, Any] | None = None
    policy: str | None = None
    lr: dict[str, LRPolicy] | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)


@functools.cache
def _read(algo: str) -> dict[str, Any]:
    path = PRESET_DIR / f"{algo}.yaml"
    if not path.exists():
        return {}
    with path.open() as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, dict):
        raise SpecError(f"{path}: must map env ids to preset entries")
    return {str(k): coerce_numbers(v) for k, v in data.items()}


def preset_entries(algo: str) -> dict[str, dict[str, Any]]:
    """The raw entries of ``algo``'s preset file, by env id (empty if there is no file)."""
    return {k: dict(v) for k, v in _read(resolve_algo(algo).name).items()}


def _check_normalize(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool):
        return
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: normalize must be true, false or a mapping, got {value!r}")
    accepted = set(inspect.signature(VecNormalize.__init__).parameters) - {"self", "venv"}
    unknown = sorted(set(value) - accepted)
    if unknown:
        raise SpecError(
            f"{where}: unknown VecNormalize argument(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(accepted))}"
        )


def validate_entry(
    algo: str, env_id: str, entry: Mapping[str, Any]
) -> dict[str, LRPolicy] | None:
    """Check one preset entry: known keys, a source, parseable LR specs, hyper-parameters
    that are real constructor arguments of the algorithm.

    Returns:
        The entry's LR policies, read while checking them (``None``: the entry sets no LR).

    Raises:
        SpecError: naming the file, the env id and what is wrong.
    """
    info = resolve_algo(algo)
    where = f"presets/{info.name}.yaml {env_id}"
    unknown = sorted(set(entry) - set(_ENTRY_KEYS))
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                        f"allowed: {', '.join(_ENTRY_KEYS)}")
    if not isinstance(entry.get("source"), str) or not entry["source"].strip():
        raise SpecError(f"{where}: every entry needs a 'source' saying where its values come from")
    for key in ("n_timesteps", "n_envs"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, int) or value <= 0):
            raise SpecError(f"{where}: {key} must be a positive integer, got {value!r}")
    _check_normalize(entry.get("normalize", False), where)
    lr = None if entry.get("lr") is None else parse_policies(entry["lr"])
    hyperparams = entry.get("hyperparams") or {}
    if not isinstance(hyperparams, Mapping):
        raise SpecError(f"{where}: hyperparams must be a mapping")
    check_keys(info, list(hyperparams), where)
    if any(key in hyperparams for key in ("normalize", "env_kwargs")):
        raise SpecError(f"{where}: normalize and env_kwargs go at the entry's top level")
    return lr


@functools.cache
def _checked_entry_lr(algo: str, env_id: str) -> dict[str, LRPolicy] | None:
    """:func:`validate_entry` of an entry of the (cached) preset files: once per entry."""
    return validate_entry(algo, env_id, _read(algo)[env_id])


def load_preset(algo: str, env_id: str, name: str = "default") -> Preset:
    """The preset for ``algo`` on ``env_id``.

    Args:
        algo: algorithm name (``ppo``, ``sac``, ...).
        env_id: Gymnasium id.
        name: ``default`` (the tuned entry, else SB3's defaults with a :class:`PresetWarning`)
            or ``sb3`` (SB3's defaults, no warning).

    Raises:
        SpecError: unknown algorithm or preset name, or an invalid entry.
    """
    info = resolve_algo(algo)
    if name not in PRESET_NAMES:
        raise SpecError(f"unknown preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")
    entry = _read(info.name).get(env_id) if name == "default" else None
    if entry is None:
        if name == "default":
            warnings.warn(
                f"no {info.name} preset for {env_id} in presets/{info.name}.yaml; "
                f"using SB3's defaults",
                PresetWarning,
                stacklevel=2,
            )
        return Preset(info.name, env_id, False, f"SB3 {info.class_name} defaults")
    lr = _checked_entry_lr(info.name, env_id)
    normalize = entry.get("normalize", False)
    return Preset(
        algo=info.name,
        env_id=env_id,
        found=True,
        source=entry["source"],
        n_timesteps=entry.get("n_timesteps"),
        n_envs=entry.get("n_envs", 1),
        normalize=normalize_arguments(normalize),
        policy=entry.get("policy"),
        lr=None if lr is None else dict(lr),
        env_kwargs=dict(entry.get("env_kwargs") or {}),
        hyperparams=dict(entry.get("hyperparams") or {}),
    )


def read_lr(spec: Any) -> dict[str, LRPolicy] | None:
    """An ``lr`` argument: ``None`` or ``"preset"`` (the preset's LR, returned as ``None``), or
    an LR spec or one per network, read by :func:`rl_lr.schedules.parse_policies`.

    >>> read_lr("preset") is None, read_lr("cosine(1e-3)")
    (True, {'default': cosine(0.001)})
    """
    if spec is None or (isinstance(spec, str) and spec == "preset"):
        return None
    return parse_policies(spec)


def normalize_arguments(value: Any) -> dict[str, Any] | None:
    """``normalize`` as written (true / false / none / a mapping) -> VecNormalize arguments
    (``None``: no normalisation)."""
    if isinstance(value, Mapping):
        return dict(value)
    return {} if value else None
