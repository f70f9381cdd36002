"""Optimizers from the loss-of-plasticity literature, as optimizer specs.

Registered in :data:`rl_lr.optimizers.OPTIMIZERS` next to ``adam``, ``sgd``, ... (importing
this module registers them; :mod:`rl_lr.agents` and ``rl-lr list optimizers`` do)::

    adam_rel()                         # Adam whose timestep restarts at every update
    trac()                             # TRAC around Adam: parameter-free, plasticity-preserving
    adam(betas=[0.99, 0.99])           # Adam with beta1 = beta2 (no new spec needed)

- **Adam-Rel** (Ellis et al., "Adam on Local Time: Addressing Nonstationarity in RL with
  Relative Adam Timesteps", NeurIPS 2024, arXiv 2412.17113): Adam with its timestep ``t``
  reset to 0 at the start of every update (for PPO: every ``train()`` call, i.e. after each
  rollout), the moment estimates kept. Right after a reset the bias corrections divide by
  ``1 - beta^t`` with a small ``t`` again, which bounds the first steps of each update; the
  paper reports it beats Adam for PPO on Atari-57 and Craftax.
- **TRAC** (Muppidi, Zhang & Yang, "Fast TRAC: A Parameter-Free Optimizer for Lifelong
  Reinforcement Learning", NeurIPS 2024, arXiv 2405.16642; PyPI ``trac-optimizer``): a
  parameter-free scaling of a base optimizer's displacement from the initial weights, which
  the paper reports avoids loss of plasticity in lifelong RL. rl-lr builds it with the
  package's ``start_trac`` around ``torch.optim.Adam`` (the package writes one log line per
  step to a file: here ``os.devnull``), and makes its state survive a save and load (the
  package keys its reference weights by parameter object, which ``load_state_dict`` cannot
  map; :class:`ResumableTrac` stores them by index). Works with torch 2.13 (tested).
- **Adam with beta1 = beta2** (Dohare et al., "Loss of plasticity in deep continual
  learning", Nature 632, 2024: PPO with ``beta1 = beta2 = 0.99`` kept learning where
  default Adam collapsed under changing friction): the existing ``adam`` spec with equal
  betas, ``adam(betas=[0.99, 0.99])``.

The optimizer-state reset on a detected change is an LR-policy wrapper, not an optimizer:
``reset_on_change(...)`` in :mod:`rl_lr.resets`.

Example:
    >>> from rl_lr.optimizers import OPTIMIZERS
    >>> OPTIMIZERS.parse("adam_rel(eps=1e-5)")
    adam_rel(eps=1e-05)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from trac_optimizer import start_trac

from rl_lr.optimizers import OPTIMIZERS, Adam, OptimizerSpec, register
from rl_lr.resets import reset_timesteps

__all__ = ["OPTIMIZERS", "OPTIMIZER_ARMS", "AdamRel", "AdamRelSpec", "ResumableTrac", "Trac"]

_TRAC_KEY = "_trac"  # where trac-optimizer keeps its state in ``optimizer.state``


class AdamRel(torch.optim.Adam):
    """``torch.optim.Adam`` whose timestep restarts at the start of every update (Adam-Rel).

    How it learns where an update starts: it has the ``train()`` / ``eval()`` modes that
    rl-lr's SB3 hook switches around every ``train()`` call of the algorithm (the mechanism
    schedule-free optimizers use, :func:`rl_lr.sb3.is_schedule_free`); ``train()`` resets the
    step counters (:func:`rl_lr.resets.reset_timesteps`). So it needs the hooked model that
    :func:`rl_lr.optimizers.set_optimizers` makes (any ``optimizer: adam_rel()`` run is one).

    Example:
        >>> net = torch.nn.Linear(2, 1)
        >>> opt = AdamRel(net.parameters(), lr=1e-3)
        >>> for _ in range(3):
        ...     net(torch.ones(1, 2)).sum().backward(); opt.step()
        >>> [float(s["step"]) for s in opt.state.values()]
        [3.0, 3.0]
        >>> opt.train(); [float(s["step"]) for s in opt.state.values()]
        [0.0, 0.0]
    """

    def __init__(self, params: Any, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        for group in self.param_groups:
            group["train_mode"] = False

    def train(self) -> None:
        """An update starts: restart the timestep (the moments stay)."""
        reset_timesteps(self)
        for group in self.param_groups:
            group["train_mode"] = True

    def eval(self) -> None:
        """The update is over (nothing to do but record the mode)."""
        for group in self.param_groups:
            group["train_mode"] = False


@register("adam_rel")
@dataclass(frozen=True, repr=False)
class AdamRelSpec(Adam):
    """``adam_rel(betas=[0.9, 0.999], eps=1e-8, weight_decay=0)``: Adam with its timestep
    reset at every update, moments kept (Adam-Rel, arXiv 2412.17113, Ellis et al 2024)."""

    def build(self, params: Any, lr: float) -> torch.optim.Optimizer:
        return AdamRel(params, lr=lr, betas=(self.betas[0], self.betas[1]), eps=self.eps,
                       weight_decay=self.weight_decay)


_TracAdam: Any = start_trac(os.devnull, torch.optim.Adam)


class ResumableTrac(_TracAdam):  # a base class made by start_trac
    """trac-optimizer's TRAC around Adam, with a state dict that loads into a new optimizer.

    The package keeps ``optimizer.state["_trac"]`` with the reference weights keyed by the
    parameter tensors themselves; :meth:`state_dict` stores them by parameter index instead
    and :meth:`load_state_dict` maps them back (as torch does for its own per-parameter
    state), so SB3's save/load and rl-lr's checkpoints resume TRAC runs.

    Example:
        >>> net = torch.nn.Linear(2, 1)
        >>> opt = ResumableTrac(net.parameters(), lr=1e-2)
        >>> net(torch.ones(1, 2)).sum().backward(); opt.step()
        >>> twin = torch.nn.Linear(2, 1)
        >>> copy = ResumableTrac(twin.parameters(), lr=1e-2)
        >>> copy.load_state_dict(opt.state_dict())
        >>> twin(torch.ones(1, 2)).sum().backward(); copy.step()
        >>> copy.state["_trac"]["iter_count"]
        2
    """

    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict[str, Any]:
        packed: dict[str, Any] = super().state_dict()
        trac = packed["state"].get(_TRAC_KEY)
        if trac is not None:
            index = {id(p): i for i, p in enumerate(self._params())}
            by_index = {k: v for k, v in trac.items() if not isinstance(k, torch.Tensor)}
            by_index["refs"] = {index[id(k)]: v["ref"] for k, v in trac.items()
                                if isinstance(k, torch.Tensor)}
            packed["state"] = {**packed["state"], _TRAC_KEY: by_index}
        return packed

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict["state"])
        trac = state.pop(_TRAC_KEY, None)
        super().load_state_dict({**state_dict, "state": state})
        if trac is not None:
            params = self._params()
            restored = {k: v for k, v in trac.items() if k != "refs"}
            for i, ref in trac["refs"].items():
                restored[params[int(i)]] = {"ref": ref.to(params[int(i)].device).clone()}
            self.state[_TRAC_KEY] = restored  # a string key, as trac-optimizer does


@register("trac")
@dataclass(frozen=True, repr=False)
class Trac(Adam):
    """``trac(betas=[0.9, 0.999], eps=1e-8, weight_decay=0)``: TRAC around Adam, a
    parameter-free optimizer against loss of plasticity (arXiv 2405.16642, package
    trac-optimizer; Muppidi, Zhang & Yang 2024); ``betas``, ``eps`` are the base Adam's."""

    def build(self, params: Any, lr: float) -> torch.optim.Optimizer:
        optimizer: torch.optim.Optimizer = ResumableTrac(
            params, lr=lr, betas=(self.betas[0], self.betas[1]), eps=self.eps,
            weight_decay=self.weight_decay)
        return optimizer


#: The optimizer specs this module registers, by name (importing it is what registers them).
OPTIMIZER_ARMS: dict[str, type[OptimizerSpec]] = {"adam_rel": AdamRelSpec, "trac": Trac}
