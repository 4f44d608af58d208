"""Consultancy (Michael et al. 2023; Khan et al. 2024).

One consultant, who can read the hidden source text, argues for an assigned answer before
a judge who cannot read it, over N rounds. The consultant argues the gold in exactly half
of the setups whatever the number of answers (:func:`protocols._common.half_correct`), so
a judge's accuracy is balanced over right and wrong consultants. Between rounds the judge
may ask a question, which the consultant then answers (the paper's interactive setting).
Consultancy is debate's single-speaker baseline: the judge hears only one side.

The consultant reasons privately in ``<thinking>`` tags; only its ``<argument>`` is
public. Like a debater it may be an optimised :class:`~protocols._common.Player`.
With ``live_judge`` the judge states its beliefs after every speech and ends the
consultancy or hears another speech, as in Michael et al. 2023 (see :mod:`protocols.live`).

In the ``open`` variant the consultant first chooses the answer it will argue for.

Agents: ``consultant``; ``preference`` (the judge's model) when the player optimises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from judges.llm import LLMJudge
from protocols import _common, _speech, _turns
from protocols._common import Player
from protocols.base import ProtocolSpec, Setup
from protocols.live import Live, LiveOptions
from protocols.prompts import consultancy as prompts
from protocols.prompts import speech as speech_prompts
from transcripts import Question, Transcript
from transcripts._validation import Integer, Number

if TYPE_CHECKING:
    from judges.base import Judge
    from oversight.endpoints import Endpoint

__all__ = ["CONSULTANT", "PROTOCOLS", "ROLES", "Config", "needed_roles", "run", "setups"]

ROLES = ("consultant",)
"""Roles a consultancy needs."""

CONSULTANT = "Consultant"
"""The consultant's speaker label."""


class Config(_common.SpeakerConfig, LiveOptions):
    """Options of a consultancy."""

    rounds: Integer = Field(default=3, ge=1)
    """Number of consultant speeches."""
    judge_questions: bool = False
    """After every speech but the last, the judge (the condition's ``judge``) asks a
    question the consultant answers: the paper's interactive consultancy."""
    sides: _common.Sides = "all"
    """``all``: the gold in half of the setups, each other answer equally often in the
    rest (every answer once when gold is unknown); or only ``correct`` or ``incorrect``."""
    open: bool = False
    """The consultant chooses the answer it argues for instead of being assigned one."""
    best_of_n: Integer = Field(default=1, ge=1)
    """Candidate speeches per turn, scored by the judge model (``player`` may set it)."""
    refine: Integer = Field(default=0, ge=0)
    """Critique-and-refine critiques per turn (``player`` may set it)."""
    candidate_temperature: Number = Field(default=0.8, ge=0.0)
    """Sampling temperature of candidates and refinements."""
    player: Player | None = None
    """The consultant's optimisation and name (overrides the three options above)."""
    score_mode: Literal["logprobs", "structured"] = "logprobs"
    """How the scorer reads the judge model (see debate)."""
    word_limit: Integer | None = Field(default=150, ge=1)
    """Most words per speech (quoted words count); longer speeches are redrawn, then cut."""
    temperature: Number = Field(default=0.4, ge=0.0)
    """Sampling temperature of a speech that is not optimised."""
    scratchpad: bool = True
    """The consultant reasons in private ``<thinking>`` tags before its ``<argument>``."""
    require_quotes: bool = True
    """Every speech on a question with a source text must quote it."""

    @property
    def optimisation(self) -> Player:
        """The consultant's player settings."""
        return self.player or Player(
            best_of_n=self.best_of_n,
            refine=self.refine,
            candidate_temperature=self.candidate_temperature,
        )


def needed_roles(config: Config) -> tuple[str, ...]:
    """``consultant``, and ``preference`` when the consultant optimises."""
    return (*ROLES, "preference") if config.optimisation.optimises else ROLES


def setups(question: Question, config: Config) -> list[Setup]:
    """The consultant's assignments (see ``sides``) crossed with the answer orders.

    The open variant has answer orders only.
    """
    if config.open:
        return _common.counterbalance(question, [])
    if config.sides == "all":
        return _common.half_correct(question, CONSULTANT)
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
    live = Live(rec, config, judge)
    rounds = live.rounds(config.rounds)
    player = config.optimisation
    rec.players = {CONSULTANT: player.label(consultant.endpoint.spec)}
    scorer = None
    if player.optimises:
        preference = rec.cast(agents, "Scorer", "preference", role="preference")
        scorer = LLMJudge(
            preference.endpoint,
            name="scorer",
            mode=config.score_mode,
            on_missing_logprobs="structured",
        )
    if config.open:
        choice = rec.prompt(prompts.render_consultant_choice)
        consultant = await consultant.choose(choice, allowed=rec.order)
        rec.metadata.update(first_choice=consultant.answer, first_chooser="consultant")
    side = rec.side(rec.assignment[CONSULTANT])
    system = rec.prompt(prompts.render_consultant_system, side=side)
    consultant = consultant.arguing(rec.assignment[CONSULTANT], system=system)
    await live.opening()
    for r in range(rounds):
        prompt = rec.prompt(
            prompts.render_consultant_turn,
            round=r + 1,
            rounds=rounds,
            transcript=rec.history(),
            side=side,
        )
        made = await _speech.optimise(
            consultant,
            prompt,
            round=r,
            player=player,
            scorer=scorer,
            view_of=lambda t: rec.trial(t, {}),
            critique_prompt=lambda sp: rec.prompt(
                speech_prompts.render_critique_request, argument=sp.public.content, side=side
            ),
            refine_prompt=lambda c: rec.prompt(
                speech_prompts.render_refine_request, critique=c, side=side
            ),
        )
        rec.add(*made.turns)
        if not await live.after_round(r, last=r == rounds - 1):
            break
    return rec.transcript()


PROTOCOLS = {"consultancy": ProtocolSpec("consultancy", Config, ROLES, setups, run, needed_roles)}
"""The protocol this module implements, for :data:`protocols.base.REGISTRY`."""
