"""Judgments: who judged (:class:`JudgeIdentity`), what they decided (:class:`Judgment`)
and items a fallback judge queued for a person (:class:`Escalation`).

Also :func:`upgrade_v1`, which reads a judgment stored before schema version 2 in
today's layout. The records they are built from (calls, usage) live in
:mod:`transcripts._models`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from transcripts._models import SCHEMA_VERSION, Call, Record, Usage, new_id, utc_now
from transcripts.scoring import total_cost, verdict

__all__ = ["Escalation", "JudgeIdentity", "JudgeKind", "Judgment", "upgrade_v1"]

JudgeKind = Literal["llm", "human", "fallback", "panel"]
"""What kind of judge decided: a model, a person, a fallback chain or a panel."""

_V1_METADATA_FIELDS = ("supersedes", "escalation_id", "work_key")


def upgrade_v1(data: Any) -> Any:
    """A judgment as stored before schema 2, in today's layout: the contract keys it kept in
    ``metadata`` become fields. Anything else (and a record already at 2) passes unchanged."""
    if not isinstance(data, dict) or data.get("schema_version", SCHEMA_VERSION) >= 2:
        return data
    metadata = data.get("metadata")
    out = dict(data)  # schema_version stays: it says which oversight wrote the record
    if isinstance(metadata, dict):
        out["metadata"] = {k: v for k, v in metadata.items() if k not in _V1_METADATA_FIELDS}
        for key in _V1_METADATA_FIELDS:
            if key in metadata and out.get(key) is None:
                out[key] = metadata[key]
    return out


class JudgeIdentity(Record):
    """Who judged."""

    kind: JudgeKind
    """``llm``, ``human``, ``fallback`` or ``panel``."""
    name: str
    """Judge name from the experiment, e.g. ``weak-judge``."""
    model: str | None = None
    """Endpoint spec of an LLM judge."""
    annotator: str | None = None
    """Name of the person, for human judges."""


class Judgment(Record):
    """A judge's decision on one transcript."""

    id: str = Field(default_factory=new_id)
    """Unique id."""
    transcript_id: str
    """The transcript judged."""
    run_id: str = ""
    """Run the judgment belongs to."""
    judge: JudgeIdentity
    """Who judged."""
    status: Literal["ok", "failed", "skipped"] = "ok"
    """``failed``: no valid judgment came out (never a silent guess); ``skipped`` by a person."""
    probabilities: list[float] | None = None
    """Probability per answer in the question's original order; sums to 1 when status is ok."""
    rationale: str = ""
    """The judge's stated reason."""
    rounds_seen: int | None = None
    """How many rounds the judge saw (None = all)."""
    time_s: float | None = None
    """Seconds the judge took."""
    escalated: bool = False
    """True when a fallback judge sent this item to a human."""
    live: bool = False
    """True when this is a live judge's final belief, taken from its last judge turn in the
    transcript (the judge chose when to stop); False for judges that read a finished one."""
    escalation_reason: str | None = None
    """Why the item was escalated (low confidence, disagreement, failure)."""
    escalated_from: str | None = None
    """Id of the judgment that triggered escalation."""
    decided_by: str | None = None
    """For fallback and panel judges: which component's judgment decided."""
    components: list[Judgment] = Field(default_factory=list)
    """The judgments a fallback or panel judge combined."""
    agreement: float | None = None
    """For panels: share of components whose verdict equals the panel's."""
    calls: list[Call] = Field(default_factory=list)
    """Model calls the judge made."""
    error: str | None = None
    """What went wrong, when ``status`` is ``failed``."""
    created_at: datetime = Field(default_factory=utc_now)
    """When the judgment was made (UTC)."""
    supersedes: str | None = None
    """Id of the judgment this one replaces (a person's decision of a queued item replaces
    the provisional automatic judgment); the replaced one no longer counts."""
    escalation_id: str | None = None
    """Id of the :class:`Escalation` this judgment belongs to: the provisional judgment a
    deferred fallback filed, and the person's final judgment of that item."""
    work_key: str | None = None
    """The runner's or rejudge's key of the work this judgment completes (transcript, judge,
    rounds): a resumed run skips keys already settled."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Anything else (rejudge provenance, interim beliefs)."""
    schema_version: int = SCHEMA_VERSION
    """Layout version of this record."""

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        return upgrade_v1(data)

    @field_validator("probabilities")
    @classmethod
    def _valid_probabilities(cls, value: list[float] | None) -> list[float] | None:
        if value is None:
            return None
        if any(p < 0 or p > 1 for p in value):
            raise ValueError(f"probabilities must lie in [0, 1], got {value}")
        if abs(sum(value) - 1.0) > 1e-6:
            raise ValueError(f"probabilities must sum to 1, got {value} (sum {sum(value)})")
        return value

    @model_validator(mode="after")
    def _ok_has_probabilities(self) -> Judgment:
        if self.status == "ok" and self.probabilities is None:
            raise ValueError("an ok judgment needs probabilities")
        return self

    @property
    def verdict(self) -> int | None:
        """Index (original order) of the most probable answer; None on a tie (within
        :data:`transcripts.scoring.TIE_TOLERANCE`) or no judgment."""
        return verdict(self.probabilities)

    @property
    def cost_usd(self) -> float | None:
        """Total cost of this judgment's calls and its components'; None when any is unknown."""
        return total_cost(
            [
                *(call.cost_usd for call in self.calls),
                *(component.cost_usd for component in self.components),
            ]
        )

    @property
    def usage(self) -> Usage:
        """Tokens of this judgment's calls and its components'."""
        total = Usage()
        for call in self.calls:
            total = total + call.usage
        for component in self.components:
            total = total + component.usage
        return total


class Escalation(Record):
    """An item a fallback judge sent to a human for later judging (``oversight judge RUN``)."""

    id: str = Field(default_factory=new_id)
    """Unique id; the human's judgment names it in ``escalated_from``."""
    transcript_id: str
    """The transcript to judge."""
    judge_name: str
    """Name of the fallback judge that escalated."""
    reason: str
    """Why: low confidence, disagreement or failure, in words."""
    first: Judgment
    """The automatic judgment that triggered escalation."""
    rounds: int | None = None
    """Rounds of the transcript the human should see (None = all)."""
    created_at: datetime = Field(default_factory=utc_now)
    """When it was queued (UTC)."""
    schema_version: int = SCHEMA_VERSION
    """Layout version of this record."""
