"""rl-baselines3-zoo hyper-parameter files: one entry of a zoo ``hyperparams/<algo>.yml``
read as rl-lr's run settings (``rl-lr train --hyperparams FILE.yml``).

A zoo file maps env ids (plus ``default`` and ``atari``) to the algorithm's constructor
arguments and a few keys of the zoo's own. :func:`load_zoo_entry` reads the entry of one env
(the ``default`` entry, with a warning, when the env has none) and translates it:

- ``n_timesteps`` -> :attr:`ZooEntry.n_timesteps` (the run's budget unless ``--steps``);
- ``n_envs`` -> :attr:`ZooEntry.n_envs`;
- ``learning_rate``: ``lin_1e-3`` -> ``linear(1e-3)``, a number -> ``constant(...)``
  (:attr:`ZooEntry.lr`; ``--lr`` replaces it);
- ``clip_range`` / ``clip_range_vf``: ``lin_0.2`` -> ``linear(0.2)``;
- ``normalize``: ``true`` / ``false``, or VecNormalize arguments written as a string
  (``"dict(norm_obs=True, norm_reward=False)"``, ``"{'norm_obs': False}"``);
- ``policy_kwargs`` written as a string (``"dict(log_std_init=-2, activation_fn=nn.ReLU,
  net_arch=dict(pi=[256], vf=[256]))"``): read by :func:`read_python_value`, which walks the
  expression's syntax tree and accepts only literals, ``dict(...)`` and torch activation
  classes (``nn.ReLU``, ``th.nn.Tanh``, ``torch.nn.GELU``) -- nothing is evaluated;
- ``noise_type`` / ``noise_std`` -> ``action_noise: {type, std}``;
- ``env_kwargs``, ``policy`` and every other key: passed on as hyper-parameters (checked
  against the algorithm's constructor like ``--set``).

Keys that need code rl-lr does not run -- ``env_wrapper``, ``vec_env_wrapper``,
``frame_stack``, ``callback``, ``monitor_kwargs``, ``replay_buffer_class`` (HER) and
``replay_buffer_kwargs``, ``normalize_kwargs`` and ``model_class`` -- are refused with one line
naming the key (rl-lr's env factory applies only its reward perturbations and
``VecNormalize``). Custom policy classes (a dotted ``policy``) and an ``optimizer_class`` are
refused too (set optimizers with ``--optimizer``).

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ppo.yml"
    >>> _ = path.write_text('''
    ... CartPole-v1:
    ...   n_envs: 8
    ...   n_timesteps: !!float 1e5
    ...   policy: 'MlpPolicy'
    ...   learning_rate: lin_0.001
    ...   clip_range: lin_0.2
    ...   policy_kwargs: "dict(net_arch=[64, 64], activation_fn=nn.ReLU)"
    ... ''')
    >>> entry = load_zoo_entry(path, "CartPole-v1", "ppo")
    >>> entry.n_timesteps, entry.n_envs, entry.lr
    (100000, 8, 'linear(0.001)')
    >>> entry.hyperparams["clip_range"], entry.hyperparams["policy_kwargs"]
    ('linear(0.2)', {'net_arch': [64, 64], 'activation_fn': 'relu'})
"""

from __future__ import annotations

import ast
import difflib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from torch import nn

from rl_lr.agents.compat import resolve_algo
from rl_lr.agents.hyperparams import ACTIVATIONS, check_keys, coerce_numbers
from rl_lr.errors import SpecError

__all__ = ["UNSUPPORTED_KEYS", "ZooEntry", "ZooWarning", "load_zoo_entry", "read_python_value",
           "zoo_schedule"]

#: Zoo keys rl-lr refuses, with what to do instead.
UNSUPPORTED_KEYS: dict[str, str] = {
    "env_wrapper": "rl-lr's env factory applies no Gymnasium wrappers; register an env id "
                   "that includes the wrapper",
    "vec_env_wrapper": "rl-lr's env factory applies no VecEnv wrappers but VecNormalize",
    "frame_stack": "rl-lr's env factory and clean evaluation do not stack frames",
    "callback": "rl-lr runs its own callbacks (evaluation, divergence, checkpoints)",
    "monitor_kwargs": "rl-lr's Monitor records every episode with its defaults",
    "normalize_kwargs": "write the VecNormalize arguments in 'normalize' instead",
    "replay_buffer_class": "rl-lr does not build HER / custom replay buffers",
    "replay_buffer_kwargs": "rl-lr does not build HER / custom replay buffers",
    "model_class": "goal-conditioned (HER) entries need a custom replay buffer",
}
_SCHEDULED = ("clip_range", "clip_range_vf")
_NOISE_TYPES = {"normal": "normal", "ornstein-uhlenbeck": "ornstein_uhlenbeck"}
_TORCH_PREFIXES = (("nn",), ("th", "nn"), ("torch", "nn"))


