# Over 400 lines: the one module that touches SB3 internals (DESIGN.md §3), kept whole on purpose.
"""The one place that touches Stable-Baselines3 internals.

Two ways to use an LR policy with SB3:

1. Pure schedules need nothing from rl-lr at run time: ``PPO("MlpPolicy", env,
   learning_rate=rl_lr.cosine(3e-4))``. SB3 calls the schedule with its per-``learn()``
   ``progress_remaining``.
2. :func:`attach` wires everything else, in one call::

       model = SAC("MlpPolicy", env)
       rl_lr.attach(model, {"actor": "cosine(3e-4)", "critic": "constant(1e-3)",
                            "ent_coef": "constant(3e-4)"}, total_timesteps=50_000)
       model.learn(50_000)

   - per-network LRs for algorithms with several optimizers (SAC, TD3, DDPG, TQC, CrossQ);
   - a clock taken from ``model.num_timesteps / total_timesteps``, so chunked ``learn()`` calls
     and save / load / continue keep one LR trajectory (SB3's own ``progress_remaining``
     restarts or warps with each ``learn()`` call);
   - the LR actually applied, read back from each optimizer's ``param_groups``, logged as
     ``train/learning_rate`` (and ``train/lr/<network>`` when there are several);
   - :class:`~rl_lr.signals.TrainingSignals` after every update for stateful policies
     (controllers), including gradient norms through optimizer step hooks when asked for;
   - gradient norms for anyone who watches them (:meth:`LRHook.watch_gradient_norms`: the
     ``grad_norm`` columns of a run's ``progress.csv``), from the same step hooks.

How: :func:`attach` stores an :class:`AttachedLR` as ``model.learning_rate`` (it is what SB3
saves in the model zip, policy state included) and switches the model's class to a thin
subclass of its own class that overrides ``_update_learning_rate``, ``train`` and
``_excluded_save_params``. ``isinstance(model, PPO)`` stays true. After ``PPO.load(...)`` call
``rl_lr.attach(model)`` again to resume the saved policy; training a loaded model without it
raises a clear error instead of silently changing the LR trajectory.
"""

from __future__ import annotations

import copy
import functools
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.policies import BasePolicy

from rl_lr.errors import SpecError
from rl_lr.schedules import POLICIES, LRPolicy
from rl_lr.signals import TrainingSignals

__all__ = [
    "AttachedLR",
    "DeterministicActions",
    "GradientNorms",
    "LRHook",
    "attach",
    "gradient_norm",
    "install_optimizers",
    "network_optimizers",
    "silence_logger",
]

ALL_NETWORKS = "default"
# SB3 train/* statistics that only some algorithms report, by algorithm class name.
REPORTED_BY: dict[str, frozenset[str]] = {
    "approx_kl": frozenset({"PPO", "RecurrentPPO", "MaskablePPO"})}


def silence_logger(model: BaseAlgorithm) -> None:
    """Give a model without tensorboard a logger with no output, before ``learn()``: SB3's
    own makes an empty ``/tmp/SB3-<time>/`` directory at every ``learn()`` call otherwise.
    Logged values still reach callbacks (``model.logger.name_to_value``)."""
    if model.tensorboard_log is None:
        model.set_logger(Logger(folder=None, output_formats=[]))


def unreported_stat(policy: LRPolicy, class_names: set[str]) -> tuple[str, list[str]] | None:
    """The first ``train/*`` statistic ``policy`` reads that an algorithm whose class (or a
    base class) is named in ``class_names`` never reports, with the classes that do; None if
    it can run. The one place that knows which algorithms report what."""
    for stat in sorted(policy.required_stats()):
        reporters = REPORTED_BY.get(stat)
        if reporters is not None and not reporters & class_names:
            return stat, sorted(reporters)
    return None


def is_schedule_free(optimizer: torch.optim.Optimizer) -> bool:
    """Whether ``optimizer`` has schedule-free train/eval modes."""
    return bool(optimizer.param_groups) and "train_mode" in optimizer.param_groups[0]


