"""The algorithm factory and presets: real SB3 agents on real envs, tiny budgets."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecNormalize

import rl_lr
from rl_lr.agents import (
    ALGORITHMS,
    IncompatibleError,
    PresetWarning,
    build,
    load_preset,
    make,
    preset_entries,
    resolve,
)
from rl_lr.agents.presets import validate_entry
from rl_lr.envs import CleanReturn, PerturbationWrapper, parse_perturbations
from rl_lr.optimizers import OPTIMIZERS
from rl_lr.sb3 import network_optimizers

DISCRETE_ENV, CONTINUOUS_ENV = "CartPole-v1", "Pendulum-v1"
TINY = {"policy_kwargs": {"net_arch": [16]}}
PRESETS = [(algo, env) for algo in ALGORITHMS for env in preset_entries(algo)]


# -- presets ---------------------------------------------------------------------------------


def test_every_algorithm_has_a_preset_file_with_entries() -> None:
    assert {algo for algo, _ in PRESETS} == set(ALGORITHMS)


@pytest.mark.filterwarnings("ignore:You have specified a mini-batch size")  # zoo's values
@pytest.mark.parametrize(("algo", "env_id"), PRESETS)
def test_every_preset_validates_and_builds_with_the_real_constructor(algo: str,
                                                                      env_id: str) -> None:
    entry = preset_entries(algo)[env_id]
    validate_entry(algo, env_id, entry)
    accepted = set(inspect.signature(ALGORITHMS[algo].cls.__init__).parameters)
    assert set(entry.get("hyperparams") or {}) <= accepted
    with warnings.catch_warnings():
        warnings.simplefilter("error", PresetWarning)  # a listed preset never falls back
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        agent = make(algo, env_id, seed=0)
    try:
        assert isinstance(agent.model, ALGORITHMS[algo].cls)
        preset = load_preset(algo, env_id)
        for key, value in preset.hyperparams.items():
            attribute = getattr(agent.model, key, None)
            if isinstance(attribute, (int, float)) and not isinstance(value, (dict, list, str)):
                assert attribute == value, key  # reached the model as given
        assert agent.env.num_envs == preset.n_envs
        assert isinstance(agent.env, VecNormalize) == (preset.normalize is not None)
        if preset.lr is not None:
            expected = preset.lr["default"].value(0.0)
            assert all(o.param_groups[0]["lr"] == pytest.approx(expected)
                       for o in network_optimizers(agent.model).values())
    finally:
        agent.env.close()


def _every_network(spec: str) -> dict[str, rl_lr.LRPolicy]:
    """A preset's LR as read from its file: one policy for every network."""
    return {"default": rl_lr.parse(spec)}


def test_zoo_values_as_documented() -> None:
    """The facts in DESIGN.md section 4, read back from the preset files."""
    cartpole = load_preset("ppo", "CartPole-v1")
    assert (cartpole.n_envs, cartpole.n_timesteps, cartpole.lr) == (
        8, 100_000, _every_network("linear(1e-3)"))
    assert cartpole.hyperparams == {
        "n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98, "n_epochs": 20,
        "ent_coef": 0.0, "clip_range": "linear(0.2)"}
    pendulum = load_preset("ppo", "Pendulum-v1")
    assert (pendulum.n_envs, pendulum.lr, pendulum.n_timesteps) == (
        4, _every_network("constant(1e-3)"), 100_000)
    assert {k: pendulum.hyperparams[k] for k in ("n_steps", "gamma", "gae_lambda", "n_epochs",
                                                  "use_sde", "sde_sample_freq")} == {
        "n_steps": 1024, "gamma": 0.9, "gae_lambda": 0.95, "n_epochs": 10, "use_sde": True,
        "sde_sample_freq": 4}
    for algo in ("sac", "td3"):
        preset = load_preset(algo, "Pendulum-v1")
        assert (preset.lr, preset.n_timesteps) == (_every_network("constant(1e-3)"), 20_000)
    dqn = load_preset("dqn", "CartPole-v1")
    assert (dqn.lr, dqn.n_timesteps) == (_every_network("constant(2.3e-3)"), 50_000)
    hopper = load_preset("ppo", "Hopper-v4")
    assert hopper.normalize == {} and hopper.n_timesteps == 1_000_000
    assert hopper.lr is not None
    assert hopper.lr["default"].value(0.5) == pytest.approx(9.8e-5, rel=1e-3)
    assert {k: hopper.hyperparams[k] for k in ("n_steps", "batch_size", "gamma", "gae_lambda",
                                                "n_epochs")} == {
        "n_steps": 512, "batch_size": 32, "gamma": 0.999, "gae_lambda": 0.99, "n_epochs": 5}
    for algo, env_id in PRESETS:
        source = preset_entries(algo)[env_id]["source"]
        assert "zoo" in source or source.startswith("measured by rl-lr")
        if env_id.endswith("-v5"):
            assert "v4" in source and "v5" in source  # says where the values really come from


