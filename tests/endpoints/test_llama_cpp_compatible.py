"""An ``openai/`` endpoint pointed at one's own llama.cpp server (``base_url``) is treated as
a ``local/`` one is: its JSON schemas go lenient, and the requests in flight are the
server's slots, so none waits in the server's queue while its ``timeout`` runs.

A fake OpenAI server that says what llama.cpp says of itself (the ``Server: llama.cpp``
header on every response, ``GET /props`` with ``total_slots``) stands in for the real one
(whose reply to a schema is checked in ``test_local_server.py``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from oversight.endpoints import endpoint
from oversight.runner._share import share_endpoint
from oversight.testing import FakeOpenAIServer, Fault
from transcripts.errors import MissingAPIKeyError

from .llama_cpp_helpers import FakeLlamaCpp

SCHEMA = {
    "type": "object",
    "properties": {"labels": {"type": "array", "items": {"type": "string"}, "uniqueItems": True}},
    "required": ["labels"],
}


def _guided(server: FakeOpenAIServer) -> list[bool]:
    """Per chat request, whether its schema was sent lenient."""
    return [
        "x-guidance" in r.body["response_format"]["json_schema"]["schema"]
        for r in server.requests
        if r.path == "/v1/chat/completions" and "response_format" in r.body
    ]


@pytest.mark.parametrize("stream", [False, True])
async def test_a_llama_cpp_server_is_known_by_its_first_reply_and_its_schemas_go_lenient(
    stream: bool,
) -> None:
    """The schema went to llama.cpp as it was: one with a keyword llguidance cannot
    enforce (``uniqueItems``) was dropped whole, and the model wrote free text."""
    with FakeLlamaCpp(slots=4) as server:
        ep = endpoint("openai/gemma", base_url=server.base_url, cache=False, stream=stream)
        for n in range(2):
            await ep.complete(f"Pick {n}.", schema=SCHEMA, max_tokens=200)
        told = endpoint("openai/gemma", base_url=server.base_url, cache=False, llama_cpp=True)
        await told.complete("Pick.", schema=SCHEMA, max_tokens=200)
    # Unknown before its first reply; known from it on; told, known from the start.
    assert _guided(server) == [False, True, True]
    assert server.requests_by_path["/props"] == 1  # asked once, only of llama.cpp


async def test_the_empty_schema_goes_as_it_is() -> None:
    """``{}`` (any JSON) went as ``{"x-guidance": ...}``: a llama.cpp build without
    llguidance (schemas compiled to GBNF) tells ``{}`` by its having no key, so it refuses
    that one ("Unrecognized schema"). Nothing in ``{}`` needs leniency: it goes as it is."""
    with FakeLlamaCpp(slots=1) as server:
        ep = endpoint("openai/gemma", base_url=server.base_url, cache=False, llama_cpp=True)
        await ep.complete("Any JSON.", schema={}, max_tokens=20)
        await ep.complete("Pick.", schema=SCHEMA, max_tokens=200)
    assert _guided(server) == [False, True]


async def test_requests_in_flight_are_the_llama_cpp_servers_slots_unless_set() -> None:
    """An ``openai/`` endpoint sent up to 64 requests at once; llama.cpp decodes ``-np``
    of them and queues the rest, whose ``timeout`` runs while they wait, so a long queue
    timed out requests the server would have answered (and their retries queued again)."""
    with FakeLlamaCpp(slots=2) as server:
        ep = endpoint("openai/gemma", base_url=server.base_url, cache=False)
        await ep.complete("Hello.", max_tokens=4)  # the server says what it is
        server.reset()
        server.latency = 0.05  # so requests overlap
        replies = await asyncio.gather(*(ep.complete(f"Count to {n}.") for n in range(8)))
        assert [r.call.retries for r in replies] == [0] * 8
        assert server.peak_concurrency == 2


async def test_a_max_concurrency_beyond_the_slots_is_kept_and_warned_of(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with FakeLlamaCpp(slots=2) as server:
        ep = endpoint(
            "openai/gemma", base_url=server.base_url, cache=False, llama_cpp=True, max_concurrency=6
        )
        server.latency = 0.05
        with caplog.at_level(logging.WARNING, logger="oversight.endpoints"):
            await asyncio.gather(*(ep.complete(f"Count to {n}.") for n in range(6)))
    assert server.peak_concurrency == 6
    assert "max_concurrency=6 is more than the server's 2 slots" in caplog.text
    assert "counts toward timeout" in caplog.text


async def test_another_compatible_server_is_neither_asked_nor_changed(
    openai_server: FakeOpenAIServer,
) -> None:
    ep = endpoint("openai/model", base_url=openai_server.base_url, cache=False)
    await ep.complete("Pick.", schema=SCHEMA, max_tokens=200)
    openai_server.latency = 0.05
    replies = await asyncio.gather(*(ep.complete(f"Count to {n}.") for n in range(8)))
    assert len(replies) == 8 and openai_server.peak_concurrency == 8
    assert _guided(openai_server) == [False]
    assert set(openai_server.requests_by_path) == {"/v1/chat/completions"}


class Busy:
    """A reply script that takes 50 ms and counts the requests it works on at once. Each is
    counted out before its reply is written, so the count never lags, as the server's
    ``peak_concurrency`` can (the next request may arrive before the server's thread has
    counted the last one out)."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self.log: list[str] = []

    async def __call__(self, body: dict[str, Any]) -> str:
        self.now += 1
        self.peak = max(self.peak, self.now)
        self.log.append("start")
        await asyncio.sleep(0.05)
        self.now -= 1
        self.log.append("end")
        return "ok"


