"""What the ``rl-lr`` command promises when the user slips: one line, exit code 2, nothing
written (a file where --out needs a directory, an unknown flag answered with the closest one),
and Ctrl-C during ``rl-lr bench`` answered by the driver alone, without a worker traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rl_lr.cli import main
from rl_lr.cli.args import closest_option
from tests.helpers import sigint_as_in_a_terminal

RL_LR = [sys.executable, "-m", "rl_lr.cli"]


def _one_line_usage_error(argv: list[str], cwd: Path, capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(cwd)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    return captured.err


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--env", "CartPole-v1", "--algo", "ppo", "--steps", "64",
      "--out", "README.md/run"], "rl-lr train: --out README.md/run: README.md is a file"),
    (["bench", "--suite", "smoke", "--out", "README.md"],
     "rl-lr bench: --out README.md: README.md is a file"),
    (["plot", ".", "--kind", "lr", "--out", "README.md/lr.png"],
     "rl-lr plot: --out README.md/lr.png: README.md is a file"),
])
def test_a_file_in_the_out_path_is_one_line_and_writes_nothing(
        argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "README.md").write_text("a file\n")
    assert message in _one_line_usage_error(argv, tmp_path, capsys, monkeypatch)
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]


@pytest.mark.parametrize(("argv", "blocked", "message"), [
    (["report", "exp"], "exp/report", "rl-lr report: exp/report/figures: exp/report is a file"),
    (["report", "exp"], "exp/report/figures", "exp/report/figures is a file, not a directory"),
    (["plot", "exp", "--kind", "lr"], "exp/plots", "rl-lr plot: exp/plots/lr.png: exp/plots is "
     "a file"),
])
def test_a_file_where_the_report_or_a_plot_goes_is_one_line_and_writes_nothing(
        argv: list[str], blocked: str, message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """report and plot write into the experiment directory itself: a file in the way there
    was an ``OSError`` traceback after the figures had been drawn."""
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "experiment.yaml").write_text("name: demo\nrun_ids: [a]\n")
    (tmp_path / blocked).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / blocked).write_text("in the way\n")
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert message in _one_line_usage_error(argv, tmp_path, capsys, monkeypatch)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == before


TINY_TRAIN = ["--env", "CartPole-v1", "--algo", "ppo", "--steps", "64", "--set", "n_steps=32",
              "--set", "batch_size=32", "--eval-episodes", "1", "--quiet"]


@pytest.mark.parametrize(("argv", "message"), [
    (["lr", "cosine(1e-3)", "--plot", "/proc/rl-lr/lr.png"],
     "rl-lr lr: --plot /proc/rl-lr/lr.png: cannot write in /proc (No such file or directory)"),
    (["train", *TINY_TRAIN, "--out", "/proc/rl-lr"], "rl-lr train: --out /proc/rl-lr: cannot "
     "write in /proc"),
    (["lr", "cosine(1e-3)", "--plot", "taken"], "rl-lr lr: --plot taken: is a directory"),
    (["suggest", "--env", "CartPole-v1", "--algo", "ppo", "--space-out", "taken"],
     "rl-lr suggest: --space-out taken: is a directory; give a file path"),
    (["plot", ".", "--kind", "lr", "--out", "taken"], "rl-lr plot: --out taken: is a directory"),
    (["bench", "--suite", "smoke", "--backend", "ray", "--ray-address", "127.0.0.1:1", "--out",
      "o"], "--ray-address 127.0.0.1:1: no Ray head answers there (Connection refused)"),
    (["find-lr", *TINY_TRAIN[:6], "--backend", "ray", "--ray-address", "head", "--out", "o"],
     "--ray-address 'head': give HOST:PORT of a Ray head"),
    (["pbt", *TINY_TRAIN[:6], "--ray-address", "127.0.0.1:1", "--out", "o"],
     "no Ray head answers there"),
    (["bench", "--suite", "smoke", "--ray-address", "127.0.0.1:6379", "--out", "o"],
     "--ray-address 127.0.0.1:6379 needs --backend ray (got --backend local"),
    (["bench", "--suite", "../experiments/smoke", "--out", "o"], "unknown suite"),
])
def test_an_output_path_that_cannot_be_written_is_one_line_and_writes_nothing(
        argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """/proc takes no new files, even from root: the write would fail halfway with a
    traceback (and a video or a figure would leave its temporary file). A Ray address nothing
    answers at would leave the experiment's files behind after minutes of retries."""
    (tmp_path / "taken").mkdir()
    assert message in _one_line_usage_error(argv, tmp_path, capsys, monkeypatch)
    assert [p.name for p in tmp_path.rglob("*")] == ["taken"]


EXPERIMENT_SMALL = """\
name: small
budget: {steps: 64, eval_episodes: 1}
grid: {env: [CartPole-v1], algo: [ppo], lr: [cosine(1e-3)], seed: [0],
       set: {n_steps: [32], batch_size: [32]}}
"""
SPACE = "policies:\n  constant: {lr: [1e-4, 1e-2, log]}\n"


