"""The response cache: an identical request is never paid for twice.

The key is the SHA-256 of the canonical JSON of everything that changes the answer:
provider, model, server, messages, system prompt, sampling parameters, schema, seed,
extra request fields, and the sample index (so independent samples at temperature > 0
stay independent). Never the API key. Entries live in one SQLite file (WAL mode, safe
for many tasks and processes at once); only replies that passed validation are stored.
The request is kept beside its reply for people who audit the cache, zlib-compressed (a
``BLOB``; :func:`stored_request` reads it back, and the plain text older caches hold):
two thirds of an uncompressed cache was request JSON.

Identical requests in flight at the same moment are sent once: the others wait for the
first and are answered from it.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oversight.endpoints._cache_miss import nearest_difference
from oversight.endpoints._types import Reply, Request, TokenLogprob
from transcripts import Usage
from transcripts.errors import ConfigError

__all__ = [
    "ResponseCache",
    "cache_key",
    "close_caches",
    "default_cache_path",
    "open_cache",
    "stored_request",
]

log = logging.getLogger("oversight.endpoints")

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
    material = {"v": _KEY_VERSION, **identity, "request": request.answer_fields()}
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest(), canonical


class ResponseCache:
    """Replies by request key, in one SQLite file shared by tasks, threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Reads run on the event loop: in WAL mode they never wait for a writer. Writes
            # are gathered over one turn of the event loop into one transaction, written on
            # the loop when the file is free (the usual case), else in a worker thread.
            self._patient_writer = _connect(path, timeout=60.0)
            self._patient_writer.execute("PRAGMA journal_mode=WAL")
            self._patient_writer.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT PRIMARY KEY, endpoint TEXT NOT NULL, created REAL NOT NULL,"
                " request TEXT NOT NULL, reply TEXT NOT NULL)"
            )
            self._writer = _connect(path, timeout=0.0)
            self._reader = _connect(path, timeout=60.0)
        except (OSError, sqlite3.Error) as err:
            raise ConfigError(
                f"cannot open the response cache at {path}: {err}; "
                "pass cache=PATH to use another file, or cache=False"
            ) from err
        self._read_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._pending: dict[str, _Row] = {}
        self._flush_on: asyncio.AbstractEventLoop | None = None  # the loop a flush waits on
        self._batch: asyncio.Future[None] | None = None  # done when the next flush is written
        self._in_flight: dict[tuple[int, str], asyncio.Future[Reply | None]] = {}

    def __repr__(self) -> str:
        return f"ResponseCache({str(self.path)!r})"

    def get(self, key: str) -> Reply | None:
        """The stored reply for ``key``, or None."""
        pending = self._pending.get(key)
        if pending is not None:
            return _decode(pending[4])
        with self._read_lock:
            row = self._reader.execute(
                "SELECT reply FROM responses WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else _decode(row[0])

    def request_of(self, key: str) -> str | None:
        """The JSON the key ``key`` was made of (the backend's identity and the request's
        answer fields: :func:`cache_key`), or None when no reply is stored under it."""
        pending = self._pending.get(key)
        if pending is not None:
            return pending[3]
        with self._read_lock:
            row = self._reader.execute(
                "SELECT request FROM responses WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else stored_request(row[0])

    def nearest_difference(self, endpoint: str, canonical: str, *, most: int = 5000) -> str | None:
        """What differs between the request whose key's JSON is ``canonical`` and the most
        alike of the ``most`` latest requests cached for ``endpoint`` (for a miss's error:
        :mod:`oversight.endpoints._cache_miss`); None when the cache has none of them."""
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT request FROM responses WHERE endpoint = ? ORDER BY created DESC LIMIT ?",
                (endpoint, most),
            ).fetchall()
        return nearest_difference(endpoint, canonical, (stored_request(r[0]) for r in rows))

    def put(self, key: str, endpoint: str, request_json: str, reply: Reply) -> asyncio.Future[None]:
        """Store ``reply`` under ``key``: visible here at once, written to the file at the end
        of this turn of the event loop, with the others stored in it.

        Returns a future done once the row is in the file (or its write failed and was
        logged; the row is then written again with the next flush, and at exit): await it
        before anything records the call as paid, so that a kill can never leave a call
        paid on record but missing from the cache (and so paid again).
        """
        self._pending[key] = (key, endpoint, time.time(), request_json, _encode(reply))
        loop = asyncio.get_running_loop()
        if self._flush_on is not loop or self._batch is None:
            # None waiting, or on a loop that may have ended: a new batch on this loop.
            self._flush_on = loop
            self._batch = loop.create_future()
            loop.call_soon(self._flush)
        return self._batch

    def _flush(self) -> None:
        """Write what is pending: now if the file is free, else from a worker thread."""
        self._flush_on = None
        batch, self._batch = self._batch, None
        rows = list(self._pending.values())
        if not rows:
            _settle(batch)
            return
        if self._write_lock.acquire(blocking=False):
            try:
                _write(self._writer, rows)
            except sqlite3.Error:  # another process is writing, say: do not wait here
                pass
            else:
                self._forget(rows)
                _settle(batch)
                return
            finally:
                self._write_lock.release()
        done = asyncio.get_running_loop().run_in_executor(None, self._write_patiently, rows)
        done.add_done_callback(lambda future: self._written(rows, future, batch))

    def _write_patiently(self, rows: list[_Row]) -> None:
        with self._write_lock:
            _write(self._patient_writer, rows)

    def _written(
        self, rows: list[_Row], future: asyncio.Future[None], batch: asyncio.Future[None] | None
    ) -> None:
        _settle(batch)
        if future.cancelled():
            return  # still pending: written at exit
        error = future.exception()
        if error is not None:  # kept: written with the next write, or at exit
            log.warning(
                "could not write %d replies to the cache %s: %s; they are kept to be written "
                "again with the next reply, and at exit",
                len(rows),
                self.path,
                error,
            )
            return
        self._forget(rows)

    def _forget(self, rows: list[_Row]) -> None:
        """Drop written rows from the pending ones (unless replaced since)."""
        for row in rows:
            if self._pending.get(row[0]) is row:
                del self._pending[row[0]]

    def flush(self) -> None:
        """Write everything pending now, waiting for the file if need be."""
        rows = list(self._pending.values())
        if rows:
            self._write_patiently(rows)
            self._forget(rows)

    def absorb(self, other: Path) -> int:
        """Copy in every reply of the cache file ``other`` that this cache lacks (a run
        shard's cache merged into its run's); return how many. Running it again adds
        nothing."""
        self.flush()
        with self._write_lock:
            db = self._patient_writer
            db.execute("ATTACH DATABASE ? AS other", (str(other),))
            try:
                db.execute("BEGIN IMMEDIATE")
                added = db.execute(
                    "INSERT OR IGNORE INTO responses (key, endpoint, created, request, reply)"
                    " SELECT key, endpoint, created, request, reply FROM other.responses"
                ).rowcount
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            finally:
                db.execute("DETACH DATABASE other")
        return added

    def __len__(self) -> int:
        """How many replies the cache holds (what is pending is written first)."""
        self.flush()
        with self._read_lock:
            return int(self._reader.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def lead(self, key: str) -> asyncio.Future[Reply | None] | None:
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
            future.set_result(reply)

    def close(self) -> None:
        """Write what is pending and close the database connections."""
        self.flush()
        with self._write_lock, self._read_lock:
            for db in (self._writer, self._patient_writer, self._reader):
                db.close()


_Row = tuple[str, str, float, str, str]
"""key, endpoint, created, request JSON, reply JSON."""


def _settle(batch: asyncio.Future[None] | None) -> None:
    """Release whoever awaits ``batch`` (the rows are written, or their failure logged)."""
    if batch is not None and not batch.done():
        batch.set_result(None)


def _connect(path: Path, *, timeout: float) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=timeout, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def stored_request(value: str | bytes) -> str:
    """The request JSON of a cache row: compressed (this version) or plain text (older)."""
    return value if isinstance(value, str) else zlib.decompress(value).decode()


def _write(db: sqlite3.Connection, rows: list[_Row]) -> None:
    """Insert ``rows`` in one transaction (rolled back whole if any step fails), each
    request compressed."""
    packed = [
        (key, endpoint, created, zlib.compress(request.encode(), 1), reply)
        for key, endpoint, created, request, reply in rows
    ]
    try:
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)", packed)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _encode(reply: Reply) -> str:
    return json.dumps(
        {
            "text": reply.text,
            "usage": reply.usage.model_dump(),
            "logprobs": None
            if reply.logprobs is None
            else [lp.model_dump() for lp in reply.logprobs],
            "finish_reason": reply.finish_reason,
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
        finish_reason=raw.get("finish_reason"),
    )


_open: dict[Path, ResponseCache] = {}
_open_lock = threading.Lock()


def close_caches() -> None:
    """Write what is pending and close every cache this process opened (at exit, and
    between tests)."""
    with _open_lock:
        for cache in _open.values():
            try:
                cache.close()
            except sqlite3.Error as err:
                log.warning("could not close the cache %s: %s", cache.path, err)
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
            if not _open:
                atexit.unregister(close_caches)
                atexit.register(close_caches)
            cache = _open[path] = ResponseCache(path)
        return cache
