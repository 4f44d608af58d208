"""Both HTTP clients under the SDKs (``transport="aiohttp"``, the default, and ``"httpx"``)
behave alike: replies, streaming, timeouts, dropped connections and refusals, over real HTTP
against the fake servers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import anthropic
import openai
import pytest

from oversight.endpoints import Endpoint, endpoint
from oversight.endpoints._sdk import SdkBackend
from oversight.errors import ProviderError, RetriesExhaustedError
from oversight.testing import FakeAnthropicServer, FakeOpenAIServer, FakeReply, Fault

TRANSPORTS = ("aiohttp", "httpx")
Server = FakeOpenAIServer | FakeAnthropicServer


@pytest.fixture(params=["openai", "anthropic"])
def server(
    request: pytest.FixtureRequest,
    openai_server: FakeOpenAIServer,
    anthropic_server: FakeAnthropicServer,
) -> Server:
    return openai_server if request.param == "openai" else anthropic_server


def make(server: Server, transport: str, **options: Any) -> Endpoint:
    provider = "openai" if isinstance(server, FakeOpenAIServer) else "anthropic"
    return endpoint(
        f"{provider}/model",
        base_url=server.base_url,
        api_key="test-key",
        cache=False,
        transport=transport,
        retry_backoff=0.0,
        **options,
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_each_transport_is_the_one_named(server: Server, transport: str) -> None:
    ep = make(server, transport)
    assert (await ep.complete("hi")).text == "echo: hi"
    assert isinstance(ep.backend, SdkBackend)
    sdk = openai if isinstance(server, FakeOpenAIServer) else anthropic
    http = ep.backend._clients[0]._client
    assert isinstance(http, sdk.DefaultAioHttpClient) == (transport == "aiohttp")
    await ep.aclose()
    assert http.is_closed


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("stream", [False, True])
async def test_replies_plain_and_streamed(server: Server, transport: str, stream: bool) -> None:
    server.reply = lambda body: FakeReply("one two three", token_delay=0.01)
    ep = make(server, transport, stream=stream)
    completion = await ep.complete("Count.", max_tokens=20)
    assert completion.text == "one two three" and completion.call.finish_reason == "stop"
    assert completion.usage.output_tokens > 0
    assert (server.requests[0].body or {}).get("stream", False) is stream
    await ep.aclose()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_slow_server_times_out_and_is_retried(server: Server, transport: str) -> None:
    server.set_faults([Fault.slow(2.0)])
    ep = make(server, transport, timeout=0.2)
    completion = await ep.complete("hi")
    assert completion.text == "echo: hi" and completion.retries == 1
    server.set_faults(lambda request: Fault.slow(2.0))
    with pytest.raises(RetriesExhaustedError, match=r"after 2 attempts.*timed out after 0.2s"):
        await make(server, transport, timeout=0.2, max_retries=1).complete("again")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_dropped_connection_is_named_as_one(server: Server, transport: str) -> None:
    server.set_faults(lambda request: Fault.drop())
    ep = make(server, transport, max_retries=2)
    with pytest.raises(RetriesExhaustedError, match=r"after 3 attempts.*connection failed"):
        await ep.complete("hi")
    assert server.total_requests == 3


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_refusal_is_one_request_and_a_provider_error(
    server: Server, transport: str
) -> None:
    server.set_faults([Fault.bad_request("max_tokens is too large")])
    with pytest.raises(ProviderError, match="max_tokens is too large") as info:
        await make(server, transport).complete("hi")
    assert info.value.status_code == 400 and server.total_requests == 1


def test_clients_left_open_are_closed_when_their_event_loop_ends() -> None:
    # A script that never calls aclose(): its SDK clients close with each asyncio.run, and
    # an endpoint dropped while its loop runs closes them as it goes, so nothing complains
    # about unclosed sessions, connections or pending tasks on the way out.
    script = textwrap.dedent(
        """
        import asyncio, gc
        from oversight.endpoints import endpoint
        from oversight.testing import FakeOpenAIServer

        server = FakeOpenAIServer().start_in_thread()
        ep = endpoint("openai/m", base_url=server.base_url, api_key="k", cache=False)
        for _ in range(2):
            print(asyncio.run(ep.complete("hi")).text)

        async def dropped() -> None:  # an endpoint used once and dropped, loop running
            print((await endpoint("openai/m", base_url=server.base_url, api_key="k",
                                  cache=False).complete("hi")).text)
            gc.collect()
            await asyncio.sleep(0.05)

        asyncio.run(dropped())
        del ep
        gc.collect()
        server.stop_thread()
        """
    )
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["echo:", "hi"] * 3
    assert "nclosed" not in done.stderr and "destroyed" not in done.stderr, done.stderr
