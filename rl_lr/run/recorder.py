"""What a run records at each evaluation: one ``progress.csv`` row and one ``timing.csv`` row.

Evaluations happen at the first rollout start at or after each multiple of ``eval_every``
(and at step 0; the run adds the final one), i.e. between two updates, where the model is
consistent and a checkpoint can resume exactly (:class:`rl_lr.run.callbacks.Evaluations`).
Each evaluation appends one row (:func:`progress_row`):

- ``timesteps``: env steps so far (all training envs);
- ``eval_return_mean`` / ``eval_return_std``: clean return of the deterministic policy over
  ``n_episodes`` episodes of the separate, unperturbed eval env; evaluation ``k`` seeds it
  with :func:`eval_seed` ``(seed, k)``;
- ``train_return``: mean observed (perturbed, if the env is) return of the Monitor window
  (SB3's last 100 episodes), empty before the first episode ends;
- ``lr``: LR of the first optimizer, read from its ``param_groups``; ``lr/<network>`` for each
  optimizer when there are several;
- ``grad_norm`` (``grad_norm/<network>``): mean global L2 norm of the gradients over the
  optimizer steps since the previous row, as each optimizer step sees them (after SB3's
  gradient clipping; :func:`rl_lr.sb3.gradient_norm`); empty when no step was taken;
- ``controller/<key>`` (``controller/<network>/<key>``): controller state (``log_values()``);
- ``train/<stat>``: SB3's statistics of the latest update (losses, ``approx_kl``,
  ``clip_fraction``, ``ent_coef``, ``n_updates``, ...), as the algorithm reports them.

Wall-clock figures go to a separate row (:func:`timing_row`, ``timing.csv``), so that the
progress rows are a deterministic function of the run's configuration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm

from rl_lr.sb3 import network_optimizers
from rl_lr.schema import (
    EVAL_RETURN_MEAN,
    EVAL_RETURN_STD,
    LR,
    PROGRESS_COLUMNS,
    TIMESTEPS,
    TRAIN_RETURN,
)

__all__ = ["FIXED_COLUMNS", "TIMING_COLUMNS", "columns", "eval_seed", "progress_row",
           "timing_row"]

FIXED_COLUMNS = PROGRESS_COLUMNS  # progress.csv's first columns (rl_lr.schema)
TIMING_COLUMNS = ("timesteps", "wall_time_s", "eval_time_s", "steps_per_second")
_OWN_STATS = ("train/learning_rate", "train/lr/", "train/lr_controller/")


def eval_seed(seed: int, index: int) -> int:
    """Seed of evaluation number ``index`` (0, 1, ...) of a run seeded ``seed``: a pure
    function of both, so evaluations do not depend on what happened before (resume-safe).

    >>> eval_seed(1, 0) == eval_seed(1, 0) != eval_seed(1, 1)
    True
    """
    return int(np.random.SeedSequence([seed, 10_000, index]).generate_state(1)[0])


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """CSV columns for ``rows``: the fixed ones, then ``lr/*``, ``grad_norm*``,
    ``controller/*`` and ``train/*``, each group sorted.

    >>> columns([{"timesteps": 0, "train/loss": 1.0, "grad_norm": None, "lr/actor": 1e-3}])
    ['timesteps', 'eval_return_mean', 'eval_return_std', 'train_return', 'lr', 'lr/actor', \
'grad_norm', 'train/loss']
    """
    keys = {key for row in rows for key in row} - set(FIXED_COLUMNS)
    groups = ("lr/", "grad_norm", "controller/", "train/")
    ordered = list(FIXED_COLUMNS)
    for prefix in groups:
        ordered += sorted(k for k in keys if k.startswith(prefix))
    ordered += sorted(k for k in keys if not k.startswith(groups))
    return ordered


def progress_row(model: BaseAlgorithm, returns: Sequence[float],
                 grad_norms: Mapping[str, float]) -> dict[str, Any]:
    """The ``progress.csv`` row of ``model`` now, given the clean evaluation ``returns`` and
    the mean gradient norm per network since the previous row (networks that took no
    optimizer step are absent)."""
    buffer = list(model.ep_info_buffer or ())
    optimizers = network_optimizers(model)
    row: dict[str, Any] = {
        TIMESTEPS: int(model.num_timesteps),
        EVAL_RETURN_MEAN: float(np.mean(returns)),
        EVAL_RETURN_STD: float(np.std(returns)),
        TRAIN_RETURN: float(np.mean([ep["r"] for ep in buffer])) if buffer else None,
        LR: float(next(iter(optimizers.values())).param_groups[0]["lr"]),
    }
    several = len(optimizers) > 1
    if several:
        row |= {f"lr/{n}": float(o.param_groups[0]["lr"]) for n, o in optimizers.items()}
    for name in optimizers:
        row[f"grad_norm/{name}" if several else "grad_norm"] = grad_norms.get(name)
    hook = model.__dict__.get("_rl_lr_hook")
    if hook is not None:
        policies = hook.attached.policies
        for network, policy in policies.items():
            prefix = "controller/" if len(policies) == 1 else f"controller/{network}/"
            row |= {prefix + k: float(v) for k, v in policy.log_values().items()}
    for key, value in model.logger.name_to_value.items():
        if key.startswith("train/") and not key.startswith(_OWN_STATS) \
                and isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            row[key] = value.item() if isinstance(value, np.number) else value
    return row


def timing_row(previous: Mapping[str, Any] | None, timesteps: int, wall_time: float,
               eval_time: float) -> dict[str, Any]:
    """The ``timing.csv`` row of an evaluation at ``timesteps``, ``wall_time`` seconds into
    the run, which took ``eval_time`` seconds; ``previous`` is the row before (``None``
    for the first): steps per second are over the span since then.

    >>> timing_row({"timesteps": 100, "wall_time_s": 1.0}, 300, 2.0, 0.25)
    {'timesteps': 300, 'wall_time_s': 2.0, 'eval_time_s': 0.25, 'steps_per_second': 200.0}
    """
    previous = previous or {"timesteps": 0, "wall_time_s": 0.0}
    span = wall_time - previous["wall_time_s"]
    return {
        "timesteps": timesteps,
        "wall_time_s": round(wall_time, 3),
        "eval_time_s": round(eval_time, 3),
        "steps_per_second": round((timesteps - previous["timesteps"]) / span, 1)
        if span > 0 else None,
    }
