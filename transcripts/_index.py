"""The sidecar index of a JSON Lines log: id, status, rank and byte span of every record.

``<log>.idx`` sits next to its log (``transcripts.jsonl.idx``): a SQLite database with one
row a record, ``(offset, length, id, rank, status, extra, lost, crc)``, indexed by id (and
by the ``extra`` fields its log looks records up by), so finding one record, the first N,
or the records naming a transcript is a few B-tree probes, whatever the size of the run.
The log is the truth and the index is derived from it, under the same discipline:

* Rows are inserted (one transaction for the records of one write, under the log's lock)
  only after their records are in the log, so the index never names a record the log
  lacks.
* Triggers keep, in the same transaction as each insert, how many bytes the rows cover
  and where the furthest ends (``meta``), and which rows another of the same id beats
  (``lost``: :meth:`JsonlLog.latest`'s rule), so the latest records are a plain scan.
  Opening the index compares both with the log's size: a crash between the two writes
  leaves a record without a row, and the uncovered byte ranges (the tail, or a gap before
  another writer's rows) are read from the log and indexed, under a shared lock on the log
  so no writer is mid-line. A run written before
  indexes existed, or by code that kept other fields (``layout``), is indexed on first read.
* A log that is another file than the one indexed (another inode: a copied run folder, or
  a log replaced by hand) keeps its index only if every row's line is in it where the row
  says, byte for byte (each row keeps its line's CRC-32, so the check reads the log once and
  parses nothing); so does a log whose modification time is not the one the index recorded
  at the last append or read (``stamp``: an editor that saved it in place, even at the same
  size); a log rewritten by hand (rows past its end, overlapping rows, a last row
  that is not the record the log holds there, a line that differs) is re-indexed from
  scratch; a damaged index file is deleted and rebuilt; where the folder is read-only the
  index is built in memory. A repair or rebuild is one transaction, begun with SQLite's
  write lock (what another process finished while this one waited is not done again); an
  index another process keeps locked for longer than ``_WAIT_S`` is an error, never
  deleted.
* Every read through a row checks the record's id, so a stale index cannot hand back the
  wrong record.

Opening an index reads a few rows of it and one line of the log, never all of either
(but once for a copy: its rows and its log's bytes, to check them).
"""

from __future__ import annotations

import os
import sqlite3
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from transcripts._index_query import Entry, Scan, _Queries
from transcripts._index_sql import (
    ALL_LOST,
    ALL_TALLIED,
    COLUMNS,
    ENTRIES,
    INSERT,
    SCHEMA,
    STAMP,
    UPKEEP,
    WITHOUT_UPKEEP,
)
from transcripts.errors import StoreError

__all__ = ["Entry", "IndexFile", "Scan"]

_VERSION = 4
"""Version of the index's own tables (1 was a JSON Lines file; 4 added each line's CRC)."""

_WAIT_S = 60.0
"""How long a connection waits for another's write transaction (a rebuild of a large run's
index holds one for seconds) before giving up."""

_BLOCK = 1 << 23
"""Bytes of the log read at a time when checking a copy's rows against it."""