def test_missing_preset_falls_back_to_sb3_defaults_with_one_line_warning() -> None:
    with pytest.warns(PresetWarning) as caught:
        spec = resolve("ppo", "Acrobot-v1")
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "\n" not in message and "ppo" in message and "Acrobot-v1" in message
    assert spec.hyperparams == {} and spec.n_envs == 1 and spec.normalize is None
    assert spec.lr == {"default": rl_lr.constant(ALGORITHMS["ppo"].default_lr())}
    assert spec.to_dict()["lr"] == repr(rl_lr.constant(ALGORITHMS["ppo"].default_lr()))
    assert spec.resolved_hyperparams()["n_steps"] == 2048  # SB3's own default
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve("ppo", "CartPole-v1", preset="sb3").hyperparams == {}


# -- compatibility ----------------------------------------------------------------------------


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
@pytest.mark.parametrize("env_id", [DISCRETE_ENV, CONTINUOUS_ENV])
def test_action_space_rule_matches_what_sb3_itself_accepts(algo: str, env_id: str) -> None:
    """The rule is checked before anything is built, and agrees with SB3's own assertion."""
    try:
        ALGORITHMS[algo].cls("MlpPolicy", env_id, device="cpu", buffer_size=10) \
            if ALGORITHMS[algo].off_policy else ALGORITHMS[algo].cls("MlpPolicy", env_id,
                                                                     device="cpu")
        sb3_accepts = True
    except AssertionError as err:
        assert "only supports" in str(err)
        sb3_accepts = False
    if sb3_accepts:
        resolve(algo, env_id, preset="sb3")
    else:
        kind = "continuous" if env_id == CONTINUOUS_ENV else "discrete"
        with pytest.raises(IncompatibleError, match=rf"{algo} cannot act in {env_id}.*{kind}"):
            resolve(algo, env_id, preset="sb3")
    assert (algo == "dqn") == (not sb3_accepts and env_id == CONTINUOUS_ENV) or \
        env_id == DISCRETE_ENV
    if env_id == DISCRETE_ENV:
        assert sb3_accepts == (algo in {"ppo", "a2c", "trpo", "dqn"})


@pytest.mark.parametrize("algo", ["a2c", "trpo", "dqn", "sac", "td3", "tqc", "crossq"])
def test_kl_controller_refused_on_algorithms_without_kl(algo: str) -> None:
    env_id = DISCRETE_ENV if algo in {"a2c", "trpo", "dqn"} else CONTINUOUS_ENV
    with pytest.raises(IncompatibleError, match=rf"needs train/approx_kl, which {algo} does "
                                                r"not report \(only ppo\)"):
        resolve(algo, env_id, lr="kl_adaptive(3e-4)", preset="sb3")
    if algo == "sac":  # one network's controller is enough to refuse
        with pytest.raises(IncompatibleError, match="approx_kl"):
            resolve(algo, env_id, lr={"actor": "kl_adaptive(3e-4)", "default": "1e-3"})
    resolve("ppo", DISCRETE_ENV, lr="kl_adaptive(3e-4)")  # PPO reports it


def test_impossible_combinations_are_refused_before_any_model_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []
    from stable_baselines3.common.base_class import BaseAlgorithm

    original = BaseAlgorithm.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(BaseAlgorithm, "__init__", spy)
    for kwargs in ({"algo": "dqn", "env_id": CONTINUOUS_ENV},
                   {"algo": "sac", "env_id": DISCRETE_ENV},
                   {"algo": "a2c", "env_id": DISCRETE_ENV, "lr": "kl_adaptive(1e-3)"}):
        with pytest.raises(IncompatibleError):
            make(**kwargs)
    assert built == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"algo": "ppq", "env_id": "CartPole-v1"}, r"unknown algorithm 'ppq'; did you mean 'ppo'"),
        ({"algo": "ppo", "env_id": "CartPol-v1"}, r"unknown env id .*did you mean 'CartPole-v1'"),
        ({"algo": "ppo", "env_id": "rl_lr/PointNav-v1"}, r"did you mean 'rl_lr/PointNav-v0'"),
        ({"algo": "ppo", "env_id": "CartPole-v1", "n_step": 3},
         r"unknown hyper-parameter 'n_step' for PPO \(did you mean 'n_steps'\?\)"),
        ({"algo": "ppo", "env_id": "CartPole-v1", "learning_rate": 3},
         r"'learning_rate' is set by rl-lr.*lr="),
        ({"algo": "ppo", "env_id": "CartPole-v1", "lr": "cosin(1e-3)"}, r"did you mean 'cosine'"),
        ({"algo": "ppo", "env_id": "CartPole-v1", "perturb": "gausian(0.1)"},
         r"did you mean 'gaussian'"),
        ({"algo": "ppo", "env_id": "CartPole-v1", "preset": "zoo"}, r"unknown preset 'zoo'"),
        ({"algo": "ppo", "env_id": "CartPole-v1", "n_envs": 0}, r"n_envs must be an integer"),
        ({"algo": "ppo", "env_id": "CartPole-v1", "env_kwargs": {"nope": 1}}, r"env_kwargs"),
    ],
)
def test_bad_input_is_one_clear_spec_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(rl_lr.SpecError, match=message) as info:
        resolve(**kwargs)
    assert "\n" not in str(info.value)


