"""The human judge in-process: entries, blinding, skipping, quitting, live questions."""

from __future__ import annotations

import asyncio
import io
import itertools
import os

import pytest
from rich.console import Console

from judges import HumanJudge, HumanQuit
from judges.human import EntryError, parse_entry, present
from transcripts import JudgeView

from .helpers import ANSWERS, CONTEXT, SECRET_MODEL, transcript


def _judge(entries: str, **options: object) -> tuple[HumanJudge, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    judge = HumanJudge(annotator="alice", console=console, stream=io.StringIO(entries),
                       **options)  # type: ignore[arg-type]
    return judge, out


@pytest.mark.parametrize(
    ("entry", "n", "expected"),
    [
        ("70 30", 2, [0.7, 0.3]),
        ("0.7 0.3", 2, [0.7, 0.3]),
        ("70% 30%", 2, [0.7, 0.3]),
        ("70,30", 2, [0.7, 0.3]),
        ("100 0", 2, [1.0, 0.0]),
        ("1 0", 2, [1.0, 0.0]),
        ("50 50", 2, [0.5, 0.5]),
        ("20 30 50", 3, [0.2, 0.3, 0.5]),
        ("A 80", 2, [0.8, 0.2]),
        ("b 0.9", 2, [0.1, 0.9]),
        ("A 60", 3, [0.6, 0.2, 0.2]),
        ("C 100", 3, [0.0, 0.0, 1.0]),
    ],
)
def test_valid_entries(entry: str, n: int, expected: list[float]) -> None:
    assert parse_entry(entry, n) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("entry", "n", "message"),
    [
        ("80 30", 2, "add up to 110; they must add up to 100"),
        ("0.5 0.4", 2, "must add up to 1"),
        ("70", 2, "one number per answer (2)"),
        ("70 20 10", 2, "one number per answer (2)"),
        ("C 80", 2, "not an answer"),
        ("A 40", 2, "between 50 and 100"),
        ("A 20", 3, "between 33.3333 and 100"),
        ("A 101", 2, "between 50 and 100"),
        ("A 80 20", 2, "one confidence"),
        ("-10 110", 2, "not a number"),
        ("seventy thirty", 2, "not an answer"),
        ("", 2, "nothing entered"),
    ],
)
def test_invalid_entries_say_why(entry: str, n: int, message: str) -> None:
    with pytest.raises(EntryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_entry(entry, n)


def test_a_bare_letter_asks_for_confidence() -> None:
    assert parse_entry("B", 2) == 1


@pytest.mark.parametrize(
    "order", [list(p) for n in (2, 3, 4) for p in itertools.permutations(range(n))])
def test_blinded_presentation_maps_back_from_every_position(order: list[int]) -> None:
    view = JudgeView.from_transcript(transcript(n=len(order), order=order))
    for annotator in ("alice", "bob", "carol"):
        shown = present(view, annotator=annotator)
        assert sorted(shown.original) == list(range(len(order)))
        for j, original in enumerate(shown.original):
            assert shown.view.answers[j] == ANSWERS[original]
            one_hot = [1.0 if k == j else 0.0 for k in range(len(order))]
            back = view.to_original(shown.to_view_order(one_hot))
            assert back.index(1.0) == original
        # Each debater's side is shown at the position of its original answer.
        sides = {t.speaker: t.answer for t in shown.view.turns}
        assert sides["Debater A"] == shown.original.index(0)
        assert sides["Debater B"] == shown.original.index(1)
        # The same person sees the same order again (so a resumed session matches).
        assert present(view, annotator=annotator).original == shown.original


def test_blinding_shuffles_per_person_and_item() -> None:
    orders = {tuple(present(JudgeView.from_transcript(transcript(f"t{i}", n=4)),
                            annotator=a).original)
              for i in range(10) for a in ("alice", "bob")}
    assert len(orders) > 5
    unblinded = present(JudgeView.from_transcript(transcript(n=3, order=[2, 0, 1])),
                        annotator="alice", blind=False)
    assert unblinded.original == [2, 0, 1]


async def test_bad_entry_is_explained_and_asked_again() -> None:
    judge, out = _judge("80 30\n70 30\nthe ledger quote is verified\n")
    view = JudgeView.from_transcript(transcript(order=[1, 0]))
    judgment = judge.judge_now(view, progress=(1, 3))
    text = out.getvalue()
    assert "Item 1 of 3" in text
    assert "Not accepted: your numbers add up to 110; they must add up to 100" in text
    assert judgment.status == "ok"
    order = judgment.metadata["presented_order"]
    # 70 went to the answer shown first, whichever original answer that was.
    assert judgment.probabilities is not None
    assert judgment.probabilities[order[0]] == pytest.approx(0.7)
    assert judgment.probabilities[order[1]] == pytest.approx(0.3)
    assert judgment.rationale == "the ledger quote is verified"
    assert judgment.metadata["entry"] == "70 30"
    assert judgment.judge.kind == "human" and judgment.judge.annotator == "alice"
    assert judgment.time_s is not None and judgment.time_s >= 0
    assert judgment.rounds_seen == 2


async def test_the_person_sees_no_gold_no_models_and_marked_quotes() -> None:
    judge, out = _judge("50 50\n\n")
    judge.judge_now(JudgeView.from_transcript(transcript()))
    text = out.getvalue()
    assert CONTEXT not in text and SECRET_MODEL not in text and "SCRATCHPAD" not in text
    assert "gold" not in text.lower() and "t1" not in text
    assert "[✓]" in text and "[✗ unverified]" in text


async def test_letter_then_confidence_skip_and_quit() -> None:
    view = JudgeView.from_transcript(transcript())
    judge, _ = _judge("A\n90\n\n")
    judgment = judge.judge_now(view)
    order = judgment.metadata["presented_order"]
    assert judgment.probabilities is not None
    assert judgment.probabilities[order[0]] == pytest.approx(0.9)
    assert judgment.metadata["entry"] == "A 90"
    assert judgment.rationale == ""

    judge, _ = _judge("s\n")
    skipped = judge.judge_now(view)
    assert skipped.status == "skipped" and skipped.probabilities is None

    for entries in ("q\n", "", "70 30\n"):  # quit, end of input, end of input at the reason
        judge, _ = _judge(entries)
        with pytest.raises(HumanQuit):
            judge.judge_now(view)


async def test_waiting_for_the_person_does_not_block_the_event_loop() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd) as stream:
        console = Console(file=io.StringIO(), color_system=None)
        judge = HumanJudge(annotator="alice", console=console, stream=stream)
        task = asyncio.create_task(judge.judge(JudgeView.from_transcript(transcript())))
        ticks = 0
        for _ in range(5):  # the loop keeps running while the person thinks
            await asyncio.sleep(0)
            ticks += 1
        assert not task.done() and ticks == 5
        os.write(write_fd, b"60 40\n\n")
        os.close(write_fd)
        judgment = await asyncio.wait_for(task, timeout=5)
    assert judgment.status == "ok"


async def test_live_mode_asks_questions_between_rounds() -> None:
    view = JudgeView.from_transcript(transcript(), rounds=1)
    judge, out = _judge("Which page is the ledger on?\n\n", live=True)
    assert await judge.ask(view) == "Which page is the ledger on?"
    assert "Live: after round 1" in out.getvalue()
    assert "Second round" not in out.getvalue()
    assert await judge.ask(view) is None

    quiet, _ = _judge("")
    assert await quiet.ask(view) is None  # not live: never reads
