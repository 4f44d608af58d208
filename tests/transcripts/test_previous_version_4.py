"""A run written by the previous stored format (schema_version 4) stays readable.

``tests/data/runs/v4-quickstart`` is ``examples/quickstart.toml``'s run on two of its
questions (``limit = 2``, ``max_per_source = 1``), exactly as oversight wrote it with
schema_version 4 at the end of stop 37 (`02b4360`; its response cache and SQLite indexes
left out). Schema 5 added keys to files beside the records (a spend line's
``estimated_usd``, ``experiment.json``'s prompt fingerprint): a version-4 run has neither,
so it reads, reports and resumes as it was, its prompts unchecked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from oversight.cli import main
from transcripts import SCHEMA_VERSION, RunStore
from transcripts.errors import StoreError

V4_RUN = Path(__file__).parents[1] / "data" / "runs" / "v4-quickstart"
EXAMPLE = Path(__file__).parents[2] / "examples" / "quickstart.toml"


@pytest.fixture
def v4_run(tmp_path: Path) -> Path:
    copy = tmp_path / "v4"
    shutil.copytree(V4_RUN, copy)
    return copy


def test_the_fixture_is_a_version_4_run_and_this_code_writes_a_later_one() -> None:
    assert json.loads((V4_RUN / "run.json").read_text())["schema_version"] == 4
    lines = (V4_RUN / "transcripts.jsonl").read_text().splitlines()
    assert {json.loads(line)["schema_version"] for line in lines} == {4}
    assert "prompts" not in json.loads((V4_RUN / "experiment.json").read_text())
    assert SCHEMA_VERSION > 4


def test_every_v4_record_reads_and_reports(
    v4_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with RunStore.open(v4_run) as store:
        transcripts = list(store.transcripts.latest())
        assert (len(transcripts), len(list(store.judgments.latest()))) == (32, 36)
    assert main(["report", str(v4_run), "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    assert sum(g["n"] for g in groups) > 0
    assert main(["show", str(v4_run)]) == 0
    assert "32 of 32 items" in " ".join(capsys.readouterr().out.split())


def test_a_finished_v4_run_resumes_with_nothing_sent_and_its_prompts_unchecked(
    tmp_path: Path, v4_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = EXAMPLE.read_text()
    small = small.replace("\nlimit = 6 ", "\nlimit = 2 ").replace(
        "\nmax_per_source = 3", "\nmax_per_source = 1"
    )
    experiment = tmp_path / "quickstart.toml"
    experiment.write_text(small)
    ledger = (v4_run / "spend.jsonl").read_text()
    assert main(["run", str(experiment), "--out", str(v4_run), "--no-report"]) == 0
    after = json.loads((v4_run / "status.json").read_text())
    assert (after["status"], after["calls"], after["items_complete"]) == ("complete", 0, 32)
    assert (v4_run / "spend.jsonl").read_text() == ledger
    assert "prompts" not in json.loads((v4_run / "experiment.json").read_text())


def test_a_run_of_a_later_schema_is_refused_at_open_saying_to_upgrade(v4_run: Path) -> None:
    # Before: only its records were checked, when read; a file beside them with keys this
    # code does not know (schema 5 added some to the spend ledger) failed first, unexplained.
    meta = json.loads((v4_run / "run.json").read_text())
    (v4_run / "run.json").write_text(json.dumps({**meta, "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(StoreError, match="upgrade oversight to read this run"):
        RunStore.open(v4_run)
