"""Critique (after Saunders et al. 2022, "Self-critiquing models for assisting human evaluators").

An answer with its justification is put to the judge, who cannot read the hidden source
text; critics, who can, point out its flaws; the judge decides with the critiques in view.
Rounds: 0 the proposal, 1 the critiques, then (optionally) a critique of the critiques,
then (optionally) the answerer's refinement, which may change the answer: the judge then
reads the refined answer, marked as the one the Answerer now argues.

The answer critiqued (``target``): the answerer's own (assigned, or chosen with
``answerer_chooses``), a dataset's given answer (``Question.metadata["given_answer"]``,
see :class:`protocols._critique.GivenAnswer`), or the answerer's justification of the gold
answer, once as written (``clean``) and once with a flaw a planter model plants in it
(``planted``): a built-in set of known-good and known-flawed answers.

Ratings (``rate``): a rater rates each critique's helpfulness (1-7) and whether it points at
a real flaw, as the paper's labellers did; ``blind`` raters see what the judge sees,
``key`` raters read the source text and what is known about the answer (the planted or
given flaw), and also say whether the critique identifies that flaw.

GDC (``gdc = true``): the critic's model is also asked, apart, for its own answer
(generation) and, before it critiques, for the probability that the answer is flawed
(discrimination); with key ratings this is what :mod:`oversight.analysis` turns into the
generator–discriminator–critique gaps. Everything measured is in ``transcript.critique``.

Options: self-critique (the answerer's own endpoint writes the critiques), several
independent critiques, a critique of the critiques, judge questions after the proposal and
before the refinement. With ``live_judge`` the judge instead states its beliefs before the
proposal and after every round, may ask a question, and ends the critique or hears the next
round (Michael et al. 2023's live judge; see :mod:`protocols.live`).

Agents: ``answerer`` (not needed for a given answer unless it is refined); ``critic`` (or
``critic_1``, ``critic_2``, ... one each) unless ``self_critique``; ``meta_critic``
optionally; ``planter`` for ``target = "planted"``; ``rater`` when ``rate`` is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from protocols import _common, _critique, _turns
from protocols.base import ProtocolSpec, Setup
from protocols.live import Live, LiveOptions
from protocols.prompts import critique as prompts
from transcripts import CritiqueOutcome, Question, Transcript, Turn
from transcripts._validation import Integer
from transcripts.errors import ConfigError

if TYPE_CHECKING:
    from judges.base import Judge
    from oversight.endpoints import Endpoint

__all__ = ["ANSWERER", "PROTOCOLS", "ROLES", "Config", "needed_roles", "run", "setups"]

ROLES: tuple[str, ...] = ()
"""Roles every critique needs: none in every configuration (a given answer needs no
answerer, self-critique no critic); :func:`needed_roles` says which a configuration needs."""

ANSWERER = "Answerer"
"""The answerer's speaker label."""


class Config(_common.SpeakerConfig, LiveOptions):
    """Options of a critique."""

    target: Literal["own", "given", "planted"] = "own"
    """The answer critiqued: the answerer's own, the dataset's given answer, or the gold
    justification as written (``clean``) and with a planted flaw (``planted``)."""
    critiques: Integer = Field(default=1, ge=1)
    """Independent critiques of the proposal (speakers ``Critic 1``, ... when more than one)."""
    self_critique: bool = False
    """The answerer's own endpoint writes the critiques."""
    critique_of_critique: bool = False
    """A meta-critic then points out what the critiques got wrong or missed."""
    refine: bool = False
    """The answerer finally refines its answer with the critiques in view."""
    refine_answer: Literal["may_change", "keep"] = "may_change"
    """In the refinement the answerer may switch to another answer (the judge sees the new
    one), or must keep its answer and only re-justify it."""
    answerer_chooses: bool = False
    """The answerer picks the answer it proposes instead of being assigned one (own target)."""
    judge_questions: bool = False
    """The judge may ask a question after the proposal, and before the refinement if any."""
    rate: Literal["off", "blind", "key"] = "off"
    """Rate every critique: a ``blind`` rater sees what the judge sees; a ``key`` rater reads
    the source text and what is known about the answer."""
    gdc: bool = False
    """Also measure generation and discrimination with the (first) critic's model; needs a
    known-good/known-flawed target (``given`` or ``planted``) and ``rate = "key"``."""
    sides: _common.Sides = "all"
    """Which answers the answerer is assigned across setups (own target; all when gold is
    unknown)."""
    word_limit: Integer | None = Field(default=250, ge=1)
    """Most words per turn (quoted words count); longer turns are cut and marked."""

    @model_validator(mode="before")
    @classmethod
    def _gdc_rates_with_the_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("gdc") and data.get("rate", "off") == "off":
            data = {**data, "rate": "key"}  # critique accuracy is judged with the key
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        if self.gdc and self.target == "own":
            raise ValueError(
                "gdc needs answers known to be good or flawed: set target = 'planted' (flaws "
                "planted in gold justifications) or 'given' (the dataset's given answers)"
            )
        if self.gdc and self.rate != "key":
            raise ValueError("gdc judges critique accuracy with the key: set rate = 'key'")
        if self.answerer_chooses and self.target != "own":
            raise ValueError("answerer_chooses applies to target = 'own' only")
        if self.self_critique and self.target == "given" and not self.refine:
            raise ValueError("self_critique needs an answerer; a given answer has none")
        return self


