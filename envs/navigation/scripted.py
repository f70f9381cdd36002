"""Scripted controllers for the navigation envs: competent reference policies.

They exist to show that every task is solvable and to measure a "competent policy" reference
return for the suites (:mod:`rl_lr.envs.suites`, ``benchmarks/measure_returns.py``). All
of them command a planar force in the world frame (``control="force"``, the default) and
read the robot's position and velocity from ``obs[0:4]`` (true for the rl-lr envs and for the
flattened gymnasium-robotics PointMaze); the goal, obstacles and maze layout are read from
the env itself (privileged information a learning agent does not get in that form).

* :func:`proportional_action`: steer straight at a target with velocity damping;
* :class:`ScriptedNavigator`: for ``rl_lr/PointNav-v0`` (straight at the goal),
  ``rl_lr/PointNavObstacles-v0`` (plus repulsion from nearby obstacles) and
  ``rl_lr/PointNavMaze-v0`` (breadth-first search over the maze cells, then cell centre to
  cell centre);
* :class:`PointMazeNavigator`: the same cell-path follower on gymnasium-robotics'
  ``PointMaze`` (its ``maze_map``, stronger actuators, 0.01 s steps).

Example:
    >>> import gymnasium as gym
    >>> import rl_lr.envs
    >>> env = gym.make("rl_lr/PointNavMaze-v0")
    >>> policy = ScriptedNavigator(env)
    >>> obs, _ = env.reset(seed=0)
    >>> done = False
    >>> while not done:
    ...     obs, reward, terminated, truncated, info = env.step(policy(obs))
    ...     done = terminated or truncated
    >>> bool(info["is_success"])
    True
    >>> env.close()
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
from numpy.typing import NDArray

from rl_lr.envs.navigation.base import NavigationEnv
from rl_lr.envs.navigation.tasks import PointNavEnv, PointNavMazeEnv

__all__ = ["PointMazeNavigator", "ScriptedNavigator", "grid_path", "proportional_action"]

Cell = tuple[int, int]


def proportional_action(
    position: NDArray, velocity: NDArray, target: NDArray, gain: float, damping: float
) -> NDArray[np.float32]:
    """``clip(gain * (target - position) - damping * velocity, -1, 1)`` as ``float32``.

    Example:
        >>> proportional_action(np.zeros(2), np.zeros(2), np.array([1.0, -0.1]), 2.0, 0.5)
        array([ 1. , -0.2], dtype=float32)
    """
    command = gain * (np.asarray(target) - np.asarray(position)) - damping * np.asarray(velocity)
    return np.clip(command, -1.0, 1.0).astype(np.float32)


def grid_path(walls: NDArray[np.bool_], start: Cell, goal: Cell) -> list[Cell]:
    """Shortest 4-connected path of free cells from ``start`` to ``goal``, both included.

    Args:
        walls: Boolean grid, ``True`` for a wall cell.
        start: ``(row, col)`` of the first cell.
        goal: ``(row, col)`` of the last cell.

    Returns:
        The cells in order; ``[start]`` if ``start == goal``.

    Raises:
        ValueError: If no path exists.

    Example:
        >>> walls = np.array([[0, 0, 0], [1, 1, 0], [0, 0, 0]], dtype=bool)
        >>> grid_path(walls, (0, 0), (2, 0))
        [(0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0)]
    """
    previous: dict[Cell, Cell | None] = {start: None}
    queue: deque[Cell] = deque([start])
    while queue:
        cell = queue.popleft()
        if cell == goal:
            path = [cell]
            while (parent := previous[path[-1]]) is not None:
                path.append(parent)
            return path[::-1]
        row, col = cell
        for nxt in ((row - 1, col), (row + 1, col), (row, col - 1), (row, col + 1)):
            inside = 0 <= nxt[0] < walls.shape[0] and 0 <= nxt[1] < walls.shape[1]
            if inside and not walls[nxt] and nxt not in previous:
                previous[nxt] = cell
                queue.append(nxt)
    raise ValueError(f"no path from cell {start} to cell {goal}")


class _CellPathFollower:
    """Drive to the centre of the next cell on the shortest cell path, then to the goal."""

    def __init__(
        self,
        walls: NDArray[np.bool_],
        to_cell: Callable[[NDArray], Cell],
        to_xy: Callable[[Cell], NDArray],
        gain: float,
        damping: float,
    ) -> None:
        self._walls = walls
        self._to_cell = to_cell
        self._to_xy = to_xy
        self._gain = gain
        self._damping = damping

    def target(self, position: NDArray, goal: NDArray) -> NDArray:
        here, there = self._to_cell(position), self._to_cell(goal)
        if here == there or self._walls[here]:
            return goal
        path = grid_path(self._walls, here, there)
        return goal if len(path) < 2 else self._to_xy(path[1])

    def action(self, position: NDArray, velocity: NDArray, goal: NDArray) -> NDArray[np.float32]:
        target = self.target(position, goal)
        return proportional_action(position, velocity, target, self._gain, self._damping)


class ScriptedNavigator:
    """A scripted force-mode policy for the rl-lr navigation envs (see the module docstring).

    Call it with an observation to get an action; it reads the current goal (and obstacles)
    from ``env.unwrapped`` at every call, so one instance serves all episodes of its env.

    Args:
        env: A ``rl_lr/PointNav*`` env with ``control="force"`` (wrappers allowed).
        gain: Proportional gain on the position error.
        damping: Gain on the velocity.
        avoid_distance: Obstacles whose surface is closer than this (m) push the robot away.

    Raises:
        TypeError: If ``env`` is not a navigation env in force mode.
    """

    def __init__(
        self,
        env: gymnasium.Env[Any, Any],
        gain: float = 2.0,
        damping: float = 0.5,
        avoid_distance: float = 0.5,
    ) -> None:
        base = env.unwrapped
        if not isinstance(base, NavigationEnv) or base.control != "force":
            raise TypeError(f"ScriptedNavigator needs a force-mode NavigationEnv, got {base}")
        self._env = base
        self._gain = gain
        self._damping = damping
        self._avoid = avoid_distance
        self._follower: _CellPathFollower | None = None
        if isinstance(base, PointNavMazeEnv):
            grid, size = base._grid, base._cell_size
            n_rows, n_cols = grid.shape

            def to_cell(xy: NDArray) -> Cell:
                col = int(np.clip(np.floor(xy[0] / size + n_cols / 2), 0, n_cols - 1))
                row = int(np.clip(np.floor(n_rows / 2 - xy[1] / size), 0, n_rows - 1))
                return row, col

            def to_xy(cell: Cell) -> NDArray:
                return np.array([(cell[1] + 0.5 - n_cols / 2), (n_rows / 2 - cell[0] - 0.5)]) * size

            self._follower = _CellPathFollower(grid, to_cell, to_xy, gain, damping)
        elif not isinstance(base, PointNavEnv):
            raise TypeError(f"no scripted controller for {type(base).__name__}")

    def __call__(self, observation: NDArray) -> NDArray[np.float32]:
        position, velocity = observation[0:2], observation[2:4]
        goal = self._env.goal
        if self._follower is not None:
            return self._follower.action(position, velocity, goal)
        command = self._gain * (goal - position) - self._damping * velocity
        obstacles = self._env.obstacles
        if len(obstacles):
            offsets = position - obstacles
            centre_distance = np.linalg.norm(offsets, axis=1)
            gap = centre_distance - self._env._obstacle_radius - self._env.robot_radius
            for offset, dist, clearance in zip(offsets, centre_distance, gap, strict=True):
                if clearance < self._avoid:
                    away = offset / dist
                    # Push out, and slide round the obstacle on the side of the goal.
                    tangent = np.array([-away[1], away[0]])
                    if np.dot(tangent, goal - position) < 0:
                        tangent = -tangent
                    weight = 3.0 * (self._avoid - clearance) / self._avoid
                    command = command + weight * (away + tangent)
        return np.clip(command, -1.0, 1.0).astype(np.float32)


class PointMazeNavigator:
    """A scripted policy for gymnasium-robotics ``PointMaze_*``, flat (:mod:`rl_lr.envs.robotics`).

    Its ``obs[0:4]`` must be ``x, y, vx, vy`` (true of the flat layouts, not of the raw
    ``Dict`` observation).

    Follows the shortest cell path of ``env.unwrapped.maze.maze_map`` to the current goal
    (``env.unwrapped.goal``) and holds position there (PointMaze is a continuing task).

    Args:
        env: A flat gymnasium-robotics ``PointMazeEnv`` (e.g. ``rl_lr/PointMaze_UMaze-v3``).
        gain: Proportional gain on the position error.
        damping: Gain on the velocity.

    Raises:
        TypeError: If ``env.unwrapped`` has no ``maze``.

    Example:
        >>> import gymnasium as gym
        >>> import rl_lr.envs
        >>> env = gym.make("rl_lr/PointMaze_UMaze-v3")
        >>> policy = PointMazeNavigator(env)
        >>> obs, _ = env.reset(seed=0)
        >>> for _ in range(300):
        ...     obs, reward, terminated, truncated, info = env.step(policy(obs))
        >>> bool(info["success"])
        True
        >>> env.close()
    """

    def __init__(
        self, env: gymnasium.Env[Any, Any], gain: float = 10.0, damping: float = 1.0
    ) -> None:
        base = env.unwrapped
        goal_env = getattr(base, "goal_env", None)  # a FlatGoalEnv: look inside
        if goal_env is not None:
            base = goal_env.unwrapped
        maze = getattr(base, "maze", None)
        if maze is None:
            raise TypeError(f"PointMazeNavigator needs a gymnasium-robotics maze env, got {base}")
        self._env = base
        walls = np.array([[cell == 1 for cell in row] for row in maze.maze_map], dtype=bool)

        def to_cell(xy: NDArray) -> Cell:
            row, col = maze.cell_xy_to_rowcol(xy)
            n_rows, n_cols = walls.shape
            return int(np.clip(row, 0, n_rows - 1)), int(np.clip(col, 0, n_cols - 1))

        def to_xy(cell: Cell) -> NDArray:
            return np.asarray(maze.cell_rowcol_to_xy(np.array(cell)), dtype=np.float64)

        self._follower = _CellPathFollower(walls, to_cell, to_xy, gain, damping)

    def __call__(self, observation: NDArray) -> NDArray[np.float32]:
        goal = np.asarray(self._env.goal, dtype=np.float64)  # type: ignore[attr-defined]
        return self._follower.action(observation[0:2], observation[2:4], goal)
