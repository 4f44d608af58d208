"""QuALITY (Pang et al., 2022): long stories with multiple-choice questions, as JSON Lines.

Each line of a QuALITY file (e.g. ``QuALITY.v1.0.1.htmlstripped.dev``) is one article::

    {"article_id": "...", "set_unique_id": "...", "title": "...", "article": "...",
     "questions": [{"question": "...", "options": [4 strings], "gold_label": 1-4,
                    "question_unique_id": "...", "difficult": 0 or 1,
                    "validation": [{"untimed_best_distractor": 1-4, ...}, ...]}, ...]}

The article is the hidden context and its id the cluster key (``source``). Labels are
1-based in the file and 0-based in :class:`~transcripts.Question`. With ``answers = 2`` the
distractor kept is the one annotators most often named the best distractor, as in the NYU
debate experiments. Test-split files carry no ``gold_label``; their questions have no gold.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from oversight.datasets._common import DatasetOptions, keep_answers, resolve
from transcripts import Question
from transcripts._validation import Integer
from transcripts.errors import DatasetError

__all__ = ["QualitySpec", "load"]


class QualitySpec(DatasetOptions):
    """``loader = "quality"``: a QuALITY JSON Lines file."""

    loader: Literal["quality"] = "quality"
    """Which loader reads the dataset."""
    path: Path
    """The QuALITY file (JSON Lines, one article a line)."""
    hard: bool | None = None
    """True keeps only the hard subset (``difficult == 1``), False only the others, None all."""
    max_article_words: Integer | None = None
    """Skip articles longer than this many words (None = no limit)."""


def load(spec: QualitySpec, base_dir: Path | None = None) -> list[Question]:
    """Every question of the file that passes the QuALITY filters."""
    path = resolve(spec.path, base_dir, "quality")
    questions: list[Question] = []
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                article = json.loads(line)
                questions.extend(_article_questions(article, spec))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                raise DatasetError(
                    f"{path}:{number}: not a QuALITY article ({type(err).__name__}: {err}); "
                    f"expected article_id, article and questions with options and gold_label"
                ) from err
    return questions


def _article_questions(article: dict[str, Any], spec: QualitySpec) -> list[Question]:
    text: str = article["article"]
    if spec.max_article_words is not None and len(text.split()) > spec.max_article_words:
        return []
    out = []
    for i, raw in enumerate(article["questions"]):
        difficult = bool(raw.get("difficult", 0))
        if spec.hard is not None and difficult != spec.hard:
            continue
        gold = raw.get("gold_label")
        options = [str(o).strip() for o in raw["options"]]
        qid = str(raw.get("question_unique_id") or f"{article['set_unique_id']}_{i}")
        question = Question(
            id=qid,
            text=str(raw["question"]).strip(),
            answers=options,
            correct=int(gold) - 1 if gold is not None else None,
            context=text,
            source=str(article["article_id"]),
            dataset="quality",
            metadata={
                "title": article.get("title"),
                "difficult": difficult,
                "set_unique_id": article.get("set_unique_id"),
            },
        )
        votes = Counter(
            int(v["untimed_best_distractor"]) - 1
            for v in raw.get("validation", [])
            if v.get("untimed_best_distractor") is not None
        )
        preferred = [index for index, _ in votes.most_common()]
        out.append(keep_answers(question, spec.answers, seed=spec.seed, preferred=preferred))
    return out
