"""The ledger files of a run's calls (``RUN/spend.jsonl``, ``RUN/sent.jsonl``; see
:mod:`oversight.runner._meter`) and what they say the run spent: read by a session's meter
when it starts, and by ``oversight show`` without one (this module needs no endpoint)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import Field

from oversight.runner._sessions import running
from transcripts import JsonlLog, Record, new_id, utc_now

__all__ = [
    "Counts",
    "SentEntry",
    "SpendEntry",
    "Tally",
    "count_paid",
    "paid_rows",
    "read_ledger",
    "run_spend",
    "unclosed_marks",
]


class SpendEntry(Record):
    """One paid call, in ``RUN/spend.jsonl``."""

    id: str = Field(default_factory=new_id)
    """Unique id of the entry."""
    endpoint: str
    """Endpoint spec of the call."""
    input_tokens: int = 0
    """Prompt tokens billed."""
    output_tokens: int = 0
    """Completion tokens billed."""
    cost_usd: float | None = None
    """Dollars; None when unknown (no known price, or no token counts in the reply)."""
    estimated_usd: float | None = Field(default=None, exclude_if=lambda v: v is None)
    """For a reply without token counts: the most it can have cost (the prompt counted
    locally, all of ``max_tokens`` for the reply), which the cost cap counts; stored only
    when set."""
    at: str = Field(default_factory=lambda: utc_now().isoformat())
    """When the call returned (UTC, ISO 8601)."""
    request_hash: str | None = None
    """Cache key of the request (None in ledgers written before it was recorded)."""
    sent_id: str | None = None
    """Id of the call's line in ``RUN/sent.jsonl`` (None in older ledgers)."""
    recovered: bool = False
    """True when written by a resumed session from the cached reply of a call whose ledger
    line a kill had prevented."""


class SentEntry(Record):
    """A request sent to a provider (``event = "sent"``, written before sending), or the
    note that it ended with nothing to pay (``unpaid``), in ``RUN/sent.jsonl``."""

    id: str
    """Id of the call; a paid call's ``SpendEntry.sent_id``."""
    event: Literal["sent", "unpaid"] = "sent"
    """``sent`` before the request goes out; ``unpaid`` once it failed with no paid reply."""
    endpoint: str = ""
    """Endpoint spec of the call."""
    request_hash: str = ""
    """Cache key of the request."""
    at: str = Field(default_factory=lambda: utc_now().isoformat())
    """When it was written (UTC, ISO 8601)."""


_PAID = ("c", "i", "o", "s", "h", "x")
"""What the spend ledger's index keeps of each line (``transcripts._index_fields``)."""


def paid_rows(ledger: JsonlLog[SpendEntry]) -> list[tuple[Any, ...]]:
    """(cost, input tokens, output tokens, sent id, request hash, estimated cost) of every
    ledger line: from the ledger's index (no line parsed), or from the lines of a ledger
    kept under another name."""
    if set(_PAID) <= ledger.kept:
        return ledger.index_values(*_PAID)
    return [
        (e.cost_usd, e.input_tokens, e.output_tokens, e.sent_id, e.request_hash, e.estimated_usd)
        for e in ledger
    ]


def unclosed_marks(sent: JsonlLog[SentEntry], closed: set[str]) -> list[SentEntry]:
    """The ``sent`` marks no spend line or ``unpaid`` line closes, in the order first
    written (the index says which; only those marks are read)."""
    indexed = "v" in sent.kept
    rows = sent.index_values("id", "v") if indexed else [(m.id, m.event) for m in sent]
    opened: dict[str, None] = {}
    for mark_id, event in rows:
        if event == "unpaid":
            closed.add(mark_id)
        else:
            opened[mark_id] = None
    found = (sent.get(i) for i in opened if i not in closed)
    # A session still running beside this one (its lock held) has these calls in flight.
    return [m for m in found if m is not None and not running(sent.path.parent, m.id)]


@dataclass
class Tally:
    """What a meter counted: its session's calls, and spend and tokens."""

    calls: int = 0
    """Calls sent."""
    cached_calls: int = 0
    """Calls the response cache answered."""
    paid_lines: int = 0
    """Paid calls (ledger lines)."""
    spent_usd: float = 0.0
    """Dollars of paid calls with a known price."""
    unknown_cost_calls: int = 0
    """Paid calls of unknown cost with no estimate (no known price)."""
    estimated_usd: float = 0.0
    """Dollars the cost cap counts for paid calls without token counts (an upper bound)."""
    estimated_calls: int = 0
    """Paid calls without token counts, counted at ``estimated_usd``."""
    input_tokens: int = 0
    """Prompt tokens of paid calls."""
    output_tokens: int = 0
    """Completion tokens of paid calls."""

    @classmethod
    def of(cls, meter: Counts) -> Tally:
        """The meter's counts now."""
        return cls(*(getattr(meter, f.name) for f in fields(cls)))

    def __sub__(self, other: Tally) -> Tally:
        return Tally(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


class Counts(Protocol):
    """What counts paid calls: a :class:`Tally`, or a session's meter."""

    calls: int
    cached_calls: int
    paid_lines: int
    spent_usd: float
    unknown_cost_calls: int
    estimated_usd: float
    estimated_calls: int
    input_tokens: int
    output_tokens: int


def count_paid(
    counts: Counts,
    cost: float | None,
    input_tokens: int,
    output_tokens: int,
    bound: float | None = None,
) -> None:
    """Add one paid call to ``counts`` (its ledger line is counted apart): a known cost to
    the dollars, a reply without token counts at its ``bound`` apart as estimated, any
    other unknown cost as a call of unknown cost (never as zero)."""
    if cost is None and bound is not None:
        counts.estimated_usd += bound
        counts.estimated_calls += 1
    elif cost is None:
        counts.unknown_cost_calls += 1
    else:
        counts.spent_usd += cost
    counts.input_tokens += input_tokens
    counts.output_tokens += output_tokens


def read_ledger(ledger: JsonlLog[SpendEntry]) -> tuple[Tally, set[str], set[str]]:
    """The run's paid calls as the ledger holds them (all sessions): their tally, the
    ``sent`` marks they close, and their requests' cache keys."""
    paid = Tally()
    closed: set[str] = set()
    hashes: set[str] = set()
    for cost, tokens_in, tokens_out, sent_id, request_hash, bound in paid_rows(ledger):
        count_paid(paid, cost, tokens_in, tokens_out, bound)
        paid.paid_lines += 1
        if sent_id is not None:
            closed.add(sent_id)
        if request_hash is not None:
            hashes.add(request_hash)
    return paid, closed, hashes


def run_spend(folder: Path) -> tuple[Tally, int]:
    """What the run in ``folder`` spent, and how many of its calls a kill or a cancellation
    cut off in flight, from its ledger files alone: what a session's meter starts from,
    for a reader (``oversight show``) that runs no session. Works on a folder the reader
    cannot write to (the indexes are then built in memory)."""
    ledger = JsonlLog(folder / "spend.jsonl", SpendEntry)
    sent = JsonlLog(folder / "sent.jsonl", SentEntry)
    try:
        paid, closed, _ = read_ledger(ledger) if ledger.path.exists() else (Tally(), set(), set())
        lost = len(unclosed_marks(sent, closed)) if sent.path.exists() else 0
    finally:
        ledger.close()
        sent.close()
    return paid, lost
