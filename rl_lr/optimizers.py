"""Optimizers as their own axis, in the same grammar as LR policies.

    adam(eps=1e-8)   adamw(weight_decay=0.01)   rmsprop(alpha=0.99, eps=1e-5)
    adagrad()        sgd(momentum=0.9, nesterov=true)
    schedulefree_adamw(warmup_steps=0)          prodigy(d_coef=1.0)

:func:`set_optimizers` swaps a built SB3 model's torch optimizers (one spec for every network,
or per network ``{"actor": ..., "critic": ..., "ent_coef": ...}``), keeping the current LR.
Leaving the optimizer unset keeps SB3's own (Adam with ``eps=1e-5`` for PPO, RMSprop for A2C).

Schedule-free AdamW (Defazio et al. 2024, package ``schedulefree``) must be in ``train()``
mode while it steps and in ``eval()`` mode whenever the weights are *used* (rollouts,
evaluation, saving). SB3 never switches it; rl-lr's hook does: eval mode everywhere except
inside each ``train()`` call.

Parameter-free optimizers and LR policies: Prodigy (Mishchenko & Defazio 2024, package
``prodigyopt``) estimates the step size ``d`` itself and uses the LR only as a multiplier of it,
so pair it with LRs around 1 (``constant(1.0)``, ``cosine(1.0)``); a controller then scales the
effective step ``d * lr``. Schedule-free AdamW replaces the decay part of a schedule by
iterate averaging; warm-up remains useful, decay mostly is not.

    >>> import rl_lr.optimizers as opt
    >>> opt.OPTIMIZERS.parse("sgd(momentum=0.9, nesterov=true)")
    sgd(momentum=0.9, nesterov=True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from prodigyopt import Prodigy as ProdigyOptimizer
from schedulefree import AdamWScheduleFree
from stable_baselines3.common.base_class import BaseAlgorithm

from rl_lr.sb3 import install_optimizers, network_optimizers
from rl_lr.spec import Registry, SpecError, SpecObject

__all__ = ["OPTIMIZERS", "OptimizerSpec", "parse_optimizers", "set_optimizers"]


@dataclass(frozen=True, repr=False)
class OptimizerSpec(SpecObject):
    """Base of optimizer specs: ``build(params, lr)`` makes the torch optimizer."""

    def build(self, params: Any, lr: float) -> torch.optim.Optimizer:
        raise NotImplementedError

    def _check_nonnegative(self, *names: str) -> None:
        for name in names:
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise self.fail(name, "must be a finite number >= 0")

    def _check_betas(self, betas: tuple[float, ...]) -> None:
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
            raise self.fail("betas", "must be two numbers in [0, 1)")


OPTIMIZERS = Registry("optimizer", OptimizerSpec)
register = OPTIMIZERS.register


@register("adam")
@dataclass(frozen=True, repr=False)
class Adam(OptimizerSpec):
    """``adam(betas=[0.9, 0.999], eps=1e-8, weight_decay=0)``: torch Adam (Kingma & Ba 2015)."""

    betas: tuple[float, ...] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0

    def validate(self) -> None:
        self._check_betas(self.betas)
        self._check_nonnegative("eps", "weight_decay")

    def build(self, params: Any, lr: float) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=lr, betas=(self.betas[0], self.betas[1]),
                                eps=self.eps, weight_decay=self.weight_decay)


@register("adamw")
@dataclass(frozen=True, repr=False)
class AdamW(OptimizerSpec):
    """``adamw(betas=[0.9, 0.999], eps=1e-8, weight_decay=0.01)``: decoupled weight decay
    (Loshchilov & Hutter 2019), torch's defaults."""

    betas: tuple[float, ...] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.01

    def validate(self) -> None:
        self._check_betas(self.betas)
        self._check_nonnegative("eps", "weight_decay")

    def build(self, params: Any, lr: float) -> torch.optim.Optimizer:
        return torch.optim.AdamW(params, lr=lr, betas=(self.betas[0], self.betas[1]),
                                 eps=self.eps, weight_decay=self.weight_decay)


