"""``oversight show RUN [TRANSCRIPT]``: list a run's transcripts, or render one."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from oversight.cli._console import wide_when_piped

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from oversight.runner._select import Candidates
    from transcripts import Judgment, RunStore, Transcript

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``show`` on the dispatcher's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "show",
        help="list a run's transcripts, or show one in full or as its judge saw it",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Without TRANSCRIPT: a table of the run's transcripts (id prefix, condition,\n"
            "question, setup, status, rounds, judgments), filtered by --condition and --where;\n"
            "judgments the report does not count are said apart: '3 (1 not counted)'.\n"
            "With TRANSCRIPT (an id prefix): the transcript in full, with the gold answer,\n"
            "private turns, who played each role and every judgment; or, with --as-judge,\n"
            "exactly what a judge sees (no gold, no model names, no private turns)."
        ),
        epilog=(
            "examples:\n"
            "  oversight show runs/quickstart --condition debate\n"
            "  oversight show runs/quickstart --where source=lighthouse --where status=error\n"
            "  oversight show runs/quickstart 3f2a --as-judge --rounds 1"
        ),
    )
    parser.add_argument("run_dir", metavar="RUN", help="the run folder")
    parser.add_argument(
        "transcript",
        metavar="TRANSCRIPT",
        nargs="?",
        help="id (or a unique prefix) of the transcript to show",
    )
    parser.add_argument(
        "--as-judge", action="store_true", help="show only what a judge sees of the transcript"
    )
    parser.add_argument(
        "--rounds", type=int, metavar="K", help="with --as-judge: only the first K rounds"
    )
    parser.add_argument(
        "--condition", action="append", metavar="C", help="list only this condition (repeatable)"
    )
    parser.add_argument(
        "--where",
        action="append",
        metavar="FIELD=VALUE",
        help="list only transcripts whose field matches (repeatable; != negates)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=200,
        metavar="N",
        help="list at most N transcripts (default 200; 0 for all)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """List or render."""
    # Imported here: `oversight --help` and `show --help` need none of the run's reading.
    from rich.console import Console

    from transcripts import RunStore
    from transcripts.errors import ConfigError

    console = Console(highlight=False, width=wide_when_piped())
    for flag, value in (("--rounds", args.rounds), ("--limit", args.limit)):
        if value is not None and value < 0:
            raise ConfigError(f"{flag} must be 0 or more, got {value}")
    store = RunStore.open(args.run_dir)
    try:
        if args.transcript:
            _show_one(store, args, console)
        else:
            if args.as_judge:
                raise ConfigError("--as-judge needs a TRANSCRIPT id to show")
            _list(store, args, console)
    finally:
        store.close()
    return 0


def _list(store: RunStore, args: argparse.Namespace, console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    from oversight.runner._select import candidates, index_where, parse_filters
    from transcripts.filters import check_conditions

    _say_status(store, console)
    table = Table()
    for column in ("id", "condition", "question", "setup", "status", "rounds", "judgments"):
        table.add_column(
            column,
            justify="right" if column in ("rounds", "judgments") else "left",
            no_wrap=True,
            min_width=len(column),
        )
    table.add_column("text", no_wrap=True, overflow="ellipsis")
    shown = total = left_out = 0
    match, rest = index_where(args.condition, parse_filters(args.where or []))
    if not rest and args.limit:
        # Conditions and statuses only: the index chooses the rows and counts them; only
        # the rows shown are read.
        if args.condition:
            check_conditions(store, args.condition)
        entries = store.transcripts.latest_entries(where=match, limit=args.limit)
        total = store.transcripts.count(where=match) - len(entries)
        listed: Iterable[Transcript | None] = store.transcripts.read(entries)
    else:
        # Only the rows shown are read, and beyond them only the transcripts whose passing
        # the fast read of the clauses could not settle (see runner._select.Candidates).
        found = candidates(store, args.condition, args.where)
        listed = _listed(store, found, args.limit)

    def rows() -> Iterator[Transcript]:
        nonlocal total, shown
        for t in listed:
            total += 1
            if t is None or (args.limit and shown >= args.limit):
                continue
            shown += 1
            yield t

    for t, judgments in _with_judgments(store, rows()):
        state = Text(t.status, style="" if t.status == "complete" else "red")
        judged, left = _judged(t, judgments)
        left_out += left
        table.add_row(
            Text(_short_id(t.id)),
            Text(t.condition),
            Text(t.question.id),
            Text(str(t.metadata.get("setup", ""))),
            state,
            str(t.rounds),
            judged,
            Text(t.question.text),
        )
    console.print(table)
    more = f" (first {shown} shown; --limit 0 for all)" if shown < total else ""
    console.print(f"{total} transcript(s){more}")
    if left_out:
        console.print(
            "not counted: the report leaves these judgments out (replaced or superseded by a "
            "later one of the same judge and rounds, failed or skipped, or their transcript "
            "failed or has no gold answer); `oversight show RUN ID` says why for each"
        )


def _say_status(store: RunStore, console: Console) -> None:
    """Where the run stands, in the first line of the list: its status, the items done of
    all, its spend; counted from the store where ``status.json`` lags behind a session
    (or a kill came before its first write), and stopped, with the command that resumes
    it, where it says ``running`` and no process holds the run (killed). The spend is the
    ledger's, with what an ``oversight rejudge`` spent since the run's last session said
    apart."""
    from rich.markup import escape

    from oversight.runner._status import current_status

    status = current_status(store)  # counted from the store where the file lags behind
    if status is not None:
        standing = str(status.get("status"))
        if status.get("unwritten"):
            standing += " before it wrote its first status"
        if status.get("killed"):
            resume = status.get("resume")
            standing = f"stopped ({standing}: no process is running it; resume with: {resume})"
        failed = f", {status['items_failed']} failed" if status.get("items_failed") else ""
        done = status.get("items_complete")
        total = status.get("items_total")
        items = f"{done} items done" if total is None else f"{done} of {total} items"
        console.print(
            f"{escape(str(store.path))}: {escape(standing)} · {items}{failed} · spend "
            + _spend(status)
        )
        if status.get("message") and done != total:
            console.print(escape(str(status["message"])))  # what is left, and what to do
        if status.get("now"):
            console.print(escape(f"now: {status['now']}"))


def _spend(status: dict[str, Any]) -> str:
    """The run's spend in words, and apart what ``oversight rejudge`` spent after the
    run's last session (``later``), each by the one rule of :func:`spend_text`."""
    from oversight.runner._spend import spend_text

    text = spend_text(
        status.get("spent_usd", 0),
        status.get("unknown_cost_calls", 0),
        status.get("calls_lost_in_flight", 0),
        estimated_usd=status.get("estimated_usd", 0.0),
        estimated_calls=status.get("estimated_calls", 0),
    )
    later = status.get("later")
    if later is None:
        return text
    since = spend_text(
        later.spent_usd,
        later.unknown_cost_calls,
        status.get("later_lost", 0),
        estimated_usd=later.estimated_usd,
        estimated_calls=later.estimated_calls,
    )
    return f"{text} · {since} of it by oversight rejudge after the run's last session"


