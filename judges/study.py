"""A human study over a run: who judges which transcript, in which order — seeded and saved.

Example::

    design = StudyDesign(annotators=["alice", "bob"], assignment="between", target=1, seed=7)
    study = open_study(store, design)        # creates RUN/study.json once, under a file lock
    study.assignments["alice"]               # alice's items, in the order she will see them

Designs (Michael et al. 2023 ran the second: each judge met a story at most once, with the
settings balanced across judges):

* ``within`` — every annotator judges every chosen transcript (``target`` is the pool size).
* ``between`` — each annotator sees each *question* at most once, across conditions, so no
  one learns a question in one condition and then judges it in another; each chosen
  transcript gets ``target`` judgments from different people. Per question, transcripts are
  picked greedily (the one whose condition, then setup, was chosen least so far) and their
  ``target`` copies given to distinct people by an optimal assignment
  (``scipy.optimize.linear_sum_assignment``) that prefers people who have judged that
  condition least, then who have the fewest items. A question with more transcripts than the
  pool can cover (``transcripts x target > annotators``) has the rest *left out* and listed as such,
  never silently dropped. Conditions therefore balance across annotators and across the
  run's coverage.

Orders of one annotator's list:

* ``grouped`` — question by question (questions in a seeded order), conditions together;
* ``random`` — a seeded shuffle per annotator;
* ``interleaved`` (default) — round-robin: for ``within``, one transcript of each question per
  pass, so the same question comes back as late as possible, each annotator starting each
  question at a different condition (rotated, so first exposures balance across people); for
  ``between``, one item of each condition in turn.

``attention_checks`` adds that many items per annotator with an obvious answer (built in, or
``attention_file``: JSON Lines of questions with ``correct``), spread evenly through the list
and never first; they are judged like any item, saved to ``attention.jsonl`` (never mixed
with the run's judgments) and their failures are reported per annotator.

Everything follows from the design, the seed and the run's transcripts, so the same inputs
give the same ``study.json``; the file also holds the design, so a study can be audited.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Literal

import numpy as np
from filelock import FileLock
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from scipy.optimize import linear_sum_assignment

from judges.attention import attention_transcripts
from transcripts import SCHEMA_VERSION, RunStore, Transcript, utc_now
from transcripts.errors import ConfigError

__all__ = ["STUDY_FILE", "Slot", "Study", "StudyDesign", "load_study", "open_study", "plan_study"]

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
    target: int = Field(default=1, ge=1)
    """Judgments wanted per transcript, from different people (``between`` only)."""
    time_limit_s: float | None = Field(default=None, gt=0)
    """Seconds per item, shown with it; a later answer is kept and marked over time."""
    attention_checks: int = Field(default=0, ge=0)
    """Items with an obvious answer added to each person's list."""
    attention_file: Path | None = None
    """JSON Lines of attention-check questions (``id``, ``text``, ``answers``, ``correct``)."""
    conditions: list[str] = Field(default_factory=list)
    """Conditions to judge (empty: all)."""
    rounds: int | None = Field(default=None, ge=0)
    """Show only the first K rounds of each transcript (None: all)."""
    judge_name: str = "human"
    """Name the judgments are filed under."""
    seed: int = 0
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
                f"annotators; the pool has {len(self.annotators)}")
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
                f"{', '.join(self.assignments)}); use one of those names with --annotator")
        return self.assignments[annotator]


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _variant(t: Transcript) -> str:
    """The counterbalancing setup of a transcript: answer order and sides."""
    return f"{t.order}|{sorted(t.assignment.items())}|{t.repeat}"


def plan_study(transcripts: Iterable[Transcript], design: StudyDesign) -> Study:
    """The study ``design`` gives for ``transcripts`` (complete ones of the chosen conditions)."""
    chosen = sorted((t for t in transcripts if t.status == "complete"
                     and (not design.conditions or t.condition in design.conditions)),
                    key=lambda t: t.id)
    if not chosen:
        wanted = f" of conditions {design.conditions}" if design.conditions else ""
        raise ConfigError(f"the run has no complete transcripts{wanted} to plan a study over")
    by_question: dict[str, list[Transcript]] = defaultdict(list)
    for t in chosen:
        by_question[t.question.id].append(t)
    questions = sorted(by_question, key=lambda q: _key(design.seed, "question", q))
    for q in questions:
        by_question[q].sort(key=lambda t: (t.condition, _variant(t), t.id))
    if design.assignment == "within":
        picks = {a: [t for q in questions for t in by_question[q]] for a in design.annotators}
        left: list[str] = []
    else:
        picks, left = _between(by_question, questions, design)
    assignments = {a: _ordered(picks[a], questions, design, i)
                   for i, a in enumerate(design.annotators)}
    attention = attention_transcripts(design.attention_checks, file=design.attention_file,
                                      seed=design.seed)
    for a in design.annotators:
        assignments[a] = _with_attention(assignments[a], attention, design, a)
    return Study(design=design, assignments=assignments, left_out=sorted(left),
                 attention_items=attention,
                 transcripts_hash=_key(*(t.id for t in chosen)))


