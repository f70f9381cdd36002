"""Tests for rl_lr.envs.perturbations, rl_lr.envs.reward_wrappers and rl_lr.envs.wrapping on
real Gymnasium envs.

Invariants first (the clean reward is the env's reward, seeds reproduce, delay conserves
totals, regime switches land on the exact step), then statistics over a few thousand steps
with bounds of about four standard errors.
"""

from __future__ import annotations

import copy
import math
import pickle
import warnings
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from rl_lr.envs import (
    DYNAMICS,
    PERTURBATIONS,
    WRAPPERS,
    Corrupt,
    DelayedReward,
    Gaussian,
    GaussianNoise,
    Perturbation,
    PerturbationWrapper,
    Switch,
    apply_perturbations,
    parse_perturbations,
)
from rl_lr.spec import SpecError

# One non-trivial spec per registered name (test_examples_cover_registry keeps this complete).
EXAMPLES: dict[str, str] = {
    "gaussian": "gaussian(0.3, relative=true)",
    "heavy_tailed": "heavy_tailed(df=2.5, scale=0.2, clip=5.0)",
    "drift": "drift(scale_sigma=0.01, offset_sigma=0.05, scale_bounds=[0.5, 1.5])",
    "switch": "switch(at=[0.3, 0.7], scale=[1, -1, 2], offset=[0, 0, -3])",
    "markov_switch": "markov_switch(rate=0.05, scale=[1, -1], offset=[0, 3])",
    "corrupt": "corrupt(0.2, mode=confusion, low=-17, high=0, levels=6)",
    "delay": "delay(4)",
    "sparse": "sparse()",
    "dropout": "dropout(0.25)",
}
STOCHASTIC = ["gaussian", "heavy_tailed", "drift", "markov_switch", "corrupt", "dropout"]
TOTAL = 500  # total_timesteps given to every wrap in the generic tests


@dataclass
class Trace:
    """One rollout: per step the returned reward, info and whether the episode ended."""

    rewards: np.ndarray
    infos: list[dict[str, Any]]
    ends: np.ndarray
    observations: list[Any]

    def info(self, key: str) -> np.ndarray:
        return np.array([info[key] for info in self.infos])

    @property
    def clean(self) -> np.ndarray:
        return self.info("clean_reward")

    def episodes(self) -> list[np.ndarray]:
        """Indices of each *completed* episode."""
        cuts = np.flatnonzero(self.ends) + 1
        return [np.arange(a, b) for a, b in zip([0, *cuts[:-1]], cuts, strict=True)]


def sample_actions(env: gym.Env[Any, Any], steps: int, seed: int) -> list[Any]:
    """``steps`` actions from a seeded copy of ``env``'s action space."""
    space = copy.deepcopy(env.action_space)
    space.seed(seed)
    return [space.sample() for _ in range(steps)]


def run(
    env: gym.Env[Any, Any], steps: int, seed: int = 0, actions: list[Any] | None = None
) -> Trace:
    """Seeded reset, then ``steps`` steps (unseeded resets between episodes)."""
    actions = sample_actions(env, steps, seed) if actions is None else actions
    env.reset(seed=seed)
    rewards, infos, ends, observations = [], [], [], []
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        rewards.append(float(reward))
        infos.append(info)
        ends.append(terminated or truncated)
        observations.append(obs)
        if terminated or truncated:
            env.reset()
    return Trace(np.array(rewards), infos, np.array(ends), observations)


def wrapped(spec: str, env_id: str = "Pendulum-v1", total: int | None = TOTAL) -> gym.Env[Any, Any]:
    """A fresh ``env_id`` with the perturbations of ``spec`` applied."""
    return apply_perturbations(gym.make(env_id), spec, total_timesteps=total)


# --------------------------------------------------------------------------------------------
# Invariants shared by every perturbation
# --------------------------------------------------------------------------------------------


