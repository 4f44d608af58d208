"""The sidecar index of a JSON Lines log: id, status, rank and byte span of every record.

``<log>.idx`` sits next to its log (``transcripts.jsonl.idx``) and holds one JSON list a
line, ``[offset, length, id, rank, status, extra]``, plus header objects naming the log's
inode. The log is the truth and the index is derived from it, under the same discipline:

* An entry is appended (one ``write`` on an ``O_APPEND`` descriptor) only after its record
  is in the log, so the index never names a record the log lacks.
* A crash between the two leaves the record without an entry; opening the index notices the
  gap (entries tile the log, so any byte range no entry covers is read) and indexes the
  missing records, from the log, in that range only. The same repairs an index that stops
  short of the log (a run written before indexes existed is indexed on first read).
* A log replaced or rewritten by hand (another inode, entries past its end, entries that
  overlap or whose last line does not end where the entry says) is re-indexed from scratch,
  written to a temporary file and renamed over the old index.
* Every read through an entry checks the record's id, so a stale index cannot hand back the
  wrong record: it is rebuilt instead.

Opening an index reads only the index (about 100 bytes a record), not the log, so finding
what is done, or one record by id, does not grow with the size of the records.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["Entry", "IndexFile", "Scan"]

Scan = Callable[[int, int, int], Iterator["Entry"]]
"""Reads the log from byte ``start`` to ``end`` (the first line number, or 0 when unknown)
and yields an entry per record."""


class Entry(NamedTuple):
    """One record of a log, as the index knows it (a tuple: 100,000 load in a blink)."""

    offset: int
    """Byte offset of the record's line in the log."""
    length: int
    """Bytes of the line, newline included."""
    id: str
    """The record's id."""
    rank: int
    """How it ranks when ids collide (see :func:`transcripts.status_rank`)."""
    status: str | None
    """The record's status, if it has one."""
    extra: Mapping[str, Any] | None = None
    """A few more fields the log's readers need without reading the record (a judgment's
    work key and transcript id, for example)."""

    def line(self) -> bytes:
        """The entry as one index line."""
        return (json.dumps(list(self), separators=(",", ":")) + "\n").encode()


class IndexFile:
    """The ``.idx`` file of one log: appends entries, loads them brought up to date."""

    __slots__ = ("_fd", "log", "path")

    def __init__(self, log: Path) -> None:
        self.log = log
        self.path = log.with_name(log.name + ".idx")
        self._fd: int | None = None

    def append(self, entry: Entry) -> None:
        """Add one entry (the caller holds the log's lock and has written the record)."""
        try:
            if self._fd is None:
                fresh = not self.path.exists()
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                if fresh:
                    os.write(self._fd, self._header())
            os.write(self._fd, entry.line())
        except OSError:
            self.close()  # a read-only folder: the index is rebuilt in memory when read

    def close(self) -> None:
        """Close the descriptor."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _header(self) -> bytes:
        return (json.dumps({"index": 1, "inode": self.log.stat().st_ino}) + "\n").encode()

    def load(self, scan: Scan, *, check: Callable[[Entry], bool]) -> list[Entry]:
        """Every record's entry in log order, indexing whatever the index lacks.

        ``check`` reads an entry's line from the log and says whether it is that record.
        """
        try:
            size = self.log.stat().st_size
            inode = self.log.stat().st_ino
        except FileNotFoundError:
            return []
        entries = self._read(inode)
        if entries is None:
            return self._rebuild(scan, size)
        ordered = entries
        if any(a.offset >= b.offset for a, b in itertools.pairwise(entries)):
            # Out of order or repeated (two readers repaired the same gap): sort, dedupe.
            by_offset = {e.offset: e for e in entries}
            ordered = sorted(by_offset.values(), key=lambda e: e.offset)
        if ordered and (ordered[-1].offset + ordered[-1].length > size or not check(ordered[-1])):
            return self._rebuild(scan, size)
        result: list[Entry] = []
        added: list[Entry] = []
        expected = 0
        for entry in ordered:
            if entry.offset < expected:
                return self._rebuild(scan, size)  # overlapping entries: not this log's
            if entry.offset > expected:
                found = list(scan(expected, entry.offset, 1 if expected == 0 else 0))
                result.extend(found)
                added.extend(found)
            result.append(entry)
            expected = entry.offset + entry.length
        if expected < size:
            found = list(scan(expected, size, 1 if expected == 0 else 0))
            result.extend(found)
            added.extend(found)
        if added:
            self._add(added)
        return result

    def _read(self, inode: int) -> list[Entry] | None:
        """The entries on disk; None when the index belongs to another file or is damaged."""
        if not self.path.exists():
            return []
        try:
            data = self.path.read_bytes()
            if not data.endswith(b"\n"):
                # Torn by a crash: its record is re-indexed from the log.
                data = data[: data.rfind(b"\n") + 1]
            # One parse of the whole file: much faster than a parse a line.
            rows = json.loads(b"[" + data.rstrip(b"\n").replace(b"\n", b",") + b"]")
            entries = []
            make = Entry._make
            for row in rows:
                if isinstance(row, dict):
                    if row.get("inode") != inode:
                        return None
                    continue
                entries.append(make(row))
        except (OSError, ValueError, TypeError):
            return None
        return entries

    def _rebuild(self, scan: Scan, size: int) -> list[Entry]:
        self.close()
        entries = list(scan(0, size, 1))
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(self._header())
                for entry in entries:
                    f.write(entry.line())
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
        return entries

    def _add(self, entries: list[Entry]) -> None:
        try:
            fresh = not self.path.exists()
            with open(self.path, "ab") as f:
                if fresh:
                    f.write(self._header())
                f.write(b"".join(e.line() for e in entries))
        except OSError:
            pass  # read-only: fine, the gap is read again next time
