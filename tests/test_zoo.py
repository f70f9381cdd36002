"""rl-baselines3-zoo hyper-parameter files: ``rl-lr train --hyperparams FILE.yml`` and
:mod:`rl_lr.agents.zoo` (test files of our own, in the zoo's format, in tests/data/zoo/)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from stable_baselines3.common.noise import NormalActionNoise
from torch import nn

from rl_lr.agents import make
from rl_lr.agents.zoo import ZooWarning, load_zoo_entry, read_python_value
from rl_lr.cli import main
from rl_lr.errors import SpecError

ZOO = Path(__file__).parent / "data" / "zoo"


def test_an_entry_translates_every_zoo_key() -> None:
    entry = load_zoo_entry(ZOO / "ppo.yml", "CartPole-v1", "ppo")
    assert (entry.n_timesteps, entry.n_envs, entry.lr) == (256, 2, "linear(0.001)")
    assert entry.hyperparams["clip_range"] == "linear(0.2)"
    assert entry.hyperparams["policy_kwargs"] == {
        "ortho_init": False, "activation_fn": "relu", "net_arch": {"pi": [32], "vf": [32]}}
    # YAML merge keys, a normalize string, a number as the LR
    pendulum = load_zoo_entry(ZOO / "ppo.yml", "Pendulum-v1", "ppo")
    assert pendulum.hyperparams["normalize"] == {"norm_obs": True, "norm_reward": False}
    assert pendulum.lr == "constant(0.0003)" and pendulum.hyperparams["n_steps"] == 64
    assert pendulum.hyperparams["policy_kwargs"] == {"log_std_init": -2, "net_arch": [32]}


def test_zoo_action_noise_and_train_freq_build_a_real_model() -> None:
    entry = load_zoo_entry(ZOO / "td3.yml", "Pendulum-v1", "td3")
    assert entry.hyperparams["action_noise"] == {"type": "normal", "std": 0.1}
    agent = make("td3", "Pendulum-v1", entry.lr, preset="sb3", total_timesteps=200,
                 **entry.hyperparams)
    assert isinstance(agent.model.action_noise, NormalActionNoise)
    assert float(agent.model.action_noise._sigma[0]) == pytest.approx(0.1)
    assert agent.model.train_freq.frequency == 1
    assert agent.model.train_freq.unit.value == "episode"
    assert agent.hook.attached.policies["default"].value(0.0) == pytest.approx(1e-3)


def test_policy_kwargs_are_read_without_evaluating_anything(tmp_path: Path) -> None:
    assert read_python_value("dict(activation_fn=th.nn.Tanh, x=[-1, 2.5e-3], y=None)") == {
        "activation_fn": "tanh", "x": [-1, 2.5e-3], "y": None}
    assert read_python_value("dict(activation_fn=nn.Softplus)") == {
        "activation_fn": "torch.nn.Softplus"}
    marker = tmp_path / "touched"
    for text in (f"dict(a=open({str(marker)!r}, 'w'))", "os.system('true')", "nn.ReLU()",
                 "dict(optimizer_class=RMSpropTFLike)", "1 + 1", "nn.functional"):
        with pytest.raises(SpecError, match="not allowed"):
            read_python_value(text)
    assert not marker.exists()
    with pytest.raises(SpecError, match="not allowed"):
        load_zoo_entry(ZOO / "ppo.yml", "MountainCar-v0", "ppo")


def test_a_zoo_activation_reaches_the_policy() -> None:
    entry = load_zoo_entry(ZOO / "ppo.yml", "CartPole-v1", "ppo")
    agent = make("ppo", "CartPole-v1", entry.lr, preset="sb3", n_envs=1, **entry.hyperparams)
    assert agent.model.policy.activation_fn is nn.ReLU
    assert agent.model.policy.ortho_init is False


def test_unsupported_keys_missing_entries_and_unknown_keys_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"zoo key 'frame_stack' is not supported"):
        load_zoo_entry(ZOO / "ppo.yml", "Acrobot-v1", "ppo")
    with pytest.warns(ZooWarning, match="no entry for Hopper-v5.*'default' entry"):
        fallback = load_zoo_entry(ZOO / "ppo.yml", "Hopper-v5", "ppo")
    assert fallback.n_timesteps == 1_000_000 and fallback.source.endswith(" default")
    with pytest.raises(SpecError, match=r"no entry for Pendulum-v2 .*closest: Pendulum-v1"):
        load_zoo_entry(ZOO / "td3.yml", "Pendulum-v2", "td3")
    chosen = load_zoo_entry(ZOO / "ppo.yml", "Hopper-v5", "ppo", entry="CartPole-v1")
    assert chosen.n_envs == 2 and chosen.source.endswith(" CartPole-v1")
    with pytest.raises(SpecError, match=r"no entry 'Cartpole-v1'; closest: CartPole-v1"):
        load_zoo_entry(ZOO / "ppo.yml", "Hopper-v5", "ppo", entry="Cartpole-v1")
    ars = tmp_path / "ppo.yml"
    ars.write_text(yaml.safe_dump({"CartPole-v1": {"learning_rate": "exp_1e-3"}}))
    with pytest.raises(SpecError, match="learning_rate: zoo schedule 'exp_1e-3'"):
        load_zoo_entry(ars, "CartPole-v1", "ppo")
    ars.write_text(yaml.safe_dump({"CartPole-v1": {"n_step": 64}}))
    with pytest.raises(SpecError, match=r"unknown hyper-parameter 'n_step'.*'n_steps'"):
        load_zoo_entry(ars, "CartPole-v1", "ppo")


def test_train_with_a_zoo_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code = main(["train", "--hyperparams", str(ZOO / "ppo.yml"), "--env", "CartPole-v1",
                 "--lr", "plateau(1e-3)", "--set", "n_epochs=1", "--eval-episodes", "2",
                 "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert f"hyper-parameters from {ZOO / 'ppo.yml'} CartPole-v1" in capsys.readouterr().err
    config = yaml.safe_load((out / "config.yaml").read_text())
    run, agent = config["run"], config["agent"]
    assert (run["algo"], run["steps"], run["n_envs"], run["lr"]) == ("ppo", 256, 2,
                                                                     "plateau(1e-3)")
    assert agent["hyperparams"]["n_epochs"] == 1  # --set over the entry
    assert agent["hyperparams"]["n_steps"] == 64 and agent["hyperparams"]["gamma"] == 0.98
    assert agent["hyperparams"]["clip_range"] == "linear(0.2)"
    assert agent["lr"] == "plateau(constant(0.001))" and agent["preset"] == "sb3"


def test_zoo_mistakes_on_the_command_line(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "run")
    cases = [
        (["lr", "lin_1e-3"], "'lin_1e-3' is rl-baselines3-zoo's spelling; write linear(1e-3)"),
        (["train", "--hyperparams", str(ZOO / "ppo.yml"), "--env", "CartPole-v1",
          "--preset", "sb3", "--out", out], "--hyperparams replaces the preset"),
        (["train", "--hyperparams", str(ZOO / "missing.yml"), "--env", "CartPole-v1",
          "--algo", "ppo", "--out", out], "missing.yml: No such file"),
    ]
    for argv, message in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
