"""A finished run's saved agent played back: ``rl-lr evaluate RUN_DIR`` and
:func:`evaluate_run` -- N episodes of its ``model.zip`` (written by ``rl-lr train
--save-model``), on the clean reward or a perturbed one, deterministic or stochastic, and
optionally a video (MP4 or GIF) of the first episodes, in the spirit of rl-baselines3-zoo's
``enjoy`` and ``record_video``.

The env is the run's own (``config.yaml``'s ``agent`` section: env id and ``env_kwargs``),
one instance, ``Monitor(perturbations(gym.make(env_id)))``: episode ``k`` starts from the env's
``(k + 1)``-th reset after ``reset(seed=seed)``, as in the run's evaluations
(:mod:`rl_lr.agents.evaluation`). A run that normalised observations is played with the
``VecNormalize`` statistics of its last checkpoint (``checkpoint/state.pkl``, written with
``model.zip``). Each episode reports its return on the reward the agent was played with
(``return``: the perturbed one with ``perturb``) and on the env's own reward
(``clean_return``); they are equal without a perturbation.

Rendering MuJoCo envs without a display needs an off-screen OpenGL backend: ``rl-lr evaluate
--video`` picks ``MUJOCO_GL=egl``, else ``osmesa``, unless ``MUJOCO_GL`` is set
(:func:`rl_lr.cli.evaluate.headless_gl`, before anything imports MuJoCo); a Python caller sets
``MUJOCO_GL`` itself before creating a MuJoCo env.
Videos are written with imageio: ``.gif`` with Pillow, ``.mp4`` with imageio-ffmpeg.

Example:
    >>> import tempfile, pathlib
    >>> from rl_lr.run import TrainConfig, train
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> config = TrainConfig(env="CartPole-v1", algo="ppo", steps=128, n_envs=1,
    ...                      eval_episodes=1, overrides={"n_steps": 64, "batch_size": 64})
    >>> _ = train(config, out, save_model=True)
    >>> played = evaluate_run(out, episodes=2, seed=3)
    >>> len(played.episodes), played.episodes[0].ret == played.episodes[0].clean_return
    (2, True)
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecNormalize

from rl_lr.agents import resolve_algo
from rl_lr.envs import apply_perturbations, parse_perturbations
from rl_lr.errors import SpecError
from rl_lr.files import read_yaml
from rl_lr.run import checkpoint
from rl_lr.schema import CONFIG_YAML, MODEL_ZIP

__all__ = ["VIDEO_SUFFIXES", "Episode", "Playback", "evaluate_run", "write_video"]

#: The video formats :func:`write_video` writes.
VIDEO_SUFFIXES = (".gif", ".mp4")


@dataclass(frozen=True)
class Episode:
    """One played episode: ``ret`` on the reward played with, ``clean_return`` on the env's
    own reward, ``length`` in steps."""

    ret: float
    clean_return: float
    length: int


@dataclass
class Playback:
    """What :func:`evaluate_run` played: the episodes, and the video's frame count."""

    run_dir: Path
    episodes: list[Episode]
    deterministic: bool
    perturb: str | None
    frames: int = 0
    video: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def returns(self) -> list[float]:
        """The episodes' returns on the reward played with."""
        return [e.ret for e in self.episodes]


def _agent_section(run_dir: Path) -> dict[str, Any]:
    document = read_yaml(run_dir / CONFIG_YAML, "run config") if (
        run_dir / CONFIG_YAML).exists() else None
    if not isinstance(document, dict) or not isinstance(document.get("agent"), dict):
        raise SpecError(f"{run_dir}: no config.yaml with an agent section; not an rl-lr run "
                        "directory")
    if not (run_dir / MODEL_ZIP).exists():
        raise SpecError(f"{run_dir}: no {MODEL_ZIP}; train with `rl-lr train --save-model` "
                        "(a diverged run saves none)")
    agent: dict[str, Any] = document["agent"]
    return agent


def _normalizer(run_dir: Path) -> VecNormalize:
    """The observation statistics of the run's last checkpoint (a non-updating copy)."""
    directory = checkpoint.checkpoint_dir(run_dir)
    if directory is None:
        raise SpecError(f"{run_dir}: the run normalises observations, but its statistics "
                        "(checkpoint/state.pkl) are missing")
    with (directory / checkpoint.STATE).open("rb") as handle:
        state = pickle.load(handle)
    env = pickle.loads(state.env)
    while not isinstance(env, VecNormalize):
        if not hasattr(env, "venv"):
            raise SpecError(f"{run_dir}: the checkpoint holds no VecNormalize statistics")
        env = env.venv
    env.training = False
    return env


