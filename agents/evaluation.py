"""Clean evaluation: the unperturbed evaluation env of a run and its episodes, side by side.

:func:`make_eval_env` builds ``n_envs`` clean envs (``Monitor(gym.make(env_id))``, never
perturbed) in a ``DummyVecEnv``, inside a non-updating ``VecNormalize`` when the run
normalises observations. :func:`evaluate` runs ``n_episodes`` deterministic episodes on them,
one episode per env at a time, with one forward pass for all live episodes per step
(:class:`~rl_lr.sb3.DeterministicActions`: ``model.predict``'s actions without its fixed cost
per call).

**Episode starts.** Episode ``k`` of an evaluation seeded ``s`` starts where the sequential
evaluation (:func:`evaluate_sequentially`: one env, ``VecEnv.seed(s)`` then SB3's
``evaluate_policy``, which resets the env once per finished episode) starts it: from the env's
``(k + 1)``-th reset after ``reset(seed=s)``. :func:`evaluate` gets it by resetting env ``k``
with ``seed=s`` and then ``k`` more times. That is exact because the envs draw from their
``np_random`` only in ``reset()``, never in ``step()`` (checked for CartPole-v1, Pendulum-v1,
the MuJoCo v5 envs and rl-lr's navigation envs), and a reset sets the whole state.

**Returns** are the Monitor's (``info["episode"]["r"]``, as ``evaluate_policy`` reads them) in
episode order, so their mean and standard deviation are computed over the same list as before.
Observations are batched as ``DummyVecEnv`` buffers them (cast to the observation space's
dtype) and normalised by the ``VecNormalize`` (statistics synced from the training env first).
Schedule-free optimizers are in eval mode outside ``train()`` already (see
:mod:`rl_lr.optimizers`). Finished envs are not stepped again (no auto-reset, no episode counted
twice).

**Exactness.** A policy's forward pass on a batch can differ from the row-by-row one in the last
bits (the BLAS kernel differs with the batch size): discrete actions (an argmax) are the same
unless two logits tie to ~1e-7; continuous actions can differ by ~1 ulp, which an episode's
dynamics may amplify.

Example:
    >>> from rl_lr.agents import make
    >>> agent = make("ppo", "CartPole-v1", seed=1, n_envs=1, preset="sb3", n_steps=64)
    >>> eval_env = make_eval_env(agent.spec, n_envs=3)
    >>> evaluate(agent.model, eval_env, 3, seed=7) == evaluate_sequentially(
    ...     agent.model, make_eval_env(agent.spec), 3, seed=7)
    True
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    VecEnv,
    VecNormalize,
    sync_envs_normalization,
)

from rl_lr.sb3 import DeterministicActions

__all__ = ["EvalEnvSpec", "evaluate", "evaluate_sequentially", "make_eval_env"]


class EvalEnvSpec(Protocol):
    """What :func:`make_eval_env` reads of a run (an :class:`~rl_lr.agents.AgentSpec` is one)."""

    @property
    def env_id(self) -> str: ...

    @property
    def env_kwargs(self) -> dict[str, Any]: ...

    @property
    def normalize(self) -> dict[str, Any] | None: ...


def _clean_env(env_id: str, env_kwargs: dict[str, Any]) -> gym.Env[Any, Any]:
    """One clean evaluation env: ``Monitor(gym.make(env_id, **env_kwargs))``."""
    return Monitor(gym.make(env_id, **env_kwargs))


def make_eval_env(spec: EvalEnvSpec, n_envs: int = 1) -> VecEnv:
    """The clean evaluation env of ``spec``: ``n_envs`` unperturbed envs in a ``DummyVecEnv``.

    When training normalises observations it is wrapped in a non-updating ``VecNormalize``
    that :func:`evaluate` syncs from the training env; returns stay raw (the Monitor sits below
    the normalisation). Build it with ``n_envs`` = the episodes per evaluation to run them all
    side by side.

    Raises:
        ValueError: ``n_envs`` is not a positive integer.
    """
    if type(n_envs) is not int or n_envs < 1:
        raise ValueError(f"n_envs must be a positive integer, got {n_envs!r}")
    env: VecEnv = DummyVecEnv(
        [functools.partial(_clean_env, spec.env_id, spec.env_kwargs)] * n_envs
    )
    if spec.normalize is not None:
        env = VecNormalize(env, training=False, **(spec.normalize | {"norm_reward": False}))
    return env


def _check_episodes(n_episodes: int) -> None:
    if type(n_episodes) is not int or n_episodes < 1:
        raise ValueError(f"n_episodes must be a positive integer, got {n_episodes!r}")


def _sub_envs(eval_env: VecEnv) -> list[gym.Env[Any, Any]]:
    """The Monitor-wrapped envs of an env built by :func:`make_eval_env`."""
    vec_env = eval_env.unwrapped
    if not isinstance(vec_env, DummyVecEnv) or not all(eval_env.env_is_wrapped(Monitor)):
        raise TypeError("eval_env must be a DummyVecEnv of Monitor-wrapped envs (build it with "
                        f"make_eval_env), got {eval_env!r}")
    return list(vec_env.envs)


def _start(env: gym.Env[Any, Any], seed: int, episode: int) -> Any:
    """Reset ``env`` to where episode ``episode`` of an evaluation seeded ``seed`` starts."""
    observation, _ = env.reset(seed=seed)
    for _ in range(episode):
        observation, _ = env.reset()
    return observation


def _batch(observations: list[Any], space: gym.Space[Any]) -> Any:
    """Stack observations as ``DummyVecEnv`` buffers them (cast to the space's dtype)."""
    if isinstance(space, gym.spaces.Dict):
        return {key: _batch([obs[key] for obs in observations], sub)
                for key, sub in space.spaces.items()}
    return np.stack([np.asarray(obs, dtype=space.dtype) for obs in observations])


def evaluate(model: BaseAlgorithm, eval_env: VecEnv, n_episodes: int, seed: int) -> list[float]:
    """Clean returns of ``n_episodes`` deterministic episodes seeded ``seed``, in episode order.

    Episode ``k`` runs on env ``k`` (with fewer envs than episodes, each later episode takes
    the first env that finishes), side by side with the other live episodes: one forward pass
    per step for all of them (the actions ``model.predict(..., deterministic=True)`` gives).
    Each starts where the sequential evaluation starts it (see the module docstring).

    Args:
        model: the trained (or training) SB3 model.
        eval_env: from :func:`make_eval_env` (observation statistics are synced from the
            model's env first when it normalises).
        n_episodes: episodes to run.
        seed: the evaluation's seed.

    Returns:
        The episodes' returns (the Monitor's), episode ``k`` at index ``k``.

    Raises:
        ValueError: ``n_episodes`` is not a positive integer.
        TypeError: ``eval_env`` was not built by :func:`make_eval_env`.
    """
    _check_episodes(n_episodes)
    envs = _sub_envs(eval_env)
    normalizer = eval_env if isinstance(eval_env, VecNormalize) else None
    if normalizer is not None:
        sync_envs_normalization(model.get_env(), normalizer)  # type: ignore[arg-type]
    space = eval_env.unwrapped.observation_space  # the raw space (DummyVecEnv's buffers)
    act = DeterministicActions(model)
    returns = [0.0] * n_episodes
    upcoming = iter(range(n_episodes))
    episode_of: dict[int, int] = {}  # env index -> its live episode
    observation_of: dict[int, Any] = {}
    for index, episode in zip(range(len(envs)), upcoming, strict=False):
        episode_of[index] = episode
        observation_of[index] = _start(envs[index], seed, episode)
    while episode_of:
        live = list(episode_of)
        batch = _batch([observation_of[index] for index in live], space)
        if normalizer is not None:
            batch = normalizer.normalize_obs(batch)
        actions = act(batch)
        for index, action in zip(live, actions, strict=True):
            observation, _, terminated, truncated, info = envs[index].step(action)
            if not (terminated or truncated):
                observation_of[index] = observation
                continue
            returns[episode_of[index]] = float(info["episode"]["r"])
            following = next(upcoming, None)
            if following is None:
                del episode_of[index], observation_of[index]
            else:
                episode_of[index] = following
                observation_of[index] = _start(envs[index], seed, following)
    return returns


def evaluate_sequentially(model: BaseAlgorithm, eval_env: VecEnv, n_episodes: int,
                          seed: int) -> list[float]:
    """The evaluation before batching, kept as the reference :func:`evaluate` reproduces:
    ``eval_env.seed(seed)`` then SB3's ``evaluate_policy`` on a single env, one episode after
    the other (tests and benchmarks compare the two).

    Raises:
        ValueError: ``eval_env`` has more than one env (``evaluate_policy`` would seed env
            ``i`` with ``seed + i``), or ``n_episodes`` is not a positive integer.
    """
    _check_episodes(n_episodes)
    if eval_env.num_envs != 1:
        raise ValueError(f"the sequential evaluation runs on one env, got {eval_env.num_envs}")
    if isinstance(eval_env, VecNormalize):
        sync_envs_normalization(model.get_env(), eval_env)  # type: ignore[arg-type]
    eval_env.seed(seed)
    returns, _ = evaluate_policy(model, eval_env, n_eval_episodes=n_episodes,
                                 deterministic=True, return_episode_rewards=True)
    return [float(r) for r in returns]  # type: ignore[union-attr]  # a list with episode rewards
