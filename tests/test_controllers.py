"""Controllers: documented decisions on synthetic signals, state round-trips, and real agents."""

from __future__ import annotations

import itertools
import math
import pickle
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import rl_lr
from rl_lr.controllers import Controller, robust_noise
from rl_lr.signals import TrainingSignals
from tests.helpers import LRRecorder, budget, make_model


class Feeder:
    """Drives a controller with a synthetic stream, one update per call."""

    def __init__(self, controller: rl_lr.LRPolicy, updates: int = 100) -> None:
        self.controller = controller
        self.updates = updates
        self.recent: list[float] = []
        self.n = 0

    def __call__(self, new_returns: Sequence[float] = (), **stats: float) -> float:
        self.n += 1
        self.recent = (self.recent + list(new_returns))[-100:]
        progress = min(1.0, self.n / self.updates)
        self.controller.observe(TrainingSignals(
            num_timesteps=64 * self.n, progress=progress, n_updates=self.n,
            new_episode_returns=tuple(new_returns), recent_returns=tuple(self.recent),
            train_stats=stats,
        ))
        return self.controller.value(progress)


def test_robust_noise_ignores_trend_and_sees_noise() -> None:
    rng = np.random.default_rng(0)
    trend = np.linspace(0, 100, 400)
    assert robust_noise(trend) == pytest.approx(0.0, abs=1e-9)
    assert robust_noise(trend + rng.normal(0, 5, 400)) == pytest.approx(5, rel=0.15)


# -- plateau ---------------------------------------------------------------------------------
def test_plateau_cuts_after_exactly_patience_stalled_measurements() -> None:
    c = rl_lr.plateau(1e-3, factor=0.5, patience=3, threshold=0.0, threshold_mode="abs", window=1)
    feed = Feeder(c)
    assert [feed([r]) for r in (1.0, 2.0, 3.0)] == [1e-3] * 3  # improving
    assert [feed([3.0]) for _ in range(2)] == [1e-3] * 2  # two stalls: not yet
    assert feed([3.0]) == 5e-4  # third stall: cut
    assert c.state.cuts == 1 and c.state.stalled == 0
    assert [feed([3.0]) for _ in range(2)] == [5e-4] * 2
    assert feed([3.0]) == 2.5e-4


def test_plateau_measurements_need_new_episodes() -> None:
    c = rl_lr.plateau(1e-3, patience=1, window=1)
    feed = Feeder(c)
    feed([1.0])
    assert [feed([]) for _ in range(5)] == [1e-3] * 5  # no episode ended: no measurement


def test_plateau_cooldown_and_min_lr_and_increase() -> None:
    c = rl_lr.plateau(1e-3, factor=0.1, patience=1, cooldown=2, threshold=0.0, window=1,
                      min_lr=5e-5)
    feed = Feeder(c)
    feed([1.0])
    assert feed([1.0]) == pytest.approx(1e-4)  # cut
    assert [feed([1.0]) for _ in range(2)] == [pytest.approx(1e-4)] * 2  # cooldown
    assert feed([1.0]) == 5e-5  # cut again, floored at min_lr
    assert c.state.multiplier == pytest.approx(0.05)  # no wind-up below the floor
    up = rl_lr.plateau(1e-3, factor=0.5, patience=1, threshold=0.0, window=1, increase=2.0)
    feed = Feeder(up)
    feed([1.0])
    assert feed([1.0]) == 5e-4
    assert feed([2.0]) == 1e-3  # progress resumed: back up, never above the base
    assert feed([3.0]) == 1e-3


def test_plateau_relative_threshold_works_for_negative_returns() -> None:
    c = rl_lr.plateau(1e-3, patience=1, threshold=0.1, window=1)
    feed = Feeder(c)
    feed([-1000.0])
    assert feed([-950.0]) == 5e-4  # +5 % of |best|: below the 10 % threshold, a stall
    assert feed([-800.0]) == 5e-4  # +15 %: an improvement
    assert c.state.best == -800.0


# -- kl_adaptive -----------------------------------------------------------------------------
def test_kl_adaptive_matches_the_rule_at_thresholds_and_bounds() -> None:
    c = rl_lr.kl_adaptive(1e-3, target=0.008, cadence="update")
    feed = Feeder(c)
    assert feed(approx_kl=0.02) == pytest.approx(1e-3 / 1.5)  # > 2 * target
    assert feed(approx_kl=0.016) == pytest.approx(1e-3 / 1.5)  # == 2 * target: unchanged
    assert feed(approx_kl=0.004) == pytest.approx(1e-3 / 1.5)  # == target / 2: unchanged
    assert feed(approx_kl=0.0039) == pytest.approx(1e-3)  # < target / 2
    assert feed(approx_kl=0.008) == pytest.approx(1e-3)
    lrs = [feed(approx_kl=1.0) for _ in range(30)]
    assert lrs[-1] == pytest.approx(1e-6) and min(lrs) >= 1e-6 - 1e-18  # min_lr
    assert feed(approx_kl=0.0) == pytest.approx(1.5e-6)  # no wind-up below the floor
    lrs = [feed(approx_kl=0.0) for _ in range(30)]
    assert lrs[-1] == pytest.approx(1e-2) and max(lrs) <= 1e-2  # max_lr


