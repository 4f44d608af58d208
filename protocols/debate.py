"""Debate (Irving, Christiano and Amodei 2018; Khan et al. 2024).

One debater per answer argues it before a judge who cannot read the hidden source text.
Each debater is named after the answer it defends (``Debater A`` defends the answer shown
as A), and every answer is argued, so which answers are shown or argued never tells the
judge which is gold. Every round each debater speaks once: simultaneously (each sees only
earlier rounds) or in turn. A debater first reasons privately in ``<thinking>`` tags; only
its ``<argument>`` is public. Quotes are verified and marked; a speech that breaks the
rules (no quote, over the limit) is drawn again, then cut and marked.

Optimised debaters (section 3 of the paper): each seat is a :class:`~protocols._common.Player`
with its own best-of-N and critique-and-refine, every candidate scored by the judge model
(role ``preference``) reading it against a dummy for each opponent not yet heard that round.

Seats ``debater_a``, ``debater_b``, ... rotate over the answer-named speakers across setups,
so each seat argues every answer in every position. In the ``open`` variant debaters, in
a rotating order, each choose an answer not yet taken.

A live judge (Michael et al. 2023: a prior, beliefs after every round, a question, and the
judge ends the debate or hears another round) and the paper's schedule, a simultaneous
opening then rounds in turn (``simultaneous = "opening"``): see :mod:`protocols.live`.

Agents: ``debater`` for every seat, or ``debater_a``, ``debater_b``, ... per seat;
``preference`` (the judge's model) when a player optimises.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from judges.llm import LLMJudge
from protocols import _common, _speech, _turns
from protocols._common import Player
from protocols.base import ProtocolSpec, Setup
from protocols.live import Live, LiveOptions
from protocols.prompts import debate as prompts
from protocols.prompts import speech as speech_prompts
from transcripts import Question, Transcript, Turn, answer_label
from transcripts._validation import Integer, Number
from transcripts.errors import ConfigError

if TYPE_CHECKING:
    from judges.base import Judge
    from oversight.endpoints import Endpoint

__all__ = ["PROTOCOLS", "ROLES", "Config", "needed_roles", "run", "seats", "setups", "speakers"]

ROLES = ("debater",)
"""Roles every debate needs (``preference`` too when a player optimises)."""


class Config(_common.SpeakerConfig, LiveOptions):
    """Options of a debate (defaults: Khan et al. 2024)."""

    rounds: Integer = Field(default=3, ge=1)
    """Number of rounds; every debater speaks once a round."""
    debaters: Integer | None = Field(default=None, ge=2)
    """Number of debaters; must equal the number of answers (None: one per answer)."""
    simultaneous: bool | Literal["opening"] = True
    """Debaters write a round's speeches at once, seeing only earlier rounds; False: in turn;
    ``"opening"``: the first round at once, later rounds in turn (Michael et al. 2023)."""
    judge_questions: bool = False
    """After every round but the last, the judge may ask a question the debaters then see."""
    best_of_n: Integer = Field(default=1, ge=1)
    """Every seat's candidate speeches per turn (``players`` may set it per seat)."""
    refine: Integer = Field(default=0, ge=0)
    """Every seat's critique-and-refine critiques per turn (``players`` may set it per seat)."""
    candidate_temperature: Number = Field(default=0.8, ge=0.0)
    """Sampling temperature of candidates and refinements (``temperature`` otherwise)."""
    players: dict[str, Player] = Field(default_factory=dict)
    """Seat (``debater_a``, ``debater_b``, ... or ``debater`` for all) -> its player's
    optimisation; unlisted seats use ``best_of_n``, ``refine`` and ``candidate_temperature``."""
    score_mode: Literal["logprobs", "structured"] = "logprobs"
    """How the scorer reads the judge model: answer-letter logprobs (the paper), or JSON
    probabilities; logprobs fall back to JSON where the provider returns none."""
    open: bool = False
    """Debaters choose their own answers instead of being assigned them."""
    rotate_seats: bool = False
    """Rotate the seats (``debater_a``, ...) over the speakers across setups, so each
    seat's model defends every answer in every position; for seats played by different
    models (tournaments turn it on for cross-play). Off: seat X always plays Debater X."""
    word_limit: Integer | None = Field(default=150, ge=1)
    """Most words per speech (quoted words count); longer speeches are redrawn, then cut."""
    temperature: Number = Field(default=0.4, ge=0.0)
    """Sampling temperature of a speech that is not optimised."""
    scratchpad: bool = True
    """Debaters reason in private ``<thinking>`` tags before their public ``<argument>``."""
    require_quotes: bool = True
    """Every speech on a question with a source text must quote it."""

    def at_once(self, round: int) -> bool:
        """Whether the debaters write round ``round``'s speeches at once (the schedule)."""
        return self.simultaneous is True or (self.simultaneous == "opening" and round == 0)

    def player(self, seat: str) -> Player:
        """The optimisation of ``seat``."""
        default = Player(
            best_of_n=self.best_of_n,
            refine=self.refine,
            candidate_temperature=self.candidate_temperature,
        )
        return self.players.get(seat) or self.players.get("debater") or default


def needed_roles(config: Config) -> tuple[str, ...]:
    """``debater``, and ``preference`` when some player optimises."""
    seats = ["debater", *config.players]
    optimises = any(config.player(s).optimises for s in seats)
    return (*ROLES, "preference") if optimises else ROLES


def speakers(config: Config, answers: int = 2) -> list[str]:
    """``Debater A``, ``Debater B``, ...: one per answer position."""
    return [f"Debater {answer_label(i)}" for i in range(config.debaters or answers)]


