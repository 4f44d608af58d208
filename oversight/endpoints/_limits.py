"""Limits per model and server, shared by every endpoint of that model in the process.

Providers limit an organisation per model, not per caller, so two endpoints for the same
model, server and API key (a debater and a judge, say) share one budget (another key is
another organisation's, or project's, budget): at most
``max_concurrency`` requests in flight, ``rpm`` requests and ``tpm`` tokens per minute.
When endpoints ask for different limits, the strictest wins.

Rates are smoothed leaky buckets (aiolimiter) holding a tenth of a second's requests and a
second's tokens, so a limit also holds over windows much shorter than a minute.

After a rate limit or overload the retry layer pauses the model (:meth:`SharedLimits.pause`):
no attempt by any caller starts before the wait the provider asked for (or the backoff
chosen) is over, so one 429 does not turn into one per caller; after it, callers take room
in the rates anew, so they resume at the limits' pace, not in one burst. Attempts already
sent are left to finish.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections import deque
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

from oversight.endpoints._secrets import public_url
from oversight.endpoints._types import Request
from transcripts import Usage

__all__ = [
    "LimitSettings",
    "SharedLimits",
    "most_usage",
    "portion",
    "prompt_tokens",
    "shared_limits",
    "token_estimate",
]

log = logging.getLogger("oversight.endpoints")


@dataclass(frozen=True)
class LimitSettings:
    """Limits asked for by one endpoint; None means no limit of that kind."""

    max_concurrency: int | None = None
    rpm: float | None = None
    tpm: float | None = None

    def tighten(self, other: LimitSettings) -> LimitSettings:
        """The stricter of the two, field by field."""

        def low(a: float | None, b: float | None) -> float | None:
            return b if a is None else a if b is None else min(a, b)

        concurrency = low(self.max_concurrency, other.max_concurrency)
        return LimitSettings(
            max_concurrency=None if concurrency is None else int(concurrency),
            rpm=low(self.rpm, other.rpm),
            tpm=low(self.tpm, other.tpm),
        )


class _Gate:
    """A semaphore whose capacity can shrink while in use."""

    __slots__ = ("capacity", "in_use", "waiters")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        """Take a slot, waiting in turn for one."""
        if self.in_use < self.capacity and not self.waiters:
            self.in_use += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            else:
                self.waiters.remove(future)
            raise

    def release(self) -> None:
        """Give a slot back and hand it on."""
        self.in_use -= 1
        self.wake()

    def wake(self) -> None:
        """Hand free slots to waiters, oldest first."""
        while self.waiters and self.in_use < self.capacity:
            future = self.waiters.popleft()
            if not future.done():
                self.in_use += 1
                future.set_result(None)


def _rate_limiter(per_minute: float, burst_share: float) -> AsyncLimiter:
    """A leaky bucket of ``per_minute`` whose burst is ``burst_share`` of a minute's worth."""
    capacity = max(1.0, per_minute * burst_share)
    return AsyncLimiter(capacity, time_period=capacity * 60.0 / per_minute)


class _LoopState:
    """The asyncio primitives of one event loop (they cannot cross loops)."""

    __slots__ = ("gate", "rpm", "settings", "tpm")

    def __init__(self, settings: LimitSettings) -> None:
        self.settings = settings
        self.gate = _Gate(settings.max_concurrency) if settings.max_concurrency else None
        self.rpm = _rate_limiter(settings.rpm, 1 / 600) if settings.rpm else None
        self.tpm = _rate_limiter(settings.tpm, 1 / 60) if settings.tpm else None


