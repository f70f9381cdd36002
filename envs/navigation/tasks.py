"""The three registered point-navigation tasks: open arena, random obstacles, fixed maze.

All share :class:`~rl_lr.envs.navigation.base.NavigationEnv` (dynamics, observation, reward,
control modes); they differ only in their walls and in how :meth:`_sample_task` draws the
start, the goal and the obstacles from ``self.np_random``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import utils
from numpy.typing import NDArray

from rl_lr.envs.navigation.base import NavigationEnv
from rl_lr.envs.navigation.layout import (
    MAZE_MAP,
    arena_walls,
    cell_center,
    free_cells,
    maze_walls,
    parse_maze,
    sample_point,
    sample_separated,
)

__all__ = ["PointNavEnv", "PointNavMazeEnv", "PointNavObstaclesEnv"]

#: Gap (m) kept between the robot and walls/obstacles when placing things at reset.
_MARGIN = 0.05


class PointNavEnv(NavigationEnv, utils.EzPickle):
    """``rl_lr/PointNav-v0``: reach a random goal in a square arena (open by default).

    The free area is ``[-arena_size, arena_size]^2``, enclosed by four walls. The start is
    uniform over the area (kept ``robot_radius + 0.05`` m from the walls), the goal uniform
    over the same area at least ``min_goal_distance`` from the start, the heading uniform.

    With ``n_obstacles > 0`` (the default of :class:`PointNavObstaclesEnv`), that many
    cylinders of radius ``obstacle_radius`` are then placed uniformly, rejecting positions
    that would touch the robot's start or cover the goal (centre distance below
    ``obstacle_radius + robot_radius + 0.05``) and keeping every pair of obstacles, and every
    obstacle and wall, more than a robot diameter apart, so the goal is always reachable.
    Obstacles are MuJoCo mocap bodies moved at reset (no recompilation per episode).

    Observation, action and reward: see :class:`~rl_lr.envs.navigation.base.NavigationEnv`.

    Args:
        arena_size: Half side length of the free area (m), > 0.35.
        min_goal_distance: Minimum start-goal distance (m); must be feasible from every
            start, i.e. at most ``sqrt(2) * (arena_size - 0.2)``.
        n_obstacles: Number of obstacles, >= 0.
        obstacle_radius: Obstacle cylinder radius (m), > 0.
        **kwargs: Any other :class:`NavigationEnv` argument (``control``, reward weights,
            ``frame_skip``, ``render_mode``, ...).

    Raises:
        ValueError: If an argument is outside its range.
        RuntimeError: At reset, if the obstacles cannot be placed (too many for the arena).

    Example:
        >>> import gymnasium as gym
        >>> import rl_lr.envs.navigation  # registers the ids
        >>> env = gym.make("rl_lr/PointNav-v0")
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape
        (18,)
        >>> _ = env.action_space.seed(0)
        >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> terms = [info[key] for key in ("reward_progress", "reward_ctrl",
        ...                                "reward_collision", "reward_success")]
        >>> bool(reward == sum(terms))
        True
        >>> env.close()
    """

    def __init__(
        self,
        *,
        arena_size: float = 2.0,
        min_goal_distance: float = 1.0,
        n_obstacles: int = 0,
        obstacle_radius: float = 0.2,
        **kwargs: Any,
    ) -> None:
        if not arena_size > 0.35:
            raise ValueError(f"arena_size must be > 0.35, got {arena_size}")
        limit = float(np.sqrt(2.0) * (arena_size - 0.15 - _MARGIN))
        if not 0.0 <= min_goal_distance <= limit:
            raise ValueError(
                f"min_goal_distance must be in [0, {limit:.3f}] for arena_size={arena_size}, "
                f"got {min_goal_distance}"
            )
        if n_obstacles < 0:
            raise ValueError(f"n_obstacles must be >= 0, got {n_obstacles}")
        if not obstacle_radius > 0:
            raise ValueError(f"obstacle_radius must be > 0, got {obstacle_radius}")
        self._min_goal_distance = min_goal_distance
        NavigationEnv.__init__(
            self,
            walls=arena_walls(arena_size),
            n_obstacles=n_obstacles,
            obstacle_radius=obstacle_radius,
            **{"view_extent": arena_size + 0.3, **kwargs},
        )
        utils.EzPickle.__init__(
            self,
            arena_size=arena_size,
            min_goal_distance=min_goal_distance,
            n_obstacles=n_obstacles,
            obstacle_radius=obstacle_radius,
            **kwargs,
        )
        robot = self.robot_radius
        self._start_extent = arena_size - robot - _MARGIN
        self._obstacle_extent = arena_size - obstacle_radius - (2.0 * robot + _MARGIN)
        if n_obstacles > 0 and self._obstacle_extent <= 0:
            raise ValueError(
                f"arena_size={arena_size} leaves no room for obstacles of radius {obstacle_radius}"
            )
        self._clear_endpoint = obstacle_radius + robot + _MARGIN
        self._clear_pair = 2.0 * obstacle_radius + 2.0 * robot + _MARGIN

    def _sample_task(self) -> tuple[NDArray, NDArray, NDArray]:
        rng = self.np_random
        start = sample_point(rng, self._start_extent)
        goal = sample_separated(rng, self._start_extent, [start], self._min_goal_distance)
        placed: list[NDArray] = []
        for _ in range(self._n_obstacles):
            clearances = [self._clear_endpoint] * 2 + [self._clear_pair] * len(placed)
            placed.append(
                sample_separated(rng, self._obstacle_extent, [start, goal, *placed], clearances)
            )
        return start, goal, np.array(placed, dtype=np.float64).reshape(-1, 2)


class PointNavObstaclesEnv(PointNavEnv):
    """``rl_lr/PointNavObstacles-v0``: :class:`PointNavEnv` with obstacles by default.

    A 5 x 5 m arena (``arena_size=2.5``) with 8 cylinder obstacles of radius 0.2 m, placed
    anew at every reset as described in :class:`PointNavEnv`.

    Args:
        n_obstacles: Number of obstacles, >= 0.
        arena_size: Half side length of the free area (m).
        **kwargs: As for :class:`PointNavEnv`.

    Example:
        >>> import gymnasium as gym
        >>> import rl_lr.envs.navigation  # registers the ids
        >>> env = gym.make("rl_lr/PointNavObstacles-v0", n_obstacles=4)
        >>> obs, info = env.reset(seed=1)
        >>> env.unwrapped.obstacles.shape
        (4, 2)
        >>> env.close()
    """

    def __init__(self, *, n_obstacles: int = 8, arena_size: float = 2.5, **kwargs: Any) -> None:
        super().__init__(n_obstacles=n_obstacles, arena_size=arena_size, **kwargs)


class PointNavMazeEnv(NavigationEnv, utils.EzPickle):
    """``rl_lr/PointNavMaze-v0``: reach a random goal in a fixed maze.

    The maze (default :data:`~rl_lr.envs.navigation.layout.MAZE_MAP`, 7 x 9 cells of
    ``cell_size`` metres, centred on the origin) is built from static wall boxes. At reset
    the start and goal cells are drawn among the free cells (distinct cells), and each
    position uniformly inside its cell, ``robot_radius + 0.05`` m away from the cell border.

    Args:
        maze: Rows of ``#`` (wall) and ``.`` (free); at least two free cells.
        cell_size: Side length of a cell (m), > 0.5.
        **kwargs: Any :class:`NavigationEnv` argument except the layout ones.

    Example:
        >>> import gymnasium as gym
        >>> import rl_lr.envs.navigation  # registers the ids
        >>> env = gym.make("rl_lr/PointNavMaze-v0", control="diff_drive")
        >>> obs, info = env.reset(seed=2)
        >>> env.action_space.shape
        (2,)
        >>> env.close()
    """

    def __init__(
        self, *, maze: Sequence[str] = MAZE_MAP, cell_size: float = 1.0, **kwargs: Any
    ) -> None:
        if not cell_size > 0.5:
            raise ValueError(f"cell_size must be > 0.5, got {cell_size}")
        maze = tuple(maze)
        self._grid = parse_maze(maze)
        self._free = free_cells(self._grid)
        if len(self._free) < 2:
            raise ValueError(f"maze needs at least two free cells, got {len(self._free)}")
        self._cell_size = cell_size
        for key in ("n_obstacles", "obstacle_radius"):
            if key in kwargs:
                raise TypeError(f"PointNavMazeEnv has no obstacles; got {key}={kwargs[key]!r}")
        view_extent = max(self._grid.shape) * cell_size / 2.0 + 0.2
        NavigationEnv.__init__(
            self,
            walls=maze_walls(self._grid, cell_size),
            **{"view_extent": view_extent, **kwargs},
        )
        self._jitter = cell_size / 2.0 - self.robot_radius - _MARGIN
        if self._jitter <= 0:
            raise ValueError(
                f"cell_size={cell_size} is too small for a robot of radius {self.robot_radius}"
            )
        utils.EzPickle.__init__(self, maze=maze, cell_size=cell_size, **kwargs)

    def _sample_task(self) -> tuple[NDArray, NDArray, NDArray]:
        start_cell, goal_cell = self._free[
            self.np_random.choice(len(self._free), size=2, replace=False)
        ]
        start, goal = (
            cell_center(self._grid.shape, int(row), int(col), self._cell_size)
            + sample_point(self.np_random, self._jitter)
            for row, col in (start_cell, goal_cell)  # start drawn first, then goal
        )
        return start, goal, np.zeros((0, 2))
