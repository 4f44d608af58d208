"""Tokens and cost per condition, prompt-cache reads and writes and batched calls apart."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from oversight.endpoints import BATCH_DISCOUNT
from transcripts import Call, Judgment, RunStore

__all__ = ["ConditionUsage", "priced_apart", "usage_by_condition", "usage_table"]


@dataclass
class ConditionUsage:
    """What one condition's calls (protocol and judges) used and cost."""

    calls: int = 0
    """Calls made (replies from our own response cache excluded)."""
    input_tokens: int = 0
    """Prompt tokens, cached and cache-written ones included."""
    cached_tokens: int = 0
    """Prompt tokens read from the provider's prompt cache (billed at the cached rate)."""
    cache_write_tokens: int = 0
    """Prompt tokens written to the provider's prompt cache (Anthropic; billed at a premium)."""
    output_tokens: int = 0
    """Completion tokens."""
    batched_calls: int = 0
    """Calls sent through a provider batch API (billed at the batch rate); the other calls
    went at once at the standard rate (see ``Request.batchable`` for which call sites)."""
    batch_saved_usd: float = 0.0
    """Dollars the batched calls saved against the standard rate."""
    cost_usd: float = 0.0
    """Dollars of the calls with a known price."""
    unknown_cost_calls: int = 0
    """Calls whose cost is unknown (no known price, or no token counts reported)."""

    def add(self, call: Call) -> None:
        """Count one call."""
        if call.cached:
            return
        self.calls += 1
        self.input_tokens += call.usage.input_tokens
        self.cached_tokens += call.usage.cached_tokens
        self.cache_write_tokens += call.usage.cache_write_tokens
        self.output_tokens += call.usage.output_tokens
        self.batched_calls += call.batched
        if call.cost_usd is None:
            self.unknown_cost_calls += 1
        else:
            self.cost_usd += call.cost_usd
            if call.batched:
                self.batch_saved_usd += call.cost_usd * (1 / BATCH_DISCOUNT - 1)


def _judgment_calls(judgment: Judgment) -> list[Call]:
    return [*judgment.calls, *(c for part in judgment.components for c in _judgment_calls(part))]


def usage_by_condition(path: str | Path) -> dict[str, ConditionUsage]:
    """Every call of the run (transcripts' turns and every judgment), by condition."""
    store = RunStore.open(path)
    by: dict[str, ConditionUsage] = defaultdict(ConditionUsage)
    condition: dict[str, str] = {}
    for transcript in store.transcripts.latest():
        condition[transcript.id] = transcript.condition
        for call in transcript.calls:
            by[transcript.condition].add(call)
    for judgment in store.judgments:
        for call in _judgment_calls(judgment):
            by[condition.get(judgment.transcript_id, "?")].add(call)
    store.close()
    return dict(sorted(by.items()))


def priced_apart(path: str | Path) -> bool:
    """Whether a call of the run read or wrote a provider's prompt cache or went through a
    batch: asked of the indexes (their ``u`` field), so no record is read."""
    store = RunStore.open(path)
    try:
        where = {"u": True}
        return any(
            log.latest_entries(where=where, limit=1) for log in (store.transcripts, store.judgments)
        )
    finally:
        store.close()


def usage_table(path: str | Path) -> Table:
    """:func:`usage_by_condition` as a table."""
    table = Table(title="tokens and cost by condition")
    for column in (
        "condition",
        "calls",
        "input tok",
        "cache read",
        "cache write",
        "output tok",
        "batched",
        "cost USD",
    ):
        table.add_column(column, justify="left" if column == "condition" else "right")
    for name, u in usage_by_condition(path).items():
        cost = f"{u.cost_usd:.4f}" + (
            f" + {u.unknown_cost_calls} unknown" if u.unknown_cost_calls else ""
        )
        table.add_row(
            escape(name),
            f"{u.calls:,}",
            f"{u.input_tokens:,}",
            f"{u.cached_tokens:,}",
            f"{u.cache_write_tokens:,}",
            f"{u.output_tokens:,}",
            f"{u.batched_calls:,}"
            + (f" (saved {u.batch_saved_usd:.4f})" if u.batch_saved_usd else ""),
            cost,
        )
    table.caption = (
        "cache read/write: prompt tokens read from / written to the provider's "
        "prompt cache (included in input); batched: calls at the batch rate (the rest at "
        "the standard rate), and the dollars that saved"
    )
    return table
