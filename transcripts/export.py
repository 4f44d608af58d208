"""A run's judgments and transcripts as tables: rows, a pandas DataFrame, CSV or Parquet.

Example::

    from transcripts.export import to_dataframe, to_csv

    df = to_dataframe("runs/nyu")                         # one row per judgment
    df[df.counted].groupby("condition").judge_correct.mean()   # the report's accuracy
    to_csv("runs/nyu", "nyu-judgments.csv")
    to_dataframe("runs/nyu", kind="transcripts")          # one row per transcript

A judgment row holds the judge (kind, name, model, annotator), its probability per answer in
the question's original order (``p_0``, ``p_1``, ...), ``p_correct``, ``verdict``,
``judge_correct`` (1 when the most probable answer is the gold one, 0 when not, shared
evenly on a tie, so a 0.5/0.5 judgement counts 0.5; its mean is accuracy), rounds seen, time
taken, ``rationale``, ``presented_order`` (JSON: the original answer indexes in the order a
person saw them), ``study_position`` (runs with a human study only: the item's place in its
annotator's study list, empty for a judgment outside it), ``counted`` (whether ``oversight
report`` scores it) and ``not_counted`` (why not), joined with its transcript's protocol,
condition, question id, source (the cluster key), gold answer and round count. Scalar
metadata of the transcript comes along as ``meta_<key>`` columns and of the judgment as
``judgment_meta_<key>``.

Attention checks of a human study are never judgment rows (they are not counted
judgments): ``kind="attention"`` is their own table, one row per answer in
``RUN/attention.jsonl``, to join with the judgments by ``annotator``: ``item_id``,
``question``, ``answers``, ``correct`` (the obvious answer), ``status``, ``p_0``, ...,
``p_correct``, ``passed`` (more than half on the obvious answer; empty for a skip),
``study_position``, ``rounds_seen``, ``time_s``, ``rationale``, ``presented_order``,
``created_at``, ``judgment_meta_<key>`` (e.g. ``over_time``), and ``counted`` /
``not_counted``: whether the annotator table counts the answer among the person's checks
(see :func:`attention_rows`).

CSV needs nothing beyond the standard library and Parquet only pyarrow; both stream: their
memory does not grow with the rows (see :func:`to_csv`, :func:`to_parquet`). DataFrames
need pandas and pyarrow and hold the whole table (but not the rows as well). Both
libraries come with the optional ``export`` extra (``pip install 'oversight[export]'``).
"""

from __future__ import annotations

import csv
import importlib
import math
import os
import pickle
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from transcripts._rows import (
    KINDS,
    TableKind,
    _check_kind,
    _judgments,
    _marked,
    _not_counted,
    _open,
    _transcript_row,
    _transcripts,
    attention_rows,
    judgment_rows,
    not_counted,
    not_scored,
    rows,
    transcript_rows,
)
from transcripts._store import RunStore
from transcripts.errors import ConfigError
from transcripts.final import JudgmentKey

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "KINDS",
    "TableKind",
    "attention_rows",
    "judgment_rows",
    "not_counted",
    "not_scored",
    "rows",
    "to_csv",
    "to_dataframe",
    "to_parquet",
    "transcript_rows",
]

_INSTALL = "pip install 'oversight[export]'"


def _in_order(names: list[str]) -> list[str]:
    """Columns in first-seen order with the ``p_<i>`` columns moved together, in order, to
    where the first of them was seen."""
    probability = sorted(
        (n for n in names if n.startswith("p_") and n[2:].isdecimal()), key=lambda n: int(n[2:])
    )
    if not probability:
        return names
    at = min(names.index(n) for n in probability)
    rest = [n for n in names if n not in probability]
    return rest[:at] + probability + rest[at:]


def _pandas() -> Any:
    try:
        return importlib.import_module("pandas")
    except ImportError as err:
        raise ConfigError(
            f"exporting to a DataFrame needs pandas and pyarrow; pandas is not installed: "
            f"{_INSTALL}"
        ) from err


