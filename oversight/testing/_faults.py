"""Faults a fake server can inject, and the plans that decide which request gets which."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

__all__ = ["FakeReply", "Fault", "FaultPlan", "RecordedRequest"]

FaultKind = Literal[
    "status", "overloaded", "overloaded_mid_stream", "slow", "drop", "malformed_json", "lost_reply"
]


@dataclass(frozen=True)
class Fault:
    """One injected failure. Build them with the class methods, e.g.
    ``Fault.rate_limit(retry_after=0.2)`` or ``Fault.server_error()``."""

    kind: FaultKind
    """What happens: an error ``status``, ``overloaded`` (Anthropic 529, OpenAI 503), an
    overload error inside a 200 stream, a ``slow`` reply, a ``drop``ped connection, a
    200 whose body is ``malformed_json``, or a ``lost_reply`` (the request is carried out,
    a batch created say, but the connection drops before the response)."""
    status: int = 0
    """HTTP status for ``status`` faults."""
    error_type: str = ""
    """The provider's error type (``rate_limit_error``, ``invalid_request_error``, ...)."""
    message: str = ""
    """The provider's error message."""
    retry_after: float | None = None
    """Seconds sent in ``retry-after`` (and ``retry-after-ms``)."""
    delay: float = 0.0
    """Seconds a ``slow`` reply waits before answering."""
    code: str | None = None
    """The provider's error code (OpenAI ``error.code``, Anthropic ``error.details.error_code``)."""
    headers: tuple[tuple[str, str], ...] = ()
    """Extra response headers, e.g. ``(("x-should-retry", "false"),)``."""
    then: Callable[[], None] | None = field(default=None, compare=False)
    """``lost_reply`` only: called after the request was carried out and before the
    connection drops (a test kills its client here: exactly between the provider doing
    something and the client hearing of it)."""

    @classmethod
    def rate_limit(cls, retry_after: float | None = None) -> Fault:
        """HTTP 429, with Retry-After when given."""
        return cls(
            "status",
            status=429,
            error_type="rate_limit_error",
            message="Rate limit reached for requests",
            retry_after=retry_after,
        )

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """An HTTP 5xx."""
        return cls("status", status=status, error_type="api_error", message="Internal error")

    @classmethod
    def bad_request(cls, message: str = "Invalid request") -> Fault:
        """HTTP 400 with the provider's message."""
        return cls("status", status=400, error_type="invalid_request_error", message=message)

    @classmethod
    def error(
        cls,
        status: int,
        message: str,
        *,
        error_type: str = "error",
        retry_after: float | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Any error status, with the provider's error type, code and extra headers."""
        return cls(
            "status",
            status=status,
            error_type=error_type,
            message=message,
            retry_after=retry_after,
            code=code,
            headers=tuple((headers or {}).items()),
        )

    @classmethod
    def overloaded(cls, retry_after: float | None = None) -> Fault:
        """Provider overloaded: Anthropic's 529 ``overloaded_error``, OpenAI's 503."""
        return cls("overloaded", message="Overloaded", retry_after=retry_after)

    @classmethod
    def overloaded_mid_stream(cls) -> Fault:
        """A 200 streamed reply that breaks off with an overload error event."""
        return cls("overloaded_mid_stream", message="Overloaded")

    @classmethod
    def slow(cls, delay: float) -> Fault:
        """Answer only after ``delay`` seconds (past a client's timeout, say)."""
        return cls("slow", delay=delay)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop")

    @classmethod
    def malformed_json(cls) -> Fault:
        """HTTP 200 whose body is not JSON."""
        return cls("malformed_json")

    @classmethod
    def lost_reply(cls, then: Callable[[], None] | None = None) -> Fault:
        """Carry the request out (create the batch, answer the call), call ``then``, and
        drop the connection before the response: the client never learns the outcome."""
        return cls("lost_reply", then=then)


@dataclass(frozen=True)
class FakeReply:
    """A scripted reply with usage of your choosing (else usage is about 4 characters a token)."""

    text: str
    input_tokens: int | None = None
    """All prompt tokens, cache reads and writes included."""
    output_tokens: int | None = None
    cached_tokens: int = 0
    """Prompt tokens read from the prompt cache."""
    cache_write_tokens: int = 0
    """Prompt tokens written to the prompt cache (reported by the Anthropic fake only)."""
    token_delay: float = 0.0
    """Seconds between tokens, as a slow model generates them (OpenAI fake): a streamed reply
    sends each token as it comes; a plain one is sent when the last is done."""
    finish_reason: str | None = None
    """Why the reply ended, in the provider's word (OpenAI ``stop``/``length``, Anthropic
    ``end_turn``/``max_tokens``). None: like a real server, the reply is cut at the request's
    ``max_tokens`` (about 4 characters a token) and reported as cut, else as finished."""
    refusal: bool = False
    """The model refuses, in ``text`` (OpenAI fake): sent as ``message.refusal`` (streamed,
    as ``delta.refusal``) with null content, as OpenAI does. (For Anthropic's, script
    ``finish_reason="refusal"``.)"""
    usage: bool = True
    """False: the reply carries no token counts, as some OpenAI-compatible servers send it
    (no ``usage`` in the body, and no usage chunk in a stream even when
    ``stream_options.include_usage`` asks for one; the Anthropic fake leaves ``usage`` out
    of the message and of its stream events)."""


@dataclass
class RecordedRequest:
    """What the fake server saw of one request, and what it did."""

    index: int
    """Arrival order, from 0."""
    path: str
    """URL path, e.g. ``/v1/chat/completions``."""
    body: Any
    """The parsed JSON body (None if it was not JSON)."""
    headers: dict[str, str]
    """Request headers, lower-case names (kept in memory only)."""
    received_at: float
    """``time.monotonic()`` when the request had been read."""
    responded_at: float | None = None
    """``time.monotonic()`` when the response was written (or the connection dropped)."""
    status: int | None = None
    """Status sent (None for a dropped connection)."""
    fault: Fault | None = None
    """The fault injected, if any."""
    api_key: str | None = field(default=None, repr=False)
    """The key the client sent (Bearer token or ``x-api-key``)."""

    @property
    def last_user_message(self) -> str:
        """Content of the last user message in the body ("" if none)."""
        for message in reversed((self.body or {}).get("messages", [])):
            if message.get("role") == "user":
                return _text_of(message.get("content", ""))
        return ""


def _text_of(content: Any) -> str:
    """Text of a message content: a string or a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


FaultSource: TypeAlias = (
    Sequence[Fault | None] | Mapping[Fault, float] | Callable[[RecordedRequest], Fault | None]
)


class FaultPlan:
    """Which request gets which fault: by arrival order (a list), at random with a seed
    (a mapping of fault to probability), or by a function of the recorded request."""

    def __init__(self, source: FaultSource | None = None, *, seed: int = 0) -> None:
        self.source = source
        self.rng = random.Random(seed)
        if isinstance(source, Mapping) and sum(source.values()) > 1.0 + 1e-9:
            raise ValueError("fault probabilities add up to more than 1")

    def fault_for(self, request: RecordedRequest) -> Fault | None:
        """The fault for ``request`` (None: answer normally)."""
        source = self.source
        if source is None:
            return None
        if callable(source):
            return source(request)
        if isinstance(source, Mapping):
            draw = self.rng.random()
            for fault, probability in source.items():
                if draw < probability:
                    return fault
                draw -= probability
            return None
        return source[request.index] if request.index < len(source) else None
