"""Recursive reward modeling with a weak evaluator: the evaluator never reads the hidden text
at any depth; assistants answer its sub-questions; every answer is itself evaluated."""

from __future__ import annotations

import re

import pytest

from oversight.endpoints import Request
from protocols import rrm
from protocols.base import Setup
from transcripts import JudgeView, Transcript
from transcripts.errors import ConfigError

from .scripted import ANSWERS, CONTEXT, SECRET, mock, prompt, properties, question, sent, text


def evaluator(request: Request) -> dict[str, object]:
    """Asks two questions about whatever it evaluates; trusts salt cod, doubts iron ore."""
    claim = re.search(r"Claim(?: to evaluate)?: (.*)", prompt(request))
    assert claim, prompt(request)
    if "questions" in properties(request):
        return {"questions": [f"Q{k} on {claim.group(1)[:40]}?" for k in (1, 2)] + ["extra?"]}
    doubt = "Iron ore" in claim.group(1) or "Iron ore" in prompt(request).split("\n\n")[1]
    depth = claim.group(1).count('"Q')
    return {"score": 0.2 if doubt else 0.9 - 0.1 * depth, "justification": "weighed"}


def assistant(request: Request) -> str:
    asked = re.search(r"The evaluator asks: (.*)", prompt(request))
    assert asked
    cited = "<quote>forty barrels of salt cod</quote>, not <quote>gold</quote>"
    return f"For {asked.group(1)}: {cited}."


async def run(config: rrm.Config, order: list[int]) -> tuple[Transcript, object, object]:
    helper, judge = mock("assistant", assistant), mock("evaluator", evaluator)
    transcript = await rrm.run(
        question(),
        {"assistant": helper, "evaluator": judge},
        config=config,
        setup=Setup(order=order),
    )
    return transcript, helper, judge


async def test_the_weak_evaluator_never_receives_the_hidden_text_at_any_depth() -> None:
    for depth in (0, 1, 2, 3):
        transcript, helper, judge = await run(rrm.Config(depth=depth, branching=2), [1, 0])
        requests = sent(judge)  # type: ignore[arg-type]
        assert requests, depth
        for request in requests:
            assert CONTEXT not in text(request) and SECRET not in text(request)
            assert "Kestrel Bay in the spring" not in text(request)
        # The assistants, who answer its questions, read the text in every request.
        assert all(CONTEXT in text(r) for r in sent(helper))  # type: ignore[arg-type]
        view = JudgeView.from_transcript(transcript).model_dump_json()
        assert SECRET not in view and CONTEXT not in view


async def test_every_answer_is_itself_evaluated_with_assistance_down_to_depth() -> None:
    transcript, helper, judge = await run(rrm.Config(depth=2, branching=2), [0, 1])
    # Per answer: the root asks 2 (the extra question is dropped), each answer is evaluated by
    # asking 2 more, whose answers are judged on their face: evaluator calls 1 + 2*(1+2+1) + 1.
    assert len(sent(judge)) == 2 * 10 and len(sent(helper)) == 2 * 6  # type: ignore[arg-type]
    assert transcript.tree is not None and transcript.tree.kind == "rrm"
    salt = transcript.tree.roots[0]
    assert [c.id for c in salt.children] == ["A.1", "A.2"]
    assert [g.id for g in salt.children[0].children] == ["A.1.1", "A.1.2"]
    first = salt.children[0]
    assert first.question.startswith("Q1 on Answer A. Salt cod")
    assert first.reply.startswith("For Q1 on Answer A.") and first.score == pytest.approx(0.8)
    assert salt.children[0].children[0].score == pytest.approx(0.7)
    assert [q.verified for q in first.quotes] == [True, False]
    # The reward is the evaluator's assisted judgment of the claim.
    assert transcript.tree.rewards == pytest.approx([0.9, 0.2])
    assert transcript.tree.probabilities == pytest.approx([0.9 / 1.1, 0.2 / 1.1])
    assert transcript.tree.decide == "rewards"
    # The evaluator judged each claim with its sub-evaluations' answers, trust and quote marks.
    root_judgment = next(
        r
        for r in sent(judge)  # type: ignore[arg-type]
        if "justification" in properties(r) and prompt(r).startswith("Claim: Answer A.")
    )
    assert "[A.1] Q: Q1 on Answer A." in prompt(root_judgment)
    assert "— trusted 0.80" in prompt(root_judgment)
    assert "<quote>forty barrels of salt cod</quote> (verified)" in prompt(root_judgment)
    assert "<quote>gold</quote> (unverified)" in prompt(root_judgment)
    # Every call is recorded on one private turn naming its node.
    private = [t for t in transcript.turns if t.visibility == "private"]
    assert len(private) == len(transcript.calls) == 2 * 16
    assert all("node" in t.metadata for t in private)