def network_optimizers(model: BaseAlgorithm) -> dict[str, torch.optim.Optimizer]:
    """The model's optimizers by network name.

    ``{"policy": ...}`` for single-optimizer algorithms (PPO, A2C, DQN, TRPO, ...);
    ``{"actor", "critic"[, "ent_coef"]}`` for off-policy actor-critics (SAC, TD3, DDPG, TQC,
    CrossQ); ``ent_coef`` only when the entropy coefficient is learned.

    Example:
        >>> from stable_baselines3 import PPO
        >>> sorted(network_optimizers(PPO("MlpPolicy", "CartPole-v1")))
        ['policy']
    """
    named: dict[str, torch.optim.Optimizer] = {}
    actor, critic = getattr(model, "actor", None), getattr(model, "critic", None)
    if hasattr(actor, "optimizer") and hasattr(critic, "optimizer"):
        named["actor"] = actor.optimizer  # type: ignore[union-attr]
        named["critic"] = critic.optimizer  # type: ignore[union-attr]
        ent_coef_optimizer = getattr(model, "ent_coef_optimizer", None)
        if ent_coef_optimizer is not None:
            named["ent_coef"] = ent_coef_optimizer
    elif isinstance(getattr(model.policy, "optimizer", None), torch.optim.Optimizer):
        named["policy"] = model.policy.optimizer
    if not named:
        raise SpecError(f"{type(model).__name__} has no optimizer whose LR rl-lr could drive")
    return named


def _assign_optimizer(model: BaseAlgorithm, network: str, optimizer: torch.optim.Optimizer) -> None:
    """Put ``optimizer`` where SB3 keeps ``network``'s optimizer (and saves it from)."""
    if network == "policy":
        model.policy.optimizer = optimizer
    elif network == "ent_coef":
        model.ent_coef_optimizer = optimizer  # type: ignore[attr-defined]
    else:
        getattr(model, network).optimizer = optimizer


def _shapes(params: Any) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(p.shape) for p in params)


@dataclass(frozen=True)
class NetworkOptimizers:
    """The optimizer factory rl-lr puts in SB3's ``policy_kwargs["optimizer_class"]``.

    SB3 calls it once per network when it builds a policy, also when it *loads* one, so a
    saved model comes back with the right optimizer classes and their saved state. Each
    network is recognised by the shapes of its parameters. A policy that builds a first,
    provisional optimizer over part of its parameters and replaces it once the rest exist
    (sb3-contrib's recurrent policies: the LSTMs come after the base class's build) gets the
    spec of the one network whose shapes contain that part, in order.
    """

    by_shapes: tuple[tuple[tuple[tuple[int, ...], ...], Any], ...]

    def __call__(self, params: Any, lr: float, **sb3_defaults: Any) -> torch.optim.Optimizer:
        params = list(params)
        shapes = _shapes(params)
        exact = [spec for known, spec in self.by_shapes if known == shapes]
        part_of = [spec for known, spec in self.by_shapes if _is_subsequence(shapes, known)]
        if exact or len(part_of) == 1:
            built: torch.optim.Optimizer = (exact or part_of)[0].build(params, lr)
            return built
        raise RuntimeError("rl-lr: no optimizer spec matches a network with parameter shapes "
                           f"{shapes}")


def _is_subsequence(part: tuple[Any, ...], whole: tuple[Any, ...]) -> bool:
    """Whether ``part`` is ``whole`` with some items left out (order kept)."""
    items = iter(whole)
    return all(any(item == wanted for item in items) for wanted in part)


def install_optimizers(model: BaseAlgorithm, specs: Mapping[str, Any]) -> None:
    """Replace each named network's optimizer by ``specs[network].build(...)`` over the same
    parameters at the current LR (used by :func:`rl_lr.optimizers.set_optimizers`), and record
    the choice in ``model.policy_kwargs`` so that ``load`` rebuilds the same optimizers."""
    current = network_optimizers(model)
    by_shapes: dict[tuple[tuple[int, ...], ...], Any] = {}
    for network, spec in specs.items():
        old = current[network]
        params = [p for group in old.param_groups for p in group["params"]]
        shapes = _shapes(params)
        if by_shapes.get(shapes, spec) != spec:
            raise SpecError(f"optimizer: two networks with identical parameter shapes need the "
                            f"same optimizer, got {by_shapes[shapes]!r} and {spec!r}")
        by_shapes[shapes] = spec
        _assign_optimizer(model, network, spec.build(params, lr=float(old.param_groups[0]["lr"])))
    model.policy_kwargs = {**model.policy_kwargs,  # a new dict: SB3 keeps the caller's own
                           "optimizer_class": NetworkOptimizers(tuple(by_shapes.items())),
                           "optimizer_kwargs": {}}
    _ensure_hooked_class(model)
    hook = model.__dict__.get("_rl_lr_hook")
    if hook is not None:
        attach(model)  # re-map the hook onto the new optimizer objects


