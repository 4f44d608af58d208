"""Critique (after Saunders et al. 2022, "Self-critiquing models for assisting human evaluators").

An answerer, who can read the hidden source text, proposes an answer with its justification;
a critic, who can read it too, points out the flaws; the judge, who cannot, decides with the
critique in view. Rounds: 0 the proposal, 1 the critiques, then (optionally) a critique of
the critiques, then (optionally) the answerer's refinement in reply.

Options: self-critique (the answerer's own endpoint writes the critiques), several
independent critiques, a critique of the critiques, a refinement round, an answerer that
chooses its answer instead of being assigned one, and judge questions: after the proposal,
and after the critiques when a refinement follows, the judge may ask a question that every
later speaker sees.

Agents: ``answerer``; ``critic`` (or ``critic_1``, ``critic_2``, ... for one critic each)
unless ``self_critique``; optionally ``meta_critic`` for the critique of the critiques
(``critic`` writes it otherwise). With self-critique the answerer's endpoint writes every
critique, the critique of critiques included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import Field

from protocols import _common, _turns
from protocols.base import ProtocolSpec, Setup
from protocols.prompts import critique as prompts
from transcripts import Question, Transcript, Turn

if TYPE_CHECKING:
    from judges.base import Judge
    from oversight.endpoints import Endpoint

__all__ = ["ANSWERER", "PROTOCOLS", "ROLES", "Config", "needed_roles", "run", "setups"]

ROLES = ("answerer",)
"""Roles every critique needs (``critic`` too unless ``self_critique``)."""

ANSWERER = "Answerer"
"""The answerer's speaker label."""


class Config(_common.SpeakerConfig):
    """Options of a critique."""

    critiques: int = Field(default=1, ge=1)
    """Independent critiques of the proposal (speakers ``Critic 1``, ... when more than one)."""
    self_critique: bool = False
    """The answerer's own endpoint writes the critiques."""
    critique_of_critique: bool = False
    """A meta-critic then points out what the critiques got wrong or missed."""
    refine: bool = False
    """The answerer finally defends or refines its justification with the critiques in view."""
    answerer_chooses: bool = False
    """The answerer picks the answer it proposes instead of being assigned one."""
    judge_questions: bool = False
    """The judge may ask a question after the proposal, and before the refinement if any."""
    sides: _common.Sides = "all"
    """Which answers the answerer is assigned across setups (all when gold is unknown)."""
    word_limit: int | None = Field(default=250, ge=1)
    """Most words per turn (quoted words count); longer turns are cut and marked."""


def needed_roles(config: Config) -> tuple[str, ...]:
    """``answerer``, and ``critic`` unless the answerer critiques itself."""
    return ROLES if config.self_critique else (*ROLES, "critic")


def setups(question: Question, config: Config) -> list[Setup]:
    """One setup per assigned answer (see ``sides``) per answer order; orders only if chosen."""
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
    self_critique, many = config.self_critique, config.critiques > 1
    assigned = None if config.answerer_chooses else [ANSWERER]
    rec = _turns.Recorder(
        "critique",
        question,
        config,
        setup,
        speakers=assigned,
        judge=judge,
        judge_questions=config.judge_questions,
    )
    system = rec.prompt(prompts.render_answerer_system)
    answerer = rec.cast(agents, ANSWERER, "answerer", role="answerer", system=system)
    critic_system = rec.prompt(prompts.render_critic_system)

    def critic(label: str, *keys: str) -> _turns.Voice:
        keys = ("answerer",) if self_critique else keys
        return rec.cast(agents, label, *keys, role="critic", system=critic_system)

    async def critique(voice: _turns.Voice) -> Turn:
        seen = rec.history()
        prompt = rec.prompt(prompts.render_critique_prompt, speaker=voice.speaker, transcript=seen)
        return await voice.say(prompt, round=1)

    labels = [f"Critic {i + 1}" for i in range(config.critiques)] if many else ["Critic"]
    critics = [critic(c, f"critic_{i + 1}", "critic") for i, c in enumerate(labels)]
    meta = critic("Meta-critic", "meta_critic", "critic") if config.critique_of_critique else None

    if config.answerer_chooses:
        choice = rec.prompt(prompts.render_answerer_choice)
        answerer = await answerer.choose(choice, allowed=rec.order)
    answerer = answerer.arguing(rec.assignment[ANSWERER])
    side = rec.side(rec.assignment[ANSWERER])
    rec.add(await answerer.say(rec.prompt(prompts.render_answer_prompt, side=side), round=0))
    await rec.between_rounds(0)
    rec.add(*await rec.each(critique, critics))
    r = 2
    if meta is not None:
        prompt = rec.prompt(prompts.render_meta_critique_prompt, transcript=rec.history())
        rec.add(await meta.say(prompt, round=r))
        r += 1
    if config.refine:
        await rec.between_rounds(r - 1)  # after the last critique, for the answerer to answer
        prompt = rec.prompt(prompts.render_refine_prompt, transcript=rec.history(), side=side)
        rec.add(await answerer.say(prompt, round=r))
    rec.metadata["self_critique"] = self_critique
    return rec.transcript()


PROTOCOLS = {"critique": ProtocolSpec("critique", Config, ROLES, setups, run, needed_roles)}
"""The protocol this module implements, for :data:`protocols.base.REGISTRY`."""
