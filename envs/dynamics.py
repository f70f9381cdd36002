"""Dynamics perturbations: MuJoCo physics scaled at fixed points of training, as specs.

The same grammar and vocabulary as the reward ``switch`` (:mod:`rl_lr.envs.perturbations`):
a list of per-regime ``scale`` factors, changed at fractions of training (``at``) or cycled
every ``N`` env steps of all training envs together (``every``)::

    friction_switch(scale=[1.0, 0.3], every=20000)      # 1, 0.3, 1, 0.3, ... every 20k steps
    mass_switch(at=[0.5], scale=[1.0, 2.0])             # bodies twice as heavy half-way
    gain_switch(at=[0.3, 0.6], scale=[1, 0.5, 1])       # weaker actuators for a while
    gravity_switch(every=50000, scale=[1.0, 0.5])       # earth / half-earth gravity
    damping_switch(every=50000, scale=[1, 3], when=reset)  # new regime from the next episode

What each one scales, on the env's ``MjModel`` (``env.unwrapped.model``), by the factor of the
current regime:

- ``mass_switch``: every body's mass and inertia (``body_mass``, ``body_inertia``: uniform
  density change, so the bodies' shapes keep their dynamics' proportions);
- ``friction_switch``: every geom's sliding friction (``geom_friction[:, 0]``; contacts take the
  larger of their two geoms', so the contact friction scales too);
- ``gain_switch``: every actuator's force (``actuator_gainprm[:, :3]`` and
  ``actuator_biasprm[:, :3]``: a motor's gain, a position servo's ``kp``/``kv`` alike);
- ``gravity_switch``: ``opt.gravity``;
- ``damping_switch``: every degree of freedom's joint damping (``dof_damping``).

The original values are read once, when the wrapper is built, and every regime is applied as
``original · scale`` (never compounded). Works on any MuJoCo env built on Gymnasium's
``MujocoEnv``: the Gymnasium MuJoCo tasks (InvertedPendulum, Hopper, HalfCheetah, ...) and
rl-lr's own ``rl_lr/PointNav*`` (its robot is a MuJoCo sphere on slide joints, so all five
apply: mass, floor friction, motor or thruster gain, gravity through the floor contact, the
joints' viscous damping). A non-MuJoCo env is refused with a one-line
:class:`~rl_lr.errors.SpecError` (:func:`check_dynamics_env`, which :func:`rl_lr.agents.make`
runs before building anything).

Training envs only: rl-lr applies perturbations to the training envs and never to the clean
evaluation env (:mod:`rl_lr.agents.evaluation`). Each step reports the scale and the regime in
``info["perturbation/<quantity>"]`` and ``info["perturbation/<quantity>_regime"]`` (e.g.
``perturbation/friction``); the switch times are a pure function of the spec, the budget and
the number of envs (:func:`rl_lr.envs.switch_timesteps`), which is how a run's regime metrics
and plots find them. The schedule holds no randomness: the same spec gives the same switches
whatever the seed.

``when`` says when a new regime takes effect: ``step`` (the default) at the exact step,
in mid-episode if need be; ``reset`` at the first episode that starts after the switch point
(the switch time recorded stays the nominal one). Every reset re-applies the current regime
from the stored originals, so nothing the env does at reset can leave the model elsewhere.

Example:
    >>> import gymnasium as gym
    >>> from rl_lr.envs import apply_perturbations
    >>> env = apply_perturbations(gym.make("InvertedPendulum-v5"),
    ...                           "gravity_switch(every=3, scale=[1, 0.5])")
    >>> _ = env.reset(seed=0)
    >>> [env.step([0.0])[-1]["perturbation/gravity"] for _ in range(7)]
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 1.0]
    >>> float(env.unwrapped.model.opt.gravity[2])
    -9.81
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, SupportsFloat

import gymnasium as gym
import numpy as np

from rl_lr.envs.perturbations import (
    Perturbation,
    period_starts,
    periods_done,
    register,
)
from rl_lr.envs.reward_wrappers import PerturbationWrapper
from rl_lr.errors import SpecError

__all__ = [
    "DYNAMICS",
    "DampingSwitch",
    "DynamicsSwitch",
    "DynamicsSwitchWrapper",
    "FrictionSwitch",
    "GainSwitch",
    "GravitySwitch",
    "MassSwitch",
    "check_dynamics_env",
]

# Tolerance for switch points computed in floating point (as in rl_lr.envs.perturbations).
_EPS = 1e-9


@dataclass(frozen=True, repr=False, kw_only=True)
class DynamicsSwitch(Perturbation):
    """Base of the dynamics switches: one physical quantity scaled per regime.

    Regime ``i`` scales the quantity by ``scale[i]``. With ``at`` (fractions of the run in
    (0, 1), strictly increasing, ``len(scale) = len(at) + 1``), regime ``i + 1`` starts at the
    step taken once ``ceil(at[i] · total)`` steps are done, like ``switch``. With ``every=N``
    the regimes cycle, one period of ``N`` steps of all training envs together each
    (``switch(every=N)``'s clock).

    Args:
        scale: Factor per regime (> 0; gravity also accepts 0 and negative factors).
        at: Switch points as fractions of the run (or none, with ``every``).
        every: Period in env steps of all training envs (or none, with ``at``).
        when: ``step`` (at the exact step) or ``reset`` (from the next episode on).
    """

    scale: tuple[float, ...]
    at: tuple[float, ...] = ()
    every: int | None = None
    when: Literal["step", "reset"] = "step"

    quantity: ClassVar[str] = ""

    def validate(self) -> None:
        if not all(math.isfinite(s) for s in self.scale):
            raise self.fail("scale", "must hold finite numbers")
        if self.quantity != "gravity" and not all(s > 0 for s in self.scale):
            raise self.fail("scale", "must hold factors > 0")
        if self.every is not None:
            if self.at:
                raise self.fail("every", "give switch points at=[...] or a period every=N, "
                                "not both")
            if not (self.every >= 1 and float(self.every).is_integer()):
                raise self.fail("every", "must be a whole number of env steps >= 1")
            if len(self.scale) < 2:
                raise self.fail("scale", "must list a cycle of at least two factors")
            return
        if not self.at:
            raise self.fail("at", "must list at least one switch point (or give every=N)")
        if not all(0.0 < a < 1.0 for a in self.at):
            raise self.fail("at", "must be fractions of the run in (0, 1)")
        if any(b <= a for a, b in zip(self.at, self.at[1:], strict=False)):
            raise self.fail("at", "must be strictly increasing")
        if len(self.scale) != len(self.at) + 1:
            raise self.fail("scale", f"must list one factor per regime (len(at) + 1 = "
                            f"{len(self.at) + 1})")

    def factor(self, regime: int) -> float:
        """The scale of ``regime`` (with ``every``: of period ``regime``, cycling)."""
        return float(self.scale[regime % len(self.scale)])

    def boundaries(self, total_timesteps: int | None, n_envs: int = 1) -> tuple[int, ...]:
        """0-based step index (of one of ``n_envs`` envs taking ``total_timesteps`` steps) of
        the first step of each regime after the first.

        Raises:
            ValueError: ``total_timesteps`` is None (fractions and periods need a budget).
        """
        if total_timesteps is None:
            raise ValueError(f"{self!r}: listing its switches needs total_timesteps")
        if self.every is not None:
            return period_starts(self.every, n_envs, total_timesteps)
        return tuple(math.ceil(a * total_timesteps - _EPS) for a in self.at)

    def switch_points(self, total_timesteps: int, n_envs: int) -> tuple[int, ...]:
        """:meth:`boundaries` (see :meth:`Perturbation.switch_points`)."""
        return self.boundaries(total_timesteps, n_envs)

    def regime_at(self, steps: int, boundaries: tuple[int, ...], n_envs: int) -> int:
        """The regime of an env's step with 0-based index ``steps`` (with ``every``: the
        position in the cycle)."""
        if self.every is not None:
            return periods_done(self.every, n_envs, steps) % len(self.scale)
        return sum(1 for b in boundaries if steps >= b)

    def read(self, model: Any) -> list[np.ndarray]:
        """Copies of the model values this switch scales (the originals)."""
        return [np.array(view, copy=True) for view in self.views(model)]

    def views(self, model: Any) -> list[np.ndarray]:
        """Writable views of the model values this switch scales."""
        raise NotImplementedError

    def apply(self, model: Any, originals: list[np.ndarray], factor: float) -> None:
        """Write ``originals · factor`` into ``model``."""
        for view, original in zip(self.views(model), originals, strict=True):
            view[...] = original * factor


@register("mass_switch")
@dataclass(frozen=True, repr=False, kw_only=True)
class MassSwitch(DynamicsSwitch):
    """``mass_switch(scale=[...], at=[...] | every=N, when=step)``: every body's mass and
    inertia scaled per regime. See :class:`DynamicsSwitch`."""

    quantity: ClassVar[str] = "mass"

    def views(self, model: Any) -> list[np.ndarray]:
        return [model.body_mass, model.body_inertia]


@register("friction_switch")
@dataclass(frozen=True, repr=False, kw_only=True)
class FrictionSwitch(DynamicsSwitch):
    """``friction_switch(scale=[...], at=[...] | every=N, when=step)``: every geom's sliding
    friction scaled per regime (the changing-friction Ant setting of Dohare et al., Nature
    2024). See :class:`DynamicsSwitch`."""

    quantity: ClassVar[str] = "friction"

    def views(self, model: Any) -> list[np.ndarray]:
        return [model.geom_friction[:, 0]]


@register("gain_switch")
@dataclass(frozen=True, repr=False, kw_only=True)
class GainSwitch(DynamicsSwitch):
    """``gain_switch(scale=[...], at=[...] | every=N, when=step)``: every actuator's force
    scaled per regime (gain and bias terms alike). See :class:`DynamicsSwitch`."""

    quantity: ClassVar[str] = "gain"

    def views(self, model: Any) -> list[np.ndarray]:
        return [model.actuator_gainprm[:, :3], model.actuator_biasprm[:, :3]]


@register("gravity_switch")
@dataclass(frozen=True, repr=False, kw_only=True)
class GravitySwitch(DynamicsSwitch):
    """``gravity_switch(scale=[...], at=[...] | every=N, when=step)``: gravity scaled per
    regime (any finite factor: 0 is weightless, negative upside down). See
    :class:`DynamicsSwitch`."""

    quantity: ClassVar[str] = "gravity"

    def views(self, model: Any) -> list[np.ndarray]:
        return [model.opt.gravity]


@register("damping_switch")
@dataclass(frozen=True, repr=False, kw_only=True)
class DampingSwitch(DynamicsSwitch):
    """``damping_switch(scale=[...], at=[...] | every=N, when=step)``: every degree of
    freedom's joint damping scaled per regime. See :class:`DynamicsSwitch`."""

    quantity: ClassVar[str] = "damping"

    def views(self, model: Any) -> list[np.ndarray]:
        return [model.dof_damping]


