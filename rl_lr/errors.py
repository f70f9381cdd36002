"""The error types every layer raises; the bottom of the package (it imports nothing of rl-lr).

- :class:`SpecError`: a spec, argument, file or combination is wrong. Its message is one line
  naming what is wrong and what is allowed; the CLI prints it and exits with code 2.
- :class:`UsageError`: a mistake on the command line (a flag, a path, a plugin to import);
  also one line, exit code 2.

    >>> str(SpecError("lr must be > 0, got -1"))
    'lr must be > 0, got -1'
"""

from __future__ import annotations

__all__ = ["EXIT_USAGE", "SpecError", "UsageError"]

EXIT_USAGE = 2  # the CLI's exit code for every error in what the user asked for


class SpecError(ValueError):
    """A spec (string, mapping or constructor call) is malformed or out of range.

    The message is one line: what is wrong, and what is allowed.
    """


class UsageError(Exception):
    """A mistake in the command line; printed as one line, exit code 2."""
