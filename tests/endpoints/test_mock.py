"""Mock endpoints: scripted replies for tests, invented ones for dry runs."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, Field

from oversight.endpoints import MockBackend, Reply, Request, endpoint
from oversight.errors import ConfigError, ProviderError, RetriesExhaustedError


class Verdict(BaseModel):
    answer: int = Field(ge=0, le=1)
    probabilities: list[float] = Field(min_length=2, max_length=2)
    rationale: str


async def test_scripted_list_answers_in_order_and_records_requests() -> None:
    ep = endpoint("mock/debater", replies=["first", {"answer": 1}])
    first = await ep.complete("Argue for A", system="You are a debater")
    second = await ep.complete("Argue again")
    assert (first.text, json.loads(second.text)) == ("first", {"answer": 1})
    assert isinstance(ep.backend, MockBackend)
    assert [r.messages[0].content for r in ep.backend.requests] == ["Argue for A", "Argue again"]
    assert ep.backend.requests[0].system == "You are a debater"
    assert first.cost_usd == 0.0 and not first.cached


async def test_scripted_function_sync_or_async_sees_the_request() -> None:
    async def reply(request: Request) -> str:
        return f"you said {request.messages[-1].content}"

    ep = endpoint("mock/echo", replies=reply)
    assert (await ep.complete("hello")).text == "you said hello"
    ep2 = endpoint("mock/echo2", replies=lambda r: Reply(text="x"))
    assert (await ep2.complete("hi")).text == "x"


async def test_running_out_of_scripted_replies_says_so() -> None:
    ep = endpoint("mock/short", replies=["only one"])
    await ep.complete("a")
    with pytest.raises(ConfigError, match="ran out of scripted replies"):
        await ep.complete("b")


async def test_dry_run_mock_invents_deterministic_text_with_usage() -> None:
    ep = endpoint("mock/dry")
    a = await ep.complete("Which answer?", max_tokens=200)
    b = await endpoint("mock/dry").complete("Which answer?", max_tokens=200)
    c = await ep.complete("Another question?", max_tokens=200)
    assert a.text == b.text != c.text
    assert a.text.startswith("[draft ") and "dry" not in a.text and "mock" not in a.text
    assert a.usage.input_tokens > 0 and 50 <= a.usage.output_tokens <= 200


async def test_dry_run_mock_returns_schema_valid_objects() -> None:
    ep = endpoint("mock/judge")
    completion = await ep.complete("Judge this", schema=Verdict)
    assert isinstance(completion.parsed, Verdict)
    schema = {
        "type": "object",
        "properties": {
            "choice": {"enum": ["A", "B"]},
            "confidence": {"type": "number", "minimum": 0.5, "maximum": 1},
            "quotes": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        "required": ["choice", "confidence", "quotes"],
        "additionalProperties": False,
    }
    parsed = (await ep.complete("Judge this", schema=schema)).parsed
    assert parsed["choice"] in {"A", "B"} and 0.5 <= parsed["confidence"] <= 1
    assert len(parsed["quotes"]) >= 1


async def test_invalid_scripted_reply_is_asked_again_then_fails_clearly() -> None:
    ep = endpoint("mock/bad", replies=["not json", '{"answer": 3}', "{}"])
    with pytest.raises(Exception, match="after 3 replies") as info:
        await ep.complete("judge", schema=Verdict)
    assert "does not match Verdict" in str(info.value)
    assert len(ep.backend.requests) == 3  # type: ignore[attr-defined]


async def test_invalid_then_valid_reply_counts_a_retry() -> None:
    good = {"answer": 1, "probabilities": [0.2, 0.8], "rationale": "quote checks out"}
    ep = endpoint("mock/flaky-json", replies=["{oops", good])
    completion = await ep.complete("judge", schema=Verdict)
    assert completion.parsed == Verdict(**good) and completion.retries == 1


async def test_scripted_provider_errors_go_through_the_retry_layer() -> None:
    def script(request: Request) -> str:
        if len(backend.requests) < 3:
            raise ProviderError("busy", status_code=429)
        return "finally"

    ep = endpoint("mock/limited", replies=script, retry_backoff=0.001)
    backend = ep.backend
    assert isinstance(backend, MockBackend)
    completion = await ep.complete("go")
    assert completion.text == "finally" and completion.retries == 2

    def down(request: Request) -> str:
        raise ProviderError("down", status_code=503)

    always = endpoint("mock/down", replies=down, max_retries=2, retry_backoff=0.001)
    with pytest.raises(RetriesExhaustedError, match="gave up after 3 attempts"):
        await always.complete("go")


async def test_unknown_option_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown option.*max_concurency"):
        endpoint("mock/x", max_concurency=3)
    with pytest.raises(ConfigError, match="only for mock"):
        endpoint("openai/gpt-4o-mini", replies=["x"])
    with pytest.raises(ConfigError, match="no model"):
        endpoint("openai")


@pytest.mark.parametrize("max_retry_time", [0.01, 0.2, 0.35, 0.6])
def test_giving_up_on_max_retry_time_counts_every_attempt_made(
    monkeypatch: pytest.MonkeyPatch, max_retry_time: float
) -> None:
    # In virtual loop time (the retry layer's clock follows it), so where the time bound
    # falls is decided by the planned waits alone, not by how busy the machine is.
    import asyncio
    import re
    import time

    from tests.endpoints.test_limits import VirtualClockLoop

    loop = VirtualClockLoop()
    monkeypatch.setattr(time, "monotonic", loop.time)
    made: list[float] = []

    async def down(request: Request) -> str:
        made.append(loop.time())
        await asyncio.sleep(0.05)  # each attempt takes a while to fail
        raise ProviderError("down", status_code=503)

    ep = endpoint(
        "mock/down-slowly",
        replies=down,
        max_retry_time=max_retry_time,
        retry_backoff=0.1,
        retry_backoff_max=0.1,
    )
    try:
        with pytest.raises(RetriesExhaustedError) as info:
            loop.run_until_complete(ep.complete("go"))
    finally:
        loop.close()
    said = re.search(r"gave up after (\d+) attempts", str(info.value))
    assert said is not None and int(said.group(1)) == len(made), str(info.value)
    assert len(made) < 11  # the time bound, not max_retries, ended it


async def test_invented_replies_depend_on_the_request_not_the_name() -> None:
    """As the endpoints guide says: two mock models asked the same thing answer the same
    (so two mock judges of one transcript agree exactly); a different seed tells them apart."""
    asked = {"max_tokens": 40, "schema": Verdict}
    strong, weak = endpoint("mock/strong"), endpoint("mock/weak")
    same = [(await ep.complete("Which answer?", **asked)).text for ep in (strong, weak)]
    assert same[0] == same[1]
    seeded = (await weak.complete("Which answer?", seed=1, **asked)).text
    assert seeded != same[0]
    assert Verdict.model_validate_json(seeded)
