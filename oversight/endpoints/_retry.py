"""The one retry layer: tenacity around one attempt, driven by what the backend says failed.

A backend turns a provider's exception into a :class:`Failure` (retryable or not, how long
the provider asked us to wait). Rate limits and overload honour ``retry-after-ms`` /
``retry-after`` (a 429 without either waits for the reset of the limit that ran out:
OpenAI's ``x-ratelimit-reset-*``, Anthropic's ``anthropic-ratelimit-*-reset``); 5xx,
timeouts, dropped connections and malformed bodies back off exponentially with jitter;
anything else fails at once. Attempts and total time are bounded.

A rate limit or overload is the provider asking the whole model to slow down, not just one
request: its wait is also handed to ``on_throttle`` (the endpoint pauses its shared limits
with it), so every caller of that model holds back until then, not only the one refused;
unless the refused call gives up instead (its last attempt, or a wait past its time budget).
"""

from __future__ import annotations

import datetime
import email.utils
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

__all__ = ["Failure", "RetryPolicy", "RetryStats", "parse_retry_after", "status_failure"]

T = TypeVar("T")

_RETRYABLE_STATUS = frozenset({408, 409, 429})
# Rate limited (429), unavailable or overloaded (OpenAI's 503, Anthropic's 529).
_THROTTLE_STATUS = frozenset({429, 503, 529})


@dataclass(frozen=True)
class Failure:
    """What went wrong in one attempt, as the retry layer needs to know it."""

    retryable: bool
    """True for rate limits, overload, 5xx, timeouts, dropped connections, malformed bodies."""
    reason: str
    """Short description for messages, e.g. ``HTTP 429 rate limited``."""
    status_code: int | None = None
    """HTTP status, when there was one."""
    request_id: str | None = None
    """The provider's request id, when it sent one."""
    provider_message: str | None = None
    """The provider's own error message."""
    retry_after_s: float | None = None
    """Seconds the provider asked us to wait before the next attempt."""
    throttled: bool = False
    """True for a rate limit or overload: every caller of the model should pause, not only
    the one refused."""


