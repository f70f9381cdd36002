"""Edges of the SB3 boundary found by running sb3-contrib and standard pickling with rl-lr
attached: RecurrentPPO's provisional optimizer and padded minibatches, ``pickle`` of an
attached model, and the LR logged as ``train/learning_rate`` by policies acting per step."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from sb3_contrib import RecurrentPPO
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.callbacks import BaseCallback

import rl_lr
from rl_lr.controllers import KLAdaptive
from rl_lr.optimizers import set_optimizers
from rl_lr.sb3 import network_optimizers, silence_logger

TINY_LSTM = {"lstm_hidden_size": 8, "net_arch": [8]}


def _recurrent(**kwargs: Any) -> RecurrentPPO:
    settings = {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "seed": 0,
                "policy_kwargs": dict(TINY_LSTM)} | kwargs
    return RecurrentPPO("MlpLstmPolicy", "CartPole-v1", **settings)


def test_recurrent_ppo_with_set_optimizers_saves_and_loads(tmp_path: Path) -> None:
    """The recurrent policy builds a provisional optimizer before its LSTMs exist, then the
    real one: both calls of the saved optimizer factory succeed, and the load brings back
    the optimizer rl-lr installed, with its state."""
    model = _recurrent()
    set_optimizers(model, "sgd(momentum=0.9)")
    silence_logger(model)
    model.learn(64)
    model.save(tmp_path / "model")
    loaded = RecurrentPPO.load(tmp_path / "model")
    optimizer = loaded.policy.optimizer
    assert type(optimizer) is torch.optim.SGD and optimizer.param_groups[0]["momentum"] == 0.9
    lstm = {id(p) for p in loaded.policy.lstm_actor.parameters()}
    assert lstm <= {id(p) for group in optimizer.param_groups for p in group["params"]}
    saved = model.policy.optimizer.state_dict()["state"]
    assert saved and all(
        torch.equal(loaded_state["momentum_buffer"], saved[k]["momentum_buffer"])
        for k, loaded_state in optimizer.state_dict()["state"].items())


@dataclass(frozen=True, repr=False)
class _RecordingKL(KLAdaptive):
    """kl_adaptive that also keeps every minibatch KL it is given (test-only, not registered)."""

    seen: ClassVar[list[float]] = []

    def observe_minibatch(self, stats: dict[str, float]) -> bool:
        self.seen.append(stats["approx_kl"])
        return super().observe_minibatch(stats)


class _ApproxKL(BaseCallback):
    """SB3's ``train/approx_kl`` of each update (read when the next rollout starts)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[float] = []

    def _on_rollout_start(self) -> None:
        value = self.model.logger.name_to_value.get("train/approx_kl")
        if value is not None and self.model.logger.name_to_value.get("train/n_updates"):
            self.values.append(float(value))

    def _on_step(self) -> bool:
        return True


def test_recurrent_ppo_minibatch_kl_leaves_padded_steps_out() -> None:
    """One minibatch per epoch (batch = rollout), two epochs: the second minibatch KL that
    kl_adaptive sees is the one SB3 reports, padded steps left out by the buffer's mask, so
    the LR is not driven to its floor by padding."""
    _RecordingKL.seen.clear()
    model = _recurrent(n_epochs=2)
    silence_logger(model)
    rl_lr.attach(model, _RecordingKL(1e-3), total_timesteps=160)
    reported = _ApproxKL()
    model.learn(160, callback=reported)
    seen = _RecordingKL.seen
    assert len(seen) == 10 and len(reported.values) == 4
    last_epoch = seen[1::2][:4]  # SB3 reports the mean over the last epoch's minibatches
    # to float32 rounding: SB3 takes exp(r) - 1 - r, rl-lr the more exact expm1(r) - r
    assert last_epoch == pytest.approx(reported.values, rel=2e-2, abs=1e-9)
    assert seen[0] == 0.0 and 0 < max(seen) < 0.016  # padded steps gave 0.04-0.07 here
    assert model.policy.optimizer.param_groups[0]["lr"] > 1e-4


@pytest.mark.parametrize(("algo", "spec"), [
    ("ppo", "kl_adaptive(1e-3)"),  # rollout-buffer and policy wrappers, a step post-hook
    ("sac", {"actor": "hypergradient(1e-3)", "critic": "cosine(1e-3)",
             "ent_coef": "constant(1e-3)"}),  # step pre-hooks
    ("ppo", "cosine(1e-3)"),
])
def test_an_attached_model_pickles_and_trains_on(algo: str, spec: Any) -> None:
    if algo == "ppo":
        model: Any = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, seed=0,
                         policy_kwargs={"net_arch": [8]})
    else:
        model = SAC("MlpPolicy", "Pendulum-v1", learning_starts=32, batch_size=16, seed=0,
                    buffer_size=500, policy_kwargs={"net_arch": [8]})
    silence_logger(model)
    rl_lr.attach(model, spec, total_timesteps=256)
    model.learn(64)
    copy = pickle.loads(pickle.dumps(model))
    assert type(copy) is type(model) and isinstance(copy, PPO if algo == "ppo" else SAC)
    hook = copy._rl_lr_hook
    assert hook.model is copy and hook is not model._rl_lr_hook
    assert set(hook.optimizers.values()) == set(network_optimizers(copy).values())
    before = hook.n_updates
    copy.learn(64, reset_num_timesteps=False)
    assert hook.n_updates > before
    for name, optimizer in network_optimizers(copy).items():  # the copy's hook sets its LRs
        assert optimizer.param_groups[0]["lr"] == hook.last_lr.get(
            name, optimizer.param_groups[0]["lr"])
    assert copy.num_timesteps == 128 and model.num_timesteps == 64


@pytest.mark.parametrize(("algo", "spec"), [
    ("sac", "hypergradient(1e-3)"),
    ("ppo", "kl_adaptive(1e-3, target=1e-4)"),
])
def test_logged_learning_rate_is_the_one_the_optimizer_holds(algo: str, spec: str) -> None:
    """Policies acting per optimizer step move the LR after the update's start, where SB3
    logs it: ``train/learning_rate`` (and ``train/lr/<network>``) is the LR held after it."""
    if algo == "ppo":
        model: Any = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=1,
                         seed=0, policy_kwargs={"net_arch": [8]})
    else:
        model = SAC("MlpPolicy", "Pendulum-v1", learning_starts=32, batch_size=16, seed=0,
                    buffer_size=500, policy_kwargs={"net_arch": [8]})
    silence_logger(model)
    rl_lr.attach(model, spec, total_timesteps=128)
    model.learn(128)
    logged = model.logger.name_to_value
    held = {name: o.param_groups[0]["lr"] for name, o in network_optimizers(model).items()}
    first = next(iter(held.values()))
    assert first != pytest.approx(1e-3, rel=1e-6)  # it did move within updates
    assert first > 1e-6  # not at a clamp, where the LR at the update's start is the same
    assert logged["train/learning_rate"] == first
    for name, lr in held.items():
        if len(held) > 1:
            assert logged[f"train/lr/{name}"] == lr
