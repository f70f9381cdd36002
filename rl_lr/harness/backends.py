"""Where the runs of an experiment execute: a local process pool, this process (one run after
the other) or a Ray cluster.

Every backend runs :func:`execute_run` once per run with one torch thread, each run into its
own atomic run directory, so a run's files do not depend on which worker ran it, in which
order, or on which backend: the local pool, this process and Ray give byte-identical results.

A backend is an iterator factory: ``backend.map(payloads)`` yields results as runs finish;
:func:`make_backend` builds one by name (:data:`BACKENDS`).

On a Ray cluster the driver owns the results: a task on a node that does not share the
driver's filesystem trains in a scratch directory there and ships the run's files back, and
the driver writes them atomically (:mod:`rl_lr.harness.shipping`); a task lost with its node
is retried on another (:data:`RAY_RETRIES`).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Protocol

import torch

from rl_lr.errors import SpecError
from rl_lr.harness.shipping import (
    PARTIAL,
    make_probe,
    pack_run,
    remove_partials,
    sees_probe,
    write_run,
)
from rl_lr.plugins import import_plugin
from rl_lr.run import TrainConfig, train
from rl_lr.schema import SUMMARY_JSON

__all__ = [
    "BACKENDS",
    "PARTIAL",
    "RAY_RETRIES",
    "Backend",
    "LocalBackend",
    "RayBackend",
    "SerialBackend",
    "check_ray_address",
    "execute_anywhere",
    "execute_run",
    "make_backend",
]

BACKENDS = ("local", "serial", "ray")
RAY_RETRIES = 3  # times Ray reruns a task whose worker process or node died


def execute_run(payload: dict[str, Any]) -> dict[str, Any]:
    """Train one run into ``payload["out"]`` and return ``{run_id, status, summary|error}``.

    The run is written into a private ``<run_id>.partial-<pid>`` directory and renamed to
    ``<run_id>`` only when complete, so a run directory exists if and only if the run
    finished, whatever crashed or was killed meanwhile. A run already complete is not redone.
    """
    torch.set_num_threads(1)

    for target in payload.get("imports", ()):
        import_plugin(target)  # the experiment's own policies, registered in this process too
    run_id = payload["run_id"]
    final = Path(payload["out"])
    if (final / SUMMARY_JSON).exists():
        return {"run_id": run_id, "status": "complete",
                "summary": json.loads((final / SUMMARY_JSON).read_text())}
    partial = final.with_name(f"{final.name}{PARTIAL}{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        result = train(TrainConfig(**payload["config"]), partial, threads=1)
        try:
            os.rename(partial, final)  # atomic
        except OSError:
            if not (final / SUMMARY_JSON).exists():
                raise
            shutil.rmtree(partial, ignore_errors=True)  # another attempt finished it first
    except (SpecError, OSError, ValueError, RuntimeError, FloatingPointError) as err:
        shutil.rmtree(partial, ignore_errors=True)
        return {"run_id": run_id, "status": "failed", "error": f"{type(err).__name__}: {err}"}
    except Exception as err:  # a bug: keep the experiment going, report it with its traceback
        shutil.rmtree(partial, ignore_errors=True)
        last = traceback.format_exc().strip().splitlines()[-3:]
        return {"run_id": run_id, "status": "failed",
                "error": f"{type(err).__name__}: {err} ({' | '.join(last)})"}
    return {"run_id": run_id, "status": result.status, "summary": result.summary}


def execute_anywhere(payload: dict[str, Any]) -> dict[str, Any]:
    """:func:`execute_run` on any machine of a cluster. Where the driver's probe directory
    (``payload["probe"]``) is visible, the filesystem is shared: the run is written in place.
    Elsewhere it trains in a scratch directory of this machine, and the result carries its
    files (``"files"``: relative path -> bytes; ``model.zip`` only with ``payload["model"]``)
    for the driver to write (:func:`rl_lr.harness.shipping.write_run`)."""
    if sees_probe(payload.get("probe")):
        return execute_run(payload)
    with tempfile.TemporaryDirectory(prefix="rl-lr-run-") as scratch:
        here = Path(scratch) / payload["run_id"]
        result = execute_run({**payload, "out": str(here)})
        if result["status"] != "failed":
            result["files"] = pack_run(here, model=bool(payload.get("model")))
    return result


def clean_partial(runs_dir: Path) -> list[Path]:
    """Remove what interrupted attempts left behind; return the removed paths."""
    removed = []
    for path in runs_dir.glob(f"*{PARTIAL}*"):
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


class Backend(Protocol):
    name: str
    workers: int

    def map(self, payloads: list[dict[str, Any]]) -> Iterator[dict[str, Any]]: ...

    def active(self) -> list[str]: ...

    def close(self) -> None: ...


def _child(payload: dict[str, Any], conn: Connection) -> None:
    """A worker process: run one payload, send the result back, exit. Ctrl-C reaches the
    whole process group; the driver alone answers it (it stops the workers and prints one
    line), so a worker ignores SIGINT instead of printing a KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        conn.send(execute_run(payload))
    finally:
        conn.close()