async def test_the_first_wave_waits_for_the_first_reply_so_it_is_held_to_the_slots_too() -> None:
    """With ``llama_cpp`` unset, the requests sent at once before the server's first reply
    (up to 64) all went to a two-slot llama.cpp server, the rest waiting in its queue with
    their ``timeout`` running. Now the first request goes alone; the others wait for its
    reply, which names the server, and are then held to its slots. No request is added."""
    busy = Busy()
    with FakeLlamaCpp(slots=2, reply=busy) as server:
        ep = endpoint("openai/gemma", base_url=server.base_url, cache=False)
        replies = await asyncio.gather(*(ep.complete(f"Count to {n}.") for n in range(8)))
    assert [r.call.retries for r in replies] == [0] * 8
    assert busy.log[:2] == ["start", "end"] and busy.peak == 2
    assert server.requests_by_path == {"/v1/chat/completions": 8, "/props": 1}


async def test_the_first_wave_to_another_server_waits_for_one_reply_then_goes_at_once() -> None:
    """Another compatible server: the wave waits for the first reply (one request's time),
    then goes at the usual concurrency; nothing but the chat requests is sent. Set
    ``llama_cpp=False`` and none waits."""
    busy = Busy()
    with FakeOpenAIServer(reply=busy) as server:
        ep = endpoint("openai/model", base_url=server.base_url, cache=False)
        await asyncio.gather(*(ep.complete(f"Count to {n}.") for n in range(8)))
        assert busy.log[:2] == ["start", "end"] and busy.peak == 7
        assert set(server.requests_by_path) == {"/v1/chat/completions"}
        busy.peak = 0
        told = endpoint("openai/other", base_url=server.base_url, cache=False, llama_cpp=False)
        await asyncio.gather(*(told.complete(f"Count to {n}.") for n in range(8)))
    assert busy.peak == 8


async def test_the_slots_are_asked_again_after_the_server_dropped_a_connection() -> None:
    """The slots were asked once per process: a server restarted with fewer (``-np 1``)
    still got as many requests at once as before, the rest queued there, their timeout
    running. A dropped connection (or a timeout) now has them asked again."""
    busy = Busy()
    with FakeLlamaCpp(slots=4, reply=busy) as server:
        ep = endpoint("openai/gemma", base_url=server.base_url, cache=False, retry_backoff=0)
        for n in range(2):  # known from the first reply, its 4 slots asked at the second
            await ep.complete(f"Hello {n}.", max_tokens=4)
        server.slots = 1  # restarted with -np 1
        server.reset()
        server.set_faults([Fault.drop()])
        dropped = await ep.complete("Hello again.", max_tokens=4)
        assert dropped.call.retries == 1
        busy.peak = 0
        await asyncio.gather(*(ep.complete(f"Count to {n}.") for n in range(6)))
    assert busy.peak == 1


async def test_the_wave_waits_for_the_first_requests_answer_not_its_success(
    openai_server: FakeOpenAIServer,
) -> None:
    """A first request that fails (a 500 names no server) lets the others go; it is
    retried alongside them, and none waits on it again."""
    openai_server.set_faults([Fault.server_error()])
    ep = endpoint("openai/model", base_url=openai_server.base_url, cache=False, retry_backoff=0)
    replies = await asyncio.gather(*(ep.complete(f"Count to {n}.") for n in range(4)))
    assert sorted(r.call.retries for r in replies) == [0, 0, 0, 1]
    assert openai_server.total_requests == 5


