"""One run: what it is asked to do (:mod:`.config`), training it (:mod:`.train`) with its
callbacks (:mod:`.callbacks`): the rows it records (:mod:`.recorder`), the LR of every
update (:mod:`.lr_trace`), the divergence rule
(:mod:`.divergence`), resumable checkpoints (:mod:`.checkpoint`) and the console progress bar
(:mod:`.console`); its ``summary.json`` (:mod:`.summary`)."""

from rl_lr.run.config import TrainConfig, resolve_agent, resolve_document
from rl_lr.run.summary import summarize
from rl_lr.run.train import RunResult, resume, train

__all__ = ["RunResult", "TrainConfig", "resolve_agent", "resolve_document", "resume",
           "summarize", "train"]
