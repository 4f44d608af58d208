"""The report's *Escalations* table: ``pending`` is how many escalated items still wait for a
person. An item one person skipped still waits (``oversight judge`` offers it to the next
person), so it stays pending; so does an item whose person's judgment failed. The session and
the report read one rule (:func:`transcripts.final.resolved_escalation_ids`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oversight.analysis import analyze
from oversight.cli import main
from tests.conftest import Quickstart
from tests.judges.helpers import PROMPT
from tests.terminal import close, finish, plain, spawn_cli
from transcripts import JudgeIdentity, Judgment, RunStore


def test_an_item_a_person_skipped_still_waits_in_the_report(
    quickstart_once: Quickstart, quickstart_run: Path
) -> None:
    run = quickstart_run
    assert "55 item(s) wait for a person" in quickstart_once.printed
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


def test_a_failed_judgment_of_a_queued_item_decides_nothing(
    quickstart_once: Quickstart, quickstart_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A person's judgment that failed (here recorded through the store's API, as a tool that
    lost the person's answer would) names the item but decides nothing: ``oversight judge``
    offers it again, to that person too, and the report counts it as pending."""
    run = quickstart_run
    assert "55 item(s) wait for a person" in quickstart_once.printed
    store = RunStore.open(run)
    first = next(iter(store.escalations.latest()))
    store.judgments.append(
        Judgment(
            transcript_id=first.transcript_id,
            run_id=store.run_id,
            judge=JudgeIdentity(kind="human", name="human", annotator="carol"),
            status="failed",
            error="the annotation page closed before the answer was sent",
            rounds_seen=first.rounds,
            escalated_from=first.id,
            escalation_id=first.id,
        )
    )
    store.close()
    child = spawn_cli("judge", str(run), "--annotator", "carol")
    try:
        child.expect_exact(PROMPT)
        child.sendline("q")
        finish(child)
        screen = " ".join(plain(child.printed.getvalue()).split())
    finally:
        close(child)
    assert "carol: 55 item(s) to judge" in screen
    assert "Item 1 of 55" in screen
    assert main(["report", str(run), "--json"]) == 0
    [fallback] = json.loads(capsys.readouterr().out)["escalations"]
    assert (fallback["escalated"], fallback["pending"]) == (55, 55)  # was 54: failed as decided
