"""The final-judgment rule shared by the runner, the judges and the analysis."""

from __future__ import annotations

from transcripts import JudgeIdentity, Judgment
from transcripts.final import final_judgments

LLM = JudgeIdentity(kind="llm", name="weak")


def _j(id_: str, status: str = "ok", **fields: object) -> Judgment:
    probabilities = [0.6, 0.4] if status == "ok" else None
    return Judgment.model_validate(
        {
            "id": id_,
            "transcript_id": "t1",
            "judge": LLM,
            "status": status,
            "probabilities": probabilities,
            **fields,
        }
    )


def test_ok_beats_failed_and_the_last_written_wins() -> None:
    records = [_j("a"), _j("b", "failed"), _j("c"), _j("d", "failed")]
    assert [j.id for j in final_judgments(records)] == ["c"]


def test_a_superseded_judgment_never_counts() -> None:
    records = [_j("provisional"), _j("final", supersedes="provisional")]
    assert [j.id for j in final_judgments(records)] == ["final"]


def test_skipped_counts_only_when_asked_and_nothing_else_exists() -> None:
    person = JudgeIdentity(kind="human", name="people", annotator="ana")
    other = JudgeIdentity(kind="human", name="people", annotator="bo")
    records = [
        _j("s1", "skipped", judge=person),
        _j("s2", "skipped", judge=other),
        _j("ok2", judge=other),
        _j("r1"),
        _j("r2", rounds_seen=1),  # another rounds cut is another judgment
    ]
    assert [j.id for j in final_judgments(records)] == ["ok2", "r1", "r2"]
    assert [j.id for j in final_judgments(records, include_skipped=True)] == [
        "s1",
        "ok2",
        "r1",
        "r2",
    ]
