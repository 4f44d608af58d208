"""Exporting a run as tables: the rows a user gets, CSV and Parquet files, the CLI, failures."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import pytest

from oversight.cli import main
from transcripts import RunStore, export
from transcripts.errors import ConfigError
from transcripts.export import judgment_rows, to_csv, to_dataframe, to_parquet, transcript_rows

from .export_helpers import _judgment, _transcript


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
