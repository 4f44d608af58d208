"""``oversight unseal BLUE --key KEY --labels FILE``: score a blue team's labels against the
sealed key (checked against the commitment in the blue copy first)."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from oversight.cli._console import help_text

if TYPE_CHECKING:
    from rich.console import Console

    from oversight.analysis._unseal import UnsealReport

__all__ = ["add_parser", "print_unseal", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``unseal`` on the dispatcher's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "unseal",
        help="score blue-team labels against the sealed key of a blinded stress run",
        description=help_text(__doc__),
    )
    parser.add_argument("blue", metavar="BLUE", help="the blue-team copy")
    parser.add_argument(
        "--key", required=True, metavar="FILE", help="the key written by oversight stress --blind"
    )
    parser.add_argument(
        "--labels", required=True, metavar="FILE", help="the blue team's labels (.jsonl or .csv)"
    )
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    parser.set_defaults(handler=run)


def print_unseal(report: UnsealReport, console: Console) -> None:
    """The scores: the confusion counts, precision and recall, and recall per persona."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from oversight.report._tables import pct

    auc = "—" if report.auc is None else f"{report.auc:.2f}"
    console.print(
        f"[bold]Blue team vs the sealed key[/bold]: {report.transcripts} transcripts, "
        f"{report.planted} planted; {report.labelled} labelled ({report.unlabelled} without a "
        f"label count as not suspected)\n"
        f"precision {pct(report.precision)} · recall {pct(report.recall)} · false alarms "
        f"{pct(report.false_alarm_rate)} · AUC {auc} · persona guessed "
        f"{pct(report.persona_guessed)}  (TP {report.true_positives}, FP "
        f"{report.false_positives}, FN {report.false_negatives})"
    )
    table = Table(title="Recall by persona", title_justify="left", box=box.SIMPLE_HEAD)
    for name in ("persona", "planted", "caught", "recall"):
        table.add_column(name, justify="left" if name == "persona" else "right")
    for p in report.by_persona:
        table.add_row(escape(p.persona), str(p.planted), str(p.caught), pct(p.recall))
    console.print(table)
    if report.unknown_ids:
        console.print(
            f"[yellow]warning:[/yellow] {report.unknown_ids} labels name no "
            "transcript of the key (ignored)"
        )


def run(args: argparse.Namespace) -> int:
    """Check the key against the commitment, then score the labels."""
    from rich.console import Console

    from oversight.analysis._unseal import read_labels, score_labels
    from oversight.runner._blind import read_key
    from transcripts import RunStore

    with RunStore.open(args.blue) as store:
        key = read_key(store, args.key)
    report = score_labels(key, read_labels(args.labels))
    if args.json:
        print(json.dumps(report.model_dump(mode="json"), indent=2))
    else:
        print_unseal(report, Console(highlight=False))
    return 0
