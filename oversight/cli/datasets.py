"""``oversight datasets fetch NAME``: the one explicit download of a Hugging Face dataset.

Runs never download; this saves every split of ``NAME`` where ``loader = "hf"`` with
``name = NAME`` finds it (``$OVERSIGHT_DATASETS``, default ``~/.cache/oversight/datasets``).
Needs the ``hf`` extra.
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``datasets`` on the dispatcher's subparsers."""
    parser = subparsers.add_parser(
        "datasets",
        help="fetch a Hugging Face dataset once, for runs that read it offline",
        description=(
            "Download a Hugging Face dataset (every split) and save it where experiments "
            'with loader = "hf" and name = NAME read it. Runs themselves never download. '
            "Needs the hf extra: pip install 'oversight[hf]'."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    fetch_parser = actions.add_parser(
        "fetch",
        help="download and save NAME",
        description=(
            "Download every split of the Hugging Face dataset NAME and save it under "
            "$OVERSIGHT_DATASETS (default ~/.cache/oversight/datasets), where experiments "
            'with loader = "hf" and name = NAME read it offline. Needs the network and the '
            "hf extra: pip install 'oversight[hf]'."
        ),
    )
    fetch_parser.add_argument("name", metavar="NAME", help="hub name, e.g. cais/mmlu")
    fetch_parser.add_argument(
        "--config", default=None, help="the dataset's configuration (subset), e.g. all"
    )
    fetch_parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Fetch and save; print where it went."""
    from rich.console import Console
    from rich.markup import escape

    from oversight.datasets.hf import fetch

    target = fetch(args.name, config=args.config)
    Console().print(f"saved {escape(args.name)} to {escape(str(target))}", highlight=False)
    return 0