class SharedLimits:
    """The limits of one model on one server, for every endpoint that uses it."""

    __slots__ = (
        "__weakref__",
        "_last",
        "_loops",
        "_not_before",
        "default_concurrency",
        "name",
        "settings",
        "share",
    )

    def __init__(self, name: str, settings: LimitSettings, default_concurrency: int | None) -> None:
        self.name = name
        self.settings = settings
        self.default_concurrency = default_concurrency
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        self._last: tuple[asyncio.AbstractEventLoop, _LoopState] | None = None
        self._not_before = 0.0  # time.monotonic() before which no attempt starts
        self.share = (0, 1)
        """``(worker, workers)``: this process is one of several running one run, and holds
        its :func:`portion` of the default concurrency (a llama.cpp server's slots too)."""

    def pause(self, seconds: float) -> None:
        """Start no attempt, from any caller, for ``seconds`` (a longer pause already set wins)."""
        until = time.monotonic() + seconds
        if until > self._not_before:
            if self._not_before <= time.monotonic():
                log.info("pausing %s for %.2fs after a rate limit or overload", self.name, seconds)
            self._not_before = until

    def tighten(self, settings: LimitSettings) -> None:
        """Apply another endpoint's limits: the strictest of all wins."""
        tightened = self.settings.tighten(settings)
        if tightened != self.settings:
            if self._loops:
                log.info("limits of %s tightened to %s", self.name, tightened)
            self.settings = tightened
            self._last = None

    def take_share(self, worker: int, workers: int) -> None:
        """Hold worker ``worker``'s share (of ``workers`` processes) of the default
        concurrency, and of the server's slots once known (a ``max_concurrency`` set is
        shared before the endpoint is made: the runner's ``share_options``)."""
        if self.share != (worker, workers):
            self.share = (worker, workers)
            self._last = None

    def use_server_slots(self, slots: int) -> None:
        """The server decodes ``slots`` requests at once (llama.cpp's slots, the rest wait
        in its queue, their ``timeout`` running): the concurrency where no endpoint set one,
        or this process's share of them when it is one of several."""
        if self.default_concurrency == slots:
            return
        self.default_concurrency = slots
        self._last = None
        workers = self.share[1]
        mine = max(1, portion(slots, *self.share))
        of = f" (this process's share of {slots}, among {workers})" if workers > 1 else ""
        chosen = self.settings.max_concurrency
        if chosen is not None and chosen > mine:
            log.warning(
                "%s: max_concurrency=%d is more than the server's %d slots%s: the requests "
                "beyond them wait in the server's queue, and that wait counts toward timeout",
                self.name,
                chosen,
                mine,
                of,
            )
        elif chosen is None and slots < workers:
            log.warning(
                "%s: the server has %d slots for %d worker processes, each holding one "
                "request in flight: the rest wait in the server's queue, where timeout runs; "
                "start llama-server with more -np, or run fewer --workers",
                self.name,
                slots,
                workers,
            )
        elif chosen is None:
            log.info(
                "%s: at most %d requests in flight at once%s, its server's slots",
                self.name,
                mine,
                of,
            )

    async def acquire(self, tokens: int) -> _LoopState:
        """Wait out any pause, for a concurrency slot, then for room in the request and token
        rates."""
        await self._paused()
        state = self._state()
        if state.gate is not None:
            await state.gate.acquire()
        try:
            await self._rates(state, tokens)
            while self._not_before > time.monotonic():
                # A pause began while we queued. The rates let callers through during it, so
                # their room then is spent: wait the pause out and take room anew, or every
                # caller let through would send at the pause's end in one burst.
                await self._paused()
                await self._rates(state, tokens)
        except BaseException:
            self.release(state)
            raise
        return state

    @staticmethod
    async def _rates(state: _LoopState, tokens: int) -> None:
        """Wait for room in the request and token rates."""
        if state.rpm is not None:
            await state.rpm.acquire()
        if state.tpm is not None:
            # A request bigger than the bucket takes it in bucket-sized turns, so its
            # tokens all count at the limit's rate.
            remaining = float(tokens)
            while remaining > 0:
                turn = min(remaining, state.tpm.max_rate)
                await state.tpm.acquire(turn)
                remaining -= turn

    def release(self, state: _LoopState) -> None:
        """Give back the concurrency slot taken by :meth:`acquire`."""
        if state.gate is not None:
            state.gate.release()

    @property
    def effective(self) -> LimitSettings:
        """The limits in force: the strictest asked for, with the provider's default
        concurrency where no endpoint set one."""
        if self.settings.max_concurrency is not None or self.default_concurrency is None:
            return self.settings
        mine = max(1, portion(self.default_concurrency, *self.share))
        return LimitSettings(mine, self.settings.rpm, self.settings.tpm)

    async def _paused(self) -> None:
        """Return once no pause is in force."""
        # Sleeps to the deadline, not a poll; again only if a later 429 extended it.
        while (left := self._not_before - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(left)

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        last = self._last
        if last is not None and last[0] is loop:
            return last[1]  # the usual case: one loop, limits unchanged since
        state = self._loops.get(loop)
        effective = self.effective
        if state is None or state.settings != effective:
            fresh = _LoopState(effective)
            if state is not None and state.gate is not None and fresh.gate is not None:
                fresh.gate = state.gate  # keep holders and waiters; only the capacity changes
                fresh.gate.capacity = fresh.settings.max_concurrency or fresh.gate.capacity
                fresh.gate.wake()
            self._loops[loop] = state = fresh
        self._last = (loop, state)
        return state


_registry: weakref.WeakValueDictionary[tuple[str, str, str, str], SharedLimits] = (
    weakref.WeakValueDictionary()
)


def shared_limits(
    provider: str,
    server: str,
    model: str,
    settings: LimitSettings,
    *,
    default_concurrency: int | None,
    account: str = "",
) -> SharedLimits:
    """The limits shared by every endpoint of ``model`` on ``server`` with the same
    ``account`` (a digest of the API key: providers limit each key's organisation apart)
    in this process.

    ``settings`` holds only what the endpoint's options set explicitly, so a default never
    overrides another endpoint's explicit choice.
    """
    key = (provider, server, account, model)
    limits = _registry.get(key)
    if limits is None:
        limits = SharedLimits(
            f"{provider}/{model} at {public_url(server)}", settings, default_concurrency
        )
        _registry[key] = limits
    else:
        limits.tighten(settings)
    return limits


def portion(total: int, worker: int, workers: int) -> int:
    """Worker ``worker``'s whole share of ``total``: shares differ by at most one and sum to
    ``total``."""
    return total // workers + (1 if worker < total % workers else 0)


def token_estimate(request: Request) -> int:
    """Tokens a request may use, for the tokens-per-minute limit: its prompt
    (:func:`prompt_tokens`) and ``max_tokens`` (counted in full, as OpenAI counts it
    against the limit)."""
    return prompt_tokens(request) + request.max_tokens


def most_usage(request: Request) -> Usage:
    """The most a reply to ``request`` can have used, for one without token counts: its
    prompt (:func:`prompt_tokens`) and all of ``max_tokens`` for the reply (hidden reasoning
    tokens included)."""
    return Usage(input_tokens=prompt_tokens(request), output_tokens=request.max_tokens)


def prompt_tokens(request: Request) -> int:
    """Prompt tokens of a request, counted here (about 4 characters each, rounded up): its
    messages, system prompt and schema (sent with it, counted as prompt)."""
    chars = sum(len(m.content) for m in request.messages) + len(request.system or "")
    if request.schema_ is not None:
        chars += len(json.dumps(request.schema_))
    return (chars + 3) // 4
