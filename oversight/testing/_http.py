"""A small HTTP/1.1 server on asyncio streams: keep-alive, Content-Length bodies, and the
low-level moves fault injection needs (half a body, a dropped connection)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["HttpRequest", "MutedResponder", "Responder", "serve_connection"]

_MAX_HEADER_BYTES = 64 * 1024
_KNOWN = frozenset(s.value for s in HTTPStatus)


@dataclass
class HttpRequest:
    """One parsed request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str] = field(default_factory=dict)
    """The URL's query parameters (e.g. a list's ``limit`` and ``after_id``)."""


class Responder:
    """Writes the response to one request; the handler must call exactly one of its
    ``send_*`` methods or :meth:`drop`."""

    __slots__ = ("closed", "writer")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.closed = False

    async def send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        """A complete response."""
        self.writer.write(_head(status, len(body), content_type, headers) + body)
        await self.writer.drain()

    async def send_slowly(
        self,
        status: int,
        parts: list[bytes],
        delay: float,
        *,
        content_type: str = "text/event-stream",
        headers: dict[str, str] | None = None,
    ) -> None:
        """A response whose body comes in ``parts``, ``delay`` seconds apart (a slow model
        streaming its tokens)."""
        self.writer.write(_head(status, sum(map(len, parts)), content_type, headers))
        for part in parts:
            await asyncio.sleep(delay)
            self.writer.write(part)
            await self.writer.drain()

    async def send_json(
        self, status: int, data: Any, *, headers: dict[str, str] | None = None
    ) -> None:
        """A complete JSON response."""
        await self.send(status, json.dumps(data).encode(), headers=headers)

    async def send_partial(
        self, status: int, first_part: bytes, declared_length: int, content_type: str
    ) -> None:
        """Headers promising ``declared_length`` bytes, then only ``first_part``, then the
        connection is dropped (a stream cut off midway)."""
        self.writer.write(_head(status, declared_length, content_type, None) + first_part)
        await self.writer.drain()
        self.drop()

    def drop(self) -> None:
        """Close the connection without (the rest of) a response."""
        self.closed = True
        self.writer.transport.abort()


class MutedResponder(Responder):
    """Writes nothing: the request's work is done, but its response is lost (see
    ``Fault.lost_reply``)."""

    __slots__ = ()

    async def send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Nothing is sent."""

    async def send_slowly(
        self,
        status: int,
        parts: list[bytes],
        delay: float,
        *,
        content_type: str = "text/event-stream",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Nothing is sent."""

    async def send_partial(
        self, status: int, first_part: bytes, declared_length: int, content_type: str
    ) -> None:
        """Nothing is sent."""


def _head(status: int, length: int, content_type: str, headers: dict[str, str] | None) -> bytes:
    reason = HTTPStatus(status).phrase if status in _KNOWN else "Overloaded"
    lines = [
        f"HTTP/1.1 {status} {reason}",
        f"content-type: {content_type}",
        f"content-length: {length}",
    ]
    lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """The next request on the connection, or None when the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    except asyncio.LimitOverrunError:
        return None
    if len(head) > _MAX_HEADER_BYTES:
        return None
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _version = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    try:
        body = await reader.readexactly(length) if length else b""
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    path, _, query = path.partition("?")
    return HttpRequest(
        method=method, path=path, headers=headers, body=body, query=dict(parse_qsl(query))
    )


async def serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    handle: Callable[[HttpRequest, Responder], Awaitable[None]],
) -> None:
    """Serve requests on one keep-alive connection until either side closes it."""
    try:
        while True:
            request = await _read_request(reader)
            if request is None:
                break
            responder = Responder(writer)
            await handle(request, responder)
            if responder.closed or request.headers.get("connection", "").lower() == "close":
                break
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
