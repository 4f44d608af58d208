"""The sample dataset: short invented stories with two-answer questions, shipped with oversight.

Written for the project (no third-party text): four stories of a few hundred words, three
questions each, each answerable only with the story. It serves the quickstart and the tests.
Each line of ``data/sample.jsonl`` is one story::

    {"story_id": "...", "title": "...", "story": "...",
     "questions": [{"id": "...", "question": "...", "answers": ["...", "..."], "correct": 0}]}
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Literal

from oversight.datasets._common import DatasetOptions, keep_answers
from transcripts import Question

__all__ = ["SampleSpec", "load"]


class SampleSpec(DatasetOptions):
    """``loader = "sample"``: the stories shipped with oversight (no path needed)."""

    loader: Literal["sample"] = "sample"
    """Which loader reads the dataset."""


def load(spec: SampleSpec, base_dir: Path | None = None) -> list[Question]:
    """All sample questions, story by story."""
    text = resources.files("oversight.datasets").joinpath("data/sample.jsonl").read_text("utf-8")
    questions = []
    for line in text.splitlines():
        if not line.strip():
            continue
        story = json.loads(line)
        for raw in story["questions"]:
            question = Question(
                id=raw["id"],
                text=raw["question"],
                answers=raw["answers"],
                correct=raw["correct"],
                context=story["story"],
                source=story["story_id"],
                dataset="sample",
                metadata={"title": story["title"]},
            )
            questions.append(keep_answers(question, spec.answers, seed=spec.seed))
    return questions
