"""Questions from the NYU debate dataset (Michael et al., 2023), via its importer.

``path`` is either a run folder written by ``oversight import nyu-debate`` (the questions
of its transcripts are used: story, question, the two answers and the gold) or the raw
dataset folder, which is read by :func:`transcripts.importers.nyu.questions` when that
importer is installed. The story id is the cluster key. Each question appears once, however
many rooms used it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Literal

from oversight.datasets._common import DatasetOptions, keep_answers, resolve
from transcripts import Question, RunStore
from transcripts.errors import DatasetError

__all__ = ["NYUSpec", "load"]


class NYUSpec(DatasetOptions):
    """``loader = "nyu"``: questions of the NYU debate dataset."""

    loader: Literal["nyu"] = "nyu"
    """Which loader reads the dataset."""
    path: Path
    """An imported run folder (``oversight import nyu-debate ... --out DIR``) or the raw dataset."""


def load(spec: NYUSpec, base_dir: Path | None = None) -> list[Question]:
    """The distinct questions of the imported rooms, in order of first appearance."""
    path = resolve(spec.path, base_dir, "nyu")
    if (path / "run.json").exists():
        store = RunStore.open(path)
        found: dict[str, Question] = {}
        for transcript in store.transcripts:
            found.setdefault(transcript.question.id, transcript.question)
        raw = list(found.values())
    else:
        try:
            module = importlib.import_module("transcripts.importers.nyu")
        except ModuleNotFoundError as err:
            raise DatasetError(
                f"{path} is not an imported run folder, and the NYU importer is not available: "
                f"run `oversight import nyu-debate {path} --out DIR` and point dataset.path at DIR"
            ) from err
        raw = list(module.questions(path))
    if not raw:
        raise DatasetError(f"{path}: no questions found in the imported rooms")
    return [keep_answers(q, spec.answers, seed=spec.seed) for q in raw]
