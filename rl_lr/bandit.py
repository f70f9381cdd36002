"""LR selection as a non-stationary multi-armed bandit (in the spirit of LRRL, Donâncio et
al. 2024): each arm is a multiplier of the base schedule, played for a ``period`` of
measurements and rewarded by the improvement of the observed return over that period.

Algorithms: discounted UCB and sliding-window UCB (Garivier & Moulines, ALT 2011), which
forget old evidence so the choice can move when training changes regime; and Exp3 (Auer et
al., 2002), adversarial, with a floor of uniform exploration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from rl_lr.controllers import Controller, ControllerState
from rl_lr.schedules import register
from rl_lr.signals import TrainingSignals

__all__ = ["Bandit"]


@dataclass
class BanditState(ControllerState):
    arm: int = 0
    history: list[tuple[int, float]] = field(default_factory=list)  # (arm, reward) per period
    period_returns: list[float] = field(default_factory=list)
    period_measurements: int = 0
    last_level: float = math.nan
    reward_scale: float = 0.0
    log_weights: list[float] = field(default_factory=list)  # Exp3
    rng: dict[str, Any] = field(default_factory=dict)  # numpy bit-generator state (Exp3)


@register("bandit")
@dataclass(frozen=True, repr=False)
class Bandit(Controller):
    """``bandit(base, arms=[0.25, 0.5, 1, 2, 4], algorithm=ducb, period=5, discount=0.9,
    window=20, c=1, exp3_gamma=0.1, seed=0)``: pick the LR multiplier by a bandit.

    Reward of a period: mean observed return of its episodes minus that of the previous
    period, divided by the largest absolute improvement seen so far (so rewards lie in
    [-1, 1] whatever the reward scale). ``ducb`` weights past rewards by
    ``discount ** age`` (in periods); ``swucb`` keeps the last ``window`` periods; both play
    ``argmax mean_i + c * sqrt(log(n) / n_i)`` with unplayed arms first (lowest index first).
    ``exp3`` samples arms with probabilities ``(1 - g) * softmax(log_weights) + g / K`` from
    a generator seeded by ``seed`` and kept in the state.
    """

    arms: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    algorithm: Literal["ducb", "swucb", "exp3"] = "ducb"
    period: int = 5
    discount: float = 0.9
    window: int = 20
    c: float = 1.0
    exp3_gamma: float = 0.1
    seed: int = 0

    state_class: ClassVar[type[ControllerState]] = BanditState

    def __post_init__(self) -> None:
        super().__post_init__()
        s: BanditState = self.state
        s.rng = dict(np.random.default_rng(self.seed).bit_generator.state)
        s.log_weights = [0.0] * len(self.arms)
        s.arm = self._choose()
        s.multiplier = self.arms[s.arm]

    def validate(self) -> None:
        super().validate()
        if len(self.arms) < 2 or not all(math.isfinite(a) and a > 0 for a in self.arms):
            raise self.fail("arms", "must list at least two finite multipliers > 0")
        if self.period < 1 or self.window < 1:
            raise self.fail("period" if self.period < 1 else "window", "must be an integer >= 1")
        if not 0 < self.discount <= 1:
            raise self.fail("discount", "must be in (0, 1]")
        if not (math.isfinite(self.c) and self.c >= 0):
            raise self.fail("c", "must be a finite number >= 0")
        if not 0 < self.exp3_gamma <= 1:
            raise self.fail("exp3_gamma", "must be in (0, 1]")

    def update(self, signals: TrainingSignals) -> None:
        s: BanditState = self.state
        s.period_returns.extend(signals.new_episode_returns)
        s.period_measurements += 1
        if s.period_measurements < self.period:
            return
        level = float(np.mean(s.period_returns))
        if not math.isnan(s.last_level):
            gain = level - s.last_level
            s.reward_scale = max(s.reward_scale, abs(gain))
            reward = gain / s.reward_scale if s.reward_scale > 0 else 0.0
            s.history.append((s.arm, reward))
            if self.algorithm == "exp3":
                self._exp3_update(s.arm, reward)
        s.last_level = level
        s.period_returns, s.period_measurements = [], 0
        s.arm = self._choose()
        s.multiplier = self.arms[s.arm]

    def _bound_multiplier(self) -> None:
        """Arms are the multipliers: only the final LR is clamped."""

    # -- arm statistics -----------------------------------------------------------------
    def arm_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """(weighted plays, weighted mean reward) per arm under the algorithm's forgetting."""
        k = len(self.arms)
        plays, totals = np.zeros(k), np.zeros(k)
        history = self.state.history
        if self.algorithm == "swucb":
            history = history[-self.window:]
        for age, (arm, reward) in enumerate(reversed(history)):
            weight = self.discount**age if self.algorithm == "ducb" else 1.0
            plays[arm] += weight
            totals[arm] += weight * reward
        means = np.divide(totals, plays, out=np.zeros(k), where=plays > 0)
        return plays, means

    def _choose(self) -> int:
        if self.algorithm == "exp3":
            return self._exp3_draw()
        plays, means = self.arm_stats()
        unplayed = np.flatnonzero(plays < 1e-12)
        if unplayed.size:
            return int(unplayed[0])
        bonus = self.c * np.sqrt(np.log(plays.sum()) / plays)
        return int(np.argmax(means + bonus))

    def _exp3_probabilities(self) -> np.ndarray:
        w = np.asarray(self.state.log_weights)
        soft = np.exp(w - w.max())
        return (1.0 - self.exp3_gamma) * soft / soft.sum() + self.exp3_gamma / len(self.arms)

    def _exp3_draw(self) -> int:
        generator = np.random.default_rng()
        generator.bit_generator.state = self.state.rng
        arm = int(generator.choice(len(self.arms), p=self._exp3_probabilities()))
        self.state.rng = dict(generator.bit_generator.state)
        return arm

    def _exp3_update(self, arm: int, reward: float) -> None:
        probability = self._exp3_probabilities()[arm]
        estimate = (reward + 1.0) / 2.0 / probability  # reward mapped to [0, 1]
        self.state.log_weights[arm] += self.exp3_gamma * estimate / len(self.arms)

    def log_values(self) -> dict[str, float]:
        s: BanditState = self.state
        return {"multiplier": s.multiplier, "arm": float(s.arm), "periods": float(len(s.history))}
