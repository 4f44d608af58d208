"""The endpoint: one ``complete`` for every provider, around a provider backend.

A backend only knows how to send one request to its provider and read the reply. The
:class:`Endpoint` around it owns everything else, in one place: the response cache,
the limits, the one retry layer, structured-output validation, usage and cost.
"""

from __future__ import annotations

import abc
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from oversight.endpoints._types import Completion, Message, Request, TokenLogprob
from transcripts import Call, Usage
from transcripts.errors import StructuredOutputError

__all__ = ["Backend", "Endpoint", "Reply", "MessageLike", "as_messages", "schema_dict"]

MessageLike = Message | dict[str, str] | str


@dataclass
class Reply:
    """What a backend read from its provider for one request."""

    text: str
    usage: Usage = field(default_factory=Usage)
    logprobs: list[TokenLogprob] | None = None


class Backend(abc.ABC):
    """Sends one request to one provider; knows nothing of caching, limits or retries."""

    provider: str
    model: str

    @abc.abstractmethod
    async def send(self, request: Request) -> Reply:
        """Send ``request`` once and return the provider's reply."""

    async def aclose(self) -> None:
        """Release connections."""


def as_messages(messages: Sequence[MessageLike] | str) -> list[Message]:
    """Accept a string (one user message), dicts or Message objects."""
    if isinstance(messages, str):
        return [Message(role="user", content=messages)]
    out = []
    for m in messages:
        if isinstance(m, Message):
            out.append(m)
        elif isinstance(m, str):
            out.append(Message(role="user", content=m))
        else:
            out.append(Message.model_validate(m))
    return out


def schema_dict(schema: dict[str, Any] | type[BaseModel] | None) -> dict[str, Any] | None:
    """A JSON schema from a dict or a pydantic model class."""
    if schema is None or isinstance(schema, dict):
        return schema
    return schema.model_json_schema()


class Endpoint:
    """A model behind a provider, with one call shape.

    Example::

        ep = endpoint("mock/echo", replies=["hello"])
        completion = await ep.complete("Say hello", max_tokens=10)
        completion.text, completion.usage, completion.cost_usd, completion.cached
    """

    def __init__(self, spec: str, backend: Backend) -> None:
        self.spec = spec
        self.backend = backend

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
    ) -> Completion:
        """Ask the model; see :class:`Request` for what each option means."""
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
        )
        started = time.monotonic()
        reply = await self.backend.send(request)
        parsed = _parse(reply.text, schema, self.spec) if schema is not None else None
        call = Call(
            endpoint=self.spec,
            provider=self.backend.provider,
            model=self.backend.model,
            usage=reply.usage,
            cost_usd=None,
            latency_s=time.monotonic() - started,
            sample_index=sample_index,
        )
        return Completion(text=reply.text, parsed=parsed, logprobs=reply.logprobs, call=call)

    async def aclose(self) -> None:
        """Release the backend's connections."""
        await self.backend.aclose()


def _parse(text: str, schema: dict[str, Any] | type[BaseModel], spec: str) -> Any:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise StructuredOutputError(f"{spec}: reply is not JSON: {text[:200]!r}") from err
    if isinstance(schema, type):
        return schema.model_validate(data)
    return data
