# Over 400 lines: the nine reward-perturbation wrappers and their shared base, one role.
"""Gymnasium wrappers that apply the reward perturbations of :mod:`rl_lr.envs.perturbations`.

Build one as ``GaussianNoise(env, Gaussian(std=0.1))``, or a chain from specs with
:func:`~rl_lr.envs.wrapping.apply_perturbations`; a wrapper takes its validated spec as its
one argument (``RegimeSwitch`` also takes ``total_timesteps``), so arguments are checked in
one place. All of them share :class:`PerturbationWrapper`: it sets ``info["clean_reward"]``,
owns the seeded generator and calls the subclass's :meth:`~PerturbationWrapper.perturb`.

What every wrapper guarantees:

- ``info["clean_reward"]`` is the environment's own reward, before *any* perturbation of the
  chain (the innermost wrapper sets it; outer ones leave it). Each wrapper also reports what it
  did under ``info["perturbation/..."]`` (an outer wrapper of the same kind overwrites the key).
- Randomness comes only from the wrapper's own :class:`numpy.random.Generator`, re-created on
  ``reset(seed=s)`` from ``SeedSequence([s, 0x52455744, position])``, where ``position`` is the
  number of perturbation wrappers beneath it. A seeded reset restarts the perturbation process
  (generator, drift walk, Markov regime, running reward scale) exactly as in a freshly built
  wrapper, so it reproduces the same perturbation sequence; ``reset()`` without a seed keeps
  the generator and the process running, as Gymnasium does. Seed once, at the first reset
  (as SB3 does). The only state a seeded reset keeps is ``switch``'s step clock.
"""

from __future__ import annotations

from typing import Any, Generic, SupportsFloat, TypeVar

import gymnasium as gym
import numpy as np

from rl_lr.envs.perturbations import (
    Corrupt,
    Delay,
    Drift,
    Dropout,
    Gaussian,
    HeavyTailed,
    MarkovSwitch,
    Perturbation,
    Sparse,
    Switch,
    periods_done,
)

__all__ = [
    "CLEAN_RETURN",
    "CleanReturn",
    "DelayedReward",
    "GaussianNoise",
    "HeavyTailedNoise",
    "MarkovRegimeSwitch",
    "PerturbationWrapper",
    "RegimeSwitch",
    "RewardCorruption",
    "RewardDrift",
    "RewardDropout",
]

# Mixed into every wrapper's seed so that its stream differs from the env's own ``np_random``
# (seeded from ``SeedSequence(seed)``) and from other users of the same seed: "REWD".
STREAM_TAG = 0x52455744

P = TypeVar("P", bound=Perturbation)


class PerturbationWrapper(
    gym.Wrapper[Any, Any, Any, Any], gym.utils.RecordConstructorArgs, Generic[P]
):
    """Base of the reward-perturbation wrappers.

    Subclasses override :meth:`perturb` (the reward transform) and, when they keep state,
    :meth:`restart` (the random process, re-initialised on a seeded reset) and
    :meth:`start_episode` (per-episode state).

    Attributes:
        perturbation: The spec this wrapper applies.
        position: Number of perturbation wrappers beneath this one; part of its seed.
        rng: The generator every random draw comes from.
    """

    def __init__(self, env: gym.Env[Any, Any], perturbation: P) -> None:
        """Wrap ``env``; ``perturbation`` is the (already validated) spec to apply."""
        gym.utils.RecordConstructorArgs.__init__(self, perturbation=perturbation)
        gym.Wrapper.__init__(self, env)
        self.perturbation = perturbation
        self.position = _count_perturbations(env)
        self.rng = np.random.default_rng()  # unseeded until reset(seed=...), like Gymnasium
        self.restart()
        self.start_episode()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the env; a seed also re-seeds the generator and restarts the process."""
        obs, info = self.env.reset(seed=seed, options=options)
        if seed is not None:
            entropy = [seed, STREAM_TAG, self.position]
            self.rng = np.random.default_rng(np.random.SeedSequence(entropy))
            self.restart()
        self.start_episode()
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env, record the clean reward and return the perturbed one."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        info.setdefault("clean_reward", float(reward))
        observed = self.perturb(float(reward), info, terminated or truncated)
        return obs, observed, terminated, truncated, info

    def perturb(self, reward: float, info: dict[str, Any], episode_over: bool) -> float:
        """The observed reward for the incoming ``reward``; may add keys to ``info``."""
        raise NotImplementedError

    def restart(self) -> None:
        """Return the random process to its initial state (construction, seeded reset)."""

    def start_episode(self) -> None:
        """Clear per-episode state (every reset)."""


def _count_perturbations(env: gym.Env[Any, Any]) -> int:
    """Number of perturbation wrappers in ``env``'s wrapper chain."""
    count = 0
    while isinstance(env, gym.Wrapper):
        count += isinstance(env, PerturbationWrapper)
        env = env.env
    return count


