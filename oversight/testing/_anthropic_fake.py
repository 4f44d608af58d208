"""A fake Anthropic-compatible server: ``POST /v1/messages``, plain or streamed, and Message
Batches (``/v1/messages/batches``; see :mod:`oversight.testing._batch_fake`)."""

from __future__ import annotations

import json
import math
from typing import Any

from oversight.testing._batch_fake import MessageBatchBook
from oversight.testing._faults import FakeReply, Fault, RecordedRequest
from oversight.testing._http import HttpRequest, Responder
from oversight.testing._server import FakeServer, Scripted

__all__ = ["FakeAnthropicServer"]


class FakeAnthropicServer(FakeServer):
    """An Anthropic-compatible Messages server on 127.0.0.1, for tests.

    It honours what our endpoints send: ``output_config.format`` json_schema and forced
    tool use (the default reply is then a schema-valid object), ``stream`` (server-sent
    events, where ``Fault.overloaded_mid_stream()`` breaks off with an ``overloaded_error``
    event inside the 200), and reports usage with cache reads and writes (script them with
    :class:`FakeReply`, or let it simulate the prompt cache: a system block with
    ``cache_control`` is written the first time and read after). Errors use Anthropic's
    body shape and ``request-id``; ``Fault.overloaded()`` is a 529.

    Example::

        async with FakeAnthropicServer(faults=[Fault.overloaded(), None]) as server:
            ep = endpoint("anthropic/claude-sonnet-4-6", base_url=server.base_url, api_key="t")
            completion = await ep.complete("Which answer?")   # retried once
    """

    paths = ("/v1/messages",)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.prompt_cache: set[tuple[str, str]] = set()
        """(model, system prefix) pairs written to the simulated prompt cache."""
        self.batch = MessageBatchBook()
        """Message Batches and how they behave (see MessageBatchBook)."""

    async def route(self, http: HttpRequest, out: Responder) -> bool:
        return await self.batch.route(self, http, out)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def message(self, record: RecordedRequest, scripted: Scripted | None) -> dict[str, Any]:
        """The complete Messages reply to ``record`` (also each batch request's)."""
        body = record.body or {}
        tool = _forced_tool(body)
        reply, block = self._content(record, scripted, tool)
        cut = False
        if block["type"] == "text":
            reply, cut = self.cut_to_max_tokens(record, reply)
            block = {"type": "text", "text": reply.text}
        tokens_in, tokens_out, cached = self.usage_of(record, reply)
        written = reply.cache_write_tokens
        if not cached and not written:
            cached, written = self._prompt_cache(body)
        # Anthropic counts cache reads and writes apart from input_tokens.
        usage = {
            "input_tokens": max(0, tokens_in - cached - written),
            "output_tokens": tokens_out,
            "cache_read_input_tokens": cached,
            "cache_creation_input_tokens": written,
        }
        stop = reply.finish_reason or (
            "max_tokens" if cut else "tool_use" if block["type"] == "tool_use" else "end_turn"
        )
        message = {
            "id": f"msg_{record.index}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "fake"),
            "content": [block],
            "stop_reason": stop,
            "stop_sequence": None,
        }
        return {**message, "usage": usage} if reply.usage else message

    def refusal(self, record: RecordedRequest) -> Fault | None:
        """The 400 the real API gives this request, if any: a message with no text but
        the final assistant one (which may not end in whitespace), or a structured-output
        schema with a constraint Anthropic does not support (``minimum``, ``maxLength``...)."""
        body = record.body or {}
        output_format = (body.get("output_config") or {}).get("format") or {}
        problem = _empty_message(body.get("messages") or [])
        if problem is None:
            problem = _unsupported(output_format.get("schema"))
            problem = problem and f"output_config.format.schema: {problem}"
        if problem is None:
            return None
        return Fault.error(400, problem, error_type="invalid_request_error")

    async def answer(
        self, record: RecordedRequest, scripted: Scripted | None, out: Responder
    ) -> None:
        refused = self.refusal(record)
        if refused is not None:
            await self.error(record, refused, out)
            return
        body = record.body or {}
        message = self.message(record, scripted)
        rid = {"request-id": f"req_{record.index}"}
        if body.get("stream"):
            await out.send(200, _stream(message), content_type="text/event-stream", headers=rid)
        else:
            await out.send_json(200, message, headers=rid)

    async def error(self, record: RecordedRequest, fault: Fault, out: Responder) -> None:
        rid = f"req_{record.index}"
        if fault.kind == "overloaded_mid_stream":
            events = _stream_start(record.body or {}, record.index) + _event(
                "error",
                {"type": "error", "error": {"type": "overloaded_error", "message": fault.message}},
            )
            await out.send(
                200, events.encode(), content_type="text/event-stream", headers={"request-id": rid}
            )
            return
        status, error_type = (
            (529, "overloaded_error")
            if fault.kind == "overloaded"
            else (
                fault.status,
                fault.error_type,
            )
        )
        record.status = status
        error: dict[str, Any] = {"type": error_type, "message": fault.message}
        if fault.code:
            error["details"] = {"error_code": fault.code}
        body = {"type": "error", "error": error, "request_id": rid}
        await out.send_json(status, body, headers={"request-id": rid, **self.fault_headers(fault)})

    def _prompt_cache(self, body: dict[str, Any]) -> tuple[int, int]:
        """``(read, written)`` tokens of the system prompt's cache breakpoint: written the
        first time a model sees the prefix, read after (as Anthropic's cache behaves)."""
        system = body.get("system")
        if not isinstance(system, list):
            return 0, 0
        prefix = []
        for block in system:
            prefix.append(str(block.get("text", "")))
            if block.get("cache_control"):
                key = (str(body.get("model")), "".join(prefix))
                tokens = max(1, math.ceil(len(key[1]) / 4))
                if key in self.prompt_cache:
                    return tokens, 0
                self.prompt_cache.add(key)
                return 0, tokens
        return 0, 0

    def _content(
        self, record: RecordedRequest, scripted: Scripted | None, tool: str | None
    ) -> tuple[FakeReply, dict[str, Any]]:
        """The reply and its content block (text, or tool_use for forced tool calls)."""
        body = record.body or {}
        value: Any
        if isinstance(scripted, FakeReply):
            value = scripted.text
        elif scripted is None:
            schema = _schema_of(body, tool)
            value = self.default_text(record) if schema is None else self.invented(record, schema)
        else:
            value = scripted
        if tool is not None:
            data = _as_json(value)
            text = json.dumps(data)
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": f"toolu_{record.index}",
                "name": tool,
                "input": data,
            }
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            block = {"type": "text", "text": text}
        reply = scripted if isinstance(scripted, FakeReply) else FakeReply(text)
        return reply, block


