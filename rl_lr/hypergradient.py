"""The LR learned online by hypergradient descent (Baydin et al., ICLR 2018).

With ``theta_t = theta_{t-1} - lr * u_{t-1}``, the derivative of the loss after a step with
respect to the LR is ``-g_t . u_{t-1}``, so gradient descent on the LR adds
``beta * g_t . u_{t-1}``: the LR grows while successive steps agree and shrinks while they
alternate. ``u`` is the previous gradient for SGD-HD and the previous Adam direction
``m_hat / (sqrt(v_hat) + eps)`` for Adam-HD (read from the optimizer's own state).

It runs per optimizer step, through a torch step pre-hook that :func:`rl_lr.attach` installs;
every network (actor, critic, ...) learns its own LR because :func:`rl_lr.attach` gives each
network its own copy of a stateful policy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch._utils import _flatten_dense_tensors

from rl_lr.controllers import Controller, ControllerState
from rl_lr.schedules import register
from rl_lr.signals import TrainingSignals

__all__ = ["Hypergradient"]


@dataclass
class HypergradientState(ControllerState):
    cosine: float = 0.0  # last normalised hypergradient g_t . u_{t-1} / (|g_t| |u_{t-1}|)
    steps: int = 0
    previous: Any = None  # previous gradient (SGD-HD), a flat tensor


def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    """One new flat tensor holding all of ``tensors`` (a copy: safe to keep). Torch's C++
    flatten (the one DDP uses): ``torch.cat`` of the reshaped tensors, without one Python
    call per tensor (that loop was a fifth of this controller's cost per optimizer step)."""
    return _flatten_dense_tensors(tensors)


def _adam_direction(optimizer: torch.optim.Optimizer, params: list[Any]) -> torch.Tensor | None:
    """The last Adam step's direction ``m_hat / (sqrt(v_hat) + eps)``, flattened; None before
    the first step or for optimizers without Adam state. Five vector operations on two
    concatenations: per-parameter Python loops would cost more than the optimizer step."""
    states = [optimizer.state.get(p) for p in params]
    if not all(state and "exp_avg" in state for state in states):
        return None
    group = optimizer.param_groups[0]
    beta1, beta2 = group["betas"]
    step = float(states[0]["step"])  # type: ignore[index]
    # In place on the fresh concatenations: the same operations in the same order, no
    # temporaries.
    m_hat = _flat([s["exp_avg"] for s in states]).div_(1.0 - beta1**step)  # type: ignore[index]
    v_hat = _flat([s["exp_avg_sq"] for s in states]).div_(1.0 - beta2**step)  # type: ignore[index]
    return m_hat.div_(v_hat.sqrt_().add_(group["eps"]))


@register("hypergradient")
@dataclass(frozen=True, repr=False)
class Hypergradient(Controller):
    """``hypergradient(base, beta=0.01, variant=auto, rule=multiplicative, max_mult=100)``:
    the LR learned online by hypergradient descent (Baydin et al. 2018).

    ``variant``: ``adam`` (Adam-HD, needs an Adam-family optimizer), ``sgd`` (SGD-HD, any
    optimizer) or ``auto`` (adam when the optimizer keeps Adam state). ``rule``:
    ``additive`` is the paper's ``lr += beta * g_t . u_{t-1}`` (``beta`` in LR units per unit of
    dot product: the paper uses about 1e-6 for SGD and 1e-8 for Adam); ``multiplicative``
    scales the multiplier by ``1 + beta * cos(g_t, u_{t-1})`` (the paper's normalised variant,
    invariant to the loss scale, which changes a lot in RL), bounded in
    ``[1/max_mult, max_mult]``. Cadence: every optimizer step.
    """

    beta: float = 0.01
    variant: Literal["auto", "sgd", "adam"] = "auto"
    rule: Literal["multiplicative", "additive"] = "multiplicative"
    max_mult: float = 100.0

    needs_gradients: ClassVar[bool] = True
    state_class: ClassVar[type[ControllerState]] = HypergradientState

    def validate(self) -> None:
        super().validate()
        if not (math.isfinite(self.beta) and self.beta > 0):
            raise self.fail("beta", "must be a finite number > 0")
        if self.rule == "multiplicative" and self.beta >= 1:
            raise self.fail("beta", "must be < 1 with rule=multiplicative")
        if not (math.isfinite(self.max_mult) and self.max_mult >= 1):
            raise self.fail("max_mult", "must be a finite number >= 1")

    def wants(self, signals: TrainingSignals) -> bool:
        return False  # learns per optimizer step, not per update

    def on_optimizer_step(self, optimizer: torch.optim.Optimizer) -> float | None:
        """Called before each ``optimizer.step()``, gradients in place: adapt the multiplier.
        Returns the gradient norm."""
        super().on_optimizer_step(optimizer)
        s: HypergradientState = self.state
        params = [p for group in optimizer.param_groups for p in group["params"]
                  if p.grad is not None]
        if not params:
            return None
        grads = _flat([p.grad for p in params])
        use_adam = self.variant == "adam" or (
            self.variant == "auto" and all("betas" in g for g in optimizer.param_groups)
        )
        direction = _adam_direction(optimizer, params) if use_adam else s.previous
        if self.variant == "adam" and direction is None and s.steps > 0:
            raise ValueError("hypergradient(variant=adam) needs an Adam-family optimizer")
        s.previous = None if use_adam else grads
        s.steps += 1
        norm_of = torch.linalg.vector_norm  # what Tensor.norm() calls, minus its Python layer
        if direction is None or direction.shape != grads.shape:
            return float(norm_of(grads))
        dot, grad_norm, direction_norm = torch.stack(
            [grads @ direction, norm_of(grads), norm_of(direction)]).tolist()
        norm = grad_norm * direction_norm
        s.cosine = dot / norm if norm > 0 else 0.0
        if self.rule == "multiplicative":
            s.multiplier *= 1.0 + self.beta * s.cosine
        else:
            base = self.base_now()
            if base > 0:
                s.multiplier += self.beta * dot / base
        s.multiplier = min(max(s.multiplier, 1.0 / self.max_mult), self.max_mult)
        self._bound_multiplier()
        return float(grad_norm)

    def log_values(self) -> dict[str, float]:
        s: HypergradientState = self.state
        return {"multiplier": s.multiplier, "cosine": s.cosine, "steps": float(s.steps)}