def gradient_norm(optimizer: torch.optim.Optimizer) -> float | None:
    """The global L2 norm of the gradients ``optimizer`` is about to step with (the norm of
    the per-parameter norms), or ``None`` when no parameter has a gradient: the one formula
    behind a run's ``grad_norm`` columns and :attr:`TrainingSignals.grad_norms`."""
    grads = [p.grad for group in optimizer.param_groups for p in group["params"]
             if p.grad is not None]
    if not grads:
        return None
    return float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))


class GradientNorms:
    """A window of optimizer steps: the mean gradient norm per network over the steps added
    since the window was last cleared. :class:`LRHook` adds one norm per step to every window
    it fills; a reader takes the means and starts the next window.

    Example:
        >>> window = GradientNorms()
        >>> window.add("policy", 1.0)
        >>> window.add("policy", 2.0)
        >>> window.take()
        {'policy': 1.5}
        >>> window.take()
        {}
    """

    def __init__(self) -> None:
        self._sums: dict[str, float] = {}
        self._counts: dict[str, int] = {}

    def add(self, network: str, norm: float) -> None:
        """Count one optimizer step of ``network`` whose gradients had norm ``norm``."""
        self._sums[network] = self._sums.get(network, 0.0) + norm
        self._counts[network] = self._counts.get(network, 0) + 1

    def means(self) -> dict[str, float]:
        """The mean norm per network that took at least one step in this window."""
        return {name: self._sums[name] / self._counts[name] for name in self._sums}

    def clear(self) -> None:
        """Start a new window."""
        self._sums.clear()
        self._counts.clear()

    def take(self) -> dict[str, float]:
        """:meth:`means`, then :meth:`clear`."""
        means = self.means()
        self.clear()
        return means

    def __repr__(self) -> str:
        return f"GradientNorms({self.means()!r})"


@dataclass
class AttachedLR:
    """What rl-lr stores as ``model.learning_rate`` and SB3 saves in the model zip.

    Attributes:
        policies: LR policy per network name; the key ``"default"`` covers every network not
            named (a single policy is ``{"default": policy}``).
        total_timesteps: the run's declared budget; ``None`` uses SB3's per-``learn()``
            progress.
    """

    policies: dict[str, LRPolicy]
    total_timesteps: int | None = None

    def policy_for(self, network: str) -> LRPolicy:
        return self.policies[network if network in self.policies else ALL_NETWORKS]

    @property
    def needs_hook(self) -> bool:
        """True if SB3's own ``lr_schedule`` mechanism cannot reproduce this alone."""
        only = self.policies.get(ALL_NETWORKS)
        return len(self.policies) > 1 or only is None or only.stateful or (
            self.total_timesteps is not None
        )

    def __call__(self, progress_remaining: float) -> float:
        """SB3's schedule protocol. SB3 calls it when it builds optimizers (progress_remaining
        = 1); during training the hook sets LRs instead, so a call mid-run means the model
        lost its hook (loaded without :func:`attach`)."""
        if progress_remaining < 1.0 and self.needs_hook:
            raise RuntimeError(
                "rl-lr: this model's LR policy is not attached (was the model loaded?); "
                "call rl_lr.attach(model) before training it"
            )
        first = next(iter(self.policies.values()))
        return first(progress_remaining)

    def __repr__(self) -> str:
        return f"AttachedLR({self.policies!r}, total_timesteps={self.total_timesteps})"