def test_kl_adaptive_needs_kl() -> None:
    feed = Feeder(rl_lr.kl_adaptive(1e-3, cadence="update"))
    with pytest.raises(ValueError, match="approx_kl"):
        feed([1.0])
    with pytest.raises(rl_lr.SpecError, match=r"kl_adaptive\(.*needs train/approx_kl.*SAC"):
        rl_lr.attach(make_model("sac"), "trend(kl_adaptive(1e-3))")


# -- volatility ------------------------------------------------------------------------------
def test_volatility_lowers_the_lr_on_noisy_returns_with_the_same_trend() -> None:
    rng = np.random.default_rng(1)
    trend = np.linspace(-500, 0, 80)
    finals = {}
    for name, noise in (("calm", 2.0), ("noisy", 60.0)):
        c = rl_lr.volatility(1e-3, window=20)
        feed = Feeder(c)
        finals[name] = [feed([r]) for r in trend + rng.normal(0, noise, trend.size)][-1]
    assert finals["noisy"] < 0.8 * finals["calm"]
    assert finals["calm"] > 0.9e-3


# -- trend -----------------------------------------------------------------------------------
def test_trend_grows_on_a_steady_rise_and_cuts_on_a_drop() -> None:
    c = rl_lr.trend(1e-3, grow=1.1, cut=0.5, window=5)
    feed = Feeder(c)
    rising = [feed([float(r)]) for r in range(20)]
    assert rising[-1] > 2e-3 and rising == sorted(rising)
    before = rising[-1]
    after = feed([-100.0])
    assert after == pytest.approx(before * 0.5)
    assert c.state.cuts == 1


def test_trend_ignores_drops_within_noise() -> None:
    rng = np.random.default_rng(0)
    c = rl_lr.trend(1e-3, window=10, significance=3.0)
    feed = Feeder(c)
    for r in 100 + rng.normal(0, 10, 200):
        feed([float(r)])
    assert c.state.cuts <= 2  # flat + noise: at most a rare false alarm at 3 sigma


# -- hypergradient ---------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer_class", [torch.optim.SGD, torch.optim.Adam])
def test_hypergradient_follows_gradient_agreement(optimizer_class: type) -> None:
    for pattern, direction in (((1.0, 1.0), "up"), ((1.0, -1.0), "down")):
        param = torch.nn.Parameter(torch.zeros(3))
        optimizer = optimizer_class([param], lr=1e-3)
        c = rl_lr.hypergradient(1e-3, beta=0.05)
        multipliers = []
        for step in range(20):
            param.grad = torch.full((3,), pattern[step % 2])
            c.on_optimizer_step(optimizer)
            optimizer.step()
            multipliers.append(c.state.multiplier)
        if direction == "up":
            assert multipliers[-1] > 1.5 and multipliers == sorted(multipliers)
        else:
            assert multipliers[-1] < 0.7


def test_hypergradient_additive_rule_is_bayding_update() -> None:
    param = torch.nn.Parameter(torch.zeros(2))
    optimizer = torch.optim.SGD([param], lr=1e-3)
    c = rl_lr.hypergradient(1e-3, rule="additive", beta=1e-4, variant="sgd")
    for grad in ((1.0, 2.0), (3.0, 1.0)):
        param.grad = torch.tensor(grad)
        c.on_optimizer_step(optimizer)
    # alpha_1 = alpha_0 + beta * g_1 . g_0 = 1e-3 + 1e-4 * (3 + 2)
    assert c.value(0.0) == pytest.approx(1e-3 + 1e-4 * 5.0)


# -- bandit ----------------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ["ducb", "swucb", "exp3"])
def test_bandit_settles_on_the_best_arm_and_moves_when_it_changes(algorithm: str) -> None:
    rng = np.random.default_rng(0)
    c = rl_lr.bandit(1e-3, arms=[0.5, 1.0, 2.0], algorithm=algorithm, period=1, window=15,
                     discount=0.85, c=0.5, exp3_gamma=0.1, seed=1)
    feed = Feeder(c)
    level = 0.0

    def run(gains: tuple[float, ...], periods: int) -> list[int]:
        nonlocal level
        arms = []
        for _ in range(periods):
            arms.append(c.state.arm)
            level += gains[c.state.arm] + rng.normal(0, 0.3)
            feed([level])
        return arms

    first = run((0.0, 1.0, 3.0), 80)
    assert np.bincount(first[-30:], minlength=3).argmax() == 2
    second = run((3.0, 1.0, -2.0), 120)
    assert np.bincount(second[-30:], minlength=3).argmax() == 0


