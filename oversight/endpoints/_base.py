"""The endpoint: one ``complete`` for every provider, around a provider backend.

A backend only knows how to send one request to its provider, read the reply, and say
what a provider error means (:meth:`Backend.classify`). The :class:`Endpoint` around it
owns everything else, in one place and in this order: the response cache, the retry layer,
the limits (per attempt, including a pause shared by every caller after a rate limit),
structured-output validation, usage and cost.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from oversight.endpoints._backend import Backend, MessageLike, as_messages, schema_dict
from oversight.endpoints._batch import (
    BatchQueue,
    in_batchable_scope,
    ledger_for,
)
from oversight.endpoints._cache import ResponseCache, cache_key, open_cache
from oversight.endpoints._costs import EndpointCosts
from oversight.endpoints._limits import LimitSettings, shared_limits, token_estimate
from oversight.endpoints._options import EndpointOptions
from oversight.endpoints._pricing import as_price
from oversight.endpoints._retry import Failure, RetryPolicy, RetryStats
from oversight.endpoints._structured import (
    began_as_json,
    corrected,
    parse_structured,
)
from oversight.endpoints._types import Completion, Reply, Request
from transcripts import Call, Usage
from transcripts.errors import (
    CacheMissError,
    ConfigError,
    ProviderError,
    RetriesExhaustedError,
    StructuredOutputError,
)

__all__ = ["Backend", "Endpoint", "MessageLike", "Reply", "as_messages", "schema_dict"]

_MISSES_EXPLAINED = 3
"""An endpoint's first misses offline name what differs from the most alike cached request
(reading the endpoint's cached requests); later ones name the key only."""

log = logging.getLogger("oversight.endpoints")


class Endpoint(EndpointCosts):
    """A model behind a provider, with one call shape.

    Example::

        ep = endpoint("mock/echo", replies=["hello"])
        completion = await ep.complete("Say hello", max_tokens=10)
        completion.text, completion.usage, completion.cost_usd, completion.cached
    """

    def __init__(self, spec: str, backend: Backend, options: EndpointOptions | None = None) -> None:
        self.spec = spec
        self.backend = backend
        self.options = options = options or EndpointOptions()
        cache_option = backend.cache_by_default if options.cache is None else options.cache
        self.cache = open_cache(cache_option)
        self.offline = options.resolved_offline()
        self._misses_explained = 0
        if self.offline and self.cache is None:
            raise ConfigError(
                f"endpoint {spec!r} is offline but has no cache to answer from: "
                "drop cache=False, or unset offline / OVERSIGHT_OFFLINE"
            )
        explicit = LimitSettings(options.max_concurrency, options.rpm, options.tpm)
        self.limits = shared_limits(
            backend.provider,
            backend.server,
            backend.model,
            explicit,
            default_concurrency=backend.default_concurrency,
            account=backend.account,
        )
        self.retry = RetryPolicy(
            backend.classify,
            max_retries=options.max_retries,
            max_time=options.max_retry_time,
            backoff=options.retry_backoff,
            backoff_max=options.retry_backoff_max,
            on_throttle=self.limits.pause,
        )
        self.price = None if options.pricing is None else as_price(options.pricing)
        if options.pricing is not None and self.price is None:
            raise ConfigError(
                f"endpoint {spec!r}: pricing={options.pricing!r} names no model with a known "
                "price; pass pricing={'input': ..., 'output': ...} in USD per million tokens"
            )
        self._identity: dict[str, Any] | None = None  # at first call (a local model is hashed)
        self.batch: BatchQueue | None = None
        if options.batch:
            self.batch = BatchQueue(
                backend.batch_api(),
                ledger_for(self.cache.path if self.cache is not None else None, spec),
                spec,
                window=options.batch_window,
                poll_interval=options.batch_poll_interval,
            )

    def __repr__(self) -> str:
        return f"Endpoint({self.spec!r})"

    async def complete(
        self,
        messages: Sequence[MessageLike] | str,
        *,
        system: str | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        schema: dict[str, Any] | type[BaseModel] | None = None,
        seed: int | None = None,
        logprobs: bool = False,
        top_logprobs: int = 0,
        sample_index: int = 0,
        batchable: bool | None = None,
        on_send: Callable[[str], None] | None = None,
    ) -> Completion:
        """Ask the model; see :class:`Request` for what each option means.

        ``batchable`` says nothing waits on this reply at once: on an endpoint with
        ``batch=True`` it then goes through the provider's batch API at the batch price;
        every other call is sent at once at the standard price. None: as the call site's
        :func:`batchable_calls` scope says (not batchable outside one).

        ``on_send`` is called with the request's cache key just before it is sent to the
        provider (never when the cache answers), so a caller can note a call in flight.
        A fresh answer is in the cache file before this returns, so whatever the caller
        then records about it (as paid) a kill cannot make it be paid again.

        Answered from the cache when the identical request was answered before (then
        ``cached`` is True, usage zero and nothing is paid). Raises ProviderError for a
        request the provider refuses, RetriesExhaustedError when transient failures outlast
        the retry budget, StructuredOutputError when no reply matches ``schema``, and
        CacheMissError in offline mode when the cache has no answer.
        """
        request = Request(
            messages=as_messages(messages),
            system=system,
            max_tokens=max_tokens,
            temperature=temperature,
            schema=schema_dict(schema),
            seed=seed,
            logprobs=logprobs,
            top_logprobs=top_logprobs,
            sample_index=sample_index,
            batchable=in_batchable_scope() if batchable is None else batchable,
        )
        started = time.monotonic()
        if self._identity is None:
            self._identity = await asyncio.to_thread(self.backend.identity)
        key, canonical = cache_key(self._identity, request)
        cache = self.cache
        if cache is None:
            if on_send is not None:
                on_send(key)
            return await self._fresh(request, schema, key, started)
        while True:
            hit = cache.get(key)
            if hit is None and self.offline:
                raise CacheMissError(await self._miss(cache, key, canonical))
            if hit is not None:
                break
            waiting = cache.lead(key)
            if waiting is None:
                try:
                    if on_send is not None:
                        on_send(key)
                    completion = await self._fresh(request, schema, key, started)
                except BaseException:
                    cache.finish(key, None)
                    raise
                reply = Reply(
                    completion.text,
                    completion.call.usage,
                    completion.logprobs,
                    completion.call.finish_reason,
                )
                cache.finish(key, reply)
                # In the file before the caller can record the call as paid (see put).
                await asyncio.shield(cache.put(key, self.spec, canonical, reply))
                return completion
            hit = await asyncio.shield(waiting)
            if hit is not None:
                break
            # The identical request in flight failed: one of its waiters tries again.
        parsed = None if schema is None else parse_structured(hit.text, schema, self.spec)
        return self._completion(request, hit, parsed, key, started, cached=True)

    def check_credentials(self) -> None:
        """Raise MissingAPIKeyError now, naming the variable, if calls would need a key
        that is not set (so a run can refuse to start instead of failing every item)."""
        self.backend.check_credentials()

    async def aclose(self) -> None:
        """Release the backend's connections."""
        if self.batch is not None:
            await self.batch.aclose()
        await self.backend.aclose()

    async def _miss(self, cache: ResponseCache, key: str, canonical: str) -> str:
        """A cache miss's error: the endpoint and key, and for its first few misses what
        differs from the most alike request the cache holds for this endpoint."""
        said = (
            f"{self.spec}: offline, and the cache {cache.path} has no reply to this request "
            f"(key {key[:12]})"
        )
        self._misses_explained += 1
        if self._misses_explained <= _MISSES_EXPLAINED:
            nearest = await asyncio.to_thread(cache.nearest_difference, self.spec, canonical)
            said += f"; {nearest}" if nearest else f"; it holds no request of {self.spec}"
        return f"{said}; run once online to fill it, or unset offline"

    async def _fresh(
        self,
        request: Request,
        schema: dict[str, Any] | type[BaseModel] | None,
        key: str,
        started: float,
    ) -> Completion:
        """Send (with retries), validate against the schema (re-asking a bounded number of
        times), and price the answer."""
        stats = RetryStats()
        batched = self.batch is not None and (request.batchable or self.batch.carries(key))
        spent = Usage()
        last_error: StructuredOutputError | None = None
        asked = request
        rejected: list[Call] = []  # one record per paid reply that failed the schema
        for round_ in range(self.options.validation_retries + 1 if schema is not None else 1):
            if round_:
                stats.retries += 1
            # A re-ask is another request: in a batch it needs an id of its own.
            reply = await self._send(
                asked, stats, key if not round_ else _reask_id(key, round_), batched=batched
            )
            spent = spent + reply.usage
            if schema is None:
                return self._completion(
                    request, reply, None, key, started, stats=stats, usage=spent, batched=batched
                )
            try:
                parsed = parse_structured(reply.text, schema, self.spec)
            except StructuredOutputError as err:
                log.info("%s: reply %d did not match the schema: %s", self.spec, round_ + 1, err)
                last_error = err
                rejected.append(
                    self._completion(
                        request,
                        reply,
                        None,
                        key,
                        started,
                        stats=stats,
                        usage=reply.usage,
                        batched=batched,
                    ).call
                )
                if reply.finish_reason == "length":
                    break  # the same limit would cut the re-ask too
                asked = corrected(asked, reply.text, str(err))
                continue
            done = self._completion(
                request, reply, parsed, key, started, stats=stats, usage=spent, batched=batched
            )
            if rejected:  # one record per paid reply, for the ledger
                last = self._completion(
                    request,
                    reply,
                    parsed,
                    key,
                    started,
                    stats=stats,
                    usage=reply.usage,
                    batched=batched,
                ).call
                done = done.model_copy(update={"paid": [*rejected, last]})
            return done
        # The invalid replies were paid for: the error carries one call record per reply.
        if reply.finish_reason == "length" and not began_as_json(reply.text):
            raise StructuredOutputError(
                f"{self.spec}: the reply was cut at max_tokens={request.max_tokens} and was "
                f"not JSON at all: the server seems to have ignored the schema ({last_error}); "
                f"check that it supports structured output for this schema (a keyword it "
                f"cannot enforce may make it drop the schema), or simplify the schema",
                calls=rejected,
            )
        if reply.finish_reason == "length":
            raise StructuredOutputError(
                f"{self.spec}: the reply was cut at max_tokens={request.max_tokens} before its "
                f"JSON was complete ({last_error}); raise max_tokens for this call",
                calls=rejected,
            )
        raise StructuredOutputError(
            f"{last_error} (after {round_ + 1} replies, each re-ask told what was wrong; "
            "simplify the schema, raise max_tokens, or raise validation_retries)",
            calls=rejected,
        )

    async def _send(self, request: Request, stats: RetryStats, key: str, *, batched: bool) -> Reply:
        """One reply through the retry layer, each attempt inside the shared limits (or,
        ``batched``, in a provider batch, which has its own queue)."""
        tokens = token_estimate(request) if self.limits.settings.tpm else 0
        batch = self.batch if batched else None

        async def attempt() -> Reply:
            asked = time.monotonic()
            if batch is not None:
                return await batch.send(request, key)
            try:
                slots = await self.backend.server_slots()  # asked once, the server known
                if slots is not None:
                    self.limits.use_server_slots(slots)
                held = await self.limits.acquire(tokens)
            except BaseException:  # cancelled while it waited, say: those after it go
                self.backend.unsent()
                raise
            sent = time.monotonic()
            stats.queued_s = sent - asked
            try:
                return await self.backend.send(request)
            finally:
                stats.latency_s = time.monotonic() - sent
                self.limits.release(held)

        try:
            return await self.retry.run(attempt, stats)
        except Exception as err:
            failure = self.backend.classify(err)
            if failure is None:
                raise
            error, cause = self._error(failure, stats), err
        # The provider's exception is the cause unless it quotes the key (a printed traceback
        # shows the cause unredacted); raised here, outside except, so it is no context either.
        printed = "".join(traceback.format_exception(cause))
        raise error from (cause if self.backend.redact(printed) == printed else None)

    def _error(self, failure: Failure, stats: RetryStats) -> ProviderError | RetriesExhaustedError:
        """Our exception for the provider's last failure."""
        detail = failure.reason
        if failure.request_id:
            detail += f", request id {failure.request_id}"
        said = f": {failure.provider_message}" if failure.provider_message else ""
        if not failure.retryable:
            message = self.backend.redact(
                f"{self.spec}: the provider refused the request ({detail}){said}"
            )
            return ProviderError(
                message,
                status_code=failure.status_code,
                request_id=failure.request_id,
                provider_message=self.backend.redact(failure.provider_message or ""),
            )
        return RetriesExhaustedError(
            self.backend.redact(
                f"{self.spec}: gave up after {stats.retries + 1} attempts and "
                f"{stats.wait_s:.1f}s of waiting; last failure ({detail}){said}. "
                "Lower max_concurrency or rpm, or raise max_retries / max_retry_time"
            )
        )

    def _completion(
        self,
        request: Request,
        reply: Reply,
        parsed: Any,
        key: str,
        started: float,
        *,
        cached: bool = False,
        stats: RetryStats | None = None,
        usage: Usage | None = None,
        batched: bool = False,
    ) -> Completion:
        usage = Usage() if cached else usage or reply.usage
        call = Call(
            endpoint=self.spec,
            provider=self.backend.provider,
            model=self.backend.model,
            usage=usage,
            cost_usd=0.0 if cached else self._cost(usage, batched=batched),
            latency_s=stats.latency_s if stats else time.monotonic() - started,
            queued_s=stats.queued_s if stats else 0.0,
            batched=batched and not cached,
            cached=cached,
            retries=stats.retries if stats else 0,
            retry_wait_s=stats.wait_s if stats else 0.0,
            request_hash=key,
            sample_index=request.sample_index,
            finish_reason=reply.finish_reason,
        )
        return Completion(text=reply.text, parsed=parsed, logprobs=reply.logprobs, call=call)


def _reask_id(key: str, round_: int) -> str:
    """The batch id of the ``round_``-th re-ask of the request with cache key ``key``."""
    return hashlib.sha256(f"{key}:reask:{round_}".encode()).hexdigest()
