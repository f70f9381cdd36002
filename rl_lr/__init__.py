"""rl-lr: learning-rate policies for reinforcement learning with Stable-Baselines3.

    >>> import rl_lr
    >>> rl_lr.parse("cosine(3e-4, warmup=0.05)")
    cosine(0.0003, warmup=0.05)

Pass a policy as ``learning_rate=`` to any SB3 algorithm, or attach it with
:func:`rl_lr.attach` for per-network LRs, controllers and a budget-based clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rl_lr.bandit import Bandit
from rl_lr.controllers import Controller, KLAdaptive, Plateau, Trend, Volatility
from rl_lr.errors import SpecError
from rl_lr.hypergradient import Hypergradient
from rl_lr.oracles import Oracle
from rl_lr.resets import ResetEvery, ResetOnChange
from rl_lr.schedules import (
    POLICIES,
    Constant,
    Cosine,
    CosineRestarts,
    Cyclic,
    Exponential,
    Linear,
    LRPolicy,
    MultiStep,
    OneCycle,
    Polynomial,
    Step,
    register,
    sequence,
)
from rl_lr.signals import TrainingSignals

__version__ = "0.1.0"

# Lower-case names are the grammar's names: ``rl_lr.cosine(3e-4)`` reads like the spec.
constant = Constant
linear = Linear
step = Step
multistep = MultiStep
exponential = Exponential
polynomial = Polynomial
cosine = Cosine
cosine_restarts = CosineRestarts
cyclic = Cyclic
onecycle = OneCycle
plateau = Plateau
kl_adaptive = KLAdaptive
volatility = Volatility
trend = Trend
hypergradient = Hypergradient
bandit = Bandit
oracle = Oracle
reset_on_change = ResetOnChange
reset_every = ResetEvery


def parse(spec: str | Mapping[str, Any] | LRPolicy | float) -> LRPolicy:
    """Build an LR policy from a spec string, a YAML-style mapping, a number (constant) or a
    policy (returned as is). Raises :class:`SpecError` with a one-line message otherwise.

    >>> parse({"name": "cosine", "lr": 3e-4, "end": 1e-5}) == parse("cosine(3e-4, end=1e-5)")
    True
    """
    policy: LRPolicy = POLICIES.parse(spec)
    return policy


def attach(*args: Any, **kwargs: Any) -> Any:
    """See :func:`rl_lr.sb3.attach` (imported lazily so that ``import rl_lr`` stays light)."""
    from rl_lr.sb3 import attach as _attach  # SB3 and gymnasium: `import rl_lr` stays light

    return _attach(*args, **kwargs)


__all__ = [
    "POLICIES",
    "Controller",
    "LRPolicy",
    "SpecError",
    "TrainingSignals",
    "attach",
    "bandit",
    "constant",
    "cosine",
    "cosine_restarts",
    "cyclic",
    "exponential",
    "hypergradient",
    "kl_adaptive",
    "linear",
    "multistep",
    "onecycle",
    "oracle",
    "parse",
    "plateau",
    "polynomial",
    "register",
    "reset_every",
    "reset_on_change",
    "sequence",
    "step",
    "trend",
    "volatility",
]
