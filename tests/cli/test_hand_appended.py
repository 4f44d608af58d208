"""A record appended to a run's log by hand, without its final newline: every command sees
it, read-only ones and writers alike, before and after the next append ends its line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from oversight.cli import main
from transcripts import RunStore, TornRecordWarning

from ..transcripts.factories import debate, judgment


def _seen(run: Path, capsys: pytest.CaptureFixture[str], out: Path) -> tuple[str, str, int]:
    """t2's judgments cell in ``show``, the report's count line, and the export's rows."""
    assert main(["show", str(run)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "│ t2 " in line)
    assert main(["report", str(run)]) == 0
    counts = next(line for line in capsys.readouterr().out.splitlines() if "judgments:" in line)
    assert main(["export", str(run), "--out", str(out)]) == 0
    capsys.readouterr()
    with open(out, newline="") as f:
        exported = len(list(csv.DictReader(f)))
    return row.split("│")[7].strip(), counts, exported


@pytest.mark.filterwarnings("ignore::transcripts.TornRecordWarning")
def test_show_report_and_export_see_a_record_appended_without_its_newline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    store = RunStore.create(run)
    store.transcripts.append(debate(id="t1"))
    store.transcripts.append(debate(id="t2"))
    store.judgments.append(judgment(id="j0", transcript_id="t1"))
    store.close()
    with open(run / "judgments.jsonl", "a") as f:
        f.write(judgment(id="by-hand", transcript_id="t2").model_dump_json())

    before = _seen(run, capsys, tmp_path / "before.csv")
    assert before[0] == "1" and "2 judgments: 2 scored" in before[1] and before[2] == 2
    store = RunStore.open(run)
    with pytest.warns(TornRecordWarning, match="newline was added"):
        store.judgments.append(judgment(id="j1", transcript_id="t1", rounds_seen=1))
    store.close()
    after = _seen(run, capsys, tmp_path / "after.csv")
    assert after[0] == "1" and "3 judgments: 3 scored" in after[1] and after[2] == 3
