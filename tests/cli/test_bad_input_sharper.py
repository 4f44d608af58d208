"""A researcher's slips, caught through the real commands: a value of the wrong type in an
experiment file, a hand-edited record, and a path or file of the wrong kind, each refused with
the key or line, what is wrong and what to do, and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.cli import main
from tests.transcripts.factories import PLAIN, debate, judgment
from transcripts import RunStore

from .bad_input_helpers import _fails

EXPERIMENT = """name = "small"
{top}
[dataset]
loader = "sample"
{dataset}
[endpoints.strong]
spec = "mock/strong"
{endpoint}
[[conditions]]
label = "consultancy"
protocol = "consultancy"
roles = {{ consultant = "strong" }}
options = {{ rounds = {rounds} }}
[[judges]]
kind = "llm"
name = "judge"
endpoint = "mock/weak"
{judge}
[limits]
{limits}
"""


def _experiment(folder: Path, **given: str) -> Path:
    slots = {
        "top": "",
        "dataset": "limit = 1",
        "endpoint": "",
        "rounds": "1",
        "judge": "",
        "limits": "",
    }
    path = folder / "exp.toml"
    path.write_text(EXPERIMENT.format(**{**slots, **given}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("given", "key", "expected"),
    [
        ({"top": "repeats = true"}, "repeats", "an integer"),
        ({"dataset": "limit = true"}, "dataset.limit", "an integer"),
        ({"endpoint": "rpm = true"}, "endpoints.strong.rpm", "a number"),
        ({"rounds": "true"}, "rounds", "an integer"),
        ({"judge": "samples = false"}, "judges[0].samples", "an integer"),
        ({"limits": "max_cost_usd = true"}, "limits.max_cost_usd", "a number"),
        ({"limits": "concurrency = true"}, "limits.concurrency", "an integer"),
    ],
)
def test_true_or_false_for_a_number_is_refused_naming_the_key_and_the_type(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    given: dict[str, str],
    key: str,
    expected: str,
) -> None:
    """``repeats = true`` was read as 1 (pydantic's lax mode takes a boolean for a number):
    a typo ran the experiment with a setting nobody chose."""
    out = tmp_path / "run"
    err = _fails(["run", str(_experiment(tmp_path, **given)), "--out", str(out)], capsys)
    assert key in err
    assert f"expected {expected}, not true or false" in err
    assert not out.exists()


def test_a_whole_number_for_a_decimal_setting_is_still_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """TOML writes ``1`` for ``1.0``: an integer for a decimal number stays accepted."""
    experiment = _experiment(
        tmp_path, endpoint="rpm = 600", limits="max_cost_usd = 1\nmax_failure_fraction = 1"
    )
    out = tmp_path / "run"
    assert main(["run", str(experiment), "--out", str(out), "--no-progress", "--no-report"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    saved = json.loads((out / "experiment.json").read_text(encoding="utf-8"))["spec"]
    assert saved["limits"]["max_cost_usd"] == 1.0
    assert saved["endpoints"]["strong"]["rpm"] == 600.0


def _ran(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "run"
    experiment = _experiment(tmp_path, dataset="limit = 2")
    assert main(["run", str(experiment), "--out", str(out), "--no-progress", "--no-report"]) == 0
    capsys.readouterr()
    return out


def _logs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.jsonl"))}


def test_rejudge_refuses_a_hand_edited_transcript_as_report_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A transcript whose status was edited to 5 was skipped by ``rejudge`` without a word
    (all but one judged), while ``report`` refused the run."""
    run = _ran(tmp_path, capsys)
    log = run / "transcripts.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    assert len(lines) > 2
    lines[2] = lines[2].replace(b'"status":"complete"', b'"status":5')
    log.write_bytes(b"".join(lines))
    before = _logs(run)
    said = [
        _fails(["report", str(run)], capsys),
        _fails(["rejudge", str(run), "--judge", "llm:mock/other"], capsys),
    ]
    for err in said:
        assert f"{log}:3: not a valid Transcript record" in err
        assert "status: 5 is not allowed; allowed: 'complete' or 'error'" in err
        assert "restore the file from a backup" in err
    assert _logs(run) == before


def _stored(folder: Path) -> Path:
    store = RunStore.create(folder)
    for t in ("t1", "t2"):
        store.transcripts.append(debate(id=t, turns=[PLAIN]))
        store.judgments.append(judgment(t, id=f"j-{t}", rationale="plain words"))
    store.close()
    return folder


def test_report_refuses_a_byte_that_is_not_utf8_in_a_field_it_does_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report's fast reader skips the fields it does not use, unchecked: a Latin-1 byte
    in a judgment's rationale was reported on, while every other command refused the line."""
    run = _stored(tmp_path / "run")
    log = run / "judgments.jsonl"
    data = log.read_bytes()
    at = data.index(b"plain words")
    log.write_bytes(data[:at] + b"\xe9" + data[at + 1 :])
    before = _logs(run)
    err = _fails(["report", str(run)], capsys)
    column = at + 1
    assert f"{log}:1: not UTF-8 text (byte 0xe9 at column {column})" in err
    assert _logs(run) == before


@pytest.mark.parametrize("command", ["report", "show", "export", "rejudge"])
def test_a_file_inside_a_run_folder_is_named_as_a_file_with_its_folder_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """``oversight report run1/transcripts.jsonl`` said "no run folder at ...: check the
    path", though the path is there: it is the run's log, not its folder."""
    run = _stored(tmp_path / "run")
    given = run / "transcripts.jsonl"
    args = {"rejudge": ["--judge", "llm:mock/other"], "export": ["--out", str(tmp_path / "j.csv")]}
    err = _fails([command, str(given), *args.get(command, [])], capsys)
    assert f"{given} is a file, not a run folder: give the folder that holds it ({run})" in err


def test_a_folder_without_a_run_is_told_the_command_that_makes_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty folder was told to "create one with RunStore.create", a Python call, on the
    command line."""
    (tmp_path / "empty").mkdir()
    err = _fails(["report", str(tmp_path / "empty")], capsys)
    assert "RunStore.create" not in err
    assert f"make one with `oversight run EXPERIMENT.toml --out {tmp_path / 'empty'}`" in err


def test_a_runs_saved_experiment_given_to_run_says_how_to_resume_or_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``oversight run run1/experiment.json`` said "not valid TOML: Invalid statement":
    true, and no help in finding the command that resumes or replays that run."""
    run = _ran(tmp_path, capsys)
    before = _logs(run)
    err = _fails(["run", str(run / "experiment.json")], capsys)
    source = tmp_path / "exp.toml"
    assert f"{run / 'experiment.json'} is the saved experiment of the run {run} (JSON)" in err
    assert f"to resume it: oversight run {source} --out {run}" in err
    assert f"to replay it: oversight run {source} --out NEW_FOLDER --replay {run}" in err
    assert "not valid TOML" not in err
    assert _logs(run) == before


def _dataset_run(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> str:
    (tmp_path / "questions.jsonl").write_text(text, encoding="utf-8")
    experiment = tmp_path / "exp.toml"
    experiment.write_text(
        EXPERIMENT.format(top="", endpoint="", rounds="1", judge="", limits="", dataset="").replace(
            'loader = "sample"', 'loader = "jsonl"\npath = "questions.jsonl"'
        ),
        encoding="utf-8",
    )
    err = _fails(["run", str(experiment), "--out", str(tmp_path / "run")], capsys)
    assert not (tmp_path / "run").exists()
    return err


Q1 = '{"id": "q1", "question": "Which?", "answers": ["a", "b"], "correct": 0}'


Q2 = Q1.replace("q1", "q2")


@pytest.mark.parametrize(
    "text", [f"[{Q1},\n{Q2}]\n", f"[{Q1}, {Q2}]\n"], ids=["spread", "one-line"]
)
def test_a_json_array_given_as_a_jsonl_dataset_is_named_as_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """A whole JSON array (``[{...}, {...}]``) was refused as ":1: not valid JSON
    (Expecting value)", or "expected a JSON object per line", naming no cause."""
    err = _dataset_run(tmp_path, capsys, text)
    path = tmp_path / "questions.jsonl"
    assert f"{path}:1: this looks like a JSON array" in err
    assert "JSON Lines needs one object per line" in err


def test_a_dataset_line_with_one_answer_names_the_answers_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A question with one answer said "List should have at least 2 items after validation,
    not 1", naming neither the field nor what a question needs."""
    err = _dataset_run(tmp_path, capsys, Q1.replace('["a", "b"]', '["a"]') + "\n")
    path = tmp_path / "questions.jsonl"
    assert f"{path}:1: field 'answers' has 1 answer; a question needs at least 2" in err
