"""Talking to models: providers, the retry layer, limits, the response cache, usage and cost.

Layer 2: imports :mod:`transcripts` only.
"""

from __future__ import annotations

from typing import Any

from oversight.endpoints._base import Backend, Endpoint, MessageLike, Reply
from oversight.endpoints._mock import MockBackend
from oversight.endpoints._types import Completion, Message, Request, TokenLogprob
from transcripts.errors import ConfigError

__all__ = [
    "Backend",
    "Completion",
    "Endpoint",
    "Message",
    "MessageLike",
    "MockBackend",
    "Reply",
    "Request",
    "TokenLogprob",
    "endpoint",
]


def endpoint(spec: str, **options: Any) -> Endpoint:
    """An endpoint for ``spec`` (``openai/<model>``, ``anthropic/<model>``, ``mock/<name>``)."""
    provider, _, model = spec.partition("/")
    if not model:
        raise ConfigError(
            f"endpoint spec {spec!r} has no model: write provider/model, e.g. openai/gpt-4o-mini"
        )
    if provider == "mock":
        return Endpoint(spec, MockBackend(model, options.get("replies")))
    raise ConfigError(f"unknown provider {provider!r} in {spec!r}: use openai, anthropic or mock")
