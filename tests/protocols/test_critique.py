"""Critique end to end: proposal, critiques, critique of critiques, refinement."""

from __future__ import annotations

import pytest

from oversight.endpoints import Request
from protocols import critique
from protocols.base import Setup
from transcripts import JudgeView
from transcripts.errors import ProtocolError

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


def answerer_reply(request: Request) -> object:
    if "answer" in properties(request):
        return {"answer": "A", "reason": "first"}
    if "Critique the critiques" in text(request):
        return "Meta: Critic 1 is right, Critic 2 misread the text."
    if "Write Critic" in text(request) or "critique of the proposed answer" in text(request):
        return "Self-critique: my quote is thin."
    if "refined justification" in text(request):
        return "Refined: <quote>forty barrels of salt cod</quote>."
    return "Proposal: <quote>forty barrels of salt cod</quote>."


def critic_reply(name: str) -> object:
    def reply(request: Request) -> str:
        if "Critique the critiques" in text(request):
            return "Meta: the critiques overreach."
        return f"{name}: the proposal ignores <quote>a crate of brass compass needles</quote>."

    return reply


def assigned(index: int, order: list[int] | None = None) -> Setup:
    return Setup(order=order or [0, 1], assignment={"Answerer": index})


async def test_the_critic_critiques_the_proposal_before_the_judge() -> None:
    answerer, critic = mock("answerer", answerer_reply), mock("critic", critic_reply("Critic"))
    transcript = await critique.run(
        question(),
        {"answerer": answerer, "critic": critic},
        config=critique.Config(),
        setup=assigned(1, order=[1, 0]),
    )
    assert [(t.round, t.role, t.speaker, t.answer) for t in transcript.turns] == [
        (0, "answerer", "Answerer", 1),
        (1, "critic", "Critic", None),
    ]
    assert transcript.roles == {"Answerer": "mock/answerer", "Critic": "mock/critic"}
    (proposal,) = sent(answerer)
    (critique_request,) = sent(critic)
    assert f"Propose answer A. {ANSWERS[1]}" in text(proposal)
    assert "Proposal: <quote>forty barrels of salt cod</quote> (verified)" in text(critique_request)
    assert CONTEXT in text(proposal) and CONTEXT in text(critique_request)
    assert transcript.turns[1].quotes[0].verified
    view = JudgeView.from_transcript(transcript)
    assert [t.speaker for t in view.turns] == ["Answerer", "Critic"] and view.context is None
    assert SECRET not in view.model_dump_json()
    assert len(transcript.calls) == 2


async def test_self_critique_uses_the_answerers_model() -> None:
    answerer = mock("answerer", answerer_reply)
    transcript = await critique.run(
        question(),
        {"answerer": answerer},
        config=critique.Config(self_critique=True),
        setup=assigned(0),
    )
    assert transcript.roles == {"Answerer": "mock/answerer", "Critic": "mock/answerer"}
    assert transcript.turns[1].content == "Self-critique: my quote is thin."
    assert len(sent(answerer)) == 2 and transcript.metadata["self_critique"] is True


async def test_several_critiques_a_meta_critique_and_a_refinement() -> None:
    answerer = mock("answerer", answerer_reply)
    critic_1, critic_2 = mock("critic-1", critic_reply("C1")), mock("critic-2", critic_reply("C2"))
    meta = mock("meta", critic_reply("meta"))
    config = critique.Config(critiques=2, critique_of_critique=True, refine=True)
    transcript = await critique.run(
        question(),
        {"answerer": answerer, "critic_1": critic_1, "critic_2": critic_2, "meta_critic": meta},
        config=config,
        setup=assigned(0),
    )
    assert [(t.round, t.speaker, t.visibility) for t in transcript.turns] == [
        (0, "Answerer", "public"),
        (1, "Critic 1", "public"),
        (1, "Critic 2", "public"),
        (2, "Meta-critic", "public"),
        (3, "Answerer", "private"),  # the refinement's choice of answer
        (3, "Answerer", "public"),
    ]
    assert transcript.roles["Critic 2"] == "mock/critic-2"
    assert transcript.roles["Meta-critic"] == "mock/meta"
    (meta_request,) = sent(meta)
    assert "C1: the proposal" in text(meta_request) and "C2: the proposal" in text(meta_request)
    refine_request = sent(answerer)[-1]
    assert "Meta: the critiques overreach." in text(refine_request)
    assert transcript.turns[-1].content.startswith("Refined") and transcript.turns[-1].answer == 0
    assert transcript.critique is not None and transcript.critique.changed is False
    assert len(transcript.calls) == 6


