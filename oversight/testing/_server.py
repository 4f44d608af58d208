"""The fake provider server: scripted replies, latency, faults and counters on a real socket."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import dataclasses
import hashlib
import inspect
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeAlias

from oversight.endpoints._jsonschema import example
from oversight.testing._faults import FakeReply, Fault, FaultPlan, FaultSource, RecordedRequest
from oversight.testing._http import HttpRequest, MutedResponder, Responder, serve_connection

__all__ = ["FakeServer", "ReplyScript", "Scripted"]

Scripted: TypeAlias = str | dict[str, Any] | list[Any] | FakeReply | Fault
"""What a script returns: text, a JSON value (sent as the reply text or tool input), a
:class:`FakeReply` with chosen usage, or a :class:`Fault` to inject for this request."""
ReplyScript: TypeAlias = (
    str | FakeReply | Callable[[dict[str, Any]], Scripted | Awaitable[Scripted]] | None
)


class FakeServer(abc.ABC):
    """Base of the fake provider servers; see :class:`FakeOpenAIServer` for an example.

    Args:
        reply: what to answer: a fixed string or :class:`FakeReply`, or a (sync or async)
            function of the parsed JSON request body returning :data:`Scripted`. None: echo
            the last user message,
            or, when the request carries a JSON schema, a schema-valid object.
        faults: a list (the i-th request gets the i-th entry, None for none), a mapping of
            :class:`Fault` to probability (drawn with ``seed``), or a function of the
            :class:`RecordedRequest`. Every request may get one, batch and file routes
            included (``Fault.lost_reply`` there: the batch is created, the reply lost).
        latency: seconds to wait before answering each request (or a function of it).
        seed: seed for random faults.
        host, port: where to listen; port 0 picks a free one.
    """

    paths: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        reply: ReplyScript = None,
        faults: FaultSource | None = None,
        latency: float | Callable[[RecordedRequest], float] = 0.0,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.reply = reply
        self.plan = FaultPlan(faults, seed=seed)
        self.latency = latency
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        """Every request seen, in arrival order."""
        self.requests_by_path: Counter[str] = Counter()
        """How many requests each path got."""
        self.in_flight = 0
        """Requests read but not yet answered, now."""
        self.peak_concurrency = 0
        """The most requests in flight at once so far."""
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- what each provider's wire format supplies ---------------------------------------

    @property
    @abc.abstractmethod
    def base_url(self) -> str:
        """What to pass as ``base_url=`` to an endpoint or SDK client."""

    @abc.abstractmethod
    async def answer(
        self, record: RecordedRequest, scripted: Scripted | None, out: Responder
    ) -> None:
        """Write a successful reply in the provider's format."""

    @abc.abstractmethod
    async def error(self, record: RecordedRequest, fault: Fault, out: Responder) -> None:
        """Write an error response (or an error inside a stream) for ``fault``."""

    def set_faults(self, faults: FaultSource | None, *, seed: int = 0) -> None:
        """Replace the fault plan for the requests still to come (a list is indexed by arrival
        order, counted from the start or the last :meth:`reset`)."""
        self.plan = FaultPlan(faults, seed=seed)

    # -- counters ----------------------------------------------------------------------

    @property
    def total_requests(self) -> int:
        """Requests seen so far."""
        return len(self.requests)

    def reset(self) -> None:
        """Forget the requests seen so far (counters start again from zero)."""
        self.requests.clear()
        self.requests_by_path.clear()
        self.peak_concurrency = self.in_flight

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> Self:
        """Listen (in the running event loop)."""
        self._server = await asyncio.start_server(self._on_connection, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and close every open connection."""
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()  # a slow reply still sleeping, say
            await asyncio.gather(*self._connections, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2)
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def start_in_thread(self) -> Self:
        """Run the server in a thread with its own event loop (for synchronous code)."""
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.start())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self.stop())
            self._loop.close()

        self._thread = threading.Thread(target=run, name=f"{type(self).__name__}", daemon=True)
        self._thread.start()
        ready.wait(timeout=10)
        return self

    def stop_thread(self) -> None:
        """Stop a server started with :meth:`start_in_thread`."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = self._loop = None

    def __enter__(self) -> Self:
        return self.start_in_thread()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_thread()

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (``python -m oversight.testing``)."""

        async def main() -> None:
            await self.start()
            print(self.base_url, flush=True)
            await asyncio.Event().wait()

        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())

    # -- one request -------------------------------------------------------------------

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await serve_connection(reader, writer, self._handle)
        finally:
            self._connections.discard(task)

    async def _handle(self, http: HttpRequest, out: Responder) -> None:
        record = RecordedRequest(
            index=len(self.requests),
            path=http.path,
            body=_json_or_none(http.body),
            headers=http.headers,
            received_at=time.monotonic(),
            api_key=_api_key(http.headers),
        )
        self.requests.append(record)
        self.requests_by_path[http.path] += 1
        self.in_flight += 1
        self.peak_concurrency = max(self.peak_concurrency, self.in_flight)
        try:
            await self._respond(record, http, out)
        finally:
            self.in_flight -= 1
            record.responded_at = time.monotonic()

    async def route(self, http: HttpRequest, out: Responder) -> bool:
        """Answer a request outside :attr:`paths` (e.g. batch endpoints); False if none."""
        return False

    async def _respond(self, record: RecordedRequest, http: HttpRequest, out: Responder) -> None:
        fault = self.plan.fault_for(record)
        main = http.method == "POST" and http.path in self.paths  # else a batch route
        scripted = None
        if main and (fault is None or fault.kind == "lost_reply"):
            scripted = await self._script(record)
            if isinstance(scripted, Fault):
                fault, scripted = fault or scripted, None
        record.fault = fault
        latency = self.latency(record) if callable(self.latency) else self.latency
        if fault is not None and fault.kind == "slow":
            latency += fault.delay
        if latency > 0:
            await asyncio.sleep(latency)
        if fault is None or fault.kind == "slow":
            await self._serve(record, http, scripted, out, main=main)
        elif fault.kind == "lost_reply":  # the work is done, the client never hears of it
            await self._serve(record, http, scripted, MutedResponder(out.writer), main=main)
            record.status = None
            if fault.then is not None:
                fault.then()
            out.drop()
        elif fault.kind == "drop":
            out.drop()
        elif fault.kind == "malformed_json":
            record.status = 200
            if (record.body or {}).get("stream"):
                broken = b'event: message_start\ndata: {"type": "message_start", "mess\n\n'
                await out.send(200, broken, content_type="text/event-stream")
            else:
                await out.send(200, b'{"id": "broken", "choices": [')
        else:
            record.status = 200 if fault.kind == "overloaded_mid_stream" else fault.status
            await self.error(record, fault, out)

    async def _serve(
        self,
        record: RecordedRequest,
        http: HttpRequest,
        scripted: Scripted | None,
        out: Responder,
        *,
        main: bool,
    ) -> None:
        """Answer the request as asked: a reply on the provider's path, else a batch route."""
        if main:
            record.status = 200
            await self.answer(record, scripted, out)
        elif await self.route(http, out):
            record.status = 200
        else:
            record.status = 404
            await self.error(record, Fault.error(404, f"no route for {http.path}"), out)

    async def _script(self, record: RecordedRequest) -> Scripted | None:
        if self.reply is None:
            return None
        if isinstance(self.reply, (str, FakeReply)):
            return self.reply
        result = self.reply(record.body or {})
        if inspect.isawaitable(result):
            result = await result
        return result

    # -- helpers for the provider formats ----------------------------------------------

    @staticmethod
    def default_text(record: RecordedRequest) -> str:
        """The default reply to free-text requests: an echo of the last user message."""
        return f"echo: {record.last_user_message[:500]}"

    @staticmethod
    def invented(record: RecordedRequest, schema: dict[str, Any]) -> Any:
        """A schema-valid object, the same for the same request."""
        digest = hashlib.sha256(json.dumps(record.body, sort_keys=True).encode()).digest()
        return example(schema, seed=int.from_bytes(digest[:8], "big"))

    @staticmethod
    def usage_of(record: RecordedRequest, reply: FakeReply) -> tuple[int, int, int]:
        """``(input, output, cached)`` tokens: as scripted, else ~4 characters per token."""
        body = record.body or {}
        prompt = json.dumps(body.get("messages", [])) + str(body.get("system", ""))
        input_tokens = reply.input_tokens
        if input_tokens is None:
            input_tokens = max(1, math.ceil(len(prompt) / 4))
        output_tokens = reply.output_tokens
        if output_tokens is None:
            output_tokens = max(1, math.ceil(len(reply.text) / 4))
        return input_tokens, output_tokens, reply.cached_tokens

    @staticmethod
    def cut_to_max_tokens(record: RecordedRequest, reply: FakeReply) -> tuple[FakeReply, bool]:
        """``reply`` as a real server sends it under the request's ``max_tokens`` (about 4
        characters a token), and whether it was cut there. A scripted ``finish_reason``
        or ``output_tokens`` is sent as it is, uncut."""
        body = record.body or {}
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        scripted = reply.finish_reason is not None or reply.output_tokens is not None
        if scripted or not isinstance(limit, int):
            return reply, False
        tokens = max(1, math.ceil(len(reply.text) / 4))
        if tokens <= limit:
            return reply, False
        return dataclasses.replace(reply, text=reply.text[: limit * 4], output_tokens=limit), True

    @staticmethod
    def fault_headers(fault: Fault) -> dict[str, str]:
        """The fault's extra headers, with ``retry-after`` and ``retry-after-ms`` when it
        asks for a wait."""
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["retry-after"] = f"{math.ceil(fault.retry_after)}"
            headers["retry-after-ms"] = f"{fault.retry_after * 1000:.0f}"
        return headers


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _api_key(headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:]
    return headers.get("x-api-key")