def to_dataframe(
    store: RunStore | str | os.PathLike[str],
    kind: TableKind = "judgments",
    *,
    counted_only: bool = False,
    conditions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The run's judgments (or transcripts) as a pandas DataFrame, one row each
    (``counted_only``, ``conditions``: see :func:`judgment_rows`); needs pandas and pyarrow.

    The frame is what ``pandas.DataFrame(rows(...))`` gives, dtype for dtype, built without
    holding the rows: they wait in a temporary file and become Arrow arrays a few at a
    time, then one table that pandas converts. A column whose values mix types (metadata
    written by different runs) keeps its values as they are (``object``)."""
    pandas = _pandas()
    pa = _pyarrow("a DataFrame")
    _check_kind(kind)
    run = _open(store)
    with tempfile.TemporaryFile() as file:
        table, columns = _spooled(run, _Spool(file), kind, counted_only, conditions)
        mixed: dict[str, list[Any]] = {}
        schema, batches = _record_batches(pa, table, columns, mixed)
        arrow = pa.Table.from_batches(list(batches), schema=schema)
    frame: pd.DataFrame = arrow.to_pandas()
    del arrow
    for name, values in mixed.items():
        frame[name] = pandas.Series(values, dtype=object)
    return frame


def _pyarrow(what: str, module: str = "pyarrow") -> Any:
    """pyarrow (or one of its modules), or a :class:`ConfigError` that says how to get it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ConfigError(
            f"writing {what} needs pyarrow, which is not installed: {_INSTALL}"
        ) from err


def to_csv(
    store: RunStore | str | os.PathLike[str],
    path: str | os.PathLike[str],
    kind: TableKind = "judgments",
    *,
    counted_only: bool = False,
    conditions: Sequence[str] | None = None,
) -> int:
    """Write one table of the run as CSV (no pandas needed); returns the rows written
    (``counted_only``, ``conditions``: see :func:`judgment_rows`).

    Memory stays flat however long the run: each row is made as its record is read and
    kept in a temporary file beside ``path`` until every column is known (the header comes
    first). The table is written under a temporary name and renamed into place, so an
    interrupted export leaves no partial file at ``path``.
    """

    def write(part: Path, table: Callable[[], Iterator[dict[str, Any]]], columns: list[str]) -> int:
        with part.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, restval="")
            writer.writeheader()
            written = 0
            for row in table():
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
                written += 1
        return written

    return _spooled_export(store, path, kind, counted_only, conditions, write)


def _spooled_export(
    store: RunStore | str | os.PathLike[str],
    path: str | os.PathLike[str],
    kind: TableKind,
    counted_only: bool,
    conditions: Sequence[str] | None,
    write: Callable[[Path, Callable[[], Iterator[dict[str, Any]]], list[str]], int],
) -> int:
    """One table of the run spooled to a temporary file beside ``path``, then given to
    ``write`` (a reader of the rows, which may be read more than once, and the columns)
    to write under ``.NAME.part``, renamed to ``path`` once whole; returns what ``write``
    returns, the rows written."""
    _check_kind(kind)
    run = _open(store)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=target.parent) as file:
        table, columns = _spooled(run, _Spool(file), kind, counted_only, conditions)
        part = target.with_name(f".{target.name}.part")
        try:
            written = write(part, table, columns)
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
    return written


def _spooled(
    run: RunStore,
    spool: _Spool,
    kind: TableKind,
    counted_only: bool,
    conditions: Sequence[str] | None,
) -> tuple[Callable[[], Iterator[dict[str, Any]]], list[str]]:
    """The rows of one table put in ``spool``: how to read them back (as often as needed)
    and their columns."""
    if kind == "transcripts":
        for transcript in _transcripts(run, conditions):
            spool.add(_transcript_row(transcript))
        return spool.read, spool.columns()
    if kind == "attention":  # a few per person: made in memory
        for row in attention_rows(run, counted_only=counted_only, conditions=conditions):
            spool.add(row)
        return spool.read, spool.columns()
    return _spooled_judgments(run, spool, counted_only, conditions)


