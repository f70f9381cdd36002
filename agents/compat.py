"""Compatibility rules, checked before anything expensive is built.

- the algorithm and the env id must exist (unknown names get a "did you mean");
- the env's action space must be one the algorithm supports: DQN needs discrete actions;
  SAC, TD3, DDPG, TQC and CrossQ need continuous (``Box``) actions;
- an LR policy that reads a ``train/*`` statistic (``kl_adaptive`` reads ``approx_kl``) needs
  an algorithm that reports it (only PPO reports ``approx_kl``).

Every violation raises :class:`IncompatibleError` (a :class:`~rl_lr.SpecError`: one line,
exit code 2 on the command line).

Example:
    >>> from rl_lr.agents.compat import IncompatibleError, check_action_space
    >>> import gymnasium as gym
    >>> try:
    ...     check_action_space("dqn", "Pendulum-v1", gym.spaces.Box(-2.0, 2.0, (1,)))
    ... except IncompatibleError as err:
    ...     print(err)  # doctest: +ELLIPSIS
    dqn cannot act in Pendulum-v1: it needs Discrete actions, and Pendulum-v1 has ...
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import gymnasium

from rl_lr.agents.algorithms import ALGORITHMS, AlgorithmInfo
from rl_lr.envs import register_envs
from rl_lr.errors import SpecError
from rl_lr.sb3 import unreported_stat
from rl_lr.schedules import LRPolicy

__all__ = [
    "IncompatibleError",
    "check_action_space",
    "check_reported_stats",
    "env_ids",
    "resolve_algo",
    "resolve_env_id",
]


class IncompatibleError(SpecError):
    """An impossible combination of algorithm, env and LR policy (one-line message)."""


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def resolve_algo(name: str) -> AlgorithmInfo:
    """The :class:`AlgorithmInfo` for ``name`` (case-insensitive).

    Raises:
        SpecError: unknown name, with the closest known one and the full list.
    """
    info = ALGORITHMS.get(name.lower()) if isinstance(name, str) else None
    if info is None:
        raise SpecError(
            f"unknown algorithm {name!r}{_did_you_mean(str(name).lower(), ALGORITHMS)} "
            f"(known: {', '.join(ALGORITHMS)})"
        )
    return info


def env_ids() -> list[str]:
    """Every registered Gymnasium id, rl-lr's own (``rl_lr/...``) included."""
    register_envs()  # rl-lr's own ids (a no-op once they are registered)
    return sorted(gymnasium.registry)


def resolve_env_id(env_id: str) -> gymnasium.envs.registration.EnvSpec:
    """The registered spec of ``env_id``.

    Raises:
        SpecError: unknown id, with the closest registered one.
    """
    known = env_ids()
    if env_id not in gymnasium.registry:
        raise SpecError(f"unknown env id {env_id!r}{_did_you_mean(env_id, known)}")
    return gymnasium.spec(env_id)


def _kind(space: gymnasium.spaces.Space[object]) -> str:
    name = type(space).__name__
    return {"Box": "continuous (Box)", "Discrete": "discrete (Discrete)"}.get(name, name)


def check_action_space(
    algo: str, env_id: str, action_space: gymnasium.spaces.Space[object]
) -> None:
    """Refuse an algorithm that cannot act in this action space (as SB3 would, but earlier)."""
    info = resolve_algo(algo)
    if type(action_space).__name__ not in info.action_spaces:
        raise IncompatibleError(
            f"{info.name} cannot act in {env_id}: it needs {' or '.join(info.action_spaces)} "
            f"actions, and {env_id} has {_kind(action_space)} actions"
        )


def check_reported_stats(algo: str, policies: Iterable[LRPolicy]) -> None:
    """Refuse an LR policy that reads a ``train/*`` statistic the algorithm never reports."""
    info = resolve_algo(algo)
    for policy in policies:
        missing = unreported_stat(policy, {info.class_name})
        if missing is not None:
            stat, classes = missing
            reporters = sorted(a.name for a in ALGORITHMS.values() if a.class_name in classes)
            raise IncompatibleError(
                f"{policy!r} needs train/{stat}, which {info.name} does not report "
                f"(only {', '.join(reporters)})"
            )
