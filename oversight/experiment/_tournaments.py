"""Players and tournaments: ``[players.NAME]`` and ``[[tournaments]]`` (Khan et al. 2024).

A player is a model with its optimisation (best-of-N, critique-and-refine). A tournament
lists players and a protocol; it becomes ordinary conditions, one per match-up:

* debate **self-play** ``<label>.<P>``: both seats played by P;
* debate **cross-play** ``<label>.<P>.vs.<Q>`` for every pair: seats rotated over the
  speakers (``rotate_seats``), so each player defends each answer in each position;
* consultancy ``<label>.<P>``: P consults (the gold in half of the setups).

Every condition runs on every question with the experiment's counterbalancing, or on the
``[split]`` part ``questions`` names (cross-play on ``crossplay_questions``, when given: the
paper rates players on other questions than those it measures accuracy on). Generated
conditions carry ``tournament``; they are rebuilt from the tables each time the experiment
is read, so a stored experiment reads back to the same conditions.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from itertools import combinations
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from oversight.experiment._base import without_unset
from transcripts._validation import Integer, Number

__all__ = ["PlayerConfig", "Tournament", "expand", "tournament_problems"]

_LABEL = r"^[A-Za-z0-9][A-Za-z0-9_+-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlayerConfig(_Model):
    """``[players.NAME]``: a model and how it optimises its speeches."""

    endpoint: str
    """Name in ``[endpoints]`` (or a spec such as ``openai/gpt-4o``) of the player's model."""
    best_of_n: Integer = Field(default=1, ge=1)
    """Candidate speeches per turn; the judge model picks the most convincing."""
    refine: Integer = Field(default=0, ge=0)
    """Critiques per turn answered by refinements (0: no critique-and-refine)."""
    candidate_temperature: Number = Field(default=0.8, ge=0.0)
    """Sampling temperature of candidates and refinements."""

    def option(self, name: str) -> dict[str, Any]:
        """The protocol's ``Player`` option for this player, named ``name``."""
        return {
            "name": name,
            "best_of_n": self.best_of_n,
            "refine": self.refine,
            "candidate_temperature": self.candidate_temperature,
        }


class Tournament(_Model):
    """``[[tournaments]]``: players meeting in one protocol on every question."""

    label: str = Field(pattern=_LABEL)
    """Prefix of the generated conditions' labels, e.g. ``debate``."""
    protocol: Literal["debate", "consultancy"] = "debate"
    """The protocol the players meet in."""
    players: list[str] = Field(min_length=1)
    """Names from ``[players]``."""
    selfplay: bool = True
    """Debate: every player against itself (the accuracy of the figure)."""
    crossplay: bool = True
    """Debate: every pair of different players (what the ratings are fitted on)."""
    roles: dict[str, str] = Field(default_factory=dict)
    """Other roles of every match, e.g. ``{preference = "judge-model"}`` (the scorer of
    optimising players: the judge's model, as in the paper)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Protocol options shared by every match (e.g. ``{rounds = 3}``)."""
    judge: str | None = None
    """A ``[[judges]]`` name asked between rounds (with ``judge_questions``)."""
    judges: list[str] | None = None
    """Judges of the matches' transcripts (default: every judge)."""
    questions: str | None = None
    """A ``[split]`` part: every match of the tournament runs on its questions only (None:
    on every question)."""
    crossplay_questions: str | None = None
    """Debate: the ``[split]`` part cross-play (the ratings) runs on instead, so that a
    player's Elo and its self-play accuracy share no question (None: as ``questions``)."""

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return without_unset(handler, self, "questions", "crossplay_questions")


def _condition(
    t: Tournament,
    label: str,
    roles: dict[str, str],
    options: dict[str, Any],
    questions: str | None,
) -> dict[str, Any]:
    return {
        "label": label,
        "protocol": t.protocol,
        "roles": {**t.roles, **roles},
        "options": {**t.options, **options},
        "judge": t.judge,
        "judges": t.judges,
        "tournament": t.label,
        "questions": questions,
    }


def tournament_problems(
    tournaments: Sequence[Tournament | None], players: Collection[str]
) -> list[str]:
    """Each player a tournament names that ``players`` lacks, or lists twice, at its place,
    and a debate tournament that makes no match (None stands for an invalid table, whose
    problems validation reports)."""
    problems = []
    for i, t in enumerate(tournaments):
        if t is None:
            continue
        if t.protocol == "debate" and not t.selfplay:
            if not t.crossplay:
                problems.append(
                    f"tournaments[{i}]: makes no match: selfplay and crossplay are both off; "
                    "turn one on"
                )
            elif len(set(t.players)) < 2:
                problems.append(
                    f"tournaments[{i}]: makes no match: crossplay needs two players or more "
                    "and selfplay is off; add a player or set selfplay = true"
                )
        at = f"tournaments[{i}].players"
        for name in dict.fromkeys(p for p in t.players if p not in players):
            known = ", ".join(sorted(players)) or "none defined"
            problems.append(
                f"{at}: {name!r} is not a player; known: {known} (define it as [players.{name}])"
            )
        for name in dict.fromkeys(p for p in t.players if t.players.count(p) > 1):
            problems.append(f"{at}: {name!r} is listed twice")
    return problems


def expand(tournaments: list[Tournament], players: dict[str, PlayerConfig]) -> list[dict[str, Any]]:
    """The conditions of ``tournaments`` (as condition tables); a tournament with a problem
    (:func:`tournament_problems`, reported by the experiment's checks) gives none."""
    out: list[dict[str, Any]] = []
    for t in tournaments:
        if tournament_problems([t], players):
            continue
        if t.protocol == "consultancy":
            out += [
                _condition(
                    t,
                    f"{t.label}.{p}",
                    {"consultant": players[p].endpoint},
                    {"player": players[p].option(p)},
                    t.questions,
                )
                for p in t.players
            ]
            continue
        for p in t.players if t.selfplay else []:
            seat = players[p].option(p)
            out.append(
                _condition(
                    t,
                    f"{t.label}.{p}",
                    {"debater_a": players[p].endpoint, "debater_b": players[p].endpoint},
                    {"players": {"debater_a": seat, "debater_b": seat}},
                    t.questions,
                )
            )
        for p, q in combinations(t.players, 2) if t.crossplay else []:
            out.append(
                _condition(
                    t,
                    f"{t.label}.{p}.vs.{q}",
                    {"debater_a": players[p].endpoint, "debater_b": players[q].endpoint},
                    {
                        "players": {
                            "debater_a": players[p].option(p),
                            "debater_b": players[q].option(q),
                        },
                        "rotate_seats": True,
                    },
                    t.crossplay_questions or t.questions,
                )
            )
    return out
