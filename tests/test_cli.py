"""The ``rl-lr`` command: preview, list, demo, and one-line errors with exit code 2."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

import rl_lr
from rl_lr.cli import main
from rl_lr.run.recorder import FIXED_COLUMNS

RL_LR = [sys.executable, "-m", "rl_lr.cli"]


def test_preview_prints_progress_lr_csv(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lr", "cosine(3e-4, warmup=0.2)", "--points", "6"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["progress", "lr"]
    policy = rl_lr.cosine(3e-4, warmup=0.2)
    assert [float(r[0]) for r in rows[1:]] == [i / 5 for i in range(6)]
    assert [float(r[1]) for r in rows[1:]] == [policy.value(i / 5) for i in range(6)]


def _assert_png(path: Path, min_width: int = 600) -> None:
    image = matplotlib.image.imread(path)
    assert image.shape[1] >= min_width and image.shape[2] in (3, 4)
    assert float(np.std(image[..., :3])) > 0.01  # not blank


def test_preview_plot_writes_a_real_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "lr.png"
    spec = "sequence(constant(1e-3), cosine(1e-3, end=1e-6), at=[0.5])"
    assert main(["lr", spec, "--total-steps", "100000", "--plot", str(out), "--log"]) == 0
    _assert_png(out)


def test_list_shows_every_policy_and_perturbation(capsys: pytest.CaptureFixture[str]) -> None:
    from rl_lr.envs import PERTURBATIONS

    for argv, registry in ((["list"], rl_lr.POLICIES), (["list", "perturbations"], PERTURBATIONS)):
        assert main(argv) == 0
        names = [line.split("(")[0] for line in capsys.readouterr().out.splitlines()]
        assert names == registry.names()
    from rl_lr.envs.suites import SUITES

    assert main(["list", "envs"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == [entry.id for suite in SUITES.values() for entry in suite]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["lr", "cosin(3e-4)"], "did you mean 'cosine'"),
        (["lr", "cosine(3e-4"], "unbalanced brackets"),
        (["lr", "cosine(-1)"], "lr must be a finite number > 0"),
        (["lr", "cosine(nan)"], "lr must be a finite number > 0"),
        (["lr", "cosine(3e-4)", "--points", "1"], "--points must be >= 2"),
        (["lr", "cosine(3e-4)", "--points", "x"], "expected a positive integer"),
        (["lr", "cosine(3e-4)", "--plot", "out.jpg"], "must name a .png file"),
        (["nonsense"], "invalid choice"),
        ([], "required"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(argv: list[str], message: str) -> None:
    result = subprocess.run([*RL_LR, *argv], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_help_explains_with_an_example() -> None:
    for argv in ([], ["lr"], ["list"], ["demo"]):
        result = subprocess.run([*RL_LR, *argv, "--help"], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0 and "Example: rl-lr" in result.stdout


def test_demo_trains_and_writes_progress_and_plot(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path), "--steps", "2560"]) == 0
    assert str(tmp_path / "progress.csv") in capsys.readouterr().out
    with (tmp_path / "progress.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:5] == list(FIXED_COLUMNS)  # the run's own progress.csv
    assert [int(row["timesteps"]) for row in rows] == list(range(0, 2561, 256))
    # Each row's LR is the one applied at the update just before it: rows are taken at rollout
    # starts (8 envs x 32 steps each), and the update after the rollout ending at step t
    # applies the policy's value at t.
    policy = rl_lr.parse("cosine(1e-3, warmup=0.05)")
    for row in rows:
        assert float(row["lr"]) == pytest.approx(policy.value(int(row["timesteps"]) / 2560),
                                                 rel=1e-12)
    assert {"config.yaml", "summary.json", "timing.csv"} <= {p.name for p in tmp_path.iterdir()}
    _assert_png(tmp_path / "lr.png")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["demo", "--out", str(tmp_path), "--steps", "2560"]) == 2  # never overwrites
    assert f"--out {tmp_path} is not empty" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_help_does_not_import_the_heavy_layers() -> None:
    """What the in-function imports of the CLI and the experiment layer are for: building the
    parser (``rl-lr --help``) loads no plotting, statistics, tuning or cluster library."""
    heavy = ["matplotlib", "scipy.stats", "optuna", "ray", "rl_lr.report", "rl_lr.harness",
             "rl_lr.tuning.study", "rl_lr.tuning.pbt"]
    code = ("import sys; from rl_lr.cli.main import build_parser; build_parser(); "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"
