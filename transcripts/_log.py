"""An append-only JSON Lines log of one record type with its index: the files of a run
folder (:mod:`transcripts._store`) are such logs.

Guarantees:

* Each record (or batch of records, :meth:`JsonlLog.extend`) is written with a single
  ``write`` on an ``O_APPEND`` descriptor under a per-file lock, held both within the
  process (tasks, threads) and across processes (an OS advisory lock, ``flock``, on the
  file itself; a ``.<file>.lock`` side file where there is no ``fcntl``), e.g. two people
  judging one run in two terminals, so writers never interleave bytes and one never
  mistakes another's line in progress for a torn tail; records are in the kernel the
  moment ``append`` (``extend``) returns (a ``kill -9`` loses nothing already appended;
  pass ``fsync=True`` to survive power loss too).
* An append the file system cuts short (a full disk) is truncated away again and raised as
  a :class:`StoreError`: the file never keeps part of a line that the next append would
  glue its own to.
* A torn last line left by a crash is skipped with a warning when reading, and set aside
  into ``<file>.torn-<time>`` (never deleted) before the next append, so appending goes on
  on a clean line boundary; a last line that is a whole JSON object without its newline
  (written by hand) is a record like any other, read by every reader, and the next append
  ends its line.
* Reading streams the file line by line; memory does not grow with the file.
* Duplicate ids (as after a resumed run) resolve deterministically in :meth:`JsonlLog.latest`:
  a complete/ok record beats a failed one, and among equals the last written wins.
* A record from a newer schema than this code knows is refused with :class:`SchemaVersionError`;
  older ones are read.

The file's own mechanics live beside this module: :mod:`transcripts._log_append` (the locks,
setting a torn tail aside) and :mod:`transcripts._log_read` (its lines, their JSON).
"""

from __future__ import annotations

import itertools
import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from pydantic import BaseModel, ValidationError

from transcripts._index import Entry, IndexFile
from transcripts._index_fields import INDEXED
from transcripts._log_append import lock_for, os_lock, set_aside_torn_tail
from transcripts._log_read import TornRecordWarning, holds, line_at, load_line, read_lines
from transcripts._questions import QUESTION_REF, QUESTIONS, QuestionFile, append_whole
from transcripts._validation import format_errors
from transcripts.errors import CorruptRecordError, StoreError
from transcripts.scoring import status_rank

__all__ = ["JsonlLog", "StoredRecords", "TornRecordWarning"]

R = TypeVar("R", bound=BaseModel)


def _default_rank(data: Mapping[str, Any]) -> int:
    return status_rank(data.get("status"))


