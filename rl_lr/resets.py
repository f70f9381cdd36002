"""Optimizer-state resets triggered by a detected change in the observed returns, or at
known change points.

``reset_on_change(policy, ...)`` wraps any LR policy (a schedule or a controller, whose LR it
leaves alone) and adds one action: when a change detector on the observed episode returns
fires, the next step of every network's optimizer starts from a fresh state (``clear=all``:
Adam's moments and step counter gone, as in a newly built optimizer) or with its timestep
restarted (``clear=step``: the Adam-Rel reset of :mod:`rl_lr.optimizer_arms`, on change
instead of at every update). It composes: ``reset_on_change(plateau(3e-4))`` cuts the LR on
plateaus *and* resets the optimizer on changes; ``oracle(reset_on_change(3e-4))`` detects
changes on the clean returns (:mod:`rl_lr.oracles`). ``reset_every(policy, every=N)`` resets
at every multiple of ``N`` env steps instead: the informed arm of an experiment whose env
changes on a known period (``damping_switch(..., every=N)``), which tells a detector that
fires late or falsely apart from resets that do not help at all.

Sources: resetting the optimizer's state when the task changes helps deep RL agents keep
learning (Asadi et al., "Resetting the Optimizer in Deep RL: An Empirical Study", NeurIPS
2023, arXiv 2306.17833, for Rainbow at each target-network update); Dohare et al. (Nature
632, 2024) show plasticity loss in PPO under switching friction, which Adam's stale moments
aggravate; the change detector is a two-window mean-shift test (as in Basseville & Nikiforov,
"Detection of Abrupt Changes", 1993) with a noise scale robust to trend and outliers
(:func:`rl_lr.controllers.robust_noise`).

    >>> import rl_lr
    >>> policy = rl_lr.parse("reset_on_change(cosine(3e-4), window=5, threshold=3)")
    >>> policy.value(0.0), policy.state.resets
    (0.0003, 0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from rl_lr.controllers import Controller, ControllerState, robust_noise
from rl_lr.schedules import LRPolicy, register
from rl_lr.signals import TrainingSignals

__all__ = ["ResetEvery", "ResetOnChange", "clear_optimizer_state", "reset_timesteps"]


def reset_timesteps(optimizer: Any) -> int:
    """Set every parameter's step counter (``state["step"]``) of a torch optimizer to 0,
    keeping the moments; return how many counters were reset (Adam-Rel's reset)."""
    count = 0
    for state in optimizer.state.values():
        if isinstance(state, dict) and "step" in state:
            step = state["step"]
            if hasattr(step, "zero_"):
                step.zero_()
            else:
                state["step"] = 0
            count += 1
    return count


def clear_optimizer_state(optimizer: Any) -> None:
    """Forget everything a torch optimizer has accumulated (``optimizer.state`` emptied: the
    next step initialises it as the first step of a new optimizer does); LRs and other
    ``param_groups`` settings stay."""
    optimizer.state.clear()


@dataclass
class ResetState(ControllerState):
    returns: list[float] = field(default_factory=list)  # episodes since the last reset
    statistic: float = math.nan
    resets: int = 0  # changes detected
    cleared: int = 0  # optimizer resets applied (one per network's optimizer and change)
    pending: bool = False


class _ResetsOptimizer:
    """What both resets share: the state, the optimizer step hook that applies a pending
    reset (``clear=all``: a cleared state; ``step``: a restarted timestep) before the base
    policy sees the step, and the logged counters ``resets`` and ``cleared``."""

    base: LRPolicy
    state: ResetState
    clear: Literal["all", "step"]

    state_class: ClassVar[type[ControllerState]] = ResetState
    needs_gradients: ClassVar[bool] = True  # the optimizer step hook is where it resets

    def on_optimizer_step(self, optimizer: Any) -> float | None:
        s = self.state
        if s.pending:
            if self.clear == "all":
                clear_optimizer_state(optimizer)
            else:
                reset_timesteps(optimizer)
            s.pending = False
            s.cleared += 1
        return self.base.on_optimizer_step(optimizer)

    def log_values(self) -> dict[str, float]:
        return {**self.base.log_values(), "resets": float(self.state.resets),
                "cleared": float(self.state.cleared)}


@register("reset_on_change")
@dataclass(frozen=True, repr=False)
class ResetOnChange(_ResetsOptimizer, Controller):
    """``reset_on_change(base, window=10, threshold=3, direction=drop, clear=all)``: reset
    the optimizer's state when the observed return changes abruptly; the LR is ``base``'s.

    Detector: once ``2 * window`` episodes have ended since the last reset, compare the mean
    return of the last ``window`` with that of the ``window`` before, in standard errors of
    the difference (noise from :func:`~rl_lr.controllers.robust_noise` over both windows):
    ``z = (new - old) / (noise * sqrt(2 / window))``. It fires when ``-z > threshold``
    (``direction=drop``: the return fell, which steady learning never causes) or ``|z| >
    threshold`` (``direction=both``: also a sudden rise, e.g. a reward-scale switch). After it
    fires the episode memory restarts, so the next test needs ``2 * window`` new episodes.

    Action: the next step of each network's optimizer runs on a cleared state
    (``clear=all``) or a restarted timestep (``clear=step``). Logged: ``resets`` (changes
    detected), ``cleared`` (optimizer resets done), ``change_statistic`` (the last ``z``).
    Meant for optimizers whose state is a running statistic (Adam and its kin, RMSprop,
    momentum SGD, ``adam_rel``, ``trac``); a schedule-free optimizer's state is its iterate
    sequence, which a reset would throw away.
    """

    window: int = 10
    threshold: float = 3.0
    direction: Literal["drop", "both"] = "drop"
    clear: Literal["all", "step"] = "all"

    def validate(self) -> None:
        super().validate()
        if self.window < 2:
            raise self.fail("window", "must be an integer >= 2")
        if not (math.isfinite(self.threshold) and self.threshold >= 0):
            raise self.fail("threshold", "must be a finite number >= 0")

    def update(self, signals: TrainingSignals) -> None:
        s: ResetState = self.state
        s.returns = [*s.returns, *signals.new_episode_returns][-2 * self.window:]
        if len(s.returns) < 2 * self.window:
            return
        values = np.asarray(s.returns, dtype=float)
        old, new = values[:self.window].mean(), values[self.window:].mean()
        stderr = robust_noise(values) * math.sqrt(2.0 / self.window)
        shift = float(new - old)
        s.statistic = shift / stderr if stderr > 0 else math.copysign(
            math.inf if shift else 0.0, shift)
        change = -s.statistic if self.direction == "drop" else abs(s.statistic)
        if change > self.threshold:
            s.resets += 1
            s.pending = True
            s.returns = []

    def log_values(self) -> dict[str, float]:
        return {**super().log_values(), "change_statistic": float(self.state.statistic)}


@register("reset_every")
@dataclass(frozen=True, repr=False)
class ResetEvery(_ResetsOptimizer, Controller):
    """``reset_every(base, every, clear=all)``: reset the optimizer's state at each multiple
    of ``every`` env steps (at the first optimizer step after it); the LR is ``base``'s.

    Knowing when the env changes is knowledge no deployed agent has, so an experiment labels
    this arm ``oracle_*``: it is the reset of :class:`ResetOnChange` with a perfect detector.
    ``clear`` as there. Logged: ``resets``, ``cleared``.

    >>> import rl_lr
    >>> rl_lr.parse("reset_every(3e-4, every=5000)")
    reset_every(constant(0.0003), every=5000)
    """

    every: int
    clear: Literal["all", "step"] = "all"

    def validate(self) -> None:
        super().validate()
        if self.every < 1:
            raise self.fail("every", "must be an integer >= 1 (env steps between resets)")

    def wants(self, signals: TrainingSignals) -> bool:
        return True  # every observation: the step count is the measurement

    def update(self, signals: TrainingSignals) -> None:
        s: ResetState = self.state
        boundaries = signals.num_timesteps // self.every
        if boundaries > s.resets:
            s.resets = boundaries
            s.pending = True
