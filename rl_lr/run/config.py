"""What a run is asked to do (:class:`TrainConfig`, ``config.yaml``'s ``run`` section) and its
resolution into an agent (every hyper-parameter the presets and overrides give).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rl_lr.agents import AgentSpec, resolve
from rl_lr.agents.hyperparams import plain
from rl_lr.errors import SpecError

__all__ = ["TrainConfig", "resolve_agent", "resolve_document"]


@dataclass(frozen=True)
class TrainConfig:
    """What a run is asked to do (``config.yaml``'s ``run`` section).

    Attributes:
        env: Gymnasium id.
        algo: algorithm name.
        steps: training budget in env steps (> 0).
        seed: run seed.
        lr: LR spec, one per network (mapping), or ``None`` / ``"preset"``.
        perturb: reward perturbation spec(s) for the training envs.
        optimizer: optimizer spec, or one per network.
        preset: ``default`` or ``sb3``.
        n_envs: training envs (``None``: the preset's).
        eval_every: steps between evaluations (``None``: ``steps // 20``).
        eval_episodes: episodes per evaluation.
        overrides: hyper-parameters over the preset (``--set key=value``).
    """

    env: str
    algo: str
    steps: int
    seed: int = 0
    lr: Any = None
    perturb: Any = None
    optimizer: Any = None
    preset: str = "default"
    n_envs: int | None = None
    eval_every: int | None = None
    eval_episodes: int = 10
    overrides: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("steps", "eval_every", "eval_episodes"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value <= 0):
                raise SpecError(f"{name} must be a positive integer, got {value!r}")
        if self.eval_every is None:
            object.__setattr__(self, "eval_every", max(1, self.steps // 20))

    def to_dict(self) -> dict[str, Any]:
        """A plain, YAML-safe mapping (specs given as objects become their spec strings)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # no recursion
        data["overrides"] = dict(self.overrides)
        plain_data: dict[str, Any] = plain(data)
        return plain_data


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
