"""Compact rows of a run store, decoded straight from JSON lines in large blocks.

The analysis reads every record of a run, 100,000 judgments and more, but only a few fields
of each. These are ``msgspec`` structs: the decoder fills the fields named here and skips the
rest of each line (turn texts are read only to flag injection attempts where the
transcripts index does not keep the count, calls and rationales not at all) without
building Python objects for them, several times faster than validating rows with pydantic.
A transcript's maps and lists (assignment, roles, players, metadata) are kept as their JSON
text and decoded once per distinct text (:class:`Shared`): thousands of transcripts store
the same few.
A file is read in blocks of whole lines by :func:`transcripts._blocks.blocks`, so memory
holds one block, not the file; it gives up (raises :class:`Unclean`) at anything unusual,
and the caller then reads the file through the store's own reader, which handles those
cases as everywhere else (see :mod:`oversight.analysis._data`).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from transcripts import SCHEMA_VERSION
from transcripts._blocks import Unclean, blocks
from transcripts.injection import flagged_turns

__all__ = [
    "EscalationRow",
    "JudgeRow",
    "JudgmentRow",
    "QuestionRow",
    "Shared",
    "TextTranscriptRecord",
    "TranscriptRecord",
    "TranscriptRow",
    "Unclean",
    "blocks",
    "rounds_of",
]


class _Row(msgspec.Struct, frozen=True, kw_only=True):
    schema_version: int = SCHEMA_VERSION
    """Schema version of the stored record."""


class JudgeRow(msgspec.Struct, frozen=True, kw_only=True):
    """The parts of a :class:`~transcripts.JudgeIdentity` the analysis reads."""

    kind: str
    """llm, human, fallback or panel."""
    name: str
    """The judge's name."""
    model: str | None = None
    """The model behind an LLM judge."""
    annotator: str | None = None
    """The person behind a human judgment."""


class JudgmentRow(_Row, frozen=True, kw_only=True):
    """The parts of a :class:`~transcripts.Judgment` the analysis reads."""

    id: str
    """Judgment id."""
    transcript_id: str
    """The judged transcript."""
    run_id: str = ""
    """The run that wrote it."""
    judge: JudgeRow
    """Who judged."""
    status: str = "ok"
    """ok, failed or skipped."""
    probabilities: list[float] | None = None
    """One probability per answer, original order."""
    rounds_seen: int | None = None
    """Rounds of the transcript the judge saw (None: all)."""
    time_s: float | None = None
    """Seconds the judge took (people)."""
    escalated: bool = False
    """Escalated to a person."""
    escalation_reason: str | None = None
    """Why it was escalated."""
    escalated_from: str | None = None
    """The LLM judgment a person's decision replaced."""
    decided_by: str | None = None
    """Who decided a fallback judgment."""
    components: list[JudgmentRow] = []
    """Judgments a fallback or panel judgment was made of."""
    supersedes: str | None = None
    """The provisional judgment this one replaces."""
    escalation_id: str | None = None
    """The queued item this judgment belongs to."""
    metadata: dict[str, Any] = {}
    """The judgment's metadata."""


class QuestionRow(_Row, frozen=True, kw_only=True):
    """The parts of a :class:`~transcripts.Question` the analysis reads."""

    id: str
    """Question id."""
    answers: list[str]
    """The answers, original order."""
    correct: int | None = None
    """Gold answer (None: unknown)."""
    source: str | None = None
    """Cluster key (e.g. the story)."""
    dataset: str | None = None
    """Dataset name."""
    metadata: dict[str, Any] = {}
    """The question's metadata."""


class TranscriptRow(msgspec.Struct, frozen=True):
    """One transcript as the analysis keeps it: no turn, no text. Its fields may be given
    in order (100,000 rows are made positionally, a quarter of the time by keyword)."""

    id: str
    """Transcript id."""
    protocol: str
    """Protocol name."""
    question: QuestionRow
    """Its question (shared by the transcripts of that question)."""
    run_id: str = ""
    """The run that wrote it."""
    condition: str = ""
    """Condition label."""
    assignment: dict[str, int] = {}
    """Speaker -> assigned answer."""
    answer_order: list[int] = []
    """Presented order of the answers."""
    roles: dict[str, str] = {}
    """Speaker -> endpoint."""
    players: dict[str, str] = {}
    """Speaker -> player name."""
    repeat: int = 0
    """Repeat index."""
    status: str = "complete"
    """complete or error."""
    metadata: dict[str, Any] = {}
    """The transcript's metadata."""
    planted: dict[str, Any] | None = None
    """The planted persona that spoke, if any."""
    rounds: float = 0.0
    """Rounds a judge sees in full (:func:`rounds_of`)."""
    injection_turns: int = 0
    """Turns whose text the injection detector flags."""
    extra: bool = False
    """Whether the stored record has a critique outcome or a tree (read in full by
    :mod:`oversight.analysis._gdc` and :mod:`oversight.analysis._trees`)."""
    beliefs: bool = False
    """Whether a judge turn carries probabilities (read in full by
    :mod:`oversight.analysis._beliefs`)."""


class _Turn(msgspec.Struct, frozen=True, kw_only=True):
    """A stored turn as the analysis reads it: no text."""

    role: str
    round: int
    visibility: str = "public"
    probabilities: list[float] | None = None


class _TextTurn(_Turn, frozen=True, kw_only=True):
    content: str = ""


_NO_MAP = msgspec.Raw(b"{}")
_NO_LIST = msgspec.Raw(b"[]")


