"""The tune-then-test protocol: the design, the validation, the selection rule, and the fair
smoke suite end to end through ``rl-lr bench`` (tuning runs, selection.csv, test runs),
resumable and byte-identical on rerun."""

from __future__ import annotations

import csv
import math
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from rl_lr.cli.main import main
from rl_lr.experiment import ExperimentError, experiment_from_dict, load_experiment, plan_runs
from rl_lr.experiment.protocol import TuningScore, select
from rl_lr.harness import run_experiment

ROOT = Path(__file__).resolve().parents[1]
FAIR_SMOKE = ROOT / "experiments" / "fair_smoke.yaml"
FAMILIES = {
    "constant": {"lr": "constant({lr})", "space": {"lr": {"log": [1e-4, 1e-2]}}},
    "plateau": {"lr": "plateau({lr}, patience={patience}, factor={factor}, threshold_mode={mode})",
                "space": {"lr": {"log": ["1e-4", "1e-2"]}, "patience": {"int": [2, 10]},
                          "factor": {"uniform": [0.1, 0.9]},
                          "mode": {"choice": ["rel", "abs"]}}},
}


def _experiment(protocol: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": "t", "budget": {"steps": 512},
            "protocol": {"tuning_seeds": [100, 101], "test_seeds": [0, 1, 2],
                         "configurations": 5, "search_seed": 3, **(protocol or {})},
            "families": FAMILIES,
            "grid": {"env": ["CartPole-v1"], "algo": ["ppo"],
                     "perturb": {"clean": None, "noise": "gaussian(std=1.0)"}},
            **extra}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file()}


# ------------------------------------------------------------------ the design


def test_the_design_is_deterministic_and_gives_every_family_the_same_budget() -> None:
    experiment = experiment_from_dict(_experiment())
    plan = plan_runs(experiment)
    assert [r.run_id for r in plan] == [r.run_id for r in plan_runs(experiment_from_dict(
        _experiment()))]
    budget: dict[tuple[str, str], int] = defaultdict(int)
    specs: dict[str, set[str]] = defaultdict(set)
    for run in plan:
        assert run.labels["phase"] == "tune" and run.config.seed in (100, 101)
        budget[run.labels["perturb"], run.labels["lr"]] += run.config.steps
        specs[run.labels["lr"]].add(run.config.to_dict()["lr"])
    assert len(plan) == 2 * 2 * 5 * 2  # conditions x families x configurations x tuning seeds
    assert set(budget.values()) == {5 * 2 * 512}
    assert {family: len(s) for family, s in specs.items()} == {"constant": 5, "plateau": 5}
    protocol = experiment.protocol
    assert protocol is not None
    plateau = protocol.families[1]
    for values in plateau.design(5, seed=3):
        assert 1e-4 <= values["lr"] <= 1e-2 and 2 <= values["patience"] <= 10
        assert isinstance(values["patience"], int) and 0.1 <= values["factor"] <= 0.9
        assert values["mode"] in ("rel", "abs")
    # the same seed gives the same design; another seed another one
    assert plateau.configurations(5, 3) == protocol.trials(plateau)
    assert plateau.configurations(5, 4) != plateau.configurations(5, 3)
    # the labels put the family on the lr axis, then phase and trial after the axes
    assert list(plan[0].labels) == ["env", "algo", "lr", "perturb", "optimizer", "seed",
                                    "phase", "trial"]


def test_the_selection_takes_the_best_mean_ties_first_nan_last() -> None:
    def run(trial: int, seed: int, score: float, lr: str = "c") -> TuningScore:
        return TuningScore({"env": "E", "lr": lr, "seed": str(seed), "trial": str(trial)},
                           f"{lr}({trial})", 10, score)

    chosen = select([run(0, 1, 1.0), run(0, 2, 5.0), run(1, 1, 3.0), run(1, 2, 3.0),
                     run(2, 1, math.nan), run(2, 2, 99.0), run(0, 1, 2.0, "k"),
                     run(1, 1, 2.0, "k")])
    assert [(s.family, s.trial, s.spec, s.score, s.steps, s.configurations)
            for s in chosen] == [("c", 0, "c(0)", 3.0, 60, 3), ("k", 0, "k(0)", 2.0, 20, 2)]
    only_nan = select([run(0, 1, math.nan), run(1, 1, math.nan)])
    assert only_nan[0].trial == 0 and math.isnan(only_nan[0].score)


# ------------------------------------------------------------------ validation