class JsonlLog(Generic[R]):
    """An append-only JSON Lines file of one record type, with a sidecar index.

    Example::

        log = JsonlLog(run / "transcripts.jsonl", Transcript)
        log.append(transcript)
        log.extend(more_transcripts)     # many: one write, one index transaction
        for t in log.latest():
            ...
        one = log.get(transcript.id)     # one seek, whatever the size of the log

    ``extract`` picks the few fields (beyond id and status) the index keeps of each record;
    it is given the record's JSON object, or a written model's field dict. ``lookups`` are
    those fields :meth:`latest_entries` can select by (``where=``) without reading every
    entry; ``layout`` names what ``extract`` keeps (change it when that changes: an index
    written under another layout is rebuilt). A log named like a run's transcripts or
    judgments gets their fields (``transcripts._index_fields``) unless told otherwise.
    """

    __slots__ = (
        "_extract",
        "_fd",
        "_fsync",
        "_index",
        "_lock",
        "_model",
        "_questions",
        "_rank",
        "_status",
        "path",
    )

    def __init__(
        self,
        path: Path,
        model: type[R],
        *,
        fsync: bool = False,
        rank: Callable[[Mapping[str, Any]], int] = _default_rank,
        extract: Callable[[Mapping[str, Any]], dict[str, Any] | None] | None = None,
        share_questions: bool = False,
        lookups: tuple[str, ...] = (),
        layout: str = "",
    ) -> None:
        required: tuple[str, ...] = ()
        if extract is None and path.name in INDEXED:
            # Whoever opens a run's log keeps the same index (never one of its own).
            extract, lookups, layout, required = INDEXED[path.name]
        self.path = path
        self._model = model
        self._fsync = fsync
        self._rank = rank
        self._extract = extract
        # The status a record without one reads as (the model's default), for its entry.
        default = getattr(model.model_fields.get("status"), "default", None)
        self._status = default if isinstance(default, str) else None
        self._lock = lock_for(path)
        self._fd: int | None = None
        self._index = IndexFile(path, lookups=lookups, layout=layout, required=required)
        self._questions = QuestionFile(path.with_name(QUESTIONS)) if share_questions else None

    # -- writing ---------------------------------------------------------------------------

    def append(self, record: R) -> Entry:
        """Append one record as one line, flushed to the kernel before returning; then its
        index entry, which is returned (where the line is: :meth:`read` reads it back)."""
        return self._write([(record, self._encode(record))])[0]

    def extend(self, records: Iterable[R]) -> None:
        """Append many records, a line each, in one write under one lock (held in memory
        together until then: for a batch, not a stream); then their index entries in one
        transaction. As safe as appending them one by one: another writer's lines never
        come between them, and a crash leaves whole lines, at worst a torn last one, with
        any missing entries indexed on the next read."""
        self._write([(record, self._encode(record)) for record in records])

    def _write(self, lines: list[tuple[R, bytes]]) -> list[Entry]:
        """Write the encoded ``lines`` (with ``fsync``, to the disk), then index them;
        returns their entries."""
        if not lines:
            return []
        data = b"".join(line for _, line in lines)
        with self._lock:
            first = self._fd is None
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            with os_lock(self._fd, self.path):
                if first:  # under the OS lock: another writer's line in progress is not torn
                    ended = set_aside_torn_tail(self.path)
                    if ended is not None:  # its row now spans the newline added
                        self._index.end_line(*ended)
                since = os.fstat(self._fd).st_mtime_ns
                offset = append_whole(self._fd, data, self.path)
                if self._fsync:
                    os.fsync(self._fd)
                entries = []
                for record, line in lines:
                    entries.append(self._entry(offset, line, record.__dict__))
                    offset += len(line)
                self._index.extend(entries, since=since)
        return entries

    def _encode(self, record: R) -> bytes:
        """The record's line; with ``share_questions``, its question goes to the run's
        ``questions.jsonl`` (once per distinct question) and the line names it by hash."""
        question = getattr(record, "question", None)
        if self._questions is None or not isinstance(question, BaseModel):
            return (record.model_dump_json() + "\n").encode()
        ref = self._questions.add(question)
        rest = record.model_dump_json(exclude={"question"})
        return f'{{"{QUESTION_REF}":"{ref}",{rest[1:]}\n'.encode()

    def _entry(self, offset: int, line: bytes, fields: Mapping[str, Any]) -> Entry:
        status = fields.get("status", self._status)
        if "status" not in fields and status is not None:
            fields = {**fields, "status": status}  # ranked as the model reads it
        return Entry(
            offset,
            len(line),
            str(fields.get("id")),
            self._rank(fields),
            status if isinstance(status, str) else None,
            self._extract(fields) if self._extract is not None else None,
            zlib.crc32(line),
        )

    def close(self) -> None:
        """Close the file descriptors (appending again reopens them)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self._index.close()
            if self._questions is not None:
                self._questions.close()

    # -- reading ---------------------------------------------------------------------------

    def _load(self, where: str, line: bytes, *, decode: bool = True) -> dict[str, Any]:
        """The line as a JSON object, refusing corrupt lines and newer schemas (with
        ``decode``, its question put back)."""
        data = load_line(where, line)
        return self._decode(where, data) if decode else data

    def _decode(self, where: str, data: dict[str, Any]) -> dict[str, Any]:
        """The stored object as the model reads it: a question stored by reference is put
        back (from ``questions.jsonl`` beside the log, whatever log type reads it); one
        the file lacks is an error naming the record and where it is."""
        ref = data.pop(QUESTION_REF, None)
        if ref is not None and "question" not in data:
            if self._questions is None:
                self._questions = QuestionFile(self.path.with_name(QUESTIONS))
            data["question"] = self._questions.get(
                str(ref), named_by=f"{where}: record {str(data.get('id'))!r}"
            )
        return data

    def _parse(self, where: str, line: bytes) -> R:
        return self._validated(where, self._load(where, line))

    def _validated(self, where: str, data: dict[str, Any]) -> R:
        """The record's model; a record the model refuses is a :class:`CorruptRecordError`
        that says where it is."""
        try:
            return self._model.model_validate(data)
        except ValidationError as err:
            problems = "; ".join(format_errors(err, self._model))
            raise CorruptRecordError(
                f"{where}: not a valid {self._model.__name__} record: {problems}; the line "
                f"was changed by hand or damaged: correct it, or restore the file from a "
                f"backup"
            ) from err

    def __iter__(self) -> Iterator[R]:
        """Every record in file order, duplicates included, streamed."""
        for where, _, line in read_lines(self.path):
            yield self._parse(where, line)

    # -- the index -------------------------------------------------------------------------

    @property
    def lookups(self) -> tuple[str, ...]:
        """The index fields :meth:`latest_entries` can select by (``where=``)."""
        return self._index.lookups

    @property
    def kept(self) -> frozenset[str]:
        """The ``extract`` fields the index keeps of each record (from its ``layout``,
        ``name:field,field``), which :meth:`index_values` can return."""
        _, _, fields = self._index.layout.partition(":")
        return frozenset(f for f in fields.split(",") if f)

    @property
    def index_in_memory(self) -> bool:
        """Whether this log's index cannot be kept on disk (a read-only folder), so that
        reading through it means parsing every line first, in every process."""
        with self._lock:
            return self._index.in_memory

    def _scan(self, start: int, end: int, first: int) -> Iterator[Entry]:
        for where, offset, line in read_lines(self.path, start, end, first):
            yield self._entry(offset, line, self._load(where, line, decode=False))

    def _matches(self, entry: Entry) -> bool:
        """Whether the log holds ``entry``'s record where the entry says."""
        return holds(self.path, entry)

    def entries(self) -> list[Entry]:
        """Every record's index entry in file order, duplicates included (reads the index,
        not the records; indexes first whatever the index lacks)."""
        with self._lock:
            return self._index.entries(self._scan, self._matches)

    def latest_entries(
        self,
        *,
        where: Mapping[str, Any] | None = None,
        limit: int | None = None,
        extra: bool = True,
    ) -> list[Entry]:
        """The entries of :meth:`latest`: one per id, in file order of the winners; with
        ``where``, only those whose ``id``, ``status`` or index fields (``lookups``) have
        these values (a tuple, list or set: any of them); at most ``limit``; without
        ``extra``, entries without their extra fields (for readers that only need where
        the records are: less memory and no parsing). A query of the index: its cost grows
        with what it returns, not the log."""
        with self._lock:
            return self._index.latest(
                self._scan, self._matches, where=where, limit=limit, extra=extra
            )

    def index_values(self, *names: str, latest: bool = False) -> list[tuple[Any, ...]]:
        """One tuple a record, in file order (``latest``: only :meth:`latest`'s), of the
        named index columns (``id``, ``status``, ``rank``) or ``extract`` fields (None
        where a record lacks one): the cheapest way to look at a field of every record."""
        with self._lock:
            return self._index.values(self._scan, self._matches, names, latest=latest)

    def read(self, entries: Iterable[Entry]) -> Iterator[R]:
        """The records of ``entries`` (from :meth:`entries`), validated, streamed."""
        wanted = iter(entries)
        first = next(wanted, None)
        if first is None:
            return
        with open(self.path, "rb") as f:
            for entry in itertools.chain([first], wanted):
                f.seek(entry.offset)
                line = f.readline()
                where = f"{self.path} (byte {entry.offset})"
                try:
                    data = self._load(where, line)
                except CorruptRecordError as err:  # named by its line, as a full read names it
                    raise _at_line(err, where, self.path, entry.offset) from err.__cause__
                if len(line) != entry.length or str(data.get("id")) != entry.id:
                    self.close()
                    self._index.path.unlink(missing_ok=True)
                    raise StoreError(
                        f"{self._index.path} does not match {self.path} (was the log edited "
                        f"by hand?); the index was removed and is rebuilt from the log on the "
                        f"next read: run the command again"
                    )
                try:
                    record = self._validated(where, data)
                except CorruptRecordError as err:
                    raise _at_line(err, where, self.path, entry.offset) from err.__cause__
                yield record

    def latest(self, *, where: Mapping[str, Any] | None = None) -> Iterator[R]:
        """One record per id, resolved deterministically, in file order of the winners
        (``where``: as in :meth:`latest_entries`).

        The winners are chosen from the index; only they are read and validated.
        """
        return self.read(self.latest_entries(where=where, extra=False))

    def get(self, record_id: str) -> R | None:
        """The latest record with this id (as :meth:`latest` resolves it), or None."""
        with self._lock:
            best = self._index.best(self._scan, self._matches, record_id)
        return None if best is None else next(self.read([best]))

    def ids(self, *, prefix: str = "", limit: int | None = None) -> set[str]:
        """Ids of all records in the file (only those starting with ``prefix``, at most
        ``limit`` of them)."""
        with self._lock:
            found = self._index.ids(
                self._scan, self._matches, prefix=prefix, limit=-1 if limit is None else limit
            )
        return set(found)

    def count(self, *, where: Mapping[str, Any] | None = None) -> int:
        """How many distinct ids the file holds (from the index); with ``where``, how many
        :meth:`latest_entries` gives for it, counted in the index."""
        with self._lock:
            return self._index.count(self._scan, self._matches, where=where)


