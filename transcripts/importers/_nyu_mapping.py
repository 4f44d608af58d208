"""From one NYU debate room to our records: a Transcript and its Judgments.

How the room maps:

* ``protocol`` is ``debate`` or ``consultancy``; ``condition`` is the setting
  (``human-debate``, ``ai-debate``, ``human-consultancy``, ``ai-consultancy``).
* Speaker labels are the room's (``Debater A`` argues for answer 0, ``Debater B`` for 1, in
  consultancy too); ``roles`` maps each label and ``Judge`` to the participant (or ``GPT-4``).
* Round numbers count speech rounds from 0: a speech round and the judge turn after it share a
  number, and the judge's opening turn (their prior, before any speech) is in round 0 too.
* Quotes are rendered inline as ``<quote>text</quote>`` with the story text of their token
  span, marked verified with its character span; a span reaching past the end of the story
  is clipped and marked unverified. A quote tag typed as plain text (a judge asking for
  ``<quote></quote>`` tags) is written ``<quote >`` so it is not read as a quote.
* The live judge's turns carry their probabilities after each turn; their final judgement,
  and each offline judge's, become Judgments. Scratchpads are private turns.

This module walks the room into turns and assembles its records; the mapping of single
fields (ids, the setting, probabilities, the question, quotes) is
:mod:`transcripts.importers._nyu_fields`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transcripts._judgments import JudgeIdentity, Judgment
from transcripts._models import Role, Transcript, Turn
from transcripts.errors import DatasetError
from transcripts.importers._nyu_fields import (
    _ENDED_BY,
    _STATUS,
    DATASET,
    LIVE_JUDGE,
    OFFLINE_JUDGE,
    _label_index,
    _probabilities,
    _Renderer,
    _utc,
    live_judgment_id,
    offline_judgment_id,
    question_of,
    setting_of,
    speaker_label,
    transcript_id,
)
from transcripts.importers._nyu_format import (
    JudgeFeedback,
    JudgingInfo,
    OfflineJudging,
    RoomFile,
    RoomMeta,
    Round,
    Segment,
)
from transcripts.importers._tokens import TokenText

__all__ = ["RoomRecords", "map_room"]


@dataclass(frozen=True, slots=True)
class RoomRecords:
    """What one room becomes."""

    transcript: Transcript
    """The room's transcript."""
    judgments: list[Judgment]
    """The live judge's final judgment (if any) and each finished offline judgment."""
    quotes: int
    """Quotes in the room's turns and judgments."""
    unverified_quotes: int
    """Quotes whose token span fell outside the story (clipped, marked unverified)."""


