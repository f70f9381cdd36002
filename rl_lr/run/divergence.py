"""When a run has diverged: a non-finite loss, KL or parameter at an update boundary
(:func:`find_divergence`), or a non-finite LR (the LR hook raises ``FloatingPointError``).
A divergence ends the run; it is a result (:class:`Diverged`), not a crash.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm

__all__ = ["Diverged", "find_divergence", "raise_if_diverged", "watched_parameters"]

# train/* statistics besides the losses whose non-finite value means divergence (others, such
# as explained_variance, are legitimately NaN at times).
_WATCHED = ("approx_kl", "ent_coef")


class Diverged(Exception):  # noqa: N818  (a result, not an error)
    """Training produced a non-finite loss, parameter or LR at ``step``."""

    def __init__(self, step: int, reason: str) -> None:
        super().__init__(f"diverged at step {step}: {reason}")
        self.step = step
        self.reason = reason


def watched_parameters(model: BaseAlgorithm) -> list[tuple[str, torch.Tensor]]:
    """The policy's parameters the check reads, by name order: all but the target networks'
    (``critic_target``, ``actor_target``, ``q_net_target``: SB3 fills them only by polyak
    averaging or copying the network registered before them, so they are finite whenever that
    one is, and the first non-finite parameter by name order is never theirs).

    >>> from rl_lr.agents import make
    >>> names = [name for name, _ in watched_parameters(make("sac", "Pendulum-v1").model)]
    >>> names[0], any("critic_target" in name for name in names)
    ('actor.latent_pi.0.weight', False)
    """
    return [(name, param) for name, param in model.policy.named_parameters()
            if not name.split(".", 1)[0].endswith("_target")]


def find_divergence(model: BaseAlgorithm,
                    parameters: list[tuple[str, torch.Tensor]] | None = None) -> str | None:
    """Why the model has diverged, or ``None``: a non-finite loss (``train/*loss*``),
    ``train/approx_kl``, ``train/ent_coef`` or parameter.

    ``parameters``: :func:`watched_parameters` of the model, collected once by a caller that
    checks at every rollout (walking the modules costs more than the check itself on SAC).
    """
    logger = model.__dict__.get("_logger")  # absent on a loaded model before learn()
    for key, value in (logger.name_to_value.items() if logger is not None else ()):
        name = key.removeprefix("train/")
        if key.startswith("train/") and ("loss" in name or name in _WATCHED) \
                and isinstance(value, (int, float, np.floating)) \
                and not math.isfinite(float(value)):
            return f"{key} is {float(value)}"
    named = watched_parameters(model) if parameters is None else parameters
    with torch.no_grad():
        # Runs at every rollout start (every env step for SAC): one foreach call first (a finite
        # norm means finite entries; ~0.25 ms vs ~1.6 ms per check on SAC's default networks).
        if not named or bool(torch.isfinite(
                torch.stack(torch._foreach_norm([param for _, param in named]))).all()):
            return None
        for name, param in named:  # which one: the first by name order, as before
            if not bool(torch.isfinite(param).all()):
                return f"parameter {name} is not finite"
    return None


def raise_if_diverged(model: BaseAlgorithm,
                      parameters: list[tuple[str, torch.Tensor]] | None = None) -> None:
    """Raise :class:`Diverged` at the model's step if :func:`find_divergence` finds a reason."""
    reason = find_divergence(model, parameters)
    if reason is not None:
        raise Diverged(int(model.num_timesteps), reason)