class LRHook:
    """Runtime link between an :class:`AttachedLR` and a live model (never saved).

    Reach it as ``model._rl_lr_hook`` or as the return value of :func:`attach`.
    """

    def __init__(self, model: BaseAlgorithm, attached: AttachedLR) -> None:
        self.model = model
        self.attached = attached
        self.optimizers = network_optimizers(model)
        self.n_updates = 0
        self._stateful = [p for p in attached.policies.values() if p.stateful]
        self.last_lr: dict[str, float] = {}
        # Episodes already in the Monitor window (a loaded or re-attached model) are not new.
        self._seen_episodes: list[dict[str, Any]] = list(model.ep_info_buffer or ())
        # Gradient norms: this update's (for the signals, when a policy wants gradients) and
        # the windows of watchers (watch_gradient_norms), filled by the step pre-hooks.
        self.update_grad_norms = GradientNorms()
        self._wants_gradients = any(p.wants_gradients() for p in attached.policies.values())
        self._watchers: list[GradientNorms] = []
        self._grad_windows: list[GradientNorms] = []
        self._step_handles: list[Any] = []
        self._handles: list[Any] = []
        self._update_step_hooks()
        self._minibatch_kl: torch.Tensor | None = None
        self._old_log_prob: torch.Tensor | None = None
        self._mask: torch.Tensor | None = None
        self._wrapped: list[tuple[Any, str]] = []
        self._minibatch_policies = [
            p for p in attached.policies.values() if p.wants_minibatch_stats()]
        if self._minibatch_policies:
            self._capture_minibatch_kl()

    # -- clock ---------------------------------------------------------------------------
    def progress(self) -> float:
        """0 -> 1 over the declared budget, else SB3's progress within this ``learn()``."""
        total = self.attached.total_timesteps
        if total is not None:
            return min(1.0, self.model.num_timesteps / total)
        return 1.0 - float(self.model._current_progress_remaining)

    # -- called by the hooked algorithm ----------------------------------------------------
    def apply(self, optimizers: list[torch.optim.Optimizer] | torch.optim.Optimizer) -> None:
        """Set every optimizer's LR from its network's policy and log what was applied."""
        applied = self.set_lrs(optimizers if isinstance(optimizers, list) else [optimizers])
        logger = self.model.logger
        logger.record("train/learning_rate", next(iter(applied.values())))
        several = len(applied) > 1
        if several:
            for name, lr in applied.items():
                logger.record(f"train/lr/{name}", lr)
        for name, policy in self.attached.policies.items():
            prefix = f"train/lr_controller/{name}/" if several else "train/lr_controller/"
            for key, value in policy.log_values().items():
                logger.record(prefix + key, value)

    def set_lrs(self, optimizers: list[torch.optim.Optimizer]) -> dict[str, float]:
        """Write each policy's value at the current progress into its optimizer's
        ``param_groups``; return the LRs read back, by network name."""
        progress = self.progress()
        applied: dict[str, float] = {}
        for optimizer in optimizers:
            # by identity, not id(): a copied or unpickled hook has new optimizer objects
            name = next((n for n, o in self.optimizers.items() if o is optimizer), ALL_NETWORKS)
            lr = self.attached.policy_for(name).value(progress)
            if not math.isfinite(lr) or lr < 0:
                raise FloatingPointError(
                    f"rl-lr: LR for {name} became {lr!r} at progress {progress}"
                )
            for group in optimizer.param_groups:
                group["lr"] = lr
            applied[name] = float(optimizer.param_groups[0]["lr"])
        self.last_lr = applied
        return applied

    def after_update(self) -> None:
        """Build this update's :class:`TrainingSignals` and feed it to every stateful policy
        (each network's own instance, see :func:`_own_copies`); schedules skip all of this."""
        self.n_updates += 1
        if self._stateful:
            signals = self.signals()
            for policy in self._stateful:
                policy.observe(signals)
        self.update_grad_norms.clear()
        self.log_held_lrs()

    def log_held_lrs(self) -> None:
        """Log ``train/learning_rate`` (and ``train/lr/<network>``) as the optimizers hold it
        after an update, as ``progress.csv`` reads it: a policy acting per optimizer step
        (hypergradient, per-minibatch kl_adaptive) moves it after :meth:`apply` logged it."""
        held = {name: float(optimizer.param_groups[0]["lr"])
                for name, optimizer in self.optimizers.items()}
        logger = self.model.logger
        logger.record("train/learning_rate", next(iter(held.values())))
        if len(held) > 1:
            for name, lr in held.items():
                logger.record(f"train/lr/{name}", lr)

    def signals(self) -> TrainingSignals:
        buffer = list(self.model.ep_info_buffer or ())
        seen_ids = {id(info) for info in self._seen_episodes}
        new = [info for info in buffer if id(info) not in seen_ids]
        self._seen_episodes = buffer  # holding them keeps their ids unique
        stats = {
            key.removeprefix("train/"): float(value)
            for key, value in self.model.logger.name_to_value.items()
            if key.startswith("train/") and isinstance(value, numbers.Real)
        }
        return TrainingSignals(
            num_timesteps=int(self.model.num_timesteps),
            progress=self.progress(),
            n_updates=self.n_updates,
            new_episode_returns=tuple(float(info["r"]) for info in new),
            new_episode_lengths=tuple(int(info["l"]) for info in new),
            recent_returns=tuple(float(info["r"]) for info in buffer),
            train_stats=stats,
            lr=dict(self.last_lr),
            grad_norms=self.update_grad_norms.means(),
            clean_new_episode_returns=tuple(_clean_return(info) for info in new),
            clean_recent_returns=tuple(_clean_return(info) for info in buffer),
        )

    # -- gradient norms ---------------------------------------------------------------------
    def watch_gradient_norms(self, window: GradientNorms | None = None) -> GradientNorms:
        """Fill ``window`` (a new one if ``None``) with the gradient norm of every optimizer
        step from now on, by :func:`gradient_norm`, until :meth:`unwatch_gradient_norms`.

        Example:
            >>> from stable_baselines3 import PPO
            >>> import rl_lr
            >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64)
            >>> window = rl_lr.attach(model, "constant(1e-3)").watch_gradient_norms()
            >>> _ = model.learn(64)
            >>> list(window.take())
            ['policy']
        """
        window = GradientNorms() if window is None else window
        self._watchers.append(window)
        self._update_step_hooks()
        return window

    def unwatch_gradient_norms(self, window: GradientNorms) -> None:
        """Stop filling ``window`` (the step hooks go when nothing needs them any more)."""
        self._watchers = [w for w in self._watchers if w is not window]
        self._update_step_hooks()

    def _update_step_hooks(self) -> None:
        """Step pre-hooks on every optimizer while a policy wants gradients or a window is
        watched; none otherwise (a schedule costs nothing per step)."""
        own = [self.update_grad_norms] if self._wants_gradients else []
        self._grad_windows = [*own, *self._watchers]
        if not self._grad_windows:
            self._remove_step_hooks()
        elif not self._step_handles:
            self._step_handles = [optimizer.register_step_pre_hook(self._step_hook(name))
                                  for name, optimizer in self.optimizers.items()]

    def _remove_step_hooks(self) -> None:
        for handle in self._step_handles:
            handle.remove()
        self._step_handles = []

    def _step_hook(self, name: str) -> Any:
        """A torch step pre-hook: let the network's policy learn from the gradients, add the
        step's gradient norm to every window, and apply the policy's LR to this very step.

        The norm is computed once per step: by :func:`gradient_norm` -- bit for bit what a
        watcher records -- or, while nothing watches, the one the policy computed anyway
        (hypergradient descent: the same norm up to float rounding, and no second pass over
        the gradients)."""
        return _StepPreHook(self, name)

    def on_step(self, name: str, optimizer: torch.optim.Optimizer) -> None:
        """What :meth:`_step_hook`'s hook does before each step of ``name``'s optimizer."""
        policy = self.attached.policy_for(name)
        wants = policy.wants_gradients()
        norm = policy.on_optimizer_step(optimizer) if wants else None
        if norm is None or self._watchers:
            norm = gradient_norm(optimizer)
        if norm is None:  # no gradients: nothing stepped
            return
        for window in self._grad_windows:
            window.add(name, norm)
        if wants:
            self.set_lrs([optimizer])

    def _capture_minibatch_kl(self) -> None:
        """PPO family: compute each minibatch's approximate KL (rollout policy vs current) as
        SB3 does, from the minibatch's ``old_log_prob`` (captured where the rollout buffer
        hands it out) and the ``log_prob`` of ``evaluate_actions``; after each optimizer step,
        give it to the policies and apply the LR they decide to the next step.

        A recurrent buffer (RecurrentPPO) pads its sequences: its samples' ``mask`` marks the
        real steps, and the KL is their mean, as SB3's ``train/approx_kl`` takes it."""
        buffer, policy = self.model.rollout_buffer, self.model.policy  # type: ignore[attr-defined]
        setattr(buffer, "_get_samples", _CaptureSamples(self, buffer))  # noqa: B010 - instance override
        setattr(policy, "evaluate_actions", _EvaluateWithKL(self, policy))  # noqa: B010 - instance override
        self._wrapped += [(buffer, "_get_samples"), (policy, "evaluate_actions")]
        optimizer = self.optimizers["policy"]
        self._handles.append(optimizer.register_step_post_hook(self._after_minibatch))

    def capture_samples(self, samples: Any) -> None:
        """Keep a rollout minibatch's ``old_log_prob`` (and ``mask``, if padded)."""
        self._old_log_prob = samples.old_log_prob
        mask = getattr(samples, "mask", None)
        self._mask = None if mask is None else mask > 1e-8  # SB3's own threshold

    def _record_minibatch_kl(self, log_prob: torch.Tensor) -> None:
        old = self._old_log_prob
        if old is not None and old.shape == log_prob.shape:
            ratio = log_prob.detach() - old
            kl = torch.expm1(ratio) - ratio
            mask = self._mask
            self._minibatch_kl = (kl[mask] if mask is not None and mask.shape == kl.shape
                                  else kl).mean()

    def _after_minibatch(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self._minibatch_kl is None:
            return
        stats = {"approx_kl": float(self._minibatch_kl)}
        self._minibatch_kl = None
        changed = [policy.observe_minibatch(stats) for policy in self._minibatch_policies]
        if any(changed):
            self.set_lrs([optimizer])

    def remove(self) -> None:
        """Remove the optimizer step hooks and SB3 method wrappers (when attached again)."""
        self._remove_step_hooks()
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        for owner, name in self._wrapped:
            owner.__dict__.pop(name, None)  # back to the class's own method
        self._wrapped.clear()


def _clean_return(episode: Mapping[str, Any]) -> float:
    """An episode record's clean return: ``clean_return`` where the training env is perturbed
    (``rl_lr.envs.CleanReturn``, copied by the Monitor), else its own return ``r``."""
    return float(episode.get("clean_return", episode["r"]))


class _HookedAlgorithm(BaseAlgorithm):
    """Mixed in front of a model's own class by :func:`attach`."""

    _rl_lr_hook: LRHook
    _rl_lr_base: type[BaseAlgorithm]  # the model's own class (set by _hooked_class)

    def _update_learning_rate(
        self, optimizers: list[torch.optim.Optimizer] | torch.optim.Optimizer
    ) -> None:
        hook = self.__dict__.get("_rl_lr_hook")
        if hook is None:
            super()._update_learning_rate(optimizers)
        else:
            hook.apply(optimizers)

    def train(self, *args: Any, **kwargs: Any) -> None:
        schedule_free = [o for o in network_optimizers(self).values() if is_schedule_free(o)]
        for optimizer in schedule_free:
            optimizer.train()  # type: ignore[attr-defined]  # schedule-free steps in train mode
        try:
            super().train(*args, **kwargs)  # type: ignore[misc]  # abstract in BaseAlgorithm
        finally:
            for optimizer in schedule_free:
                optimizer.eval()  # type: ignore[attr-defined]  # weights used in eval mode
        hook = self.__dict__.get("_rl_lr_hook")
        if hook is not None:
            hook.after_update()

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_rl_lr_hook"]

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickle by the model's own class (``pickle`` cannot look up the subclass made by
        :func:`_hooked_class` by name): unpickling makes the subclass again."""
        return _new_hooked, (type(self)._rl_lr_base,), self.__dict__


@functools.cache
def _hooked_class(cls: type[BaseAlgorithm]) -> type[BaseAlgorithm]:
    return type(cls.__name__, (_HookedAlgorithm, cls), {"__module__": __name__,
                                                        "_rl_lr_base": cls})


def _new_hooked(cls: type[BaseAlgorithm]) -> BaseAlgorithm:
    """An empty instance of ``cls`` with the hook mixed in (unpickling fills its state)."""
    hooked = _hooked_class(cls)
    instance: BaseAlgorithm = hooked.__new__(hooked)
    return instance


class _StepPreHook:
    """A torch step pre-hook of one network (:meth:`LRHook._step_hook`); a class rather than a
    closure so that a model with its hook pickles."""

    def __init__(self, hook: LRHook, name: str) -> None:
        self.hook, self.name = hook, name

    def __call__(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self.hook.on_step(self.name, optimizer)


class _CaptureSamples:
    """Stands for the rollout buffer's ``_get_samples`` (:meth:`LRHook._capture_minibatch_kl`):
    the class's own method, whose samples the hook keeps."""

    def __init__(self, hook: LRHook, buffer: Any) -> None:
        self.hook, self.buffer = hook, buffer

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        samples = type(self.buffer)._get_samples(self.buffer, *args, **kwargs)
        self.hook.capture_samples(samples)
        return samples