def _spooled_judgments(
    run: RunStore, spool: _Spool, counted_only: bool, conditions: Sequence[str] | None
) -> tuple[Callable[[], Iterator[dict[str, Any]]], list[str]]:
    """The judgment rows put in ``spool``: how to read them back marked, and their columns.
    Of each judgment only what the final-judgment rule reads is kept in memory."""
    keys: list[JudgmentKey] = []
    not_scored: list[str | None] = []
    for row, reason, key in _judgments(run, conditions):
        spool.add(row)
        keys.append(key)
        not_scored.append(reason)
    reasons = _not_counted(keys, not_scored)

    def table() -> Iterator[dict[str, Any]]:
        return _marked(spool.read(), reasons, counted_only)

    kept = [reason is None for reason in reasons] if counted_only else None
    # ``counted`` and ``not_counted`` come first after the first row's own columns, where
    # :func:`judgment_rows` puts them.
    return table, spool.columns(kept=kept, after_first=("counted", "not_counted"))


class _Spool:
    """Rows in a file (an unnamed temporary one, gone with the process however it ends)
    rather than in memory, pickled a batch at a time, and the columns of each row."""

    BATCH = 1000
    """Rows pickled together: a batch pickles and loads in about half the time a row at a
    time takes, and its repeated strings are written once."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._batch: list[dict[str, Any]] = []
        self._shapes: dict[tuple[str, ...], int] = {}
        self._shape_of = array("I")  # each row's columns, as an index into _shapes

    def add(self, row: dict[str, Any]) -> None:
        self._shape_of.append(self._shapes.setdefault(tuple(row), len(self._shapes)))
        self._batch.append(row)
        if len(self._batch) == self.BATCH:
            self._flush()

    def _flush(self) -> None:
        pickle.dump(self._batch, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._batch = []

    def read(self) -> Iterator[dict[str, Any]]:
        """The rows, in the order they were added (one reader at a time)."""
        if self._batch:
            self._flush()
        self._file.seek(0)
        while True:
            try:
                yield from pickle.load(self._file)
            except EOFError:
                return

    def columns(
        self, *, kept: Sequence[bool] | None = None, after_first: tuple[str, ...] = ()
    ) -> list[str]:
        """The columns of the rows (only those ``kept``) in first-seen order (see
        :func:`_in_order`), with ``after_first``, which every row gets, after the first
        row's own: every column the rows have, read from no row."""
        shapes = list(self._shapes)
        seen: dict[str, None] = {}
        done: set[int] = set()
        for at, shape in enumerate(self._shape_of):
            if shape in done or (kept is not None and not kept[at]):
                continue
            seen.update(dict.fromkeys(shapes[shape]))
            if not done:
                seen.update(dict.fromkeys(after_first))
            done.add(shape)
        return _in_order(list(seen))


