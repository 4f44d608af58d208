"""``endpoint(spec, **options)``: the one way to make an endpoint, and the check of its
options without making it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from oversight.endpoints._base import Backend, Endpoint
from oversight.endpoints._mock import MockBackend
from oversight.endpoints._model_strings import compatible_target
from oversight.endpoints._options import EndpointArgs, parse_options
from oversight.endpoints._pricing import as_price
from transcripts.errors import ConfigError

__all__ = ["PROVIDERS", "endpoint", "option_problems"]

PROVIDERS = ("openai", "anthropic", "local", "mock")
COMPATIBLE_PREFIXES = ("openai-api", "vllm", "ollama")
"""Inspect-style model strings for OpenAI-compatible servers (see ``_model_strings``)."""
"""The providers a spec may name before its ``/``."""


def option_problems(spec: str, options: Mapping[str, Any]) -> list[str]:
    """Every reason ``endpoint(spec, **options)`` would refuse, one line each, without making
    it (no SDK loaded, no cache opened, nothing written): for checking an experiment before
    its run folder is touched. Empty when the endpoint can be made."""
    provider, _, model = spec.partition("/")
    problems = []
    if provider in COMPATIBLE_PREFIXES:
        try:
            compatible_target(spec)
        except ConfigError as err:
            problems.append(str(err))
    elif not model:
        problems.append(
            f"endpoint spec {spec!r} has no model: write provider/model, e.g. openai/gpt-4o-mini"
        )
    elif provider not in PROVIDERS:
        problems.append(
            f"unknown provider {provider!r} in {spec!r}: use one of "
            f"{', '.join(PROVIDERS + COMPATIBLE_PREFIXES)}"
        )
    try:
        opts = parse_options(spec, dict(options))
    except ConfigError as err:
        problems.append(str(err))
        return problems
    if opts.replies is not None and provider != "mock":
        problems.append(f"endpoint {spec!r}: replies= is only for mock/ endpoints")
    try:
        price = None if opts.pricing is None else as_price(opts.pricing)
    except TypeError:
        problems.append(
            f"endpoint {spec!r}: pricing={opts.pricing!r}: give pricing = "
            "{input = ..., output = ...} (USD per million tokens; optional "
            "cached_input, cache_write)"
        )
        return problems
    if opts.pricing is not None and price is None:
        problems.append(
            f"endpoint {spec!r}: pricing={opts.pricing!r} names no model with a known price; "
            "give pricing = {input = ..., output = ...} in USD per million tokens"
        )
    return problems


def endpoint(spec: str, **options: Unpack[EndpointArgs]) -> Endpoint:
    """An endpoint for ``spec``; see :class:`EndpointOptions` for the options.

    Specs: ``openai/<model>`` (Chat Completions; with ``base_url=`` any OpenAI-compatible
    server), ``anthropic/<model>`` (Messages API), ``local/<path.gguf>`` or
    ``local/gemma3-270m`` (a llama.cpp server started on 127.0.0.1; needs the ``local``
    extra), ``mock/<name>`` (scripted replies with ``replies=``, or invented ones), and
    Inspect's model strings: ``openai-api/<provider>/<model>`` (server and key from
    ``<PROVIDER>_BASE_URL`` / ``<PROVIDER>_API_KEY``), ``vllm/<model>``, ``ollama/<model>``.

    Example::

        ep = endpoint("openai/gpt-4o-mini", max_concurrency=16, rpm=500)
        completion = await ep.complete("Which answer is right?", max_tokens=300)
    """
    provider, _, model = spec.partition("/")
    problems = option_problems(spec, options)
    if problems:
        raise ConfigError("; ".join(problems))
    opts = parse_options(spec, dict(options))
    if provider in COMPATIBLE_PREFIXES:
        from oversight.endpoints._compatible import CompatibleBackend

        return Endpoint(spec, CompatibleBackend(compatible_target(spec), opts), opts)
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
