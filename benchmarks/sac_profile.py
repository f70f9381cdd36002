"""Where a SAC step goes: section timers (exclusive wall time) wrapped around SB3's, torch's
and rl-lr's methods during one real ``rl_lr.run.train`` run (part ``profile`` of
``bench_sac.py``). Every wrapper is removed afterwards."""

from __future__ import annotations

import csv
import functools
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.vec_env import DummyVecEnv
from stable_baselines3.sac import policies as sac_policies
from stable_baselines3.sac import sac as sac_module

import rl_lr.sb3
from rl_lr.run import TrainConfig, divergence, train
from rl_lr.sb3 import LRHook

__all__ = ["Sections", "profile"]

ENV, ALGO = "Pendulum-v1", "sac"


class Sections:
    """Exclusive wall time per section path (a section inside another is its own path)."""

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, ...], float] = defaultdict(float)
        self.stack: list[tuple[str, float]] = []
        self.counter = 0  # backward index within one train() call
        self.originals: list[tuple[Any, str, Any]] = []

    def enter(self, name: str) -> None:
        now = time.perf_counter()
        if self.stack:
            self._charge(now)
        self.stack.append((name, now))

    def leave(self) -> None:
        now = time.perf_counter()
        self._charge(now)
        self.stack.pop()
        if self.stack:
            self.stack[-1] = (self.stack[-1][0], now)

    def _charge(self, now: float) -> None:
        path = tuple(name for name, _ in self.stack)
        self.seconds[path] += now - self.stack[-1][1]

    def wrap(self, owner: Any, attribute: str, label: Callable[..., str] | str) -> None:
        function = getattr(owner, attribute)

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self.enter(label(*args, **kwargs) if callable(label) else label)
            try:
                return function(*args, **kwargs)
            finally:
                self.leave()

        self.originals.append((owner, attribute, function))
        setattr(owner, attribute, timed)

    def restore(self) -> None:
        """Undo every :meth:`wrap`."""
        for owner, attribute, function in reversed(self.originals):
            setattr(owner, attribute, function)
        self.originals.clear()


def profile(steps: int, seed: int) -> None:
    """Section times of one ``rl-lr train`` run (evaluation every 1000 steps, 10 episodes)."""
    sections = Sections()
    networks = ("ent_coef", "critic", "actor")  # SB3's order within one gradient step
    model: list[Any] = [None]

    def backward_label(*_: Any, **__: Any) -> str:
        sections.counter += 1
        return f"backward {networks[(sections.counter - 1) % 3]}"

    def step_label(optimizer: Any, *_: Any, **__: Any) -> str:
        named = rl_lr.sb3.network_optimizers(model[0])
        name = next((n for n, o in named.items() if o is optimizer), "?")
        return f"Adam step {name} (+ step hooks)"

    def train_label(self: Any, *_: Any, **__: Any) -> str:
        model[0], sections.counter = self, 0
        return "train(): losses, .item(), logging"

    def grad(what: str, otherwise: str) -> Callable[..., str]:
        return lambda *_, **__: what if torch.is_grad_enabled() else otherwise

    entries: list[tuple[Any, str, Callable[..., str] | str]] = [
        (SAC, "learn", "SB3 loop: collect_rollouts, _store_transition, ..."),
        (DummyVecEnv, "step_wait", "env step (Monitor, Pendulum)"),
        (BasePolicy, "predict", "predict (actor forward, batch 1)"),
        (ReplayBuffer, "add", "replay buffer add"),
        (ReplayBuffer, "sample", "replay buffer sample"),
        (BaseCallback, "on_step", "callbacks"),
        (BaseCallback, "on_rollout_start", "callbacks"),
        (BaseCallback, "on_rollout_end", "callbacks"),
        (BaseCallback, "update_locals", "callbacks"),
        (SAC, "train", train_label),
        (BasePolicy, "set_training_mode", "set_training_mode"),
        (sac_policies.Actor, "action_log_prob",
         grad("actor forward (grad)", "actor forward (next obs, no grad)")),
        (sac_policies.ContinuousCritic, "forward",
         grad("critic forward x2 (grad)", "critic target forward (no grad)")),
        (torch.Tensor, "backward", backward_label),
        (torch.optim.Adam, "step", step_label),
        (torch.optim.Optimizer, "zero_grad", "zero_grad"),
        (sac_module, "polyak_update", "polyak update"),
        (LRHook, "apply", "rl-lr LR hook"),
        (LRHook, "after_update", "rl-lr LR hook"),
        (rl_lr.sb3, "gradient_norm", "rl-lr gradient-norm watcher"),
        (divergence, "find_divergence", "rl-lr divergence check (every rollout start)"),
    ]
    for owner, attribute, label in entries:
        if hasattr(owner, attribute):  # rl-lr's run internals may move: time what is there
            sections.wrap(owner, attribute, label)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = TrainConfig(env=ENV, algo=ALGO, steps=steps, seed=seed, lr="preset",
                                 eval_every=1000, eval_episodes=10)
            result = train(config, Path(tmp) / "run")
            timing = list(csv.DictReader((Path(tmp) / "run" / "timing.csv").open()))
    finally:
        sections.restore()
    eval_seconds = sum(float(row["eval_time_s"]) for row in timing)
    total = sum(sections.seconds.values())
    print(f"\n### Profile: one `rl-lr train` run, {steps} steps ({steps - 100} gradient "
          f"steps after SAC's 100 random ones), {len(timing)} evaluations of 10 episodes\n")
    print(f"learn() {total:.1f} s = {1e3 * total / steps:.2f} ms per env step, of which "
          f"evaluations (timing.csv) {eval_seconds:.1f} s; status {result.status}\n")
    print("| section (exclusive time) | ms per env step | share |")
    print("|---|---:|---:|")
    grouped: dict[str, float] = defaultdict(float)
    for path, seconds in sections.seconds.items():
        outer = "callbacks" in path and path[-1] != "rl-lr divergence check (every rollout start)"
        grouped["other callbacks (evaluation included)" if outer else path[-1]] += seconds
    for name, seconds in sorted(grouped.items(), key=lambda item: -item[1]):
        print(f"| {name} | {1e3 * seconds / steps:.2f} | {100 * seconds / total:.1f} % |")
