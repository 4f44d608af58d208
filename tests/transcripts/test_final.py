"""The final-judgment rule shared by the runner, the judges and the analysis."""

from __future__ import annotations

from pathlib import Path

from transcripts import JudgeIdentity, Judgment, RunStore
from transcripts.final import JudgmentKey, final_judgments

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


def test_where_no_two_compete_every_judgment_counts_in_written_order() -> None:
    """The common case of a large run, one judgment per transcript (the rule's shortcut):
    all of them, as written, a skipped one only when asked; a second judgment of a
    transcript brings the rule's choice back."""
    records = [
        _j("b", transcript_id="t2"),
        _j("a", "failed"),
        _j("s", "skipped", transcript_id="t3"),
        _j("r", transcript_id="t4", rounds_seen=1),
    ]
    assert [j.id for j in final_judgments(records)] == ["b", "a", "r"]
    assert [j.id for j in final_judgments(records, include_skipped=True)] == ["b", "a", "s", "r"]
    person = JudgeIdentity(kind="human", name="people", annotator="ana")
    more = [*records, _j("p", judge=person), _j("a2")]  # a person competes with no LLM
    assert [j.id for j in final_judgments(more)] == ["b", "r", "p", "a2"]
    assert [
        j.id for j in final_judgments([*records, _j("x", transcript_id="t2", supersedes="b")])
    ] == [
        "a",
        "r",
        "x",
    ]


def test_a_stores_final_entries_are_the_rules_judgments_read_once(tmp_path: Path) -> None:
    """``RunStore.final_judgment_entries``: the judgments the rule keeps, as keys and the
    entries that read them back, for the whole run or some transcripts only."""
    store = RunStore.create(tmp_path / "run")
    records = [
        _j("a"),
        _j("b", "failed"),
        _j("c"),
        _j("provisional", transcript_id="t2"),
        _j("final", transcript_id="t2", supersedes="provisional"),
        _j("x", transcript_id="t3", rounds_seen=1),
    ]
    for record in records:
        store.judgments.append(record)
    store.judgments.append(_j("a", "failed"))  # a later record of "a" that loses to it
    found = store.final_judgment_entries()
    expected = final_judgments(store.judgments.latest())
    assert [key.id for key, _ in found] == [j.id for j in expected] == ["c", "final", "x"]
    assert list(store.judgments.read(entry for _, entry in found)) == expected
    assert all(key == JudgmentKey.of(j) for (key, _), j in zip(found, expected, strict=True))
    only = store.final_judgment_entries({"t2", "t3"})
    assert [key.id for key, _ in only] == ["final", "x"]
