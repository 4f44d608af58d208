"""No paid call twice: a reply is in the cache file before its spend line, and a kill at
either side of that line leaves a ledger a resumed session makes exact (or says what the
kill cut off)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest

from oversight.endpoints import endpoint
from oversight.runner._meter import Meter, MeteredEndpoint, SentEntry, SpendEntry
from oversight.testing import FakeOpenAIServer, FakeReply
from transcripts import JsonlLog
from transcripts.errors import ProviderError

PRICE = {"input": 1.0, "output": 2.0}


def _in_cache_file(cache: Path, key: str | None) -> bool:
    with contextlib.closing(sqlite3.connect(cache)) as db:
        row = db.execute("SELECT COUNT(*) FROM responses WHERE key = ?", (key,)).fetchone()
    return bool(row[0])


async def test_every_spend_line_is_written_after_its_reply_is_in_the_cache_file(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache.sqlite"
    seen: list[bool] = []

    class Checking(JsonlLog[SpendEntry]):
        """A ledger that looks, from another connection, at the cache file as it appends."""

        def append(self, record: SpendEntry) -> None:
            seen.append(_in_cache_file(cache, record.request_hash))
            super().append(record)

    meter = Meter(ledger=Checking(tmp_path / "spend.jsonl", SpendEntry))
    inner = endpoint("mock/x", replies=lambda request: "an answer", cache=cache, pricing=PRICE)
    ep = MeteredEndpoint(inner, meter)
    await asyncio.gather(*(ep.complete(f"question {i}") for i in range(5)))
    assert seen == [True] * 5
    marks = list(JsonlLog(tmp_path / "sent.jsonl", SentEntry))
    assert len(marks) == 5 and {m.id for m in marks} == {
        e.sent_id for e in JsonlLog(tmp_path / "spend.jsonl", SpendEntry)
    }


_CHILD = """
import asyncio, os, signal, sys
from pathlib import Path
from oversight.endpoints import endpoint
from oversight.testing import FakeOpenAIServer, FakeReply
from oversight.runner._meter import Meter, MeteredEndpoint, SpendEntry
from transcripts import JsonlLog

folder, where = sys.argv[1], sys.argv[2]

def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)

class Dying(JsonlLog[SpendEntry]):
    def append(self, record: SpendEntry) -> None:
        if where == "ledger":
            die()  # the reply is in the cache; its spend line is never written
        if where == "pause":  # the same moment, in a session that goes on
            print("paused", flush=True)
            sys.stdin.readline()
        super().append(record)

def reply(request):
    if where == "send":
        die()  # the request went out; no reply ever came back
    return "paid for"

async def main() -> None:
    meter = Meter(ledger=Dying(Path(folder, "spend.jsonl"), SpendEntry))
    inner = endpoint("mock/x", replies=reply, cache=os.path.join(folder, "cache.sqlite"),
                     pricing={"input": 1.0, "output": 2.0})
    await MeteredEndpoint(inner, meter).complete("question")

