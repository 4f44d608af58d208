"""Requests and completions: the one call shape shared by every provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from transcripts import Call, Usage

__all__ = ["Completion", "Message", "Reply", "Request", "TokenLogprob", "normal_finish"]

_FINISH_WORDS = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "eos": "stop",
    "length": "length",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "content_filter": "content_filter",
    "refusal": "content_filter",
    "tool_calls": "tool_use",
    "tool_use": "tool_use",
    "function_call": "tool_use",
}


def normal_finish(reason: str | None) -> str | None:
    """A provider's finish or stop reason in our words (see ``Call.finish_reason``)."""
    if reason is None:
        return None
    return _FINISH_WORDS.get(reason, reason)


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["user", "assistant"]
    """Who speaks; the system prompt is passed separately."""
    content: str
    """The text."""


class Request(BaseModel):
    """Everything that changes a model's answer (its canonical JSON, :meth:`answer_fields`,
    is the cache key), and whether it may wait in a provider batch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: list[Message]
    """The conversation, oldest first."""
    system: str | None = None
    """System prompt."""
    max_tokens: int = 512
    """Maximum completion tokens."""
    temperature: float = 0.0
    """Sampling temperature."""
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    """JSON schema the reply must match (structured output), or None for free text."""
    schema_name: str = "response"
    """Name given to the schema in the provider request."""
    seed: int | None = None
    """Sampling seed, where the provider honours one."""
    logprobs: bool = False
    """Ask for token log-probabilities, where the provider offers them."""
    top_logprobs: int = 0
    """How many alternatives per token to return with ``logprobs``."""
    sample_index: int = 0
    """Index among independent samples of the same request (keeps them apart in the cache)."""
    batchable: bool = False
    """Nothing waits on this reply at once, so on an endpoint with ``batch=True`` it may go
    through the provider's batch API (at the batch price, answered in minutes to hours);
    otherwise, and on every other endpoint, it is sent at once at the standard price. Set
    by the call sites listed in the guide (opening speeches of a simultaneous debate, final
    verdicts, RRM leaves). How the request is sent, not what it asks: not in the cache key."""

    def answer_fields(self) -> dict[str, Any]:
        """Everything that changes the answer, as JSON data (the cache key's material)."""
        return self.model_dump(by_alias=True, exclude=_ROUTING)

    def answer_json(self) -> str:
        """:meth:`answer_fields` as compact JSON text."""
        return self.model_dump_json(by_alias=True, exclude=_ROUTING)


_ROUTING = {"batchable"}
"""Request fields that say how it is sent, not what it asks (kept out of the cache key)."""


class TokenLogprob(BaseModel):
    """Log-probability of one generated token, with alternatives."""

    model_config = ConfigDict(frozen=True)

    token: str
    """The generated token."""
    logprob: float
    """Its natural-log probability."""
    top: dict[str, float] = Field(default_factory=dict)
    """Alternative tokens at this position and their log-probabilities."""


class Completion(BaseModel):
    """A model's answer to one request."""

    model_config = ConfigDict(frozen=True)

    text: str
    """The reply text (for structured output, the JSON text)."""
    parsed: Any = None
    """The validated JSON object when a schema was given; None otherwise."""
    logprobs: list[TokenLogprob] | None = None
    """Token log-probabilities, when asked for and offered."""
    call: Call
    """The call record (endpoint, model, usage, cost, latency, cached, retries)."""
    paid: list[Call] = Field(default_factory=list)
    """When replies failed the schema before this one: one record per paid reply (theirs,
    then this one's), whose usage and cost add up to ``call``'s; empty otherwise."""

    @property
    def usage(self) -> Usage:
        """Tokens of this call."""
        return self.call.usage

    @property
    def cost_usd(self) -> float | None:
        """Cost in US dollars; None when the model's price is unknown."""
        return self.call.cost_usd

    @property
    def cached(self) -> bool:
        """True when our response cache answered."""
        return self.call.cached

    @property
    def latency_s(self) -> float:
        """Seconds from first attempt to answer."""
        return self.call.latency_s

    @property
    def finish_reason(self) -> str | None:
        """Why the reply ended: ``stop``, ``length`` (cut at ``max_tokens``), ..."""
        return self.call.finish_reason

    @property
    def truncated(self) -> bool:
        """True when the reply was cut at ``max_tokens``."""
        return self.call.finish_reason == "length"

    @property
    def retries(self) -> int:
        """How many attempts were retried."""
        return self.call.retries


@dataclass
class Reply:
    """What a backend read from its provider for one request."""

    text: str
    """The reply text (for structured output, the JSON text)."""
    usage: Usage = field(default_factory=Usage)
    """Tokens billed for this one attempt."""
    logprobs: list[TokenLogprob] | None = None
    """Token log-probabilities, when asked for and offered."""
    finish_reason: str | None = None
    """Why the reply ended, normalised (``stop``, ``length``, ...); see ``Call.finish_reason``."""
