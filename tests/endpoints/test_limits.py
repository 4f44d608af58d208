"""Limits per model and server, shared by every endpoint of that model in the process."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from oversight.endpoints import Request, endpoint
from oversight.errors import ProviderError, RetriesExhaustedError
from oversight.testing import FakeOpenAIServer

KEY = "test-key"


async def test_max_concurrency_caps_what_the_server_sees(openai_server: FakeOpenAIServer) -> None:
    openai_server.latency = 0.05
    ep = endpoint(
        "openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY, max_concurrency=8
    )
    await asyncio.gather(*(ep.complete(f"q{i}") for i in range(64)))
    assert openai_server.total_requests == 64
    assert openai_server.peak_concurrency == 8


async def test_endpoints_of_one_model_share_the_limit_and_the_strictest_wins(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.latency = 0.05
    debater = endpoint(
        "openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY, max_concurrency=6
    )
    judge = endpoint(
        "openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY, max_concurrency=4
    )
    other_model = endpoint(  # known not llama.cpp's: its first wave waits for no reply
        "openai/gpt-4o", base_url=openai_server.base_url, api_key=KEY, llama_cpp=False
    )
    await asyncio.gather(
        *(debater.complete(f"d{i}") for i in range(20)),
        *(judge.complete(f"j{i}") for i in range(20)),
    )
    assert openai_server.peak_concurrency == 4
    openai_server.reset()
    await asyncio.gather(*(other_model.complete(f"o{i}") for i in range(20)))
    assert openai_server.peak_concurrency == 20  # another model has its own budget


async def test_each_api_key_has_its_own_limits(openai_server: FakeOpenAIServer) -> None:
    # Providers limit an organisation (a key), not a model: two keys for one model are two
    # budgets. A second team's key must not halve the first's concurrency, nor share its
    # pause after a 429.
    openai_server.latency = 0.05
    team_a, team_b = (
        endpoint(
            "openai/gpt-4o-mini",
            base_url=openai_server.base_url,
            api_key=key,
            max_concurrency=2,
            cache=False,
        )
        for key in ("key-of-team-a", "key-of-team-b")
    )
    await asyncio.gather(
        *(team_a.complete(f"a{i}") for i in range(10)),
        *(team_b.complete(f"b{i}") for i in range(10)),
    )
    assert openai_server.peak_concurrency == 4
    assert team_a.limits is not team_b.limits
    assert team_a.limits.name == team_b.limits.name  # the key is in no name or log line
    openai_server.reset()
    same_key = endpoint(
        "openai/gpt-4o-mini", base_url=openai_server.base_url, api_key="key-of-team-a"
    )
    assert same_key.limits is team_a.limits  # one key, one budget


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer whenever nothing else is ready, as
    aiolimiter's own tests patch the loop clock: rate limits are checked in loop time, with
    no sleeping and no dependence on how busy the machine is. Only for in-process backends
    (a real socket would wait in real time).

    Work handed to a thread (``asyncio.to_thread``, e.g. an endpoint's identity on its first
    call) takes no loop time: while any is running, the clock stands still. Were it to jump
    to the next timer meanwhile, how far the callers got before that timer would depend on
    how fast the thread ran, that is on how busy the machine was."""

    def __init__(self) -> None:
        super().__init__()
        self._now = 0.0
        self._threads = 0

    def time(self) -> float:
        return self._now

    def run_in_executor(self, executor: Any, func: Any, *args: Any) -> asyncio.Future[Any]:  # type: ignore[override]
        future = super().run_in_executor(executor, func, *args)
        self._threads += 1

        def done(_: object) -> None:
            self._threads -= 1

        future.add_done_callback(done)
        return future

    def _run_once(self) -> None:
        if not self._ready and self._threads:  # type: ignore[attr-defined]
            # Idle but for threads: wait for them in real time, the clock standing still.
            super()._run_once()  # type: ignore[misc]
            return
        # A microsecond per turn of the loop, as a real clock ticks (so a timer set for
        # "now" after float rounding cannot repeat forever), then a jump when idle.
        self._now += 1e-6
        scheduled = self._scheduled  # type: ignore[attr-defined]
        if not self._ready and scheduled:  # type: ignore[attr-defined]
            self._now = max(self._now, scheduled[0].when())
        super()._run_once()  # type: ignore[misc]


def _sent_times(model: str, calls: list[dict[str, object]], **limits: float) -> list[float]:
    """Loop times at which a mock provider received each call, under ``limits``."""
    loop = VirtualClockLoop()
    sent: list[float] = []

    def reply(request: Request) -> str:
        sent.append(loop.time())
        return "{}" if request.schema_ else "ok"

    async def main() -> None:
        ep = endpoint(f"mock/{model}", replies=reply, **limits)  # type: ignore[arg-type]
        await asyncio.gather(
            *(
                ep.complete(f"q{i}", **options)  # type: ignore[arg-type]
                for i, options in enumerate(calls)
            )
        )

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    return sent