class ZooWarning(UserWarning):
    """A zoo file has no entry for the env: its ``default`` entry is used."""


@dataclass(frozen=True)
class ZooEntry:
    """One zoo entry, translated.

    Attributes:
        source: ``FILE ENTRY`` (where the values come from).
        n_timesteps: the zoo's budget for the env (``None`` if the entry has none).
        n_envs: training envs (``None``: the entry does not say).
        lr: the entry's learning rate as an rl-lr spec (``None``: SB3's default).
        hyperparams: everything else as rl-lr hyper-parameters (plain values: ``normalize``,
            ``policy``, ``env_kwargs``, constructor arguments).
    """

    source: str
    n_timesteps: int | None = None
    n_envs: int | None = None
    lr: str | None = None
    hyperparams: dict[str, Any] = field(default_factory=dict)


def zoo_schedule(value: Any, key: str) -> Any:
    """A zoo schedule value as rl-lr writes it: ``lin_X`` -> ``linear(X)``; numbers as they are.

    >>> zoo_schedule("lin_2.5e-4", "learning_rate"), zoo_schedule(0.2, "clip_range")
    ('linear(0.00025)', 0.2)

    Raises:
        SpecError: another string (the zoo knows only ``lin_``).
    """
    if isinstance(value, str):
        kind, _, number = value.strip().partition("_")
        try:
            start = float(number)
        except ValueError:
            start = None
        if kind != "lin" or start is None:
            raise SpecError(f"{key}: zoo schedule {value!r} is not 'lin_<number>'; write an "
                            "rl-lr spec with --lr / --set instead")
        return f"linear({start!r})"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{key}: expected a number or 'lin_<number>', got {value!r}")
    return value


def _torch_class(parts: list[str], text: str) -> str:
    """``nn.ReLU`` (as attribute parts) -> ``relu``, or ``torch.nn.<Name>`` for others."""
    *prefix, name = parts
    found = getattr(nn, name, None) if tuple(prefix) in _TORCH_PREFIXES else None
    if not (isinstance(found, type) and issubclass(found, nn.Module)):
        raise SpecError(f"{text!r}: {'.'.join(parts)} is not allowed; a zoo string may hold "
                        "numbers, strings, True/False/None, lists, dict(...) and torch.nn "
                        "classes (nn.ReLU)")
    short = {cls: key for key, cls in ACTIVATIONS.items()}
    return short.get(found, f"torch.nn.{name}")


def _attribute_parts(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        head = _attribute_parts(node.value)
        return None if head is None else [*head, node.attr]
    return None


def _read(node: ast.expr, text: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool,
                                                                  type(None))):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))
            and not isinstance(node.operand.value, bool)):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_read(item, text) for item in node.elts]
    if isinstance(node, ast.Dict):
        keys = [_read(k, text) if k is not None else None for k in node.keys]
        if not all(isinstance(k, str) for k in keys):
            raise SpecError(f"{text!r}: mapping keys must be strings")
        return {k: _read(v, text) for k, v in zip(keys, node.values, strict=True)}
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "dict" and not node.args
            and all(kw.arg is not None for kw in node.keywords)):
        return {str(kw.arg): _read(kw.value, text) for kw in node.keywords}
    parts = _attribute_parts(node)
    if parts is not None and len(parts) >= 2:
        return _torch_class(parts, text)
    shown = ast.get_source_segment(text, node) or type(node).__name__
    raise SpecError(f"{text!r}: {shown!r} is not allowed; a zoo string may hold numbers, "
                    "strings, True/False/None, lists, dict(...) and torch.nn classes (nn.ReLU)")


def read_python_value(text: str) -> Any:
    """A zoo value written as Python (``policy_kwargs``, ``normalize``) read as plain values,
    never evaluated: literals, lists, ``{...}``, ``dict(key=...)`` and ``torch.nn`` classes
    (``nn.ReLU`` -> ``relu``, ``nn.Softplus`` -> ``torch.nn.Softplus``).

    >>> read_python_value("dict(log_std_init=-2, net_arch=dict(pi=[256], vf=[256]))")
    {'log_std_init': -2, 'net_arch': {'pi': [256], 'vf': [256]}}
    >>> read_python_value("__import__('os').system('true')")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rl_lr.errors.SpecError: ... is not allowed; a zoo string may hold numbers, strings, ...

    Raises:
        SpecError: anything else (a function call, a name, an operator), or bad syntax.
    """
    cleaned = " ".join(text.split())
    try:
        tree = ast.parse(cleaned, mode="eval")
    except SyntaxError as err:
        raise SpecError(f"{cleaned!r}: not a Python literal ({err.msg})") from None
    return _read(tree.body, cleaned)