_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no shared lock while repairing
    fcntl = None  # type: ignore[assignment]


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction: the connection commits each statement on its own otherwise
    (``isolation_level=None``), so a block of statements needs its own BEGIN to be all or
    nothing, and to be written as one."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with suppress(sqlite3.Error):  # the error that ended the block is the one to report
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class IndexFile(_Queries):
    """The ``.idx`` database of one log: adds rows, answers queries brought up to date.

    ``lookups`` are the ``extra`` fields queries may select by (each gets a B-tree);
    ``layout`` names what ``extra`` holds, so an index written by code that kept other
    fields is rebuilt, and a writer of another layout adds no rows to it (the records it
    wrote are indexed by the next read, with the reader's fields). ``required`` lookups are
    in every row of this layout: an index with a row that lacks one is rebuilt (code older
    than the writers' check added it).
    """

    __slots__ = (
        "_checked",
        "_db",
        "_in_memory",
        "layout",
        "log",
        "lookups",
        "path",
        "required",
    )

    def __init__(
        self,
        log: Path,
        *,
        lookups: Sequence[str] = (),
        layout: str = "",
        required: Sequence[str] = (),
    ) -> None:
        if not set(required) <= set(lookups):
            raise ValueError("a required field must be a lookup (its B-tree finds a row without)")
        self.log = log
        self.path = log.with_name(log.name + ".idx")
        self.lookups = tuple(lookups)
        self.layout = layout
        self.required = tuple(required)
        self._db: sqlite3.Connection | None = None
        self._checked: tuple[int, int, int] | None = None
        self._in_memory = False

    # -- writing ---------------------------------------------------------------------------

    def extend(self, entries: Sequence[Entry], *, since: int | None = None) -> None:
        """Add a row per entry, in one transaction (the caller holds the log's lock and has
        written the records): all of them or, on a crash or an error, none. ``since``: the
        log's modification time before the records were written; where the rows were up to
        it, they are up to the log's time now (``STAMP``)."""
        if not entries:
            return
        try:
            db = self._open()
            db.execute("BEGIN")
            meta = db.execute("SELECT version, layout FROM meta").fetchone()
            stamp = db.execute("SELECT mtime FROM stamp").fetchone()
            if stamp is None and meta is None and entries[0].offset == 0:
                stamp = (since,)  # a new log: these rows are all there is
            if meta is None:
                self._start(db, self.log.stat().st_ino)
            elif meta != (_VERSION, self.layout):
                # Another version's index: rows of this layout would mislead its readers;
                # left out, the records are indexed by the next read, with its fields.
                db.execute("ROLLBACK")
                return
            db.executemany(INSERT, (entry.row() for entry in entries))
            if since is not None and stamp == (since,):
                db.execute(STAMP, (self.log.stat().st_mtime_ns,))
            db.execute("COMMIT")
        except (OSError, sqlite3.Error):
            # Read-only, full or locked: closing rolls back; the gap is indexed on the
            # next read.
            self.close()

    def end_line(self, offset: int, line: bytes) -> None:
        """The record at ``offset``, indexed without the newline its line lacked, now has
        it (an append ended its line: ``line`` is the line with it): its row spans the
        newline too, so the rows cover the log without a gap and a read of the record finds
        the length its row says. Left as it was where the index cannot be written: a read
        then finds the row one byte short and has the index rebuilt."""
        try:
            db = self._open()
            with _transaction(db):
                ended = db.execute(
                    "UPDATE entries SET length = ?, crc = ? WHERE offset = ? AND length = ?",
                    (len(line), zlib.crc32(line), offset, len(line) - 1),
                ).rowcount
                if ended:
                    db.execute(
                        "UPDATE meta SET covered = covered + 1, reach = max(reach, ?)",
                        (offset + len(line),),
                    )
        except (OSError, sqlite3.Error):
            self.close()

    @property
    def in_memory(self) -> bool:
        """Whether the index lives in this process's memory, its file being out of reach
        (a read-only folder): then every query first builds it from the whole log."""
        self._open()
        return self._in_memory

    def close(self) -> None:
        """Close the database."""
        if self._db is not None:
            with suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        self._checked = None

    # -- keeping up with the log -----------------------------------------------------------

    def _fresh(self, scan: Scan, check: Callable[[Entry], bool]) -> sqlite3.Connection | None:
        """The database, brought up to date with the log; None when there is no log."""
        try:
            stat = self.log.stat()
        except FileNotFoundError:
            return None
        stamp = (stat.st_size, stat.st_ino, stat.st_mtime_ns)
        try:
            db = self._open()
            if stamp != self._checked:
                if not self._current(db, stat, check):
                    with self._shared_lock():
                        self._repair(db, scan, check)
                self._checked = stamp
        except sqlite3.DatabaseError as err:
            if getattr(err, "sqlite_errorcode", None) in _BUSY:
                # Another process holds it (rebuilding a large run's index): deleting the
                # files under it would be worse than waiting.
                raise StoreError(
                    f"{self.path} stayed locked by another process for {_WAIT_S:.0f} s "
                    f"(another oversight command rebuilding it?); run this command again "
                    f"once that one is done"
                ) from err
            self._discard()  # not a database (an older index, or damaged): build it anew
            db = self._open()
            with self._shared_lock():
                self._repair(db, scan, check)
            self._checked = stamp
        return db

    def _current(
        self, db: sqlite3.Connection, stat: os.stat_result, check: Callable[[Entry], bool]
    ) -> bool:
        """Whether the rows cover the log exactly, were brought up to its last change (its
        modification time), and the last one is the log's record."""
        meta = db.execute("SELECT version, layout, inode, covered, reach FROM meta").fetchone()
        if meta is None or meta[:3] != (_VERSION, self.layout, stat.st_ino):
            return False
        if not meta[3] == meta[4] == stat.st_size or self._foreign_rows(db):
            return False
        return self._stamped(db, stat) and self._last_matches(db, check)

    def _stamped(self, db: sqlite3.Connection, stat: os.stat_result) -> bool:
        """Whether the log was last changed by an append these rows record (``STAMP``)."""
        row = db.execute("SELECT mtime FROM stamp").fetchone()
        return row is not None and row[0] == stat.st_mtime_ns

    def _foreign_rows(self, db: sqlite3.Connection) -> bool:
        """Whether a row lacks a ``required`` field (a seek in that field's B-tree)."""
        return any(
            db.execute(
                f"SELECT 1 FROM entries WHERE json_extract(extra, '$.{name}') IS NULL LIMIT 1"
            ).fetchone()
            for name in self.required
        )

    def _last_matches(self, db: sqlite3.Connection, check: Callable[[Entry], bool]) -> bool:
        last = db.execute(f"SELECT {COLUMNS} FROM entries ORDER BY offset DESC LIMIT 1").fetchone()
        return last is None or check(Entry(*last[:5]))

    def _repair(self, db: sqlite3.Connection, scan: Scan, check: Callable[[Entry], bool]) -> None:
        """Index what the log holds and the rows lack, or everything anew (under the log's
        shared lock: no writer is between its record and its row), in one transaction.
        The transaction holds SQLite's write lock from the start, so an index another
        process brought up to date while this one waited for it is left as it is."""
        with _transaction(db):
            stat = self.log.stat()
            if not self._current(db, stat, check):
                self._catch_up(db, scan, check, stat)
                db.execute(STAMP, (stat.st_mtime_ns,))

    def _catch_up(
        self,
        db: sqlite3.Connection,
        scan: Scan,
        check: Callable[[Entry], bool],
        stat: os.stat_result,
    ) -> None:
        """:meth:`_repair`'s work, inside its transaction."""
        size = stat.st_size
        meta = db.execute("SELECT version, layout, inode, covered, reach FROM meta").fetchone()
        if (
            meta is None
            or meta[:2] != (_VERSION, self.layout)
            or meta[4] > size
            or self._foreign_rows(db)
        ):
            self._rebuild(db, scan, stat.st_ino, size)
            return
        if meta[2] != stat.st_ino or not self._stamped(db, stat):
            # Another file (a copy of the run keeps its rows), or one changed otherwise than
            # by an append (edited in place): kept where every row's line is still there.
            if not self._same_lines(db, size):
                self._rebuild(db, scan, stat.st_ino, size)
                return
            db.execute("UPDATE meta SET inode = ?", (stat.st_ino,))
        covered, reach = meta[3], meta[4]
        if covered > reach or not self._last_matches(db, check):
            self._rebuild(db, scan, stat.st_ino, size)  # overlapping rows: not this log's
            return
        gaps: list[tuple[int, int]] = []
        if covered < reach:
            previous_end = 0
            rows = db.execute("SELECT offset, length FROM entries ORDER BY offset")
            overlapping = False
            for offset, length in rows:
                if offset < previous_end:
                    overlapping = True
                    break
                if offset > previous_end:
                    gaps.append((previous_end, offset))
                previous_end = offset + length
            rows.close()  # the scan is over (it may have stopped early)
            if overlapping:
                self._rebuild(db, scan, stat.st_ino, size)
                return
        if reach < size:
            gaps.append((reach, size))
        for start, end in gaps:
            db.executemany(INSERT, (e.row() for e in scan(start, end, 1 if start == 0 else 0)))

    def _same_lines(self, db: sqlite3.Connection, size: int) -> bool:
        """Whether every row's line is in the log (``size`` bytes) where the row says, byte
        for byte by its CRC-32: one pass over the log in blocks, nothing parsed."""
        rows = db.execute("SELECT offset, length, crc FROM entries ORDER BY offset")
        try:
            with open(self.log, "rb") as f:
                start, block = 0, memoryview(b"")
                for offset, length, crc in rows:
                    end = offset + length
                    if crc is None or end > size:
                        return False
                    if offset < start or end > start + len(block):
                        f.seek(offset)
                        start, block = offset, memoryview(f.read(max(_BLOCK, length)))
                    if zlib.crc32(block[offset - start : end - start]) != crc:
                        return False
            return True
        finally:
            rows.close()

    def _rebuild(self, db: sqlite3.Connection, scan: Scan, inode: int, size: int) -> None:
        """Index the whole log anew (inside :meth:`_repair`'s transaction). The rows go in
        without the upkeep each insert pays (``UPKEEP``: the triggers and the B-trees),
        which is made again once they are all in, as the triggers would have left it."""
        for statement in WITHOUT_UPKEEP:
            db.execute(statement)
        for name in self.lookups:
            db.execute(f"DROP INDEX IF EXISTS entries_by_{name}")
        # Dropped and made again: an index of an older version has other columns.
        db.execute("DROP TABLE IF EXISTS entries")
        db.execute(ENTRIES)
        db.execute("DELETE FROM meta")
        self._start(db, inode)
        db.executemany(INSERT, (e.row() for e in scan(0, size, 1)))
        for statement in UPKEEP:
            db.execute(statement)
        self._lookup_indexes(db)
        db.execute(ALL_LOST)
        db.execute(ALL_TALLIED)

    def _start(self, db: sqlite3.Connection, inode: int) -> None:
        db.execute(
            "INSERT INTO meta (one, version, layout, inode, covered, reach) VALUES (1,?,?,?,0,0)",
            (_VERSION, self.layout, inode),
        )

    def _open(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                try:
                    db = self._connect()
                except sqlite3.DatabaseError as err:
                    if getattr(err, "sqlite_errorcode", None) != sqlite3.SQLITE_NOTADB:
                        raise
                    self._discard()  # damaged (not a database): built anew from the log
                    db = self._connect()
            except (sqlite3.OperationalError, PermissionError):
                # A read-only folder: an index in memory.
                db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
                self._in_memory = True
            # Derived data: a power loss at worst costs a rebuild, never a record.
            db.execute("PRAGMA synchronous=OFF")
            db.executescript(SCHEMA)
            self._lookup_indexes(db)
            self._db = db
        return self._db

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=_WAIT_S, check_same_thread=False, isolation_level=None
        )
        try:
            db.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _lookup_indexes(self, db: sqlite3.Connection) -> None:
        """A B-tree for each field queries select by (``lookups``)."""
        for name in self.lookups:
            db.execute(
                f"CREATE INDEX IF NOT EXISTS entries_by_{name} ON entries "
                f"(json_extract(extra, '$.{name}'))"
            )

    def _discard(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)

    @contextmanager
    def _shared_lock(self) -> Iterator[None]:
        """A shared OS lock on the log while repairing (writers hold it exclusively while
        writing a record and its row)."""
        if fcntl is None:  # pragma: no cover
            yield
            return
        fd = os.open(self.log, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)
