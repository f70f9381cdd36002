"""One trustworthy training run: ``rl-lr train`` and :func:`train` / :func:`resume`.

A run builds its agent with :func:`rl_lr.agents.make` (preset + overrides, perturbed training
envs, LR policy attached), trains it with one ``learn()`` call and its callbacks
(:mod:`rl_lr.run.callbacks`) and writes into ``out``:

- ``config.yaml``: the fully resolved run (every hyper-parameter actually used, the specs,
  the seed), versions of Python, torch, SB3, sb3-contrib, Gymnasium, MuJoCo, NumPy, rl-lr and
  the git commit of rl-lr's source when it is a checkout;
- ``progress.csv``: one row per evaluation (columns: :mod:`rl_lr.run.recorder`), deterministic:
  the same command twice gives the same bytes;
- ``lr_trace.csv``: the LR of every update, one row per change (:mod:`rl_lr.run.lr_trace`);
- ``timing.csv``: the wall-clock figures of each row (``wall_time_s``, ``eval_time_s``,
  ``steps_per_second``), kept apart so that ``progress.csv`` stays deterministic;
- ``summary.json``: final and best eval return, area under the eval curve, steps to the
  env's reward threshold, wall time, steps per second, divergence (written when the run ends);
- with ``save_model``: ``model.zip`` (SB3 zip, LR policy state included) and ``checkpoint/``
  (refreshed at every evaluation), which :func:`resume` continues to the same bytes as a run
  that never stopped; with ``tensorboard``: ``tb/`` (SB3's scalars and rl-lr's evaluation
  rows, :mod:`rl_lr.run.tensorboard`).

Divergence (a non-finite loss, parameter or LR) ends the run cleanly: ``summary.json`` says
``diverged`` and the step; it is a result, not a crash.

Example:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> config = TrainConfig(env="CartPole-v1", algo="ppo", lr="cosine(1e-3)", steps=512,
    ...                      seed=1, eval_every=256, eval_episodes=2,
    ...                      overrides={"n_steps": 64, "batch_size": 64})
    >>> result = train(config, out)
    >>> result.status, sorted(p.name for p in out.iterdir())
    ('complete', ['config.yaml', 'lr_trace.csv', 'progress.csv', 'summary.json', 'timing.csv'])
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from rl_lr.agents import AgentSpec, build, make_eval_env, resolve_algo
from rl_lr.errors import SpecError
from rl_lr.files import git_commit, read_yaml, versions, write_json, write_yaml
from rl_lr.run import checkpoint
from rl_lr.run.callbacks import (
    ConsoleProgress,
    DivergenceCheck,
    Evaluations,
    RestoreCheckpointState,
    RunFiles,
    StopAfter,
    StopRun,
)
from rl_lr.run.config import TrainConfig, resolve_agent
from rl_lr.run.divergence import Diverged, find_divergence, raise_if_diverged
from rl_lr.run.summary import summarize
from rl_lr.run.tensorboard import TensorBoardRows
from rl_lr.sb3 import silence_logger
from rl_lr.schema import SUMMARY_JSON

__all__ = ["RunResult", "resume", "train"]

CONFIG_HEADER = (
    "rl-lr train: the fully resolved run. `run` is what was asked for (rl-lr train --resume\n"
    "reads it back), `agent` every value actually used, `options` what does not change results."
)


@dataclass
class RunResult:
    """How a run ended: ``status`` is ``complete``, ``diverged`` or ``stopped`` (a checkpoint
    to resume from); ``summary`` is ``summary.json``'s content (``None`` when stopped);
    ``already_done``: :func:`resume` found the run finished and did nothing."""

    status: str
    out: Path
    summary: dict[str, Any] | None = None
    already_done: bool = False


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------


def _document(config: TrainConfig, spec: AgentSpec, options: dict[str, Any]) -> dict[str, Any]:
    return {"run": config.to_dict(), "agent": spec.to_dict(), "options": options,
            "versions": versions(), "git_commit": git_commit()}


def _same_run(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Keys of ``run`` / ``agent`` that differ between two config documents."""
    differ: list[str] = []
    for section in ("run", "agent"):
        left, right = a.get(section) or {}, b.get(section) or {}
        differ += [k for k in sorted(set(left) | set(right))
                   if left.get(k) != right.get(k) and k not in differ]
    return differ


