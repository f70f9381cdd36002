"""rl_lr.run.divergence: which logged value or parameter makes a run diverged."""

from __future__ import annotations

import math

import pytest
import torch

from rl_lr.run.divergence import Diverged, find_divergence, raise_if_diverged
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
