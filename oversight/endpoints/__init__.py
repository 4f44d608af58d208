"""Talking to models: providers, the retry layer, limits, the response cache, usage and cost.

Layer 2: imports :mod:`transcripts` only. The provider SDKs are imported on first use of
their provider, so ``import oversight.endpoints`` stays cheap.
"""

from __future__ import annotations

from typing import Any

from oversight.endpoints._base import Backend, Endpoint, MessageLike, as_messages, schema_dict
from oversight.endpoints._cache import ResponseCache, default_cache_path
from oversight.endpoints._mock import MockBackend, MockReply, dry_run_reply
from oversight.endpoints._options import EndpointOptions, parse_options
from oversight.endpoints._pricing import PRICES_AS_OF, Price, cost_usd, lookup_price, set_price
from oversight.endpoints._retry import Failure
from oversight.endpoints._structured import render_correction
from oversight.endpoints._types import Completion, Message, Reply, Request, TokenLogprob
from transcripts.errors import ConfigError

__all__ = [
    "PRICES_AS_OF",
    "Backend",
    "Completion",
    "Endpoint",
    "EndpointOptions",
    "Failure",
    "Message",
    "MessageLike",
    "MockBackend",
    "MockReply",
    "Price",
    "Reply",
    "Request",
    "ResponseCache",
    "TokenLogprob",
    "as_messages",
    "cost_usd",
    "default_cache_path",
    "dry_run_reply",
    "endpoint",
    "lookup_price",
    "render_correction",
    "schema_dict",
    "set_price",
]

_PROVIDERS = ("openai", "anthropic", "local", "mock")


def endpoint(spec: str, **options: Any) -> Endpoint:
    """An endpoint for ``spec``; see :class:`EndpointOptions` for the options.

    Specs: ``openai/<model>`` (Chat Completions; with ``base_url=`` any OpenAI-compatible
    server), ``anthropic/<model>`` (Messages API), ``local/<path.gguf>`` or
    ``local/gemma3-270m`` (a llama.cpp server started on 127.0.0.1; needs the ``local``
    extra), ``mock/<name>`` (scripted replies with ``replies=``, or invented ones).

    Example::

        ep = endpoint("openai/gpt-4o-mini", max_concurrency=16, rpm=500)
        completion = await ep.complete("Which answer is right?", max_tokens=300)
    """
    provider, _, model = spec.partition("/")
    if not model:
        raise ConfigError(
            f"endpoint spec {spec!r} has no model: write provider/model, e.g. openai/gpt-4o-mini"
        )
    if provider not in _PROVIDERS:
        raise ConfigError(
            f"unknown provider {provider!r} in {spec!r}: use one of {', '.join(_PROVIDERS)}"
        )
    opts = parse_options(spec, options)
    if opts.replies is not None and provider != "mock":
        raise ConfigError(f"endpoint {spec!r}: replies= is only for mock/ endpoints")
    backend: Backend
    if provider == "mock":
        backend = MockBackend(model, opts.replies)
    elif provider == "openai":
        from oversight.endpoints._openai import OpenAIBackend

        backend = OpenAIBackend(model, opts)
    elif provider == "anthropic":
        from oversight.endpoints._anthropic import AnthropicBackend

        backend = AnthropicBackend(model, opts)
    else:
        from oversight.endpoints._local import LocalBackend

        backend = LocalBackend(model, opts)
    return Endpoint(spec, backend, opts)
