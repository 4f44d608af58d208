"""The NYU debate dataset's file layout, parsed into typed records.

The layout is the circe JSON encoding of the Scala classes of ``julianmichael/debate``
(``Debate``, ``DebateRound``, ``RoomMetadata``, ``OfflineJudgment``): a sealed trait is an
object with one key naming the case, e.g. ``{"JudgeFeedback": {...}}``. Two files matter:

* ``debates-metadata.jsonl``: one room a line (name, setting, story, status with the result
  and offline judging results, ``includedInPaper``);
* ``debates/official/<room>.json``: the room itself (``setup`` with the story tokens and rules,
  ``rounds``, ``feedback`` surveys, ``scratchpads``).

Quotes are token spans ``[begin, end)`` into the story's token list. The 2022 pilot rooms
use the same files with an older round structure (no live judge, debaters negotiating the
end); offline judgments written before 2023 have a single ``result`` instead of the list of
``judgments``, and are read into the newer shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from transcripts.errors import DatasetError

__all__ = [
    "JudgeFeedback",
    "JudgingInfo",
    "OfflineJudging",
    "RoomFile",
    "RoomMeta",
    "RoomResult",
    "Round",
    "Segment",
    "Setup",
    "Speech",
    "Story",
    "read_metadata",
    "read_room_file",
]

RoundKind = Literal[
    "JudgeFeedback",
    "SimultaneousSpeeches",
    "SequentialSpeeches",
    "NegotiateEnd",
    "OfflineJudgments",
]
StatusKind = Literal["Complete", "InProgress", "WaitingToBegin"]


def _tagged(data: Any, tags: tuple[str, ...], what: str) -> tuple[str, Any]:
    """Unwrap circe's encoding of a sealed trait: ``{"Case": {...}}`` -> ("Case", {...})."""
    if isinstance(data, dict) and len(data) == 1:
        tag, inner = next(iter(data.items()))
        if tag in tags:
            return tag, inner if inner is not None else {}
    raise ValueError(
        f"{what} must be one of {', '.join(tags)} (as {{case: ...}}), got {data!r:.100}"
    )


