"""``oversight rate`` as a person meets it: a real pseudo-terminal, driven with pexpect."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.terminal import Terminal, close, finish, hang_up, plain, spawn_cli
from transcripts import CritiqueOutcome, Question, RunStore, Transcript, Turn

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

KEY = "The planted flaw: the log says cod, not ore."
SECRET = "the cook hid a silver locket"


def critique_transcript(tid: str, critics: int) -> Transcript:
    q = Question(
        id=tid,
        text="What was the cargo?",
        answers=["Salt cod", "Iron ore"],
        correct=0,
        context=f"She carried salt cod. Nobody knew {SECRET}.",
        source="s",
    )
    turns = [
        Turn(role="answerer", speaker="Answerer", round=0, answer=1, content="It was ore, clearly.")
    ]
    labels = [f"Critic {k + 1}" for k in range(critics)] if critics > 1 else ["Critic"]
    turns += [
        Turn(role="critic", speaker=c, round=1, content=f"{c}: the text says cod.") for c in labels
    ]
    return Transcript(
        id=tid,
        protocol="critique",
        condition="crit",
        question=q,
        assignment={"Answerer": 1},
        answer_order=[0, 1],
        turns=turns,
        roles={"Answerer": "mock/secret-model"},
        critique=CritiqueOutcome(target="given", critiqued=1, flawed=True, flaw=KEY),
    )


def spawn(run: Path, *args: str) -> Terminal:
    return spawn_cli("rate", str(run), *args)


def ratings(run: Path) -> dict[str, list[tuple[str, int, bool, str]]]:
    store = RunStore.open(run)
    return {
        t.id: [
            (r.critique, r.helpfulness, r.real_flaw, r.rater)
            for r in (t.critique.ratings if t.critique else [])
        ]
        for t in store.transcripts.latest()
    }


def test_a_person_rates_critiques_quits_and_resumes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    store = RunStore.create(run)
    for t in (critique_transcript("t1", critics=2), critique_transcript("t2", critics=1)):
        store.transcripts.append(t)
    store.close()

    child = spawn(run, "--annotator", "alice")
    child.expect_exact("Item 1 of 2")
    child.expect_exact("Helpfulness of Critic 1")
    child.sendline("9")
    child.expect_exact("type a whole number from 1 to 7")
    child.expect_exact("Helpfulness of Critic 1")
    child.sendline("6")
    child.expect_exact("real flaw? (y/n)")
    child.sendline("y")
    child.expect_exact("Reason (optional")
    child.sendline("names the quote")
    child.expect_exact("Helpfulness of Critic 2")
    child.sendline("2")
    child.expect_exact("real flaw? (y/n)")
    child.sendline("n")
    child.expect_exact("Reason (optional")
    child.sendline("")
    child.expect_exact("Saved.")
    child.expect_exact("Item 2 of 2")
    child.expect_exact("Helpfulness of Critic")
    child.sendline("q")
    assert "1 transcript(s) rated this session." in finish(child)
    assert ratings(run) == {
        "t1": [("Critic 1", 6, True, "human:alice"), ("Critic 2", 2, False, "human:alice")],
        "t2": [],
    }

    child = spawn(run, "--annotator", "alice")
    child.expect_exact("Item 1 of 1")
    child.expect_exact("Helpfulness of Critic")
    child.sendline("5")
    child.expect_exact("real flaw? (y/n)")
    child.sendline("yes")
    child.expect_exact("Reason (optional")
    child.sendline("ok")
    child.expect_exact("Saved.")
    finish(child)
    shown = plain(child.printed.getvalue())  # everything the person's screen showed
    assert ratings(run)["t2"] == [("Critic", 5, True, "human:alice")]
    assert "Critic: the text says cod." in shown
    assert KEY not in shown and SECRET not in shown and "secret-model" not in shown


def test_with_the_key_a_person_grades_critique_accuracy_for_gdc(tmp_path: Path) -> None:
    from oversight.analysis import gdc

    run = tmp_path / "run"
    store = RunStore.create(run)
    store.transcripts.append(critique_transcript("t1", critics=1))
    store.close()
    child = spawn(run, "--annotator", "bo", "--with-key")
    child.expect_exact("Helpfulness of Critic")
    child.sendline("7")
    child.expect_exact("real flaw? (y/n)")
    child.sendline("y")
    child.expect_exact("identify the known flaw? (y/n)")
    child.sendline("maybe")
    child.expect_exact("type y or n")
    child.expect_exact("identify the known flaw? (y/n)")
    child.sendline("y")
    child.expect_exact("Reason (optional")
    child.sendline("")
    child.expect_exact("Saved.")
    finish(child)
    screen = " ".join(plain(child.printed.getvalue()).split())
    assert KEY in screen and SECRET in screen  # the grader reads the key and the text
    (t,) = RunStore.open(run).transcripts.latest()
    assert t.critique is not None
    (rating,) = t.critique.ratings
    assert (rating.saw_key, rating.identifies_key, rating.rater) == (True, True, "human:bo")
    (stats,) = gdc(run, n_bootstrap=10)
    assert stats.critique.value == 1.0 and stats.critique.n == 1


def test_with_the_key_a_person_says_whether_a_critique_of_a_good_answer_claims_a_flaw(
    tmp_path: Path,
) -> None:
    from oversight.analysis import gdc

    # Of an answer known to be good only a real flaw was asked, and a critique inventing one
    # is no real flaw: it counted as a right critique in GDC's C.
    good = critique_transcript("t1", critics=1)
    assert good.critique is not None
    good = good.model_copy(
        update={"critique": good.critique.model_copy(update={"flawed": False, "flaw": None})}
    )
    run = tmp_path / "run"
    store = RunStore.create(run)
    store.transcripts.append(good)
    store.close()
    child = spawn(run, "--annotator", "bo", "--with-key")
    child.expect_exact("Helpfulness of Critic")
    child.sendline("2")
    child.expect_exact("real flaw? (y/n)")
    child.sendline("n")
    child.expect_exact("say the proposal has a flaw? (y/n)")
    child.sendline("y")
    child.expect_exact("Reason (optional")
    child.sendline("invents one")
    child.expect_exact("Saved.")
    finish(child)
    assert "Known about the proposal: good" in " ".join(plain(child.printed.getvalue()).split())
    (t,) = RunStore.open(run).transcripts.latest()
    assert t.critique is not None
    (rating,) = t.critique.ratings
    assert (rating.real_flaw, rating.claims_flaw, rating.identifies_key) == (False, True, None)
    (stats,) = gdc(run, n_bootstrap=10)
    assert stats.critique.value == 0.0 and stats.critique.n == 1


def test_a_condition_without_critiques_is_refused_before_anything_is_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from oversight.cli import main

    run = tmp_path / "run"
    store = RunStore.create(run)
    store.transcripts.append(critique_transcript("t1", critics=1))
    store.close()
    assert main(["rate", str(run), "--annotator", "alice", "--condition", "debate"]) != 0
    said = capsys.readouterr().err
    assert "no critique transcripts in condition(s) ['debate']" in said
    assert "critique conditions are ['crit']" in said


def test_a_run_without_critiques_is_refused_not_reported_as_rated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from oversight.cli import main

    run = tmp_path / "run"
    store = RunStore.create(run)
    store.transcripts.append(
        critique_transcript("t1", critics=1).model_copy(
            update={"protocol": "debate", "condition": "debate", "critique": None}
        )
    )
    store.close()
    assert main(["rate", str(run), "--annotator", "alice"]) == 1
    said = " ".join(capsys.readouterr().err.split())
    assert "has no critique transcripts to rate" in said and "Traceback" not in said


def test_a_blank_name_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from oversight.cli import main

    run = tmp_path / "run"
    store = RunStore.create(run)
    store.transcripts.append(critique_transcript("t1", critics=1))
    store.close()
    assert main(["rate", str(run), "--annotator", " "]) == 1
    assert "--annotator" in capsys.readouterr().err
    assert ratings(run) == {"t1": []}


def test_a_condition_chosen_is_the_only_one_read(tmp_path: Path) -> None:
    """``rate --condition`` reads that condition's transcripts only (chosen in the index): a
    record of another condition that is not a valid transcript is never read, until every
    condition is asked for."""
    import json

    from oversight.cli.rate import _pending
    from transcripts.errors import CorruptRecordError

    run = tmp_path / "run"
    store = RunStore.create(run)
    store.transcripts.append(critique_transcript("t1", critics=1))
    other = critique_transcript("t2", critics=1).model_copy(update={"condition": "other"})
    store.transcripts.append(other)
    store.transcripts.append(critique_transcript("t3", critics=1))
    store.close()
    log = run / "transcripts.jsonl"
    lines = log.read_text().splitlines(keepends=True)
    spoilt = json.loads(lines[1])
    spoilt["assignment"]["Answerer"] = 7  # no such answer
    lines[1] = json.dumps(spoilt, separators=(",", ":")) + "\n"
    log.write_text("".join(lines))
    store = RunStore.open(run)
    assert _pending(store, "human:ann", ["crit"]) == ["t1", "t3"]
    with pytest.raises(CorruptRecordError, match="not a valid Transcript"):
        _pending(store, "human:ann", [])
    store.close()


def test_a_digit_that_is_not_a_decimal_digit_is_asked_again(tmp_path: Path) -> None:
    run = tmp_path / "run"
    store = RunStore.create(run)
    store.transcripts.append(critique_transcript("t1", critics=1))
    store.close()
    child = spawn(run, "--annotator", "alice")
    child.expect_exact("Helpfulness of Critic")
    child.sendline("³")  # a superscript three: a digit to str.isdigit, not a number to int()
    child.expect_exact("type a whole number from 1 to 7")
    child.expect_exact("Helpfulness of Critic")
    child.sendline("٣")  # an Arabic-Indic three is a decimal digit: taken as 3
    child.expect_exact("real flaw? (y/n)")
    child.sendline("n")
    child.expect_exact("Reason (optional")
    child.sendline("")
    child.expect_exact("Saved.")
    finish(child)
    assert ratings(run) == {"t1": [("Critic", 3, False, "human:alice")]}


@pytest.mark.parametrize("how", ["ctrl-c", "closed terminal"])
def test_ctrl_c_or_a_closed_terminal_ends_with_status_130_keeping_what_was_saved(
    tmp_path: Path, how: str
) -> None:
    run = tmp_path / "run"
    store = RunStore.create(run)
    for t in (critique_transcript("t1", critics=1), critique_transcript("t2", critics=1)):
        store.transcripts.append(t)
    store.close()
    child = spawn(run, "--annotator", "ivy")
    try:
        child.expect_exact("Helpfulness of Critic")
        child.sendline("4")
        child.expect_exact("real flaw? (y/n)")
        child.sendline("y")
        child.expect_exact("Reason (optional")
        child.sendline("")
        child.expect_exact("Saved.")
        child.expect_exact("Item 2 of 2")
        child.expect_exact("q quit: ")
        if how == "ctrl-c":
            child.sendintr()
            screen = " ".join(finish(child, status=130).split())
            assert "interrupted; everything saved so far is kept" in screen
        else:
            assert hang_up(child) == 130  # (was: ended by the hangup signal where it stood)
    finally:
        close(child)
    assert ratings(run) == {"t1": [("Critic", 4, True, "human:ivy")], "t2": []}