class _Walk:
    """The room's rounds, walked in order into turns and what the turns imply."""

    __slots__ = (
        "assignment",
        "debater",
        "end_votes",
        "file",
        "judge_turns",
        "n",
        "offline",
        "renderer",
        "speech_rounds",
        "turns",
    )

    def __init__(self, room: RoomFile, renderer: _Renderer, *, debater: Role, file: Path) -> None:
        self.renderer = renderer
        self.debater: Role = debater
        self.file = file
        self.n = len(room.setup.answers)
        self.turns: list[Turn] = []
        self.assignment = {
            label: index for label in room.setup.roles if (index := _label_index(label)) is not None
        }
        self.speech_rounds = 0
        self.judge_turns = 0
        self.end_votes: list[dict[str, Any]] = []
        self.offline: dict[str, OfflineJudging] = {}
        for number, entry in enumerate(room.rounds):
            self._round(entry, f"{file}: rounds[{number}]")
        for label, pads in room.scratchpads.items():
            self._scratchpads(label, pads)

    @property
    def _round_number(self) -> int:
        """Round number of a judge turn or vote now: that of the last speech round, or 0."""
        return max(self.speech_rounds - 1, 0)

    def _round(self, entry: Round, where: str) -> None:
        if entry.kind in ("SimultaneousSpeeches", "SequentialSpeeches"):
            self._speeches(entry, where)
        elif entry.kind == "JudgeFeedback" and entry.feedback is not None:
            self._judge(entry.feedback, where)
        elif entry.kind == "NegotiateEnd":
            self.end_votes.append(
                {
                    "round": self._round_number,
                    "votes": {speaker_label(i): vote for i, vote in sorted(entry.votes.items())},
                }
            )
        elif entry.kind == "OfflineJudgments":
            self.offline.update(entry.offline)

    def _speeches(self, entry: Round, where: str) -> None:
        number = self.speech_rounds
        self.speech_rounds += 1
        sequential = entry.kind == "SequentialSpeeches"
        for index, speech in sorted(
            entry.speeches.items(),
            key=lambda item: (item[1].timestamp if sequential else 0, item[0]),
        ):
            if not 0 <= index < self.n:
                raise DatasetError(f"{where}: a speech by debater {index}, but {self.n} answers")
            label = speaker_label(index)
            self.assignment.setdefault(label, index)
            content, quotes, extra = self.renderer.render(speech.content)
            self.turns.append(
                Turn(
                    role=self.debater,
                    speaker=label,
                    round=number,
                    content=content,
                    answer=index,
                    quotes=quotes,
                    metadata={
                        "author": speech.speaker,
                        "timestamp_ms": speech.timestamp,
                        "round_kind": entry.kind,
                        **extra,
                    },
                )
            )

    def _judge(self, feedback: JudgeFeedback, where: str) -> None:
        self.judge_turns += 1
        probabilities, _ = _probabilities(feedback.distribution, self.n, where)
        content, quotes, extra = self.renderer.render(feedback.feedback.content)
        self.turns.append(
            Turn(
                role="judge",
                speaker="Judge",
                round=self._round_number,
                content=content,
                quotes=quotes,
                probabilities=probabilities,
                metadata={
                    "author": feedback.feedback.speaker,
                    "timestamp_ms": feedback.feedback.timestamp,
                    "end_debate": feedback.end_debate,
                    **extra,
                },
            )
        )

    def _scratchpads(self, label: str, pads: list[list[Segment]]) -> None:
        # Scratchpads carry no time, so they follow the public turns, numbered round 0.
        index = _label_index(label)
        role: Role = "judge" if index is None else self.debater
        for k, pad in enumerate(pads):
            content, quotes, extra = self.renderer.render(pad)
            self.turns.append(
                Turn(
                    role=role,
                    speaker=label,
                    round=0,
                    content=content,
                    visibility="private",
                    answer=index if index is not None and index < self.n else None,
                    quotes=quotes,
                    metadata={"scratchpad": k, **extra},
                )
            )


def _live_judgment(
    meta: RoomMeta,
    info: JudgingInfo,
    walk: _Walk,
    *,
    judge: str | None,
    run_id: str,
    setting: str,
) -> Judgment:
    """The live judge's final judgement."""
    where = f"{walk.file}: finalJudgement"
    probabilities, renormalised = _probabilities(info.final_judgement, walk.n, where)
    last = next((t for t in reversed(walk.turns) if t.role == "judge" and t.probabilities), None)
    if judge is None and last is not None:
        judge = str(last.metadata["author"])
    extra = {"recorded_probabilities": info.final_judgement} if renormalised else {}
    return Judgment(
        id=live_judgment_id(meta.name),
        transcript_id=transcript_id(meta.name),
        run_id=run_id,
        judge=JudgeIdentity(kind="human", name=LIVE_JUDGE, annotator=judge),
        probabilities=probabilities,
        rationale=last.content if last is not None else "",
        rounds_seen=walk.speech_rounds,
        created_at=_utc(meta.result.timestamp if meta.result else meta.latest_update_time),
        metadata={
            "dataset": DATASET,
            "room": meta.name,
            "setting": setting,
            "judge_reward": info.judge_reward,
            "num_continues": info.num_continues,
            "judge_turns": walk.judge_turns,
            **extra,
        },
    )


