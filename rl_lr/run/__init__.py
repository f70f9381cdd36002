"""One run: what it is asked to do (:mod:`.config`), training it with its callbacks
(:mod:`.train`, :mod:`.recorder`), resumable checkpoints (:mod:`.checkpoint`), the console
progress bar (:mod:`.console`) and its ``summary.json`` (:mod:`.summary`)."""

from rl_lr.run.config import TrainConfig, resolve_agent, resolve_document
from rl_lr.run.summary import summarize
from rl_lr.run.train import RunResult, resume, train

__all__ = ["RunResult", "TrainConfig", "resolve_agent", "resolve_document", "resume",
           "summarize", "train"]
