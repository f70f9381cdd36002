"""One Optuna study in a real PostgreSQL server shared by several `rl-lr tune` processes, as
on several machines: they reach the requested number of trials together, no trial lost or
run twice; a process killed mid-trial and started again continues the study.

The server is Debian's PostgreSQL (``apt-get install -y postgresql`` when missing, as the
Chromium test installs ``chromium``), started here on the loopback address with a data
directory of its own (``initdb``, run as the ``postgres`` user when we are root), and stopped
at the end. Marked ``cluster``: ``make test-cluster``, not ``make test``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

optuna = pytest.importorskip("optuna")
pytest.importorskip("psycopg", reason="the PostgreSQL driver: pip install 'rl-lr[postgres]'")

pytestmark = pytest.mark.cluster

RL_LR = [sys.executable, "-m", "rl_lr.cli"]
STUDY = "shared"
FINISHED = ("COMPLETE", "PRUNED", "FAIL")
SPACE = ("policies:\n"
         "  constant: {lr: [1e-4, 1e-2, log]}\n"
         "  cosine: {lr: [1e-4, 1e-2, log], end: [0, 1e-5], warmup: 0.1}\n")


def _postgres_bin() -> Path:
    """Debian's PostgreSQL server programs; installed with apt-get when missing."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            pytest.skip("PostgreSQL is not installed and apt-get (as root) is not available to "
                        "install Debian's 'postgresql' package")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", "postgresql"]):
            done = subprocess.run(command, env=env, capture_output=True, text=True,
                                  timeout=1200, check=False)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(command)} failed ({done.returncode}): "
                            f"{(done.stderr or done.stdout)[-2000:]}")
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        assert found, "apt-get installed postgresql, but no /usr/lib/postgresql/*/bin/initdb"
    return Path(found[-1]).parent


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as ``postgres`` then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """``postgresql://postgres@127.0.0.1:PORT/rl_lr`` of a server of this module only."""
    bin_dir = _postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="rl-lr-pg-"))
    data, log = root / "data", root / "server.log"
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]

    def run(command: list[str]) -> None:
        done = subprocess.run(_as_server_user(command), capture_output=True, text=True,
                              timeout=120, check=False)
        server_log = log.read_text() if log.exists() else ""
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}{server_log}"

    started = False
    try:
        run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
             "--no-sync"])
        run([*pg_ctl, "-l", str(log), "-w", "-o",
             f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
        started = True
        run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
             "rl_lr"])
        yield f"postgresql://postgres@127.0.0.1:{port}/rl_lr"
    finally:
        if started:
            run([*pg_ctl, "-m", "immediate", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def _tune(url: str, out: Path, space: Path, trials: int, sampler_seed: int = 0) -> list[str]:
    return [*RL_LR, "tune", "--sampler-seed", str(sampler_seed), "--env", "CartPole-v1",
            "--algo", "ppo", "--space", str(space),
            "--trials", str(trials), "--steps", "256", "--seeds", "1", "--eval-every", "64",
            "--eval-episodes", "2", "--n-envs", "1", "--pruner", "none",
            "--storage", url, "--study-name", STUDY, "--out", str(out), "--quiet",
            "--set", "n_steps=64", "--set", "batch_size=64", "--set", "n_epochs=2",
            "--set", "policy_kwargs.net_arch=[16]"]


def _trials(url: str) -> list[Any]:
    try:
        return list(optuna.load_study(study_name=STUDY, storage=url).trials)
    except KeyError:  # not created yet
        return []


def _numbers_with_files(*outs: Path) -> list[int]:
    """Trial numbers whose run files exist, over every process's output directory."""
    return sorted(int(p.parent.parent.name) for out in outs
                  for p in out.glob("trials/*/seed_0/progress.csv"))


@pytest.fixture
def space(tmp_path: Path) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(SPACE)
    return path


def _reset(url: str) -> None:
    with contextlib.suppress(KeyError):
        optuna.delete_study(study_name=STUDY, storage=url)


def test_two_processes_share_one_study_without_losing_or_repeating_a_trial(
        postgres_url: str, space: Path, tmp_path: Path) -> None:
    _reset(postgres_url)
    trials = 4
    outs = [tmp_path / "machine_a", tmp_path / "machine_b"]
    # One --sampler-seed per machine (README): with the same seed, processes that start
    # together draw the same configurations.
    processes = [subprocess.Popen(_tune(postgres_url, out, space, trials, sampler_seed=seed),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for seed, out in enumerate(outs)]
    for process in processes:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
    study = _trials(postgres_url)
    # Each process stops once the study holds `trials` finished trials; a trial another
    # process was running then still finishes: at most one more per other process.
    assert trials <= len(study) <= trials + 1
    assert all(t.state.name in FINISHED for t in study)  # none left running
    assert [t.number for t in study] == list(range(len(study)))
    numbers = _numbers_with_files(*outs)
    assert numbers == [t.number for t in study]  # every trial's run once, on one machine
    per_machine = [set(_numbers_with_files(out)) for out in outs]
    assert per_machine[0] and per_machine[1]  # both took part
    assert not per_machine[0] & per_machine[1]
    specs = [t.user_attrs.get("spec") for t in study]
    assert len(set(specs)) == len(specs), specs  # no configuration drawn twice
    for out in outs:
        assert (out / "trials.csv").exists() and (out / "best.txt").exists()


def test_a_process_killed_mid_trial_and_rerun_continues_the_study(
        postgres_url: str, space: Path, tmp_path: Path) -> None:
    _reset(postgres_url)
    trials = 6  # a long window for the poll below to catch a trial running after one ended
    out = tmp_path / "machine_a"
    command = _tune(postgres_url, out, space, trials)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    deadline = time.monotonic() + 300
    killed: list[Any] = []
    try:
        while time.monotonic() < deadline and process.poll() is None:
            study = _trials(postgres_url)
            running = [t for t in study if t.state.name == "RUNNING"]
            if running and sum(t.state.name in FINISHED for t in study) >= 1:
                os.killpg(process.pid, signal.SIGKILL)  # mid-trial: no chance to record it
                killed = running
                break
            time.sleep(0.1)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate(timeout=30)
    assert killed, ("no trial was running while another had finished "
                    f"(exit {process.returncode}): {stderr[-2000:]}")
    before = {t.number: (t.state.name, t.params, t.value) for t in _trials(postgres_url)
              if t.state.name in FINISHED}

    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    study = _trials(postgres_url)
    finished = [t for t in study if t.state.name in FINISHED]
    assert len(finished) == trials
    assert {t.number: (t.state.name, t.params, t.value) for t in study
            if t.number in before} == before  # kept as they were
    # The killed trial stays RUNNING until Optuna's heartbeat check fails it (its last
    # heartbeat older than the grace period, 3 minutes: on a slow machine the rerun outlasts
    # that); it is never completed, and its number is never reused.
    assert [t.number for t in study] == list(range(len(study)))
    states = {t.number: t.state.name for t in study}
    killed_numbers = {t.number for t in killed}
    assert {states[n] for n in killed_numbers} <= {"RUNNING", "FAIL"}
    assert {n for n, state in states.items() if state == "RUNNING"} <= killed_numbers
    files = set(_numbers_with_files(out))
    assert {t.number for t in finished} - killed_numbers <= files <= {t.number for t in study}