def _check_out(out: Path, document: dict[str, Any]) -> None:
    if out.exists() and not out.is_dir():
        raise SpecError(f"--out {out} is a file, not a directory")
    if not out.exists() or not any(out.iterdir()):
        return
    config_file = out / "config.yaml"
    if not config_file.exists():
        raise SpecError(f"{out} is not empty and holds no rl-lr run; choose another --out")
    differ = _same_run(read_yaml(config_file) or {}, document)
    if differ:
        raise SpecError(f"{out} holds a different run (differs in {', '.join(differ)}); "
                        "choose another --out")
    raise SpecError(f"{out} already holds this run; continue it with "
                    f"`rl-lr train --resume {out}` or choose another --out")


@contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class _Session:
    """One ``learn()`` call of a run, fresh or ``resumed`` from a checkpoint: the callbacks
    (:mod:`rl_lr.run.callbacks`), the final row and ``summary.json``."""

    def __init__(self, out: Path, config: TrainConfig, spec: AgentSpec, options: dict[str, Any],
                 model: Any, quiet: bool, stop_after: int | None,
                 resumed: checkpoint.RunState | None = None) -> None:
        self.out, self.spec, self.model, self.budget = out, spec, model, config.steps
        self.save_model = bool(options["save_model"])
        self.files = RunFiles(out, self.save_model)
        after_row: list[BaseCallback] = [self.files]
        self.tensorboard = TensorBoardRows() if options.get("tensorboard") else None
        if self.tensorboard is not None:
            after_row.append(self.tensorboard)
        if stop_after is not None:
            after_row.append(StopAfter(stop_after))
        assert config.eval_every is not None
        self.evaluations = Evaluations(
            make_eval_env(spec, n_envs=config.eval_episodes), config.seed,
            config.eval_every, config.eval_episodes, callback_after_row=CallbackList(after_row))
        self.progress = ConsoleProgress(config.steps, self.evaluations, enabled=not quiet)
        first = [] if resumed is None else [RestoreCheckpointState(resumed.pending)]
        self.callbacks = CallbackList(
            [*first, DivergenceCheck(), self.evaluations, self.progress])
        self.callbacks.init_callback(model)
        if resumed is not None:
            self.evaluations.load_state(resumed.extra)
            self.files.write_rows()  # progress.csv back to the checkpoint's rows

    def _train(self) -> tuple[int, str] | None:
        """Train to the budget and record the final row; the step and reason of a
        divergence, if the run diverged. :class:`StopRun` passes through."""
        model = self.model
        try:
            if model.num_timesteps < self.budget:
                silence_logger(model)
                model.learn(self.budget - model.num_timesteps, callback=self.callbacks,
                            reset_num_timesteps=model.num_timesteps == 0)
            raise_if_diverged(model)
            rows = self.evaluations.rows
            if not rows or rows[-1]["timesteps"] != model.num_timesteps:
                row = self.evaluations.record()
                self.files.save()
                if self.tensorboard is not None:
                    self.tensorboard.write(row)
        except Diverged as err:
            return err.step, err.reason
        except FloatingPointError as err:
            return int(model.num_timesteps), f"LR: {err}"
        except (ValueError, RuntimeError) as err:  # NaN reaching torch.distributions, ...
            reason = find_divergence(model)
            if reason is None:
                raise
            return int(model.num_timesteps), f"{reason} ({type(err).__name__})"
        return None

    def run(self) -> RunResult:
        """Train, then write ``model.zip`` (with ``save_model``) and ``summary.json``."""
        try:
            diverged = self._train()
        except StopRun:
            return RunResult("stopped", self.out)
        finally:
            self.progress.close()
            self.evaluations.close()
        if self.save_model and diverged is None:
            self.model.save(self.out / ".model.zip.tmp")
            os.replace(self.out / ".model.zip.tmp", self.out / "model.zip")
        summary = summarize(self.evaluations.rows, self.spec.reward_threshold,
                            self.evaluations.elapsed(), self.budget, diverged)
        write_json(self.out / SUMMARY_JSON, summary)
        return RunResult("diverged" if diverged else "complete", self.out, summary)


