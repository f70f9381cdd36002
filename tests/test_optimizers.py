"""Optimizers as an axis: every optimizer trains real agents; schedule-free modes; save/load."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

import rl_lr
from rl_lr.agents import evaluate
from rl_lr.optimizers import OPTIMIZERS, set_optimizers
from rl_lr.run import callbacks
from rl_lr.sb3 import is_schedule_free, network_optimizers
from tests.helpers import budget, make_model

EXAMPLES = {
    "adam": "adam(eps=1e-5)",
    "adamw": "adamw(weight_decay=0.001)",
    "rmsprop": "rmsprop(alpha=0.99, eps=1e-5)",
    "adagrad": "adagrad()",
    "sgd": "sgd(momentum=0.9, nesterov=true)",
    "schedulefree_adamw": "schedulefree_adamw(warmup_steps=10)",
    "prodigy": "prodigy(d_coef=0.5)",
    "adam_rel": "adam_rel(eps=1e-5)",  # rl_lr.optimizer_arms (tests/test_arms.py)
    "trac": "trac(betas=[0.9, 0.99])",
}
TORCH_CLASS = {
    "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad", "sgd": "SGD",
    "schedulefree_adamw": "AdamWScheduleFree", "prodigy": "Prodigy", "adam_rel": "AdamRel",
    "trac": "ResumableTrac",
}


def test_every_optimizer_has_an_example_and_round_trips() -> None:
    assert set(EXAMPLES) == set(OPTIMIZERS.names())
    for spec in EXAMPLES.values():
        parsed = OPTIMIZERS.parse(spec)
        assert OPTIMIZERS.parse(repr(parsed)) == parsed == pickle.loads(pickle.dumps(parsed))


@pytest.mark.parametrize("algo", ["ppo", "sac"])
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_optimizer_trains_a_real_agent(algo: str, name: str) -> None:
    model = make_model(algo)
    set_optimizers(model, EXAMPLES[name])
    lr = "constant(1.0)" if name == "prodigy" else "cosine(1e-3)"
    hook = rl_lr.attach(model, lr, total_timesteps=budget(algo))
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(budget(algo))
    optimizers = network_optimizers(model)
    for network, optimizer in optimizers.items():
        expected = "Adam" if network == "ent_coef" else TORCH_CLASS[name]
        assert type(optimizer).__name__ == expected
    assert hook.n_updates > 0
    changed = any(not torch.equal(a, b) for a, b in zip(before, model.policy.parameters(),
                                                         strict=True))
    assert changed


class ModeProbe(BaseCallback):
    """Records the schedule-free mode seen during rollouts and during optimizer steps."""

    def __init__(self) -> None:
        super().__init__()
        self.rollout_modes: set[bool] = set()
        self.step_modes: set[bool] = set()

    def _on_training_start(self) -> None:
        optimizer = self.model.policy.optimizer
        optimizer.register_step_pre_hook(
            lambda opt, args, kwargs: self.step_modes.add(opt.param_groups[0]["train_mode"]))

    def _on_step(self) -> bool:
        self.rollout_modes.add(self.model.policy.optimizer.param_groups[0]["train_mode"])
        return True


def test_schedule_free_is_in_eval_mode_except_during_updates(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the run's evaluation callback, as ``rl-lr train`` evaluates: every evaluation
    (step 0, the periodic ones at rollout starts, the run's final one) sees eval mode."""
    model = make_model("ppo")  # 64-step rollouts
    set_optimizers(model, "schedulefree_adamw")
    rl_lr.attach(model, "constant(1e-3)", total_timesteps=256)
    probe = ModeProbe()
    modes_at_eval: list[bool] = []

    def probed_evaluate(*args: Any) -> list[float]:
        modes_at_eval.append(model.policy.optimizer.param_groups[0]["train_mode"])
        return evaluate(*args)

    monkeypatch.setattr(callbacks, "evaluate", probed_evaluate)  # the real one, observed
    evaluations = callbacks.Evaluations(make_vec_env("CartPole-v1"), seed=5, every=128,
                                        n_episodes=1)
    model.learn(256, callback=[probe, evaluations])
    evaluations.record()  # the final row, as the run adds it after learn()
    assert [row["timesteps"] for row in evaluations.rows] == [0, 128, 256]
    assert probe.rollout_modes == {False}
    assert probe.step_modes == {True}
    assert modes_at_eval == [False, False, False]
    assert is_schedule_free(model.policy.optimizer)


@pytest.mark.parametrize("algo", ["ppo", "td3"])
def test_save_and_load_rebuild_the_optimizers_with_their_state(algo: str, tmp_path: Path) -> None:
    model = make_model(algo)
    spec: Any = "schedulefree_adamw" if algo == "ppo" else {
        "actor": "sgd(momentum=0.9)", "critic": "adamw"}
    set_optimizers(model, spec)
    rl_lr.attach(model, "constant(1e-3)", total_timesteps=2 * budget(algo))
    model.learn(budget(algo))
    model.save(tmp_path / "m")
    loaded = type(make_model(algo)).load(tmp_path / "m", env=model.get_env())
    for network, optimizer in network_optimizers(model).items():
        restored = network_optimizers(loaded)[network]
        assert type(restored) is type(optimizer)
        saved_state = optimizer.state_dict()["state"]
        for index, state in restored.state_dict()["state"].items():
            for key, value in state.items():
                if torch.is_tensor(value):
                    assert torch.equal(value, saved_state[index][key])
    rl_lr.attach(loaded)
    loaded.learn(budget(algo), reset_num_timesteps=False)


def test_per_network_optimizer_errors() -> None:
    model = make_model("sac")
    with pytest.raises(rl_lr.SpecError, match="entropy coefficient's optimizer is SB3's own Adam"):
        set_optimizers(model, {"actor": "sgd", "critic": "sgd", "ent_coef": "sgd"})
    with pytest.raises(rl_lr.SpecError, match="no optimizer for network"):
        set_optimizers(model, {"actor": "sgd"})
    with pytest.raises(rl_lr.SpecError, match="unknown optimizer 'sgdd'; did you mean 'sgd'"):
        set_optimizers(model, "sgdd")
    with pytest.raises(rl_lr.SpecError, match="nesterov needs momentum > 0"):
        set_optimizers(model, "sgd(nesterov=true)")
