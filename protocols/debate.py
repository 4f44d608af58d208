"""Debate (Irving, Christiano and Amodei 2018; Khan et al. 2024).

Two or more debaters, each assigned a different answer, argue before a judge who cannot
read the hidden source text. Every round each debater speaks once: simultaneously (each
sees only earlier rounds) or in turn (each sees everything said before it). Quotes from
the source text are written in ``<quote>`` tags and verified; overlong speeches are cut.

Options: judge questions between rounds; best-of-N, where a preference model scores N
candidate speeches and the most convincing is kept (all N are stored); and the ``open``
variant, in which debaters, in speaker order, each choose an answer not yet taken.

Agents: ``debater`` for every debater, or ``debater_a``, ``debater_b``, ... for one
debater each; ``preference`` when ``best_of_n > 1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from itertools import combinations
from typing import TYPE_CHECKING

from pydantic import Field

from protocols import _common, _turns
from protocols.base import ProtocolSpec, Setup
from protocols.prompts import debate as prompts
from transcripts import Question, Transcript, Turn, answer_label
from transcripts.errors import ConfigError

if TYPE_CHECKING:
    from judges.base import Judge
    from oversight.endpoints import Endpoint

__all__ = ["PROTOCOLS", "ROLES", "Config", "needed_roles", "run", "setups", "speakers"]

ROLES = ("debater",)
"""Roles every debate needs (``preference`` too with best-of-N)."""


class Config(_common.SpeakerConfig):
    """Options of a debate."""

    rounds: int = Field(default=3, ge=1)
    """Number of rounds; every debater speaks once a round."""
    debaters: int = Field(default=2, ge=2)
    """Number of debaters, each arguing a different answer."""
    simultaneous: bool = True
    """Debaters write a round's speeches at once, seeing only earlier rounds; False: in turn."""
    judge_questions: bool = False
    """After every round but the last, the judge may ask a question the debaters then see."""
    best_of_n: int = Field(default=1, ge=1)
    """Candidate speeches per turn; a preference model keeps the one it scores highest."""
    candidate_temperature: float = Field(default=0.8, ge=0.0)
    """Sampling temperature of best-of-N candidates (``temperature`` is used when N is 1)."""
    open: bool = False
    """Debaters choose their own answers instead of being assigned them."""
    word_limit: int | None = Field(default=150, ge=1)
    """Most words per speech (quoted words count); longer speeches are cut and marked."""


def needed_roles(config: Config) -> tuple[str, ...]:
    """``debater``, and ``preference`` with best-of-N."""
    return (*ROLES, "preference") if config.best_of_n > 1 else ROLES


def speakers(config: Config) -> list[str]:
    """``Debater A``, ``Debater B``, ..."""
    return [f"Debater {answer_label(i)}" for i in range(config.debaters)]


def setups(question: Question, config: Config) -> list[Setup]:
    """Which answers are debated, who argues which, in which answer order.

    With a known gold, each debate sets the correct answer against ``debaters - 1`` of the
    others (every such choice); without one, every choice of ``debaters`` answers. Within a
    choice, debaters rotate through the answers (two debaters: both ways round), and each
    assignment is crossed with the answer orders of :func:`protocols._common.counterbalance`.
    The open variant has orders only.
    """
    n, k = len(question.answers), config.debaters
    if k > n:
        raise ConfigError(f"debate with {k} debaters needs at least {k} answers; got {n}")
    if config.open:
        return _common.counterbalance(question, [])
    if question.correct is None:
        chosen = list(combinations(range(n), k))
    else:
        others = [i for i in range(n) if i != question.correct]
        chosen = [(question.correct, *rest) for rest in combinations(others, k - 1)]
    names = speakers(config)
    rotations = [dict(zip(names, s[r:] + s[:r], strict=True)) for s in chosen for r in range(k)]
    return _common.counterbalance(question, rotations)


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
    names = speakers(config)
    rec = _turns.Recorder(
        "debate",
        question,
        config,
        setup,
        speakers=None if config.open else names,
        judge=judge,
        judge_questions=config.judge_questions,
    )
    voices = {
        s: rec.cast(agents, s, f"debater_{s[-1].lower()}", "debater", role="debater") for s in names
    }
    preference = None
    if config.best_of_n > 1:
        preference = rec.cast(agents, "Preference judge", "preference", role="preference")
    for s in names if config.open else []:
        free = [i for i in rec.order if i not in rec.assignment.values()]
        letters = ", ".join(rec.letter(i) for i in free)
        choice = rec.prompt(prompts.render_debater_choice, speaker=s, open_answers=letters)
        await voices[s].choose(choice, allowed=free)

    async def speech(s: str, r: int) -> list[Turn]:
        fields = {"speaker": s, "debaters": config.debaters, "side": rec.side(rec.assignment[s])}
        system = rec.prompt(prompts.render_debater_system, **fields)
        debater = voices[s].arguing(rec.assignment[s], system=system)
        seen = rec.history(before_round=r if config.simultaneous else None)
        at = {"round": r + 1, "rounds": config.rounds, "transcript": seen}
        prompt = rec.prompt(prompts.render_debater_turn, **at, **fields)
        if preference is None:
            return [await debater.say(prompt, round=r)]
        return await rec.best_of(
            lambda k: debater.say(
                prompt, round=r, sample_index=k, temperature=config.candidate_temperature
            ),
            n=config.best_of_n,
            preference=preference,
            prompt=lambda t: rec.prompt(
                prompts.render_preference_prompt, transcript=seen, argument=t.content, **fields
            ),
        )

    for r in range(config.rounds):
        if config.simultaneous:
            for turns in await rec.each(partial(speech, r=r), names):
                rec.add(*turns)
        else:
            for s in names:
                rec.add(*await speech(s, r))
        if r < config.rounds - 1:
            await rec.between_rounds(r)
    return rec.transcript()


PROTOCOLS = {"debate": ProtocolSpec("debate", Config, ROLES, setups, run, needed_roles)}
"""The protocol this module implements, for :data:`protocols.base.REGISTRY`."""
