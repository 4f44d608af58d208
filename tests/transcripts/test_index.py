"""The run store's index sidecars as records go in: a row per record, gaps a crash left,
batches, torn lines, the latest record of each id, an index kept in memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from transcripts import RunStore, TornRecordWarning
from transcripts._index import IndexFile

from .factories import debate, judgment, question
from .index_helpers import STORY, _rows, _write


def test_the_index_names_every_record_with_its_status(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    _write(store, 10)
    store.transcripts.append(debate(id="t000", question=question(id="q0", context=STORY + "0")))
    store.judgments.append(
        judgment(id="j1", transcript_id="t001", metadata={"work_key": "t001:judge"})
    )
    store.close()
    rows = _rows(tmp_path / "transcripts.jsonl.idx")
    assert len(rows) == 11  # a row per record, the redone t000 included
    log = (tmp_path / "transcripts.jsonl").read_bytes()
    for offset, length, record_id, status in rows:  # each row spans exactly its record
        record = json.loads(log[offset : offset + length])
        assert (record["id"], record["status"]) == (record_id, status)
    latest = RunStore.open(tmp_path).transcripts.latest_entries()
    assert len(latest) == 10
    assert {e.id for e in latest if e.status == "error"} == {"t005"}  # t000 was redone
    (entry,) = RunStore.open(tmp_path).judgments.entries()
    assert entry.extra == {"t": "t001", "k": "t001:judge"}


def test_a_record_written_without_its_entry_is_indexed_from_the_log(tmp_path: Path) -> None:
    """A kill between the record and its index entry loses nothing: the gap is read."""
    store = RunStore.create(tmp_path)
    _write(store, 3)
    store.close()
    orphan = debate(id="orphan", question=question(id="q9"))
    with open(tmp_path / "transcripts.jsonl", "a") as f:
        f.write(orphan.model_dump_json() + "\n")  # the record, and then the process died
    store = RunStore.open(tmp_path)
    store.transcripts.append(debate(id="after", question=question(id="q9")))
    assert store.transcripts.get("orphan") == orphan
    assert [t.id for t in store.transcripts.latest()] == ["t000", "t001", "t002", "orphan", "after"]
    store.close()
    # Repaired on disk, not re-read every time.
    assert "orphan" in {row[2] for row in _rows(tmp_path / "transcripts.jsonl.idx")}


def _latest_by_hand(log: Path) -> list[tuple[str, str]]:
    """(id, status) of the latest record of each id, by the rule, read from the log alone:
    the higher status rank wins, the later line among equals, in file order of winners."""
    from transcripts.scoring import status_rank

    best: dict[str, tuple[int, int, str]] = {}
    for number, line in enumerate(log.read_text().splitlines()):
        record = json.loads(line)
        rank = status_rank(record["status"])
        if record["id"] not in best or rank >= best[record["id"]][0]:
            best[record["id"]] = (rank, number, record["status"])
    return [(i, s) for i, (_, _, s) in sorted(best.items(), key=lambda kv: kv[1][1])]


def test_latest_follows_the_rule_however_the_rows_went_in(tmp_path: Path) -> None:
    """Rows appended as written, rows of records a crash left without one (indexed later,
    out of order) and an index rebuilt from scratch all give the same latest records."""
    store = RunStore.create(tmp_path)
    q = question(id="q0")
    statuses = ["error", "complete", "error", "complete", "error"]
    for n in range(25):
        store.transcripts.append(debate(id=f"t{n % 7}", question=q, status=statuses[n % 5]))
    store.close()
    log = tmp_path / "transcripts.jsonl"
    with open(log, "a") as f:  # records whose rows a crash prevented...
        f.write(debate(id="t1", question=q, status="complete").model_dump_json() + "\n")
        f.write(debate(id="t9", question=q, status="error").model_dump_json() + "\n")
    store = RunStore.open(tmp_path)
    store.transcripts.append(debate(id="t9", question=q, status="error"))  # ...then a row
    store.close()
    expected = _latest_by_hand(log)
    assert len(expected) == 8

    def latest() -> list[tuple[str, str]]:
        found = RunStore.open(tmp_path).transcripts.latest_entries()
        return [(e.id, str(e.status)) for e in found]

    assert latest() == expected  # the gap indexed after the row that follows it
    assert RunStore.open(tmp_path).transcripts.count() == 8
    assert [(t.id, t.status) for t in RunStore.open(tmp_path).transcripts.latest()] == expected
    for index in tmp_path.glob("transcripts.jsonl.idx*"):
        index.unlink()
    assert latest() == expected  # rebuilt
    first = RunStore.open(tmp_path).transcripts.latest_entries(limit=3)
    assert [(e.id, e.status) for e in first] == expected[:3]
    # Without the extra fields: the same entries, where only the reader needs to know.
    entries = RunStore.open(tmp_path).transcripts.latest_entries()
    bare = RunStore.open(tmp_path).transcripts.latest_entries(extra=False)
    assert all(e.extra for e in entries) and all(e.extra is None for e in bare)
    assert bare == [e._replace(extra=None) for e in entries]


def test_an_index_that_cannot_be_written_is_built_in_memory(tmp_path: Path) -> None:
    """As in a read-only run folder: the records still read, through an index in memory."""
    store = RunStore.create(tmp_path)
    written = _write(store, 5)
    store.close()
    for index in tmp_path.glob("transcripts.jsonl.idx*"):
        index.unlink()
    (tmp_path / "transcripts.jsonl.idx").mkdir()  # no database can be opened there
    store = RunStore.open(tmp_path)
    assert list(store.transcripts.latest()) == written
    assert store.transcripts.get("t004") == written[4]
    store.transcripts.append(written[0].model_copy(update={"id": "more"}))
    assert [e.id for e in store.transcripts.latest_entries()][-1] == "more"
    store.close()


def test_a_torn_last_line_is_left_out_of_the_index_then_set_aside(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    written = _write(store, 4)
    store.close()
    log = tmp_path / "transcripts.jsonl"
    with open(log, "ab") as f:
        f.write(b'{"id": "torn", "status": "compl')  # a crash mid-line
    with pytest.warns(TornRecordWarning):
        assert list(RunStore.open(tmp_path).transcripts.latest()) == written
    store = RunStore.open(tmp_path)
    with pytest.warns(TornRecordWarning):
        store.transcripts.append(written[0].model_copy(update={"id": "next"}))
    assert [e.id for e in store.transcripts.latest_entries()][-1] == "next"
    store.close()
    assert [row[2] for row in _rows(tmp_path / "transcripts.jsonl.idx")][-1] == "next"
    assert list(tmp_path.glob("transcripts.jsonl.torn-*"))


def test_extend_writes_what_appending_one_by_one_writes_and_indexes_it_all(
    tmp_path: Path,
) -> None:
    """A batch: the same lines and questions on disk as one append a record, a row per
    record spanning exactly its line, duplicates ranked as ever, and another reader (a
    store opened anew) sees every record."""
    q = question(id="q0", context=STORY)
    statuses = ["error", "complete", "error", "complete", "error"]
    batch = [debate(id=f"t{n % 7}", question=q, status=statuses[n % 5]) for n in range(25)]
    one_by_one = RunStore.create(tmp_path / "appended")
    for t in batch:
        one_by_one.transcripts.append(t)
    one_by_one.close()
    store = RunStore.create(tmp_path / "extended")
    store.transcripts.extend(batch[:1])  # a batch of one, then after it a batch
    store.transcripts.extend(iter(batch[1:]))  # any iterable
    store.transcripts.extend([])  # nothing: nothing written
    reader = RunStore.open(tmp_path / "extended")  # opened while the writer is open
    for name in ("transcripts.jsonl", "questions.jsonl"):
        assert (tmp_path / "extended" / name).read_bytes() == (
            tmp_path / "appended" / name
        ).read_bytes()
    rows = _rows(tmp_path / "extended" / "transcripts.jsonl.idx")
    assert rows == _rows(tmp_path / "appended" / "transcripts.jsonl.idx")
    assert len(rows) == 25
    log = (tmp_path / "extended" / "transcripts.jsonl").read_bytes()
    for offset, length, record_id, status in rows:
        record = json.loads(log[offset : offset + length])
        assert (record["id"], record["status"]) == (record_id, status)
    expected = _latest_by_hand(tmp_path / "extended" / "transcripts.jsonl")
    assert [(e.id, str(e.status)) for e in reader.transcripts.latest_entries()] == expected
    assert reader.transcripts.count() == 7
    winners = dict(expected)
    for i in range(7):
        got = reader.transcripts.get(f"t{i}")
        assert got is not None and got.status == winners[f"t{i}"]
    store.close()
    reader.close()


def test_a_batch_written_without_its_rows_is_indexed_from_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill between a batch's lines and their rows (one transaction, never run here)
    loses nothing: the next reader indexes the gap."""
    store = RunStore.create(tmp_path)
    _write(store, 2)
    q = question(id="q9")
    with monkeypatch.context() as patch:
        patch.setattr(IndexFile, "extend", lambda self, entries, since=None: None)
        store.transcripts.extend(debate(id=f"b{i}", question=q) for i in range(5))
    store.close()
    assert len(_rows(tmp_path / "transcripts.jsonl.idx")) == 2
    store = RunStore.open(tmp_path)
    assert [t.id for t in store.transcripts.latest()] == ["t000", "t001"] + [
        f"b{i}" for i in range(5)
    ]
    store.close()
    assert len(_rows(tmp_path / "transcripts.jsonl.idx")) == 7  # repaired on disk