class _Raw(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Segment(_Raw):
    """A piece of a speech: plain text, or a quote of the story given as a token span."""

    text: str = ""
    """The text, for a text segment."""
    span: tuple[int, int] | None = None
    """Token span ``[begin, end)`` into the story, for a quote segment."""

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        tag, inner = _tagged(data, ("Text", "Quote"), "a speech segment")
        if not isinstance(inner, dict):
            raise ValueError(f"a {tag} segment must be an object, got {inner!r:.60}")
        return {"text": inner.get("text")} if tag == "Text" else {"span": inner.get("span")}


class Speech(_Raw):
    """One utterance: who typed it, when, and its segments."""

    speaker: str
    """Participant name of whoever submitted it (not always the assigned debater)."""
    timestamp: int
    """Submission time, milliseconds since the Unix epoch."""
    content: list[Segment]
    """Text and quote segments in order."""


class JudgeFeedback(_Raw):
    """A judge's turn: a probability per answer, a message, and whether to end the debate."""

    distribution: list[float]
    """Probability per answer (the room's answer order)."""
    feedback: Speech
    """The judge's message."""
    end_debate: bool = Field(alias="endDebate")
    """True when the judge ended the debate with this turn (their final judgement)."""


class OfflineJudging(_Raw):
    """An offline judge's reading of a finished debate."""

    mode: str
    """``timed`` (read the whole debate at once) or ``stepped`` (round by round)."""
    start_time_ms: int = Field(alias="startTimeMillis")
    """When judging started (ms since epoch); -1 when not recorded."""
    judgments: list[JudgeFeedback]
    """Beliefs in order; a stepped judge's first is the prior, then one after each round."""

    @model_validator(mode="before")
    @classmethod
    def _older_layout(cls, data: Any) -> Any:
        # Before 2023 an offline judgment held one optional `result` instead of `judgments`.
        if isinstance(data, dict) and "judgments" not in data and "result" in data:
            result = data.get("result")
            judgments = []
            if isinstance(result, dict):
                judgments.append(
                    {
                        "distribution": result.get("distribution"),
                        "feedback": {
                            "speaker": "",
                            "timestamp": result.get("timestamp"),
                            "content": [{"Text": {"text": result.get("explanation", "")}}],
                        },
                        "endDebate": True,
                    }
                )
            data = {**data, "judgments": judgments}
        return data

    @property
    def result(self) -> JudgeFeedback | None:
        """The final judgment, if the judge finished (the last one ended the debate)."""
        if self.judgments and self.judgments[-1].end_debate:
            return self.judgments[-1]
        return None


class Round(_Raw):
    """One entry of a room's ``rounds``."""

    kind: RoundKind
    """Which case of ``DebateRound`` this is."""
    speeches: dict[int, Speech] = Field(default_factory=dict)
    """Debater index -> speech, for speech rounds."""
    feedback: JudgeFeedback | None = None
    """The live judge's turn, for ``JudgeFeedback`` rounds."""
    votes: dict[int, bool] = Field(default_factory=dict)
    """Debater index -> wants to end, for ``NegotiateEnd`` rounds."""
    offline: dict[str, OfflineJudging] = Field(default_factory=dict)
    """Judge name -> offline judging, for the ``OfflineJudgments`` round."""

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        tags = (
            "JudgeFeedback",
            "SimultaneousSpeeches",
            "SequentialSpeeches",
            "NegotiateEnd",
            "OfflineJudgments",
        )
        tag, inner = _tagged(data, tags, "a round")
        if not isinstance(inner, dict):
            raise ValueError(f"a {tag} round must be an object, got {inner!r:.60}")
        if tag == "JudgeFeedback":
            return {"kind": tag, "feedback": inner}
        if tag == "NegotiateEnd":
            return {"kind": tag, "votes": inner.get("votes")}
        if tag == "OfflineJudgments":
            return {"kind": tag, "offline": inner.get("judgments")}
        return {"kind": tag, "speeches": inner.get("speeches")}


class Story(_Raw):
    """The source material a debate is about."""

    story_id: str
    """QuALITY article id (the cluster key), or ``custom:<title>`` for custom material."""
    title: str
    """Story title."""
    tokens: list[str]
    """The story as tokens; quotes are spans into this list."""

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        tag, inner = _tagged(
            data, ("QuALITYSourceMaterial", "CustomSourceMaterial"), "the source material"
        )
        if not isinstance(inner, dict):
            raise ValueError(f"the source material must be an object, got {inner!r:.60}")
        if tag == "QuALITYSourceMaterial":
            story_id = inner.get("articleId")
        else:
            story_id = f"custom:{inner.get('title')}"
        return {"story_id": story_id, "title": inner.get("title"), "tokens": inner.get("contents")}


class Setup(_Raw):
    """A room's fixed setup: question, answers, gold, roles, rules and story."""

    question: str
    """The question."""
    answers: list[str] = Field(min_length=2)
    """Answer options, in the order the room showed them."""
    correct_answer_index: int = Field(alias="correctAnswerIndex")
    """Index of the gold answer."""
    roles: dict[str, str]
    """Role label (``Debater A``, ``Debater B``, ``Judge``) -> participant name."""
    offline_judges: dict[str, str | None] = Field(default_factory=dict, alias="offlineJudges")
    """Offline judge name -> planned mode."""
    creation_time: int = Field(alias="creationTime")
    """When the room was made (ms since epoch)."""
    rules: dict[str, Any]
    """The debate rules (round structure, limits, scoring), kept as written."""
    story: Story = Field(alias="sourceMaterial")
    """The story."""


class RoomFile(_Raw):
    """One ``debates/official/<room>.json``."""

    setup: Setup
    """Question, story, roles and rules."""
    rounds: list[Round]
    """Everything that happened, in order."""
    feedback: dict[str, Any] = Field(default_factory=dict)
    """Participant name -> post-debate survey, kept as written."""
    scratchpads: dict[str, list[list[Segment]]] = Field(default_factory=dict)
    """Role label -> private notes (each a list of segments)."""


class JudgingInfo(_Raw):
    """The live judge's outcome."""

    correct_answer_index: int = Field(alias="correctAnswerIndex")
    """Gold answer index."""
    num_continues: int = Field(alias="numContinues")
    """Judge turns in which the judge asked for another round (``endDebate`` false)."""
    final_judgement: list[float] = Field(alias="finalJudgement")
    """The judge's final probability per answer."""
    judge_reward: float = Field(alias="judgeReward")
    """The judge's score under the room's scoring function."""


class RoomResult(_Raw):
    """How a finished room ended."""

    timestamp: int
    """When it ended (ms since epoch)."""
    correct_answer_index: int = Field(alias="correctAnswerIndex")
    """Gold answer index."""
    ended_by: str
    """``JudgeDecided``, ``MutualAgreement`` (debaters agreed to stop) or ``TimeUp``."""
    judging_info: JudgingInfo | None = Field(default=None, alias="judgingInfo")
    """The live judge's outcome; None when no live judge decided."""

    @model_validator(mode="before")
    @classmethod
    def _ended_by(cls, data: Any) -> Any:
        if isinstance(data, dict) and "endedBy" in data:
            tag, _ = _tagged(
                data["endedBy"], ("JudgeDecided", "MutualAgreement", "TimeUp"), "endedBy"
            )
            data = {**data, "ended_by": tag}
        return data


class RoomMeta(_Raw):
    """One line of ``debates-metadata.jsonl``."""

    name: str
    """Room name, unique; the room file is ``debates/official/<name>.json``."""
    is_human: bool
    """True for human debaters or consultants, False for GPT-4."""
    is_debate: bool
    """True for debate (two debaters), False for consultancy (one)."""
    story_id: str
    """QuALITY article id."""
    story_title: str = Field(alias="storyTitle")
    """Story title."""
    question: str
    """The question."""
    status: StatusKind
    """``Complete``, ``InProgress`` or ``WaitingToBegin``."""
    result: RoomResult | None = None
    """How the room ended, when complete."""
    included_in_paper: bool = Field(alias="includedInPaper")
    """Whether the room is in the paper's analysis."""
    creation_time: int = Field(alias="creationTime")
    """When the room was made (ms since epoch)."""
    latest_update_time: int = Field(alias="latestUpdateTime")
    """Last change (ms since epoch)."""

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(f"a metadata line must be an object, got {data!r:.60}")
        setting = data.get("setting")
        if not isinstance(setting, dict):
            raise ValueError(f"setting must be {{isHuman, isDebate}}, got {setting!r:.60}")
        _, material = _tagged(
            data.get("sourceMaterialId"), ("QuALITYStory", "CustomStory"), "sourceMaterialId"
        )
        if not isinstance(material, dict):
            raise ValueError(f"sourceMaterialId must name a story, got {material!r:.60}")
        status, inner = _tagged(
            data.get("status"), ("Complete", "InProgress", "WaitingToBegin"), "status"
        )
        out = {
            **data,
            "is_human": setting.get("isHuman"),
            "is_debate": setting.get("isDebate"),
            "story_id": material.get("id") or f"custom:{material.get('title')}",
            "status": status,
        }
        if status == "Complete":
            out["result"] = inner.get("result") if isinstance(inner, dict) else None
        return out


def _problem(err: ValidationError) -> str:
    """The first few validation errors, each as ``location: message``."""
    lines = []
    for item in err.errors()[:3]:
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"{where}: {item['msg']}")
    more = err.error_count() - len(lines)
    return "; ".join(lines) + (f" (and {more} more)" if more > 0 else "")


