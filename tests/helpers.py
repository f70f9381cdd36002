"""Shared test helpers: tiny real SB3 agents on real Gymnasium envs."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from sb3_contrib import TQC, TRPO, CrossQ
from stable_baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from rl_lr.sb3 import network_optimizers

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {
    "ppo": PPO, "a2c": A2C, "trpo": TRPO, "dqn": DQN,
    "sac": SAC, "td3": TD3, "ddpg": DDPG, "tqc": TQC, "crossq": CrossQ,
}
ON_POLICY = {"ppo", "a2c", "trpo"}
DISCRETE = {"ppo", "a2c", "trpo", "dqn"}

# Budgets: a few updates each, a couple of seconds per model.
ON_POLICY_STEPS = 256
OFF_POLICY_STEPS = 160


def budget(algo: str) -> int:
    return ON_POLICY_STEPS if algo in ON_POLICY else OFF_POLICY_STEPS


def make_model(algo: str, learning_rate: Any = 1e-3, env: Any = None, seed: int = 0,
               **overrides: Any) -> BaseAlgorithm:
    """A tiny model: CartPole-v1 for discrete-action algorithms, Pendulum-v1 otherwise."""
    env = env or ("CartPole-v1" if algo in DISCRETE else "Pendulum-v1")
    kwargs: dict[str, Any] = {"policy_kwargs": {"net_arch": [16]}, "seed": seed, "device": "cpu"}
    if algo in ON_POLICY:
        kwargs |= {"n_steps": 64}
        if algo != "a2c":
            kwargs |= {"batch_size": 64}
        if algo == "ppo":
            kwargs |= {"n_epochs": 2}
    else:
        kwargs |= {"learning_starts": 64, "batch_size": 32, "buffer_size": 1_000}
    if algo == "crossq":
        kwargs["policy_kwargs"] = {"net_arch": {"pi": [16], "qf": [16]}}
    kwargs |= overrides
    return ALGORITHMS[algo]("MlpPolicy", env, learning_rate=learning_rate, **kwargs)


class LRRecorder(BaseCallback):
    """After every update (at the next rollout start, or at the end of learn()): timesteps,
    logged ``train/*`` LRs and the LR read back from every optimizer."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.extra_prefixes: tuple[str, ...] = ()  # more logged keys to keep
        self._updates_seen = 0

    def _on_rollout_start(self) -> None:
        if self.model._n_updates == self._updates_seen:
            return  # no update since the last row (e.g. before learning_starts)
        self._updates_seen = self.model._n_updates
        logged = self.model.logger.name_to_value
        self.rows.append({
            "timesteps": self.model.num_timesteps,
            "logged": {k: v for k, v in logged.items()
                       if k.startswith(("train/learning_rate", "train/lr/", *self.extra_prefixes))},
            "applied": {n: o.param_groups[0]["lr"]
                        for n, o in network_optimizers(self.model).items()},
        })

    def _on_training_end(self) -> None:
        self._on_rollout_start()  # the last update of a learn() call

    def _on_step(self) -> bool:
        return True


def run_yaml(directory: Path, name: str, text: str) -> Path:
    """Write the experiment file ``text`` as ``directory/name.yaml``, run it serially in this
    process (report included) into ``directory/out``, check nothing failed; the output dir."""
    from rl_lr.harness import run_experiment  # the harness layer: only the tests that run one

    (directory / f"{name}.yaml").write_text(text)
    out = directory / "out"
    result = run_experiment(directory / f"{name}.yaml", out, backend="serial", quiet=True)
    assert result.failed == {}, result.failed
    return out


def sigint_as_in_a_terminal() -> None:
    """``preexec_fn`` of a child process a test stops with SIGINT (Ctrl-C): a test suite run
    from a background job (``cmd &`` without job control) hands its children SIGINT ignored,
    and a Python started so never raises KeyboardInterrupt; restore the default, under which
    Python installs its handler as in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
