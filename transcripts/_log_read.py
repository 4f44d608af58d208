"""Reading a log's file (:class:`transcripts._log.JsonlLog`) line by line: its complete
lines, each line's JSON object, and whether a line is where an index entry says.

* :func:`read_lines` streams the file (memory does not grow with it) and skips a torn last
  line with a :class:`TornRecordWarning` (appending sets it aside:
  :func:`transcripts._log_append.set_aside_torn_tail`); a last line that is a whole JSON
  object without its newline (written by hand) is read as a record, with the warning.
* :func:`load_line` refuses a corrupt line with :class:`CorruptRecordError` and a record from
  a newer schema than this code knows with :class:`SchemaVersionError`; older ones are read.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from transcripts._index import Entry
from transcripts._models import SCHEMA_VERSION
from transcripts.errors import CorruptRecordError, SchemaVersionError

__all__ = ["TornRecordWarning", "holds", "line_at", "load_line", "read_lines"]

_json = msgspec.json.Decoder().decode
"""A line's JSON, several times faster than ``json.loads``, and the same objects for every
line it reads; what it refuses (``NaN`` and ``Infinity``, numbers beyond a float, lone
surrogates in escapes) goes to ``json.loads``, which reads those as it always did and words
the error for a corrupt line."""


class TornRecordWarning(UserWarning):
    """A file's last line was cut short by a crash; it was skipped (and set aside on append)."""


_PACKAGE = str(Path(__file__).resolve().parent)


def outside_level() -> int:
    """The ``stacklevel`` for a warning raised by the caller of this function that points at
    the first frame outside this package (the user's code), however deep inside the store
    the warning came from (a read through the index, a generator, an append)."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level


def whole_object(tail: bytes) -> bool:
    """Whether a last line without its newline is a whole JSON object: a record written
    without the newline, not one a crash cut short (a cut record never ends its object)."""
    try:
        return isinstance(json.loads(tail), dict)
    except ValueError:
        return False


def read_lines(
    path: Path, start: int = 0, end: int | None = None, first: int = 1
) -> Iterator[tuple[str, int, bytes]]:
    """Yield (where, byte offset, line) of complete lines of ``path`` from ``start`` to
    ``end``; ``where`` names the line for messages (its number when ``first`` is known, else
    its byte offset). Warns on a torn tail."""
    if not path.exists():
        return
    with open(path, "rb") as f:
        f.seek(start)
        offset = start
        number = first
        for line in f:
            if end is not None and offset >= end:
                return
            where = f"{path}:{number}" if first else f"{path} (byte {offset})"
            if not line.endswith(b"\n"):
                if whole_object(line):  # a record written by hand without its newline
                    warnings.warn(
                        f"{where}: the last line has no newline at its end (written by "
                        f"hand?); it is read as a record, and the next append ends its "
                        f"line",
                        TornRecordWarning,
                        stacklevel=outside_level(),
                    )
                    yield where, offset, line
                    return
                warnings.warn(
                    f"{where}: the last line is cut short (a crash while writing?); it "
                    f"was skipped, and is set aside on the next append",
                    TornRecordWarning,
                    stacklevel=outside_level(),
                )
                return
            if line.strip():
                yield where, offset, line
            offset += len(line)
            if first:
                number += 1


def load_line(where: str, line: bytes) -> dict[str, Any]:
    """The line as a JSON object, refusing corrupt lines and newer schemas."""
    try:
        data: Any = _json(line)
    except msgspec.MsgspecError:  # not JSON as msgspec reads it: the standard library's say
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorruptRecordError(
                f"{where}: not valid JSON ({err.msg}); this line is not the last, "
                f"so it is not a crash artefact: move it out of the file to continue"
            ) from err
        except UnicodeDecodeError as err:  # a byte changed by hand, or by the disk
            raise CorruptRecordError(
                f"{where}: not UTF-8 text (byte 0x{line[err.start]:02x} at column "
                f"{err.start + 1}); this line is not the last, so it is not a crash "
                f"artefact: restore the file from a backup, or move the line out of it "
                f"to continue"
            ) from err
    if not isinstance(data, dict):
        raise CorruptRecordError(f"{where}: a record must be a JSON object")
    version = data.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{where}: record has schema_version {version}, but this oversight "
            f"reads up to {SCHEMA_VERSION}; upgrade oversight to read this run"
        )
    return data


def line_at(path: Path, offset: int) -> int:
    """The number of the line starting at byte ``offset`` of the file (for an error's
    ``FILE:LINE``: counted only when a record read by its offset is refused)."""
    number, left = 1, offset
    with open(path, "rb") as f:
        while left > 0 and (chunk := f.read(min(left, 1 << 20))):
            number += chunk.count(b"\n")
            left -= len(chunk)
    return number


def holds(path: Path, entry: Entry) -> bool:
    """Whether the file holds ``entry``'s record where the entry says."""
    with open(path, "rb") as f:
        if entry.offset:
            f.seek(entry.offset - 1)
            if f.read(1) != b"\n":
                return False
        line = f.read(entry.length)
        # A record's line ends with its newline, but the last (written by hand) may not.
        ended = line.endswith(b"\n") or (not f.read(1) and whole_object(line))
    if len(line) != entry.length or not ended:
        return False
    try:
        data = json.loads(line)
    except ValueError:
        return False
    return isinstance(data, dict) and str(data.get("id")) == entry.id