def _check_tensorboard(enabled: bool) -> None:
    if enabled and importlib.util.find_spec("tensorboard") is None:
        raise SpecError("--tensorboard needs the tensorboard package (pip install tensorboard)")


def train(config: TrainConfig, out: Path, *, threads: int = 1, save_model: bool = False,
          tensorboard: bool = False, quiet: bool = True,
          stop_after: int | None = None) -> RunResult:
    """Run ``config`` into ``out`` (see the module docstring for the files).

    Everything is validated -- specs, hyper-parameters, compatibility, the output
    directory -- before anything is written.

    Args:
        config: the run.
        out: output directory: new or empty (a directory holding a run is refused).
        threads: torch threads for this run.
        save_model: write ``model.zip`` and resumable checkpoints.
        tensorboard: also log to ``out/tb``.
        quiet: no progress bar (it is also silent when stderr is not a terminal).
        stop_after: stop cleanly after the first evaluation at or past this step, leaving a
            checkpoint (needs ``save_model``) for :func:`resume`.

    Raises:
        SpecError: bad input (one line); nothing written.
    """
    if stop_after is not None and not save_model:
        raise SpecError("stop_after needs save_model=True (a stopped run resumes from its "
                        "checkpoint)")
    _check_tensorboard(tensorboard)
    spec = resolve_agent(config)
    options = {"threads": threads, "save_model": save_model, "tensorboard": tensorboard}
    document = _document(config, spec, options)
    _check_out(out, document)
    with _torch_threads(threads):
        agent = build(spec)
        if tensorboard:
            agent.model.tensorboard_log = str(out / "tb")
        out.mkdir(parents=True, exist_ok=True)
        write_yaml(out / "config.yaml", document, CONFIG_HEADER)
        return _Session(out, config, spec, options, agent.model, quiet, stop_after).run()


def resume(out: Path, *, quiet: bool = True, threads: int | None = None,
           stop_after: int | None = None) -> RunResult:
    """Continue the run saved in ``out`` (started with ``save_model``) from its last
    checkpoint to its budget, with its LR policy state: the files end up as those of a run
    that never stopped (``progress.csv`` byte for byte).

    Raises:
        SpecError: ``out`` holds no resumable run, or the presets / rl-lr changed since.
    """
    config_file = out / "config.yaml"
    if not config_file.exists():
        raise SpecError(f"--resume {out}: no config.yaml, not an rl-lr run directory")
    document = read_yaml(config_file) or {}
    if (out / SUMMARY_JSON).exists():
        summary = json.loads((out / SUMMARY_JSON).read_text())
        return RunResult("diverged" if summary.get("diverged") else "complete", out, summary,
                         already_done=True)
    options = dict(document.get("options") or {})
    directory = checkpoint.checkpoint_dir(out)
    if directory is None or not options.get("save_model"):
        raise SpecError(f"--resume {out}: no checkpoint to continue from (the run needs "
                        "--save-model and at least one evaluation)")
    try:
        config = TrainConfig(**document["run"])
    except (TypeError, KeyError) as err:
        raise SpecError(f"--resume {out}: config.yaml is not a run description ({err})") from None
    spec = resolve_agent(config)
    differ = [k for k, v in spec.to_dict().items() if (document.get("agent") or {}).get(k) != v]
    if differ:
        raise SpecError(f"--resume {out}: the run resolves differently now (presets or rl-lr "
                        f"changed: {', '.join(differ)}); start a new run instead")
    with _torch_threads(threads or int(options.get("threads", 1))):
        state = checkpoint.load(directory, resolve_algo(spec.algo).cls, spec.device)
        if options.get("tensorboard"):
            state.model.tensorboard_log = str(out / "tb")
        return _Session(out, config, spec, options, state.model, quiet, stop_after,
                        resumed=state).run()
