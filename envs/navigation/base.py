# Over 400 lines: the navigation family's dynamics, observation and reward terms share one state.
"""The shared machinery of the point-navigation family: dynamics, observation and reward.

:class:`NavigationEnv` is a Gymnasium MuJoCo (v5-style) env. It knows nothing about where
walls, obstacles, start and goal are; concrete tasks (:mod:`rl_lr.envs.navigation.tasks`)
pass their walls and obstacle count to the constructor and implement :meth:`_sample_task`.

Why ``MujocoEnv``: it gives the v5 conventions for free (``frame_skip``, ``dt``,
``set_state``, ``default_camera_config``, lazy rendering). The one thing it cannot do is load a
model assembled at run time, so :meth:`NavigationEnv._initialize_simulation` is overridden to
compile the shared MJCF plus the task's walls, obstacles, rays and actuators with
``mujoco.MjSpec`` (see :mod:`rl_lr.envs.navigation.model`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import mujoco
import numpy as np
from gymnasium.envs.mujoco import MujocoEnv
from gymnasium.spaces import Box
from numpy.typing import NDArray

from rl_lr.envs.navigation.layout import WallBox
from rl_lr.envs.navigation.model import (
    CONTROL_MODES,
    DEFAULT_XML,
    ROBOT_HEIGHT,
    WALL_HALF_HEIGHT,
    Control,
    build_model,
)

__all__ = ["OBS_BASE_SIZE", "REWARD_TERMS", "NavigationEnv"]

#: Number of observation entries before the rangefinder readings.
OBS_BASE_SIZE: int = 10

#: ``model.opt.disableflags`` bit that switches sensors off (see ``_step_mujoco_simulation``).
_SENSORS_OFF = int(mujoco.mjtDisableBit.mjDSBL_SENSOR)

#: The ``info`` keys of the reward terms; the reward is their sum, in this order.
REWARD_TERMS: tuple[str, ...] = (
    "reward_progress",
    "reward_ctrl",
    "reward_collision",
    "reward_success",
)


class NavigationEnv(MujocoEnv):
    """A point robot that must reach a goal on a plane with walls (base of the family).

    The robot is a sphere (radius 0.15 m, mass 1 kg) on slide joints ``x``, ``y`` and a hinge
    ``heading`` about z, with viscous damping (terminal speed ``force_gear / 2`` m/s).

    **Action** (``Box(-1, 1, (2,), float32)``):

    * ``control="force"``: ``(fx, fy)``, a planar force in the *world* frame of
      ``force_gear * a`` newtons per axis;
    * ``control="diff_drive"``: ``(left, right)`` wheel commands; each wheel pushes along the
      robot's forward axis with ``force_gear / 2 * a`` newtons, so the net forward force is
      ``force_gear * (left + right) / 2`` and the yaw torque ``0.075 * force_gear *
      (right - left)`` (skid-steer, no lateral wheel constraint).

    **Observation** (``Box(-inf, inf, (10 + n_rays,), float64)``):

    ======  ==================================================================
    index   content
    ======  ==================================================================
    0, 1    robot position ``x, y`` (world frame, m)
    2, 3    robot velocity ``vx, vy`` (world frame, m/s)
    4, 5    heading ``cos(theta), sin(theta)``
    6       angular velocity ``omega`` (rad/s)
    7, 8    goal vector in the robot frame ``(dx_forward, dy_left)`` (m)
    9       distance to the goal (m)
    10...   ``n_rays`` rangefinder readings, ray ``i`` at heading
            ``theta + 2 pi i / n_rays`` from the robot centre, normalised as
            ``min(range, rangefinder_range) / rangefinder_range`` in ``[0, 1]``
            (1 = nothing within range; a wall touching the robot reads
            ``0.15 / rangefinder_range``). The rays see walls and obstacles,
            never the robot itself or the goal marker.
    ======  ==================================================================

    **Reward** (each term also in ``info``; ``reward`` is exactly their sum, in this order):

    * ``reward_progress = progress_weight * (previous distance - distance)``;
    * ``reward_ctrl = -ctrl_cost_weight * ||clip(a, -1, 1)||^2``;
    * ``reward_collision = -collision_cost_weight`` if the robot's geom is in contact with a
      wall or obstacle after the step, else 0;
    * ``reward_success = success_bonus`` if ``distance < goal_radius`` after the step, else 0.

    **Episode end**: ``terminated`` on success; truncation comes from the ``TimeLimit``
    set at registration. ``info`` also has ``distance``, ``collision`` and ``is_success``.

    Subclasses implement :meth:`_sample_task`, drawing only from ``self.np_random``, so
    ``reset(seed=s)`` reproduces an episode exactly.

    Args:
        walls: Static wall boxes of the task.
        n_obstacles: Number of movable obstacles the task places at every reset.
        obstacle_radius: Radius of each obstacle cylinder (m).
        view_extent: Half size (m) of the area the default top-down camera shows.
        xml_file: Shared MJCF (see ``assets/point_nav.xml`` for its conventions).
        frame_skip: MuJoCo steps (0.01 s each) per env step.
        default_camera_config: Camera attributes for rendering; default: top-down view.
        control: ``"force"`` or ``"diff_drive"``.
        force_gear: Force (N) of a full command (see Action).
        progress_weight: Weight of the progress term, >= 0.
        ctrl_cost_weight: Weight of the control cost, >= 0.
        collision_cost_weight: Penalty per step in collision, >= 0.
        success_bonus: Bonus on reaching the goal, >= 0.
        goal_radius: Success distance (m), > 0.
        n_rays: Number of rangefinder rays, >= 1.
        rangefinder_range: Range (m) at which readings are clipped, > 0.
        reset_noise_scale: Half width of the uniform noise on the initial velocities
            ``(vx, vy, omega)``, >= 0. (Start, goal and heading are drawn by the task.)
        **kwargs: Passed to :class:`~gymnasium.envs.mujoco.MujocoEnv` (``render_mode``,
            ``width``, ``height``, ``camera_id``, ...).

    Raises:
        ValueError: If an argument is outside its documented range.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (Gymnasium convention, replaced per instance)
        "render_modes": ["human", "rgb_array", "depth_array", "rgbd_tuple"],
    }

    def __init__(
        self,
        *,
        walls: Sequence[WallBox],
        n_obstacles: int = 0,
        obstacle_radius: float = 0.2,
        view_extent: float = 2.5,
        xml_file: str = DEFAULT_XML,
        frame_skip: int = 5,
        default_camera_config: dict[str, Any] | None = None,
        control: Control = "force",
        force_gear: float = 2.0,
        progress_weight: float = 10.0,
        ctrl_cost_weight: float = 0.01,
        collision_cost_weight: float = 0.1,
        success_bonus: float = 10.0,
        goal_radius: float = 0.3,
        n_rays: int = 8,
        rangefinder_range: float = 2.0,
        reset_noise_scale: float = 0.1,
        **kwargs: Any,
    ) -> None:
        if control not in CONTROL_MODES:
            raise ValueError(f"control must be one of {CONTROL_MODES}, got {control!r}")
        if frame_skip < 1:
            raise ValueError(f"frame_skip must be >= 1, got {frame_skip}")
        for name, value in (
            ("progress_weight", progress_weight),
            ("ctrl_cost_weight", ctrl_cost_weight),
            ("collision_cost_weight", collision_cost_weight),
            ("success_bonus", success_bonus),
            ("reset_noise_scale", reset_noise_scale),
        ):
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        for name, value in (
            ("goal_radius", goal_radius),
            ("rangefinder_range", rangefinder_range),
            ("force_gear", force_gear),
            ("view_extent", view_extent),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if n_rays < 1:
            raise ValueError(f"n_rays must be >= 1, got {n_rays}")

        self._walls = list(walls)
        self._n_obstacles = n_obstacles
        self._obstacle_radius = obstacle_radius
        self._control: Control = control
        self._force_gear = force_gear
        self._n_rays = n_rays
        self._progress_weight = progress_weight
        self._ctrl_cost_weight = ctrl_cost_weight
        self._collision_cost_weight = collision_cost_weight
        self._success_bonus = success_bonus
        self._goal_radius = goal_radius
        self._rangefinder_range = rangefinder_range
        self._reset_noise_scale = reset_noise_scale

        if default_camera_config is None:
            default_camera_config = {
                "distance": 2.6 * view_extent,
                "elevation": -90.0,
                "azimuth": 90.0,
                "lookat": np.array([0.0, 0.0, 0.0]),
            }
        observation_space = Box(
            low=-np.inf, high=np.inf, shape=(OBS_BASE_SIZE + n_rays,), dtype=np.float64
        )
        MujocoEnv.__init__(
            self,
            xml_file,
            frame_skip,
            observation_space=observation_space,
            default_camera_config=default_camera_config,
            **kwargs,
        )
        self.metadata = {
            "render_modes": ["human", "rgb_array", "depth_array", "rgbd_tuple"],
            "render_fps": int(np.round(1.0 / self.dt)),
        }

        model = self.model
        self._robot_geom = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, "robot")
        self._robot_radius = float(model.geom_size[self._robot_geom, 0])
        # Walls and obstacles: everything the robot can collide with.
        self._blocking = (model.geom_conaffinity & model.geom_contype[self._robot_geom]) > 0
        self._blocking[self._robot_geom] = False
        self._goal_mocap = int(model.body_mocapid[model.body("goal").id])
        self._obstacle_mocap = np.array(
            [model.body_mocapid[model.body(f"obstacle{i}").id] for i in range(n_obstacles)],
            dtype=np.int64,
        )
        self._ray_adr = np.array(
            [model.sensor_adr[model.sensor(f"ray{i}").id] for i in range(n_rays)],
            dtype=np.int64,
        )
        # The rays are consecutive in ``sensordata`` (one value each): read them as a slice.
        first = int(self._ray_adr[0])
        self._rays: slice | NDArray[np.int64] = (
            slice(first, first + n_rays)
            if np.array_equal(self._ray_adr, np.arange(first, first + n_rays))
            else self._ray_adr
        )
        self._goal = np.zeros(2)
        self._goal_xy = (0.0, 0.0)
        self._obstacles = np.zeros((n_obstacles, 2))
        self._distance = 0.0

    # ------------------------------------------------------------------ model
    def _initialize_simulation(self) -> tuple[mujoco.MjModel, mujoco.MjData]:
        """Compile the shared MJCF plus this task's walls, obstacles, rays and actuators."""
        model = build_model(
            self.fullpath,
            self._walls,
            n_obstacles=self._n_obstacles,
            obstacle_radius=self._obstacle_radius,
            n_rays=self._n_rays,
            control=self._control,
            force_gear=self._force_gear,
        )
        # As MujocoEnv does: grow, never shrink, the offscreen framebuffer.
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, self.width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, self.height)
        return model, mujoco.MjData(model)

    def _step_mujoco_simulation(self, ctrl: NDArray, n_frames: int) -> None:
        """Step the physics, then recompute positions, contacts and sensors for the new state.

        ``mj_step`` evaluates sensors and contacts *before* integrating, so after it they
        describe the state one substep ago; the closing position stage (``mj_fwdPosition``:
        kinematics and contacts, then ``mj_sensorPos``: the rangefinders) makes the readings
        and the collision check refer to the state the observation reports. Nothing reads
        the sensors of the intermediate substeps, so they are switched off while stepping;
        the dynamics do not depend on either, so trajectories are unchanged.
        """
        model, data = self.model, self.data
        data.ctrl[:] = ctrl
        model.opt.disableflags |= _SENSORS_OFF
        try:
            mujoco.mj_step(model, data, nstep=n_frames)
        finally:
            model.opt.disableflags &= ~_SENSORS_OFF
        mujoco.mj_fwdPosition(model, data)
        mujoco.mj_sensorPos(model, data)

    # ------------------------------------------------------------------ task hooks
    def _sample_task(self) -> tuple[NDArray, NDArray, NDArray]:
        """Draw the start position, goal position and obstacle positions of an episode.

        Must draw only from ``self.np_random``.

        Returns:
            ``(start_xy, goal_xy, obstacles_xy)`` with shapes ``(2,)``, ``(2,)`` and
            ``(n_obstacles, 2)``.
        """
        raise NotImplementedError

    # ------------------------------------------------------------------ public helpers
    @property
    def goal(self) -> NDArray:
        """The goal position ``(x, y)`` of the current episode (a copy)."""
        return self._goal.copy()

    @property
    def obstacles(self) -> NDArray:
        """Obstacle centres ``(n_obstacles, 2)`` of the current episode (a copy)."""
        return self._obstacles.copy()

    @property
    def robot_radius(self) -> float:
        """Radius (m) of the robot's collision sphere."""
        return self._robot_radius

    @property
    def control(self) -> Control:
        """The control mode, ``"force"`` or ``"diff_drive"``."""
        return self._control

    def in_collision(self) -> bool:
        """Whether the robot's geom currently touches a wall or an obstacle."""
        ncon = self.data.ncon
        if ncon == 0:
            return False
        pairs = self.data.contact.geom[:ncon]
        involves_robot = (pairs == self._robot_geom).any(axis=1)
        if not involves_robot.any():
            return False
        others = np.where(pairs[:, 0] == self._robot_geom, pairs[:, 1], pairs[:, 0])
        return bool(self._blocking[others[involves_robot]].any())

    # ------------------------------------------------------------------ gym API
    def step(
        self, action: NDArray
    ) -> tuple[NDArray[np.float64], np.float64, bool, bool, dict[str, Any]]:
        """Apply ``action`` for ``frame_skip`` physics steps (see the class docstring).

        Returns:
            ``(observation, reward, terminated, truncated, info)``; ``reward`` is a
            ``np.float64`` (a ``float`` subclass, as ``MujocoEnv.step`` declares).
        """
        action = np.asarray(action, dtype=np.float64)
        self.do_simulation(action, self.frame_skip)

        distance = self._goal_distance()
        collision = self.in_collision()
        success = distance < self._goal_radius
        reward, reward_info = self._get_rew(action, distance, collision, success)
        self._distance = distance
        observation = self._get_obs()
        info: dict[str, Any] = {
            **reward_info,
            "distance": distance,
            "collision": collision,
            "is_success": success,
        }
        if self.render_mode == "human":
            self.render()
        # truncation=False: the time limit is the TimeLimit wrapper added at registration.
        return observation, np.float64(reward), success, False, info

    def _get_rew(
        self, action: NDArray, distance: float, collision: bool, success: bool
    ) -> tuple[float, dict[str, float]]:
        # Plain floats: the same IEEE arithmetic as NumPy on two entries, a fraction of the cost.
        applied = [min(max(a, -1.0), 1.0) for a in action.tolist()]
        reward_progress = self._progress_weight * (self._distance - distance)
        reward_ctrl = -self._ctrl_cost_weight * sum(a * a for a in applied)
        reward_collision = -self._collision_cost_weight if collision else 0.0
        reward_success = self._success_bonus if success else 0.0
        reward = reward_progress + reward_ctrl + reward_collision + reward_success
        reward_info = {
            "reward_progress": reward_progress,
            "reward_ctrl": reward_ctrl,
            "reward_collision": reward_collision,
            "reward_success": reward_success,
        }
        return reward, reward_info

    def reset_model(self) -> NDArray[np.float64]:
        """Place goal and obstacles, set the robot's start state; return the observation."""
        start, goal, obstacles = self._sample_task()
        heading = self.np_random.uniform(-np.pi, np.pi)
        noise = self._reset_noise_scale
        qvel = self.np_random.uniform(low=-noise, high=noise, size=self.model.nv)

        self._goal = np.asarray(goal, dtype=np.float64).copy()
        self._goal_xy = (float(self._goal[0]), float(self._goal[1]))
        self._obstacles = np.asarray(obstacles, dtype=np.float64).reshape(-1, 2).copy()
        if len(self._obstacles) != self._n_obstacles:
            raise RuntimeError(
                f"{type(self).__name__}._sample_task returned {len(self._obstacles)} obstacle "
                f"positions for a model with n_obstacles={self._n_obstacles}"
            )
        self.data.mocap_pos[self._goal_mocap] = [*self._goal, ROBOT_HEIGHT]
        for mocap, (x, y) in zip(self._obstacle_mocap, self._obstacles, strict=True):
            self.data.mocap_pos[mocap] = [x, y, WALL_HALF_HEIGHT]

        qpos = np.array([start[0], start[1], heading], dtype=np.float64)
        self.set_state(qpos, qvel)  # runs mj_forward: sensors and contacts are current
        self._distance = self._goal_distance()
        return self._get_obs()

    def _get_reset_info(self) -> dict[str, Any]:
        return {
            "distance": self._distance,
            "goal": self._goal.copy(),
            "collision": self.in_collision(),
            "is_success": False,
        }

    def _goal_distance(self) -> float:
        x, y = self.data.qpos[:2].tolist()
        goal_x, goal_y = self._goal_xy
        return math.hypot(goal_x - x, goal_y - y)

    def _get_obs(self) -> NDArray[np.float64]:
        # Scalars as Python floats and one preallocated array: this runs every step, and
        # NumPy's per-call overhead on 2- and 3-vectors dominated the step's Python time.
        x, y, heading = self.data.qpos[:3].tolist()
        vx, vy, omega = self.data.qvel[:3].tolist()
        cos_h, sin_h = math.cos(heading), math.sin(heading)
        goal_x, goal_y = self._goal_xy
        dx, dy = goal_x - x, goal_y - y
        obs = np.empty(OBS_BASE_SIZE + self._n_rays, dtype=np.float64)
        obs[:OBS_BASE_SIZE] = (
            x,
            y,
            vx,
            vy,
            cos_h,
            sin_h,
            omega,
            cos_h * dx + sin_h * dy,
            -sin_h * dx + cos_h * dy,
            math.hypot(dx, dy),
        )
        readings = self.data.sensordata[self._rays]
        limit = self._rangefinder_range
        rays = obs[OBS_BASE_SIZE:]
        np.minimum(readings, limit, out=rays)
        rays[readings < 0.0] = limit  # -1: no hit within the sensor's cutoff
        rays /= limit
        return obs
