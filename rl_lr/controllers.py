# Over 400 lines: the four reward-aware controllers and the Controller base they share.
"""Reward-aware LR controllers: policies that watch training and change the LR online.

A controller multiplies a base schedule (its first argument; a number means ``constant``) by a
``multiplier`` it adapts from :class:`~rl_lr.signals.TrainingSignals`, and clamps the result to
``[min_lr, max_lr]``. Its state lives in an explicit, mutable ``state`` dataclass (not part of
its spec: two controllers with the same arguments are equal whatever they have seen), which
:meth:`Controller.state_dict` / :meth:`Controller.load_state_dict` round-trip and pickling keeps.
Controllers need :func:`rl_lr.attach`; SB3 alone never feeds them signals.

Cadence: every controller here acts once per *measurement*: an update (SB3 ``train()`` call)
that brought at least one new finished episode (``kl_adaptive``: every update). Counts such as
``patience`` are in measurements.

Honesty: the returns a controller sees are the *observed* training returns (perturbed, when the
env is); it never sees the clean reward.

    >>> import rl_lr
    >>> c = rl_lr.parse("plateau(cosine(1e-3), factor=0.5, patience=2)")
    >>> c.value(0.0), c.state.multiplier
    (0.001, 1.0)
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from rl_lr.schedules import LRPolicy, check_positive, register
from rl_lr.signals import TrainingSignals

__all__ = [
    "Controller",
    "ControllerState",
    "KLAdaptive",
    "Plateau",
    "Trend",
    "Volatility",
    "robust_noise",
]


def robust_noise(returns: np.ndarray) -> float:
    """Noise level of a return sequence, robust to its trend and to outliers.

    First differences remove a slow trend; the median absolute deviation of the differences,
    scaled by 1.4826 (Gaussian consistency) and divided by sqrt(2) (a difference of two noisy
    points has twice the variance), estimates the per-point noise standard deviation.

    >>> round(robust_noise(np.arange(10.0)), 6)  # a clean trend has no noise
    0.0
    """
    if returns.size < 3:
        return 0.0
    diffs = np.diff(returns)
    mad = float(np.median(np.abs(diffs - np.median(diffs))))
    return 1.4826 * mad / math.sqrt(2.0)


@dataclass
class ControllerState:
    """Mutable state shared by controllers: the multiplier on the base schedule and the
    progress of the last observation."""

    multiplier: float = 1.0
    progress: float = 0.0
    measurements: int = 0


@dataclass(frozen=True, repr=False)
class Controller(LRPolicy):
    """Base of the controllers: ``lr = clamp(base(progress) * state.multiplier)``."""

    base: LRPolicy
    state: Any = field(default=None, init=False, compare=False, repr=False)

    stateful: ClassVar[bool] = True
    state_class: ClassVar[type[ControllerState]] = ControllerState

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "state", self.state_class())

    def _value(self, progress: float) -> float:
        return self.base.value(progress) * self.state.multiplier

    def base_now(self) -> float:
        """The base schedule's value at the last observed progress (warm-up remapped)."""
        p, w = self.state.progress, self.warmup
        return self.base.value((p - w) / (1.0 - w) if p >= w and w > 0 else max(p, 0.0))

    requires_stats: ClassVar[frozenset[str]] = frozenset()

    def required_stats(self) -> set[str]:
        return set(self.requires_stats) | self.base.required_stats()

    def wants_gradients(self) -> bool:
        return self.needs_gradients or self.base.wants_gradients()

    def wants_minibatch_stats(self) -> bool:
        return self.base.wants_minibatch_stats()

    def observe_minibatch(self, stats: dict[str, float]) -> bool:
        return self.base.observe_minibatch(stats)

    def on_optimizer_step(self, optimizer: Any) -> float | None:
        return self.base.on_optimizer_step(optimizer)  # a nested controller learns too

    def observe(self, signals: TrainingSignals) -> None:
        if self.base.stateful:
            self.base.observe(signals)
        self.state.progress = signals.progress
        if self.wants(signals):
            self.state.measurements += 1
            self.update(signals)
            self._bound_multiplier()

    def wants(self, signals: TrainingSignals) -> bool:
        """Whether these signals are a measurement (default: new episodes finished)."""
        return bool(signals.new_episode_returns)

    def update(self, signals: TrainingSignals) -> None:
        """Adapt ``self.state`` from one measurement."""
        raise NotImplementedError

    def _bound_multiplier(self) -> None:
        """Keep ``base * multiplier`` inside [min_lr, max_lr] at the current progress, so the
        multiplier cannot wind up beyond what the clamps let through."""
        base = self.base_now()
        if base > 0:
            low = self.min_lr / base
            high = self.max_lr / base
            self.state.multiplier = min(max(self.state.multiplier, low), high)

    def state_dict(self) -> dict[str, Any]:
        """A deep copy of the state as a plain dict (a nested controller's under ``base``)."""
        state = dataclasses.asdict(self.state)
        if self.base.stateful:
            state["base"] = self.base.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state produced by :meth:`state_dict`."""
        state = dict(state)
        if self.base.stateful:
            self.base.load_state_dict(state.pop("base"))
        object.__setattr__(self, "state", self.state_class(**copy.deepcopy(state)))

    def log_values(self) -> dict[str, float]:
        """Numbers logged under ``train/lr_controller/*`` after each update."""
        return {
            k: float(v) for k, v in dataclasses.asdict(self.state).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }


def _window_mean(signals: TrainingSignals, window: int) -> float:
    return float(np.mean(signals.recent_returns[-window:]))


# ------------------------------------------------------------------------------------------
@dataclass
class PlateauState(ControllerState):
    best: float = -math.inf
    metric: float = math.nan
    stalled: int = 0
    cooldown_left: int = 0
    cuts: int = 0


@register("plateau")
@dataclass(frozen=True, repr=False)
class Plateau(Controller):
    """``plateau(base, factor=0.5, patience=10, threshold=0.01, threshold_mode=rel,
    cooldown=0, window=20, increase=1)``: reduce on plateau of the observed return.

    The metric is the mean of the last ``window`` observed episode returns (mode max). A
    measurement improves if ``metric > best + threshold * |best|`` (``rel``) or
    ``metric > best + threshold`` (``abs``). After ``patience`` measurements in a row without
    improvement the multiplier is cut by ``factor`` (Keras counts the same way; torch cuts one
    measurement later, after ``patience + 1``), then ``cooldown`` measurements are ignored.
    With ``increase > 1`` an improvement multiplies it back up, never above 1.

    Defaults: Keras ``ReduceLROnPlateau`` uses factor 0.1, patience 10, min_delta 1e-4,
    cooldown 0, min_lr 0; torch the same with a relative threshold 1e-4 (``best * (1 + t)``,
    which misbehaves for negative returns, hence ``|best|`` here). RL returns are noisy and
    non-stationary, so rl-lr defaults to a gentler factor 0.5 and a 1 % relative threshold.
    """

    factor: float = 0.5
    patience: int = 10
    threshold: float = 0.01
    threshold_mode: Literal["rel", "abs"] = "rel"
    cooldown: int = 0
    window: int = 20
    increase: float = 1.0

    state_class: ClassVar[type[ControllerState]] = PlateauState

    def validate(self) -> None:
        super().validate()
        if not 0 < self.factor < 1:
            raise self.fail("factor", "must be in (0, 1)")
        for name in ("patience", "window"):
            if getattr(self, name) < 1:
                raise self.fail(name, "must be an integer >= 1")
        if self.cooldown < 0:
            raise self.fail("cooldown", "must be an integer >= 0")
        if not (math.isfinite(self.threshold) and self.threshold >= 0):
            raise self.fail("threshold", "must be a finite number >= 0")
        if not (math.isfinite(self.increase) and self.increase >= 1):
            raise self.fail("increase", "must be a finite number >= 1")

    def update(self, signals: TrainingSignals) -> None:
        s: PlateauState = self.state
        s.metric = _window_mean(signals, self.window)
        margin = self.threshold * (abs(s.best) if self.threshold_mode == "rel" else 1.0)
        if s.best == -math.inf or s.metric > s.best + margin:
            s.best = s.metric
            s.stalled = 0
            s.multiplier = min(1.0, s.multiplier * self.increase) if s.cuts else s.multiplier
        else:
            s.stalled += 1
        if s.cooldown_left > 0:
            s.cooldown_left -= 1
            s.stalled = 0
        if s.stalled >= self.patience:
            s.multiplier *= self.factor
            s.cuts += 1
            s.stalled = 0
            s.cooldown_left = self.cooldown


# ------------------------------------------------------------------------------------------
@register("kl_adaptive")
@dataclass(frozen=True, repr=False)
class KLAdaptive(Controller):
    """``kl_adaptive(base, target=0.008, factor=1.5, cadence=minibatch, min_lr=1e-6,
    max_lr=1e-2)``: keep the policy's KL divergence near ``target``.

    The rule of rl_games' ``AdaptiveScheduler`` (also Brax, Sample Factory, rsl_rl): when the
    KL exceeds ``2 * target`` the LR becomes ``max(lr / factor, min_lr)``; below
    ``target / 2`` it becomes ``min(lr * factor, max_lr)``. ``cadence=minibatch`` (rl_games'
    default) applies it after every optimizer step on that minibatch's approximate KL between
    the rollout policy and the current one (SB3's estimator, ``mean(exp(r) - 1 - r)`` of the
    log-ratio ``r``), so the new LR drives the next step; ``cadence=update`` applies it once per
    update on SB3's ``train/approx_kl``. Only for the PPO family (PPO, MaskablePPO,
    RecurrentPPO, whose padded steps are left out of the minibatch KL by the buffer's mask, as
    SB3 leaves them out of ``train/approx_kl``); :func:`rl_lr.attach` refuses anything else.
    """

    target: float = 0.008
    factor: float = 1.5
    cadence: Literal["minibatch", "update"] = "minibatch"
    min_lr: float = field(default=1e-6, kw_only=True)
    max_lr: float = field(default=1e-2, kw_only=True)

    requires_stats: ClassVar[frozenset[str]] = frozenset({"approx_kl"})

    def validate(self) -> None:
        super().validate()
        check_positive(self, "target")
        if not (math.isfinite(self.factor) and self.factor > 1):
            raise self.fail("factor", "must be a finite number > 1")

    def wants(self, signals: TrainingSignals) -> bool:
        return self.cadence == "update"

    def wants_minibatch_stats(self) -> bool:
        return self.cadence == "minibatch" or super().wants_minibatch_stats()

    def update(self, signals: TrainingSignals) -> None:
        self._apply_rule(signals.train_stats.get("approx_kl"))

    def observe_minibatch(self, stats: dict[str, float]) -> bool:
        changed = super().observe_minibatch(stats)
        if self.cadence == "minibatch" and self._apply_rule(stats.get("approx_kl")):
            self._bound_multiplier()
            changed = True
        return changed

    def _apply_rule(self, kl: float | None) -> bool:
        """Apply the rule to one KL measurement; return whether the multiplier moved."""
        if kl is None:
            raise ValueError(
                "kl_adaptive needs approx_kl, which only PPO-family algorithms report; "
                "use plateau, trend, volatility, hypergradient or bandit instead"
            )
        if kl > 2.0 * self.target:
            self.state.multiplier /= self.factor
        elif kl < self.target / 2.0:
            self.state.multiplier *= self.factor
        else:
            return False
        return True


# ------------------------------------------------------------------------------------------
@dataclass
class VolatilityState(ControllerState):
    noise: float = 0.0
    scale: float = 0.0
    low: float = math.inf
    high: float = -math.inf


@register("volatility")
@dataclass(frozen=True, repr=False)
class Volatility(Controller):
    """``volatility(base, window=20, sensitivity=2, floor=0.1)``: lower the LR while the
    observed returns are volatile, raise it back as they calm.

    ``noise`` = :func:`robust_noise` of the last ``window`` observed returns (trend-free, robust
    to outliers); ``scale`` = the range of window-mean returns seen so far (how far learning
    has moved the return, a unit that works for positive and negative rewards alike). With the
    relative volatility ``v = noise / scale``::

        multiplier = max(floor, 1 / (1 + sensitivity * v))

    Why: a policy gradient estimated from noisy returns is noisy in proportion; shrinking the
    step when the return's noise is large relative to the progress signal keeps updates from
    chasing noise (the step-size-vs-variance trade-off of stochastic approximation), and lets
    the LR recover when the noise subsides (e.g. after a reward regime switch settles).
    """

    window: int = 20
    sensitivity: float = 2.0
    floor: float = 0.1

    state_class: ClassVar[type[ControllerState]] = VolatilityState

    def validate(self) -> None:
        super().validate()
        if self.window < 3:
            raise self.fail("window", "must be an integer >= 3")
        if not (math.isfinite(self.sensitivity) and self.sensitivity >= 0):
            raise self.fail("sensitivity", "must be a finite number >= 0")
        if not 0 < self.floor <= 1:
            raise self.fail("floor", "must be in (0, 1]")

    def update(self, signals: TrainingSignals) -> None:
        s: VolatilityState = self.state
        recent = np.asarray(signals.recent_returns[-self.window:], dtype=float)
        level = float(np.mean(recent))
        s.low, s.high = min(s.low, level), max(s.high, level)
        s.noise = robust_noise(recent)
        s.scale = s.high - s.low
        if s.scale <= 0:
            return
        s.multiplier = max(self.floor, 1.0 / (1.0 + self.sensitivity * s.noise / s.scale))


# ------------------------------------------------------------------------------------------
@dataclass
class TrendState(ControllerState):
    level: float = math.nan
    noise: float = 0.0
    grows: int = 0
    cuts: int = 0


@register("trend")
@dataclass(frozen=True, repr=False)
class Trend(Controller):
    """``trend(base, grow=1.05, cut=0.5, window=10, significance=2, max_mult=10)``: the bold
    driver (Battiti 1989; Vogl et al. 1988) on the smoothed observed return.

    Each measurement compares the mean of the last ``window`` returns with the previous
    measurement's mean. If it rose, the multiplier grows by ``grow`` (up to ``max_mult``); if
    it fell by more than ``significance`` standard errors of the window mean (noise from
    :func:`robust_noise`), the multiplier is cut by ``cut``. Smaller moves leave it alone, so
    reward noise alone does not trigger cuts.
    """

    grow: float = 1.05
    cut: float = 0.5
    window: int = 10
    significance: float = 2.0
    max_mult: float = 10.0

    state_class: ClassVar[type[ControllerState]] = TrendState

    def validate(self) -> None:
        super().validate()
        if not (math.isfinite(self.grow) and self.grow >= 1):
            raise self.fail("grow", "must be a finite number >= 1")
        if not 0 < self.cut < 1:
            raise self.fail("cut", "must be in (0, 1)")
        if self.window < 1:
            raise self.fail("window", "must be an integer >= 1")
        if not (math.isfinite(self.significance) and self.significance >= 0):
            raise self.fail("significance", "must be a finite number >= 0")
        if not (math.isfinite(self.max_mult) and self.max_mult >= 1):
            raise self.fail("max_mult", "must be a finite number >= 1")

    def update(self, signals: TrainingSignals) -> None:
        s: TrendState = self.state
        recent = np.asarray(signals.recent_returns[-self.window:], dtype=float)
        level = float(np.mean(recent))
        previous, s.level = s.level, level
        s.noise = robust_noise(np.asarray(signals.recent_returns, dtype=float))
        if math.isnan(previous):
            return
        stderr = s.noise / math.sqrt(len(recent))
        if level > previous:
            s.multiplier = min(self.max_mult, s.multiplier * self.grow)
            s.grows += 1
        elif previous - level > self.significance * stderr:
            s.multiplier *= self.cut
            s.cuts += 1