class _EvaluateWithKL:
    """Stands for the policy's ``evaluate_actions``: the class's own method, whose
    ``log_prob`` gives the hook the minibatch's KL."""

    def __init__(self, hook: LRHook, policy: Any) -> None:
        self.hook, self.policy = hook, policy

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        values, log_prob, entropy = type(self.policy).evaluate_actions(self.policy, *args,
                                                                       **kwargs)
        self.hook._record_minibatch_kl(log_prob)
        return values, log_prob, entropy


def _ensure_hooked_class(model: BaseAlgorithm) -> None:
    if not isinstance(model, _HookedAlgorithm):
        model.__class__ = _hooked_class(type(model))


def _as_policies(policy: Any, model: BaseAlgorithm) -> dict[str, LRPolicy]:
    if policy is None:
        current = model.learning_rate
        if isinstance(current, AttachedLR):
            return current.policies
        if isinstance(current, LRPolicy):
            return {ALL_NETWORKS: current}
        raise SpecError(
            f"attach: the model's learning_rate is {current!r}; pass an LR policy, e.g. "
            "rl_lr.attach(model, 'cosine(3e-4)')"
        )
    if isinstance(policy, Mapping) and "name" not in policy:
        networks = set(network_optimizers(model))
        unknown = set(policy) - networks - {ALL_NETWORKS}
        if unknown:
            raise SpecError(
                f"attach: unknown network(s) {', '.join(sorted(unknown))} for "
                f"{type(model).__name__}; networks: {', '.join(sorted(networks))} (or 'default')"
            )
        missing = networks - set(policy)
        if missing and ALL_NETWORKS not in policy:
            raise SpecError(
                f"attach: no LR for network(s) {', '.join(sorted(missing))} of "
                f"{type(model).__name__}; name them or add a 'default' entry"
            )
        return {str(k): POLICIES.parse(v) for k, v in policy.items()}
    return {ALL_NETWORKS: POLICIES.parse(policy)}


