"""``oversight judge --rounds K``: it cuts the transcripts ``--all`` adds; a queued item is
shown with the rounds its automatic judge saw. Given without ``--all`` it cut nothing and
said nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.cli import main
from tests.judges.helpers import judgment_lines, saved_run, transcript


def test_rounds_without_all_is_refused_saying_what_it_applies_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    saved_run(run, [transcript("t1")]).close()
    assert main(["judge", str(run), "--annotator", "ann", "--rounds", "1"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "--rounds 1 applies to the transcripts --all adds" in err
    assert "a queued item is shown with the rounds its automatic judge saw" in err
    assert judgment_lines(run) == []