class TranscriptRecord(_Row, frozen=True, kw_only=True):
    """A stored transcript line as decoded, for :meth:`row`: its turns without their texts,
    its maps and lists as their stored JSON text (:class:`Shared` decodes each distinct
    text once; most transcripts of a run store the same few)."""

    id: str
    run_id: str = ""
    protocol: str
    condition: str = ""
    question: QuestionRow | None = None
    question_ref: str | None = None
    assignment: msgspec.Raw = _NO_MAP
    answer_order: msgspec.Raw = _NO_LIST
    turns: list[_Turn] = []
    roles: msgspec.Raw = _NO_MAP
    players: msgspec.Raw = _NO_MAP
    repeat: int = 0
    status: str = "complete"
    metadata: msgspec.Raw = _NO_MAP
    planted: dict[str, Any] | None = None
    critique: Any = None
    tree: Any = None

    def row(self, question: QuestionRow, shared: Shared, flagged: int) -> TranscriptRow:
        """The compact row, with ``question`` (its own or the run's shared one) and
        ``flagged``, its turns the injection detector flags (as the transcripts index keeps
        the count, or :meth:`TextTranscriptRecord.flagged`); its maps and lists are
        ``shared`` with equal ones of other rows (they are read, never changed)."""
        assignment, answer_order, roles, players, metadata = shared.maps(self)
        rounds, beliefs = _turn_facts(metadata, self.turns)
        return TranscriptRow(  # in the order of its fields
            self.id,
            self.protocol,
            question,
            self.run_id,
            self.condition,
            assignment,
            answer_order,
            roles,
            players,
            self.repeat,
            self.status,
            metadata,
            self.planted,
            rounds,
            flagged,
            self.critique is not None or self.tree is not None,
            beliefs,
        )


class TextTranscriptRecord(TranscriptRecord, frozen=True, kw_only=True):
    """A :class:`TranscriptRecord` with its turns' texts, for a run whose transcripts index
    keeps no count of flagged turns."""

    turns: list[_TextTurn] = []  # type: ignore[assignment]

    def flagged(self) -> int:
        """Its turns the injection detector flags, counted from their texts."""
        return flagged_turns((t.role, t.content) for t in self.turns)


class EscalationRow(_Row, frozen=True, kw_only=True):
    """The parts of a :class:`~transcripts.Escalation` the analysis reads."""

    id: str
    """Queued item id."""
    transcript_id: str
    """The transcript escalated."""
    judge_name: str
    """The fallback judge that escalated it."""
    reason: str = ""
    """Why."""
    first: JudgmentRow
    """The LLM judgment that was escalated."""


V = TypeVar("V")


class Shared:
    """One object for equal JSON values (equal as stored JSON text), so rows that read
    alike hold one copy: each distinct text is decoded once, as its type."""

    __slots__ = ("_known", "_maps")

    def __init__(self) -> None:
        self._known: dict[tuple[msgspec.json.Decoder[Any], bytes], Any] = {}
        self._maps: dict[bytes, _Maps] = {}

    def __call__(self, text: msgspec.Raw, decoder: msgspec.json.Decoder[V]) -> V:
        """``text`` decoded by ``decoder``: the one object every equal text gets from that
        decoder. :class:`msgspec.ValidationError` where the text is not of its type."""
        key = (decoder, bytes(text))
        found: V | None = self._known.get(key)
        if found is None:
            found = self._known[key] = decoder.decode(text)
        return found

    def maps(self, r: TranscriptRecord) -> _Maps:
        """A transcript's assignment, answer order, roles, players and metadata, looked up
        together: one probe for the few combinations a run holds (JSON text holds no NUL,
        so the joined texts tell the five apart)."""
        key = b"\0".join((r.assignment, r.answer_order, r.roles, r.players, r.metadata))
        found = self._maps.get(key)
        if found is None:
            found = self._maps[key] = (
                self(r.assignment, _TO_INT),
                self(r.answer_order, _INTS),
                self(r.roles, _TO_STR),
                self(r.players, _TO_STR),
                self(r.metadata, _TO_ANY),
            )
        return found


_INTS = msgspec.json.Decoder(list[int])
_TO_INT = msgspec.json.Decoder(dict[str, int])
_TO_STR = msgspec.json.Decoder(dict[str, str])
_TO_ANY = msgspec.json.Decoder(dict[str, Any])
_Maps = tuple[dict[str, int], list[int], dict[str, str], dict[str, str], dict[str, Any]]


def rounds_of(metadata: dict[str, Any], turns: list[Any]) -> float:
    """Rounds a judge sees of the whole transcript: the ``judge_turns`` metadata when present,
    else the number of judge turns, else the number of rounds with a public turn."""
    return _turn_facts(metadata, turns)[0]


_NUMBER = (int, float)  # a tuple: ``int | float`` would build a union at every call


def _turn_facts(metadata: dict[str, Any], turns: list[Any]) -> tuple[float, bool]:
    """:func:`rounds_of`, and whether a judge turn carries probabilities, in one pass over
    the turns (it runs once per transcript: 100,000 and more)."""
    n_judge = 0
    beliefs = False
    public = set()
    for turn in turns:
        if turn.role == "judge":
            n_judge += 1
            if turn.probabilities is not None:
                beliefs = True
        if turn.visibility == "public":
            public.add(turn.round)
    judge_turns = metadata.get("judge_turns")
    if isinstance(judge_turns, _NUMBER) and not isinstance(judge_turns, bool):
        return float(judge_turns), beliefs
    return float(n_judge or len(public)), beliefs