# -- state -----------------------------------------------------------------------------------
CONTROLLERS = [
    "plateau(cosine(1e-3), patience=2, window=3)",
    "kl_adaptive(1e-3)",
    "volatility(1e-3, window=5)",
    "trend(linear(1e-3), window=3)",
    "bandit(1e-3, period=2, algorithm=exp3)",
    "trend(plateau(1e-3, patience=1), warmup=0.1)",
]


@pytest.mark.parametrize("spec", CONTROLLERS)
def test_state_round_trip_continues_the_same_lr_trajectory(spec: str) -> None:
    rng = np.random.default_rng(3)
    stream = [([float(x)], float(k)) for x, k in zip(np.cumsum(rng.normal(0.2, 1, 60)),
                                                     rng.uniform(0, 0.03, 60), strict=True)]
    straight = rl_lr.parse(spec)
    feed = Feeder(straight)
    lrs = [feed(r, approx_kl=k) for r, k in stream]

    first = rl_lr.parse(spec)
    feed_first = Feeder(first)
    head = [feed_first(r, approx_kl=k) for r, k in stream[:30]]
    for restored in (pickle.loads(pickle.dumps(first)), rl_lr.parse(repr(first))):
        if restored.state_dict() != first.state_dict():
            restored.load_state_dict(first.state_dict())
        assert restored == first and restored.state_dict() == first.state_dict()
        feed_rest = Feeder(restored)
        feed_rest.n, feed_rest.recent = feed_first.n, list(feed_first.recent)
        assert head + [feed_rest(r, approx_kl=k) for r, k in stream[30:]] == lrs
    assert isinstance(straight, Controller) and straight.log_values()


def test_controllers_refuse_to_run_unattached() -> None:
    model = make_model("ppo", rl_lr.plateau(1e-3))
    with pytest.raises(RuntimeError, match=r"plateau is a controller.*rl_lr.attach"):
        model.learn(128)


# -- real agents -----------------------------------------------------------------------------
INTEGRATION = {
    "plateau": "plateau(1e-3, patience=1, factor=0.5, window=5)",
    "kl_adaptive": "kl_adaptive(1e-3, target=0.001)",
    "volatility": "volatility(1e-3, window=5, sensitivity=5)",
    "trend": "trend(1e-3, window=3, significance=0)",
    "hypergradient": "hypergradient(1e-3, beta=0.05)",
    "bandit": "bandit(1e-3, period=1)",
}


def _check_applied_matches_logged_state(rows: list[dict[str, Any]], spec: str,
                                        model: Any, total: int) -> None:
    base = rl_lr.parse(spec).base
    for row in rows:
        logged = row["logged"]
        progress = row["timesteps"] / total
        for name, lr in row["applied"].items():
            key = "train/lr_controller/multiplier" if len(row["applied"]) == 1 else \
                f"train/lr_controller/{name}/multiplier"
            assert key in logged, logged
            if not spec.startswith(("hypergradient", "kl_adaptive")):  # these move per step
                assert lr == pytest.approx(base.value(progress) * logged[key], rel=1e-9)


@pytest.mark.parametrize("name", sorted(INTEGRATION))
def test_controller_drives_ppo(name: str, lr_recorder: LRRecorder) -> None:
    total = 4 * budget("ppo")
    model = make_model("ppo", n_steps=128)
    hook = rl_lr.attach(model, INTEGRATION[name], total_timesteps=total)
    lr_recorder.extra_prefixes = ("train/lr_controller/",)
    model.learn(total, callback=lr_recorder)
    lrs = [row["applied"]["policy"] for row in lr_recorder.rows]
    assert len(set(lrs)) > 1, f"{name} never changed the LR: {lrs}"
    _check_applied_matches_logged_state(lr_recorder.rows, INTEGRATION[name], model, total)
    assert all(math.isfinite(lr) and lr > 0 for lr in lrs)
    assert hook.attached.policies["policy"].state_dict()


@pytest.mark.parametrize("algo", ["sac", "td3"])
@pytest.mark.parametrize("name", ["plateau", "trend", "hypergradient", "bandit"])
def test_controller_drives_off_policy_per_network(algo: str, name: str,
                                                  lr_recorder: LRRecorder) -> None:
    total = 3 * budget(algo)
    model = make_model(algo, env="Pendulum-v1" if algo == "sac" else None)
    rl_lr.attach(model, {"actor": INTEGRATION[name], "default": "constant(3e-4)"},
                 total_timesteps=total)
    lr_recorder.extra_prefixes = ("train/lr_controller/",)
    model.learn(total, callback=lr_recorder)
    assert lr_recorder.rows
    assert {row["applied"]["critic"] for row in lr_recorder.rows} == {3e-4}
    if name in ("hypergradient", "bandit"):
        assert len({row["applied"]["actor"] for row in lr_recorder.rows}) > 1


