"""Checkpoints of a training run that resume to the same result as a run that never stopped.

A checkpoint is taken at an update boundary (the start of a rollout, right after an
evaluation) and holds everything the rest of the run depends on:

- ``model.zip``: SB3's own save -- weights, optimizer states, counters, the Monitor window,
  the last observation, and ``model.learning_rate``, the attached LR policy with its state;
- ``state.pkl``: the training envs *exactly* as they are (physics, episode step counters,
  Monitor sums, perturbation-wrapper generators, VecNormalize statistics and its running
  returns), the global RNG states (Python, NumPy, torch), gSDE noise matrices and action
  noise, the replay buffer (its filled part) for off-policy algorithms, and whatever the
  caller adds (the recorded rows).

MuJoCo envs normally pickle by re-running their constructor (Gymnasium's ``EzPickle``), which
loses the simulator state; :func:`snapshot` pickles their attributes (``MjData`` included)
instead. VecEnv wrappers are pickled with their full state (SB3's ``VecNormalize`` drops its
running returns otherwise).

A checkpoint directory is replaced atomically: written as ``checkpoint.tmp``, then swapped in.

Example:
    >>> import gymnasium as gym, pickle
    >>> env = gym.make("Pendulum-v1"); _ = env.reset(seed=0)
    >>> twin = pickle.loads(snapshot(env))
    >>> a = env.action_space.sample()
    >>> bool((env.step(a)[0] == twin.step(a)[0]).all())
    True
"""

from __future__ import annotations

import copy
import inspect
import io
import pickle
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import torch
from gymnasium.utils.ezpickle import EzPickle
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from rl_lr.sb3 import attach

__all__ = ["Checkpoint", "RunState", "checkpoint_dir", "load", "restore_pending", "save",
           "snapshot"]

MODEL = "model.zip"
STATE = "state.pkl"


def _new(cls: type[Any]) -> Any:
    return object.__new__(cls)


def _set_dict(obj: Any, state: dict[str, Any]) -> None:
    obj.__dict__.update(state)


def _set_wrapper_dict(obj: VecEnvWrapper, state: dict[str, Any]) -> None:
    obj.__dict__.update(state)
    obj.class_attributes = dict(inspect.getmembers(obj.__class__))


class _StatePickler(cloudpickle.CloudPickler):
    """Pickles EzPickle envs and VecEnv wrappers by their attributes, not their recipe."""

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, type):
            if isinstance(obj, VecEnvWrapper):
                state = {k: v for k, v in obj.__dict__.items() if k != "class_attributes"}
                return _new, (type(obj),), state, None, None, _set_wrapper_dict
            if isinstance(obj, EzPickle):
                return _new, (type(obj),), dict(obj.__dict__), None, None, _set_dict
        return super().reducer_override(obj)


def snapshot(obj: Any) -> bytes:
    """Pickle ``obj`` (an env, a VecEnv, ...) with its full simulator state."""
    buffer = io.BytesIO()
    _StatePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def _action_dists(model: BaseAlgorithm) -> dict[str, Any]:
    found = {}
    for owner in ("policy", "actor"):
        dist = getattr(getattr(model, owner, None), "action_dist", None)
        if dist is not None:
            found[owner] = dist
    return found


def _tensors(dist: Any) -> dict[str, torch.Tensor]:
    """The tensors a distribution carries between calls (gSDE exploration matrices, ...)."""
    return {k: v.detach().clone() for k, v in vars(dist).items() if isinstance(v, torch.Tensor)}


def _buffer_state(buffer: Any) -> dict[str, Any]:
    """The replay buffer's attributes, its arrays cut to the filled part."""
    filled = buffer.buffer_size if buffer.full else buffer.pos
    state: dict[str, Any] = {}
    for key, value in vars(buffer).items():
        if isinstance(value, np.ndarray) and value.ndim and value.shape[0] == buffer.buffer_size:
            state[key] = ("array", value[:filled].copy())
        elif isinstance(value, dict) and value and all(
            isinstance(v, np.ndarray) and v.shape[0] == buffer.buffer_size for v in value.values()
        ):
            state[key] = ("arrays", {k: v[:filled].copy() for k, v in value.items()})
        elif key != "device":
            state[key] = ("value", value)
    return state


def _restore_buffer(buffer: Any, state: dict[str, Any]) -> None:
    for key, (kind, value) in state.items():
        if kind == "array":
            getattr(buffer, key)[: len(value)] = value
        elif kind == "arrays":
            for name, array in value.items():
                getattr(buffer, key)[name][: len(array)] = array
        else:
            setattr(buffer, key, value)


@dataclass
class RunState:
    """What a resumed run continues from (see :func:`load`)."""

    model: BaseAlgorithm
    env: VecEnv
    extra: dict[str, Any]
    pending: dict[str, Any]


