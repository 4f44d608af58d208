"""Batch APIs: requests that do not wait on each other, sent as one provider batch.

On an endpoint with ``batch=True``, the requests marked ``batchable`` (the call sites
nothing waits on at once: see :attr:`Request.batchable`) are gathered for ``batch_window``
seconds, sent as one OpenAI Batch API job or Anthropic Message Batch, and answered when the
batch ends, at the providers' batch price (half the standard one); the endpoint's other
requests are sent at once, at the standard price.

Every batch is written to a ledger next to the response cache (``batches.jsonl`` in the run
folder): first its *intent* (a nonce, the request keys, the time), durably, before the
provider is asked; then its id once accepted. Each request's ``custom_id`` is the nonce and
its cache key. A process killed mid-batch and started again polls the batches it already
submitted instead of sending (and paying for) the requests again. An intent whose id was
never written (a kill, or a lost reply, between creating the batch and writing the id) is
looked up at the provider before anything is sent again: by its label on OpenAI (batch
metadata); on Anthropic, whose batches carry no label, among the batches created since the
intent with as many requests, the one whose results carry exactly the intent's custom ids.
Only when no such batch exists are the requests sent again. A request the batch could not
answer (an error line, an expired batch) fails like any call: retryable ones are
resubmitted by the retry layer in a later batch.

A batch cancelled at the provider (by a person: oversight never cancels one) keeps what it
answered; the requests it never ran fail for the rest of the session, and the next session
(a resumed run) sends them, once, in a new batch, at once if the batch ended while no
session watched it. A warning names the batch and how many requests it answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from oversight.endpoints._batch_api import CLOCK_SKEW_S, BatchApi, ItemCancelled, ItemError
from oversight.endpoints._batch_ledger import (
    BatchLedger,
    Intent,
    custom_id,
    key_part,
    ledger_for,
)
from oversight.endpoints._types import Reply, Request
from transcripts.errors import ProviderError

__all__ = [
    "BATCH_DISCOUNT",
    "CLOCK_SKEW_S",
    "BatchApi",
    "BatchLedger",
    "BatchQueue",
    "Intent",
    "ItemCancelled",
    "ItemError",
    "batchable_calls",
    "custom_id",
    "ledger_for",
]

log = logging.getLogger("oversight.endpoints")

BATCH_DISCOUNT = 0.5
"""Batch calls cost this times the standard price (OpenAI and Anthropic, as published)."""

_BATCHABLE: ContextVar[bool] = ContextVar("oversight_batchable", default=False)


@contextlib.contextmanager
def batchable_calls(*, on: bool = True) -> Iterator[None]:
    """Mark the calls made inside (in this task and the tasks it starts) ``batchable``,
    unless a call says otherwise itself: for a call site that reaches its endpoints through
    an interface it does not own, such as a judge's final verdict (``Judge.judge``);
    ``on=False`` marks them not batchable::

        with batchable_calls():
            judgment = await judge.judge(view)
    """
    token = _BATCHABLE.set(on)
    try:
        yield
    finally:
        _BATCHABLE.reset(token)


def in_batchable_scope() -> bool:
    """Whether the current call site is inside :func:`batchable_calls`."""
    return _BATCHABLE.get()


@dataclass
class _Waiter:
    key: str
    request: Request
    future: asyncio.Future[Reply]


@dataclass
class _Results:
    """A finished batch's results by custom id, and by the cache-key part of the id."""

    by_id: dict[str, Reply | ProviderError]
    by_key: dict[str, Reply | ProviderError] = field(init=False)

    def __post_init__(self) -> None:
        self.by_key = {key_part(c): r for c, r in self.by_id.items()}


