"""The core vocabulary: questions, calls, turns and transcripts.

Judgments and escalations, built from these records, live in :mod:`transcripts._judgments`.

Every record is an immutable pydantic model with documented fields. Records that are
stored on disk carry ``schema_version``; see :mod:`transcripts._log` for how older
and newer versions are treated.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from transcripts.scoring import total_cost

SCHEMA_VERSION = 5
"""Version of the on-disk record layout written by this code.

5: a run folder's other files gained keys a version-4 oversight does not know: a spend
ledger line (``spend.jsonl``) may carry ``estimated_usd`` (the bound counted toward
``--max-cost`` for a reply without token counts), and ``experiment.json`` a fingerprint of
each role's prompts (``prompts``, compared on replay and resume). Records themselves are
unchanged, so a version-4 run reads, reports and resumes as it was (unchecked prompts).
A version-4 oversight refuses a version-5 run's records saying to upgrade (though a ledger
line it cannot read may fail first); from version 5 on, a run of a later version is
refused when opened (``RunStore``), before any file of it is read.

4: ``CritiqueRating.claims_flaw`` — whether a critique claims a flaw at all, which GDC's
critique accuracy scores on an answer known to be good. Written only when set, so a
version-3 record reads unchanged (its ratings of good answers score no critique accuracy).

3: ``Usage.reported`` — a call whose reply carried no token counts (an OpenAI-compatible
server that omits ``usage``) is stored as such (``"reported": false``) and costs unknown,
not $0. Written only when false, so a version-2 record reads unchanged.

2: typed RRM/prover-estimator trees and critique outcomes (``Transcript.tree``,
``critique``), live judge turns (``Turn.decision``, ``Judgment.live``); contracts that
several modules read moved from ``metadata`` keys into typed fields
(``Judgment.supersedes``, ``escalation_id``, ``work_key``). Version-1 judgments are
upgraded as they are read (:func:`upgrade_v1`)."""


Role = Literal[
    "debater",
    "consultant",
    "critic",
    "answerer",
    "assistant",
    "evaluator",
    "preference",
    "judge",
    "prover",
    "estimator",
    "rater",
    "leaf_judge",
]
"""Who produced a turn. ``judge`` turns are a judge's questions or interim beliefs; ``rater``
turns rate critiques; ``leaf_judge`` turns check a prover–estimator debate's leaf."""

Visibility = Literal["public", "private"]
"""``public`` turns are shown to the judge; ``private`` ones (scratchpads, candidates) never are."""

Decision = Literal["continue", "end"]
"""A live judge's choice after a round: hear another round, or end the protocol."""


def new_id() -> str:
    """A fresh random id (32 hex characters)."""
    return uuid.uuid4().hex


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Record(BaseModel):
    """Base of every stored model: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Question(Record):
    """A multiple-choice question, with its gold answer and hidden context."""

    id: str
    """Stable id, unique within the dataset."""
    text: str
    """The question as a judge reads it."""
    answers: list[str] = Field(min_length=2)
    """Answer options in the dataset's original order (two or more)."""
    correct: int | None = None
    """Index into ``answers`` of the gold answer; None when unknown. Never shown to a judge."""
    context: str | None = None
    """Hidden source material (e.g. the story) that only entitled roles may read."""
    source: str | None = None
    """Cluster key for statistics: questions sharing a source (e.g. a story) are not independent."""
    dataset: str | None = None
    """Name of the dataset the question comes from."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Anything else the dataset says about the question."""

    @model_validator(mode="after")
    def _correct_in_range(self) -> Question:
        if self.correct is not None and not 0 <= self.correct < len(self.answers):
            raise ValueError(
                f"question {self.id!r}: correct={self.correct} is not an index into "
                f"its {len(self.answers)} answers"
            )
        return self


