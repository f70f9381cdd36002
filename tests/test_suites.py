"""Tests of rl_lr.envs.suites (and the docstring examples of the env-side modules)."""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import rl_lr.envs  # noqa: F401  (registers the rl_lr/* ids)
from rl_lr.envs.measured_returns import RANDOM_RETURNS, SCRIPTED_RETURNS
from rl_lr.envs.suites import SUITES, EnvEntry, describe_envs, env_entry, normalise

ENTRIES = [entry for suite in SUITES.values() for entry in suite]
ROOT = Path(__file__).resolve().parents[1]

CONTROL = (
    "Pendulum-v1", "CartPole-v1", "MountainCarContinuous-v0", "InvertedPendulum-v5",
    "InvertedDoublePendulum-v5", "Reacher-v5", "Hopper-v5", "HalfCheetah-v5", "Walker2d-v5",
    "Swimmer-v5",
)


def test_suites_have_the_issue_envs_and_match_the_measurement_script() -> None:
    assert set(SUITES) == {"control", "navigation"}
    assert SUITES["control"].ids == CONTROL
    assert SUITES["navigation"].ids == (
        "rl_lr/PointNav-v0", "rl_lr/PointNavObstacles-v0", "rl_lr/PointNavMaze-v0",
        "rl_lr/PointMaze_UMaze-v3",
    )
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        script = importlib.import_module("measure_returns")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert SUITES["control"].ids == script.CONTROL_IDS
    assert SUITES["navigation"].ids == script.NAVIGATION_IDS
    assert set(RANDOM_RETURNS) == {entry.id for entry in ENTRIES}
    assert set(SCRIPTED_RETURNS) == set(SUITES["navigation"].ids)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.id)
def test_every_suite_env_makes_and_steps(entry: EnvEntry) -> None:
    env = gym.make(entry.id)
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(3):
        obs, reward, *_ = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs) and math.isfinite(float(reward))
    env.close()


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.id)
def test_ranges_are_finite_and_ordered_and_sourced(entry: EnvEntry) -> None:
    assert all(map(math.isfinite, (entry.threshold, entry.random_return, entry.reference_return)))
    assert entry.reference_return > entry.random_return
    assert entry.threshold > entry.random_return
    assert entry.source and entry.threshold_source
    assert entry.random_return == RANDOM_RETURNS[entry.id]["mean"]
    # Gymnasium's own reward_threshold is used wherever it sets one.
    registered = gym.spec(entry.id).reward_threshold
    if registered is not None:
        assert entry.threshold == registered
        assert entry.threshold_source == "Gymnasium reward_threshold"


def test_design_facts_thresholds_and_zoo_references() -> None:
    control = SUITES["control"]
    facts = {"CartPole-v1": 475.0, "InvertedPendulum-v5": 950.0,
             "MountainCarContinuous-v0": 90.0, "Reacher-v5": -3.75, "Hopper-v5": 3800.0,
             "HalfCheetah-v5": 4800.0}
    assert {env_id: control[env_id].threshold for env_id in facts} == facts
    assert control["Pendulum-v1"].reference_return == -151.855  # zoo TD3 (DESIGN: -152)
    assert control["CartPole-v1"].reference_return == 500.0


def test_navigation_references_are_the_scripted_controllers() -> None:
    for entry in SUITES["navigation"]:
        scripted = SCRIPTED_RETURNS[entry.id]
        assert entry.reference_return == scripted["mean"]
        assert scripted["success_rate"] == 1.0
        assert RANDOM_RETURNS[entry.id]["success_rate"] < 0.5


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda entry: entry.id)
def test_normalise_maps_random_to_0_and_reference_to_1(entry: EnvEntry) -> None:
    assert normalise(entry.id, entry.random_return) == pytest.approx(0.0, abs=1e-12)
    assert normalise(entry.id, entry.reference_return) == pytest.approx(1.0)
    assert isinstance(normalise(entry.id, entry.reference_return), float)
    middle = (entry.random_return + entry.reference_return) / 2
    scores = normalise(entry.id, np.full((2, 3), middle))
    assert isinstance(scores, np.ndarray) and scores.shape == (2, 3)
    np.testing.assert_allclose(scores, 0.5)


def test_unknown_env_and_invalid_entries_raise() -> None:
    with pytest.raises(KeyError, match="in no suite"):
        normalise("Ant-v5", 0.0)
    with pytest.raises(KeyError, match="has no env"):
        SUITES["control"]["rl_lr/PointNav-v0"]
    with pytest.raises(ValueError, match="reference_return must be > random_return"):
        EnvEntry("x", "s", 1.0, random_return=2.0, reference_return=1.0, source="a",
                 threshold_source="b")
    with pytest.raises(ValueError, match="finite"):
        EnvEntry("x", "s", math.nan, 0.0, 1.0, "a", "b")


def test_describe_envs_one_line_per_env() -> None:
    lines = describe_envs()
    assert len(lines) == len(ENTRIES) == 14
    for line, entry in zip(lines, ENTRIES, strict=True):
        assert line.startswith(f"{entry.id}  {entry.suite}  threshold ")
        assert entry.source in line and "\n" not in line
    assert env_entry("Swimmer-v5").suite == "control"