def needed_roles(config: Config) -> tuple[str, ...]:
    """The roles ``config`` needs bound."""
    roles = [] if config.target == "given" and not config.refine else ["answerer"]
    roles += [] if config.self_critique else ["critic"]
    roles += ["planter"] if config.target == "planted" else []
    roles += ["rater"] if config.rate != "off" else []
    return tuple(roles)


def setups(question: Question, config: Config) -> list[Setup]:
    """Per answer order: one setup per assigned answer (own target), the given answer, or
    the gold justification clean and planted."""
    if config.target == "given":
        given = _critique.given_answer(question)
        return _common.counterbalance(question, [{ANSWERER: int(given.answer)}])
    if config.target == "planted":
        if question.correct is None:
            raise ConfigError(
                f"question {question.id!r} has no gold answer, so no flaw can be planted in "
                "its gold justification; use questions with a gold answer"
            )
        clean = _common.counterbalance(question, [{ANSWERER: question.correct}])
        return [
            s.model_copy(update={"variant": v, "label": f"{s.label}-{v}"})
            for v in ("clean", "planted")
            for s in clean
        ]
    if config.answerer_chooses:
        return _common.counterbalance(question, [])
    assigned = [{ANSWERER: i} for i in _common.sides(question, config.sides)]
    return _common.counterbalance(question, assigned)


