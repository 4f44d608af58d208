"""A between-subjects study with two annotators in two terminals on one run (pexpect).

Checks what the study is for: nobody meets a question twice, every transcript gets its
target, killing a session mid-item loses nothing, each screen's letters match its answers,
no screen shows a model, the gold, hidden text or a private turn, and the report's annotator
table tells who failed an attention check.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from judges.attention import BUILTIN
from oversight.cli import main
from tests.terminal import Terminal, close, finish, plain, spawn_cli
from transcripts import Call, Question, RunStore, Transcript, Turn

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

PROMPT = "q quit: "
ITEM = re.compile(r"Item (\d+) of (\d+)")
ROW = re.compile(r"^\s{0,2}([A-Z]) {1,3}(\S.*?)\s*$", re.M)
NAMED = re.compile(r"\[([A-Z]): ([^\]\n]+)\]")
HEADING = re.compile(r"Round \d+ · (Debater [AB]|Consultant) \(for ([A-Z])\)")
MODEL = "openai/gpt-secret-model-9000"
SECRET_CONTEXT = "The harbour ledger was kept in the lighthouse cellar"
HIDDEN = (
    MODEL,
    "gpt-secret",
    "SCRATCHPAD",
    SECRET_CONTEXT,
    "gold",
    "mock/",
    "openai",
    "[mock",
    "correct answer",
)


def _transcript(q: int, condition: str, order: list[int]) -> Transcript:
    answers = [f"The ledger, case {q}", f"The storm log, case {q}"]
    question = Question(
        id=f"q{q}",
        text=f"Question {q}: what did keeper {q} write down?",
        answers=answers,
        correct=q % 2,
        context=SECRET_CONTEXT,
        source=f"story-{q // 2}",
    )
    letter = {i: "AB"[order.index(i)] for i in range(2)}
    call = Call(endpoint=MODEL, provider="openai", model="gpt-secret-model-9000")
    speakers = ["Debater A", "Debater B"] if condition == "debate" else ["Consultant"]
    turns = [
        Turn(
            role="debater" if condition == "debate" else "consultant",
            speaker=s,
            round=r,
            answer=i,
            call=call,
            content=f"I argue [{letter[i]}: {answers[i]}], not "
            f"[{letter[1 - i]}: {answers[1 - i]}].",
        )
        for r in range(2)
        for i, s in enumerate(speakers)
    ]
    turns.append(
        Turn(
            role="debater",
            speaker=speakers[0],
            round=0,
            visibility="private",
            content="SCRATCHPAD: the gold is the ledger",
            call=call,
        )
    )
    return Transcript(
        id=f"{condition}-{q}",
        run_id="run-s",
        protocol=condition,
        condition=condition,
        question=question,
        answer_order=order,
        assignment={s: i for i, s in enumerate(speakers)},
        turns=turns,
        roles={s: MODEL for s in speakers},
    )


def study_run(path: Path) -> None:
    store = RunStore.create(path, run_id="run-s")
    for q in range(4):
        store.transcripts.append(_transcript(q, "debate", [0, 1] if q % 2 else [1, 0]))
        store.transcripts.append(_transcript(q, "consultancy", [1, 0] if q % 2 else [0, 1]))
    store.close()


def _spawn(run: Path, *args: str) -> Terminal:
    return spawn_cli(*args, cwd=run.parent, dimensions=(60, 140), timeout=20)


class Screen:
    """One item as a person saw it."""

    def __init__(self, number: int, total: int, text: str) -> None:
        self.number, self.total, self.text = number, total, text
        self.question = next(
            line.strip()
            for line in text.splitlines()
            if line.strip().startswith(("Question", *(b[0] for b in BUILTIN)))
        )
        head = text.split(self.question, 1)[1]
        self.answers = dict(ROW.findall(head[: head.find("╭") if "╭" in head else len(head)]))

    def check(self) -> None:
        """Blind, and self-consistent: every letter names the answer listed under it."""
        for secret in HIDDEN:
            assert secret.lower() not in self.text.lower(), (secret, self.text)
        assert len(self.answers) == 2, self.text
        self.letters = 0
        for letter, answer in NAMED.findall(self.text):
            assert self.answers[letter] == answer, (letter, answer, self.text)
            self.letters += 1
        # Each speech's heading names the letter under which that speaker's answer is shown.
        headings = list(HEADING.finditer(self.text))
        for heading in headings:
            claim = NAMED.search(self.text, heading.end())
            assert claim is not None and claim.group(1) == heading.group(2), self.text
            self.letters += 1


def next_item(child: Terminal) -> Screen:
    child.expect(ITEM)
    number, total = int(child.match.group(1)), int(child.match.group(2))
    child.expect_exact(PROMPT)
    screen = Screen(number, total, plain(child.before))
    screen.check()
    return screen


def answer(child: Terminal, entry: str) -> None:
    child.sendline(entry)
    child.expect_exact("Reason (optional")
    child.sendline("")
    child.expect_exact("Saved.")


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_two_annotators_between_subjects_in_two_terminals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "140")  # the terminals' width, for the report's table
    run = tmp_path / "run"
    study_run(run)
    # Planning and the report need no terminal: they run in this process (a start less).
    capsys.readouterr()
    code = main(
        [
            "judge",
            str(run),
            "--plan-study",
            "--annotators",
            "alice,bob",
            "--assignment",
            "between",
            "--seed",
            "4",
            "--attention-checks",
            "1",
        ]
    )
    planned = capsys.readouterr().out
    assert code == 0, planned
    assert "between, order interleaved, seed 4" in planned
    assert "8 transcripts assigned (8 judgments); 0 left out" in planned
    study = json.loads((run / "study.json").read_text())
    obvious = {
        t["question"]["text"]: t["question"]["answers"][t["question"]["correct"]]
        for t in study["attention_items"]
    }

    seen: dict[str, list[Screen]] = {"alice": [], "bob": []}
    typed: dict[str, dict[str, str]] = {"alice": {}, "bob": {}}  # question -> answer text

    def judge(person: str, child: Terminal, *, fail_check: bool = False) -> Screen:
        screen = next_item(child)
        seen[person].append(screen)
        wanted = obvious.get(screen.question)
        if wanted is not None and fail_check:
            wanted = next(a for a in screen.answers.values() if a != wanted)
        letter = next((k for k, v in screen.answers.items() if v == wanted), "A")
        typed[person][screen.question] = screen.answers[letter]
        answer(child, f"{letter} 80")
        return screen

    alice = _spawn(run, "judge", "run", "--annotator", "alice")
    bob = _spawn(run, "judge", "run", "--annotator", "bob")
    for _ in range(2):  # both at once, turn about
        judge("alice", alice, fail_check=True)
        judge("bob", bob)
    killed = next_item(bob)
    bob.sendline("B 90")
    bob.expect_exact("Reason (optional")
    bob.kill(9)  # killed mid-item
    close(bob)
    while True:
        screen = judge("alice", alice, fail_check=True)
        if screen.number == screen.total:
            break
    assert "Session over: 5 judged, 0 skipped, 0 left" in finish(alice)

    bob = _spawn(run, "judge", "run", "--annotator", "bob")
    bob.expect_exact("(2 of 5 done)")
    resumed = judge("bob", bob)
    assert (resumed.number, resumed.question) == (3, killed.question)  # the item killed
    while resumed.number < resumed.total:
        resumed = judge("bob", bob)
    finish(bob)

    # Numbering ran over each whole list, 1..5, across bob's two sessions.
    for person, screens in seen.items():
        assert [s.number for s in screens if s is not killed] == [1, 2, 3, 4, 5], person
        assert {s.total for s in screens} == {5}
        # Speeches named answers by letter on every item but the attention check.
        assert sum(s.letters > 0 for s in screens if s is not killed) == 4
        questions = [s.question for s in screens if s is not killed]
        assert len(questions) == len(set(questions)) == 5  # no question twice for one person

    saved = lines(run / "judgments.jsonl")
    checks = lines(run / "attention.jsonl")
    assert len(saved) == 8 and len(checks) == 2
    # The target (one judgment per transcript) is met exactly, nothing lost or doubled.
    assert Counter(j["transcript_id"] for j in saved) == {
        f"{c}-{q}": 1 for c in ("debate", "consultancy") for q in range(4)
    }
    transcripts = {t.id: t for t in RunStore.open(run).transcripts.latest()}
    for j in saved:
        person = j["judge"]["annotator"]
        question = transcripts[j["transcript_id"]].question
        chosen = typed[person][question.text]
        assert j["probabilities"][question.answers.index(chosen)] == pytest.approx(0.8)
    assert {j["transcript_id"] for j in saved if j["judge"]["annotator"] == "alice"} == {
        s["transcript_id"] for s in study["assignments"]["alice"] if not s["attention"]
    }

    assert main(["report", str(run), "--bootstrap", "200"]) == 0
    text = capsys.readouterr().out
    assert "Annotators" in text and "Agreement between annotators" not in text
    rows = {
        line.split()[0]: line
        for line in text.splitlines()
        if line.strip().startswith(("alice", "bob"))
    }
    assert rows["alice"].rstrip().endswith("1 of 1") and rows["bob"].rstrip().endswith("0 of 1")


def test_one_person_in_two_terminals_never_gets_the_same_item_twice(tmp_path: Path) -> None:
    run = tmp_path / "run"
    study_run(run)
    first = _spawn(run, "judge", "run", "--annotator", "carol", "--all")
    one = next_item(first)
    second = _spawn(run, "judge", "run", "--annotator", "carol", "--all")
    second.expect_exact(f"Item {one.number} is open in another session")
    two = next_item(second)
    assert two.number == one.number + 1
    answer(first, "A 60")
    answer(second, "B 60")
    for child in (first, second):
        child.sendline("q")
        finish(child)
    saved = lines(run / "judgments.jsonl")
    assert len(saved) == 2 and len({j["transcript_id"] for j in saved}) == 2


def test_an_item_judged_in_another_terminal_meanwhile_is_not_shown_again(tmp_path: Path) -> None:
    run = tmp_path / "run"
    study_run(run)
    first = _spawn(run, "judge", "run", "--annotator", "carol", "--all")
    assert next_item(first).number == 1
    second = _spawn(run, "judge", "run", "--annotator", "carol", "--all")  # plans 1..8
    second.expect_exact("Item 1 is open in another session")
    assert next_item(second).number == 2
    answer(first, "A 60")
    first.expect_exact("Item 2 is open in another session")
    assert next_item(first).number == 3
    answer(first, "A 70")  # item 3, planned by the second terminal too, is now judged
    first.sendline("q")
    finish(first)
    answer(second, "B 60")
    assert next_item(second).number == 4  # item 3 is passed over, not shown a second time
    second.sendline("q")
    finish(second)
    saved = lines(run / "judgments.jsonl")
    assert len(saved) == 3 and len({j["transcript_id"] for j in saved}) == 3


def test_a_study_item_whose_transcript_left_the_run_is_named_and_never_counted_done(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A copy of the run without one transcript of ann's list: the item was passed over in
    # silence, and the numbers said it was done ("(1 of 8 done)" before she judged any).
    run = tmp_path / "run"
    study_run(run)
    planned = ["judge", str(run), "--plan-study", "--annotators", "ann", "--order", "grouped"]
    assert main(planned) == 0
    study = json.loads((run / "study.json").read_text())
    gone = study["assignments"]["ann"][1]["transcript_id"]
    copy = RunStore.create(tmp_path / "copy", run_id="run-s")
    for t in RunStore.open(run).transcripts.latest():
        if t.id != gone:
            copy.transcripts.append(t)
    copy.write_json("study.json", study)
    copy.close()
    capsys.readouterr()
    child = _spawn(copy.path, "judge", "copy", "--annotator", "ann")
    try:
        child.expect_exact("ann: 7 item(s) to judge.")
        said = " ".join(plain(child.before).split())
        assert f"1 item(s) of your study list cannot be shown: item 2 ({gone})" in said
        assert "transcript is not in the run" in said and "done)" not in said
        assert next_item(child).number == 1
        answer(child, "A 70")
        assert next_item(child).number == 3  # item 2 is not served
        child.sendline("q")
        end = " ".join(finish(child).split())
    finally:
        close(child)
    assert "Session over: 1 judged, 0 skipped, 6 left, 1 that cannot be shown" in end
    child = _spawn(copy.path, "judge", "copy", "--annotator", "ann")
    try:
        child.expect_exact("ann: 6 item(s) to judge (1 of 8 done)")
        child.sendline("q")
        finish(child)
    finally:
        close(child)
