"""Parts of :mod:`protocols.critique` beyond its main line: the answer critiqued (the
answerer's own, a dataset's given answer, or a gold justification with a planted flaw),
the GDC probes (generation and discrimination) and the critique raters."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from oversight.endpoints import strict_object
from protocols import _turns
from protocols._common import cut_to_limit
from protocols.prompts import critique as prompts
from transcripts import CritiqueRating, Question, Turn
from transcripts.errors import ConfigError, ProtocolError
from transcripts.quotes import as_said, verify_quotes

__all__ = [
    "GIVEN_KEY",
    "GivenAnswer",
    "Planted",
    "discriminate",
    "generate",
    "given_answer",
    "given_turn",
    "plant",
    "rate",
]

GIVEN_KEY = "given_answer"
"""Key of ``Question.metadata`` holding a :class:`GivenAnswer` (a dataset's answer to critique)."""

Target = Literal["own", "given", "planted"]

FLAWED_SCHEMA = strict_object({"p_flawed": {"type": "number"}, "reason": {"type": "string"}})
"""Structured reply of the discrimination probe: the probability the answer is flawed."""

PLANT_SCHEMA = strict_object({"justification": {"type": "string"}, "flaw": {"type": "string"}})
"""Structured reply of the planter: the flawed justification and the key (what is wrong)."""

RATING_SCHEMA = strict_object(
    {
        "helpfulness": {"type": "integer", "minimum": 1, "maximum": 7},
        "real_flaw": {"type": "boolean"},
        "identifies_key": {"type": "boolean"},
        "claims_flaw": {"type": "boolean"},
        "reason": {"type": "string"},
    }
)
"""Structured reply of a critique rater."""


class GivenAnswer(BaseModel):
    """An answer a dataset supplies for critique, with what is known about it.

    Stored in ``Question.metadata["given_answer"]``; the JSONL loader fills it from a
    ``given_answer`` field, e.g.::

        {"id": "q1", "question": "...", "answers": ["...", "..."], "correct": 0,
         "given_answer": {"answer": "Iron ore", "justification": "...", "flawed": true,
                          "flaw": "It misreads the date in the second paragraph."}}
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    answer: int | str
    """The answer given: its 0-based index in the dataset's answers, or its text (text
    survives ``dataset.answers`` cutting or shuffling the answers)."""
    justification: str = Field(min_length=1)
    """Its justification, as the judge will read it (quotes in ``<quote>`` tags)."""
    flawed: bool | None = None
    """Known truth: the answer (or its justification) is flawed; None when unknown."""
    flaw: str | None = None
    """The key: what is wrong, for a known-flawed answer. Never shown to the judge."""


def given_answer(question: Question) -> GivenAnswer:
    """The question's given answer, ``answer`` resolved to an index; a clear error naming the
    question when it has none or it is invalid."""
    raw = question.metadata.get(GIVEN_KEY)
    if raw is None:
        raise ConfigError(
            f"question {question.id!r} has no metadata.{GIVEN_KEY}, which critique with "
            "target = 'given' critiques; give each record of a JSONL dataset a given_answer "
            "field {answer, justification, flawed, flaw}, or use target = 'planted' to plant "
            "flaws in gold justifications"
        )
    try:
        given = GivenAnswer.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(
            f"question {question.id!r}: metadata.{GIVEN_KEY} is invalid: {err}"
        ) from err
    index = given.answer
    if isinstance(index, str):
        index = question.answers.index(index) if index in question.answers else -1
    if not 0 <= index < len(question.answers):
        raise ConfigError(
            f"question {question.id!r}: metadata.{GIVEN_KEY}.answer = {given.answer!r} is "
            f"neither the text of one of its answers {question.answers} nor an index into them"
        )
    return given.model_copy(update={"answer": index})


def given_turn(rec: _turns.Recorder, given: GivenAnswer) -> Turn:
    """The dataset's answer as the judge reads it: the Answerer's proposal (no model call)."""
    content = as_said(given.justification, rec.question.context)
    return Turn(
        role="answerer",
        speaker="Answerer",
        round=0,
        content=content,
        answer=int(given.answer),  # resolved to an index by given_answer()
        quotes=verify_quotes(content, rec.question.context),
        metadata={"given": True},
    )


class Planted(BaseModel):
    """A planted flaw: the public proposal and its key."""

    model_config = ConfigDict(frozen=True)

    turn: Turn
    """The flawed proposal, shown to the judge as the Answerer's."""
    flaw: str
    """What was planted."""


