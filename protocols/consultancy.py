"""Consultancy (Michael et al. 2023; Khan et al. 2024).

One consultant, who can read the hidden source text, argues for an assigned answer —
correct or incorrect; the runner runs both — before a judge who cannot read it, over N
rounds. Between rounds the judge may ask a question, which the consultant then answers.
Consultancy is debate's single-speaker baseline: the judge hears only one side.

In the ``open`` variant the consultant first chooses the answer it will argue for.

Agents: ``consultant``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import Field

from protocols import _common, _turns
from protocols.base import ProtocolSpec, Setup
from protocols.prompts import consultancy as prompts
from transcripts import Question, Transcript

if TYPE_CHECKING:
    from judges.base import Judge
    from oversight.endpoints import Endpoint

__all__ = ["CONSULTANT", "PROTOCOLS", "ROLES", "Config", "run", "setups"]

ROLES = ("consultant",)
"""Roles a consultancy needs."""

CONSULTANT = "Consultant"
"""The consultant's speaker label."""


class Config(_common.SpeakerConfig):
    """Options of a consultancy."""

    rounds: int = Field(default=2, ge=1)
    """Number of consultant speeches."""
    judge_questions: bool = False
    """After every speech but the last, the judge may ask a question the consultant answers."""
    sides: _common.Sides = "all"
    """Which answers the consultant is assigned across setups (all when gold is unknown)."""
    open: bool = False
    """The consultant chooses the answer it argues for instead of being assigned one."""
    word_limit: int | None = Field(default=150, ge=1)
    """Most words per speech (quoted words count); longer speeches are cut and marked."""


def setups(question: Question, config: Config) -> list[Setup]:
    """One setup per answer the consultant argues (see ``sides``) per answer order.

    The open variant has answer orders only.
    """
    if config.open:
        return _common.counterbalance(question, [])
    assigned = [{CONSULTANT: i} for i in _common.sides(question, config.sides)]
    return _common.counterbalance(question, assigned)


async def run(
    question: Question,
    agents: Mapping[str, Endpoint],
    *,
    config: Config | None = None,
    setup: Setup | None = None,
    judge: Judge | None = None,
) -> Transcript:
    """Run one consultancy (by default with ``Config()`` and the first setup)."""
    config = config or Config()
    setup = setup or setups(question, config)[0]
    config.check_prompts(prompts)
    rec = _turns.Recorder(
        "consultancy",
        question,
        config,
        setup,
        speakers=None if config.open else [CONSULTANT],
        judge=judge,
        judge_questions=config.judge_questions,
    )
    consultant = rec.cast(agents, CONSULTANT, "consultant", role="consultant")
    if config.open:
        choice = rec.prompt(prompts.render_consultant_choice)
        consultant = await consultant.choose(choice, allowed=rec.order)
    side = rec.side(rec.assignment[CONSULTANT])
    system = rec.prompt(prompts.render_consultant_system, side=side)
    consultant = consultant.arguing(rec.assignment[CONSULTANT], system=system)
    for r in range(config.rounds):
        prompt = rec.prompt(
            prompts.render_consultant_turn,
            round=r + 1,
            rounds=config.rounds,
            transcript=rec.history(),
            side=side,
        )
        rec.add(await consultant.say(prompt, round=r))
        if r < config.rounds - 1:
            await rec.between_rounds(r)
    return rec.transcript()


PROTOCOLS = {"consultancy": ProtocolSpec("consultancy", Config, ROLES, setups, run)}
"""The protocol this module implements, for :data:`protocols.base.REGISTRY`."""