async def test_the_judge_reads_each_tree_with_questions_answers_and_trust() -> None:
    transcript, _, _ = await run(rrm.Config(depth=1, branching=2), [1, 0])
    view = JudgeView.from_transcript(transcript)
    assert [(t.speaker, t.answer) for t in view.turns] == [
        ("Evaluation tree", 0),
        ("Evaluation tree", 1),
    ]
    shown = view.turns[1].content
    assert shown.splitlines()[0] == (
        f"[B] Answer B. {ANSWERS[0]} is the correct answer to the question. — score 0.90 "
        "(weak evaluator's judgment with 2 sub-questions)"
    )
    assert "    [B.1] Q: Q1 on Answer B. Salt cod" in shown and "— trusted 0.80" in shown
    assert [q.verified for q in view.turns[1].quotes][:2] == [True, False]


async def test_depth_zero_is_the_weak_evaluator_alone() -> None:
    transcript, helper, judge = await run(rrm.Config(depth=0), [0, 1])
    assert sent(helper) == [] and len(sent(judge)) == 2  # type: ignore[arg-type]
    assert transcript.tree is not None
    assert [r.children for r in transcript.tree.roots] == [[], []]


async def test_no_prompt_override_can_show_the_evaluator_the_text() -> None:
    config = rrm.Config(depth=1, prompts={"render_weak_judge_prompt": "{claim} {context}"})
    with pytest.raises(ConfigError, match="unknown field 'context'"):
        await run(config, [0, 1])


async def test_on_a_question_without_a_source_text_no_tree_text_is_marked() -> None:
    """The evaluator's justification, like every speech, keeps its quote tags only where a
    source text can verify them; on a closed question they are plain quotation marks."""

    def quoting(request: Request) -> dict[str, object]:
        reply = evaluator(request)
        if "justification" in reply:
            reply["justification"] = "as <quote>the log says</quote>"
        return reply

    helper, judge = mock("assistant", assistant), mock("evaluator", quoting)
    transcript = await rrm.run(
        question(context=None),
        {"assistant": helper, "evaluator": judge},
        config=rrm.Config(depth=1, branching=2),
        setup=Setup(order=[0, 1]),
    )
    view = JudgeView.from_transcript(transcript)
    assert view.turns and all(t.quotes == [] for t in view.turns)
    assert all("<quote>" not in t.content for t in view.turns)
    assert '"the log says"' in view.turns[0].content


async def test_the_evaluator_reads_the_answer_it_is_asked_to_trust() -> None:
    # A sub-evaluation scores "the assistant's answer to Q is accurate"; the evaluator was
    # asked that (and asked its own sub-questions about it) without the answer in view, so
    # every trust score, and the rewards built on them, judged an answer it never read.
    transcript, _, judge = await run(rrm.Config(depth=2, branching=2), [0, 1])
    assert transcript.tree is not None
    reply = transcript.tree.roots[0].children[0]  # A.1: the answer to the root's first question
    about = [
        r
        for r in sent(judge)  # type: ignore[arg-type]
        if prompt(r).splitlines()[0].endswith(f'"{reply.question}" is accurate and complete.')
    ]
    asked, judged = (
        [r for r in about if "questions" in properties(r)],
        [r for r in about if "justification" in properties(r)],
    )
    assert len(asked) == 1 and len(judged) == 1
    for request in asked + judged:
        assert f"For {reply.question}:" in prompt(request)
        # Marked as the evaluator reads every assistant's answer: verified or not.
        assert "<quote>forty barrels of salt cod</quote> (verified)" in prompt(request)
        assert "<quote>gold</quote> (unverified)" in prompt(request)
    # At the bottom, an answer is judged on its face: there, too, it is in view.
    leaf = reply.children[0]
    bottom = [
        r
        for r in sent(judge)  # type: ignore[arg-type]
        if prompt(r).splitlines()[0].endswith(f'"{leaf.question}" is accurate and complete.')
    ]
    assert bottom and all(f"For {leaf.question}:" in prompt(r) for r in bottom)
