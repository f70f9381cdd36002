"""The SB3 hook: real agents of every supported algorithm, tiny budgets."""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import pytest
import torch
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

import rl_lr
from rl_lr.sb3 import AttachedLR, GradientNorms, gradient_norm, network_optimizers
from rl_lr.signals import TrainingSignals
from tests.helpers import ALGORITHMS, LRRecorder, budget, make_model

SCHEDULE = rl_lr.cosine(1e-3, end=1e-4)


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_schedule_as_learning_rate_is_applied_and_logged(
    algo: str, lr_recorder: LRRecorder
) -> None:
    """Plain SB3 usage: ``learning_rate=rl_lr.cosine(...)``, no attach."""
    total = budget(algo)
    model = make_model(algo, SCHEDULE)
    model.learn(total, callback=lr_recorder)
    assert len(lr_recorder.rows) >= 2
    for row in lr_recorder.rows:
        expected = SCHEDULE.value(row["timesteps"] / total)
        assert row["logged"]["train/learning_rate"] == pytest.approx(expected, rel=1e-12)
        for lr in row["applied"].values():
            assert lr == pytest.approx(expected, rel=1e-12)
    assert len({row["applied"][next(iter(row["applied"]))] for row in lr_recorder.rows}) > 1


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_attached_policy_logs_the_applied_lr(algo: str, lr_recorder: LRRecorder) -> None:
    total = budget(algo)
    model = make_model(algo)
    policy = rl_lr.parse("onecycle(2e-3, pct_start=0.4)")
    rl_lr.attach(model, policy, total_timesteps=total)
    assert isinstance(model, ALGORITHMS[algo])
    model.learn(total, callback=lr_recorder)
    for row in lr_recorder.rows:
        expected = policy.value(row["timesteps"] / total)
        assert row["logged"]["train/learning_rate"] == pytest.approx(expected, rel=1e-12)
        assert all(lr == pytest.approx(expected, rel=1e-12) for lr in row["applied"].values())
        names = network_optimizers(model)
        if len(names) > 1:
            assert set(row["logged"]) == {"train/learning_rate"} | {f"train/lr/{n}" for n in names}


@pytest.mark.parametrize("algo", ["sac", "td3", "tqc"])
def test_per_network_lrs(algo: str, lr_recorder: LRRecorder) -> None:
    total = budget(algo)
    model = make_model(algo)
    networks = {
        "actor": rl_lr.cosine(1e-3),
        "critic": rl_lr.constant(3e-4),
        "ent_coef": rl_lr.linear(1e-3, end=1e-4),
    }
    if "ent_coef" not in network_optimizers(model):
        del networks["ent_coef"]
    rl_lr.attach(model, networks, total_timesteps=total)
    model.learn(total, callback=lr_recorder)
    assert lr_recorder.rows
    for row in lr_recorder.rows:
        progress = row["timesteps"] / total
        for name, policy in networks.items():
            assert row["applied"][name] == pytest.approx(policy.value(progress), rel=1e-12)
            assert row["logged"][f"train/lr/{name}"] == row["applied"][name]
        assert row["logged"]["train/learning_rate"] == row["applied"]["actor"]
    optimizers = network_optimizers(model)
    for name, policy in networks.items():
        groups = optimizers[name].param_groups
        final = policy.value(model.num_timesteps / total)
        assert all(g["lr"] == pytest.approx(final) for g in groups)


def test_per_network_default_entry_and_errors() -> None:
    model = make_model("sac")
    hook = rl_lr.attach(model, {"actor": "constant(1e-3)", "default": "constant(2e-4)"})
    assert hook.last_lr == {"actor": 1e-3, "critic": 2e-4, "ent_coef": 2e-4}
    with pytest.raises(rl_lr.SpecError, match=r"unknown network.*actr.*networks: actor, critic"):
        rl_lr.attach(model, {"actr": "constant(1e-3)", "default": "constant(1e-3)"})
    with pytest.raises(rl_lr.SpecError, match=r"no LR for network.*critic, ent_coef"):
        rl_lr.attach(model, {"actor": "constant(1e-3)"})
    with pytest.raises(rl_lr.SpecError, match="total_timesteps must be a positive integer"):
        rl_lr.attach(model, "constant(1e-3)", total_timesteps=0)
    with pytest.raises(rl_lr.SpecError, match="unknown LR policy"):
        rl_lr.attach(model, "cosin(1e-3)")


