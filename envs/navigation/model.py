"""Build the MuJoCo model of a point-navigation task from the shared MJCF and a layout.

The shared parts (physics options, floor, robot, goal marker) live in ``assets/point_nav.xml``;
:func:`build_model` loads it with :class:`mujoco.MjSpec` and adds what depends on the task:

* static box geoms for the walls (class ``wall``: ``contype=0, conaffinity=1``);
* ``n_obstacles`` mocap bodies ``obstacle{i}`` carrying one cylinder geom each, parked below
  the floor until the env places them at reset (mocap bodies are MuJoCo's supported way of
  moving static bodies at run time, so no recompilation per episode);
* ``n_rays`` sites ``ray{i}`` on the robot body, evenly spaced in heading from the robot's
  forward axis counter-clockwise, each with a ``rangefinder`` sensor of the same name (a
  rangefinder excludes the geoms of its own body, and the goal marker is a site, so neither
  the robot nor the goal is ever seen);
* two actuators for the control mode: ``"force"`` puts motors ``force_x``/``force_y`` on the
  slide joints (world-frame planar force); ``"diff_drive"`` puts thrusters
  ``wheel_left``/``wheel_right`` on the wheel sites, pushing along the robot's forward axis.
  Equal commands drive forward, unequal ones also create a yaw torque
  ``(right - left) * gear / 2 * track / 2`` (skid-steer: there is no lateral wheel constraint,
  sideways motion is only damped like any other motion).

Example:
    >>> from rl_lr.envs.navigation.layout import arena_walls
    >>> model = build_model(DEFAULT_XML, arena_walls(2.0), n_obstacles=2, n_rays=8)
    >>> model.nu, model.nsensordata, model.nmocap
    (2, 8, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import mujoco
import numpy as np

from rl_lr.envs.navigation.layout import WallBox

__all__ = [
    "CONTROL_MODES",
    "DEFAULT_XML",
    "ROBOT_HEIGHT",
    "WALL_HALF_HEIGHT",
    "Control",
    "build_model",
]

#: Path of the shared MJCF (robot, floor, goal marker).
DEFAULT_XML: str = str(Path(__file__).resolve().parent / "assets" / "point_nav.xml")

#: Height (m) of the robot's centre above the floor: rays and markers live in this plane.
ROBOT_HEIGHT: float = 0.15

Control = Literal["force", "diff_drive"]

#: The accepted values of the ``control`` argument.
CONTROL_MODES: tuple[str, ...] = ("force", "diff_drive")

#: Half height (m) of wall and obstacle geoms; their centres sit at this height.
WALL_HALF_HEIGHT: float = 0.2
_PARKED_Z = -10.0


def build_model(
    xml_file: str,
    walls: Sequence[WallBox],
    *,
    n_obstacles: int = 0,
    obstacle_radius: float = 0.2,
    n_rays: int = 8,
    control: Control = "force",
    force_gear: float = 2.0,
) -> mujoco.MjModel:
    """Compile the task model.

    Args:
        xml_file: Path of the shared MJCF; it must follow the conventions of
            ``assets/point_nav.xml`` (body/joints/geom names, wheel sites, ``wall`` class).
        walls: Static wall boxes to add to the world.
        n_obstacles: Number of movable (mocap) cylinder obstacles, >= 0.
        obstacle_radius: Radius of each obstacle cylinder (m), > 0.
        n_rays: Number of rangefinder rays around the robot, >= 1.
        control: ``"force"`` or ``"diff_drive"`` (see the module docstring).
        force_gear: Force (N) of a full command: per axis for ``"force"``, for both wheels
            together (each wheel ``force_gear / 2``) for ``"diff_drive"``; > 0.

    Returns:
        The compiled :class:`mujoco.MjModel`, with ``nu == 2``.

    Raises:
        ValueError: If an argument is outside the range given above.
    """
    if control not in CONTROL_MODES:
        raise ValueError(f"control must be one of {CONTROL_MODES}, got {control!r}")
    if n_obstacles < 0:
        raise ValueError(f"n_obstacles must be >= 0, got {n_obstacles}")
    if obstacle_radius <= 0:
        raise ValueError(f"obstacle_radius must be > 0, got {obstacle_radius}")
    if n_rays < 1:
        raise ValueError(f"n_rays must be >= 1, got {n_rays}")
    if force_gear <= 0:
        raise ValueError(f"force_gear must be > 0, got {force_gear}")

    spec = mujoco.MjSpec.from_file(xml_file)
    wall_class = spec.find_default("wall")
    world = spec.worldbody

    for i, wall in enumerate(walls):
        world.add_geom(
            wall_class,
            name=f"wall{i}",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            pos=[wall.x, wall.y, WALL_HALF_HEIGHT],
            size=[wall.half_x, wall.half_y, WALL_HALF_HEIGHT],
        )

    for i in range(n_obstacles):
        body = world.add_body(name=f"obstacle{i}", mocap=True, pos=[0.0, 0.0, _PARKED_Z])
        body.add_geom(
            wall_class,
            name=f"obstacle{i}",
            type=mujoco.mjtGeom.mjGEOM_CYLINDER,
            size=[obstacle_radius, WALL_HALF_HEIGHT, 0.0],
            material="obstacle",
        )

    robot = spec.body("robot")
    for i in range(n_rays):
        angle = 2.0 * np.pi * i / n_rays
        robot.add_site(
            name=f"ray{i}",
            zaxis=[float(np.cos(angle)), float(np.sin(angle)), 0.0],
            size=[0.01, 0.0, 0.0],
            rgba=[1.0, 0.3, 0.3, 0.5],
        )
        sensor = spec.add_sensor(
            name=f"ray{i}",
            type=mujoco.mjtSensor.mjSENS_RANGEFINDER,
            objtype=mujoco.mjtObj.mjOBJ_SITE,
            objname=f"ray{i}",
        )
        sensor.intprm[0] = 1 << int(mujoco.mjtRayDataField.mjRAYDATA_DIST)  # data="dist"

    if control == "force":
        for axis in ("x", "y"):
            spec.add_actuator(
                name=f"force_{axis}",
                target=axis,
                trntype=mujoco.mjtTrn.mjTRN_JOINT,
                gear=[force_gear, 0.0, 0.0, 0.0, 0.0, 0.0],
                ctrlrange=[-1.0, 1.0],
                ctrllimited=mujoco.mjtLimited.mjLIMITED_TRUE,
            )
    else:
        for side in ("left", "right"):
            spec.add_actuator(
                name=f"wheel_{side}",
                target=f"wheel_{side}",
                trntype=mujoco.mjtTrn.mjTRN_SITE,
                gear=[force_gear / 2.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                ctrlrange=[-1.0, 1.0],
                ctrllimited=mujoco.mjtLimited.mjLIMITED_TRUE,
            )
    return spec.compile()
