"""Exporting a run as tables: the rows a user gets, CSV and Parquet files, the CLI."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import pytest

from oversight.cli import main
from transcripts import Judgment, Question, RunStore, Transcript, Turn, export
from transcripts.errors import ConfigError
from transcripts.export import judgment_rows, to_csv, to_dataframe, to_parquet, transcript_rows

from .factories import records_read


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


@pytest.fixture
def run(tmp_path: Path) -> RunStore:
    store = RunStore.create(tmp_path / "run")
    store.transcripts.append(_transcript("t1"))
    store.transcripts.append(_transcript("t2", answers=3, correct=2, condition="consult"))
    store.judgments.append(_judgment("j1", "t1", [0.2, 0.8]))
    store.judgments.append(_judgment("j2", "t1", [0.5, 0.5], name="human", kind="human"))
    store.judgments.append(_judgment("j3", "t2", [0.6, 0.3, 0.1]))
    store.close()
    return store


def test_one_row_per_judgment_joined_with_its_transcript(run: RunStore) -> None:
    rows = {r["judgment_id"]: r for r in judgment_rows(run)}
    assert set(rows) == {"j1", "j2", "j3"}
    j1 = rows["j1"]
    assert (j1["p_0"], j1["p_1"], j1["p_correct"], j1["verdict"]) == (0.2, 0.8, 0.8, 1)
    assert j1["judge_correct"] == 1.0 and j1["judge_model"] == "mock/echo"
    assert (j1["condition"], j1["protocol"], j1["question_id"], j1["source"]) == (
        "debate-a",
        "debate",
        "q-t1",
        "story-t1",
    )
    assert j1["correct"] == 1 and j1["meta_setting"] == "toy"
    assert j1["meta_included_in_paper"] is True and "meta_nested" not in j1
    assert j1["judgment_meta_reward"] == 0.3
    assert "secret story" not in str(j1.values())
    # A 0.5/0.5 judgement is a tie: half credit, no verdict.
    assert rows["j2"]["judge_correct"] == 0.5 and rows["j2"]["verdict"] is None
    assert rows["j3"]["p_2"] == 0.1 and rows["j3"]["judge_correct"] == 0.0


def test_one_row_per_transcript_without_turns_or_story(run: RunStore) -> None:
    rows = {r["transcript_id"]: r for r in transcript_rows(run)}
    assert rows["t2"]["n_answers"] == 3 and rows["t2"]["correct"] == 2
    assert rows["t1"]["turns"] == 3 and rows["t1"]["judge_turns"] == 1
    assert rows["t1"]["rounds"] == 1 and rows["t1"]["meta_setting"] == "toy"
    assert all("secret story" not in str(r.values()) for r in rows.values())


def test_dataframe_has_every_answer_column_in_order(run: RunStore) -> None:
    df = to_dataframe(run)
    assert len(df) == 3
    columns = list(df.columns)
    at = columns.index("p_0")
    assert columns[at : at + 3] == ["p_0", "p_1", "p_2"]
    assert df.groupby("condition")["judge_correct"].mean().to_dict() == {
        "consult": 0.0,
        "debate-a": 0.75,
    }
    assert list(to_dataframe(run, kind="transcripts").transcript_id) == ["t1", "t2"]


def test_csv_reads_back_with_the_same_rows(run: RunStore, tmp_path: Path) -> None:
    target = tmp_path / "out" / "judgments.csv"
    assert to_csv(run, target) == 3
    with target.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["judgment_id"] for r in rows] == ["j1", "j2", "j3"]
    assert rows[0]["p_correct"] == "0.8" and rows[0]["p_2"] == "" and rows[2]["p_2"] == "0.1"


def test_parquet_reads_back_with_the_same_rows(run: RunStore, tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    target = tmp_path / "judgments.parquet"
    assert to_parquet(run, target) == 3
    frame = pandas.read_parquet(target)
    assert list(frame.judgment_id) == ["j1", "j2", "j3"]
    assert frame.p_correct.tolist() == [0.8, 0.5, 0.1]


def test_metadata_of_mixed_types_still_writes_parquet(tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    store = RunStore.create(tmp_path / "run")
    store.transcripts.append(_transcript("t1", metadata={"size": 3}))
    store.transcripts.append(_transcript("t2", metadata={"size": "large"}))
    store.close()
    to_parquet(store, tmp_path / "t.parquet", kind="transcripts")
    assert pandas.read_parquet(tmp_path / "t.parquet").meta_size.tolist() == ["3", "large"]


def test_without_pandas_a_dataframe_asks_for_the_export_extra(
    run: RunStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("pyarrow")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConfigError, match=r"pip install 'oversight\[export\]'"):
        to_dataframe(run)
    assert to_csv(run, tmp_path / "x.csv") == 3  # CSV needs no pandas
    assert to_parquet(run, tmp_path / "x.parquet") == 3  # nor does Parquet: only pyarrow
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ConfigError, match=r"needs pyarrow.*pip install 'oversight\[export\]'"):
        to_parquet(run, tmp_path / "y.parquet")
    assert not (tmp_path / "y.parquet").exists()


def test_export_command_writes_the_file_it_names(
    run: RunStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "t.csv"
    assert main(["export", str(run.path), "--kind", "transcripts", "--out", str(out)]) == 0
    assert out.read_text().splitlines()[0].startswith("transcript_id,")
    assert "wrote 2 transcripts rows" in capsys.readouterr().out
    assert main(["export", str(run.path), "--format", "csv"]) == 0
    assert (run.path / "exports" / "judgments.csv").is_file()


def test_an_out_file_whose_suffix_names_no_format_is_refused(
    run: RunStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--out x.xlsx`` would have been a CSV under a name a spreadsheet opens as its own
    format; the command asks which format is meant and writes nothing."""
    out = tmp_path / "judgments.xlsx"
    assert main(["export", str(run.path), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "'.xlsx'" in err and "--format csv, parquet or inspect" in err
    assert not out.exists()
    assert main(["export", str(run.path), "--out", str(out), "--format", "csv"]) == 0
    assert out.read_text().startswith("judgment_id,")
    assert main(["export", str(run.path), "--out", str(tmp_path / "plain")]) == 0
    assert (tmp_path / "plain").read_text().startswith("judgment_id,")


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


def _every_kind_of_left_out(tmp_path: Path) -> Path:
    """A run with a judgment of each kind the report leaves out, and some it counts."""
    store = RunStore.create(tmp_path / "mixed")
    for tid in ("t1", "t2", "t3"):
        store.transcripts.append(_transcript(tid))
    no_gold = _transcript("t4").model_copy(
        update={"question": _transcript("t4").question.model_copy(update={"correct": None})}
    )
    store.transcripts.append(no_gold)
    store.transcripts.append(
        _transcript("t5").model_copy(update={"status": "error", "error": "boom"})
    )
    judged = [
        _judgment("j1", "t1", [0.3, 0.7]),  # counted
        _judgment("j2a", "t2", [0.9, 0.1]),  # replaced by j2b
        _judgment("j2b", "t2", [0.2, 0.8]),  # counted
        _judgment("j3p", "t3", [0.6, 0.4], name="fb", kind="fallback"),  # superseded
        _judgment("j3f", "t3", [0.1, 0.9], name="fb", kind="fallback").model_copy(
            update={"supersedes": "j3p"}
        ),  # counted
        _judgment("j3h", "t3", [0.5, 0.5], name="people", kind="human").model_copy(
            update={"status": "skipped", "probabilities": None}
        ),  # skipped
        _judgment("j4", "t4", [0.5, 0.5]),  # no gold
        _judgment("j5", "t5", [0.5, 0.5]),  # transcript failed
        _judgment("j1x", "t1", [0.5, 0.5], name="other").model_copy(
            update={"status": "failed", "probabilities": None, "error": "x"}
        ),
        _judgment("j1r", "t1", [0.4999999998, 0.5000000002], name="weak").model_copy(
            update={"rounds_seen": 2}
        ),  # counted, a tie
    ]
    for judgment in judged:
        store.judgments.append(judgment)
    store.close()
    return tmp_path / "mixed"


def test_export_says_which_judgments_the_report_counts_and_why_not(tmp_path: Path) -> None:
    from oversight.analysis import analyze

    path = _every_kind_of_left_out(tmp_path)
    table = {row["judgment_id"]: row for row in judgment_rows(path)}
    assert len(table) == 10  # every judgment is exported ...
    assert {k for k, row in table.items() if row["counted"]} == {"j1", "j2b", "j3f", "j1r"}
    assert {k: row["not_counted"] for k, row in table.items() if not row["counted"]} == {
        "j2a": "replaced by j2b",
        "j3p": "superseded by j3f",
        "j3h": "skipped",
        "j4": "the question has no gold answer",
        "j5": "its transcript failed",
        "j1x": "failed",
    }
    # ... and the counted ones are exactly what the report scores, with the same accuracy.
    groups = analyze(path, n_bootstrap=10).groups
    counted = judgment_rows(path, counted_only=True)
    assert len(counted) == sum(g.n for g in groups) == 4
    assert sum(r["judge_correct"] for r in counted) == pytest.approx(
        sum((g.accuracy or 0.0) * g.n for g in groups)
    )


def test_export_command_can_write_only_the_counted_judgments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _every_kind_of_left_out(tmp_path)
    out = tmp_path / "counted.csv"
    assert main(["export", str(path), "--counted-only", "--out", str(out)]) == 0
    assert "wrote 4 judgments rows" in capsys.readouterr().out
    with out.open() as f:
        written = list(csv.DictReader(f))
    assert sorted(r["judgment_id"] for r in written) == ["j1", "j1r", "j2b", "j3f"]
    assert {r["counted"] for r in written} == {"True"}


def test_the_csv_is_the_table_judgment_rows_gives_column_for_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CSV goes through a file, not memory: the same rows, cell for cell, and the same
    columns in the same order, including ones first seen late and, with ``counted_only``,
    none that only a left-out judgment has."""
    monkeypatch.setattr(export._Spool, "BATCH", 3)  # rows in several pickled batches
    path = _every_kind_of_left_out(tmp_path)
    store = RunStore.open(path)
    late = _judgment("j6", "t1", [0.1, 0.9], name="late")
    store.judgments.append(late.model_copy(update={"metadata": {"reward": 0.1, "seed": 7}}))
    store.judgments.append(
        _judgment("j7", "t2", [0.5, 0.5], name="late").model_copy(
            update={"status": "failed", "probabilities": None, "metadata": {"only_failed": 1}}
        )
    )
    store.close()
    for counted_only in (False, True):
        expected = judgment_rows(path, counted_only=counted_only)
        out = tmp_path / f"counted-{counted_only}.csv"
        assert to_csv(path, out, counted_only=counted_only) == len(expected)
        with out.open(newline="") as f:
            reader = csv.DictReader(f)
            written = list(reader)
        columns = list(dict.fromkeys(name for row in expected for name in row))
        assert reader.fieldnames == columns
        assert columns.index("counted") < columns.index("judgment_meta_seed")
        assert ("judgment_meta_only_failed" in columns) is not counted_only
        assert written == [
            {name: "" if row.get(name) is None else str(row[name]) for name in columns}
            for row in expected
        ]


def test_an_export_that_fails_half_way_leaves_the_earlier_file_and_no_part(
    run: RunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "judgments.csv"
    assert to_csv(run, target) == 3
    before = target.read_bytes()
    writerow = csv.DictWriter.writerow
    rows: list[object] = []

    def disk_fills(self: csv.DictWriter[str], row: Any) -> Any:
        if len(rows) == 2:  # the header and one row written
            raise OSError(28, "No space left on device")
        rows.append(row)
        return writerow(self, row)

    monkeypatch.setattr(csv.DictWriter, "writerow", disk_fills)
    with pytest.raises(OSError, match="No space left"):
        to_csv(run, target)
    assert target.read_bytes() == before, "the earlier export is untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["judgments.csv", "run"]


def test_parquet_is_the_table_judgment_rows_gives_cell_for_cell_in_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parquet streams like CSV: the rows come back cell for cell (None as null), the
    columns in order, written a few rows to a row group; each column has one type, integers
    with gaps stay integers, and values of mixed types become text."""
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    monkeypatch.setattr(export._Spool, "BATCH", 3)
    monkeypatch.setattr(export, "ROW_GROUP", 4)
    monkeypatch.setattr(export, "_ARROW_BATCH", 2)  # two Arrow batches a row group
    path = _every_kind_of_left_out(tmp_path)
    store = RunStore.open(path)
    store.judgments.append(
        _judgment("j6", "t1", [0.1, 0.9], name="late").model_copy(
            update={"metadata": {"reward": 1, "seed": 7, "tag": 3}}
        )
    )
    store.judgments.append(
        _judgment("j7", "t2", [0.5, 0.5], name="late").model_copy(
            update={"metadata": {"reward": 0.5, "tag": "x", "flag": True}}
        )
    )
    store.close()
    for counted_only in (False, True):
        expected = judgment_rows(path, counted_only=counted_only)
        out = tmp_path / f"counted-{counted_only}.parquet"
        assert export.to_parquet(path, out, counted_only=counted_only) == len(expected)
        written = pq.ParquetFile(out)
        sizes = [written.metadata.row_group(i).num_rows for i in range(written.num_row_groups)]
        assert sizes == [4] * (len(expected) // 4) + (
            [len(expected) % 4] if len(expected) % 4 else []
        )
        table = written.read()
        columns = list(dict.fromkeys(name for row in expected for name in row))
        assert table.column_names == columns
        text = {"judgment_meta_tag"}
        assert table.to_pylist() == [
            {
                name: str(row[name])
                if name in text and row.get(name) is not None
                else row.get(name)
                for name in columns
            }
            for row in expected
        ]
    schema = pq.read_schema(tmp_path / "counted-False.parquet")
    assert schema.field("judgment_meta_seed").type == pa.int64()  # one value, nulls elsewhere
    assert schema.field("judgment_meta_reward").type == pa.float64()  # 0.3, 1 and 0.5
    assert schema.field("judgment_meta_tag").type == pa.string()  # 3 and "x"
    assert schema.field("judgment_meta_flag").type == pa.bool_()
    assert schema.field("counted").type == pa.bool_()


def test_a_condition_reads_only_its_own_judgments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Judgments are chosen by the transcript id the index keeps: an export of one
    condition reads no judgment of another from the log."""
    path = _every_kind_of_left_out(tmp_path)
    store = RunStore.open(path)
    store.transcripts.append(_transcript("t6", condition="consult"))
    store.judgments.append(_judgment("j6", "t6", [0.1, 0.9]))
    store.judgments.append(_judgment("j6b", "t6", [0.4, 0.6], name="other"))
    store.close()
    read = records_read(monkeypatch, "judgments.jsonl")
    assert [r["judgment_id"] for r in judgment_rows(path, conditions=["consult"])] == [
        "j6",
        "j6b",
    ]
    assert read == ["j6", "j6b"]


def test_a_dataframe_is_what_pandas_makes_of_the_rows_dtype_for_dtype(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DataFrame is built through Arrow without holding the rows, yet is the frame
    pandas makes of them itself: the same values and dtypes, integers with gaps as float,
    booleans with gaps as objects, a column of mixed types with its values as they were
    (a missing value in an object column is None, where pandas may write NaN)."""
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    monkeypatch.setattr(export._Spool, "BATCH", 3)
    monkeypatch.setattr(export, "_ARROW_BATCH", 2)
    path = _every_kind_of_left_out(tmp_path)
    store = RunStore.open(path)
    store.transcripts.append(_transcript("t6", condition="consult", metadata={"size": 3}))
    store.transcripts.append(_transcript("t7", condition="consult", metadata={"size": "big"}))
    store.judgments.append(
        _judgment("j6", "t6", [0.1, 0.9]).model_copy(update={"metadata": {"flag": True}})
    )
    store.close()
    empty = RunStore.create(tmp_path / "empty")
    empty.close()
    cases: list[tuple[Path, dict[str, Any]]] = [
        (path, {}),
        (path, {"counted_only": True}),
        (path, {"conditions": ["consult"]}),
        (path, {"kind": "transcripts"}),
        (empty.path, {}),
    ]
    for where, options in cases:
        got = to_dataframe(where, **options)
        made = export.rows(where, **options)
        expected = pandas.DataFrame(made, columns=list(got.columns))
        for name in expected.columns:
            if not pandas.api.types.is_object_dtype(expected[name]):
                continue
            # pandas fills a row without the key with NaN where a None is beside it; the
            # export has one missing value, None, in every object column.
            expected[name] = expected[name].astype(object).where(expected[name].notna(), None)
        assert set(got.columns) == {name for row in made for name in row}, options
        pandas.testing.assert_frame_equal(got, expected)
    transcripts = to_dataframe(path, kind="transcripts").set_index("transcript_id")
    assert transcripts.meta_size.dtype == object
    assert transcripts.meta_size[["t6", "t7"]].tolist() == [3, "big"]


def test_an_integer_no_int64_holds_is_kept_in_a_dataframe_and_text_in_parquet(
    tmp_path: Path,
) -> None:
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    store = RunStore.create(tmp_path / "run")
    store.transcripts.append(_transcript("t1", metadata={"big": 2**70}))
    store.transcripts.append(_transcript("t2", metadata={"big": 3}))
    store.close()
    assert to_dataframe(store, kind="transcripts").meta_big.tolist() == [2**70, 3]
    to_parquet(store, tmp_path / "t.parquet", kind="transcripts")
    written = pandas.read_parquet(tmp_path / "t.parquet").meta_big.tolist()
    assert written == [str(2**70), "3"]


def test_a_parquet_export_that_fails_half_way_leaves_the_earlier_file_and_no_part(
    run: RunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(export, "ROW_GROUP", 1)
    target = tmp_path / "judgments.parquet"
    assert to_parquet(run, target) == 3
    before = target.read_bytes()
    write_table = pq.ParquetWriter.write_table
    groups: list[object] = []

    def disk_fills(self: Any, table: Any, *args: Any, **kwargs: Any) -> Any:
        if len(groups) == 1:  # one row group written
            raise OSError(28, "No space left on device")
        groups.append(table)
        return write_table(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", disk_fills)
    with pytest.raises(OSError, match="No space left"):
        to_parquet(run, target)
    assert target.read_bytes() == before, "the earlier export is untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["judgments.parquet", "run"]


def test_conditions_choose_the_transcripts_and_their_judgments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the chosen conditions' transcripts and judgments, each marked counted or not as
    in the whole table; an unknown condition is an error naming the run's."""
    path = _every_kind_of_left_out(tmp_path)
    store = RunStore.open(path)
    store.transcripts.append(_transcript("t6", condition="consult"))
    store.judgments.append(_judgment("j6", "t6", [0.1, 0.9]))
    store.close()
    whole = {row["judgment_id"]: row for row in judgment_rows(path)}
    debate_only = judgment_rows(path, conditions=["debate-a"])
    assert sorted(row["judgment_id"] for row in debate_only) == sorted(set(whole) - {"j6"})
    assert all(row == whole[row["judgment_id"]] for row in debate_only)
    assert [r["transcript_id"] for r in transcript_rows(path, conditions=["consult"])] == ["t6"]
    out = tmp_path / "consult.csv"
    assert main(["export", str(path), "--condition", "consult", "--out", str(out)]) == 0
    with out.open(newline="") as f:
        assert [r["judgment_id"] for r in csv.DictReader(f)] == ["j6"]
    capsys.readouterr()
    assert main(["export", str(path), "--condition", "nope", "--out", str(out)]) == 1
    assert "its conditions: consult, debate-a" in capsys.readouterr().err
    # From Python too, before anything is written.
    with pytest.raises(ConfigError, match=r"'nope'.*its conditions: consult, debate-a"):
        to_csv(path, tmp_path / "none.csv", conditions=["nope"])
    assert not (tmp_path / "none.csv").exists()
    with pytest.raises(ConfigError, match="its conditions"):
        judgment_rows(path, conditions=["debate-a", "nope"])


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
