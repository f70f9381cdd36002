"""Schedules against the real ``torch.optim.lr_scheduler``, point for point.

Time mapping: a run of ``N`` optimizer steps is sampled at ``N + 1`` points, ``progress = i / N``
for ``i = 0..N``. torch's value at point ``i`` is ``param_groups[0]["lr"]`` after ``i`` calls of
``scheduler.step()`` (point 0: right after the scheduler is built, before any step); rl-lr's is
``policy.value(i / N)``.

Tolerances: torch computes some schedulers in closed form from the step count (CyclicLR,
CosineAnnealingWarmRestarts, OneCycleLR) and others recursively, multiplying the previous LR by
a per-step factor (LinearLR, ExponentialLR, PolynomialLR, CosineAnnealingLR, and StepLR /
MultiStepLR / ConstantLR). A recursion accumulates about one rounding error per step (~N·eps);
where it multiplies by a gamma only a handful of times (Step/MultiStep) that stays ~1e-15, so
those use ``RTOL_CLOSED`` too. ``ATOL`` covers values that should be exactly 0 (``end=0``).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from torch.optim import lr_scheduler as sched

import rl_lr
from rl_lr import LRPolicy, SpecError

RTOL_CLOSED = 1e-9  # torch computes the value from the step count
RTOL_RECURSIVE = 1e-6  # torch multiplies the previous LR by a factor each step: ~N·eps drift
ATOL = 1e-15  # for values that are (or should be) exactly 0; all LRs here are >= 1e-5

LR = 1e-3
NS = (100, 240)

MakeScheduler = Callable[[torch.optim.Optimizer], sched.LRScheduler]


def torch_curve(lr: float, make: MakeScheduler, n: int) -> np.ndarray:
    """The LR torch's scheduler sets at each of the ``n + 1`` points of an ``n``-step run."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's internal step(epoch) deprecation
        scheduler = make(optimizer)
        values = [optimizer.param_groups[0]["lr"]]
        for _ in range(n):
            optimizer.step()
            scheduler.step()
            values.append(optimizer.param_groups[0]["lr"])
    return np.asarray(values, dtype=float)


def rl_curve(policy: LRPolicy, n: int) -> np.ndarray:
    return np.asarray([policy.value(i / n) for i in range(n + 1)], dtype=float)


def assert_matches_torch(
    policy: LRPolicy, lr: float, make: MakeScheduler, n: int, rtol: float
) -> None:
    expected = torch_curve(lr, make, n)
    actual = rl_curve(policy, n)
    assert_allclose(actual, expected, rtol=rtol, atol=ATOL, err_msg=f"{policy!r}, N={n}")


# --------------------------------------------------------------------------------------------
# One schedule at a time
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", NS)
def test_constant(n: int) -> None:
    assert_matches_torch(
        rl_lr.constant(LR),
        LR,
        lambda opt: sched.ConstantLR(opt, factor=1.0, total_iters=n),
        n,
        RTOL_CLOSED,
    )


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("end", [0.0, 1e-5, 5e-4])
def test_linear(n: int, end: float) -> None:
    assert_matches_torch(
        rl_lr.linear(LR, end=end),
        LR,
        lambda opt: sched.LinearLR(opt, start_factor=1.0, end_factor=end / LR, total_iters=n),
        n,
        RTOL_RECURSIVE,
    )


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize(
    ("every", "gamma"),
    [
        (0.25, 0.5),
        (0.1, 0.5),  # 0.3 / 0.1 == 2.9999999999999996: boundaries must not drift by a step
        (0.1, 0.1),
        (0.05, 0.9),
        (0.3, 0.1),
        (0.7, 0.5),
        (1.0, 0.5),  # the only drop happens at the very last point
    ],
)
def test_step(n: int, every: float, gamma: float) -> None:
    step_size = round(every * n)
    assert step_size == pytest.approx(every * n)
    assert_matches_torch(
        rl_lr.step(LR, every=every, gamma=gamma),
        LR,
        lambda opt: sched.StepLR(opt, step_size=step_size, gamma=gamma),
        n,
        RTOL_CLOSED,
    )


