"""Tests for the dynamics switches (rl_lr.envs.dynamics) and the repeated reward switch, on
real MuJoCo envs: what each switch scales, on which step, never compounded, deterministic,
training envs only, and how a run records its switch times."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml

import rl_lr.envs
import rl_lr.envs.dynamics as dynamics_module
from rl_lr.cli.main import main as cli_main
from rl_lr.envs import (
    DYNAMICS,
    PERTURBATIONS,
    apply_perturbations,
    parse_perturbations,
    switch_timesteps,
)
from rl_lr.errors import SpecError

# One example per dynamics switch (the generic reward-perturbation tests skip these names).
EXAMPLES: dict[str, str] = {
    "mass_switch": "mass_switch(at=[0.5], scale=[1.0, 2.0])",
    "friction_switch": "friction_switch(scale=[1.0, 0.3], every=20000)",
    "gain_switch": "gain_switch(at=[0.3, 0.6], scale=[1, 0.5, 1])",
    "gravity_switch": "gravity_switch(every=50000, scale=[1.0, 0.5])",
    "damping_switch": "damping_switch(every=50000, scale=[1, 3], when=reset)",
}
MUJOCO_ENVS = ["InvertedPendulum-v5", "Hopper-v5", "HalfCheetah-v5", "rl_lr/PointNav-v0"]


def model_of(env: gym.Env[Any, Any]) -> Any:
    return env.unwrapped.model  # type: ignore[attr-defined]


def test_examples_cover_the_dynamics_switches_and_cli_lists_them(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert set(EXAMPLES) == set(DYNAMICS)
    assert set(DYNAMICS) <= set(PERTURBATIONS.names())
    assert cli_main(["list", "perturbations"]) == 0
    listed = capsys.readouterr().out
    lines = {line.split("(")[0]: line for line in listed.splitlines()}
    for name in DYNAMICS:
        assert "every=None, when=step)" in lines[name] and "scale" in lines[name]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_spec_round_trips(name: str) -> None:
    spec = PERTURBATIONS.parse(EXAMPLES[name])
    assert PERTURBATIONS.parse(repr(spec)) == spec


@pytest.mark.parametrize(("spec", "fragment"), [
    ("mass_switch(scale=[1, 2])", "at"),
    ("mass_switch(at=[0.5], every=10, scale=[1, 2])", "not both"),
    ("mass_switch(at=[0.5], scale=[1, 2, 3])", "one factor per regime"),
    ("mass_switch(at=[1.5], scale=[1, 2])", "fractions"),
    ("friction_switch(every=10, scale=[1])", "at least two"),
    ("friction_switch(every=0, scale=[1, 2])", "every"),
    ("gain_switch(every=10, scale=[1, -1])", "> 0"),
    ("gravity_switch(every=10, scale=[1, nan])", "finite"),
    ("damping_switch(every=10, scale=[1, 2], when=later)", "when"),
])
def test_invalid_specs_are_one_line_errors(spec: str, fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment) as err:
        parse_perturbations(spec)
    assert "\n" not in str(err.value)


def test_gravity_may_flip_or_vanish() -> None:
    assert parse_perturbations("gravity_switch(every=10, scale=[1, 0, -1])")


@pytest.mark.parametrize("env_id", MUJOCO_ENVS)
@pytest.mark.parametrize("name", sorted(DYNAMICS))
def test_each_switch_scales_its_quantity_from_the_originals(name: str, env_id: str) -> None:
    spec = DYNAMICS[name](every=3, scale=(1.0, 0.5, 2.0))
    env = apply_perturbations(gym.make(env_id), spec)
    original = [v.copy() for v in spec.views(model_of(env))]
    _ = env.reset(seed=0)
    seen = []
    for _ in range(9):
        info = env.step(env.action_space.sample())[-1]
        seen.append(info[f"perturbation/{spec.quantity}"])
        for view, before in zip(spec.views(model_of(env)), original, strict=True):
            np.testing.assert_array_equal(view, before * seen[-1])  # never compounded
    assert seen == [1.0] * 3 + [0.5] * 3 + [2.0] * 3
    assert any(np.any(v != 0) for v in original), f"{env_id} has no {spec.quantity} to scale"
    env.close()
    for view, before in zip(spec.views(model_of(env)), original, strict=True):
        np.testing.assert_array_equal(view, before)


def test_every_counts_the_steps_of_all_envs_together() -> None:
    # Period 10 over 3 envs: each env switches at its own steps ceil(10k / 3) = 4, 7, 10.
    env = apply_perturbations(gym.make("InvertedPendulum-v5"),
                              "gravity_switch(every=10, scale=[1, 0.5])", n_envs=3)
    _ = env.reset(seed=0)
    regimes = []
    for _ in range(12):
        _, _, terminated, truncated, info = env.step(np.zeros(1))
        regimes.append(info["perturbation/gravity_regime"])
        if terminated or truncated:
            _ = env.reset()
    starts = [i for i in range(1, 12) if regimes[i] != regimes[i - 1]]
    assert starts == [4, 7, 10]
    assert switch_timesteps(parse_perturbations("gravity_switch(every=10, scale=[1, 0.5])"),
                            36, 3) == [12, 21, 30]


def test_fractional_switch_lands_on_its_step_across_episodes() -> None:
    env = apply_perturbations(gym.make("InvertedPendulum-v5"),
                              "mass_switch(at=[0.5], scale=[1, 3])", total_timesteps=101)
    _ = env.reset(seed=1)
    masses = []
    for _ in range(101):
        _, _, terminated, truncated, info = env.step(np.ones(1))
        masses.append(info["perturbation/mass"])
        if terminated or truncated:
            _ = env.reset()
    assert masses.index(3.0) == 51  # ceil(0.5 * 101): the first step with progress >= 0.5
    assert set(masses[51:]) == {3.0}


def test_when_reset_waits_for_the_next_episode() -> None:
    env = apply_perturbations(gym.make("InvertedPendulum-v5"),
                              "damping_switch(every=2, scale=[1, 5], when=reset)")
    original = model_of(env).dof_damping.copy()
    _ = env.reset(seed=0)
    for _ in range(4):
        info = env.step(np.zeros(1))[-1]
    assert info["perturbation/damping"] == 1.0  # past the switch point, same episode
    _ = env.reset()  # step index 4: period 2, back to regime 0
    _ = env.step(np.zeros(1))
    _ = env.step(np.zeros(1))
    _ = env.reset()  # step index 6: period 3, regime 1
    info = env.step(np.zeros(1))[-1]
    assert info["perturbation/damping"] == 5.0
    np.testing.assert_array_equal(model_of(env).dof_damping, original * 5.0)


def trajectory(spec: str | None, seed: int, steps: int = 60) -> np.ndarray:
    env = apply_perturbations(gym.make("Hopper-v5"), spec)
    env.action_space.seed(123)
    obs, _ = env.reset(seed=seed)
    rows = [obs]
    for _ in range(steps):
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        rows.append(obs)
        if terminated or truncated:
            obs, _ = env.reset()
    return np.array(rows)


def test_same_seed_same_physics_and_the_switch_changes_it() -> None:
    spec = "gravity_switch(every=20, scale=[1, 0.2])"
    first, second = trajectory(spec, seed=5), trajectory(spec, seed=5)
    np.testing.assert_array_equal(first, second)
    clean = trajectory(None, seed=5)
    np.testing.assert_array_equal(first[:21], clean[:21])  # same until the switch
    assert not np.allclose(first[22:], clean[22:])


def test_a_non_mujoco_env_is_refused_in_one_line(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not a MuJoCo env"):
        apply_perturbations(gym.make("CartPole-v1"), "mass_switch(every=5, scale=[1, 2])")
    with pytest.raises(SpecError, match="CartPole-v1 is not a MuJoCo env"):
        rl_lr.agents.resolve("ppo", "CartPole-v1", perturb="gain_switch(every=5, scale=[1, 2])")
    out = tmp_path / "run"
    code = cli_main(["train", "--env", "CartPole-v1", "--algo", "ppo", "--steps", "64",
                     "--perturb", "mass_switch(every=5, scale=[1, 2])", "--out", str(out)])
    assert code == 2 and not out.exists()
    assert capsys.readouterr().err.count("\n") == 1


def test_repeated_reward_switch_cycles_every_n_steps_of_all_envs() -> None:
    spec = "switch(every=6, scale=[1, 10, 1, 0.1])"
    env = apply_perturbations(gym.make("CartPole-v1"), spec, n_envs=2)
    _ = env.reset(seed=0)
    rewards = []
    for _ in range(14):
        _, reward, terminated, truncated, _ = env.step(0)
        rewards.append(reward)
        if terminated or truncated:
            _ = env.reset()
    assert rewards == [1.0] * 3 + [10.0] * 3 + [1.0] * 3 + [0.1] * 3 + [1.0] * 2
    assert switch_timesteps(parse_perturbations(spec), 28, 2) == [6, 12, 18, 24]
    with pytest.raises(SpecError, match="not both"):
        parse_perturbations("switch(at=[0.5], every=10, scale=[1, 2])")
    with pytest.raises(SpecError, match="at least two"):
        parse_perturbations("switch(every=10)")


def test_training_envs_switch_and_the_evaluation_env_never_does() -> None:
    agent = rl_lr.agents.make(
        "ppo", "InvertedPendulum-v5", lr="constant(1e-3)", seed=0, n_envs=2, preset="sb3",
        total_timesteps=128, perturb="gravity_switch(every=64, scale=[1, 0.25])",
        n_steps=32, batch_size=32, n_epochs=1)
    eval_env = agent.make_eval_env()
    agent.model.learn(96)  # 96 steps of 2 envs: past the switch at 64, before the next
    for gravity in agent.env.get_attr("model"):
        assert gravity.opt.gravity[2] == pytest.approx(-9.81 * 0.25)
    assert eval_env.get_attr("model")[0].opt.gravity[2] == pytest.approx(-9.81)


def test_a_run_records_its_dynamics_switches(tmp_path: Path) -> None:
    from rl_lr.results.scores import switch_steps  # the results layer reads run directories
    from rl_lr.run import TrainConfig, train  # a real run writes its files

    config = TrainConfig(env="InvertedPendulum-v5", algo="ppo", steps=128, seed=0,
                         lr="constant(1e-3)", n_envs=2, eval_every=64, eval_episodes=1,
                         preset="sb3",
                         perturb="friction_switch(scale=[1.0, 0.3], every=50)",
                         overrides={"n_steps": 32, "batch_size": 32, "n_epochs": 1})
    train(config, tmp_path / "run")
    written = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert "friction_switch" in str(written)
    assert switch_steps("friction_switch(scale=[1.0, 0.3], every=50)", 128,
                        tmp_path / "run") == [50, 100]


def test_the_wrapper_is_exported() -> None:
    assert rl_lr.envs.DynamicsSwitchWrapper is dynamics_module.DynamicsSwitchWrapper


def test_a_stopped_run_resumes_to_the_same_bytes_across_a_switch(tmp_path: Path) -> None:
    from rl_lr.run import TrainConfig, resume, train  # a real run, stopped and resumed

    config = TrainConfig(env="InvertedPendulum-v5", algo="ppo", steps=256, seed=0,
                         lr="oracle(reset_on_change(constant(1e-3), window=2, threshold=0))",
                         optimizer="trac()", n_envs=2, eval_every=64, eval_episodes=1,
                         preset="sb3", perturb="[gravity_switch(every=96, scale=[1, 0.5]), "
                                               "gaussian(0.1)]",
                         overrides={"n_steps": 32, "batch_size": 32, "n_epochs": 1})
    whole = train(config, tmp_path / "whole", save_model=True)
    stopped = train(config, tmp_path / "stopped", save_model=True, stop_after=128)
    assert whole.status == "complete" and stopped.status == "stopped"
    assert resume(tmp_path / "stopped").status == "complete"
    progress = (tmp_path / "whole" / "progress.csv").read_text()
    assert (tmp_path / "stopped" / "progress.csv").read_text() == progress
    assert "controller/resets" in progress.splitlines()[0]  # the resets, in the run's files
