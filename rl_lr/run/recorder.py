"""The run recorder: a callback that evaluates, records, watches for divergence and
checkpoints, always at update boundaries.

Evaluations happen at the first rollout start at or after each multiple of ``eval_every``
(and at step 0; the engine adds the final one), i.e. between two updates, where the model is
consistent and a checkpoint can resume exactly. Each evaluation appends one row:

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
  gradient clipping); empty when no step was taken;
- ``controller/<key>`` (``controller/<network>/<key>``): controller state (``log_values()``);
- ``train/<stat>``: SB3's statistics of the latest update (losses, ``approx_kl``,
  ``clip_fraction``, ``ent_coef``, ``n_updates``, ...), as the algorithm reports them.

Wall-clock figures go to a separate list (``timing.csv``), so that the rows are a
deterministic function of the run's configuration.

Divergence: a non-finite loss, KL or parameter at an update boundary, or a
non-finite LR (the hook raises ``FloatingPointError``), ends the run; see :class:`Diverged`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from rl_lr.run.console import ProgressBar
from rl_lr.sb3 import network_optimizers

__all__ = ["FIXED_COLUMNS", "Diverged", "RunRecorder", "StopRun", "columns", "eval_seed",
           "find_divergence"]

FIXED_COLUMNS = ("timesteps", "eval_return_mean", "eval_return_std", "train_return", "lr")
_OWN_STATS = ("train/learning_rate", "train/lr/", "train/lr_controller/")
# train/* statistics besides the losses whose non-finite value means divergence (others, such
# as explained_variance, are legitimately NaN at times).
_WATCHED = ("approx_kl", "ent_coef")


class Diverged(Exception):  # noqa: N818  (a result, not an error)
    """Training produced a non-finite loss, parameter or LR at ``step``."""

    def __init__(self, step: int, reason: str) -> None:
        super().__init__(f"diverged at step {step}: {reason}")
        self.step = step
        self.reason = reason


class StopRun(Exception):  # noqa: N818  (a request, not an error)
    """Raised after the checkpoint at ``step`` when the caller asked to stop there."""

    def __init__(self, step: int) -> None:
        super().__init__(f"stopped at step {step}")
        self.step = step


def eval_seed(seed: int, index: int) -> int:
    """Seed of evaluation number ``index`` (0, 1, ...) of a run seeded ``seed``: a pure
    function of both, so evaluations do not depend on what happened before (resume-safe).

    >>> eval_seed(1, 0) == eval_seed(1, 0) != eval_seed(1, 1)
    True
    """
    return int(np.random.SeedSequence([seed, 10_000, index]).generate_state(1)[0])


def columns(rows: list[dict[str, Any]]) -> list[str]:
    """CSV columns for ``rows``: the fixed ones, then ``lr/*``, ``grad_norm*``,
    ``controller/*`` and ``train/*``, each group sorted."""
    keys = {key for row in rows for key in row} - set(FIXED_COLUMNS)
    groups = ("lr/", "grad_norm", "controller/", "train/")
    ordered = list(FIXED_COLUMNS)
    for prefix in groups:
        ordered += sorted(k for k in keys if k.startswith(prefix))
    ordered += sorted(k for k in keys if not k.startswith(groups))
    return ordered


def find_divergence(model: BaseAlgorithm) -> str | None:
    """Why the model has diverged, or ``None``: a non-finite loss (``train/*loss*``),
    ``train/approx_kl``, ``train/ent_coef`` or parameter."""
    logger = model.__dict__.get("_logger")  # absent on a loaded model before learn()
    for key, value in (logger.name_to_value.items() if logger is not None else ()):
        name = key.removeprefix("train/")
        if key.startswith("train/") and ("loss" in name or name in _WATCHED) \
                and isinstance(value, (int, float, np.floating)) \
                and not math.isfinite(float(value)):
            return f"{key} is {float(value)}"
    with torch.no_grad():
        for name, param in model.policy.named_parameters():
            if not bool(torch.isfinite(param).all()):
                return f"parameter {name} is not finite"
    return None


class RunRecorder(BaseCallback):
    """Evaluate, record, check for divergence and checkpoint at update boundaries.

    Args:
        eval_env: the clean evaluation env.
        evaluate: ``evaluate(model, eval_env, n_episodes, seed) -> returns``.
        seed: the run seed (evaluation seeds derive from it).
        eval_every: steps between evaluations.
        n_episodes: episodes per evaluation.
        on_row: called after each new row (writes the files, checkpoints).
        bar: the progress bar.
        stop_after: raise :class:`StopRun` after the first evaluation at or past this step.
        pending: state to restore at the first rollout start of a resumed run.
    """

    def __init__(
        self,
        eval_env: VecEnv,
        evaluate: Callable[[BaseAlgorithm, VecEnv, int, int], list[float]],
        seed: int,
        eval_every: int,
        n_episodes: int,
        on_row: Callable[[], None],
        bar: ProgressBar,
        stop_after: int | None = None,
        pending: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.eval_env = eval_env
        self.evaluate = evaluate
        self.seed = seed
        self.eval_every = eval_every
        self.n_episodes = n_episodes
        self.on_row = on_row
        self.bar = bar
        self.stop_after = stop_after
        self.pending = pending
        self.rows: list[dict[str, Any]] = []
        self.timing: list[dict[str, Any]] = []
        self.wall_time = 0.0  # seconds of earlier sessions (resume)
        self._session_start = time.monotonic()
        self._grad_sums: dict[str, float] = {}
        self._grad_counts: dict[str, int] = {}
        self._handles: list[Any] = []

    # -- state carried by checkpoints -----------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"rows": self.rows, "timing": self.timing, "wall_time": self.elapsed()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.rows = list(state["rows"])
        self.timing = list(state["timing"])
        self.wall_time = float(state["wall_time"])
        self._session_start = time.monotonic()

    def elapsed(self) -> float:
        """Wall-clock seconds of the run so far, earlier sessions included."""
        return self.wall_time + time.monotonic() - self._session_start

    @property
    def next_eval(self) -> int:
        if not self.rows:
            return 0
        return (self.rows[-1]["timesteps"] // self.eval_every + 1) * self.eval_every

    # -- gradient norms --------------------------------------------------------------------
    def watch_gradients(self) -> None:
        """Record gradient norms through torch optimizer step pre-hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles = [
            optimizer.register_step_pre_hook(self._grad_hook(name))
            for name, optimizer in network_optimizers(self.model).items()
        ]

    def _grad_hook(self, name: str) -> Callable[..., None]:
        def hook(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            norms = [torch.linalg.vector_norm(p.grad) for group in optimizer.param_groups
                     for p in group["params"] if p.grad is not None]
            if norms:
                total = float(torch.linalg.vector_norm(torch.stack(norms)))
                self._grad_sums[name] = self._grad_sums.get(name, 0.0) + total
                self._grad_counts[name] = self._grad_counts.get(name, 0) + 1

        return hook

    # -- the row ---------------------------------------------------------------------------
    def record(self) -> dict[str, Any]:
        """Evaluate now and append the row (also used by the engine for the final row)."""
        model = self.model
        started = time.monotonic()
        returns = self.evaluate(model, self.eval_env, self.n_episodes,
                                eval_seed(self.seed, len(self.rows)))
        buffer = list(model.ep_info_buffer or ())
        optimizers = network_optimizers(model)
        row: dict[str, Any] = {
            "timesteps": int(model.num_timesteps),
            "eval_return_mean": float(np.mean(returns)),
            "eval_return_std": float(np.std(returns)),
            "train_return": float(np.mean([ep["r"] for ep in buffer])) if buffer else None,
            "lr": float(next(iter(optimizers.values())).param_groups[0]["lr"]),
        }
        if len(optimizers) > 1:
            row |= {f"lr/{n}": float(o.param_groups[0]["lr"]) for n, o in optimizers.items()}
        several = len(optimizers) > 1
        for name in optimizers:
            key = f"grad_norm/{name}" if several else "grad_norm"
            count = self._grad_counts.get(name, 0)
            row[key] = self._grad_sums[name] / count if count else None
        self._grad_sums.clear()
        self._grad_counts.clear()
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
        self.rows.append(row)
        now = self.elapsed()
        previous = self.timing[-1] if self.timing else {"timesteps": 0, "wall_time_s": 0.0}
        span = now - previous["wall_time_s"]
        self.timing.append({
            "timesteps": row["timesteps"],
            "wall_time_s": round(now, 3),
            "eval_time_s": round(time.monotonic() - started, 3),
            "steps_per_second": round((row["timesteps"] - previous["timesteps"]) / span, 1)
            if span > 0 else None,
        })
        self.bar.eval_return = row["eval_return_mean"]
        self.bar.lr = row["lr"]
        return row

    # -- SB3 callback ----------------------------------------------------------------------
    def _on_rollout_start(self) -> None:
        if self.pending is not None:
            from rl_lr.run.checkpoint import restore_pending

            restore_pending(self.model, self.pending)
            self.pending = None
        reason = find_divergence(self.model)
        if reason is not None:
            raise Diverged(int(self.model.num_timesteps), reason)
        if self.model.num_timesteps >= self.next_eval:
            self.record()
            self.on_row()
            if self.stop_after is not None and self.model.num_timesteps >= self.stop_after:
                raise StopRun(int(self.model.num_timesteps))

    def _on_step(self) -> bool:
        if self.bar.due():
            buffer = self.model.ep_info_buffer
            if buffer:
                self.bar.train_return = float(np.mean([ep["r"] for ep in buffer]))
            optimizer = next(iter(network_optimizers(self.model).values()))
            self.bar.lr = float(optimizer.param_groups[0]["lr"])
            self.bar.update(int(self.model.num_timesteps))
        return True

    def close(self) -> None:
        """Remove the gradient hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
