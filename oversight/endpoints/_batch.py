"""Batch APIs: requests that do not wait on each other, sent as one provider batch.

With ``batch=True`` an endpoint's requests are gathered for ``batch_window`` seconds, sent
as one OpenAI Batch API job or Anthropic Message Batch, and answered when the batch ends
(at the providers' batch price, half the standard one). Each request's ``custom_id`` is its
response-cache key, and every batch is written to a ledger file next to the cache
(``batches.jsonl`` in the run folder) before it is sent (with a label the provider keeps,
where it keeps one) and again with its id once accepted, so a process killed mid-batch and
started again polls the batches it already submitted instead of sending (and paying for)
the requests again. A kill between sending and writing the id is recovered through the
label on OpenAI (batch metadata); Anthropic batches carry no label, so there the requests
would be sent again. A request the batch could not answer (an
error line, an expired batch) fails like any call: retryable ones are resubmitted by the
retry layer in a later batch.
"""

from __future__ import annotations

import abc
import asyncio
import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oversight.endpoints._types import Reply, Request
from transcripts.errors import ConfigError, ProviderError

__all__ = ["BATCH_DISCOUNT", "BatchApi", "BatchLedger", "BatchQueue", "ItemError", "ledger_for"]

log = logging.getLogger("oversight.endpoints")

BATCH_DISCOUNT = 0.5
"""Batch calls cost this times the standard price (OpenAI and Anthropic, as published)."""


def ItemError(message: str, *, status_code: int) -> ProviderError:
    """One request of a batch that got no reply, as the provider error the retry layer reads
    (408 for an expired batch and 5xx are retried in a later batch; other 4xx are not)."""
    return ProviderError(message, status_code=status_code, provider_message=message)


class BatchApi(abc.ABC):
    """A provider's batch endpoints, as one backend speaks them."""

    @abc.abstractmethod
    async def submit(self, items: list[tuple[str, Request]], *, submission: str) -> str:
        """Send the requests (custom id, request) as one batch labelled ``submission``
        where the provider keeps labels; return the batch id."""

    async def find(self, submission: str) -> str | None:
        """The id of the batch labelled ``submission``, if the provider has one (for a
        process killed between submitting and writing down the id)."""
        return None

    @abc.abstractmethod
    async def ended(self, batch_id: str) -> bool:
        """Whether the batch has finished (completed, failed, expired or cancelled)."""

    @abc.abstractmethod
    async def results(self, batch_id: str) -> dict[str, Reply | ProviderError]:
        """Each custom id's reply, or why it has none (ids missing had no result)."""


