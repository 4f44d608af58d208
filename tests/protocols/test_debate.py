"""Debate end to end with mock debaters, preference model and judge."""

from __future__ import annotations

import pytest

from oversight.endpoints import Request
from protocols import debate
from protocols.base import Setup
from transcripts import JudgeView
from transcripts.errors import ConfigError, ProtocolError

from .scripted import (
    ANSWERS,
    CONTEXT,
    SECRET,
    ScriptedJudge,
    mock,
    properties,
    question,
    round_in,
    sent,
    speaker_in,
    text,
)


def speech(request: Request) -> str:
    return f"{speaker_in(request)} speaks in round {round_in(request)}."


def setup(order: list[int], a: int, b: int) -> Setup:
    return Setup(order=order, assignment={"Debater A": a, "Debater B": b})


async def test_debaters_argue_their_assigned_answers_every_round() -> None:
    debater = mock("debater", speech)
    config = debate.Config(rounds=3)
    transcript = await debate.run(
        question(), {"debater": debater}, config=config, setup=setup([1, 0], a=1, b=0)
    )

    public = [t for t in transcript.turns if t.visibility == "public"]
    assert [(t.round, t.speaker) for t in public] == [
        (r, s) for r in range(3) for s in ("Debater A", "Debater B")
    ]
    assert [t.answer for t in public] == [1, 0] * 3
    assert public[2].content == "Debater A speaks in round 2."
    assert transcript.rounds == 3
    assert transcript.assignment == {"Debater A": 1, "Debater B": 0}
    assert transcript.answer_order == [1, 0]
    assert transcript.roles == {"Debater A": "mock/debater", "Debater B": "mock/debater"}
    assert transcript.protocol == "debate" and transcript.protocol_config["rounds"] == 3
    # Every call is on its turn; every debater request carried the hidden context.
    assert len(transcript.calls) == len(sent(debater)) == 6
    assert all(CONTEXT in text(r) for r in sent(debater))
    # Debater A argues original answer 1, which the judge sees first, as "A".
    first = next(r for r in sent(debater) if speaker_in(r) == "Debater A")
    assert f"You argue for answer A. {ANSWERS[1]}" in text(first)
    view = JudgeView.from_transcript(transcript)
    assert view.answers == [ANSWERS[1], ANSWERS[0]]
    assert [t.answer for t in view.turns[:2]] == [0, 1]
    assert view.context is None and SECRET not in view.model_dump_json()


async def test_simultaneous_debaters_see_only_earlier_rounds() -> None:
    debater = mock("debater", speech)
    await debate.run(
        question(),
        {"debater": debater},
        config=debate.Config(rounds=2),
        setup=setup([0, 1], a=0, b=1),
    )
    seen = {(speaker_in(r), round_in(r)): text(r) for r in sent(debater)}
    assert "Debater A speaks in round 1" not in seen[("Debater B", 1)]
    assert "Debater B speaks in round 1" not in seen[("Debater A", 1)]
    assert "Debater A speaks in round 1" in seen[("Debater B", 2)]
    assert "Debater B speaks in round 2" not in seen[("Debater A", 2)]


async def test_sequential_debaters_see_what_was_said_before_them() -> None:
    debater = mock("debater", speech)
    await debate.run(
        question(),
        {"debater": debater},
        config=debate.Config(rounds=2, simultaneous=False),
        setup=setup([0, 1], a=0, b=1),
    )
    seen = {(speaker_in(r), round_in(r)): text(r) for r in sent(debater)}
    assert "Debater A speaks in round 1" in seen[("Debater B", 1)]
    assert "Debater B speaks in round 1" in seen[("Debater A", 2)]
    assert "Debater B speaks in round 2" not in seen[("Debater A", 2)]


async def test_two_different_models_can_debate() -> None:
    a, b = mock("model-a", speech), mock("model-b", speech)
    transcript = await debate.run(
        question(),
        {"debater_a": a, "debater_b": b},
        config=debate.Config(rounds=1),
        setup=setup([0, 1], a=1, b=0),
    )
    assert transcript.roles == {"Debater A": "mock/model-a", "Debater B": "mock/model-b"}
    assert [speaker_in(r) for r in sent(a)] == ["Debater A"]
    assert [speaker_in(r) for r in sent(b)] == ["Debater B"]
    assert {t.speaker: t.call.endpoint for t in transcript.turns if t.call} == {
        "Debater A": "mock/model-a",
        "Debater B": "mock/model-b",
    }


async def test_a_missing_debater_is_named() -> None:
    with pytest.raises(ProtocolError, match=r"'debater'.*debater_b"):
        await debate.run(
            question(),
            {"debater_a": mock("a", speech)},
            config=debate.Config(),
            setup=setup([0, 1], a=0, b=1),
        )


