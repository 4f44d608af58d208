"""The run store's questions, stored once per run: transcripts read back whole, each its own
copy, and a missing question named in the error."""

from __future__ import annotations

from pathlib import Path

import pytest

from transcripts import RunStore
from transcripts.errors import CorruptRecordError

from .factories import debate, question
from .index_helpers import _write


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


def test_a_missing_question_file_is_a_clear_error(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path)
    _write(store, 2)
    store.close()
    (tmp_path / "questions.jsonl").unlink()
    with pytest.raises(CorruptRecordError, match=r"questions\.jsonl left behind"):
        list(RunStore.open(tmp_path).transcripts.latest())


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
