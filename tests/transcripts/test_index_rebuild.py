"""The run store's index sidecars checked against their logs and rebuilt: missing, damaged,
older or of another layout, locked by another process, copied with the run, or a log edited."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from oversight.cli import main
from transcripts import RunStore, Transcript

from .factories import debate, judgment, question
from .index_helpers import _rows, _write


def test_a_run_without_indexes_is_indexed_on_first_read(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    written = _write(store, 6)
    store.close()
    for idx in tmp_path.glob("*.idx"):
        idx.unlink()
    assert list(RunStore.open(tmp_path).transcripts.latest()) == written
    assert (tmp_path / "transcripts.jsonl.idx").exists()


def test_a_log_edited_by_hand_is_reindexed_not_misread(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    written = _write(store, 6)
    store.close()
    log = tmp_path / "transcripts.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    with open(log, "r+") as f:  # same file, a middle line removed (as the corrupt-line
        f.write("".join(lines[:2] + lines[3:]))  # error message tells people to do)
        f.truncate()
    kept = [t for t in written if t.id != "t002"]
    assert list(RunStore.open(tmp_path).transcripts.latest()) == kept
    # A log replaced by another file (another inode) is reindexed too.
    os.replace(log, tmp_path / "old.jsonl")
    (tmp_path / "transcripts.jsonl").write_text("".join(lines[:1]))
    assert [t.id for t in RunStore.open(tmp_path).transcripts.latest()] == ["t000"]


def test_rows_of_another_layout_are_never_read_as_this_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two versions of oversight on one run (a run going on while a newer version reads
    it): a writer adds no rows to an index of another layout, whose reader indexes the
    records itself; a row an older writer added without the fields of this layout (no
    condition) makes the index be rebuilt, so a listing by condition misses nothing."""
    from transcripts import JsonlLog

    store = RunStore.create(tmp_path)
    _write(store, 4)
    store.close()
    index = tmp_path / "transcripts.jsonl.idx"

    # An older version added a row without a condition after this version built the index.
    log = tmp_path / "transcripts.jsonl"
    line = debate(id="old", question=question(id="q9"), condition="debate").model_dump_json()
    offset = log.stat().st_size
    with open(log, "a") as f:
        f.write(line + "\n")
    with sqlite3.connect(index) as db:
        db.execute(
            "INSERT INTO entries (offset, length, id, rank, status, extra, crc) "
            "VALUES (?, ?, 'old', 1, 'complete', NULL, NULL)",
            (offset, len(line) + 1),
        )
    db.close()
    assert main(["show", str(tmp_path), "--condition", "debate", "--limit", "10"]) == 0
    assert "5 transcript(s)" in capsys.readouterr().out
    (extra,) = [json.loads(r[0]) for r in _extras(index) if r[1] == "old"]
    assert extra == {"c": "debate"}  # rebuilt with this version's fields

    # A reader of another layout; then this version writes a record.
    other = JsonlLog(log, Transcript, extract=lambda d: {"mine": d.get("id")}, layout="other")
    assert len(other.latest_entries()) == 5  # it rebuilt the index under its layout
    store = RunStore.open(tmp_path)
    store.transcripts.append(debate(id="new", question=question(id="q9")))
    store.close()
    assert "new" not in [r[1] for r in _extras(index)]  # no row of this version's layout
    (mine,) = [e.extra for e in other.latest_entries() if e.id == "new"]
    assert mine == {"mine": "new"}  # indexed by the other reader, its own way
    other.close()


def _extras(index: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(index) as db:
        rows = list(db.execute("SELECT extra, id FROM entries ORDER BY offset"))
    db.close()
    return rows


def test_a_damaged_or_older_index_is_rebuilt_from_the_log(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    written = _write(store, 8)
    store.judgments.append(judgment(id="j1", transcript_id="t001"))
    store.close()
    index = tmp_path / "transcripts.jsonl.idx"
    for damage in (b"garbage, not a database" * 100, b'{"index": 1, "inode": 5}\n[0,10,"t000"]\n'):
        for extra in tmp_path.glob("transcripts.jsonl.idx-*"):
            extra.unlink()
        index.write_bytes(damage)  # damaged, or the JSON Lines index of the previous version
        again = RunStore.open(tmp_path)
        assert list(again.transcripts.latest()) == written
        assert again.transcripts.get("t003") == written[3]
        again.close()
        assert len(_rows(index)) == 8
    # An index kept under another layout (older code kept other fields) is rebuilt too.
    with sqlite3.connect(tmp_path / "judgments.jsonl.idx") as db:
        db.execute("UPDATE meta SET layout = 'judgment:t,k'")
        db.execute("UPDATE entries SET extra = NULL")
    (entry,) = RunStore.open(tmp_path).judgments.latest_entries(where={"t": "t001"})
    assert entry.id == "j1"


def _state(index: Path) -> tuple[list[tuple[object, ...]], tuple[object, ...], list[str]]:
    """Everything an index holds: its rows (lost flags included), its tally and inode, and
    the triggers and B-trees that keep them as rows go in."""
    with sqlite3.connect(index) as db:
        rows = list(db.execute("SELECT * FROM entries ORDER BY offset"))
        meta = db.execute("SELECT version, layout, inode, covered, reach FROM meta").fetchone()
        kept = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('trigger', 'index') "
                "AND sql IS NOT NULL ORDER BY name"
            )
        ]
    db.close()
    return rows, meta, kept


