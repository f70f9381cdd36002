"""The ``rl-lr`` command: the top layer, one module per command family (:mod:`.main` parses
and dispatches; :mod:`.train`, :mod:`.bench`, :mod:`.report`, :mod:`.tune`, :mod:`.demo`)."""

from rl_lr.cli.main import main

__all__ = ["main"]