def _check_stats_reported(model: BaseAlgorithm, policies: dict[str, LRPolicy]) -> None:
    algorithm_names = {cls.__name__ for cls in type(model).__mro__}
    for policy in policies.values():
        missing = unreported_stat(policy, algorithm_names)
        if missing is not None:
            raise SpecError(f"{policy!r} needs train/{missing[0]}, which {type(model).__name__} "
                            f"does not report (only {', '.join(missing[1])})")


def _own_copies(policies: dict[str, LRPolicy], networks: set[str]) -> dict[str, LRPolicy]:
    """Give every network its own instance of a stateful policy: a controller shared by the
    actor and the critic (``default`` or the same object twice) would advance twice per
    update, and hypergradient descent must learn one LR per optimizer."""
    if not any(p.stateful for p in policies.values()):
        return policies
    default = policies.get(ALL_NETWORKS)
    expanded = {n: policies.get(n, default) for n in sorted(networks)}
    owned: dict[str, LRPolicy] = {}
    seen: set[int] = set()
    for name, policy in expanded.items():
        assert policy is not None  # _as_policies checked every network is covered
        owned[name] = copy.deepcopy(policy) if id(policy) in seen else policy
        seen.add(id(policy))
    return owned


def attach(
    model: BaseAlgorithm,
    policy: Any = None,
    *,
    total_timesteps: int | None = None,
) -> LRHook:
    """Drive ``model``'s learning rate(s) with rl-lr policies.

    Args:
        model: any SB3 / sb3-contrib algorithm with an optimizer.
        policy: a spec string, mapping, number or :class:`~rl_lr.LRPolicy`; or per network a
            dict such as ``{"actor": ..., "critic": ..., "ent_coef": ...}`` (``"default"``
            covers the rest); ``None`` re-attaches the policy already on the model (after
            ``load``) or the schedule it was built with.
        total_timesteps: the run's budget. Given, progress is ``num_timesteps / total`` across
            all ``learn()`` calls and reloads; omitted, progress is SB3's per-``learn()`` one
            (or the value stored with the model when re-attaching).

    Returns:
        The :class:`LRHook`, also at ``model._rl_lr_hook``.

    Example:
        >>> from stable_baselines3 import PPO
        >>> import rl_lr
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64)
        >>> hook = rl_lr.attach(model, "cosine(1e-3, end=1e-4)", total_timesteps=128)
        >>> _ = model.learn(128)  # two updates, at progress 0.5 and 1
        >>> hook.last_lr
        {'policy': 0.0001}
    """
    if total_timesteps is not None and (
        type(total_timesteps) is not int or total_timesteps <= 0
    ):
        raise SpecError(
            f"attach: total_timesteps must be a positive integer, got {total_timesteps!r}"
        )
    policies = _own_copies(_as_policies(policy, model), set(network_optimizers(model)))
    _check_stats_reported(model, policies)
    if total_timesteps is None and policy is None and isinstance(model.learning_rate, AttachedLR):
        total_timesteps = model.learning_rate.total_timesteps
    previous = model.__dict__.get("_rl_lr_hook")
    if previous is not None:
        previous.remove()
        model._rl_lr_hook = None  # type: ignore[attr-defined]
    attached = AttachedLR(policies, total_timesteps)
    model.learning_rate = attached
    model._setup_lr_schedule()
    _ensure_hooked_class(model)
    hook = LRHook(model, attached)
    if previous is not None:
        hook.n_updates = previous.n_updates  # one count of updates across re-attachments
        for window in previous._watchers:
            hook.watch_gradient_norms(window)  # a watcher keeps its window
    model._rl_lr_hook = hook  # type: ignore[attr-defined]
    hook.set_lrs(list(hook.optimizers.values()))  # the optimizers hold the policy's LR from now
    return hook


