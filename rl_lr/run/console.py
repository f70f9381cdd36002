"""A small progress bar for single runs (no dependency): steps, steps/s, last observed
return, last clean evaluation return and the current LR, on one refreshed stderr line.

It stays silent when disabled (``--quiet``) or when the stream is not a terminal, and it
refreshes at most every ``interval`` seconds, so it never slows training down.

Example:
    >>> import io
    >>> bar = ProgressBar(1000, stream=io.StringIO())  # not a terminal: silent
    >>> bar.enabled
    False
"""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]


def _number(value: float | None, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, fmt)


class ProgressBar:
    """One-line progress display on ``stream`` (stderr by default).

    Args:
        total: the run's budget in env steps.
        enabled: False silences it; it is also silent when ``stream`` is not a TTY.
        stream: where to draw.
        interval: minimum seconds between refreshes.
    """

    def __init__(self, total: int, enabled: bool = True, stream: TextIO | None = None,
                 interval: float = 0.25) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval
        self._last_draw = -math.inf
        self._start = time.monotonic()
        self._start_steps: int | None = None
        self.train_return: float | None = None
        self.eval_return: float | None = None
        self.lr: float | None = None

    def due(self) -> bool:
        """Whether :meth:`update` would redraw now (lets callers skip computing figures)."""
        return self.enabled and time.monotonic() - self._last_draw >= self.interval

    def update(self, steps: int, force: bool = False) -> None:
        """Redraw for ``steps`` done (throttled unless ``force``)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if self._start_steps is None:
            self._start_steps, self._start = steps, now
        if not force and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        rate = (steps - self._start_steps) / max(now - self._start, 1e-9)
        frac = min(steps / self.total, 1.0) if self.total else 1.0
        filled = int(frac * 20)
        line = (
            f"[{'#' * filled}{'.' * (20 - filled)}] {steps:,}/{self.total:,} steps "
            f"{rate:,.0f}/s  return {_number(self.train_return, '.4g')}  "
            f"eval {_number(self.eval_return, '.4g')}  lr {_number(self.lr, '.3g')}"
        )
        self.stream.write("\r" + line[:150].ljust(100))
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line (if anything was drawn)."""
        if self.enabled and self._last_draw > -math.inf:
            self.stream.write("\n")
            self.stream.flush()