async def test_the_answerer_may_choose_its_answer() -> None:
    answerer, critic = mock("answerer", answerer_reply), mock("critic", critic_reply("Critic"))
    config = critique.Config(answerer_chooses=True)
    transcript = await critique.run(
        question(),
        {"answerer": answerer, "critic": critic},
        config=config,
        setup=Setup(order=[1, 0]),
    )
    # Presented A is original answer 1.
    assert transcript.assignment == {"Answerer": 1}
    assert [(t.visibility, t.answer) for t in transcript.turns[:2]] == [
        ("private", 1),
        ("public", 1),
    ]
    assert [s.assignment for s in critique.setups(question(), config)] == [{}, {}]


async def test_the_judge_asks_after_the_proposal_and_before_the_refinement() -> None:
    judge = ScriptedJudge(["Why cod?", "Is the crate relevant?"])
    answerer, critic = mock("answerer", answerer_reply), mock("critic", critic_reply("Critic"))
    config = critique.Config(
        critique_of_critique=True, refine=True, refine_answer="keep", judge_questions=True
    )
    transcript = await critique.run(
        question(),
        {"answerer": answerer, "critic": critic},
        config=config,
        setup=assigned(0),
        judge=judge,
    )
    assert [(t.round, t.speaker, t.visibility) for t in transcript.turns] == [
        (0, "Answerer", "public"),
        (0, "Judge", "public"),
        (1, "Critic", "public"),
        (2, "Meta-critic", "public"),
        (2, "Judge", "public"),
        (3, "Answerer", "public"),
    ]
    asked = [t.content for t in transcript.turns if t.role == "judge"]
    assert asked == ["Why cod?", "Is the crate relevant?"]
    proposal, refinement = sent(answerer)
    critique_request, meta_request = sent(critic)
    assert "Why cod?" not in text(proposal)
    assert "[Round 1] Judge:\nWhy cod?" in text(critique_request)
    assert "Why cod?" in text(meta_request) and "crate relevant" not in text(meta_request)
    assert "[Round 3] Judge:\nIs the crate relevant?" in text(refinement)
    # The judge reads what was said, never the hidden text.
    assert [[t.speaker for t in v.turns] for v in judge.views] == [
        ["Answerer"],
        ["Answerer", "Judge", "Critic", "Meta-critic"],
    ]
    assert all(v.context is None and SECRET not in v.model_dump_json() for v in judge.views)
    assert all(CONTEXT not in text(r) and SECRET not in text(r) for r in sent(judge.endpoint))


async def test_without_a_refinement_the_judge_asks_once() -> None:
    judge = ScriptedJudge(["Why cod?"])
    answerer, critic = mock("answerer", answerer_reply), mock("critic", critic_reply("Critic"))
    agents = {"answerer": answerer, "critic": critic}
    transcript = await critique.run(
        question(),
        agents,
        config=critique.Config(judge_questions=True),
        setup=assigned(0),
        judge=judge,
    )
    assert [(t.round, t.speaker) for t in transcript.turns] == [
        (0, "Answerer"),
        (0, "Judge"),
        (1, "Critic"),
    ]
    assert len(sent(judge.endpoint)) == 1
    # A judge passed without judge_questions is never asked.
    quiet = ScriptedJudge([])
    plain = await critique.run(
        question(), agents, config=critique.Config(refine=True), setup=assigned(0), judge=quiet
    )
    assert all(t.role != "judge" for t in plain.turns) and sent(quiet.endpoint) == []


async def test_judge_questions_need_a_judge() -> None:
    with pytest.raises(ProtocolError, match="judge_questions is on, but run"):
        await critique.run(
            question(),
            {"answerer": mock("a", answerer_reply), "critic": mock("c", critic_reply("C"))},
            config=critique.Config(judge_questions=True),
            setup=assigned(0),
        )


async def test_a_missing_critic_is_named() -> None:
    with pytest.raises(ProtocolError, match="'critic'"):
        await critique.run(
            question(),
            {"answerer": mock("a", answerer_reply)},
            config=critique.Config(),
            setup=assigned(0),
        )
