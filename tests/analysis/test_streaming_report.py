"""The streaming report gives exactly the report of before: on a run with every feature
(``rich_run.py``), ``oversight report`` prints and writes, number for number, what the
report printed and wrote before it streamed (``tests/data/report-before/``, written by
main at cabaf5d)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from oversight.analysis import analyze, annotators
from oversight.analysis._data import load
from oversight.cli import main

from .rich_run import build

BEFORE = Path(__file__).parents[1] / "data" / "report-before"


def _before(name: str, run: Path, out: Path | None = None) -> str:
    text = (BEFORE / name).read_text(encoding="utf-8")
    return text.replace("{OUT}", str(out)).replace("{RUN}", str(run))


def _report(*args: str) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["report", *args]) == 0
    return buf.getvalue()


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("streaming") / "run"
    build(path)
    return path


def test_the_json_report_is_the_one_of_before(rich: Path) -> None:
    assert json.loads(_report(str(rich), "--json")) == json.loads(_before("report.json", rich))


def test_grouped_and_filtered_json_is_the_one_of_before(rich: Path) -> None:
    ours = _report(
        str(rich),
        "--json",
        "--by",
        "condition,difficulty",
        "--where",
        "batch=0",
        "--bootstrap",
        "500",
        "--seed",
        "3",
    )
    assert json.loads(ours) == json.loads(_before("filtered.json", rich))


def test_the_printed_report_and_every_written_file_are_the_ones_of_before(
    rich: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    printed = _report(str(rich), "--markdown", "--out", str(out))
    assert printed == _before("terminal.txt", rich, out)
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(p.name[3:] for p in BEFORE.glob("md-*"))
    for name in written:
        assert (out / name).read_text(encoding="utf-8") == _before(f"md-{name}", rich, out), name


def test_one_read_serves_the_analysis_and_the_annotator_table(rich: Path) -> None:
    """The report reads the store once: the loaded data gives the same answers as the folder."""
    data = load(rich)
    assert analyze(data) == analyze(rich)
    assert annotators(data) == annotators(rich)