asyncio.run(main())
"""


def _killed_child(folder: Path, where: str) -> None:
    script = folder / "child.py"
    script.write_text(textwrap.dedent(_CHILD))
    done = subprocess.run(
        [sys.executable, str(script), str(folder), where],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


@pytest.mark.parametrize("where", ["ledger", "send"])
async def test_a_kill_on_either_side_of_the_ledger_leaves_an_exact_spend(
    tmp_path: Path, where: str
) -> None:
    _killed_child(tmp_path, where)
    sent: list[str] = []
    inner = endpoint(
        "mock/x",
        replies=lambda request: sent.append("x") or "paid for",
        cache=tmp_path / "cache.sqlite",
        pricing=PRICE,
    )
    meter = Meter(ledger=JsonlLog(tmp_path / "spend.jsonl", SpendEntry))
    assert meter.lost_in_flight == 1  # sent, never on the ledger
    recovered = meter.recover([inner])
    ledger = list(JsonlLog(tmp_path / "spend.jsonl", SpendEntry))
    if where == "ledger":
        # The reply reached the cache: its spend is written now, from the cached usage.
        assert recovered == 1 and meter.lost_in_flight == 0
        (line,) = ledger
        assert line.recovered and line.cost_usd is not None and line.cost_usd > 0
        assert meter.spent_usd == pytest.approx(line.cost_usd)
        assert "cut off" not in meter.spend_text()
    else:
        # Cut off in flight: counted and said, not guessed into the spend.
        assert recovered == 0 and meter.lost_in_flight == 1 and ledger == []
        assert "1 call(s) cut off in flight" in meter.spend_text()
    # Resumed, the same request is paid again only if it never reached the cache.
    await MeteredEndpoint(inner, meter).complete("question")
    assert len(sent) == (0 if where == "ledger" else 1)
    assert meter.calls == len(sent)


def test_a_session_beside_a_running_one_leaves_its_calls_in_flight_to_it(
    tmp_path: Path,
) -> None:
    # `oversight rejudge` of a run still running: the run's calls in flight are not a kill's.
    # They were counted as "cut off in flight by a kill", and one whose reply was in the
    # cache but not yet on the ledger got a second spend line, written by the newcomer.
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(_CHILD))
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), "pause"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        assert child.stdout.readline() == "paused\n"  # its reply is in the cache, unspent
        inner = endpoint(
            "mock/x",
            replies=lambda request: "paid for",
            cache=tmp_path / "cache.sqlite",
            pricing=PRICE,
        )
        beside = Meter(ledger=JsonlLog(tmp_path / "spend.jsonl", SpendEntry))
        assert beside.lost_in_flight == 0 and beside.recover([inner]) == 0
        assert "cut off" not in beside.spend_text()
        child.stdin.write("\n")
        child.stdin.close()
        assert child.wait(timeout=60) == 0, child.stderr.read() if child.stderr else ""
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    (line,) = JsonlLog(tmp_path / "spend.jsonl", SpendEntry)  # one call, one spend line
    assert not line.recovered
    assert Meter(ledger=JsonlLog(tmp_path / "spend.jsonl", SpendEntry)).lost_in_flight == 0


def test_marks_written_before_sessions_named_themselves_count_as_a_kills(
    tmp_path: Path,
) -> None:
    """``sent.jsonl`` as the previous version wrote it: mark ids name no session. A mark no
    spend line closes was cut off by a kill, as before; one a spend line closes is paid."""
    (tmp_path / "sent.jsonl").write_text(
        '{"id":"0a1b2c3d4e5f","event":"sent","endpoint":"mock/x","request_hash":"h1",'
        '"at":"2026-12-02T10:00:00+00:00"}\n'
        '{"id":"6f7e8d9c0b1a","event":"sent","endpoint":"mock/x","request_hash":"h2",'
        '"at":"2026-12-02T10:00:01+00:00"}\n'
    )
    ledger = JsonlLog(tmp_path / "spend.jsonl", SpendEntry)
    ledger.append(
        SpendEntry(endpoint="mock/x", cost_usd=0.5, sent_id="6f7e8d9c0b1a", request_hash="h2")
    )
    meter = Meter(ledger=JsonlLog(tmp_path / "spend.jsonl", SpendEntry))
    assert [m.id for m in meter.unclosed] == ["0a1b2c3d4e5f"]
    assert meter.lost_in_flight == 1 and meter.spent_usd == 0.5


async def test_a_request_cut_off_by_several_kills_is_paid_once_and_the_rest_lost(
    tmp_path: Path,
) -> None:
    # Two sessions killed with the same request in flight; a third got its answer (in the
    # cache, and on the ledger). Only that one is paid; the other two were lost in flight.
    cache = tmp_path / "cache.sqlite"
    inner = endpoint("mock/x", replies=lambda request: "paid for", cache=cache, pricing=PRICE)
    ledger: JsonlLog[SpendEntry] = JsonlLog(tmp_path / "spend.jsonl", SpendEntry)
    meter = Meter(ledger=ledger)
    completion = await MeteredEndpoint(inner, meter).complete("question")
    sent: JsonlLog[SentEntry] = JsonlLog(tmp_path / "sent.jsonl", SentEntry)
    for cut in ("first", "second"):
        sent.append(SentEntry(id=cut, endpoint="mock/x", request_hash=completion.call.request_hash))
    resumed = Meter(ledger=ledger)
    assert resumed.lost_in_flight == 2
    assert resumed.recover([inner]) == 0
    assert resumed.lost_in_flight == 2 and len(list(ledger)) == 1
    assert resumed.spent_usd == pytest.approx(meter.spent_usd)


async def test_a_call_cancelled_in_flight_is_not_said_to_be_cut_off_by_a_kill(
    tmp_path: Path,
) -> None:
    """A sibling call fails, so the call beside it is cancelled while the provider has it
    (no kill anywhere): the next session counts it as cut off, and says it may have been a
    cancellation, not that a kill cut it off."""
    cache = tmp_path / "cache.sqlite"
    started = asyncio.Event()

    async def hang(request: object) -> str:
        started.set()
        await asyncio.Event().wait()  # the provider never answers before the cancellation
        return "never"

    def refuse(request: object) -> str:
        raise ProviderError("scripted failure", status_code=400)

    meter = Meter(ledger=JsonlLog(tmp_path / "spend.jsonl", SpendEntry))
    slow = MeteredEndpoint(endpoint("mock/slow", replies=hang, cache=cache), meter)
    bad = MeteredEndpoint(endpoint("mock/bad", replies=refuse, cache=cache), meter)

    async def fail_once_the_other_is_sent() -> None:
        await started.wait()
        await bad.complete("a question")

    with pytest.raises(ExceptionGroup):
        async with asyncio.TaskGroup() as siblings:
            siblings.create_task(slow.complete("a question"))
            siblings.create_task(fail_once_the_other_is_sent())
    meter.close()
    after = Meter(ledger=JsonlLog(tmp_path / "spend.jsonl", SpendEntry))
    assert after.lost_in_flight == 1  # sent, never closed: perhaps charged
    text = after.spend_text()
    assert "1 call(s) cut off in flight" in text and "cancel" in text, text


async def test_a_recovered_reply_without_token_counts_counts_at_its_bound(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    """A kill after the reply reached the cache and before its spend line: the resumed
    session writes the line from the cache. For a server that sends no token counts it
    was written as of unknown cost, so ``--max-cost`` never counted it (every other such
    reply counts at the most it can have cost). Now it is counted at that bound."""
    openai_server.reply = lambda body: FakeReply("an argument", usage=False)
    inner = endpoint(
        "openai/served-model",
        base_url=openai_server.base_url,
        api_key="test-key",
        pricing=PRICE,
        cache=tmp_path / "cache.sqlite",
    )
    question = "Which answer is right? " * 40
    completion = await inner.complete(question, max_tokens=300)  # reached the cache...
    sent: JsonlLog[SentEntry] = JsonlLog(tmp_path / "sent.jsonl", SentEntry)
    sent.append(  # ...sent by a session killed before its spend line
        SentEntry(id="cut", endpoint=inner.spec, request_hash=completion.call.request_hash)
    )
    ledger: JsonlLog[SpendEntry] = JsonlLog(tmp_path / "spend.jsonl", SpendEntry)
    meter = Meter(ledger=ledger)
    assert meter.recover([inner]) == 1
    (line,) = list(ledger)
    bound = inner.cost_bound(question, max_tokens=300)
    assert line.recovered and line.cost_usd is None
    assert line.estimated_usd == pytest.approx(bound)
    assert meter.counted_usd == pytest.approx(bound) and meter.unknown_cost_calls == 0
    resumed = Meter(ledger=JsonlLog(tmp_path / "spend.jsonl", SpendEntry))
    assert resumed.counted_usd == pytest.approx(bound)


async def test_a_recovered_reply_whose_stored_request_is_unreadable_stays_of_unknown_cost(
    tmp_path: Path, openai_server: FakeOpenAIServer
) -> None:
    openai_server.reply = lambda body: FakeReply("an argument", usage=False)
    cache = tmp_path / "cache.sqlite"
    inner = endpoint(
        "openai/served-model",
        base_url=openai_server.base_url,
        api_key="test-key",
        pricing=PRICE,
        cache=cache,
    )
    key = (await inner.complete("question")).call.request_hash
    await inner.aclose()
    with contextlib.closing(sqlite3.connect(cache)) as db:  # as an older key's row reads
        db.execute("UPDATE responses SET request = ?", (zlib.compress(b'{"v": 1}'),))
        db.commit()
    JsonlLog(tmp_path / "sent.jsonl", SentEntry).append(
        SentEntry(id="cut", endpoint=inner.spec, request_hash=key)
    )
    again = endpoint(
        "openai/served-model",
        base_url=openai_server.base_url,
        api_key="k",
        pricing=PRICE,
        cache=cache,
    )
    meter = Meter(ledger=JsonlLog(tmp_path / "spend.jsonl", SpendEntry))
    assert meter.recover([again]) == 1
    assert meter.unknown_cost_calls == 1 and meter.counted_usd == 0
