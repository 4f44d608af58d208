"""``oversight import SOURCE PATH --out DIR``: bring an existing human-judging dataset in.

Sources:

* ``nyu-debate`` — the NYU human-debate dataset (Michael et al. 2023): every room becomes a
  transcript with its live and offline judges' judgments, or is listed as skipped with the
  reason in ``DIR/import-skipped.jsonl``. Importing again into the same folder adds only
  what is missing.
* ``inspect`` — an Inspect ``.eval`` log: each sample becomes a transcript (see
  :mod:`oversight.interop.inspect_import`); needs the ``inspect`` extra.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.table import Table

    from transcripts.importers.nyu import ImportSummary

__all__ = ["SOURCES", "add_parser", "run"]

SOURCES = ("nyu-debate", "inspect")
"""Datasets ``oversight import`` knows."""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``import`` on the dispatcher's subparsers."""
    parser = subparsers.add_parser(
        "import",
        help="import judged transcripts (the NYU debates, an Inspect log) into a run folder",
        description=(
            "Import a dataset of human-judged debates into a run folder, so it can be "
            "reported, re-judged and used as a question set like any run. nyu-debate: the "
            "NYU human-debate dataset (Michael et al. 2023); PATH is the folder holding "
            "debates-metadata.jsonl and debates/official/. Rooms that cannot be imported "
            "(e.g. never started) are listed with the reason in DIR/import-skipped.jsonl. "
            "Importing again into the same folder adds only what is missing. inspect: PATH "
            "is an Inspect log (.eval or .json); each sample becomes a transcript that "
            "rejudge, judge and report work on (needs the inspect extra)."
        ),
        epilog=(
            "example: oversight import nyu-debate ../shared/data/nyu-debate --out runs/nyu\n"
            "then:    oversight report runs/nyu --by setting --where included_in_paper=true"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", choices=SOURCES, help="which dataset PATH holds")
    parser.add_argument("path", metavar="PATH", help="the dataset's folder, or the log file")
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="run folder to import into (created if needed)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Import, then print what was imported and what was skipped and why."""
    from rich.console import Console
    from rich.markup import escape

    from transcripts.importers.nyu import import_nyu_debate

    console = Console(highlight=False)
    if args.source == "inspect":
        from oversight.interop import import_inspect

        done = import_inspect(args.path, args.out)
        console.print(
            f"imported {done.imported} of {done.samples} samples of {escape(done.task)} into "
            f"{escape(str(args.out))} ({done.already_present} already there, "
            f"{done.judgments} judgments restored)"
        )
        return 0
    with console.status(f"importing {escape(args.source)} from {escape(str(args.path))} ..."):
        summary = import_nyu_debate(args.path, args.out)
    console.print(render_summary(summary))
    return 0


def render_summary(summary: ImportSummary) -> Table:
    """The import's counts as a table: rooms by setting and status, skipped by reason."""
    from rich.markup import escape
    from rich.table import Table

    from transcripts.importers.nyu import SKIPPED_FILE

    table = Table(
        title=f"NYU debate import into {escape(str(summary.out))}",
        title_justify="left",
        show_header=True,
        header_style="bold",
    )
    table.add_column("")
    table.add_column("rooms", justify="right")
    table.add_row("in the dataset", str(summary.rooms))
    table.add_row("imported now", str(summary.imported), style="green")
    if summary.already_present:
        table.add_row("already in the folder", str(summary.already_present))
    table.add_row("in the folder now", str(summary.present))
    for setting, count in summary.by_setting.items():
        table.add_row(f"  {escape(str(setting))}", str(count))
    for status, count in summary.by_status.items():
        table.add_row(f"  status {escape(str(status))}", str(count))
    table.add_row("  included in the paper", str(summary.included_in_paper))
    skipped = summary.skipped_by_reason()
    table.add_row("skipped", str(len(summary.skipped)), style="yellow" if skipped else None)
    for reason, count in sorted(skipped.items()):
        table.add_row(f"  {escape(str(reason))}", str(count))
    table.add_section()
    table.add_row("judgments written", str(summary.judgments))
    verified = summary.quotes - summary.unverified_quotes
    table.add_row("quotes verified", f"{verified}/{summary.quotes}")
    table.add_row("seconds", f"{summary.seconds:.1f}")
    if summary.skipped:
        table.caption = f"skipped rooms and reasons: {escape(str(summary.out))}/{SKIPPED_FILE}"
    return table