class Usage(Record):
    """Token counts of one or more model calls."""

    input_tokens: int = 0
    """Prompt tokens billed (including cache reads and cache writes)."""
    output_tokens: int = 0
    """Completion tokens billed."""
    cached_tokens: int = 0
    """Prompt tokens served from the provider's prompt cache (a subset of ``input_tokens``)."""
    cache_write_tokens: int = 0
    """Prompt tokens written to the provider's prompt cache, billed at a premium (Anthropic's
    ``cache_creation_input_tokens``; a subset of ``input_tokens``, apart from ``cached_tokens``).
    0 for providers that do not report cache writes."""
    reported: bool = Field(default=True, exclude_if=lambda reported: reported)
    """False when a reply carried no token counts (some OpenAI-compatible servers omit
    ``usage``, or leave it out of a stream): the counts above are then 0 because nothing was
    counted, not because nothing was used, and the call's cost is unknown (None), never $0.
    A sum is reported only if every part was. Stored only when false."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reported=self.reported and other.reported,
        )

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


class Call(Record):
    """The record of one model call: who answered, what it cost, how long it took."""

    endpoint: str
    """Endpoint spec, e.g. ``openai/gpt-4o-mini``. Never shown to a judge."""
    provider: str
    """``openai``, ``anthropic``, ``mock`` or ``local``."""
    model: str
    """Model name as sent to the provider."""
    usage: Usage = Field(default_factory=Usage)
    """Tokens of this call (zero when answered from our response cache)."""
    cost_usd: float | None = None
    """Cost in US dollars; None when the model's price is unknown or the reply reported no
    token counts (``usage.reported`` false) — never a silent zero."""
    latency_s: float = 0.0
    """Seconds the answering attempt took, from sending it to its reply: waiting for a
    concurrency or rate-limit slot and earlier failed attempts are not included (they are
    ``queued_s`` and ``retry_wait_s``). Before schema version 2: from the first attempt."""
    cached: bool = False
    """True when our response cache answered and no request was sent."""
    retries: int = 0
    """How many attempts were retried before the one that succeeded."""
    retry_wait_s: float = 0.0
    """Seconds spent waiting between attempts (backoff and Retry-After)."""
    request_hash: str = ""
    """Content address of the request in the response cache."""
    sample_index: int = 0
    """Index of this sample among independent samples of the same request."""
    finish_reason: str | None = None
    """Why the completion ended, the same words for every provider: ``stop`` (the model
    ended, or a stop sequence), ``length`` (cut at ``max_tokens``), ``content_filter``,
    ``tool_use``, else the provider's own word. None when not known (records before schema
    version 2)."""
    queued_s: float = 0.0
    """Seconds spent waiting for a concurrency or rate-limit slot before the answering
    attempt was sent."""
    batched: bool = False
    """Sent through the provider's batch API, and priced at its batch rate."""


class Quote(Record):
    """A quotation from the hidden context inside a turn."""

    text: str
    """The quoted text as the speaker wrote it."""
    verified: bool
    """True when the text was found in the hidden context (after normalisation)."""
    span: tuple[int, int] | None = None
    """Character offsets ``[start, end)`` of the match in the context, when verified."""


class Turn(Record):
    """One utterance in a protocol."""

    role: Role
    """What part the speaker plays."""
    speaker: str
    """Label of the speaker as a judge sees it, e.g. ``Debater A`` (never a model name)."""
    round: int = Field(ge=0)
    """Round number, from 0."""
    content: str
    """What was said. Quotes stay inline in the protocol's quote tag."""
    visibility: Visibility = "public"
    """Whether the judge may see this turn."""
    answer: int | None = None
    """Index (original order) of the answer this speaker argues for, if any."""
    quotes: list[Quote] = Field(default_factory=list)
    """Quotes found in ``content``, each marked verified or not."""
    truncated: bool = False
    """True when the content was cut: to the protocol's length limit, or by the model's token
    limit (then ``call.finish_reason`` is ``length``); the judge sees it marked as cut."""
    probabilities: list[float] | None = None
    """For judge turns: the judge's probability per answer (original order) after this turn."""
    decision: Decision | None = None
    """For live judge turns: ``continue`` (hear another round) or ``end``; None otherwise
    (speeches, between-round questions, imported judge turns)."""
    call: Call | None = None
    """The model call that produced this turn; None for human or scripted turns."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Protocol-specific structure (best-of-N scores, an RRM tree, ...)."""


