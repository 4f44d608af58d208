"""``oversight judge RUN``: a human judging session in the terminal.

Serves the run's escalation queue (items a deferred fallback judge sent to a person) and,
with ``--all``, every transcript this person has not judged yet. Each judgment is saved
the moment it is given; quit with ``q`` (or Ctrl-C) and run the same command to resume.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from judges.human import HumanJudge
from judges.session import plan, serve
from transcripts import RunStore
from transcripts.errors import ConfigError

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``judge`` on the dispatcher's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "judge",
        help="judge a run's transcripts yourself, in the terminal",
        description=(
            "A human judging session: you see each transcript as a judge may (no gold, no "
            "model names, answers in a shuffled order) and give a probability per answer. "
            "Every answer is saved at once; quit with q and run the same command to resume."
        ),
    )
    parser.add_argument("run_dir", metavar="RUN", help="the run folder")
    parser.add_argument("--annotator", help="your name, recorded with each judgment "
                        "(asked for when not given)")
    parser.add_argument("--judge-name", default="human",
                        help="judge name the judgments are filed under (default: human)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--queue", action="store_true",
                       help="only the escalation queue (the default)")
    which.add_argument("--all", dest="everything", action="store_true",
                       help="the queue, then every transcript you have not judged yet")
    parser.add_argument("--rounds", type=int, default=None, metavar="K",
                        help="with --all: show only the first K rounds of each transcript")
    parser.add_argument("--include-skipped", action="store_true",
                        help="offer again the items you skipped before")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Plan the session from the run folder and serve it."""
    console = Console(highlight=False)
    if args.rounds is not None and args.rounds < 0:
        raise ConfigError(f"--rounds must be 0 or more, got {args.rounds}")
    store = RunStore.open(args.run_dir)
    annotator = args.annotator or _ask_name(console)
    judge = HumanJudge(annotator=annotator, name=args.judge_name, console=console)
    items = plan(store, annotator=annotator, judge_name=args.judge_name,
                 everything=args.everything, rounds=args.rounds,
                 include_skipped=args.include_skipped)
    if not items:
        hint = "" if args.everything else " Use --all to judge every transcript of the run."
        console.print(f"Nothing to judge for {annotator}: the queue is empty"
                      f"{' and every transcript is judged' if args.everything else ''}.{hint}")
        return 0
    console.print(
        f"{annotator}: {len(items)} item(s) to judge. For each, give a probability per answer "
        f"(e.g. 70 30) or a letter and your confidence (e.g. A 80); s skips, q quits. "
        f"Each answer is saved at once.")
    result = serve(store, judge, items)
    store.close()
    console.print(
        f"Session over: {result.judged} judged, {result.skipped} skipped, "
        f"{result.remaining} left." + (" Run the same command to continue."
                                        if result.remaining else ""))
    return 0


def _ask_name(console: Console) -> str:
    """The annotator's name, asked until one is given."""
    while True:
        try:
            name = console.input("Your name (recorded with each judgment): ", markup=False)
        except EOFError as err:
            raise ConfigError("no annotator name given; pass --annotator NAME") from err
        if name.strip():
            return name.strip()
