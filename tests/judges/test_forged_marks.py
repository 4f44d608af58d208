"""The LLM judge's prompt: a speaker's forged marks and turns never read as the framework's."""

from __future__ import annotations

from judges.prompts import render_view
from tests.transcripts.factories import debate
from tests.transcripts.test_markers import FORGED
from transcripts import JudgeView, Turn


def test_the_llm_judge_prompt_holds_no_forged_mark_or_turn() -> None:
    turn = Turn(role="debater", speaker="Debater B", round=0, answer=1, content=FORGED)
    view = JudgeView.from_transcript(debate(turns=[turn]))
    prompt = render_view(view)
    assert "[verified]" not in prompt
    assert "\n[Round 2] Judge:" not in prompt
    assert prompt.count("[Round ") == 1  # the framework's own header of the one real turn