class BatchQueue:
    """Gathers one endpoint's requests into batches and answers each from its batch."""

    def __init__(
        self,
        api: BatchApi,
        ledger: BatchLedger,
        endpoint: str,
        *,
        window: float,
        poll_interval: float,
    ) -> None:
        self.api = api
        self.ledger = ledger
        self.endpoint = endpoint
        self.window = window
        self.poll_interval = poll_interval
        self._pending: list[_Waiter] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._flusher: asyncio.Task[None] | None = None
        self._watchers: dict[str, asyncio.Task[_Results]] = {}
        self._known, self._intents, self._carried = ledger.open_batches(endpoint)
        self._used: set[tuple[str, str]] = set()
        self._finding: dict[str, asyncio.Task[str | None]] = {}
        self._mine: set[str] = set()  # batches (and ?submissions) this session submitted
        self._told: set[str] = set()  # batches whose cancellation or expiry was reported
        self._refused: dict[str, str] = {}  # request key -> why it is not sent again
        self.submitted = 0
        """Batches this queue submitted."""
        self.resumed = 0
        """Batches from an earlier process (or an unanswered create) that this queue polled
        instead of resubmitting."""

    def carries(self, key: str) -> bool:
        """Whether the request with cache key ``key`` was put in a batch (by this process or,
        per the ledger, an earlier one): its reply is then read from the batch, never
        asked again apart."""
        return key in self._known

    async def send(self, request: Request, key: str) -> Reply:
        """The reply to ``request`` (cache key ``key``) from a batch."""
        if key in self._refused:  # asked again (an item retry): not sent in this session
            raise ItemCancelled(self._refused[key])
        earlier = self._known.get(key)
        if earlier is not None and earlier.startswith("?"):
            earlier = await self._resolve(earlier[1:])
        if earlier is not None and (earlier, key) not in self._used:
            if earlier not in self._watchers:
                self.resumed += 1
                log.info("%s: polling batch %s submitted before", self.endpoint, earlier)
            results = await self._watch(earlier)  # a failed poll raises: a retry polls again
            self._used.add((earlier, key))  # read: a retry of a failed line goes in a new batch
            try:
                return self._reply(earlier, results, key)
            except ItemCancelled:
                if earlier in self._mine:
                    raise
                # Cancelled while no session of ours watched it: this one sends it again.
        loop = asyncio.get_running_loop()
        waiter = _Waiter(key, request, loop.create_future())
        self._pending.append(waiter)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_after_window())
            self._tasks.add(self._flusher)
            self._flusher.add_done_callback(self._tasks.discard)
        return await waiter.future

    async def _resolve(self, submission: str) -> str | None:
        """The batch of a submission whose id was never written down (one lookup, shared by
        every request it carries)."""
        task = self._finding.get(submission)
        if task is None or _failed(task):  # a failed lookup is tried again by the retry
            task = asyncio.create_task(self._find(self._intents[submission]))
            self._finding[submission] = task
        return await asyncio.shield(task)

    async def _find(self, intent: Intent) -> str | None:
        found = await self.api.find(intent)
        if found is None:
            found = await self._confirm(await self.api.candidates(intent), intent)
            self.resumed += found is not None  # polled already, while it was confirmed
        if found is None:
            log.info("%s: no batch was made of submission %s", self.endpoint, intent.submission)
            return None
        if "?" + intent.submission in self._mine:
            self._mine.add(found)
        self._carried[found] = intent.custom_ids
        self.ledger.record(
            {
                "event": "submitted",
                "endpoint": self.endpoint,
                "batch_id": found,
                "submission": intent.submission,
                "keys": list(intent.keys),
            }
        )
        for key in intent.keys:
            if self._known.get(key) == "?" + intent.submission:
                self._known[key] = found
        return found

    async def _confirm(self, candidates: list[str], intent: Intent) -> str | None:
        """The candidate whose results carry exactly ``intent``'s custom ids (each polled
        until it ends: only then are its ids known); None if none does."""
        known = set(self._known.values())  # batches of other submissions
        candidates = [c for c in candidates if c not in known]
        fresh = [c for c in candidates if c not in self._watchers]
        if not candidates:
            return None

        async def check(batch_id: str) -> str | None:
            results = await self._watch(batch_id)
            return batch_id if set(results.by_id) == intent.custom_ids else None

        found = None
        try:
            for done in asyncio.as_completed([check(c) for c in candidates]):
                found = await done
                if found is not None:
                    break
        finally:
            for other in fresh:  # stop polling the batches that turned out not to be ours
                task = self._watchers.get(other)
                if other != found and task is not None and not task.done():
                    task.cancel()
                    del self._watchers[other]
        return found

    async def _flush_after_window(self) -> None:
        await asyncio.sleep(self.window)
        waiters, self._pending = self._pending, []
        self._flusher = None  # requests arriving from now on start the next batch
        if not waiters:
            return
        for w in waiters:
            w.future.add_done_callback(_retrieve)
        try:
            batch_id, results = await self._submit_and_wait(waiters)
        except BaseException as err:  # every waiter hears of it, then it goes on up
            for w in waiters:
                if not w.future.done():
                    w.future.set_exception(err)
            if not isinstance(err, Exception):
                raise
            return
        for w in waiters:
            if w.future.done():
                continue
            try:
                w.future.set_result(self._reply(batch_id, results, w.key))
            except ProviderError as err:
                w.future.set_exception(err)

    async def _submit_and_wait(self, waiters: list[_Waiter]) -> tuple[str, _Results]:
        """Write the intent down, send the batch, write its id down, wait for its results."""
        intent = Intent(uuid.uuid4().hex, tuple(w.key for w in waiters), time.time())
        self.ledger.record(
            {
                "event": "submitting",
                "endpoint": self.endpoint,
                "submission": intent.submission,
                "keys": list(intent.keys),
                "at": intent.at,
            }
        )
        try:
            batch_id = await self.api.submit(
                [(custom_id(intent.submission, w.key), w.request) for w in waiters],
                submission=intent.submission,
            )
        except BaseException:
            # The batch may exist though no reply said so (a dropped connection, a
            # timeout): a retry looks it up before sending anything again.
            self._intents[intent.submission] = intent
            self._mine.add("?" + intent.submission)
            for key in intent.keys:
                self._known[key] = "?" + intent.submission
            raise
        self.submitted += 1
        self._mine.add(batch_id)
        self._carried[batch_id] = intent.custom_ids
        self.ledger.record(
            {
                "event": "submitted",
                "endpoint": self.endpoint,
                "batch_id": batch_id,
                "submission": intent.submission,
                "keys": list(intent.keys),
            }
        )
        for key in intent.keys:
            self._known[key] = batch_id
        results = await self._watch(batch_id)  # a failed poll: a retry polls this batch again
        self._used.update((batch_id, key) for key in intent.keys)
        return batch_id, results

    def _reply(self, batch_id: str, results: _Results, key: str) -> Reply:
        """The reply to the request with cache key ``key`` from the ended batch ``batch_id``;
        a request the batch never ran as it was cancelled raises ItemCancelled (one of this
        session's batches: for the rest of the session)."""
        self._tell(batch_id, results)
        try:
            return _answer(results, key)
        except ItemCancelled:
            if batch_id not in self._mine:
                raise
            self._refused[key] = (
                f"{self.endpoint}: batch {batch_id} was cancelled at the provider before this "
                "request ran; it is not sent again in this session: resume the run (run the "
                "same command again) to send it in a new batch"
            )
            raise ItemCancelled(self._refused[key]) from None

    def _tell(self, batch_id: str, results: _Results) -> None:
        """Warn, once per batch, that it was cancelled or expired before it ran everything:
        how many requests it answered (kept), and what becomes of the others."""
        replies = list(results.by_id.values())
        cancelled = sum(isinstance(r, ItemCancelled) for r in replies)
        expired = sum(isinstance(r, ProviderError) and r.status_code == 408 for r in replies)
        if batch_id in self._told or not (cancelled or expired):
            return
        self._told.add(batch_id)
        rest = [f"{expired} expired before they ran and go in a new batch"] if expired else []
        if cancelled:
            rest.append(
                f"{cancelled} it never ran "
                + (
                    "fail and are not sent again in this session: resume the run (run the "
                    "same command again) to send them in a new batch"
                    if batch_id in self._mine
                    else "go in a new batch now, once (it ended while no session watched it)"
                )
            )
        log.warning(
            "%s: batch %s %s: %d of %d requests were answered (kept: not sent or paid for "
            "again); %s",
            self.endpoint,
            batch_id,
            "was cancelled at the provider" if cancelled else "expired",
            sum(isinstance(r, Reply) for r in replies),
            len(replies),
            "; ".join(rest),
        )

    def _watch(self, batch_id: str) -> asyncio.Task[_Results]:
        task = self._watchers.get(batch_id)
        if task is None or _failed(task):
            task = self._watchers[batch_id] = asyncio.create_task(self._poll(batch_id))
        return task

    async def _poll(self, batch_id: str) -> _Results:
        while True:  # a provider batch is polled: nothing pushes its end to us
            if await self.api.ended(batch_id):
                break
            await asyncio.sleep(self.poll_interval)
        results = _Results(
            await self.api.results(batch_id, self._carried.get(batch_id, frozenset()))
        )
        self.ledger.record(
            {
                "event": "ended",
                "endpoint": self.endpoint,
                "batch_id": batch_id,
                "answered": sum(isinstance(r, Reply) for r in results.by_id.values()),
                "failed": sum(isinstance(r, ProviderError) for r in results.by_id.values()),
            }
        )
        return results

    async def aclose(self) -> None:
        """Stop polling (the ledger keeps the batches for the next process)."""
        tasks: list[asyncio.Task[Any]] = [
            t
            for t in [*self._tasks, *self._watchers.values(), *self._finding.values()]
            if not t.done()
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _failed(task: asyncio.Task[Any]) -> bool:
    """Whether ``task`` ended without a result (an error, or cancelled)."""
    return task.done() and (task.cancelled() or task.exception() is not None)


def _retrieve(future: asyncio.Future[Reply]) -> None:
    """Mark a waiter's exception as seen (its caller may have been cancelled)."""
    if not future.cancelled():
        future.exception()


def _answer(results: _Results, key: str) -> Reply:
    """The reply to the request with cache key ``key`` among a batch's results."""
    result = results.by_key.get(key_part(key))
    if result is None:
        raise ItemError(f"the batch returned no result for request {key[:12]}", status_code=500)
    if isinstance(result, ProviderError):
        raise result
    return result
