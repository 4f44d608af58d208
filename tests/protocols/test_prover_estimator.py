"""Prover–estimator debate: the prover decomposes, the estimator gives probabilities, the
prover chooses where to recurse, and the judge checks only the leaf, without the text."""

from __future__ import annotations

import re

import pytest

from oversight.endpoints import Request
from protocols import prover_estimator as pe
from protocols._tree import decision_probabilities
from protocols.base import Setup
from transcripts import JudgeView, Transcript
from transcripts.errors import ProtocolError, StructuredOutputError

from .scripted import ANSWERS, CONTEXT, SECRET, mock, prompt, properties, question, sent, text


def prover(request: Request) -> object:
    props = properties(request)
    if "subclaims" in props:
        claim = re.search(r"Claim: (.*)", prompt(request))
        assert claim
        return {"subclaims": [f"{claim.group(1)[:20]} part {k}" for k in (1, 2, 3)]}
    if "bet" in props:
        return {"index": 2, "bet": "lower", "reason": "too confident"}
    return "The log says <quote>a crate of brass compass needles</quote>, not <quote>ore</quote>."


def estimator(request: Request) -> object:
    props = properties(request)
    if "probabilities" in props:
        return {"probabilities": {"1": 0.9, "2": 0.6, "3": 0.8}, "reason": "mostly"}
    if "probability" in props:
        return {"probability": 0.7, "reason": "likely"}
    return "The crate is not the point: <quote>forty barrels of salt cod</quote>."


def leaf_judge(request: Request) -> object:
    return {"probability": 0.25, "reason": "the verified quote undercuts it"}


async def run(config: pe.Config, setup: Setup) -> tuple[Transcript, dict[str, object]]:
    agents = {
        "prover": mock("prover", prover),
        "estimator": mock("estimator", estimator),
        "leaf_judge": mock("leaf-judge", leaf_judge),
    }
    transcript = await pe.run(question(), agents, config=config, setup=setup)  # type: ignore[arg-type]
    return transcript, agents  # type: ignore[return-value]


async def test_the_prover_recurses_where_it_bets_and_the_judge_checks_only_the_leaf() -> None:
    setup = Setup(order=[1, 0], assignment={"Prover": 1})
    transcript, agents = await run(pe.Config(depth=2, branching=3), setup)
    tree = transcript.tree
    assert tree is not None and tree.kind == "prover-estimator"
    (root,) = tree.roots
    assert root.id == "A" and root.estimate == 0.7 and root.answer == 1
    assert root.claim == f"Answer A. {ANSWERS[1]} is the correct answer to the question."
    assert [(c.id, c.estimate, c.chosen) for c in root.children] == [
        ("A.1", 0.9, False),
        ("A.2", 0.6, True),
        ("A.3", 0.8, False),
    ]
    step = root.children[1]
    assert step.bet == "lower" and [c.chosen for c in step.children] == [False, True, False]
    leaf = step.children[1]
    assert leaf.id == "A.2.2" and leaf.children == [] and leaf.check == 0.25
    assert leaf.evidence.startswith("The log says") and leaf.justification.startswith("The crate")
    assert [q.verified for q in leaf.quotes] == [True, False, True]
    # The prover bet lower than 0.6 and the judge said 0.25: the prover wins 0.35.
    assert tree.prover_payoff == pytest.approx(0.35)
    # The estimator's root estimate decides: 0.7 on the prover's answer (original 1).
    assert decision_probabilities(transcript) == pytest.approx([0.3, 0.7])
    # Calls: root estimate; per step decompose, estimates, choice; evidence, reply, check.
    assert len(transcript.calls) == 1 + 2 * 3 + 3
    (check,) = sent(agents["leaf_judge"])  # type: ignore[arg-type]
    assert leaf.claim in text(check)
    assert "(verified)" in text(check) and "<quote>ore</quote> (unverified)" in text(check)
    assert CONTEXT not in text(check) and SECRET not in text(check)
    assert root.claim not in text(check) and "0.60" not in text(check)  # only the leaf
    for role in ("prover", "estimator"):
        assert all(CONTEXT in text(r) for r in sent(agents[role]))  # type: ignore[arg-type]


async def test_the_path_is_shown_like_an_rrm_tree_and_leaks_nothing() -> None:
    setup = Setup(order=[0, 1], assignment={"Prover": 0})
    transcript, _ = await run(pe.Config(depth=1, branching=3), setup)
    view = JudgeView.from_transcript(transcript)
    (path,) = view.turns
    assert path.speaker == "Debate path" and path.answer == 0
    lines = path.content.splitlines()
    assert lines[0] == (
        f"[A] Answer A. {ANSWERS[0]} is the correct answer to the question. — estimator 0.70 "
        "(the prover's decomposition into 3 sub-claims)"
    )
    assert lines[2].endswith("— estimator 0.60 <- the prover recursed here: the truth is lower")
    assert "    Judge's check: 0.25" in path.content
    shown = view.model_dump_json()
    assert SECRET not in shown and view.context is None


async def test_depth_zero_checks_the_answers_claim_itself() -> None:
    setup = Setup(order=[0, 1], assignment={"Prover": 0})
    transcript, _ = await run(pe.Config(depth=0, leaf_reply=False), setup)
    assert transcript.tree is not None
    (root,) = transcript.tree.roots
    assert root.children == [] and root.check == 0.25 and root.bet == "higher"
    assert transcript.tree.prover_payoff == pytest.approx(0.25 - 0.7)
    assert len(transcript.calls) == 3


async def test_a_prover_that_picks_no_sub_claim_is_one_clear_error() -> None:
    agents = {
        "prover": mock(
            "p",
            lambda r: (
                {"index": 9, "bet": "lower", "reason": ""} if "bet" in properties(r) else prover(r)
            ),
        ),
        "estimator": mock("e", estimator),
        "leaf_judge": mock("j", leaf_judge),
    }
    with pytest.raises((ProtocolError, StructuredOutputError), match=r"not one of|chose no"):
        await pe.run(
            question(),
            agents,
            config=pe.Config(depth=1),  # type: ignore[arg-type]
            setup=Setup(order=[0, 1], assignment={"Prover": 0}),
        )


def test_setups_assign_the_prover_every_answer_in_every_order() -> None:
    labels = [s.label for s in pe.setups(question(), pe.Config())]
    assert labels == ["o01-a0", "o10-a0", "o01-a1", "o10-a1"]
