"""``[split]``: the dataset's questions divided into named, disjoint parts, so that a condition
(or a tournament's matches) can run on one part only.

Khan et al. (2024) rate debaters on one set of questions and measure judge accuracy on
another; ``[split]`` with ``parts = { rating = 0.4, accuracy = 0.6 }`` and
``questions = "rating"`` on the tournament's cross-play does that on one dataset.

A part is a **fraction** or a **list of question ids**. Listed parts take their questions
first; the fractions (which must sum to 1) divide the rest: the units (questions, or with
``by = "source"`` whole sources, so that no story is in two parts) are ordered by a hash of
the experiment's seed and the unit, and cut in the order the parts are written, each part
getting its fraction of the units, rounded so that the sizes add up. A unit's place in that
order does not depend on the other units, but the cut points move with their number: change
``limit`` and a question may change parts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from transcripts import Question
from transcripts.errors import ConfigError

__all__ = ["Split", "question_parts", "split_problems"]

_TOLERANCE = 1e-9


class Split(BaseModel):
    """``[split]``: named, disjoint parts of the questions, for ``questions = "<part>"``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parts: dict[str, float | list[str]] = Field(min_length=1)
    """Part name -> the share of the questions it gets (a fraction; the fractions sum to 1)
    or the ids of its questions, e.g. ``{ rating = 0.4, accuracy = 0.6 }``."""
    by: Literal["question", "source"] = "question"
    """What is divided: single ``question``s, or whole ``source``s (stories, articles), so
    that no source has questions in two parts."""

    @field_validator("parts", mode="before")
    @classmethod
    def _fraction_or_ids(cls, value: Any) -> Any:
        for name, part in value.items() if isinstance(value, dict) else ():
            ids = isinstance(part, list) and all(isinstance(i, str) for i in part)
            number = isinstance(part, int | float) and not isinstance(part, bool)
            if not (ids or number):
                raise ValueError(
                    f"part {name!r} is {part!r}; give a fraction (e.g. {name} = 0.5) or a "
                    f'list of question ids (e.g. {name} = ["q1", "q2"])'
                )
        return value


def split_problems(split: Split | None, used: Sequence[tuple[str, str]]) -> list[str]:
    """The problems of ``[split]`` that need no questions, and of each ``(where, part)`` in
    ``used`` (a condition's or tournament's ``questions``) that names no part of it."""
    problems = []
    if split is not None:
        fractions = {k: v for k, v in split.parts.items() if not isinstance(v, list)}
        for name, value in split.parts.items():
            at = f"split.parts.{name}"
            if isinstance(value, list) and not value:
                problems.append(f"{at}: lists no question id; list some, or give a fraction")
            elif not isinstance(value, list) and not 0 < value <= 1:
                problems.append(f"{at}: {value} is not a fraction above 0 and at most 1")
        total = sum(fractions.values())
        if fractions and abs(total - 1) > _TOLERANCE:
            shown = " + ".join(f"{v:g}" for v in fractions.values())
            problems.append(
                f"split.parts: the fractions add up to {total:g} ({shown}), not 1; make them "
                f"add up to 1 (they divide the questions no part lists)"
            )
        owner: dict[str, str] = {}
        for name, value in split.parts.items():
            for qid in value if isinstance(value, list) else []:
                if qid in owner:
                    where = "twice" if owner[qid] == name else f"also in part {owner[qid]!r}"
                    problems.append(
                        f"split.parts.{name}: question {qid!r} is listed {where}; the parts "
                        f"are disjoint: list each question in one part"
                    )
                owner.setdefault(qid, name)
    names = list(split.parts) if split is not None else []
    for where, part in used:
        if split is None:
            problems.append(
                f"{where}: {part!r} names a part of [split], but the experiment has no [split]; "
                f"add one, e.g. [split] parts = {{ {part} = 0.5, rest = 0.5 }}, or drop {where}"
            )
        elif part not in split.parts:
            problems.append(
                f"{where}: {part!r} is not a part of [split]; its parts: " + ", ".join(names)
            )
    return problems