@register("rmsprop")
@dataclass(frozen=True, repr=False)
class RMSprop(OptimizerSpec):
    """``rmsprop(alpha=0.99, eps=1e-5, momentum=0, centered=false, weight_decay=0)``: SB3's
    A2C settings by default (torch's eps is 1e-8)."""

    alpha: float = 0.99
    eps: float = 1e-5
    momentum: float = 0.0
    centered: bool = False
    weight_decay: float = 0.0

    def validate(self) -> None:
        if not 0 <= self.alpha < 1:
            raise self.fail("alpha", "must be in [0, 1)")
        self._check_nonnegative("eps", "momentum", "weight_decay")

    def build(self, params: Any, lr: float) -> torch.optim.Optimizer:
        return torch.optim.RMSprop(params, lr=lr, alpha=self.alpha, eps=self.eps,
                                   momentum=self.momentum, centered=self.centered,
                                   weight_decay=self.weight_decay)


@register("adagrad")
@dataclass(frozen=True, repr=False)
class Adagrad(OptimizerSpec):
    """``adagrad(eps=1e-10, weight_decay=0)``: torch Adagrad (Duchi et al. 2011)."""

    eps: float = 1e-10
    weight_decay: float = 0.0

    def validate(self) -> None:
        self._check_nonnegative("eps", "weight_decay")

    def build(self, params: Any, lr: float) -> torch.optim.Optimizer:
        return torch.optim.Adagrad(params, lr=lr, eps=self.eps, weight_decay=self.weight_decay)


@register("sgd")
@dataclass(frozen=True, repr=False)
class SGD(OptimizerSpec):
    """``sgd(momentum=0, nesterov=false, weight_decay=0)``: plain or momentum SGD."""

    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0

    def validate(self) -> None:
        if not 0 <= self.momentum < 1:
            raise self.fail("momentum", "must be in [0, 1)")
        if self.nesterov and self.momentum == 0:
            raise self.fail("nesterov", "needs momentum > 0")
        self._check_nonnegative("weight_decay")

    def build(self, params: Any, lr: float) -> torch.optim.Optimizer:
        return torch.optim.SGD(params, lr=lr, momentum=self.momentum, nesterov=self.nesterov,
                               weight_decay=self.weight_decay)


@register("schedulefree_adamw")
@dataclass(frozen=True, repr=False)
class ScheduleFreeAdamW(OptimizerSpec):
    """``schedulefree_adamw(betas=[0.9, 0.999], eps=1e-8, weight_decay=0, warmup_steps=0)``:
    ``schedulefree.AdamWScheduleFree`` (Defazio et al. 2024); train/eval modes handled by
    rl-lr's hook."""

    betas: tuple[float, ...] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    warmup_steps: int = 0

    schedule_free: ClassVar[bool] = True

    def validate(self) -> None:
        self._check_betas(self.betas)
        self._check_nonnegative("eps", "weight_decay")
        if self.warmup_steps < 0:
            raise self.fail("warmup_steps", "must be an integer >= 0")

    def build(self, params: Any, lr: float) -> torch.optim.Optimizer:
        optimizer: torch.optim.Optimizer = AdamWScheduleFree(
            params, lr=lr, betas=self.betas[:2], eps=self.eps,
            weight_decay=self.weight_decay, warmup_steps=self.warmup_steps,
        )
        optimizer.eval()  # type: ignore[attr-defined]  # weights are used before any update
        return optimizer


