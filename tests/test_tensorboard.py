"""``rl-lr train --tensorboard``: SB3's scalars and rl-lr's evaluation rows (returns, the
applied LR per network, the controller state) in one event file, read back with
TensorBoard's own EventAccumulator."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rl_lr.run import TrainConfig, train
from rl_lr.run.tensorboard import TAG_PREFIX


def _events(out: Path) -> EventAccumulator:
    files = sorted((out / "tb").rglob("events.out.tfevents.*"))
    assert len(files) == 1, files  # SB3's scalars and rl-lr's in the same file
    accumulator = EventAccumulator(str(files[0]))
    accumulator.Reload()
    return accumulator


def _progress(out: Path) -> list[dict[str, str]]:
    with (out / "progress.csv").open() as handle:
        return list(csv.DictReader(handle))


def _scalars(events: EventAccumulator, column: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in events.Scalars(TAG_PREFIX + column)]


def _column(rows: list[dict[str, str]], column: str) -> list[tuple[int, float]]:
    return [(int(r["timesteps"]), float(r[column])) for r in rows
            if r[column] not in ("", "nan", "inf", "-inf")]


def test_evaluations_lr_and_controller_state_next_to_sb3_scalars(tmp_path: Path) -> None:
    out = tmp_path / "run"
    config = TrainConfig(env="CartPole-v1", algo="ppo", steps=256, seed=1,
                         lr="plateau(1e-3, patience=1)", eval_every=64, eval_episodes=2,
                         n_envs=1, overrides={"n_steps": 64, "batch_size": 64, "n_epochs": 1})
    assert train(config, out, tensorboard=True).status == "complete"
    events = _events(out)
    tags = set(events.Tags()["scalars"])
    assert {"train/learning_rate", "train/approx_kl", "time/fps"} <= tags  # SB3's own
    rows = _progress(out)
    assert [step for step, _ in _scalars(events, "eval_return_mean")] == [
        int(r["timesteps"]) for r in rows]  # every row, the final one included
    for column in ("eval_return_mean", "eval_return_std", "lr", "controller/multiplier",
                   "controller/measurements"):
        logged = _scalars(events, column)
        assert logged and [s for s, _ in logged] == [s for s, _ in _column(rows, column)]
        assert [v for _, v in logged] == pytest.approx([v for _, v in _column(rows, column)],
                                                       rel=1e-6)
    assert not any(tag.startswith(TAG_PREFIX + "train/") for tag in tags)  # SB3 logs those


def test_each_network_lr_is_logged(tmp_path: Path) -> None:
    out = tmp_path / "sac"
    config = TrainConfig(env="Pendulum-v1", algo="sac", steps=128, seed=0,
                         lr={"actor": "constant(3e-4)", "critic": "cosine(1e-3)",
                             "default": "constant(3e-4)"},
                         eval_every=64, eval_episodes=1,
                         overrides={"learning_starts": 32, "batch_size": 32,
                                    "buffer_size": 1000, "policy_kwargs.net_arch": [16]})
    assert train(config, out, tensorboard=True).status == "complete"
    events = _events(out)
    rows = _progress(out)
    for network in ("actor", "critic"):
        logged = _scalars(events, f"lr/{network}")
        assert [v for _, v in logged] == pytest.approx(
            [v for _, v in _column(rows, f"lr/{network}")], rel=1e-6)
    assert all(math.isclose(v, 3e-4, rel_tol=1e-6) for _, v in _scalars(events, "lr/actor"))
    critic = [v for _, v in _scalars(events, "lr/critic")]
    assert critic[0] == pytest.approx(1e-3) and critic[-1] < critic[0]  # the cosine decays