def test_step_quarter_example() -> None:
    """The brief's example, spelled out: 101 points, drops at points 25, 50, 75 and 100."""
    curve = rl_curve(rl_lr.step(1e-3, every=0.25, gamma=0.5), 100)
    expected = torch_curve(1e-3, lambda opt: sched.StepLR(opt, step_size=25, gamma=0.5), 100)
    assert_allclose(curve, expected, rtol=RTOL_CLOSED)
    assert curve[24] == 1e-3 and curve[25] == 5e-4 and curve[100] == 1e-3 / 16


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize(
    ("milestones", "gamma"),
    [([0.5], 0.1), ([0.3, 0.6, 0.9], 0.5), ([0.1, 0.2, 0.7], 0.3), ([0.05, 0.95], 1.0)],
)
def test_multistep(n: int, milestones: list[float], gamma: float) -> None:
    steps = [round(m * n) for m in milestones]
    assert_matches_torch(
        rl_lr.multistep(LR, milestones=milestones, gamma=gamma),
        LR,
        lambda opt: sched.MultiStepLR(opt, milestones=steps, gamma=gamma),
        n,
        RTOL_CLOSED,
    )


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("end", [1e-5, 5e-4, 2e-3])
def test_exponential(n: int, end: float) -> None:
    assert_matches_torch(
        rl_lr.exponential(LR, end),
        LR,
        lambda opt: sched.ExponentialLR(opt, gamma=(end / LR) ** (1.0 / n)),
        n,
        RTOL_RECURSIVE,
    )


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("power", [0.5, 1.0, 2.0, 3.0])
def test_polynomial(n: int, power: float) -> None:
    # torch's PolynomialLR always decays to 0: compare end=0 only.
    assert_matches_torch(
        rl_lr.polynomial(LR, power=power),
        LR,
        lambda opt: sched.PolynomialLR(opt, total_iters=n, power=power),
        n,
        RTOL_RECURSIVE,
    )


def test_polynomial_with_end_interpolates() -> None:
    """No torch counterpart for end > 0: check the closed form's endpoints and midpoint."""
    policy = rl_lr.polynomial(1e-3, end=1e-4, power=2.0)
    assert policy.value(0.0) == pytest.approx(1e-3, rel=1e-12)
    assert policy.value(1.0) == pytest.approx(1e-4, rel=1e-12)
    assert policy.value(0.5) == pytest.approx(1e-4 + 9e-4 * 0.25, rel=1e-12)


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("end", [0.0, 1e-5])
def test_cosine(n: int, end: float) -> None:
    assert_matches_torch(
        rl_lr.cosine(LR, end=end),
        LR,
        lambda opt: sched.CosineAnnealingLR(opt, T_max=n, eta_min=end),
        n,
        RTOL_RECURSIVE,
    )


@pytest.mark.parametrize(
    ("n", "cycles", "mult", "t0"),
    [
        (100, 4, 1.0, 25),
        (240, 3, 1.0, 80),
        (100, 1, 1.0, 100),
        (70, 3, 2.0, 10),  # 10 + 20 + 40
        (240, 4, 2.0, 16),  # 16 + 32 + 64 + 128
        (130, 3, 3.0, 10),  # 10 + 30 + 90
    ],
)
@pytest.mark.parametrize("end", [0.0, 1e-5])
def test_cosine_restarts(n: int, cycles: int, mult: float, t0: int, end: float) -> None:
    # Documented convention shared with torch: at the instant a cycle ends (progress = 1
    # included) the value is the restart value lr.
    assert_matches_torch(
        rl_lr.cosine_restarts(LR, cycles, end=end, mult=mult),
        LR,
        lambda opt: sched.CosineAnnealingWarmRestarts(opt, T_0=t0, T_mult=int(mult), eta_min=end),
        n,
        RTOL_CLOSED,
    )


@pytest.mark.parametrize(("n", "cycles"), [(100, 5), (100, 2), (100, 3), (240, 3), (240, 4)])
@pytest.mark.parametrize(
    ("mode", "gamma"), [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.5)]
)
def test_cyclic(n: int, cycles: int, mode: str, gamma: float) -> None:
    # (100, 3): half a cycle is 16.67 steps, a non-integer step_size_up that torch accepts.
    low, high = 1e-4, 1e-3
    assert_matches_torch(
        rl_lr.cyclic(low, high, cycles, mode=mode, gamma=gamma),
        high,
        lambda opt: sched.CyclicLR(
            opt,
            base_lr=low,
            max_lr=high,
            step_size_up=n / (2 * cycles),
            mode=mode,
            # rl-lr's gamma is per cycle; torch's is per optimizer step (see Cyclic's docstring).
            gamma=gamma ** (cycles / n),
            cycle_momentum=False,
        ),
        n,
        RTOL_CLOSED,
    )


@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize(
    ("pct_start", "div", "final_div"), [(0.3, 25.0, 1e4), (0.25, 10.0, 100.0), (0.5, 4.0, 1.0)]
)
def test_onecycle(n: int, anneal: str, pct_start: float, div: float, final_div: float) -> None:
    # torch peaks at step pct_start*T - 1 of T steps; with T = N + 1 the documented
    # pct_start' = (pct_start*N + 1)/(N + 1) puts its peak at rl-lr's progress pct_start.
    assert_matches_torch(
        rl_lr.onecycle(LR, pct_start=pct_start, div=div, final_div=final_div, anneal=anneal),
        LR,
        lambda opt: sched.OneCycleLR(
            opt,
            max_lr=LR,
            total_steps=n + 1,
            pct_start=(pct_start * n + 1) / (n + 1),
            anneal_strategy=anneal,
            div_factor=div,
            final_div_factor=final_div,
            three_phase=False,
            cycle_momentum=False,
        ),
        n,
        RTOL_CLOSED,
    )


