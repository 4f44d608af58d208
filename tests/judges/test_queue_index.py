"""The escalation queue and human sessions read the judgments a person took part in through
the judgments index: the same answers with or without an index, and no other judgment read."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from judges import FallbackJudge, pending_escalations
from judges.queue import resolve
from judges.session import judged_by, plan
from transcripts import JudgeIdentity, JudgeView, Judgment, RunStore
from transcripts.errors import CorruptRecordError

from .helpers import Scripted, saved_run, transcript


async def _run_with_a_queue(run: Path) -> RunStore:
    """Six transcripts; an LLM judge escalates t1, t3 and t5 to people; dana resolves t1
    and skips t3; many plain LLM judgments besides."""
    store = saved_run(run, [transcript(f"t{i}") for i in range(1, 7)])
    judge = FallbackJudge(
        Scripted("weak", [[0.6, 0.4], [0.9, 0.1], [0.55, 0.45], [0.9, 0.1], [0.5, 0.5], [1, 0]]),
        threshold=0.7,
        store=store,
        name="weak+human",
    )
    for i in range(1, 7):
        store.judgments.append(await judge.judge(JudgeView.from_transcript(transcript(f"t{i}"))))
    for i in range(40):  # judgments no person took part in
        store.judgments.append(
            Judgment(
                transcript_id=f"t{1 + i % 6}",
                judge=JudgeIdentity(kind="llm", name=f"other-{i}"),
                probabilities=[0.8, 0.2],
            )
        )
    queue = {e.transcript_id: e for e in store.escalations.latest()}
    dana = JudgeIdentity(kind="human", name="human", annotator="dana")
    person = Judgment(transcript_id="t1", judge=dana, probabilities=[0.3, 0.7])
    store.judgments.append(
        resolve(queue["t1"], person.model_copy(update={"escalated_from": queue["t1"].id}))
    )
    store.judgments.append(
        Judgment(transcript_id="t3", judge=dana, status="skipped", escalated_from=queue["t3"].id)
    )
    store.judgments.append(Judgment(transcript_id="t6", judge=dana, probabilities=[0.9, 0.1]))
    return store


def _answers(run: Path) -> tuple[list[str], list[str], list[str], set[str], list[str]]:
    store = RunStore.open(run)
    try:
        return (
            [e.transcript_id for e in pending_escalations(store)],
            [e.transcript_id for e in pending_escalations(store, annotator="dana")],
            [e.transcript_id for e in pending_escalations(store, annotator="erin")],
            judged_by(store, judge_name="human", annotator="dana"),
            [
                f"{i.number}/{i.total}:{i.transcript.id}"
                for i in plan(store, annotator="dana", everything=True)
            ],
        )
    finally:
        store.close()


async def test_the_queue_and_a_session_plan_are_the_same_with_or_without_the_index(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    (await _run_with_a_queue(run)).close()
    with_index = _answers(run)
    assert with_index == (
        ["t3", "t5"],  # t1 resolved by dana
        ["t5"],  # dana skipped t3
        ["t3", "t5"],
        {"t1", "t3", "t6"},  # her skip of t3, her judgments of t6 and of t1 (inside F)
        # t5 from the queue, then what she has not judged, numbered after what she did:
        # t1 (queued, judged), t3 (queued, skipped) and t6, each counted once.
        ["4/6:t5", "5/6:t2", "6/6:t4"],
    )
    for index in run.glob("*.idx*"):
        index.unlink()
    assert _answers(run) == with_index  # rebuilt from the logs: the same answers
    assert (run / "judgments.jsonl.idx").exists()


async def test_the_queue_reads_only_the_judgments_a_person_took_part_in(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (await _run_with_a_queue(run)).close()
    # Spoil a plain LLM judgment (valid JSON, same length, no longer a valid Judgment): the
    # queue and the person's list never read it, a full read does.
    log = run / "judgments.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if b'"other-20"' in line)
    record = json.loads(lines[at])
    record["probabilities"] = [0.8, 7.2]
    spoilt = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    assert len(spoilt) == len(lines[at])
    lines[at] = spoilt
    log.write_bytes(b"".join(lines))
    store = RunStore.open(run)
    assert [e.transcript_id for e in pending_escalations(store, annotator="dana")] == ["t5"]
    assert judged_by(store, judge_name="human", annotator="dana") == {"t1", "t3", "t6"}
    with pytest.raises(CorruptRecordError, match="not a valid Judgment"):
        list(store.judgments.latest())


async def test_a_session_reads_each_transcript_only_when_it_serves_it(tmp_path: Path) -> None:
    """A session over every transcript is planned from the indexes and reads a transcript
    when its item comes up: one the person does not reach is never read (spoilt here: still
    JSON, no longer a valid transcript), and reaching it is a clear error."""
    from rich.console import Console

    from judges import HumanJudge
    from judges.session import serve

    run = tmp_path / "run"
    (await _run_with_a_queue(run)).close()
    log = run / "transcripts.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if b'"id":"t4"' in line)
    spoilt = lines[at].replace(b'"answer_order":[]', b'"answer_order":{}')
    assert spoilt != lines[at] and len(spoilt) == len(lines[at])
    lines[at] = spoilt
    log.write_bytes(b"".join(lines))

    def person(answers: str) -> HumanJudge:
        console = Console(file=io.StringIO(), width=100, color_system=None)
        return HumanJudge(annotator="dana", console=console, stream=io.StringIO(answers))

    store = RunStore.open(run)
    items = plan(store, annotator="dana", everything=True)
    assert [f"{i.number}/{i.total}:{i.transcript_id}" for i in items] == [
        "4/6:t5",
        "5/6:t2",
        "6/6:t4",
    ]
    # t5 (queued) judged, then the person quits at t2: t4 was never read.
    result = serve(store, person("70 30\n\nq\n"), items)
    assert (result.judged, result.stopped) == (1, True)
    # The next session starts at t2, numbered as before (its queued t5 is not counted again
    # as a transcript she judged); t4, which cannot be read, is said when it comes up.
    items = plan(store, annotator="dana", everything=True)
    assert [f"{i.number}/{i.total}:{i.transcript_id}" for i in items] == ["5/6:t2", "6/6:t4"]
    with pytest.raises(CorruptRecordError, match=r"not a valid Transcript record"):
        serve(store, person("60 40\n\n70 30\n\n"), items)
    assert "t2" in judged_by(store, judge_name="human", annotator="dana")  # saved before
    store.close()
