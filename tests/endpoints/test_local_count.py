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

    def __init__(self, *, prompt_tokens: int, failures: int = 0, status: int = 503) -> None:
        super().__init__()
        self.prompt_tokens = prompt_tokens
        self.failures = failures
        self.status = status
        self.counts = 0

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
