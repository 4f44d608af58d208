"""``oversight show RUN``'s judgments column counts as the report and the export count."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.cli import main
from transcripts import RunStore
from transcripts.export import judgment_rows

from ..transcripts.factories import debate, judgment


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """One transcript judged three times: a failed judgment the same judge's later one
    replaced (a re-judging run again), and a judgment of the first round only."""
    store = RunStore.create(tmp_path / "run")
    store.transcripts.append(debate(id="t1"))
    store.judgments.append(
        judgment(id="j1", status="failed", probabilities=None, error="timed out")
    )
    store.judgments.append(judgment(id="j2"))
    store.judgments.append(judgment(id="j3", rounds_seen=1))
    store.close()
    return tmp_path / "run"


def _row(out: str, transcript_id: str) -> list[str]:
    line = next(line for line in out.splitlines() if f"│ {transcript_id} " in line)
    return [cell.strip() for cell in line.split("│")[1:-1]]


@pytest.mark.parametrize("where", [[], ["--where", "source=story-7"]])
def test_the_judgments_column_says_how_many_the_report_does_not_count(
    run: Path, where: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    counted = [r for r in judgment_rows(run) if r["counted"]]
    assert len(counted) == 2  # what the report scores: j2 and j3, not the replaced j1
    assert main(["show", str(run), *where]) == 0
    out = capsys.readouterr().out
    assert _row(out, "t1")[6] == "3 (1 not counted)"
    said = " ".join(out.split())
    assert "not counted: the report leaves" in said and "`oversight show RUN ID` says why" in said


def test_a_fully_counted_transcript_shows_its_count_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore.create(tmp_path / "run")
    store.transcripts.append(debate(id="t1"))
    store.judgments.append(judgment(id="j2"))
    store.close()
    assert main(["show", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert _row(out, "t1")[6] == "1" and "not counted" not in out


def test_show_one_says_why_a_judgment_is_not_counted(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", str(run), "t1"]) == 0
    out = capsys.readouterr().out
    reasons = {r["judgment_id"]: r["not_counted"] for r in judgment_rows(run)}
    assert reasons == {"j1": "replaced by j2", "j2": None, "j3": None}
    assert "not counted: replaced by j2" in out
    assert out.count("not counted") == 1


def test_every_row_of_a_long_list_shows_its_own_judgments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``show RUN --limit 0`` reads the listed rows' judgments a few hundred rows at a time
    (it made one index query a row): each row still shows its own count, across the
    boundaries between those reads."""
    store = RunStore.create(tmp_path / "run")
    ids = [f"t{i:04d}" for i in range(1001)]
    store.transcripts.extend(debate(id=tid) for tid in ids)  # the lines appends would write
    judged = {tid: i % 3 for i, tid in enumerate(ids)}
    store.judgments.extend(
        judgment(tid, id=f"j-{tid}-{k}", rounds_seen=k + 1)
        for tid, n in judged.items()
        for k in range(n)
    )
    store.close()
    assert main(["show", str(tmp_path / "run"), "--limit", "0"]) == 0
    out = capsys.readouterr().out
    assert {tid: _row(out, tid)[6] for tid in ids} == {t: str(n) for t, n in judged.items()}
    assert "1001 transcript(s)" in out
