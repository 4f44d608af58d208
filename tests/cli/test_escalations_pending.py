"""The report's *Escalations* table: ``pending`` is how many escalated items still wait for a
person. An item one person skipped still waits (``oversight judge`` offers it to the next
person), so it stays pending."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.analysis import analyze
from oversight.cli import main
from tests.judges.helpers import PROMPT
from tests.terminal import close, finish, plain, spawn_cli

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.toml"


def test_an_item_a_person_skipped_still_waits_in_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "study"
    assert main(["run", str(QUICKSTART), "--out", str(run), "--no-progress", "--no-report"]) == 0
    assert "55 item(s) wait for a person" in capsys.readouterr().out
    child = spawn_cli("judge", str(run), "--annotator", "alice")
    try:
        for entry, reason in (("70 30", "Reason (optional"), ("s", "Why skip?")):
            child.expect_exact(PROMPT)
            child.sendline(entry)
            child.expect_exact(reason)
            child.sendline("")
        child.expect_exact(PROMPT)
        child.sendline("q")
        assert "1 judged, 1 skipped, 53 left" in " ".join(finish(child).split())
    finally:
        close(child)
    child = spawn_cli("judge", str(run), "--annotator", "bob")
    try:
        child.expect_exact(PROMPT)
        child.sendline("q")
        finish(child)
        waiting = " ".join(plain(child.printed.getvalue()).split())
    finally:
        close(child)
    assert "bob: 54 item(s) to judge" in waiting  # alice's skip is offered to bob
    [fallback] = analyze(run).escalations
    assert (fallback.escalated, fallback.pending) == (55, 54)  # was 53: the skip as decided
