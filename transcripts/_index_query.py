"""What a log's sidecar index answers: an :class:`Entry` per record and the queries
:class:`~transcripts._index.IndexFile` brings up to date before it answers them (its base
class; keeping up with the log is in :mod:`transcripts._index`)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from transcripts._index_sql import COLUMNS, NO_EXTRA, WINNER

Scan = Callable[[int, int, int], Iterator["Entry"]]
"""Reads the log from byte ``start`` to ``end`` (the first line number, or 0 when unknown)
and yields an entry per record."""


class Entry(NamedTuple):
    """One record of a log, as the index knows it."""

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
    crc: int | None = None
    """CRC-32 of the record's line, newline included (set where the entry is made from the
    line; entries read back from the index leave it out)."""

    def row(self) -> tuple[int, int, str, int, str | None, str | None, int | None]:
        """The entry as an index row."""
        extra = None if self.extra is None else json.dumps(self.extra, separators=(",", ":"))
        return self.offset, self.length, self.id, self.rank, self.status, extra, self.crc


class _Queries:
    """The queries of an index, each on a connection :meth:`_fresh` brought up to date
    with the log (:class:`~transcripts._index.IndexFile` says how)."""

    __slots__ = ()

    log: Path
    lookups: tuple[str, ...]

    def _fresh(self, scan: Scan, check: Callable[[Entry], bool]) -> sqlite3.Connection | None:
        raise NotImplementedError

    # -- queries (each brings the index up to date first) -----------------------------------

    def entries(self, scan: Scan, check: Callable[[Entry], bool]) -> list[Entry]:
        """Every record's entry in log order."""
        return self._query(scan, check, "FROM entries ORDER BY offset", ())

    def latest(
        self,
        scan: Scan,
        check: Callable[[Entry], bool],
        *,
        where: Mapping[str, Any] | None = None,
        limit: int | None = None,
        extra: bool = True,
    ) -> list[Entry]:
        """The winning entry of each id (see :meth:`JsonlLog.latest`) in log order, only
        those with the ``where`` values (``id``, ``status``, or fields of ``extra`` named in
        ``lookups``; a tuple, list or set of values: any of them), at most ``limit``;
        with ``extra=False``, without their extra fields (None)."""
        condition, params = self._where(where)
        sql = f"FROM entries AS e WHERE {condition} ORDER BY offset"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return self._query(scan, check, sql, params, extra=extra)

    def values(
        self, scan: Scan, check: Callable[[Entry], bool], names: Sequence[str], *, latest: bool
    ) -> list[tuple[Any, ...]]:
        """Just these columns (``id``, ``status``, ``rank``) or ``extra`` fields of every
        row in log order (``latest``: of the winning rows): no entry is built, no JSON
        parsed in Python, for the scans that need a field or two of every record."""
        db = self._fresh(scan, check)
        if db is None:
            return []
        columns = ", ".join(
            name if name in ("id", "status", "rank") else self._field(name, any_field=True)
            for name in names
        )
        where = f" WHERE {WINNER}" if latest else ""
        return db.execute(f"SELECT {columns} FROM entries AS e{where} ORDER BY offset").fetchall()

    def best(self, scan: Scan, check: Callable[[Entry], bool], record_id: str) -> Entry | None:
        """The winning entry of ``record_id``, or None."""
        found = self._query(
            scan,
            check,
            "FROM entries WHERE id = ? ORDER BY rank DESC, offset DESC LIMIT 1",
            (record_id,),
        )
        return found[0] if found else None

    def ids(
        self, scan: Scan, check: Callable[[Entry], bool], *, prefix: str = "", limit: int = -1
    ) -> list[str]:
        """Distinct ids (starting with ``prefix``), in id order, at most ``limit``."""
        db = self._fresh(scan, check)
        if db is None:
            return []
        rows = db.execute(
            "SELECT DISTINCT id FROM entries WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
            (prefix, prefix + "\U0010ffff", limit),
        )
        return [row[0] for row in rows]

    def count(
        self,
        scan: Scan,
        check: Callable[[Entry], bool],
        *,
        where: Mapping[str, Any] | None = None,
    ) -> int:
        """How many distinct ids the log holds (``where``: whose winning entry :meth:`latest`
        selects by these values)."""
        db = self._fresh(scan, check)
        if db is None:
            return 0
        condition, params = self._where(where)
        sql = f"SELECT count(*) FROM entries AS e WHERE {condition}"
        return int(db.execute(sql, params).fetchone()[0])

    def _where(self, where: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        """The SQL condition (and its parameters) for the winning rows with these values."""
        sql = WINNER
        params: list[Any] = []
        for name, value in (where or {}).items():
            if isinstance(value, (tuple, list, set, frozenset)):
                values = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
                sql += f" AND {self._field(name)} IN ({','.join('?' * len(values))})"
                params.extend(values)
            else:
                sql += f" AND {self._field(name)} = ?"
                params.append(value)
        return sql, params

    def _field(self, name: str, *, any_field: bool = False) -> str:
        if name in ("id", "status"):  # columns of their own
            return f"e.{name}"
        if not name.isidentifier() or (name not in self.lookups and not any_field):
            raise ValueError(f"{self.log.name}'s index cannot select by {name!r}")
        return f"json_extract(e.extra, '$.{name}')"

    def _query(
        self,
        scan: Scan,
        check: Callable[[Entry], bool],
        rest: str,
        params: Sequence[Any],
        *,
        extra: bool = True,
    ) -> list[Entry]:
        """The entries of ``SELECT <an entry's columns> <rest>`` (``extra``: with the extra
        fields, parsed)."""
        db = self._fresh(scan, check)
        if db is None:
            return []
        rows = db.execute(f"SELECT {COLUMNS if extra else NO_EXTRA} {rest}", params).fetchall()
        if not extra:
            return [Entry(*row) for row in rows]
        # The extras in one parse: much faster than a parse a row.
        extras = json.loads("[" + ",".join(row[5] or "null" for row in rows) + "]")
        return [
            Entry(row[0], row[1], row[2], row[3], row[4], extra)
            for row, extra in zip(rows, extras, strict=True)
        ]
