"""Exporting judgments by people: the NYU human-debate import, and a study's annotators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from transcripts import Judgment, RunStore
from transcripts.export import judgment_rows, to_csv, to_dataframe

from .export_helpers import _judgment, _transcript


def test_exporting_the_nyu_import_gives_one_row_per_judgment(
    nyu_run: tuple[Any, Path], tmp_path: Path
) -> None:
    pytest.importorskip("pandas")
    summary, run = nyu_run
    df = to_dataframe(run)
    assert len(df) == summary.judgments
    live = df[(df.judge_name == "nyu-live-judge") & df.meta_included_in_paper.astype(bool)]
    by_setting = live.groupby("condition").judge_correct.agg(["size", "mean"])
    assert by_setting.loc["human-debate", "size"] == 154
    assert by_setting.loc["human-debate", "mean"] == pytest.approx(130 / 154)
    assert to_csv(run, tmp_path / "nyu.csv", kind="transcripts") == 602


def test_a_study_s_judgments_carry_the_annotator_study_place_order_shown_and_reasons(
    tmp_path: Path,
) -> None:
    # An analyst re-doing a human study from the export needs who judged, where the item
    # stood in their study list (order effects; not theirs: judged outside the plan),
    # the order the answers were shown in, the entry as typed and why an item was skipped.
    from judges.study import STUDY_FILE, StudyDesign, plan_study

    store = RunStore.create(tmp_path / "run")
    for tid in ("t1", "t2", "t3"):
        store.transcripts.append(_transcript(tid))
    study = plan_study(
        store.transcripts.latest(), StudyDesign(annotators=["ann", "ben"], order="grouped")
    )
    store.write_json(STUDY_FILE, study.model_dump(mode="json"))
    places = {s.transcript_id: n for n, s in enumerate(study.assignments["ann"], start=1)}

    def person(name: str, tid: str, **fields: Any) -> Judgment:
        return Judgment.model_validate(
            {"transcript_id": tid, "judge": {"kind": "human", "name": "human", "annotator": name}}
            | fields
        )

    store.judgments.append(
        person(
            "ann",
            "t2",
            probabilities=[0.3, 0.7],
            rationale="B quoted the story",
            metadata={"presented_order": [1, 0], "entry": "A 70"},
        )
    )
    store.judgments.append(person("ann", "t3", status="skipped", rationale="too long"))
    store.judgments.append(
        Judgment.model_validate(
            {
                "transcript_id": "t1",
                "judge": {"kind": "human", "name": "pilot", "annotator": "ann"},
                "probabilities": [0.9, 0.1],
            }
        )
    )
    store.judgments.append(_judgment("j-llm", "t1", [0.2, 0.8]))
    store.close()
    rows = judgment_rows(store)
    ann = {r["transcript_id"]: r for r in rows if r["judge_name"] == "human"}
    assert ann["t2"]["annotator"] == "ann" and ann["t2"]["study_position"] == places["t2"]
    assert ann["t2"]["rationale"] == "B quoted the story"
    assert ann["t2"]["presented_order"] == "[1, 0]"
    assert ann["t2"]["judgment_meta_entry"] == "A 70"
    assert (ann["t3"]["status"], ann["t3"]["rationale"]) == ("skipped", "too long")
    assert ann["t3"]["study_position"] == places["t3"]
    # A judgment under another judge name is not one of the study's; nor an LLM's.
    others = [r for r in rows if r["judge_name"] != "human"]
    assert others and all(r["study_position"] is None for r in others)
    # A run without a study has no study column.
    assert "study_position" not in judgment_rows(run_without_study(tmp_path))[0]


def run_without_study(tmp_path: Path) -> RunStore:
    store = RunStore.create(tmp_path / "plain")
    store.transcripts.append(_transcript("t1"))
    store.judgments.append(_judgment("j1", "t1", [0.2, 0.8]))
    store.close()
    return store