class Planted(Record):
    """A planted adversary (a persona) in a transcript: who carried it. Never in a JudgeView."""

    persona: str
    """Name of the persona, e.g. ``quote-fabricator``."""
    role: str
    """The agent role (a key of the protocol's agents) it was planted in, e.g. ``debater``."""
    speakers: list[str] = Field(default_factory=list)
    """Speaker labels whose calls carried the persona's instructions, e.g. ``["Debater B"]``."""
    calls: int = 0
    """Model calls made under the persona's instructions."""
    sha256: str = ""
    """Hash of the persona's instructions as used (a later edit of the file shows)."""


class Transcript(Record):
    """Everything one protocol run on one question produced."""

    id: str = Field(default_factory=new_id)
    """Unique id. The runner derives it from the work item, so a resumed run reuses it."""
    run_id: str = ""
    """Id of the run (folder) this transcript belongs to."""
    protocol: str
    """Protocol name, e.g. ``debate``."""
    protocol_config: dict[str, Any] = Field(default_factory=dict)
    """The protocol's full configuration."""
    condition: str = ""
    """Condition label from the experiment, e.g. ``debate-gpt4``."""
    question: Question
    """The question, with gold and context (which judge views strip)."""
    assignment: dict[str, int] = Field(default_factory=dict)
    """Speaker label -> index (original order) of the answer it was assigned."""
    answer_order: list[int] = Field(default_factory=list)
    """Presentation order: position i shows original answer ``answer_order[i]``; empty: identity."""
    judge_sees_context: bool = False
    """True only for the ``expert`` protocol: the judge may read the hidden context."""
    turns: list[Turn] = Field(default_factory=list)
    """All turns in the order they happened."""
    roles: dict[str, str] = Field(default_factory=dict)
    """Speaker label -> endpoint spec or participant name that played it. Never shown to a judge."""
    players: dict[str, str] = Field(default_factory=dict)
    """Speaker label -> player (model x best-of-N x critique-and-refine) that played it, for
    tournaments and ratings; empty in records written before players existed."""
    repeat: int = 0
    """Repeat index of this item in the experiment."""
    status: Literal["complete", "error"] = "complete"
    """Whether the protocol finished."""
    error: str | None = None
    """What went wrong, when ``status`` is ``error``."""
    created_at: datetime = Field(default_factory=utc_now)
    """When the transcript was finished (UTC)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Anything else (imported room metadata, dataset fields)."""
    tree: Tree | None = None
    """The evaluation tree of RRM, or the path of a prover–estimator debate (version 2 on)."""
    critique: CritiqueOutcome | None = None
    """A critique's answer, known flaw, GDC data and critique ratings (version 2 on)."""
    planted: Planted | None = None
    """The adversary planted in this transcript by a stress run (version 2 on); None: benign.
    Never shown to a judge."""
    schema_version: int = SCHEMA_VERSION
    """Layout version of this record."""

    @model_validator(mode="after")
    def _check_order(self) -> Transcript:
        n = len(self.question.answers)
        if self.answer_order and sorted(self.answer_order) != list(range(n)):
            raise ValueError(
                f"transcript {self.id!r}: answer_order {self.answer_order} is not a "
                f"permutation of 0..{n - 1}"
            )
        for speaker, index in self.assignment.items():
            if not 0 <= index < n:
                raise ValueError(
                    f"transcript {self.id!r}: {speaker} is assigned answer {index}, "
                    f"but the question has {n} answers"
                )
        return self

    @property
    def order(self) -> list[int]:
        """The presentation order, with the identity spelled out."""
        return self.answer_order or list(range(len(self.question.answers)))

    @property
    def rounds(self) -> int:
        """Number of rounds with at least one public turn."""
        rounds = {t.round for t in self.turns if t.visibility == "public"}
        return len(rounds)

    @property
    def calls(self) -> list[Call]:
        """Every model call recorded on the turns."""
        return [t.call for t in self.turns if t.call is not None]

    @property
    def cost_usd(self) -> float | None:
        """Total cost of the calls; None when any call's cost is unknown."""
        return total_cost(call.cost_usd for call in self.calls)


# The typed results need Record and Quote above; Transcript's annotations name them.
from transcripts._results import CritiqueOutcome, Tree  # noqa: E402

Transcript.model_rebuild()
