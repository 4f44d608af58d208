"""A run written by the previous stored format (schema_version 2) stays readable.

``tests/data/runs/v2-quickstart`` is the quickstart run exactly as oversight wrote it with
schema_version 2 (its response cache and SQLite indexes left out). Schema 3 added
``Usage.reported``; a version-2 call reads as reported, with its cost as stored.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from oversight.analysis import analyze
from oversight.cli import main
from transcripts import SCHEMA_VERSION, RunStore

V2_RUN = Path(__file__).parents[1] / "data" / "runs" / "v2-quickstart"
QUICKSTART = Path(__file__).parents[2] / "examples" / "quickstart.toml"


@pytest.fixture
def v2_run(tmp_path: Path) -> Path:
    copy = tmp_path / "v2"
    shutil.copytree(V2_RUN, copy)
    return copy


def test_the_fixture_is_a_version_2_run_and_this_code_writes_a_later_one() -> None:
    assert json.loads((V2_RUN / "run.json").read_text())["schema_version"] == 2
    first = json.loads((V2_RUN / "transcripts.jsonl").read_text().splitlines()[0])
    assert first["schema_version"] == 2
    assert SCHEMA_VERSION > 2


def test_v2_calls_read_as_reported_with_their_stored_counts(v2_run: Path) -> None:
    raw = [json.loads(line) for line in (v2_run / "transcripts.jsonl").read_text().splitlines()]
    stored = [u["call"] for t in raw for u in t["turns"] if u.get("call")]
    assert stored and all("reported" not in c["usage"] for c in stored)
    store = RunStore.open(v2_run)
    calls = [c for t in store.transcripts.latest() for c in t.calls]
    judges = list(store.judgments.latest())
    judge_calls = [c for j in judges for part in [j, *j.components] for c in part.calls]
    assert len(calls) == len(stored) and judge_calls
    assert all(c.usage.reported for c in calls + judge_calls)
    assert [c.usage.input_tokens for c in calls] == [c["usage"]["input_tokens"] for c in stored]
    assert [c.cost_usd for c in calls] == [c["cost_usd"] for c in stored]


def test_report_and_show_work_on_a_v2_run(v2_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sum(group.n for group in analyze(v2_run, n_bootstrap=50).groups) == 108
    assert main(["report", str(v2_run), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sum(group["n"] for group in report["groups"]) == 108
    first_id = json.loads((v2_run / "transcripts.jsonl").read_text().splitlines()[0])["id"]
    assert main(["show", str(v2_run), first_id]) == 0
    assert first_id in capsys.readouterr().out


def test_a_finished_v2_run_resumes_with_nothing_sent_and_its_spend_as_it_was(
    v2_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = json.loads((v2_run / "status.json").read_text())
    lines = (v2_run / "spend.jsonl").read_text()
    assert main(["run", str(QUICKSTART), "--out", str(v2_run)]) == 0
    after = json.loads((v2_run / "status.json").read_text())
    assert after["status"] == "complete" and after["calls"] == 0
    assert (after["transcripts"], after["judgments"]) == (before["transcripts"], 0)  # none new
    assert len(list(RunStore.open(v2_run).judgments.latest())) == 108
    assert (after["input_tokens"], after["output_tokens"]) == (
        before["input_tokens"],
        before["output_tokens"],
    )
    assert after["unknown_cost_calls"] == 0
    assert (v2_run / "spend.jsonl").read_text() == lines  # nothing paid again
    assert "0 calls sent" in " ".join(capsys.readouterr().out.split())
