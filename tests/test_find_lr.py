"""rl_lr.tuning.find_lr: the grid, the suggestion rules, a tiny range test, the CLI's errors."""

from __future__ import annotations

import csv
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import rl_lr
from rl_lr.spec import SpecError
from rl_lr.tuning.find_lr import find_lr, grid_warnings, lr_grid, suggest

TINY = {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "policy_kwargs": {"net_arch": [16]}}


def test_grid_is_log_spaced_with_exact_ends() -> None:
    grid = lr_grid(1.234e-6, 0.0987, 6)
    assert grid[0] == 1.234e-6 and grid[-1] == 0.0987 and len(grid) == 6
    ratios = [b / a for a, b in itertools.pairwise(grid)]
    assert all(r == pytest.approx(ratios[0], rel=0.01) for r in ratios)


@pytest.mark.parametrize(("low", "high", "points", "message"), [
    (1e-2, 1e-5, 5, "inverted LR range"),
    (1e-3, 1e-3, 5, "empty LR range"),
    (0.0, 1e-3, 5, "--min must be a finite LR > 0"),
    (1e-5, math.inf, 5, "--max must be a finite LR > 0"),
    (1e-5, 1e-3, 1, "--points must be an integer >= 2"),
])
def test_bad_grids_are_refused(low: float, high: float, points: int, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        lr_grid(low, high, points)


def test_suggestion_skips_diverged_lrs_and_the_range_is_statistically_not_worse() -> None:
    lrs = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    mean = [10.0, 40.0, 50.0, 90.0, 20.0]
    low = [5.0, 30.0, 42.0, 80.0, 10.0]
    high = [15.0, 48.0, 60.0, 95.0, 30.0]
    # 1e-2 has the best mean but diverged once: 1e-3 is suggested, 1e-4 overlaps its CI
    assert suggest(lrs, mean, low, high, [0, 0, 0, 1, 0]) == (2, 1, 2)
    # nothing overlaps the best: the range is its grid neighbours
    assert suggest(lrs, mean, low, high, [0, 0, 0, 0, 0]) == (3, 2, 4)
    # everything diverged somewhere: the best mean anyway
    assert suggest(lrs, mean, low, high, [1, 1, 1, 1, 1])[0] == 3
    with pytest.raises(SpecError, match="no run finished"):
        suggest(lrs, [math.nan] * 5, low, high, [0] * 5)


def test_tiny_range_test_writes_its_plot_and_a_suggestion_inside_the_range(
        tmp_path: Path) -> None:
    out = tmp_path / "find"
    result = find_lr("CartPole-v1", "ppo", steps=128, out=out, min_lr=1e-4, max_lr=1e-1,
                     points=3, seeds=2, first_seed=5, eval_every=64, eval_episodes=2,
                     n_envs=1, overrides=TINY, workers=1)
    assert 1e-4 <= result.low <= result.lr <= result.high <= 1e-1
    assert result.low < result.high
    assert result.total_env_steps == 3 * 2 * 128
    assert (out / "find_lr.png").stat().st_size > 0
    with (out / "find_lr.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["lr"]) for r in rows] == [1e-4, 0.00316, 1e-1]
    for row in rows:
        assert int(row["runs"]) == 2
        assert float(row["auc_low"]) <= float(row["auc_mean"]) <= float(row["auc_high"])
    assert sum(int(r["suggested"]) for r in rows) == 1
    suggestion = json.loads((out / "suggestion.json").read_text())
    assert suggestion["constant"] == result.constant_spec == f"constant({result.lr!r})"
    cyclic = rl_lr.parse(suggestion["cyclic"])
    assert (cyclic.low, cyclic.high, cyclic.cycles) == (result.low, result.high, 4)
    with (out / "summary.csv").open() as handle:  # the harness's
        assert {int(r["seed"]) for r in csv.DictReader(handle)} == {5, 6}
    assert (out / "metrics.csv").exists()
    warned = grid_warnings([float(r["lr"]) for r in rows],
                           *([float(r[k]) for r in rows] for k in ("auc_mean", "auc_low",
                                                                    "auc_high")),
                           [int(r["suggested"]) for r in rows].index(1))
    assert [n for n in suggestion["notes"] if n.startswith("warning:")] == warned


def test_a_suggestion_at_the_grid_edge_or_inside_everyones_ci_is_flagged() -> None:
    lrs = [1e-5, 1e-4, 1e-3, 1e-2]
    # issue 18 item 13: the lowest LR won with a CI covering most of the grid
    warned = grid_warnings(lrs, [131.0, 100.0, 130.0, 20.0], [43.0, 90.0, 114.0, 10.0],
                           [219.0, 110.0, 145.0, 30.0], 0)
    assert len(warned) == 2
    assert "lowest of the grid" in warned[0] and "--min 1e-06" in warned[0]
    assert "overlaps the CIs of 2 of the 3 other grid LRs" in warned[1]
    assert "--seeds" in warned[1] and "--steps" in warned[1]
    top = grid_warnings(lrs, [1.0, 2.0, 3.0, 9.0], [0.5, 1.5, 2.5, 8.0],
                        [1.5, 2.5, 3.5, 10.0], 3)
    assert len(top) == 1 and "highest of the grid" in top[0] and "--max 0.1" in top[0]
    # an interior suggestion with a tight CI: nothing to say
    assert grid_warnings(lrs, [1.0, 9.0, 3.0, 2.0], [0.5, 8.0, 2.5, 1.5],
                         [1.5, 10.0, 3.5, 2.5], 1) == []


def test_find_lr_cli_inverted_range_is_one_line_exit_2_nothing_written(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rl_lr.cli", "find-lr", "--env", "CartPole-v1", "--algo", "ppo",
         "--min", "1e-1", "--max", "1e-6", "--steps", "128", "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == "rl-lr: error: inverted LR range: --min 0.1 must be < " \
        "--max 1e-06"
    assert not (tmp_path / "o").exists()
