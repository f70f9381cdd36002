"""The levers of ``bench_sac.py``: ways to make SB3's SAC cheaper without leaving SB3. A lever
is hyper-parameter overrides for ``rl_lr.agents.make`` / ``TrainConfig`` plus a patch active
only inside ``with lever.active():`` (monkeypatches are undone on exit)::

    lever = LEVERS["frozen critic in actor loss"]
    with lever.active():
        model = make("sac", "Pendulum-v1", **lever.overrides).model
        model.learn(1000)
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from stable_baselines3 import SAC
from stable_baselines3.sac import sac as sac_module

__all__ = ["LEVERS", "QUICK_LEVERS", "TWO_PROCESSES", "Lever", "compile_networks",
           "foreach_polyak_update", "freeze_critic_in_actor_loss"]


def foreach_polyak_update(params: Any, target_params: Any, tau: float) -> None:
    """SB3's ``polyak_update`` (``target * (1 - tau)``, then ``+ tau * param``, in place) with
    one foreach call per operation instead of two kernel calls per parameter."""
    with torch.no_grad():
        sources, targets = list(params), list(target_params)
        if targets:
            torch._foreach_mul_(targets, 1.0 - tau)
            torch._foreach_add_(targets, sources, alpha=tau)


def freeze_critic_in_actor_loss(model: Any) -> None:
    """The actor loss backpropagates through the critic only for d Q / d action: switch the
    critic's weights off autograd between the critic's and the actor's optimizer steps (SB3
    computes their gradients there and discards them at the next ``zero_grad``)."""
    weights = list(model.critic.parameters())

    def switch(on: bool) -> Callable[..., None]:
        def hook(*_: Any) -> None:
            for weight in weights:
                weight.requires_grad_(on)
        return hook

    model.critic.optimizer.register_step_post_hook(switch(False))
    model.actor.optimizer.register_step_post_hook(switch(True))


def compile_networks(model: Any, mode: str | None) -> None:
    """``torch.compile`` the actor (its call and ``action_log_prob``), critic and target."""
    policy = model.policy
    for module in (policy.actor, policy.critic, policy.critic_target):
        module.compile(mode=mode)
    policy.actor.action_log_prob = torch.compile(policy.actor.action_log_prob, mode=mode)


@contextlib.contextmanager
def replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    """``owner.name = value`` for the duration of the block."""
    original = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, original)


def after_setup(*actions: Callable[[Any], None]) -> Callable[[], Any]:
    """A patch running ``actions`` on every SAC model right after SB3 builds its networks."""
    original = SAC._setup_model

    def setup(self: Any) -> None:
        original(self)
        for action in actions:
            action(self)

    return functools.partial(replaced, SAC, "_setup_model", setup)


@dataclass(frozen=True)
class Lever:
    """One way to make SAC cheaper: hyper-parameter overrides, a patch (a context manager
    factory active while the model is built and trained), torch threads; ``identical``: the
    math is unchanged, so the run should be bit-identical to the baseline."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)
    patch: Callable[[], Any] = contextlib.nullcontext
    threads: int = 1
    identical: bool = True

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with self.patch():
                yield
        finally:
            torch.set_num_threads(previous)


POLYAK = functools.partial(replaced, sac_module, "polyak_update", foreach_polyak_update)
FREEZE = after_setup(freeze_critic_in_actor_loss)


@contextlib.contextmanager
def both(*patches: Callable[[], Any]) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch())
        yield


def _adam(**kwargs: Any) -> dict[str, Any]:
    return {"policy_kwargs.optimizer_kwargs": kwargs}


TWO_PROCESSES = "2 runs x 1 thread"
LEVERS = {lever.name: lever for lever in [
    Lever("baseline"),
    Lever("2 threads", threads=2),
    Lever("adam foreach", _adam(foreach=True)),
    Lever("adam fused", _adam(fused=True), identical=False),
    Lever("foreach polyak", patch=POLYAK),
    Lever("frozen critic in actor loss", patch=FREEZE),
    Lever("compile default", patch=after_setup(functools.partial(compile_networks, mode=None)),
          identical=False),
    Lever("compile reduce-overhead", identical=False, patch=after_setup(
        functools.partial(compile_networks, mode="reduce-overhead"))),
    Lever("compile max-autotune-no-cudagraphs", identical=False, patch=after_setup(
        functools.partial(compile_networks, mode="max-autotune-no-cudagraphs"))),
    Lever("foreach adam + polyak + frozen critic", _adam(foreach=True),
          patch=functools.partial(both, POLYAK, FREEZE)),
    Lever("fused adam + polyak + frozen critic", _adam(fused=True),
          patch=functools.partial(both, POLYAK, FREEZE), identical=False),
]}
QUICK_LEVERS = ["adam foreach", "adam fused", "foreach polyak",
                "frozen critic in actor loss", "compile default",
                "fused adam + polyak + frozen critic"]
