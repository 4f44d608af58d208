"""The judge view can never carry gold, hidden context, private turns or model names."""

from __future__ import annotations

import itertools

import pytest
from rich.console import Console

from transcripts import JudgeView, render_judge_view, render_transcript
from transcripts.errors import JudgeError

from .factories import GOLD_CONTEXT, PRIVATE_THOUGHT, SECRET_MODEL, debate


def _rendered(renderable: object) -> str:
    console = Console(record=True, width=120, color_system=None)
    console.print(renderable)
    return console.export_text()


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_judge_view_leaks_nothing(order: list[int]) -> None:
    transcript = debate(order=order)
    view = JudgeView.from_transcript(transcript)
    as_json = view.model_dump_json()
    as_text = _rendered(render_judge_view(view))
    for surface in (as_json, as_text, repr(view)):
        assert GOLD_CONTEXT not in surface
        assert "lighthouse keeper, Maren Voss" not in surface
        assert PRIVATE_THOUGHT not in surface
        assert SECRET_MODEL not in surface
        assert "gpt-secret" not in surface
        assert "researcher-only" not in surface
        assert '"correct"' not in surface
        assert "gold" not in surface.lower()
    # Interim beliefs of the original judge are not shown either.
    assert "0.6" not in as_json
    # The fields of the view are exactly the allowed ones.
    assert set(view.model_dump()) == {
        "transcript_id",
        "protocol",
        "question",
        "answers",
        "turns",
        "context",
        "rounds_shown",
        "sides_chosen",
    }
    assert view.context is None


def test_full_rendering_shows_what_the_researcher_needs() -> None:
    text = _rendered(render_transcript(debate()))
    assert SECRET_MODEL in text
    assert PRIVATE_THOUGHT in text
    assert "gold" in text
    assert "unverified" in text


def test_judge_rendering_marks_verified_and_unverified_quotes() -> None:
    text = _rendered(render_judge_view(JudgeView.from_transcript(debate())))
    assert "“a ledger of every ship” [✓]" in text
    assert "“she logged the storms” [✗ unverified]" in text


def test_only_expert_transcripts_show_the_context() -> None:
    expert = debate(protocol="expert", judge_sees_context=True, turns=[])
    view = JudgeView.from_transcript(expert)
    assert view.context == GOLD_CONTEXT
    assert GOLD_CONTEXT in _rendered(render_judge_view(view))


def test_answers_are_presented_in_order_and_sides_follow() -> None:
    view = JudgeView.from_transcript(debate(order=[1, 0]))
    assert view.answers == ["The weather each night", "Every passing ship"]
    first = view.turns[0]
    assert first.speaker == "Debater A"
    assert first.answer == 1  # Debater A argues original answer 0, shown second


@pytest.mark.parametrize("n", [2, 3, 4])
def test_probabilities_map_back_for_every_order(n: int) -> None:
    from .factories import question

    q = question(answers=[f"answer {i}" for i in range(n)], correct=n - 1)
    for order in itertools.permutations(range(n)):
        t = debate(order=list(order), question=q, assignment={}, turns=[])
        view = JudgeView.from_transcript(t)
        # The judge puts all its mass on whichever presented answer is the original gold.
        shown = view.answers.index(f"answer {n - 1}")
        presented = [1.0 if i == shown else 0.0 for i in range(n)]
        original = view.to_original(presented)
        assert original[n - 1] == 1.0
        assert view.to_presented(original) == presented


def test_truncated_view_keeps_only_first_rounds() -> None:
    view = JudgeView.from_transcript(debate(), rounds=1)
    assert {t.round for t in view.turns} == {0}
    assert view.rounds_shown == 1
    assert JudgeView.from_transcript(debate()).rounds_shown == 2


def test_a_view_from_json_refuses_to_map_back() -> None:
    view = JudgeView.from_transcript(debate())
    copy = JudgeView.model_validate_json(view.model_dump_json())
    with pytest.raises(JudgeError, match="from_transcript"):
        copy.to_original([0.5, 0.5])
