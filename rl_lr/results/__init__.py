"""Results: an experiment directory's files (named in :mod:`rl_lr.schema`) -- collected from
the finished runs (:mod:`.collect`, :mod:`.group_metrics`) and read back once for figures,
tables and the report (:mod:`.load`, :mod:`.score_table`), every run scored by the rules of
:mod:`.scores`."""

from rl_lr.results.collect import collect
from rl_lr.results.load import (
    CURVE_METRICS,
    DIAGNOSTIC_METRICS,
    Curves,
    Results,
    ResultsError,
    load_results,
)
from rl_lr.results.score_table import ScoreTable
from rl_lr.results.scores import REPS, SEED, Panel, name_seed

__all__ = ["CURVE_METRICS", "DIAGNOSTIC_METRICS", "REPS", "SEED", "Curves", "Panel", "Results",
           "ResultsError", "ScoreTable", "collect", "load_results", "name_seed"]