def _between(
    by_question: dict[str, list[Transcript]], questions: list[str], design: StudyDesign
) -> tuple[dict[str, list[Transcript]], list[str]]:
    """Each person at most once per question; conditions balanced (module docstring)."""
    people = design.annotators
    picks: dict[str, list[Transcript]] = {a: [] for a in people}
    per_condition: dict[tuple[str, str], int] = defaultdict(int)   # (annotator, condition)
    chosen_condition: dict[str, int] = defaultdict(int)
    chosen_variant: dict[tuple[str, str], int] = defaultdict(int)
    left: list[str] = []
    for q in questions:
        candidates = list(by_question[q])
        slots: list[Transcript] = []
        while candidates and len(slots) + design.target <= len(people):
            t = min(candidates, key=lambda t: (
                chosen_condition[t.condition], chosen_variant[(t.condition, _variant(t))],
                _key(design.seed, "pick", t.id)))
            candidates.remove(t)
            slots += [t] * design.target
            chosen_condition[t.condition] += 1
            chosen_variant[(t.condition, _variant(t))] += 1
        left += [t.id for t in candidates]
        # The question's slots go to distinct people, optimally: fewest items of the slot's
        # condition first, then the lightest load, then a seeded tie-break.
        tie = {a: r for r, a in enumerate(sorted(people, key=lambda a: _key(design.seed, q, a)))}
        cost = np.array([[per_condition[(a, t.condition)] * 1e6 + len(picks[a]) * 1e3 + tie[a]
                          for a in people] for t in slots])
        rows, cols = linear_sum_assignment(cost) if slots else ([], [])
        for i, j in zip(rows, cols, strict=True):
            t, a = slots[i], people[j]
            picks[a].append(t)
            per_condition[(a, t.condition)] += 1
    return picks, left


def _slot(t: Transcript, *, attention: bool = False) -> Slot:
    return Slot(transcript_id=t.id, question_id=t.question.id, condition=t.condition,
                attention=attention)


def _round_robin(groups: list[list[Transcript]]) -> list[Transcript]:
    out: list[Transcript] = []
    for i in range(max((len(g) for g in groups), default=0)):
        out += [g[i] for g in groups if i < len(g)]
    return out


def _ordered(
    items: list[Transcript], questions: list[str], design: StudyDesign, index: int
) -> list[Slot]:
    """One person's items in the design's order."""
    rank = {q: i for i, q in enumerate(questions)}
    grouped = sorted(items, key=lambda t: (rank[t.question.id], t.condition, _variant(t), t.id))
    if design.order == "grouped":
        out = grouped
    elif design.order == "random":
        out = list(grouped)
        random.Random(_key(design.seed, "order", design.annotators[index])).shuffle(out)
    elif design.assignment == "within":
        by_q: dict[str, list[Transcript]] = defaultdict(list)
        for t in grouped:
            by_q[t.question.id].append(t)
        groups = []
        for q, ts in sorted(by_q.items(), key=lambda kv: rank[kv[0]]):
            shift = (index + rank[q]) % len(ts)
            groups.append(ts[shift:] + ts[:shift])   # rotated: first exposures balance
        out = _round_robin(groups)
    else:
        by_c: dict[str, list[Transcript]] = defaultdict(list)
        for t in grouped:
            by_c[t.condition].append(t)
        conditions = sorted(by_c)
        shift = index % len(conditions) if conditions else 0
        out = _round_robin([by_c[c] for c in conditions[shift:] + conditions[:shift]])
    return [_slot(t) for t in out]


def _with_attention(
    slots: list[Slot], attention: list[Transcript], design: StudyDesign, annotator: str
) -> list[Slot]:
    """Attention checks spread evenly through ``slots``, never first."""
    if not attention:
        return slots
    items = list(attention)
    random.Random(_key(design.seed, "attention", annotator)).shuffle(items)
    out = list(slots)
    total = len(slots) + len(items)
    at = 0
    for j, t in enumerate(items):
        at = max(at + 1, (j + 1) * total // (len(items) + 1), 1)
        out.insert(min(at, len(out)), _slot(t, attention=True))
    return out


def load_study(store: RunStore) -> Study | None:
    """The run's saved study, or None."""
    data = store.read_json(STUDY_FILE)
    return None if data is None else Study.model_validate(data)


def open_study(store: RunStore, design: StudyDesign | None) -> Study | None:
    """The run's study: the saved one, or (with ``design``) a new one, planned and saved once.

    Planning happens under a lock on the run folder, so two people starting at once get one
    study. A ``design`` that differs from the saved study's is refused: a study cannot
    change once people may have judged under it.
    """
    with FileLock(store.path / f".{STUDY_FILE}.lock"):
        saved = load_study(store)
        if saved is not None:
            if design is not None and design != saved.design:
                raise ConfigError(
                    f"{store.path / STUDY_FILE} holds a study planned with a different design "
                    f"({saved.design.model_dump_json(exclude_defaults=True)}); a study cannot "
                    f"change once judging began: drop the design options, or plan the new "
                    f"study in a copy of the run")
            return saved
        if design is None:
            return None
        study = plan_study(store.transcripts.latest(), design)
        store.write_json(STUDY_FILE, study.model_dump(mode="json"))
        return study
