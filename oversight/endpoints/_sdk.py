"""What the OpenAI and Anthropic backends share: the server, the key, a few SDK clients per
event loop and the HTTP client under them, redaction, and the transport failures every SDK
reports alike."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import hashlib
import json
import os
import ssl
import weakref
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import aiohttp
import httpx2

from oversight.endpoints._base import Backend
from oversight.endpoints._options import EndpointOptions
from oversight.endpoints._retry import Failure
from oversight.endpoints._secrets import looks_like_key
from transcripts.errors import MissingAPIKeyError

__all__ = ["CLIENTS", "SdkBackend"]

CLIENTS = 8
"""SDK clients per endpoint and event loop on ``transport="httpx"``, taken in turn. Each has
its own connection pool, and httpx scans its whole pool on every request: with one client
and 256 requests in flight that scan was ~29% of the client's CPU; spread over 8 pools of
~32 connections it costs about a fifth as much (BENCHMARKS.md, "Client CPU a call").
aiohttp's pool has no such scan: one client (BENCHMARKS.md, "The debate workload")."""


class _Closable(Protocol):
    async def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Closable)


class SdkBackend(Backend, Generic[ClientT]):
    """A backend that talks through a provider SDK's async client."""

    default_url: ClassVar[str]
    """The provider's own server."""
    url_variable: ClassVar[str]
    """Environment variable the SDK reads a base URL from, e.g. ``OPENAI_BASE_URL``."""
    key_variable: ClassVar[str]
    """Environment variable holding the API key, e.g. ``OPENAI_API_KEY``."""
    timeout_errors: ClassVar[tuple[type[BaseException], ...]]
    """The SDK's exceptions for a timed-out attempt."""
    connection_errors: ClassVar[tuple[type[BaseException], ...]]
    """The SDK's exceptions for a connection that failed or dropped."""
    malformed_errors: ClassVar[tuple[type[BaseException], ...]]
    """The SDK's exceptions for a response body it could not read."""
    aiohttp_client: ClassVar[type[httpx2.AsyncClient]]
    """The SDK's ``DefaultAioHttpClient``: its defaults, with aiohttp underneath."""

    def __init__(self, model: str, options: EndpointOptions) -> None:
        self.model = model
        self.options = options
        server = options.base_url or os.environ.get(self.url_variable) or self.default_url
        self.server = server.rstrip("/")
        self._clients: list[ClientT] = []
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._closer: asyncio.Task[None] | None = None
        self._turn = 0
        self._secret: str | None = None
        self.account = _digest(self._configured_key())

    @abc.abstractmethod
    async def connect(self) -> ClientT:
        """A new SDK client (its own retries off), made at first use in each event loop."""

    async def client(self) -> ClientT:
        """The next of the running event loop's SDK clients (their connections belong to
        that loop); up to :data:`CLIENTS` are made, as requests need them."""
        loop = asyncio.get_running_loop()
        if self._client_loop is not loop:
            # Another loop's clients cannot be used (nor closed) here; a task of this loop
            # closes its clients when the loop ends without aclose() (asyncio.run cancels
            # the tasks left), so no connection is left open behind it.
            self._clients = []
            self._client_loop = loop
            self._closer = loop.create_task(_close_at_loop_end(self._clients))
            weakref.finalize(self, _close_soon, self._closer)  # dropped without aclose()
        clients = CLIENTS if self.options.transport == "httpx" else 1
        self._turn += 1
        if len(self._clients) < clients:
            self._clients.append(await self.connect())
            return self._clients[-1]
        return self._clients[self._turn % clients]

    def http_client(self) -> httpx2.AsyncClient | None:
        """The HTTP client a new SDK client sends through (``transport=``): the SDK's own
        aiohttp-based one, or None for the SDK's default (httpx)."""
        if self.options.transport == "httpx":
            return None
        return self.aiohttp_client(timeout=self.options.timeout, verify=_ssl_context())

    def key_required(self) -> bool:
        """Whether calls need a key (a compatible server of one's own usually does not)."""
        return True

    def check_credentials(self) -> None:
        self.api_key(required=self.key_required())

    def api_key(self, *, required: bool = True) -> str:
        """The key from ``api_key=``, else from its environment variable; a missing one is
        a MissingAPIKeyError naming the variable (or, where not required, a placeholder)."""
        key = self._configured_key()
        if self.options.api_key is None:
            variable = self.options.api_key_env or self.key_variable
            if not key and (required or self.options.api_key_env is not None):
                model = "***" if looks_like_key(self.model) else self.model  # a key by mistake
                raise MissingAPIKeyError(
                    f"{self.provider}/{model} needs an API key and none is set: set the "
                    f"environment variable {variable} (export {variable}=... in the shell that "
                    f"runs oversight), or from Python pass endpoint(..., api_key=...) or "
                    f'endpoint(..., api_key_env="NAME"); in an experiment file, name another '
                    f'variable with api_key_env = "NAME" in the endpoint\'s [endpoints.NAME] '
                    f"table (the key itself never goes in a file)",
                    variable=variable,
                )
        self._secret = key or None
        return key or "not-needed"

    def _configured_key(self) -> str:
        """The key from ``api_key=``, else from its environment variable ("" if none)."""
        if self.options.api_key is not None:
            return self.options.api_key.get_secret_value()
        return os.environ.get(self.options.api_key_env or self.key_variable, "")

    def identity(self) -> dict[str, Any]:
        identity = super().identity()
        if self.options.structured != "native":
            identity["structured"] = self.options.structured
        if self.options.extra_body:
            identity["extra_body"] = self.options.extra_body
        return identity

    def redact(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def classify(self, error: BaseException) -> Failure | None:
        """Timeouts, dropped connections and unreadable bodies are transient."""
        dropped = _dropped(error)
        if self.timed_out(error):
            return Failure(True, f"timed out after {self.options.timeout:g}s")
        if isinstance(error, self.connection_errors):
            message = str(dropped) if dropped else getattr(error, "message", str(error))
            return Failure(True, "connection failed or dropped", provider_message=message)
        if isinstance(error, (*self.malformed_errors, json.JSONDecodeError)):
            return Failure(True, "malformed response body", provider_message=str(error)[:200])
        return super().classify(error)

    def timed_out(self, error: BaseException) -> bool:
        """Whether ``error`` is a timeout, not a connection that failed or dropped (which
        the SDKs' aiohttp transport reports as a connect timeout too)."""
        return isinstance(error, self.timeout_errors) and _dropped(error) is None

    async def aclose(self) -> None:
        closer, self._closer = self._closer, None
        self._clients, self._client_loop = [], None
        if closer is not None and closer.get_loop() is asyncio.get_running_loop():
            closer.cancel()  # it closes the clients
            await asyncio.wait([closer])


def _digest(key: str) -> str:
    """A stand-in for ``key`` that tells keys apart but cannot be turned back into one."""
    return hashlib.sha256(key.encode()).hexdigest()[:16] if key else ""


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The SDKs' default TLS settings, made once a process (loading the certificate
    authorities is ~70 ms of CPU, once per client otherwise)."""
    return httpx2.create_ssl_context()


_closing: set[asyncio.Task[None]] = set()
"""Closers of backends dropped without aclose(), kept until they have closed the clients."""


async def _close_at_loop_end(clients: Sequence[_Closable]) -> None:
    """Wait until cancelled (by aclose(), by the backend's end, or by the loop's end), then
    close ``clients``."""
    try:
        await asyncio.get_running_loop().create_future()
    except asyncio.CancelledError:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        raise


def _close_soon(closer: asyncio.Task[None]) -> None:
    """A backend is gone without aclose(): its clients are closed on their loop, if it runs."""
    if closer.done():
        return
    loop = closer.get_loop()
    if loop.is_closed():
        closer._log_destroy_pending = False  # type: ignore[attr-defined]  # nothing to do
        return
    _closing.add(closer)
    closer.add_done_callback(_closing.discard)
    loop.call_soon_threadsafe(closer.cancel)


def _dropped(error: BaseException) -> aiohttp.ClientConnectionError | None:
    """The aiohttp error behind ``error`` when a connection failed or dropped. (The SDKs'
    aiohttp transport reports every aiohttp connection error, a server that hung up
    included, as a connect timeout; a real timeout is an ``asyncio.TimeoutError``.)"""
    cause = error.__cause__
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectionError):
            return None if isinstance(cause, asyncio.TimeoutError) else cause
        cause = cause.__cause__
    return None