def _lr_trajectory(rows: list[dict[str, Any]]) -> list[tuple[int, dict[str, float]]]:
    return [(row["timesteps"], row["applied"]) for row in rows]


@pytest.mark.parametrize("algo", ["ppo", "sac"])
def test_save_load_continue_keeps_the_lr_trajectory(algo: str, tmp_path: Any) -> None:
    total = 2 * budget(algo)
    spec = "cosine(1e-3, warmup=0.1)" if algo == "ppo" else {
        "actor": "cosine(1e-3)", "critic": "linear(1e-3)", "default": "constant(3e-4)"}

    straight = make_model(algo)
    rl_lr.attach(straight, spec, total_timesteps=total)
    recorder = LRRecorder()
    straight.learn(total, callback=recorder)

    first = make_model(algo)
    rl_lr.attach(first, spec, total_timesteps=total)
    before, after = LRRecorder(), LRRecorder()
    first.learn(total // 2, callback=before)
    first.save(tmp_path / "half")
    cls = type(make_model(algo))
    resumed = cls.load(tmp_path / "half", env=first.get_env())
    with pytest.raises(RuntimeError, match=r"call rl_lr.attach\(model\)"):
        resumed.learn(total // 2, reset_num_timesteps=False)

    resumed = cls.load(tmp_path / "half", env=first.get_env())
    rl_lr.attach(resumed)
    assert resumed.learning_rate.total_timesteps == total
    after._updates_seen = resumed._n_updates
    resumed.learn(total // 2, reset_num_timesteps=False, callback=after)
    assert _lr_trajectory(before.rows + after.rows) == _lr_trajectory(recorder.rows)


def test_chunked_learn_follows_the_budget_not_each_call(lr_recorder: LRRecorder) -> None:
    model = make_model("ppo")
    rl_lr.attach(model, "linear(1e-3)", total_timesteps=512)
    for _ in range(4):
        model.learn(128, reset_num_timesteps=False, callback=lr_recorder)
    lrs = [row["applied"]["policy"] for row in lr_recorder.rows]
    assert lrs == sorted(lrs, reverse=True) and len(set(lrs)) == len(lrs)
    assert model.policy.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_attached_lr_pickles_with_state() -> None:
    attached = AttachedLR({"default": rl_lr.cosine(1e-3)}, total_timesteps=100)
    assert repr(pickle.loads(pickle.dumps(attached))) == repr(attached)


@rl_lr.register("signal_probe")
@dataclass(frozen=True, repr=False)
class SignalProbe(rl_lr.LRPolicy):
    """A stateful test policy: constant LR, records every TrainingSignals it is given."""

    lr: float
    seen: list[TrainingSignals] = field(default_factory=list, init=False, compare=False)

    stateful: ClassVar[bool] = True
    needs_gradients: ClassVar[bool] = True

    def _value(self, progress: float) -> float:
        return self.lr

    def observe(self, signals: TrainingSignals) -> None:
        self.seen.append(signals)


def test_signals_reach_stateful_policies_once_per_update() -> None:
    probe = SignalProbe(1e-3)
    model = make_model("ppo")
    rl_lr.attach(model, probe, total_timesteps=256)
    model.learn(256)
    assert [s.n_updates for s in probe.seen] == [1, 2, 3, 4]
    assert [s.num_timesteps for s in probe.seen] == [64, 128, 192, 256]
    assert [s.progress for s in probe.seen] == [0.25, 0.5, 0.75, 1.0]
    last = probe.seen[-1]
    assert {"approx_kl", "value_loss", "clip_fraction"} <= set(last.train_stats)
    assert last.lr == {"policy": 1e-3}
    assert last.grad_norms["policy"] > 0
    all_new = [r for s in probe.seen for r in s.new_episode_returns]
    assert all_new == [ep["r"] for ep in model.ep_info_buffer]  # < 100 episodes: none dropped
    assert math.isclose(sum(s.new_episode_lengths[i] for s in probe.seen
                            for i in range(len(s.new_episode_lengths))),
                        sum(ep["l"] for ep in model.ep_info_buffer))


def test_signals_carry_the_observed_reward_not_the_clean_one() -> None:
    """Honesty: a reward transform inside the Monitor is what the policy sees."""
    probe = SignalProbe(1e-3)
    env = DummyVecEnv([lambda: Monitor(gym.wrappers.TransformReward(
        gym.make("CartPole-v1"), lambda r: -3.0 * r))])
    model = make_model("ppo", env=env)
    rl_lr.attach(model, probe)
    model.learn(256)
    returns = [r for s in probe.seen for r in s.new_episode_returns]
    lengths = [n for s in probe.seen for n in s.new_episode_lengths]
    assert returns and returns == [-3.0 * n for n in lengths]


def test_reattach_replaces_the_hook_and_removes_gradient_hooks() -> None:
    model = make_model("ppo")
    first = rl_lr.attach(model, SignalProbe(1e-3))
    assert first._step_handles
    second = rl_lr.attach(model, "constant(5e-4)")
    assert not first._step_handles and not second._step_handles
    assert model._rl_lr_hook is second
    assert type(model).__mro__[1].__name__ == "_HookedAlgorithm"
    assert model.policy.optimizer.param_groups[0]["lr"] == 5e-4



def _norm_per_parameter(optimizer: torch.optim.Optimizer) -> float:
    """The global gradient norm as rl-lr's progress.csv has always recorded it."""
    norms = [torch.linalg.vector_norm(p.grad) for group in optimizer.param_groups
             for p in group["params"] if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms)))


@pytest.mark.parametrize(("algo", "lr"), [
    ("ppo", "constant(1e-3)"),
    ("ppo", "hypergradient(1e-3)"),  # computes its own norm: the watcher still gets this one
    ("sac", {"actor": "cosine(1e-3)", "critic": "hypergradient(1e-3)", "ent_coef": "3e-4"}),
])
def test_watched_gradient_norms_are_the_per_step_norms_bit_for_bit(algo: str, lr: Any) -> None:
    model = make_model(algo)
    hook = rl_lr.attach(model, lr, total_timesteps=budget(algo))
    window = hook.watch_gradient_norms()
    expected: dict[str, list[float]] = {}
    for name, optimizer in network_optimizers(model).items():
        optimizer.register_step_pre_hook(
            lambda opt, *_, name=name: expected.setdefault(name, []).append(
                _norm_per_parameter(opt)))
    model.learn(budget(algo))
    assert expected and window.take() == {
        name: sum(norms, 0.0) / len(norms) for name, norms in expected.items()}
    assert window.take() == {}  # a new window


def test_gradient_hooks_exist_only_while_something_needs_them() -> None:
    model = make_model("ppo")
    hook = rl_lr.attach(model, "cosine(1e-3)", total_timesteps=128)
    assert not hook._step_handles  # a schedule costs nothing per optimizer step
    window = hook.watch_gradient_norms()
    assert hook._step_handles
    again = rl_lr.attach(model, "constant(1e-3)")  # a watcher keeps its window
    assert again._watchers == [window] and again._step_handles
    model.learn(64)
    assert window.take()["policy"] > 0
    again.unwatch_gradient_norms(window)
    assert not again._step_handles
    assert gradient_norm(torch.optim.SGD([torch.nn.Parameter(torch.ones(2))])) is None


def test_gradient_norm_window_means() -> None:
    window = GradientNorms()
    for norm in (1.0, 2.0, 4.0):
        window.add("critic", norm)
    window.add("actor", 3.0)
    assert window.means() == {"critic": 7.0 / 3, "actor": 3.0}
    window.clear()
    assert window.means() == {}


def test_schedule_on_a_plain_model_pickles_inside_the_zip(tmp_path: Any) -> None:
    model = PPO("MlpPolicy", "CartPole-v1", learning_rate=rl_lr.cosine(3e-4), n_steps=64,
                batch_size=64, device="cpu")
    model.save(tmp_path / "m")
    loaded = PPO.load(tmp_path / "m")
    assert loaded.learning_rate == rl_lr.cosine(3e-4)
    assert isinstance(SAC("MlpPolicy", "Pendulum-v1", learning_rate=rl_lr.linear(1e-3)), SAC)
