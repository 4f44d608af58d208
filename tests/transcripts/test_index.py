"""The run store's index sidecars and its questions stored once per run."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from oversight.cli import main
from transcripts import Planted, RunStore, TornRecordWarning, Transcript
from transcripts._index import IndexFile
from transcripts.errors import CorruptRecordError

from .factories import GOLD_CONTEXT, debate, judgment, question, records_read

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


def test_a_where_on_the_question_reads_only_that_questions_transcripts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--where`` on the question's own fields (id, source, dataset, ``question.KEY``) is
    matched once per stored question by the fast read: a spoilt transcript of another
    question is never read in full; one of the chosen question still is, and is an error.
    Nor is one left out by the ids asked for."""
    from oversight.runner._select import select_transcripts

    store = RunStore.create(tmp_path)
    _write(store, 30)  # t000, t002, ... on q0; t001, t003, ... on q1
    store.close()
    log = tmp_path / "transcripts.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    bad = json.loads(lines[25])  # t025, on q1
    bad["assignment"]["Debater B"] = 7  # no such answer
    lines[25] = json.dumps(bad, separators=(",", ":")) + "\n"
    log.write_text("".join(lines))
    assert main(["show", str(tmp_path), "--where", "question=q0", "--limit", "3"]) == 0
    assert "15 transcript(s) (first 3 shown" in capsys.readouterr().out
    chosen = select_transcripts(RunStore.open(tmp_path), where=["question!=q1", "source=story-7"])
    assert [t.id for t in chosen] == [f"t{i:03d}" for i in range(0, 30, 2)]
    with pytest.raises(CorruptRecordError, match="not a valid Transcript"):
        list(select_transcripts(RunStore.open(tmp_path), where=["question=q1"]))
    # Transcripts asked for by id: no other is read either.
    asked = select_transcripts(RunStore.open(tmp_path), ids=["t001", "t021", "t020"])
    assert [t.id for t in asked] == ["t001", "t020", "t021"]


