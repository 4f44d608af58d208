"""Spend, tokens and calls of a run, and the caps that stop it.

Every endpoint the runner hands to a protocol or a judge is wrapped in a
:class:`MeteredEndpoint`, which asks the :class:`Meter` before each call (so at a cap no
new call starts, while calls already in flight finish) and records each call after it.
Every call that was sent (not answered by the response cache) is appended to
``RUN/spend.jsonl`` the moment it returns, so a resumed run, even after ``kill -9``, starts
from the true spend, including calls of items that never finished.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from oversight.endpoints import Completion, Endpoint
from transcripts import Call, JsonlLog, Record, new_id, utc_now
from transcripts.errors import CostCapReached, EndpointError

__all__ = ["Meter", "MeteredEndpoint", "SpendEntry"]


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
    """Dollars; None when the model's price is unknown."""
    at: str = Field(default_factory=lambda: utc_now().isoformat())
    """When the call returned (UTC, ISO 8601)."""


class Meter:
    """Counts what a run spends and refuses new calls past its caps."""

    def __init__(
        self,
        *,
        max_cost_usd: float | None = None,
        max_tokens: int | None = None,
        ledger: JsonlLog[SpendEntry] | None = None,
    ) -> None:
        self.max_cost_usd = max_cost_usd
        self.max_tokens = max_tokens
        self.ledger = ledger
        self.spent_usd = 0.0
        """Dollars of calls with a known price (this and earlier sessions)."""
        self.unknown_cost_calls = 0
        """Calls sent whose price is unknown (not counted in ``spent_usd``)."""
        self.input_tokens = 0
        self.output_tokens = 0
        self.calls = 0
        """Calls sent in this session."""
        self.cached_calls = 0
        """Calls the response cache answered in this session (free)."""
        self.unpriced: set[str] = set()
        """Endpoints whose calls had no known price (the cost cap cannot count them)."""
        self.stop_reason: str | None = None
        """``cost cap`` or ``token cap`` once a cap is reached, ``interrupted`` on Ctrl-C."""
        self.started = time.monotonic()
        if ledger is not None:
            for entry in ledger:
                self._add(entry.cost_usd, entry.input_tokens, entry.output_tokens)
        self.carried_usd = self.spent_usd
        """Spend of earlier sessions of this run."""

    @property
    def tokens(self) -> int:
        """Input plus output tokens of every paid call of the run."""
        return self.input_tokens + self.output_tokens

    def calls_per_second(self) -> float:
        """Calls (sent or cached) per second in this session."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (self.calls + self.cached_calls) / elapsed

    def check(self) -> None:
        """Raise :class:`CostCapReached` when a cap has been reached; else allow the call."""
        if self.stop_reason is None:
            if self.max_cost_usd is not None and self.spent_usd >= self.max_cost_usd:
                self.stop_reason = "cost cap"
            elif self.max_tokens is not None and self.tokens >= self.max_tokens:
                self.stop_reason = "token cap"
        if self.stop_reason is not None:
            raise CostCapReached(self.cap_message())

    def cap_message(self) -> str:
        """What stopped the run, and how to go on."""
        if self.stop_reason == "interrupted":
            return "the run was interrupted: no new call is started"
        if self.stop_reason == "token cap":
            return (f"token cap reached: {self.tokens:,} of {self.max_tokens:,} tokens; "
                    f"resume with a higher [limits] max_tokens")
        return (f"cost cap reached: ${self.spent_usd:.4f} of ${self.max_cost_usd or 0:.4f}; "
                f"resume with a higher cap (--max-cost)")

    def record(self, call: Call) -> None:
        """Count one finished call; append it to the ledger when it was paid for."""
        if call.cached:
            self.cached_calls += 1
            return
        self.calls += 1
        if call.cost_usd is None:
            self.unpriced.add(call.endpoint)
        self._add(call.cost_usd, call.usage.input_tokens, call.usage.output_tokens)
        if self.ledger is not None:
            self.ledger.append(SpendEntry(
                endpoint=call.endpoint, input_tokens=call.usage.input_tokens,
                output_tokens=call.usage.output_tokens, cost_usd=call.cost_usd))

    def _add(self, cost: float | None, input_tokens: int, output_tokens: int) -> None:
        if cost is None:
            self.unknown_cost_calls += 1
        else:
            self.spent_usd += cost
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens

    def spend_text(self) -> str:
        """Spend in words, unknown prices said apart (never counted as zero)."""
        text = f"${self.spent_usd:.4f}"
        if self.unknown_cost_calls:
            text += f" + {self.unknown_cost_calls} call(s) of unknown price"
        return text


class MeteredEndpoint(Endpoint):
    """An endpoint that asks the meter before each call and reports each call after it.

    ``sample_offset`` is added to every ``sample_index``, so repeats of an item are
    cached apart (independent samples) instead of replaying each other.
    """

    def __init__(self, inner: Endpoint, meter: Meter, *, sample_offset: int = 0) -> None:
        # Not calling Endpoint.__init__: this wraps a finished endpoint and owns nothing.
        self.inner = inner
        self.spec = inner.spec
        self.meter = meter
        self.sample_offset = sample_offset

    def __repr__(self) -> str:
        return f"MeteredEndpoint({self.inner!r})"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def complete(self, messages: Any, **options: Any) -> Completion:  # type: ignore[override]
        """The inner endpoint's ``complete``, unless a cap has been reached."""
        self.meter.check()
        if self.sample_offset:
            options["sample_index"] = options.get("sample_index", 0) + self.sample_offset
        try:
            completion = await self.inner.complete(messages, **options)
        except EndpointError as err:
            for call in err.calls:  # replies paid for before the call failed for good
                self.meter.record(call)
            raise
        self.meter.record(completion.call)
        return completion

    async def aclose(self) -> None:
        """Nothing: the runner closes the endpoints it made."""
