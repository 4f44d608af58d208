"""Questions from the NYU debate dataset (Michael et al., 2023), via its importer.

``path`` is either a run folder written by ``oversight import nyu-debate`` (the questions
of its imported rooms: story, question, the two answers and the gold) or the raw dataset
folder (the questions of every room); both are read by
:func:`transcripts.importers.nyu.questions`. The story id is the cluster key. Each
question appears once, however many rooms used it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from oversight.datasets._common import DatasetOptions, keep_answers, resolve
from transcripts import Question
from transcripts.errors import DatasetError
from transcripts.importers.nyu import questions

__all__ = ["NYUSpec", "load"]


class NYUSpec(DatasetOptions):
    """``loader = "nyu"``: questions of the NYU debate dataset."""

    loader: Literal["nyu"] = "nyu"
    """Which loader reads the dataset."""
    path: Path
    """An imported run folder (``oversight import nyu-debate ... --out DIR``) or the raw dataset."""


def load(spec: NYUSpec, base_dir: Path | None = None) -> list[Question]:
    """The distinct questions of the imported rooms (or of the raw dataset's rooms)."""
    path = resolve(spec.path, base_dir, "nyu")
    raw = questions(path)
    if not raw:
        raise DatasetError(f"{path}: no questions found in the imported rooms")
    return [keep_answers(q, spec.answers, seed=spec.seed) for q in raw]
