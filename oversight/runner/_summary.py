"""What a run prints at its end: a summary, then the report."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from judges import final_judgments
from oversight.runner._status import RunResult
from oversight.runner._usage import priced_apart, usage_table
from transcripts import RunStore, score

__all__ = ["accuracy_table", "print_summary"]

_STYLE = {
    "complete": "bold green",
    "complete with errors": "bold yellow",
    "interrupted": "bold yellow",
}


def print_summary(result: RunResult, console: Console) -> None:
    """Where the run stands, what it cost, what to do next."""
    style = _STYLE.get(result.status, "bold red")
    console.print(
        f"[{style}]{result.status}[/]: {result.items_complete} of {result.items_total} "
        f"items done, {result.items_failed} failed · {result.transcripts} transcripts · "
        f"{result.judgments} new judgments ({result.judgments_failed} failed) · "
        f"{result.elapsed_s:.1f}s",
        highlight=False,
    )
    spend = f"${result.spent_usd:.4f}"
    if result.unknown_cost_calls:
        spend += f" + {result.unknown_cost_calls} call(s) of unknown price"
    if result.calls_lost_in_flight:
        spend += (
            f" + {result.calls_lost_in_flight} call(s) cut off in flight by a kill "
            f"(perhaps charged by the provider; cost unknown)"
        )
    console.print(
        f"spend {spend} · {result.input_tokens:,} input + {result.output_tokens:,} output tokens "
        f"· {result.calls} calls sent, {result.cached_calls} from the cache this session",
        highlight=False,
    )
    # Every record's usage is read only when the indexes say a call used a prompt cache
    # or a batch (most runs: none, and a resume reads no record here).
    if priced_apart(result.path):
        console.print(usage_table(result.path))
    if result.message:
        console.print(escape(result.message), highlight=False)
    for error in result.errors:
        console.print(f"  [red]error[/] {escape(error)}", highlight=False)
    if result.escalations_pending:
        console.print(
            f"{result.escalations_pending} item(s) wait for a person: "
            f"oversight judge {escape(str(result.path))} --annotator NAME",
            highlight=False,
        )
    console.print(f"run folder: {escape(str(result.path))}", highlight=False)


def accuracy_table(path: Path) -> Table:
    """Accuracy per condition and judge (the final judgment of each transcript)."""
    store = RunStore.open(path)
    gold = {
        t.id: (t.condition, t.question.correct)
        for t in store.transcripts.latest()
        if t.status == "complete"
    }
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for judgment in final_judgments(store.judgments):
        found = gold.get(judgment.transcript_id)
        if found is None or judgment.probabilities is None:
            continue
        condition, correct = found
        if correct is None:
            continue
        scores[(condition, judgment.judge.name)].append(score(judgment.probabilities, correct))
    table = Table(title="accuracy (final judgments)")
    for column in ("condition", "judge", "n", "accuracy"):
        table.add_column(column, justify="right" if column in ("n", "accuracy") else "left")
    for (condition, judge), values in sorted(scores.items()):
        table.add_row(
            escape(condition), escape(judge), str(len(values)), f"{sum(values) / len(values):.3f}"
        )
    return table
