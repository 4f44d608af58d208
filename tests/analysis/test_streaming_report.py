"""The streaming report gives exactly the report of before: on a run with every feature
(``rich_run.py``), ``oversight report`` prints and writes, number for number, what the
report printed and wrote before it streamed (``tests/data/report-before/``, written by
main at cabaf5d, where a value that rounds to zero now prints as 0.0 or +0.0, never
-0.0; changed since only where a fix changed a number or a text on purpose: each such
commit says which fields, see ``git log tests/data/report-before``). Numbers in JSON are
compared to 1e-9 relative: the tournament's ratings
come from an optimiser whose last bits depend on the numpy/scipy build (a fresh install
gave ...8542 where the reference has ...8536); everything else must be equal."""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from oversight.analysis import analyze, annotators
from oversight.analysis._data import load
from oversight.cli import main

from .rich_run import build

BEFORE = Path(__file__).parents[1] / "data" / "report-before"


def _before(name: str, run: Path, out: Path | None = None) -> str:
    text = (BEFORE / name).read_text(encoding="utf-8")
    return text.replace("{OUT}", str(out)).replace("{RUN}", str(run))


def same(ours: Any, before: Any) -> bool:
    """Equal JSON values, floats to 1e-9 relative (see the module's docstring)."""
    if isinstance(ours, float) and isinstance(before, float):
        return math.isclose(ours, before, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(ours, dict) and isinstance(before, dict):
        return ours.keys() == before.keys() and all(same(ours[k], before[k]) for k in ours)
    if isinstance(ours, list) and isinstance(before, list):
        return len(ours) == len(before) and all(map(same, ours, before))
    return type(ours) is type(before) and ours == before


def test_same_tells_apart_what_it_must() -> None:
    assert same({"a": [1, 0.12987237418388542]}, {"a": [1, 0.12987237418388536]})
    assert not same({"a": [1, 0.1298724]}, {"a": [1, 0.1298723]})
    assert not same({"a": 1}, {"a": 1.0}) and not same({"a": 1}, {"b": 1})
    assert not same([1, 2], [1, 2, 3]) and not same("x", "y")


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
    assert same(json.loads(_report(str(rich), "--json")), json.loads(_before("report.json", rich)))


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
    assert same(json.loads(ours), json.loads(_before("filtered.json", rich)))


def test_the_printed_report_and_every_written_file_are_the_ones_of_before(
    rich: Path, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    printed = _report(str(rich), "--markdown", "--out", str(out))
    assert printed == _before("terminal.txt", rich, out)
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(p.name[3:] for p in BEFORE.glob("md-*"))
    for name in written:
        text, before = (out / name).read_text(encoding="utf-8"), _before(f"md-{name}", rich, out)
        if name.endswith(".json"):
            assert same(json.loads(text), json.loads(before)), name
        else:
            assert text == before, name


def test_one_read_serves_the_analysis_and_the_annotator_table(rich: Path) -> None:
    """The report reads the store once: the loaded data gives the same answers as the folder."""
    data = load(rich)
    assert analyze(data) == analyze(rich)
    assert annotators(data) == annotators(rich)


@pytest.mark.parametrize("block", [97, 1_000, 40_000])
def test_small_read_blocks_give_the_report_of_one_block(
    rich: Path, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store is read in blocks of whole lines (256 KiB each); at block sizes that cut
    lines of every log (97 bytes: nearly every line; 40,000: a few), the report is the one
    the whole file in one block gives."""
    from transcripts import _blocks

    whole = _report(str(rich), "--json")
    monkeypatch.setattr(_blocks, "_BLOCK", block)
    assert _report(str(rich), "--json") == whole
