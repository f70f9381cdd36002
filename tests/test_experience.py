"""rl_lr.experience: the index of past runs over every kind of output directory, the --where
language, suggestions with and without experience, and warm starts (a real Optuna SQLite study,
a real range test, PBT's initial LRs) -- with the CLI's one-line errors."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from rl_lr.cli.main import main
from rl_lr.errors import SpecError
from rl_lr.experience.index import COLUMNS, NUMERIC, RunIndexError, index_runs
from rl_lr.experience.policies import base_lr, rescale, space_entry
from rl_lr.experience.query import sort_rows, where
from rl_lr.experience.suggest import suggest
from rl_lr.run import TrainConfig, train
from rl_lr.tuning.pbt import run_pbt
from rl_lr.tuning.space import parse_space

ROOT = Path(__file__).resolve().parents[1]
FIND_LR = ROOT / "results" / "standard" / "find_lr"  # committed range tests (15 runs each)
CONTROLLERS = ROOT / "results" / "controllers_act"  # a committed experiment (140 runs)
TINY = {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "policy_kwargs": {"net_arch": [16]}}
TINY_FLAGS = ["--set", "n_steps=64", "--set", "batch_size=64", "--set", "n_epochs=2",
              "--set", "policy_kwargs={net_arch: [16]}", "--n-envs", "1", "--eval-every", "64",
              "--eval-episodes", "2"]


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One directory of each kind: a committed experiment and range test, a real single run,
    a PBT output's files, all below one folder (as results/ holds them)."""
    root = tmp_path_factory.mktemp("outputs")
    shutil.copytree(FIND_LR / "CartPole-v1", root / "find_lr", ignore=shutil.ignore_patterns(
        "runs", "report", "*.png", "curves.csv"))
    shutil.copytree(CONTROLLERS, root / "nested" / "controllers_act",
                    ignore=shutil.ignore_patterns("runs", "report", "curves.csv"))
    config = TrainConfig(env="CartPole-v1", algo="ppo", steps=128, seed=3, lr="cosine(2e-3)",
                         eval_every=64, eval_episodes=2, n_envs=1, overrides=TINY)
    train(config, root / "single")
    pbt = root / "pbt"  # what rl-lr pbt writes next to its curve (tests/test_pbt.py runs Ray)
    pbt.mkdir()
    (pbt / "pbt.yaml").write_text("method: pbt(population=2, interval=64)\nenv: CartPole-v1\n"
                                  "algo: ppo\nsteps_per_member: 128\nseed: 0\n"
                                  "agent: {preset: default, perturb: '[]'}\n")
    (pbt / "summary.json").write_text(json.dumps({
        "final_eval_return": 20.0, "eval_auc": 15.0, "diverged": False, "timesteps": 128,
        "total_env_steps": 256, "wall_time_s": 3.0}))
    return {"root": root, "single": root / "single", "pbt": pbt}


# -- the index ---------------------------------------------------------------------------------


def test_index_reads_every_kind_below_a_folder(outputs: dict[str, Path]) -> None:
    index = index_runs([outputs["root"]])
    kinds = {kind for kind, _ in index.sources}
    assert kinds == {"experiment", "find_lr", "run", "pbt"}
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for row in index.rows:
        assert set(row) == set(COLUMNS)
        by_kind.setdefault(row["kind"], []).append(row)
    assert len(by_kind["find_lr"]) == 15 and len(by_kind["experiment"]) == 140
    assert {r["preset"] for r in by_kind["experiment"]} == {"sb3"}  # from the overrides
    assert {r["overrides"] for r in by_kind["experiment"]} >= {"n_steps=512"}  # a set.* axis
    assert all(r["wall_time_s"] > 0 for r in by_kind["experiment"])  # timing.csv joined
    [single] = by_kind["run"]
    assert (single["env"], single["lr_spec"], single["seed"], single["steps"]) == (
        "CartPole-v1", "cosine(2e-3)", 3, 128)
    assert single["policy"] == "cosine" and single["base_lr"] == 0.002
    [pbt] = by_kind["pbt"]
    assert pbt["timesteps"] == 256 and pbt["lr_spec"].startswith("pbt(")
    # pandas-loadable CSV: one header, one line per run, empty cells for None
    stream = io.StringIO()
    index.write_csv(stream)
    lines = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert len(lines) == len(index) and lines[0].keys() == set(COLUMNS)
    # the same directory twice is read once
    assert len(index_runs([outputs["root"], outputs["single"]])) == len(index)


