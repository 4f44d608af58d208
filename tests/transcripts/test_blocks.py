"""The fast block reader (:func:`transcripts._blocks.blocks`) gives up at a record of
another schema version, so that the store's careful reader upgrades or refuses it."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from transcripts import SCHEMA_VERSION
from transcripts._blocks import Unclean, blocks


class _Versioned(msgspec.Struct):
    id: str
    schema_version: int = SCHEMA_VERSION


class _Plain(msgspec.Struct):
    id: str


def _write(path: Path, versions: list[int | None]) -> Path:
    lines = []
    for n, version in enumerate(versions):
        record: dict[str, object] = {"id": f"r{n}"}
        if version is not None:
            record["schema_version"] = version
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_records_of_this_schema_and_the_previous_ones_are_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.jsonl", [2, SCHEMA_VERSION, None])
    assert [r.id for b in blocks(path, _Versioned) for r in b] == ["r0", "r1", "r2"]


@pytest.mark.parametrize("version", [1, SCHEMA_VERSION + 1])
def test_a_record_of_another_schema_gives_up(tmp_path: Path, version: int) -> None:
    """A v1 record (upgraded by the store's reader) or a newer one (refused by it), even
    among current ones."""
    path = _write(tmp_path / "log.jsonl", [SCHEMA_VERSION, version, SCHEMA_VERSION])
    with pytest.raises(Unclean):
        list(blocks(path, _Versioned))


def test_a_row_without_a_version_reads_any_record(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.jsonl", [SCHEMA_VERSION + 1, 1])
    assert [r.id for b in blocks(path, _Plain) for r in b] == ["r0", "r1"]
