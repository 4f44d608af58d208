"""Critique as in Saunders et al.: refinement may change the answer, critiques of given and
planted-flaw answers, helpfulness ratings, and the GDC probes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from oversight.endpoints import Request
from protocols import critique
from protocols.base import Setup
from transcripts import JudgeView
from transcripts.errors import ConfigError

from .scripted import ANSWERS, CONTEXT, SECRET, mock, properties, question, sent, text

FLAW = "It says the cargo was iron ore, but the log lists salt cod."
GIVEN = {
    "answer": 1,
    "justification": "The hold was full of ore: <quote>forty barrels of salt cod</quote>.",
    "flawed": True,
    "flaw": FLAW,
}


def given_question():
    q = question()
    return q.model_copy(update={"metadata": {"given_answer": GIVEN}})


def answerer(request: Request) -> object:
    if "answer" in properties(request):
        # Proposes what it is assigned, then switches to A (original answer 1 shown first).
        return {"answer": "A" if "change your answer" in text(request) else "B", "reason": "r"}
    if "refined justification" in text(request):
        return "Refined: the critic is right, <quote>forty barrels of salt cod</quote> is wrong."
    return "Proposal: <quote>forty barrels of salt cod</quote>."


def critic(request: Request) -> object:
    props = properties(request)
    if "p_flawed" in props:
        return {"p_flawed": 0.9, "reason": "the quote says cod"}
    if "answer" in props:
        return {"answer": "B", "reason": "cod"}
    return "The proposal misreads <quote>forty barrels of salt cod</quote>."


def rater(request: Request) -> object:
    return {
        "helpfulness": 6,
        "real_flaw": True,
        "identifies_key": True,
        "claims_flaw": True,
        "reason": "on point",
    }


async def test_the_refinement_may_change_the_answer_and_the_judge_sees_the_new_one() -> None:
    agents = {"answerer": mock("answerer", answerer), "critic": mock("critic", critic)}
    transcript = await critique.run(
        question(),
        agents,
        config=critique.Config(refine=True),
        setup=Setup(order=[1, 0], assignment={"Answerer": 0}),
    )
    outcome = transcript.critique
    assert outcome is not None
    assert (outcome.critiqued, outcome.final_answer, outcome.changed) == (0, 1, True)
    refined = transcript.turns[-1]
    assert refined.visibility == "public" and refined.answer == 1
    assert f"refined justification of answer A. {ANSWERS[1]}" in text(sent(agents["answerer"])[-1])
    view = JudgeView.from_transcript(transcript)
    # Presented position 0 is original answer 1: the judge reads the Answerer now argues A.
    assert [(t.speaker, t.answer) for t in view.turns] == [
        ("Answerer", 1),
        ("Critic", None),
        ("Answerer", 0),
    ]
    assert transcript.assignment == {"Answerer": 0}


async def test_a_given_flawed_answer_is_critiqued_and_rated_with_the_key() -> None:
    q = given_question()
    config = critique.Config(target="given", rate="key")
    (setup, _) = critique.setups(q, config)
    assert setup.assignment == {"Answerer": 1}
    agents = {"critic": mock("critic", critic), "rater": mock("rater", rater)}
    transcript = await critique.run(q, agents, config=config, setup=setup)
    proposal = transcript.turns[0]
    assert proposal.call is None and proposal.content == GIVEN["justification"]
    assert proposal.answer == 1 and proposal.quotes[0].verified
    outcome = transcript.critique
    assert outcome is not None and outcome.flawed is True and outcome.flaw == FLAW
    (rating,) = outcome.ratings
    assert (rating.critique, rating.helpfulness, rating.real_flaw) == ("Critic", 6, True)
    assert rating.identifies_key is True and rating.saw_key is True
    (rated,) = sent(agents["rater"])
    assert FLAW in text(rated) and CONTEXT in text(rated)
    assert "misreads" in text(rated)  # the critique it rates
    # Neither the critic nor the judge learns the key.
    assert all(FLAW not in text(r) for r in sent(agents["critic"]))
    view = JudgeView.from_transcript(transcript).model_dump_json()
    assert FLAW not in view and SECRET not in view


async def test_a_blind_rater_sees_what_the_judge_sees() -> None:
    agents = {
        "answerer": mock("answerer", answerer),
        "critic": mock("critic", critic),
        "rater": mock("rater", rater),
    }
    transcript = await critique.run(
        question(),
        agents,
        config=critique.Config(rate="blind"),
        setup=Setup(order=[0, 1], assignment={"Answerer": 0}),
    )
    (rated,) = sent(agents["rater"])
    assert CONTEXT not in text(rated) and SECRET not in text(rated)
    assert "The proposal misreads" in text(rated)
    outcome = transcript.critique
    assert outcome is not None
    assert outcome.ratings[0].saw_key is False and outcome.ratings[0].identifies_key is None


async def test_a_blind_rater_of_a_known_flawed_answer_records_no_verdict_on_the_key() -> None:
    # It never read the key, so "identifies the key" is not its to say (None, as documented).
    q = given_question()
    config = critique.Config(target="given", rate="blind")
    agents = {"critic": mock("critic", critic), "rater": mock("rater", rater)}
    transcript = await critique.run(q, agents, config=config, setup=critique.setups(q, config)[0])
    outcome = transcript.critique
    assert outcome is not None and outcome.flawed is True
    (rating,) = outcome.ratings
    assert rating.saw_key is False and rating.identifies_key is None
    assert FLAW not in text(sent(agents["rater"])[0])


def planter(request: Request) -> object:
    return {
        "justification": "Planted: the log says <quote>a crate of brass compass needles</quote>.",
        "flaw": "The needles are not the main cargo.",
    }


async def test_planted_flaws_give_a_clean_and_a_flawed_copy_of_the_gold_justification() -> None:
    q = question()
    config = critique.Config(target="planted", gdc=True)
    assert config.rate == "key"
    labels = [(s.label, s.variant, s.assignment) for s in critique.setups(q, config)]
    assert labels == [
        ("o01-a0-clean", "clean", {"Answerer": 0}),
        ("o10-a0-clean", "clean", {"Answerer": 0}),
        ("o01-a0-planted", "planted", {"Answerer": 0}),
        ("o10-a0-planted", "planted", {"Answerer": 0}),
    ]
    agents = {
        "answerer": mock("answerer", answerer),
        "planter": mock("planter", planter),
        "critic": mock("critic", critic),
        "rater": mock("rater", rater),
    }
    flawed = await critique.run(q, agents, config=config, setup=critique.setups(q, config)[2])
    public = [t for t in flawed.turns if t.visibility == "public"]
    assert public[0].content.startswith("Planted:") and public[0].speaker == "Answerer"
    assert public[0].call is not None and public[0].call.endpoint == "mock/planter"
    outcome = flawed.critique
    assert outcome is not None
    assert (outcome.flawed, outcome.flaw) == (True, "The needles are not the main cargo.")
    assert (outcome.generated, outcome.p_flawed) == (1, 0.9)  # "B" in order 0, 1
    view = JudgeView.from_transcript(flawed).model_dump_json()
    assert "Proposal:" not in view and "main cargo" not in view  # no draft, no key
    # The critic's probes and critique never see the key.
    assert all("main cargo" not in text(r) for r in sent(agents["critic"]))
    clean = await critique.run(q, agents, config=config, setup=critique.setups(q, config)[0])
    assert clean.critique is not None and clean.critique.flawed is False
    assert clean.critique.ratings[0].identifies_key is None
    # Of the known-good answer the key-reading rater says whether the critique claims a flaw
    # at all (it does: "misreads ..."), which GDC scores as a wrong critique.
    assert clean.critique.ratings[0].claims_flaw is True
    (graded,) = [r for r in sent(agents["rater"]) if "known to be correct" in text(r)]
    assert "claims_flaw" in text(graded)
    assert clean.turns[0].content.startswith("Proposal:")


def test_bad_options_and_missing_data_say_what_to_do() -> None:
    with pytest.raises(ValidationError, match="gdc needs answers known to be good or flawed"):
        critique.Config(gdc=True)
    with pytest.raises(ConfigError, match=r"has no metadata\.given_answer"):
        critique.setups(question(), critique.Config(target="given"))
    with pytest.raises(ConfigError, match="no gold answer"):
        critique.setups(question(correct=None), critique.Config(target="planted"))
    assert critique.needed_roles(critique.Config(target="given", rate="blind")) == (
        "critic",
        "rater",
    )


async def test_a_given_answer_to_a_question_without_a_source_text_has_no_quote_marks() -> None:
    """On a closed question (MMLU, GPQA) nothing can be verified: the dataset's quote tags
    become plain quotation marks, as a speaker's do, not quotes marked unverified."""
    q = given_question().model_copy(update={"context": None})
    config = critique.Config(target="given", rate="key")
    (setup, _) = critique.setups(q, config)
    agents = {"critic": mock("critic", critic), "rater": mock("rater", rater)}
    transcript = await critique.run(q, agents, config=config, setup=setup)
    proposal = transcript.turns[0]
    assert proposal.content == 'The hold was full of ore: "forty barrels of salt cod".'
    assert proposal.quotes == []
