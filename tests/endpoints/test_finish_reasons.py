"""Why a completion ended, on every Call; a reply cut at ``max_tokens`` is never mistaken for a
finished one; a re-ask after an invalid reply is never the identical request.

The fake servers behave like real ones here: a reply longer than the request's ``max_tokens``
is cut there and reported as ``length`` (OpenAI) or ``max_tokens`` (Anthropic).
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from judges import LLMJudge
from oversight.endpoints import _base, endpoint
from oversight.errors import RetriesExhaustedError, StructuredOutputError
from oversight.testing import FakeAnthropicServer, FakeOpenAIServer, FakeReply, Fault
from protocols import consultancy
from protocols._common import SpeakerConfig
from protocols.base import Setup
from tests.judges.helpers import transcript
from transcripts import JudgeView, Question

KEY = "test-key"
LONG = " ".join(f"word{i}" for i in range(200))
VERDICT = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["A", "B"]}},
    "required": ["answer"],
    "additionalProperties": False,
}


async def test_openai_calls_record_whether_the_reply_finished_or_was_cut(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.reply = LONG
    ep = endpoint("openai/qwen", base_url=openai_server.base_url, api_key=KEY)
    cut = await ep.complete("Argue.", max_tokens=20)
    whole = await ep.complete("Argue at length.", max_tokens=2000)
    assert (cut.call.finish_reason, cut.truncated) == ("length", True)
    assert len(cut.text) == 80 and cut.usage.output_tokens == 20
    assert (whole.call.finish_reason, whole.truncated) == ("stop", False)
    assert whole.text == LONG
    # The cache keeps why a reply ended: a replayed cut reply is still a cut reply.
    again = await endpoint("openai/qwen", base_url=openai_server.base_url, api_key=KEY).complete(
        "Argue.", max_tokens=20
    )
    assert again.cached and again.call.finish_reason == "length"


@pytest.mark.parametrize("stream", [True, False])
async def test_anthropic_stop_reason_max_tokens_reads_as_length(
    anthropic_server: FakeAnthropicServer, stream: bool
) -> None:
    anthropic_server.reply = LONG
    ep = endpoint(
        "anthropic/claude-x",
        base_url=anthropic_server.base_url,
        api_key=KEY,
        stream=stream,
        cache=False,
    )
    cut = await ep.complete("Argue.", max_tokens=10)
    whole = await ep.complete("Argue.", max_tokens=4000)
    assert cut.call.finish_reason == "length" and len(cut.text) == 40
    assert whole.call.finish_reason == "stop" and whole.text == LONG


@pytest.mark.parametrize("stream", [True, False])
async def test_an_openai_refusal_is_recorded_as_one_with_its_words(
    openai_server: FakeOpenAIServer, stream: bool
) -> None:
    # OpenAI sends a refusal as ``message.refusal`` (``delta.refusal`` streamed), content
    # null, finish_reason "stop": it must not read as an empty or ordinary finished reply.
    openai_server.reply = lambda body: FakeReply("I can't help with that.", refusal=True)
    ep = endpoint("openai/gpt-x", base_url=openai_server.base_url, api_key=KEY, stream=stream)
    completion = await ep.complete("Argue for B.")
    assert completion.text == "I can't help with that."
    assert completion.call.finish_reason == "content_filter"
    raw = openai_server.requests[0]
    assert raw.status == 200


async def test_a_verdict_cut_mid_json_is_an_error_naming_max_tokens_not_retried(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.reply = json.dumps({"answer": "A", "reason": LONG})
    ep = endpoint("openai/qwen", base_url=openai_server.base_url, api_key=KEY, structured="prompt")
    with pytest.raises(StructuredOutputError) as caught:
        await ep.complete("Which?", schema=VERDICT, max_tokens=30)
    message = str(caught.value)
    assert "cut at max_tokens=30" in message and "raise max_tokens" in message
    assert "not JSON" in message  # what the parser saw, kept for the curious
    # Re-asking under the same limit would be cut again: one request, paid once.
    assert openai_server.total_requests == 1
    assert caught.value.calls[0].finish_reason == "length"


async def test_a_free_text_reply_cut_at_max_tokens_is_not_said_to_be_unfinished_json(
    openai_server: FakeOpenAIServer,
) -> None:
    """A server that ignored the schema (llama.cpp does for keywords it cannot enforce) and
    wrote prose until max_tokens: the error said the JSON was cut and to raise max_tokens,
    which buys only more prose."""
    openai_server.reply = "You are asked which answer is right. " + LONG
    ep = endpoint("openai/qwen", base_url=openai_server.base_url, api_key=KEY)
    with pytest.raises(StructuredOutputError) as caught:
        await ep.complete("Which?", schema=VERDICT, max_tokens=30)
    message = str(caught.value)
    assert "cut at max_tokens=30" in message and "was not JSON at all" in message
    assert "JSON was complete" not in message and "raise max_tokens" not in message
    assert "structured output" in message  # what to check instead
    assert openai_server.total_requests == 1


async def test_a_schema_re_ask_tells_the_model_what_was_wrong_and_moves_the_seed(
    openai_server: FakeOpenAIServer,
) -> None:
    replies = iter(['{"answer": "C"}', '{"answer": "B"}'])
    openai_server.reply = lambda body: next(replies)
    ep = endpoint("openai/qwen", base_url=openai_server.base_url, api_key=KEY, structured="prompt")
    completion = await ep.complete("Which?", schema=VERDICT, max_tokens=50, seed=7)
    assert completion.parsed == {"answer": "B"} and completion.call.retries == 1
    first, second = (r.body for r in openai_server.requests)
    assert first != second  # never the identical request
    assert (first["seed"], second["seed"]) == (7, 8)
    assert second["messages"][:-2] == first["messages"]
    assert second["messages"][-2] == {"role": "assistant", "content": '{"answer": "C"}'}
    correction = second["messages"][-1]
    assert correction["role"] == "user" and "'C' is not one of ['A', 'B']" in correction["content"]


async def test_a_judge_re_ask_after_unusable_probabilities_shows_the_error(
    openai_server: FakeOpenAIServer,
) -> None:
    replies = iter(
        [
            {"rationale": "r", "probabilities": {"A": -1, "B": 2}},
            {"rationale": "r", "probabilities": {"A": 0.25, "B": 0.75}},
        ]
    )
    openai_server.reply = lambda body: next(replies)
    ep = endpoint("openai/judge", base_url=openai_server.base_url, api_key=KEY)
    view = JudgeView.from_transcript(transcript())
    judgment = await LLMJudge(ep, seed=3).judge(view)
    assert judgment.status == "ok" and judgment.probabilities == [0.25, 0.75]
    first, second = (r.body for r in openai_server.requests)
    assert first["messages"] != second["messages"] and second["seed"] != first["seed"]
    assert "could not be used" in second["messages"][-1]["content"]
    assert "negative" in second["messages"][-1]["content"].lower()


async def test_a_speech_cut_at_max_tokens_is_marked_for_the_judge_like_a_word_limit_cut(
    openai_server: FakeOpenAIServer,
) -> None:
    def reply(body: dict[str, object]) -> str:
        if body["model"] == "judge":
            return json.dumps({"rationale": "r", "probabilities": {"A": 0.5, "B": 0.5}})
        return LONG

    openai_server.reply = reply
    consultant = endpoint("openai/speaker", base_url=openai_server.base_url, api_key=KEY)
    question = Question(id="q", text="Which?", answers=["x", "y"], correct=0, context="ctx")
    transcript = await consultancy.run(
        question,
        {"consultant": consultant},
        config=consultancy.Config(rounds=1, max_tokens=25),
        setup=Setup(order=[0, 1], assignment={"Consultant": 0}),
    )
    turn = transcript.turns[0]
    assert turn.truncated and turn.call is not None and turn.call.finish_reason == "length"
    judge = LLMJudge(endpoint("openai/judge", base_url=openai_server.base_url, api_key=KEY))
    await judge.judge(JudgeView.from_transcript(transcript))
    judge_prompt = openai_server.requests[-1].body["messages"][-1]["content"]
    assert "[cut at the length limit]" in judge_prompt


def test_speaker_max_tokens_derive_from_the_word_limit_with_headroom() -> None:
    assert SpeakerConfig(word_limit=60).token_limit == 184
    assert SpeakerConfig(char_limit=1000).token_limit == 564
    assert SpeakerConfig(word_limit=60, char_limit=1000).token_limit == 184  # the tighter
    assert SpeakerConfig(word_limit=60, max_tokens=90).token_limit == 90
    assert SpeakerConfig().token_limit == 800
    assert consultancy.Config(scratchpad=False).token_limit == 364  # 150 words by default
    assert consultancy.Config().token_limit == 364 + 600  # and room for the private reasoning


async def test_latency_is_the_answering_attempt_without_retry_waits(
    openai_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai_server.set_faults([Fault.rate_limit(retry_after=0.3), None])
    ep = endpoint("openai/qwen", base_url=openai_server.base_url, api_key=KEY, cache=False)
    # A patched clock for the endpoint: every reading is one second after the last, so the
    # answering attempt alone (sent, then answered) spans exactly one step, and a latency
    # measured from the first attempt (refused, waited on, sent again) would span several.
    readings = iter(range(1_000))
    monkeypatch.setattr(_base, "time", SimpleNamespace(monotonic=lambda: float(next(readings))))
    completion = await ep.complete("hi", max_tokens=20)
    assert openai_server.total_requests == 2
    call = completion.call
    assert call.retries == 1 and call.retry_wait_s >= 0.3  # the planned Retry-After wait
    assert call.latency_s == 1.0 and call.queued_s == 1.0


async def test_a_streamed_generation_that_progresses_is_never_cut_off_and_restarted(
    openai_server: FakeOpenAIServer,
) -> None:
    # Six tokens, 0.1 s apart: 0.6 s in all, against a 0.25 s timeout.
    openai_server.reply = lambda body: FakeReply("one two three four five six", token_delay=0.1)
    streamed = endpoint(
        "openai/slow",
        base_url=openai_server.base_url,
        api_key=KEY,
        stream=True,
        timeout=0.25,
        max_retries=1,
        cache=False,
    )
    completion = await streamed.complete("Count.", max_tokens=50)
    assert completion.text == "one two three four five six"
    assert completion.call.retries == 0 and completion.call.finish_reason == "stop"
    assert openai_server.total_requests == 1
    # Not streamed, the same timeout bounds the whole reply: cut off and sent again.
    whole = endpoint(
        "openai/slow",
        base_url=openai_server.base_url,
        api_key=KEY,
        timeout=0.25,
        max_retries=1,
        retry_backoff=0.0,
        cache=False,
    )
    with pytest.raises(RetriesExhaustedError, match="timed out"):
        await whole.complete("Count.", max_tokens=50)
    assert openai_server.total_requests == 3