class SerialBackend:
    """This process, one run after the other: no worker processes, no start-up cost per run
    (``rl-lr find-lr --workers 1``; debugging a run with breakpoints). Each run still goes
    through :func:`execute_run` into its atomic run directory, so its files are those the
    process pool writes; the caller's torch thread count is restored after each run.

    The experiment's ``imports`` are not imported again: planning its runs
    (:func:`rl_lr.experiment.plan_runs`) imported them in this process, and importing a
    ``.py`` plugin again would execute it again."""

    name = "serial"
    workers = 1

    def __init__(self) -> None:
        self._running: str | None = None

    def map(self, payloads: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for payload in payloads:
            threads = torch.get_num_threads()
            self._running = payload["run_id"]
            try:
                result = execute_run({**payload, "imports": []})
            finally:
                self._running = None
                torch.set_num_threads(threads)
            yield result

    def active(self) -> list[str]:
        """The run executing now (none while the caller handles a result)."""
        return [self._running] if self._running is not None else []

    def close(self) -> None:
        """Nothing to stop: a run interrupted here leaves only its partial directory."""


class LocalBackend:
    """A process pool on this machine: up to ``workers`` runs at a time (default: the cores),
    each in a fresh process forked from a server that has the libraries imported already.

    One ``Process`` per run rather than ``ProcessPoolExecutor(max_tasks_per_child=1)``, which
    can deadlock on Python 3.11 (CPython gh-115634)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._context = multiprocessing.get_context("forkserver")
        # module names the fork server imports once, so that every run's process starts warm
        self._context.set_forkserver_preload(["rl_lr.run", "rl_lr.harness.backends"])
        self._running: dict[Any, tuple[str, Any, Connection]] = {}

    def map(self, payloads: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        queue = list(payloads)
        while queue or self._running:
            while queue and len(self._running) < self.workers:
                payload = queue.pop(0)
                receive, send = self._context.Pipe(duplex=False)
                process = self._context.Process(target=_child, args=(payload, send),
                                                daemon=True)
                process.start()
                send.close()
                self._running[receive] = (payload["run_id"], process, receive)
            for ready in wait(list(self._running)):
                run_id, process, receive = self._running.pop(ready)
                try:
                    result: dict[str, Any] = receive.recv()
                except EOFError:  # the process died without a word
                    process.join()
                    result = {"run_id": run_id, "status": "failed",
                              "error": f"worker process died (exit code {process.exitcode})"}
                receive.close()
                process.join()
                yield result

    def active(self) -> list[str]:
        """Run ids executing now."""
        return [run_id for run_id, _, _ in self._running.values()]

    def close(self) -> None:
        for _, process, receive in self._running.values():
            process.terminate()
            process.join(timeout=10)
            receive.close()
        self._running.clear()


class RayBackend:
    """Ray tasks on a local cluster started here (``address=None``, ``workers`` CPUs) or on an
    existing cluster (``address``); one task per run, one CPU each. Ray reuses its worker
    processes (their imports are paid once); a run depends only on its seeds, not on what ran
    before in the process (the byte-identity test against the local backend checks it).

    The driver owns the results (:func:`execute_anywhere`): a run's directory appears on the
    driver once, when its task's result arrives, whether the task's node shares the driver's
    filesystem or not; ``model=True`` ships ``model.zip`` too. A task whose worker or node dies
    is rerun elsewhere, up to :data:`RAY_RETRIES` times, then reported as a failed run."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None,
                 model: bool = False) -> None:
        try:
            import ray  # optional dependency: rl-lr[ray]
        except ImportError:
            raise SpecError("--backend ray needs Ray: pip install 'rl-lr[ray]'") from None
        self._ray = ray
        self._started = not ray.is_initialized()  # close() leaves a caller's own ray.init alone
        if self._started:
            if address:
                ray.init(address=address, log_to_driver=False, include_dashboard=False)
            else:
                ray.init(num_cpus=workers or os.cpu_count(), log_to_driver=False,
                         include_dashboard=False)
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        self.model = model
        self._task = ray.remote(num_cpus=1, max_retries=RAY_RETRIES)(execute_anywhere)
        self._ids: dict[Any, str] = {}  # the unfinished tasks' run ids, oldest first
        self._probes: list[Path] = []

    def map(self, payloads: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        ray = self._ray
        finals = {p["run_id"]: Path(p["out"]) for p in payloads}
        probes = {parent: make_probe(parent) for parent in {f.parent for f in finals.values()}}
        self._probes += probes.values()
        try:
            self._ids = {self._task.remote({**p, "model": self.model,
                                            "probe": str(probes[finals[p["run_id"]].parent])}):
                         p["run_id"] for p in payloads}
            pending = list(self._ids)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    run_id = self._ids.pop(ref)
                    yield self._receive(ref, run_id, finals[run_id])
        finally:
            self._remove_probes()

    def _receive(self, ref: Any, run_id: str, final: Path) -> dict[str, Any]:
        """A task's result, its shipped files written on the driver."""
        try:
            result: dict[str, Any] = self._ray.get(ref)
        except self._ray.exceptions.RayError as err:  # retries exhausted: a failed run
            reason = " ".join(str(err).split())[:300]
            return {"run_id": run_id, "status": "failed",
                    "error": f"Ray task lost ({type(err).__name__}): {reason}"}
        files = result.pop("files", None)
        if files is not None:
            write_run(final, files)
        remove_partials(final)  # attempts of this run on a node that died (shared filesystem)
        return result

    def _remove_probes(self) -> None:
        for probe in self._probes:
            shutil.rmtree(probe, ignore_errors=True)
        self._probes.clear()

    def active(self) -> list[str]:
        """The runs Ray is most likely executing: the oldest unfinished ones, one per CPU."""
        return list(self._ids.values())[: self.workers]

    def close(self) -> None:
        # Only unfinished tasks: cancelling a finished one races with its completion inside
        # Ray 2.60's core worker ("Tried to complete task that was not pending") and aborts
        # the driver.
        for ref in self._ids:
            self._ray.cancel(ref, force=True)
        self._remove_probes()
        if self._started:
            self._ray.shutdown()


def check_ray_address(address: str | None, timeout: float = 5.0) -> None:
    """Refuse a ``HOST:PORT`` Ray address nothing answers at, before anything is written
    (``ray.init`` would retry for minutes); ``auto``, ``ray://`` client addresses and None pass.

    >>> check_ray_address("auto"), check_ray_address(None)
    (None, None)

    Raises:
        SpecError: a malformed address, or no server at it.
    """
    if not address or address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise SpecError(f"--ray-address {address!r}: give HOST:PORT of a Ray head (e.g. "
                        "10.0.0.1:6379), or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise SpecError(f"--ray-address {address}: no Ray head answers there ({reason}); start "
                        "one with `ray start --head`, or drop --ray-address") from None


def make_backend(name: str, workers: int | None = None, address: str | None = None) -> Backend:
    """The backend called ``name`` (:data:`BACKENDS`): ``local`` (the default of
    :func:`rl_lr.harness.run_experiment`), ``serial`` (``workers`` must be 1 or ``None``) or
    ``ray`` (``address``: an existing cluster).

    Raises:
        SpecError: an unknown name, or ``serial`` with several workers.
    """
    if name == "local":
        return LocalBackend(workers)
    if name == "serial":
        if workers not in (None, 1):
            raise SpecError(f"--backend serial runs one run at a time, got --workers {workers}")
        return SerialBackend()
    if name == "ray":
        return RayBackend(workers, address)
    raise SpecError(f"unknown backend {name!r} (allowed: {', '.join(BACKENDS)})")
