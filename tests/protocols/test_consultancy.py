"""Consultancy end to end with a mock consultant and a scripted judge."""

from __future__ import annotations

import re

import pytest

from judges.prompts import render_judge_system, render_turn
from oversight.endpoints import Request, endpoint
from oversight.testing import FakeOpenAIServer
from protocols import consultancy
from protocols.base import Setup
from transcripts import JudgeView
from transcripts.errors import ProtocolError, StructuredOutputError

from .scripted import (
    ANSWERS,
    CONTEXT,
    SECRET,
    ScriptedJudge,
    argue,
    mock,
    properties,
    question,
    sent,
    text,
)


def consult(request: Request) -> str:
    found = re.search(r"This is round (\d+) of", text(request))
    assert found
    return argue(
        f"Consultant, round {found.group(1)}: <quote>forty barrels of salt cod</quote>.",
        thinking="I privately doubt this",
    )


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
    assert [(t.round, t.role, t.visibility, t.answer) for t in transcript.turns] == [
        (0, "consultant", "private", 1),
        (0, "consultant", "public", 1),
        (0, "judge", "public", None),
        (1, "consultant", "private", 1),
        (1, "consultant", "public", 1),
    ]
    assert transcript.turns[1].quotes[0].verified
    assert transcript.turns[0].content == "I privately doubt this"
    assert transcript.players == {"Consultant": "mock/consultant:bo1"}
    assert transcript.assignment == {"Consultant": 1} and transcript.answer_order == [1, 0]
    assert len(transcript.calls) == len(sent(consultant)) == 2
    first, second = sent(consultant)
    assert f"the answer is A. {ANSWERS[1]}, whatever you privately believe" in text(first)
    assert "I privately doubt" not in text(second)
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
    assert [t.round for t in transcript.turns if t.visibility == "public"] == [0, 1, 2]
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
    choice, _, speech = transcript.turns
    assert (choice.visibility, choice.answer, speech.answer) == ("private", 0, 0)
    assert f"the answer is B. {ANSWERS[0]}" in text(sent(consultant)[1])
    assert transcript.metadata["first_choice"] == 0
    # The judge is told the consultant chose its answer: not that it was assigned the
    # correct one in half of the games, which is not so in this variant.
    system = render_judge_system(JudgeView.from_transcript(transcript))
    assert "which it chose itself" in system and "half of the games" not in system
    assigned = await consultancy.run(
        question(),
        {"consultant": mock("consultant", consult)},
        config=consultancy.Config(rounds=1),
        setup=Setup(order=[1, 0], assignment={"Consultant": 0}),
    )
    assert "half of the games" in render_judge_system(JudgeView.from_transcript(assigned))


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


def test_the_consultant_argues_the_gold_in_exactly_half_the_setups() -> None:
    for n in (2, 3, 4):
        answers = [f"answer {i}" for i in range(n)]
        for gold in range(n):
            q = question().model_copy(update={"answers": answers, "correct": gold})
            chosen = consultancy.setups(q, consultancy.Config())
            right = [s for s in chosen if s.assignment["Consultant"] == gold]
            assert 2 * len(right) == len(chosen) == 2 * n * (n - 1)
            wrong = [s.assignment["Consultant"] for s in chosen if s not in right]
            assert all(wrong.count(i) == n for i in range(n) if i != gold)
            assert len({s.label for s in chosen}) == len(chosen)
            assert {s.draw for s in right} == set(range(n - 1))


async def test_repeated_setups_draw_fresh_samples() -> None:
    consultant = mock("consultant", consult)
    q = question(answers=3, correct=1)
    twice = [
        s
        for s in consultancy.setups(q, consultancy.Config())
        if s.assignment["Consultant"] == 1 and s.order == [0, 1, 2]
    ]
    assert [s.draw for s in twice] == [0, 1]
    for s in twice:
        await consultancy.run(
            q, {"consultant": consultant}, config=consultancy.Config(rounds=1), setup=s
        )
    assert [r.sample_index for r in sent(consultant)] == [0, 100_000]


def test_setups_cover_each_side_in_each_order() -> None:
    q = question(answers=3, correct=1)
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


async def test_a_quote_cut_open_at_max_tokens_is_closed_verified_and_marked() -> None:
    # A word-limit cut closes a quote it leaves open; a cut at max_tokens must too, or the
    # judge reads a bare "<quote>" with no verified/unverified mark.
    said = "The log says <quote>She carried forty barrels of salt cod and a crate</quote> so."
    async with FakeOpenAIServer(reply=lambda body: said) as server:
        consultant = endpoint("openai/consultant", base_url=server.base_url, api_key="k")
        transcript = await consultancy.run(
            question(),
            {"consultant": consultant},
            config=consultancy.Config(rounds=1, scratchpad=False, resamples=0, max_tokens=11),
            setup=Setup(order=[0, 1], assignment={"Consultant": 0}),
        )
    (turn,) = [t for t in transcript.turns if t.visibility == "public"]
    assert turn.truncated and turn.content.endswith("</quote>")
    assert [(q.text, q.verified) for q in turn.quotes] == [("She carried forty barrel", True)]
    shown = render_turn(JudgeView.from_transcript(transcript).turns[0])
    assert '"She carried forty barrel" [verified]' in shown and "<quote>" not in shown


async def test_at_temperature_zero_a_rule_breaking_speech_is_cut_at_once_not_redrawn() -> None:
    # A greedy draw repeats itself: redrawing it would pay for the same speech again.
    long = " ".join(f"word{i}" for i in range(40))
    for temperature, calls in ((0.0, 1), (0.4, 3)):
        consultant = mock("consultant", lambda request: long)
        config = consultancy.Config(
            rounds=1, scratchpad=False, require_quotes=False, word_limit=10, temperature=temperature
        )
        transcript = await consultancy.run(
            question(),
            {"consultant": consultant},
            config=config,
            setup=Setup(order=[0, 1], assignment={"Consultant": 0}),
        )
        assert len(sent(consultant)) == calls
        (turn,) = [t for t in transcript.turns if t.visibility == "public"]
        assert turn.truncated and turn.metadata["rule_breaks"] == ["over the length limit"]
        assert len(turn.content.split()) == 10
