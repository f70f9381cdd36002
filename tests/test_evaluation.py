"""Batched clean evaluation: the same episodes, starts and returns as the sequential one.

Real SB3 agents on real envs, tiny budgets: each case compares :func:`rl_lr.agents.evaluate`
(episodes side by side) with :func:`rl_lr.agents.evaluate_sequentially` (the evaluation before
batching: one env, SB3's ``evaluate_policy``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from rl_lr.agents import Agent, evaluate, evaluate_sequentially, make, make_eval_env
from rl_lr.sb3 import DeterministicActions

TINY = {"policy_kwargs": {"net_arch": [16]}}
EPISODES = 10


def trained(algo: str, env_id: str, steps: int, **overrides: Any) -> Agent:
    agent = make(algo, env_id, "constant(1e-3)", seed=2, n_envs=1, preset="sb3",
                 total_timesteps=steps, **(TINY | overrides))
    agent.model.learn(steps)
    return agent


class RowWisePolicy:
    """A fixed continuous policy computed row by row in NumPy: its actions on a batch are
    bit-identical to those on single rows, so batched and sequential episodes must match to
    the last bit (what a torch forward pass does not guarantee)."""

    def __init__(self, model: BaseAlgorithm) -> None:
        self.model = model
        self.inputs: list[np.ndarray] = []

    def get_env(self) -> Any:
        return self.model.get_env()

    def predict(self, observation: np.ndarray, **_: Any) -> tuple[np.ndarray, None]:
        self.inputs.append(np.array(observation))
        torque = np.clip(-2.0 * observation[:, 2:3] - 0.5 * observation[:, 1:2], -2.0, 2.0)
        return torque.astype(np.float32), None


def both(model: Any, agent: Agent, n_envs: int, seed: int = 7) -> tuple[list[float], list[float]]:
    batched = evaluate(model, make_eval_env(agent.spec, n_envs), EPISODES, seed)
    sequential = evaluate_sequentially(model, make_eval_env(agent.spec), EPISODES, seed)
    return batched, sequential


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("n_envs", [EPISODES, 3])
def test_discrete_actions_give_the_sequential_returns_exactly(normalize: bool,
                                                               n_envs: int) -> None:
    agent = trained("ppo", "CartPole-v1", 256, n_steps=128, batch_size=64, n_epochs=2,
                    normalize=normalize)
    batched, sequential = both(agent.model, agent, n_envs)
    assert batched == sequential
    assert len(set(batched)) > 1  # distinct episodes, not one episode repeated


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("n_envs", [EPISODES, 4])
def test_a_row_wise_continuous_policy_gives_the_sequential_returns_exactly(
        normalize: bool, n_envs: int) -> None:
    """Episode starts, normalisation and bookkeeping are exact: only the forward pass can
    change the last bits."""
    agent = trained("ppo", "Pendulum-v1", 128, n_steps=64, batch_size=64, n_epochs=1,
                    normalize=normalize)
    policy = RowWisePolicy(agent.model)
    batched, sequential = both(policy, agent, n_envs)
    assert batched == sequential
    assert len(set(batched)) == EPISODES


@pytest.mark.parametrize(("algo", "env_id", "normalize"), [
    ("sac", "Pendulum-v1", False),
    ("ppo", "Pendulum-v1", True),
    ("ppo", "InvertedPendulum-v5", False),
])
def test_continuous_actions_give_the_sequential_returns_to_the_last_bits(
        algo: str, env_id: str, normalize: bool) -> None:
    """A batched forward pass can differ from the row-by-row one by ~1 ulp per action."""
    overrides: dict[str, Any] = {"normalize": normalize}
    if algo == "sac":
        overrides |= {"learning_starts": 64, "batch_size": 32}
    else:
        overrides |= {"n_steps": 128, "batch_size": 64, "n_epochs": 2}
    agent = trained(algo, env_id, 256, **overrides)
    batched, sequential = both(agent.model, agent, EPISODES)
    np.testing.assert_allclose(batched, sequential, rtol=1e-6, atol=1e-4)
    assert len(set(batched)) > 1


def test_normalised_observations_use_the_training_statistics() -> None:
    agent = trained("ppo", "Pendulum-v1", 128, n_steps=64, batch_size=64, n_epochs=1,
                    normalize=True)
    eval_env = make_eval_env(agent.spec, 2)
    assert isinstance(eval_env, VecNormalize)
    assert not eval_env.training and not eval_env.norm_reward
    assert isinstance(agent.env, VecNormalize)
    policy = RowWisePolicy(agent.model)
    model: Any = policy  # duck-typed: predict() and get_env()
    returns = evaluate(model, eval_env, 2, seed=0)
    stats: list[Any] = [eval_env.obs_rms, agent.env.obs_rms]  # RunningMeanStd (Box obs)
    np.testing.assert_array_equal(stats[0].mean, stats[1].mean)
    first, _ = gym.make("Pendulum-v1").reset(seed=0)
    np.testing.assert_array_equal(policy.inputs[0][0], eval_env.normalize_obs(first))
    assert all(-2000 < r < 0 for r in returns)  # raw Pendulum returns, not normalised ones


def test_every_env_runs_one_live_episode_and_finished_ones_stop() -> None:
    """Episode k starts where the sequential evaluation starts it; a finished env leaves the
    batch (never auto-reset into an episode counted twice)."""
    agent = trained("ppo", "CartPole-v1", 128, n_steps=64, batch_size=64, n_epochs=1)
    recorded: list[np.ndarray] = []

    class Recording:
        def get_env(self) -> Any:
            return agent.model.get_env()

        def predict(self, observation: np.ndarray, **kwargs: Any) -> Any:
            recorded.append(np.array(observation))
            return agent.model.predict(observation, **kwargs)

    model: Any = Recording()  # duck-typed: predict() and get_env()
    returns = evaluate(model, make_eval_env(agent.spec, 4), 4, seed=3)
    sequential_env = gym.make("CartPole-v1")
    starts = [sequential_env.reset(seed=3)[0]] + [sequential_env.reset()[0] for _ in range(3)]
    np.testing.assert_array_equal(recorded[0], np.stack(starts))
    lengths = [int(r) for r in returns]  # CartPole: a return is the episode's length
    assert [len(batch) for batch in recorded] == [
        sum(length > step for length in lengths) for step in range(max(lengths))]


@pytest.mark.parametrize(("algo", "env_id"), [
    ("ppo", "CartPole-v1"),           # discrete: argmax of a Categorical
    ("ppo", "InvertedPendulum-v5"),   # Box, clipped Gaussian mean
    ("sac", "Pendulum-v1"),           # Box, squashed and unscaled
    ("dqn", "CartPole-v1"),           # model-level predict adds exploration only
])
def test_the_fast_forward_pass_gives_model_predict_actions_bit_for_bit(algo: str,
                                                                       env_id: str) -> None:
    overrides: dict[str, Any] = {}
    if algo == "ppo":
        overrides = {"n_steps": 64, "batch_size": 64, "n_epochs": 1}
    elif algo in ("sac", "dqn"):
        overrides = {"learning_starts": 32, "batch_size": 32}
    agent = trained(algo, env_id, 128, **overrides)
    space = agent.model.observation_space
    observations = np.stack([space.sample() for _ in range(64)]) * 3  # some actions clip
    act = DeterministicActions(agent.model)
    assert act.direct
    for rows in (observations, observations[:1], observations[:7]):
        expected, _ = agent.model.predict(rows, deterministic=True)
        got = act(rows)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    assert not agent.model.policy.training  # eval mode, as model.predict leaves it
    assert torch.distributions.Distribution._validate_args  # argument checks back on


def test_the_fast_forward_pass_leaves_other_predicts_to_the_model() -> None:
    """A policy that overrides predict (a recurrent one) goes through model.predict."""
    from sb3_contrib import RecurrentPPO  # optional dependency of this one test

    model = RecurrentPPO("MlpLstmPolicy", "CartPole-v1", n_steps=32, batch_size=32, seed=0)
    act = DeterministicActions(model)
    assert not act.direct
    observations = np.zeros((3, 4), dtype=np.float32)
    np.testing.assert_array_equal(act(observations),
                                  model.predict(observations, deterministic=True)[0])


def test_arguments_are_checked() -> None:
    agent = trained("ppo", "CartPole-v1", 64, n_steps=64, batch_size=64, n_epochs=1)
    with pytest.raises(ValueError, match="n_envs must be a positive integer, got 0"):
        make_eval_env(agent.spec, 0)
    with pytest.raises(ValueError, match="n_episodes must be a positive integer, got 0"):
        evaluate(agent.model, make_eval_env(agent.spec), 0, seed=0)
    with pytest.raises(TypeError, match="build it with make_eval_env"):
        evaluate(agent.model, DummyVecEnv([lambda: gym.make("CartPole-v1")]), 1, seed=0)
    with pytest.raises(ValueError, match="one env, got 2"):
        evaluate_sequentially(agent.model, make_eval_env(agent.spec, 2), 2, seed=0)
