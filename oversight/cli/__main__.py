"""``python -m oversight.cli``: the same as the ``oversight`` console script."""

from oversight.cli import entry

entry()