async def plant(rec: _turns.Recorder, planter: _turns.Voice, draft: Turn) -> Planted:
    """``draft`` rewritten by the planter with one flaw; the proposal and the key."""
    ask = rec.prompt(
        prompts.render_plant_prompt,
        justification=draft.content,
        side=rec.side(draft.answer if draft.answer is not None else rec.order[0]),
    )
    done = await planter.complete(ask, schema=PLANT_SCHEMA)
    parsed = done.parsed if isinstance(done.parsed, dict) else {}
    text, flaw = str(parsed.get("justification", "")).strip(), str(parsed.get("flaw", "")).strip()
    if not text or not flaw:
        raise ProtocolError(
            f"the planter gave no flawed justification and key: {done.text[:200]!r}"
        )
    speech = rec.speech
    content, cut = cut_to_limit(
        as_said(text, rec.question.context),
        word_limit=speech.word_limit,
        char_limit=speech.char_limit,
    )
    proposal = draft.model_copy(
        update={
            "content": content,
            "truncated": cut,
            "quotes": verify_quotes(content, rec.question.context),
            "call": done.call,
            "metadata": {"planted": True},
        }
    )
    return Planted(turn=proposal, flaw=flaw)


async def discriminate(rec: _turns.Recorder, critic: _turns.Voice) -> tuple[float, Turn]:
    """The critic's probability that the proposal is flawed, asked before it critiques."""
    ask = rec.prompt(prompts.render_discriminate_prompt, transcript=rec.history())
    done = await critic.complete(ask, schema=FLAWED_SCHEMA)
    parsed = done.parsed if isinstance(done.parsed, dict) else {}
    try:
        p = min(1.0, max(0.0, float(parsed["p_flawed"])))
    except (KeyError, TypeError, ValueError) as err:
        raise ProtocolError(f"the critic gave no p_flawed: {done.text[:200]!r}") from err
    return p, critic.aside(done, kind="discrimination", p_flawed=p)


async def generate(rec: _turns.Recorder, critic: _turns.Voice) -> tuple[int, Turn]:
    """The answer the critic's model gives on its own (generation), as a private turn."""
    before = dict(rec.assignment)
    chosen = await critic.choose(rec.prompt(prompts.render_generate_prompt), allowed=rec.order)
    rec.assignment.clear()
    rec.assignment.update(before)  # generation is a probe: nobody is assigned by it
    turn = rec.turns.pop()  # choose() recorded its choice; it is re-labelled as a probe
    assert chosen.answer is not None
    return chosen.answer, turn.model_copy(update={"metadata": {"kind": "generation"}})


async def rate(
    rec: _turns.Recorder,
    rater: _turns.Voice,
    critique: Turn,
    *,
    saw_key: bool,
    flawed: bool | None,
    key: str | None,
) -> tuple[CritiqueRating, Turn]:
    """One rater's verdict on ``critique``; with ``saw_key`` the rater was cast with the
    hidden text in its system prompt and reads what is known about the answer."""
    render = prompts.render_key_rating_prompt if saw_key else prompts.render_rating_prompt
    known = (
        f"The answer is known to be flawed: {key}"
        if flawed
        else "The answer is known to be correct and well justified."
        if flawed is False
        else "Nothing is known about the answer."
    )
    ask = rec.prompt(render, transcript=rec.history(), critic=critique.speaker, key=known)
    done = await rater.complete(ask, schema=RATING_SCHEMA)
    parsed = done.parsed if isinstance(done.parsed, dict) else {}
    try:
        rating = CritiqueRating(
            critique=critique.speaker,
            helpfulness=min(7, max(1, int(parsed["helpfulness"]))),
            real_flaw=bool(parsed["real_flaw"]),
            identifies_key=bool(parsed["identifies_key"]) if flawed and saw_key else None,
            claims_flaw=bool(parsed["claims_flaw"]),
            saw_key=saw_key,
            reason=str(parsed.get("reason", "")),
            rater=rater.endpoint.spec,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ProtocolError(f"the rater gave no valid rating: {done.text[:200]!r}") from err
    return rating, rater.aside(done, kind="rating", critique=critique.speaker)