def test_every_problem_is_one_line_with_its_yaml_path() -> None:
    families = {"constant": {"lr": "constant({lr})", "space": {}},
                "plateau": {"lr": "plateau({lr}, patience={patience})",
                            "space": {"lr": {"log": [1e-4, 1e-2]}}, "colour": 1},
                "cosine": {"lr": "cosine({lr})", "space": {"lr": {"log": [0, 1e-2]}}}}
    with pytest.raises(ExperimentError) as caught:
        experiment_from_dict(_experiment({"budget": 3, "select": "best"}, families=families,
                                         grid={"env": ["CartPole-v1"], "algo": ["ppo"],
                                               "seed": [0], "lr": ["constant(1e-3)"]}))
    errors = caught.value.errors
    expected = ["protocol.budget: unknown key", "protocol.select: one of eval_auc",
                "families.constant.space: required", "families.plateau.colour: unknown key",
                "families.plateau.lr: the template's slots ['lr', 'patience'] must match",
                "families.cosine.space.lr.log: a log range needs low > 0",
                "grid.seed: not allowed next to a protocol",
                "grid.lr: not allowed next to a protocol"]
    for start in expected:
        assert any(e.startswith(start) for e in errors), (start, errors)
    assert len(errors) == len(expected) and "\n" not in str(caught.value)


def test_overlapping_seeds_are_refused_naming_them() -> None:
    with pytest.raises(ExperimentError) as caught:
        experiment_from_dict(_experiment({"tuning_seeds": [1, 7], "test_seeds": [0, 1, 2, 3],
                                          "other_seeds_used_to_choose": [3]}))
    assert caught.value.errors == [
        "protocol.test_seeds: seed(s) 1, 3 also used to choose (tuning_seeds, "
        "other_seeds_used_to_choose): test seeds must be disjoint from every seed used to "
        "choose"]


def test_budgets_and_designs_must_be_equal_and_distinct() -> None:
    unequal = experiment_from_dict(_experiment(
        overrides={"lr": {"plateau": {"steps": 1024}}}))
    with pytest.raises(ExperimentError, match=r"families: unequal tuning budgets in "
                       r"condition \(env=CartPole-v1, algo=ppo, perturb=clean.*constant 5120 "
                       r"env steps, plateau 10240 env steps"):
        plan_runs(unequal)
    narrow = {"k": {"lr": "constant({lr})", "space": {"lr": {"choice": [1e-3, 3e-3]}}}}
    with pytest.raises(ExperimentError, match=r"families.k.space: the design repeats a "
                       "configuration"):
        experiment_from_dict(_experiment(families=narrow))
    bad_spec = {"k": {"lr": "constant({lr}, nope=1)", "space": {"lr": {"log": [1e-4, 1e-2]}}}}
    with pytest.raises(ExperimentError, match=r"families.k.lr: trial 0 \(constant\("):
        plan_runs(experiment_from_dict(_experiment(families=bad_spec)))


def test_a_family_may_bring_its_own_optimizer_and_keeps_the_condition_label() -> None:
    families = {**FAMILIES, "adam_rel": {"lr": "constant({lr})", "optimizer": "adam_rel()",
                                         "space": {"lr": {"log": [1e-4, 1e-2]}}}}
    plan = plan_runs(experiment_from_dict(_experiment(families=families)))
    optimizers = {(run.labels["lr"], run.labels["optimizer"], run.config.to_dict()["optimizer"])
                  for run in plan}
    assert optimizers == {("constant", "none", None), ("plateau", "none", None),
                          ("adam_rel", "none", "adam_rel()")}
    # the same LR configurations as the constant's, yet other runs (their optimizer differs)
    constant = {r.config.to_dict()["lr"] for r in plan if r.labels["lr"] == "constant"}
    assert constant == {r.config.to_dict()["lr"] for r in plan if r.labels["lr"] == "adam_rel"}
    assert len({r.run_id for r in plan}) == len(plan)
    with pytest.raises(ExperimentError) as caught:
        plan_runs(experiment_from_dict(_experiment(
            families={**families, "volatility": {"lr": "oracle(volatility({lr}))",
                                                 "space": {"lr": {"log": [1e-4, 1e-2]}}},
                      "sgd": {"lr": "constant({lr})", "optimizer": "sgd(nope=1)",
                              "space": {"lr": {"log": [1e-4, 1e-2]}}}},
            grid={"env": ["CartPole-v1"], "algo": ["ppo"], "optimizer": ["adam()"]})))
    errors = caught.value.errors
    assert len(errors) == 3, errors
    assert errors[0].startswith("families.sgd.optimizer: ")
    assert errors[1].startswith("families.volatility: an oracle policy sees the clean reward")
    assert errors[2].startswith("grid.optimizer: the families set their own optimizers")


