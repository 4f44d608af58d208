"""The human judge in-process: entries, blinding, skipping, quitting, live questions."""

from __future__ import annotations

import asyncio
import io
import itertools
import os

import pytest
from rich.console import Console

from judges import HumanJudge, HumanQuit
from judges.human import SKIP_PROMPT, EntryError, parse_entry
from transcripts import JudgeView

from .helpers import ANSWERS, CONTEXT, SECRET_MODEL, transcript


def _judge(entries: str, **options: object) -> tuple[HumanJudge, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None)
    judge = HumanJudge(annotator="alice", console=console, stream=io.StringIO(entries), **options)  # type: ignore[arg-type]
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
        ("A 1%", 2, "between 50 and 100"),  # one percent, not a fraction of 1 (100%)
        ("B 0.9%", 2, "between 50 and 100"),
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
    "order", [list(p) for n in (2, 3, 4) for p in itertools.permutations(range(n))]
)
def test_the_person_sees_the_order_the_speakers_saw_and_answers_map_back(order: list[int]) -> None:
    n = len(order)
    view = JudgeView.from_transcript(transcript(n=n, order=order))
    for letter in range(n):
        entry = f"{'ABCD'[letter]} 100\n\n"
        judge, out = _judge(entry)
        judgment = judge.judge_now(view)
        # The answer shown under the letter typed is the one that gets the probability...
        assert judgment.probabilities is not None
        assert judgment.probabilities[order[letter]] == pytest.approx(1.0)
        assert judgment.metadata["presented_order"] == order
        # ...and the screen lists the answers in the protocol's order, with each debater's
        # side under the letter its speeches use (Debater A argues original answer 0).
        text = out.getvalue()
        positions = [text.index(ANSWERS[i]) for i in order]
        assert positions == sorted(positions)
        assert f"Debater A (for {'ABCD'[order.index(0)]})" in text
        assert f"Debater B (for {'ABCD'[order.index(1)]})" in text


def test_every_person_sees_the_same_letters() -> None:
    view = JudgeView.from_transcript(transcript(n=3, order=[2, 0, 1]))
    screens = set()
    for annotator in ("alice", "bob", "carol"):
        out = io.StringIO()
        judge = HumanJudge(
            annotator=annotator,
            stream=io.StringIO("A 90\n\n"),
            console=Console(file=out, width=100, color_system=None),
        )
        judge.judge_now(view)
        screens.add(out.getvalue().split("Probabilities")[0])
    assert len(screens) == 1


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

    judge, out = _judge("s\ntoo long to read\n")
    skipped = judge.judge_now(view)
    assert skipped.status == "skipped" and skipped.probabilities is None
    # Why a person skipped is asked and kept with the skip (a study reports it).
    assert SKIP_PROMPT in out.getvalue() and skipped.rationale == "too long to read"
    judge, _ = _judge("s\n")  # the input ends at the question: the skip is kept
    skipped = judge.judge_now(view)
    assert skipped.status == "skipped" and skipped.rationale == ""
    assert skipped.metadata["reason_interrupted"] is True and judge.stopping == "quit"

    judge, out = _judge("A\n1%\nA 75%\n\n")  # 1% is a percent at the confidence prompt too
    judgment = judge.judge_now(view)
    assert "between 50 and 100" in out.getvalue()
    assert judgment.probabilities is not None
    assert judgment.probabilities[order[0]] == pytest.approx(0.75)

    judge, out = _judge("A\ns\n\n")  # s and q mean what they say at the confidence prompt too
    assert judge.judge_now(view).status == "skipped"
    assert "not a number" not in out.getvalue()

    for entries in ("q\n", "", "A\n", "A\nq\n"):  # quit, end of input (also at the confidence)
        judge, _ = _judge(entries)
        with pytest.raises(HumanQuit):
            judge.judge_now(view)


async def test_stopping_at_the_reason_prompt_keeps_the_verdict() -> None:
    view = JudgeView.from_transcript(transcript(order=[1, 0]))
    judge, out = _judge("70 30\n")  # the input ends at the reason prompt
    judgment = judge.judge_now(view)
    assert judgment.status == "ok" and judgment.probabilities == pytest.approx([0.3, 0.7])
    assert judgment.metadata["reason_interrupted"] is True and judgment.rationale == ""
    assert judge.stopping == "quit" and "your verdict is kept" in out.getvalue()
    with pytest.raises(HumanQuit):  # the person is gone: the next item is not asked
        await judge.judge(view)

    class CtrlC(io.StringIO):
        def readline(self, size: int | None = -1) -> str:
            line = super().readline()
            if not line:
                raise KeyboardInterrupt
            return line

    out = io.StringIO()
    judge = HumanJudge(
        annotator="alice",
        stream=CtrlC("B 80\n"),
        console=Console(file=out, width=100, color_system=None),
    )
    judgment = judge.judge_now(view)
    assert judgment.probabilities == pytest.approx([0.8, 0.2])
    assert judge.stopping == "interrupt"


def test_the_time_limit_is_shown_recorded_and_marked_when_exceeded() -> None:
    now = [100.0]

    def clock() -> float:
        return now[0]

    class Slow(io.StringIO):
        """The person takes ``step`` seconds per line (a fake clock, no waiting)."""

        step = 50.0

        def readline(self, size: int | None = -1) -> str:
            now[0] += self.step
            return super().readline()

    view = JudgeView.from_transcript(transcript())
    out = io.StringIO()
    judge = HumanJudge(
        annotator="alice",
        stream=Slow("60 40\n\n"),
        time_limit_s=90,
        clock=clock,
        console=Console(file=out, width=100, color_system=None),
    )
    quick = judge.judge_now(view)
    assert "time limit 90 s" in out.getvalue()
    assert quick.time_s == 50 and quick.metadata["time_limit_s"] == 90
    assert quick.metadata["over_time"] is False
    Slow.step = 100.0
    judge.stream = Slow("60 40\n\n")
    late = judge.judge_now(view)
    assert late.status == "ok" and late.metadata["over_time"] is True and late.time_s == 100
    assert "Over the time limit (100 s of 90 s)" in out.getvalue()


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