async def test_word_limit_cuts_and_marks_long_speeches() -> None:
    words = " ".join(f"w{i}" for i in range(40))
    debater = mock("debater", lambda r: words if speaker_in(r) == "Debater A" else "Short.")
    transcript = await debate.run(
        question(),
        {"debater": debater},
        config=debate.Config(rounds=2, word_limit=10),
        setup=setup([0, 1], a=0, b=1),
    )
    a_turn, b_turn = transcript.turns[0], transcript.turns[1]
    assert a_turn.content == " ".join(f"w{i}" for i in range(10)) and a_turn.truncated
    assert b_turn.content == "Short." and not b_turn.truncated
    assert JudgeView.from_transcript(transcript).turns[0].truncated
    later = next(r for r in sent(debater) if round_in(r) == 2 and speaker_in(r) == "Debater B")
    assert "w9\n[cut at the length limit]" in text(later) and "w10" not in text(later)
    assert "Stay within 10 words" in text(later)


async def test_character_limit_counts_quotes_and_keeps_them_closed() -> None:
    reply = "Look: <quote>forty barrels of salt cod and a crate</quote> settles it."
    debater = mock("debater", lambda r: reply)
    transcript = await debate.run(
        question(),
        {"debater": debater},
        config=debate.Config(rounds=1, word_limit=None, char_limit=30),
        setup=setup([0, 1], a=0, b=1),
    )
    turn = transcript.turns[0]
    assert turn.truncated
    assert turn.content == "Look: <quote>forty barrels of salt</quote>"
    assert [(q.text, q.verified) for q in turn.quotes] == [("forty barrels of salt", True)]


async def test_quotes_are_verified_against_the_hidden_context() -> None:
    exact = "She carried forty barrels of salt cod"
    normalised = 'SHE CARRIED forty  barrels of Salt\n Cod, and a crate of "brass compass needles"!'
    fabricated = "She carried forty barrels of iron ore"
    past_the_end = "hidden a silver locket under the stove and sailed home"
    reply = " ".join(f"<quote>{q}</quote>" for q in (exact, normalised, fabricated, past_the_end))
    debater = mock("debater", lambda r: reply)
    transcript = await debate.run(
        question(),
        {"debater": debater},
        config=debate.Config(rounds=2, word_limit=None),
        setup=setup([0, 1], a=0, b=1),
    )
    quotes = transcript.turns[0].quotes
    assert [q.verified for q in quotes] == [True, True, False, False]
    start, end = quotes[0].span or (0, 0)
    assert CONTEXT[start:end] == exact
    view = JudgeView.from_transcript(transcript)
    assert [q.verified for q in view.turns[0].quotes] == [True, True, False, False]
    # The other debater is told which quotes check out.
    later = next(r for r in sent(debater) if round_in(r) == 2)
    assert f"{fabricated}</quote> (unverified)" in text(later)
    assert f"{exact}</quote> (verified)" in text(later)


async def test_the_judge_asks_between_rounds_without_seeing_the_context() -> None:
    judge = ScriptedJudge(["Why salt?", "What about the crew?"])
    debater = mock("debater", speech)
    transcript = await debate.run(
        question(),
        {"debater": debater},
        config=debate.Config(rounds=3, judge_questions=True),
        setup=setup([0, 1], a=0, b=1),
        judge=judge,
    )
    asked = [t for t in transcript.turns if t.role == "judge"]
    assert [(t.round, t.content, t.visibility) for t in asked] == [
        (0, "Why salt?", "public"),
        (1, "What about the crew?", "public"),
    ]
    assert [v.rounds_shown for v in judge.views] == [1, 2]
    round_two = [r for r in sent(debater) if round_in(r) == 2]
    assert all("Judge:\nWhy salt?" in text(r) for r in round_two)
    assert all("What about the crew?" not in text(r) for r in round_two)
    for request in sent(judge.endpoint):
        assert CONTEXT not in text(request) and SECRET not in text(request)
    assert all(view.context is None for view in judge.views)


async def test_judge_questions_need_a_judge() -> None:
    with pytest.raises(ProtocolError, match="judge"):
        await debate.run(
            question(),
            {"debater": mock("d", speech)},
            config=debate.Config(judge_questions=True),
            setup=setup([0, 1], a=0, b=1),
        )


