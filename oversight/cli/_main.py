"""The dispatcher: builds the parser from the subcommand modules and runs one."""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from oversight._gc import fewer_collections
from oversight.cli._console import plain_streams

__all__ = ["SUBCOMMANDS", "build_parser", "entry", "main"]

# The commands, in the order `oversight --help` lists them.
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
    "import",
    "export",
    "datasets",
)
_MODULES = {"import": "imports"}
"""The commands whose module is named otherwise (``import`` is a Python keyword)."""


def build_parser(*, only: str | None = None) -> argparse.ArgumentParser:
    """The full argument parser; with ``only``, just that subcommand's (its module alone is
    imported: each subcommand's imports are its own, and a command pays only for its own).

    A subcommand's module is light: its options, with what its handler needs imported in
    the handler, so ``oversight --help`` and ``oversight COMMAND --help`` load no run store,
    model, endpoint or statistics (``tests/cli/test_help_startup.py``)."""
    parser = argparse.ArgumentParser(
        prog="oversight",
        description=(
            "Scalable-oversight experiments: run protocols between LLM endpoints, judge "
            "the transcripts with LLMs and people, and report whether assistance helps."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS if only is None else (only,):
        module = importlib.import_module(f"oversight.cli.{_MODULES.get(name, name)}")
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``oversight`` console script."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=words[0] if words and words[0] in SUBCOMMANDS else None)
    args = parser.parse_args(words)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    # Imported once the command line parses: `--help` and a parse error need neither.
    from rich.console import Console
    from rich.markup import escape

    from transcripts.errors import OversightError

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


def entry() -> NoReturn:
    """The ``oversight`` console script and ``python -m oversight.cli``: :func:`main`, then
    an exit that skips tearing down every module and object the command loaded (medians
    here: 0.04 s off ``show``, 0.14 s off ``report``, 0.31 s off the quickstart ``run``;
    ``benchmarks/bench_cli_exit.py``, BENCHMARKS.md).

    The command runs with fewer collections of the youngest generation
    (:func:`oversight._gc.fewer_collections`: a quarter of a run's CPU went to the
    collector), its imports included.

    At the end it does the rest of what the interpreter does at exit: the ``atexit``
    handlers run (the response cache writes what is pending, local model servers stop,
    ``multiprocessing`` and ``logging`` finish), then the standard streams are flushed.
    Nothing the framework writes waits for the teardown: every record is on disk when
    written, since a run must survive ``kill -9`` at any moment. Where a thread that is not
    a daemon is still running, the interpreter's own exit (which waits for it) is used
    instead.
    """
    plain_streams()  # an ASCII-only stdout gets plain text, not a UnicodeEncodeError
    with fewer_collections():  # its imports and its work, the run's calls above all
        code = main()
    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(t.is_alive() and not t.daemon for t in others):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`oversight show | head`): nothing to do
            pass
    os._exit(code)