def test_examples_cover_registry() -> None:
    # The MuJoCo dynamics switches have their own tests (tests/test_dynamics.py).
    assert set(EXAMPLES) == set(PERTURBATIONS.names()) - set(DYNAMICS)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_clean_reward_is_the_unwrapped_reward(name: str) -> None:
    reference = gym.make("Pendulum-v1")
    actions = sample_actions(reference, 450, seed=1)  # crosses two 200-step episodes
    clean = run(reference, 450, seed=1, actions=actions)
    perturbed = run(wrapped(EXAMPLES[name]), 450, seed=1, actions=actions)
    np.testing.assert_array_equal(perturbed.clean, clean.rewards)
    np.testing.assert_array_equal(perturbed.ends, clean.ends)
    np.testing.assert_array_equal(np.array(perturbed.observations), np.array(clean.observations))
    assert not np.array_equal(perturbed.rewards, clean.rewards)


def test_clean_reward_survives_a_full_chain() -> None:
    chain = [EXAMPLES[name] for name in sorted(EXAMPLES)]
    reference = gym.make("Pendulum-v1")
    actions = sample_actions(reference, 450, seed=2)
    clean = run(reference, 450, seed=2, actions=actions)
    perturbed = run(wrapped(f"[{', '.join(chain)}]"), 450, seed=2, actions=actions)
    np.testing.assert_array_equal(perturbed.clean, clean.rewards)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_same_seed_reproduces_the_sequence(name: str) -> None:
    first = run(wrapped(EXAMPLES[name], "CartPole-v1"), 300, seed=3)
    second = run(wrapped(EXAMPLES[name], "CartPole-v1"), 300, seed=3)
    np.testing.assert_array_equal(first.rewards, second.rewards)
    assert first.infos == second.infos


@pytest.mark.parametrize("name", STOCHASTIC)
def test_different_seeds_give_different_perturbations(name: str) -> None:
    # CartPole's reward is always 1, so any difference comes from the perturbation.
    actions = sample_actions(gym.make("CartPole-v1"), 300, seed=0)
    first = run(wrapped(EXAMPLES[name], "CartPole-v1"), 300, seed=4, actions=actions)
    second = run(wrapped(EXAMPLES[name], "CartPole-v1"), 300, seed=5, actions=actions)
    assert not np.array_equal(first.rewards, second.rewards)


@pytest.mark.parametrize("name", sorted(set(EXAMPLES) - {"switch"}))
def test_seeded_reset_restarts_the_process(name: str) -> None:
    # switch is excluded by design: its step clock is the run's clock and keeps counting.
    env = wrapped(EXAMPLES[name])
    actions = sample_actions(env, 250, seed=6)
    first = run(env, 250, seed=6, actions=actions)
    second = run(env, 250, seed=6, actions=actions)
    np.testing.assert_array_equal(first.rewards, second.rewards)
    assert first.infos == second.infos


def test_unseeded_reset_keeps_the_generator() -> None:
    def noises(env: gym.Env[Any, Any], steps: int) -> list[float]:
        return [env.step(0)[-1]["perturbation/noise"] for _ in range(steps)]

    env = wrapped("gaussian(1.0)", "CartPole-v1")
    env.reset(seed=7)
    before = noises(env, 5)
    env.reset()
    after = noises(env, 5)
    assert before != after
    again = wrapped("gaussian(1.0)", "CartPole-v1")
    again.reset(seed=7)
    assert noises(again, 5) == before
    again.reset()
    assert noises(again, 5) == after


def test_streams_differ_by_position_and_from_the_env() -> None:
    outer = wrapped("[gaussian(1.0), gaussian(1.0)]", "CartPole-v1")
    outer.reset(seed=8)
    assert isinstance(outer, PerturbationWrapper)
    inner = outer.env
    assert isinstance(inner, PerturbationWrapper)
    assert (inner.position, outer.position) == (0, 1)
    draws = {float(w.rng.random()) for w in (inner, outer)}
    draws.add(float(np.random.default_rng(8).random()))  # what the env's own np_random starts at
    assert len(draws) == 3


# --------------------------------------------------------------------------------------------
# Noise statistics
# --------------------------------------------------------------------------------------------