_BATCH = 500
"""Rows whose judgments one index query reads (a few hundred keeps SQLite's ``IN`` list
short and the transcripts held at once few)."""


def _with_judgments(
    store: RunStore, transcripts: Iterable[Transcript]
) -> Iterator[tuple[Transcript, list[Judgment]]]:
    """Each transcript with its judgments (as ``latest`` resolves them, in file order): one
    index query for every :data:`_BATCH` rows, not one a row (``show --limit 0`` of a
    large run made one per row)."""
    it = iter(transcripts)
    while batch := list(itertools.islice(it, _BATCH)):
        found: dict[str, list[Judgment]] = {t.id: [] for t in batch}
        for judgment in store.judgments.latest(where={"t": tuple(found)}):
            found[judgment.transcript_id].append(judgment)
        for t in batch:
            yield t, found[t.id]


def _judged(transcript: Transcript, judgments: list[Judgment]) -> tuple[str, int]:
    """The judgments cell of a transcript's row, and how many of its judgments the report
    does not count (the export's ``not_counted`` rule: only the rows shown are read)."""
    from transcripts.export import not_counted

    left = sum(reason is not None for reason in not_counted(transcript, judgments))
    return (f"{len(judgments)} ({left} not counted)" if left else str(len(judgments))), left


_HEX = frozenset("0123456789abcdef")