class StoredRecords(Sequence[R]):
    """Records of a log held as where they are, not as models: each access reads them back
    (validated) from the log, in the order they were given. For a result of many records
    (the judgments a re-judging pass wrote) whose memory must not grow with their number.

    Example::

        kept = StoredRecords(store.judgments, [store.judgments.append(j) for j in made])
        for judgment in kept:  # read from judgments.jsonl, one at a time
            ...
    """

    def __init__(self, log: JsonlLog[R], entries: Iterable[Entry] = ()) -> None:
        self._log = log
        # Only where each line is: an entry's extra fields are for the index's queries.
        self._entries = [e._replace(extra=None, crc=None) for e in entries]

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> R: ...
    @overload
    def __getitem__(self, index: slice) -> list[R]: ...
    def __getitem__(self, index: int | slice) -> R | list[R]:
        if isinstance(index, slice):
            return list(self._log.read(self._entries[index]))
        return next(self._log.read([self._entries[index]]))

    def __iter__(self) -> Iterator[R]:
        return self._log.read(self._entries)

    def __repr__(self) -> str:
        return f"<{len(self)} records of {self._log.path}>"


def _at_line(err: CorruptRecordError, where: str, path: Path, offset: int) -> CorruptRecordError:
    """``err`` with its place ``where`` (a byte offset) said as ``FILE:LINE``."""
    text = str(err)
    if not text.startswith(where):
        return err
    return CorruptRecordError(f"{path}:{line_at(path, offset)}{text[len(where) :]}")