async def test_best_of_n_keeps_the_top_scored_candidate_and_stores_the_rest() -> None:
    scores = {0: 0.2, 1: 0.9, 2: 0.5}
    debater = mock("debater", lambda r: f"{speech(r)} Candidate {r.sample_index}.")

    def prefer(request: Request) -> dict[str, object]:
        k = int(text(request).split("Candidate ")[-1][0])
        return {"score": scores[k], "reason": "scripted"}

    preference = mock("preference", prefer)
    transcript = await debate.run(
        question(),
        {"debater": debater, "preference": preference},
        config=debate.Config(rounds=2, best_of_n=3),
        setup=setup([0, 1], a=0, b=1),
    )
    public = [t for t in transcript.turns if t.visibility == "public"]
    assert len(public) == 4
    assert all(t.content.endswith("Candidate 1.") for t in public)
    assert all(
        t.metadata["score"] == 0.9 and t.metadata["scores"] == [0.2, 0.9, 0.5] for t in public
    )
    losers = [t for t in transcript.turns if t.role == "debater" and t.visibility == "private"]
    assert len(losers) == 8
    assert {
        (
            t.metadata["candidate_of"]["speaker"],
            t.metadata["candidate_of"]["round"],
            t.metadata["candidate"],
            t.metadata["score"],
        )
        for t in losers
    } == {(s, r, k, scores[k]) for s in ("Debater A", "Debater B") for r in (0, 1) for k in (0, 2)}
    scoring = [t for t in transcript.turns if t.role == "preference"]
    assert len(scoring) == 12 and all(t.visibility == "private" and t.call for t in scoring)
    assert len(transcript.calls) == len(sent(debater)) + len(sent(preference)) == 24
    assert {r.temperature for r in sent(debater)} == {0.8}
    assert all(CONTEXT not in text(r) and SECRET not in text(r) for r in sent(preference))
    assert transcript.roles["Preference judge"] == "mock/preference"
    view = JudgeView.from_transcript(transcript)
    assert len(view.turns) == 4 and "Candidate 0" not in view.model_dump_json()


async def test_best_of_n_needs_a_preference_model() -> None:
    with pytest.raises(ProtocolError, match="'preference'"):
        await debate.run(
            question(),
            {"debater": mock("d", speech)},
            config=debate.Config(best_of_n=2),
            setup=setup([0, 1], a=0, b=1),
        )


async def test_open_debaters_choose_distinct_answers() -> None:
    def reply(request: Request) -> object:
        props = properties(request)
        if "answer" in props:
            return {"answer": props["answer"]["enum"][-1], "reason": "last one left"}
        return speech(request)

    debater = mock("debater", reply)
    q = question(answers=3)
    config = debate.Config(rounds=1, open=True)
    chosen = debate.setups(q, config)[1]
    assert chosen.assignment == {} and chosen.order == [1, 2, 0]
    transcript = await debate.run(q, {"debater": debater}, config=config, setup=chosen)
    choices = [r for r in sent(debater) if "answer" in properties(r)]
    assert [properties(r)["answer"]["enum"] for r in choices] == [["A", "B", "C"], ["A", "B"]]
    # Presented C is original 0; presented B is original 2.
    assert transcript.assignment == {"Debater A": 0, "Debater B": 2}
    private = [t for t in transcript.turns if t.visibility == "private"]
    assert [(t.speaker, t.answer, t.metadata["kind"]) for t in private] == [
        ("Debater A", 0, "choice"),
        ("Debater B", 2, "choice"),
    ]
    assert [t.answer for t in transcript.turns if t.visibility == "public"] == [0, 2]
    assert all(CONTEXT in text(r) for r in choices)


async def test_three_debaters_on_three_answers() -> None:
    q = question(answers=3)
    config = debate.Config(rounds=1, debaters=3)
    setups = debate.setups(q, config)
    assert len(setups) == 9 and len({s.label for s in setups}) == 9
    debater = mock("debater", speech)
    transcript = await debate.run(q, {"debater": debater}, config=config, setup=setups[4])
    assert sorted(transcript.assignment.values()) == [0, 1, 2]
    assert [t.speaker for t in transcript.turns] == ["Debater A", "Debater B", "Debater C"]
    assert [t.answer for t in transcript.turns] == list(setups[4].assignment.values())


def test_setups_cross_assignments_with_orders() -> None:
    labels = [s.label for s in debate.setups(question(), debate.Config())]
    assert labels == ["o01-a01", "o10-a01", "o01-a10", "o10-a10"]
    assert debate.setups(question(), debate.Config()) == debate.setups(question(), debate.Config())


def test_setups_with_more_answers_than_debaters() -> None:
    with_gold = debate.setups(question(answers=3, correct=2), debate.Config())
    assert len(with_gold) == 2 * 2 * 3
    assert all(2 in s.assignment.values() for s in with_gold)
    without_gold = debate.setups(question(answers=3, correct=None), debate.Config())
    assert len(without_gold) == 3 * 2 * 3
    assert {frozenset(s.assignment.values()) for s in without_gold} == {
        frozenset({0, 1}),
        frozenset({0, 2}),
        frozenset({1, 2}),
    }
    with pytest.raises(ConfigError, match="3 debaters"):
        debate.setups(question(), debate.Config(debaters=3))


async def test_a_setup_that_does_not_fit_the_config_is_refused() -> None:
    agents = {"debater": mock("d", speech)}
    with pytest.raises(ProtocolError, match="assigns"):
        await debate.run(
            question(), agents, config=debate.Config(open=True), setup=setup([0, 1], a=0, b=1)
        )
    with pytest.raises(ProtocolError, match="distinct"):
        await debate.run(question(), agents, config=debate.Config(), setup=setup([0, 1], 1, 1))
    with pytest.raises(ProtocolError, match="permutation"):
        await debate.run(question(), agents, config=debate.Config(), setup=setup([0, 0], 0, 1))
