"""rl_lr.metrics.power: the power of "P(X > Y)'s 95 % CI lies above 0.5", by simulation with
the report's own bootstrap.

Tolerances come from the simulation size: a simulated power p from ``sims`` experiments has a
standard error sqrt(p (1 - p) / sims); the checks allow 3 of them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rl_lr.metrics import power as pw
from rl_lr.metrics import probability_of_improvement_ci
from rl_lr.metrics.resampling import named_streams

SIMS = 1000


def _tolerance(p: float, sims: int = SIMS) -> float:
    return 3 * math.sqrt(p * (1 - p) / sims)


@pytest.mark.parametrize(("n", "low", "high"), [(10, 0.37, 0.37), (30, 0.77, 0.80)])
def test_the_design_notes_reference_points(n: int, low: float, high: float) -> None:
    """DESIGN.md §6: P(X > Y) = 0.7 is resolved ~37 % of the time with 10 runs a side and
    ~77-80 % with 30."""
    got = pw.power(0.7, n, n, sims=SIMS, rng=0)
    assert low - _tolerance(low) <= got <= high + _tolerance(high)


def test_each_simulated_ci_is_the_reports_bootstrap() -> None:
    """Simulated experiment k draws from named_streams(rng)(str(k)): x's scores, y's, then
    the resamples probability_of_improvement_ci draws from the same generator."""
    n_x, n_y, reps, p = 4, 6, 300, 0.7
    lows = pw.simulated_lower_bounds(p, n_x, n_y, sims=5, reps=reps, rng=3)
    stream = named_streams(3)
    for k, low in enumerate(lows):
        gen = stream(str(k))
        x = gen.standard_normal(n_x) + pw.shift_for(p)
        y = gen.standard_normal(n_y)
        ci = probability_of_improvement_ci(x[:, None], y[:, None], reps=reps, rng=gen)
        assert low == ci.low


def test_the_shift_makes_p_true_the_probability_of_improvement() -> None:
    gen = np.random.default_rng(0)
    x = gen.standard_normal(200_000) + pw.shift_for(0.7)
    y = gen.standard_normal(200_000)
    assert np.mean(x > y) == pytest.approx(0.7, abs=0.005)


def test_power_grows_with_p_and_reads_off_the_critical_shifts() -> None:
    shifts = pw.critical_shifts(5, 8, sims=300, reps=500, rng=1)
    got = [pw.power(p, 5, 8, sims=300, reps=500, rng=1) for p in (0.55, 0.7, 0.85, 0.95)]
    assert got == sorted(got) and got[0] < got[-1]
    assert got == [np.mean(shifts < pw.shift_for(p)) for p in (0.55, 0.7, 0.85, 0.95)]


def test_no_difference_is_rarely_detected() -> None:
    """Under P = 0.5 the CI misses 0.5 from above about 2.5 % of the time."""
    assert pw.power(0.5, 10, 10, sims=400, rng=2) <= 0.025 + _tolerance(0.025, 400)


def test_min_detectable_p_has_the_requested_power() -> None:
    p = pw.min_detectable_p(6, 6, 0.8, sims=400, reps=500, rng=4)
    assert 0.5 < p < 1
    assert pw.power(p + 1e-6, 6, 6, sims=400, reps=500, rng=4) >= 0.8
    assert pw.power(p - 1e-3, 6, 6, sims=400, reps=500, rng=4) < 0.8


def test_one_run_a_side_detects_exactly_when_x_beats_y() -> None:
    """With n = 1 the CI is the point, so power = p and 80 % power needs P = 0.8."""
    assert pw.min_detectable_p(1, 1, sims=SIMS, rng=0) == pytest.approx(0.8, abs=_tolerance(0.8))
    assert pw.power(0.3, 1, 1, sims=SIMS, rng=0) == pytest.approx(0.3, abs=_tolerance(0.3))


def test_seeded_and_independent_of_the_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    first = pw.simulated_lower_bounds(0.7, 3, 4, sims=7, reps=50, rng=5)
    assert np.array_equal(first, pw.simulated_lower_bounds(0.7, 3, 4, sims=7, reps=50, rng=5))
    monkeypatch.setattr(pw, "ELEMENTS_PER_CHUNK", 1)
    assert np.array_equal(first, pw.simulated_lower_bounds(0.7, 3, 4, sims=7, reps=50, rng=5))
    assert isinstance(pw.power(0.7, 3, 4, sims=7, reps=50, rng=np.random.default_rng(0)), float)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: pw.power(0.0, 10, 10, rng=0), "p_true must be a probability in (0, 1), got 0.0"),
    (lambda: pw.power(1.0, 10, 10, rng=0), "p_true must be a probability in (0, 1), got 1.0"),
    (lambda: pw.power(0.7, 0, 10, rng=0), "n_x must be an integer >= 1, got 0"),
    (lambda: pw.power(0.7, 10, 2.5, rng=0),  # type: ignore[arg-type]
     "n_y must be an integer >= 1, got 2.5"),
    (lambda: pw.power(0.7, 10, 10, sims=0, rng=0), "sims must be an integer >= 1, got 0"),
    (lambda: pw.power(0.7, 10, 10, reps=0, rng=0), "reps must be >= 1, got 0"),
    (lambda: pw.power(0.7, True, 10, rng=0), "n_x must be an integer >= 1, got True"),
    (lambda: pw.min_detectable_p(10, 10, 1.0, rng=0),
     "power must be a probability in (0, 1), got 1.0"),
    (lambda: pw.min_detectable_p(10, 10, confidence=1.5, rng=0),
     "confidence must be in (0, 1), got 1.5"),
])
def test_bad_inputs_are_one_line_value_errors(call: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        call()  # type: ignore[operator]
    assert str(err.value) == message and "\n" not in str(err.value)
