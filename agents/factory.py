"""The algorithm factory: ``make(algo, env_id, lr=...)`` -> a ready-to-train :class:`Agent`.

Two steps, so that every mistake surfaces before anything expensive is built:

1. :func:`resolve` reads the preset, merges the overrides, reads every spec (LR, reward
   perturbation, optimizer; text is parsed here, objects pass through) and checks the
   compatibility rules (:mod:`rl_lr.agents.compat`), returning an :class:`AgentSpec` that
   carries the spec objects (:meth:`AgentSpec.to_dict` renders them for ``config.yaml``);
2. :func:`build` builds the training envs, the model (preset + overrides), the optimizers and
   attaches the LR policy through :func:`rl_lr.attach`.

Honesty: each training env is ``Monitor(perturbations(gym.make(env_id)))`` -- the Monitor
records the *observed* (perturbed) reward, which is what ``model.ep_info_buffer`` and every
controller see -- and ``VecNormalize`` (when the preset normalises) sits above the Monitors.
The evaluation env (:meth:`Agent.make_eval_env`, :mod:`rl_lr.agents.evaluation`) is never
perturbed.

Example:
    >>> from rl_lr.agents import make
    >>> agent = make("ppo", "CartPole-v1", lr="cosine(1e-3)", seed=1, n_envs=2,
    ...              total_timesteps=256, n_steps=64, batch_size=64)
    >>> _ = agent.model.learn(256)
    >>> agent.hook.last_lr["policy"] == agent.hook.attached.policies["default"].value(1.0)
    True
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

import rl_lr.optimizer_arms  # noqa: F401 - registers the optimizer arms (adam_rel, trac)
from rl_lr.agents.compat import (
    check_action_space,
    check_reported_stats,
    resolve_algo,
    resolve_env_id,
)
from rl_lr.agents.evaluation import evaluate, make_eval_env
from rl_lr.agents.hyperparams import check_keys, merge, plain, to_constructor_kwargs
from rl_lr.agents.presets import PresetWarning, load_preset, normalize_arguments, read_lr
from rl_lr.envs import (
    CLEAN_RETURN,
    CleanReturn,
    Perturbation,
    apply_perturbations,
    parse_perturbations,
)
from rl_lr.envs.dynamics import check_dynamics_env
from rl_lr.envs.suites import env_entry
from rl_lr.errors import SpecError
from rl_lr.optimizers import OptimizerSpec, parse_optimizers, set_optimizers
from rl_lr.sb3 import attach
from rl_lr.schedules import ALL_NETWORKS, LRPolicy, parse_policies

__all__ = ["Agent", "AgentSpec", "build", "make", "resolve"]

@dataclass(frozen=True)
class AgentSpec:
    """Everything :func:`build` needs, resolved: the specs as objects, the rest plain;
    :meth:`to_dict` is what ``config.yaml``'s ``agent`` section holds.

    Attributes:
        algo: algorithm name.
        env_id: Gymnasium id.
        seed: run seed (training env ``i`` is seeded ``seed + i``).
        n_envs: vectorised training envs.
        total_timesteps: the run's budget (the LR clock and fractional perturbation switch
            points use it); ``None`` leaves SB3's per-``learn()`` progress.
        lr: the LR policy per network (``{"default": policy}`` for every network).
        perturb: the reward-perturbation chain, in order (empty: clean training reward).
        optimizer: the optimizer spec, or one per network (``None``: the algorithm's own).
        preset: preset name asked for; ``preset_source`` says what was used.
        policy: SB3 policy name.
        normalize: VecNormalize arguments, ``None`` for none.
        env_kwargs: ``gymnasium.make`` keyword arguments.
        hyperparams: constructor arguments given by the preset and the overrides (plain).
        device: torch device.
        reward_threshold: the return at which the env counts as solved: Gymnasium's
            registered ``reward_threshold``, else the env's suite threshold
            (:mod:`rl_lr.envs.suites`), else ``None``.
    """

    algo: str
    env_id: str
    seed: int
    n_envs: int
    total_timesteps: int | None
    lr: Mapping[str, LRPolicy]
    perturb: tuple[Perturbation, ...]
    optimizer: OptimizerSpec | Mapping[str, OptimizerSpec] | None
    preset: str
    preset_source: str
    policy: str
    normalize: dict[str, Any] | None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    reward_threshold: float | None = None

    def resolved_hyperparams(self) -> dict[str, Any]:
        """Every constructor argument actually used: SB3's defaults updated by the preset
        and the overrides (plain values, sorted)."""
        values = resolve_algo(self.algo).defaults() | self.hyperparams
        return {k: plain(values[k]) for k in sorted(values)}

    def to_dict(self) -> dict[str, Any]:
        """A plain mapping (YAML-safe) with the fully resolved hyper-parameters; each spec is
        rendered as its spec string (``lr`` one string when it covers every network, the
        perturbation chain one list string ``"[a(...), b(...)]"``)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        lr = dict(self.lr)
        data["lr"] = repr(lr[ALL_NETWORKS]) if set(lr) == {ALL_NETWORKS} else lr
        data["perturb"] = f"[{', '.join(map(repr, self.perturb))}]" if self.perturb else None
        data["hyperparams"] = self.resolved_hyperparams()
        resolved: dict[str, Any] = plain(data)  # spec objects -> their spec strings
        return resolved

    @property
    def per_env_timesteps(self) -> int | None:
        """Steps each training env takes in the run (for fractional perturbation points)."""
        if self.total_timesteps is None:
            return None
        return max(1, self.total_timesteps // self.n_envs)


def resolve(
    algo: str,
    env_id: str,
    lr: Any = None,
    *,
    seed: int = 0,
    perturb: Any = None,
    optimizer: Any = None,
    preset: str = "default",
    n_envs: int | None = None,
    total_timesteps: int | None = None,
    **overrides: Any,
) -> AgentSpec:
    """Resolve and check a run without building it (cheap: creates the env once to read its
    spaces). Arguments as :func:`make`.

    Raises:
        SpecError: bad name, spec or hyper-parameter key (IncompatibleError for impossible
            combinations), one line each.
    """
    info = resolve_algo(algo)
    env_spec = resolve_env_id(env_id)
    for name, value, low in (("seed", seed, 0), ("n_envs", n_envs, 1),
                             ("total_timesteps", total_timesteps, 1)):
        if value is not None and (type(value) is not int or value < low):
            raise SpecError(f"{name} must be an integer >= {low}, got {value!r}")
    check_keys(info, list(overrides), "overrides")
    with warnings.catch_warnings(record=True) as caught:  # re-issued once every check passed
        warnings.simplefilter("always", PresetWarning)
        chosen = load_preset(info.name, env_id, preset)
    policies = read_lr(lr) or parse_policies(chosen.lr or info.default_lr())
    perturbations = parse_perturbations(perturb)
    optimizers = parse_optimizers(optimizer)
    merged = merge(
        {"normalize": chosen.normalize, "env_kwargs": chosen.env_kwargs,
         "policy": chosen.policy, **chosen.hyperparams},
        overrides,
    )
    normalize = normalize_arguments(merged.pop("normalize"))
    env_kwargs = dict(merged.pop("env_kwargs") or {})
    policy = merged.pop("policy")
    device = str(merged.pop("device", "cpu"))
    try:
        probe = gym.make(env_id, **env_kwargs)
    except TypeError as err:
        raise SpecError(f"env_kwargs for {env_id}: {err}") from None
    try:
        check_action_space(info.name, env_id, probe.action_space)
        check_dynamics_env(probe, perturbations)
        if policy is None:
            dict_obs = isinstance(probe.observation_space, gym.spaces.Dict)
            policy = "MultiInputPolicy" if dict_obs else "MlpPolicy"
    finally:
        probe.close()
    check_reported_stats(info.name, policies.values())
    for warning in caught:
        warnings.warn(warning.message, warning.category, stacklevel=2)
    return AgentSpec(
        algo=info.name,
        env_id=env_id,
        seed=seed,
        n_envs=n_envs or chosen.n_envs,
        total_timesteps=total_timesteps,
        lr=policies,
        perturb=perturbations,
        optimizer=optimizers,
        preset=preset,
        preset_source=chosen.source,
        policy=str(policy),
        normalize=normalize,
        env_kwargs=env_kwargs,
        hyperparams={k: plain(v) for k, v in merged.items()},
        device=device,
        reward_threshold=_reward_threshold(env_id, env_spec.reward_threshold),
    )


def _reward_threshold(env_id: str, registered: float | None) -> float | None:
    if registered is not None:
        return float(registered)
    try:
        return env_entry(env_id).threshold
    except KeyError:
        return None


def _training_env(env_id: str, env_kwargs: dict[str, Any], perturbations: tuple[Any, ...],
                  per_env_timesteps: int | None, n_envs: int = 1) -> gym.Env[Any, Any]:
    """Monitor(perturbations(env)): the Monitor records the observed reward. A perturbed env
    also reports each episode's clean return (``CleanReturn``), which the Monitor copies into
    the episode's record for oracle LR policies (:mod:`rl_lr.oracles`) only."""
    env = apply_perturbations(gym.make(env_id, **env_kwargs), perturbations,
                              total_timesteps=per_env_timesteps, n_envs=n_envs)
    if not perturbations:
        return Monitor(env)
    return Monitor(CleanReturn(env), info_keywords=(CLEAN_RETURN,))


@dataclass
class Agent:
    """A built run: the model (LR policy attached), its training env and its spec.

    Attributes:
        model: the SB3 algorithm, ready for ``learn()``.
        env: the vectorised training env (perturbed, possibly normalised).
        hook: the :class:`~rl_lr.sb3.LRHook` driving the LR.
        spec: the resolved :class:`AgentSpec`.
    """

    model: BaseAlgorithm
    env: VecEnv
    hook: Any
    spec: AgentSpec

    def make_eval_env(self, n_envs: int = 1) -> VecEnv:
        """A separate, unperturbed env of ``n_envs`` envs for clean evaluation (see
        :func:`rl_lr.agents.make_eval_env`)."""
        return make_eval_env(self.spec, n_envs)

    def evaluate(self, eval_env: VecEnv, n_episodes: int, seed: int) -> list[float]:
        """Clean returns of ``n_episodes`` deterministic episodes seeded ``seed`` (see
        :func:`rl_lr.agents.evaluate`)."""
        return evaluate(self.model, eval_env, n_episodes, seed)


def build(spec: AgentSpec) -> Agent:
    """Build the envs and the model of ``spec``, set its optimizers, attach its LR policy."""
    info = resolve_algo(spec.algo)
    # The model's own copies: a controller keeps its state in the policy object, and a spec
    # may be built more than once (each build starts from the spec's fresh policies).
    policies = {network: copy.deepcopy(policy) for network, policy in spec.lr.items()}
    env: VecEnv = DummyVecEnv([
        functools.partial(_training_env, spec.env_id, spec.env_kwargs, spec.perturb,
                          spec.per_env_timesteps, spec.n_envs)
        for _ in range(spec.n_envs)
    ])
    if spec.normalize is not None:
        gamma = spec.hyperparams.get("gamma", info.defaults().get("gamma", 0.99))
        env = VecNormalize(env, **({"gamma": gamma} | spec.normalize))
    try:
        kwargs = to_constructor_kwargs(spec.hyperparams, env.action_space)
        model = info.cls(spec.policy, env, learning_rate=next(iter(policies.values())),
                         seed=spec.seed, device=spec.device, **kwargs)
    except (TypeError, ValueError, AssertionError, KeyError) as err:
        env.close()
        if isinstance(err, SpecError):
            raise
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SpecError(f"{info.class_name} refused its hyper-parameters: {message}") from None
    if spec.optimizer is not None:
        set_optimizers(model, spec.optimizer)
    hook = attach(model, policies, total_timesteps=spec.total_timesteps)
    return Agent(model=model, env=env, hook=hook, spec=spec)


def make(
    algo: str,
    env_id: str,
    lr: Any = None,
    *,
    seed: int = 0,
    perturb: Any = None,
    optimizer: Any = None,
    preset: str = "default",
    n_envs: int | None = None,
    total_timesteps: int | None = None,
    **overrides: Any,
) -> Agent:
    """Build a ready-to-train agent.

    Args:
        algo: ``ppo``, ``a2c``, ``sac``, ``td3``, ``ddpg``, ``dqn``, ``tqc``, ``trpo`` or
            ``crossq``.
        env_id: a registered Gymnasium id (rl-lr's own ``rl_lr/...`` ids included).
        lr: an LR spec (string, number, mapping, policy), one per network
            (``{"actor": ..., "critic": ...}``), or ``None`` / ``"preset"`` for the preset's
            LR (SB3's default when the preset has none).
        seed: run seed.
        perturb: reward perturbation(s) for the training envs (never the evaluation env).
        optimizer: optimizer spec, or one per network (see :mod:`rl_lr.optimizers`).
        preset: ``default`` (tuned entry, else SB3's defaults with a warning) or ``sb3``.
        n_envs: training envs (default: the preset's, else 1).
        total_timesteps: the run's budget, for the LR clock (see :func:`rl_lr.attach`).
        **overrides: hyper-parameters over the preset: constructor arguments, ``normalize``,
            ``env_kwargs``, ``policy``, ``device`` (default ``cpu``), or dotted keys into a
            mapping (``**{"policy_kwargs.net_arch": [64, 64]}``).

    Returns:
        The :class:`Agent`.

    Raises:
        SpecError: bad input or an impossible combination, before anything is built.
    """
    return build(resolve(
        algo, env_id, lr, seed=seed, perturb=perturb, optimizer=optimizer, preset=preset,
        n_envs=n_envs, total_timesteps=total_timesteps, **overrides,
    ))