def _make_env(agent: dict[str, Any], perturb: Any, episodes: int,
              render: bool) -> gym.Env[Any, Any]:
    kwargs = dict(agent.get("env_kwargs") or {})
    if render:
        kwargs["render_mode"] = "rgb_array"
    env = gym.make(agent["env_id"], **kwargs)
    perturbations = parse_perturbations(perturb)
    if perturbations:
        horizon = env.spec.max_episode_steps if env.spec is not None else None
        try:
            env = apply_perturbations(env, perturbations,
                                      total_timesteps=episodes * horizon if horizon else None)
        except ValueError as err:
            raise SpecError(f"--perturbation: {err}") from None
    return Monitor(env)


def _frame(env: gym.Env[Any, Any]) -> np.ndarray[Any, Any]:
    try:
        frame = env.render()
    except Exception as err:  # the backends raise anything from ImportError to GLError
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SpecError(
            f"cannot render {env.spec.id if env.spec else 'the env'} ({message}); for MuJoCo "
            "without a display set MUJOCO_GL=egl or MUJOCO_GL=osmesa (apt: libegl1 or "
            "libosmesa6)") from None
    return np.asarray(frame, dtype=np.uint8)


def _play(model: BaseAlgorithm, env: gym.Env[Any, Any], normalizer: VecNormalize | None,
          episode: int, seed: int, deterministic: bool,
          frames: list[np.ndarray[Any, Any]] | None) -> Episode:
    observation, _ = env.reset(seed=seed) if episode == 0 else env.reset()
    clean = 0.0
    if frames is not None:
        frames.append(_frame(env))
    while True:
        batch = ({key: np.asarray(value)[None] for key, value in observation.items()}
                 if isinstance(observation, dict) else np.asarray(observation)[None])
        if normalizer is not None:
            batch = normalizer.normalize_obs(batch)
        action, _ = model.predict(batch, deterministic=deterministic)
        observation, reward, terminated, truncated, info = env.step(action[0])
        clean += float(info.get("clean_reward", reward))
        if frames is not None:
            frames.append(_frame(env))
        if terminated or truncated:
            return Episode(float(info["episode"]["r"]), clean, int(info["episode"]["l"]))


def write_video(frames: list[np.ndarray[Any, Any]], path: Path, fps: float) -> None:
    """Write RGB frames as a GIF (Pillow) or an MP4 (imageio-ffmpeg, H.264)."""
    # Lazy: imageio and its plugins load only when a video is written.
    import imageio.v2 as imageio

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        if path.suffix.lower() == ".gif":
            imageio.mimsave(tmp, list[Any](frames), duration=1000.0 / fps, loop=0)
        else:
            writer: Any = imageio.get_writer(tmp, fps=fps, codec="libx264",
                                             macro_block_size=2, ffmpeg_log_level="error")
            with writer:
                for frame in frames:
                    writer.append_data(frame)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # no half-written video left behind
        raise


def evaluate_run(run_dir: Path, episodes: int = 10, *, seed: int = 0, perturb: Any = None,
                 deterministic: bool = True, video: Path | None = None,
                 video_episodes: int = 1) -> Playback:
    """Play the saved agent of ``run_dir`` (module docstring).

    Args:
        run_dir: a run directory with ``model.zip`` (``rl-lr train --save-model``).
        episodes: episodes to play.
        seed: seeds the env's first reset and the policy's sampling.
        perturb: reward perturbation spec(s) to play with (``None``: the clean reward).
        deterministic: the policy's mode action (``False``: sample actions).
        video: write a ``.gif`` or ``.mp4`` of the first ``video_episodes`` episodes here.
        video_episodes: episodes in the video.

    Raises:
        SpecError: not a run directory with a model, a bad spec or video name, or an env that
            cannot render; nothing is written then.
    """
    for name, value in (("episodes", episodes), ("video_episodes", video_episodes)):
        if type(value) is not int or value < 1:
            raise SpecError(f"{name} must be a positive integer, got {value!r}")
    if type(seed) is not int or seed < 0:
        raise SpecError(f"seed must be an integer >= 0, got {seed!r}")
    if video is not None and video.suffix.lower() not in VIDEO_SUFFIXES:
        raise SpecError(f"--video {video}: write a {' or '.join(VIDEO_SUFFIXES)} file")
    agent = _agent_section(run_dir)
    env = _make_env(agent, perturb, episodes, render=video is not None)
    info = resolve_algo(agent["algo"])
    model = info.cls.load(run_dir / MODEL_ZIP, device="cpu")
    model.set_random_seed(seed)
    normalizer = _normalizer(run_dir) if agent.get("normalize") is not None else None
    frames: list[np.ndarray[Any, Any]] = []
    played = []
    try:
        for k in range(episodes):
            recording = video is not None and k < video_episodes
            played.append(_play(model, env, normalizer, k, seed, deterministic,
                                frames if recording else None))
        fps = float(env.metadata.get("render_fps") or 30)
    finally:
        env.close()
    if video is not None:
        write_video(frames, video, fps)
    spelled = None if not perturb else str(perturb)  # '' and [] are the clean reward
    return Playback(run_dir, played, deterministic, spelled, len(frames), video)