#: The dynamics switches by spec name.
DYNAMICS: dict[str, type[DynamicsSwitch]] = {
    "mass_switch": MassSwitch,
    "friction_switch": FrictionSwitch,
    "gain_switch": GainSwitch,
    "gravity_switch": GravitySwitch,
    "damping_switch": DampingSwitch,
}


def check_dynamics_env(env: gym.Env[Any, Any], chain: Sequence[Perturbation]) -> None:
    """Refuse a chain with a dynamics switch on an env that is not MuJoCo (one line).

    >>> check_dynamics_env(gym.make("CartPole-v1"), (MassSwitch(every=5, scale=(1, 2)),))
    Traceback (most recent call last):
    ...
    rl_lr.errors.SpecError: mass_switch changes MuJoCo physics; CartPole-v1 is not a ...
    """
    model = getattr(env.unwrapped, "model", None)
    if model is not None and type(model).__name__ == "MjModel":
        return
    for perturbation in chain:
        if isinstance(perturbation, DynamicsSwitch):
            name = env.unwrapped.spec.id if env.unwrapped.spec else type(env.unwrapped).__name__
            raise SpecError(f"{perturbation.spec_name} changes MuJoCo physics; {name} is not a "
                            "MuJoCo env (e.g. InvertedPendulum-v5, Hopper-v5, rl_lr/PointNav-v0)")