# --------------------------------------------------------------------------------------------
# Composition: warm-up and sequence
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "warmup"), [(100, 0.1), (100, 0.25), (240, 0.05), (240, 0.5)])
@pytest.mark.parametrize("start", [1e-5, 5e-4])
def test_linear_warmup_then_cosine(n: int, warmup: float, start: float) -> None:
    w = round(warmup * n)
    assert_matches_torch(
        rl_lr.cosine(LR, warmup=warmup, warmup_start=start),
        LR,
        lambda opt: sched.SequentialLR(
            opt,
            [
                sched.LinearLR(opt, start_factor=start / LR, end_factor=1.0, total_iters=w),
                sched.CosineAnnealingLR(opt, T_max=n - w),
            ],
            milestones=[w],
        ),
        n,
        RTOL_RECURSIVE,
    )


@pytest.mark.parametrize(("n", "warmup"), [(100, 0.1), (240, 0.25)])
def test_linear_warmup_then_linear(n: int, warmup: float) -> None:
    w = round(warmup * n)
    assert_matches_torch(
        rl_lr.linear(LR, end=1e-4, warmup=warmup, warmup_start=1e-5),
        LR,
        lambda opt: sched.SequentialLR(
            opt,
            [
                sched.LinearLR(opt, start_factor=1e-2, end_factor=1.0, total_iters=w),
                sched.LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=n - w),
            ],
            milestones=[w],
        ),
        n,
        RTOL_RECURSIVE,
    )


@pytest.mark.parametrize("n", NS)
def test_sequence_constant_then_cosine(n: int) -> None:
    half = n // 2
    assert_matches_torch(
        rl_lr.sequence(rl_lr.constant(LR), rl_lr.cosine(LR), at=[0.5]),
        LR,
        lambda opt: sched.SequentialLR(
            opt,
            [
                sched.ConstantLR(opt, factor=1.0, total_iters=0),
                sched.CosineAnnealingLR(opt, T_max=half),
            ],
            milestones=[half],
        ),
        n,
        RTOL_RECURSIVE,
    )


@pytest.mark.parametrize("n", NS)
def test_sequence_of_three(n: int) -> None:
    a, b = round(0.3 * n), round(0.5 * n)
    assert_matches_torch(
        rl_lr.sequence(
            rl_lr.cosine(LR, end=1e-4),
            rl_lr.constant(LR),
            rl_lr.exponential(LR, 1e-5),
            at=[0.3, 0.5],
        ),
        LR,
        lambda opt: sched.SequentialLR(
            opt,
            [
                sched.CosineAnnealingLR(opt, T_max=a, eta_min=1e-4),
                sched.ConstantLR(opt, factor=1.0, total_iters=0),
                sched.ExponentialLR(opt, gamma=(1e-5 / LR) ** (1.0 / (n - b))),
            ],
            milestones=[a, b],
        ),
        n,
        RTOL_RECURSIVE,
    )


def test_sequence_numbers_mean_constant() -> None:
    assert rl_lr.sequence(1e-3, rl_lr.cosine(1e-3), at=[0.5]) == rl_lr.sequence(
        rl_lr.constant(1e-3), rl_lr.cosine(1e-3), at=[0.5]
    )


# --------------------------------------------------------------------------------------------
# Modifiers without a torch counterpart: clamps and exponential warm-up
# --------------------------------------------------------------------------------------------

GRID = np.linspace(0.0, 1.0, 201)


@pytest.mark.parametrize(
    "policy",
    [
        rl_lr.cosine(LR),
        rl_lr.cyclic(1e-4, 1e-3, 3),
        rl_lr.onecycle(LR),
        rl_lr.step(LR, every=0.1, gamma=0.5),
        rl_lr.cosine(LR, warmup=0.2),
    ],
    ids=repr,
)
@pytest.mark.parametrize(("min_lr", "max_lr"), [(2e-4, math.inf), (0.0, 6e-4), (2e-4, 6e-4)])
def test_clamps_clip_the_unclamped_curve(policy: LRPolicy, min_lr: float, max_lr: float) -> None:
    clamped = dataclasses.replace(policy, min_lr=min_lr, max_lr=max_lr)
    raw = np.array([policy.value(p) for p in GRID])
    got = np.array([clamped.value(p) for p in GRID])
    assert_allclose(got, np.clip(raw, min_lr, max_lr), rtol=0, atol=0)
    assert got.min() >= min_lr and got.max() <= max_lr
    # Both bounds are actually reached (the unclamped curve crosses them).
    if min_lr > 0:
        assert np.any(got == min_lr)
    if math.isfinite(max_lr):
        assert np.any(got == max_lr)


