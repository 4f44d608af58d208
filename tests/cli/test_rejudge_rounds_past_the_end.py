"""``oversight rejudge --rounds``: a K past a transcript's last round shows the judge the
same, whole transcript as its own number of rounds does; it is judged once, filed at the
rounds the judge saw, not once per K under rounds it never saw."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.cli import main


def test_rounds_past_a_transcript_s_end_are_judged_once_at_the_rounds_shown(
    quickstart_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = quickstart_run  # the quickstart run, this test's copy
    rejudge = ["rejudge", str(run), "--judge", "llm:mock/second-opinion", "--rounds", "1,2,3"]
    rejudge += ["--condition", "debate", "--condition", "unassisted"]  # 2 rounds and none

    assert main(rejudge) == 0
    out = " ".join(capsys.readouterr().out.split())
    # Was: 72 judgments, 12 per K, the 3-round ones and all of unassisted's of views the
    # judge had already judged, and the report's rounds split at random between them.
    assert "36 new judgment(s) (0 failed), 0 already judged" in out
    assert "debate │ 1 │ 12 │" in out and "debate │ 2 │ 12 │" in out
    assert "unassisted │ 0 │ 12 │" in out
    assert "│ 3 │" not in out and "unassisted │ 1 │" not in out
    new = [
        json.loads(line)
        for line in (run / "judgments.jsonl").read_text().splitlines()
        if json.loads(line)["metadata"].get("rejudge")
    ]
    assert all(j["metadata"]["rounds"] == j["rounds_seen"] for j in new)

    assert main(rejudge) == 0  # the same command again: nothing left to judge
    assert "0 new judgment(s) (0 failed), 36 already judged" in capsys.readouterr().out

    where = ["--where", "judge=mock/second-opinion", "--by", "condition,rounds"]
    assert main(["report", str(run), *where]) == 0
    report = capsys.readouterr().out
    assert [row.split()[:3] for row in report.splitlines() if " 12 " in row][:3] == [
        ["unassisted", "0", "12"],
        ["debate", "1", "12"],
        ["debate", "2", "12"],
    ]


def test_a_filter_that_selects_nothing_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A value no transcript has (a typo: source=lighthous) selected nothing and said only
    "0 new judgment(s)"; now it says nothing matched, and how to see what the filter picks."""
    from tests.judges.helpers import saved_run, transcript

    run = tmp_path / "run"
    saved_run(run, [transcript("t1")]).close()
    command = ["rejudge", str(run), "--judge", "llm:mock/j", "--where", "source=story-8"]
    assert main(command) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "no complete transcript matches --where source=story-8" in out
    assert f"oversight show {run} --where source=story-8" in out


def test_the_show_command_it_names_can_be_pasted_into_a_shell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A value with a space was printed bare (``--where source=Old Man``): pasted, the shell
    split it and ``show`` refused ``Man``. Each word is now quoted as the shell needs."""
    import shlex

    from tests.judges.helpers import saved_run, transcript

    run = tmp_path / "my run"
    saved_run(run, [transcript("t1")]).close()
    command = ["rejudge", str(run), "--judge", "llm:mock/j", "--where", "source=Old Man"]
    assert main(command) == 0
    out = " ".join(capsys.readouterr().out.split())
    listed = out[out.index("`") + 1 : out.rindex("`")]
    assert shlex.split(listed) == ["oversight", "show", str(run), "--where", "source=Old Man"]
