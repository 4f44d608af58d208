"""More of what a careless hand does to a run folder or an experiment file: each command says
what is wrong and where, with no traceback, and leaves the saved records byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.cli import main
from tests.transcripts.factories import PLAIN, debate, judgment
from transcripts import RunStore

from .bad_input_helpers import _fails

EXPERIMENT = """name = "small"
[dataset]
loader = "sample"
limit = 1
[endpoints.strong]
spec = "mock/strong"
[[conditions]]
label = "consultancy"
protocol = "consultancy"
roles = { consultant = "strong" }
options = { rounds = 1 }
[[judges]]
kind = "llm"
name = "judge"
endpoint = "mock/weak"
"""


def _run(folder: Path) -> Path:
    store = RunStore.create(folder)
    for t in ("t1", "t2"):
        store.transcripts.append(debate(id=t, turns=[PLAIN]))
        store.judgments.append(judgment(t, id=f"j-{t}"))
    store.close()
    return folder


def _logs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.jsonl"))}


def test_an_index_file_that_is_no_database_is_rebuilt_and_the_report_reads_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A damaged ``transcripts.jsonl.idx`` (a bad copy, a disk error) made ``report`` die
    with ``sqlite3.DatabaseError: file is not a database``; it is rebuilt from the log."""
    run = _run(tmp_path / "run")
    (run / "transcripts.jsonl.idx").write_bytes(b"{not a database")
    before = _logs(run)
    assert main(["report", str(run)]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "2 transcripts, 2 judgments" in out.out
    assert _logs(run) == before
    assert main(["show", str(run)]) == 0


@pytest.mark.parametrize("command", ["show", "export", "rejudge"])
def test_a_byte_that_is_not_utf8_in_a_record_is_named_with_its_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """A record line with a byte that is not UTF-8 (an editor saving in Latin-1, a flipped
    bit) ended every command but ``report`` with a traceback of the JSON decoder."""
    run = _run(tmp_path / "run")
    log = run / "judgments.jsonl"
    data = log.read_bytes()
    at = data.index(b'"transcript_id":"') + len(b'"transcript_id":"')
    log.write_bytes(data[:at] + b"\xe9" + data[at + 1 :])
    before = _logs(run)
    args = {
        "show": ["show", str(run)],
        "export": ["export", str(run), "--out", str(tmp_path / "j.csv")],
        "rejudge": ["rejudge", str(run), "--judge", "llm:mock/other"],
    }[command]
    err = _fails(args, capsys)
    assert f"{log}:1: not UTF-8 text (byte 0xe9 at column {at + 1})" in err
    assert "restore the file from a backup" in err
    assert _logs(run) == before
    assert not (tmp_path / "j.csv").exists()


@pytest.mark.parametrize("given", ["a dataset file", "a run whose cache is damaged"])
def test_replay_of_something_that_is_no_response_cache_is_refused_before_the_folder_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str
) -> None:
    """``--replay`` given a file that is not a cache (or a run whose cache.sqlite is damaged)
    made the new run folder, then died with ``sqlite3.DatabaseError`` copying it."""
    experiment = tmp_path / "exp.toml"
    experiment.write_text(EXPERIMENT, encoding="utf-8")
    if given == "a dataset file":
        source = tmp_path / "questions.jsonl"
        source.write_text('{"id": "q1"}\n', encoding="utf-8")
        named = source
    else:
        source = _run(tmp_path / "old")
        named = source / "cache.sqlite"
        named.write_bytes(b"garbage")
    out = tmp_path / "new"
    err = _fails(["run", str(experiment), "--replay", str(source), "--out", str(out)], capsys)
    assert f"--replay: {named} is not a response cache (not an SQLite database)" in err
    assert "give --replay a finished run's folder, or its cache.sqlite" in err
    assert not out.exists()


def test_an_experiment_file_that_starts_with_a_byte_order_mark_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Windows Notepad saves UTF-8 with a byte-order mark: the file was refused as 'not
    valid TOML: Invalid statement (at line 1, column 1)', which named nothing to fix."""
    experiment = tmp_path / "exp.toml"
    experiment.write_bytes(b"\xef\xbb\xbf" + EXPERIMENT.encode())
    out = tmp_path / "run"
    assert main(["run", str(experiment), "--out", str(out), "--no-progress", "--no-report"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert RunStore.open(out).transcripts.count() > 0


def test_a_run_folder_whose_run_json_was_deleted_is_refused_not_given_a_new_run_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With ``run.json`` gone, ``show`` told to create one with ``oversight run``, and
    ``oversight run`` did: a new run id over the records of the old one, silently."""
    run = _run(tmp_path / "run")
    run_id = json.loads((run / "transcripts.jsonl").read_bytes().splitlines()[0])["run_id"]
    (run / "run.json").unlink()
    before = _logs(run)
    experiment = tmp_path / "exp.toml"
    experiment.write_text(EXPERIMENT, encoding="utf-8")
    for args in (["show", str(run)], ["run", str(experiment), "--out", str(run)]):
        err = _fails(args, capsys)
        assert f"{run} holds a run's records (transcripts.jsonl) but no run.json" in err
        assert f'restore run.json from a backup ({{"run_id": "{run_id}"}}' in err
    assert not (run / "run.json").exists()
    assert _logs(run) == before