def test_hypergradient_learns_one_lr_per_network() -> None:
    model = make_model("sac")
    hook = rl_lr.attach(model, "hypergradient(1e-3, beta=0.05)", total_timesteps=400)
    model.learn(400)
    policies = hook.attached.policies
    assert set(policies) == {"actor", "critic", "ent_coef"}
    assert len({id(p) for p in policies.values()}) == 3
    multipliers = {name: p.state.multiplier for name, p in policies.items()}
    assert len(set(multipliers.values())) == 3, multipliers


def test_controller_state_survives_save_and_load(tmp_path: Any) -> None:
    model = make_model("ppo", n_steps=128)
    rl_lr.attach(model, "bandit(1e-3, period=1, algorithm=exp3)", total_timesteps=1024)
    model.learn(512)
    saved = model._rl_lr_hook.attached.policies["policy"]
    model.save(tmp_path / "m")
    loaded = type(make_model("ppo")).load(tmp_path / "m", env=model.get_env())
    hook = rl_lr.attach(loaded)
    restored = hook.attached.policies["policy"]
    assert restored == saved and restored.state_dict() == saved.state_dict()
    loaded.learn(512, reset_num_timesteps=False)
    assert len(restored.state.history) > len(saved.state.history)


class EpisodeTotals(gym.Wrapper):  # type: ignore[type-arg]
    """Outside the Monitor: sums the observed and the clean reward of every episode."""

    def __init__(self, env: gym.Env) -> None:  # type: ignore[type-arg]
        super().__init__(env)
        self.observed: list[float] = []
        self.clean: list[float] = []
        self._sums = [0.0, 0.0]

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._sums[0] += float(reward)
        self._sums[1] += float(info["clean_reward"])
        if terminated or truncated:
            self.observed.append(self._sums[0])
            self.clean.append(self._sums[1])
            self._sums = [0.0, 0.0]
        return obs, reward, terminated, truncated, info


def test_controllers_see_the_perturbed_return_never_the_clean_one() -> None:
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    from rl_lr.envs import apply_perturbations, parse_perturbations

    perturbed = apply_perturbations(gym.make("CartPole-v1"),
                                    parse_perturbations("[gaussian(std=1.0), dropout(p=0.2)]"))
    totals = EpisodeTotals(Monitor(perturbed))
    perturbed.reset(seed=0)
    model = make_model("ppo", env=DummyVecEnv([lambda: totals]))
    controller = rl_lr.plateau(1e-3, patience=1)
    seen: list[float] = []
    original = controller.observe

    def spy(signals: TrainingSignals) -> None:
        seen.extend(signals.new_episode_returns)
        original(signals)

    object.__setattr__(controller, "observe", spy)
    rl_lr.attach(model, controller, total_timesteps=512)
    model.learn(512)
    assert len(seen) >= 10
    assert seen == pytest.approx(totals.observed[: len(seen)], abs=1e-4)  # Monitor rounds
    assert all(abs(s - c) > 1e-3 for s, c in zip(seen, totals.clean, strict=False))


def test_kl_adaptive_per_minibatch_matches_the_rule_and_acts_within_updates() -> None:
    c = rl_lr.kl_adaptive(1e-3, target=0.008)
    c.observe_minibatch({"approx_kl": 0.02})
    assert c.value(0.0) == pytest.approx(1e-3 / 1.5)
    c.observe_minibatch({"approx_kl": 0.001})
    assert c.value(0.0) == pytest.approx(1e-3)
    Feeder(c)([1.0], approx_kl=1.0)  # per-update signals are ignored at minibatch cadence
    assert c.value(0.0) == pytest.approx(1e-3)

    model = make_model("ppo", n_steps=128, batch_size=32, n_epochs=2)
    hook = rl_lr.attach(model, "kl_adaptive(1e-3, target=0.0005)", total_timesteps=512)
    applied: list[float] = []
    model.policy.optimizer.register_step_pre_hook(
        lambda opt, args, kwargs: applied.append(opt.param_groups[0]["lr"]))
    model.learn(512)
    updates = 4
    assert len(applied) == updates * 2 * 4  # epochs x minibatches
    assert len(set(applied)) > updates  # the LR moved within updates
    for before, after in itertools.pairwise(applied):  # each change is one step of the rule
        if before != after:
            assert after / before in (pytest.approx(1.5), pytest.approx(1 / 1.5)) or \
                after in (pytest.approx(1e-6), pytest.approx(1e-2))
    hook.remove()
    assert "evaluate_actions" not in model.policy.__dict__
