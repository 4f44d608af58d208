"""A ``local/`` endpoint counts a prompt's tokens on its llama.cpp server before sending it
(``/apply-template``, ``/tokenize``) and refuses one that cannot fit. A count that fails on
the way (an overloaded server, a dropped keep-alive connection) is retried with the call,
not skipped: a skipped count sent a too-long prompt, which the server refused (seen on the
real server under load, ``test_local.py``). A server that has no counting routes gets the
prompt uncounted, as before.

Runs without llama.cpp: a GGUF header written by the test, and the fake OpenAI server with
llama.cpp's two counting routes standing in for the server the endpoint would start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oversight.endpoints import _local as local
from oversight.endpoints import endpoint
from oversight.testing import FakeOpenAIServer
from oversight.testing._http import HttpRequest, Responder
from transcripts.errors import ProviderError

from .test_local_settings import CHATML_JINJA, write_gguf


class FakeLlamaServer(FakeOpenAIServer):
    """The fake OpenAI server with llama.cpp's counting routes: every prompt is
    ``prompt_tokens`` tokens; the first ``failures`` counts answer ``status``."""

    def __init__(
        self, *, prompt_tokens: int, failures: int = 0, status: int = 503, n_ctx: int = 0
    ) -> None:
        super().__init__()
        self.prompt_tokens = prompt_tokens
        self.failures = failures
        self.status = status
        self.n_ctx = n_ctx
        self.counts = 0

    async def answer(self, record: Any, scripted: Any, out: Responder) -> None:
        if self.n_ctx and self.prompt_tokens >= self.n_ctx:
            await out.send_json(400, {"error": exceed_context(self.prompt_tokens, self.n_ctx)})
            return
        await super().answer(record, scripted, out)

    async def route(self, http: HttpRequest, out: Responder) -> bool:
        if http.path == "/apply-template":
            await out.send_json(200, {"prompt": "the templated prompt"})
            return True
        if http.path == "/tokenize":
            self.counts += 1
            if self.counts <= self.failures:
                await out.send_json(self.status, {"error": {"message": "busy"}})
            else:
                await out.send_json(200, {"tokens": list(range(self.prompt_tokens))})
            return True
        return await super().route(http, out)


def exceed_context(tokens: int, n_ctx: int) -> dict[str, Any]:
    """llama.cpp's error for a prompt longer than a slot's context, as the real server
    sent it (HTTP 400, ``-c 1024 -np 2``, a 1009-token prompt)::

        {"error":{"code":400,"message":"request (1009 tokens) exceeds the available context
        size (512 tokens), try increasing it","type":"exceed_context_size_error",
        "n_prompt_tokens":1009,"n_ctx":512}}
    """
    return {
        "code": 400,
        "message": f"request ({tokens} tokens) exceeds the available context size "
        f"({n_ctx} tokens), try increasing it",
        "type": "exceed_context_size_error",
        "n_prompt_tokens": tokens,
        "n_ctx": n_ctx,
    }


def _local_on(server: FakeOpenAIServer, model: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    url = server.base_url.removesuffix("/v1")
    monkeypatch.setattr(local, "_start_server", lambda *args: url)
    return endpoint(f"local/{model}", ctx_size=4096, max_retries=2, retry_backoff=0.01, cache=False)


def _sent(server: FakeOpenAIServer) -> int:
    return sum(r.path.endswith("/chat/completions") for r in server.requests)


async def test_a_count_that_fails_on_the_way_is_retried_and_a_long_prompt_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = write_gguf(tmp_path / "m.gguf", context=8192, template=CHATML_JINJA)
    with FakeLlamaServer(prompt_tokens=5000, failures=1) as server:
        ep = _local_on(server, model, monkeypatch)
        with pytest.raises(ProviderError, match=r"prompt is 5000 tokens.*Nothing was sent"):
            await ep.complete("word " * 5000, max_tokens=50)
        assert server.counts == 2 and _sent(server) == 0


async def test_a_server_that_cannot_count_gets_the_prompt_uncounted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = write_gguf(tmp_path / "m.gguf", context=8192, template=CHATML_JINJA)
    with FakeLlamaServer(prompt_tokens=10, failures=99, status=404) as server:
        ep = _local_on(server, model, monkeypatch)
        reply = await ep.complete("Name three colours.", max_tokens=16)
        assert reply.text and server.counts == 1 and _sent(server) == 1


async def test_a_prompt_too_long_for_a_llama_cpp_server_is_final_and_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A llama.cpp server of one's own (``-c`` shared among ``-np`` slots) refuses a prompt
    longer than a slot's context: not retried, and the message says which knob is meant
    (the server's "try increasing it" names none, and its n_ctx is per slot, not ``-c``)."""
    with FakeLlamaServer(prompt_tokens=1009, n_ctx=512) as server:
        ep = endpoint("vllm/served", base_url=server.base_url, max_retries=3, cache=False)
        with pytest.raises(ProviderError) as refused:
            await ep.complete("word " * 1000, max_tokens=10)
        message = str(refused.value)
        assert message.startswith("vllm/served: the provider refused the request (HTTP 400)")
        assert "request (1009 tokens) exceeds the available context size (512 tokens)" in message
        assert "shorten the prompt" in message and "--ctx-size" in message and "-np" in message
        assert _sent(server) == 1
    # A local/ server whose tokens could not be counted first: the knob is ctx_size.
    model = write_gguf(tmp_path / "m.gguf", context=8192, template=CHATML_JINJA)
    with FakeLlamaServer(prompt_tokens=5000, failures=99, status=404, n_ctx=4096) as server:
        with pytest.raises(ProviderError, match=r"shorten the prompt or raise ctx_size") as seen:
            await _local_on(server, model, monkeypatch).complete("word " * 5000, max_tokens=5)
        assert "--ctx-size" not in str(seen.value) and _sent(server) == 1
