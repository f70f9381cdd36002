"""What a run is asked to do (:class:`TrainConfig`, ``config.yaml``'s ``run`` section) and its
resolution into an agent (every hyper-parameter the presets and overrides give).

A spec is read once, where it enters (``rl-lr train --lr``, an experiment file, ``config.yaml``
on ``--resume``, a Python caller): :class:`TrainConfig` carries the objects -- the LR policy
per network, the perturbation chain, the optimizer specs -- and keeps each spec as it was
written (:class:`Spelled`), which :meth:`TrainConfig.to_dict` renders: ``config.yaml`` and the
run id keep the user's spelling (``constant(3e-3)``, not ``constant(0.003)``).

    >>> config = TrainConfig(env="CartPole-v1", algo="ppo", steps=1000, lr="constant(3e-3)")
    >>> config.lr
    {'default': constant(0.003)}
    >>> config.to_dict()["lr"]
    'constant(3e-3)'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rl_lr.agents import AgentSpec, resolve
from rl_lr.agents.hyperparams import plain
from rl_lr.agents.presets import read_lr
from rl_lr.envs import Perturbation, parse_perturbations
from rl_lr.errors import SpecError
from rl_lr.optimizers import OptimizerSpec, parse_optimizers
from rl_lr.schedules import LRPolicy

__all__ = ["SPEC_FIELDS", "Spelled", "TrainConfig", "read_spec", "resolve_agent",
           "resolve_document"]


#: How each spec argument of a run is read: ``lr`` -> ``{network: LRPolicy}`` or ``None`` (the
#: preset's), ``perturb`` -> the perturbation chain (a tuple, empty for none), ``optimizer``
#: -> an optimizer spec, one per network, or ``None`` (the algorithm's own).
SPEC_FIELDS: dict[str, Callable[[Any], Any]] = {
    "lr": read_lr, "perturb": parse_perturbations, "optimizer": parse_optimizers}


@dataclass(frozen=True)
class Spelled:
    """A spec read at an edge: ``written`` as it was written (text, a number, a mapping, a
    list: what ``config.yaml`` and the run id keep) and ``value``, the object(s) read from it.

    Example:
        >>> read_spec("perturb", "[gaussian(std=1.0), delay(5)]")
        Spelled(written='[gaussian(std=1.0), delay(5)]', value=(gaussian(1.0), delay(5)))
    """

    written: Any
    value: Any


def read_spec(name: str, written: Any) -> Spelled:
    """Read the spec argument ``name`` (``lr``, ``perturb`` or ``optimizer``) of a run as
    written: text is parsed, objects pass through.

    Raises:
        SpecError: a bad spec (one line).
    """
    return Spelled(written, SPEC_FIELDS[name](written))


@dataclass(frozen=True, init=False)
class TrainConfig:
    """What a run is asked to do (``config.yaml``'s ``run`` section).

    ``lr``, ``perturb`` and ``optimizer`` accept a spec as written (a string, a number, a
    mapping, a list, objects), which is read here, or a :class:`Spelled` an edge read already;
    the attributes hold the objects and ``spelling`` how each was written.

    Attributes:
        env: Gymnasium id.
        algo: algorithm name.
        steps: training budget in env steps (> 0).
        seed: run seed.
        lr: the LR policy per network (``{"default": policy}`` for every network), or
            ``None`` for the preset's (``lr=None`` or ``"preset"``).
        perturb: the reward-perturbation chain of the training envs (empty: none).
        optimizer: optimizer spec, or one per network (``None``: the algorithm's own).
        preset: ``default`` or ``sb3``.
        n_envs: training envs (``None``: the preset's).
        eval_every: steps between evaluations (``None``: ``steps // 20``).
        eval_episodes: episodes per evaluation.
        overrides: hyper-parameters over the preset (``--set key=value``).
        spelling: ``lr``, ``perturb`` and ``optimizer`` as written (:meth:`to_dict`).
    """

    env: str
    algo: str
    steps: int
    seed: int
    lr: Mapping[str, LRPolicy] | None
    perturb: tuple[Perturbation, ...]
    optimizer: OptimizerSpec | Mapping[str, OptimizerSpec] | None
    preset: str
    n_envs: int | None
    eval_every: int | None
    eval_episodes: int
    overrides: Mapping[str, Any]
    spelling: Mapping[str, Spelled] = field(repr=False)

    def __init__(
        self, env: str, algo: str, steps: int, seed: int = 0, lr: Any = None,
        perturb: Any = None, optimizer: Any = None, preset: str = "default",
        n_envs: int | None = None, eval_every: int | None = None, eval_episodes: int = 10,
        overrides: Mapping[str, Any] | None = None, *,
        spelling: Mapping[str, Spelled] | None = None,
    ) -> None:
        for name, value in (("steps", steps), ("eval_every", eval_every),
                            ("eval_episodes", eval_episodes)):
            if value is not None and (type(value) is not int or value <= 0):
                raise SpecError(f"{name} must be a positive integer, got {value!r}")
        given = {"lr": lr, "perturb": perturb, "optimizer": optimizer}
        spelled = {name: _spelled(name, given[name], (spelling or {}).get(name))
                   for name in SPEC_FIELDS}
        values = {
            "env": env, "algo": algo, "steps": steps, "seed": seed,
            **{name: s.value for name, s in spelled.items()},
            "preset": preset, "n_envs": n_envs,
            "eval_every": max(1, steps // 20) if eval_every is None else eval_every,
            "eval_episodes": eval_episodes,
            "overrides": {} if overrides is None else overrides, "spelling": spelled,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """A plain, YAML-safe mapping: the specs as they were written (objects given in
        Python become their spec strings)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "spelling"}  # no recursion into the spec objects
        data.update({name: self.spelling[name].written for name in SPEC_FIELDS})
        data["overrides"] = dict(self.overrides)
        plain_data: dict[str, Any] = plain(data)
        return plain_data


def _spelled(name: str, given: Any, known: Spelled | None) -> Spelled:
    """``given`` as a :class:`Spelled`: read already (an edge, or the same object as the
    spelling ``known`` carries, as ``dataclasses.replace`` passes it), else read now."""
    if isinstance(given, Spelled):
        return given
    if known is not None and given is known.value:
        return known
    return read_spec(name, given)


def resolve_agent(config: TrainConfig) -> AgentSpec:
    """Resolve ``config`` through the presets and compatibility rules (nothing built)."""
    return resolve(
        config.algo, config.env, config.lr, seed=config.seed, perturb=config.perturb,
        optimizer=config.optimizer, preset=config.preset, n_envs=config.n_envs,
        total_timesteps=config.steps, **dict(config.overrides),
    )


def resolve_document(config: TrainConfig) -> dict[str, Any]:
    """The fully resolved agent of ``config`` (``config.yaml``'s ``agent`` section), checked
    like :func:`train` checks it, without building anything.

    Raises:
        SpecError: bad input or an impossible combination.
    """
    resolved: dict[str, Any] = resolve_agent(config).to_dict()
    return resolved