def test_gaussian_noise_has_mean_zero_and_the_given_std() -> None:
    trace = run(wrapped("gaussian(0.5)"), 4000, seed=10)
    noise = trace.rewards - trace.clean
    np.testing.assert_allclose(noise, trace.info("perturbation/noise"), atol=1e-12)
    assert abs(noise.mean()) < 4 * 0.5 / math.sqrt(4000)
    assert noise.std() == pytest.approx(0.5, rel=0.05)


def test_relative_gaussian_follows_the_running_reward_scale() -> None:
    trace = run(wrapped("gaussian(0.2, relative=true)"), 1500, seed=11)
    expected, scale = [], 0.0
    for t, reward in enumerate(np.abs(trace.clean), start=1):
        scale += (reward - scale) / min(t, Gaussian.horizon)
        expected.append(scale)
    scales = trace.info("perturbation/reward_scale")
    np.testing.assert_allclose(scales, expected, rtol=1e-9)
    assert scales[999] == pytest.approx(np.abs(trace.clean[:1000]).mean())  # exact mean warm-up
    relative_noise = (trace.rewards - trace.clean) / scales
    assert relative_noise.std() == pytest.approx(0.2, rel=0.06)


def test_heavy_tailed_has_heavier_tails_than_gaussian_of_the_same_scale() -> None:
    gauss = run(wrapped("gaussian(1.0)", "CartPole-v1"), 4000, seed=12)
    student = run(wrapped("heavy_tailed(df=2.5, scale=1.0)", "CartPole-v1"), 4000, seed=12)
    g = np.abs(gauss.rewards - gauss.clean)
    t = np.abs(student.rewards - student.clean)
    assert (g > 4).mean() < 0.002
    assert (t > 4).mean() > 0.02
    assert np.quantile(t, 0.999) > 2 * np.quantile(g, 0.999)


def test_heavy_tailed_clip_bounds_the_noise() -> None:
    trace = run(wrapped("heavy_tailed(df=1, scale=1, clip=3)", "CartPole-v1"), 2000, seed=13)
    noise = trace.rewards - trace.clean
    assert np.abs(noise).max() == pytest.approx(3.0)
    assert (np.abs(noise) >= 3.0 - 1e-12).mean() > 0.1  # Cauchy: P(|X| > 3) ≈ 0.2


def test_dropout_zeroes_about_p_of_the_rewards() -> None:
    trace = run(wrapped("dropout(0.3)", "CartPole-v1"), 4000, seed=14)
    dropped = trace.info("perturbation/dropped")
    np.testing.assert_array_equal(dropped, trace.rewards == 0.0)
    assert dropped.mean() == pytest.approx(0.3, abs=4 * math.sqrt(0.21 / 4000))


# --------------------------------------------------------------------------------------------
# Drift and regimes
# --------------------------------------------------------------------------------------------


def test_drift_stays_within_bounds_and_moves() -> None:
    spec = (
        "drift(scale_sigma=0.05, offset_sigma=0.05, scale_bounds=[0.8, 1.2],"
        " offset_bounds=[-0.5, 0.5])"
    )
    trace = run(wrapped(spec), 3000, seed=15)
    scale, offset = trace.info("perturbation/scale"), trace.info("perturbation/offset")
    np.testing.assert_allclose(trace.rewards, scale * trace.clean + offset, rtol=1e-12)
    assert scale.min() >= 0.8 and scale.max() <= 1.2
    assert offset.min() >= -0.5 and offset.max() <= 0.5
    assert scale.min() < 0.81 and scale.max() > 1.19  # reflecting walk reaches both bounds
    assert offset.min() < -0.49 and offset.max() > 0.49
    assert (scale[0], offset[0]) == (1.0, 0.0)
    assert np.abs(np.diff(scale)).max() <= 0.05 * 6