def _offline_judgment(
    meta: RoomMeta,
    name: str,
    judging: OfflineJudging,
    final: JudgeFeedback,
    walk: _Walk,
    *,
    run_id: str,
    setting: str,
) -> Judgment:
    """An offline judge's final judgement, with every step they took in its metadata."""
    where = f"{walk.file}: offline judgment by {name}"
    steps = [
        {
            "probabilities": _probabilities(step.distribution, walk.n, where)[0],
            "feedback": walk.renderer.render(step.feedback.content)[0],
            "end_debate": step.end_debate,
            "timestamp_ms": step.feedback.timestamp,
        }
        for step in judging.judgments
    ]
    # A stepped judge's first belief is their prior; each later one follows one more round.
    if judging.mode == "stepped":
        seen = min(max(len(judging.judgments) - 1, 0), walk.speech_rounds)
    else:
        seen = walk.speech_rounds
    started = judging.start_time_ms
    elapsed = (final.feedback.timestamp - started) / 1000 if started > 0 else None
    return Judgment(
        id=offline_judgment_id(meta.name, name),
        transcript_id=transcript_id(meta.name),
        run_id=run_id,
        judge=JudgeIdentity(kind="human", name=OFFLINE_JUDGE, annotator=name),
        probabilities=steps[-1]["probabilities"],
        rationale=steps[-1]["feedback"],
        rounds_seen=seen,
        time_s=elapsed if elapsed is not None and elapsed >= 0 else None,
        created_at=_utc(final.feedback.timestamp),
        metadata={
            "dataset": DATASET,
            "room": meta.name,
            "setting": setting,
            "mode": judging.mode,
            "start_time_ms": started,
            "steps": steps,
        },
    )


def map_room(
    meta: RoomMeta,
    raw_meta: dict[str, Any],
    room: RoomFile,
    story: TokenText,
    *,
    run_id: str,
    file: Path,
) -> RoomRecords:
    """The transcript and judgments of one room; DatasetError when the room is malformed."""
    setup = room.setup
    question = question_of(setup, story)
    setting = setting_of(meta.is_human, meta.is_debate)
    renderer = _Renderer(story)
    walk = _Walk(room, renderer, debater="debater" if meta.is_debate else "consultant", file=file)
    result = meta.result
    info = result.judging_info if result is not None else None
    live_judge = setup.roles.get("Judge")

    judgments: list[Judgment] = []
    if info is not None:
        judgments.append(
            _live_judgment(meta, info, walk, judge=live_judge, run_id=run_id, setting=setting)
        )
    incomplete: list[str] = []
    for name, judging in walk.offline.items():
        final = judging.result
        if final is None:
            incomplete.append(name)  # started but never gave a final judgement
            continue
        judgments.append(
            _offline_judgment(meta, name, judging, final, walk, run_id=run_id, setting=setting)
        )

    status = _STATUS[meta.status]
    finished_ms = result.timestamp if result is not None else None
    metadata: dict[str, Any] = {
        "dataset": DATASET,
        "room": meta.name,
        "setting": setting,
        "is_human": meta.is_human,
        "is_debate": meta.is_debate,
        "included_in_paper": meta.included_in_paper,
        "status": status,
        "ended_by": _ENDED_BY.get(result.ended_by, result.ended_by) if result else None,
        "story_id": setup.story.story_id,
        "story_title": setup.story.title,
        "live_judge": live_judge,
        "judge_turns": walk.judge_turns,
        "num_continues": info.num_continues if info is not None else None,
        "speech_rounds": walk.speech_rounds,
        "pilot": _utc(setup.creation_time).year == 2022,
        "created_ms": setup.creation_time,
        "finished_ms": finished_ms,
        "end_votes": walk.end_votes,
        "offline_judges": sorted(walk.offline),
        "incomplete_offline_judges": incomplete,
        "feedback": room.feedback,
        "room_metadata": raw_meta,
        "source_file": f"debates/official/{file.name}",
    }
    complete = meta.status == "Complete"
    transcript = Transcript(
        id=transcript_id(meta.name),
        run_id=run_id,
        protocol="debate" if meta.is_debate else "consultancy",
        protocol_config={"dataset": DATASET, "rules": setup.rules},
        condition=setting,
        question=question,
        assignment=walk.assignment,
        answer_order=list(range(len(question.answers))),
        turns=walk.turns,
        roles=dict(setup.roles),
        status="complete" if complete else "error",
        error=None
        if complete
        else (
            f"unfinished in the dataset (status {status}): the debate stopped before a "
            f"result, so there is no final judgment"
        ),
        created_at=_utc(finished_ms if finished_ms is not None else meta.latest_update_time),
        metadata=metadata,
    )
    return RoomRecords(transcript, judgments, renderer.quotes, renderer.unverified)
