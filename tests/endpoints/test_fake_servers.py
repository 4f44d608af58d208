"""The fake provider servers themselves, as a user testing their own protocol would use them."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import anthropic
import openai
import pytest

from oversight.testing import (
    FakeAnthropicServer,
    FakeOpenAIServer,
    FakeReply,
    Fault,
    RecordedRequest,
)


def ask(content: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": content}]


async def test_replies_are_scripted_from_the_request_body() -> None:
    async def script(body: dict[str, object]) -> str:
        await asyncio.sleep(0)
        system = body["messages"][0]["content"]  # type: ignore[index]
        return "I argue for A" if "debater A" in system else "I argue for B"

    async with FakeOpenAIServer(reply=script) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        texts = []
        for side in "AB":
            response = await client.chat.completions.create(
                model="m",
                messages=[
                    {"role": "system", "content": f"You are debater {side}"},
                    {"role": "user", "content": "Go"},
                ],
            )
            texts.append(response.choices[0].message.content)
        await client.close()
    assert texts == ["I argue for A", "I argue for B"]
    assert server.requests_by_path == {"/v1/chat/completions": 2}
    assert server.requests[1].body["messages"][0]["content"] == "You are debater B"


async def test_counters_see_timestamps_and_peak_concurrency() -> None:
    # Each reply waits until all six requests are in (a barrier, not a wall-clock guess).
    arrived = asyncio.Event()
    seen = 0

    async def script(body: dict[str, object]) -> str:
        nonlocal seen
        seen += 1
        if seen == 6:
            arrived.set()
        await arrived.wait()
        return "ok"

    async with FakeOpenAIServer(reply=script) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        await asyncio.gather(
            *(client.chat.completions.create(model="m", messages=ask(f"{i}")) for i in range(6))
        )
        await client.close()
    assert server.total_requests == 6 and server.peak_concurrency == 6 and server.in_flight == 0
    last_in = max(record.received_at for record in server.requests)
    for record in server.requests:
        assert record.responded_at is not None and record.responded_at >= last_in
        assert record.status == 200


async def test_random_faults_are_reproducible_with_a_seed() -> None:
    async def statuses(seed: int) -> list[int | None]:
        plan = {Fault.rate_limit(retry_after=1): 0.3, Fault.server_error(): 0.2}
        async with FakeOpenAIServer(faults=plan, seed=seed) as server:
            client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
            for i in range(40):
                try:
                    await client.chat.completions.create(model="m", messages=ask(f"{i}"))
                except openai.APIStatusError:
                    pass
            await client.close()
        return [r.status for r in server.requests]

    first, again, other = await statuses(1), await statuses(1), await statuses(2)
    assert first == again != other
    assert {429, 500, 200} == set(first)


async def test_fault_plans_by_list_and_by_function() -> None:
    def only_judges(record: RecordedRequest) -> Fault | None:
        return (
            Fault.bad_request("judges may not ask") if "judge" in record.last_user_message else None
        )

    async with FakeOpenAIServer(faults=only_judges) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        await client.chat.completions.create(model="m", messages=ask("debater speaks"))
        with pytest.raises(openai.BadRequestError, match="judges may not ask"):
            await client.chat.completions.create(model="m", messages=ask("judge asks"))
        server.set_faults([None, Fault.rate_limit(retry_after=3)])
        server.reset()
        await client.chat.completions.create(model="m", messages=ask("fine"))
        with pytest.raises(openai.RateLimitError) as info:
            await client.chat.completions.create(model="m", messages=ask("limited"))
        await client.close()
    assert info.value.response.headers["retry-after"] == "3"
    assert info.value.response.headers["retry-after-ms"] == "3000"


async def test_streams_and_anthropic_shapes_work_with_the_raw_sdks() -> None:
    async with FakeOpenAIServer(reply="one two three") as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        stream = await client.chat.completions.create(model="m", messages=ask("q"), stream=True)
        parts = [chunk.choices[0].delta.content async for chunk in stream if chunk.choices]
        await client.close()
    assert "".join(p or "" for p in parts) == "one two three"

    async with FakeAnthropicServer(reply="plain reply") as server:
        claude = anthropic.AsyncAnthropic(base_url=server.base_url, api_key="k", max_retries=0)
        message = await claude.messages.create(model="m", max_tokens=5, messages=ask("q"))
        await claude.close()
    assert message.content[0].text == "plain reply"  # type: ignore[union-attr]
    assert message.usage.input_tokens > 0


async def test_unknown_paths_get_a_404() -> None:
    async with FakeAnthropicServer() as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        with pytest.raises(openai.NotFoundError):
            await client.chat.completions.create(model="m", messages=ask("q"))
        await client.close()
    assert server.requests[0].status == 404


def test_a_server_in_a_thread_serves_synchronous_code() -> None:
    with FakeOpenAIServer(reply="sync hello") as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        response = client.chat.completions.create(model="m", messages=ask("hi"))
        client.close()
    assert response.choices[0].message.content == "sync hello"
    assert server.total_requests == 1


def test_the_command_line_server_prints_its_address_and_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "oversight.testing", "openai", "--reply", "from the shell"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
        response = client.chat.completions.create(model="m", messages=ask("hi"))
        client.close()
        assert response.choices[0].message.content == "from the shell"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_a_fake_reply_may_be_the_whole_script_and_top_logprobs_past_20_is_refused() -> None:
    """A FakeReply given as ``reply=`` crashed the fake (TypeError), which a client saw as
    dropped connections and retried for minutes; top_logprobs over 20, which OpenAI refuses
    with a 400, was answered, so a test could pass on a request that fails in production."""
    async with FakeOpenAIServer(reply=FakeReply("Answer A", output_tokens=3)) as server:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        response = await client.chat.completions.create(model="m", messages=ask("Which?"))
        assert response.choices[0].message.content == "Answer A"
        assert response.usage is not None and response.usage.completion_tokens == 3
        with pytest.raises(openai.BadRequestError, match="top_logprobs: 21"):
            await client.chat.completions.create(
                model="m", messages=ask("Which?"), logprobs=True, top_logprobs=21
            )
        await client.close()
