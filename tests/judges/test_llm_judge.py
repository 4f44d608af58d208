"""The LLM judge: probabilities that sum to 1, mapped back to the original answer order."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from judges import LLMJudge
from judges.prompts import render_judge_prompt, render_label_prompt
from oversight.endpoints import Reply, Request, TokenLogprob, endpoint
from oversight.testing import FakeOpenAIServer
from transcripts import JudgeView
from transcripts.errors import ProviderError

from .helpers import ANSWERS, CONTEXT, SECRET_MODEL, believer, transcript

# A belief over answer *texts*: whatever the order, the judgment must give "The tides"
# (original index 2 when it exists) the most weight, and each text its own probability.
BELIEFS = {
    2: {ANSWERS[0]: 0.2, ANSWERS[1]: 0.8},
    3: {ANSWERS[0]: 0.1, ANSWERS[1]: 0.3, ANSWERS[2]: 0.6},
    4: {ANSWERS[0]: 0.1, ANSWERS[1]: 0.2, ANSWERS[2]: 0.6, ANSWERS[3]: 0.1},
}
CASES = [(n, list(order)) for n in (2, 3, 4) for order in itertools.permutations(range(n))]


def _expected(n: int) -> list[float]:
    return [BELIEFS[n][ANSWERS[i]] for i in range(n)]


@pytest.mark.parametrize(("n", "order"), CASES)
@pytest.mark.parametrize("style", ["structured", "percent", "logprobs"])
async def test_verdicts_map_back_to_original_answers_in_every_order(
    n: int, order: list[int], style: str
) -> None:
    mode = "logprobs" if style == "logprobs" else "structured"
    ep = endpoint("mock/judge", replies=believer(BELIEFS[n], mode=mode, percent=style == "percent"))
    view = JudgeView.from_transcript(transcript(n=n, order=order))
    judgment = await LLMJudge(ep, mode=mode).judge(view)

    assert judgment.status == "ok"
    assert judgment.probabilities is not None
    assert math.isclose(sum(judgment.probabilities), 1.0, abs_tol=1e-9)
    assert judgment.probabilities == pytest.approx(_expected(n))
    # The verdict names the answer the model believed, by its original index.
    best_text = max(BELIEFS[n], key=lambda text: BELIEFS[n][text])
    assert judgment.verdict == ANSWERS.index(best_text)
    # The presented-order vector is the original one permuted by the order shown.
    presented = judgment.metadata["presented_probabilities"]
    assert presented == pytest.approx([_expected(n)[i] for i in order])
    assert view.to_presented(judgment.probabilities) == pytest.approx(presented)


@pytest.mark.parametrize(("n", "order"), CASES)
async def test_prompt_labels_answers_in_presented_order(n: int, order: list[int]) -> None:
    view = JudgeView.from_transcript(transcript(n=n, order=order))
    prompt = render_judge_prompt(view)
    for position, original in enumerate(order):
        assert f"{chr(65 + position)}: {ANSWERS[original]}" in prompt
    # Each debater's side is given as the presented label of its original answer.
    assert f"Debater A (arguing for {chr(65 + order.index(0))})" in prompt
    assert f"Debater B (arguing for {chr(65 + order.index(1))})" in prompt


async def test_a_swapped_pair_is_the_mirror_image() -> None:
    """The same belief, shown in both orders, gives the same original-order judgment."""
    belief = {ANSWERS[0]: 0.7, ANSWERS[1]: 0.3}
    results = []
    for order in ([0, 1], [1, 0]):
        ep = endpoint("mock/judge", replies=believer(belief))
        view = JudgeView.from_transcript(transcript(order=order))
        results.append(await LLMJudge(ep).judge(view))
    assert results[0].probabilities == pytest.approx([0.7, 0.3])
    assert results[1].probabilities == pytest.approx([0.7, 0.3])
    assert results[0].metadata["presented_probabilities"] == pytest.approx([0.7, 0.3])
    assert results[1].metadata["presented_probabilities"] == pytest.approx([0.3, 0.7])


async def test_label_a_means_the_first_presented_answer_not_the_first_original() -> None:
    """A model that always says "A" backs whichever answer is shown first."""
    reply = json.dumps({"rationale": "A", "probabilities": {"A": 0.9, "B": 0.1}})
    for order, expected in (([0, 1], [0.9, 0.1]), ([1, 0], [0.1, 0.9])):
        ep = endpoint("mock/judge", replies=[reply])
        judgment = await LLMJudge(ep).judge(JudgeView.from_transcript(transcript(order=order)))
        assert judgment.probabilities == pytest.approx(expected)


async def test_prompts_leak_nothing_the_judge_may_not_see() -> None:
    view = JudgeView.from_transcript(transcript(order=[1, 0]))
    for prompt in (render_judge_prompt(view), render_label_prompt(view)):
        assert CONTEXT not in prompt
        assert SECRET_MODEL not in prompt
        assert "SCRATCHPAD" not in prompt
        assert "[verified]" in prompt and "[unverified]" in prompt


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=4).filter(
        lambda xs: sum(xs) > 0.1
    )
)
async def test_probabilities_always_sum_to_one(raw: list[float]) -> None:
    n = len(raw)
    total = sum(raw)
    scaled = [x / total * 1.03 for x in raw]  # a 3% sum error is tolerated and renormalised
    reply = json.dumps(
        {"rationale": "", "probabilities": {chr(65 + i): p for i, p in enumerate(scaled)}}
    )
    view = JudgeView.from_transcript(transcript(n=n))
    judgment = await LLMJudge(endpoint("mock/j", replies=[reply])).judge(view)
    assert judgment.status == "ok"
    assert judgment.probabilities is not None
    assert math.isclose(sum(judgment.probabilities), 1.0, abs_tol=1e-9)
    assert all(0 <= p <= 1 for p in judgment.probabilities)


async def test_percentages_are_read_as_percentages() -> None:
    reply = json.dumps({"rationale": "", "probabilities": {"A": 70, "B": 30}})
    view = JudgeView.from_transcript(transcript())
    judgment = await LLMJudge(endpoint("mock/j", replies=[reply])).judge(view)
    assert judgment.probabilities == pytest.approx([0.7, 0.3])


@pytest.mark.parametrize(
    "bad",
    [
        json.dumps({"probabilities": {"A": -0.2, "B": 1.2}, "rationale": ""}),
        json.dumps({"probabilities": {"A": 0, "B": 0}, "rationale": ""}),
        json.dumps({"probabilities": {"A": 0.5, "B": 0.2}, "rationale": ""}),
        json.dumps({"probabilities": {"A": 1e308, "B": 1e308}, "rationale": ""}),
    ],
)
async def test_replies_that_are_not_probabilities_are_asked_again_then_fail(bad: str) -> None:
    good = json.dumps({"rationale": "ok", "probabilities": {"A": 0.25, "B": 0.75}})
    ep = endpoint("mock/j", replies=[bad, good])
    view = JudgeView.from_transcript(transcript())
    judgment = await LLMJudge(ep).judge(view)
    assert judgment.status == "ok"
    assert judgment.probabilities == pytest.approx([0.25, 0.75])

    ep = endpoint("mock/j", replies=[bad] * 3)
    judgment = await LLMJudge(ep, max_attempts=3).judge(view)
    assert judgment.status == "failed"
    assert judgment.probabilities is None
    assert judgment.verdict is None
    assert judgment.error and "attempt 3" in judgment.error
    # Each re-ask is a new sample index, so a response cache cannot replay the bad reply.
    requests = ep.backend.requests  # type: ignore[attr-defined]
    assert [r.sample_index for r in requests] == [0, 1, 2]
    assert len(judgment.calls) == 3


async def test_judge_attempts_is_an_endpoint_option_the_judge_config_overrides() -> None:
    from judges.config import LLMJudgeConfig, build_judge

    bad = json.dumps({"probabilities": {"A": -0.2, "B": 1.2}, "rationale": ""})
    view = JudgeView.from_transcript(transcript())

    async def asked(config: LLMJudgeConfig, **options: object) -> int:
        ep = endpoint("mock/j", replies=lambda request: bad, **options)  # type: ignore[arg-type]
        judgment = await build_judge(config, endpoint_factory=lambda spec: ep).judge(view)
        assert judgment.status == "failed"
        return len(ep.backend.requests)  # type: ignore[attr-defined]

    assert await asked(LLMJudgeConfig(endpoint="mock/j")) == 3  # the endpoint's default
    assert await asked(LLMJudgeConfig(endpoint="mock/j"), judge_attempts=5) == 5
    assert await asked(LLMJudgeConfig(endpoint="mock/j", max_attempts=2), judge_attempts=5) == 2


@pytest.mark.parametrize(
    "bad",
    [
        "not json at all",
        '{"probabilities": {"A": NaN, "B": 0.5}, "rationale": ""}',
        json.dumps({"rationale": "no probabilities"}),
        json.dumps({"probabilities": {"A": 0.5, "C": 0.5}, "rationale": ""}),
        json.dumps({"probabilities": {"A": 0.6}, "rationale": ""}),
        json.dumps({"probabilities": [0.2, 0.8], "rationale": ""}),
        json.dumps({"probabilities": {"A": "high", "B": "low"}, "rationale": ""}),
    ],
)
async def test_replies_off_the_schema_fail_after_bounded_asks_never_a_guess(bad: str) -> None:
    ep = endpoint("mock/j", replies=lambda request: bad)
    judgment = await LLMJudge(ep, max_attempts=3).judge(JudgeView.from_transcript(transcript()))
    assert judgment.status == "failed"
    assert judgment.probabilities is None
    assert judgment.error and "schema" in judgment.error
    # The endpoint re-asks a bounded number of times; the judge does not multiply that.
    asked = len(ep.backend.requests)  # type: ignore[attr-defined]
    assert 1 <= asked <= 5
    # Every useless reply was still a call: the failed judgment keeps its tokens.
    assert judgment.calls and judgment.usage.output_tokens > 0


async def test_an_endpoint_error_fails_at_once_without_asking_again() -> None:
    def down(request: Request) -> str:
        raise ProviderError("mock/j: 400 bad request", status_code=400)

    ep = endpoint("mock/j", replies=down)
    judgment = await LLMJudge(ep).judge(JudgeView.from_transcript(transcript()))
    assert judgment.status == "failed"
    assert judgment.error and "400 bad request" in judgment.error
    assert len(ep.backend.requests) == 1  # type: ignore[attr-defined]


async def test_every_call_is_recorded() -> None:
    bad = json.dumps({"rationale": "", "probabilities": {"A": -1, "B": 2}})
    good = json.dumps({"rationale": "ok", "probabilities": {"A": 0.5, "B": 0.5}})
    ep = endpoint("mock/j", replies=[bad, good])
    judgment = await LLMJudge(ep).judge(JudgeView.from_transcript(transcript()))
    assert [c.sample_index for c in judgment.calls] == [0, 1]
    assert all(c.endpoint == "mock/j" for c in judgment.calls)
    assert judgment.judge.kind == "llm" and judgment.judge.model == "mock/j"
    assert judgment.rounds_seen == 2


async def test_k_samples_are_independent_and_averaged() -> None:
    replies = {0: [0.9, 0.1], 1: [0.6, 0.4], 2: [0.3, 0.7]}

    def reply(request: Request) -> str:
        a, b = replies[request.sample_index]
        return json.dumps(
            {"rationale": f"s{request.sample_index}", "probabilities": {"A": a, "B": b}}
        )

    view = JudgeView.from_transcript(transcript(order=[1, 0]))
    ep = endpoint("mock/j", replies=reply)
    judgment = await LLMJudge(ep, samples=3).judge(view)
    assert sorted(r.sample_index for r in ep.backend.requests) == [0, 1, 2]  # type: ignore[attr-defined]
    assert {r.temperature for r in ep.backend.requests} == {1.0}  # type: ignore[attr-defined]
    assert judgment.probabilities == pytest.approx([0.4, 0.6])  # mean [0.6, 0.4], swapped back
    assert len(judgment.metadata["sample_probabilities"]) == 3

    ep = endpoint("mock/j", replies=reply)
    judgment = await LLMJudge(ep, samples=3, combine="majority").judge(view)
    # Votes in presented order: A, A, B -> shares 2/3, 1/3; A is original answer 1.
    assert judgment.probabilities == pytest.approx([1 / 3, 2 / 3])
    assert judgment.verdict == 1


async def test_a_failed_sample_is_left_out_and_counted() -> None:
    def reply(request: Request) -> str:
        if request.sample_index % 2 == 1:  # sample 1 and all its re-asks (1, 3, 5) fail
            return "garbage"
        return json.dumps({"rationale": "", "probabilities": {"A": 0.8, "B": 0.2}})

    judgment = await LLMJudge(endpoint("mock/j", replies=reply), samples=2).judge(
        JudgeView.from_transcript(transcript())
    )
    assert judgment.status == "ok"
    assert judgment.probabilities == pytest.approx([0.8, 0.2])
    assert judgment.metadata["samples_failed"] == 1


async def test_logprobs_missing_fails_clearly_or_falls_back() -> None:
    view = JudgeView.from_transcript(transcript(order=[1, 0]))
    ep = endpoint("mock/j", replies=["A"])
    judgment = await LLMJudge(ep, mode="logprobs").judge(view)
    assert judgment.status == "failed"
    assert judgment.error and "returned no logprobs" in judgment.error

    structured = json.dumps({"rationale": "", "probabilities": {"A": 0.9, "B": 0.1}})
    ep = endpoint("mock/j", replies=["A", structured])
    judgment = await LLMJudge(ep, mode="logprobs", on_missing_logprobs="structured").judge(view)
    assert judgment.status == "ok"
    assert judgment.probabilities == pytest.approx([0.1, 0.9])
    assert judgment.metadata["fell_back"] == "structured"


async def test_the_fallback_to_structured_is_asked_even_with_one_attempt() -> None:
    # Falling back is not a retry of an unusable reply: with max_attempts=1 the structured
    # ask still happens (it once used up the only attempt: a failure with no reason).
    view = JudgeView.from_transcript(transcript(order=[1, 0]))
    structured = json.dumps({"rationale": "", "probabilities": {"A": 0.9, "B": 0.1}})
    ep = endpoint("mock/j", replies=["A", structured])
    judge = LLMJudge(ep, mode="logprobs", on_missing_logprobs="structured", max_attempts=1)
    judgment = await judge.judge(view)
    assert judgment.status == "ok", judgment.error
    assert judgment.probabilities == pytest.approx([0.1, 0.9])
    assert judgment.metadata["fell_back"] == "structured"
    assert len(judgment.calls) == 2


async def test_logprobs_without_alternatives_are_no_distribution() -> None:
    # A server that returns the chosen token's logprob but ignores top_logprobs gives no
    # distribution over the labels: not a judgment of certainty [1, 0].
    view = JudgeView.from_transcript(transcript())
    bare = Reply(text="A", logprobs=[TokenLogprob(token="A", logprob=-0.7)])
    ep = endpoint("mock/j", replies=[bare])
    judgment = await LLMJudge(ep, mode="logprobs").judge(view)
    assert judgment.status == "failed", judgment.probabilities
    assert judgment.error and "top_logprobs" in judgment.error

    structured = json.dumps({"rationale": "", "probabilities": {"A": 0.6, "B": 0.4}})
    ep = endpoint("mock/j", replies=[bare, structured])
    judgment = await LLMJudge(ep, mode="logprobs", on_missing_logprobs="structured").judge(view)
    assert judgment.probabilities == pytest.approx([0.6, 0.4])
    assert judgment.metadata["fell_back"] == "structured"


async def test_logprobs_softmax_over_labels_with_spacing_variants() -> None:
    lp = [
        TokenLogprob(token=" ", logprob=-0.01),
        TokenLogprob(
            token=" B",
            logprob=math.log(0.5),
            top={
                " B": math.log(0.5),
                "B": math.log(0.1),
                " A": math.log(0.2),
                "Sure": math.log(0.2),
            },
        ),
    ]
    ep = endpoint("mock/j", replies=[Reply(text=" B", logprobs=lp)])
    view = JudgeView.from_transcript(transcript())
    judgment = await LLMJudge(ep, mode="logprobs").judge(view)
    assert judgment.probabilities == pytest.approx([0.25, 0.75])
    request = ep.backend.requests[0]  # type: ignore[attr-defined]
    assert request.logprobs and request.top_logprobs >= 2


async def test_logprobs_reply_that_is_not_a_label_is_asked_again() -> None:
    prose = Reply(text="The", logprobs=[TokenLogprob(token="The", logprob=-0.1, top={"A": -3.0})])
    good = Reply(
        text="A",
        logprobs=[TokenLogprob(token="A", logprob=math.log(0.6), top={"B": math.log(0.4)})],
    )
    ep = endpoint("mock/j", replies=[prose, good])
    judgment = await LLMJudge(ep, mode="logprobs").judge(JudgeView.from_transcript(transcript()))
    assert judgment.probabilities == pytest.approx([0.6, 0.4])
    assert len(judgment.calls) == 2


async def test_asks_a_question_only_when_configured() -> None:
    view = JudgeView.from_transcript(transcript())
    quiet = LLMJudge(endpoint("mock/j", replies=[]))
    assert await quiet.ask(view) is None
    curious = LLMJudge(
        endpoint("mock/j", replies=["Which page is the ledger on?", "NONE"]), ask_questions=True
    )
    assert await curious.ask(view) == "Which page is the ledger on?"
    assert await curious.ask(view) is None


async def test_a_question_asked_in_a_live_debate_is_a_judge_turn_with_its_call() -> None:
    from protocols import debate
    from transcripts import Question

    q = Question(
        id="q",
        text="What did the keeper record?",
        answers=list(ANSWERS[:2]),
        correct=0,
        context=CONTEXT,
        source="s",
    )
    debater = endpoint("mock/debater", replies=lambda request: "I stand by my answer.")
    asker = endpoint("mock/judge", replies=["Which page is the ledger on?"])
    transcript_ = await debate.run(
        q,
        {"debater": debater},
        config=debate.Config(rounds=2, judge_questions=True),
        judge=LLMJudge(asker, ask_questions=True),
    )
    (asked,) = [t for t in transcript_.turns if t.role == "judge"]
    assert asked.content == "Which page is the ledger on?" and asked.round == 0
    assert asked.call is not None and asked.call.endpoint == "mock/judge"
    assert asked.call in transcript_.calls  # counted with the rest of the transcript
    # The judge's request never carried the hidden context; the debaters' did.
    (judge_request,) = asker.backend.requests  # type: ignore[attr-defined]
    assert CONTEXT not in judge_request.model_dump_json()
    assert any(CONTEXT in r.model_dump_json() for r in debater.backend.requests)  # type: ignore[attr-defined]


async def test_k_samples_with_a_seed_are_k_distinct_reproducible_draws() -> None:
    # A provider that honours seeds returns the same draw for the same seed; k samples all
    # sent one seed would be k copies of one sample (mean and majority of one opinion).
    def reply(body: dict[str, object]) -> str:
        a = 0.9 if body.get("seed") == 7 else 0.3
        return json.dumps({"rationale": "", "probabilities": {"A": a, "B": round(1 - a, 2)}})

    view = JudgeView.from_transcript(transcript())
    seeds = []
    async with FakeOpenAIServer(reply=reply) as server:
        for _ in range(2):
            ep = endpoint(
                "openai/gpt-4o-mini", base_url=server.base_url, api_key="test", cache=False
            )
            judgment = await LLMJudge(ep, samples=3, seed=7).judge(view)
            assert judgment.probabilities == pytest.approx([0.5, 0.5])  # mean of 0.9, 0.3, 0.3
            seeds.append(sorted(r.body["seed"] for r in server.requests[-3:]))
    assert seeds == [[7, 8, 9], [7, 8, 9]]  # distinct per sample, the same on a rerun


async def test_a_live_turn_re_ask_is_never_the_identical_request() -> None:
    # At temperature 0 the identical request gets the identical unusable reply: a re-ask
    # shows the model its reply and what was wrong, and moves the seed on, as judge() does.
    def reply(body: dict[str, object]) -> str:
        messages = body["messages"]
        assert isinstance(messages, list)
        corrected = "could not be used" in str(messages[-1]["content"])
        a, b = (0.3, 0.7) if corrected else (0.0, 0.0)  # all zero: not probabilities
        return json.dumps({"rationale": "r", "probabilities": {"A": a, "B": b}})

    view = JudgeView.from_transcript(transcript())
    async with FakeOpenAIServer(reply=reply) as server:
        ep = endpoint("openai/gpt-4o-mini", base_url=server.base_url, api_key="t", cache=False)
        belief = await LLMJudge(ep, seed=5).live_turn(
            view, opening=True, can_end=False, previous=[], turn_penalty=0.05
        )
        first, second = (r.body for r in server.requests)
    assert belief.probabilities == pytest.approx(view.to_original([0.3, 0.7]))
    assert len(belief.calls) == 2
    assert (first["seed"], second["seed"]) == (5, 6)
    assert "all zero" in second["messages"][-1]["content"]
