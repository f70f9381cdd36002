"""A Ray cluster of several nodes on this machine, with no shared filesystem: the head node
(no CPUs: it runs no task) and two worker nodes, each a separate `ray start` process in a mount
namespace of its own with a private tmpfs over the test's output directory, so a worker node
cannot see (or write) where the driver's results live. `rl-lr bench --ray-address` must give
the local backend's bytes, also when a worker node is killed mid-sweep.

Those tests are marked ``cluster``: excluded from ``make test``, run by ``make test-cluster``
(``.ci/run``); they need root (``unshare -m``, ``mount``), as on CI. The first test, in
``make test``, checks the shipping itself in this process: a run trained where the driver's
directory is not visible comes back as the files a run written in place has.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rl_lr.harness import run_experiment
from rl_lr.harness.backends import execute_anywhere
from rl_lr.harness.shipping import make_probe, write_run
from rl_lr.run import TrainConfig

NEEDS_ROOT = pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0
                                or shutil.which("unshare") is None
                                or shutil.which("nsenter") is None,
                                reason="a private mount namespace per node needs root, "
                                       "unshare and nsenter")

RAY = Path(sys.executable).with_name("ray")
EXPERIMENT = """\
name: cluster
description: PPO on CartPole-v1, two LR policies, 3 seeds, tiny budget (the cluster tests).
budget: {steps: 512, eval_every: 128, eval_episodes: 2}
grid:
  env: [CartPole-v1]
  algo: [ppo]
  lr:
    cosine: cosine(1e-3)
    plateau: plateau(1e-3, patience=1, window=5)
  seed: [0, 1, 2]
  set: {n_steps: [64], batch_size: [64], n_epochs: [2], policy_kwargs: [{net_arch: [16]}]}
