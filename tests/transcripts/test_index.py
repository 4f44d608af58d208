"""The run store's index sidecars and its questions stored once per run."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from oversight.cli import main
from transcripts import RunStore, Transcript
from transcripts.errors import CorruptRecordError

from .factories import GOLD_CONTEXT, debate, judgment, question

STORY = GOLD_CONTEXT + " " + "A long hidden story that must not be copied. " * 200


def _rows(index: Path) -> list[tuple[int, int, str, str | None]]:
    """The index's rows as stored on disk: offset, length, id, status."""
    with sqlite3.connect(index) as db:
        return list(db.execute("SELECT offset, length, id, status FROM entries ORDER BY offset"))


def _write(store: RunStore, n: int, *, questions: int = 2) -> list[Transcript]:
    written = []
    shared = [question(id=f"q{k}", context=STORY + str(k)) for k in range(questions)]
    for i in range(n):
        t = debate(
            id=f"t{i:03d}", question=shared[i % questions], status="complete" if i % 5 else "error"
        )
        store.transcripts.append(t)
        written.append(t)
    return written


def test_each_question_is_stored_once_and_transcripts_read_back_whole(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    written = _write(store, 40, questions=2)
    store.close()
    lines = (tmp_path / "questions.jsonl").read_text().splitlines()
    assert len(lines) == 2
    log = (tmp_path / "transcripts.jsonl").read_text()
    assert "must not be copied" not in log  # the story is in questions.jsonl only
    assert log.count('"question_ref"') == 40
    again = RunStore.open(tmp_path)
    assert list(again.transcripts.latest()) == written
    assert again.transcripts.get("t007") == written[7]
    # A new process appending the same question writes no second copy.
    again.transcripts.append(written[0].model_copy(update={"id": "late"}))
    again.close()
    assert len((tmp_path / "questions.jsonl").read_text().splitlines()) == 2
    # A changed question (another gold answer) is a new question.
    store = RunStore.open(tmp_path)
    changed = written[0].model_copy(
        update={"id": "changed", "question": written[0].question.model_copy(update={"correct": 1})}
    )
    store.transcripts.append(changed)
    store.close()
    assert len((tmp_path / "questions.jsonl").read_text().splitlines()) == 3
    assert RunStore.open(tmp_path).transcripts.get("changed") == changed


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


def test_a_missing_question_file_is_a_clear_error(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    _write(store, 2)
    store.close()
    (tmp_path / "questions.jsonl").unlink()
    with pytest.raises(CorruptRecordError, match=r"questions\.jsonl left behind"):
        list(RunStore.open(tmp_path).transcripts.latest())


def test_show_lists_and_shows_from_the_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore.create(tmp_path)
    _write(store, 30)
    store.judgments.append(judgment(id="j1", transcript_id="t001"))
    store.close()
    # A record that is valid JSON but not a valid transcript, far from the rows shown:
    # listing the first rows and showing one transcript never read it.
    log = tmp_path / "transcripts.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    bad = json.loads(lines[25])
    bad["assignment"]["Debater B"] = 7  # no such answer
    lines[25] = json.dumps(bad, separators=(",", ":")) + "\n"
    assert len(lines[25]) == len(log.read_text().splitlines(keepends=True)[25])
    log.write_text("".join(lines))
    assert main(["show", str(tmp_path), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "30 transcript(s) (first 3 shown" in out
    assert main(["show", str(tmp_path), "t001"]) == 0
    assert "judgments" in capsys.readouterr().out
    with pytest.raises(CorruptRecordError, match="not a valid Transcript"):
        list(RunStore.open(tmp_path).transcripts.latest())
