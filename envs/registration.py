"""Gymnasium registration of every rl-lr env id, without importing the env code.

``import rl_lr.envs`` calls :func:`register_envs`, so the ids below can be passed to
``gymnasium.make`` afterwards. The entry points are strings: MuJoCo, the navigation models
and gymnasium-robotics are imported only when an env is made, which keeps ``import
rl_lr.envs`` light (it does not import :mod:`mujoco`).

**Gymnasium plugins.** Gymnasium >= 1.0 no longer loads third-party envs from package entry
points (the ``gymnasium.envs`` entry-point group of gym 0.22 - gymnasium 0.29 was removed; see
``gymnasium/envs/registration.py``, which has no ``entry_points`` lookup in 1.4). rl-lr
therefore declares no entry point: a process that has not imported ``rl_lr.envs`` reaches the
ids with Gymnasium's ``"module:id"`` form, which imports the module first::

    gymnasium.make("rl_lr.envs:rl_lr/PointNav-v0")

=============================  ==============================================  =============
id                             env                                             max steps
=============================  ==============================================  =============
``rl_lr/PointNav-v0``          open arena, random start and goal               500
``rl_lr/PointNavObstacles-v0`` arena with 8 random cylinder obstacles          750
``rl_lr/PointNavMaze-v0``      fixed 7 x 9-cell maze                           1000
``rl_lr/PointMaze_UMaze-v3``   gymnasium-robotics ``PointMaze_UMaze-v3``,      300
                               flattened (:mod:`rl_lr.envs.robotics`)
``rl_lr/AntMaze_UMaze-v5``     gymnasium-robotics ``AntMaze_UMaze-v5``,        700
                               flattened (:mod:`rl_lr.envs.robotics`)
=============================  ==============================================  =============

Example:
    >>> import gymnasium as gym
    >>> import rl_lr.envs
    >>> gym.spec("rl_lr/PointNav-v0").max_episode_steps
    500
    >>> "rl_lr/PointMaze_UMaze-v3" in rl_lr.envs.ENV_IDS
    True
"""

from __future__ import annotations

from typing import Any

import gymnasium

__all__ = ["ENV_IDS", "NAVIGATION_IDS", "ROBOTICS_IDS", "register_envs"]

_TASKS = "rl_lr.envs.navigation.tasks"
_ROBOTICS = "rl_lr.envs.robotics:flat_robotics_env"

#: id -> keyword arguments of ``gymnasium.register`` (besides the id).
_NAVIGATION: dict[str, dict[str, Any]] = {
    "rl_lr/PointNav-v0": {"entry_point": f"{_TASKS}:PointNavEnv", "max_episode_steps": 500},
    "rl_lr/PointNavObstacles-v0": {
        "entry_point": f"{_TASKS}:PointNavObstaclesEnv",
        "max_episode_steps": 750,
    },
    "rl_lr/PointNavMaze-v0": {
        "entry_point": f"{_TASKS}:PointNavMazeEnv",
        "max_episode_steps": 1000,
    },
}

# The time limits repeat gymnasium-robotics' own (checked by tests/test_robotics.py), so that
# registering does not have to import gymnasium-robotics.
_ROBOTICS_SPECS: dict[str, dict[str, Any]] = {
    "rl_lr/PointMaze_UMaze-v3": {
        "entry_point": _ROBOTICS,
        "max_episode_steps": 300,
        "kwargs": {"robotics_id": "PointMaze_UMaze-v3"},
    },
    "rl_lr/AntMaze_UMaze-v5": {
        "entry_point": _ROBOTICS,
        "max_episode_steps": 700,
        "kwargs": {"robotics_id": "AntMaze_UMaze-v5"},
    },
}

#: The native point-navigation ids (:mod:`rl_lr.envs.navigation`).
NAVIGATION_IDS: tuple[str, ...] = tuple(_NAVIGATION)

#: The flattened gymnasium-robotics ids (:mod:`rl_lr.envs.robotics`).
ROBOTICS_IDS: tuple[str, ...] = tuple(_ROBOTICS_SPECS)

#: Every id rl-lr registers.
ENV_IDS: tuple[str, ...] = NAVIGATION_IDS + ROBOTICS_IDS


def register_envs() -> None:
    """Register every rl-lr id with Gymnasium; ids already registered are left alone.

    Called by ``import rl_lr.envs``; calling it again is a no-op.
    """
    for env_id, spec in {**_NAVIGATION, **_ROBOTICS_SPECS}.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, **spec)
