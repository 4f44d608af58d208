"""GPQA (Rein et al., 2023): graduate-level science questions, as the published CSV.

Columns used: ``Question``, ``Correct Answer``, ``Incorrect Answer 1`` to ``3``,
``Record ID``, ``High-level domain``, ``Subdomain`` and ``Explanation``. The file lists the
correct answer first, so the answers are always put in a seeded random order (by record id
and ``seed``). There is no hidden story: the expert ``Explanation`` is kept as the context
only when ``explanation_as_context`` is set. The cluster key is the subdomain.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

from oversight.datasets._common import DatasetOptions, csv_records, keep_answers, resolve
from transcripts import Question
from transcripts.errors import DatasetError

__all__ = ["GPQASpec", "load"]

_REQUIRED = (
    "Question",
    "Correct Answer",
    "Incorrect Answer 1",
    "Incorrect Answer 2",
    "Incorrect Answer 3",
)


class GPQASpec(DatasetOptions):
    """``loader = "gpqa"``: a GPQA CSV file (main, extended or diamond)."""

    loader: Literal["gpqa"] = "gpqa"
    """Which loader reads the dataset."""
    path: Path
    """The GPQA CSV file."""
    domains: list[str] | None = None
    """Keep only these high-level domains (``Physics``, ``Chemistry``, ``Biology``)."""
    subdomains: list[str] | None = None
    """Keep only these subdomains (e.g. ``Quantum Mechanics``)."""
    explanation_as_context: bool = False
    """Give the expert explanation as the hidden context (for expert and debate roles)."""


def load(spec: GPQASpec, base_dir: Path | None = None) -> list[Question]:
    """Every question of the file in the chosen domains."""
    path = resolve(spec.path, base_dir, "gpqa")
    questions = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise DatasetError(f"{path}: not a GPQA CSV: missing column(s) {', '.join(missing)}")
        for line, number, row in csv_records(path, reader):
            domain = (row.get("High-level domain") or "").strip()
            subdomain = (row.get("Subdomain") or "").strip()
            if spec.domains is not None and domain not in spec.domains:
                continue
            if spec.subdomains is not None and subdomain not in spec.subdomains:
                continue
            answers = [(row[c] or "").strip() for c in _REQUIRED[1:]]  # None: a short row
            text = (row["Question"] or "").strip()
            if not all(answers) or not text:
                raise DatasetError(f"{path}:{line}: empty question or answer")
            qid = (row.get("Record ID") or "").strip() or f"gpqa-{number - 1}"
            question = Question(
                id=qid,
                text=text,
                answers=answers,
                correct=0,
                context=(row.get("Explanation") or "").strip() or None
                if spec.explanation_as_context
                else None,
                source=subdomain or domain or qid,
                dataset="gpqa",
                metadata={"domain": domain, "subdomain": subdomain},
            )
            questions.append(keep_answers(question, spec.answers, seed=spec.seed, shuffle=True))
    return questions