@pytest.mark.parametrize("worker", [0, 1])
async def test_each_worker_process_holds_its_share_of_the_slots(
    worker: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Under ``--workers 2`` each worker's endpoint held its share of the default 64 (32)
    as if it were a ``max_concurrency`` set by the user: it warned that "max_concurrency=32
    is more than the server's 4 slots" and sent all 8 requests at once, the rest queueing
    in the server with their timeout running. Now each worker holds its share of the
    slots (2 of 4), and says so."""
    busy = Busy()
    with FakeLlamaCpp(slots=4, reply=busy) as server:
        ep = endpoint("openai/gemma", base_url=server.base_url, cache=False)
        share_endpoint(ep, worker, 2)  # as a worker's endpoints are made
        with caplog.at_level(logging.INFO, logger="oversight.endpoints"):
            await asyncio.gather(*(ep.complete(f"Count to {n}.") for n in range(8)))
    assert busy.peak == 2
    assert "is more than" not in caplog.text
    assert "at most 2 requests in flight at once (this process's share of 4" in caplog.text


async def test_a_first_request_that_fails_before_it_is_sent_lets_the_wave_go_at_once(
    openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first request failed before it was posted (its key's variable unset): the
    requests waiting on it went only when its task ended, so a caller that caught the
    error and went on to wait for them waited for ever. Now they go at once."""
    monkeypatch.delenv("OVERSIGHT_TEST_LATE_KEY", raising=False)
    ep = endpoint(
        "openai/model",
        base_url=openai_server.base_url,
        cache=False,
        api_key_env="OVERSIGHT_TEST_LATE_KEY",
    )

    async def first() -> None:
        with pytest.raises(MissingAPIKeyError, match="OVERSIGHT_TEST_LATE_KEY"):
            await ep.complete("Count to 0.")
        monkeypatch.setenv("OVERSIGHT_TEST_LATE_KEY", "k")  # set; the others may go
        # The task goes on, waiting for the others (30 s: only against a hang).
        _, pending = await asyncio.wait(others, timeout=30)
        for task in pending:
            task.cancel()
        assert not pending, "the wave still waited for the first request's task to end"

    scout = asyncio.ensure_future(first())
    await asyncio.sleep(0)  # the first request is out first
    others = [asyncio.ensure_future(ep.complete(f"Count to {n}.")) for n in range(1, 4)]
    await scout
    assert openai_server.total_requests == 3


async def test_a_first_request_that_does_not_connect_hands_the_wait_to_the_next() -> None:
    """The first request's connection dropped (a server not up yet, say): the wave went
    at once, before any reply had named the server, and was not held to its slots. Now
    the next request goes in its place, the others still waiting, until one is answered."""
    busy = Busy()
    with FakeLlamaCpp(slots=2, reply=busy) as server:
        server.set_faults([Fault.drop()])
        ep = endpoint("openai/gemma", base_url=server.base_url, cache=False, retry_backoff=0)
        replies = await asyncio.gather(*(ep.complete(f"Count to {n}.") for n in range(8)))
    assert sorted(r.call.retries for r in replies) == [0] * 7 + [1]
    assert busy.log[:2] == ["start", "end"] and busy.peak == 2


async def test_a_first_request_cancelled_before_it_is_sent_hands_the_wait_to_the_next(
    openai_server: FakeOpenAIServer,
) -> None:
    """The first request was cancelled while it waited for a concurrency slot (an
    ``asyncio.timeout`` around the call, caught by the caller, who went on): the requests
    waiting on its reply waited until its task ended, so a caller awaiting them hung. Now
    the next of them goes in its place."""
    holding, release = asyncio.Event(), asyncio.Event()

    async def script(body: dict[str, Any]) -> str:
        if body["messages"][-1]["content"] == "Hold.":
            holding.set()
            await release.wait()
        return "ok"

    openai_server.reply = script
    # Another endpoint of the model sets max_concurrency=1 for both, and holds the slot.
    holder = endpoint(
        "openai/model", base_url=openai_server.base_url, cache=False, max_concurrency=1
    )
    ep = endpoint("openai/model", base_url=openai_server.base_url, cache=False)
    held = asyncio.ensure_future(holder.complete("Hold."))
    await holding.wait()
    first_out, others_out = asyncio.Event(), asyncio.Event()
    waiting: list[str] = []

    def wait_out(key: str) -> None:
        waiting.append(key)
        if len(waiting) == 3:
            others_out.set()

    loop = asyncio.get_running_loop()

    async def first() -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(None) as deadline:
                deadlines.append(deadline)
                await ep.complete("Count to 0.", on_send=lambda _: first_out.set())
        release.set()  # the slot is free; the caller goes on, awaiting the others
        replies = await asyncio.wait_for(asyncio.gather(*others), timeout=30)  # against a hang
        assert [r.text for r in replies] == ["ok"] * 3

    deadlines: list[asyncio.Timeout] = []
    scout = asyncio.ensure_future(first())
    await first_out.wait()  # it is the first request, waiting for the slot
    others = [
        asyncio.ensure_future(ep.complete(f"Count to {n}.", on_send=wait_out)) for n in range(1, 4)
    ]
    await others_out.wait()  # each waits on the first request's reply
    deadlines[0].reschedule(loop.time())  # the caller's timeout expires now
    await scout
    await held
    sent = [r.body["messages"][-1]["content"] for r in openai_server.requests]
    assert sorted(sent) == ["Count to 1.", "Count to 2.", "Count to 3.", "Hold."]
