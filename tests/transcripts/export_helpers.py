"""What the export tests share: a small transcript and a judgment of it, as an export reads them."""

from __future__ import annotations

from transcripts import Judgment, Question, Transcript, Turn


def _transcript(
    tid: str,
    *,
    answers: int = 2,
    correct: int = 1,
    condition: str = "debate-a",
    metadata: dict[str, object] | None = None,
) -> Transcript:
    return Transcript(
        id=tid,
        run_id="run-1",
        protocol="debate",
        condition=condition,
        question=Question(
            id=f"q-{tid}",
            text="Which?",
            answers=[f"ans {i}" for i in range(answers)],
            correct=correct,
            context="secret story",
            source=f"story-{tid}",
            dataset="toy",
        ),
        assignment={"Debater A": 0, "Debater B": 1},
        turns=[
            Turn(role="debater", speaker="Debater A", round=0, answer=0, content="A!"),
            Turn(role="debater", speaker="Debater B", round=0, answer=1, content="B!"),
            Turn(
                role="judge",
                speaker="Judge",
                round=0,
                content="hm",
                probabilities=[0.5] + [0.5 / (answers - 1)] * (answers - 1),
            ),
        ],
        metadata=metadata
        or {"setting": "toy", "included_in_paper": True, "nested": {"not": "a cell"}},
    )


def _judgment(
    jid: str, tid: str, probabilities: list[float], *, name: str = "weak", kind: str = "llm"
) -> Judgment:
    return Judgment.model_validate(
        {
            "id": jid,
            "transcript_id": tid,
            "run_id": "run-1",
            "judge": {"kind": kind, "name": name, "model": "mock/echo" if kind == "llm" else None},
            "probabilities": probabilities,
            "rounds_seen": 1,
            "metadata": {"reward": 0.3},
        }
    )
