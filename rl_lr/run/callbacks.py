"""The callbacks of a run, in SB3's style: each :class:`~stable_baselines3.common.callbacks.
BaseCallback` does one job, and :func:`rl_lr.run.train` composes them with SB3's
``CallbackList``. Everything happens at update boundaries (rollout starts), where the model is
consistent and a checkpoint resumes exactly.

- :class:`RestoreCheckpointState`: a resumed run's RNG states and exploration noise, put back
  at its first rollout start;
- :class:`DivergenceCheck`: ends the run with :class:`~rl_lr.run.divergence.Diverged`;
- :class:`Evaluations`: the progress and timing rows at the evaluation points
  (:mod:`rl_lr.run.recorder`) and the LR of every update (:mod:`rl_lr.run.lr_trace`), then
  its ``callback_after_row`` -- like SB3's ``EvalCallback`` and its ``callback_after_eval``:

  - :class:`RunFiles`: ``progress.csv``, ``timing.csv``, ``lr_trace.csv`` and the
    checkpoint;
  - :class:`StopAfter`: stops the run (:class:`StopRun`) once a row reaches a step;
- :class:`ConsoleProgress`: the progress bar (:mod:`rl_lr.run.console`).

Example:
    >>> from stable_baselines3.common.callbacks import CallbackList
    >>> from rl_lr.agents import make, make_eval_env
    >>> agent = make("ppo", "CartPole-v1", seed=1, preset="sb3", n_envs=1, n_steps=64,
    ...              batch_size=64, total_timesteps=128)
    >>> evaluations = Evaluations(make_eval_env(agent.spec), seed=1, every=64, n_episodes=2)
    >>> _ = agent.model.learn(128, callback=CallbackList([DivergenceCheck(), evaluations]))
    >>> [row["timesteps"] for row in evaluations.rows]  # the final row is the caller's
    [0, 64]
    >>> evaluations.close()
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback, EventCallback
from stable_baselines3.common.vec_env import VecEnv

from rl_lr.agents import evaluate
from rl_lr.files import write_csv
from rl_lr.run import checkpoint
from rl_lr.run.console import ProgressBar
from rl_lr.run.divergence import raise_if_diverged, watched_parameters
from rl_lr.run.lr_trace import LRTrace
from rl_lr.run.recorder import TIMING_COLUMNS, columns, eval_seed, progress_row, timing_row
from rl_lr.sb3 import GradientNorms, LRHook, network_optimizers
from rl_lr.schema import EVAL_RETURN_MEAN, LR_TRACE_COLUMNS, LR_TRACE_CSV, PROGRESS_CSV

__all__ = ["ConsoleProgress", "DivergenceCheck", "Evaluations", "RestoreCheckpointState",
           "RunFiles", "StopAfter", "StopRun"]


class StopRun(Exception):  # noqa: N818  (a request, not an error)
    """Raised after the checkpoint at ``step`` when the caller asked to stop there."""

    def __init__(self, step: int) -> None:
        super().__init__(f"stopped at step {step}")
        self.step = step


class RestoreCheckpointState(BaseCallback):
    """At the first rollout start of a resumed run: put back the RNG states, gSDE noise and
    action noise of the checkpoint (``pending`` of :func:`rl_lr.run.checkpoint.load`; SB3
    draws noise between ``learn()`` and that point)."""

    def __init__(self, pending: dict[str, Any]) -> None:
        super().__init__()
        self.pending: dict[str, Any] | None = pending

    def _on_rollout_start(self) -> None:
        if self.pending is not None:
            checkpoint.restore_pending(self.model, self.pending)
            self.pending = None

    def _on_step(self) -> bool:
        return True


class DivergenceCheck(BaseCallback):
    """At every rollout start: raise :class:`~rl_lr.run.divergence.Diverged` if a loss, the KL
    or a parameter is not finite (the parameters collected once, at the start of learn())."""

    def _init_callback(self) -> None:
        self.parameters = watched_parameters(self.model)

    def _on_rollout_start(self) -> None:
        raise_if_diverged(self.model, self.parameters)

    def _on_step(self) -> bool:
        return True


class Evaluations(EventCallback):
    """Evaluate at the first rollout start at or after each multiple of ``every`` (step 0
    included), append the progress and timing rows, then call ``callback_after_row``.

    The model needs its LR policy attached (:func:`rl_lr.attach`): the gradient norms come
    from its hook (:meth:`rl_lr.sb3.LRHook.watch_gradient_norms`) and the LR of every update
    goes to :attr:`lr_trace` (:class:`~rl_lr.run.lr_trace.LRTrace`), until :meth:`close`.

    Args:
        eval_env: the clean evaluation env.
        seed: the run seed (evaluation seeds derive from it: :func:`eval_seed`).
        every: steps between evaluations.
        n_episodes: episodes per evaluation.
        callback_after_row: called (its ``on_step``) after each row; its ``parent`` is this
            callback.
    """

    def __init__(self, eval_env: VecEnv, seed: int, every: int, n_episodes: int,
                 callback_after_row: BaseCallback | None = None) -> None:
        super().__init__(callback_after_row)
        self.eval_env = eval_env
        self.seed = seed
        self.every = every
        self.n_episodes = n_episodes
        self.rows: list[dict[str, Any]] = []
        self.timing: list[dict[str, Any]] = []
        self.wall_time = 0.0  # seconds of earlier sessions (resume)
        self._session_start = time.monotonic()
        self._hook: LRHook | None = None
        self._grad_norms: GradientNorms | None = None
        self.lr_trace = LRTrace()

    def _init_callback(self) -> None:
        super()._init_callback()
        hook = self.model.__dict__.get("_rl_lr_hook")
        if hook is None:
            raise ValueError("Evaluations needs a model with its LR policy attached "
                             "(rl_lr.attach(model, ...))")
        if hook is not self._hook:  # SB3 initialises callbacks again at each learn()
            self.close()
            self._hook, self._grad_norms = hook, hook.watch_gradient_norms()
            # after the hook's own step pre-hooks: the trace reads the LR each step uses
            self.lr_trace.watch(network_optimizers(self.model))

    # -- state carried by checkpoints -------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The rows and the wall time so far, for a checkpoint."""
        return {"rows": self.rows, "timing": self.timing, "wall_time": self.elapsed(),
                "lr_trace": self.lr_trace.rows}

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from a checkpoint's :meth:`state`."""
        self.rows = list(state["rows"])
        self.timing = list(state["timing"])
        self.wall_time = float(state["wall_time"])
        self.lr_trace.unwatch()
        self.lr_trace = LRTrace(state.get("lr_trace"))  # none in older checkpoints
        if self._hook is not None:
            self.lr_trace.watch(network_optimizers(self.model))
        self._session_start = time.monotonic()

    def elapsed(self) -> float:
        """Wall-clock seconds of the run so far, earlier sessions included."""
        return self.wall_time + time.monotonic() - self._session_start

    @property
    def next_eval(self) -> int:
        """The step of the next evaluation."""
        if not self.rows:
            return 0
        return (self.rows[-1]["timesteps"] // self.every + 1) * self.every

    # -- the rows ----------------------------------------------------------------------------
    def record(self) -> dict[str, Any]:
        """Evaluate now and append the rows (also used by the run for its final row)."""
        self.end_update()
        started = time.monotonic()
        returns = evaluate(self.model, self.eval_env, self.n_episodes,
                           eval_seed(self.seed, len(self.rows)))
        grad_norms = self._grad_norms.take() if self._grad_norms is not None else {}
        row = progress_row(self.model, returns, grad_norms)
        self.rows.append(row)
        self.timing.append(timing_row(self.timing[-1] if self.timing else None,
                                      row["timesteps"], self.elapsed(),
                                      time.monotonic() - started))
        return row

    def end_update(self) -> None:
        """The update before this point is over: its LRs to :attr:`lr_trace`."""
        held = {name: float(optimizer.param_groups[0]["lr"])
                for name, optimizer in network_optimizers(self.model).items()}
        self.lr_trace.end_update(int(self.model.num_timesteps), held)

    def _on_rollout_start(self) -> None:
        self.end_update()
        if self.model.num_timesteps >= self.next_eval:
            self.record()
            self._on_event()

    def close(self) -> None:
        """Stop watching the gradient norms and the LR."""
        self.lr_trace.unwatch()
        if self._hook is not None and self._grad_norms is not None:
            self._hook.unwatch_gradient_norms(self._grad_norms)
        self._hook = self._grad_norms = None


class _AfterRow(BaseCallback):
    """A ``callback_after_row`` of :class:`Evaluations` (its ``parent``)."""

    @property
    def evaluations(self) -> Evaluations:
        if not isinstance(self.parent, Evaluations):
            raise RuntimeError(f"{type(self).__name__} runs as a callback_after_row of "
                               "Evaluations")
        return self.parent


class RunFiles(_AfterRow):
    """After each row: ``progress.csv`` and ``timing.csv`` (atomically), then, with
    ``save_model``, the checkpoint (:func:`rl_lr.run.checkpoint.save`) -- in that order, so a
    checkpoint never holds rows the files lack."""

    def __init__(self, out: Path, save_model: bool) -> None:
        super().__init__()
        self.out = out
        self.save_model = save_model

    def write_rows(self) -> None:
        """``progress.csv``, ``timing.csv`` and ``lr_trace.csv`` from the rows so far."""
        rows = self.evaluations.rows
        write_csv(self.out / PROGRESS_CSV, rows, columns(rows))
        write_csv(self.out / "timing.csv", self.evaluations.timing, list(TIMING_COLUMNS))
        write_csv(self.out / LR_TRACE_CSV, self.evaluations.lr_trace.rows,
                  list(LR_TRACE_COLUMNS))

    def save(self) -> None:
        """The files, then the checkpoint."""
        self.write_rows()
        if self.save_model:
            checkpoint.save(self.out, self.model, self.evaluations.state())

    def _on_step(self) -> bool:
        self.save()
        return True


class StopAfter(_AfterRow):
    """After the first row at or past ``step``: raise :class:`StopRun` (place it after
    :class:`RunFiles`, so that the run stops with its checkpoint)."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.step = step

    def _on_step(self) -> bool:
        if self.model.num_timesteps >= self.step:
            raise StopRun(int(self.model.num_timesteps))
        return True


class ConsoleProgress(BaseCallback):
    """The progress bar of a run: steps, observed return, the latest evaluation's return and
    the LR, redrawn at most every ``interval`` seconds; silent when disabled or not on a
    terminal (:class:`~rl_lr.run.console.ProgressBar`)."""

    def __init__(self, total: int, evaluations: Evaluations, enabled: bool = True) -> None:
        super().__init__()
        self.bar = ProgressBar(total, enabled=enabled)
        self.evaluations = evaluations

    def _refresh(self) -> None:
        buffer = self.model.ep_info_buffer
        if buffer:
            self.bar.train_return = float(np.mean([ep["r"] for ep in buffer]))
        optimizer = next(iter(network_optimizers(self.model).values()))
        self.bar.lr = float(optimizer.param_groups[0]["lr"])
        rows = self.evaluations.rows
        self.bar.eval_return = rows[-1][EVAL_RETURN_MEAN] if rows else None

    def _on_step(self) -> bool:
        if self.bar.due():
            self._refresh()
            self.bar.update(int(self.model.num_timesteps))
        return True

    def close(self) -> None:
        """Draw the final state and end the bar's line."""
        if self.bar.enabled:
            self._refresh()
            self.bar.update(int(self.model.num_timesteps), force=True)
        self.bar.close()
