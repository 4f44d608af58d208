"""Exported judgments the report counts and leaves out, chosen by condition, streamed through
files yet the table ``judgment_rows`` gives, cell for cell, in CSV, Parquet and pandas."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from oversight.cli import main
from transcripts import RunStore, export
from transcripts.errors import ConfigError
from transcripts.export import judgment_rows, to_csv, to_dataframe, transcript_rows

from .export_helpers import _judgment, _transcript
from .factories import records_read


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