def _most_in_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    start, best = 0, 0
    for end, t in enumerate(ordered):
        while t - ordered[start] > window + 1e-9:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_rpm_holds_over_a_window_of_loop_time() -> None:
    sent = _sent_times("rpm-probe", [{}] * 40, rpm=3000)
    # 3000 rpm is 50 a second, with bursts of at most a tenth of a second's worth (5).
    assert len(sent) == 40
    assert max(sent) - min(sent) >= (40 - 5) / 50 - 1e-9
    assert _most_in_window(sent, 0.5) <= 5 + 25


def test_tpm_holds_over_a_window_of_loop_time() -> None:
    # Each request counts about 1,000 tokens (its max_tokens) of the 10,000 a second.
    sent = _sent_times("tpm-probe", [{"max_tokens": 1000}] * 20, tpm=600_000)
    assert max(sent) - min(sent) >= (20 - 10) / 10 * 0.95
    assert _most_in_window(sent, 0.5) <= 10 + 5


def test_a_request_bigger_than_the_token_bucket_still_counts_in_full() -> None:
    # The bucket holds 1,000 tokens (one second's): the second request waits for the
    # first's whole 1,000 (and its own 500) to drain at 1,000 a second.
    sent = _sent_times("bucket-probe", [{"max_tokens": 1000}, {"max_tokens": 500}], tpm=60_000)
    assert max(sent) - min(sent) >= 0.45


def test_a_schema_counts_towards_the_tpm() -> None:
    # A structured-output schema is sent with the request and counted by the provider as
    # prompt tokens: here about 1,000 of them per request against 1,000 tokens a second.
    schema = {
        "type": "object",
        "properties": {
            f"field_{i:03d}": {"type": "string", "description": "x" * 9} for i in range(100)
        },
    }
    sent = _sent_times("schema-probe", [{"max_tokens": 10, "schema": schema}] * 3, tpm=60_000)
    assert max(sent) - min(sent) >= 1.5


def test_a_wait_past_the_retry_budget_fails_the_call_without_pausing_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A rate limit whose wait (here a 300 to 600 s backoff; a long Retry-After alike) is past
    # max_retry_time: the call gives up at once. It used to hand that wait to every other
    # caller of the model all the same, which then sat in a pause no retry of theirs asked
    # for, past their own max_retry_time, with nothing said.
    loop = VirtualClockLoop()
    monkeypatch.setattr(time, "monotonic", loop.time)
    sent: list[tuple[float, str]] = []

    async def reply(request: Request) -> str:
        prompt = request.messages[-1].content
        sent.append((loop.time(), prompt))
        if prompt == "refused":
            raise ProviderError("HTTP 429 rate limited", status_code=429)
        return "ok"

    ep = endpoint(
        "mock/budget-probe",
        replies=reply,
        retry_backoff=600,
        retry_backoff_max=600,
        max_retry_time=60,
        cache=False,
    )

    async def main() -> float:
        with pytest.raises(RetriesExhaustedError, match="gave up after 1 attempts"):
            await ep.complete("refused")
        failed_at = loop.time()
        assert (await ep.complete("next")).text == "ok"
        return failed_at

    try:
        failed_at = loop.run_until_complete(main())
    finally:
        loop.close()
    assert [prompt for _, prompt in sent] == ["refused", "next"]
    assert sent[1][0] - failed_at < 1.0  # loop time: sent at once, not 300 s or more later


