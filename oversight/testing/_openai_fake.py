"""A fake OpenAI-compatible server: ``POST /v1/chat/completions``, plain or streamed, and
the Batch API (``/v1/files``, ``/v1/batches``; see :mod:`oversight.testing._batch_fake`)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from oversight.testing._batch_fake import BatchBook
from oversight.testing._faults import FakeReply, Fault, RecordedRequest
from oversight.testing._http import HttpRequest, Responder
from oversight.testing._server import FakeServer, Scripted

__all__ = ["FakeOpenAIServer"]


class FakeOpenAIServer(FakeServer):
    """An OpenAI-compatible Chat Completions server on 127.0.0.1, for tests.

    It honours what our endpoints send: ``response_format`` json_schema (the default
    reply is then a schema-valid object), ``logprobs``/``top_logprobs``, ``stream``, and
    reports usage. Errors use OpenAI's body shape and ``x-request-id``.

    Example::

        async with FakeOpenAIServer(reply=lambda body: "Answer A",
                                    faults={Fault.rate_limit(retry_after=0.2): 0.3},
                                    latency=0.05) as server:
            ep = endpoint("openai/gpt-4o-mini", base_url=server.base_url, api_key="test")
            completion = await ep.complete("Which answer?")
        server.total_requests, server.peak_concurrency, server.requests[0].body
    """

    paths = ("/v1/chat/completions",)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.batch = BatchBook()
        """The Batch API's files and batches, and how batches behave (see BatchBook)."""

    async def route(self, http: HttpRequest, out: Responder) -> bool:
        return await self.batch.route(self, http, out)

    def completion(self, record: RecordedRequest, scripted: Scripted | None) -> dict[str, Any]:
        """The non-streamed Chat Completions body for ``record`` (also each batch line's)."""
        reply, finish, usage = self._usage_and_finish(record, scripted)
        return self._body(record, reply.text, finish, usage, refusal=reply.refusal)

    def _usage_and_finish(
        self, record: RecordedRequest, scripted: Scripted | None
    ) -> tuple[FakeReply, str, dict[str, Any] | None]:
        reply, cut = self.cut_to_max_tokens(record, self._reply(record, scripted))
        finish = reply.finish_reason or ("length" if cut else "stop")
        if not reply.usage:
            return reply, finish, None
        tokens_in, tokens_out, cached = self.usage_of(record, reply)
        usage = {
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
            "prompt_tokens_details": {"cached_tokens": cached},
        }
        return reply, finish, usage

    @staticmethod
    def _body(
        record: RecordedRequest,
        text: str,
        finish: str,
        usage: dict[str, Any] | None,
        *,
        refusal: bool = False,
    ) -> dict[str, Any]:
        body = record.body or {}
        message = {"role": "assistant", "content": None if refusal else text}
        choice: dict[str, Any] = {
            "index": 0,
            "message": {**message, "refusal": text if refusal else None},
            "finish_reason": finish,
            "logprobs": _logprobs(text, int(body.get("top_logprobs") or 0))
            if body.get("logprobs") and not refusal
            else None,
        }
        reply = {
            "id": f"chatcmpl-{record.index}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [choice],
        }
        return reply if usage is None else {**reply, "usage": usage}

    def refusal(self, record: RecordedRequest) -> Fault | None:
        """The 400 the real API gives this request, if any: ``top_logprobs`` outside 0-20."""
        top = (record.body or {}).get("top_logprobs")
        if top is not None and not (isinstance(top, int) and 0 <= top <= 20):
            return Fault.error(
                400,
                f"top_logprobs: {top!r} is not an integer from 0 to 20",
                error_type="invalid_request_error",
            )
        return None

    async def answer(
        self, record: RecordedRequest, scripted: Scripted | None, out: Responder
    ) -> None:
        refused = self.refusal(record)
        if refused is not None:
            await self.error(record, refused, out)
            return
        reply, finish, usage = self._usage_and_finish(record, scripted)
        rid = f"req_{record.index}"
        if (record.body or {}).get("stream"):
            events = _stream(record, reply.text, usage, finish, refusal=reply.refusal)
            if reply.token_delay:
                await out.send_slowly(200, events, reply.token_delay, headers={"x-request-id": rid})
            else:
                await out.send(
                    200,
                    b"".join(events),
                    content_type="text/event-stream",
                    headers={"x-request-id": rid},
                )
            return
        if reply.token_delay:
            await asyncio.sleep(reply.token_delay * len(_tokens(reply.text)))
        body = self._body(record, reply.text, finish, usage, refusal=reply.refusal)
        await out.send_json(200, body, headers={"x-request-id": rid})

    async def error(self, record: RecordedRequest, fault: Fault, out: Responder) -> None:
        rid = {"x-request-id": f"req_{record.index}"}
        if fault.kind == "overloaded_mid_stream":
            first = _chunk(record, {"role": "assistant", "content": "Partial"}, None)
            event = {"error": {"message": fault.message, "type": "server_error", "code": None}}
            data = f"data: {json.dumps(first)}\n\ndata: {json.dumps(event)}\n\n".encode()
            await out.send(200, data, content_type="text/event-stream", headers=rid)
            return
        status = record.status = 503 if fault.kind == "overloaded" else fault.status
        error_type = "server_error" if fault.kind == "overloaded" else fault.error_type
        error: dict[str, Any] = {
            "message": fault.message,
            "type": error_type,
            "param": None,
            "code": fault.code,
        }
        await out.send_json(status, {"error": error}, headers={**rid, **self.fault_headers(fault)})

    def _reply(self, record: RecordedRequest, scripted: Scripted | None) -> FakeReply:
        if isinstance(scripted, FakeReply):
            return scripted
        if isinstance(scripted, str):
            return FakeReply(scripted)
        if scripted is not None:
            return FakeReply(json.dumps(scripted))
        schema = _schema_of(record.body or {})
        if schema is not None:
            return FakeReply(json.dumps(self.invented(record, schema)))
        return FakeReply(self.default_text(record))


def _schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None
    return None


def _tokens(text: str) -> list[str]:
    """Word-ish tokens that join back to ``text``."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def _logprobs(text: str, top: int) -> dict[str, Any]:
    content = []
    for i, token in enumerate(_tokens(text)):
        logprob = -0.05 * (i % 7)
        alternatives = [{"token": token, "logprob": logprob, "bytes": None}]
        alternatives += [
            {"token": f"{token}~{k}", "logprob": logprob - 1.0 - k, "bytes": None}
            for k in range(max(0, top - 1))
        ]
        content.append(
            {"token": token, "logprob": logprob, "bytes": None, "top_logprobs": alternatives[:top]}
        )
    return {"content": content, "refusal": None}


def _chunk(record: RecordedRequest, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{record.index}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": (record.body or {}).get("model", "fake"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _stream(
    record: RecordedRequest,
    text: str,
    usage: dict[str, Any] | None,
    finish: str,
    *,
    refusal: bool,
) -> list[bytes]:
    """The server-sent events of a streamed reply, one per token (then finish, usage, done)."""
    chunks = [_chunk(record, {"role": "assistant", "content": None if refusal else ""}, None)]
    field = "refusal" if refusal else "content"
    chunks += [_chunk(record, {field: token}, None) for token in _tokens(text)]
    chunks.append(_chunk(record, {}, finish))
    asked = ((record.body or {}).get("stream_options") or {}).get("include_usage")
    if asked and usage is not None:
        chunks.append({**_chunk(record, {}, None), "choices": [], "usage": usage})
    return [f"data: {json.dumps(c)}\n\n".encode() for c in chunks] + [b"data: [DONE]\n\n"]
