# Over 400 lines: the nine perturbation specs, each documented where it is declared.
"""Reward perturbations as specs: noise, heavy tails, drift, regime switches, corruption, delay.

A perturbation is a frozen, picklable config object written in the same grammar as LR policies
(:mod:`rl_lr.spec`); its ``repr`` is its spec. The Gymnasium wrappers that apply them are in
:mod:`rl_lr.envs.reward_wrappers`, and :func:`~rl_lr.envs.wrapping.apply_perturbations` wraps
an env in a chain of them (the wrappers import the specs, never the other way round)::

    gaussian(0.1)                                 # r + 0.1·N(0, 1)
    gaussian(0.05, relative=true)                 # noise relative to a running reward scale
    heavy_tailed(df=2.0, scale=0.1, clip=10.0)    # Student-t noise
    drift(scale_sigma=0.001, offset_sigma=0.01)   # slow bounded random walks of scale, offset
    switch(at=[0.5], scale=[1.0, -1.0])           # sign flip half-way through training
    switch(every=20000, scale=[1, 10, 1, 0.1])    # x10 / x0.1 and back, every 20k env steps
    markov_switch(rate=0.001, offset=[0.0, -5.0]) # random regime changes, ~1 per 1000 steps
    corrupt(0.1, mode=confusion, levels=10)       # Wang, Liu & Li (AAAI 2020) reward confusion
    delay(5)  /  sparse()                         # rewards delivered in chunks / at episode end
    dropout(0.2)                                  # reward zeroed with probability 0.2
    [gaussian(0.1), delay(5)]                     # a list composes in order (noise, then delay)

Every wrapper puts the env's own reward in ``info["clean_reward"]``, reports what it did under
``info["perturbation/..."]`` and draws only from its own generator, seeded by ``reset(seed=s)``
(details in :mod:`rl_lr.envs.reward_wrappers`).

Example:
    >>> import gymnasium as gym
    >>> from rl_lr.envs import apply_perturbations, parse_perturbations
    >>> parse_perturbations("[gaussian(std=0.1), delay(k=5)]")
    (gaussian(0.1), delay(5))
    >>> env = apply_perturbations(gym.make("CartPole-v1"), "[gaussian(0.1), delay(5)]")
    >>> type(env).__name__, type(env.env).__name__
    ('DelayedReward', 'GaussianNoise')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

import numpy as np

from rl_lr.spec import Registry, SpecObject

__all__ = [
    "PERTURBATIONS",
    "Corrupt",
    "Delay",
    "Drift",
    "Dropout",
    "Gaussian",
    "HeavyTailed",
    "MarkovSwitch",
    "Perturbation",
    "PerturbationLike",
    "Sparse",
    "Switch",
    "parse_perturbations",
    "period_starts",
    "periods_done",
    "register",
    "switch_timesteps",
]

# Tolerance for switch points computed in floating point (0.3 * 1000 = 300.00000000000006 must
# switch at step 300), the same convention as the LR schedules' milestones.
_EPS = 1e-9


@dataclass(frozen=True, repr=False)
class Perturbation(SpecObject):
    """Base of every reward perturbation: a validated, picklable config whose repr is its spec.

    Subclasses are frozen dataclasses registered with :func:`register`. The wrapper that applies
    each one is found in :data:`rl_lr.envs.wrapping.WRAPPERS` (a perturbation defined elsewhere
    adds its own wrapper there).
    """

    def switch_points(self, total_timesteps: int, n_envs: int) -> tuple[int, ...]:
        """Regime changes on a fixed schedule, as 0-based step indices of one of ``n_envs``
        envs taking ``total_timesteps`` steps; none for perturbations without a schedule."""
        return ()


PERTURBATIONS = Registry("perturbation", Perturbation)
register = PERTURBATIONS.register

PerturbationLike: TypeAlias = str | Mapping[str, Any] | Perturbation
"""One perturbation: a spec string, a YAML-style mapping or a built object."""


# --------------------------------------------------------------------------------------------
# Validation helpers (each raises SpecError naming the argument, the rule and the value)
# --------------------------------------------------------------------------------------------


def _nonnegative(spec: Perturbation, name: str) -> None:
    """``spec.name`` must be finite and >= 0."""
    value = getattr(spec, name)
    if not (math.isfinite(value) and value >= 0):
        raise spec.fail(name, "must be a finite number >= 0")


def _probability(spec: Perturbation, name: str) -> None:
    """``spec.name`` must be in [0, 1]."""
    if not 0.0 <= getattr(spec, name) <= 1.0:
        raise spec.fail(name, "must be a probability in [0, 1]")


def _interval(spec: Perturbation, name: str) -> None:
    """``spec.name`` must be ``[low, high]``, finite, ``low <= high``."""
    value = getattr(spec, name)
    if len(value) != 2 or not all(math.isfinite(v) for v in value) or value[0] > value[1]:
        raise spec.fail(name, "must be [low, high] with finite low <= high")


def _regime_values(spec: Perturbation, name: str, count: int, rule: str) -> None:
    """``spec.name`` must be empty or hold ``count`` finite values (``rule`` says why)."""
    value = getattr(spec, name)
    if value and len(value) != count:
        raise spec.fail(name, f"must list one value per regime ({rule} = {count}) or none")
    if not all(math.isfinite(v) for v in value):
        raise spec.fail(name, "must hold finite numbers")


def _regime(scale: tuple[float, ...], offset: tuple[float, ...], k: int) -> tuple[float, float]:
    """``(scale, offset)`` of regime ``k``; empty lists mean 1 and 0."""
    return (scale[k] if scale else 1.0, offset[k] if offset else 0.0)


# --------------------------------------------------------------------------------------------
# The perturbations
# --------------------------------------------------------------------------------------------


@register("gaussian")
@dataclass(frozen=True, repr=False)
class Gaussian(Perturbation):
    """Additive Gaussian noise, absolute or relative to a running reward scale.

    ``r' = r + std · s_t · ε_t`` with ``ε_t ~ N(0, 1)``; ``s_t = 1`` when ``relative=false``.
    With ``relative=true``, ``s_t`` is the running mean of ``|r|`` over the rewards this
    wrapper has seen, the current one included: ``s_t = s_{t-1} + (|r_t| - s_{t-1}) /
    min(t, 1000)`` — the exact mean for the first 1000 steps (warm start: ``s_1 = |r_1|``),
    then an exponential moving average with horizon 1000 steps, across episodes.

    Args:
        std: Standard deviation of the noise (reward units, or a fraction of ``s_t``).
        relative: Scale the noise by the running reward scale ``s_t``.
    """

    std: float
    relative: bool = False

    horizon: ClassVar[int] = 1000

    def validate(self) -> None:
        _nonnegative(self, "std")


@register("heavy_tailed")
@dataclass(frozen=True, repr=False, kw_only=True)
class HeavyTailed(Perturbation):
    """Additive Student-t noise: rare, large reward errors.

    ``r' = r + clip(scale · T_t, -clip, clip)`` with ``T_t`` Student-t with ``df`` degrees of
    freedom (``df <= 2``: infinite variance; ``df -> inf``: Gaussian of std ``scale``).

    Args:
        df: Degrees of freedom, > 0 (smaller is heavier-tailed).
        scale: Scale of the noise (reward units).
        clip: Optional bound on ``|noise|`` (reward units).
    """

    df: float
    scale: float
    clip: float | None = None

    def validate(self) -> None:
        if not (self.df > 0 and not math.isnan(self.df)):
            raise self.fail("df", "must be > 0")
        _nonnegative(self, "scale")
        if self.clip is not None and not self.clip > 0:
            raise self.fail("clip", "must be > 0 or none")


@register("drift")
@dataclass(frozen=True, repr=False, kw_only=True)
class Drift(Perturbation):
    """Slow, bounded random walks of the reward's scale and offset.

    ``r'_t = a_t · r_t + b_t``. The walks start at ``a_0 = 1``, ``b_0 = 0`` (clipped into their
    bounds) and move after every step: ``a_{t+1} = R(a_t + scale_sigma · ε)``, ``b_{t+1} =
    R(b_t + offset_sigma · ε')``, with ``ε, ε' ~ N(0, 1)`` and ``R`` the reflection into
    ``scale_bounds`` / ``offset_bounds`` (reflecting, so the walk does not stick to a bound).
    The walks continue across episodes; a walk of ``n`` steps spreads about
    ``sigma · sqrt(n)`` before it feels its bounds.

    Args:
        scale_sigma: Per-step standard deviation of the scale walk.
        offset_sigma: Per-step standard deviation of the offset walk (reward units).
        scale_bounds: ``[low, high]`` of the scale.
        offset_bounds: ``[low, high]`` of the offset (reward units).
    """

    scale_sigma: float = 0.001
    offset_sigma: float = 0.0
    scale_bounds: tuple[float, ...] = (0.5, 2.0)
    offset_bounds: tuple[float, ...] = (-1.0, 1.0)

    def validate(self) -> None:
        _nonnegative(self, "scale_sigma")
        _nonnegative(self, "offset_sigma")
        _interval(self, "scale_bounds")
        _interval(self, "offset_bounds")


@register("switch")
@dataclass(frozen=True, repr=False, kw_only=True)
class Switch(Perturbation):
    """Regime changes at fixed points of training: ``r' = scale[i] · r + offset[i]``.

    Regime ``i`` (0-based) runs from switch point ``at[i-1]`` to ``at[i]``; ``scale`` and
    ``offset`` list one value per regime (``len(at) + 1``) or are empty (all 1 / all 0).
    With ``unit=fraction`` (the default) ``at`` holds fractions of the run's total timesteps,
    counted by the wrapper over all episodes: the step taken once ``ceil(at[i] ·
    total_timesteps)`` steps are done is the first of regime ``i + 1`` (progress ``t / total
    >= at[i]``, the LR schedules' milestone convention). With ``unit=steps`` it holds step
    counts directly.

    Repeated switches: with ``every=N`` instead of ``at``, the regimes cycle, one period of
    ``N`` env steps of *all* training envs together (SB3's ``num_timesteps``) each:
    ``switch(every=20000, scale=[1, 10, 1, 0.1])`` multiplies the reward by 1, 10, 1, 0.1, 1,
    10, ... (x10 and x0.1 and back). A wrapper running as one of ``n_envs`` vectorised envs
    starts period ``k`` at its own step ``ceil(k · N / n_envs)``, i.e. at the first vectorised
    step where ``num_timesteps >= k · N`` (:func:`periods_done`).

    Args:
        at: Strictly increasing switch points: fractions in (0, 1), or whole step counts >= 1.
        scale: Reward multiplier per regime.
        offset: Reward offset per regime (reward units).
        unit: ``fraction`` (needs ``total_timesteps`` when wrapped) or ``steps``.
        every: Period of repeated switches in env steps of all training envs (instead of
            ``at``; ``scale`` / ``offset`` then list the cycle, at least two regimes).
    """

    at: tuple[float, ...] = ()
    scale: tuple[float, ...] = ()
    offset: tuple[float, ...] = ()
    unit: Literal["fraction", "steps"] = "fraction"
    every: int | None = None

    def validate(self) -> None:
        if self.every is not None:
            _periodic(self, self.every, self.regimes)
            _regime_values(self, "scale", self.regimes, "the cycle's length")
            _regime_values(self, "offset", self.regimes, "the cycle's length")
            return
        if not self.at:
            raise self.fail("at", "must list at least one switch point (or give every=N)")
        if self.unit == "fraction" and not all(0.0 < a < 1.0 for a in self.at):
            raise self.fail("at", "must be fractions of the run in (0, 1) (or set unit=steps)")
        if self.unit == "steps" and not all(a >= 1 and float(a).is_integer() for a in self.at):
            raise self.fail("at", "must be whole step counts >= 1 with unit=steps")
        if any(b <= a for a, b in zip(self.at, self.at[1:], strict=False)):
            raise self.fail("at", "must be strictly increasing")
        _regime_values(self, "scale", len(self.at) + 1, "len(at) + 1")
        _regime_values(self, "offset", len(self.at) + 1, "len(at) + 1")

    @property
    def regimes(self) -> int:
        """Number of distinct regimes: ``len(at) + 1``, or the cycle's length with ``every``."""
        if self.every is not None:
            return max(len(self.scale), len(self.offset))
        return len(self.at) + 1

    def regime(self, k: int) -> tuple[float, float]:
        """``(scale, offset)`` of regime ``k`` (with ``every``: of period ``k``, cycling)."""
        return _regime(self.scale, self.offset, k % self.regimes)

    def boundaries(self, total_timesteps: int | None, n_envs: int = 1) -> tuple[int, ...]:
        """0-based index, over all episodes, of the first step of each regime after the first,
        for a wrapper taking ``total_timesteps`` steps as one of ``n_envs`` envs.

        Raises:
            ValueError: ``unit=fraction`` or ``every`` and ``total_timesteps`` is None.
        """
        if self.every is not None:
            if total_timesteps is None:
                raise ValueError(f"{self!r}: listing the switches of every=N needs "
                                 "total_timesteps")
            return period_starts(self.every, n_envs, total_timesteps)
        if self.unit == "steps":
            return tuple(int(a) for a in self.at)
        if total_timesteps is None:
            raise ValueError(
                f"{self!r}: at is given as fractions of the run (unit=fraction), so its "
                "wrapper needs total_timesteps; pass total_timesteps=... or use unit=steps"
            )
        return tuple(math.ceil(a * total_timesteps - _EPS) for a in self.at)

    def switch_points(self, total_timesteps: int, n_envs: int) -> tuple[int, ...]:
        """:meth:`boundaries` (see :meth:`Perturbation.switch_points`)."""
        return self.boundaries(total_timesteps, n_envs)


def switch_timesteps(chain: Sequence[Perturbation], total_timesteps: int,
                     n_envs: int = 1) -> list[int]:
    """Training timesteps (steps of all envs together, SB3's ``num_timesteps``) at which a
    perturbation of ``chain`` with a fixed schedule (``switch``, the dynamics switches of
    :mod:`rl_lr.envs.dynamics`) changes regime, sorted. Each of the ``n_envs`` vectorised
    envs counts its own steps over ``total_timesteps // n_envs``.

    >>> switch_timesteps(parse_perturbations("switch(at=[0.5], scale=[1, 5])"), 30000, 8)
    [15000]
    >>> switch_timesteps(parse_perturbations("switch(at=[100], scale=[1, 5], unit=steps)"),
    ...                  30000, 8)
    [800]
    >>> switch_timesteps(parse_perturbations("switch(every=10000, scale=[1, 10])"), 30000, 3)
    [10002, 20001]
    """
    per_env = max(1, total_timesteps // n_envs)
    return sorted({b * n_envs for p in chain for b in p.switch_points(per_env, n_envs)})


def periods_done(every: int, n_envs: int, steps: int) -> int:
    """Periods of ``every`` env steps of all ``n_envs`` envs completed once each env has taken
    ``steps`` steps: ``floor(steps · n_envs / every)``, exact in integers.

    >>> [periods_done(10, 3, s) for s in (3, 4, 6, 7)]
    [0, 1, 1, 2]
    """
    return steps * n_envs // every


def period_starts(every: int, n_envs: int, total_timesteps: int) -> tuple[int, ...]:
    """0-based index, in one env's own steps, of the first step of each period after the first
    (``ceil(k · every / n_envs)``), for a wrapper taking ``total_timesteps`` steps.

    >>> period_starts(10, 3, 12)
    (4, 7, 10)
    """
    starts = []
    k = 1
    while (start := -(-k * every // n_envs)) < total_timesteps:
        starts.append(start)
        k += 1
    return tuple(starts)


def _periodic(spec: Perturbation, every: int, regimes: int) -> None:
    """``every`` must be a whole number of steps >= 1 and the cycle at least two regimes;
    ``at`` (if the spec has it) must then be empty."""
    if getattr(spec, "at", ()):
        raise spec.fail("every", "give switch points at=[...] or a period every=N, not both")
    if not (every >= 1 and float(every).is_integer()):
        raise spec.fail("every", "must be a whole number of env steps >= 1")
    if regimes < 2:
        raise spec.fail("every", "needs a cycle of at least two regimes (scale and/or offset)")


@register("markov_switch")
@dataclass(frozen=True, repr=False, kw_only=True)
class MarkovSwitch(Perturbation):
    """Random regime changes (a Markov chain): ``r' = scale[k] · r + offset[k]``.

    Before every step, with probability ``rate``, the regime ``k`` jumps to one of the other
    regimes chosen uniformly (mean dwell time ``1 / rate`` steps, across episodes). The chain
    starts in regime 0. ``scale`` and ``offset`` list one value per regime (at least two
    regimes; an empty list means all 1 / all 0) — the same vocabulary as ``switch``.

    Args:
        rate: Probability per step of leaving the current regime.
        scale: Reward multiplier per regime.
        offset: Reward offset per regime (reward units).
    """

    rate: float
    scale: tuple[float, ...] = ()
    offset: tuple[float, ...] = ()

    def validate(self) -> None:
        _probability(self, "rate")
        n = self.regimes
        if n < 2:
            field = "scale" if len(self.scale) >= len(self.offset) else "offset"
            raise self.fail(field, "must list at least two regimes (scale and/or offset)")
        _regime_values(self, "scale", n, "number of regimes")
        _regime_values(self, "offset", n, "number of regimes")

    @property
    def regimes(self) -> int:
        """Number of regimes: the length of ``scale`` or ``offset``."""
        return max(len(self.scale), len(self.offset))

    def regime(self, k: int) -> tuple[float, float]:
        """``(scale, offset)`` of regime ``k``."""
        return _regime(self.scale, self.offset, k)


@register("corrupt")
@dataclass(frozen=True, repr=False)
class Corrupt(Perturbation):
    """Random reward corruption: sign flips, replacement, or a reward confusion matrix.

    Each step is corrupted independently with probability ``p``:

    - ``mode=flip``: ``r' = -r``.
    - ``mode=replace``: ``r'`` drawn uniformly from ``[low, high]``.
    - ``mode=confusion``: the perturbed-reward model of Wang, Liu & Li (AAAI 2020). Rewards
      are discretised into ``levels`` equal bins of width ``w = (high - low) / levels``
      (level ``i = floor((r - low) / w)``, clipped into ``0 .. levels-1``); the observed level
      ``j`` is drawn from row ``i`` of :meth:`confusion_matrix`, which keeps the level with
      probability ``1 - p`` and moves it to each other level with probability
      ``p / (levels - 1)`` (uniform off-diagonal noise). The observed reward keeps its position
      within the bin: ``r' = r + (j - i) · w``, so uncorrupted rewards pass unchanged.

    Args:
        p: Corruption probability per step.
        mode: ``flip``, ``replace`` or ``confusion``.
        low: Lower end of the reward range (``replace``, ``confusion``).
        high: Upper end of the reward range (``replace``, ``confusion``).
        levels: Number of reward levels (``confusion``), >= 2.
    """

    p: float
    mode: Literal["flip", "replace", "confusion"] = "flip"
    low: float = -1.0
    high: float = 1.0
    levels: int = 10

    def validate(self) -> None:
        _probability(self, "p")
        if not math.isfinite(self.low):
            raise self.fail("low", "must be a finite number")
        if not (math.isfinite(self.high) and self.high > self.low):
            raise self.fail("high", f"must be a finite number > low ({self.low!r})")
        if self.levels < 2:
            raise self.fail("levels", "must be an integer >= 2")

    @property
    def width(self) -> float:
        """Width of one reward level."""
        return (self.high - self.low) / self.levels

    def level(self, reward: float) -> int:
        """The level (0 .. levels-1) that ``reward`` falls in (outside rewards: the edge)."""
        return min(max(math.floor((reward - self.low) / self.width), 0), self.levels - 1)

    def confusion_matrix(self) -> np.ndarray:
        """``C[i, j] = P(observed level j | true level i)``; each row sums to 1."""
        n = self.levels
        matrix = np.full((n, n), self.p / (n - 1))
        np.fill_diagonal(matrix, 1.0 - self.p)
        return matrix


@register("delay")
@dataclass(frozen=True, repr=False)
class Delay(Perturbation):
    """Rewards accumulated and delivered every ``k`` steps of an episode (total conserved).

    Steps ``k, 2k, ...`` of each episode receive the sum of the rewards since the last
    delivery, the other steps 0; the last step of an episode (terminated or truncated)
    receives whatever is left, so each episode's total is unchanged.

    Args:
        k: Delivery period in steps, >= 1 (``k=1``: no change).
    """

    k: int

    def validate(self) -> None:
        if self.k < 1:
            raise self.fail("k", "must be an integer >= 1")


@register("sparse")
@dataclass(frozen=True, repr=False)
class Sparse(Perturbation):
    """The episode's whole reward delivered at its last step, 0 before (total conserved).

    The last step is the one that terminates or truncates the episode.
    """


@register("dropout")
@dataclass(frozen=True, repr=False)
class Dropout(Perturbation):
    """Reward zeroed with probability ``p`` at each step (a lossy reward channel).

    Args:
        p: Probability per step that the reward is replaced by 0.
    """

    p: float

    def validate(self) -> None:
        _probability(self, "p")


# --------------------------------------------------------------------------------------------
# Composition and listing
# --------------------------------------------------------------------------------------------


def parse_perturbations(
    spec: PerturbationLike | Sequence[PerturbationLike] | None,
) -> tuple[Perturbation, ...]:
    """Read a chain of perturbations, in the order they act on the reward.

    Args:
        spec: None or ``""`` (no perturbation); one spec string, mapping or object; a list of
            them; or a string holding a list, ``"[gaussian(std=0.1), delay(k=5)]"``.

    Returns:
        The perturbations as a tuple (empty for none).

    Raises:
        SpecError: An item is not a valid perturbation spec (one-line message).

    Example:
        >>> parse_perturbations([{"name": "dropout", "p": 0.1}, "delay(5)"])
        (dropout(0.1), delay(5))
    """
    return PERTURBATIONS.parse_list(spec)
