"""Attention checks in the export: a table of their own that an analyst joins by
annotator, never rows among the counted judgments."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from judges.study import STUDY_FILE, StudyDesign, plan_study
from oversight.analysis import annotators
from oversight.cli import main
from transcripts import JudgeIdentity, Judgment, Question, RunStore, Transcript
from transcripts.errors import ConfigError
from transcripts.export import judgment_rows, rows, to_dataframe
from transcripts.study import attention_log


def _person(name: str) -> JudgeIdentity:
    return JudgeIdentity(kind="human", name="human", annotator=name)


def _study_run(path: Path) -> RunStore:
    """Four transcripts, a study of ann and ben with two attention checks each, every
    transcript judged by both; ann passes one check and fails the other; ben skips one
    check, then answers it, and passes both."""
    store = RunStore.create(path, run_id="r")
    for i in range(4):
        q = Question(id=f"q{i}", text="?", answers=["x", "y"], correct=0, source=f"s{i}")
        store.transcripts.append(Transcript(id=f"t{i}", protocol="debate", question=q))
    study = plan_study(
        store.transcripts.latest(),
        StudyDesign(annotators=["ann", "ben"], attention_checks=2, order="grouped"),
    )
    store.write_json(STUDY_FILE, study.model_dump(mode="json"))
    for name in ("ann", "ben"):
        for i in range(4):
            store.judgments.append(
                Judgment(transcript_id=f"t{i}", judge=_person(name), probabilities=[0.7, 0.3])
            )
    first, second = study.attention_items
    log = attention_log(store)

    def answer(item: Transcript, name: str, right: bool, jid: str) -> None:
        correct = item.question.correct
        assert correct is not None
        probs = [0.1] * len(item.question.answers)
        probs[correct if right else (correct + 1) % len(probs)] = 0.9
        probs = [p / sum(probs) for p in probs]
        log.append(
            Judgment(
                id=jid,
                transcript_id=item.id,
                judge=_person(name),
                probabilities=probs,
                time_s=4.0,
                metadata={"over_time": not right},
            )
        )

    answer(first, "ann", True, "a1")
    answer(second, "ann", False, "a2")
    log.append(
        Judgment(id="b-skip", transcript_id=first.id, judge=_person("ben"), status="skipped")
    )
    answer(first, "ben", True, "b1")
    answer(second, "ben", True, "b2")
    log.close()
    store.close()
    return store


def test_attention_checks_export_as_their_own_table_joinable_by_annotator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The checks were only in attention.jsonl and the annotator table: an analyst who
    # wanted to drop the annotators who failed one had nothing to join in the export.
    store = _study_run(tmp_path / "run")
    study = plan_study(
        store.transcripts.latest(),
        StudyDesign(annotators=["ann", "ben"], attention_checks=2, order="grouped"),
    )
    first, second = study.attention_items
    checks = {r["judgment_id"]: r for r in rows(store, "attention")}
    assert set(checks) == {"a1", "a2", "b-skip", "b1", "b2"}
    a1, a2 = checks["a1"], checks["a2"]
    assert (a1["annotator"], a1["item_id"], a1["passed"]) == ("ann", first.id, True)
    assert (a2["annotator"], a2["item_id"], a2["passed"]) == ("ann", second.id, False)
    assert a1["question"] == first.question.text and a1["correct"] == first.question.correct
    assert a1["p_correct"] == pytest.approx(0.9) and a2["p_correct"] == pytest.approx(0.1)
    assert a2["judgment_meta_over_time"] is True and a1["time_s"] == 4.0
    places = {s.transcript_id: n for n, s in enumerate(study.assignments["ann"], start=1)}
    assert a1["study_position"] == places[first.id]
    # The skip that ben's later answer replaced is there, not counted, and says why.
    skip = checks["b-skip"]
    assert (skip["status"], skip["passed"], skip["counted"]) == ("skipped", None, False)
    assert skip["not_counted"] == "replaced by b1"
    assert all(checks[j]["counted"] for j in ("a1", "a2", "b1", "b2"))
    # Failures per person are the annotator table's.
    table = {a.annotator: a for a in annotators(store, n_bootstrap=10).annotators}
    for name in ("ann", "ben"):
        counted = [r for r in checks.values() if r["annotator"] == name and r["counted"]]
        assert table[name].attention_checks == len(counted)
        assert table[name].attention_failures == sum(not r["passed"] for r in counted)
    # The judgments table holds no check: 8 counted judgments, no attention item.
    judged = judgment_rows(store)
    assert len(judged) == 8 and all(r["counted"] for r in judged)
    assert not {r["transcript_id"] for r in judged} & {first.id, second.id}
    # Only the counted ones, and the same table as a DataFrame.
    assert {r["judgment_id"] for r in rows(store, "attention", counted_only=True)} == {
        "a1",
        "a2",
        "b1",
        "b2",
    }
    frame = to_dataframe(store, "attention")
    assert sorted(frame.judgment_id) == sorted(checks)
    with pytest.raises(ConfigError, match="attention checks have no condition"):
        rows(store, "attention", conditions=["debate"])

    # The command: its own file, and the judgments export says where the checks are.
    assert main(["export", str(store.path)]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "5 attention-check answers are not in this table: --kind attention" in said
    assert main(["export", str(store.path), "--kind", "attention"]) == 0
    out = store.path / "exports" / "attention.csv"
    assert "wrote 5 attention rows to" in capsys.readouterr().out
    with out.open(newline="") as f:
        written = {r["judgment_id"]: r for r in csv.DictReader(f)}
    assert written["a2"]["passed"] == "False" and written["a2"]["annotator"] == "ann"
    assert written["b-skip"]["passed"] == "" and written["b-skip"]["counted"] == "False"


def test_a_run_without_attention_checks_exports_an_empty_attention_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore.create(tmp_path / "run")
    store.close()
    assert rows(store, "attention") == []
    assert main(["export", str(store.path)]) == 0
    assert "--kind attention" not in capsys.readouterr().out
