"""Consultancy end to end with a mock consultant and a scripted judge."""

from __future__ import annotations

import re

import pytest

from oversight.endpoints import Request
from protocols import consultancy
from protocols.base import Setup
from transcripts import JudgeView
from transcripts.errors import ProtocolError, StructuredOutputError

from .scripted import (
    ANSWERS,
    CONTEXT,
    SECRET,
    ScriptedJudge,
    mock,
    properties,
    question,
    sent,
    text,
)


def consult(request: Request) -> str:
    found = re.search(r"This is round (\d+) of", text(request))
    assert found
    return f"Consultant, round {found.group(1)}: <quote>forty barrels of salt cod</quote>."


async def test_the_consultant_argues_its_assigned_side_with_judge_questions() -> None:
    judge = ScriptedJudge(["Is the crew relevant?"])
    consultant = mock("consultant", consult)
    config = consultancy.Config(rounds=2, judge_questions=True)
    transcript = await consultancy.run(
        question(),
        {"consultant": consultant},
        config=config,
        setup=Setup(order=[1, 0], assignment={"Consultant": 1}),
        judge=judge,
    )
    assert [(t.round, t.role, t.speaker, t.answer) for t in transcript.turns] == [
        (0, "consultant", "Consultant", 1),
        (0, "judge", "Judge", None),
        (1, "consultant", "Consultant", 1),
    ]
    assert transcript.turns[0].quotes[0].verified
    assert transcript.assignment == {"Consultant": 1} and transcript.answer_order == [1, 0]
    assert len(transcript.calls) == len(sent(consultant)) == 2
    first, second = sent(consultant)
    assert f"answer A. {ANSWERS[1]} is correct" in text(first)
    assert all(CONTEXT in text(r) for r in sent(consultant))
    assert "Is the crew relevant?" in text(second) and "Is the crew relevant?" not in text(first)
    assert all(CONTEXT not in text(r) and SECRET not in text(r) for r in sent(judge.endpoint))
    view = JudgeView.from_transcript(transcript)
    assert view.context is None and [t.answer for t in view.turns] == [0, None, 0]


async def test_the_consultant_runs_without_judge_questions() -> None:
    consultant = mock("consultant", consult)
    transcript = await consultancy.run(
        question(),
        {"consultant": consultant},
        config=consultancy.Config(rounds=3),
        setup=Setup(order=[0, 1], assignment={"Consultant": 0}),
    )
    assert [t.round for t in transcript.turns] == [0, 1, 2]
    assert transcript.roles == {"Consultant": "mock/consultant"}


async def test_the_open_consultant_chooses_its_side() -> None:
    def reply(request: Request) -> object:
        if "answer" in properties(request):
            return {"answer": "B", "reason": "the text says so"}
        return consult(request)

    consultant = mock("consultant", reply)
    config = consultancy.Config(rounds=1, open=True)
    transcript = await consultancy.run(
        question(), {"consultant": consultant}, config=config, setup=Setup(order=[1, 0])
    )
    # Presented B is original answer 0.
    assert transcript.assignment == {"Consultant": 0}
    choice, speech = transcript.turns
    assert (choice.visibility, choice.answer, speech.answer) == ("private", 0, 0)
    assert f"answer B. {ANSWERS[0]} is correct" in text(sent(consultant)[1])


async def test_a_choice_outside_the_answers_is_an_error() -> None:
    consultant = mock("consultant", lambda r: {"answer": "Z", "reason": "?"})
    # The endpoint layer may refuse it first (the schema lists the letters).
    with pytest.raises((ProtocolError, StructuredOutputError), match="'Z'"):
        await consultancy.run(
            question(),
            {"consultant": consultant},
            config=consultancy.Config(open=True),
            setup=Setup(order=[0, 1]),
        )


def test_setups_cover_each_side_in_each_order() -> None:
    q = question(answers=3, correct=1)
    assert [s.label for s in consultancy.setups(q, consultancy.Config())] == [
        f"o{o}-a{a}" for a in "012" for o in ("012", "120", "201")
    ]
    assert {
        s.assignment["Consultant"]
        for s in consultancy.setups(q, consultancy.Config(sides="correct"))
    } == {1}
    assert {
        s.assignment["Consultant"]
        for s in consultancy.setups(q, consultancy.Config(sides="incorrect"))
    } == {0, 2}
    unknown = question(answers=3, correct=None)
    assert len(consultancy.setups(unknown, consultancy.Config(sides="correct"))) == 9
    assert [s.assignment for s in consultancy.setups(q, consultancy.Config(open=True))] == [{}] * 3


async def test_a_missing_consultant_is_named() -> None:
    with pytest.raises(ProtocolError, match="'consultant'"):
        await consultancy.run(
            question(),
            {"debater": mock("d", consult)},
            config=consultancy.Config(),
            setup=Setup(order=[0, 1], assignment={"Consultant": 0}),
        )
