"""``anthropic/<model>``: the Messages API, on Anthropic or any compatible server.

Replies are streamed by default, so an overload that arrives inside a 200 response (an
``error`` event of type ``overloaded_error``) is seen and retried like a 529. The SDK's own
retries are off. Structured output goes as ``output_config.format`` json_schema, or with
``structured="tool"`` as a forced tool call. The API version this SDK speaks (2026-10-21)
has no sampling parameters, so ``temperature`` is not sent (it stays in the cache key) and
there are no log-probabilities.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anthropic

from oversight.endpoints._batch_api import BatchApi
from oversight.endpoints._options import EndpointOptions
from oversight.endpoints._retry import Failure, status_failure
from oversight.endpoints._sdk import SdkBackend
from oversight.endpoints._structured import closed_schema, schema_instruction
from oversight.endpoints._types import Reply, Request, normal_finish
from transcripts import Usage
from transcripts.errors import ConfigError

__all__ = ["AnthropicBackend"]

log = logging.getLogger("oversight.endpoints")

ANTHROPIC_URL = "https://api.anthropic.com"

# 429s that no wait will clear: the organisation's spend limit.
_FINAL_429_CODES = frozenset(
    {
        "enforced_spend_limit_reached",
        "contract_spend_limit_reached",
        "linked_organization_spend_limit_reached",
    }
)
# Errors inside a 200 stream that are the server's trouble, not the request's.
_TRANSIENT_STREAM_ERRORS = frozenset({"overloaded_error", "api_error", "timeout_error"})


class AnthropicBackend(SdkBackend[anthropic.AsyncAnthropic]):
    """Sends requests to an Anthropic-compatible Messages server."""

    provider = "anthropic"
    default_url = ANTHROPIC_URL
    url_variable = "ANTHROPIC_BASE_URL"
    key_variable = "ANTHROPIC_API_KEY"
    timeout_errors = (anthropic.APITimeoutError,)
    connection_errors = (anthropic.APIConnectionError,)
    malformed_errors = (anthropic.APIResponseValidationError,)
    aiohttp_client = anthropic.DefaultAioHttpClient

    def __init__(self, model: str, options: EndpointOptions) -> None:
        if options.structured == "json_object":
            raise ConfigError(
                f"anthropic/{model}: structured='json_object' is for OpenAI; use 'native' "
                "(output_config json_schema), 'tool' or 'prompt'"
            )
        super().__init__(model, options)
        self.stream = True if options.stream is None else options.stream
        self._said: set[str] = set()

    async def send(self, request: Request) -> Reply:
        client = await self.client()
        params = self.params(request)
        if not self.stream:
            message = await client.messages.create(**params, extra_body=self.options.extra_body)
            return self._read_message(message.model_dump())
        stream = await client.messages.create(
            **params, stream=True, extra_body=self.options.extra_body
        )
        return await self._read_stream(stream)

    def batch_api(self) -> BatchApi:
        from oversight.endpoints._batch_anthropic import AnthropicBatch

        return AnthropicBatch(self)

    async def connect(self) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(
            api_key=self.api_key(),
            base_url=self.server,
            max_retries=0,
            timeout=self.options.timeout,
            http_client=self.http_client(),
        )

    def params(self, request: Request) -> dict[str, Any]:
        """The Messages request body for ``request`` (without ``stream``)."""
        self._say_once_what_is_not_sent(request)
        system = request.system
        params: dict[str, Any] = {"model": self.model, "max_tokens": request.max_tokens}
        schema = request.schema_
        if schema is not None:
            mode = self.options.structured
            if mode == "native":
                params["output_config"] = {
                    "format": {"type": "json_schema", "schema": _native_schema(schema)}
                }
            elif mode == "tool":
                params["tools"] = [
                    {
                        "name": request.schema_name,
                        "description": "Give your answer in exactly this form.",
                        "input_schema": schema,
                    }
                ]
                params["tool_choice"] = {"type": "tool", "name": request.schema_name}
            else:
                system = "\n\n".join(filter(None, [system, schema_instruction(schema)]))
        if system:
            params["system"] = self._system(system)
        params["messages"] = _messages(request)
        return params

    def _system(self, system: str) -> str | list[dict[str, Any]]:
        """The system prompt, as a block with a cache breakpoint when it is long enough for
        Anthropic to cache (the shared hidden text of the roles that read it)."""
        options = self.options
        if not options.prompt_cache or len(system) < 4 * options.cache_breakpoint_tokens:
            return system
        return [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]

    def _say_once_what_is_not_sent(self, request: Request) -> None:
        for flag, applies, what in (
            ("temperature", request.temperature != 0.0, "temperature"),
            ("seed", request.seed is not None, "seed"),
            ("logprobs", request.logprobs, "log-probabilities"),
        ):
            if applies and flag not in self._said:
                self._said.add(flag)
                log.info(
                    "anthropic/%s: the Messages API has no %s; it is not sent (it still keeps "
                    "cache entries apart)",
                    self.model,
                    what,
                )

    async def _read_stream(self, stream: Any) -> Reply:
        """Collect a streamed reply; a stream cut short counts as a dropped connection."""
        text: list[str] = []
        tool_json: list[str] = []
        usage: dict[str, int] = {}
        stop_reason: str | None = None
        finished = False
        async for event in stream:
            kind = event.type
            if kind == "message_start":
                if event.message.usage is not None:
                    usage.update(_ints(event.message.usage.model_dump()))
            elif kind == "content_block_delta":
                delta = event.delta
                if delta.type == "text_delta":
                    text.append(delta.text)
                elif delta.type == "input_json_delta":
                    tool_json.append(delta.partial_json)
            elif kind == "message_delta":
                stop_reason = event.delta.stop_reason or stop_reason
                if event.usage is not None:
                    usage.update(_ints(event.usage.model_dump()))
            elif kind == "message_stop":
                finished = True
        if not finished:
            raise anthropic.APIConnectionError(
                message="the stream ended before message_stop", request=stream.response.request
            )
        return Reply(
            text="".join(tool_json) or "".join(text),
            usage=_usage(usage),
            finish_reason=normal_finish(stop_reason),
        )

    def _read_message(self, message: dict[str, Any]) -> Reply:
        """Our Reply from a complete (not streamed) message."""
        parts = []
        usage = _usage(message.get("usage"))
        finish = normal_finish(message.get("stop_reason"))
        for block in message.get("content") or []:
            if block.get("type") == "tool_use":
                return Reply(json.dumps(block.get("input")), usage, finish_reason=finish)
            if block.get("type") == "text":
                parts.append(block.get("text", ""))
        return Reply("".join(parts), usage, finish_reason=finish)

    def classify(self, error: BaseException) -> Failure | None:
        if isinstance(error, anthropic.APIStatusError):
            said = error.api_message or error.message
            if error.status_code == 200:  # an error event inside the stream
                retryable = error.type in _TRANSIENT_STREAM_ERRORS
                reason = f"{error.type or 'error'} inside the stream"
                overloaded = error.type == "overloaded_error"
                return Failure(
                    retryable, reason, None, error.request_id, said, throttled=overloaded
                )
            failure = status_failure(
                error.status_code, said, request_id=error.request_id, headers=error.response.headers
            )
            if error.status_code == 429 and error.error_code in _FINAL_429_CODES:
                return Failure(False, "HTTP 429 spend limit", 429, error.request_id, said)
            return failure
        return super().classify(error)


def _messages(request: Request) -> list[dict[str, str]]:
    """The conversation as Anthropic takes it: a message with no text (a model's empty
    reply shown back to it) is a 400 there, so it reads ``(empty reply)``, as in a re-ask;
    a final assistant message (a prefill) may be empty but may not end in whitespace."""
    out = []
    for i, m in enumerate(request.messages):
        content = m.content
        if i == len(request.messages) - 1 and m.role == "assistant":
            content = content.rstrip()
        elif not content.strip():
            content = "(empty reply)" if m.role == "assistant" else "(empty message)"
        out.append({"role": m.role, "content": content})
    return out


def _native_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` as Anthropic's structured output takes it: every object closed, and the
    constraints it refuses with a 400 (``minimum``, ``maxLength``, ...) moved into the
    description (the SDK's own ``transform_schema``); our validation of the reply still
    enforces them. A schema the SDK cannot transform (no ``type``), or with a map (an object
    whose ``additionalProperties`` is a schema, which the SDK would close to ``{}``), goes
    only closed."""
    try:
        return closed_schema(schema) if _has_map(schema) else anthropic.transform_schema(schema)
    except (ValueError, AssertionError):
        return closed_schema(schema)


def _has_map(node: Any) -> bool:
    """Whether ``node`` holds an object whose ``additionalProperties`` is not ``false``."""
    if isinstance(node, list):
        return any(_has_map(v) for v in node)
    if not isinstance(node, dict):
        return False
    extra = node.get("additionalProperties", False)
    return extra is not False or any(_has_map(v) for v in node.values())


def _ints(data: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool)}


def _usage(raw: dict[str, Any] | None) -> Usage:
    """Anthropic counts cache reads and writes apart from ``input_tokens``; ours includes them.
    A reply without token counts (a compatible proxy that drops them) is not reported."""
    if not raw or raw.get("input_tokens") is None or raw.get("output_tokens") is None:
        return Usage(reported=False)  # a count missing: a price times it would under-count
    read = int(raw.get("cache_read_input_tokens") or 0)
    written = int(raw.get("cache_creation_input_tokens") or 0)
    return Usage(
        input_tokens=int(raw.get("input_tokens") or 0) + read + written,
        output_tokens=int(raw.get("output_tokens") or 0),
        cached_tokens=read,
        cache_write_tokens=written,
    )
