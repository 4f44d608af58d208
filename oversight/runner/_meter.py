"""Spend, tokens and calls of a run, and the caps that stop it.

Every endpoint the runner hands to a protocol or a judge is wrapped in a
:class:`MeteredEndpoint`, which asks the :class:`Meter` before each call (so at a cap no
new call starts, while calls already in flight finish) and records each call after it.

Two files keep the money honest across ``kill -9``:

* ``RUN/sent.jsonl`` gets a line just before a request goes to a provider (a cache answer
  sends nothing), and a closing ``unpaid`` line if it then failed with nothing to pay;
* ``RUN/spend.jsonl`` gets one line per paid call, written only after the reply is in the
  response cache file (the endpoint layer awaits that), so a call on record as paid is
  always answered from the cache after a resume, never sent and paid again.

A resumed run reads both: a call sent but neither paid nor closed was cut off by a kill (or
cancelled in flight: a sibling call's failure, a second Ctrl-C; the files do not say which).
If its reply had reached the cache (the kill fell between the cache and the ledger), its
spend line is written now from the cached usage, so the spend is exact; otherwise it was
still in flight, and is counted in :attr:`Meter.lost_in_flight` (the provider may have
charged for it; its cost is unknown). A call of a session still running beside this one
is neither (:mod:`oversight.runner._sessions`).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable
from dataclasses import fields
from typing import Literal

from oversight.endpoints import Endpoint
from oversight.runner._ledger import (
    SentEntry,
    SpendEntry,
    Tally,
    count_paid,
    read_ledger,
    unclosed_marks,
)
from oversight.runner._metered import MeteredEndpoint, cached_bound, drawn_apart
from oversight.runner._sessions import Session
from oversight.runner._spend import estimated_text, lost_text, spend_text, unknown_text
from transcripts import Call, JsonlLog, new_id
from transcripts.errors import CostCapReached

__all__ = [
    "Meter",
    "MeteredEndpoint",
    "SentEntry",
    "SpendEntry",
    "Tally",
    "Unknown",
    "drawn_apart",
    "estimated_text",
    "lost_text",
    "spend_text",
    "unknown_text",
]

Unknown = Literal["price", "usage"]
"""Why a paid call's cost is unknown: no price is known for its model, or its reply carried
no token counts."""


_FROM_LEDGER = tuple(f.name for f in fields(Tally) if f.name not in ("calls", "cached_calls"))
"""What a meter starts from the ledger's tally (calls sent and cached are its session's)."""


class Meter:
    """Counts what a run spends and refuses new calls past its caps.

    With ``follow``, for one worker of several writing one run (``oversight run --workers``):
    the ledger is read as the other workers append to it (before each call, when a cap is
    set), so the caps count the whole run's spend, not this process's alone. Calls that
    earlier sessions left unclosed are then not counted here: the parent process counted
    and recovered them before the workers started.
    """

    def __init__(
        self,
        *,
        max_cost_usd: float | None = None,
        max_tokens: int | None = None,
        ledger: JsonlLog[SpendEntry] | None = None,
        sent: JsonlLog[SentEntry] | None = None,
        follow: bool = False,
    ) -> None:
        self.max_cost_usd = max_cost_usd
        self.max_tokens = max_tokens
        self.ledger = ledger
        if sent is None and ledger is not None:
            sent = JsonlLog(ledger.path.with_name("sent.jsonl"), SentEntry)
        self.sent = sent
        self._session: Session | None = None  # made at the first call sent
        self.spent_usd = 0.0
        """Dollars of calls with a known price (this and earlier sessions)."""
        self.unknown_cost_calls = 0
        """Calls sent whose cost is unknown and not estimated (not counted in
        ``spent_usd``)."""
        self.estimated_usd = 0.0
        """Upper estimate of the calls whose replies carried no token counts (their cost is
        unknown; the cost cap counts this, ``spent_usd`` does not)."""
        self.estimated_calls = 0
        """Calls counted in ``estimated_usd``."""
        self.input_tokens = 0
        self.output_tokens = 0
        self.calls = 0
        """Calls sent in this session."""
        self.cached_calls = 0
        """Calls the response cache answered in this session (free)."""
        self.unpriced: set[tuple[str, Unknown]] = set()
        """Endpoints whose calls had an unknown cost, with why (the cost cap cannot count
        them)."""
        self.stop_reason: str | None = None
        """``cost cap`` or ``token cap`` once a cap is reached, ``interrupted`` on Ctrl-C."""
        self.started = time.monotonic()
        self.paid_lines = 0
        """Lines of the ledger: paid calls of the run (all sessions)."""
        closed: set[str] = set()
        self._paid_hashes: set[str] = set()
        self._follow = follow
        self._followed = Tally()
        """What :meth:`follow` counted of the other workers' calls."""
        self._own: set[str] = set()
        """Ids of the ledger lines this meter wrote (``follow`` only: not counted twice)."""
        self._read_to = 0
        if follow and ledger is not None:
            self.follow()
            self._followed = Tally()  # all of it was there before this session
        elif ledger is not None:
            paid, closed, self._paid_hashes = read_ledger(ledger)
            for name in _FROM_LEDGER:
                setattr(self, name, getattr(paid, name))
        self.unclosed: list[SentEntry] = []
        """Calls earlier sessions sent that were neither paid nor closed: cut off by a kill
        or a cancellation."""
        if sent is not None and sent.path.exists() and not follow:
            self.unclosed = unclosed_marks(sent, closed)
        self.lost_in_flight = len(self.unclosed)
        """Calls a kill or a cancellation cut off in flight (all sessions): perhaps charged by
        the provider, cost unknown. :meth:`recover` takes out those the cache answered."""
        self.carried_usd = self.spent_usd
        """Spend of earlier sessions of this run."""
        self._start = Tally.of(self)

    @property
    def _following(self) -> bool:
        """Whether other workers' spend is read (``follow``, and a cap that needs it)."""
        return self._follow and (self.max_cost_usd is not None or self.max_tokens is not None)

    def session(self) -> Tally:
        """What this meter's own calls added in this session (not earlier sessions', not
        other workers')."""
        return Tally.of(self) - self._start - self._followed

    def follow(self) -> None:
        """Count the ledger lines other processes appended since the last look (``follow``)."""
        if self.ledger is None:
            return
        try:
            with open(self.ledger.path, "rb") as f:
                f.seek(self._read_to)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1  # a line being written is read next time
        before = Tally.of(self)
        for line in data[:end].splitlines():
            if not line.strip():
                continue
            entry = SpendEntry.model_validate_json(line)
            if entry.id in self._own:
                self._own.discard(entry.id)
                continue
            self._add(entry.cost_usd, entry.input_tokens, entry.output_tokens, entry.estimated_usd)
            self.paid_lines += 1
            if entry.request_hash is not None:
                self._paid_hashes.add(entry.request_hash)
        self._read_to += end
        self._followed += Tally.of(self) - before

    def recover(self, endpoints: Iterable[Endpoint]) -> int:
        """Write the spend lines a kill prevented for calls whose reply reached the response
        cache (from the cached usage, at the endpoint's price; without token counts, at the
        most it can have cost); return how many. A cached reply is one call's: when the
        ledger already has a line for its request, or another cut-off call of the same
        request was recovered, the rest were still in flight (the same request cut off by
        several kills) and stay counted as lost."""
        by_spec = {e.spec: e for e in endpoints}
        recovered = 0
        still: list[SentEntry] = []
        for mark in reversed(self.unclosed):  # the latest call of a request wrote its reply
            found = by_spec.get(mark.endpoint)
            cache = getattr(found, "cache", None)
            hit = cache.get(mark.request_hash) if found is not None and cache is not None else None
            if found is None or hit is None or mark.request_hash in self._paid_hashes:
                still.append(mark)
                continue
            self._paid_hashes.add(mark.request_hash)
            cost = found.cost_of(hit.usage, request_hash=mark.request_hash)
            bound = cached_bound(found, mark.request_hash, hit)
            self._add(cost, hit.usage.input_tokens, hit.usage.output_tokens, bound)
            self.paid_lines += 1
            if self.ledger is not None:
                self.ledger.append(
                    SpendEntry(
                        endpoint=mark.endpoint,
                        input_tokens=hit.usage.input_tokens,
                        output_tokens=hit.usage.output_tokens,
                        cost_usd=cost,
                        estimated_usd=bound,
                        request_hash=mark.request_hash,
                        sent_id=mark.id,
                        recovered=True,
                    )
                )
            recovered += 1
        self.unclosed = still[::-1]
        self.lost_in_flight = len(still)
        return recovered

    def sending(self, endpoint: str, request_hash: str) -> str:
        """Note that a request is about to be sent; return the id its record will carry
        (it names this session, which holds its lock until :meth:`close`)."""
        if self.sent is None:
            return new_id()
        if self._session is None:
            self._session = Session(self.sent.path.parent, new_id())
            weakref.finalize(self, self._session.close)
        mark_id = f"{new_id()}@{self._session.id}"
        self.sent.append(SentEntry(id=mark_id, endpoint=endpoint, request_hash=request_hash))
        return mark_id

    def close(self) -> None:
        """End this meter's session: its calls still unclosed count as cut off from now on.
        Its logs are closed too (their index databases with them, so no ``-wal`` file is
        left in the run folder); counting again reopens them."""
        if self._session is not None:
            self._session.close()
        for log in (self.ledger, self.sent):
            if log is not None:
                log.close()

    def unpaid(self, sent_id: str) -> None:
        """Note that the sent call ``sent_id`` ended with nothing to pay."""
        if self.sent is not None:
            self.sent.append(SentEntry(id=sent_id, event="unpaid"))

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
        if self._following and self.stop_reason is None:
            self.follow()
        if self.stop_reason is None:
            if self.max_cost_usd is not None and self.counted_usd >= self.max_cost_usd:
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
            return (
                f"token cap reached: {self.tokens:,} of {self.max_tokens:,} tokens; "
                f"resume with a higher [limits] max_tokens"
            )
        counted = f"${self.counted_usd:.4f}"
        if self.estimated_calls:
            counted += f" ({self.spend_text()})"
        return (
            f"cost cap reached: {counted} of ${self.max_cost_usd or 0:.4f}; "
            f"resume with a higher cap (--max-cost)"
        )

    @property
    def counted_usd(self) -> float:
        """What the cost cap counts: known dollars plus the estimates of calls without token
        counts."""
        return self.spent_usd + self.estimated_usd

    def record(self, call: Call, *, sent_id: str | None = None, bound: float | None = None) -> None:
        """Count one finished call; append it to the ledger when it was paid for. ``bound``:
        the most the call can have cost (:meth:`Endpoint.cost_bound`), counted when its reply
        carried no token counts."""
        if call.cached:
            self.cached_calls += 1
            return
        self.calls += 1
        self.paid_lines += 1
        if call.cost_usd is None:
            self.unpriced.add((call.endpoint, "price" if call.usage.reported else "usage"))
        estimated = bound if call.cost_usd is None and not call.usage.reported else None
        self._add(call.cost_usd, call.usage.input_tokens, call.usage.output_tokens, estimated)
        self._paid_hashes.add(call.request_hash)
        if self.ledger is not None:
            entry = SpendEntry(
                endpoint=call.endpoint,
                input_tokens=call.usage.input_tokens,
                output_tokens=call.usage.output_tokens,
                cost_usd=call.cost_usd,
                estimated_usd=estimated,
                request_hash=call.request_hash,
                sent_id=sent_id,
            )
            if self._following:
                self._own.add(entry.id)
            self.ledger.append(entry)

    def _add(
        self, cost: float | None, input_tokens: int, output_tokens: int, bound: float | None = None
    ) -> None:
        count_paid(self, cost, input_tokens, output_tokens, bound)

    def spend_text(self) -> str:
        """Spend in words, unknown costs said apart (never counted as zero)."""
        return spend_text(
            self.spent_usd,
            self.unknown_cost_calls,
            self.lost_in_flight,
            estimated_usd=self.estimated_usd,
            estimated_calls=self.estimated_calls,
        )