def test_switch_happens_exactly_at_the_step_fraction_across_episodes() -> None:
    spec = "switch(at=[0.25, 0.6], scale=[1, -1, 2], offset=[0, 0, -3])"
    trace = run(wrapped(spec, "CartPole-v1", total=1000), 1200, seed=16)
    regime = trace.info("perturbation/regime")
    expected = np.repeat([0, 1, 2], [250, 350, 600])
    np.testing.assert_array_equal(regime, expected)
    scale, offset = np.array([1, -1, 2])[regime], np.array([0, 0, -3])[regime]
    np.testing.assert_array_equal(trace.rewards, scale * trace.clean + offset)
    assert trace.ends[:250].sum() > 3  # many episodes ended before the first switch


def test_switch_boundaries_round_up_and_tolerate_floating_point() -> None:
    assert Switch(at=(0.5,)).boundaries(999) == (500,)  # 499.5 steps done -> switch at step 500
    assert Switch(at=(0.3,)).boundaries(1000) == (300,)  # 0.3 * 1000 = 300.00000000000006
    assert Switch(at=(7, 9), unit="steps").boundaries(None) == (7, 9)
    trace = run(wrapped("switch(at=[0.5], scale=[1, -1])", "CartPole-v1", 999), 600, seed=17)
    assert trace.info("perturbation/regime").tolist().index(1) == 500


def test_switch_clock_counts_over_seeded_resets() -> None:
    env = wrapped("switch(at=[50], unit=steps, offset=[0, 10])", "CartPole-v1", None)
    run(env, 50, seed=18)
    trace = run(env, 5, seed=18)
    assert trace.info("perturbation/regime").tolist() == [1] * 5


def test_fractional_switch_without_total_timesteps_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="needs total_timesteps"):
        wrapped("switch(at=[0.5], scale=[1, -1])", total=None)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="total_timesteps must be a positive integer"):
            apply_perturbations(gym.make("CartPole-v1"), "dropout(0.1)", total_timesteps=bad)
    whole_float: Any = 1e3  # as YAML 1.2 reads "1e3"
    assert wrapped("switch(at=[0.5])", total=whole_float).get_wrapper_attr("boundaries") == (500,)


def test_markov_switch_changes_regime_at_about_the_rate() -> None:
    env = wrapped("markov_switch(rate=0.02, offset=[0, 5, -5])", "CartPole-v1")
    trace = run(env, 5000, seed=19)
    regime = trace.info("perturbation/regime")
    changes = int((np.diff(regime) != 0).sum())
    assert 100 - 40 < changes < 100 + 40  # Binomial(4999, 0.02): mean 100, sd 9.9
    assert set(regime.tolist()) == {0, 1, 2}
    np.testing.assert_array_equal(trace.rewards, trace.clean + np.array([0, 5, -5])[regime])


# --------------------------------------------------------------------------------------------
# Corruption
# --------------------------------------------------------------------------------------------


def test_corrupt_flip_negates_about_p_of_the_rewards() -> None:
    trace = run(wrapped("corrupt(0.2)"), 4000, seed=20)
    changed = trace.rewards != trace.clean
    np.testing.assert_array_equal(changed, trace.info("perturbation/corrupted"))
    np.testing.assert_array_equal(trace.rewards[changed], -trace.clean[changed])
    assert changed.mean() == pytest.approx(0.2, abs=4 * math.sqrt(0.16 / 4000))


def test_corrupt_replace_draws_from_the_range() -> None:
    trace = run(wrapped("corrupt(0.2, mode=replace, low=-5, high=5)"), 4000, seed=21)
    changed = trace.rewards != trace.clean
    replaced = trace.rewards[changed]
    assert replaced.min() >= -5 and replaced.max() <= 5
    assert replaced.mean() == pytest.approx(0.0, abs=4 * 10 / math.sqrt(12 * changed.sum()))
    assert changed.mean() == pytest.approx(0.2, abs=4 * math.sqrt(0.16 / 4000))


