"""A run written by the previous stored format (schema_version 3) stays readable.

``tests/data/runs/v3-critique-rrm`` is ``examples/critique_rrm.toml``'s run on two of its
questions (``limit = 2``, ``max_per_source = 1``) exactly as oversight wrote it with
schema_version 3 (its response cache and SQLite indexes left out). Schema 4 added
``CritiqueRating.claims_flaw``: a version-3 rating of an answer known to be good cannot say
whether its critique claimed a flaw, so it scores no critique accuracy (C); everything else
reads, reports and resumes as it was.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from oversight.cli import main
from transcripts import SCHEMA_VERSION, RunStore

V3_RUN = Path(__file__).parents[1] / "data" / "runs" / "v3-critique-rrm"
EXAMPLE = Path(__file__).parents[2] / "examples" / "critique_rrm.toml"


@pytest.fixture
def v3_run(tmp_path: Path) -> Path:
    copy = tmp_path / "v3"
    shutil.copytree(V3_RUN, copy)
    return copy


def _journals(run: Path) -> list[str]:
    return sorted(p.name for p in run.iterdir() if p.name.endswith(("-wal", "-shm")))


def test_the_fixture_is_a_version_3_run_and_this_code_writes_a_later_one() -> None:
    assert json.loads((V3_RUN / "run.json").read_text())["schema_version"] == 3
    lines = (V3_RUN / "transcripts.jsonl").read_text().splitlines()
    assert {json.loads(line)["schema_version"] for line in lines} == {3}
    assert SCHEMA_VERSION > 3


def test_every_v3_record_reads_and_its_ratings_claim_nothing(v3_run: Path) -> None:
    with RunStore.open(v3_run) as store:
        transcripts = list(store.transcripts.latest())
        assert (len(transcripts), len(list(store.judgments.latest()))) == (40, 44)
    ratings = [r for t in transcripts if t.critique for r in t.critique.ratings]
    assert ratings and all(r.claims_flaw is None for r in ratings)


def test_gdc_scores_critiques_of_flawed_answers_only_from_v3_ratings(
    v3_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["gdc", str(v3_run), "--json"]) == 0
    [stats] = json.loads(capsys.readouterr().out)
    assert (stats["items"], stats["flawed"], stats["critique"]["n"]) == (8, 4, 4)
    assert stats["critique"]["value"] == stats["critique_flawed"]["value"]
    assert stats["unscored_good"] > 0  # the ratings of good answers that score no C, counted
    assert _journals(v3_run) == []  # gdc closed the store (it left the index's -wal file)
    assert main(["gdc", str(v3_run)]) == 0  # and the table says what to do about them
    printed = " ".join(capsys.readouterr().out.split())
    assert f"{stats['unscored_good']} key-reading rating(s) of answers known to be good" in printed
    assert "re-grade them with oversight rate --with-key" in printed
    assert main(["report", str(v3_run), "--json"]) == 0
    assert sum(g["n"] for g in json.loads(capsys.readouterr().out)["groups"]) > 0


def test_a_finished_v3_run_resumes_with_nothing_sent(tmp_path: Path, v3_run: Path) -> None:
    small = EXAMPLE.read_text().replace("\nlimit = 8\n", "\nlimit = 2\n")
    small = small.replace("\nmax_per_source = 2 ", "\nmax_per_source = 1 ")
    experiment = tmp_path / "critique_rrm.toml"
    experiment.write_text(small)
    ledger = (v3_run / "spend.jsonl").read_text()
    assert main(["run", str(experiment), "--out", str(v3_run), "--no-report"]) == 0
    after = json.loads((v3_run / "status.json").read_text())
    assert (after["status"], after["calls"], after["items_complete"]) == ("complete", 0, 40)
    assert (v3_run / "spend.jsonl").read_text() == ledger
