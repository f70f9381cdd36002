"""Metrics against hand-computed arrays (the arithmetic is in the comments), against SciPy where
SciPy has the same quantity, and against naive re-implementations drawn from the same indices.

Percentiles are NumPy's default (linear interpolation): the p-th percentile of n sorted values
sits at index ``p / 100 · (n - 1)``.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np
import pytest
import scipy.signal
import scipy.stats
from numpy.testing import assert_allclose, assert_array_equal

from rl_lr import metrics as mt
from rl_lr.metrics import bootstrap
from rl_lr.metrics import stability as st


def _iqm_scipy(*columns: np.ndarray, axis: int = -1) -> np.ndarray:
    """IQM of one bootstrap resample per task column, for ``scipy.stats.bootstrap``."""
    x = np.stack(columns, axis=-1)  # (..., runs, tasks)
    return scipy.stats.trim_mean(x.reshape(*x.shape[:-2], -1), 0.25, axis=-1)


# --------------------------------------------------------------------------- aggregates


def test_iqm_by_hand() -> None:
    # 8 values, floor(8 / 4) = 2 cut from each end: mean(3, 4, 5, 6) = 4.5
    assert mt.iqm([[1, 2], [3, 4], [5, 6], [7, 8]]) == 4.5
    # 5 values, 1 cut from each end: mean(2, 3, 4) = 3 (the outlier 100 is trimmed)
    assert mt.iqm([100, 1, 3, 2, 4]) == 3.0
    # fewer than 4 values: nothing to cut, the mean; one run: its value
    assert mt.iqm([1.0, 2.0, 6.0]) == 3.0
    assert mt.iqm([[7.0]]) == 7.0


def test_iqm_matches_scipy_trim_mean() -> None:
    x = np.random.default_rng(0).normal(size=(37, 3))
    assert mt.iqm(x) == pytest.approx(scipy.stats.trim_mean(x, 0.25, axis=None), rel=1e-12)


def test_aggregate_by_hand() -> None:
    scores = {"a": np.array([[0.0, 10.0, 100.0], [2.0, 20.0, 300.0]])}
    # mean of all: (0 + 10 + 100 + 2 + 20 + 300) / 6 = 432 / 6 = 72
    assert mt.aggregate(scores, "mean") == {"a": 72.0}
    # median over tasks of the task means [1, 15, 200] = 15 (rliable's aggregate_median)
    assert mt.aggregate(scores, "median") == {"a": 15.0}
    # IQM: sorted [0 2 10 20 100 300], cut 1 each end: (2 + 10 + 20 + 100) / 4 = 33
    assert mt.aggregate(scores, "iqm") == {"a": 33.0}
    # a user statistic of the (runs, tasks) array
    assert mt.aggregate(scores, np.max) == {"a": 300.0}
    # optimality gap: max(0, 1 - x) = [0.5, 0, 0.1, 1.1] -> 1.7 / 4 = 0.425
    gap = mt.aggregate({"b": np.array([[0.5, 1.2], [0.9, -0.1]])}, "optimality_gap")
    assert gap["b"] == pytest.approx(0.425)
    assert mt.optimality_gap([0.5, 1.2, 0.9, -0.1]) == pytest.approx(0.425)
    # gamma = 0.5: max(0, 0.5 - x) = [0, 0, 0, 0.6] -> 0.15
    assert mt.optimality_gap([0.5, 1.2, 0.9, -0.1], gamma=0.5) == pytest.approx(0.15)


def test_normalise_by_hand() -> None:
    x = np.array([[-1000.0, 250.0], [-150.0, 0.0]])
    # task 0: (-1000 + 1500) / 1350 = 0.37037, (-150 + 1500) / 1350 = 1; task 1: 250/500, 0/500
    expected = np.array([[500 / 1350, 0.5], [1.0, 0.0]])
    assert_allclose(mt.normalise(x, [-1500.0, 0.0], [-150.0, 500.0]), expected)
    out = mt.normalise({"p": x}, [-1500.0, 0.0], [-150.0, 500.0])
    assert_allclose(out["p"], expected)
    assert_allclose(mt.normalise(np.array([[5.0]]), 0, 10), [[0.5]])  # scalar range


def test_normalise_validates() -> None:
    with pytest.raises(ValueError, match="high > low"):
        mt.normalise(np.zeros((2, 2)), [0.0, 1.0], [1.0, 1.0])
    with pytest.raises(
        ValueError, match=r"low must have shape \(tasks,\) = \(2,\).*got shape \(3,\)"
    ):
        mt.normalise(np.zeros((4, 2)), [0.0, 0.0, 0.0], 1.0)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (
            np.zeros(5),
            r"shape \(runs, tasks\) \(one task: use x\[:, None\]\), got shape \(5,\)",
        ),
        (np.zeros((2, 3, 4)), r"scores must have shape \(runs, tasks\), got shape \(2, 3, 4\)"),
        (np.zeros((0, 3)), r"got shape \(0, 3\)"),
        (np.array([[1.0], [np.nan]]), "must be finite, got 1 NaN/inf"),
    ],
)
def test_scores_shape_validation(bad: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mt.stratified_bootstrap_ci(bad, "mean", rng=0)


def test_aggregate_names_the_policy_in_errors() -> None:
    with pytest.raises(ValueError, match=r"scores\['ppo'\] must have shape \(runs, tasks\)"):
        mt.aggregate({"ppo": np.zeros(3)}, "iqm")
    with pytest.raises(ValueError, match="statistic must be one of"):
        mt.aggregate({"ppo": np.zeros((3, 1))}, "mode")


# --------------------------------------------------------------------------- bootstrap


@pytest.mark.parametrize("statistic", ["iqm", "mean"])
def test_stratified_bootstrap_agrees_with_scipy(statistic: str) -> None:
    x = np.random.default_rng(1).normal(size=(40, 3)) * [1.0, 2.0, 3.0] + [0.0, 1.0, 5.0]
    fn = _iqm_scipy if statistic == "iqm" else (lambda *c, axis=-1: np.mean(c, axis=(0, -1)))
    # scipy.stats.bootstrap with one sample per task resamples each independently: stratified.
    ref = scipy.stats.bootstrap(
        tuple(x.T),
        fn,
        n_resamples=20000,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(5),
    ).confidence_interval
    ours = mt.stratified_bootstrap_ci(x, statistic, reps=20000, rng=3)
    width = ref.high - ref.low
    # Different random streams: endpoints agree to Monte Carlo error (~1 % of the width here).
    assert abs(ours.low - ref.low) < 0.06 * width
    assert abs(ours.high - ref.high) < 0.06 * width
    assert ours.point == pytest.approx(fn(*x.T))


def test_stratified_bootstrap_matches_naive_resampling_from_the_same_indices() -> None:
    x = np.random.default_rng(2).normal(size=(12, 3))
    ours = mt.stratified_bootstrap_ci(x, "iqm", reps=500, confidence=0.9, rng=11)
    idx = np.random.default_rng(11).integers(0, 12, size=(500, 12, 3), dtype=np.int32)
    dist = [mt.iqm(x[i, np.arange(3)]) for i in idx]
    assert ours.low == pytest.approx(np.percentile(dist, 5))
    assert ours.high == pytest.approx(np.percentile(dist, 95))


def test_bootstrap_does_not_depend_on_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    # Resamples are drawn in chunks for speed; int32 draws are the same however they are split.
    x, y = np.random.default_rng(3).normal(size=(2, 30, 2))
    taus = np.linspace(-1, 1, 5)

    def everything() -> tuple[object, ...]:
        return (
            mt.stratified_bootstrap_ci(x, "iqm", reps=300, rng=1),
            mt.aggregate_with_cis({"x": x}, reps=300, rng=1),
            mt.probability_of_improvement_ci(x, y, reps=300, rng=1),
            mt.pairwise_probability_of_improvement({"x": x, "y": y}, reps=300, rng=1),
            tuple(map(tuple, mt.performance_profile_ci(x, taus, reps=300, rng=1))),
            mt.interval_estimates({"x": x}, lambda a: a.max(axis=0), reps=300, rng=1),
        )

    whole = everything()
    # 7 resamples of 30 x 2 per chunk
    monkeypatch.setattr("rl_lr.metrics.resampling.INDICES_PER_CHUNK", 7 * 60)
    assert everything() == whole


def test_bootstrap_is_reproducible() -> None:
    x = np.random.default_rng(3).normal(size=(30, 2))
    a = mt.stratified_bootstrap_ci(x, "iqm", rng=123)
    assert a == mt.stratified_bootstrap_ci(x, "iqm", rng=123)
    assert a == mt.stratified_bootstrap_ci(x, "iqm", rng=np.random.default_rng(123))
    assert a != mt.stratified_bootstrap_ci(x, "iqm", rng=124)


def test_bootstrap_is_stratified() -> None:
    # Task 0 is all 0, task 1 all 1: every stratified resample has mean exactly 0.5, whereas
    # pooling the runs of both tasks would mix them.
    x = np.column_stack([np.zeros(10), np.ones(10)])
    assert mt.stratified_bootstrap_ci(x, "mean", rng=0) == (0.5, 0.5, 0.5)


def test_bootstrap_single_run_and_user_statistic() -> None:
    # One run: every resample is the data itself.
    assert mt.stratified_bootstrap_ci([[3.0, 5.0]], "mean", rng=0) == (4.0, 4.0, 4.0)
    x = np.random.default_rng(4).normal(size=(15, 2))
    named = mt.stratified_bootstrap_ci(x, "mean", reps=300, rng=7)
    user = mt.stratified_bootstrap_ci(x, lambda a: float(np.mean(a)), reps=300, rng=7)
    assert user.low == pytest.approx(named.low) and user.high == pytest.approx(named.high)


def test_bootstrap_argument_errors() -> None:
    x = np.zeros((3, 1))
    with pytest.raises(ValueError, match="reps must be >= 1, got 0"):
        mt.stratified_bootstrap_ci(x, "mean", reps=0, rng=0)
    with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\), got 95"):
        mt.stratified_bootstrap_ci(x, "mean", confidence=95, rng=0)
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator or an int seed"):
        mt.stratified_bootstrap_ci(x, "mean", rng="seed")  # type: ignore[arg-type]


def test_aggregate_with_cis() -> None:
    rng = np.random.default_rng(5)
    scores = {"a": rng.uniform(size=(20, 2)), "b": rng.uniform(size=(10, 2))}
    out = mt.aggregate_with_cis(scores, rng=9, reps=500)
    assert set(out["a"]) == {"iqm", "mean", "median"}
    for policy in scores:
        for name, ci in out[policy].items():
            assert ci.point == pytest.approx(mt.aggregate(scores, name)[policy])
            assert ci.low <= ci.point <= ci.high
    # Reproducible, and a policy's intervals do not depend on which others are evaluated.
    assert out == mt.aggregate_with_cis(scores, rng=9, reps=500)
    assert out["a"] == mt.aggregate_with_cis({"a": scores["a"]}, rng=9, reps=500)["a"]
    gen = mt.aggregate_with_cis(scores, rng=np.random.default_rng(9), reps=500)
    alone = mt.aggregate_with_cis({"a": scores["a"]}, rng=np.random.default_rng(9), reps=500)
    assert gen["a"] == alone["a"]
    # With a known range: scores are normalised and the optimality gap is included.
    gap = mt.aggregate_with_cis({"a": np.array([[50.0], [70.0], [90.0]])}, rng=0, low=0, high=100)
    # normalised [0.5, 0.7, 0.9] -> gap = mean(0.5, 0.3, 0.1) = 0.3
    assert gap["a"]["optimality_gap"].point == pytest.approx(0.3)
    with pytest.raises(ValueError, match="optimality_gap needs normalised scores"):
        mt.aggregate_with_cis(scores, rng=0, statistics=("optimality_gap",))


# --------------------------------------------------------------------------- interval_estimates


def _scores() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(14)
    return {"a": rng.normal(size=(12, 3)), "b": rng.normal(1.0, size=(7, 3))}


def test_interval_estimates_agrees_with_the_older_helpers() -> None:
    scores = _scores()
    names = ("iqm", "mean", "median")
    # aggregate_with_cis: the same per-policy streams, so the same intervals bit for bit
    old = mt.aggregate_with_cis(scores, rng=9, reps=400)
    several = mt.interval_estimates(scores, names, rng=9, reps=400)
    for policy in scores:
        assert several[policy] == tuple(old[policy][n] for n in names)
        assert mt.interval_estimates(scores, "iqm", rng=9, reps=400)[policy] == old[policy]["iqm"]
    # stratified_bootstrap_ci draws from rng itself: {policy: rng} gives that stream
    for stat in ("iqm", "median"):
        ci = mt.interval_estimates(scores, stat, rng={"a": 3, "b": 4}, reps=400)
        assert ci["a"] == mt.stratified_bootstrap_ci(scores["a"], stat, rng=3, reps=400)
        assert ci["b"] == mt.stratified_bootstrap_ci(scores["b"], stat, rng=4, reps=400)
    # a function of the (runs, tasks) array gives the named statistic (to rounding)
    named = mt.interval_estimates(scores, "mean", rng=2, reps=300)
    user = mt.interval_estimates(scores, lambda x: float(np.mean(x)), rng=2, reps=300)
    for policy in scores:
        assert user[policy] == pytest.approx(named[policy], rel=1e-12)


def test_interval_estimates_shapes_and_stratification() -> None:
    scores = _scores()
    one = mt.interval_estimates(scores, "mean", rng=0, reps=200)
    assert set(one) == {"a", "b"} and all(isinstance(ci, mt.Interval) for ci in one.values())
    # a tuple of names: a tuple of intervals, in that order
    pair = mt.interval_estimates(scores, ("median", "iqm"), rng=0, reps=200)["a"]
    assert len(pair) == 2 and pair[0].point == mt.aggregate(scores, "median")["a"]
    # a function returning (tasks,) values: one interval per value; a (1,) array stays a tuple
    per_task = mt.interval_estimates(scores, lambda x: x.mean(axis=0), rng=0, reps=200)["b"]
    assert len(per_task) == 3
    assert_allclose([ci.point for ci in per_task], scores["b"].mean(axis=0))
    assert all(ci.low <= ci.point <= ci.high for ci in per_task)
    assert len(mt.interval_estimates(scores, lambda x: x.mean(axis=0)[:1], rng=0, reps=9)["a"]) == 1
    # several tasks are resampled within each task (stratified): columns 0 / 1 never mix
    split = {"p": np.column_stack([np.zeros(10), np.ones(10)])}
    assert mt.interval_estimates(split, "mean", rng=0)["p"] == (0.5, 0.5, 0.5)
    by_task = mt.interval_estimates(split, lambda x: x.mean(axis=0), rng=0)["p"]
    assert by_task == ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    # one run, one task
    assert mt.interval_estimates({"p": [[3.0]]}, "iqm", rng=0)["p"] == (3.0, 3.0, 3.0)
    assert mt.interval_estimates({}, "iqm", rng=0) == {}


def test_interval_estimates_is_reproducible() -> None:
    scores = _scores()
    first = mt.interval_estimates(scores, "iqm", rng=5, reps=300)
    assert first == mt.interval_estimates(scores, "iqm", rng=5, reps=300)
    assert first != mt.interval_estimates(scores, "iqm", rng=6, reps=300)
    gen = mt.interval_estimates(scores, "iqm", rng=np.random.default_rng(5), reps=300)
    assert gen == mt.interval_estimates(scores, "iqm", rng=np.random.default_rng(5), reps=300)
    # a policy's interval does not depend on the others evaluated alongside, nor their order
    alone = mt.interval_estimates({"b": scores["b"]}, "iqm", rng=5, reps=300)
    assert alone["b"] == first["b"]
    flipped = mt.interval_estimates({"b": scores["b"], "a": scores["a"]}, "iqm", rng=5, reps=300)
    assert flipped == first


@pytest.mark.parametrize(
    ("scores", "kwargs", "error", "match"),
    [
        ({"ppo": np.zeros(5)}, {}, ValueError,
         r"^scores\['ppo'\] must have shape \(runs, tasks\) \(one task: use x\[:, None\]\), got "
         r"shape \(5,\)$"),
        ({"ppo": np.zeros((2, 3, 4))}, {}, ValueError,
         r"^scores\['ppo'\] must have shape \(runs, tasks\), got shape \(2, 3, 4\)$"),
        ({"ppo": np.zeros((0, 2))}, {}, ValueError, r"^scores\['ppo'\] must have shape"),
        ({"ppo": np.full((3, 2), np.nan)}, {}, ValueError,
         r"^scores\['ppo'\] must be finite, got 6 NaN/inf values"),
        ({"ppo": [["a"]]}, {}, TypeError, r"^scores\['ppo'\] must be a numeric array"),
        (np.zeros((3, 2)), {}, TypeError, r"^scores must be a mapping \{policy: array"),
        ({"ppo": np.zeros((3, 2))}, {"func": "mode"}, ValueError, r"^func must be one of \['iqm'"),
        ({"ppo": np.zeros((3, 2))}, {"func": ()}, TypeError, r"^func must be one of"),
        ({"ppo": np.zeros((3, 2))}, {"func": lambda x: x}, ValueError,
         r"^func must return a number or the same \(k,\) array"),
        ({"ppo": np.zeros((3, 2))}, {"reps": 0}, ValueError, r"^reps must be >= 1, got 0$"),
        ({"ppo": np.zeros((3, 2))}, {"confidence": 95}, ValueError,
         r"^confidence must be in \(0, 1\), got 95$"),
        ({"ppo": np.zeros((3, 2))}, {"rng": "seed"}, TypeError,
         r"^rng must be a numpy\.random\.Generator or an int seed, got 'seed'$"),
        ({"ppo": np.zeros((3, 2))}, {"rng": {"a2c": 0}}, ValueError,
         r"^rng must give a generator or seed for every policy, missing \['ppo'\]$"),
        ({"ppo": np.zeros((3, 2))}, {"rng": {"ppo": 1.5}}, TypeError,
         r"^rng\['ppo'\] must be a numpy\.random\.Generator or an int seed, got 1\.5$"),
    ],
)
def test_interval_estimates_errors_name_the_argument(
    scores: object, kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    args: dict[str, object] = {"func": "iqm", "rng": 0, **kwargs}
    with pytest.raises(error, match=match) as caught:
        mt.interval_estimates(scores, **args)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)  # one line


# --------------------------------------------------------------------------- comparisons


def test_probability_of_improvement_by_hand() -> None:
    # x = [3, 4] vs y = [1, 3, 5]: 3 beats 1, ties 3 (1/2), loses to 5 -> 1.5; 4 beats 1 and 3
    # -> 2; P = 3.5 / (2 · 3) = 0.58333
    assert mt.probability_of_improvement([[3.0], [4.0]], [[1.0], [3.0], [5.0]]) == pytest.approx(
        3.5 / 6
    )
    # [1, 2, 3] vs [2, 2]: 1 -> 0, 2 -> 1/2 + 1/2, 3 -> 2 wins: 3 / 6 = 0.5
    assert mt.probability_of_improvement([[1.0], [2.0], [3.0]], [[2.0], [2.0]]) == 0.5
    # Two tasks, averaged: task 0 as above (3.5 / 6); task 1 x = [1, 1], y = [0, 0, 5]:
    # each x beats two of three -> 4 / 6. Mean = (3.5 + 4) / 12 = 0.625
    x = np.array([[3.0, 1.0], [4.0, 1.0]])
    y = np.array([[1.0, 0.0], [3.0, 0.0], [5.0, 5.0]])
    assert mt.probability_of_improvement(x, y) == pytest.approx(0.625)
    same = np.array([[1.0], [2.0]])
    assert mt.probability_of_improvement(same, same) == 0.5


def test_probability_of_improvement_matches_mann_whitney() -> None:
    rng = np.random.default_rng(6)
    x, y = np.round(rng.normal(size=(25, 1)), 1), np.round(rng.normal(0.3, size=(18, 1)), 1)
    u = scipy.stats.mannwhitneyu(x[:, 0], y[:, 0]).statistic
    assert mt.probability_of_improvement(x, y) == pytest.approx(u / (25 * 18))


def test_probability_of_improvement_ci_agrees_with_scipy() -> None:
    rng = np.random.default_rng(7)
    x, y = np.round(rng.normal(size=(15, 1)), 1), np.round(rng.normal(0.5, size=(12, 1)), 1)

    def poi(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        wins = (a[..., :, None] > b[..., None, :]) + 0.5 * (a[..., :, None] == b[..., None, :])
        return wins.mean(axis=(-1, -2))

    ref = scipy.stats.bootstrap(
        (x[:, 0], y[:, 0]),
        poi,
        n_resamples=20000,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(2),
    ).confidence_interval
    ours = mt.probability_of_improvement_ci(x, y, reps=20000, rng=9)
    assert abs(ours.low - ref.low) < 0.03 and abs(ours.high - ref.high) < 0.03
    assert ours == mt.probability_of_improvement_ci(x, y, reps=20000, rng=9)
    with pytest.raises(ValueError, match=r"same tasks.*got \(15, 1\) and \(3, 2\)"):
        mt.probability_of_improvement_ci(x, np.zeros((3, 2)), rng=0)


def test_probability_of_improvement_ci_matches_naive_resampling() -> None:
    rng = np.random.default_rng(13)
    x, y = np.round(rng.normal(size=(9, 2)), 1), np.round(rng.normal(size=(7, 2)), 1)
    ours = mt.probability_of_improvement_ci(x, y, reps=300, confidence=0.9, rng=5)
    gen = np.random.default_rng(5)  # x's resamples are drawn first, then y's
    ix = gen.integers(0, 9, size=(300, 9, 2), dtype=np.int32)
    iy = gen.integers(0, 7, size=(300, 7, 2), dtype=np.int32)
    dist = [
        mt.probability_of_improvement(x[a, np.arange(2)], y[b, np.arange(2)])
        for a, b in zip(ix, iy, strict=True)
    ]
    assert ours.low == pytest.approx(np.percentile(dist, 5))
    assert ours.high == pytest.approx(np.percentile(dist, 95))


def test_pairwise_probability_of_improvement_is_mirrored() -> None:
    rng = np.random.default_rng(8)
    scores = {k: rng.normal(size=(10, 2)) for k in "abc"}
    out = mt.pairwise_probability_of_improvement(scores, reps=300, rng=1)
    assert len(out) == 6
    ab, ba = out["a", "b"], out["b", "a"]
    assert ba.point == pytest.approx(1 - ab.point)
    assert (ba.low, ba.high) == pytest.approx((1 - ab.high, 1 - ab.low))
    assert ab.point == pytest.approx(mt.probability_of_improvement(scores["a"], scores["b"]))


def test_performance_profile_by_hand() -> None:
    scores = [[0.1, 0.5], [0.7, 0.9]]
    # run scores > tau: tau 0 -> 4/4; tau 0.5 -> {0.7, 0.9} = 2/4 (0.5 is not > 0.5); tau 1 -> 0
    assert_allclose(mt.performance_profile(scores, [0.0, 0.5, 1.0]), [1.0, 0.5, 0.0])
    # task means [0.4, 0.7]: > 0 -> 2/2, > 0.5 -> 1/2, > 1 -> 0
    assert_allclose(
        mt.performance_profile(scores, [0.0, 0.5, 1.0], kind="average"), [1.0, 0.5, 0.0]
    )


@pytest.mark.parametrize("kind", ["run", "average"])
def test_performance_profile_ci_matches_naive_resampling(kind: Literal["run", "average"]) -> None:
    x = np.random.default_rng(9).normal(size=(20, 3))
    taus = np.linspace(-2, 2, 9)
    point, low, high = mt.performance_profile_ci(x, taus, kind=kind, reps=400, rng=4)
    idx = np.random.default_rng(4).integers(0, 20, size=(400, 20, 3), dtype=np.int32)
    dist = [mt.performance_profile(x[i, np.arange(3)], taus, kind=kind) for i in idx]
    assert_allclose(point, mt.performance_profile(x, taus, kind=kind))
    assert_allclose(low, np.percentile(dist, 2.5, axis=0))
    assert_allclose(high, np.percentile(dist, 97.5, axis=0))
    with pytest.raises(ValueError, match=r"taus must have shape \(thresholds,\), got shape \(\)"):
        mt.performance_profile(x, 0.5)


# --------------------------------------------------------------------------- sample efficiency


def test_area_under_curve_by_hand() -> None:
    # trapezoids: (0 + 2) / 2 · 1 + (2 + 2) / 2 · 2 = 5, over the span 3 - 0 = 3
    assert mt.area_under_curve([0, 1, 3], [0.0, 2.0, 2.0]) == pytest.approx(5 / 3)
    # per run; a constant curve's time average is the constant; NaN propagates to its run
    out = mt.area_under_curve([0, 1, 3], [[0.0, 2.0, 2.0], [4.0, 4.0, 4.0], [1.0, np.nan, 1.0]])
    assert_allclose(out, [5 / 3, 4.0, np.nan])


def test_curve_validation_messages() -> None:
    with pytest.raises(
        ValueError, match=r"curves must have shape \(\.\.\., 3\) to match timesteps"
    ):
        mt.area_under_curve([0, 1, 2], np.zeros((4, 5)))
    with pytest.raises(ValueError, match="timesteps must be finite and strictly increasing"):
        mt.area_under_curve([0, 2, 1], np.zeros(3))
    with pytest.raises(ValueError, match=r"timesteps must have shape \(points,\) with points >= 2"):
        mt.area_under_curve([0], [1.0])
    with pytest.raises(TypeError, match="curves must be a numeric array"):
        mt.area_under_curve([0, 1], ["a", "b"])


def test_steps_to_threshold_and_fraction_reaching() -> None:
    t = [0, 10, 20, 30]
    curves = np.array([[0, 5, 3, 7], [0, 1, 2, 3], [np.nan, 6, 8, 9]])
    # run 0 first >= 6 at t = 30; run 1 never (NaN); run 2: the NaN point does not count, 6 at 10
    assert_allclose(mt.steps_to_threshold(t, curves, 6), [30.0, np.nan, 10.0])
    # "at or above": 5 reaches 5 at t = 10
    assert mt.steps_to_threshold(t, [0, 5, 3, 7], 5) == 10.0
    assert mt.fraction_reaching(t, curves, 6) == pytest.approx(2 / 3)
    # by t = 15 only run 2 has reached 6
    assert mt.fraction_reaching(t, curves, 6, by=15) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match=r"\(\.\.\., runs, points\)"):
        mt.fraction_reaching(t, [0, 5, 3, 7], 5)


# --------------------------------------------------------------------------- stability


def test_building_blocks_by_hand() -> None:
    # Δy/Δt with uneven steps: (5 - 1) / 2 = 2, (4 - 5) / 1 = -1
    assert_allclose(st.detrend([0, 2, 3], [1.0, 5.0, 4.0]), [2.0, -1.0])
    # running max [0 4 4 4 5 5] minus the curve
    assert_allclose(st.drawdown([0.0, 4.0, 1.0, 3.0, 5.0, 2.0]), [0, 0, 3, 1, 0, 3])
    # 95th percentile of [1 3 5] at index 1.9: 3 + 0.9 · 2 = 4.8; minus y0 = 1 -> 3.8
    assert_allclose(st.curve_range([[1.0, 3.0, 5.0], [2.0, 2.0, 2.0]]), [3.8, 0.0])


def test_cvar_by_hand_and_against_the_library_formula() -> None:
    # [1 2 3 4], alpha 0.5: lower VaR = median 2.5 -> mean(1, 2); upper -> mean(3, 4)
    assert st.cvar([1.0, 2.0, 3.0, 4.0], 0.5) == 1.5
    assert st.cvar([1.0, 2.0, 3.0, 4.0], 0.5, tail="upper") == 3.5
    # 1..20, alpha 0.05: VaR at index 0.05 · 19 = 0.95 -> 1.95, only 1 is <= it
    assert st.cvar(np.arange(1.0, 21.0), 0.05) == 1.0
    x = np.random.default_rng(10).normal(size=(4, 50))
    for row, got in zip(x, st.cvar(x, 0.1), strict=True):  # metric_utils.compute_cvar
        var = scipy.stats.scoreatpercentile(row, 10)
        assert got == pytest.approx(row[row <= var].mean())
    assert_allclose(st.cvar([[1.0, np.nan], [1.0, 2.0]], 0.5), [np.nan, 1.0])
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\], got 0"):
        st.cvar([1.0], 0)


def test_dispersion_across_time_by_hand() -> None:
    y = [0.0, 1.0, 3.0, 2.0, 6.0]
    # d = [1 2 -1 4], sorted [-1 1 2 4]: p25 at 0.75 -> -1 + 0.75·2 = 0.5; p75 at 2.25 -> 2.5
    assert st.dispersion_across_time(range(5), y) == 2.0
    # windows of 2: [1 2] -> 1.75 - 1.25 = 0.5; [-1 4] -> 2.75 - 0.25 = 2.5
    assert_allclose(st.dispersion_across_time(range(5), y, window=2), [0.5, 2.5])
    # curve range: 95th pct of [0 1 2 3 6] at 3.8 -> 3 + 0.8·3 = 5.4; minus 0 -> 2 / 5.4
    assert st.dispersion_across_time(range(5), y, normalise="curve_range") == pytest.approx(2 / 5.4)
    # a curve that never rises above its start has no range: NaN, not a sign-flipped value
    assert math.isnan(st.dispersion_across_time(range(3), [5.0, 4.0, 3.0], normalise="curve_range"))
    x = np.random.default_rng(11).normal(size=(3, 40))
    assert_allclose(st.dispersion_across_time(range(40), x), scipy.stats.iqr(np.diff(x), axis=1))
    with pytest.raises(ValueError, match=r"window must be in \[1, points - 1 = 4\]"):
        st.dispersion_across_time(range(5), y, window=5)


def test_short_and_long_term_risk_by_hand() -> None:
    y = [0.0, 1.0, 3.0, 2.0, 6.0]
    # d = [1 2 -1 4]; alpha 0.05: VaR at index 0.15 -> -1 + 0.15·2 = -0.7: mean(-1) = -1
    assert st.short_term_risk(range(5), y) == -1.0
    # alpha 0.5: VaR = median 1.5 -> mean(1, -1) = 0
    assert st.short_term_risk(range(5), y, alpha=0.5) == 0.0
    z = [0.0, 4.0, 1.0, 3.0, 5.0, 2.0]  # drawdown [0 0 3 1 0 3]
    # alpha 0.05: upper VaR at index 4.75 of [0 0 0 1 3 3] = 3 -> mean(3, 3) = 3
    assert st.long_term_risk(z) == 3.0
    # alpha 0.5: VaR = 0.5 -> mean(3, 1, 3) = 7/3
    assert st.long_term_risk(z, alpha=0.5) == pytest.approx(7 / 3)
    # The library's LowerCVaROnDrawdown: lower tail of the drawdown = mean of zeros.
    assert st.cvar(st.drawdown(z), 0.05, tail="lower") == 0.0
    # per run, with a NaN run and curve-range normalisation (range of z: 95th pct 4.75 - 0)
    out = st.long_term_risk([z, [1.0, np.nan, 2.0, 3.0, 4.0, 5.0]], normalise="curve_range")
    assert_allclose(out, [3.0 / 4.75, np.nan])


def test_dispersion_and_risk_across_runs() -> None:
    # IQR of [0 2 4] at each point: p25 = 1, p75 = 3 -> 2
    assert_allclose(
        st.dispersion_across_runs([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], cutoff=None), [2, 2]
    )
    # Ramps offset by c = [0 2 4] on 300 points: the filter is linear with DC gain 1, so the
    # offsets survive it exactly and DR = IQR(c) = 2; each range = 10 · (0.95 · 299 / 299) = 9.5
    ramp = np.linspace(0.0, 10.0, 300)
    curves = np.array([0.0, 2.0, 4.0])[:, None] + ramp
    assert_allclose(st.dispersion_across_runs(curves), 2.0, rtol=1e-9)
    assert_allclose(st.dispersion_across_runs(curves, normalise="curve_range"), 2 / 9.5, rtol=1e-9)
    with_nan = curves.copy()
    with_nan[1, 5] = np.nan
    assert np.all(np.isnan(st.dispersion_across_runs(with_nan)))
    # RR: final values 1..20; alpha 0.25: VaR at index 4.75 -> 5.75: mean(1..5) = 3
    final = np.arange(1.0, 21.0)[:, None]
    assert st.risk_across_runs(final, alpha=0.25) == 3.0
    assert st.risk_across_runs(final) == 1.0  # alpha 0.05, as in cvar above
    # curve_range per run: [0, 2] and [0, 4] have ranges 1.9 and 3.8; finals 2/1.9 = 4/3.8
    assert st.risk_across_runs([[0.0, 2.0], [0.0, 4.0]], normalise="curve_range") == pytest.approx(
        2 / 1.9
    )
    with pytest.raises(
        ValueError, match=r"curves must have shape \(runs, points\).*got shape \(4,\)"
    ):
        st.dispersion_across_runs(np.zeros(4))


def test_lowpass_filter_rules() -> None:
    # A constant passes unchanged (the library's (b, a) form returns it 1 % low).
    const = np.full(400, 3.0)
    assert_allclose(st.lowpass_filter(const), 3.0, rtol=1e-9)
    b, a = scipy.signal.butter(8, 0.01)
    assert abs(scipy.signal.filtfilt(b, a, const, padlen=27)[200] - 3.0) > 0.02
    # A fast oscillation (a quarter of Nyquist, amplitude 1) is removed away from the ends
    # (< 3 % left); near an end the output tends to the end value, as filtfilt's odd padding
    # is anchored there.
    fast = np.sin(np.pi * 0.25 * np.arange(1000))
    assert np.abs(st.lowpass_filter(fast)[300:700]).max() < 0.05
    # Short-curve rule: fewer than ceil(2 / cutoff) = 200 points -> unfiltered, with a warning.
    short = np.random.default_rng(12).normal(size=(3, 50))
    with pytest.warns(UserWarning, match=r"50 points, fewer than ceil\(2 / cutoff\) = 200"):
        assert_array_equal(st.lowpass_filter(short), short)
    with pytest.warns(UserWarning):
        assert_allclose(
            st.dispersion_across_runs(short), st.dispersion_across_runs(short, cutoff=None)
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        st.lowpass_filter(np.zeros((2, 200)))  # exactly the limit: filtered, no warning


# --------------------------------------------------------------------------- fluctuating rewards


def test_regime_drop_and_recovery_by_hand() -> None:
    t = np.arange(10) * 10
    y = np.array([10, 10, 10, 4, 2, 6, 9, 10, 10, 10.0])
    # L = mean(10, 10, 10) = 10; lowest after t = 30 is 2 -> drop 8. tau = 0.05 · 10 = 0.5:
    # back to >= 9.5 after the trough (t = 40) first at t = 70 -> 70 - 30 = 40 steps
    assert mt.regime_drop_and_recovery(t, y, 30) == (8.0, 40.0)
    # tau = 0.1 · 10 = 1: 9 >= 9 at t = 60 -> 30 steps
    assert mt.regime_drop_and_recovery(t, y, 30, rtol=0.1) == (8.0, 30.0)
    # never leaves the band [9.5, inf): recovery 0; the small dip still counts as drop 0.2
    drop, rec = mt.regime_drop_and_recovery(t[:5], [10, 10, 10, 9.8, 10.0], 30)
    assert (drop, rec) == (pytest.approx(0.2), 0.0)
    # a curve that rises after the switch has no drop
    assert mt.regime_drop_and_recovery(t[:5], [1, 1, 1, 5, 6.0], 30) == (0.0, 0.0)
    # negative returns: L = -200, tau = 0.05 · 200 = 10 -> back at >= -210: -205 at t = 50
    neg = [-200, -200, -200, -400, -300, -205.0]
    assert mt.regime_drop_and_recovery(t[:6], neg, 30) == (200.0, 20.0)
    # several runs at once, one never recovers, one has a NaN after the switch
    drop, rec = mt.regime_drop_and_recovery(
        t[:6], [neg, [-200, -200, -200, -400, -300, -250.0], [0, 0, 0, np.nan, 0, 0.0]], 30
    )
    assert_allclose(drop, [200.0, 200.0, np.nan])
    assert_allclose(rec, [20.0, np.nan, np.nan])
    with pytest.raises(ValueError, match="needs eval points before and after"):
        mt.regime_drop_and_recovery(t, y, 0)


def test_regime_switch_effects() -> None:
    t = np.arange(6) * 10
    # switch 20: L = y[1] = 5, after [20, 40) = [1 5]: drop 4, back at t = 30 -> 10 steps;
    # switch 40: L = y[3] = 5, after = [2 2]: drop 3, never back -> NaN
    drops, rec = mt.regime_switch_effects(t, [[5, 5, 1, 5, 2, 2.0]], [20, 40], window=1)
    assert_allclose(drops, [[4.0, 3.0]])
    assert_allclose(rec, [[10.0, np.nan]])
    with pytest.raises(ValueError, match="switch_steps must have shape"):
        mt.regime_switch_effects(t, [5, 5, 1, 5, 2, 2.0], [40, 20])


def test_switch_summary_keeps_never_recovered_switches_as_censored() -> None:
    t = np.arange(8) * 10  # evaluations at 0..70, budget 80; switches at 20 and 50
    # run 0: switch 20: L = 5, regime [20, 50) = [1 5 5]: drop 4, back at 30 -> 10 steps;
    #        switch 50: L = 5, regime [50, 80) = [2 2 2]: drop 3, never back -> 80 - 50 = 30
    # run 1: never leaves the band: drops 0, recoveries 0
    # run 2: NaN inside the first regime: only the second switch is scored (drop 0, 0 steps)
    curves = [[5, 5, 1, 5, 5, 2, 2, 2.0], [5.0] * 8, [5, 5, np.nan, 5, 5, 5, 5, 5.0]]
    s = mt.switch_summary(t, curves, [20, 50], 80, window=1)
    assert_allclose(s.drop, [3.5, 0.0, 0.0])
    assert_allclose(s.recovery, [20.0, 0.0, 0.0])  # (10 + 30) / 2: the censored one counts
    assert (s.recovered, s.scored) == (4, 5)  # 2 + 2 + 1 scored, one never recovered
    # the plain mean of regime_switch_effects drops the never-recovered switch instead
    assert np.nanmean(mt.regime_switch_effects(t, curves[:1], [20, 50], window=1)[1]) == 10.0
    # a switch with no evaluation in its regime (or after the curve) is not scored
    s = mt.switch_summary(t, curves[:1], [20, 50, 75], 80, window=1)
    assert (s.recovered, s.scored) == (1, 2) and s.recovery[0] == pytest.approx((10 + 25) / 2)
    # a run with no scored switch: NaN, not 0
    assert np.isnan(mt.switch_summary(t, [[np.nan] * 8], [20], 80).drop[0])


def test_sensitivity() -> None:
    # Pendulum-like range [-1500, -150], width 1350. perturbed -600 -> 900/1350 = 2/3;
    # clean -300 -> 1200/1350 = 8/9; ratio (2/3) / (8/9) = 0.75. Second seed: 0 / (2/3) = 0.
    lo, hi = -1500.0, -150.0
    assert_allclose(
        mt.sensitivity([-600.0, -1500.0], [-300.0, -600.0], low=lo, high=hi), [0.75, 0.0]
    )
    # difference: 2/3 - 8/9 = -2/9
    assert_allclose(
        mt.sensitivity([-600.0], [-300.0], kind="difference", low=lo, high=hi), [-2 / 9]
    )
    # a clean seed at the low reference has no meaningful ratio
    assert_allclose(mt.sensitivity([-600.0], [-1500.0], low=lo, high=hi), [np.nan])
    # raw returns (no range): 50 / 100, 100 / 100; a negative denominator gives NaN
    assert_allclose(mt.sensitivity([50.0, 100.0, 5.0], [100.0, 100.0, -5.0]), [0.5, 1.0, np.nan])
    # ratio of means: mean(2, 4) / mean(4, 4) = 3 / 4; difference 3 - 4 = -1
    assert mt.sensitivity_of_means([2.0, 4.0], [4.0, 4.0]) == 0.75
    assert mt.sensitivity_of_means([2.0, 4.0], [4.0, 4.0], kind="difference") == -1.0
    # per task: (seeds, tasks) -> (tasks,)
    assert_allclose(mt.sensitivity_of_means([[1.0, 1.0]], [[2.0, 4.0]]), [0.5, 0.25])
    with pytest.raises(ValueError, match=r"same shape.*got \(2,\) and \(3,\)"):
        mt.sensitivity([1.0, 2.0], [1.0, 2.0, 3.0])


def test_sensitivity_of_means_ci_resamples_seeds_in_pairs() -> None:
    # seeds of very different levels, each losing 20 %: pairs resampled together keep the
    # ratio at 0.8 in every resample; resampling the two sides apart would not
    clean = np.array([100.0, 400.0, 900.0, 1600.0])
    ci = mt.sensitivity_of_means_ci(0.8 * clean, clean, reps=500, rng=0)
    assert ci.point == pytest.approx(0.8) and ci.low == pytest.approx(0.8)
    assert ci.high == pytest.approx(0.8)
    # noisy pairs: the point is the ratio of the normalised means, inside its interval, and
    # the same seed gives the same interval
    rng = np.random.default_rng(1)
    clean = rng.uniform(600, 900, 20)
    dosed = clean * rng.uniform(0.5, 1.0, 20)
    ci = mt.sensitivity_of_means_ci(dosed, clean, low=0.0, high=1000.0, reps=1000, rng=3)
    assert ci.point == pytest.approx(dosed.mean() / clean.mean())
    assert ci.low < ci.point < ci.high < 1
    assert ci == mt.sensitivity_of_means_ci(dosed, clean, low=0.0, high=1000.0, reps=1000,
                                            rng=3)
    # a clean mean at or below the low reference has no ratio
    assert math.isnan(mt.sensitivity_of_means_ci([1.0], [-1.0], reps=10).point)
    with pytest.raises(ValueError, match="non-empty"):
        mt.sensitivity_of_means_ci([[1.0]], [[1.0]])


def test_lr_oscillations_and_fraction_at_bound() -> None:
    # steps + + - (flat) - +: direction changes + -> - and - -> + : 2
    assert mt.lr_oscillations([1, 2, 3, 2, 2, 1, 3]) == 2
    # triangular cycles 1 2 3 2 1 2 3 2 1: changes at both 3s and at the 1 between: 3
    # a monotone cosine decay: 0; changes below rtol are flat: 0; a single value: 0
    traces = [
        [1, 2, 3, 2, 1, 2, 3, 2, 1],
        list(np.cos(np.linspace(0, np.pi / 2, 9)) + 1),
        [1, 1 + 1e-9, 1, 1 + 1e-9, 1, 1, 1, 1, 1],
    ]
    assert_array_equal(mt.lr_oscillations(traces), [3, 0, 0])
    assert mt.lr_oscillations([3e-4]) == 0
    # at low: 1e-6 twice; at high: 1e-2 once -> 3 of 4
    assert mt.fraction_at_bound([1e-6, 1e-6, 5e-4, 1e-2], low=1e-6, high=1e-2) == 0.75
    # beyond a bound counts; within rtol counts; only a low bound
    assert mt.fraction_at_bound([5e-7, 1e-6 * (1 + 1e-9), 1e-5, 1e-5], 1e-6, None) == 0.5
    assert_allclose(mt.fraction_at_bound([[1.0, 2.0], [2.0, 2.0]], None, 2.0), [0.5, 1.0])
    with pytest.raises(ValueError, match="lr_trace must be finite"):
        mt.lr_oscillations([1.0, np.nan])
    with pytest.raises(ValueError, match="needs low or high"):
        mt.fraction_at_bound([1.0], None, None)


def test_divergence_rate() -> None:
    # k = 0 of n = 10, z = 1.959964 (z² = 3.841459): denom = 1 + 0.3841459 = 1.3841459,
    # centre = (3.841459 / 20) / 1.3841459 = 0.1387664,
    # half = z / 1.3841459 · sqrt(3.841459 / 400) = 0.1387664 -> [0, 0.2775328]
    ci = mt.divergence_rate(np.zeros(10, dtype=bool))
    assert ci.point == 0.0 and ci.low == 0.0 and ci.high == pytest.approx(0.2775328, abs=1e-7)
    for k, n in [(1, 4), (3, 17), (20, 20)]:
        d = np.arange(n) < k
        ref = scipy.stats.binomtest(k, n).proportion_ci(method="wilson")
        assert mt.divergence_rate(d)[1:] == pytest.approx((ref.low, ref.high))
    with pytest.raises(ValueError, match="non-empty array of booleans"):
        mt.divergence_rate([0.5, 1.0])


def test_single_curve_and_single_run_shapes() -> None:
    t, y = [0, 1, 2, 3], [0.0, 2.0, 1.0, 3.0]
    assert np.ndim(mt.area_under_curve(t, y)) == 0
    assert np.shape(st.short_term_risk(t, [y])) == (1,)
    assert np.shape(st.dispersion_across_time(t, np.zeros((2, 5, 4)))) == (2, 5)
    # across runs with one run: IQR 0, the CVaR is that run's final value
    assert_allclose(st.dispersion_across_runs([y], cutoff=None), 0.0)
    assert st.risk_across_runs([y]) == 3.0


# --------------------------------------------------------------------------- named definitions


def test_the_median_of_runs_is_not_rliables_median_of_task_means() -> None:
    # one task, runs 1, 2, 30: the median over runs is 2; rliable's median of the one task's
    # mean is the mean, 11 (what metrics.csv's final_median was before it was defined)
    x = np.array([[1.0], [2.0], [30.0]])
    assert mt.median_of_runs(x) == 2.0
    assert mt.aggregate({"a": x}, "median")["a"] == pytest.approx(11.0)
    # two tasks: all runs x tasks pooled, median of (1, 2, 30, 4, 5, 6) = 4.5
    assert mt.median_of_runs([[1.0, 4.0], [2.0, 5.0], [30.0, 6.0]]) == 4.5
    ci = mt.stratified_bootstrap_ci(x, mt.median_of_runs, reps=200, rng=0)
    assert ci.point == 2.0 and 1.0 <= ci.low <= 2.0 <= ci.high <= 30.0
    with pytest.raises(ValueError, match="finite"):
        mt.median_of_runs([1.0, math.nan])


@pytest.mark.parametrize("runs", [5, 10, 32, 33])
def test_the_batched_median_of_runs_bootstraps_exactly_as_one_call_per_resample(
        runs: int) -> None:
    """rl_lr.metrics.bootstrap.BATCHED_ESTIMATORS: the batched form gives the same bits."""
    x = np.random.default_rng(runs).normal(size=(runs, 1)) * 100
    batched = mt.stratified_bootstrap_ci(x, mt.median_of_runs, reps=500, rng=1)
    saved = dict(bootstrap.BATCHED_ESTIMATORS)
    bootstrap.BATCHED_ESTIMATORS.clear()
    try:
        per_resample = mt.stratified_bootstrap_ci(x, mt.median_of_runs, reps=500, rng=1)
    finally:
        bootstrap.BATCHED_ESTIMATORS.update(saved)
    assert mt.median_of_runs in bootstrap.BATCHED_ESTIMATORS
    assert batched == per_resample


def test_how_many_values_a_cvar_tail_averages() -> None:
    # upper tail, alpha 0.05: the values at or above the 95th percentile (linear interpolation)
    for n in (2, 5, 11, 20, 21, 22, 40, 41, 100):
        x = np.arange(float(n))
        in_tail = int(np.sum(x >= np.percentile(x, 95)))
        assert st.tail_points(n) == in_tail, n
        assert mt.cvar(x, tail="upper") == pytest.approx(x[-in_tail:].mean())
    assert st.tail_points(11) < mt.MIN_TAIL_POINTS <= st.tail_points(21)  # 21 points needed
    assert st.tail_points(0) == 0 and st.tail_points(4, alpha=0.5) == 2


def test_verdict_words() -> None:
    assert mt.verdict(0.51, 0.9, 0.83) == "better"
    assert mt.verdict(0.0, 0.49, 0.83) == "worse"
    assert mt.verdict(0.5, 0.9, 0.83) == "no difference detectable at this power (P >= 0.83 needed)"
    assert mt.verdict(0.2, 0.5, 0.7, ceiling=True).startswith("no win possible")
    assert mt.verdict(0.1, 0.45, 0.7, ceiling=True) == "worse"  # worse stays worse
