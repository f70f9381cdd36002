"""Wrapping an env in its perturbations (reward and dynamics): which wrapper applies each spec
(:data:`WRAPPERS`, :func:`wrapper_for`) and a whole chain (:func:`apply_perturbations`).

This module sits above both the specs (:mod:`rl_lr.envs.perturbations`) and the wrappers
(:mod:`rl_lr.envs.reward_wrappers`), so neither imports the other's way back.

Example:
    >>> import gymnasium as gym
    >>> from rl_lr.envs import Gaussian, apply_perturbations
    >>> env = apply_perturbations(gym.make("CartPole-v1"), "[gaussian(0.1), delay(5)]")
    >>> type(env).__name__, type(env.env).__name__
    ('DelayedReward', 'GaussianNoise')
    >>> type(wrapper_for(gym.make("CartPole-v1"), Gaussian(std=0.1))).__name__
    'GaussianNoise'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from rl_lr.envs.dynamics import DYNAMICS, DynamicsSwitch, DynamicsSwitchWrapper
from rl_lr.envs.perturbations import (
    Corrupt,
    Delay,
    Drift,
    Dropout,
    Gaussian,
    HeavyTailed,
    MarkovSwitch,
    Perturbation,
    PerturbationLike,
    Sparse,
    Switch,
    parse_perturbations,
)
from rl_lr.envs.reward_wrappers import (
    DelayedReward,
    GaussianNoise,
    HeavyTailedNoise,
    MarkovRegimeSwitch,
    RegimeSwitch,
    RewardCorruption,
    RewardDrift,
    RewardDropout,
)

__all__ = ["WRAPPERS", "apply_perturbations", "wrapper_for"]

#: The wrapper class that applies each perturbation type; it takes ``(env, perturbation)``
#: (the scheduled ones, ``switch``'s :class:`RegimeSwitch` and the dynamics switches'
#: :class:`DynamicsSwitchWrapper`, also ``total_timesteps`` and ``n_envs``). A perturbation
#: defined outside rl-lr adds its own: ``WRAPPERS[MyPerturbation] = MyWrapper``.
WRAPPERS: dict[type[Perturbation], Callable[[gym.Env[Any, Any], Any], gym.Env[Any, Any]]] = {
    Gaussian: GaussianNoise,
    HeavyTailed: HeavyTailedNoise,
    Drift: RewardDrift,
    Switch: RegimeSwitch,
    MarkovSwitch: MarkovRegimeSwitch,
    Corrupt: RewardCorruption,
    Delay: DelayedReward,
    Sparse: DelayedReward,
    Dropout: RewardDropout,
    **dict.fromkeys(DYNAMICS.values(), DynamicsSwitchWrapper),
}


def wrapper_for(
    env: gym.Env[Any, Any], perturbation: Perturbation, total_timesteps: int | None = None,
    n_envs: int = 1,
) -> gym.Env[Any, Any]:
    """Wrap ``env`` in the wrapper that applies ``perturbation``.

    Args:
        env: The environment to wrap (seeded through ``reset(seed=...)`` as usual).
        perturbation: A perturbation spec with a wrapper in :data:`WRAPPERS`.
        total_timesteps: Steps this env instance takes in the whole run (across episodes;
            with ``n`` vectorised copies, ``total_timesteps // n``). Only ``switch`` with
            fractional ``at`` (and the dynamics switches) need it; the others ignore it.
        n_envs: Number of vectorised training envs this env is one of: ``every=N`` periods
            count the steps of all of them together.

    Returns:
        The wrapper (a :class:`~rl_lr.envs.reward_wrappers.PerturbationWrapper` for rl-lr's
        own perturbations) around ``env``.

    Raises:
        ValueError: ``total_timesteps`` is not a positive integer (or is missing where it is
            needed).
        TypeError: No wrapper is known for this perturbation's type.
    """
    if total_timesteps is not None and (
        isinstance(total_timesteps, bool)
        or not isinstance(total_timesteps, (int, float, np.integer))
        or not float(total_timesteps).is_integer()
        or total_timesteps < 1
    ):
        raise ValueError(
            f"total_timesteps must be a positive integer or None, got {total_timesteps!r}"
        )
    if isinstance(n_envs, bool) or not isinstance(n_envs, (int, np.integer)) or n_envs < 1:
        raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}")
    total = None if total_timesteps is None else int(total_timesteps)
    if isinstance(perturbation, Switch):
        return RegimeSwitch(env, perturbation, total_timesteps=total, n_envs=int(n_envs))
    if isinstance(perturbation, DynamicsSwitch):
        return DynamicsSwitchWrapper(env, perturbation, total_timesteps=total,
                                     n_envs=int(n_envs))
    wrapper = WRAPPERS.get(type(perturbation))
    if wrapper is None:
        raise TypeError(
            f"no wrapper known for {type(perturbation).__name__}; add one to "
            "rl_lr.envs.wrapping.WRAPPERS"
        )
    return wrapper(env, perturbation)


def apply_perturbations(
    env: gym.Env[Any, Any],
    perturbations: PerturbationLike | Sequence[PerturbationLike] | None,
    total_timesteps: int | None = None,
    n_envs: int = 1,
) -> gym.Env[Any, Any]:
    """Wrap ``env`` in each perturbation in order: the first acts first on the reward (it is the
    innermost wrapper), the last is the outermost.

    Args:
        env: The environment to perturb.
        perturbations: Anything :func:`~rl_lr.envs.perturbations.parse_perturbations` reads
            (objects pass through as they are).
        total_timesteps: Steps this env instance takes in the run (see :func:`wrapper_for`).
        n_envs: Number of vectorised training envs this env is one of (see
            :func:`wrapper_for`).

    Returns:
        The wrapped env (``env`` itself when there is nothing to apply).
    """
    for perturbation in parse_perturbations(perturbations):
        env = wrapper_for(env, perturbation, total_timesteps=total_timesteps, n_envs=n_envs)
    return env
