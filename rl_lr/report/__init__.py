"""The report of an experiment directory: its figures (:mod:`.figures`), headline tables in
Markdown (:mod:`.tables`) and the HTML page (:mod:`.html`)."""

from rl_lr.report.html import Report, reproduce_commands, write_report

__all__ = ["Report", "reproduce_commands", "write_report"]
