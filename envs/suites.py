"""Named env suites: each env with a reward threshold and a normalisation range, with sources.

A suite is the set of envs a benchmark preset or the harness runs an LR policy on. Every
:class:`EnvEntry` carries

* ``threshold``: the return at which the env counts as solved: Gymnasium's registered
  ``reward_threshold`` where it has one, otherwise a stated choice (``threshold_source``);
* ``random_return``: the mean return of a uniform random policy, **measured** by
  ``benchmarks/measure_returns.py`` (100 episodes, seed 0; numbers in
  :mod:`rl_lr.envs.measured_returns`);
* ``reference_return``: a competent policy's return (``source``): for the control envs the
  best published rl-baselines3-zoo score among PPO, SAC and TD3 (``benchmark.md`` of
  DLR-RM/rl-baselines3-zoo; measured on the ``-v3`` MuJoCo envs, whose dynamics and rewards
  the ``-v5`` ones keep up to model fixes), or Gymnasium's threshold / the maximum return
  where the zoo has no entry; for the navigation envs the **measured** mean return of the
  scripted controller of :mod:`rl_lr.envs.navigation.scripted` (success rate 1.0).

:func:`normalise` maps a return ``R`` to ``(R - random) / (reference - random)``: 0 is the
random policy, 1 the reference.

======================  ==============================================================
suite                   envs
======================  ==============================================================
``control``             Pendulum-v1, CartPole-v1, MountainCarContinuous-v0,
                        InvertedPendulum-v5, InvertedDoublePendulum-v5, Reacher-v5,
                        Hopper-v5, HalfCheetah-v5, Walker2d-v5, Swimmer-v5
``navigation``          rl_lr/PointNav-v0, rl_lr/PointNavObstacles-v0,
                        rl_lr/PointNavMaze-v0, rl_lr/PointMaze_UMaze-v3 (gymnasium-robotics'
                        ``PointMaze_UMaze-v3`` with a flat observation, see
                        :mod:`rl_lr.envs.robotics`)
======================  ==============================================================

Example:
    >>> from rl_lr.envs.suites import SUITES, normalise
    >>> SUITES["control"]["CartPole-v1"].threshold
    475.0
    >>> entry = SUITES["navigation"]["rl_lr/PointNav-v0"]
    >>> float(normalise("rl_lr/PointNav-v0", entry.reference_return))
    1.0
    >>> print(describe_envs()[1])  # doctest: +ELLIPSIS
    CartPole-v1  control  threshold 475 (Gymnasium reward_threshold)  range [23.68, 500] ...
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rl_lr.envs.measured_returns import RANDOM_RETURNS, SCRIPTED_RETURNS

__all__ = ["SUITES", "EnvEntry", "Suite", "describe_envs", "env_entry", "normalise"]

_GYM = "Gymnasium reward_threshold"
_ZOO = "rl-baselines3-zoo benchmark.md"


@dataclass(frozen=True)
class EnvEntry:
    """One env of a suite with its threshold and normalisation range.

    Attributes:
        id: The Gymnasium id (``gymnasium.make(id)`` works after ``import rl_lr.envs``).
        suite: The name of the suite it belongs to.
        threshold: Return at which the env counts as solved.
        random_return: Mean return of a uniform random policy (measured).
        reference_return: Return of a competent reference policy.
        source: Where ``reference_return`` comes from.
        threshold_source: Where ``threshold`` comes from.

    Raises:
        ValueError: If a number is not finite or ``reference_return <= random_return``.
    """

    id: str
    suite: str
    threshold: float
    random_return: float
    reference_return: float
    source: str
    threshold_source: str

    def __post_init__(self) -> None:
        for name in ("threshold", "random_return", "reference_return"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{self.id}: {name} must be finite, got {getattr(self, name)}")
        if not self.reference_return > self.random_return:
            raise ValueError(
                f"{self.id}: reference_return must be > random_return, got "
                f"{self.reference_return} <= {self.random_return}"
            )

    @property
    def random_source(self) -> str:
        """How ``random_return`` was measured."""
        row = RANDOM_RETURNS[self.id]
        return f"uniform random policy, measured, {row['episodes']} episodes, seed {row['seed']}"

    def normalise(self, returns: ArrayLike) -> NDArray[np.float64]:
        """``(returns - random_return) / (reference_return - random_return)``."""
        span = self.reference_return - self.random_return
        return (np.asarray(returns, dtype=np.float64) - self.random_return) / span

    def describe(self) -> str:
        """One line: id, suite, threshold and normalisation range with their sources."""
        return (
            f"{self.id}  {self.suite}  threshold {self.threshold:g} ({self.threshold_source})  "
            f"range [{self.random_return:g}, {self.reference_return:g}] "
            f"(random: measured; reference: {self.source})"
        )


@dataclass(frozen=True)
class Suite:
    """A named, ordered set of :class:`EnvEntry`; index it by env id.

    Attributes:
        name: The suite name (``"control"``, ``"navigation"``).
        description: One sentence.
        entries: The envs, in order.
    """

    name: str
    description: str
    entries: tuple[EnvEntry, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        """The env ids, in order."""
        return tuple(entry.id for entry in self.entries)

    def __getitem__(self, env_id: str) -> EnvEntry:
        for entry in self.entries:
            if entry.id == env_id:
                return entry
        raise KeyError(f"suite {self.name!r} has no env {env_id!r}; it has {self.ids}")

    def __iter__(self) -> Iterator[EnvEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _measured(table: dict[str, dict[str, object]], env_id: str) -> float:
    if env_id not in table:
        raise RuntimeError(
            f"no measured return for {env_id!r} in rl_lr.envs.measured_returns; "
            "re-run benchmarks/measure_returns.py"
        )
    value = table[env_id]["mean"]
    assert isinstance(value, int | float)  # written by benchmarks/measure_returns.py
    return float(value)


def _suite(
    name: str, description: str, rows: Sequence[tuple[str, float, str, float | None, str]]
) -> Suite:
    """``rows``: (id, threshold, threshold source, reference or None = scripted, source)."""
    entries = []
    for env_id, threshold, threshold_source, reference, source in rows:
        if reference is None:
            reference = _measured(SCRIPTED_RETURNS, env_id)
        entries.append(
            EnvEntry(
                id=env_id,
                suite=name,
                threshold=float(threshold),
                random_return=_measured(RANDOM_RETURNS, env_id),
                reference_return=float(reference),
                source=source,
                threshold_source=threshold_source,
            )
        )
    return Suite(name, description, tuple(entries))


_NAV_THRESHOLD = "rl-lr's choice: ~0.8 x the scripted reference"
_SCRIPTED = "scripted {}, measured"

#: The named suites.
SUITES: dict[str, Suite] = {
    suite.name: suite
    for suite in (
        _suite(
            "control",
            "Gymnasium classic control and MuJoCo v5 locomotion/control tasks.",
            [
                ("Pendulum-v1", -250.0,
                 "Tianshou's test default; Gymnasium sets none",
                 -151.855, f"{_ZOO}, TD3 on Pendulum-v1 (PPO -172.2, SAC -157.0)"),
                ("CartPole-v1", 475.0, _GYM, 500.0, f"{_ZOO}, PPO on CartPole-v1 (the maximum)"),
                ("MountainCarContinuous-v0", 90.0, _GYM, 94.679,
                 f"{_ZOO}, SAC on MountainCarContinuous-v0 (PPO 88.3, TD3 93.5)"),
                ("InvertedPendulum-v5", 950.0, _GYM, 1000.0,
                 "maximum return (+1 per step, 1000 steps); not in the zoo benchmark"),
                ("InvertedDoublePendulum-v5", 9100.0, _GYM, 9100.0,
                 "Gymnasium reward_threshold; not in the zoo benchmark"),
                ("Reacher-v5", -3.75, _GYM, -3.75,
                 "Gymnasium reward_threshold; not in the zoo benchmark"),
                ("Hopper-v5", 3800.0, _GYM, 3606.390,
                 f"{_ZOO}, TD3 on Hopper-v3 (PPO 2410.4, SAC 2325.5)"),
                ("HalfCheetah-v5", 4800.0, _GYM, 9655.666,
                 f"{_ZOO}, TD3 on HalfCheetah-v3 (PPO 5819.1, SAC 9535.5)"),
                ("Walker2d-v5", 3000.0,
                 "rl-lr's choice, near the zoo's ARS/PPO Walker2d-v3 scores (2994, 3479); "
                 "Gymnasium sets none",
                 4717.823, f"{_ZOO}, TD3 on Walker2d-v3 (PPO 3478.8, SAC 3863.2)"),
                ("Swimmer-v5", 360.0, _GYM, 359.127,
                 f"{_ZOO}, TD3 on Swimmer-v3 (PPO 281.6, SAC 345.6)"),
            ],
        ),
        _suite(
            "navigation",
            "rl-lr's point-robot navigation family and gymnasium-robotics' PointMaze (flat).",
            [
                ("rl_lr/PointNav-v0", 22.0, _NAV_THRESHOLD, None,
                 _SCRIPTED.format("ScriptedNavigator")),
                ("rl_lr/PointNavObstacles-v0", 26.0, _NAV_THRESHOLD, None,
                 _SCRIPTED.format("ScriptedNavigator")),
                ("rl_lr/PointNavMaze-v0", 33.0, _NAV_THRESHOLD, None,
                 _SCRIPTED.format("ScriptedNavigator")),
                ("rl_lr/PointMaze_UMaze-v3", 196.0, _NAV_THRESHOLD, None,
                 _SCRIPTED.format("PointMazeNavigator")),
            ],
        ),
    )
}


def env_entry(env_id: str) -> EnvEntry:
    """The :class:`EnvEntry` of ``env_id`` (first suite that has it).

    Raises:
        KeyError: If no suite has ``env_id``.
    """
    for suite in SUITES.values():
        if env_id in suite.ids:
            return suite[env_id]
    known = [entry.id for suite in SUITES.values() for entry in suite]
    raise KeyError(f"env_id {env_id!r} is in no suite; known: {known}")


@overload
def normalise(env_id: str, returns: float) -> float: ...
@overload
def normalise(env_id: str, returns: ArrayLike) -> float | NDArray[np.float64]: ...
def normalise(env_id: str, returns: ArrayLike) -> float | NDArray[np.float64]:
    """Normalised score ``(R - random) / (reference - random)`` of returns on ``env_id``.

    Args:
        env_id: An env of one of the :data:`SUITES`.
        returns: One return or an array of returns (any shape).

    Returns:
        A float for a scalar input, else an array of the input's shape.

    Raises:
        KeyError: If ``env_id`` is in no suite.

    Example:
        >>> entry = env_entry("Pendulum-v1")
        >>> normalise("Pendulum-v1", [entry.random_return, entry.reference_return]).tolist()
        [0.0, 1.0]
    """
    scores = env_entry(env_id).normalise(returns)
    return float(scores) if scores.ndim == 0 else scores


def describe_envs() -> list[str]:
    """One line per suite env: id, suite, threshold and normalisation range with sources.

    This is what ``rl-lr list envs`` prints.
    """
    return [entry.describe() for suite in SUITES.values() for entry in suite]