def _forced_tool(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice") or {}
    return choice.get("name") if choice.get("type") == "tool" else None


def _schema_of(body: dict[str, Any], tool: str | None) -> dict[str, Any] | None:
    if tool is not None:
        for spec in body.get("tools", []):
            if spec.get("name") == tool:
                schema = spec.get("input_schema")
                return schema if isinstance(schema, dict) else None
    output_format = (body.get("output_config") or {}).get("format") or {}
    if output_format.get("type") == "json_schema":
        schema = output_format.get("schema")
        return schema if isinstance(schema, dict) else None
    return None


def _empty_message(messages: list[Any]) -> str | None:
    """What Anthropic says of a message with no text, if any (the final assistant message
    may be empty, as a prefill, but may not end in whitespace)."""
    for i, message in enumerate(messages):
        content = message.get("content")
        text = content if isinstance(content, str) else json.dumps(content)
        final = i == len(messages) - 1 and message.get("role") == "assistant"
        if final and text != text.rstrip():
            return "messages: final assistant content cannot end with trailing whitespace"
        if not final and isinstance(content, str) and not content.strip():
            return (
                f"messages.{i}: all messages must have non-empty content except for the "
                "optional final assistant message"
            )
    return None


_UNSUPPORTED = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
)
"""JSON-schema constraints Anthropic's structured output refuses (a 400)."""


def _unsupported(node: Any) -> str | None:
    """What Anthropic would say of the first unsupported constraint in ``node``, if any."""
    if isinstance(node, list):
        return next(filter(None, map(_unsupported, node)), None)
    if not isinstance(node, dict):
        return None
    kind = node.get("type")
    if isinstance(kind, str):
        for key in _UNSUPPORTED:
            if key in node:
                return f"For '{kind}' type, property '{key}' is not supported"
        if node.get("minItems", 0) > 1:
            return f"For '{kind}' type, property 'minItems' only supports 0 or 1"
    for key, value in node.items():
        if key in ("properties", "$defs"):
            value = list(value.values()) if isinstance(value, dict) else value
        if key not in ("enum", "const", "default", "examples"):
            found = _unsupported(value)
            if found is not None:
                return found
    return None


def _as_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return {"text": value}
    return value


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def _stream_start(body: dict[str, Any], index: int) -> str:
    start = {
        "id": f"msg_{index}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake"),
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    return (
        _event("message_start", {"type": "message_start", "message": start})
        + _event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
        + _event(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": "Par"},
            },
        )
    )


def _stream(message: dict[str, Any]) -> bytes:
    block = message["content"][0]
    usage = message.get("usage")
    start = {**message, "content": [], "stop_reason": None}
    if usage is not None:
        start["usage"] = {**usage, "output_tokens": 1}
    events = [_event("message_start", {"type": "message_start", "message": start})]
    if block["type"] == "tool_use":
        opening = {**block, "input": {}}
        text = json.dumps(block["input"])
        deltas = [
            {"type": "input_json_delta", "partial_json": text[i : i + 16]}
            for i in range(0, len(text), 16)
        ]
    else:
        opening = {"type": "text", "text": ""}
        words = block["text"].split(" ")
        deltas = [
            {"type": "text_delta", "text": w if i == 0 else " " + w} for i, w in enumerate(words)
        ]
    events.append(
        _event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": opening},
        )
    )
    events += [
        _event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d})
        for d in deltas
    ]
    events.append(_event("content_block_stop", {"type": "content_block_stop", "index": 0}))
    delta: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
    }
    if usage is not None:
        delta["usage"] = {"output_tokens": usage["output_tokens"]}
    events.append(_event("message_delta", delta))
    events.append(_event("message_stop", {"type": "message_stop"}))
    return "".join(events).encode()
