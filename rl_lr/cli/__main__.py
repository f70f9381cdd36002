"""``python -m rl_lr.cli``: the same as the ``rl-lr`` console script."""

import sys

from rl_lr.cli.main import main

sys.exit(main())
