"""Ctrl-C and a closed terminal at a person's prompts inside `oversight run` and
`oversight rejudge`: what was typed is kept, the run stops cleanly, a resume asks only the
rest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.terminal import Terminal, finish, plain, spawn_cli

from .helpers import PAT, PROMPT, judgment_lines, people_run, saved_run, transcript

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


def test_ctrl_c_at_a_person_s_prompts_during_a_run_stops_it_and_keeps_what_was_typed(
    tmp_path: Path,
) -> None:
    exp = people_run(tmp_path, PAT)
    run = tmp_path / "run"

    def spawn() -> Terminal:
        return spawn_cli("run", str(exp), "--out", str(run), "--no-report")

    child = spawn()
    child.expect_exact(PROMPT)
    child.sendline("70 30")
    child.expect_exact("Reason (optional")
    child.sendline("the first")
    child.expect_exact(PROMPT)
    child.sendline("60 40")
    child.expect_exact("Reason (optional")
    child.sendintr()  # one Ctrl-C at the reason prompt: the run stops, the verdict is kept
    screen = " ".join(plain(child.printed.getvalue() + finish(child, status=130)).split())
    assert "Stopped at the reason: your verdict is kept." in screen  # (was: nothing, a wait)
    assert "interrupted; run the same command again to resume" in screen
    lines = judgment_lines(run)
    assert [j["metadata"]["entry"] for j in lines] == ["70 30", "60 40"]  # (was: 60 40 lost)
    assert lines[1]["metadata"]["reason_interrupted"] is True
    assert json.loads((run / "status.json").read_text())["status"] == "interrupted"

    child = spawn()  # Ctrl-C at the probabilities: nothing saved for that item
    child.expect_exact(PROMPT)
    child.sendline("55")  # half-typed (one number of two): explained, asked again
    child.expect_exact("Not accepted")
    child.expect_exact(PROMPT)
    child.sendintr()
    screen = " ".join(plain(child.printed.getvalue() + finish(child, status=130)).split())
    assert "Stopped: nothing is saved for this item; it is asked again" in screen
    assert "HumanInterrupted" not in screen and "error" not in screen
    assert len(judgment_lines(run)) == 2

    child = spawn()  # the resume asks the four items not answered, each once
    for entry in ("A 80", "B 90", "50 50", "0.2 0.8"):
        child.expect_exact(PROMPT)
        child.sendline(entry)
        child.expect_exact("Reason (optional")
        child.sendline("")
    assert "complete: 6 of 6 items done" in " ".join(finish(child).split())
    lines = judgment_lines(run)
    assert [j["metadata"]["entry"] for j in lines] == [
        "70 30",
        "60 40",
        "A 80",
        "B 90",
        "50 50",
        "0.2 0.8",
    ]
    assert len({j["transcript_id"] for j in lines}) == 6 and len({j["id"] for j in lines}) == 6


def test_a_closed_terminal_during_a_run_keeps_the_verdict_and_stops_it_cleanly(
    tmp_path: Path,
) -> None:
    exp = people_run(tmp_path, PAT)
    run = tmp_path / "run"
    child = spawn_cli("run", str(exp), "--out", str(run), "--no-report")
    child.expect_exact(PROMPT)
    child.sendline("60 40")
    child.expect_exact("Reason (optional")
    child.ptyproc.close(force=False)  # the window closes (or the ssh link drops): a hangup
    child.closed = True
    child.wait()
    [kept] = judgment_lines(run)  # (was: the process killed where it stood, the verdict lost)
    assert kept["metadata"]["entry"] == "60 40" and kept["metadata"]["reason_interrupted"]
    assert json.loads((run / "status.json").read_text())["status"] == "interrupted"

    child = spawn_cli("run", str(exp), "--out", str(run), "--no-report")
    for _ in range(5):  # the other five, each once
        child.expect_exact(PROMPT)
        child.sendline("70 30")
        child.expect_exact("Reason (optional")
        child.sendline("")
    finish(child)
    assert len({j["transcript_id"] for j in judgment_lines(run)}) == len(judgment_lines(run)) == 6


def test_ctrl_c_at_an_interactive_fallback_s_prompt_stops_the_run_without_queueing(
    tmp_path: Path,
) -> None:
    exp = people_run(
        tmp_path,
        'name = "weak+pat"\nkind = "fallback"\nendpoint = "mock/weak"\nthreshold = 1.0\n'
        'mode = "interactive"\nannotator = "pat"',
    )
    run = tmp_path / "run"
    child = spawn_cli("run", str(exp), "--out", str(run), "--no-report")
    child.expect_exact(PROMPT)
    child.sendintr()
    screen = " ".join(plain(child.printed.getvalue() + finish(child, status=130)).split())
    assert "nothing is saved for this item" in screen
    assert judgment_lines(run) == []  # (was: the item queued, and the run went on to the next)
    assert not (run / "escalations.jsonl").exists()

    child = spawn_cli("run", str(exp), "--out", str(run), "--no-report")
    for _ in range(6):  # the same command asks every item, the interrupted one included
        child.expect_exact(PROMPT)
        child.sendline("70 30")
        child.expect_exact("Reason (optional")
        child.sendline("")
    finish(child)
    lines = judgment_lines(run)
    assert [j["decided_by"] for j in lines] == ["human"] * 6
    assert len({j["transcript_id"] for j in lines}) == 6


def test_ctrl_c_at_a_person_s_prompts_during_rejudge_keeps_the_verdict_typed(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    saved_run(run, [transcript("t1"), transcript("t2"), transcript("t3")]).close()

    def spawn() -> Terminal:
        return spawn_cli("rejudge", str(run), "--judge", "human:quinn")

    child = spawn()
    child.expect_exact(PROMPT)
    child.sendline("70 30")
    child.expect_exact("Reason (optional")
    child.sendintr()  # one Ctrl-C (was: nothing shown; a second lost the verdict)
    screen = " ".join(plain(child.printed.getvalue() + finish(child, status=130)).split())
    assert "Stopped at the reason: your verdict is kept." in screen
    assert "run the same command again to judge the rest" in screen
    [kept] = judgment_lines(run)
    assert kept["metadata"]["entry"] == "70 30" and kept["metadata"]["reason_interrupted"]

    child = spawn()
    child.expect_exact(PROMPT)
    child.sendintr()
    screen = " ".join(plain(child.printed.getvalue() + finish(child, status=130)).split())
    assert "Stopped: nothing is saved for this item" in screen
    assert len(judgment_lines(run)) == 1

    child = spawn()
    for entry in ("A 60", "B 70"):  # the two not judged, each once
        child.expect_exact(PROMPT)
        child.sendline(entry)
        child.expect_exact("Reason (optional")
        child.sendline("")
    assert "2 new judgment(s) (0 failed), 1 already judged" in " ".join(finish(child).split())
    lines = judgment_lines(run)
    assert [j["metadata"]["entry"] for j in lines] == ["70 30", "A 60", "B 70"]
    assert sorted(j["transcript_id"] for j in lines) == ["t1", "t2", "t3"]
