"""Console helpers shared by the subcommands (light: no subcommand's own imports)."""

from __future__ import annotations

import argparse
import os
import re
import sys

__all__ = ["add_bootstrap_options", "help_text", "wide_when_piped"]


def help_text(docstring: str | None) -> str:
    """A module docstring as ``--help`` shows it: without reStructuredText markup (double
    backticks, ``:mod:`x``` roles), which a terminal prints as it is written."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", docstring or "")
    return text.replace("``", "")


def wide_when_piped() -> int | None:
    """A console width: the terminal's, or 200 columns when piped (wide tables beat squeezed
    ones in files and pagers), unless ``COLUMNS`` says otherwise."""
    return None if sys.stdout.isatty() or "COLUMNS" in os.environ else 200


def add_bootstrap_options(parser: argparse.ArgumentParser) -> None:
    """``--bootstrap N`` and ``--seed``, as every command that resamples takes them."""
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=2000,
        metavar="N",
        help="bootstrap resamples per interval (default: 2000)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed of the bootstrap (default: 0)"
    )
