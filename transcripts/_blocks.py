"""A log read fast: its records decoded in large blocks of lines, as small typed structs.

Commands that look at a field or two of every record of a large run (the report, the names a
``--where`` filter may use) need neither the store's validated models nor every field: a
``msgspec`` struct names the fields wanted, and the decoder fills those and skips the rest of
each line without building Python objects for it. A file is read in blocks of whole lines,
so memory holds one block, not the file. :func:`blocks` gives up (raises :class:`Unclean`)
at anything unusual: a torn last line, a line that is not clean JSON of the expected shape,
a record of another schema version, a byte that is not UTF-8 (the decoder skips the fields it
is not asked for without looking at their text); the caller then reads the file through the
store's own reader (:class:`transcripts.JsonlLog`), which handles those cases as everywhere
else.
"""

from __future__ import annotations

from collections.abc import Iterator
from operator import attrgetter
from pathlib import Path
from typing import TypeVar

import msgspec

from transcripts._models import SCHEMA_VERSION

__all__ = ["Unclean", "blocks"]

_BLOCK = 1 << 18
"""Bytes read at a time (whole lines are decoded; the cut line waits for the next block).
A block that stays in the processor's cache decodes faster: reading the 431 MB of
transcripts of a 100,000-item run took about 0.36 CPU s in blocks of 256 KiB against
0.53 s in blocks of 8 MiB (BENCHMARKS.md, issue 21)."""

R = TypeVar("R", bound=msgspec.Struct)


_version = attrgetter("schema_version")


class Unclean(Exception):
    """The file needs the store's careful reader (see the module)."""


def _blocks(path: Path) -> Iterator[memoryview | bytes | None]:
    """The file in blocks of whole lines; None at a torn last line. Each block read is
    handed on as it is, up to its last line end (no copy), and the line it cuts is
    completed from the file and handed on alone."""
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            cut = block.rfind(b"\n") + 1
            if cut:
                yield memoryview(block)[:cut]
            if cut < len(block):
                line = block[cut:] + f.readline()
                if not line.endswith(b"\n"):
                    if line.strip():
                        yield None  # the file ends inside a line
                    return
                yield line


def _utf8(block: memoryview | bytes) -> bool:
    """Whether the block is UTF-8 text. ASCII is checked without a copy, word by word (about
    0.02 s over the 431 MB of a 100,000-item run's transcripts); a block with other bytes is
    decoded (about 0.2 s over as much text with a quote mark in every few lines)."""
    whole = block.obj if isinstance(block, memoryview) else block
    if isinstance(whole, bytes) and whole.isascii():
        return True
    try:
        str(block, "utf-8")
    except UnicodeDecodeError:
        return False
    return True


def blocks(path: Path, row: type[R]) -> Iterator[list[R]]:
    """Every record of the file in order, decoded as ``row``, a block at a time (nothing for
    a missing file); :class:`Unclean` at anything unusual (see the module). Duplicate ids
    are all there: which record of an id counts is the caller's to resolve."""
    if not path.exists():
        return
    decoder = msgspec.json.Decoder(row)
    versioned = "schema_version" in row.__struct_fields__
    for block in _blocks(path):
        if block is None or not _utf8(block):
            raise Unclean(path)
        try:
            records = decoder.decode_lines(block)
        except msgspec.MsgspecError as err:
            raise Unclean(path) from err
        # Older records are upgraded, newer ones refused, by the store's reader. (The
        # versions of a block as a set, read in C: no Python step per record.)
        versions = set(map(_version, records)) if versioned else {2}
        if min(versions, default=2) < 2 or max(versions, default=2) > SCHEMA_VERSION:
            raise Unclean(path)
        yield records
