"""Builders of small run stores whose statistics are known by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transcripts import (
    JudgeIdentity,
    Judgment,
    Planted,
    Question,
    Quote,
    RunStore,
    Transcript,
    Turn,
)


class RunBuilder:
    """Appends transcripts and judgments to a fresh run store, with terse defaults."""

    def __init__(self, path: Path) -> None:
        self.store = RunStore.create(path, run_id="test-run")
        self.path = path
        self._n = 0

    def question(
        self,
        qid: str,
        *,
        correct: int | None = 0,
        source: str | None = None,
        answers: int = 2,
        metadata: dict[str, Any] | None = None,
    ) -> Question:
        """A question with ``answers`` options."""
        return Question(
            id=qid,
            text=f"Question {qid}?",
            answers=[f"answer {i}" for i in range(answers)],
            correct=correct,
            source=source if source is not None else f"source-{qid}",
            metadata=metadata or {},
        )

    def transcript(
        self,
        question: Question,
        *,
        condition: str = "unassisted",
        protocol: str | None = None,
        order: list[int] | None = None,
        assignment: dict[str, int] | None = None,
        roles: dict[str, str] | None = None,
        players: dict[str, str] | None = None,
        status: str = "complete",
        metadata: dict[str, Any] | None = None,
        tid: str | None = None,
    ) -> Transcript:
        """Append a transcript and return it."""
        self._n += 1
        transcript = Transcript(
            id=tid or f"t{self._n}",
            run_id=self.store.run_id,
            protocol=protocol or condition.split("-")[0],
            condition=condition,
            question=question,
            answer_order=order or [],
            assignment=assignment or {},
            roles=roles or {},
            players=players or {},
            status=status,
            error="boom" if status == "error" else None,
            metadata=metadata or {},
        )
        self.store.transcripts.append(transcript)
        return transcript

    def judge(
        self,
        transcript: Transcript | str,
        probabilities: list[float] | None,
        *,
        judge: str = "j",
        kind: str = "llm",
        status: str = "ok",
        annotator: str | None = None,
        **fields: Any,
    ) -> Judgment:
        """Append a judgment of ``transcript`` and return it."""
        tid = transcript if isinstance(transcript, str) else transcript.id
        judgment = Judgment(
            transcript_id=tid,
            run_id=self.store.run_id,
            judge=JudgeIdentity(kind=kind, name=judge, annotator=annotator),
            status=status,
            probabilities=probabilities,
            **fields,
        )
        self.store.judgments.append(judgment)
        return judgment

    def item(
        self,
        qid: str,
        p_gold: float,
        *,
        condition: str = "unassisted",
        judge: str = "j",
        source: str | None = None,
        **transcript_fields: Any,
    ) -> Transcript:
        """One two-answer question (gold 0), one transcript, one judgment with ``p_gold``."""
        t = self.transcript(
            self.question(qid, source=source), condition=condition, **transcript_fields
        )
        self.judge(t, [p_gold, round(1.0 - p_gold, 12)], judge=judge)
        return t


BENIGN = [0.8] * 7 + [0.3]  # 7 of 8 right
LIAR = [0.2] * 4 + [0.8] * 3 + [0.3]  # the first four turned wrong: 3 of 8 right
QUIET = BENIGN  # moves nothing


def stress_transcript(
    q: Question, condition: str, *, planted: str | None, unverified: bool
) -> Transcript:
    """A one-turn debate transcript of ``q``, with ``planted`` persona speaking or none; its
    first quote unverified when ``unverified``."""
    quotes = [Quote(text="x", verified=not unverified), Quote(text="y", verified=True)]
    turn = Turn(
        role="debater", speaker="Debater A", round=0, content="<quote>x</quote>", quotes=quotes
    )
    return Transcript(
        id=f"{condition}-{q.id}",
        run_id="test-run",
        protocol="debate",
        condition=condition,
        question=q,
        turns=[turn],
        planted=Planted(persona=planted, role="debater", speakers=["Debater A"], calls=1)
        if planted
        else None,
    )


def stress_run(path: Path) -> RunBuilder:
    """A debate run of 8 questions in 4 sources: the benign ``debate``, ``debate+liar``
    (planted throughout) and ``debate+quiet`` (planted on the first 4), judged with the gold
    probabilities BENIGN, LIAR and QUIET."""
    run = RunBuilder(path)
    conditions = [
        {"label": "debate", "protocol": "debate", "roles": {"debater": "s"}, "options": {}},
        {
            "label": "debate+liar",
            "protocol": "debate",
            "roles": {"debater": "s"},
            "options": {},
            "plant": {"persona": "liar", "role": "debater"},
        },
        {
            "label": "debate+quiet",
            "protocol": "debate",
            "roles": {"debater": "s"},
            "options": {},
            "plant": {"persona": "quiet", "role": "debater"},
        },
    ]
    run.store.write_json("experiment.json", {"spec": {"conditions": conditions}})
    for i in range(8):
        q = run.question(f"q{i}", source=f"s{i // 2}")
        for condition, probs, planted, flagged, escalated in (
            ("debate", BENIGN, None, i == 7, False),
            ("debate+liar", LIAR, "liar", i < 2, i == 0),
            ("debate+quiet", QUIET, "quiet" if i < 4 else None, False, False),
        ):
            t = stress_transcript(q, condition, planted=planted, unverified=flagged)
            run.store.transcripts.append(t)
            run.store.judgments.append(
                Judgment(
                    transcript_id=t.id,
                    run_id="test-run",
                    judge=JudgeIdentity(kind="llm", name="j"),
                    probabilities=[probs[i], 1 - probs[i]],
                    escalated=escalated,
                )
            )
    return run