@register("prodigy")
@dataclass(frozen=True, repr=False)
class Prodigy(OptimizerSpec):
    """``prodigy(betas=[0.9, 0.999], d_coef=1, weight_decay=0, safeguard_warmup=false)``:
    ``prodigyopt.Prodigy`` (Mishchenko & Defazio 2024); the LR multiplies its estimated step,
    so use LRs around 1."""

    betas: tuple[float, ...] = (0.9, 0.999)
    d_coef: float = 1.0
    weight_decay: float = 0.0
    safeguard_warmup: bool = False

    def validate(self) -> None:
        self._check_betas(self.betas)
        self._check_nonnegative("weight_decay")
        if not (math.isfinite(self.d_coef) and self.d_coef > 0):
            raise self.fail("d_coef", "must be a finite number > 0")

    def build(self, params: Any, lr: float) -> torch.optim.Optimizer:
        optimizer: torch.optim.Optimizer = ProdigyOptimizer(
            params, lr=lr, betas=self.betas[:2], d_coef=self.d_coef,
            weight_decay=self.weight_decay, safeguard_warmup=self.safeguard_warmup,
        )
        return optimizer


def parse_optimizers(spec: Any) -> OptimizerSpec | dict[str, OptimizerSpec] | None:
    """An optimizer spec (string, mapping spec or object), one per network
    (``{"actor": ..., "critic": ...}``, ``default`` for the others) or ``None`` (the
    algorithm's own) -> the spec objects; objects pass through as they are.

    >>> parse_optimizers({"actor": "sgd(momentum=0.9)", "critic": "adamw()"})
    {'actor': sgd(momentum=0.9), 'critic': adamw()}
    """
    if spec is None:
        return None
    if isinstance(spec, Mapping) and "name" not in spec:
        return {str(k): OPTIMIZERS.parse(v) for k, v in spec.items()}
    optimizer: OptimizerSpec = OPTIMIZERS.parse(spec)
    return optimizer


def parse_per_network(spec: Any, networks: set[str]) -> dict[str, OptimizerSpec]:
    """One spec for every network, or ``{network: spec}`` with an optional ``default``.

    The entropy coefficient's optimizer (SAC, TQC, CrossQ) is built by SB3 itself as Adam and
    stays so; its LR is still per-network (:func:`rl_lr.attach`)."""
    networks = networks - {"ent_coef"}
    if isinstance(spec, dict) and "name" not in spec:
        if "ent_coef" in spec:
            raise SpecError("optimizer: the entropy coefficient's optimizer is SB3's own Adam; "
                            f"per-network optimizers apply to {', '.join(sorted(networks))}")
        unknown = set(spec) - networks - {"default"}
        if unknown:
            raise SpecError(f"optimizer: unknown network(s) {', '.join(sorted(unknown))}; "
                            f"networks: {', '.join(sorted(networks))} (or 'default')")
        missing = networks - set(spec)
        if missing and "default" not in spec:
            raise SpecError(f"optimizer: no optimizer for network(s) "
                            f"{', '.join(sorted(missing))}; name them or add a 'default' entry")
        return {n: OPTIMIZERS.parse(spec[n] if n in spec else spec["default"])
                for n in sorted(networks)}
    parsed = OPTIMIZERS.parse(spec)
    return dict.fromkeys(sorted(networks), parsed)


def set_optimizers(model: BaseAlgorithm, spec: Any) -> None:
    """Replace ``model``'s torch optimizers by the ones ``spec`` describes.

    Each new optimizer covers the same parameters as the old one and starts at its current LR.
    The choice is recorded in ``model.policy_kwargs`` (saved with the model), so SB3's own
    ``load`` rebuilds the same optimizers and loads their state. Call before or after
    :func:`rl_lr.attach`. Schedule-free optimizers need rl-lr's train/eval switching: after
    ``load``, call :func:`rl_lr.attach` before training.

    Example:
        >>> from stable_baselines3 import PPO
        >>> model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64)
        >>> set_optimizers(model, "sgd(momentum=0.9)")
        >>> type(model.policy.optimizer).__name__
        'SGD'
    """
    specs = parse_per_network(spec, set(network_optimizers(model)))
    install_optimizers(model, specs)
