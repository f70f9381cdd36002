"""The algorithms rl-lr can build, with what each one accepts and reports.

One table, :data:`ALGORITHMS`, keyed by the lower-case names used everywhere (``ppo``, ``sac``,
...). Classes are imported lazily so that reading the table stays cheap; the defaults shown in
run configs come from each class's real constructor signature, never from hand-typed numbers.

Example:
    >>> from rl_lr.agents.algorithms import ALGORITHMS
    >>> ALGORITHMS["dqn"].action_spaces
    ('Discrete',)
    >>> ALGORITHMS["sac"].default_lr()
    0.0003
"""

from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm

__all__ = ["ALGORITHMS", "RESERVED_ARGUMENTS", "AlgorithmInfo"]

#: Constructor arguments that rl-lr sets itself (or that are not hyper-parameters), with the
#: argument of :func:`rl_lr.agents.make` / ``rl-lr train`` to use instead.
RESERVED_ARGUMENTS: dict[str, str] = {
    "env": "env_id / --env",
    "learning_rate": "lr= / --lr",
    "seed": "seed= / --seed",
    "verbose": "nothing (rl-lr runs are quiet; see the progress bar)",
    "tensorboard_log": "--tensorboard",
    "_init_setup_model": "nothing",
}


@dataclass(frozen=True)
class AlgorithmInfo:
    """What rl-lr knows about one algorithm.

    Attributes:
        name: the lower-case name (``"ppo"``).
        module: where the class lives (``stable_baselines3`` or ``sb3_contrib``).
        class_name: the class's name in that module.
        action_spaces: Gymnasium action-space classes the algorithm supports (as SB3 asserts).
        off_policy: True for replay-buffer algorithms.
    """

    name: str
    module: str
    class_name: str
    action_spaces: tuple[str, ...]
    off_policy: bool

    @property
    def cls(self) -> type[BaseAlgorithm]:
        """The algorithm class (imported on first use)."""
        return _import(self.module, self.class_name)

    def parameters(self) -> dict[str, inspect.Parameter]:
        """The constructor's parameters, by name (``self`` excluded)."""
        params = dict(inspect.signature(self.cls.__init__).parameters)
        params.pop("self", None)
        return params

    def defaults(self) -> dict[str, Any]:
        """Constructor defaults of every hyper-parameter (reserved arguments excluded)."""
        return {
            name: p.default
            for name, p in self.parameters().items()
            if p.default is not inspect.Parameter.empty and name not in RESERVED_ARGUMENTS
            and name not in ("policy", "device")
        }

    def default_lr(self) -> float:
        """SB3's default learning rate for this algorithm (from its signature)."""
        value = self.parameters()["learning_rate"].default
        return float(value)


@functools.cache
def _import(module: str, name: str) -> type[BaseAlgorithm]:
    cls: type[BaseAlgorithm] = getattr(importlib.import_module(module), name)
    return cls


_ALL = ("Box", "Discrete", "MultiDiscrete", "MultiBinary")
_CONTINUOUS = ("Box",)

#: Every algorithm rl-lr builds, by name.
ALGORITHMS: dict[str, AlgorithmInfo] = {
    info.name: info
    for info in (
        AlgorithmInfo("ppo", "stable_baselines3", "PPO", _ALL, False),
        AlgorithmInfo("a2c", "stable_baselines3", "A2C", _ALL, False),
        AlgorithmInfo("sac", "stable_baselines3", "SAC", _CONTINUOUS, True),
        AlgorithmInfo("td3", "stable_baselines3", "TD3", _CONTINUOUS, True),
        AlgorithmInfo("ddpg", "stable_baselines3", "DDPG", _CONTINUOUS, True),
        AlgorithmInfo("dqn", "stable_baselines3", "DQN", ("Discrete",), True),
        AlgorithmInfo("tqc", "sb3_contrib", "TQC", _CONTINUOUS, True),
        AlgorithmInfo("trpo", "sb3_contrib", "TRPO", _ALL, False),
        AlgorithmInfo("crossq", "sb3_contrib", "CrossQ", _CONTINUOUS, True),
    )
}
