"""The one retry layer, driven through the real SDKs against the fake servers."""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import time
from collections import defaultdict

import pytest

from oversight.endpoints import endpoint
from oversight.endpoints._retry import parse_retry_after, status_failure
from oversight.errors import ProviderError, RetriesExhaustedError
from oversight.testing import FakeAnthropicServer, FakeOpenAIServer, Fault, RecordedRequest

KEY = "test-key"


def by_prompt(server: FakeOpenAIServer | FakeAnthropicServer) -> dict[str, list[RecordedRequest]]:
    """The attempts the server saw for each distinct prompt, in order."""
    attempts: dict[str, list[RecordedRequest]] = defaultdict(list)
    for record in server.requests:
        attempts[record.last_user_message].append(record)
    return attempts


async def test_200_calls_through_429s_and_500s_all_succeed_honouring_retry_after(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.set_faults(
        {Fault.rate_limit(retry_after=0.05): 0.3, Fault.server_error(): 0.1}, seed=7
    )
    ep = endpoint(
        "openai/gpt-4o-mini",
        base_url=openai_server.base_url,
        api_key=KEY,
        max_concurrency=64,
        retry_backoff=0.01,
        cache=False,
    )
    completions = await asyncio.gather(*(ep.complete(f"question {i}") for i in range(200)))

    assert [c.text for c in completions] == [f"echo: question {i}" for i in range(200)]
    faults = [r.fault for r in openai_server.requests if r.fault is not None]
    assert sum(f.status == 429 for f in faults) > 40 and sum(f.status == 500 for f in faults) > 10
    assert openai_server.total_requests == 200 + len(faults)
    assert sum(c.retries for c in completions) == len(faults)
    attempts = by_prompt(openai_server)
    for i, completion in enumerate(completions):
        tried = attempts[f"question {i}"]
        assert len(tried) <= 11  # max_retries=10 by default
        # Planned waits, not wall-clock gaps: each 429 asked for 0.05 s and was given at
        # least that (a 500 with no Retry-After backs off from 0.01 s).
        rate_limited = sum(r.fault is not None and r.fault.status == 429 for r in tried)
        assert completion.call.retry_wait_s >= 0.05 * rate_limited
        assert (completion.call.retry_wait_s > 0) == (completion.retries > 0)


async def test_400_fails_after_one_request_with_the_provider_message(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.set_faults([Fault.bad_request("max_tokens is too large: 99999999")])
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY)
    with pytest.raises(ProviderError, match="max_tokens is too large: 99999999") as info:
        await ep.complete("hi", max_tokens=99999999)
    assert openai_server.total_requests == 1
    assert info.value.status_code == 400 and info.value.request_id == "req_0"
    assert info.value.provider_message == "max_tokens is too large: 99999999"


async def test_attempts_are_bounded_then_a_clear_error(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_faults(lambda request: Fault.rate_limit(retry_after=0.01))
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY, max_retries=3)
    with pytest.raises(RetriesExhaustedError, match=r"gave up after 4 attempts.*HTTP 429"):
        await ep.complete("hi")
    assert openai_server.total_requests == 4


async def test_total_retry_time_is_bounded(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_faults(lambda request: Fault.rate_limit(retry_after=0.3))
    ep = endpoint(
        "openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY, max_retry_time=0.5
    )
    with pytest.raises(RetriesExhaustedError, match="gave up after"):
        await ep.complete("hi")
    # Each wait is at least 0.3 s, so within 0.5 s at most one retry can start (a loaded
    # machine may leave no room for it); without the bound there would be 11 attempts.
    assert 1 <= openai_server.total_requests <= 2


async def test_timeouts_dropped_connections_and_malformed_bodies_are_retried(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.set_faults([Fault.slow(2.0), Fault.drop(), Fault.malformed_json()])
    ep = endpoint(
        "openai/gpt-4o-mini",
        base_url=openai_server.base_url,
        api_key=KEY,
        timeout=0.2,
        retry_backoff=0.01,
    )
    completion = await ep.complete("hi")
    assert completion.text == "echo: hi" and completion.retries == 3
    assert openai_server.total_requests == 4


async def test_a_server_that_never_answers_in_time_is_named_in_the_error(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.set_faults(lambda request: Fault.slow(1.0))
    ep = endpoint(
        "openai/gpt-4o-mini",
        base_url=openai_server.base_url,
        api_key=KEY,
        timeout=0.1,
        max_retries=1,
        retry_backoff=0.01,
    )
    with pytest.raises(RetriesExhaustedError, match=r"after 2 attempts.*timed out after 0.1s"):
        await ep.complete("hi")


async def test_server_errors_back_off_exponentially(openai_server: FakeOpenAIServer) -> None:
    openai_server.set_faults([Fault.server_error(503)] * 3)
    ep = endpoint(
        "openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY, retry_backoff=0.04
    )
    completion = await ep.complete("hi")
    # Steps of 0.04, 0.08, 0.16 s, each drawn from [half, whole] of its step: the planned
    # waits say so (measured gaps would depend on how busy the machine is).
    steps = (0.04, 0.08, 0.16)
    assert completion.retries == 3 and openai_server.total_requests == 4
    assert sum(steps) / 2 <= completion.call.retry_wait_s <= sum(steps)


async def test_a_server_that_says_do_not_retry_is_not_retried(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.set_faults(
        [Fault.error(503, "shard is gone", headers={"x-should-retry": "false"})]
    )
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY)
    with pytest.raises(ProviderError, match="shard is gone"):
        await ep.complete("hi")
    assert openai_server.total_requests == 1


async def test_anthropic_overload_529_and_mid_stream_are_retried(
    anthropic_server: FakeAnthropicServer,
) -> None:
    anthropic_server.set_faults([Fault.overloaded(retry_after=0.05), Fault.overloaded_mid_stream()])
    ep = endpoint(
        "anthropic/claude-haiku-4-5",
        base_url=anthropic_server.base_url,
        api_key=KEY,
        retry_backoff=0.01,
    )
    completion = await ep.complete("hi")
    assert completion.text == "echo: hi" and completion.retries == 2
    assert [r.status for r in anthropic_server.requests] == [529, 200, 200]
    # The planned wait honoured the 529's Retry-After (0.05 s), and the mid-stream overload's.
    assert completion.call.retry_wait_s >= 0.05


async def test_anthropic_spend_limit_429_is_not_retried(
    anthropic_server: FakeAnthropicServer,
) -> None:
    anthropic_server.set_faults(
        lambda request: Fault.error(
            429,
            "monthly spend limit reached",
            error_type="rate_limit_error",
            code="enforced_spend_limit_reached",
        )
    )
    ep = endpoint("anthropic/claude-haiku-4-5", base_url=anthropic_server.base_url, api_key=KEY)
    with pytest.raises(ProviderError, match="monthly spend limit reached"):
        await ep.complete("hi")
    assert anthropic_server.total_requests == 1


async def test_openai_insufficient_quota_429_is_not_retried(
    openai_server: FakeOpenAIServer,
) -> None:
    # OpenAI's 429 for an account out of credit: no wait clears it, so every retry (and the
    # pause it puts on every other caller of the model) is time lost before the same error.
    openai_server.set_faults(
        lambda request: Fault.error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            error_type="insufficient_quota",
            code="insufficient_quota",
        )
    )
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, api_key=KEY, cache=False)
    with pytest.raises(ProviderError, match="exceeded your current quota"):
        await ep.complete("hi")
    assert openai_server.total_requests == 1


def test_retry_after_headers_parse_ms_seconds_and_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_000_000.0)  # a fixed clock: no race with it
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    date = email.utils.formatdate(1_000_030.0, usegmt=True)
    assert parse_retry_after({"retry-after": date}) == 30.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def _openai_429(reset_requests: str, reset_tokens: str, *, out_of: str = "requests") -> Fault:
    """OpenAI's 429 without Retry-After, as it often comes: only its x-ratelimit headers say
    when the limit that ran out (``out_of``) resets."""
    return Fault.error(
        429,
        "Rate limit reached for gpt-4o-mini",
        error_type="requests",
        headers={
            "x-ratelimit-remaining-requests": "0" if out_of == "requests" else "499",
            "x-ratelimit-reset-requests": reset_requests,
            "x-ratelimit-remaining-tokens": "0" if out_of == "tokens" else "29000",
            "x-ratelimit-reset-tokens": reset_tokens,
        },
    )


async def test_an_openai_429_waits_for_the_exhausted_limit_to_reset(
    openai_server: FakeOpenAIServer,
) -> None:
    # No Retry-After: the wait is the reset of the limit that ran out (here the tokens',
    # 300 ms), not a backoff of 10 ms that would be refused again at once.
    openai_server.set_faults([_openai_429("20ms", "300ms", out_of="tokens")])
    ep = endpoint(
        "openai/gpt-4o-mini",
        base_url=openai_server.base_url,
        api_key=KEY,
        retry_backoff=0.01,
        cache=False,
    )
    completion = await ep.complete("hi")
    assert completion.text == "echo: hi" and completion.retries == 1
    assert completion.call.retry_wait_s >= 0.3  # the planned wait, not a clock reading


async def test_an_openai_429_whose_reset_is_past_the_retry_budget_fails_at_once(
    openai_server: FakeOpenAIServer,
) -> None:
    # The requests' limit resets in 1m30s, past max_retry_time=60: give up now, saying so,
    # rather than retrying every half second into the same 429.
    openai_server.set_faults(lambda request: _openai_429("1m30s", "5ms"))
    ep = endpoint(
        "openai/gpt-4o-mini",
        base_url=openai_server.base_url,
        api_key=KEY,
        max_retry_time=60,
        cache=False,
    )
    with pytest.raises(RetriesExhaustedError, match="gave up after 1 attempts"):
        await ep.complete("hi")
    assert openai_server.total_requests == 1


def test_openai_rate_limit_resets_parse_in_every_format() -> None:
    def wait(**headers: str) -> float | None:
        named = {name.replace("_", "-"): value for name, value in headers.items()}
        return status_failure(429, "slow down", headers=named).retry_after_s

    both_out = {"x_ratelimit_remaining_requests": "0", "x_ratelimit_remaining_tokens": "0"}
    for reset, seconds in [
        ("1m30s", 90.0),
        ("6m0s", 360.0),
        ("1h2m3.5s", 3723.5),
        ("120ms", 0.12),
        ("1.5s", 1.5),
        ("250us", 0.00025),
        ("20", 20.0),  # Azure: plain seconds
    ]:
        headers = {**both_out, "x_ratelimit_reset_requests": reset}
        assert wait(**headers) == pytest.approx(seconds), reset
    # The longest wait of the limits that ran out; a limit with room left does not count.
    assert wait(**both_out, x_ratelimit_reset_requests="2s", x_ratelimit_reset_tokens="7s") == 7
    assert (
        wait(
            x_ratelimit_remaining_requests="0",
            x_ratelimit_reset_requests="2s",
            x_ratelimit_remaining_tokens="100",
            x_ratelimit_reset_tokens="7s",
        )
        == 2
    )
    # Retry-After, when sent, wins; nothing usable (no limit ran out, a reset of 0 or an
    # unknown format) leaves the backoff to decide.
    assert wait(**both_out, x_ratelimit_reset_requests="9s", retry_after="1") == 1
    assert wait(x_ratelimit_remaining_requests="5", x_ratelimit_reset_requests="9s") is None
    assert wait(x_ratelimit_remaining_requests="-1", x_ratelimit_reset_requests="0") is None
    assert wait(**both_out, x_ratelimit_reset_requests="soon") is None


NOW = 1_796_310_000.0  # the fixed wall clock of the Anthropic tests: 2026-12-03T15:00:00Z


def _rfc3339(seconds_from_now: float) -> str:
    """A reset time as Anthropic sends it (RFC 3339, UTC), ``seconds_from_now`` after NOW."""
    stamp = datetime.datetime.fromtimestamp(NOW + seconds_from_now, datetime.UTC)
    return stamp.isoformat().replace("+00:00", "Z")


def _anthropic_429(**resets: float) -> Fault:
    """Anthropic's 429 without retry-after: its anthropic-ratelimit headers say which limits
    ran out (those in ``resets``, remaining 0) and when each limit resets (the others have
    room and reset in 1 s)."""
    headers = {}
    for limit in ("requests", "tokens", "input-tokens", "output-tokens"):
        prefix = f"anthropic-ratelimit-{limit}"
        out = limit.replace("-", "_") in resets
        headers[f"{prefix}-limit"] = "50" if limit == "requests" else "40000"
        headers[f"{prefix}-remaining"] = "0" if out else "20"
        headers[f"{prefix}-reset"] = _rfc3339(resets.get(limit.replace("-", "_"), 1.0))
    return Fault.error(
        429,
        "This request would exceed the rate limit for your organization of 8,000 output "
        "tokens per minute.",
        error_type="rate_limit_error",
        headers=headers,
    )


async def test_an_anthropic_429_waits_for_the_exhausted_limit_to_reset(
    anthropic_server: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No retry-after: the wait is the reset of the limit that ran out (the output tokens',
    # 300 ms after the fixed clock), not a backoff of 10 ms refused again at once.
    monkeypatch.setattr(time, "time", lambda: NOW)
    anthropic_server.set_faults([_anthropic_429(output_tokens=0.3)])
    ep = endpoint(
        "anthropic/claude-haiku-4-5",
        base_url=anthropic_server.base_url,
        api_key=KEY,
        retry_backoff=0.01,
        cache=False,
    )
    completion = await ep.complete("hi")
    assert completion.text == "echo: hi" and completion.retries == 1
    assert completion.call.retry_wait_s >= 0.3  # the planned wait, not a clock reading


async def test_an_anthropic_429_whose_reset_is_past_the_retry_budget_fails_at_once(
    anthropic_server: FakeAnthropicServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The input tokens' limit resets in 90 s, past max_retry_time=60: give up now, saying so,
    # rather than retrying into the same 429.
    monkeypatch.setattr(time, "time", lambda: NOW)
    anthropic_server.set_faults(lambda request: _anthropic_429(input_tokens=90))
    ep = endpoint(
        "anthropic/claude-haiku-4-5",
        base_url=anthropic_server.base_url,
        api_key=KEY,
        max_retries=2,
        max_retry_time=60,
        retry_backoff=0.01,
        cache=False,
    )
    with pytest.raises(RetriesExhaustedError, match="gave up after 1 attempts"):
        await ep.complete("hi")
    assert anthropic_server.total_requests == 1


def test_anthropic_rate_limit_resets_parse_as_rfc3339(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: NOW)

    def wait(status: int = 429, **headers: str) -> float | None:
        named = {name.replace("_", "-"): value for name, value in headers.items()}
        return status_failure(status, "slow down", headers=named).retry_after_s

    out = "anthropic_ratelimit_{}_remaining"
    reset = "anthropic_ratelimit_{}_reset"
    for stamp, seconds in [
        ("2026-12-03T15:00:30Z", 30.0),
        ("2026-12-03T15:01:00.250Z", 60.25),
        ("2026-12-03T16:00:30+01:00", 30.0),
        ("2026-12-03t15:00:30z", 30.0),
    ]:
        for limit in ("requests", "tokens", "input_tokens", "output_tokens"):
            headers = {out.format(limit): "0", reset.format(limit): stamp}
            assert wait(**headers) == pytest.approx(seconds), (limit, stamp)
    # The longest wait of the limits that ran out; a limit with room left does not count.
    assert (
        wait(
            anthropic_ratelimit_requests_remaining="0",
            anthropic_ratelimit_requests_reset=_rfc3339(2),
            anthropic_ratelimit_tokens_remaining="0",
            anthropic_ratelimit_tokens_reset=_rfc3339(7),
            anthropic_ratelimit_input_tokens_remaining="1000",
            anthropic_ratelimit_input_tokens_reset=_rfc3339(40),
        )
        == 7
    )
    exhausted = {out.format("tokens"): "0", reset.format("tokens"): _rfc3339(9)}
    # retry-after, when sent, wins; a reset already past, without an offset, or unreadable
    # leaves the backoff to decide; so does an overload (529), which no limit of ours caused.
    assert wait(**exhausted, retry_after="1") == 1
    assert wait(**{**exhausted, reset.format("tokens"): _rfc3339(-5)}) is None
    assert wait(**{**exhausted, reset.format("tokens"): "2026-12-03T15:00:30"}) is None
    assert wait(**{**exhausted, reset.format("tokens"): "in a minute"}) is None
    assert wait(529, **exhausted) is None
