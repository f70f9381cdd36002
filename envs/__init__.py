"""Environments for rl-lr: reward-perturbation specs and the Gymnasium wrappers that apply them.

Installed as ``rl_lr.envs`` (import it under that name, never as ``envs``). The public names
here are the perturbations (:mod:`rl_lr.envs.perturbations`) and their wrappers
(:mod:`rl_lr.envs.reward_wrappers`); task environments live in sub-packages.

Example:
    >>> import gymnasium as gym
    >>> from rl_lr.envs import apply_perturbations
    >>> env = apply_perturbations(gym.make("Pendulum-v1"), "[gaussian(0.1), dropout(0.2)]")
    >>> _ = env.reset(seed=0)
    >>> _, reward, *_, info = env.step(env.action_space.sample())
    >>> sorted(k for k in info if k.startswith("perturbation/") or k == "clean_reward")
    ['clean_reward', 'perturbation/dropped', 'perturbation/noise']
"""

from __future__ import annotations

from rl_lr.envs.perturbations import (
    PERTURBATIONS,
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
    apply_perturbations,
    parse_perturbations,
    register,
)
from rl_lr.envs.reward_wrappers import (
    DelayedReward,
    GaussianNoise,
    HeavyTailedNoise,
    MarkovRegimeSwitch,
    PerturbationWrapper,
    RegimeSwitch,
    RewardCorruption,
    RewardDrift,
    RewardDropout,
    wrapper_for,
)

__all__ = [
    "PERTURBATIONS",
    "Corrupt",
    "Delay",
    "DelayedReward",
    "Drift",
    "Dropout",
    "Gaussian",
    "GaussianNoise",
    "HeavyTailed",
    "HeavyTailedNoise",
    "MarkovRegimeSwitch",
    "MarkovSwitch",
    "Perturbation",
    "PerturbationLike",
    "PerturbationWrapper",
    "RegimeSwitch",
    "RewardCorruption",
    "RewardDrift",
    "RewardDropout",
    "Sparse",
    "Switch",
    "apply_perturbations",
    "parse_perturbations",
    "register",
    "wrapper_for",
]
