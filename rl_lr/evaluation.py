"""Periodic evaluation on a separate, clean env, recorded next to the LR actually applied.

Honesty rule: the evaluation env is never perturbed and is seeded separately from the training
envs; ``train_return`` is what the agent itself observed (Monitor episode returns).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecEnv

from rl_lr.sb3 import network_optimizers

__all__ = ["EvalRecorder", "EvalRow"]


@dataclass(frozen=True)
class EvalRow:
    """One evaluation point.

    Attributes:
        timesteps: env steps taken when evaluated.
        eval_return_mean: mean clean return of the deterministic policy over the episodes.
        eval_return_std: their standard deviation.
        train_return: mean observed return of the Monitor window (NaN before any episode).
        lr: LR of the first optimizer, read from its ``param_groups``.
    """

    timesteps: int
    eval_return_mean: float
    eval_return_std: float
    train_return: float
    lr: float


class EvalRecorder(BaseCallback):
    """Evaluate every ``eval_every`` steps (and at the start and end of ``learn``).

    Example:
        >>> from stable_baselines3 import PPO
        >>> from stable_baselines3.common.env_util import make_vec_env
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64)
        >>> recorder = EvalRecorder(make_vec_env("CartPole-v1", seed=1), eval_every=64,
        ...                         n_episodes=2)
        >>> _ = model.learn(128, callback=recorder)
        >>> [row.timesteps for row in recorder.rows]
        [0, 64, 128]
    """

    def __init__(self, eval_env: VecEnv, eval_every: int, n_episodes: int = 10) -> None:
        super().__init__()
        if eval_every <= 0 or n_episodes <= 0:
            raise ValueError(
                f"eval_every and n_episodes must be > 0, got {eval_every} and {n_episodes}"
            )
        self.eval_env = eval_env
        self.eval_every = eval_every
        self.n_episodes = n_episodes
        self.rows: list[EvalRow] = []
        self._next = 0

    def _evaluate(self) -> None:
        returns, _ = evaluate_policy(
            self.model, self.eval_env, n_eval_episodes=self.n_episodes, return_episode_rewards=True
        )
        buffer = self.model.ep_info_buffer or ()
        optimizer = next(iter(network_optimizers(self.model).values()))
        self.rows.append(
            EvalRow(
                timesteps=int(self.model.num_timesteps),
                eval_return_mean=float(np.mean(returns)),
                eval_return_std=float(np.std(returns)),
                train_return=float(np.mean([ep["r"] for ep in buffer])) if buffer else math.nan,
                lr=float(optimizer.param_groups[0]["lr"]),
            )
        )
        self._next = self.model.num_timesteps + self.eval_every

    def _on_training_start(self) -> None:
        if not self.rows:
            self._evaluate()

    def _on_step(self) -> bool:
        if self.model.num_timesteps >= self._next:
            self._evaluate()
        return True

    def _on_training_end(self) -> None:
        if self.rows[-1].timesteps != self.model.num_timesteps:
            self._evaluate()

    def as_dicts(self) -> list[dict[str, float]]:
        return [asdict(row) for row in self.rows]