def test_malformed_and_foreign_directories_are_one_line_exit_2(
        tmp_path: Path, outputs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "foreign" / "sub").mkdir(parents=True)
    (tmp_path / "foreign" / "notes.txt").write_text("hello")
    broken_csv = tmp_path / "broken_csv"
    shutil.copytree(outputs["root"] / "find_lr", broken_csv)
    (broken_csv / "summary.csv").write_text("a,b\n1,2\n")
    broken_yaml = tmp_path / "broken_yaml"
    broken_yaml.mkdir()
    (broken_yaml / "experiment.yaml").write_text("name: [unclosed\n")
    broken_json = tmp_path / "broken_json"
    shutil.copytree(outputs["single"], broken_json)
    (broken_json / "summary.json").write_text("{not json")
    cases = {"foreign": "not an rl-lr output directory", "broken_csv": "missing columns",
             "broken_yaml": "not a readable YAML file", "broken_json": "not a readable JSON",
             "missing": "no such directory"}
    for name, message in cases.items():
        code, out, err = _cli(["runs", str(tmp_path / name)], capsys)
        assert code == 2 and out == "", name
        assert len(err.strip().splitlines()) == 1, (name, err)
        assert str(tmp_path / name) in err and message in err, (name, err)
    with pytest.raises(RunIndexError):  # the same from Python
        index_runs([tmp_path / "foreign"])


def test_where_language_selects_and_refuses_clearly(outputs: dict[str, Path]) -> None:
    rows = index_runs([outputs["root"]]).rows

    def select(expression: str) -> list[dict[str, Any]]:
        return where(rows, expression, COLUMNS, NUMERIC)

    assert {r["kind"] for r in select("kind=find_lr,run")} == {"find_lr", "run"}
    assert all(r["eval_auc"] > 400 for r in select("eval_auc>400")) and select("eval_auc>400")
    assert len(select("env=Inverted* perturb!=clean")) == 70
    assert len(select("lr_spec='constant(3e-3)' perturb=clean")) == 10  # spaces, quoted
    assert len(select("lr_spec='plateau(3e-3, patience=3, window=5)'")) == 20  # its commas
    assert len(select("steps=3e4")) == 140 + 15  # numbers compare as numbers
    assert select("perturb_spec=") == [r for r in rows if not r["perturb_spec"]]
    assert len(select("lr_spec~PLATEAU")) == len(select("policy=plateau"))
    assert select("eval_auc > 400") == select("eval_auc>400")  # spaces around an operator
    assert select("env == CartPole-v1 perturb_spec=") == select("env=CartPole-v1 perturb_spec=")
    for bad, message in [("envv=x", "did you mean env"), ("lr_spec>3", "not numeric"),
                         ("eval_auc>x", "needs a number"), ("eval_auc > x", "needs a number"),
                         ("eval_auc", "COLUMN OP VALUE"),
                         ("env='x", "--where")]:
        with pytest.raises(SpecError, match=message):
            select(bad)
    ranked = sort_rows(select("kind=find_lr"), "eval_auc", COLUMNS, descending=True)
    assert [r["eval_auc"] for r in ranked] == sorted((r["eval_auc"] for r in ranked),
                                                     reverse=True)


