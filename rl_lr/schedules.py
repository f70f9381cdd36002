# Over 400 lines: every built-in schedule of the grammar, each a short frozen dataclass.
"""LR schedules: frozen, picklable, pure functions of training progress.

Time axis: ``progress`` runs from 0 (start of the run) to 1 (end of the run's total timesteps).
Stable-Baselines3 calls a schedule with ``progress_remaining = 1 - progress``; that conversion
happens in exactly one place, :meth:`LRPolicy.__call__`, so any policy here can be passed as
``learning_rate=`` to an SB3 algorithm.

Every policy accepts the same modifiers (keyword-only):

- ``warmup=FRACTION``: for ``progress < warmup`` the LR ramps from ``warmup_start`` (default 0)
  to the policy's first value, linearly or (``warmup_mode=exponential``, needs
  ``warmup_start > 0``) geometrically; the policy itself then runs over the remaining
  ``1 - warmup`` of the run (as in optax's ``warmup_cosine_decay_schedule`` and torch's
  ``SequentialLR([LinearLR, ...])``).
- ``min_lr=`` / ``max_lr=``: clamps applied to the final value (warm-up included).

Example:
    >>> from rl_lr import cosine, step
    >>> s = cosine(1e-3, end=1e-5, warmup=0.1)
    >>> s.value(0.0), s.value(0.1), round(s.value(1.0), 8)
    (0.0, 0.001, 1e-05)
    >>> step(1e-3, every=0.25, gamma=0.5).value(0.5)
    0.00025
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rl_lr.spec import Registry, SpecError, SpecObject

if TYPE_CHECKING:
    from rl_lr.signals import TrainingSignals

__all__ = [
    "ALL_NETWORKS",
    "POLICIES",
    "Constant",
    "Cosine",
    "CosineRestarts",
    "Cyclic",
    "Exponential",
    "LRPolicy",
    "Linear",
    "MultiStep",
    "OneCycle",
    "Polynomial",
    "Sequence",
    "Step",
    "check_positive",
    "parse_policies",
    "register",
    "sequence",
]

# Tolerance for boundaries computed in floating point: progress 0.3 with ``every=0.1`` must land
# in interval 3 (0.3 / 0.1 == 2.9999999999999996), as torch's integer step counts do.
_EPS = 1e-9


def _floor(x: float) -> int:
    return math.floor(x + _EPS)


@dataclass(frozen=True, repr=False)
class LRPolicy(SpecObject):
    """Base of every LR policy (schedules here, controllers in :mod:`rl_lr.controllers`).

    Subclasses implement :meth:`_value` on local progress in [0, 1]; :meth:`value` adds the
    common modifiers. Stateful policies (controllers) set ``stateful = True`` and need
    :func:`rl_lr.attach` to receive :class:`~rl_lr.signals.TrainingSignals`.
    """

    warmup: float = field(default=0.0, kw_only=True)
    warmup_start: float = field(default=0.0, kw_only=True)
    warmup_mode: Literal["linear", "exponential"] = field(default="linear", kw_only=True)
    min_lr: float = field(default=0.0, kw_only=True)
    max_lr: float = field(default=math.inf, kw_only=True)

    stateful: ClassVar[bool] = False
    needs_gradients: ClassVar[bool] = False

    def validate(self) -> None:
        if not 0.0 <= self.warmup < 1.0:
            raise self.fail("warmup", "must be a fraction of the run in [0, 1)")
        _check_nonnegative(self, "warmup_start")
        if self.warmup_mode == "exponential" and self.warmup > 0 and self.warmup_start <= 0:
            raise self.fail("warmup_start", "must be > 0 with warmup_mode=exponential")
        _check_nonnegative(self, "min_lr")
        if math.isnan(self.max_lr) or self.max_lr <= self.min_lr:
            raise self.fail("max_lr", f"must be > min_lr ({self.min_lr!r})")

    def value(self, progress: float) -> float:
        """The LR at ``progress`` in [0, 1] (clipped into it). Pure: calling never advances
        anything."""
        p = min(max(float(progress), 0.0), 1.0)
        w = self.warmup
        if p < w:
            target = self._value(0.0)
            frac = p / w
            if self.warmup_mode == "exponential":
                lr = _geometric(self.warmup_start, target, frac)
            else:
                lr = self.warmup_start + (target - self.warmup_start) * frac
        else:
            lr = self._value((p - w) / (1.0 - w) if w > 0 else p)
        return min(max(lr, self.min_lr), self.max_lr)

    def _value(self, progress: float) -> float:
        raise NotImplementedError

    def observe(self, signals: TrainingSignals) -> None:
        """Advance the policy's state after one update. Only stateful policies (controllers)
        receive signals, through :func:`rl_lr.attach`; schedules have nothing to advance."""

    def required_stats(self) -> set[str]:
        """SB3 ``train/*`` statistics this policy (or a nested one) reads, e.g. ``approx_kl``."""
        return set()

    def wants_minibatch_stats(self) -> bool:
        """Whether :meth:`observe_minibatch` must be called after every optimizer step."""
        return False

    def observe_minibatch(self, stats: dict[str, float]) -> bool:
        """Per-minibatch statistics (``approx_kl`` of the minibatch just stepped on, PPO
        family), for policies that adapt within an update. Returns whether the LR changed."""
        return False

    def wants_gradients(self) -> bool:
        """Whether :meth:`on_optimizer_step` must be called (here or in a nested policy)."""
        return self.needs_gradients

    def on_optimizer_step(self, optimizer: Any) -> float | None:
        """Called before every step of the network's torch optimizer, gradients in place, for
        policies with ``needs_gradients`` (e.g. hypergradient descent). May return the global
        gradient norm it computed anyway, which the hook then reuses."""
        return None

    def log_values(self) -> dict[str, float]:
        """Internal numbers to log under ``train/lr_controller/*`` after each update."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """The policy's mutable state (schedules have none)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output (schedules have nothing to restore)."""

    def __call__(self, progress_remaining: float) -> float:
        """Stable-Baselines3's ``Schedule`` protocol: the one place where SB3's
        ``progress_remaining`` (1 -> 0) becomes rl-lr's ``progress`` (0 -> 1).

        SB3 also calls it once with 1.0 to build its optimizers; a stateful policy called by
        SB3 later than that was never attached and would silently act as its base schedule,
        so it refuses."""
        if self.stateful and progress_remaining < 1.0:
            raise RuntimeError(
                f"rl-lr: {self.spec_name} is a controller and needs training signals; "
                "attach it with rl_lr.attach(model, policy, total_timesteps=...)"
            )
        return self.value(1.0 - progress_remaining)


POLICIES = Registry("LR policy", LRPolicy)
register = POLICIES.register

#: The network key of a policy given for every network at once.
ALL_NETWORKS = "default"


def parse_policies(spec: Any) -> dict[str, LRPolicy]:
    """An LR spec (string, number, mapping spec or policy), or one per network
    (``{"actor": ..., "critic": ...}``, ``default`` for the others) -> ``{network: policy}``;
    a single spec is ``{"default": policy}``. Policies pass through as they are.

    >>> parse_policies("cosine(1e-3)")
    {'default': cosine(0.001)}
    >>> parse_policies({"actor": 3e-4, "critic": "linear(1e-3)"})
    {'actor': constant(0.0003), 'critic': linear(0.001)}

    Raises:
        SpecError: a bad spec, or an empty mapping (it names no network).
    """
    if isinstance(spec, Mapping) and "name" not in spec:
        if not spec:
            raise SpecError("lr: an empty mapping names no network")
        return {str(k): POLICIES.parse(v) for k, v in spec.items()}
    return {ALL_NETWORKS: POLICIES.parse(spec)}


def check_positive(policy: SpecObject, name: str) -> None:
    """Raise the policy's one-line :class:`SpecError` unless ``policy.<name>`` is a finite
    number > 0 (an LR, a factor, a power); for policies and controllers alike."""
    v = getattr(policy, name)
    if not (math.isfinite(v) and v > 0):
        raise policy.fail(name, "must be a finite number > 0")


def _check_nonnegative(policy: SpecObject, name: str) -> None:
    v = getattr(policy, name)
    if not (math.isfinite(v) and v >= 0):
        raise policy.fail(name, "must be a finite number >= 0")


def _check_fraction(policy: SpecObject, name: str, *, open_low: bool, open_high: bool) -> None:
    v = getattr(policy, name)
    low_ok = v > 0 if open_low else v >= 0
    high_ok = v < 1 if open_high else v <= 1
    if not (low_ok and high_ok):
        interval = f"{'(' if open_low else '['}0, 1{')' if open_high else ']'}"
        raise policy.fail(name, f"must be a fraction in {interval}")


def _geometric(start: float, end: float, frac: float) -> float:
    """``start * (end / start) ** frac`` computed in log space (no overflow for extreme
    ratios); ``end`` may be 0 only at ``frac == 0``."""
    if end <= 0.0:
        return start if frac == 0.0 else 0.0
    return math.exp(math.log(start) + frac * (math.log(end) - math.log(start)))


def _cosine(start: float, end: float, frac: float) -> float:
    return end + (start - end) * (1.0 + math.cos(math.pi * frac)) / 2.0


@register("constant")
@dataclass(frozen=True, repr=False)
class Constant(LRPolicy):
    """``constant(lr)``: the same LR throughout (torch ``ConstantLR(factor=1)``)."""

    lr: float

    def validate(self) -> None:
        super().validate()
        check_positive(self, "lr")

    def _value(self, progress: float) -> float:
        return self.lr


@register("linear")
@dataclass(frozen=True, repr=False)
class Linear(LRPolicy):
    """``linear(lr, end=0)``: straight line from ``lr`` to ``end`` (torch ``LinearLR``; the
    rl-baselines3-zoo ``lin_`` schedule)."""

    lr: float
    end: float = 0.0

    def validate(self) -> None:
        super().validate()
        check_positive(self, "lr")
        _check_nonnegative(self, "end")

    def _value(self, progress: float) -> float:
        return self.lr + (self.end - self.lr) * progress


@register("step")
@dataclass(frozen=True, repr=False)
class Step(LRPolicy):
    """``step(lr, every, gamma=0.1)``: multiply by ``gamma`` after each ``every`` fraction of
    the run (torch ``StepLR``; gamma default as torch's). ``gamma`` is in (0, 1]: growth is
    ``exponential``'s job."""

    lr: float
    every: float
    gamma: float = 0.1

    def validate(self) -> None:
        super().validate()
        check_positive(self, "lr")
        _check_fraction(self, "every", open_low=True, open_high=False)
        _check_fraction(self, "gamma", open_low=True, open_high=False)

    def _value(self, progress: float) -> float:
        return self.lr * self.gamma ** _floor(progress / self.every)


@register("multistep")
@dataclass(frozen=True, repr=False)
class MultiStep(LRPolicy):
    """``multistep(lr, milestones=[...], gamma=0.1)``: multiply by ``gamma`` at each milestone
    (fractions of the run, strictly increasing; torch ``MultiStepLR``)."""

    lr: float
    milestones: tuple[float, ...]
    gamma: float = 0.1

    def validate(self) -> None:
        super().validate()
        check_positive(self, "lr")
        _check_fraction(self, "gamma", open_low=True, open_high=False)
        _check_breakpoints(self, "milestones", allow_empty=False)

    def _value(self, progress: float) -> float:
        passed = sum(1 for m in self.milestones if progress + _EPS >= m)
        return self.lr * self.gamma**passed


def _check_breakpoints(policy: SpecObject, name: str, *, allow_empty: bool) -> None:
    points = getattr(policy, name)
    if not points and not allow_empty:
        raise policy.fail(name, "must list at least one fraction in (0, 1)")
    if not all(0.0 < m < 1.0 for m in points):
        raise policy.fail(name, "must be fractions in (0, 1)")
    if any(b <= a for a, b in itertools.pairwise(points)):
        raise policy.fail(name, "must be strictly increasing")


@register("exponential")
@dataclass(frozen=True, repr=False)
class Exponential(LRPolicy):
    """``exponential(lr, end)``: geometric decay ``lr * (end/lr) ** progress`` (torch
    ``ExponentialLR`` with ``gamma = (end/lr) ** (1/total_steps)``)."""

    lr: float
    end: float

    def validate(self) -> None:
        super().validate()
        check_positive(self, "lr")
        check_positive(self, "end")

    def _value(self, progress: float) -> float:
        return _geometric(self.lr, self.end, progress)


@register("polynomial")
@dataclass(frozen=True, repr=False)
class Polynomial(LRPolicy):
    """``polynomial(lr, end=0, power=1)``: ``(lr - end) * (1 - progress) ** power + end``
    (torch ``PolynomialLR`` for ``end=0``; optax ``polynomial_schedule``)."""

    lr: float
    end: float = 0.0
    power: float = 1.0

    def validate(self) -> None:
        super().validate()
        check_positive(self, "lr")
        _check_nonnegative(self, "end")
        check_positive(self, "power")

    def _value(self, progress: float) -> float:
        return (self.lr - self.end) * (1.0 - progress) ** self.power + self.end


@register("cosine")
@dataclass(frozen=True, repr=False)
class Cosine(LRPolicy):
    """``cosine(lr, end=0)``: half-cosine from ``lr`` to ``end`` (torch ``CosineAnnealingLR``
    with ``T_max`` = the run, ``eta_min = end``)."""

    lr: float
    end: float = 0.0

    def validate(self) -> None:
        super().validate()
        check_positive(self, "lr")
        _check_nonnegative(self, "end")

    def _value(self, progress: float) -> float:
        return _cosine(self.lr, self.end, progress)


@register("cosine_restarts")
@dataclass(frozen=True, repr=False)
class CosineRestarts(LRPolicy):
    """``cosine_restarts(lr, cycles, end=0, mult=1)``: SGDR (Loshchilov & Hutter 2017).

    ``cycles`` cosine cycles from ``lr`` to ``end`` fill the run, each ``mult`` times longer
    than the previous (torch ``CosineAnnealingWarmRestarts`` with ``T_0`` = the first cycle's
    length and ``T_mult = mult``). As in torch, the value at the instant a cycle ends is the
    restart value ``lr`` — including at ``progress = 1``.
    """

    lr: float
    cycles: int
    end: float = 0.0
    mult: float = 1.0

    def validate(self) -> None:
        super().validate()
        check_positive(self, "lr")
        _check_nonnegative(self, "end")
        if self.cycles < 1:
            raise self.fail("cycles", "must be an integer >= 1")
        if not (math.isfinite(self.mult) and self.mult >= 1):
            raise self.fail("mult", "must be a finite number >= 1")
        if self.cycles * math.log(self.mult) > math.log(1e9):
            raise self.fail("mult", f"** cycles must be <= 1e9 (a first cycle longer than 1e-9 "
                                    f"of the run) with cycles={self.cycles}")

    def _value(self, progress: float) -> float:
        if self.mult == 1.0:
            first = 1.0 / self.cycles
            k = _floor(progress / first)
            start, length = k * first, first
        else:
            first = (self.mult - 1.0) / (self.mult**self.cycles - 1.0)
            k = _floor(math.log1p(progress * (self.mult - 1.0) / first) / math.log(self.mult))
            start = first * (self.mult**k - 1.0) / (self.mult - 1.0)
            length = first * self.mult**k
        return _cosine(self.lr, self.end, max(progress - start, 0.0) / length)


@register("cyclic")
@dataclass(frozen=True, repr=False)
class Cyclic(LRPolicy):
    """``cyclic(low, high, cycles, mode=triangular, gamma=1)``: triangular cycles between
    ``low`` and ``high`` (Smith 2017; torch ``CyclicLR`` with ``step_size_up`` = half a cycle).

    ``mode=triangular2`` halves the amplitude every cycle; ``mode=exp_range`` multiplies it by
    ``gamma`` per *cycle* (continuously: ``gamma ** (progress * cycles)``). torch's ``gamma``
    is per optimizer step: ``gamma_torch = gamma ** (cycles / total_steps)``.
    """

    low: float
    high: float
    cycles: int

    _spec_positional: ClassVar[int] = 2
    mode: Literal["triangular", "triangular2", "exp_range"] = "triangular"
    gamma: float = 1.0

    def validate(self) -> None:
        super().validate()
        check_positive(self, "low")
        check_positive(self, "high")
        if self.high <= self.low:
            raise self.fail("high", f"must be > low ({self.low!r})")
        if self.cycles < 1:
            raise self.fail("cycles", "must be an integer >= 1")
        if not (0 < self.gamma <= 1):
            raise self.fail("gamma", "must be in (0, 1]")

    def _value(self, progress: float) -> float:
        x = progress * self.cycles
        cycle = _floor(x)
        frac = max(x - cycle, 0.0)
        height = max(0.0, 1.0 - abs(2.0 * frac - 1.0))
        if self.mode == "triangular2":
            height *= 0.5**cycle
        elif self.mode == "exp_range":
            height *= self.gamma**x
        return self.low + (self.high - self.low) * height


@register("onecycle")
@dataclass(frozen=True, repr=False)
class OneCycle(LRPolicy):
    """``onecycle(lr, pct_start=0.3, div=25, final_div=1e4, anneal=cos)``: the 1cycle policy
    (Smith & Topin 2018). Rises from ``lr/div`` to the peak ``lr`` at ``progress = pct_start``,
    then anneals to ``lr/(div*final_div)`` at ``progress = 1`` (names and defaults of torch's
    ``OneCycleLR``: ``div_factor``, ``final_div_factor``, ``anneal_strategy``).

    Deliberate difference: torch puts the peak at step ``pct_start*T - 1`` of ``T`` steps;
    rl-lr puts it at progress ``pct_start`` exactly, as optax's ``cosine_onecycle_schedule``
    does. With ``T = N + 1`` steps, torch's ``pct_start' = (pct_start*N + 1)/(N + 1)`` gives
    the same curve point for point.
    """

    lr: float
    pct_start: float = 0.3
    div: float = 25.0
    final_div: float = 1e4
    anneal: Literal["cos", "linear"] = "cos"

    def validate(self) -> None:
        super().validate()
        check_positive(self, "lr")
        _check_fraction(self, "pct_start", open_low=True, open_high=True)
        check_positive(self, "div")
        check_positive(self, "final_div")

    def _value(self, progress: float) -> float:
        initial = self.lr / self.div
        final = initial / self.final_div
        if progress <= self.pct_start:
            start, end, frac = initial, self.lr, progress / self.pct_start
        else:
            start, end = self.lr, final
            frac = (progress - self.pct_start) / (1.0 - self.pct_start)
        if self.anneal == "cos":
            return _cosine(start, end, frac)
        return start + (end - start) * frac


@register("sequence")
@dataclass(frozen=True, repr=False)
class Sequence(LRPolicy):
    """``sequence(s1, s2, ..., at=[b1, ...])``: ``s1`` until progress ``b1``, then ``s2``, and
    so on. Each piece sees its own local progress 0..1 over its span, so
    ``sequence(constant(1e-3), cosine(1e-3), at=[0.5])`` holds for half the run and then runs
    a full cosine over the second half (torch ``SequentialLR`` with ``milestones``).
    """

    pieces: tuple[LRPolicy, ...]
    at: tuple[float, ...]

    _spec_varargs: ClassVar[str | None] = "pieces"

    def validate(self) -> None:
        super().validate()
        if len(self.pieces) < 2:
            raise self.fail("pieces", "must hold at least two policies")
        if len(self.at) != len(self.pieces) - 1:
            raise SpecError(
                f"sequence: at must list len(pieces) - 1 = {len(self.pieces) - 1} breakpoints, "
                f"got {len(self.at)}"
            )
        _check_breakpoints(self, "at", allow_empty=False)
        if any(p.stateful for p in self.pieces):
            raise self.fail("pieces", "must be schedules (controllers cannot be sequenced)")

    def _value(self, progress: float) -> float:
        bounds = (0.0, *self.at, 1.0)
        k = sum(1 for b in self.at if progress + _EPS >= b)
        local = (progress - bounds[k]) / (bounds[k + 1] - bounds[k])
        return self.pieces[k].value(min(max(local, 0.0), 1.0))


def sequence(
    *pieces: LRPolicy | float, at: list[float] | tuple[float, ...], **modifiers: Any
) -> Sequence:
    """Python spelling of ``sequence(s1, s2, ..., at=[...])``; numbers mean ``constant``."""
    return Sequence(pieces=tuple(pieces), at=tuple(at), **modifiers)  # type: ignore[arg-type]


POLICIES.set_number_factory(lambda lr: Constant(lr))
