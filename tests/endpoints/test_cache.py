"""The response cache: an identical request is never paid for twice, and runs replay offline."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from oversight.endpoints import endpoint
from oversight.errors import CacheMissError, ConfigError, ProviderError, StructuredOutputError
from oversight.testing import FakeOpenAIServer, Fault
from tests.transcripts.test_store import file_size_limit

KEY = "test-key"


class Verdict(BaseModel):
    answer: int


async def test_the_same_200_calls_again_make_zero_requests(
    openai_server: FakeOpenAIServer, isolated_environment: Path
) -> None:
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY)
    first = await asyncio.gather(*(ep.complete(f"q{i}", temperature=0.7) for i in range(200)))
    assert openai_server.total_requests == 200 and not any(c.cached for c in first)
    assert all(c.cost_usd and c.cost_usd > 0 for c in first)

    openai_server.reset()
    again = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY)
    second = await asyncio.gather(*(again.complete(f"q{i}", temperature=0.7) for i in range(200)))
    assert openai_server.total_requests == 0
    assert [c.text for c in second] == [c.text for c in first]
    assert all(c.cached and c.cost_usd == 0.0 and c.usage.total_tokens == 0 for c in second)
    assert [c.call.request_hash for c in second] == [c.call.request_hash for c in first]
    assert again.cache is not None and len(again.cache) == 200
    assert again.cache.path == isolated_environment  # $OVERSIGHT_CACHE by default


async def test_everything_that_changes_the_answer_changes_the_key(
    openai_server: FakeOpenAIServer,
) -> None:
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY)
    variants = [
        ep.complete("q"),
        ep.complete("q", system="be brief"),
        ep.complete("q", max_tokens=7),
        ep.complete("q", temperature=1.0),
        ep.complete("q", temperature=1.0, sample_index=1),  # independent samples stay apart
        ep.complete("q", seed=3),
        ep.complete("q", schema=Verdict),
        ep.complete("q", logprobs=True),
        ep.complete([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]),
        endpoint("openai/gpt-4o", base_url=openai_server.base_url, api_key=KEY).complete("q"),
    ]
    completions = await asyncio.gather(*variants)
    assert len({c.call.request_hash for c in completions}) == len(variants)
    assert openai_server.total_requests == len(variants)


async def test_the_key_never_includes_the_api_key(openai_server: FakeOpenAIServer) -> None:
    one = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key="key-one")
    two = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key="key-two")
    await one.complete("q")
    assert (await two.complete("q")).cached
    assert openai_server.total_requests == 1


async def test_identical_requests_in_flight_at_once_are_sent_once(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.latency = 0.05
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY)
    completions = await asyncio.gather(*(ep.complete("same question") for _ in range(10)))
    assert openai_server.total_requests == 1
    assert sum(not c.cached for c in completions) == 1


async def test_when_the_request_in_flight_fails_one_waiter_tries_again(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.latency = 0.05
    openai_server.set_faults([Fault.bad_request("first one refused")])
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY)
    results = await asyncio.gather(
        *(ep.complete("same question") for _ in range(3)), return_exceptions=True
    )
    assert isinstance(results[0], ProviderError)
    assert [r.text for r in results[1:]] == ["echo: same question"] * 2  # type: ignore[union-attr]
    assert openai_server.total_requests == 2


async def test_offline_replays_a_finished_run_with_no_network(tmp_path: Path) -> None:
    cache = tmp_path / "run-cache.sqlite"
    async with FakeOpenAIServer() as server:
        live = endpoint("openai/gpt-4o-mini", base_url=server.base_url, api_key=KEY, cache=cache)
        answers = [(await live.complete(f"q{i}")).text for i in range(5)]
        url = server.base_url
    # The server is gone: only the cache can answer.
    replay = endpoint("openai/gpt-4o-mini", base_url=url, cache=cache, offline=True)
    assert [(await replay.complete(f"q{i}")).text for i in range(5)] == answers
    with pytest.raises(CacheMissError, match=r"offline, and the cache .* has no reply"):
        await replay.complete("a question never asked")


async def test_an_offline_miss_names_the_fields_that_differ_from_the_most_alike_request(
    tmp_path: Path,
) -> None:
    """Before: the miss named the endpoint and key only. Now the first misses of an
    endpoint name what differs from the most alike request cached for it."""
    cache = tmp_path / "run-cache.sqlite"
    asked = [{"role": "user", "content": "Which answer is right? Think first."}]
    async with FakeOpenAIServer() as server:
        live = endpoint("openai/gpt-4o-mini", base_url=server.base_url, api_key=KEY, cache=cache)
        await live.complete(asked, max_tokens=300, system="You judge.")
        await live.complete("an unrelated question", max_tokens=300)
        url = server.base_url
    replay = endpoint("openai/gpt-4o-mini", base_url=url, cache=cache, offline=True)
    misses = []
    for options in ({"max_tokens": 200}, {"temperature": 0.5}, {"system": "You judge well."}):
        settings = {"max_tokens": 300, "system": "You judge.", **options}
        with pytest.raises(CacheMissError) as miss:
            await replay.complete(asked, **settings)  # type: ignore[arg-type]
        misses.append(str(miss.value))
    said = "the most alike cached request of openai/gpt-4o-mini differs in: "
    assert f"{said}max_tokens: 300 -> 200;" in misses[0]
    assert f"{said}temperature: 0.0 -> 0.5;" in misses[1]
    changed = "system (from character 9: cached 'You judge.', now 'You judge well.')"
    assert f"{said}{changed}" in misses[2]
    with pytest.raises(CacheMissError) as fourth:
        await replay.complete(asked, max_tokens=100, system="You judge.")
    assert "most alike" not in str(fourth.value), "later misses name the key alone"
    assert "(key " in str(fourth.value)


def _rows(cache: Path) -> int:
    with contextlib.closing(sqlite3.connect(cache)) as db:
        return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


async def test_a_reply_the_disk_refused_is_written_once_there_is_room(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A full disk (a file-size limit here) refuses the cache's write of a paid reply: the
    # reply was dropped after the warning, so a resumed run asked (and paid for) it again.
    from oversight.endpoints._cache import close_caches

    cache = tmp_path / "cache.sqlite"
    async with FakeOpenAIServer() as server:
        live = endpoint("openai/gpt-4o-mini", base_url=server.base_url, api_key=KEY, cache=cache)
        await live.complete("first")
        wal = cache.with_name("cache.sqlite-wal")
        with file_size_limit(wal.stat().st_size):
            paid = (await live.complete("second")).text
        assert "could not write 1 replies to the cache" in caplog.text
        url = server.base_url
    close_caches()  # at exit: room again
    assert _rows(cache) == 2
    replay = endpoint("openai/gpt-4o-mini", base_url=url, cache=cache, offline=True)
    assert (await replay.complete("second")).text == paid


async def test_offline_from_the_environment(
    openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVERSIGHT_OFFLINE", "1")
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY)
    with pytest.raises(CacheMissError):
        await ep.complete("q")
    assert openai_server.total_requests == 0
    with pytest.raises(ConfigError, match="offline but has no cache"):
        endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, cache=False)


async def test_invalid_structured_replies_are_not_cached(openai_server: FakeOpenAIServer) -> None:
    openai_server.reply = "not json at all"
    ep = endpoint(
        "openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY, validation_retries=1
    )
    with pytest.raises(StructuredOutputError):
        await ep.complete("judge", schema=Verdict)
    assert openai_server.total_requests == 2
    openai_server.reply = '{"answer": 1}'
    completion = await ep.complete("judge", schema=Verdict)
    assert completion.parsed == Verdict(answer=1) and not completion.cached
    assert (await ep.complete("judge", schema=Verdict)).cached


async def test_cache_false_writes_nothing(
    openai_server: FakeOpenAIServer, isolated_environment: Path
) -> None:
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY, cache=False)
    await ep.complete("q")
    await ep.complete("q")
    assert openai_server.total_requests == 2
    assert not isolated_environment.parent.exists()


async def test_mocks_are_not_cached_unless_asked(tmp_path: Path) -> None:
    replies = iter(["one", "two", "three"])
    scripted = endpoint("mock/m", replies=lambda request: next(replies))
    assert [(await scripted.complete("q")).text for _ in range(2)] == ["one", "two"]
    cached = endpoint("mock/m2", replies=lambda request: next(replies), cache=tmp_path / "c.db")
    assert [(await cached.complete("q")).text for _ in range(2)] == ["three", "three"]


_WRITER = """
import asyncio, sys
from oversight.endpoints import endpoint

