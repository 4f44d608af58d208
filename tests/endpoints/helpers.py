"""Options and a stopped process shared by the batch tests."""

from __future__ import annotations

import asyncio

from oversight.endpoints import endpoint
from oversight.testing import FakeOpenAIServer

OPTIONS = {
    "api_key": "k",
    "batch": True,
    "batch_window": 0.01,
    "batch_poll_interval": 0,
    "retry_backoff": 0,
}


async def stop_while_a_batch_runs(openai_server: FakeOpenAIServer) -> None:
    """A process submits four batchable calls and stops (is killed) while the provider
    still runs their batch; the batch then goes on without it."""
    openai_server.batch.hold = True
    ep = endpoint("openai/gpt-4o-mini", base_url=openai_server.base_url, **OPTIONS)
    calls = [asyncio.ensure_future(ep.complete(f"q{i}", batchable=True)) for i in range(4)]
    for _ in range(1000):  # until the batch is submitted and being polled
        if "/v1/batches/batch_0" in openai_server.requests_by_path:
            break
        await asyncio.sleep(0.01)
    for call in calls:
        call.cancel()
    await asyncio.gather(*calls, return_exceptions=True)
    await ep.aclose()
    openai_server.batch.hold = False
