"""What a run prints at its end, before the report: a summary."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from oversight.runner._meter import spend_text
from oversight.runner._status import RunResult
from oversight.runner._usage import priced_apart, usage_table

__all__ = ["print_summary"]

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
    spend = spend_text(
        result.spent_usd,
        result.unknown_cost_calls,
        result.calls_lost_in_flight,
        estimated_usd=result.estimated_usd,
        estimated_calls=result.estimated_calls,
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