@dataclass
class Checkpoint:
    """Captured state that only the running process holds (see module docstring)."""

    num_timesteps: int
    env: bytes
    rng: dict[str, Any]
    action_dists: dict[str, dict[str, Any]]
    action_noise: Any
    hook_updates: int
    replay_buffer: dict[str, Any] | None
    extra: dict[str, Any]


def checkpoint_dir(out: Path) -> Path | None:
    """The run's complete checkpoint directory, if it has one."""
    for name in ("checkpoint", "checkpoint.old"):
        if (out / name / STATE).exists() and (out / name / MODEL).exists():
            return out / name
    return None


def save(out: Path, model: BaseAlgorithm, extra: dict[str, Any]) -> None:
    """Checkpoint ``model`` (its env, RNGs and buffers) and ``extra`` into ``out/checkpoint``.

    Call it at an update boundary (a rollout start), where SB3 keeps no half-done work.
    """
    hook = model.__dict__.get("_rl_lr_hook")
    buffer = getattr(model, "replay_buffer", None)
    state = Checkpoint(
        num_timesteps=int(model.num_timesteps),
        env=snapshot(model.get_env()),
        rng={"python": random.getstate(), "numpy": np.random.get_state(),
             "torch": torch.get_rng_state()},
        action_dists={k: _tensors(d) for k, d in _action_dists(model).items()},
        action_noise=copy.deepcopy(model.action_noise) if hasattr(model, "action_noise") else None,
        hook_updates=hook.n_updates if hook is not None else 0,
        replay_buffer=_buffer_state(buffer) if buffer is not None else None,
        extra=extra,
    )
    tmp = out / "checkpoint.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp / MODEL)
    with (tmp / STATE).open("wb") as handle:
        cloudpickle.dump(state, handle, protocol=pickle.HIGHEST_PROTOCOL)
    current, old = out / "checkpoint", out / "checkpoint.old"
    shutil.rmtree(old, ignore_errors=True)
    if current.exists():
        current.rename(old)
    tmp.rename(current)
    shutil.rmtree(old, ignore_errors=True)


def load(directory: Path, algo_cls: type[BaseAlgorithm], device: str = "cpu") -> RunState:
    """Rebuild the model, its envs and the LR hook from a checkpoint directory.

    Optimizers chosen with :func:`rl_lr.optimizers.set_optimizers` come back through SB3's
    own ``load`` (the choice is saved in ``policy_kwargs``), with their state.

    Args:
        directory: a directory returned by :func:`checkpoint_dir`.
        algo_cls: the algorithm class.
        device: torch device.

    Returns:
        The :class:`RunState`; pass its ``pending`` to :func:`restore_pending` at the first
        rollout start of the continued ``learn()`` (SB3 draws gSDE noise and resets action
        noise between ``learn()`` and that point).
    """
    with (directory / STATE).open("rb") as handle:
        state: Checkpoint = pickle.load(handle)
    env = pickle.loads(state.env)
    inner = env.unwrapped if isinstance(env, VecEnvWrapper) else env
    seeds, options = copy.deepcopy(inner._seeds), copy.deepcopy(inner._options)
    model = algo_cls.load(directory / MODEL, env=env, device=device, force_reset=False)
    # load() re-seeds (OffPolicyAlgorithm._setup_model): undo it. The model samples random
    # actions from the env's own action space object (SB3 shares it), whose state the env
    # snapshot holds; the env's pending reset seeds go back to what they were.
    model.action_space = env.action_space
    inner._seeds, inner._options = seeds, options
    hook = attach(model)
    hook.n_updates = state.hook_updates
    if state.replay_buffer is not None and isinstance(model, OffPolicyAlgorithm):
        _restore_buffer(model.replay_buffer, state.replay_buffer)
    if model.num_timesteps != state.num_timesteps:
        raise RuntimeError(
            f"checkpoint in {directory} is inconsistent: model at {model.num_timesteps} "
            f"steps, state at {state.num_timesteps}"
        )
    pending = {"rng": state.rng, "action_dists": state.action_dists,
               "action_noise": state.action_noise}
    return RunState(model=model, env=env, extra=state.extra, pending=pending)


def restore_pending(model: BaseAlgorithm, pending: dict[str, Any]) -> None:
    """Put back the RNG states, gSDE noise and action noise saved with the checkpoint."""
    random.setstate(pending["rng"]["python"])
    np.random.set_state(pending["rng"]["numpy"])
    torch.set_rng_state(pending["rng"]["torch"])
    dists = _action_dists(model)
    for owner, attributes in pending["action_dists"].items():
        if owner in dists:
            dists[owner].__dict__.update({k: v.clone() for k, v in attributes.items()})
    saved_noise = pending["action_noise"]
    noise = getattr(model, "action_noise", None)
    if noise is not None and saved_noise is not None:
        # in place: the running collect_rollouts() already holds this object
        noise.__dict__.update(copy.deepcopy(saved_noise.__dict__))