def test_hyper_parameters_sb3_refuses_become_a_spec_error() -> None:
    with pytest.raises(rl_lr.SpecError, match=r"PPO refused its hyper-parameters: .*batch_size"):
        make("ppo", DISCRETE_ENV, batch_size=0)


# -- what make() builds -----------------------------------------------------------------------


def test_perturbation_sits_inside_the_monitor_and_never_reaches_evaluation() -> None:
    """Honesty: the Monitor (hence ep_info_buffer and every controller) sees the perturbed
    reward; the evaluation env is clean."""
    agent = make("ppo", DISCRETE_ENV, lr="constant(1e-3)", seed=3, n_envs=2,
                 perturb="corrupt(1.0, mode=flip)", total_timesteps=256, n_steps=64,
                 batch_size=64, n_epochs=1, **TINY)
    for sub_env in agent.env.envs:  # type: ignore[attr-defined]
        assert isinstance(sub_env, Monitor)
        assert isinstance(sub_env.env, CleanReturn)  # the clean return, for oracles only
        assert isinstance(sub_env.env.env, PerturbationWrapper)
    agent.model.learn(256)
    episodes = list(agent.model.ep_info_buffer)
    assert episodes and all(ep["r"] == -ep["l"] for ep in episodes)  # CartPole: +1 flipped
    assert all(ep["clean_return"] == ep["l"] for ep in episodes)
    eval_env = agent.make_eval_env()
    returns = agent.evaluate(eval_env, 3, seed=0)
    assert all(r > 0 for r in returns)
    assert not isinstance(eval_env.envs[0].env, PerturbationWrapper)  # type: ignore[attr-defined]


def test_training_envs_are_seeded_seed_plus_index() -> None:
    agent = make("ppo", DISCRETE_ENV, seed=11, n_envs=3, preset="sb3", n_steps=64, **TINY)
    first = agent.env.reset()
    for i in range(3):
        expected, _ = gym.make(DISCRETE_ENV).reset(seed=11 + i)
        np.testing.assert_array_equal(first[i], expected)


def test_normalised_training_and_a_synced_raw_return_evaluation() -> None:
    agent = make("ppo", CONTINUOUS_ENV, seed=1, n_envs=2, normalize=True, total_timesteps=128,
                 n_steps=64, batch_size=64, n_epochs=1, **TINY)
    assert isinstance(agent.env, VecNormalize) and agent.env.gamma == 0.9  # preset gamma
    agent.model.learn(128)
    eval_env = agent.make_eval_env()
    assert isinstance(eval_env, VecNormalize)
    assert not eval_env.training and not eval_env.norm_reward
    returns = agent.evaluate(eval_env, 1, seed=0)
    np.testing.assert_array_equal(eval_env.obs_rms.mean, agent.env.obs_rms.mean)
    assert -2000 < returns[0] < 0  # a raw Pendulum return, not a normalised one


def test_overrides_dotted_keys_and_per_network_lrs() -> None:
    agent = make("sac", CONTINUOUS_ENV, lr={"actor": "cosine(1e-3)", "default": "3e-4"},
                 seed=0, total_timesteps=100, buffer_size=100,
                 **{"policy_kwargs.net_arch": [8, 8]})
    assert agent.model.policy_kwargs["net_arch"] == [8, 8]
    assert agent.hook.last_lr == {"actor": 1e-3, "critic": 3e-4, "ent_coef": 3e-4}
    assert agent.spec.resolved_hyperparams()["policy_kwargs"] == {"net_arch": [8, 8]}
    assert agent.spec.resolved_hyperparams()["buffer_size"] == 100
    assert agent.spec.resolved_hyperparams()["tau"] == 0.005  # SB3 default, recorded


