"""gymnasium-robotics mazes as flat-observation envs: external navigation references.

gymnasium-robotics' ``PointMaze_*`` and ``AntMaze_*`` envs are goal-conditioned: their
observation is a ``Dict`` with ``observation``, ``achieved_goal`` and ``desired_goal``.
SB3's ``MlpPolicy`` (and rl-lr's presets) need a flat ``Box``; :class:`FlatGoalEnv` provides
it, and copies gymnasium-robotics' ``info["success"]`` to ``info["is_success"]``, the key
SB3's ``EvalCallback`` and rl-lr's navigation envs use. Rewards, termination and truncation
are never changed.

Two convenience ids are registered by ``import rl_lr.envs`` (built by
:func:`flat_robotics_env`, with the gymnasium-robotics time limit):

* ``rl_lr/PointMaze_UMaze-v3`` = ``PointMaze_UMaze-v3``: sparse reward (1 per step within
  0.45 m of the goal, else 0), continuing task (no termination), 300 steps;
* ``rl_lr/AntMaze_UMaze-v5`` = ``AntMaze_UMaze-v5``: same reward rule, 700 steps.

Any other gymnasium-robotics goal env (``PointMaze_Medium-v3``, ``AntMaze_UMazeDense-v5``,
``FetchReach-v4``, ...) is available flattened through :func:`make_robotics_env`.
gymnasium-robotics is imported only when one of these envs is made (it prints a notice about
its Adroit envs on import, which rl-lr leaves alone).

Example:
    >>> import gymnasium as gym
    >>> import rl_lr.envs
    >>> env = gym.make("rl_lr/PointMaze_UMaze-v3")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape  # observation (4) + achieved_goal (2) + desired_goal - achieved_goal (2)
    (8,)
    >>> sorted(info)
    ['is_success', 'success']
    >>> env.close()
"""

from __future__ import annotations

from typing import Any, Literal, SupportsFloat

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import EnvSpec, load_env_creator
from numpy.typing import NDArray

__all__ = ["FLATTEN_MODES", "FlatGoalEnv", "flat_robotics_env", "make_robotics_env"]

FlattenMode = Literal["relative", "concat"]

#: The layouts :class:`FlatGoalEnv` can produce.
FLATTEN_MODES: tuple[str, ...] = ("relative", "concat")

_GOAL_KEYS = ("observation", "achieved_goal", "desired_goal")


