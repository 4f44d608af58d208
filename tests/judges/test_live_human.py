"""A person plays the live judge of a debate during ``oversight run``, in a real terminal.

Driven with pexpect: the person gives a prior, beliefs after each round, asks a question,
ends the first debate early; in the second debate the run is killed mid-turn and resumed,
and the turns already typed are neither lost nor asked again.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.terminal import Terminal, close, finish, plain, spawn_cli
from transcripts import Question, Transcript, Turn

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

ANSWERS = ["Salt cod", "Iron ore"]
ANSWER_LINE = re.compile(r"^\s*([AB])\s+(Salt cod|Iron ore)\s*$", re.M)
BELIEFS = "q quit: "
STORY = (
    "Captain Ilse Brandt sailed the Merrow out of Kestrel Bay in 1911. She carried forty "
    "barrels of salt cod and a crate of brass compass needles."
)


def experiment(tmp_path: Path) -> Path:
    data = tmp_path / "questions.jsonl"
    data.write_text(
        json.dumps(
            {
                "id": "merrow",
                "question": "What did the Merrow carry?",
                "answers": ANSWERS,
                "correct": 0,
                "context": STORY,
                "source": "merrow",
            }
        )
        + "\n"
    )
    path = tmp_path / "live.toml"
    path.write_text(f"""