class GaussianNoise(PerturbationWrapper[Gaussian]):
    """Additive Gaussian reward noise (see :class:`~rl_lr.envs.perturbations.Gaussian`).

    Reports ``info["perturbation/noise"]`` (and ``"perturbation/reward_scale"`` if relative).

    Example:
        >>> import gymnasium as gym
        >>> from rl_lr.envs import Gaussian
        >>> env = GaussianNoise(gym.make("CartPole-v1"), Gaussian(std=0.5))
        >>> _ = env.reset(seed=0)
        >>> _, reward, *_, info = env.step(0)
        >>> round(reward, 4), info["clean_reward"], round(info["perturbation/noise"], 4)
        (1.5262, 1.0, 0.5262)
    """

    def restart(self) -> None:
        """Forget the running reward scale."""
        self._seen = 0
        self._scale = 0.0

    def perturb(self, reward: float, info: dict[str, Any], episode_over: bool) -> float:
        """Add ``std · s_t · ε``; update the running scale first if relative."""
        noise = self.perturbation.std * float(self.rng.standard_normal())
        if self.perturbation.relative:
            self._seen += 1
            self._scale += (abs(reward) - self._scale) / min(self._seen, Gaussian.horizon)
            noise *= self._scale
            info["perturbation/reward_scale"] = self._scale
        info["perturbation/noise"] = noise
        return reward + noise


class HeavyTailedNoise(PerturbationWrapper[HeavyTailed]):
    """Additive Student-t reward noise (see :class:`~rl_lr.envs.perturbations.HeavyTailed`).

    Reports ``info["perturbation/noise"]``.

    Example:
        >>> import gymnasium as gym
        >>> from rl_lr.envs import HeavyTailed
        >>> env = HeavyTailedNoise(gym.make("CartPole-v1"), HeavyTailed(df=2.0, scale=0.1))
        >>> _ = env.reset(seed=0)
        >>> _, reward, *_, info = env.step(0)
        >>> round(reward, 4), info["clean_reward"]
        (1.2997, 1.0)
    """

    def perturb(self, reward: float, info: dict[str, Any], episode_over: bool) -> float:
        """Add ``scale · T`` (Student-t), clipped to ``±clip`` if given."""
        spec = self.perturbation
        noise = spec.scale * float(self.rng.standard_t(spec.df))
        if spec.clip is not None:
            noise = min(max(noise, -spec.clip), spec.clip)
        info["perturbation/noise"] = noise
        return reward + noise


class RewardDrift(PerturbationWrapper[Drift]):
    """Reward scale and offset drifting as bounded random walks (see
    :class:`~rl_lr.envs.perturbations.Drift`).

    Reports the scale and offset applied at this step, ``info["perturbation/scale"]`` and
    ``info["perturbation/offset"]``.

    Example:
        >>> import gymnasium as gym
        >>> from rl_lr.envs import Drift
        >>> env = RewardDrift(gym.make("CartPole-v1"), Drift(scale_sigma=0.01, offset_sigma=0.1))
        >>> _ = env.reset(seed=0)
        >>> rewards = [env.step(0)[1] for _ in range(3)]
        >>> [round(r, 4) for r in rewards]
        [1.0, 1.0839, 0.9044]
    """

    def restart(self) -> None:
        """Put the walks back at scale 1 and offset 0 (clipped into their bounds)."""
        spec = self.perturbation
        self._scale = min(max(1.0, spec.scale_bounds[0]), spec.scale_bounds[1])
        self._offset = min(max(0.0, spec.offset_bounds[0]), spec.offset_bounds[1])

    def perturb(self, reward: float, info: dict[str, Any], episode_over: bool) -> float:
        """Apply ``a_t · r + b_t``, then take one step of both walks."""
        spec = self.perturbation
        info["perturbation/scale"] = self._scale
        info["perturbation/offset"] = self._offset
        observed = self._scale * reward + self._offset
        step_scale, step_offset = (float(x) for x in self.rng.standard_normal(2))
        self._scale = _reflect(self._scale + spec.scale_sigma * step_scale, *spec.scale_bounds)
        self._offset = _reflect(self._offset + spec.offset_sigma * step_offset, *spec.offset_bounds)
        return observed


def _reflect(x: float, low: float, high: float) -> float:
    """``x`` reflected back into ``[low, high]`` (as often as needed)."""
    width = high - low
    if width == 0:
        return low
    y = (x - low) % (2 * width)
    return low + (y if y <= width else 2 * width - y)


