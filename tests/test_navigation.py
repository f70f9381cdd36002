"""Tests of rl_lr.envs.navigation on real MuJoCo (no mocks, no rendering)."""

from __future__ import annotations

import itertools
import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import rl_lr.envs.navigation as nav
from rl_lr.envs.navigation import OBS_BASE_SIZE, REWARD_TERMS, NavigationEnv
from rl_lr.envs.navigation.layout import MAZE_MAP, parse_maze
from rl_lr.envs.navigation.scripted import ScriptedNavigator, grid_path

CONTROLS = ("force", "diff_drive")


def make(env_id: str, **kwargs: object) -> gym.Env:
    return gym.make(env_id, **kwargs)


def raw(env: gym.Env) -> NavigationEnv:
    unwrapped = env.unwrapped
    assert isinstance(unwrapped, NavigationEnv)
    return unwrapped


def place(env: gym.Env, x: float, y: float, heading: float = 0.0) -> np.ndarray:
    """Put the robot at rest at (x, y, heading); return the observation after a zero step."""
    base = raw(env)
    base.set_state(np.array([x, y, heading]), np.zeros(base.model.nv))
    obs, *_ = env.step(np.zeros(2, dtype=np.float32))
    return obs


def proportional_force(obs: np.ndarray) -> np.ndarray:
    """Force-mode PD controller using only the observation."""
    cos_h, sin_h, fwd, left = obs[4], obs[5], obs[7], obs[8]
    to_goal = np.array([cos_h * fwd - sin_h * left, sin_h * fwd + cos_h * left])
    return np.clip(2.0 * to_goal - 0.5 * obs[2:4], -1.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------- registration
def test_ids_registered_once_with_time_limits() -> None:
    nav.register_envs()  # a second registration must be a silent no-op
    limits = {env_id: gym.spec(env_id).max_episode_steps for env_id in nav.ENV_IDS}
    assert limits == {
        "rl_lr/PointNav-v0": 500,
        "rl_lr/PointNavObstacles-v0": 750,
        "rl_lr/PointNavMaze-v0": 1000,
    }


def run_fresh(code: str) -> str:
    """Run ``code`` in a fresh interpreter (nothing imported yet); return its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_rl_lr_envs_registers_every_id_without_importing_mujoco() -> None:
    out = run_fresh(
        "import sys, gymnasium, rl_lr.envs\n"
        "print(all(i in gymnasium.registry for i in rl_lr.envs.ENV_IDS), len(rl_lr.envs.ENV_IDS),"
        " 'mujoco' in sys.modules, 'gymnasium_robotics' in sys.modules)"
    )
    assert out == "True 5 False False"


def test_gymnasium_module_prefix_makes_ids_without_importing_rl_lr() -> None:
    """Gymnasium >= 1.0 loads no entry-point plugins (so rl-lr declares none): a plain
    ``import gymnasium`` does not know the ids, the ``"module:id"`` form imports and makes."""
    out = run_fresh(
        "import gymnasium, sys\n"
        "before = 'rl_lr/PointNav-v0' in gymnasium.registry or 'rl_lr' in sys.modules\n"
        "env = gymnasium.make('rl_lr.envs:rl_lr/PointNav-v0')\n"
        "obs, _ = env.reset(seed=0)\n"
        "print(before, env.spec.id, env.spec.max_episode_steps, obs.shape)"
    )
    assert out == "False rl_lr/PointNav-v0 500 (18,)"


@pytest.mark.parametrize("env_id", nav.ENV_IDS)
@pytest.mark.parametrize("control", CONTROLS)
def test_check_env(env_id: str, control: str) -> None:
    env = make(env_id, control=control)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*infinity.*")  # unbounded Box, as in v5
        check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env, warn=True)
    assert env.observation_space.shape == (OBS_BASE_SIZE + 8,)
    assert env.action_space.shape == (2,)
    env.close()


def test_invalid_arguments_raise() -> None:
    with pytest.raises(ValueError, match="control"):
        make("rl_lr/PointNav-v0", control="wheels")
    with pytest.raises(ValueError, match="goal_radius"):
        make("rl_lr/PointNav-v0", goal_radius=0.0)
    with pytest.raises(ValueError, match="min_goal_distance"):
        make("rl_lr/PointNav-v0", min_goal_distance=10.0)
    with pytest.raises(TypeError, match="n_obstacles"):
        make("rl_lr/PointNavMaze-v0", n_obstacles=2)


# --------------------------------------------------------------------------- reward
@pytest.mark.parametrize("env_id", nav.ENV_IDS)
@pytest.mark.parametrize("control", CONTROLS)
def test_reward_is_exact_sum_of_terms(env_id: str, control: str) -> None:
    env = make(env_id, control=control)
    env.reset(seed=3)
    env.action_space.seed(3)
    for _ in range(150):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert np.isfinite(obs).all()
        total = 0.0
        for key in REWARD_TERMS:
            total += info[key]
        assert reward == total
        assert info["reward_ctrl"] <= 0.0 and info["reward_collision"] <= 0.0
        if terminated or truncated:
            env.reset()
    env.close()


# --------------------------------------------------------------------------- seeding
@pytest.mark.parametrize("env_id", nav.ENV_IDS)
def test_same_seed_same_trajectory_different_seed_different_goal(env_id: str) -> None:
    actions = np.random.default_rng(0).uniform(-1, 1, size=(60, 2)).astype(np.float32)

    def rollout(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        env = make(env_id)
        obs, info = env.reset(seed=seed)
        observations, rewards = [obs], []
        for action in actions:
            obs, reward, *_ = env.step(action)
            observations.append(obs)
            rewards.append(reward)
        env.close()
        return info["goal"], np.array(observations), np.array(rewards)

    goal_a, obs_a, rew_a = rollout(7)
    goal_b, obs_b, rew_b = rollout(7)
    goal_c, _, _ = rollout(8)
    np.testing.assert_array_equal(goal_a, goal_b)
    np.testing.assert_array_equal(obs_a, obs_b)
    np.testing.assert_array_equal(rew_a, rew_b)
    assert not np.allclose(goal_a, goal_c)


# --------------------------------------------------------------------------- rangefinders
def test_rangefinders_ignore_robot_and_goal_and_drop_near_wall() -> None:
    env = make("rl_lr/PointNav-v0", rangefinder_range=1.5)
    env.reset(seed=0)
    base = raw(env)
    # Goal marker 0.4 m straight ahead of a robot in the middle of the arena: nothing seen.
    base.data.mocap_pos[base._goal_mocap, :2] = [0.4, 0.0]
    obs = place(env, 0.0, 0.0)
    np.testing.assert_array_equal(obs[OBS_BASE_SIZE:], np.ones(8))
    # Next to the east wall (inner face at x = 2.0), facing it: ray 0 reads the gap.
    x = 2.0 - base.robot_radius - 0.01
    obs = place(env, x, 0.0, heading=0.0)
    rays = obs[OBS_BASE_SIZE:]
    assert rays[0] == pytest.approx((2.0 - x) / 1.5, abs=1e-6)
    assert rays[4] == 1.0  # facing away from the wall: out of range
    # Rotating the robot rotates the ring: ray 2 (left) now faces the wall.
    rays = place(env, x, 0.0, heading=-np.pi / 2)[OBS_BASE_SIZE:]
    assert rays[2] == pytest.approx((2.0 - x) / 1.5, abs=1e-6)
    env.close()


def test_rangefinders_see_obstacles() -> None:
    env = make("rl_lr/PointNavObstacles-v0", n_obstacles=1)
    env.reset(seed=0)
    base = raw(env)
    ox, oy = base.obstacles[0]
    gap = 0.3
    obs = place(env, ox - 0.2 - gap - base.robot_radius, oy, heading=0.0)
    assert obs[OBS_BASE_SIZE] == pytest.approx((gap + base.robot_radius) / 2.0, abs=1e-6)
    env.close()


# --------------------------------------------------------------------------- collisions
@pytest.mark.parametrize("control", CONTROLS)
def test_collision_gives_negative_reward(control: str) -> None:
    env = make("rl_lr/PointNav-v0", control=control, collision_cost_weight=0.5)
    env.reset(seed=0)
    base = raw(env)
    _, _, _, _, info = env.step(np.zeros(2, dtype=np.float32))
    assert not info["collision"] and info["reward_collision"] == 0.0
    base.set_state(np.array([2.0 - base.robot_radius, 0.0, 0.0]), np.array([1.0, 0.0, 0.0]))
    push = np.array([1.0, 0.0] if control == "force" else [1.0, 1.0], dtype=np.float32)
    _, _, _, _, info = env.step(push)
    assert info["collision"]
    assert info["reward_collision"] == -0.5
    env.close()


# --------------------------------------------------------------------------- layouts
def test_obstacles_keep_clear_of_start_and_goal() -> None:
    env = make("rl_lr/PointNavObstacles-v0")
    base = raw(env)
    clearance = 0.2 + base.robot_radius
    for seed in range(10):
        env.reset(seed=seed)
        start = base.data.qpos[:2].copy()
        assert len(base.obstacles) == 8
        for point in (start, base.goal):
            assert np.min(np.linalg.norm(base.obstacles - point, axis=1)) > clearance
    env.close()


def test_maze_start_and_goal_in_free_cells() -> None:
    env = make("rl_lr/PointNavMaze-v0")
    base = raw(env)
    grid = parse_maze(MAZE_MAP)
    n_rows, n_cols = grid.shape
    for seed in range(10):
        _, info = env.reset(seed=seed)
        assert not info["collision"]
        for x, y in (base.data.qpos[:2], base.goal):
            col = int(np.floor(x + n_cols / 2))
            row = int(np.floor(n_rows / 2 - y))
            assert not grid[row, col]
    env.close()


def test_diff_drive_moves_forward_and_turns_left_on_faster_right_wheel() -> None:
    env = make("rl_lr/PointNav-v0", control="diff_drive", reset_noise_scale=0.0)
    env.reset(seed=0)
    place(env, 0.0, 0.0, heading=np.pi / 2)
    for _ in range(5):
        obs, *_ = env.step(np.array([1.0, 1.0], dtype=np.float32))
    assert obs[3] > 0.3 and abs(obs[2]) < 1e-6  # moving along +y = the heading
    obs, *_ = env.step(np.array([-1.0, 1.0], dtype=np.float32))
    assert obs[6] > 0.0  # counter-clockwise yaw rate
    env.close()


# --------------------------------------------------------------------------- solvability
def test_proportional_controller_reaches_goal() -> None:
    env = make("rl_lr/PointNav-v0")
    reached = 0
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        terminated = truncated = False
        while not (terminated or truncated):
            obs, _, terminated, truncated, info = env.step(proportional_force(obs))
        if terminated:
            assert info["reward_success"] > 0 and info["is_success"]
            assert info["distance"] < 0.3
            reached += 1
    assert reached >= 4
    env.close()


@pytest.mark.parametrize("env_id", nav.ENV_IDS)
def test_scripted_navigator_reaches_every_goal(env_id: str) -> None:
    env = make(env_id)
    policy = ScriptedNavigator(env)
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        terminated = truncated = False
        while not (terminated or truncated):
            obs, _, terminated, truncated, info = env.step(policy(obs))
            assert np.isfinite(obs).all()
        assert terminated and info["is_success"] and info["reward_success"] > 0
    env.close()


def test_observations_stay_finite_under_extreme_actions() -> None:
    """Full-force pushes into walls and obstacles for a whole episode, both control modes."""
    for control in CONTROLS:
        env = make("rl_lr/PointNavObstacles-v0", control=control, n_obstacles=8)
        env.reset(seed=0)
        for step in range(750):
            action = np.full(2, 1.0 if (step // 100) % 2 == 0 else -1.0, dtype=np.float32)
            obs, reward, terminated, truncated, _ = env.step(action)
            assert np.isfinite(obs).all() and np.isfinite(reward)
            if terminated or truncated:
                env.reset()
        env.close()


def test_grid_path_and_scripted_navigator_validation() -> None:
    walls = parse_maze(MAZE_MAP)
    path = grid_path(walls, (1, 1), (1, 3))
    assert path[0] == (1, 1) and path[-1] == (1, 3)
    assert all(abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1 for a, b in itertools.pairwise(path))
    assert not any(walls[cell] for cell in path)
    with pytest.raises(ValueError, match="no path"):
        grid_path(walls, (1, 1), (0, 0))
    with pytest.raises(TypeError, match="force-mode"):
        ScriptedNavigator(make("rl_lr/PointNav-v0", control="diff_drive"))


def test_pickle_roundtrip_keeps_arguments() -> None:
    env = make("rl_lr/PointNavObstacles-v0", n_obstacles=3, control="diff_drive")
    clone = pickle.loads(pickle.dumps(env.unwrapped))
    assert isinstance(clone, NavigationEnv)
    assert clone.obstacles.shape == (3, 2) and clone.control == "diff_drive"
    env.close()
    clone.close()


def test_tiny_ppo_runs() -> None:
    from stable_baselines3 import PPO

    env = make("rl_lr/PointNav-v0")
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
