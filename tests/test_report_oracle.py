"""Oracles against their rules in the report (:mod:`rl_lr.report.oracle_gap`): a
real PPO experiment on CartPole-v1 under Gaussian reward noise with volatility and its oracle
(the same rule fed the clean reward) and the constant. The oracle is paired with the policy
running its rule, compared on each condition's runs, and tables.md and index.html show the
comparisons; an experiment without an oracle gets none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rl_lr import schema
from rl_lr.metrics import probability_of_improvement_ci
from rl_lr.report.oracle_gap import AGAINST_RULE, against_rule, oracle_rules
from rl_lr.report.sections import oracle_section
from rl_lr.report.tables import headline_tables
from rl_lr.report.task import tasks
from rl_lr.results import REPS, load_results, name_seed
from tests.helpers import run_yaml

EXPERIMENT = """\
name: oracle_tiny
description: PPO on CartPole-v1, volatility and its oracle under reward noise, tiny budget.
budget: {steps: 256, eval_every: 128, eval_episodes: 2}
grid:
  env: [CartPole-v1]
  algo: [ppo]
  lr:
    constant: constant(1e-3)
    volatility: volatility(1e-3)
    oracle_volatility: oracle(volatility(1e-3))
  perturb: {clean: null, noisy: "gaussian(std=1.0)"}
  seed: [0, 1, 2, 3]  # 4 a side: the fewest runs a verdict is given for
  set: {n_steps: [64], batch_size: [64], n_epochs: [2], policy_kwargs: [{net_arch: [16]}]}
"""
TITLE = "Oracle gap: each oracle (the rule fed the clean reward, not deployable)"


@pytest.fixture(scope="module")
def experiment_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_yaml(tmp_path_factory.mktemp("oracle"), "oracle", EXPERIMENT)


def test_each_oracle_is_compared_with_its_rule_in_every_condition(experiment_dir: Path) -> None:
    data = load_results(experiment_dir)
    task = tasks(data)[0]
    assert oracle_rules(task) == {"oracle_volatility": "volatility"}
    found = against_rule(task, schema.FINAL_EVAL_RETURN)
    assert [(task.condition(c.panel), c.policy, c.rival) for c in found] == [
        ("clean", "oracle_volatility", "volatility"), ("noisy", "oracle_volatility", "volatility")]
    for c in found:
        x = task.scores(c.panel, "oracle_volatility")
        y = task.scores(c.panel, "volatility")
        assert (c.n_x, c.n_y) == (4, 4)
        assert c.ci == probability_of_improvement_ci(
            np.array(x)[:, None], np.array(y)[:, None], reps=REPS,
            rng=name_seed(task.env, task.algo, task.condition(c.panel), "oracle_volatility",
                          AGAINST_RULE, schema.FINAL_EVAL_RETURN))
    # on a clean env the oracle sees what its rule sees: the same runs, seed for seed
    assert found[0].ci.point == pytest.approx(0.5)


def test_the_report_shows_the_oracle_gap(experiment_dir: Path) -> None:
    tables = (experiment_dir / schema.REPORT_DIR / "tables.md").read_text()
    section = tables[tables.index(f"### {TITLE}"):]
    rows = [line for line in section.split("\n### ")[0].splitlines()
            if line.startswith("| clean") or line.startswith("| noisy")]
    assert [row.split(" | ")[1:3] for row in rows] == [["oracle_volatility", "volatility"]] * 2
    html = (experiment_dir / schema.REPORT_DIR / "index.html").read_text()
    assert "<h2>Oracles against their rules</h2>" in html
    assert oracle_section(load_results(experiment_dir)) in html


def test_an_experiment_without_an_oracle_gets_none() -> None:
    data = load_results(Path(__file__).resolve().parents[1] / "results" / "dose_precheck")
    assert all(not against_rule(task, schema.EVAL_AUC) for task in tasks(data))
    assert TITLE not in headline_tables(data) and oracle_section(data) == ""