async def main() -> None:
    ep = endpoint("mock/shared", replies=lambda r: "x", cache=sys.argv[1])
    await asyncio.gather(*(ep.complete(f"{sys.argv[2]}-{i}") for i in range(100)))

asyncio.run(main())
"""


def test_processes_share_one_cache_file_safely(tmp_path: Path) -> None:
    cache = tmp_path / "shared.sqlite"
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(cache), name])
        for name in ("a", "b", "c")
    ]
    assert [w.wait(timeout=60) for w in writers] == [0, 0, 0]
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 300


def test_an_endpoint_outlives_its_event_loop(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        ep = endpoint(
            "openai/gpt-4o-mini", base_url=server.base_url, api_key=KEY, cache=tmp_path / "c.db"
        )
        first = asyncio.run(ep.complete("asked in one asyncio.run"))
        second = asyncio.run(ep.complete("asked in the next"))
    assert (first.retries, second.retries) == (0, 0)
    assert server.total_requests == 2
    # Every reply is on disk, for another process to replay, once asyncio.run returns.
    with sqlite3.connect(tmp_path / "c.db") as db:
        assert db.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 2


def test_requests_are_stored_compressed_and_old_plain_rows_still_answer(tmp_path: Path) -> None:
    from oversight.endpoints._cache import close_caches, stored_request

    long_prompt = "The keeper wrote every ship into the ledger. " * 400
    with FakeOpenAIServer() as server:
        ep = endpoint(
            "openai/gpt-4o-mini", base_url=server.base_url, api_key=KEY, cache=tmp_path / "c.db"
        )
        first = asyncio.run(ep.complete(long_prompt))
        close_caches()
        with sqlite3.connect(tmp_path / "c.db") as db:
            (stored,) = db.execute("SELECT request FROM responses").fetchone()
            assert isinstance(stored, bytes) and len(stored) < len(long_prompt) // 10
            assert long_prompt in stored_request(stored)
            # A cache written before compression held the request as text: it still answers.
            db.execute("UPDATE responses SET request = ?", (stored_request(stored),))
        again = endpoint(
            "openai/gpt-4o-mini", base_url=server.base_url, api_key=KEY, cache=tmp_path / "c.db"
        )
        second = asyncio.run(again.complete(long_prompt))
        assert server.total_requests == 1
    assert second.cached and second.text == first.text