def _short_id(transcript_id: str) -> str:
    """The id as the list shows it: a long hex id (a runner's digest, a random id) by its
    first 10 characters, which ``show RUN ID`` takes; any other id whole (imported rooms
    share long prefixes: ``nyu-the-spy-in-the-elevator-0``, ``-3``)."""
    if len(transcript_id) > 24 and _HEX.issuperset(transcript_id):
        return transcript_id[:10]
    return transcript_id


def _listed(store: RunStore, found: Candidates, limit: int) -> Iterator[Transcript | None]:
    """The selected transcripts in order, read in one pass: the first ``limit`` (all with
    no limit), then None for each one after them that passes, read only where the fast
    read was unsure."""
    from oversight.runner._select import matching

    entries = iter(found.entries)
    if not limit or found.unsure is None:
        yield from matching(store, entries, found.rest)
        return
    shown = matching(store, entries, found.rest)
    yield from itertools.islice(shown, limit)  # reads only as far as the last row shown
    shown.close()
    unsure = []
    for entry in entries:
        if entry.id in found.unsure:
            unsure.append(entry)
        else:
            yield None
    for _ in matching(store, unsure, found.rest):
        yield None


def _show_one(store: RunStore, args: argparse.Namespace, console: Console) -> None:
    # The id is matched in the index; only that transcript and its judgments are read.
    from oversight.runner._select import match_id
    from transcripts import JudgeView, render_judge_view, render_transcript
    from transcripts.errors import ConfigError

    found = store.transcripts.ids(prefix=args.transcript)
    transcript = store.transcripts.get(match_id(sorted(found), args.transcript))
    assert transcript is not None
    if args.as_judge:
        console.print(render_judge_view(JudgeView.from_transcript(transcript, rounds=args.rounds)))
        return
    if args.rounds is not None:
        raise ConfigError("--rounds applies to --as-judge; the full view shows every round")
    console.print(render_transcript(transcript))
    judgments = list(store.judgments.latest(where={"t": transcript.id}))
    if judgments:
        console.print(_judgments_table(transcript, judgments))


def _judgments_table(transcript: Transcript, judgments: list[Judgment]) -> Table:
    from rich.table import Table
    from rich.text import Text

    from transcripts import answer_label
    from transcripts.export import not_counted

    table = Table(title="judgments")
    for column in (
        "judge",
        "status",
        "probabilities (original order)",
        "verdict",
        "rounds",
        "notes",
    ):
        table.add_column(column)
    correct = transcript.question.correct
    for j, reason in zip(judgments, not_counted(transcript, judgments), strict=True):
        probs = " ".join(f"{answer_label(i)}={p:.2f}" for i, p in enumerate(j.probabilities or []))
        verdict = j.verdict
        mark = ""
        if verdict is not None:
            mark = answer_label(verdict) + (
                "" if correct is None else (" ✓" if verdict == correct else " ✗")
            )
        notes = [] if reason is None else [f"not counted: {reason}"]
        if j.metadata.get("rejudge"):
            notes.append("rejudge")
        if j.escalated:
            notes.append(f"escalated ({j.escalation_reason})")
        if j.error:
            notes.append(j.error[:80])
        table.add_row(
            Text(j.judge.name),
            Text(j.status),
            probs,
            mark,
            "all" if j.rounds_seen is None else str(j.rounds_seen),
            Text("; ".join(notes)),
        )
    return table