def test_a_condition_is_chosen_and_counted_in_the_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``show --condition C --limit N`` counts C's transcripts in the index and reads only
    the N shown; choosing a condition reads none of another's. A record of the other
    condition that is not a valid transcript shows both: it is never read."""
    from oversight.runner import select_transcripts

    store = RunStore.create(tmp_path)
    q = question(id="q0")
    for i in range(30):
        condition = "debate" if i % 3 else "consultancy"  # 20 and 10
        store.transcripts.append(debate(id=f"t{i:03d}", question=q, condition=condition))
    store.transcripts.append(debate(id="t003", question=q, condition="consultancy"))  # again
    store.close()
    log = tmp_path / "transcripts.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    bad = json.loads(lines[27])  # t027, a consultancy transcript, the 10th of its condition
    assert bad["condition"] == "consultancy"
    bad["assignment"]["Debater B"] = 7  # no such answer
    lines[27] = json.dumps(bad, separators=(",", ":")) + "\n"
    log.write_text("".join(lines))

    assert main(["show", str(tmp_path), "--condition", "debate", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "20 transcript(s) (first 3 shown" in out
    assert [i for i in ("t001", "t002", "t004", "t005") if f" {i} " in out] == [
        "t001",
        "t002",
        "t004",
    ]
    assert main(["show", str(tmp_path), "--condition", "consultancy", "--limit", "2"]) == 0
    assert "10 transcript(s) (first 2 shown" in capsys.readouterr().out
    both = ["show", str(tmp_path), "--condition", "debate", "--condition", "consultancy"]
    assert main([*both, "--limit", "5"]) == 0
    assert "30 transcript(s) (first 5 shown" in capsys.readouterr().out
    chosen = list(select_transcripts(RunStore.open(tmp_path), conditions=["debate"]))
    assert [t.id for t in chosen] == [f"t{i:03d}" for i in range(30) if i % 3]
    with pytest.raises(CorruptRecordError, match="not a valid Transcript"):
        list(select_transcripts(RunStore.open(tmp_path), conditions=["consultancy"]))
    assert main(["show", str(tmp_path), "--condition", "debat", "--limit", "3"]) != 0
    err = capsys.readouterr().err
    assert "'debat': no such condition in this run; its conditions: consultancy, debate" in err


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


@pytest.mark.parametrize(
    "clauses",
    [
        ["status=error"],
        ["transcript_status=complete"],
        ["condition=debate", "status=complete"],
        ["condition=debate", "condition=consultancy"],
        ["condition!=debate"],
        ["status!=error", "condition=consultancy"],
        ["status=true"],
        ["status=null"],
        ["condition="],
        ["status=Error"],
        ["condition=debate", "question=q1"],
        # The question's own fields, found by the fast read of each stored question:
        ["question=q1"],
        ["question=q0"],
        ["question!=q1"],
        ["question=q1", "question=q2"],
        ["question=nope"],
        ["source=s0", "condition=debate"],
        ["dataset=null"],
        ["dataset=sample"],
        ["question.level=2"],
        ["question.level=null", "status=complete"],
        ["question.level=2.0", "source!=s1"],
        # The transcript's own fields and metadata, decided by the same fast read:
        ["setup=o0"],
        ["metadata.flag=true", "condition!=debate"],
        ["flag=false", "question=q1"],
        ["level=1"],
        ["repeat=0", "protocol=debate"],
        ["id=t004"],
        ["run_id=null"],
        ["gold_position=0", "setup=o1"],
        # Fields computed from the answer order, the assignment, the first choice or the
        # planted adversary, by the model's own rules:
        ["gold_position=1"],
        ["side=correct"],
        ["side!=incorrect", "condition=consultancy"],
        ["chooser=right"],
        ["chooser=null"],
        ["persona=liar"],
        ["persona=null", "gold_position=0"],
        # A question's clause decided once per stored question, beside a record's clause:
        ["question.level=2", "side=correct"],
        ["question!=q0", "flag=true", "gold_position=1"],
    ],
)
def test_clauses_the_index_answers_select_what_matching_each_transcript_selects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clauses: list[str]
) -> None:
    """A condition or status chosen in the index, or transcripts chosen by the fast read of
    their fields and stored question, are the same selection as the clause matched on each
    transcript (the rule of ``transcripts.filters``), also where a later record of an id
    changed its status, question and metadata; ``show`` counts the same number."""
    from oversight.runner._select import (
        candidates,
        field_value,
        select_transcripts,
    )
    from transcripts.filters import parse_where

    store = RunStore.create(tmp_path)
    liar = Planted(persona="liar", role="debater", speakers=["Debater B"])
    for i in range(24):
        store.transcripts.append(
            debate(
                [1, 0] if i % 4 == 1 else None,
                id=f"t{i:03d}",
                assignment={"Consultant": i % 2}
                if i % 6 == 2
                else {"Debater A": 0, "Debater B": 1},
                planted=liar if i % 7 == 3 else None,
                question=question(
                    id=f"q{i % 3}",
                    source=f"s{i % 2}",
                    dataset=None if i % 5 == 0 else "sample",
                    metadata={} if i % 7 == 0 else {"level": i % 3},
                ),
                condition=["debate", "consultancy", ""][i % 3],
                status="error" if i % 4 == 0 else "complete",
                metadata={"setup": f"o{i % 2}", "flag": i % 3 == 0}
                | ({"first_choice": i % 2} if i % 5 < 2 else {}),
            )
        )
    again = debate(
        id="t004", question=question(id="q0"), condition="consultancy", metadata={"setup": "o1"}
    )
    store.transcripts.append(again)  # t004 failed on q1, then completed on q0: it wins
    store.close()
    every = list(RunStore.open(tmp_path).transcripts.latest())
    filters = parse_where(clauses)
    by_hand = [t.id for t in every if all(f.accepts(field_value(t, f.field)) for f in filters)]
    chosen = select_transcripts(RunStore.open(tmp_path), where=clauses)
    assert [t.id for t in chosen] == by_hand
    # What is known before any read: every entry the fast read is sure of passes.
    found = candidates(RunStore.open(tmp_path), where=clauses)
    sure = {e.id for e in found.entries} - (found.unsure or set())
    assert found.unsure is not None and sure <= set(by_hand)
    where = [a for clause in clauses for a in ("--where", clause)]
    with pytest.MonkeyPatch.context() as patch:
        read = records_read(patch, "transcripts.jsonl")
        assert main(["show", str(tmp_path), *where, "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{len(by_hand)} transcript(s)" in out
    # show reads the rows it shows and, beyond them, only what the fast read was unsure of.
    assert len(read) <= 2 + len(found.unsure or ())


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


def test_show_counts_judgments_alike_with_and_without_a_filter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore.create(tmp_path)
    _write(store, 6)
    for n, t in enumerate(["t001", "t001", "t002"]):
        store.judgments.append(judgment(id=f"j{n}", transcript_id=t))
    store.judgments.append(judgment(id="j0", transcript_id="t001"))  # j0 again: counted once
    store.close()

    def rows(*args: str) -> dict[str, str]:
        assert main(["show", str(tmp_path), *args]) == 0
        lines = capsys.readouterr().out.splitlines()
        return {i: line for line in lines for i in ("t001", "t002", "t003") if f" {i} " in line}

    plain = rows("--limit", "4")
    filtered = rows("--where", "status=complete", "--limit", "0")
    assert plain == filtered and len(plain) == 3
    cells = [c.strip() for c in plain["t001"].split("│")]
    # j1 and j0 are one judge's of t001: the later (j0) replaced j1, which the report leaves out.
    assert cells[7] == "2 (1 not counted)"
    assert [c.strip() for c in plain["t003"].split("│")][7] == "0"


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


def test_a_transcript_whose_question_is_missing_is_named_in_the_error(tmp_path: Path) -> None:
    """One question gone from ``questions.jsonl`` (two runs' logs put together by hand): the
    error names the transcript that names it, and where its line is, whichever way it is read."""
    store = RunStore.create(tmp_path)
    _write(store, 4)
    store.close()
    questions = tmp_path / "questions.jsonl"
    lines = questions.read_text().splitlines(keepends=True)
    questions.write_text(lines[0])  # q0's question kept, q1's gone (t001 and t003 name it)
    store = RunStore.open(tmp_path)
    for read in (
        lambda: list(store.transcripts.latest()),
        lambda: store.transcripts.get("t001"),
        lambda: list(store.transcripts),
    ):
        with pytest.raises(CorruptRecordError) as err:
            read()
        assert "t001" in str(err.value) and "transcripts.jsonl" in str(err.value), err.value
    assert store.transcripts.get("t002") is not None


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


def test_transcripts_of_one_stored_question_do_not_share_its_metadata(tmp_path: Path) -> None:
    """A question stored once is put back as its own copy in every transcript: changing a
    list in one transcript's question metadata (an analysis tagging questions) changes
    neither another transcript's nor what the store reads next."""
    store = RunStore.create(tmp_path)
    shared = question(id="q", metadata={"tags": ["hard"]})
    for n in range(2):
        store.transcripts.append(debate(id=f"t{n}", question=shared))
    first, second = store.transcripts.latest()
    first.question.metadata["tags"].append("seen")
    assert second.question.metadata == {"tags": ["hard"]}
    assert store.transcripts.get("t0").question.metadata == {"tags": ["hard"]}
    store.close()


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
