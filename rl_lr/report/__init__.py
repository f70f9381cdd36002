"""The report of an experiment directory: its figures (:mod:`.figures`), headline tables in
Markdown (:mod:`.tables`) and the HTML page (:mod:`.html`, its sections: :mod:`.sections`)."""

from rl_lr.report.html import Report, write_report
from rl_lr.report.sections import reproduce_commands

__all__ = ["Report", "reproduce_commands", "write_report"]