def to_parquet(
    store: RunStore | str | os.PathLike[str],
    path: str | os.PathLike[str],
    kind: TableKind = "judgments",
    *,
    counted_only: bool = False,
    conditions: Sequence[str] | None = None,
) -> int:
    """Write one table of the run as Parquet (needs pyarrow, not pandas); returns the rows
    written (``counted_only``, ``conditions``: see :func:`judgment_rows`).

    Streams like :func:`to_csv`: the rows wait in a temporary file, are read once for each
    column's type and once more to be written, :data:`ROW_GROUP` rows to a row group, so
    memory does not grow with the run; the file is renamed into place when whole. Each
    column has one type: integers stay ``int64`` where a value is missing (pandas reads
    such a column back as float, as it would have made it), integers and floats together
    are ``double``, and a column whose values mix any other types (metadata written by
    different runs), or holds an integer no ``int64`` holds, is text.
    """
    pa = _pyarrow("Parquet")
    pq = _pyarrow("Parquet", "pyarrow.parquet")

    def write(part: Path, table: Callable[[], Iterator[dict[str, Any]]], columns: list[str]) -> int:
        schema, batches = _record_batches(pa, table, columns)
        written = 0
        with pq.ParquetWriter(part, schema) as writer:
            # A row group is gathered as Arrow batches (far smaller than the rows as
            # dictionaries) that end where it does, so all groups but the last are whole.
            group: list[Any] = []
            for batch in batches:
                group.append(batch)
                written += batch.num_rows
                if written % ROW_GROUP == 0:
                    writer.write_table(pa.Table.from_batches(group), row_group_size=ROW_GROUP)
                    group = []
            if group:
                writer.write_table(pa.Table.from_batches(group), row_group_size=ROW_GROUP)
        return written

    return _spooled_export(store, path, kind, counted_only, conditions, write)


ROW_GROUP = 10_000
"""Rows a Parquet row group holds (the last may hold fewer): what an export of any size
holds at once, as Arrow arrays."""

_ARROW_BATCH = 1000
"""Rows made Arrow arrays together: the rows an export holds at once as dictionaries."""

_ColumnType = Literal["null", "bool", "int", "float", "str", "mixed"]

_ARROW: dict[_ColumnType, str] = {
    "null": "null",
    "bool": "bool_",
    "int": "int64",
    "float": "float64",
    "str": "string",
    "mixed": "string",
}
"""The pyarrow type (its factory's name) of each column type."""


def _record_batches(
    pa: Any,
    table: Callable[[], Iterator[dict[str, Any]]],
    columns: list[str],
    mixed: dict[str, list[Any]] | None = None,
) -> tuple[Any, Iterator[Any]]:
    """The rows as Arrow record batches of one schema, each column of one type (see
    :func:`to_parquet`), the rows read once for the types and once more for the batches
    (of a size that divides :data:`ROW_GROUP`). A column of mixed types is text; ``mixed``,
    when given, gets its values as they were, by column name."""
    types = _column_types(table(), columns)
    schema = pa.schema([(name, getattr(pa, _ARROW[of])()) for name, of in types.items()])
    text = [name for name, of in types.items() if of == "mixed"]

    def batches() -> Iterator[Any]:
        for chunk in _groups(table(), math.gcd(_ARROW_BATCH, ROW_GROUP)):
            cells = {name: [row.get(name) for row in chunk] for name in columns}
            for name in text:
                if mixed is not None:
                    mixed.setdefault(name, []).extend(cells[name])
                cells[name] = [None if v is None else str(v) for v in cells[name]]
            yield pa.RecordBatch.from_pydict(cells, schema=schema)

    return schema, batches()


def _column_types(table: Iterable[dict[str, Any]], columns: list[str]) -> dict[str, _ColumnType]:
    """Each column's one type, from the types of its values (``None`` aside)."""
    seen: dict[str, set[type]] = {name: set() for name in columns}
    for row in table:
        for name, value in row.items():
            if value is None:
                continue
            kind = type(value)
            if kind is int and not _INT64[0] <= value <= _INT64[1]:
                kind = object  # no Arrow integer holds it: the column is text
            seen[name].add(kind)
    return {name: _one_type(found) for name, found in seen.items()}


_INT64 = (-(2**63), 2**63 - 1)


def _one_type(found: set[type]) -> _ColumnType:
    if not found:
        return "null"
    if found == {bool}:
        return "bool"
    if found == {int}:
        return "int"
    if found <= {int, float}:
        return "float"
    if found == {str}:
        return "str"
    return "mixed"


def _groups(table: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    group: list[dict[str, Any]] = []
    for row in table:
        group.append(row)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group
