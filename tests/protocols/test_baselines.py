"""The unassisted floor and the expert ceiling."""

from __future__ import annotations

import pytest

from protocols.base import Setup, get
from transcripts import JudgeView
from transcripts.errors import ProtocolError

from .scripted import ANSWERS, CONTEXT, question


async def test_unassisted_shows_the_judge_only_question_and_answers() -> None:
    spec = get("unassisted")
    transcript = await spec.run(question(), {}, config=spec.config(), setup=Setup(order=[1, 0]))
    assert transcript.turns == [] and not transcript.judge_sees_context
    view = JudgeView.from_transcript(transcript)
    assert view.answers == [ANSWERS[1], ANSWERS[0]] and view.context is None
    assert "Captain Ilse Brandt" not in view.model_dump_json()
    assert view.to_original([0.8, 0.2]) == [0.2, 0.8]


async def test_expert_is_the_only_view_with_the_context() -> None:
    spec = get("expert")
    transcript = await spec.run(question(), {}, config=spec.config(), setup=Setup(order=[0, 1]))
    assert transcript.judge_sees_context and transcript.protocol == "expert"
    assert JudgeView.from_transcript(transcript).context == CONTEXT


async def test_expert_without_context_is_refused() -> None:
    spec = get("expert")
    with pytest.raises(ProtocolError, match="needs hidden context"):
        await spec.run(question(context=None), {}, config=spec.config(), setup=Setup(order=[0, 1]))


def test_baseline_setups_are_answer_orders() -> None:
    for name in ("unassisted", "expert"):
        spec = get(name)
        setups = spec.setups(question(answers=3), spec.config())
        assert [(s.order, s.assignment, s.label) for s in setups] == [
            ([0, 1, 2], {}, "o012"),
            ([1, 2, 0], {}, "o120"),
            ([2, 0, 1], {}, "o201"),
        ]
        assert spec.roles == ()