def test_corrupt_confusion_moves_about_p_of_the_levels() -> None:
    spec = Corrupt(p=0.3, mode="confusion", low=-17.0, high=0.0, levels=6)
    trace = run(wrapped(repr(spec)), 4000, seed=22)
    true, seen = trace.info("perturbation/true_level"), trace.info("perturbation/observed_level")
    np.testing.assert_array_equal(true, [spec.level(r) for r in trace.clean])
    np.testing.assert_allclose(trace.rewards, trace.clean + (seen - true) * spec.width, atol=1e-9)
    changed = seen != true
    np.testing.assert_array_equal(changed, trace.info("perturbation/corrupted"))
    assert changed.mean() == pytest.approx(0.3, abs=4 * math.sqrt(0.21 / 4000))
    # Uniform off-diagonal noise: from the most common level, every other level is hit.
    top = np.bincount(true).argmax()
    targets = np.bincount(seen[changed & (true == top)], minlength=6)
    assert (np.delete(targets, top) > 0).all()


def test_confusion_matrix_rows_are_distributions() -> None:
    matrix = Corrupt(p=0.3, mode="confusion", levels=4).confusion_matrix()
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.diag(matrix), 0.7)
    np.testing.assert_allclose(matrix[0, 1:], 0.1)


# --------------------------------------------------------------------------------------------
# Delay and sparse
# --------------------------------------------------------------------------------------------


def test_delay_conserves_each_episode_and_delivers_every_k_steps() -> None:
    trace = run(wrapped("delay(7)"), 650, seed=23)  # 200-step episodes: 200 = 28 * 7 + 4
    episodes = trace.episodes()
    assert len(episodes) == 3
    for idx in episodes:
        delivered, clean = math.fsum(trace.rewards[idx]), math.fsum(trace.clean[idx])
        assert delivered == pytest.approx(clean, rel=1e-13)
        step_in_episode = np.arange(1, len(idx) + 1)
        due = (step_in_episode % 7 == 0) | (step_in_episode == len(idx))
        np.testing.assert_array_equal(trace.info("perturbation/delivered")[idx], due)
        assert (trace.rewards[idx][~due] == 0.0).all()
        assert trace.info("perturbation/pending")[idx][-1] == 0.0


def test_sparse_delivers_the_exact_total_at_episode_end() -> None:
    trace = run(wrapped("sparse()", "CartPole-v1"), 500, seed=24)
    episodes = trace.episodes()
    assert len(episodes) > 5
    for idx in episodes:
        assert (trace.rewards[idx][:-1] == 0.0).all()
        assert trace.rewards[idx][-1] == trace.clean[idx].sum() == len(idx)


# --------------------------------------------------------------------------------------------
# Composition and parsing
# --------------------------------------------------------------------------------------------


def test_composition_order_matters() -> None:
    drop_then_noise = run(wrapped("[dropout(0.5), gaussian(1.0)]", "CartPole-v1"), 1000, seed=25)
    noise_then_drop = run(wrapped("[gaussian(1.0), dropout(0.5)]", "CartPole-v1"), 1000, seed=25)
    assert (drop_then_noise.rewards == 0.0).sum() == 0
    assert (noise_then_drop.rewards == 0.0).mean() == pytest.approx(0.5, abs=0.07)
    assert (drop_then_noise.clean == 1.0).all() and (noise_then_drop.clean == 1.0).all()


def test_clean_reward_is_the_original_after_an_inner_perturbation() -> None:
    env = wrapped("[switch(at=[1], unit=steps, scale=[1, 10]), dropout(0.0)]", "CartPole-v1")
    trace = run(env, 5, seed=26)
    assert trace.rewards.tolist()[:3] == [1.0, 10.0, 10.0]
    assert trace.clean.tolist() == [1.0] * 5


def test_apply_wraps_in_order_first_innermost() -> None:
    env = wrapped("[gaussian(0.1), delay(5)]", "CartPole-v1")
    assert isinstance(env, DelayedReward)
    assert isinstance(env.env, GaussianNoise)
    plain = gym.make("CartPole-v1")
    assert apply_perturbations(plain, None) is plain


@dataclass(frozen=True, repr=False)
class _Negate(Perturbation):
    """The reward negated (defined outside rl-lr's perturbations, not registered)."""


class _NegatedReward(PerturbationWrapper[_Negate]):
    def perturb(self, reward: float, info: dict[str, Any], episode_over: bool) -> float:
        return -reward