class DynamicsSwitchWrapper(PerturbationWrapper[DynamicsSwitch]):
    """Applies a :class:`DynamicsSwitch` to a MuJoCo env; the reward passes unchanged.

    Counts its own steps over all episodes (the run's clock; a seeded reset keeps it, as
    ``switch``'s does) and reports ``info["perturbation/<quantity>"]`` (the factor in force
    during this step) and ``info["perturbation/<quantity>_regime"]``. Closing the env puts
    the original values back.

    Example:
        >>> import gymnasium as gym
        >>> env = DynamicsSwitchWrapper(gym.make("Hopper-v5"),
        ...                             MassSwitch(at=[0.5], scale=[1.0, 2.0]), total_timesteps=4)
        >>> _ = env.reset(seed=0)
        >>> [env.step(env.action_space.sample())[-1]["perturbation/mass"] for _ in range(4)]
        [1.0, 1.0, 2.0, 2.0]
    """

    def __init__(self, env: gym.Env[Any, Any], perturbation: DynamicsSwitch,
                 total_timesteps: int | None = None, n_envs: int = 1) -> None:
        """Wrap ``env`` (a MuJoCo env); ``total_timesteps`` (this env's steps in the run)
        places fractional switch points; ``n_envs`` (this env is one of them) converts
        ``every=N`` steps of all envs into steps of this one.

        Raises:
            SpecError: ``env`` is not a MuJoCo env.
            ValueError: fractional ``at`` and ``total_timesteps`` is None.
        """
        gym.utils.RecordConstructorArgs.__init__(
            self, perturbation=perturbation, total_timesteps=total_timesteps, n_envs=n_envs)
        check_dynamics_env(env, (perturbation,))
        model = env.unwrapped.model  # type: ignore[attr-defined]
        self.boundaries = () if perturbation.every is not None else (
            perturbation.boundaries(total_timesteps))
        self.n_envs = n_envs
        self.steps = 0
        self.originals = perturbation.read(model)
        self.applied_regime = 0
        super().__init__(env, perturbation)

    @property
    def key(self) -> str:
        """The ``info`` key of the factor: ``perturbation/<quantity>``."""
        return f"perturbation/{self.perturbation.quantity}"

    def _apply(self, regime: int) -> None:
        self.perturbation.apply(self.env.unwrapped.model,
                                self.originals, self.perturbation.factor(regime))
        self.applied_regime = regime

    def _regime_now(self) -> int:
        return self.perturbation.regime_at(self.steps, self.boundaries, self.n_envs)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Re-apply the regime in force (``when=reset``: the one of the current step) from
        the originals, then reset the env (so its first observation sees the new physics)."""
        self._apply(self._regime_now() if self.perturbation.when == "reset"
                    else self.applied_regime)
        return super().reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Switch the physics if this step starts a new regime (``when=step``), then step."""
        if self.perturbation.when == "step":
            regime = self._regime_now()
            if regime != self.applied_regime:
                self._apply(regime)
        self.steps += 1
        obs, reward, terminated, truncated, info = super().step(action)
        info[self.key] = self.perturbation.factor(self.applied_regime)
        info[f"{self.key}_regime"] = self.applied_regime
        return obs, reward, terminated, truncated, info

    def perturb(self, reward: float, info: dict[str, Any], episode_over: bool) -> float:
        """The reward is left as it is: only the physics change."""
        return reward

    def close(self) -> None:
        """Put the original values back, then close the env."""
        self.perturbation.apply(self.env.unwrapped.model,
                                self.originals, 1.0)
        super().close()