def _entry(data: Mapping[str, Any], env_id: str, path: Path,
           key: str | None) -> tuple[str, dict[str, Any]]:
    if key is not None:
        if key not in data:
            close = difflib.get_close_matches(key, list(data), n=3)
            hint = f"; closest: {', '.join(close)}" if close else ""
            raise SpecError(f"{path} has no entry {key!r}{hint}")
        return key, dict(data[key])
    if env_id in data:
        return env_id, dict(data[env_id])
    if "default" in data:
        close = difflib.get_close_matches(env_id, [k for k in data if k != "default"], n=2)
        hint = f" (closest: {', '.join(close)})" if close else ""
        warnings.warn(f"{path} has no entry for {env_id}{hint}; using its 'default' entry",
                      ZooWarning, stacklevel=3)
        return "default", dict(data["default"])
    close = difflib.get_close_matches(env_id, list(data), n=3)
    hint = f"; closest: {', '.join(close)}" if close else ""
    raise SpecError(f"{path} has no entry for {env_id} and no 'default' entry{hint}")


def _positive_int(value: Any, key: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 \
            or float(value) != int(value):
        raise SpecError(f"{where}: {key} must be a positive integer, got {value!r}")
    return int(value)


def _normalize(value: Any, where: str) -> Any:
    if isinstance(value, str):
        value = read_python_value(value)
    if isinstance(value, (bool, dict)) or value is None:
        return value
    raise SpecError(f"{where}: normalize must be true, false or VecNormalize arguments, "
                    f"got {value!r}")


def load_zoo_entry(path: Path, env_id: str, algo: str, entry: str | None = None) -> ZooEntry:
    """Read the entry of ``env_id`` in the zoo file ``path`` for ``algo`` (module docstring);
    ``entry`` names another entry to use (the zoo keys its MuJoCo entries to the v4 envs:
    ``entry="Hopper-v4"`` for ``Hopper-v5``).

    Raises:
        SpecError: no such file or entry, a key rl-lr cannot run, a bad value, or a key that
            is not a hyper-parameter of ``algo`` (with a "did you mean"); one line each.
    """
    info = resolve_algo(algo)
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise SpecError(f"--hyperparams {path}: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        raise SpecError(f"--hyperparams {path}: not YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, Mapping) or not all(isinstance(v, Mapping) for v in data.values()):
        raise SpecError(f"--hyperparams {path}: expected a zoo file, env ids mapping to "
                        "hyper-parameters")
    key, raw = _entry(data, env_id, path, entry)
    where = f"{path} {key}"
    raw = coerce_numbers(raw)
    for name, advice in UNSUPPORTED_KEYS.items():
        if name in raw:
            raise SpecError(f"{where}: zoo key {name!r} is not supported ({advice}); remove it")
    n_timesteps = raw.pop("n_timesteps", None)
    n_envs = raw.pop("n_envs", None)
    lr = raw.pop("learning_rate", None)
    hyperparams: dict[str, Any] = {}
    for name, value in raw.items():
        if name in _SCHEDULED:
            hyperparams[name] = zoo_schedule(value, f"{where}: {name}")
        elif name == "normalize":
            hyperparams[name] = _normalize(value, where)
        elif name == "policy_kwargs" and isinstance(value, str):
            hyperparams[name] = read_python_value(value)
        elif name == "policy" and isinstance(value, str) and "." in value:
            raise SpecError(f"{where}: custom policy class {value!r} is not supported; use an "
                            "SB3 policy name (MlpPolicy, ...)")
        elif name not in ("noise_type", "noise_std"):
            hyperparams[name] = value
    if raw.get("noise_type") is not None:
        kind = str(raw["noise_type"]).strip()
        if kind not in _NOISE_TYPES or "noise_std" not in raw:
            raise SpecError(f"{where}: noise_type must be one of {', '.join(_NOISE_TYPES)} "
                            f"with a noise_std, got {kind!r}")
        hyperparams["action_noise"] = {"type": _NOISE_TYPES[kind], "std": raw["noise_std"]}
    if "optimizer_class" in (hyperparams.get("policy_kwargs") or {}):
        raise SpecError(f"{where}: policy_kwargs.optimizer_class is not supported; choose the "
                        "optimizer with --optimizer")
    check_keys(info, [k for k in hyperparams if k != "policy"], where)
    return ZooEntry(
        source=where,
        n_timesteps=None if n_timesteps is None else _positive_int(n_timesteps, "n_timesteps",
                                                                    where),
        n_envs=None if n_envs is None else _positive_int(n_envs, "n_envs", where),
        lr=None if lr is None else (zoo_schedule(lr, f"{where}: learning_rate")
                                    if isinstance(lr, str) else f"constant({float(lr)!r})"),
        hyperparams=hyperparams,
    )