def test_a_perturbation_defined_elsewhere_brings_its_own_wrapper(
        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TypeError, match="no wrapper known for _Negate"):
        apply_perturbations(gym.make("CartPole-v1"), _Negate())
    monkeypatch.setitem(WRAPPERS, _Negate, _NegatedReward)
    env = apply_perturbations(gym.make("CartPole-v1"), [_Negate(), "delay(1)"])
    assert isinstance(env, DelayedReward) and isinstance(env.env, _NegatedReward)
    trace = run(env, 3, seed=0)
    assert trace.rewards.tolist() == [-1.0] * 3 and trace.clean.tolist() == [1.0] * 3


@pytest.mark.parametrize(
    "spec",
    [
        "[gaussian(std=0.1), delay(k=5)]",
        ["gaussian(0.1)", "delay(5)"],
        [{"name": "gaussian", "std": 0.1}, {"name": "delay", "k": 5}],
        (Gaussian(std=0.1), "delay(5)"),
    ],
)
def test_parse_perturbations_forms(spec: Any) -> None:
    assert parse_perturbations(spec) == (Gaussian(std=0.1), PERTURBATIONS.parse("delay(5)"))


@pytest.mark.parametrize("spec", [None, "", "  ", "[]", "none", []])
def test_parse_perturbations_nothing(spec: Any) -> None:
    assert parse_perturbations(spec) == ()


def test_parse_perturbations_single() -> None:
    assert parse_perturbations("dropout(0.1)") == (PERTURBATIONS.parse("dropout(p=0.1)"),)
    assert parse_perturbations({"name": "sparse"}) == (PERTURBATIONS.parse("sparse"),)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("[gaussian(0.1), gausian(0.2)]", "did you mean 'gaussian'"),
        (["dropout(0.1)", 0.5], "perturbation[1]"),
        ("[gaussian(0.1)", "unbalanced brackets"),
        (42, "perturbations must be"),
        ("sparse(every=0)", "sparse: unknown argument 'every'; allowed: none, write sparse()"),
    ],
)
def test_parse_perturbations_errors(spec: Any, fragment: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_perturbations(spec)
    assert fragment in str(err.value)


# --------------------------------------------------------------------------------------------
# Specs: round trip, pickling, validation, listing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_spec_round_trips_and_pickles(name: str) -> None:
    spec = PERTURBATIONS.parse(EXAMPLES[name])
    assert isinstance(spec, Perturbation)
    assert PERTURBATIONS.parse(repr(spec)) == spec
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert hash(spec) == hash(PERTURBATIONS.parse(repr(spec)))


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("gaussian(std=-1)", "gaussian: std must be a finite number >= 0, got -1.0"),
        ("gaussian(std=inf)", "std must be a finite number"),
        ("dropout(p=1.5)", "dropout: p must be a probability in [0, 1], got 1.5"),
        ("corrupt(p=-0.1)", "corrupt: p must be a probability"),
        ("corrupt(0.1, mode=shuffle)", "mode must be one of flip, replace, confusion"),
        ("corrupt(0.1, mode=confusion, levels=1)", "levels must be an integer >= 2"),
        ("corrupt(0.1, low=1, high=0)", "high must be a finite number > low"),
        ("switch(at=[0.6, 0.3])", "switch: at must be strictly increasing"),
        ("switch(at=[0.5, 1.5])", "at must be fractions of the run in (0, 1)"),
        ("switch(at=[])", "at must list at least one switch point"),
        ("switch(at=[0.5], scale=[1, 2, 3])", "scale must list one value per regime"),
        ("switch(at=[2.5], unit=steps)", "at must be whole step counts >= 1"),
        ("switch(at=[0.5], unit=hours)", "unit must be one of fraction, steps"),
        ("markov_switch(rate=0.1, scale=[1])", "must list at least two regimes"),
        ("markov_switch(rate=0.1, scale=[1, 2], offset=[0, 0, 0])", "one value per regime"),
        ("markov_switch(rate=2, scale=[1, 2])", "rate must be a probability"),
        ("heavy_tailed(df=0, scale=1)", "df must be > 0"),
        ("heavy_tailed(df=3, scale=1, clip=0)", "clip must be > 0 or none"),
        ("heavy_tailed(df=3)", "missing required argument(s) scale"),
        ("drift(scale_bounds=[2, 1])", "scale_bounds must be [low, high] with finite low <= high"),
        ("drift(offset_bounds=[1])", "offset_bounds must be [low, high]"),
        ("drift(scale_sigma=-0.1)", "scale_sigma must be a finite number >= 0"),
        ("delay(k=0)", "delay: k must be an integer >= 1, got 0"),
        ("delay(k=2.5)", "k must be an integer"),
        ("sparse(episode_end=true)", "unknown argument 'episode_end'"),
        ("gausian(std=1)", "unknown perturbation 'gausian'; did you mean 'gaussian'?"),
    ],
)
def test_invalid_arguments_raise_one_line_spec_errors(spec: str, fragment: str) -> None:
    with pytest.raises(SpecError) as err:
        PERTURBATIONS.parse(spec)
    assert isinstance(err.value, ValueError)
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_constructors_validate_too() -> None:
    with pytest.raises(SpecError, match="std must be"):
        Gaussian(std=-1.0)
    with pytest.raises(SpecError, match="mode must be one of"):
        Corrupt(p=0.1, mode="shuffle")