def read_metadata(path: Path) -> list[tuple[RoomMeta, dict[str, Any]]]:
    """Every room's metadata line, parsed and raw, in file order."""
    if not path.is_file():
        raise DatasetError(
            f"{path}: not found; pass the folder of the NYU debate dataset (the one holding "
            f"debates-metadata.jsonl and debates/official/)"
        )
    rooms = []
    with path.open("rb") as f:
        for number, data in enumerate(f, start=1):
            try:
                line = data.decode("utf-8").removeprefix("\ufeff")  # a BOM, re-saved
            except UnicodeDecodeError as err:
                raise DatasetError(
                    f"{path}:{number}: not UTF-8 text (byte {data[err.start]:#04x}); the "
                    f"dataset's files are UTF-8: fetch a fresh copy"
                ) from None
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                rooms.append((RoomMeta.model_validate(raw), raw))
            except json.JSONDecodeError as err:
                raise DatasetError(f"{path}:{number}: not valid JSON ({err.msg})") from err
            except ValidationError as err:
                raise DatasetError(
                    f"{path}:{number}: not a room metadata record: {_problem(err)}"
                ) from err
    return rooms


def read_room_file(path: Path) -> RoomFile:
    """One room file, parsed; DatasetError names the file and what is wrong."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as err:
        raise DatasetError(f"{path}: cannot be read ({err.strerror})") from err
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from err
    try:
        return RoomFile.model_validate(data)
    except ValidationError as err:
        raise DatasetError(f"{path}: not a debate room: {_problem(err)}") from err
