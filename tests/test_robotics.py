"""Tests of rl_lr.envs.robotics on real gymnasium-robotics envs (PointMaze, AntMaze)."""

from __future__ import annotations

import warnings

import gymnasium as gym
import gymnasium_robotics
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import rl_lr.envs
from rl_lr.envs.registration import ROBOTICS_IDS
from rl_lr.envs.robotics import FlatGoalEnv, make_robotics_env

gym.register_envs(gymnasium_robotics)


def test_convenience_ids_keep_robotics_time_limits() -> None:
    for env_id in ROBOTICS_IDS:
        robotics_id = env_id.removeprefix("rl_lr/")
        assert gym.spec(env_id).max_episode_steps == gym.spec(robotics_id).max_episode_steps
        assert env_id in rl_lr.envs.ENV_IDS


@pytest.mark.parametrize("env_id", ROBOTICS_IDS)
def test_flat_env_passes_gymnasium_and_sb3_check_env(env_id: str) -> None:
    env = gym.make(env_id)
    assert isinstance(env.unwrapped, FlatGoalEnv)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity.*")  # unbounded Box, as in v5
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env, warn=True)
    assert isinstance(env.observation_space, gym.spaces.Box)
    assert env.observation_space.dtype == np.float64
    env.close()


@pytest.mark.parametrize("mode", ["relative", "concat"])
def test_layout_and_rewards_match_the_dict_env(mode: str) -> None:
    """Same seed and actions: flat obs is the documented layout, rewards/flags are unchanged."""
    flat = make_robotics_env("PointMaze_UMaze-v3", mode=mode)
    raw = gym.make("PointMaze_UMaze-v3")
    obs, info = flat.reset(seed=5)
    raw_obs, raw_info = raw.reset(seed=5)
    assert info["is_success"] == raw_info["success"]
    actions = np.random.default_rng(0).uniform(-1, 1, size=(40, 2)).astype(np.float32)
    for action in actions:
        goal = raw_obs["desired_goal"] - raw_obs["achieved_goal"]
        if mode == "concat":
            goal = raw_obs["desired_goal"]
        expected = np.concatenate([raw_obs["observation"], raw_obs["achieved_goal"], goal])
        np.testing.assert_array_equal(obs, expected)
        obs, reward, terminated, truncated, info = flat.step(action)
        raw_obs, raw_reward, raw_terminated, raw_truncated, raw_info = raw.step(action)
        assert (reward, terminated, truncated) == (raw_reward, raw_terminated, raw_truncated)
        assert info["is_success"] == raw_info["success"]
    flat.close()
    raw.close()


def test_make_robotics_env_matches_registered_id_and_passes_kwargs() -> None:
    env = make_robotics_env("rl_lr/PointMaze_UMaze-v3", continuing_task=False)
    assert env.spec is not None and env.spec.id == "rl_lr/PointMaze_UMaze-v3"
    assert env.spec.max_episode_steps == 300
    assert env.unwrapped.goal_env.unwrapped.continuing_task is False  # type: ignore[attr-defined]
    env.close()


def test_ant_maze_observation_keeps_position() -> None:
    env = gym.make("rl_lr/AntMaze_UMaze-v5")
    obs, _ = env.reset(seed=0)
    goal_env = env.unwrapped.goal_env  # type: ignore[attr-defined]
    n = goal_env.observation_space["observation"].shape[0]
    assert obs.shape == (n + 4,)
    np.testing.assert_allclose(obs[n + 2 :] + obs[n : n + 2], goal_env.unwrapped.goal)
    env.close()


def test_invalid_arguments_raise() -> None:
    with pytest.raises(ValueError, match="mode"):
        make_robotics_env("PointMaze_UMaze-v3", mode="stack")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Dict observation space"):
        FlatGoalEnv(gym.make("Pendulum-v1"))


def test_tiny_ppo_runs_on_flat_point_maze() -> None:
    from stable_baselines3 import PPO

    env = gym.make("rl_lr/PointMaze_UMaze-v3")
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=64,
        batch_size=32,
        n_epochs=1,
        policy_kwargs={"net_arch": [16, 16]},
        seed=0,
        device="cpu",
    )
    model.learn(total_timesteps=256)
    assert model.num_timesteps >= 256
    env.close()