def test_describe_lists_every_perturbation_on_one_line() -> None:
    lines = PERTURBATIONS.describe()
    assert len(lines) == len(PERTURBATIONS.names())
    for name, line in zip(PERTURBATIONS.names(), lines, strict=True):
        assert line.startswith(f"{name}(")
        assert "\n" not in line and len(line.split("  ", 1)[1]) > 10
    assert "gaussian(std, relative=False)  Additive Gaussian noise" in "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Gymnasium compatibility and documentation
# --------------------------------------------------------------------------------------------


def check_env_warnings(env: gym.Env[Any, Any]) -> set[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # The render check would open a window for render_mode="human"; it tests the env only.
        check_env(env, skip_render_check=True)
    return {str(w.message) for w in caught}


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_check_env_passes_on_wrapped_env(name: str, env_id: str) -> None:
    # The bare env's own warnings (Pendulum's Box(-2, 2) actions, CartPole's infinite bounds)
    # are the env's business; the wrapped env must pass with nothing added but the notice that
    # check_env was handed a wrapped env.
    baseline = check_env_warnings(gym.make(env_id).unwrapped)
    added = check_env_warnings(wrapped(EXAMPLES[name], env_id)) - baseline
    assert [m for m in added if "different from the unwrapped version" not in m] == []


def test_env_spec_recreates_the_perturbed_env() -> None:
    env = wrapped("[gaussian(0.1), switch(at=[0.5], scale=[1, -1])]", total=100)
    assert env.spec is not None
    again = env.spec.make()
    assert repr(again) == repr(env)
    assert again.get_wrapper_attr("boundaries") == (50,)


def test_dose_response_experiment_plans_a_grid_of_noise_scales() -> None:
    """experiments/dose_response.yaml: the tune-then-test protocol over a grid of Gaussian
    noise scales (and the clean condition), each family tuned per dose, the oracle marked."""
    from rl_lr.experiment.file import SUITES_DIR, load_experiment  # the experiment layer
    from rl_lr.experiment.plan import plan_runs  # plans the experiment file

    experiment = load_experiment(SUITES_DIR / "dose_response.yaml")
    plan = plan_runs(experiment)  # the tuning phase: 6 families x 4 doses x 8 configs x 2 seeds
    assert experiment.protocol is not None and len(plan) == 6 * 4 * 8 * 2
    stds = sorted({p.std for run in plan for p in run.config.perturb if isinstance(p, Gaussian)})
    assert stds == [1.0, 3.0, 5.0]
    assert {run.labels["perturb"] for run in plan} == {"clean", "std_1", "std_3", "std_5"}
    assert {run.config.seed for run in plan} == {1000, 1001}
    oracles = {run.labels["lr"] for run in plan if "oracle" in repr(run.config.lr)}
    assert oracles == {"oracle_volatility"}
