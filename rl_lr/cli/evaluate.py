"""``rl-lr evaluate``: play a run's saved agent (``model.zip``) for N episodes, on the clean
or a perturbed reward, deterministic or stochastic, and optionally record a video
(:mod:`rl_lr.run.playback`).

Prints one CSV row per episode on stdout (``episode, return, clean_return, length``) and a
summary line on stderr. For a video of a MuJoCo env without a display it chooses an off-screen
OpenGL backend (:func:`headless_gl`) before anything imports MuJoCo, and pygame's (classic
control) ``SDL_VIDEODRIVER=dummy`` unless set.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rl_lr.cli.args import positive_int

__all__ = ["GL_BACKENDS", "add_parser", "headless_gl", "run_command"]

#: MuJoCo's off-screen OpenGL backends, in the order :func:`headless_gl` tries them.
GL_BACKENDS = ("egl", "osmesa")
_GL_PROBE = ("import importlib; context = importlib.import_module('mujoco.{backend}')"
             ".GLContext(8, 8); context.make_current(); context.free()")


def add_parser(commands: Any) -> None:
    """Add ``rl-lr evaluate`` to the ``rl-lr`` sub-command parsers."""
    parser = commands.add_parser(
        "evaluate",
        help="play a run's saved agent (model.zip) for N episodes; optionally record a video",
        description="Play the agent saved by `rl-lr train --save-model` in RUN_DIR on its env "
        "(config.yaml): N episodes, on the clean reward or with --perturbation, deterministic "
        "unless --stochastic. Prints one CSV row per episode (episode, return, clean_return, "
        "length) and a summary on stderr; --video writes the first --video-episodes episodes "
        "as a .gif or .mp4 (MuJoCo renders off-screen: MUJOCO_GL=egl, else osmesa, unless "
        "MUJOCO_GL is set).",
        epilog="Example: rl-lr evaluate runs/ppo-cartpole --episodes 20 --video cartpole.gif",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                        help="a run directory with model.zip (rl-lr train --save-model)")
    parser.add_argument("--episodes", type=positive_int, default=10, metavar="N",
                        help="episodes to play (default 10)")
    parser.add_argument("--perturbation", metavar="SPEC",
                        help="play on a perturbed reward, e.g. 'gaussian(std=1.0)' "
                        "(default: the clean reward)")
    parser.add_argument("--stochastic", action="store_true",
                        help="sample actions instead of the policy's mode")
    parser.add_argument("--seed", type=int, default=0, help="seed of the episodes (default 0)")
    parser.add_argument("--video", type=Path, metavar="FILE",
                        help="write a video of the first episode(s): FILE.gif or FILE.mp4")
    parser.add_argument("--video-episodes", type=positive_int, default=1, metavar="K",
                        help="episodes in the video (default 1)")


def headless_gl() -> str | None:
    """Choose MuJoCo's off-screen OpenGL backend unless the user has (``MUJOCO_GL``): the first
    of :data:`GL_BACKENDS` that creates a context, probed in a child process (a backend that
    fails leaves this process untouched; PyOpenGL fixes its platform at first import). Sets
    ``MUJOCO_GL`` and ``PYOPENGL_PLATFORM``; returns the backend, ``None`` if none works
    (non-MuJoCo envs render without OpenGL).
    """
    if os.environ.get("MUJOCO_GL"):
        return os.environ["MUJOCO_GL"]
    for backend in GL_BACKENDS:
        env = dict(os.environ, MUJOCO_GL=backend, PYOPENGL_PLATFORM=backend)
        try:
            probe = subprocess.run([sys.executable, "-c", _GL_PROBE.format(backend=backend)],
                                   env=env, capture_output=True, timeout=120, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            os.environ["MUJOCO_GL"] = backend
            os.environ.setdefault("PYOPENGL_PLATFORM", backend)
            return backend
    return None


def _say(message: str) -> None:
    print(f"rl-lr: {message}", file=sys.stderr)


def run_command(args: argparse.Namespace) -> int:
    """``rl-lr evaluate``: returns the exit code (bad input raises SpecError -> exit 2)."""
    if args.video is not None:
        headless_gl()  # before MuJoCo is imported
        # pygame (the classic-control envs) draws off-screen: no window, no display probing
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    # Lazy: SB3, torch and the envs are not for `rl-lr --help`.
    import numpy as np

    # Lazy: SB3, torch and the envs are not for `rl-lr --help`.
    from rl_lr.run.playback import evaluate_run

    played = evaluate_run(args.run_dir, args.episodes, seed=args.seed,
                          perturb=args.perturbation, deterministic=not args.stochastic,
                          video=args.video, video_episodes=args.video_episodes)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["episode", "return", "clean_return", "length"])
    for k, episode in enumerate(played.episodes):
        writer.writerow([k, repr(episode.ret), repr(episode.clean_return), episode.length])
    returns = np.asarray(played.returns)
    mode = "deterministic" if played.deterministic else "stochastic"
    reward = "clean reward" if played.perturb is None else f"reward {played.perturb}"
    _say(f"evaluate {args.run_dir}: {len(returns)} episodes ({mode}, {reward}): return "
         f"{returns.mean():.6g} +/- {returns.std():.3g} [min {returns.min():.6g}, max "
         f"{returns.max():.6g}]")
    if played.video is not None:
        _say(f"video: {played.frames} frames in {played.video}")
    return 0
