"""What a person sees is self-consistent: every letter on the screen names the answer shown
under that letter — for every protocol and setup, and for every imported NYU room.

The speakers here name every answer by the letter *their prompt* gave it ("[B: Iron ore]");
the person's screen (rendered by the real terminal judge) must list the same text under the
same letter, head each speech with the letter of the answer that speaker argues, and map the
letter the person types back to that answer.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from judges import HumanJudge
from oversight.endpoints import Request
from protocols.base import REGISTRY, get
from transcripts import JudgeView, RunStore, Transcript
from transcripts.importers.nyu import ImportSummary

from ..protocols.scripted import anything, mock, question, text

NAMED = re.compile(r"\[([A-Z]): ([^\]\n]+)\]")
"""How the scripted speakers name an answer: ``[B: Iron ore]``."""
ROW = re.compile(r"^\s{0,2}([A-Z]) {1,3}(\S.*?)\s*$", re.M)
HEADING = re.compile(r"Round \d+ · ([^(│\n]+?) \(for ([A-Z])\)")
NYU = Path(__file__).parents[2].parent / "shared/data/nyu-debate"


def letters_in_prompt(request: Request) -> dict[str, str]:
    """Letter -> answer text, as the speaker's prompt lettered them."""
    return dict(re.findall(r"^([A-Z])\. (.+)$", text(request), flags=re.M))


def speaker(request: Request) -> str | dict[str, Any]:
    """A speaker who names every answer by the letter it was given; structured replies fit."""
    if request.schema_ is not None:
        return anything(request)
    shown = letters_in_prompt(request)
    named = " ".join(f"[{letter}: {answer}]" for letter, answer in sorted(shown.items()))
    return f"As lettered for me: {named or 'no answers in view'}."


def screen(view: JudgeView, entry: str = "A 100") -> tuple[str, list[float]]:
    """What the terminal judge prints for ``view``, and the probabilities of ``entry``."""
    out = io.StringIO()
    judge = HumanJudge(
        annotator="alice",
        stream=io.StringIO(f"{entry}\n\n"),
        console=Console(file=out, width=400, color_system=None),
    )
    judgment = judge.judge_now(view)
    assert judgment.probabilities is not None
    return out.getvalue().split("Probabilities (e.g.")[0], judgment.probabilities


def answers_on(screen_text: str, view: JudgeView) -> dict[str, str]:
    """Letter -> answer text from the screen's answer list (the lines after the question)."""
    head = screen_text.split(view.question, 1)[1]
    rows = dict(ROW.findall(head[: head.find("╭") if "╭" in head else len(head)]))
    assert len(rows) == len(view.answers), screen_text
    return rows


def check_screen(transcript: Transcript) -> int:
    """Assert the person's screen of ``transcript`` is self-consistent; letters checked."""
    view = JudgeView.from_transcript(transcript)
    shown, probabilities = screen(view)
    table = answers_on(shown, view)
    answers = transcript.question.answers
    checked = 0
    for letter, answer in NAMED.findall(shown):
        assert table[letter] == answer, (letter, answer, table)
        checked += 1
    argued = [t for t in transcript.turns if t.visibility == "public" and t.answer is not None]
    headings = HEADING.findall(shown)
    assert len(headings) == len(argued)
    for (who, letter), turn in zip(headings, argued, strict=True):
        assert who.strip() == turn.speaker
        assert table[letter] == answers[turn.answer], (who, letter, table)  # type: ignore[index]
        checked += 1
    # "A 100" puts everything on the answer listed under A.
    assert answers[probabilities.index(1.0)] == table["A"]
    return checked


def _protocols() -> list[tuple[str, int]]:
    return [(name, n) for name in sorted(REGISTRY) for n in (2, 3)]


@pytest.mark.parametrize(("name", "n"), _protocols())
async def test_every_protocol_and_setup_shows_letters_that_match_the_answers(
    name: str, n: int
) -> None:
    spec = get(name)
    options: dict[str, Any] = {"rounds": 2} if name in ("debate", "consultancy") else {}
    config = spec.config.model_validate(options)
    q = question(answers=n)
    agents = {role: mock(role, speaker) for role in spec.roles_needed(config)}
    setups = spec.setups(q, config)
    assert len({tuple(s.order) for s in setups}) == n  # every answer order is exercised
    checked = 0
    for setup in setups:
        transcript = await spec.run(q, agents, config=config, setup=setup)
        checked += check_screen(transcript)
    if name not in ("unassisted", "expert", "rrm"):
        assert checked >= len(setups) * n  # the speeches did name the answers


@pytest.fixture(scope="module")
def nyu_rooms(nyu_run: tuple[ImportSummary, Path]) -> list[Transcript]:
    """The rooms of the session's NYU import (conftest.py)."""
    return list(RunStore.open(nyu_run[1]).transcripts.latest())


def test_every_imported_nyu_room_shows_the_letters_its_debaters_used(
    nyu_rooms: list[Transcript],
) -> None:
    assert len(nyu_rooms) == 602
    headings = 0
    for transcript in nyu_rooms:
        raw = json.loads(
            (NYU / "debates/official" / f"{transcript.metadata['room']}.json").read_text()
        )["setup"]
        view = JudgeView.from_transcript(transcript, rounds=1)  # every speaker speaks in round 1
        shown, probabilities = screen(view)
        table = answers_on(shown, view)
        # The room's UI listed answers[i] under letter i, and Debater i defended answers[i]:
        # the person sees exactly that.
        assert [" ".join(table[chr(65 + i)].split()) for i in range(len(raw["answers"]))] == [
            " ".join(a.split()) for a in raw["answers"]
        ]
        for who, letter in HEADING.findall(shown):
            assert who.strip() == f"Debater {letter}", (transcript.metadata["room"], who)
            headings += 1
        assert probabilities.index(1.0) == 0
    assert headings > len(nyu_rooms)  # speeches were on the screens, not just answer lists
