"""Point-robot navigation tasks on MuJoCo, registered with Gymnasium on import.

``import rl_lr.envs`` registers three ids (see :mod:`rl_lr.envs.registration`):

=============================  ==========================================  ==================
id                             task                                        max_episode_steps
=============================  ==========================================  ==================
``rl_lr/PointNav-v0``          open 4 x 4 m arena, random start and goal   500
``rl_lr/PointNavObstacles-v0`` 5 x 5 m arena, 8 random cylinder obstacles  750
``rl_lr/PointNavMaze-v0``      fixed 7 x 9-cell maze, random free cells    1000
=============================  ==========================================  ==================

One env step is 0.05 s (``frame_skip=5`` x 0.01 s). Every constructor argument (control mode,
reward weights, ...) can be passed to ``gymnasium.make``. Without importing ``rl_lr.envs``
first, use the ``"module:id"`` form: ``gym.make("rl_lr.envs:rl_lr/PointNav-v0")``.

Example:
    >>> import gymnasium as gym
    >>> import rl_lr.envs
    >>> env = gym.make("rl_lr/PointNav-v0", control="diff_drive", ctrl_cost_weight=0.0)
    >>> obs, info = env.reset(seed=0)
    >>> env.spec.max_episode_steps
    500
    >>> env.close()
"""

from __future__ import annotations

from rl_lr.envs.navigation.base import OBS_BASE_SIZE, REWARD_TERMS, NavigationEnv
from rl_lr.envs.navigation.tasks import PointNavEnv, PointNavMazeEnv, PointNavObstaclesEnv
from rl_lr.envs.registration import NAVIGATION_IDS, register_envs

__all__ = [
    "ENV_IDS",
    "OBS_BASE_SIZE",
    "REWARD_TERMS",
    "NavigationEnv",
    "PointNavEnv",
    "PointNavMazeEnv",
    "PointNavObstaclesEnv",
    "register_envs",
]

#: The registered navigation env ids.
ENV_IDS: tuple[str, ...] = NAVIGATION_IDS

register_envs()  # already done by ``import rl_lr.envs``; kept for direct imports (no-op)