class RegimeSwitch(PerturbationWrapper[Switch]):
    """Regime changes at fixed steps of the run (see :class:`~rl_lr.envs.perturbations.Switch`).

    Counts its own steps over all episodes (the count survives seeded resets: it is the run's
    clock, not randomness). Reports ``info["perturbation/regime"]``.

    Example:
        >>> import gymnasium as gym
        >>> from rl_lr.envs import Switch
        >>> env = RegimeSwitch(gym.make("CartPole-v1"), Switch(at=[0.5], scale=[1.0, -1.0]),
        ...                    total_timesteps=4)
        >>> _ = env.reset(seed=0)
        >>> [env.step(0)[1] for _ in range(4)]
        [1.0, 1.0, -1.0, -1.0]
    """

    def __init__(
        self, env: gym.Env[Any, Any], perturbation: Switch, total_timesteps: int | None = None,
        n_envs: int = 1,
    ) -> None:
        """Wrap ``env``; ``total_timesteps`` converts fractional switch points into steps;
        ``n_envs`` (this env is one of them) converts ``every=N`` steps of all envs into steps
        of this one.

        Raises:
            ValueError: ``perturbation.at`` is fractional and ``total_timesteps`` is None.
        """
        gym.utils.RecordConstructorArgs.__init__(
            self, perturbation=perturbation, total_timesteps=total_timesteps, n_envs=n_envs
        )
        periodic = perturbation.every is not None
        self.boundaries = () if periodic else perturbation.boundaries(total_timesteps)
        self.n_envs = n_envs
        self.steps = 0
        super().__init__(env, perturbation)

    def perturb(self, reward: float, info: dict[str, Any], episode_over: bool) -> float:
        """Apply the regime of this step of the run, then advance the clock."""
        every = self.perturbation.every
        if every is not None:
            regime = periods_done(every, self.n_envs, self.steps) % self.perturbation.regimes
        else:
            regime = sum(1 for b in self.boundaries if self.steps >= b)
        self.steps += 1
        scale, offset = self.perturbation.regime(regime)
        info["perturbation/regime"] = regime
        return scale * reward + offset


class MarkovRegimeSwitch(PerturbationWrapper[MarkovSwitch]):
    """Regimes switching as a Markov chain (see :class:`~rl_lr.envs.perturbations.MarkovSwitch`).

    Reports ``info["perturbation/regime"]``.

    Example:
        >>> import gymnasium as gym
        >>> from rl_lr.envs import MarkovSwitch
        >>> env = MarkovRegimeSwitch(gym.make("CartPole-v1"), MarkovSwitch(rate=0.3, scale=[1, -1]))
        >>> _ = env.reset(seed=0)
        >>> [env.step(0)[1] for _ in range(8)]
        [-1.0, -1.0, 1.0, -1.0, -1.0, -1.0, 1.0, 1.0]
    """

    def restart(self) -> None:
        """Go back to regime 0."""
        self._regime = 0

    def perturb(self, reward: float, info: dict[str, Any], episode_over: bool) -> float:
        """Maybe jump to another regime, then apply the current one."""
        spec = self.perturbation
        leave, pick = self.rng.random(), int(self.rng.integers(spec.regimes - 1))
        if leave < spec.rate:
            self._regime = pick + (pick >= self._regime)
        scale, offset = spec.regime(self._regime)
        info["perturbation/regime"] = self._regime
        return scale * reward + offset


class RewardCorruption(PerturbationWrapper[Corrupt]):
    """Random reward corruption (see :class:`~rl_lr.envs.perturbations.Corrupt`).

    Reports ``info["perturbation/corrupted"]`` (the reward was changed) and, with
    ``mode=confusion``, ``info["perturbation/true_level"]`` and
    ``info["perturbation/observed_level"]``.

    Example:
        >>> import gymnasium as gym
        >>> from rl_lr.envs import Corrupt
        >>> env = RewardCorruption(gym.make("CartPole-v1"), Corrupt(p=0.3, mode="flip"))
        >>> _ = env.reset(seed=0)
        >>> [env.step(0)[1] for _ in range(8)]
        [-1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0]
    """

    def __init__(self, env: gym.Env[Any, Any], perturbation: Corrupt) -> None:
        """Wrap ``env``; precomputes the confusion matrix's cumulative rows."""
        super().__init__(env, perturbation)
        self._cdf = np.cumsum(perturbation.confusion_matrix(), axis=1)

    def perturb(self, reward: float, info: dict[str, Any], episode_over: bool) -> float:
        """Corrupt the reward with probability ``p`` (as the mode says)."""
        spec = self.perturbation
        hit, draw = self.rng.random(), self.rng.random()  # always two draws: aligned streams
        observed = reward
        if spec.mode == "confusion":
            true = spec.level(reward)
            seen = min(int(np.searchsorted(self._cdf[true], draw, side="right")), spec.levels - 1)
            observed = reward + (seen - true) * spec.width
            info["perturbation/true_level"] = true
            info["perturbation/observed_level"] = seen
        elif hit < spec.p:
            observed = -reward if spec.mode == "flip" else spec.low + draw * (spec.high - spec.low)
        info["perturbation/corrupted"] = observed != reward
        return observed