"""
RUNS = 6
COMPARED = ("summary.csv", "curves.csv", "metrics.csv")


def test_a_run_shipped_back_is_the_run_written_in_place(tmp_path: Path) -> None:
    config = TrainConfig(env="CartPole-v1", algo="ppo", lr="cosine(1e-3)", steps=256, seed=0,
                         eval_every=128, eval_episodes=2, n_envs=1,
                         overrides={"n_steps": 64, "batch_size": 64, "n_epochs": 2,
                                    "policy_kwargs": {"net_arch": [16]}}).to_dict()
    shared = tmp_path / "shared" / "runs"
    probe = make_probe(shared)  # the driver's probe, visible here: a shared filesystem
    in_place = execute_anywhere({"run_id": "r", "config": config, "out": str(shared / "r"),
                                 "probe": str(probe)})
    assert in_place["status"] == "complete" and "files" not in in_place

    driver = tmp_path / "driver" / "runs"  # a probe this "node" cannot see
    shipped = execute_anywhere({"run_id": "r", "config": config, "out": str(driver / "r"),
                                "probe": str(driver / probe.name)})
    assert not driver.exists()  # nothing written where the driver's files would be
    files = shipped.pop("files")
    assert sorted(files) == ["config.yaml", "lr_trace.csv", "progress.csv", "summary.json",
                             "timing.csv"]
    assert shipped == in_place | {"summary": shipped["summary"]}
    assert write_run(driver / "r", files)
    assert not write_run(driver / "r", {"summary.json": b"{}"})  # once: the first copy stays
    assert sorted(p.name for p in driver.iterdir()) == ["r"]
    for name in ("config.yaml", "progress.csv", "lr_trace.csv"):
        assert (driver / "r" / name).read_bytes() == (shared / "r" / name).read_bytes(), name
    assert (driver / "r" / "summary.json").read_bytes() == files["summary.json"]


NODE_PORT_FLAGS = ("--node-manager-port", "--object-manager-port", "--runtime-env-agent-port",
                   "--metrics-export-port", "--dashboard-agent-listen-port",
                   "--dashboard-agent-grpc-port")


@dataclass
class Cluster:
    """Ray processes of this test module only: each node a process group of its own."""

    base: Path  # the driver's output directory; each worker node has its own empty tmpfs here
    temp: Path  # Ray's session files (sockets, logs) of every node
    env: dict[str, str]
    address: str = ""
    nodes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: set[int] = field(default_factory=set)  # every port handed to a node so far

    def free_ports(self, count: int) -> list[int]:
        """``count`` ports free now, distinct from each other and from every port handed out
        before. The probing sockets stay open until all are drawn: a port closed and drawn
        again can come back twice (CI saw Ray refuse a node given one port for two agents)."""
        drawn: list[int] = []
        with contextlib.ExitStack() as probes:
            while len(drawn) < count:
                probe = probes.enter_context(socket.socket())
                probe.bind(("127.0.0.1", 0))
                port = int(probe.getsockname()[1])
                if port not in self.ports:
                    self.ports.add(port)
                    drawn.append(port)
        return drawn

    def node_ports(self, *flags: str) -> list[str]:
        """Every port a node would otherwise take at a fixed default (and ``flags``): ours."""
        chosen = (*flags, *NODE_PORT_FLAGS)
        return [part for flag, port in zip(chosen, self.free_ports(len(chosen)), strict=True)
                for part in (flag, str(port))]

    def start_head(self) -> None:
        def command() -> list[str]:
            ports = self.node_ports("--port", "--dashboard-port", "--ray-client-server-port")
            self.address = f"127.0.0.1:{ports[1]}"
            return [str(RAY), "start", "--head", "--block", "--num-cpus", "0",
                    "--temp-dir", str(self.temp), "--include-dashboard", "false",
                    "--disable-usage-stats", *ports]
        self._start("head", command)

    def start_worker(self, name: str) -> None:
        """A worker node with one CPU whose view of ``base`` is a private, empty tmpfs (its
        scratch directory, ``TMPDIR``, lives there too)."""
        scratch = self.base / "scratch"
        mount = 'mount -t tmpfs rl-lr-private "$0" && mkdir "$1" && export TMPDIR="$1" && ' \
                'shift && exec "$@"'
        self._start(name, lambda: [
            "unshare", "--mount", "--propagation", "private", "--",
            "sh", "-c", mount, str(self.base), str(scratch),
            str(RAY), "start", "--address", self.address, "--block",
            "--num-cpus", "1", "--disable-usage-stats", *self.node_ports()])

    def _start(self, name: str, command: Callable[[], list[str]], attempts: int = 3) -> None:
        """Start a node and wait until it is up; each attempt with fresh ports. Ray gives a node
        30 s to register with the head, which a machine busy with other work can exceed: such
        a node is started again."""
        for attempt in range(attempts):
            log = self.temp / f"{name}-{attempt}.log"
            with log.open("wb") as handle:
                process = subprocess.Popen(command(), env=self.env, stdout=handle,
                                           stderr=subprocess.STDOUT, start_new_session=True)
            self.nodes[name] = process
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and process.poll() is None:
                if "Ray runtime started" in log.read_text(errors="replace"):
                    return
                time.sleep(0.5)
            self.kill(name)
        raise AssertionError(f"Ray node {name} did not start:\n{self.logs()}")

    def wait_for_cpus(self, cpus: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = subprocess.run([str(RAY), "status", "--address", self.address], env=self.env,
                                    capture_output=True, text=True)
            if f"/{cpus}.0 CPU" in status.stdout:
                return
            time.sleep(2)
        raise AssertionError(f"the cluster never reached {cpus} CPUs:\n{status.stdout}"
                             f"{status.stderr}\n{self.logs()}")

    def sees(self, name: str, path: Path) -> list[str]:
        """What the node ``name`` sees at ``path`` (inside its mount namespace)."""
        listing = subprocess.run(["nsenter", "-t", str(self.nodes[name].pid), "-m", "ls", "-A",
                                  str(path)], capture_output=True, text=True)
        return listing.stdout.split()

    def kill(self, name: str) -> None:
        """SIGKILL the node's whole process group: raylet, its agents and task workers."""
        process = self.nodes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                         for p in sorted(self.temp.glob("*.log")))

    def stop(self) -> None:
        for name in list(self.nodes):
            self.kill(name)


def test_the_ports_handed_to_nodes_never_repeat(tmp_path: Path) -> None:
    """Two of a node's agents once got one port (drawn twice after its probe closed) and Ray
    refused the node: every port the cluster hands out is distinct."""
    nodes = Cluster(tmp_path, tmp_path, {})
    first = nodes.free_ports(40)
    second = nodes.node_ports("--port")
    assert len(set(first)) == 40
    assert second[0::2] == ["--port", *NODE_PORT_FLAGS]
    assert not set(first) & {int(port) for port in second[1::2]}
    assert len(nodes.ports) == 40 + len(NODE_PORT_FLAGS) + 1


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("driver")
    temp = Path(tempfile.mkdtemp(prefix="rlr-ray-", dir="/tmp"))  # short: Unix socket paths
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": os.urandom(16).hex()}
    env.pop("RAY_ADDRESS", None)
    nodes = Cluster(base, temp, env)
    try:
        nodes.start_head()
        nodes.start_worker("worker-a")
        nodes.start_worker("worker-b")
        nodes.wait_for_cpus(2)
        yield nodes
    finally:
        nodes.stop()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("experiment") / "cluster.yaml"
    path.write_text(EXPERIMENT)
    return path


