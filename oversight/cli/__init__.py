"""The ``oversight`` command line: one module per subcommand, dispatched by :func:`main`.

Each subcommand module exposes ``add_parser(subparsers)``, which registers its parser
and sets ``handler`` (``run(args) -> int``) as a default.
"""

from oversight.cli._main import entry, main

__all__ = ["entry", "main"]