class DelayedReward(PerturbationWrapper[Delay | Sparse]):
    """Rewards accumulated and delivered every ``k`` steps or at episode end (see
    :class:`~rl_lr.envs.perturbations.Delay` and :class:`~rl_lr.envs.perturbations.Sparse`).

    The sum is compensated (Neumaier), so the delivered total equals the episode's total to
    rounding of the final addition. Reports ``info["perturbation/delivered"]`` and the amount
    still held back, ``info["perturbation/pending"]``. Put it outside any ``TimeLimit`` (as
    after ``gymnasium.make``): a reset in mid-episode drops what is pending.

    Example:
        >>> import gymnasium as gym
        >>> from rl_lr.envs import Delay
        >>> env = DelayedReward(gym.make("CartPole-v1"), Delay(k=3))
        >>> _ = env.reset(seed=0)
        >>> [env.step(0)[1] for _ in range(7)]
        [0.0, 0.0, 3.0, 0.0, 0.0, 3.0, 0.0]
    """

    def __init__(self, env: gym.Env[Any, Any], perturbation: Delay | Sparse) -> None:
        """Wrap ``env``; ``k`` is the period for ``delay`` and None for ``sparse``."""
        super().__init__(env, perturbation)
        self.k = perturbation.k if isinstance(perturbation, Delay) else None

    def start_episode(self) -> None:
        """Start counting and accumulating afresh (anything pending is dropped)."""
        self._steps = 0
        self._sum = 0.0
        self._carry = 0.0

    def perturb(self, reward: float, info: dict[str, Any], episode_over: bool) -> float:
        """Accumulate; deliver the sum every ``k`` steps and at the episode's last step."""
        self._steps += 1
        total = self._sum + reward
        if abs(self._sum) >= abs(reward):
            self._carry += (self._sum - total) + reward
        else:
            self._carry += (reward - total) + self._sum
        self._sum = total
        deliver = episode_over or (self.k is not None and self._steps % self.k == 0)
        observed = 0.0
        if deliver:
            observed = self._sum + self._carry
            self._sum = self._carry = 0.0
        info["perturbation/delivered"] = deliver
        info["perturbation/pending"] = self._sum + self._carry
        return observed


class RewardDropout(PerturbationWrapper[Dropout]):
    """Reward zeroed with probability ``p`` (see :class:`~rl_lr.envs.perturbations.Dropout`).

    Reports ``info["perturbation/dropped"]``.

    Example:
        >>> import gymnasium as gym
        >>> from rl_lr.envs import Dropout
        >>> env = RewardDropout(gym.make("CartPole-v1"), Dropout(p=0.3))
        >>> _ = env.reset(seed=0)
        >>> [env.step(0)[1] for _ in range(8)]
        [0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0]
    """

    def perturb(self, reward: float, info: dict[str, Any], episode_over: bool) -> float:
        """Return 0 with probability ``p``, else the reward."""
        dropped = bool(self.rng.random() < self.perturbation.p)
        info["perturbation/dropped"] = dropped
        return 0.0 if dropped else reward


#: ``info`` key of an episode's clean return (its last step), set by :class:`CleanReturn`.
CLEAN_RETURN = "clean_return"


class CleanReturn(gym.Wrapper[Any, Any, Any, Any]):
    """Adds up ``info["clean_reward"]`` (the env's own reward when no perturbation set it) over
    each episode and reports the total as ``info["clean_return"]`` at the episode's last step.

    rl-lr's training envs put it on top of a perturbed chain, under the Monitor, which copies
    the key into the episode's record (``Monitor(info_keywords=("clean_return",))``): the
    clean return of each training episode, which only *oracle* LR policies may read
    (:mod:`rl_lr.oracles`); everything else sees the observed return.

    Example:
        >>> import gymnasium as gym
        >>> from rl_lr.envs import apply_perturbations
        >>> env = CleanReturn(apply_perturbations(gym.make("CartPole-v1"), "dropout(0.5)"))
        >>> _ = env.reset(seed=0)
        >>> over, observed = False, 0.0
        >>> while not over:
        ...     _, reward, terminated, truncated, info = env.step(0)
        ...     observed, over = observed + reward, terminated or truncated
        >>> info["clean_return"], observed
        (11.0, 3.0)
    """

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the env and the episode's sum."""
        self._total = 0.0
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env; add the clean reward; report the sum at the episode's end."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._total += float(info.get("clean_reward", reward))
        if terminated or truncated:
            info[CLEAN_RETURN] = self._total
        return obs, reward, terminated, truncated, info
