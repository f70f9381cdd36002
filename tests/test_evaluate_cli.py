"""``rl-lr evaluate``: a saved agent played back (clean or perturbed reward, deterministic or
stochastic) and recorded as a GIF or an MP4, MuJoCo rendered headless."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pytest

from rl_lr.cli import main
from rl_lr.files import read_csv
from rl_lr.run import TrainConfig, train
from rl_lr.run.playback import evaluate_run
from rl_lr.run.recorder import eval_seed

RL_LR = [sys.executable, "-m", "rl_lr.cli"]
TINY_PPO = {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "policy_kwargs.net_arch": [16]}


@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("evaluate") / "cartpole"
    config = TrainConfig(env="CartPole-v1", algo="ppo", steps=128, seed=2, n_envs=1,
                         eval_every=64, eval_episodes=3, overrides=TINY_PPO)
    assert train(config, out, save_model=True).status == "complete"
    return out


def _decoded(path: Path) -> np.ndarray:
    reader = imageio.get_reader(path)
    frames = [frame for frame in reader]  # not list(reader): it asks len(), inf for an MP4
    reader.close()
    return np.stack(frames)


def test_clean_deterministic_play_repeats_the_runs_own_evaluation(cartpole_run: Path) -> None:
    rows = read_csv(cartpole_run / "progress.csv")
    seed = eval_seed(2, len(rows) - 1)  # the seed of the run's final evaluation
    played = evaluate_run(cartpole_run, episodes=3, seed=seed)
    assert np.mean(played.returns) == pytest.approx(float(rows[-1]["eval_return_mean"]),
                                                    abs=1e-9)
    assert all(e.ret == e.clean_return == e.length for e in played.episodes)  # CartPole: +1


def test_perturbed_and_stochastic_play(cartpole_run: Path) -> None:
    noisy = evaluate_run(cartpole_run, episodes=2, seed=0, perturb="gaussian(std=1.0)")
    assert all(e.ret != e.clean_return == e.length for e in noisy.episodes)
    lengths = {tuple(e.length for e in evaluate_run(cartpole_run, episodes=4, seed=s,
                                                     deterministic=False).episodes)
               for s in (0, 0, 1)}
    assert len(lengths) == 2  # seeded: the same seed plays the same episodes, another differs


def test_cli_writes_a_gif_and_an_mp4_that_decode(cartpole_run: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    gif = tmp_path / "videos" / "cartpole.gif"
    assert main(["evaluate", str(cartpole_run), "--episodes", "2", "--video", str(gif)]) == 0
    captured = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert [r["episode"] for r in rows] == ["0", "1"]
    recorded = int(rows[0]["length"]) + 1  # the reset frame, then one per step
    assert f"video: {recorded} frames in {gif}" in captured.err
    frames = _decoded(gif)  # Pillow merges identical consecutive frames into one
    assert 1 < frames.shape[0] <= recorded
    assert frames.shape[1:3] == (400, 600) and frames.std() > 1  # not blank
    mp4 = tmp_path / "cartpole.mp4"
    assert main(["evaluate", str(cartpole_run), "--episodes", "1", "--stochastic",
                 "--video", str(mp4), "--perturbation", "drift(offset_sigma=0.1)"]) == 0
    err = capsys.readouterr().err
    assert "(stochastic, reward drift(offset_sigma=0.1))" in err
    frames = _decoded(mp4)
    assert f"video: {frames.shape[0]} frames" in err and frames.shape[0] > 1


def test_mistakes_are_one_line(cartpole_run: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    no_model = tmp_path / "no-model"
    config = TrainConfig(env="CartPole-v1", algo="ppo", steps=64, n_envs=1, eval_episodes=1,
                         overrides=TINY_PPO)
    train(config, no_model)
    for argv, message in (
        ([str(no_model)], "no model.zip; train with `rl-lr train --save-model`"),
        ([str(tmp_path)], "not an rl-lr run directory"),
        ([str(cartpole_run), "--video", str(tmp_path / "v.avi")], "write a .gif or .mp4"),
        ([str(cartpole_run), "--perturbation", "gausian(1)"], "did you mean"),
        ([str(cartpole_run), "--seed", "-1"], "seed must be an integer >= 0, got -1"),
        ([str(cartpole_run), "--video", str(tmp_path)], "is a directory; give a file path"),
    ):
        assert main(["evaluate", *argv]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "v.avi").exists()
    assert not list(tmp_path.glob(".*"))  # no half-written video


def test_mujoco_renders_headless_with_normalised_observations(tmp_path: Path) -> None:
    out = tmp_path / "pendulum"
    config = TrainConfig(env="InvertedPendulum-v5", algo="ppo", steps=128, n_envs=1,
                         eval_episodes=1, preset="sb3",
                         overrides=TINY_PPO | {"normalize": True})
    assert train(config, out, save_model=True).status == "complete"
    video = tmp_path / "pendulum.gif"
    env = {k: v for k, v in os.environ.items()
           if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([*RL_LR, "evaluate", str(out), "--episodes", "1", "--video",
                           str(video)], env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr
    length = int(next(iter(csv.DictReader(io.StringIO(done.stdout))))["length"])
    frames = _decoded(video)
    assert frames.shape[0] == length + 1 and frames.std() > 1


def test_the_headless_backend_is_the_first_that_works_unless_the_user_chose(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from rl_lr.cli import evaluate

    monkeypatch.setenv("MUJOCO_GL", "glfw")
    assert evaluate.headless_gl() == "glfw"  # the user's choice, untouched
    monkeypatch.setenv("MUJOCO_GL", "")
    monkeypatch.setenv("PYOPENGL_PLATFORM", "")
    monkeypatch.setattr(evaluate, "GL_BACKENDS", ("no_such_backend", "egl"))
    assert evaluate.headless_gl() == "egl" == os.environ["MUJOCO_GL"]  # the first fails
    monkeypatch.setattr(evaluate, "GL_BACKENDS", ("no_such_backend",))
    monkeypatch.setenv("MUJOCO_GL", "")
    assert evaluate.headless_gl() is None and os.environ["MUJOCO_GL"] == ""