def _unit(question: Question, by: str) -> str:
    if by == "source" and question.source is not None:
        return f"source\x1f{question.source}"
    return f"question\x1f{question.id}"


def _rank(seed: int, unit: str) -> str:
    return hashlib.sha256(f"split\x1f{seed}\x1f{unit}".encode()).hexdigest()


def question_parts(
    split: Split | None, questions: Sequence[Question], *, seed: int
) -> dict[str, frozenset[str]]:
    """The ids of each part's questions (empty without a split). Raises ConfigError, naming
    the part, for a listed id the dataset lacks, a part left with no question, and (with
    ``by = "source"``) a source whose questions would fall in two parts."""
    if split is None:
        return {}
    problems = split_problems(split, ())
    if problems:
        raise ConfigError(_report(problems))
    known = {q.id for q in questions}
    parts: dict[str, list[str]] = {name: [] for name in split.parts}
    listed: dict[str, str] = {}
    for name, value in split.parts.items():
        if not isinstance(value, list):
            continue
        missing = [qid for qid in value if qid not in known]
        if missing:
            problems.append(
                f"split.parts.{name}: {_some(missing)} not among the dataset's "
                f"{len(known)} questions (after its filters and limit); check the ids"
            )
        parts[name] = [qid for qid in value if qid in known]
        listed.update((qid, name) for qid in parts[name])
    rest = [q for q in questions if q.id not in listed]
    units: dict[str, list[str]] = {}
    for q in rest:
        units.setdefault(_unit(q, split.by), []).append(q.id)
    fractions = [(k, v) for k, v in split.parts.items() if not isinstance(v, list)]
    if not fractions:
        units = {}  # the questions no part lists are in no part
    if split.by == "source":
        problems += _sources_apart(questions, listed, set(units))
    order = sorted(units, key=lambda u: _rank(seed, u))
    cut, total = 0, 0.0
    for name, fraction in fractions:
        total += fraction
        end = len(order) if name == fractions[-1][0] else round(total * len(order))
        parts[name] = [qid for unit in order[cut:end] for qid in units[unit]]
        cut = end
    counted = "sources" if split.by == "source" else "questions"
    for name, ids in parts.items():
        if not ids and not any(p.startswith(f"split.parts.{name}:") for p in problems):
            value = split.parts[name]
            why = (
                f"its fraction {value:g} of the {len(order)} {counted} left for the fractions "
                f"rounds to none; raise the fraction or use more questions"
                if not isinstance(value, list)
                else "none of its ids is in the dataset"
            )
            problems.append(f"split.parts.{name}: has no question: {why}")
    if problems:
        raise ConfigError(_report(problems))
    return {name: frozenset(ids) for name, ids in parts.items()}


def _sources_apart(
    questions: Sequence[Question], listed: dict[str, str], rest_units: set[str]
) -> list[str]:
    """With ``by = "source"``: each source whose questions the listed parts put in two parts
    (or in a listed part and among the questions the fractions divide)."""
    where: dict[str, set[str]] = {}
    for q in questions:
        if q.source is None:
            continue
        if q.id in listed:
            where.setdefault(q.source, set()).add(f"part {listed[q.id]!r}")
        elif _unit(q, "source") in rest_units:
            where.setdefault(q.source, set()).add("the questions the fractions divide")
    return [
        f"split.parts: source {source!r} has questions in {' and '.join(sorted(parts))}; "
        f'with by = "source" a source belongs to one part: list all its questions in one '
        f'part, or none of them (or use by = "question")'
        for source, parts in where.items()
        if len(parts) > 1
    ]


def _some(ids: list[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:5]) + (
        f" and {len(ids) - 5} more" if len(ids) > 5 else ""
    )
    return f"{shown} {'is' if len(ids) == 1 else 'are'}"


def _report(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} problems:\n  " + "\n  ".join(problems)