@pytest.mark.parametrize(("holds", "argv", "message"), [
    ({"config.yaml": "run: {}\n"}, ["bench", "exp.yaml", "--plan"],
     "--out out is a run directory (rl-lr train), not an experiment directory (rl-lr bench)"),
    ({"config.yaml": "run: {}\n"}, ["bench", "exp.yaml"], "is a run directory"),
    ({"experiment.yaml": "name: other\n"}, ["bench", "exp.yaml"],
     "--out out holds experiment 'other', not 'small'"),
    ({"notes.txt": "mine\n"}, ["bench", "exp.yaml", "--plan"],
     "--out out is not empty and holds no rl-lr experiment (notes.txt)"),
    ({"study.yaml": "study: {}\n"}, ["find-lr", *TINY_TRAIN[:6], "--points", "2"],
     "--out out is a study (rl-lr tune), not an experiment directory"),
    ({"experiment.yaml": "name: small\n"},
     ["tune", *TINY_TRAIN, "--space", "space.yaml", "--trials", "1"],
     "--out out is an experiment directory (rl-lr bench), not a study (rl-lr tune)"),
    ({}, ["tune", *TINY_TRAIN, "--space", "space.yaml", "--trials", "1", "--sampler-seed", "-1"],
     "--sampler-seed must be an integer >= 0, got -1"),
])
def test_an_out_of_another_kind_is_refused_and_left_as_it_was(
        holds: dict[str, str], argv: list[str], message: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """bench, find-lr and tune write into --out: into a run directory, a study or another
    experiment's directory they would mix or overwrite its files."""
    (tmp_path / "exp.yaml").write_text(EXPERIMENT_SMALL)
    (tmp_path / "space.yaml").write_text(SPACE)
    out = tmp_path / "out"
    if holds:
        out.mkdir()
    for name, text in holds.items():
        (out / name).write_text(text)
    assert message in _one_line_usage_error([*argv, "--out", "out"], tmp_path, capsys,
                                            monkeypatch)
    assert sorted(p.name for p in out.iterdir()) == sorted(holds) if holds else not out.exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--learning-rate", "1e-3"], "--learning-rate 1e-3 (did you mean --lr?)"),
    (["train", "--stepz=3", "--env-id", "x"],
     "--stepz: did you mean --steps?; --env-id: did you mean --env?"),
    (["lr", "cosine(1e-3)", "--plt", "x.png"], "(did you mean --plot?)"),
    (["bench", "--suite", "smoke", "--wrokers=2"], "(did you mean --workers?)"),
])
def test_an_unknown_flag_gets_a_did_you_mean(argv: list[str], message: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    error = _one_line_usage_error(argv, tmp_path, capsys, monkeypatch)
    assert error.startswith(f"rl-lr {argv[0]}: unrecognized arguments: ")
    assert message in error


@pytest.mark.parametrize(("argv", "message"), [
    (["trian"], "invalid choice: 'trian'"),
    (["list", "polices"], "invalid choice: 'polices'"),
])
def test_a_misspelt_command_or_choice_gets_a_did_you_mean(
        argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    error = _one_line_usage_error(argv, tmp_path, capsys, monkeypatch)
    assert message in error
    assert f"(did you mean {'train' if argv == ['trian'] else 'policies'!r}?)" in error


def test_closest_option_stays_quiet_when_nothing_is_close() -> None:
    assert closest_option("--frobnicate", ["--lr", "--steps", "--env"]) is None
    assert closest_option("--learning-rate=3", ["--lr", "--steps"]) == "--lr"


EXPERIMENT = """\
name: interrupted
budget: {steps: 50000, eval_every: 25000, eval_episodes: 2}
grid:
  env: [CartPole-v1]
  algo: [ppo]
  lr: {constant: constant(1e-3)}
  seed: [0]
  set: {n_steps: [64], batch_size: [64], n_epochs: [1], policy_kwargs: [{net_arch: [16]}]}
"""


def test_ctrl_c_during_bench_prints_one_line_and_no_worker_traceback(tmp_path: Path) -> None:
    """A real ``rl-lr bench`` in its own process group, a run training in a fork-server worker.
    The worker ignores a SIGINT sent to it alone (it would die with a KeyboardInterrupt
    traceback otherwise); SIGINT to the whole group, as Ctrl-C in a terminal sends it, stops
    the experiment with the driver's one "interrupted" line and exit code 130."""
    (tmp_path / "exp.yaml").write_text(EXPERIMENT)
    bench = subprocess.Popen([*RL_LR, "bench", "exp.yaml", "--out", "out", "--workers", "1",
                              "--quiet"], cwd=tmp_path, start_new_session=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=sigint_as_in_a_terminal)
    try:
        deadline = time.monotonic() + 180
        partial: list[Path] = []
        while not partial and time.monotonic() < deadline and bench.poll() is None:
            time.sleep(0.2)
            partial = list((tmp_path / "out" / "runs").glob("*.partial-*"))
        assert partial, "no run started"
        worker = int(partial[0].name.rsplit("-", 1)[1])  # the partial directory names its pid
        os.kill(worker, signal.SIGINT)
        time.sleep(2.0)
        os.kill(worker, 0)  # still training (ProcessLookupError if it died of the SIGINT)
        os.killpg(os.getpgid(bench.pid), signal.SIGINT)
        out, err = bench.communicate(timeout=120)
    finally:
        if bench.poll() is None:
            os.killpg(os.getpgid(bench.pid), signal.SIGKILL)
            bench.wait()
    assert bench.returncode == 130, err
    assert "Traceback" not in err + out and "KeyboardInterrupt" not in err + out
    assert err.count("interrupted") == 1
    assert err.rstrip().splitlines()[-1] == (
        "rl-lr bench: interrupted; run the same command again to finish")