def test_runs_cli_table_and_csv(outputs: dict[str, Path],
                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(["runs", str(outputs["root"]), "--where", "kind=find_lr",
                           "--where", "eval_auc>300", "--csv", "--columns",
                           "run_id,lr_spec,eval_auc"], capsys)
    assert code == 0
    lines = list(csv.DictReader(io.StringIO(out)))
    assert lines and all(float(r["eval_auc"]) > 300 for r in lines)
    code, out, err = _cli(["runs", str(outputs["root"]), "--sort", "eval_auc", "--desc",
                           "--limit", "2"], capsys)
    assert code == 0 and len(out.strip().splitlines()) == 3 and "2 of 157 runs" in err


# -- suggestions -------------------------------------------------------------------------------


def test_suggest_from_the_same_task_lists_its_best_configurations() -> None:
    index = index_runs([FIND_LR])
    found = suggest(index, "CartPole-v1", "ppo")
    assert found.basis == "same task"
    assert found.start == "constant(0.00316)"  # the range test's best mean AUC
    assert found.configurations[0].runs == 3 and found.configurations[0].envs == ("CartPole-v1",)
    assert parse_space(found.space).policies == ["constant"]
    low, high = found.space["policies"]["constant"]["lr"][:2]
    assert low < 0.00316 < high
    assert any("45 runs indexed" in e for e in found.evidence)


def test_suggest_from_a_prior_across_envs_and_with_no_experience(
        capsys: pytest.CaptureFixture[str]) -> None:
    index = index_runs([FIND_LR / "CartPole-v1", FIND_LR / "InvertedPendulum-v5"])
    found = suggest(index, "rl_lr/PointNav-v0", "ppo")
    assert found.basis == "prior" and found.lr_quantiles is not None
    q10, q50, q90 = found.lr_quantiles
    assert q10 <= q50 <= q90 and base_lr(found.start) == q50
    assert found.families[0].name == "constant"
    assert any("similarity 0.50" in e for e in found.evidence)
    assert len(found.population_lrs(4)) == 4
    code, out, _err = _cli(["suggest", "--env", "CartPole-v1", "--algo", "dqn", "--from",
                           str(FIND_LR)], capsys)
    assert code == 0 and out.startswith("no relevant experience for dqn on CartPole-v1")
    assert "none of dqn" in out
    for typo, allowed in ((["--env", "CartPole-v1", "--algo", "ppp"], "known: ppo"),
                          (["--env", "CartPol-v1", "--algo", "ppo"], "did you mean 'CartPole-v1'"),
                          (["--env", "CartPole-v1", "--algo", "sac"], "needs Box actions"),
                          (["--env", "CartPole-v1", "--algo", "ppo", "--preset", "zoo"],
                           "choose one of default, sb3")):
        code, out, err = _cli(["suggest", *typo, "--from", str(FIND_LR)], capsys)
        assert code == 2 and allowed in err and out == "", err  # an error, not "no experience"
        assert len(err.strip().splitlines()) == 1


def test_suggest_cli_prints_the_start_first_and_writes_a_tune_space(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _cli(["suggest", "--env", "rl_lr/PointNav-v0", "--algo", "ppo", "--from",
                           str(CONTROLLERS), "--space-out", str(tmp_path / "space.yaml")],
                          capsys)
    assert code == 0
    assert base_lr(out.splitlines()[0]) is not None  # the start spec, alone on the first line
    assert "prior experience" in out and "evidence:" in out
    parse_space(yaml.safe_load((tmp_path / "space.yaml").read_text()))


def test_rescale_and_space_entries_keep_the_policy_shape() -> None:
    assert rescale("plateau(1e-3, patience=3)", 3e-3) == "plateau(constant(0.003), patience=3)"
    name, entry = space_entry("cyclic(1e-3, 1e-2, cycles=4)", 1e-3, 1e-1)
    assert name == "cyclic" and entry["high"] == [1e-3, 1e-1, "log"]
    assert entry["low"] == [1e-4, 1e-2, "log"] and entry["cycles"] == 4
    parse_space({"policies": {name: entry}})


# -- warm starts -------------------------------------------------------------------------------


def test_tune_warm_start_enqueues_the_best_prior_configurations(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "study"
    code, _stdout, err = _cli(["tune", "--env", "CartPole-v1", "--algo", "ppo", "--trials", "3",
                              "--steps", "128", "--pruner", "none", "--warm-start",
                              str(FIND_LR / "CartPole-v1"), "--out", str(out), *TINY_FLAGS],
                             capsys)
    assert code == 0, err
    assert "warm start: 3 of 3 prior configurations queued first" in err
    expected = suggest(index_runs([FIND_LR / "CartPole-v1"]), "CartPole-v1", "ppo").starts[:3]
    study = optuna.load_study(study_name="rl-lr-CartPole-v1-ppo",
                              storage=f"sqlite:///{out / 'study.db'}")
    trials = sorted(study.trials, key=lambda t: t.number)
    assert [t.user_attrs.get("warm_start") for t in trials] == expected
    assert [t.user_attrs["spec"] for t in trials] == expected  # tried as they were
    assert [t.params["constant.lr"] for t in trials] == [base_lr(s) for s in expected]
    # the study is itself experience: the index reads it, one row per trial and seed
    rows = index_runs([out]).rows
    assert [(r["kind"], r["trial"], r["lr_spec"]) for r in rows] == [
        ("study", i, spec) for i, spec in enumerate(expected)]
    # continuing the study does not queue again
    code, _, err = _cli(["tune", "--env", "CartPole-v1", "--algo", "ppo", "--trials", "3",
                         "--steps", "128", "--pruner", "none", "--warm-start",
                         str(FIND_LR / "CartPole-v1"), "--out", str(out), *TINY_FLAGS], capsys)
    assert code == 0 and "0 of 3 prior configurations" in err


def test_warm_start_without_experience_or_with_conflicting_flags_is_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--env", "CartPole-v1", "--algo", "dqn", "--steps", "128", "--out",
            str(tmp_path / "out")]
    for argv in (["tune", "--trials", "2", *base, "--warm-start", str(FIND_LR)],
                 ["find-lr", *base, "--warm-start", str(FIND_LR)]):
        code, _out, err = _cli(argv, capsys)
        assert code == 2 and "no relevant experience for dqn" in err, err
        assert len(err.strip().splitlines()) == 1
    code, _, err = _cli(["find-lr", "--env", "CartPole-v1", "--algo", "ppo", "--steps", "128",
                         "--min", "1e-4", "--warm-start", str(FIND_LR)], capsys)
    assert code == 2 and "drop --min/--max" in err
    code, _, err = _cli(["tune", "--env", "CartPole-v1", "--algo", "ppo", "--steps", "128",
                         "--trials", "2"], capsys)
    assert code == 2 and "--space FILE, or --warm-start" in err
    assert not (tmp_path / "out").exists()


def test_find_lr_warm_start_centres_its_grid(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    found = suggest(index_runs([FIND_LR / "PointNav-v0"]), "rl_lr/PointNav-v0", "ppo")
    low, high = found.grid_bounds()
    centre = found.base_lr
    assert centre is not None and low <= centre / 10 and high >= centre * 10
    assert abs((low * high) ** 0.5 / centre - 1) < 0.05  # centred in log space
    code, _out, err = _cli(["find-lr", "--env", "CartPole-v1", "--algo", "ppo", "--steps", "128",
                           "--points", "2", "--seeds", "1", "--workers", "1", "--warm-start",
                           str(FIND_LR / "CartPole-v1"), "--out", str(tmp_path / "f"),
                           *TINY_FLAGS], capsys)
    assert code == 0, err
    grid = json.loads((tmp_path / "f" / "suggestion.json").read_text())["searched"]
    expected = suggest(index_runs([FIND_LR / "CartPole-v1"]), "CartPole-v1", "ppo")
    assert grid == list(expected.grid_bounds())


def test_pbt_initial_population_from_the_prior_is_checked_before_ray() -> None:
    found = suggest(index_runs([FIND_LR]), "CartPole-v1", "ppo")
    lrs = found.population_lrs(3)
    assert lrs == sorted(lrs) and lrs[0] < lrs[1] < lrs[2]
    with pytest.raises(SpecError, match="initial_lrs must be 2 LRs"):
        run_pbt("pbt(population=2, interval=64)", "CartPole-v1", "ppo", steps=128,
                out=Path("never-written"), initial_lrs=lrs)
    assert not Path("never-written").exists()
