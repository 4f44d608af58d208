"""The dispatcher: builds the parser from the subcommand modules and runs one."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from transcripts.errors import OversightError

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

# In the order `oversight --help` lists them.
SUBCOMMANDS = (
    "run",
    "rejudge",
    "judge",
    "rate",
    "show",
    "report",
    "plan",
    "gdc",
    "stress",
    "monitor",
    "unseal",
    "imports",
    "export",
    "datasets",
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = argparse.ArgumentParser(
        prog="oversight",
        description=(
            "Scalable-oversight experiments: run protocols between LLM endpoints, judge "
            "the transcripts with LLMs and people, and report whether assistance helps."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"oversight.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"oversight.cli.{name}":
                raise
            continue  # not built yet
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``oversight`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        code: int = handler(args)
    except OversightError as err:
        # soft_wrap: a long path or id in the message is never cut in two by a line break
        Console(stderr=True).print(
            f"[bold red]error:[/bold red] {escape(str(err))}", highlight=False, soft_wrap=True
        )
        return 1
    except KeyboardInterrupt:
        Console(stderr=True).print("interrupted; everything saved so far is kept")
        return 130
    return code
