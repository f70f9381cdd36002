"""rl-lr's scalars in TensorBoard, next to SB3's (``rl-lr train --tensorboard``).

SB3 writes its own scalars (``train/*``, ``rollout/*``, ``time/*``) to ``OUT/tb/<ALGO>_1``
when the model has a ``tensorboard_log``. :class:`TensorBoardRows` adds every evaluation row of
``progress.csv`` to the same event file, at the row's ``timesteps``, each column as the tag
``rl_lr/<column>``: the clean evaluation return (``rl_lr/eval_return_mean``,
``rl_lr/eval_return_std``), the observed training return, the applied LR (``rl_lr/lr``, and
``rl_lr/lr/<network>`` per optimizer when there are several), the gradient norms and the
controller state (``rl_lr/controller/<key>``). SB3's ``train/*`` columns are not repeated, and
non-finite values (a controller's ``-inf`` before its first measurement) are left out.

Example (read the scalars back with TensorBoard's ``EventAccumulator``)::

    rl-lr train --env CartPole-v1 --algo ppo --steps 2048 --tensorboard --out runs/tb-demo
    tensorboard --logdir runs/tb-demo/tb
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import TensorBoardOutputFormat

from rl_lr.schema import TIMESTEPS

__all__ = ["TAG_PREFIX", "TensorBoardRows", "write_row"]

#: Every rl-lr scalar's tag starts with this (``rl_lr/eval_return_mean``).
TAG_PREFIX = "rl_lr/"


def _writer(model: BaseAlgorithm) -> Any:
    """The SummaryWriter of the model's SB3 logger (``None`` without TensorBoard output)."""
    logger = getattr(model, "_logger", None)
    for output in getattr(logger, "output_formats", []):
        if isinstance(output, TensorBoardOutputFormat):
            return output.writer
    return None


def write_row(model: BaseAlgorithm, row: Mapping[str, Any]) -> int:
    """Write one progress row's scalars to the model's TensorBoard event file, at the row's
    ``timesteps``; returns the number written (0 when the model logs no TensorBoard)."""
    writer = _writer(model)
    if writer is None:
        return 0
    step = int(row[TIMESTEPS])
    written = 0
    for column, value in row.items():
        if column == TIMESTEPS or column.startswith("train/"):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(value):
            writer.add_scalar(TAG_PREFIX + column, float(value), step)
            written += 1
    writer.flush()
    return written


class TensorBoardRows(BaseCallback):
    """A ``callback_after_row`` of :class:`~rl_lr.run.callbacks.Evaluations`: writes its
    latest row (:func:`write_row`); :meth:`write` writes a row given directly (the run's
    final row, recorded after ``learn()``)."""

    def write(self, row: Mapping[str, Any]) -> None:
        """Write ``row`` now."""
        write_row(self.model, row)

    def _on_step(self) -> bool:
        rows = getattr(self.parent, "rows", None)
        if rows:
            self.write(rows[-1])
        return True
