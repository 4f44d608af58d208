"""Attention-check items: questions with an obvious answer, judged like any other item.

A person who reads the item gets it right; a wrong answer (or one with no more than even
odds on the obvious answer) is a *failure*, reported per annotator in the report's
annotator table. The built-in questions are ours; ``file`` (JSON Lines of questions with
``id``, ``text``, ``answers`` and ``correct``) replaces them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from pydantic import ValidationError

from transcripts import Question, Transcript
from transcripts._validation import format_errors
from transcripts.errors import ConfigError

__all__ = ["ATTENTION_CONDITION", "BUILTIN", "attention_transcripts", "is_attention_id"]

ATTENTION_CONDITION = "attention-check"
"""Condition label of attention-check items."""
_PREFIX = "attention-"

BUILTIN: list[tuple[str, list[str], int]] = [
    ("How many legs does a healthy adult dog usually have?", ["Four", "Eleven"], 0),
    ("Which of these is a colour?", ["Tuesday", "Green"], 1),
    ("What is two plus two?", ["Four", "Nineteen"], 0),
    ("Which of these animals can fly?", ["A brick", "A sparrow"], 1),
    ("Which month comes straight after January?", ["February", "October"], 0),
    ("Water at sea level boils at about which temperature?", ["3 °C", "100 °C"], 1),
    ("Which of these is a fruit?", ["An apple", "A hammer"], 0),
    ("How many days are in a week?", ["Forty", "Seven"], 1),
    ("Which is larger?", ["A mountain", "A grain of sand"], 0),
    ("What do bees make?", ["Concrete", "Honey"], 1),
]
"""(question, answers, index of the obvious answer) — written for this project."""


def is_attention_id(transcript_id: str) -> bool:
    """Whether ``transcript_id`` names an attention-check item."""
    return transcript_id.startswith(_PREFIX)


def _questions(file: Path | None) -> list[Question]:
    if file is None:
        return [
            Question(
                id=f"builtin-{i}",
                text=text,
                answers=answers,
                correct=correct,
                source=ATTENTION_CONDITION,
            )
            for i, (text, answers, correct) in enumerate(BUILTIN)
        ]
    if not file.is_file():
        raise ConfigError(f"attention_file {str(file)!r} does not exist")
    out = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            given = json.loads(line)
            if not isinstance(given, dict):
                raise ValueError(f"a JSON object, not {type(given).__name__}, is needed")
            question = Question.model_validate({"source": ATTENTION_CONDITION, **given})
        except ValidationError as err:
            problem = "; ".join(format_errors(err, Question))
            raise ConfigError(
                f"{file}:{number}: not an attention-check question ({problem}); "
                f"give id, text, answers and correct"
            ) from None
        except ValueError as err:
            raise ConfigError(
                f"{file}:{number}: not an attention-check question ({err}); "
                f"give id, text, answers and correct"
            ) from None
        if question.correct is None:
            raise ConfigError(f"{file}:{number}: an attention check needs its correct answer")
        out.append(question)
    return out


def attention_transcripts(count: int, *, file: Path | None, seed: int) -> list[Transcript]:
    """``count`` attention-check items (unassisted transcripts), chosen with ``seed``."""
    if count == 0:
        return []
    questions = _questions(file)
    if count > len(questions):
        raise ConfigError(
            f"{count} attention checks asked for, but only {len(questions)} "
            f"questions are available; lower attention_checks or add questions "
            f"with attention_file"
        )
    picked = random.Random(f"attention|{seed}").sample(questions, count)
    return [
        Transcript(
            id=f"{_PREFIX}{q.id}",
            run_id="",
            protocol="unassisted",
            condition=ATTENTION_CONDITION,
            question=q,
            answer_order=random.Random(f"{seed}|{q.id}").sample(
                range(len(q.answers)), len(q.answers)
            ),
        )
        for q in picked
    ]