async def run(
    question: Question,
    agents: Mapping[str, Endpoint],
    *,
    config: Config | None = None,
    setup: Setup | None = None,
    judge: Judge | None = None,
) -> Transcript:
    """Run one critique (by default with ``Config()`` and the first setup)."""
    config = config or Config()
    setup = setup or setups(question, config)[0]
    config.check_prompts(prompts)
    rec = _turns.Recorder(
        "critique",
        question,
        config,
        setup,
        speakers=None if config.answerer_chooses else [ANSWERER],
        judge=judge,
        judge_questions=config.judge_questions,
    )
    system = rec.prompt(prompts.render_answerer_system)
    answerer = (
        rec.cast(agents, ANSWERER, "answerer", role="answerer", system=system)
        if "answerer" in needed_roles(config)
        else None
    )
    critic_system = rec.prompt(prompts.render_critic_system)

    def critic(label: str, *keys: str) -> _turns.Voice:
        keys = ("answerer",) if config.self_critique else keys
        return rec.cast(agents, label, *keys, role="critic", system=critic_system)

    many = config.critiques > 1
    labels = [f"Critic {i + 1}" for i in range(config.critiques)] if many else ["Critic"]
    critics = [critic(c, f"critic_{i + 1}", "critic") for i, c in enumerate(labels)]
    meta = critic("Meta-critic", "meta_critic", "critic") if config.critique_of_critique else None
    outcome: dict[str, Any] = {"target": config.target}
    # A live judge may end the critique after any round (proposal, critiques, meta, refine).
    live = Live(rec, config, judge)
    stages = 2 + (meta is not None) + config.refine
    rounds = min(live.rounds(stages), stages)
    await live.opening()

    # Round 0: the answer critiqued.
    if config.target == "given":
        given = _critique.given_answer(question)
        rec.add(_critique.given_turn(rec, given))
        outcome.update(flawed=given.flawed, flaw=given.flaw)
    else:
        assert answerer is not None
        if config.answerer_chooses:
            answerer = await answerer.choose(
                rec.prompt(prompts.render_answerer_choice), allowed=rec.order
            )
        answerer = answerer.arguing(rec.assignment[ANSWERER])
        side = rec.side(rec.assignment[ANSWERER])
        proposal = await answerer.say(rec.prompt(prompts.render_answer_prompt, side=side), round=0)
        if setup.variant == "planted":
            planter = rec.cast(
                agents,
                "Planter",
                "planter",
                role="answerer",
                system=rec.prompt(prompts.render_planter_system),
            )
            planted = await _critique.plant(rec, planter, proposal)
            rec.add(
                proposal.model_copy(
                    update={"visibility": "private", "metadata": {"kind": "unflawed draft"}}
                )
            )
            proposal = planted.turn
            outcome.update(flawed=True, flaw=planted.flaw)
        elif config.target == "planted":
            outcome.update(flawed=False)
        rec.add(proposal)
    critiqued = rec.assignment[ANSWERER]
    outcome.update(critiqued=critiqued, final_answer=critiqued)
    go = await live.after_round(0, last=rounds == 1)

    # GDC probes with the first critic's model, before any critique is written.
    if config.gdc:
        outcome["generated"], generated = await _critique.generate(rec, critics[0])
        outcome["p_flawed"], discriminated = await _critique.discriminate(rec, critics[0])
        rec.add(generated, discriminated)

    async def critique(voice: _turns.Voice) -> Turn:
        prompt = rec.prompt(
            prompts.render_critique_prompt, speaker=voice.speaker, transcript=rec.history()
        )
        return await voice.say(prompt, round=1)

    written = await rec.each(critique, critics) if go else []
    rec.add(*written)
    r = 2
    # Judge questions come before the refinement, which answers them.
    if go:
        go = await live.after_round(1, last=rounds == 2, ask=meta is None and config.refine)
    if go and meta is not None:
        prompt = rec.prompt(prompts.render_meta_critique_prompt, transcript=rec.history())
        rec.add(await meta.say(prompt, round=r))
        go = await live.after_round(r, last=rounds == r + 1, ask=config.refine)
        r += 1
    if go and config.refine:
        assert answerer is not None
        voice = answerer.arguing(critiqued)
        if config.refine_answer == "may_change":
            choice = rec.prompt(prompts.render_refine_choice, transcript=rec.history())
            voice = await voice.choose(choice, allowed=rec.order)
            rec.assignment[ANSWERER] = critiqued  # the assignment stays what was critiqued
            chose = rec.turns.pop()
            rec.add(chose.model_copy(update={"round": r, "metadata": {"kind": "refined choice"}}))
        final = voice.answer if voice.answer is not None else critiqued
        prompt = rec.prompt(
            prompts.render_refine_prompt, transcript=rec.history(), side=rec.side(final)
        )
        rec.add(await voice.say(prompt, round=r))
        outcome.update(final_answer=final, changed=final != critiqued)
        await live.after_round(r, last=True)

    if config.rate != "off":
        saw_key = config.rate == "key"
        system = rec.prompt(
            prompts.render_key_rater_system if saw_key else prompts.render_rater_system
        )
        rater = rec.cast(agents, "Rater", "rater", role="rater", system=system)
        flawed, key = outcome.get("flawed"), outcome.get("flaw")

        async def rated(turn: Turn) -> tuple[Any, Turn]:
            return await _critique.rate(rec, rater, turn, saw_key=saw_key, flawed=flawed, key=key)

        results = await rec.each(rated, written)
        outcome["ratings"] = [rating for rating, _ in results]
        rec.add(*(turn for _, turn in results))
    rec.metadata["self_critique"] = config.self_critique
    return rec.transcript().model_copy(update={"critique": CritiqueOutcome(**outcome)})


PROTOCOLS = {"critique": ProtocolSpec("critique", Config, ROLES, setups, run, needed_roles)}
"""The protocol this module implements, for :data:`protocols.base.REGISTRY`."""
