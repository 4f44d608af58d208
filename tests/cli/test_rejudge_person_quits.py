"""``oversight rejudge --judge human:NAME``: typing ``q`` at the prompt (as it offers) stops the
pass as ``oversight run`` does for a person who quits: what was given is kept and said, and the
same command asks only what is left; not an error."""

from __future__ import annotations

from pathlib import Path

from tests.judges.helpers import PROMPT, judgment_lines, saved_run, transcript
from tests.terminal import Terminal, close, finish, spawn_cli


def test_q_at_a_person_s_prompt_during_rejudge_stops_it_and_keeps_what_was_given(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    saved_run(run, [transcript("t1"), transcript("t2"), transcript("t3")]).close()

    def spawn() -> Terminal:
        return spawn_cli("rejudge", str(run), "--judge", "human:quinn")

    child = spawn()
    try:
        child.expect_exact(PROMPT)
        child.sendline("70 30")
        child.expect_exact("Reason (optional")
        child.sendline("")
        child.expect_exact(PROMPT)
        child.sendline("q")
        # Was: "error: quinn quit" and exit status 1, with no word of the verdict kept.
        screen = " ".join(finish(child, status=130).split())
    finally:
        close(child)
    assert "error" not in screen
    assert "1 new judgment(s) (0 failed), 0 already judged" in screen
    assert "run the same command again to judge the rest" in screen
    assert [j["metadata"]["entry"] for j in judgment_lines(run)] == ["70 30"]

    child = spawn()
    try:
        for entry in ("A 60", "B 70"):  # the two not judged, each once
            child.expect_exact(PROMPT)
            child.sendline(entry)
            child.expect_exact("Reason (optional")
            child.sendline("")
        screen = " ".join(finish(child).split())
    finally:
        close(child)
    assert "2 new judgment(s) (0 failed), 1 already judged" in screen
    assert sorted(j["transcript_id"] for j in judgment_lines(run)) == ["t1", "t2", "t3"]


def test_a_second_person_re_judges_under_the_same_judge_name(tmp_path: Path) -> None:
    """Was refused: "judge name 'human' is already used ... by --judge 'human:quinn'", as if
    rae's judgments would replace quinn's; the report counts each person's apart."""
    from oversight.analysis import analyze

    run = tmp_path / "run"
    saved_run(run, [transcript("t1")]).close()
    for person, entry in (("quinn", "70 30"), ("rae", "B 60")):
        child = spawn_cli("rejudge", str(run), "--judge", f"human:{person}")
        try:
            child.expect_exact(PROMPT)
            child.sendline(entry)
            child.expect_exact("Reason (optional")
            child.sendline("")
            screen = " ".join(finish(child).split())
        finally:
            close(child)
        assert "1 new judgment(s) (0 failed), 0 already judged" in screen
    assert [j["judge"]["annotator"] for j in judgment_lines(run)] == ["quinn", "rae"]
    [group] = analyze(run).groups
    assert group.n == 2  # both people's judgments count
