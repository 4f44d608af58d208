from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from transcripts import JsonlLog, RunStore, TornRecordWarning, Transcript
from transcripts.errors import CorruptRecordError, SchemaVersionError, StoreError

from .factories import debate, judgment, question


def test_create_open_and_json_files(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run")
    again = RunStore.open(tmp_path / "run")
    assert again.run_id == store.run_id
    store.write_json("experiment.json", {"hash": "x"})
    assert again.read_json("experiment.json") == {"hash": "x"}
    assert again.read_json("missing.json") is None
    with pytest.raises(StoreError, match="not a run folder"):
        RunStore.open(tmp_path)
    with pytest.raises(StoreError, match="no run folder"):
        RunStore.open(tmp_path / "nowhere")


async def test_2000_records_from_40_concurrent_tasks_read_back_intact(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    base = debate()

    async def writer(w: int) -> None:
        for i in range(50):
            store.transcripts.append(base.model_copy(update={"id": f"w{w}-{i}"}))
            if i % 10 == 0:
                await asyncio.sleep(0)  # interleave the tasks

    async def threaded_writer(w: int) -> None:
        # Half the writers append from worker threads, the way blocking code would.
        def work() -> None:
            for i in range(50):
                store.transcripts.append(base.model_copy(update={"id": f"w{w}-{i}"}))

        await asyncio.to_thread(work)

    await asyncio.gather(*(writer(w) if w % 2 else threaded_writer(w) for w in range(40)))
    lines = (tmp_path / "transcripts.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    assert len(lines) - 1 == 2_000
    records = list(store.transcripts)
    assert len(records) == 2_000
    assert {r.id for r in records} == {f"w{w}-{i}" for w in range(40) for i in range(50)}
    assert all(r.turns == base.turns for r in records)


def test_torn_last_line_is_skipped_then_set_aside_and_appending_continues(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    store.transcripts.append(debate(id="a"))
    store.transcripts.close()
    path = tmp_path / "transcripts.jsonl"
    whole = debate(id="b").model_dump_json()
    with open(path, "ab") as f:
        f.write(whole[: len(whole) // 2].encode())  # a crash mid-write

    with pytest.warns(TornRecordWarning, match="cut short"):
        assert [t.id for t in store.transcripts] == ["a"]

    fresh = RunStore.open(tmp_path)
    with pytest.warns(TornRecordWarning, match="moved to"):
        fresh.transcripts.append(debate(id="c"))
    assert [t.id for t in fresh.transcripts] == ["a", "c"]
    aside = list(tmp_path.glob("transcripts.jsonl.torn-*"))
    assert len(aside) == 1
    assert aside[0].read_text() == whole[: len(whole) // 2]


def test_a_torn_line_warning_points_at_the_callers_code_whichever_way_it_reads(
    tmp_path: Path,
) -> None:
    """The warning named a line inside the store (transcripts/_index.py) when the read went
    through the index, so ``-W error`` tracebacks and warning filters by module missed."""
    store = RunStore.create(tmp_path)
    store.transcripts.append(debate(id="a"))
    with open(tmp_path / "transcripts.jsonl", "ab") as f:
        f.write(b'{"id": "cut')  # a crash mid-write
    store.close()
    for read in (
        lambda log: list(log),
        lambda log: list(log.latest()),
        lambda log: log.get("a"),
        lambda log: log.append(debate(id="b")),
    ):
        with pytest.warns(TornRecordWarning) as caught:  # each a fresh reader of the file
            read(RunStore.open(tmp_path).transcripts)
        assert {w.filename for w in caught} == {__file__}


def test_a_whole_last_record_without_its_newline_is_kept_when_appending(tmp_path: Path) -> None:
    """A judgment appended by hand with an editor that ends files without a newline: reading
    says so (not only "a crash"), and the next append ends the line and keeps the record,
    instead of moving it out of the log."""
    store = RunStore.create(tmp_path)
    store.judgments.append(judgment(id="j0"))
    store.close()
    with open(tmp_path / "judgments.jsonl", "a") as f:
        f.write(judgment(id="by-hand").model_dump_json())  # no newline at the end

    store = RunStore.open(tmp_path)
    with pytest.warns(TornRecordWarning, match="no newline at its end"):
        assert [j.id for j in store.judgments.latest()] == ["j0", "by-hand"]
    assert store.judgments.get("by-hand") is not None
    with pytest.warns(TornRecordWarning, match="newline was added"):
        store.judgments.append(judgment(id="j1"))
    assert [j.id for j in store.judgments.latest()] == ["j0", "by-hand", "j1"]
    store.close()
    assert not list(tmp_path.glob("judgments.jsonl.torn-*"))
    assert [j.id for j in RunStore.open(tmp_path).judgments] == ["j0", "by-hand", "j1"]


def test_a_corrupt_middle_line_is_an_error_naming_the_line(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    store.transcripts.append(debate(id="a"))
    with open(tmp_path / "transcripts.jsonl", "ab") as f:
        f.write(b"{not json\n")
    store.transcripts.append(debate(id="b"))
    with pytest.raises(
        CorruptRecordError, match=r"transcripts.jsonl:2: not valid JSON \(Expecting property name"
    ):
        list(store.transcripts)


def test_an_append_the_disk_cuts_short_leaves_no_partial_line(tmp_path: Path) -> None:
    """A write the file system stops half way (a full disk, a file-size limit) is taken
    back: the error says so, and the next append of the same process is on a clean line
    (it used to be glued to the partial one, and both records were lost to a corrupt line)."""
    store = RunStore.create(tmp_path)
    store.transcripts.append(debate(id="a"))
    path = tmp_path / "transcripts.jsonl"
    size = path.stat().st_size
    cut = pytest.raises(StoreError, match=r"transcripts.jsonl.*nothing of it was kept")
    with file_size_limit(size + 100), cut:  # the disk fills up
        store.transcripts.append(debate(id="b"))
    assert path.stat().st_size == size
    store.transcripts.append(debate(id="c"))  # space again
    # A new question's line (written before its transcript) cut short the same way.
    questions = tmp_path / "questions.jsonl"
    other = question(id="q2", text="Which ship passed at dawn?")
    cut = pytest.raises(StoreError, match=r"questions.jsonl.*nothing of it was kept")
    with file_size_limit(questions.stat().st_size + 50), cut:
        store.transcripts.append(debate(id="d", question=other))
    store.transcripts.append(debate(id="e", question=other))
    assert [t.id for t in RunStore.open(tmp_path).transcripts] == ["a", "c", "e"]
    assert RunStore.open(tmp_path).transcripts.get("e").question == other  # type: ignore[union-attr]


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Files of this process cannot grow past ``limit`` bytes (a write past it is cut
    short, then fails), as on a full disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_lines_the_fast_decoder_refuses_read_as_the_standard_library_reads_them(
    tmp_path: Path,
) -> None:
    """Records are decoded by msgspec; what it refuses and ``json.loads`` reads (``NaN``,
    ``Infinity``, a number beyond a float, a lone surrogate, as older writers could leave)
    reads as before, through the index too."""
    store = RunStore.create(tmp_path)
    store.judgments.append(judgment("t1", id="j1"))
    store.close()
    log = tmp_path / "judgments.jsonl"
    record = json.loads(log.read_text())
    record["id"] = "j2"
    line = json.dumps(record)[:-1] + ', "metadata": {"x": NaN, "y": -Infinity, "z": 1e400, '
    line += '"s": "\\ud800"}}\n'
    with open(log, "a") as f:
        f.write(line)
    read = RunStore.open(tmp_path).judgments.get("j2")
    assert read is not None
    x, y, z, s = (read.metadata[k] for k in "xyzs")
    assert x != x and y == float("-inf") and z == float("inf") and s == "\ud800"


def test_duplicate_ids_resolve_deterministically(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    store.transcripts.append(debate(id="a", status="error", error="boom"))
    store.transcripts.append(debate(id="b", condition="first"))
    store.transcripts.append(debate(id="a", condition="retried"))
    store.transcripts.append(debate(id="b", condition="second"))
    store.transcripts.append(debate(id="a", status="error", error="late failure"))
    latest = list(store.transcripts.latest())
    assert [(t.id, t.status, t.condition) for t in latest] == [
        ("a", "complete", "retried"),
        ("b", "complete", "second"),
    ]
    assert list(store.transcripts.latest()) == latest


def test_newer_schema_is_refused_older_is_read(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    record = json.loads(judgment().model_dump_json())
    older = dict(record, schema_version=0)
    newer = dict(record, schema_version=99)
    path = tmp_path / "judgments.jsonl"
    path.write_text(json.dumps(older) + "\n")
    assert [j.schema_version for j in store.judgments] == [0]
    path.write_text(json.dumps(older) + "\n" + json.dumps(newer) + "\n")
    with pytest.raises(SchemaVersionError, match=r"schema_version 99.*upgrade oversight"):
        list(store.judgments)


def test_reading_streams_without_holding_the_file(tmp_path: Path) -> None:
    log: JsonlLog[Transcript] = JsonlLog(tmp_path / "t.jsonl", Transcript)
    record = debate()
    log.extend(record.model_copy(update={"id": str(i)}) for i in range(3000))
    size = os.path.getsize(tmp_path / "t.jsonl")
    tracemalloc.start()
    count = sum(1 for _ in log)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 3000
    assert peak < size / 10, (peak, size)


def test_appends_are_visible_to_another_reader_immediately(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    store.judgments.append(judgment(id="j1"))
    other = RunStore.open(tmp_path)
    assert [j.id for j in other.judgments] == ["j1"]