@pytest.mark.parametrize("damage", ["deleted", "overlapping"])
def test_a_rebuilt_index_is_the_one_appending_left(tmp_path: Path, damage: str) -> None:
    """A rebuild puts the rows in without the per-row triggers and makes the lost flags and
    the tally at the end: the same index, row for row, as appending record by record."""
    store = RunStore.create(tmp_path)
    q = question(id="q0")
    verdicts = ["failed", "ok", "skipped", "ok", "failed", "failed"]
    for n in range(40):  # ids written several times, with every status rank
        store.judgments.append(judgment(f"t{n % 5}", id=f"j{n % 9}", status=verdicts[n % 6]))
        status = "complete" if n % 3 else "error"
        store.transcripts.append(debate(id=f"t{n % 7}", question=q, status=status))
    store.close()
    for name in ("transcripts.jsonl.idx", "judgments.jsonl.idx"):
        index = tmp_path / name
        appended = _state(index)
        assert any(row[-1] for row in appended[0]), "some rows lose to a later one"
        if damage == "deleted":
            for part in tmp_path.glob(name + "*"):
                part.unlink()
        else:  # a row that overlaps two others, and a tally that no longer covers the log
            with sqlite3.connect(index) as db:
                (offset,) = db.execute("SELECT offset FROM entries LIMIT 1 OFFSET 3").fetchone()
                db.execute(
                    "INSERT INTO entries (offset, length, id, rank, status) "
                    "VALUES (?, 900, 'x', 2, 'ok')",
                    (offset + 1,),
                )
                db.execute("UPDATE meta SET covered = reach - 1")
            db.close()
        reopened = RunStore.open(tmp_path)
        assert reopened.judgments.count() == 9 and reopened.transcripts.count() == 7
        reopened.close()
        assert _state(index) == appended


