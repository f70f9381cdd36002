"""Tests for the arms from the plasticity literature: the optimizer reset on a detected change
(rl_lr.resets), Adam-Rel and TRAC (rl_lr.optimizer_arms), Adam with beta1 = beta2, and the
oracle wrapper (rl_lr.oracles) -- on real torch optimizers and real SB3 agents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

import rl_lr
from rl_lr.agents import make
from rl_lr.cli.main import main as cli_main
from rl_lr.optimizer_arms import AdamRel, ResumableTrac
from rl_lr.optimizers import OPTIMIZERS
from rl_lr.oracles import Oracle
from rl_lr.resets import ResetOnChange
from rl_lr.signals import TrainingSignals
from rl_lr.spec import SpecError

TINY_PPO: dict[str, Any] = {"n_steps": 64, "batch_size": 32, "n_epochs": 2, "preset": "sb3"}


def adam_with_state(cls: type[torch.optim.Adam] = torch.optim.Adam,
                    steps: int = 3) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    optimizer = cls(net.parameters(), lr=1e-2)
    for _ in range(steps):
        optimizer.zero_grad()
        net(torch.randn(4, 3)).pow(2).mean().backward()
        optimizer.step()
    return net, optimizer


def signals(returns: list[float], n_updates: int = 1) -> TrainingSignals:
    return TrainingSignals(num_timesteps=n_updates * 64, progress=0.1, n_updates=n_updates,
                           new_episode_returns=tuple(returns), recent_returns=tuple(returns),
                           clean_new_episode_returns=tuple(r + 100 for r in returns),
                           clean_recent_returns=tuple(r + 100 for r in returns))


def test_the_arms_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["list", "optimizers"]) == 0
    optimizers = capsys.readouterr().out
    assert "adam_rel(" in optimizers and "trac(" in optimizers
    assert cli_main(["list", "policies"]) == 0
    policies = capsys.readouterr().out
    assert "reset_on_change(base" in policies and "window=10" in policies
    assert "oracle(base)  ORACLE" in policies


# ---------------------------------------------------------------- reset on a detected change
def test_detector_fires_on_a_drop_and_not_on_steady_learning() -> None:
    rng = np.random.default_rng(0)
    policy = ResetOnChange(rl_lr.constant(1e-3), window=10, threshold=3.0)
    rising = list(np.linspace(0, 100, 40) + rng.normal(0, 2, 40))
    for k in range(4):
        policy.observe(signals(rising[10 * k:10 * (k + 1)], k + 1))
    assert policy.state.resets == 0
    policy.observe(signals(list(20 + rng.normal(0, 2, 10)), 5))  # the return falls from ~90
    assert policy.state.resets == 1 and policy.state.pending
    assert policy.state.returns == []  # the next test waits for 2 * window new episodes
    both = ResetOnChange(rl_lr.constant(1e-3), window=5, threshold=3.0, direction="both")
    both.observe(signals([1.0, 1.1, 0.9, 1.0, 1.05, 10.0, 10.1, 9.9, 10.0, 10.05]))
    assert both.state.resets == 1  # a sudden rise (e.g. a reward-scale switch) counts too


def test_a_triggered_reset_really_clears_the_optimizer_state() -> None:
    _, optimizer = adam_with_state()
    assert len(optimizer.state) == 2
    policy = ResetOnChange(rl_lr.constant(1e-3), window=2, threshold=0.5)
    assert policy.on_optimizer_step(optimizer) is None
    assert len(optimizer.state) == 2  # nothing detected: nothing cleared
    policy.observe(signals([10.0, 10.5, 0.0, 0.5]))
    assert policy.state.pending
    policy.on_optimizer_step(optimizer)
    assert len(optimizer.state) == 0 and optimizer.state_dict()["state"] == {}
    assert policy.state.cleared == 1 and not policy.state.pending
    assert optimizer.param_groups[0]["lr"] == 1e-2  # settings stay


def test_clear_step_restarts_only_the_timestep() -> None:
    _, optimizer = adam_with_state()
    moments = [s["exp_avg"].clone() for s in optimizer.state.values()]
    policy = ResetOnChange(rl_lr.constant(1e-3), window=2, threshold=0.5, clear="step")
    policy.observe(signals([10.0, 10.5, 0.0, 0.5]))
    policy.on_optimizer_step(optimizer)
    assert [float(s["step"]) for s in optimizer.state.values()] == [0.0, 0.0]
    for state, before in zip(optimizer.state.values(), moments, strict=True):
        torch.testing.assert_close(state["exp_avg"], before)


def test_reset_on_change_clears_a_live_ppo_optimizer() -> None:
    agent = make("ppo", "CartPole-v1", seed=0, total_timesteps=640,
                 lr="reset_on_change(constant(1e-3), window=2, threshold=0, direction=both)",
                 **TINY_PPO)
    optimizer = agent.model.policy.optimizer
    sizes: list[int] = []  # len(optimizer.state) as each step starts, after rl-lr's hook ran
    optimizer.register_step_pre_hook(lambda opt, args, kwargs: sizes.append(len(opt.state)))
    agent.model.learn(640)
    policy = agent.hook.attached.policy_for("policy")
    # Each detected change clears the optimizer at its next step (the last may still wait).
    assert policy.state.cleared >= 1
    assert policy.state.cleared == policy.state.resets - policy.state.pending
    assert sizes[0] == 0 and sizes.count(0) == 1 + policy.state.cleared  # fresh at each reset
    steps_taken = len(sizes)
    counters = {float(s["step"]) for s in optimizer.state.values()}
    assert len(counters) == 1 and counters.pop() < steps_taken  # restarted, then counted on


def test_reset_on_change_composes_and_validates() -> None:
    policy = rl_lr.parse("reset_on_change(plateau(cosine(3e-4)), window=4)")
    assert policy.value(0.0) == pytest.approx(3e-4)
    assert policy.wants_gradients()
    assert "cuts" in policy.log_values() and "resets" in policy.log_values()
    with pytest.raises(SpecError, match="window"):
        rl_lr.parse("reset_on_change(3e-4, window=1)")


def test_reset_every_clears_a_live_ppo_optimizer_once_per_boundary_crossed() -> None:
    agent = make("ppo", "CartPole-v1", seed=0, total_timesteps=640,
                 lr="reset_every(constant(1e-3), every=200)", **TINY_PPO)
    optimizer = agent.model.policy.optimizer
    sizes: list[int] = []  # len(optimizer.state) as each step starts, after rl-lr's hook ran
    optimizer.register_step_pre_hook(lambda opt, args, kwargs: sizes.append(len(opt.state)))
    agent.model.learn(640)
    policy = agent.hook.attached.policy_for("policy")
    # boundaries 200, 400, 600, seen after the updates at 256, 448 and 640 steps; the last
    # one's reset waits for an update that never comes
    assert (policy.state.resets, policy.state.cleared, policy.state.pending) == (3, 2, True)
    assert sizes[0] == 0 and sizes.count(0) == 1 + policy.state.cleared
    assert policy.log_values()["cleared"] == 2.0
    with pytest.raises(SpecError, match="every must be an integer >= 1"):
        rl_lr.parse("reset_every(3e-4, every=0)")


# ---------------------------------------------------------------- Adam-Rel, TRAC, equal betas
def test_adam_rel_restarts_the_timestep_at_each_ppo_update() -> None:
    agent = make("ppo", "CartPole-v1", seed=0, total_timesteps=192,
                 lr="constant(1e-3)", optimizer="adam_rel()", **TINY_PPO)
    optimizer = agent.model.policy.optimizer
    assert isinstance(optimizer, AdamRel)
    agent.model.learn(192)  # 3 updates of 2 epochs x 2 minibatches = 4 steps each
    assert {float(s["step"]) for s in optimizer.state.values()} == {4.0}
    moments = [s["exp_avg_sq"] for s in optimizer.state.values()]
    assert all(float(m.sum()) > 0 for m in moments)  # the moments are kept


def test_trac_trains_and_its_state_loads_into_a_new_optimizer() -> None:
    agent = make("ppo", "CartPole-v1", seed=0, total_timesteps=128,
                 lr="constant(1e-3)", optimizer="trac()", **TINY_PPO)
    assert isinstance(agent.model.policy.optimizer, ResumableTrac)
    agent.model.learn(128)
    _, optimizer = adam_with_state(ResumableTrac)
    net, twin = adam_with_state(ResumableTrac, steps=0)
    twin.load_state_dict(optimizer.state_dict())
    assert twin.state["_trac"]["iter_count"] == 3
    net(torch.randn(4, 3)).pow(2).mean().backward()
    twin.step()  # the package's own state would raise KeyError here
    assert twin.state["_trac"]["iter_count"] == 4


def test_adam_with_equal_betas_is_the_adam_spec() -> None:
    spec = OPTIMIZERS.parse("adam(betas=[0.99, 0.99])")
    optimizer = spec.build(torch.nn.Linear(2, 1).parameters(), lr=1e-3)
    assert optimizer.param_groups[0]["betas"] == (0.99, 0.99)


# ---------------------------------------------------------------- oracles
def test_oracle_feeds_its_policy_the_clean_returns() -> None:
    observed = rl_lr.parse("plateau(1e-3, window=3)")
    oracle = rl_lr.parse("oracle(plateau(1e-3, window=3))")
    assert isinstance(oracle, Oracle)
    for policy in (observed, oracle):
        policy.observe(signals([1.0, 2.0, 3.0]))
    assert observed.state.metric == pytest.approx(2.0)
    assert oracle.base.state.metric == pytest.approx(102.0)
    assert oracle.log_values()["metric"] == pytest.approx(102.0)
    assert repr(oracle).startswith("oracle(")
    schedule = rl_lr.parse("oracle(cosine(1e-3))")  # nothing to observe: the schedule itself
    assert schedule.value(0.5) == rl_lr.parse("cosine(1e-3)").value(0.5)


@pytest.mark.parametrize(("inner", "level"), [
    ("plateau(1e-3, window=2)", "best"), ("volatility(1e-3, window=3)", "high"),
    ("trend(1e-3, window=2)", "level"), ("bandit(1e-3, period=1)", "last_level")])
def test_oracles_see_clean_training_returns_in_a_real_run(inner: str, level: str) -> None:
    # dropout(1.0): every observed reward is 0, the clean return is the episode's length.
    levels = {}
    for lr in (inner, f"oracle({inner})"):
        agent = make("ppo", "CartPole-v1", seed=0, total_timesteps=256, perturb="dropout(1.0)",
                     lr=lr, **TINY_PPO)
        agent.model.learn(256)
        assert all(info["r"] == 0 for info in agent.model.ep_info_buffer)
        policy = agent.hook.attached.policy_for("policy")
        state = policy.base.state if isinstance(policy, Oracle) else policy.state
        levels[lr] = getattr(state, level)
    assert levels[inner] == 0  # the observed returns: all zero
    assert levels[f"oracle({inner})"] > 5  # the clean returns: episode lengths


def test_clean_returns_equal_the_observed_ones_on_a_clean_env() -> None:
    agent = make("ppo", "CartPole-v1", seed=0, total_timesteps=128,
                 lr="oracle(plateau(1e-3))", **TINY_PPO)
    agent.model.learn(128)
    built = agent.hook.signals()
    assert built.clean_recent_returns == built.recent_returns


def test_an_experiment_must_label_its_oracles_as_such(tmp_path: Path) -> None:
    from rl_lr.experiment.file import ExperimentError, load_experiment  # the experiment layer
    from rl_lr.experiment.plan import plan_runs  # plans (and checks) an experiment file

    def plan(lr: dict[str, str]) -> list[Any]:
        path = tmp_path / "oracles.yaml"
        path.write_text(yaml.safe_dump({
            "name": "oracles", "budget": {"steps": 256},
            "grid": {"env": ["CartPole-v1"], "algo": ["ppo"], "lr": lr, "seed": [0],
                     "perturb": {"noisy": "gaussian(std=1.0)"}}}))
        return plan_runs(load_experiment(path))

    with pytest.raises(ExperimentError, match=r"grid.*lr\.plateau: an oracle .*oracle_plateau"):
        plan({"constant": "constant(1e-3)", "plateau": "oracle(plateau(1e-3))"})
    planned = plan({"oracle_plateau": "oracle(plateau(1e-3))"})
    assert [run.labels["lr"] for run in planned] == ["oracle_plateau"]