name = "live-human-test"
[dataset]
loader = "jsonl"
path = "{data}"
[endpoints.strong]
spec = "mock/strong"
[[conditions]]
label = "debate-live"
protocol = "debate"
roles = {{ debater = "strong" }}
judge = "person"
[conditions.options]
live_judge = true
max_rounds = 4
turn_penalty = 0.08
simultaneous = "opening"
word_limit = 30
[[judges]]
name = "person"
kind = "human"
annotator = "alice"
[counterbalance]
orders = "all"
[limits]
concurrency = 1
""")
    return path


def spawn(exp: Path, run: Path) -> Terminal:
    return spawn_cli("run", str(exp), "--out", str(run), dimensions=(80, 120), timeout=30)


def shown(child: Terminal) -> list[int]:
    """Original answer index at each shown position, read off the last screen."""
    block = plain(child.before).rsplit("Live judge:", 1)[-1]
    return [ANSWERS.index(text) for _, text in sorted(ANSWER_LINE.findall(block))]


def screen(child: Terminal) -> str:
    return plain(child.before)


def turn(child: Terminal, title: str, entry: str) -> list[int]:
    """Wait for the screen titled ``title``, enter ``entry`` as beliefs; the shown order."""
    child.expect_exact(title)
    child.expect_exact(BELIEFS)
    order = shown(child)
    child.sendline(entry)
    return order


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_person_judges_live_ends_early_and_a_killed_turn_is_not_asked_again(
    tmp_path: Path,
) -> None:
    exp, run = experiment(tmp_path), tmp_path / "run"
    child = spawn(exp, run)

    # Debate 1: prior, then after round 1 beliefs + a question, then end after round 2.
    turn(child, "before any argument, your prior", "50 50")
    order = turn(child, "after round 1", "A 70")
    assert sorted(order) == [0, 1]
    child.expect_exact("Continue (c)")
    # As in the paper's app, the judge sees what ending now scores for the belief just
    # typed (log2 of the probability on whichever answer is correct: A 70%, B 30%) and the
    # size of the protocol's turn_penalty (the prior's screen, where the judge cannot end,
    # says nothing of it).
    note = " ".join(screen(child).split())
    assert "Ending now scores log2 of your probability on the correct answer:" in note
    assert "if A is correct -0.51, if B is correct -1.74" in note
    assert "Each further round you hear costs 0.08 of that reward" in note
    # And, as the app did, how far the belief must move for another round to pay: the
    # expected score of a belief (its own log2 score) must beat ending now by 0.08, so A 70%
    # must reach 76% (entropy 0.80 bits against 0.88), and B the same from 30%.
    assert (
        "Another round pays, in expectation, only if it moves your belief to at least 76% on A "
        "(+6 points) or 76% on B (+46 points)" in note
    )
    child.sendline("x")
    child.expect_exact("type c to continue or e to end")
    child.sendline("c")
    child.expect_exact("Your question for the speakers")
    child.sendline("Which barrels, exactly?")
    turn(child, "after round 2", "A 90")
    assert "Which barrels, exactly?" in screen(child)  # the question is on the transcript
    assert "Your belief at turn 2: A 70%, B 30%" in screen(child)
    child.expect_exact("Continue (c)")
    child.sendline("e")
    child.expect_exact("Reason for your final belief")
    child.sendline("the quotes are verified")

    # Debate 2: prior and round 1, then the process is killed while round 2 is on screen.
    turn(child, "before any argument, your prior", "60 40")
    order2 = turn(child, "after round 1", "B 80")
    child.expect_exact("Continue (c)")
    child.sendline("c")
    child.expect_exact("Your question for the speakers")
    child.sendline("")
    child.expect_exact("after round 2")
    child.expect_exact(BELIEFS)
    child.kill(9)
    close(child)

    journal = records(run / "live-judge.jsonl")
    assert [(e["decision"], e["question"]) for e in journal] == [
        ("continue", None),
        ("continue", "Which barrels, exactly?"),
        ("end", None),
        ("continue", None),
        ("continue", None),
    ]
    first = [t for t in records(run / "transcripts.jsonl") if t["status"] == "complete"]
    assert len(first) == 1
    assert order == first[0]["answer_order"]  # the protocol's order, not shuffled again
    speeches = sorted({t["round"] for t in first[0]["turns"] if t["role"] == "debater"})
    assert speeches == [0, 1]  # ended after round 2 of at most 4
    judged = [
        (t["decision"], t["probabilities"], t["visibility"], t["content"])
        for t in first[0]["turns"]
        if t["role"] == "judge"
    ]
    a = order[0]  # original index of the answer shown as A
    assert judged == [
        ("continue", [0.5, 0.5], "private", ""),
        (
            "continue",
            [0.7 if i == a else 0.3 for i in range(2)],
            "public",
            "Which barrels, exactly?",
        ),
        ("end", [0.9 if i == a else 0.1 for i in range(2)], "private", ""),
    ]
    [live] = records(run / "judgments.jsonl")
    assert live["live"] and live["judge"]["annotator"] == "alice"
    assert live["probabilities"] == judged[-1][1] and live["rationale"] == "the quotes are verified"

    # Resumed, then q: the run stops at once (nothing new starts) and keeps every turn.
    child = spawn(exp, run)
    turn(child, "after round 2", "q")
    assert "interrupted" in finish(child, status=130)
    assert len(records(run / "live-judge.jsonl")) == 5

    # Resumed again: debate 2 picks up at round 2; nothing typed before is asked again.
    child = spawn(exp, run)
    order3 = turn(child, "after round 2", "A 55")
    before = screen(child)
    assert "your prior" not in before and "after round 1" not in before
    assert "Your belief at turn 2:" in before
    assert order3 == order2  # the same screen as before the kill
    child.expect_exact("Continue (c)")
    child.sendline("e")
    child.expect_exact("Reason for your final belief")
    child.sendline("")
    finish(child)

    second = [
        t
        for t in records(run / "transcripts.jsonl")
        if t["status"] == "complete" and t["id"] != first[0]["id"]
    ]
    assert len(second) == 1
    beliefs = [t["probabilities"] for t in second[0]["turns"] if t["role"] == "judge"]
    b = order2[1]
    assert beliefs == [
        [0.6 if i == order2[0] else 0.4 for i in range(2)],
        [0.8 if i == b else 0.2 for i in range(2)],
        [0.55 if i == order2[0] else 0.45 for i in range(2)],
    ]
    assert len(records(run / "live-judge.jsonl")) == 6
    assert sum(j["live"] for j in records(run / "judgments.jsonl")) == 2


def _merrow_debate() -> Transcript:
    """One round of a debate shown in the order [1, 0]: Debater A argues original answer 1."""
    question = Question(
        id="q", text="What did the Merrow carry?", answers=ANSWERS, correct=0, context=STORY
    )
    return Transcript(
        protocol="debate",
        question=question,
        answer_order=[1, 0],
        assignment={"Debater A": 1, "Debater B": 0},
        turns=[
            Turn(role="debater", speaker="Debater A", round=0, content="Iron ore.", answer=1),
            Turn(role="debater", speaker="Debater B", round=0, content="Salt cod.", answer=0),
        ],
    )


async def test_the_person_reads_the_speakers_letters_and_an_answered_turn_is_journaled(
    tmp_path: Path,
) -> None:
    """With the protocol's order [1, 0], "A 80" is 80% on original answer 1, the letter the
    speakers use; the same turn asked again (a resumed run) is read from the journal."""
    import io

    from rich.console import Console

    from judges import HumanQuit
    from judges.live import LiveHumanJudge, for_item
    from transcripts import JudgeView

    view = JudgeView.from_transcript(_merrow_debate())
    out = io.StringIO()
    journal = tmp_path / "live-judge.jsonl"
    judge = LiveHumanJudge(
        annotator="bo",
        console=Console(file=out, width=100),
        stream=io.StringIO("A 80\nc\nWhy iron?\n"),
        journal=journal,
    )
    bound = for_item(judge, "item-1")
    belief = await bound.live_turn(
        view, opening=False, can_end=True, previous=[[0.5, 0.5]], turn_penalty=0.05
    )
    assert belief.probabilities == pytest.approx([0.2, 0.8])
    assert (belief.decision, belief.question) == ("continue", "Why iron?")
    screen_text = out.getvalue()
    assert re.search(r"A\s+Iron ore", screen_text) and "(for A)" in screen_text

    again = LiveHumanJudge(
        annotator="bo", console=Console(file=io.StringIO()), stream=io.StringIO(""), journal=journal
    )  # input would quit
    replay = await for_item(again, "item-1").live_turn(
        view, opening=False, can_end=True, previous=[[0.5, 0.5]], turn_penalty=0.05
    )
    assert replay == belief
    assert len(journal.read_text().splitlines()) == 1
    # Another item with the same screen (say, a second repeat) is asked afresh.
    with pytest.raises(HumanQuit):
        await for_item(again, "item-2").live_turn(
            view, opening=False, can_end=True, previous=[[0.5, 0.5]], turn_penalty=0.05
        )


async def test_a_turn_journaled_before_the_view_had_sides_chosen_is_not_asked_again(
    tmp_path: Path,
) -> None:
    """The journal line below was written by the version before ``JudgeView.sides_chosen``
    existed (the turn of the test above): a resumed session reads it back, and the person,
    whose input would quit, is not asked the turn again."""
    import io

    from rich.console import Console

    from judges.live import LiveHumanJudge, for_item
    from transcripts import JudgeView

    journal = tmp_path / "live-judge.jsonl"
    journal.write_text(
        '{"key":"540eba56c05fe71c5feefa62587c7f5bdb54cb01fc8047fc02c1472e148ba5fa",'
        '"annotator":"bo","probabilities":[0.2,0.8],"decision":"continue",'
        '"question":"Why iron?","rationale":"","entry":"A 80","time_s":0.0008,'
        '"created_at":"2026-12-03T12:19:20.120372Z","schema_version":2}\n'
    )
    resumed = LiveHumanJudge(
        annotator="bo", console=Console(file=io.StringIO()), stream=io.StringIO(""), journal=journal
    )
    belief = await for_item(resumed, "item-1").live_turn(
        JudgeView.from_transcript(_merrow_debate()),
        opening=False,
        can_end=True,
        previous=[[0.5, 0.5]],
        turn_penalty=0.05,
    )
    assert belief.probabilities == pytest.approx([0.2, 0.8])
    assert (belief.decision, belief.question) == ("continue", "Why iron?")


def test_ctrl_c_at_a_live_turn_stops_the_run_and_the_resume_asks_that_turn_only(
    tmp_path: Path,
) -> None:
    exp, run = experiment(tmp_path), tmp_path / "run"
    child = spawn(exp, run)
    turn(child, "before any argument, your prior", "50 50")
    child.expect_exact("after round 1")
    child.expect_exact(BELIEFS)
    child.sendintr()  # one Ctrl-C (was: the prompt kept waiting)
    out = " ".join(plain(child.printed.getvalue() + finish(child, status=130)).split())
    assert "Stopped: nothing is saved for this turn" in out
    assert "interrupted; run the same command again to resume" in out
    assert [e["entry"] for e in records(run / "live-judge.jsonl")] == ["50 50"]

    child = spawn(exp, run)
    try:
        child.expect_exact("after round 1")  # the prior is not asked again
        child.expect_exact(BELIEFS)
        assert "your prior" not in plain(child.printed.getvalue())
    finally:
        close(child)
