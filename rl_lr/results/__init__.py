"""Results: an experiment directory's files -- collected from the finished runs
(:mod:`.collect`, :mod:`.group_metrics`) and read back once for figures, tables and the report
(:mod:`.load`)."""

from rl_lr.results.collect import collect
from rl_lr.results.load import (
    CURVE_METRICS,
    REPS,
    SEED,
    Curves,
    Panel,
    Results,
    ResultsError,
    ScoreTable,
    load_results,
    name_seed,
)

__all__ = ["CURVE_METRICS", "REPS", "SEED", "Curves", "Panel", "Results", "ResultsError",
           "ScoreTable", "collect", "load_results", "name_seed"]
