"""``oversight rejudge RUN --judge SPEC``: new judgments of saved transcripts, none regenerated."""

from __future__ import annotations

import argparse
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from oversight.cli._console import wide_when_piped

if TYPE_CHECKING:
    from rich.table import Table

    from transcripts import Call, Judgment

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``rejudge`` on the dispatcher's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rejudge",
        help="judge a run's saved transcripts again with another judge",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "New judgments of a run's saved transcripts by any judge: an LLM, a person in\n"
            "the terminal, a fallback or a panel. Only the judge is called; no debater,\n"
            "consultant, critic or assistant is asked anything. Judgments are appended to\n"
            "the run with their provenance (judge spec, time, rounds shown). Running the\n"
            "same command again skips what is already judged.\n\n"
            "--rounds K shows the judge only the first K rounds; give several (1,2,3) to\n"
            "see how accuracy grows with rounds. A transcript with fewer rounds than K is\n"
            "judged once, whole, filed at the rounds it has.\n\n"
            "A judge is filed under its name (by default its model): a name that earlier\n"
            "re-judgings of the run used with other settings is refused before any call;\n"
            "give the judge its own with name=..., e.g. llm:m,samples=3,name=m-x3."
        ),
        epilog=(
            "judge specs:\n"
            "  llm:openai/gpt-4o-mini[,samples=5,combine=majority]   an LLM judge\n"
            "  llm:weak                     an endpoint named in the run's [endpoints]\n"
            "  human:alice                  you, in the terminal\n"
            "  fallback:llm=mock/weak,threshold=0.7[,mode=deferred]\n"
            "  panel:llm=openai/gpt-4o-mini,llm=anthropic/claude-3-5-haiku-latest\n\n"
            "examples:\n"
            "  oversight rejudge runs/a --judge llm:openai/gpt-4o-mini --condition debate\n"
            "  oversight rejudge runs/a --judge llm:weak --rounds 1,2,3\n"
            "  oversight rejudge runs/a --judge human:alice --where source=lighthouse"
        ),
    )
    parser.add_argument("run_dir", metavar="RUN", help="the run folder")
    parser.add_argument("--judge", required=True, metavar="SPEC", help="the judge (see below)")
    parser.add_argument(
        "--rounds",
        metavar="K[,K2...]",
        help="show only the first K rounds (several: one judgment each)",
    )
    parser.add_argument(
        "--condition", action="append", metavar="C", help="only this condition (repeatable)"
    )
    parser.add_argument(
        "--where",
        action="append",
        metavar="FIELD=VALUE",
        help="only transcripts whose field matches (repeatable; != negates)",
    )
    parser.add_argument(
        "--id",
        action="append",
        dest="ids",
        metavar="ID",
        help="only this transcript (an id prefix; repeatable)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        metavar="N",
        help="transcripts judged at once (default 8; 1 for a person)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="answer judge calls from the cache only (a miss is an error)",
    )
    parser.add_argument(
        "--max-cost",
        type=float,
        metavar="USD",
        help="stop starting judge calls once this command has spent this much (what the "
        "run spent before is not counted; a judge with no price is refused)",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="ask again, with fresh calls, the judgments of this judge that failed (by "
        "default a failed judgment is left as recorded)",
    )
    parser.add_argument("--annotator", help="your name, for human judges")
    parser.set_defaults(handler=run)


def _parse_rounds(text: str | None) -> list[int | None] | None:
    from transcripts.errors import ConfigError

    if text is None:
        return None
    values: list[int | None] = []
    for part in text.split(","):
        part = part.strip()
        if part in ("all", ""):
            values.append(None)
            continue
        if not part.isdecimal():
            raise ConfigError(f"--rounds {text!r}: give whole numbers, e.g. 1,2,3 (or all)")
        values.append(int(part))
    return values