@dataclass
class BatchLedger:
    """``batches.jsonl``: every batch submitted and the request keys it carries."""

    path: Path
    """The ledger file (JSON Lines, appended and fsynced record by record)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, entry: dict[str, Any]) -> None:
        """Append one entry durably (a kill after this returns cannot lose it)."""
        line = (json.dumps(entry, sort_keys=True) + "\n").encode()
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def entries(self) -> list[dict[str, Any]]:
        """Every readable entry (a torn last line from a crash is skipped)."""
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_bytes().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                out.append(entry)
        return out

    def open_batches(self, endpoint: str) -> dict[str, str]:
        """Request key -> id of the latest batch of ``endpoint`` that carries it; a batch
        whose id was never written down (a kill mid-submission) is ``?<submission label>``."""
        owner: dict[str, str] = {}
        labels: dict[str, str] = {}
        for entry in self.entries():
            if entry.get("endpoint") != endpoint:
                continue
            if entry.get("event") == "submitting":
                for key in entry.get("keys", []):
                    owner[key] = "?" + entry["submission"]
            elif entry.get("event") == "submitted":
                labels[entry.get("submission", "")] = entry["batch_id"]
                for key in entry.get("keys", []):
                    owner[key] = entry["batch_id"]
        return {
            key: labels.get(value[1:], value) if value.startswith("?") else value
            for key, value in owner.items()
        }


@dataclass
class _Waiter:
    key: str
    request: Request
    future: asyncio.Future[Reply]


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
        self._watchers: dict[str, asyncio.Task[dict[str, Reply | ProviderError]]] = {}
        self._known = ledger.open_batches(endpoint)
        self._used: set[tuple[str, str]] = set()
        self._found: dict[str, str | None] = {}
        self.submitted = 0
        """Batches this queue submitted."""
        self.resumed = 0
        """Batches from an earlier process that this queue polled instead of resubmitting."""

    async def send(self, request: Request, key: str) -> Reply:
        """The reply to ``request`` (cache key ``key``) from a batch."""
        earlier = self._known.get(key)
        if earlier is not None and earlier.startswith("?"):
            earlier = await self._resolve(earlier[1:])
        if earlier is not None and (earlier, key) not in self._used:
            self._used.add((earlier, key))
            if earlier not in self._watchers:
                self.resumed += 1
                log.info("%s: polling batch %s submitted before", self.endpoint, earlier)
            return _answer(await self._watch(earlier), key)
        loop = asyncio.get_running_loop()
        waiter = _Waiter(key, request, loop.create_future())
        self._pending.append(waiter)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_after_window())
            self._tasks.add(self._flusher)
            self._flusher.add_done_callback(self._tasks.discard)
        return await waiter.future

    async def _resolve(self, submission: str) -> str | None:
        """The batch of a submission whose id a killed process did not write down."""
        if submission not in self._found:
            found = await self.api.find(submission)
            self._found[submission] = found
            if found is not None:
                self.ledger.record(
                    {
                        "event": "submitted",
                        "endpoint": self.endpoint,
                        "batch_id": found,
                        "submission": submission,
                        "keys": [],
                    }
                )
        return self._found[submission]

    async def _flush_after_window(self) -> None:
        await asyncio.sleep(self.window)
        waiters, self._pending = self._pending, []
        self._flusher = None  # requests arriving from now on start the next batch
        if not waiters:
            return
        for w in waiters:
            w.future.add_done_callback(_retrieve)
        try:
            results = await self._submit_and_wait(waiters)
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
                w.future.set_result(_answer(results, w.key))
            except ProviderError as err:
                w.future.set_exception(err)

    async def _submit_and_wait(self, waiters: list[_Waiter]) -> dict[str, Reply | ProviderError]:
        """Write the batch down, send it, write its id down, and wait for its results."""
        submission = uuid.uuid4().hex
        keys = [w.key for w in waiters]
        self.ledger.record(
            {
                "event": "submitting",
                "endpoint": self.endpoint,
                "submission": submission,
                "keys": keys,
            }
        )
        batch_id = await self.api.submit(
            [(w.key, w.request) for w in waiters], submission=submission
        )
        self.submitted += 1
        self.ledger.record(
            {
                "event": "submitted",
                "endpoint": self.endpoint,
                "batch_id": batch_id,
                "submission": submission,
                "keys": keys,
            }
        )
        for key in keys:
            self._known[key] = batch_id
            self._used.add((batch_id, key))
        return await self._watch(batch_id)

    def _watch(self, batch_id: str) -> asyncio.Task[dict[str, Reply | ProviderError]]:
        task = self._watchers.get(batch_id)
        if task is None:
            task = self._watchers[batch_id] = asyncio.create_task(self._poll(batch_id))
        return task

    async def _poll(self, batch_id: str) -> dict[str, Reply | ProviderError]:
        while True:  # a provider batch is polled: nothing pushes its end to us
            if await self.api.ended(batch_id):
                break
            await asyncio.sleep(self.poll_interval)
        results = await self.api.results(batch_id)
        self.ledger.record(
            {
                "event": "ended",
                "endpoint": self.endpoint,
                "batch_id": batch_id,
                "answered": sum(isinstance(r, Reply) for r in results.values()),
                "failed": sum(isinstance(r, ProviderError) for r in results.values()),
            }
        )
        return results

    async def aclose(self) -> None:
        """Stop polling (the ledger keeps the batches for the next process)."""
        tasks: list[asyncio.Task[Any]] = [
            t for t in [*self._tasks, *self._watchers.values()] if not t.done()
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _retrieve(future: asyncio.Future[Reply]) -> None:
    """Mark a waiter's exception as seen (its caller may have been cancelled)."""
    if not future.cancelled():
        future.exception()


def _answer(results: dict[str, Reply | ProviderError], key: str) -> Reply:
    result = results.get(key)
    if result is None:
        raise ItemError(f"the batch returned no result for request {key[:12]}", status_code=500)
    if isinstance(result, ProviderError):
        raise result
    return result


def ledger_for(cache_path: Path | None, spec: str) -> BatchLedger:
    """The ledger beside the response cache (the run folder's, for runs and re-judging)."""
    if cache_path is None:
        raise ConfigError(
            f"endpoint {spec!r}: batch=True needs the response cache (it keeps the batches' "
            "replies and, beside it, the ledger that lets a killed run resume them): drop "
            "cache=False"
        )
    return BatchLedger(cache_path.parent / "batches.jsonl")
