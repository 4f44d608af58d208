"""The stored records of a human study: its design, each person's list, and where the
study and its attention checks live in a run folder. Planning is in :mod:`judges.study`;
this module holds only what is stored, so every layer can read it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from transcripts._judgments import Judgment
from transcripts._log import JsonlLog
from transcripts._models import SCHEMA_VERSION, Transcript, utc_now
from transcripts._store import RunStore
from transcripts._validation import Integer, Number
from transcripts.errors import ConfigError

__all__ = [
    "ATTENTION_FILE",
    "STUDY_FILE",
    "Slot",
    "Study",
    "StudyDesign",
    "attention_log",
    "attention_passed",
    "read_study",
]

ATTENTION_FILE = "attention.jsonl"
"""Attention-check judgments, kept apart from the run's judgments."""

STUDY_FILE = "study.json"
"""Where the study lives in the run folder."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StudyDesign(_Model):
    """How people are assigned to transcripts (``[human]`` in an experiment file)."""

    annotators: list[str] = Field(min_length=1)
    """The pool: every person who will judge, by the name they give ``--annotator``."""
    assignment: Literal["within", "between"] = "within"
    """``within``: everyone judges everything; ``between``: each person sees each question once."""
    order: Literal["interleaved", "random", "grouped"] = "interleaved"
    """In which order each person meets their items (see the module docstring)."""
    target: Integer = Field(default=1, ge=1)
    """Judgments wanted per transcript, from different people (``between`` only)."""
    time_limit_s: Number | None = Field(default=None, gt=0)
    """Seconds per item, shown with it; a later answer is kept and marked over time."""
    attention_checks: Integer = Field(default=0, ge=0)
    """Items with an obvious answer added to each person's list."""
    attention_file: Path | None = None
    """JSON Lines of attention-check questions (``id``, ``text``, ``answers``, ``correct``)."""
    conditions: list[str] = Field(default_factory=list)
    """Conditions to judge (empty: all)."""
    rounds: Integer | None = Field(default=None, ge=0)
    """Show only the first K rounds of each transcript (None: all)."""
    judge_name: str = "human"
    """Name the judgments are filed under."""
    seed: Integer = 0
    """Seed of every choice the assignment makes."""

    @field_validator("annotators")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        cleaned = [n.strip() for n in names]
        if any(not n for n in cleaned):
            raise ValueError("an annotator name is empty")
        twice = sorted({n for n in cleaned if cleaned.count(n) > 1})
        if twice:
            raise ValueError(f"annotators named twice: {', '.join(twice)}")
        return cleaned

    @model_validator(mode="after")
    def _target_fits(self) -> StudyDesign:
        if self.assignment == "between" and self.target > len(self.annotators):
            raise ValueError(
                f"target {self.target} judgments per transcript needs at least {self.target} "
                f"annotators; the pool has {len(self.annotators)}"
            )
        return self


class Slot(_Model):
    """One item of one person's list."""

    transcript_id: str
    """The transcript to judge (an attention-check item's id for attention checks)."""
    question_id: str
    """Its question (``between`` never gives a person the same question twice)."""
    condition: str
    """Its condition label."""
    attention: bool = False
    """True for an attention-check item."""


class Study(_Model):
    """A planned study, as saved in ``RUN/study.json``."""

    design: StudyDesign
    """The design it was planned from."""
    assignments: dict[str, list[Slot]]
    """Annotator -> their items, in the order they see them."""
    left_out: list[str] = Field(default_factory=list)
    """Transcripts of the chosen conditions that the design could not cover."""
    attention_items: list[Transcript] = Field(default_factory=list)
    """The attention-check items (unassisted transcripts of obvious questions)."""
    transcripts_hash: str = ""
    """Hash of the transcript ids the study was planned from."""
    created_at: datetime = Field(default_factory=utc_now)
    """When the study was planned (UTC)."""
    schema_version: int = SCHEMA_VERSION
    """Layout version of this record."""

    def targets(self) -> dict[str, int]:
        """Transcript id -> judgments assigned (attention checks left out)."""
        counts: dict[str, int] = defaultdict(int)
        for slots in self.assignments.values():
            for slot in slots:
                if not slot.attention:
                    counts[slot.transcript_id] += 1
        return dict(counts)

    def slots_of(self, annotator: str) -> list[Slot]:
        """``annotator``'s list; a clear error for someone outside the pool."""
        if annotator not in self.assignments:
            raise ConfigError(
                f"{annotator!r} is not in this run's study (annotators: "
                f"{', '.join(self.assignments)}); use one of those names with --annotator"
            )
        return self.assignments[annotator]

    def places(self, annotator: str) -> Iterator[tuple[int, Slot]]:
        """``annotator``'s list, each item with its place in it, from 1, counted as the
        person sees it ("Item 14 of 40", attention checks included): the one rule for
        sessions, study status and the export's ``study_position``."""
        return enumerate(self.slots_of(annotator), start=1)


def read_study(store: RunStore) -> Study | None:
    """The run's saved study, or None."""
    data = store.read_json(STUDY_FILE)
    return None if data is None else Study.model_validate(data)


def attention_log(store: RunStore) -> JsonlLog[Judgment]:
    """The run's attention-check judgments."""
    return JsonlLog(store.path / ATTENTION_FILE, Judgment)


def attention_passed(probabilities: Sequence[float] | None, correct: int | None) -> bool:
    """Whether an answer to an attention check passed: more than half its probability on
    the obvious answer ``correct`` (the one rule for the annotator table and the export).
    An answer without probabilities, or to a check whose obvious answer is unknown (its
    study gone), does not pass."""
    if correct is None or not probabilities or not 0 <= correct < len(probabilities):
        return False
    return probabilities[correct] > 0.5
