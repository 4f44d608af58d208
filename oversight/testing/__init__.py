"""Fake OpenAI- and Anthropic-compatible servers for tests: real HTTP on 127.0.0.1.

Point any endpoint (or the raw SDKs) at them with ``base_url=``; script the replies as a
function of the request body, add latency, inject faults (429 with Retry-After, 5xx,
overload, overload mid-stream, slow replies, dropped connections, malformed JSON) and read
the counters afterwards (requests seen, per path, peak concurrency, bodies, timestamps).

Example::

    from oversight import endpoint
    from oversight.testing import Fault, FakeOpenAIServer

    async def test_my_protocol_survives_rate_limits() -> None:
        async with FakeOpenAIServer(
            reply=lambda body: "I argue for A",
            faults={Fault.rate_limit(retry_after=0.1): 0.3},
        ) as server:
            ep = endpoint("openai/gpt-4o-mini", base_url=server.base_url, api_key="test",
                          cache=False)
            assert (await ep.complete("Argue")).text == "I argue for A"
        assert server.total_requests >= 1

For synchronous code, ``with FakeOpenAIServer(...) as server:`` runs it in a thread; from
a shell, ``python -m oversight.testing openai --latency 0.2`` serves until interrupted.
"""

from oversight.testing._anthropic_fake import FakeAnthropicServer
from oversight.testing._experiment import FAKE_KEY_VARIABLE, fake_experiment, scripted_verdict
from oversight.testing._faults import FakeReply, Fault, FaultPlan, RecordedRequest
from oversight.testing._openai_fake import FakeOpenAIServer
from oversight.testing._process import cli_command, line_count, signal_after
from oversight.testing._server import FakeServer, ReplyScript, Scripted

__all__ = [
    "FAKE_KEY_VARIABLE",
    "FakeAnthropicServer",
    "FakeOpenAIServer",
    "FakeReply",
    "FakeServer",
    "Fault",
    "FaultPlan",
    "RecordedRequest",
    "ReplyScript",
    "Scripted",
    "cli_command",
    "fake_experiment",
    "line_count",
    "scripted_verdict",
    "signal_after",
]