def test_clamps_apply_during_warmup() -> None:
    policy = rl_lr.cosine(LR, warmup=0.1, min_lr=1e-4)
    assert policy.value(0.0) == 1e-4  # warm-up would start at 0
    assert policy.value(0.1) == LR


@pytest.mark.parametrize(("min_lr", "max_lr"), [(1e-3, 1e-3), (1e-3, 1e-4), (0.0, 0.0)])
def test_clamps_must_leave_room(min_lr: float, max_lr: float) -> None:
    with pytest.raises(SpecError, match="max_lr"):
        rl_lr.cosine(LR, min_lr=min_lr, max_lr=max_lr)


@pytest.mark.parametrize("warmup", [0.05, 0.1, 0.3])
@pytest.mark.parametrize("start", [1e-6, 1e-5])
def test_exponential_warmup(warmup: float, start: float) -> None:
    policy = rl_lr.cosine(
        LR, end=1e-5, warmup=warmup, warmup_start=start, warmup_mode="exponential"
    )
    ramp = np.linspace(0.0, warmup, 101)
    values = np.array([policy.value(p) for p in ramp])
    assert values[0] == pytest.approx(start, rel=1e-12)
    assert values[-1] == pytest.approx(LR, rel=1e-12)  # the policy's first value
    assert np.all(np.diff(values) > 0)  # strictly increasing
    # Geometric: log(LR) is linear in progress, so the midpoint is the geometric mean...
    assert policy.value(warmup / 2) == pytest.approx(math.sqrt(start * LR), rel=1e-12)
    assert_allclose(np.diff(np.log(values)), np.log(LR / start) / 100, rtol=1e-9)
    # ...and the policy itself then runs over the remaining 1 - warmup of the run.
    after = rl_lr.cosine(LR, end=1e-5)
    for q in (0.0, 0.25, 0.5, 1.0):
        assert policy.value(warmup + q * (1 - warmup)) == pytest.approx(after.value(q), rel=1e-12)


def test_exponential_warmup_needs_positive_start() -> None:
    with pytest.raises(SpecError, match="warmup_start"):
        rl_lr.cosine(LR, warmup=0.1, warmup_mode="exponential")


def test_linear_warmup_is_a_straight_line_to_the_first_value() -> None:
    policy = rl_lr.onecycle(LR, warmup=0.2, warmup_start=0.0)
    first = rl_lr.onecycle(LR).value(0.0)  # lr / div
    ramp = np.linspace(0.0, 0.2, 41)
    assert_allclose([policy.value(p) for p in ramp], first * ramp / 0.2, rtol=1e-12, atol=ATOL)


# --------------------------------------------------------------------------------------------
# The SB3 protocol and the clipped time axis
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [rl_lr.cosine(LR, warmup=0.1), rl_lr.cyclic(1e-4, 1e-3, 3), rl_lr.step(LR, every=0.25)],
    ids=repr,
)
def test_sb3_call_uses_progress_remaining(policy: LRPolicy) -> None:
    for p in GRID:
        assert policy(1.0 - p) == pytest.approx(policy.value(p), rel=1e-12, abs=ATOL)
    assert policy.value(-0.5) == policy.value(0.0)
    assert policy.value(1.5) == policy.value(1.0)


# --------------------------------------------------------------------------------------------
# Known limitations: intermediate overflow at extreme (valid) arguments. The true values are
# bounded by the schedule's own endpoints, so these are computational, not semantic. strict:
# when a fix lands these XPASS and fail, so the marker gets removed.
# --------------------------------------------------------------------------------------------


def test_cosine_restarts_with_absurdly_short_first_cycle_is_refused() -> None:
    with pytest.raises(rl_lr.SpecError, match="mult"):
        rl_lr.cosine_restarts(LR, 1100, mult=2.0)
    assert 0.0 <= rl_lr.cosine_restarts(LR, 29, mult=2.0).value(0.5) <= LR


def test_exponential_with_extreme_ratio_stays_finite() -> None:
    assert rl_lr.exponential(1e-300, 1e300).value(0.5) == pytest.approx(1.0)


def test_exponential_warmup_from_a_subnormal_start_stays_finite() -> None:
    policy = rl_lr.cosine(LR, warmup=0.3, warmup_start=5e-324, warmup_mode="exponential")
    assert math.isfinite(policy.value(0.1))
