"""Environments for rl-lr: perturbation specs (reward, dynamics) and the wrappers that apply them.

Installed as ``rl_lr.envs`` (import it under that name, never as ``envs``). The public names
here are the perturbations (:mod:`rl_lr.envs.perturbations`; the MuJoCo dynamics switches in
:mod:`rl_lr.envs.dynamics`), their wrappers
(:mod:`rl_lr.envs.reward_wrappers`) and how an env is wrapped in them
(:mod:`rl_lr.envs.wrapping`), and the gymnasium-robotics flattening wrapper
(:mod:`rl_lr.envs.robotics`). The env suites with their thresholds and normalisation ranges
are in :mod:`rl_lr.envs.suites` (import it by name); task environments live in sub-packages
(:mod:`rl_lr.envs.navigation`).

Importing this package registers every rl-lr id with Gymnasium (``rl_lr/PointNav-v0``, ...;
see :mod:`rl_lr.envs.registration`) without importing MuJoCo: the env code loads when an env
is made.

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

from rl_lr.envs.dynamics import (
    DYNAMICS,
    DampingSwitch,
    DynamicsSwitch,
    DynamicsSwitchWrapper,
    FrictionSwitch,
    GainSwitch,
    GravitySwitch,
    MassSwitch,
)
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
    parse_perturbations,
    register,
    switch_timesteps,
)
from rl_lr.envs.registration import ENV_IDS, register_envs
from rl_lr.envs.reward_wrappers import (
    CLEAN_RETURN,
    CleanReturn,
    DelayedReward,
    GaussianNoise,
    HeavyTailedNoise,
    MarkovRegimeSwitch,
    PerturbationWrapper,
    RegimeSwitch,
    RewardCorruption,
    RewardDrift,
    RewardDropout,
)
from rl_lr.envs.robotics import FlatGoalEnv, make_robotics_env
from rl_lr.envs.wrapping import WRAPPERS, apply_perturbations, wrapper_for

__all__ = [
    "CLEAN_RETURN",
    "DYNAMICS",
    "ENV_IDS",
    "PERTURBATIONS",
    "WRAPPERS",
    "CleanReturn",
    "Corrupt",
    "DampingSwitch",
    "Delay",
    "DelayedReward",
    "Drift",
    "Dropout",
    "DynamicsSwitch",
    "DynamicsSwitchWrapper",
    "FlatGoalEnv",
    "FrictionSwitch",
    "GainSwitch",
    "Gaussian",
    "GaussianNoise",
    "GravitySwitch",
    "HeavyTailed",
    "HeavyTailedNoise",
    "MarkovRegimeSwitch",
    "MarkovSwitch",
    "MassSwitch",
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
    "make_robotics_env",
    "parse_perturbations",
    "register",
    "register_envs",
    "switch_timesteps",
    "wrapper_for",
]

register_envs()
