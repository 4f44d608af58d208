"""Console helpers shared by the subcommands (light: no subcommand's own imports)."""

from __future__ import annotations

import os
import sys

__all__ = ["wide_when_piped"]


def wide_when_piped() -> int | None:
    """A console width: the terminal's, or 200 columns when piped (wide tables beat squeezed
    ones in files and pagers), unless ``COLUMNS`` says otherwise."""
    return None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200
