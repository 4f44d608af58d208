"""``oversight judge`` as a person meets it: a real pseudo-terminal, driven with pexpect."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from judges import FallbackJudge
from judges.terminal import SKIP_PROMPT
from tests.terminal import Terminal, close, finish, plain, spawn_cli
from transcripts import JudgeView, RunStore

from .helpers import (
    ANSWERS,
    PAT,
    PROMPT,
    Scripted,
    judgment_lines,
    people_run,
    saved_run,
    transcript,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

ANSWER_LINE = re.compile(
    r"^\s*([A-D])\s+(" + "|".join(re.escape(a) for a in ANSWERS) + r")\s*$", re.M
)


def _spawn(run: Path, *args: str) -> Terminal:
    return spawn_cli("judge", str(run), *args)


def _in_process(run: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> int:
    """``oversight judge RUN ARGS`` in this process, for what needs no terminal (a session
    that ends before its first prompt): a process start less."""
    from oversight.cli import main

    capsys.readouterr()
    return main(["judge", str(run), *args])


def _shown(child: Terminal) -> list[int]:
    """Original answer index at each shown position, read off the screen."""
    screen = plain(child.before)
    block = screen.rsplit("Item ", 1)[-1]
    pairs = ANSWER_LINE.findall(block)
    return [ANSWERS.index(text) for _, text in sorted(pairs)]


def _answer(child: Terminal, entry: str, reason: str) -> list[int]:
    """Wait for the prompt, read the order shown, enter ``entry`` and ``reason``."""
    child.expect_exact(PROMPT)
    shown = _shown(child)
    child.sendline(entry)
    child.expect_exact("Reason (optional")
    child.sendline(reason)
    child.expect_exact("Saved.")
    return shown


def test_a_session_answered_corrected_quit_and_resumed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    saved_run(
        run,
        [transcript("t1"), transcript("t2", n=3, order=[2, 0, 1]), transcript("t3", order=[1, 0])],
    ).close()
    entered: dict[str, list[float]] = {}

    # Session 1: a bad entry is explained and asked again; then q after the first item.
    child = _spawn(run, "--annotator", "alice", "--all")
    child.expect_exact("Item 1 of 3")
    child.expect_exact(PROMPT)
    shown = _shown(child)
    child.sendline("80 30")
    child.expect_exact("they must add up to 100")
    child.expect_exact(PROMPT)
    child.sendline("70 30")
    child.expect_exact("Reason (optional")
    child.sendline("the ledger quote is verified")
    child.expect_exact("Saved.")
    entered["t1"] = [0.0, 0.0]
    entered["t1"][shown[0]], entered["t1"][shown[1]] = 0.7, 0.3
    child.expect_exact("Item 2 of 3")
    child.expect_exact(PROMPT)
    child.sendline("q")
    assert "1 judged, 0 skipped, 2 left" in finish(child)
    [first] = judgment_lines(run)
    assert first["transcript_id"] == "t1"
    assert first["probabilities"] == pytest.approx(entered["t1"])
    assert first["rationale"] == "the ledger quote is verified"
    assert first["judge"] == {"kind": "human", "name": "human", "model": None, "annotator": "alice"}
    assert first["metadata"]["entry"] == "70 30"
    assert first["metadata"]["presented_order"] == shown

    # Session 2 resumes at the next item, numbered as before; a letter and confidence;
    # then Ctrl-C.
    child = _spawn(run, "--annotator", "alice", "--all")
    child.expect_exact("(1 of 3 done)")
    child.expect_exact("Item 2 of 3")
    shown = _answer(child, "B 60", "")
    assert len(shown) == 3
    entered["t2"] = [0.2, 0.2, 0.2]
    entered["t2"][shown[1]] = 0.6
    child.expect_exact("Item 3 of 3")
    child.expect_exact(PROMPT)
    child.sendintr()
    assert "everything saved so far is kept" in finish(child, status=130)
    assert [j["transcript_id"] for j in judgment_lines(run)] == ["t1", "t2"]

    # Session 3: the person skips the last item; it is not offered again...
    child = _spawn(run, "--annotator", "alice", "--all")
    child.expect_exact("Item 3 of 3")
    child.expect_exact(PROMPT)
    child.sendline("s")
    child.expect_exact(SKIP_PROMPT)
    child.sendline("the speeches contradict each other")
    child.expect_exact("Skipped")
    assert "0 judged, 1 skipped, 0 left" in finish(child)
    assert judgment_lines(run)[-1]["rationale"] == "the speeches contradict each other"
    assert _in_process(run, "--annotator", "alice", "--all", capsys=capsys) == 0
    assert "Nothing to judge for alice" in capsys.readouterr().out  # no terminal needed

    # ...unless asked for.
    child = _spawn(run, "--annotator", "alice", "--all", "--include-skipped")
    child.expect_exact("Item 3 of 3")
    shown = _answer(child, "0.25 0.75", "changed my mind")
    entered["t3"] = [0.0, 0.0]
    entered["t3"][shown[0]], entered["t3"][shown[1]] = 0.25, 0.75
    finish(child)

    lines = judgment_lines(run)
    assert [(j["transcript_id"], j["status"]) for j in lines] == [
        ("t1", "ok"),
        ("t2", "ok"),
        ("t3", "skipped"),
        ("t3", "ok"),
    ]
    ok = {j["transcript_id"]: j for j in lines if j["status"] == "ok"}
    for tid, probabilities in entered.items():
        assert ok[tid]["probabilities"] == pytest.approx(probabilities)
        assert ok[tid]["time_s"] >= 0
    assert ok["t2"]["metadata"]["entry"] == "B 60"
    assert len({j["id"] for j in lines}) == 4


def test_a_killed_session_loses_nothing_and_a_closed_input_keeps_the_verdict(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    saved_run(run, [transcript("t1"), transcript("t2"), transcript("t3")]).close()
    child = _spawn(run, "--annotator", "bob", "--all")
    _answer(child, "A 90", "")
    child.expect_exact(PROMPT)
    child.sendline("60 40")
    child.expect_exact("Reason (optional")
    child.kill(9)  # killed mid-item, before the verdict was complete
    close(child)
    assert [j["transcript_id"] for j in judgment_lines(run)] == ["t1"]

    child = _spawn(run, "--annotator", "bob", "--all")
    child.expect_exact("Item 2 of 3")  # the unfinished item again, at its own number
    child.expect_exact(PROMPT)
    child.sendline("60 40")
    child.expect_exact("Reason (optional")
    child.sendeof()  # the input ends at the reason prompt: the verdict typed is kept
    out = finish(child)
    assert "your verdict is kept" in out and "1 judged, 0 skipped, 1 left" in out
    lines = judgment_lines(run)
    assert [j["transcript_id"] for j in lines] == ["t1", "t2"]
    assert lines[1]["metadata"]["reason_interrupted"] is True

    child = _spawn(run, "--annotator", "bob", "--all")
    child.expect_exact("Item 3 of 3")
    child.expect_exact(PROMPT)
    child.sendline("B 70")
    child.expect_exact("Reason (optional")
    child.sendintr()  # Ctrl-C at the reason prompt: kept too, and the exit says so
    assert "everything saved so far is kept" in finish(child, status=130)
    assert [j["transcript_id"] for j in judgment_lines(run)] == ["t1", "t2", "t3"]


def test_closing_the_terminal_at_the_reason_prompt_keeps_the_verdict(tmp_path: Path) -> None:
    run = tmp_path / "run"
    saved_run(run, [transcript("t1"), transcript("t2")]).close()
    child = _spawn(run, "--annotator", "fay", "--all")
    _answer(child, "A 90", "")
    child.expect_exact(PROMPT)
    child.sendline("60 40")
    child.expect_exact("Reason (optional")
    child.ptyproc.close(force=False)  # the window closes (or the ssh link drops): a hangup
    child.closed = True
    child.wait()
    lines = judgment_lines(run)
    assert [j["transcript_id"] for j in lines] == ["t1", "t2"]  # (was: t2 lost)
    assert lines[1]["metadata"]["reason_interrupted"] is True
    assert lines[1]["metadata"]["entry"] == "60 40"

    child = _spawn(run, "--annotator", "fay", "--all")
    assert "Nothing to judge for fay" in finish(child)


def test_q_during_a_run_stops_the_person_and_a_resume_asks_again(tmp_path: Path) -> None:
    exp = people_run(tmp_path, PAT)
    run = tmp_path / "run"
    child = spawn_cli("run", str(exp), "--out", str(run), "--no-report")
    child.expect_exact(PROMPT)
    child.sendline("q")  # (was: a failed judgment saved, never asked again, the next item shown)
    finish(child, status=130)
    assert [j for j in judgment_lines(run) if j["judge"]["name"] == "pat"] == []

    child = spawn_cli("run", str(exp), "--out", str(run), "--no-report")  # the same command
    child.expect_exact(PROMPT)
    child.sendline("70 30")
    child.expect_exact("Reason (optional")
    child.sendline("")
    child.expect_exact(PROMPT)
    child.sendeof()  # a closed input stops as q does
    finish(child, status=130)
    assert [j["status"] for j in judgment_lines(run) if j["judge"]["name"] == "pat"] == ["ok"]


def test_a_skip_during_a_run_is_the_person_s_answer_not_a_failure(tmp_path: Path) -> None:
    exp = people_run(tmp_path, PAT, questions=2)
    run = tmp_path / "run"
    child = spawn_cli("run", str(exp), "--out", str(run), "--no-report")
    child.expect_exact(PROMPT)
    child.sendline("s")
    child.expect_exact(SKIP_PROMPT)
    child.sendline("")
    child.expect_exact(PROMPT)
    child.sendline("q")
    out = " ".join(finish(child, status=130).split())
    assert "(1 failed)" not in out and "judge pat: None" not in out  # (was both)
    [skipped] = judgment_lines(run)
    assert skipped["status"] == "skipped"

    child = spawn_cli("run", str(exp), "--out", str(run), "--no-report")
    for _ in range(3):  # the other three items; the skipped one is not asked again
        child.expect_exact(PROMPT)
        child.sendline("60 40")
        child.expect_exact("Reason (optional")
        child.sendline("")
    out = " ".join(finish(child).split())
    assert "complete: 4 of 4 items done" in out and "3 new judgments (0 failed)" in out
    lines = judgment_lines(run)
    assert [j["status"] for j in lines] == ["skipped", "ok", "ok", "ok"]
    assert len({j["transcript_id"] for j in lines}) == 4


def test_the_name_is_asked_when_not_given(tmp_path: Path) -> None:
    run = tmp_path / "run"
    saved_run(run, [transcript("t1")]).close()
    child = _spawn(run, "--all")
    child.expect_exact("Your name")
    child.sendline("")
    child.expect_exact("Your name")
    child.sendline("carol")
    _answer(child, "50 50", "")
    finish(child)
    assert judgment_lines(run)[0]["judge"]["annotator"] == "carol"


def test_a_name_typed_with_spaces_is_the_same_person(tmp_path: Path) -> None:
    run = tmp_path / "run"
    saved_run(run, [transcript("t1"), transcript("t2")]).close()
    child = _spawn(run, "--annotator", "erin ", "--all")  # as a script's "$NAME " passes it
    _answer(child, "70 30", "")
    child.expect_exact(PROMPT)
    child.sendline("q")
    finish(child)
    child = _spawn(run, "--annotator", "erin ", "--all")  # the same command, to resume
    child.expect_exact("(1 of 2 done)")  # t1 is not served again
    child.expect_exact("Item 2 of 2")
    _answer(child, "40 60", "")
    finish(child)
    lines = judgment_lines(run)
    assert [(j["transcript_id"], j["judge"]["annotator"]) for j in lines] == [
        ("t1", "erin"),
        ("t2", "erin"),
    ]


async def test_the_escalation_queue_is_served_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    store = saved_run(run, [transcript("t1"), transcript("t2"), transcript("t3")])
    judge = FallbackJudge(
        Scripted("weak", [[0.6, 0.4], [0.9, 0.1], [0.55, 0.45]]),
        threshold=0.7,
        store=store,
        name="weak+human",
    )
    for tid in ("t1", "t2", "t3"):
        store.judgments.append(await judge.judge(JudgeView.from_transcript(transcript(tid))))
    store.close()

    child = _spawn(run, "--annotator", "dana")  # the queue only, by default
    child.expect_exact("2 item(s) to judge")
    shown = _answer(child, "10 90", "invented quote")
    child.expect_exact("Item 2 of 2")
    child.expect_exact(PROMPT)
    child.sendline("q")
    finish(child)

    child = _spawn(run, "--annotator", "dana")
    child.expect_exact("Item 2 of 2")  # numbered as in the first session
    _answer(child, "A 70", "")
    finish(child)
    assert _in_process(run, "--annotator", "dana", capsys=capsys) == 0
    assert "the queue is empty" in capsys.readouterr().out  # no terminal needed

    lines = judgment_lines(run)
    finals = [j for j in lines if j["decided_by"] == "human"]
    assert [j["transcript_id"] for j in finals] == ["t1", "t3"]
    assert len(lines) == 5
    t1 = finals[0]
    assert t1["judge"]["name"] == "weak+human"
    assert t1["probabilities"][shown[1]] == pytest.approx(0.9)
    assert [c["judge"]["kind"] for c in t1["components"]] == ["llm", "human"]
    provisional = next(j for j in lines if j["transcript_id"] == "t1" and j["decided_by"] == "llm")
    assert t1["supersedes"] == provisional["id"]
    assert RunStore.open(run).escalations.path.read_text().count("\n") == 2