def test_an_index_another_process_holds_too_long_is_left_whole_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's write transaction on the index (a large run's rebuild) outlasts
    the wait: the reader says so, and deletes nothing under it."""
    from transcripts import _index
    from transcripts.errors import StoreError

    monkeypatch.setattr(_index, "_WAIT_S", 0.05)
    store = RunStore.create(tmp_path)
    written = _write(store, 3)
    store.close()
    log = tmp_path / "transcripts.jsonl"
    with open(log, "a") as f:  # a record without its row: the next read must index it
        f.write(written[0].model_copy(update={"id": "more"}).model_dump_json() + "\n")
    other = sqlite3.connect(tmp_path / "transcripts.jsonl.idx", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match=r"stayed locked by another process .*run this"):
            RunStore.open(tmp_path).transcripts.latest_entries()
        assert (tmp_path / "transcripts.jsonl.idx").exists()
    finally:
        other.execute("ROLLBACK")
        other.close()
    entries = RunStore.open(tmp_path).transcripts.latest_entries()
    assert [e.id for e in entries] == ["t000", "t001", "t002", "more"]


def _marked(run: Path) -> None:
    """Mark one row of the run's transcripts index as no rebuild would make it (a kept field
    the record does not have), so a test can tell an index kept from one derived anew."""
    with sqlite3.connect(run / "transcripts.jsonl.idx") as db:
        db.execute(
            """UPDATE entries SET extra = '{"c":"debate","marked":true}' WHERE id = 't001'"""
        )
    db.close()


@pytest.mark.parametrize("block", [None, 1, 8000])
def test_a_copied_run_keeps_its_indexes_and_a_changed_copy_is_reindexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int | None
) -> None:
    """A copy of a run folder (every log another inode) is read through the indexes it came
    with, checked line by line, not rebuilt; a copy whose log differs is rebuilt. (``block``:
    the log read a line at a time, or in blocks that cut lines.)"""
    import shutil

    from transcripts import _index

    if block is not None:
        monkeypatch.setattr(_index, "_BLOCK", block)
    run = tmp_path / "run"
    store = RunStore.create(run)
    written = _write(store, 6)
    store.judgments.append(judgment(id="j1", transcript_id="t001"))
    store.close()
    _marked(run)
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    assert (copy / "transcripts.jsonl").stat().st_ino != (run / "transcripts.jsonl").stat().st_ino
    again = RunStore.open(copy)
    assert list(again.transcripts.latest()) == written
    (entry,) = [e for e in again.transcripts.latest_entries() if e.id == "t001"]
    assert entry.extra == {"c": "debate", "marked": True}  # the copy's own row, kept
    (judged,) = again.judgments.latest_entries(where={"t": "t001"})
    assert judged.id == "j1"
    again.transcripts.append(written[0].model_copy(update={"id": "more"}))
    again.close()
    with sqlite3.connect(copy / "transcripts.jsonl.idx") as db:
        (inode,) = db.execute("SELECT inode FROM meta").fetchone()
    db.close()
    assert inode == (copy / "transcripts.jsonl").stat().st_ino  # adopted: not checked again
    assert [e.id for e in RunStore.open(copy).transcripts.latest_entries()][-1] == "more"

    # The same length, one byte changed: the rows are not this log's, and it is rebuilt.
    changed = tmp_path / "changed"
    shutil.copytree(run, changed)
    log = changed / "transcripts.jsonl"
    log.write_bytes(log.read_bytes().replace(b'"id":"t002"', b'"id":"t00x"'))
    ids = [e.id for e in RunStore.open(changed).transcripts.latest_entries()]
    assert ids == ["t000", "t001", "t00x", "t003", "t004", "t005"]
    with sqlite3.connect(log.with_name(log.name + ".idx")) as db:
        (extra,) = db.execute("SELECT extra FROM entries WHERE id = 't001'").fetchone()
    db.close()
    assert json.loads(extra) == {"c": "debate"}  # derived anew: the mark is gone
    # And a log cut short in the copy is rebuilt from what it holds.
    cut = tmp_path / "cut"
    shutil.copytree(run, cut)
    lines = (cut / "transcripts.jsonl").read_bytes().splitlines(keepends=True)
    (cut / "transcripts.jsonl").write_bytes(b"".join(lines[:4]))
    assert [t.id for t in RunStore.open(cut).transcripts.latest()] == [
        "t000",
        "t001",
        "t002",
        "t003",
    ]


def test_an_index_of_the_previous_version_is_rebuilt_even_after_an_append(tmp_path: Path) -> None:
    """An index written before rows kept their line's CRC (version 3): an append before any
    read cannot add its row, and the first read rebuilds the index whole, in the new form."""
    store = RunStore.create(tmp_path)
    written = _write(store, 4)
    store.close()
    index = tmp_path / "transcripts.jsonl.idx"
    with sqlite3.connect(index) as db:
        db.execute("ALTER TABLE entries DROP COLUMN crc")
        db.execute("UPDATE meta SET version = 3")
    db.close()
    store = RunStore.open(tmp_path)
    store.transcripts.append(written[0].model_copy(update={"id": "more"}))
    assert [t.id for t in store.transcripts.latest()] == ["t000", "t001", "t002", "t003", "more"]
    store.close()
    with sqlite3.connect(index) as db:
        assert db.execute("SELECT version FROM meta").fetchone() == (4,)
        assert db.execute("SELECT count(*) FROM entries WHERE crc IS NOT NULL").fetchone() == (5,)
    db.close()


def test_a_log_saved_in_place_at_the_same_size_is_reindexed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An editor that saves in place (nano, VS Code: the same file, the same size) after a
    condition relabelled or two lines swapped: the index is checked against the log, not
    trusted for its size, so the counts and the records read are the log's."""
    store = RunStore.create(tmp_path)
    for n in range(4):
        store.transcripts.append(debate(id=f"t{n}", condition="left" if n % 2 else "right"))
    assert store.transcripts.count(where={"c": "left"}) == 2
    store.close()
    log = tmp_path / "transcripts.jsonl"
    data = log.read_bytes().replace(b'"condition":"right"', b'"condition":"left!"', 1)
    with open(log, "r+b") as f:
        f.write(data)
    store = RunStore.open(tmp_path)
    assert store.transcripts.count(where={"c": "left!"}) == 1
    assert [t.condition for t in store.transcripts.latest()] == ["left!", "left", "right", "left"]
    store.close()
    lines = log.read_bytes().splitlines(keepends=True)
    with open(log, "r+b") as f:  # two lines of other lengths swapped
        f.write(b"".join([lines[1], lines[0], *lines[2:]]))
    assert main(["show", str(tmp_path), "--condition", "left!"]) == 0
    assert "1 transcript(s)" in capsys.readouterr().out
    assert [t.id for t in RunStore.open(tmp_path).transcripts.latest()] == ["t1", "t0", "t2", "t3"]


def test_an_index_written_before_the_stamp_reads_as_before_and_is_stamped(tmp_path: Path) -> None:
    """An index of the previous version has no ``stamp`` table: it reads as before (checked
    against its log), and is stamped for the next reader."""
    import sqlite3

    store = RunStore.create(tmp_path)
    for n in range(4):
        store.transcripts.append(debate(id=f"t{n}", condition="left" if n % 2 else "right"))
    store.close()
    index = tmp_path / "transcripts.jsonl.idx"
    with sqlite3.connect(index) as db:
        db.execute("DROP TABLE stamp")  # as the previous version wrote it
    db.close()
    store = RunStore.open(tmp_path)
    assert [t.id for t in store.transcripts.latest()] == ["t0", "t1", "t2", "t3"]
    assert store.transcripts.count(where={"c": "left"}) == 2
    store.close()
    with sqlite3.connect(index) as db:
        assert db.execute("SELECT count(*) FROM stamp").fetchone() == (1,)
    db.close()