class DeterministicActions:
    """``model.predict(observation, deterministic=True)[0]`` for batches of observations, as
    SB3's ``BasePolicy.predict`` computes it, without its fixed cost per call.

    ``predict`` switches every module to eval mode and builds a validated torch distribution
    at each call: ~0.4 ms per call on a 64x64 PPO policy, whatever the batch, more than the
    forward pass itself. An evaluation calls it once per env step, so this class does the mode
    switch once, turns torch's distribution argument checks off during a call (they only
    validate; the numbers are the same), and keeps the rest of ``predict`` as it is:
    ``obs_to_tensor``, ``_predict`` under ``no_grad``, the reshape, then the Box action's clip
    (or unscaling when the policy squashes). Anything else (a policy that overrides
    ``predict``, such as a recurrent one; a model whose ``predict`` does more than DQN's
    exploration) goes through ``model.predict``.

    Use it within one evaluation: training switches the modules back to train mode.

    Example:
        >>> import numpy as np
        >>> from stable_baselines3 import PPO
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64)
        >>> observations = np.zeros((3, 4), dtype=np.float32)
        >>> actions = DeterministicActions(model)(observations)
        >>> bool((actions == model.predict(observations, deterministic=True)[0]).all())
        True
    """

    # Model-level predict overrides that only add exploration, which deterministic=True skips.
    EXPLORATION_ONLY = frozenset({"BaseAlgorithm.predict", "DQN.predict", "QRDQN.predict"})

    def __init__(self, model: BaseAlgorithm) -> None:
        self.model = model
        policy = getattr(model, "policy", None)
        self.direct = (isinstance(policy, BasePolicy)
                       and type(policy).predict is BasePolicy.predict
                       and type(model).predict.__qualname__ in self.EXPLORATION_ONLY)
        if not self.direct:
            return
        assert isinstance(policy, BasePolicy)
        self.policy = policy
        policy.set_training_mode(False)
        space = policy.action_space
        self.box = space if isinstance(space, spaces.Box) else None
        self.shape: tuple[int, ...] = (-1, *(space.shape or ()))

    def __call__(self, observation: Any) -> Any:
        """The deterministic actions of a batch of observations (a leading batch axis)."""
        if not self.direct:
            return self.model.predict(observation, deterministic=True)[0]
        tensor, _ = self.policy.obs_to_tensor(observation)
        validate = torch.distributions.Distribution._validate_args  # no public getter
        torch.distributions.Distribution.set_default_validate_args(False)
        try:
            with torch.no_grad():
                actions = self.policy._predict(tensor, deterministic=True)
        finally:
            torch.distributions.Distribution.set_default_validate_args(validate)
        array: np.ndarray = actions.cpu().numpy().reshape(self.shape)
        if self.box is None:
            return array
        if self.policy.squash_output:
            return self.policy.unscale_action(array)
        return np.clip(array, self.box.low, self.box.high)
