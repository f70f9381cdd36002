"""The oracle gap: every oracle (``oracle(X)``, :mod:`rl_lr.oracles`: the rule X fed the
clean training reward, a diagnostic no deployed agent could run) against the policy running
the same rule X on the observed reward, in each condition where both have runs.

P(the oracle beats its rule) tells a rule that fails (no gap: even the clean signal does not
help it) from a signal too noisy for it (a gap). Each comparison is one of the report's
(:meth:`rl_lr.report.task.Task.compare`: P(improvement) with a 95 % stratified-bootstrap CI),
seeded apart from the others by :data:`AGAINST_RULE`. An oracle is paired by the type of the
LR policy it wraps (:func:`oracle_rules`), so the pair needs no naming convention; with the
tune-then-test protocol each side runs its own tuned configuration.

    >>> rule_kind("oracle(volatility(1e-3))"), rule_kind("volatility(3e-3)")
    ('oracle of Volatility', 'Volatility')
"""

from __future__ import annotations

from rl_lr import schema
from rl_lr.errors import SpecError
from rl_lr.oracles import Oracle
from rl_lr.report.task import Comparison, Task
from rl_lr.schedules import POLICIES

__all__ = ["AGAINST_RULE", "ORACLE_KIND", "against_rule", "oracle_rules", "rule_kind"]

AGAINST_RULE = "vs its rule"  # in the bootstrap seed of an oracle's comparison with its rule
ORACLE_KIND = "oracle of "  # rule_kind of an oracle: this, then the kind of what it wraps


def rule_kind(lr_spec: str, optimizer_spec: str = "") -> str:
    """The kind of LR policy a run used (its class name), ``oracle of `` + the wrapped kind for
    an oracle; "" for what is not paired (per-network mappings, plugins, another optimizer)."""
    if optimizer_spec:
        return ""
    try:
        policy = POLICIES.parse(lr_spec)
    except SpecError:
        return ""
    if isinstance(policy, Oracle):
        return ORACLE_KIND + type(policy.base).__name__
    return type(policy).__name__


def oracle_rules(task: Task) -> dict[str, str]:
    """``{oracle policy: the policy with its rule}``: for each oracle, the only other policy
    whose runs all use an LR policy of the type the oracle wraps (``oracle(volatility(...))``
    and ``volatility(...)``), both with the algorithm's own optimizer."""
    kinds: dict[str, set[str]] = {}
    for panel in task.panels:
        for policy in task.adaptive:
            for row in task.data.rows(panel, policy):
                kinds.setdefault(policy, set()).add(rule_kind(
                    row.get(schema.LR_SPEC, ""), row.get(schema.OPTIMIZER_SPEC, "")))
    kind = {policy: found.pop() for policy, found in kinds.items() if len(found) == 1}
    out = {}
    for oracle, wrapped in kind.items():
        if wrapped.startswith(ORACLE_KIND):
            rules = [p for p, k in kind.items() if k == wrapped.removeprefix(ORACLE_KIND)]
            if len(rules) == 1:
                out[oracle] = rules[0]
    return out


def against_rule(task: Task, score: str) -> list[Comparison]:
    """Every oracle against its rule (:func:`oracle_rules`) on ``score``, per condition in
    plan order (module docstring)."""
    out = []
    for oracle, rule in oracle_rules(task).items():
        for panel in task.panels:
            x, y = task.scores(panel, oracle, score), task.scores(panel, rule, score)
            if x and y:
                out.append(task.compare(panel, oracle, x, rule, y, score, (
                    task.env, task.algo, task.condition(panel), oracle, AGAINST_RULE, score)))
    return out
