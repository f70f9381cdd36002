"""The LR of every update of a run, stored compactly: ``lr_trace.csv``.

``progress.csv`` reads the LR at evaluation points only; between two of them a controller may
have cut, raised or oscillated its LR many times. :class:`LRTrace` watches every optimizer
step (a torch step pre-hook, registered after the LR hook's own, so it reads the LR the step
actually uses) and sums each **update** (the optimizer steps between two rollouts) per
network as

- ``lr``: the LR the optimizer holds at the end of the update (what ``progress.csv`` reads
  at an evaluation there, so the trace and the evaluation rows agree);
- ``lr_min`` / ``lr_max``: the lowest and highest LR of the update, over the LRs its
  optimizer steps used and ``lr`` (per-minibatch controllers, ``kl_adaptive`` per minibatch
  and ``hypergradient``, move the LR within an update).

**Run-length encoded with a relative tolerance** (:data:`REL_TOL`, 1 %): an update gets a row
only when one of its three values is more than 1 % away from the ``lr`` of the network's last
row; otherwise the last row stands for it. A constant LR costs one row per network, a
schedule a row each time it has moved by 1 % (a cosine over a run: a few hundred rows), a
controller a row per change. A row holds from its ``timesteps`` (the env steps when the update
ran) until the next row of the same network: a step function.

Example:
    >>> trace = LRTrace()
    >>> for t, lr in [(64, 1e-3), (128, 1e-3), (192, 1.004e-3), (256, 5e-4)]:
    ...     trace.add_step("policy", lr)
    ...     trace.end_update(t, {"policy": lr})
    >>> [(r["timesteps"], r["lr"]) for r in trace.rows]  # 1.004e-3 is within 1 % of 1e-3
    [(64, 0.001), (256, 0.0005)]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from rl_lr.schema import LR, LR_MAX, LR_MIN, NETWORK, TIMESTEPS

__all__ = ["REL_TOL", "LRTrace"]

REL_TOL = 0.01  # a new row when the LR moved by more than 1 % since the network's last row


class _RecordLR:
    """A torch step pre-hook: counts the LR the step uses (a class, so a model pickles)."""

    def __init__(self, trace: LRTrace, network: str) -> None:
        self.trace, self.network = trace, network

    def __call__(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self.trace.add_step(self.network, float(optimizer.param_groups[0]["lr"]))


class LRTrace:
    """The rows of ``lr_trace.csv`` (:data:`rl_lr.schema.LR_TRACE_COLUMNS`); see the module
    docstring. :meth:`watch` the optimizers, call :meth:`end_update` between updates."""

    def __init__(self, rows: list[dict[str, Any]] | None = None) -> None:
        self.rows: list[dict[str, Any]] = list(rows or [])
        self._last = {row[NETWORK]: float(row[LR]) for row in self.rows}
        self._low: dict[str, float] = {}
        self._high: dict[str, float] = {}
        self._handles: list[Any] = []

    def watch(self, optimizers: Mapping[str, torch.optim.Optimizer]) -> None:
        """Count every step of these optimizers (by network name) until :meth:`unwatch`."""
        self.unwatch()
        self._handles = [optimizer.register_step_pre_hook(_RecordLR(self, name))
                         for name, optimizer in optimizers.items()]

    def unwatch(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def add_step(self, network: str, lr: float) -> None:
        """One optimizer step of ``network`` used ``lr``."""
        self._low[network] = min(lr, self._low.get(network, lr))
        self._high[network] = max(lr, self._high.get(network, lr))

    def end_update(self, timesteps: int, held: Mapping[str, float]) -> None:
        """The update at ``timesteps`` is over; ``held``: each network's LR now. A network
        that took no step since the last call adds nothing."""
        for network in list(self._low):
            low, high = self._low.pop(network), self._high.pop(network)
            lr = float(held.get(network, high))
            last = self._last.get(network)
            if last is not None and all(abs(v - last) <= REL_TOL * abs(last)
                                        for v in (lr, low, high)):
                continue
            self.rows.append({TIMESTEPS: int(timesteps), NETWORK: network, LR: lr,
                              LR_MIN: min(low, lr), LR_MAX: max(high, lr)})
            self._last[network] = lr
