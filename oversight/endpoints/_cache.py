"""The response cache: an identical request is never paid for twice.

The key is the SHA-256 of the canonical JSON of everything that changes the answer:
provider, model, server, messages, system prompt, sampling parameters, schema, seed,
extra request fields, and the sample index (so independent samples at temperature > 0
stay independent). Never the API key. Entries live in one SQLite file (WAL mode, safe
for many tasks and processes at once); only replies that passed validation are stored.

Identical requests in flight at the same moment are sent once: the others wait for the
first and are answered from it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oversight.endpoints._types import Reply, Request, TokenLogprob
from transcripts import Usage
from transcripts.errors import ConfigError

__all__ = ["ResponseCache", "cache_key", "close_caches", "default_cache_path", "open_cache"]

_KEY_VERSION = 1


def default_cache_path() -> Path:
    """``$OVERSIGHT_CACHE``, else ``$XDG_CACHE_HOME/oversight/responses.sqlite``
    (``~/.cache/oversight/responses.sqlite``)."""
    explicit = os.environ.get("OVERSIGHT_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "oversight" / "responses.sqlite"


def cache_key(identity: Mapping[str, Any], request: Request) -> tuple[str, str]:
    """``(sha256 hex, canonical JSON)`` of the backend's identity and the request."""
    material = {"v": _KEY_VERSION, **identity, "request": request.model_dump(by_alias=True)}
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest(), canonical


class ResponseCache:
    """Replies by request key, in one SQLite file shared by tasks, threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Two connections: reads run on the event loop and, in WAL mode, never wait for
            # a writer; writes run in a worker thread, where waiting for another process's
            # write lock blocks nobody.
            self._writer = _connect(path)
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT PRIMARY KEY, endpoint TEXT NOT NULL, created REAL NOT NULL,"
                " request TEXT NOT NULL, reply TEXT NOT NULL)"
            )
            self._reader = _connect(path)
        except (OSError, sqlite3.Error) as err:
            raise ConfigError(
                f"cannot open the response cache at {path}: {err}; "
                "pass cache=PATH to use another file, or cache=False"
            ) from err
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._in_flight: dict[tuple[int, str], asyncio.Future[Reply]] = {}

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"

    def get(self, key: str) -> Reply | None:
        """The stored reply for ``key``, or None (a WAL read never waits for writers)."""
        with self._read_lock:
            row = self._reader.execute(
                "SELECT reply FROM responses WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else _decode(row[0])

    async def put(self, key: str, endpoint: str, request_json: str, reply: Reply) -> None:
        """Store ``reply`` under ``key`` (in a worker thread: a write may wait for a lock)."""
        await asyncio.to_thread(self._put, key, endpoint, request_json, _encode(reply))

    def _put(self, key: str, endpoint: str, request_json: str, reply_json: str) -> None:
        with self._write_lock:
            self._writer.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)",
                (key, endpoint, time.time(), request_json, reply_json),
            )

    def __len__(self) -> int:
        with self._read_lock:
            return int(self._reader.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def lead(self, key: str) -> asyncio.Future[Reply] | None:
        """None if this caller should send ``key`` (call :meth:`finish` after), else the
        future of the identical request already in flight."""
        slot = (id(asyncio.get_running_loop()), key)
        future = self._in_flight.get(slot)
        if future is not None:
            return future
        self._in_flight[slot] = asyncio.get_running_loop().create_future()
        return None

    def finish(self, key: str, reply: Reply | None) -> None:
        """Release the callers waiting on ``key``: with the reply, or None if it failed."""
        future = self._in_flight.pop((id(asyncio.get_running_loop()), key), None)
        if future is not None and not future.done():
            if reply is None:
                future.cancel()
            else:
                future.set_result(reply)

    def close(self) -> None:
        """Close the database connections."""
        with self._write_lock, self._read_lock:
            self._writer.close()
            self._reader.close()


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30.0, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def _encode(reply: Reply) -> str:
    return json.dumps(
        {
            "text": reply.text,
            "usage": reply.usage.model_dump(),
            "logprobs": None
            if reply.logprobs is None
            else [lp.model_dump() for lp in reply.logprobs],
        },
        ensure_ascii=False,
    )


def _decode(data: str) -> Reply:
    raw = json.loads(data)
    logprobs = raw.get("logprobs")
    return Reply(
        text=raw["text"],
        usage=Usage(**raw.get("usage", {})),
        logprobs=None if logprobs is None else [TokenLogprob(**lp) for lp in logprobs],
    )


_open: dict[Path, ResponseCache] = {}
_open_lock = threading.Lock()


def close_caches() -> None:
    """Close every cache this process opened (tests use it between runs)."""
    with _open_lock:
        for cache in _open.values():
            cache.close()
        _open.clear()


def open_cache(option: bool | str | Path) -> ResponseCache | None:
    """The process-wide cache for the ``cache=`` option (one connection per file)."""
    if option is False:
        return None
    path = default_cache_path() if option is True else Path(option).expanduser()
    path = path.resolve()
    with _open_lock:
        cache = _open.get(path)
        if cache is None:
            cache = _open[path] = ResponseCache(path)
        return cache