def seats(count: int) -> list[str]:
    """The agent seats ``debater_a``, ``debater_b``, ..."""
    return [f"debater_{answer_label(i).lower()}" for i in range(count)]


def setups(question: Question, config: Config) -> list[Setup]:
    """Every answer order, crossed with every rotation of seats when ``rotate_seats``.

    Debater X argues the answer shown as X, so the order decides the assignment; rotated
    seats argue every answer in every position. In the open variant the rotation is the
    order in which seats choose (always rotated). Nothing here depends on the gold.
    """
    n = len(question.answers)
    k = config.debaters or n
    if k != n:
        raise ConfigError(
            f"debate with {k} debaters on a question with {n} answers would show the judge "
            f"answers nobody argues, which leaks the gold; drop 'debaters' (one per answer) "
            f"or keep {k} answers per question with dataset.answers = {k}"
        )
    names, chairs = speakers(config, n), seats(k)
    out = []
    rotate = config.rotate_seats or config.open
    for rotation in range(k if rotate else 1):
        for order in _common.orders(n):
            assignment = {} if config.open else {names[p]: order[p] for p in range(k)}
            keys = [f"Debater {p + 1}" for p in range(k)] if config.open else names
            cast = {keys[p]: chairs[(p + rotation) % k] for p in range(k)}
            label = f"o{_common.digits(order)}" + f"-s{rotation}" * rotate
            out.append(Setup(order=order, assignment=assignment, cast=cast, label=label))
    return out


async def run(
    question: Question,
    agents: Mapping[str, Endpoint],
    *,
    config: Config | None = None,
    setup: Setup | None = None,
    judge: Judge | None = None,
) -> Transcript:
    """Run one debate (by default with ``Config()`` and the first setup)."""
    config = config or Config()
    setup = setup or setups(question, config)[0]
    config.check_prompts(prompts)
    names = speakers(config, len(question.answers))
    rec = _turns.Recorder(
        "debate",
        question,
        config,
        setup,
        speakers=None if config.open else names,
        judge=judge,
        judge_questions=config.judge_questions,
    )
    seat_of = dict(setup.cast) or dict(zip(names, seats(len(names)), strict=True))
    if config.open:
        seat_of = await _choose(rec, agents, seat_of)
        rec.seats.update(seat_of)
    voices = {s: rec.cast(agents, s, seat_of[s], "debater", role="debater") for s in names}
    players = {s: config.player(seat_of[s]) for s in names}
    rec.players = {s: players[s].label(voices[s].endpoint.spec) for s in names}
    live = Live(rec, config, judge)
    rounds = live.rounds(config.rounds)
    scorer = None
    if any(p.optimises for p in players.values()):
        preference = rec.cast(agents, "Scorer", "preference", role="preference")
        scorer = LLMJudge(
            preference.endpoint,
            name="scorer",
            mode=config.score_mode,
            on_missing_logprobs="structured",
        )

    async def speech(s: str, r: int) -> list[Turn]:
        answer = rec.assignment[s]
        others = {o: rec.assignment[o] for o in names if o != s}
        fields = {
            "speaker": s,
            "side": rec.side(answer),
            "opponents": ", ".join(rec.side(a) for a in others.values()),
        }
        debater = voices[s].arguing(
            answer, system=rec.prompt(prompts.render_debater_system, **fields)
        )
        seen = rec.history(before_round=r if config.at_once(r) else None)
        prompt = rec.prompt(
            prompts.render_debater_turn, round=r + 1, rounds=rounds, transcript=seen, **fields
        )
        made = await _speech.optimise(
            debater,
            prompt,
            round=r,
            player=players[s],
            scorer=scorer,
            view_of=lambda t: rec.trial(t, others),
            critique_prompt=lambda sp: rec.prompt(
                speech_prompts.render_critique_request, argument=sp.public.content, **fields
            ),
            refine_prompt=lambda c: rec.prompt(
                speech_prompts.render_refine_request, critique=c, **fields
            ),
            # The opening round at once reads only the question: it may wait in a batch.
            batchable=r == 0 and config.at_once(0),
        )
        return made.turns

    await live.opening()
    for r in range(rounds):
        if config.at_once(r):
            for turns in await rec.each(partial(speech, r=r), names):
                rec.add(*turns)
        else:
            for s in names:
                rec.add(*await speech(s, r))
        if not await live.after_round(r, last=r == rounds - 1):
            break
    return rec.transcript()


async def _choose(
    rec: _turns.Recorder, agents: Mapping[str, Endpoint], chooser_seats: dict[str, str]
) -> dict[str, str]:
    """Open debate: in the setup's order, each seat picks a free answer; speaker -> seat."""
    chosen: dict[str, str] = {}
    for position, (chooser, seat) in enumerate(chooser_seats.items()):
        free = [i for i in rec.order if i not in rec.assignment.values()]
        voice = rec.cast(agents, chooser, seat, "debater", role="debater")
        prompt = rec.prompt(
            prompts.render_debater_choice,
            position=position + 1,
            open_answers=", ".join(rec.letter(i) for i in free),
        )
        index = (await voice.choose(prompt, allowed=free)).answer
        assert index is not None
        rec.assignment.pop(chooser)
        rec.roles.pop(chooser)
        speaker = f"Debater {rec.letter(index)}"
        rec.assignment[speaker] = index
        chosen[speaker] = seat
        if position == 0:
            rec.metadata.update(first_choice=index, first_chooser=seat)
    return chosen


PROTOCOLS = {"debate": ProtocolSpec("debate", Config, ROLES, setups, run, needed_roles)}
"""The protocol this module implements, for :data:`protocols.base.REGISTRY`."""
