"""What every command's parser shares: the parser class whose errors are one line (exit 2)
and the argument types.

    >>> positive_int("3")
    3
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from rl_lr.errors import UsageError

__all__ = ["Parser", "positive_int"]


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` (one line, exit code 2)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def positive_int(text: str) -> int:
    """An ``argparse`` type: an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value