def test_rl_lr_bench_refuses_overlapping_seeds_with_exit_2_and_writes_nothing(
        tmp_path: Path) -> None:
    data = yaml.safe_load(FAIR_SMOKE.read_text())
    data["protocol"]["test_seeds"] = [0, 101]
    bad = tmp_path / "overlap.yaml"
    bad.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "rl_lr.cli", "bench", str(bad), "--out",
                             str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "protocol.test_seeds: seed(s) 101 also used to choose (tuning_seeds)" in result.stderr
    assert not out.exists()


# ------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def fair_smoke(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fair") / "out"
    assert main(["bench", str(FAIR_SMOKE), "--out", str(out), "--workers", "2",
                 "--quiet"]) == 0
    return out


def test_the_fair_smoke_suite_tunes_selects_and_tests(fair_smoke: Path) -> None:
    out = fair_smoke
    summary = _rows(out / "summary.csv")
    tuning = [r for r in summary if r["phase"] == "tune"]
    tests = [r for r in summary if r["phase"] == "test"]
    assert len(tuning) == 2 * 2 * 2 and len(tests) == 2 * 2 and len(summary) == 12
    assert {r["seed"] for r in tuning} == {"100", "101"} and {r["seed"] for r in tests} == {
        "0", "1"}
    assert {(r["lr"], r["trial"]) for r in tuning} == {
        (f, t) for f in ("constant", "plateau") for t in ("0", "1")}
    selection = _rows(out / "selection.csv")
    assert [r["family"] for r in selection] == ["constant", "plateau"]
    for row in selection:
        scores: dict[str, list[float]] = defaultdict(list)
        for run in tuning:
            if run["lr"] == row["family"]:
                scores[run["trial"]].append(float(run["eval_auc"]))
        means = {t: sum(v) / len(v) for t, v in scores.items()}
        best = max(sorted(means), key=lambda t: means[t])  # ties: the first trial
        assert row["trial"] == best and float(row["tuning_score"]) == pytest.approx(means[best])
        chosen = {r["lr_spec"] for r in tuning if r["lr"] == row["family"]
                  and r["trial"] == best}
        assert chosen == {row["lr_spec"]}
        assert row["tuning_steps"] == str(2 * 2 * 512) and row["configurations"] == "2"
        assert row["select"] == "eval_auc" and row["tuning_seeds"] == "100 101"
        assert {r["lr_spec"] for r in tests if r["lr"] == row["family"]} == {row["lr_spec"]}
    experiment = yaml.safe_load((out / "experiment.yaml").read_text())
    assert experiment["run_ids"] == [r["run_id"] for r in summary]  # both phases, plan order
    assert [r.run_id for r in plan_runs(load_experiment(out / "experiment.yaml"))] == [
        r["run_id"] for r in tuning]  # the recorded experiment plans the same tuning runs
    metrics = _rows(out / "metrics.csv")
    assert sorted((r["phase"], r["lr"]) for r in metrics if r["phase"] == "test") == [
        ("test", "constant"), ("test", "plateau")]
    tables = (out / "report" / "tables.md").read_text()
    assert "| 2 |\n" in tables and "| 6 |" not in tables  # the report scores test runs only


def test_rerunning_changes_nothing_and_redoes_only_a_deleted_run(fair_smoke: Path) -> None:
    out = fair_smoke
    before = _files(out)
    again = run_experiment(FAIR_SMOKE, out, workers=2, quiet=True)
    assert again.planned == 12 and again.already_done == 12 and again.finished == 0
    assert _files(out) == before
    deleted = next(r["run_id"] for r in _rows(out / "summary.csv") if r["phase"] == "test")
    shutil.rmtree(out / "runs" / deleted)
    redone = run_experiment(FAIR_SMOKE, out, workers=2, quiet=True)
    assert redone.already_done == 11 and redone.finished == 1 and not redone.failed
    assert (out / "runs" / deleted / "summary.json").is_file()
    for name in ("summary.csv", "selection.csv", "experiment.yaml", "metrics.csv"):
        assert (out / name).read_bytes() == before[name], name