def status_failure(
    status: int,
    message: str | None,
    *,
    request_id: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Failure:
    """A Failure for an HTTP error status: 408, 409, 429 and 5xx (but 501) are retryable,
    unless the server says otherwise in ``x-should-retry``."""
    retryable = status in _RETRYABLE_STATUS or (status >= 500 and status != 501)
    should_retry = (headers or {}).get("x-should-retry")
    if should_retry in ("true", "false"):
        retryable = should_retry == "true"
    retry_after = parse_retry_after(headers) if retryable and headers else None
    if retry_after is None and retryable and headers and status == 429:
        retry_after = _ratelimit_reset(headers)
    return Failure(
        retryable=retryable,
        reason=f"HTTP {status}",
        status_code=status,
        request_id=request_id,
        provider_message=message,
        retry_after_s=retry_after,
        throttled=retryable and status in _THROTTLE_STATUS,
    )


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms``, else ``retry-after`` (seconds or an HTTP date)."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(float(value) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(email.utils.mktime_tz(parsed) - time.time(), 0.0)


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|us|µs|ns|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def _ratelimit_reset(headers: Mapping[str, str]) -> float | None:
    """Seconds until the limit that ran out resets: the longest wait of the limits whose
    remaining count is 0 (or not sent). OpenAI says it in ``x-ratelimit-reset-requests`` /
    ``-tokens`` as a duration (``1m30s``, ``120ms``, or plain seconds as Azure sends),
    Anthropic in ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-reset``
    as an RFC 3339 time. None when no limit ran out or no reset can be read (or it has
    passed): the backoff decides then."""
    waits = []
    for header, limits, read in _RATE_LIMIT_HEADERS:
        for limit in limits:
            remaining = headers.get(header.format(limit=limit, what="remaining"))
            reset = headers.get(header.format(limit=limit, what="reset"))
            if reset is not None and remaining in (None, "0"):
                seconds = read(reset.strip())
                if seconds is not None and 0 < seconds < math.inf:
                    waits.append(seconds)
    return max(waits, default=None)


def _duration(text: str) -> float | None:
    """Seconds in ``text``, a Go duration (``1h2m3.5s``, ``6m0s``, ``120ms``) or a number."""
    try:
        return float(text)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


def _until(text: str) -> float | None:
    """Seconds from now (the wall clock) to ``text``, an RFC 3339 time such as
    ``2026-12-03T15:00:30Z``; None for a time without an offset (no telling its zone)."""
    try:
        when = datetime.datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return when.timestamp() - time.time()


# Each provider's rate-limit headers: (name pattern, the limits it names, how a reset reads).
_RATE_LIMIT_HEADERS: tuple[tuple[str, tuple[str, ...], Callable[[str], float | None]], ...] = (
    ("x-ratelimit-{what}-{limit}", ("requests", "tokens"), _duration),
    (
        "anthropic-ratelimit-{limit}-{what}",
        ("requests", "tokens", "input-tokens", "output-tokens"),
        _until,
    ),
)


@dataclass
class RetryStats:
    """How a call went through the retry layer (kept up to date, also when it fails)."""

    retries: int = 0
    """Attempts retried so far."""
    wait_s: float = 0.0
    """Seconds spent waiting between attempts so far."""
    queued_s: float = 0.0
    """Seconds the last attempt waited for a concurrency or rate-limit slot."""
    latency_s: float = 0.0
    """Seconds the last attempt took from sending to its reply (or failure)."""


class RetryPolicy:
    """Bounded retries with Retry-After or exponential backoff with jitter (tenacity)."""

    __slots__ = ("backoff", "backoff_max", "classify", "max_retries", "max_time", "on_throttle")

    def __init__(
        self,
        classify: Callable[[BaseException], Failure | None],
        *,
        max_retries: int,
        max_time: float,
        backoff: float,
        backoff_max: float,
        on_throttle: Callable[[float], None] | None = None,
    ) -> None:
        self.classify = classify
        self.on_throttle = on_throttle  # told each rate limit's wait, to pause other callers
        self.max_retries = max_retries
        self.max_time = max_time
        self.backoff = backoff
        self.backoff_max = backoff_max

    async def run(self, attempt: Callable[[], Awaitable[T]], stats: RetryStats) -> T:
        """Call ``attempt`` until it returns or a failure is final; re-raise the last error.

        The last error is the provider's own exception: the endpoint turns it into ours.
        Retries and waiting are added to ``stats`` as they happen.
        """
        started = time.monotonic()
        try:
            return await attempt()  # most calls succeed at once: no retry machinery for them
        except Exception as error:
            if not self._retryable(error):
                raise
            first_failure: list[Exception] = [error]

        async def again() -> T:
            if first_failure:  # tenacity's first attempt is the one that just failed
                raise first_failure.pop()
            return await attempt()

        base_retries, base_wait = stats.retries, stats.wait_s

        def count(state: RetryCallState) -> None:
            stats.retries = base_retries + state.attempt_number
            stats.wait_s = base_wait + state.idle_for
            self._throttle(state)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1)
            | stop_before_delay(self.max_time - (time.monotonic() - started)),
            wait=self._wait,
            retry=retry_if_exception(self._retryable),
            before_sleep=count,
            reraise=True,
        )
        async for try_ in retrying:
            with try_:
                return await again()
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _retryable(self, error: BaseException) -> bool:
        failure = self.classify(error)
        return failure is not None and failure.retryable

    def _wait(self, state: RetryCallState) -> float:
        """Retry-After when given (never less, a little jitter more), else backoff."""
        failure = self._failure(state)
        if failure is not None and failure.retry_after_s is not None:
            return failure.retry_after_s * (1 + 0.1 * random.random())
        step = min(self.backoff * 2.0 ** (state.attempt_number - 1), self.backoff_max)
        return step / 2 + random.uniform(0, step / 2)

    def _throttle(self, state: RetryCallState) -> None:
        """After a rate limit or overload, the wait this call is about to sit out, for every
        caller (``on_throttle``). Only a wait that is sat out: a call that gives up instead
        (its attempts or time spent) holds no one else back."""
        failure = self._failure(state)
        if failure is not None and failure.throttled and self.on_throttle is not None:
            self.on_throttle(state.upcoming_sleep)

    def _failure(self, state: RetryCallState) -> Failure | None:
        error = state.outcome.exception() if state.outcome else None
        return self.classify(error) if error is not None else None