@pytest.fixture(scope="module")
def local(experiment: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "local"
    result = run_experiment(experiment, out, workers=2, quiet=True, report=False)
    assert result.finished == RUNS and not result.failed
    return out


def _bench(experiment: Path, out: Path, cluster: Cluster) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "rl_lr.cli", "bench", str(experiment), "--out", str(out),
               "--backend", "ray", "--ray-address", cluster.address, "--quiet"]
    return subprocess.Popen(command, env=cluster.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _assert_same_results(out: Path, local: Path) -> None:
    for name in COMPARED:
        assert (out / name).read_bytes() == (local / name).read_bytes(), name
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == sorted(p.name for p in (local / "runs").iterdir())  # no partial, no probe
    assert len(runs) == RUNS
    for run_id in runs:
        for name in ("progress.csv", "config.yaml"):  # summary.json: also wall-clock time
            assert (out / "runs" / run_id / name).read_bytes() == \
                (local / "runs" / run_id / name).read_bytes(), (run_id, name)


def _landed(out: Path) -> dict[str, int]:
    """The run directories on the driver: run id -> mtime of its summary.json."""
    runs = out / "runs"
    return {p.name: (p / "summary.json").stat().st_mtime_ns
            for p in (runs.iterdir() if runs.exists() else []) if (p / "summary.json").exists()}


@pytest.mark.cluster
@NEEDS_ROOT
def test_a_sweep_on_nodes_without_the_drivers_filesystem_lands_on_the_driver(
        cluster: Cluster, experiment: Path, local: Path) -> None:
    """...also when the driver is killed and the same command is run again."""
    out = cluster.base / "sweep"
    first = _bench(experiment, out, cluster)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and first.poll() is None and not _landed(out):
        time.sleep(0.1)
    first.kill()  # the driver, SIGKILL: Ray drops its job's tasks
    first.communicate(timeout=60)
    landed = _landed(out)
    assert 1 <= len(landed) < RUNS

    bench = _bench(experiment, out, cluster)
    _, stderr = bench.communicate(timeout=600)
    assert bench.returncode == 0, f"{stderr}\n{cluster.logs()}"
    assert f"{RUNS}/{RUNS} runs finished ({len(landed)} before this call)" in stderr
    _assert_same_results(out, local)
    assert {k: v for k, v in _landed(out).items() if k in landed} == landed  # not redone
    # The worker nodes, the only ones with CPUs, never saw the driver's directory (only their
    # own scratch directory there): every run came back as files.
    for node in ("worker-a", "worker-b"):
        assert cluster.sees(node, cluster.base) == ["scratch"]


@pytest.mark.cluster
@NEEDS_ROOT
def test_a_worker_node_killed_mid_sweep_loses_no_run(cluster: Cluster, experiment: Path,
                                                    local: Path) -> None:
    cluster.wait_for_cpus(2)
    out = cluster.base / "killed"
    bench = _bench(experiment, out, cluster)
    deadline = time.monotonic() + 300
    killed = False
    try:
        while time.monotonic() < deadline and bench.poll() is None:
            finished = [p for p in (out / "runs").glob("*") if (p / "summary.json").exists()] \
                if (out / "runs").exists() else []
            training = [n for n in cluster.sees("worker-a", cluster.base / "scratch")
                        if n.startswith("rl-lr-run-")]
            if finished and training:  # a run has landed and worker-a is inside another
                cluster.kill("worker-a")
                killed = True
                break
            time.sleep(0.2)
        _, stderr = bench.communicate(timeout=600)
    finally:
        if bench.poll() is None:
            bench.kill()
    assert killed, "worker-a never trained a run while another had landed"
    assert bench.returncode == 0, f"{stderr}\n{cluster.logs()}"
    assert f"{RUNS}/{RUNS} runs finished" in stderr and "0 failed" in stderr
    _assert_same_results(out, local)
