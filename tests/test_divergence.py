"""rl_lr.run.divergence: which logged value or parameter makes a run diverged."""

from __future__ import annotations

import math

import pytest
import torch

from rl_lr.run.divergence import Diverged, find_divergence, raise_if_diverged, watched_parameters
from tests.helpers import make_model


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_the_first_non_finite_parameter_by_name_order_is_named(bad: float) -> None:
    model = make_model("sac")
    names = [name for name, _ in model.policy.named_parameters()]
    params = dict(model.policy.named_parameters())
    with torch.no_grad():
        params[names[-1]].view(-1)[0] = bad
        params[names[3]].view(-1)[-1] = bad
    assert find_divergence(model) == f"parameter {names[3]} is not finite"
    with pytest.raises(Diverged, match=names[3]):
        raise_if_diverged(model)


def test_finite_parameters_are_not_divergence_even_when_their_norm_overflows() -> None:
    model = make_model("sac")
    assert find_divergence(model) is None
    with torch.no_grad():
        next(model.policy.parameters()).fill_(1e30)  # float32 norm: inf; every entry finite
    assert find_divergence(model) is None


def test_a_non_finite_loss_is_named_before_any_parameter() -> None:
    model = make_model("sac")
    model.learn(80)  # past learning_starts: the losses are logged
    model.logger.record("train/critic_loss", math.inf)
    with torch.no_grad():
        next(model.policy.parameters()).view(-1)[0] = math.nan
    assert find_divergence(model) == "train/critic_loss is inf"


@pytest.mark.parametrize(("algo", "target", "source"), [
    ("sac", "critic_target", "critic"), ("td3", "actor_target", "actor"),
    ("dqn", "q_net_target", "q_net")])
def test_target_networks_are_not_read_their_sources_are_and_come_first(
        algo: str, target: str, source: str) -> None:
    model = make_model(algo)
    names = [name for name, _ in model.policy.named_parameters()]
    watched = [name for name, _ in watched_parameters(model)]
    assert watched == [name for name in names if not name.split(".")[0].endswith("_target")]
    assert any(name.startswith(f"{target}.") for name in names)
    # a target is a copy or polyak average of its source, registered before it
    first = {prefix: names.index(next(n for n in names if n.startswith(f"{prefix}.")))
             for prefix in (source, target)}
    assert first[source] < first[target]
    params = dict(model.policy.named_parameters())
    with torch.no_grad():
        params[next(n for n in names if n.startswith(f"{target}."))].view(-1)[0] = math.nan
    assert find_divergence(model) is None
    with torch.no_grad():
        params[next(n for n in names if n.startswith(f"{source}."))].view(-1)[0] = math.nan
    assert find_divergence(model) == \
        f"parameter {next(n for n in names if n.startswith(f'{source}.'))} is not finite"


def test_the_check_of_a_run_reads_parameters_collected_at_its_start() -> None:
    model = make_model("sac")
    collected = watched_parameters(model)
    assert find_divergence(model, collected) is None
    with torch.no_grad():
        collected[5][1].view(-1)[0] = math.inf  # in place, as an optimizer step writes
    assert find_divergence(model, collected) == f"parameter {collected[5][0]} is not finite"
    with pytest.raises(Diverged, match="step 0: parameter"):
        raise_if_diverged(model, collected)
