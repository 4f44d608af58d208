"""From one NYU debate room's fields to ours, a value at a time: the stable ids, the
setting name, a judge's probabilities, the question, and a turn's text with its quotes.

:mod:`transcripts.importers._nyu_mapping` assembles a room's records from these (and says
how the whole room maps).

* Ids derive from room names (``nyu-<room>``, ``nyu-<room>.live``,
  ``nyu-<room>.offline.<judge>``) and a question's from its story id and text, so importing
  again finds the same records.
* A judge's distribution must be a finite, non-negative probability per answer, not all 0
  (a negative within ``1e-9`` of 0 reads as 0), else it is a :class:`DatasetError`; one
  summing to 1 within ``1e-9`` is kept as recorded, any other is renormalised (a live
  judgment then keeps the recorded one in its metadata).
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import UTC, datetime
from typing import Any

from transcripts._models import Question, Quote
from transcripts.errors import DatasetError
from transcripts.importers._nyu_format import Segment, Setup
from transcripts.importers._tokens import TokenText

__all__ = [
    "DATASET",
    "LIVE_JUDGE",
    "OFFLINE_JUDGE",
    "SETTINGS",
    "live_judgment_id",
    "offline_judgment_id",
    "question_id",
    "question_of",
    "setting_of",
    "speaker_label",
    "transcript_id",
]

DATASET = "nyu-debate"
"""``Question.dataset`` and ``metadata["dataset"]`` of everything imported."""
LIVE_JUDGE = "nyu-live-judge"
"""Judge name of the judge who took part in the debate."""
OFFLINE_JUDGE = "nyu-offline-judge"
"""Judge name of the judges who read a finished debate afterwards."""

SETTINGS = {
    (True, True): "human-debate",
    (False, True): "ai-debate",
    (True, False): "human-consultancy",
    (False, False): "ai-consultancy",
}
"""(human debaters?, debate?) -> setting name."""

_STATUS = {
    "Complete": "complete",
    "InProgress": "in-progress",
    "WaitingToBegin": "waiting-to-begin",
}
_ENDED_BY = {
    "JudgeDecided": "judge-decided",
    "MutualAgreement": "mutual-agreement",
    "TimeUp": "time-up",
}
_TAG = re.compile(r"</?quote>")
"""A quote tag typed as text (judges asking for quotes) would read as a quote: it is escaped."""
_TOLERANCE = 1e-9
"""Distributions whose sum is this close to 1 are kept exactly as recorded."""


def setting_of(is_human: bool, is_debate: bool) -> str:
    """The setting name of a room."""
    return SETTINGS[(is_human, is_debate)]


def transcript_id(room: str) -> str:
    """Stable transcript id of a room (room names are unique, so ids are too)."""
    return f"nyu-{room}"


def live_judgment_id(room: str) -> str:
    """Stable id of a room's live judgment."""
    return f"nyu-{room}.live"


def offline_judgment_id(room: str, judge: str) -> str:
    """Stable id of an offline judge's judgment of a room."""
    slug = re.sub(r"[^a-z0-9]+", "-", judge.lower()).strip("-")
    return f"nyu-{room}.offline.{slug}"


def question_id(story_id: str, text: str) -> str:
    """``<story id>:<hash of the question text>``, the same in every room asking it."""
    return f"{story_id}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def speaker_label(index: int) -> str:
    """``Debater A`` for answer 0, ``Debater B`` for 1, ..."""
    return f"Debater {chr(ord('A') + index)}"


def _label_index(label: str) -> int | None:
    match = re.fullmatch(r"Debater ([A-Z])", label)
    return ord(match.group(1)) - ord("A") if match else None


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _probabilities(values: list[float], n: int, where: str) -> tuple[list[float], bool]:
    """A valid distribution over ``n`` answers, and whether it had to be renormalised."""
    if len(values) != n or any(not math.isfinite(v) for v in values):
        raise DatasetError(f"{where}: {values} is not a probability per answer ({n} answers)")
    values = [0.0 if -_TOLERANCE < v < 0 else v for v in values]
    total = sum(values)
    if any(v < 0 for v in values) or total <= 0:
        raise DatasetError(f"{where}: {values} is not a probability distribution")
    if abs(total - 1.0) <= _TOLERANCE:
        return values, False
    return [v / total for v in values], True


def question_of(setup: Setup, story: TokenText) -> Question:
    """The room's question, with the story as hidden context and the story id as source."""
    n = len(setup.answers)
    if not 0 <= setup.correct_answer_index < n:
        raise DatasetError(
            f"correctAnswerIndex {setup.correct_answer_index} is not an index into the {n} answers"
        )
    return Question(
        id=question_id(setup.story.story_id, setup.question),
        text=setup.question,
        answers=list(setup.answers),
        correct=setup.correct_answer_index,
        context=story.text,
        source=setup.story.story_id,
        dataset=DATASET,
        metadata={"story_title": setup.story.title},
    )


class _Renderer:
    """Renders segments against one story, counting quotes."""

    __slots__ = ("quotes", "story", "unverified")

    def __init__(self, story: TokenText) -> None:
        self.story = story
        self.quotes = 0
        self.unverified = 0

    def render(self, segments: list[Segment]) -> tuple[str, list[Quote], dict[str, Any]]:
        """Content with inline quote tags, the quotes, and turn metadata about them."""
        parts: list[str] = []
        quotes: list[Quote] = []
        spans: list[list[int]] = []
        clipped_spans: list[list[int]] = []
        escaped = False
        for segment in segments:
            if segment.span is None:
                text = _TAG.sub(lambda m: m.group(0)[:-1] + " >", segment.text)
                escaped = escaped or text != segment.text
                parts.append(text)
                continue
            begin, end = segment.span
            start, stop, clipped = self.story.char_span(begin, end)
            text = self.story.text[start:stop]
            parts.append(f"<quote>{text}</quote>")
            spans.append([begin, end])
            self.quotes += 1
            if clipped or stop == start:
                self.unverified += 1
                clipped_spans.append([begin, end])
                quotes.append(Quote(text=text, verified=False))
            else:
                quotes.append(Quote(text=text, verified=True, span=(start, stop)))
        extra: dict[str, Any] = {}
        if escaped:
            extra["escaped_quote_tags"] = True
        if spans:
            extra["token_spans"] = spans
        if clipped_spans:
            extra["clipped_token_spans"] = clipped_spans
            extra["story_tokens"] = self.story.tokens
        return "".join(parts), quotes, extra