def test_optimizer_is_set_before_the_lr_policy_is_attached() -> None:
    pytest.importorskip("rl_lr.optimizers")
    agent = make("sac", CONTINUOUS_ENV, lr="cosine(1e-3)", optimizer={
        "actor": "sgd(momentum=0.9)", "critic": "adamw(weight_decay=0.01)"},  # its default
        seed=0, total_timesteps=200, learning_starts=50, batch_size=16, buffer_size=200, **TINY)
    optimizers = network_optimizers(agent.model)
    assert type(optimizers["actor"]).__name__ == "SGD"
    assert type(optimizers["critic"]).__name__ == "AdamW"
    assert agent.hook.optimizers["actor"] is optimizers["actor"]  # the hook drives the new ones
    agent.model.learn(200)
    assert optimizers["actor"].param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert agent.spec.to_dict()["optimizer"] == {"actor": "sgd(momentum=0.9)",
                                                 "critic": "adamw()"}
    with pytest.raises(rl_lr.SpecError, match="unknown optimizer"):
        resolve("ppo", DISCRETE_ENV, optimizer="adamm()")


def test_the_spec_carries_the_objects_and_every_build_starts_fresh() -> None:
    """Specs are read once (text or objects), rendered only by ``to_dict``; a built model
    drives its own copy of a controller, so one spec builds any number of equal runs."""
    spec = resolve("ppo", DISCRETE_ENV, "plateau(1e-3)", perturb="[gaussian(0.1), delay(2)]",
                   optimizer="adam(eps=1e-5)", seed=0, n_envs=1, total_timesteps=128,
                   n_steps=64, batch_size=64, **TINY)
    assert spec.lr == {"default": rl_lr.parse("plateau(1e-3)")}
    assert spec.perturb == parse_perturbations("[gaussian(0.1), delay(2)]")
    assert spec.optimizer == OPTIMIZERS.parse("adam(eps=1e-5)")
    rendered = spec.to_dict()
    assert (rendered["lr"], rendered["perturb"], rendered["optimizer"]) == (
        repr(spec.lr["default"]), "[gaussian(0.1), delay(2)]", "adam(eps=1e-05)")
    again = resolve("ppo", DISCRETE_ENV, spec.lr, perturb=spec.perturb, optimizer=spec.optimizer,
                    seed=0, n_envs=1, total_timesteps=128, n_steps=64, batch_size=64, **TINY)
    assert again == spec and again.perturb[0] is spec.perturb[0]  # objects pass through
    first, second = build(spec), build(spec)
    first.model.learn(128)
    assert first.hook.attached.policies["policy"].state.progress == 1.0
    assert second.hook.attached.policies["policy"].state.progress == 0.0
    assert spec.lr["default"].state.progress == 0.0  # the spec's own policy is never driven


def test_plain_values_round_trip_to_constructor_arguments() -> None:
    from stable_baselines3.common.noise import NormalActionNoise
    from torch import nn

    from rl_lr.agents.hyperparams import coerce_numbers, merge, plain, to_constructor_kwargs

    given = {"policy_kwargs": {"activation_fn": nn.Softplus, "net_arch": (8,)},
             "clip_range": rl_lr.linear(0.2), "train_freq": (1, "episode"),
             "action_noise": {"type": "normal", "std": 0.2}}
    written = plain(given)
    assert written == {"policy_kwargs": {"activation_fn": "torch.nn.modules.activation.Softplus",
                                         "net_arch": [8]},
                       "clip_range": "linear(0.2)", "train_freq": [1, "episode"],
                       "action_noise": {"type": "normal", "std": 0.2}}
    kwargs = to_constructor_kwargs(written, gym.spaces.Box(-1, 1, (2,)))
    assert kwargs["policy_kwargs"]["activation_fn"] is nn.Softplus
    assert kwargs["clip_range"] == rl_lr.linear(0.2) and kwargs["train_freq"] == (1, "episode")
    assert isinstance(kwargs["action_noise"], NormalActionNoise)
    np.testing.assert_array_equal(kwargs["action_noise"]._sigma, [0.2, 0.2])
    assert coerce_numbers({"a": "1e4", "b": ["3e-4", "x"]}) == {"a": 10_000, "b": [3e-4, "x"]}
    with pytest.raises(rl_lr.SpecError, match=r"gamma is 0\.9, not a mapping"):
        merge({"gamma": 0.9}, {"gamma.x": 1})
    with pytest.raises(rl_lr.SpecError, match="activation_fn must be one of relu"):
        to_constructor_kwargs({"policy_kwargs": {"activation_fn": "relux"}}, None)


def test_reward_threshold_is_gymnasiums_else_the_suites() -> None:
    from rl_lr.envs.suites import env_entry

    assert resolve("ppo", "CartPole-v1", None).reward_threshold == 475.0  # Gymnasium's
    assert gym.spec("rl_lr/PointNav-v0").reward_threshold is None
    assert resolve("ppo", "rl_lr/PointNav-v0", None).reward_threshold == \
        env_entry("rl_lr/PointNav-v0").threshold == 22.0
    assert resolve("ppo", "Acrobot-v1", None, preset="sb3").reward_threshold == -100.0