def run(args: argparse.Namespace) -> int:
    """Re-judge and print what was done, with accuracy by condition and rounds."""
    # Imported here: `oversight --help` and `rejudge --help` need none of the re-judging.
    from rich.console import Console
    from rich.markup import escape

    from oversight._rejudge import rejudge
    from oversight.runner._meter import lost_text, spend_text

    console = Console(highlight=False, width=wide_when_piped())
    result = rejudge(
        args.run_dir,
        args.judge,
        conditions=args.condition,
        where=args.where,
        ids=args.ids,
        rounds=_parse_rounds(args.rounds),
        concurrency=args.concurrency,
        offline=args.offline,
        retry_failed=args.retry_failed,
        max_cost_usd=args.max_cost,
        annotator=args.annotator,
        console=console,
    )
    spend = spend_text(
        result.spent_usd,
        result.unknown_cost_calls,
        estimated_usd=result.estimated_usd,
        estimated_calls=result.estimated_calls,
    )
    console.print(
        f"{result.judged} new judgment(s) ({result.failed} failed), {result.skipped} already "
        f"judged · judge calls: {result.calls} sent, {result.cached_calls} from the cache · "
        f"spend {spend}"
        + (
            f" · the run has {lost_text(result.calls_lost_in_flight)}"
            if result.calls_lost_in_flight
            else ""
        )
    )
    if not (result.judged or result.skipped or result.failed_left or result.interrupted):
        console.print(_nothing_chosen(args))
    if result.failed_left:
        console.print(
            f"{result.failed_left} judgment(s) of this judge failed before and are left as "
            f"recorded; --retry-failed asks them again with fresh calls"
        )
    # The new judgments are read back from the run once, keeping what the summary needs.
    batched: list[Call] = []
    scored: list[tuple[str, Any, list[float] | None]] = []
    for j in result.judgments:
        batched.extend(c for c in _calls(j) if c.batched)
        scored.append((j.transcript_id, j.metadata.get("rounds"), j.probabilities))
    if batched:
        known = [c.cost_usd for c in batched if c.cost_usd is not None]
        console.print(
            f"{len(batched)} call(s) went through the provider's batch API, priced "
            f"at its batch rate: {spend_text(sum(known), len(batched) - len(known))}"
        )
    if result.stopped:
        console.print(f"[yellow]stopped:[/] {escape(result.stopped)}")
    if scored:
        console.print(_accuracy_by_rounds(args.run_dir, scored))
    if result.interrupted:
        console.print(
            "[yellow]interrupted:[/] the judgments given are saved; run the same command "
            "again to judge the rest"
        )
        return 130
    return 0 if result.stopped is None else 3


def _nothing_chosen(args: argparse.Namespace) -> str:
    """Why nothing was judged: no complete transcript passed the filters (a value no
    transcript has, say), and the command that lists what they select."""
    import shlex

    shown = [f"--condition {shlex.quote(c)}" for c in args.condition or ()]
    shown += [f"--where {shlex.quote(w)}" for w in args.where or ()]
    # Quoted as a shell needs, so the command can be pasted (a value with a space, say).
    listed = " ".join(["oversight show", shlex.quote(str(args.run_dir)), *shown])
    shown += [f"--id {shlex.quote(i)}" for i in args.ids or ()]
    if not shown:
        return "the run has no complete transcript to judge"
    from rich.markup import escape

    return escape(
        f"no complete transcript matches {' '.join(shown)}; `{listed}` lists what it selects"
    )


def _calls(judgment: Judgment) -> list[Call]:
    """A judgment's calls and its components' (panels, fallbacks)."""
    return [*judgment.calls, *(c for part in judgment.components for c in _calls(part))]


def _accuracy_by_rounds(run_dir: str, scored: list[tuple[str, Any, list[float] | None]]) -> Table:
    """The new judgments' accuracy by condition and rounds shown, from each one's
    transcript id, rounds and probabilities."""
    from rich.markup import escape
    from rich.table import Table

    from transcripts import RunStore, score

    store = RunStore.open(run_dir)
    judged = {transcript_id for transcript_id, _, _ in scored}
    # Only the judged transcripts are read (the index says where they are).
    chosen = [e for e in store.transcripts.latest_entries(extra=False) if e.id in judged]
    gold = {t.id: (t.condition, t.question.correct) for t in store.transcripts.read(chosen)}
    store.close()
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for transcript_id, rounds, probabilities in scored:
        condition, correct = gold.get(transcript_id, ("?", None))
        if correct is None or probabilities is None:
            continue
        scores[(condition, "all" if rounds is None else str(rounds))].append(
            score(probabilities, correct)
        )
    table = Table(title="accuracy of the new judgments")
    for column in ("condition", "rounds", "n", "accuracy"):
        table.add_column(column, justify="left" if column == "condition" else "right")
    for (condition, rounds), values in sorted(
        scores.items(), key=lambda kv: (kv[0][0], int(kv[0][1]) if kv[0][1].isdecimal() else 10**9)
    ):
        table.add_row(
            escape(condition), rounds, str(len(values)), f"{sum(values) / len(values):.3f}"
        )
    return table