class FlatGoalEnv(gymnasium.Env[NDArray[np.float64], Any]):
    """A goal-conditioned env seen through one flat ``float64`` observation vector.

    The goal env's observation space must be a ``Dict`` with (at least) the 1-D ``Box``
    entries ``observation``, ``achieved_goal`` and ``desired_goal`` (the gymnasium-robotics
    ``GoalEnv`` convention). The flat vector is, in this order:

    * ``mode="relative"`` (default): ``[observation, achieved_goal, desired_goal -
      achieved_goal]``: the goal as an offset from where the agent is, which an MLP learns
      from more easily than two absolute positions; nothing is lost (the desired goal is the
      sum of the last two blocks), which matters for AntMaze, whose ``observation`` does not
      contain the ant's ``x, y``;
    * ``mode="concat"``: ``[observation, achieved_goal, desired_goal]``, the raw entries.

    Other ``Dict`` keys are dropped. The ``Box`` bounds follow from the entries' bounds
    (gymnasium-robotics' are unbounded, so the result is too). Reward, ``terminated`` and
    ``truncated`` pass through unchanged; ``info`` gains ``is_success`` (a copy of
    ``info[success_key]`` when present). The goal env stays reachable as :attr:`goal_env`
    (its ``compute_reward``, ``maze``, ``goal``, ...).

    Why an env that *owns* the goal env rather than a ``gymnasium.Wrapper``: SB3's
    ``check_env`` treats any env whose ``env.unwrapped`` has ``compute_reward`` as a goal
    env that must have a ``Dict`` observation, so a wrapper around a goal env can never pass
    it. Here the flat env is its own ``unwrapped``; reset, step, render and close are passed
    to the goal env, and ``reset(seed=s)`` seeds both.

    Args:
        goal_env: A goal-conditioned env (it may carry its own wrappers, e.g. a time limit).
        mode: ``"relative"`` or ``"concat"`` (see above).
        success_key: The goal env's ``info`` key copied to ``info["is_success"]``.

    Raises:
        ValueError: If ``mode`` is unknown.
        TypeError: If the observation space is not a ``Dict`` with the three 1-D ``Box``
            entries.

    Example:
        >>> import gymnasium as gym
        >>> import gymnasium_robotics
        >>> gym.register_envs(gymnasium_robotics)
        >>> env = FlatGoalEnv(gym.make("PointMaze_UMaze-v3"), mode="concat")
        >>> obs, info = env.reset(seed=0)
        >>> bool(np.array_equal(obs[-2:], env.goal_env.unwrapped.goal))  # desired_goal last
        True
        >>> info["is_success"]
        False
        >>> env.close()
    """

    def __init__(
        self,
        goal_env: gymnasium.Env[Any, Any],
        mode: FlattenMode = "relative",
        success_key: str = "success",
    ) -> None:
        if mode not in FLATTEN_MODES:
            raise ValueError(f"mode must be one of {FLATTEN_MODES}, got {mode!r}")
        space = goal_env.observation_space
        if not isinstance(space, spaces.Dict) or not all(key in space.spaces for key in _GOAL_KEYS):
            raise TypeError(
                f"FlatGoalEnv needs a Dict observation space with keys {_GOAL_KEYS}, got {space}"
            )
        boxes: list[spaces.Box] = []
        for key in _GOAL_KEYS:
            box = space.spaces[key]
            if not isinstance(box, spaces.Box) or len(box.shape) != 1:
                raise TypeError(f"observation entry {key!r} must be a 1-D Box, got {box}")
            boxes.append(box)
        observation, achieved, desired = boxes
        if mode == "relative" and achieved.shape != desired.shape:
            raise TypeError(
                "mode='relative' needs achieved_goal and desired_goal of one shape, got "
                f"{achieved.shape} and {desired.shape}"
            )
        if mode == "relative":
            with np.errstate(invalid="ignore"):
                goal_low = np.nan_to_num(desired.low - achieved.high, nan=-np.inf)
                goal_high = np.nan_to_num(desired.high - achieved.low, nan=np.inf)
        else:
            goal_low, goal_high = desired.low, desired.high
        self._goal_env = goal_env
        self._mode: FlattenMode = mode
        self._success_key = success_key
        self.observation_space = spaces.Box(
            low=np.concatenate([observation.low, achieved.low, goal_low]).astype(np.float64),
            high=np.concatenate([observation.high, achieved.high, goal_high]).astype(np.float64),
            dtype=np.float64,
        )
        self.action_space = goal_env.action_space
        self.metadata = dict(goal_env.metadata)
        self.render_mode = goal_env.render_mode

    @property
    def goal_env(self) -> gymnasium.Env[Any, Any]:
        """The goal-conditioned env this env flattens."""
        return self._goal_env

    @property
    def mode(self) -> FlattenMode:
        """The layout, ``"relative"`` or ``"concat"``."""
        return self._mode

    def flatten(self, observation: dict[str, NDArray]) -> NDArray[np.float64]:
        """The flat vector of one ``Dict`` observation (see the class docstring)."""
        achieved = np.asarray(observation["achieved_goal"], dtype=np.float64)
        desired = np.asarray(observation["desired_goal"], dtype=np.float64)
        goal = desired - achieved if self._mode == "relative" else desired
        return np.concatenate(
            [np.asarray(observation["observation"], dtype=np.float64), achieved, goal]
        )

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[NDArray[np.float64], dict[str, Any]]:
        """Reset the goal env (with the same ``seed`` and ``options``)."""
        super().reset(seed=seed)
        observation, info = self._goal_env.reset(seed=seed, options=options)
        return self.flatten(observation), self._with_success(info)

    def step(
        self, action: Any
    ) -> tuple[NDArray[np.float64], SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the goal env; flatten its observation, add ``is_success`` to its ``info``."""
        observation, reward, terminated, truncated, info = self._goal_env.step(action)
        return self.flatten(observation), reward, terminated, truncated, self._with_success(info)

    def render(self) -> Any:
        """Render the goal env."""
        return self._goal_env.render()

    def close(self) -> None:
        """Close the goal env."""
        self._goal_env.close()

    def _with_success(self, info: dict[str, Any]) -> dict[str, Any]:
        if self._success_key in info:
            info["is_success"] = bool(info[self._success_key])
        return info

    def __repr__(self) -> str:
        return f"FlatGoalEnv({self._goal_env!r}, mode={self._mode!r})"


def _register_robotics() -> None:
    """Import gymnasium-robotics, which registers its ids with Gymnasium on import."""
    import gymnasium_robotics  # ~0.3 s with MuJoCo: only once a robotics env is made

    gymnasium.register_envs(gymnasium_robotics)


def make_robotics_env(
    env_id: str, *, mode: FlattenMode = "relative", **kwargs: Any
) -> gymnasium.Env[NDArray[np.float64], Any]:
    """``gymnasium.make`` a gymnasium-robotics goal env as a :class:`FlatGoalEnv`.

    The result is what ``gymnasium.make(f"rl_lr/{env_id}")`` gives for the registered
    convenience ids: :func:`flat_robotics_env` under gymnasium-robotics' time limit, with
    Gymnasium's order enforcing and env checker; its ``spec.id`` is ``"rl_lr/" + env_id``.

    Args:
        env_id: A gymnasium-robotics id with a goal ``Dict`` observation, e.g.
            ``"PointMaze_UMaze-v3"``, ``"AntMaze_UMaze-v5"``, ``"PointMaze_MediumDense-v3"``
            (an ``"rl_lr/"`` prefix is accepted and ignored).
        mode: The flattening layout, see :class:`FlatGoalEnv`.
        **kwargs: Passed to ``gymnasium.make``: the goal env's own arguments
            (``continuing_task``, ``reward_type``, ...) and ``render_mode``,
            ``max_episode_steps``, ...

    Returns:
        The env.

    Example:
        >>> env = make_robotics_env("PointMaze_Medium-v3", continuing_task=False)
        >>> obs, info = env.reset(seed=0)
        >>> obs.dtype, env.spec.id, env.spec.max_episode_steps
        (dtype('float64'), 'rl_lr/PointMaze_Medium-v3', 600)
        >>> env.close()
    """
    env_id = env_id.removeprefix("rl_lr/")
    _register_robotics()
    robotics_spec = gymnasium.spec(env_id)
    spec = EnvSpec(
        id=f"rl_lr/{env_id}",
        entry_point="rl_lr.envs.robotics:flat_robotics_env",
        max_episode_steps=robotics_spec.max_episode_steps,
        kwargs={"robotics_id": env_id, "mode": mode},
    )
    return gymnasium.make(spec, **kwargs)


def flat_robotics_env(
    robotics_id: str, *, mode: FlattenMode = "relative", **kwargs: Any
) -> FlatGoalEnv:
    """Entry point of the ``rl_lr/PointMaze_UMaze-v3``-style ids (use ``gymnasium.make``).

    Builds the raw gymnasium-robotics env from its registered entry point and keyword
    arguments (no time limit or checker: ``gymnasium.make`` of the rl-lr id adds them, with
    the same time limit) and returns it as a :class:`FlatGoalEnv`.

    Args:
        robotics_id: The gymnasium-robotics id.
        mode: The flattening layout, see :class:`FlatGoalEnv`.
        **kwargs: Override the registered keyword arguments of ``robotics_id``.

    Returns:
        The flat env.
    """
    _register_robotics()
    spec = gymnasium.spec(robotics_id)
    if spec.entry_point is None:
        raise ValueError(f"{robotics_id} has no entry point")
    creator = (
        load_env_creator(spec.entry_point)
        if isinstance(spec.entry_point, str)
        else spec.entry_point
    )
    env = creator(**{**spec.kwargs, **kwargs})
    if not isinstance(env, gymnasium.Env):
        raise TypeError(f"{robotics_id} did not build a gymnasium.Env, got {type(env).__name__}")
    return FlatGoalEnv(env, mode=mode)