def test_a_rate_limit_pauses_every_caller_of_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # In loop time (the virtual clock, which the limits' and retries' clock follows here):
    # mocks answer in no time at all, so without the shared pause the other callers would
    # send again within microseconds of the 429.
    loop = VirtualClockLoop()
    monkeypatch.setattr(time, "monotonic", loop.time)
    # What the provider saw, in the order it happened: a request sent, or the 429 answered.
    events: list[tuple[float, str]] = []

    async def reply(request: Request) -> str:
        prompt = request.messages[-1].content
        events.append((loop.time(), prompt))
        await asyncio.sleep(0.01)  # the model thinks (in loop time): the others are in flight
        if prompt == "caller 0 call 0" and all(said != "429" for _, said in events):
            events.append((loop.time(), "429"))
            raise ProviderError("HTTP 429 rate limited", status_code=429)
        return f"echo: {prompt}"

    # A debater and a judge of one model: two endpoints, one shared limits entry. With no
    # Retry-After the pause is the backoff: 0.3 s drawn from [0.15, 0.3].
    debater, judge = (
        # No response cache: its writes run in a thread, which the virtual clock cannot see
        # (it would move loop time on while a write is pending, reordering the callers).
        endpoint(
            "mock/pause-probe", replies=reply, retry_backoff=0.3, retry_backoff_max=0.3, cache=False
        )
        for _ in range(2)
    )

    async def caller(i: int) -> list[str]:
        ep = debater if i % 2 else judge
        return [(await ep.complete(f"caller {i} call {n}")).text for n in range(4)]

    async def main() -> list[list[str]]:
        return await asyncio.gather(*(caller(i) for i in range(10)))

    try:
        texts = loop.run_until_complete(main())
    finally:
        loop.close()
    assert texts == [[f"echo: caller {i} call {n}" for n in range(4)] for i in range(10)]
    answered = [prompt for _, prompt in events]
    assert answered.count("429") == 1 and len(answered) == 42  # 40 calls, one retried, the 429
    refused = answered.index("429")
    pause_from = events[refused][0]
    # The other callers' first requests were in flight when the 429 came and finished
    # normally. Nothing was sent after the 429 (in the order things happened, not by clock:
    # a request sent at the same instant but before it is no breach) until the pause was over.
    assert sorted(answered[:refused]) == sorted(f"caller {i} call 0" for i in range(10))
    in_pause = [prompt for at, prompt in events[refused + 1 :] if at < pause_from + 0.15]
    assert in_pause == [], f"{len(in_pause)} requests were sent during the pause"


def test_after_a_pause_requests_resume_at_the_rpm_not_all_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 600 rpm: 10 a second, one at a time. A 429 pauses the model for 5 to 10 s while 29
    # callers wait for the rate; when the pause ends they must go on at 10 a second, not
    # all together (the rate must not let them through during the pause, to be let loose
    # at its end as one burst: a provider answers that with another 429 storm).
    loop = VirtualClockLoop()
    monkeypatch.setattr(time, "monotonic", loop.time)
    sent: list[tuple[float, str]] = []

    async def reply(request: Request) -> str:
        prompt = request.messages[-1].content
        sent.append((loop.time(), prompt))
        await asyncio.sleep(0.01)
        if prompt == "q0" and len(sent) == 1:
            raise ProviderError("HTTP 429 rate limited", status_code=429)
        return "ok"

    ep = endpoint(
        "mock/resume-probe",
        replies=reply,
        rpm=600,
        retry_backoff=10,
        retry_backoff_max=10,
        cache=False,
    )

    async def main() -> None:
        await asyncio.gather(*(ep.complete(f"q{i}") for i in range(30)))

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert len(sent) == 31  # 30 calls, one retried
    refused_at = sent[0][0]
    resumed = [at for at, _ in sent if at > refused_at + 1]
    assert min(resumed) >= refused_at + 5  # the pause held
    assert _most_in_window(resumed, 0.5) <= 1 + 5  # a burst of 1, then 10 a second


async def test_a_caller_cancelled_while_waiting_for_a_slot_gives_its_turn_back() -> None:
    # Ctrl-C (or a stopped run) cancels callers queued behind max_concurrency: the one
    # cancelled sends nothing and holds no slot, so the next caller goes as soon as the
    # slot is free.
    hold, holding = asyncio.Event(), asyncio.Event()
    asked: list[str] = []

    async def reply(request: Request) -> str:
        prompt = request.messages[-1].content
        asked.append(prompt)
        if prompt == "first":
            holding.set()
            await hold.wait()
        return "ok"

    ep = endpoint("mock/cancel-probe", replies=reply, max_concurrency=1, rpm=6000, cache=False)
    first = asyncio.create_task(ep.complete("first"))
    await holding.wait()
    queued = asyncio.create_task(ep.complete("queued"))
    for _ in range(5):
        await asyncio.sleep(0)  # it reaches the queue for the slot
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    hold.set()
    assert (await first).text == "ok"
    assert (await ep.complete("next")).text == "ok"
    assert asked == ["first", "next"]


def test_a_caller_cancelled_while_waiting_for_the_rate_gives_its_slot_back() -> None:
    # One slot, 60 rpm: "waiting" holds the slot while it waits its second for the rate, and
    # is cancelled there; the slot must come back, or "next" would wait for ever.
    loop = VirtualClockLoop()
    asked: list[str] = []

    def reply(request: Request) -> str:
        asked.append(request.messages[-1].content)
        return "ok"

    async def main() -> str:
        ep = endpoint("mock/rate-cancel-probe", replies=reply, max_concurrency=1, rpm=60)
        await ep.complete("first")
        waiting = asyncio.create_task(ep.complete("waiting"))
        for _ in range(5):
            await asyncio.sleep(0)  # it takes the slot and waits for the rate
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return (await asyncio.wait_for(ep.complete("next"), timeout=30)).text  # loop time

    try:
        assert loop.run_until_complete(main()) == "ok"
    finally:
        loop.close()
    assert asked == ["first", "next"]
